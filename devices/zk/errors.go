package zk

import (
	"errors"
	"fmt"
)

// Sentinels for conditions a caller acts on. Errors wrap them with %w; test with errors.Is.
var (
	// ErrUnauthorized: the clock refused the comm key (ACK_UNAUTH to AUTH).
	ErrUnauthorized = errors.New("zk: comm key refused")
	// ErrSessionLost: the clock answered ACK_UNAUTH to a command of an established session,
	// which it does after a reboot. The client is unusable; dial again.
	ErrSessionLost = errors.New("zk: session no longer known to the clock")
	// ErrClosed: the client was closed, or broken by an earlier framing, checksum or link error.
	ErrClosed = errors.New("zk: client closed")
	// ErrNoReply: UDP retries were exhausted without a usable reply.
	ErrNoReply = errors.New("zk: no reply")
	// ErrSubscribed: Subscribe was called while another subscription is running.
	ErrSubscribed = errors.New("zk: already subscribed")
	// ErrOptionAbsent: the clock answered an option read with nothing, the way some firmware
	// says it lacks the option (others answer ACK_ERROR, a *ReplyError).
	ErrOptionAbsent = errors.New("zk: option absent")
	// ErrRecordCount: a bulk read decoded a number of records the clock's own count
	// (GET_FREE_SIZES, read before and after) does not allow. It comes wrapped with ErrMalformed:
	// the read must not count as done, since records the clock holds may be missing from it.
	ErrRecordCount = errors.New("zk: record count disagrees with the clock's")
)

// ReplyError is a reply code other than the one a command expects, e.g. ACK_ERROR for an option
// the clock does not have.
type ReplyError struct {
	Command uint16 // the command sent
	Code    uint16 // the clock's reply code
}

func (e *ReplyError) Error() string {
	return fmt.Sprintf("zk: %s: clock replied %s (%d)", CommandName(e.Command), CommandName(e.Code), e.Code)
}

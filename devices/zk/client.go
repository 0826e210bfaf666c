package zk

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Link moves bytes to and from one clock. net.Conn satisfies it; for UDP it must be a connected
// socket (net.Dial("udp", …)) so that one Read returns one datagram.
type Link interface {
	Read(p []byte) (int, error)
	Write(p []byte) (int, error)
	Close() error
	SetDeadline(t time.Time) error
}

// Options configure a Client.
type Options struct {
	Network    string        // "tcp" (default) or "udp" (also tcp4, tcp6, udp4, udp6)
	Address    string        // host or host:port; port 4370 when absent
	CommKey    int           // the clock's "Comm Key", 0–999999; sent only when the clock asks
	Encoding   Encoding      // code page of names; default GBK (Chinese firmware)
	Timeout    time.Duration // longest wait for one reply packet; default 5s. On UDP the request is then resent
	Retries    int           // UDP resends of one request; default 3, negative for none
	RecordSize int           // force the attendance record layout (8, 16, 40, 49); 0 detects it
	MaxBulk    int           // hard cap on one bulk set in bytes; default 64 MiB
	Logger     *slog.Logger  // default discards

	// Strict refuses every reply whose checksum is not the vendor SDK's (for tests). By default
	// the one-low variant (ChecksumOneLow) is accepted, and on TCP, where the wrapper's length
	// keeps the stream in step and TCP guards the bytes, so is a checksum that matches neither;
	// both are counted (ChecksumCounts). On UDP a mismatch is always a damaged datagram: resent.
	Strict bool
}

// DefaultPort is the clocks' TCP and UDP port.
const DefaultPort = "4370"

// Chunk sizes of READ_BUFFER: the largest the vendor SDK asks for on each transport.
const (
	ChunkTCP = 65472
	ChunkUDP = 16384
)

// DefaultMaxBulk bounds one bulk set: a 100,000-record log of 49-byte records is under 5 MiB, so
// 64 MiB is far beyond any real clock and still harmless to allocate.
const DefaultMaxBulk = 64 << 20

// Client is a session with one clock. Its methods may be called from several goroutines; they take
// turns on the link. Subscribe shares the link with the other calls: while it waits for events,
// another call interrupts the wait, runs, and hands the link back.
type Client struct {
	link Link
	opts Options
	udp  bool
	log  *slog.Logger

	// sem holds one token; its holder alone reads and writes the link and the fields below.
	sem      chan struct{}
	fr       *FrameReader
	rbuf     []byte
	wbuf     []byte
	replyID  uint16
	session  uint16
	recSize  int // layout seen on an earlier read; used when the count is ambiguous
	userSize int
	ackOwed  int // event ACKs whose write a deadline interrupted

	// dl serialises deadline changes between the holder, context cancellation and the kick that
	// asks a waiting subscriber for the link.
	dl       sync.Mutex
	owner    uint64
	lastTok  uint64
	ownerSub bool
	waiting  atomic.Int32

	closed    chan struct{}
	closeOnce sync.Once
	closeErr  error
	brokenMu  sync.Mutex
	broken    error

	subMu sync.Mutex
	sub   *subscription

	variants, mismatches atomic.Uint64
}

// ChecksumCounts are replies the client met whose checksum was not the vendor SDK's.
type ChecksumCounts struct {
	Variant  uint64 // one low (ChecksumOneLow): accepted unless Strict
	Mismatch uint64 // neither: accepted on TCP unless Strict, dropped on UDP
}

// TakeChecksumCounts returns the counts since the previous call and starts again from zero, so
// that a caller can add them to a counter of its own after each use of the client.
func (c *Client) TakeChecksumCounts() ChecksumCounts {
	return ChecksumCounts{Variant: c.variants.Swap(0), Mismatch: c.mismatches.Swap(0)}
}

// Internal signals; never returned to callers.
var (
	errYield = errors.New("zk: link wanted by another call")
	errWake  = errors.New("zk: events queued")
	errRetry = errors.New("zk: incomplete reply")
)

var longAgo = time.Unix(1, 0)

// Dial connects to a clock and opens a session (CONNECT, then AUTH when the clock asks for the
// comm key).
func Dial(ctx context.Context, opts Options) (*Client, error) {
	network := opts.Network
	if network == "" {
		network = "tcp"
	}
	switch network {
	case "tcp", "tcp4", "tcp6", "udp", "udp4", "udp6":
	default:
		return nil, fmt.Errorf("zk: network %q: want tcp or udp", opts.Network)
	}
	addr := opts.Address
	if _, _, err := net.SplitHostPort(addr); err != nil {
		addr = net.JoinHostPort(strings.Trim(addr, "[]"), DefaultPort)
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, fmt.Errorf("zk: dial %s %s: %w", network, addr, err)
	}
	opts.Network = network
	c, err := Connect(ctx, conn, opts)
	if err != nil {
		conn.Close()
		return nil, err
	}
	return c, nil
}

// Connect opens a session over an established link. opts.Network selects the framing ("udp…" for
// bare datagrams, anything else for the TCP wrapper); opts.Address is not used. On error the
// link is left open for the caller to close.
func Connect(ctx context.Context, link Link, opts Options) (*Client, error) {
	if opts.Timeout <= 0 {
		opts.Timeout = 5 * time.Second
	}
	if opts.Retries == 0 {
		opts.Retries = 3
	} else if opts.Retries < 0 {
		opts.Retries = 0
	}
	if opts.MaxBulk <= 0 {
		opts.MaxBulk = DefaultMaxBulk
	}
	enc, err := ParseEncoding(string(opts.Encoding))
	if err != nil {
		return nil, err
	}
	opts.Encoding = enc
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.RecordSize != 0 && !validSize(opts.RecordSize, RecordSizes) {
		return nil, fmt.Errorf("zk: record size %d: want 8, 16, 40 or 49", opts.RecordSize)
	}
	c := &Client{
		link:   link,
		opts:   opts,
		udp:    strings.HasPrefix(opts.Network, "udp"),
		log:    opts.Logger,
		sem:    make(chan struct{}, 1),
		closed: make(chan struct{}),
	}
	c.sem <- struct{}{}
	if c.udp {
		c.rbuf = make([]byte, 64<<10+HeaderSize)
	} else {
		c.fr = NewFrameReader(link)
	}
	err = c.do(ctx, func() error {
		p, err := c.call(ctx, CmdConnect, nil, AckOK, AckUnauth)
		if err != nil {
			return err
		}
		c.session = p.Session
		if p.Command == AckOK {
			return nil
		}
		key := CommKey(opts.CommKey, c.session)
		_, err = c.call(ctx, CmdAuth, key[:], AckOK)
		return err
	})
	if err != nil {
		return nil, err
	}
	c.log.Debug("zk session open", "session", c.session)
	return c, nil
}

// Close ends the session (EXIT, when the link is free) and closes the link.
func (c *Client) Close() error {
	c.closeOnce.Do(func() {
		// A clock serves few sessions, and on UDP EXIT is the only way it learns one ended.
		ctx, cancel := context.WithTimeout(context.Background(), min(c.opts.Timeout, time.Second))
		err := c.do(ctx, func() error {
			_, err := c.call(ctx, CmdExit, nil, AckOK)
			return err
		})
		cancel()
		if err != nil {
			c.log.Debug("zk EXIT", "err", err)
		}
		close(c.closed)
		c.closeErr = c.link.Close()
	})
	return c.closeErr
}

// Session is the session id the clock gave.
func (c *Client) Session() uint16 { return c.session }

func (c *Client) usable() error {
	select {
	case <-c.closed:
		return ErrClosed
	default:
	}
	c.brokenMu.Lock()
	defer c.brokenMu.Unlock()
	if c.broken != nil {
		return fmt.Errorf("%w: %w", ErrClosed, c.broken)
	}
	return nil
}

// breakLink closes the link after an error that leaves it out of step: the caller dials again.
func (c *Client) breakLink(err error) {
	c.brokenMu.Lock()
	first := c.broken == nil
	if first {
		c.broken = err
	}
	c.brokenMu.Unlock()
	if first {
		c.log.Warn("zk link broken; closing it", "err", err)
		c.link.Close()
	}
}

// acquire takes the link. sub marks the subscriber, which gives the link up as soon as another
// call waits. A send on wake makes acquire return errWake without the link.
func (c *Client) acquire(ctx context.Context, sub bool, wake <-chan struct{}) (func(), error) {
	if err := c.usable(); err != nil {
		return nil, err
	}
	select {
	case <-c.sem:
	default:
		c.waiting.Add(1)
		c.kick()
		select {
		case <-c.sem:
			c.waiting.Add(-1)
		case <-ctx.Done():
			c.waiting.Add(-1)
			return nil, ctx.Err()
		case <-c.closed:
			c.waiting.Add(-1)
			return nil, ErrClosed
		case <-wake:
			c.waiting.Add(-1)
			return nil, errWake
		}
	}
	if err := c.usable(); err != nil {
		c.sem <- struct{}{}
		return nil, err
	}
	c.dl.Lock()
	c.lastTok++
	tok := c.lastTok
	c.owner, c.ownerSub = tok, sub
	c.dl.Unlock()
	// Without a deadline a cancelled context could not stop a blocked Read: move the deadline
	// to the past, but only while this call still owns the link.
	stop := context.AfterFunc(ctx, func() {
		c.dl.Lock()
		if c.owner == tok {
			c.link.SetDeadline(longAgo)
		}
		c.dl.Unlock()
	})
	return func() {
		stop()
		c.dl.Lock()
		c.owner, c.ownerSub = 0, false
		c.dl.Unlock()
		c.sem <- struct{}{}
	}, nil
}

// kick interrupts a subscriber blocked in Read so that a waiting call gets the link.
func (c *Client) kick() {
	c.dl.Lock()
	if c.ownerSub {
		c.link.SetDeadline(longAgo)
	}
	c.dl.Unlock()
}

// setDeadline puts the earlier of d (zero: none) and ctx's deadline on the link.
func (c *Client) setDeadline(ctx context.Context, d time.Time) error {
	c.dl.Lock()
	defer c.dl.Unlock()
	if err := ctx.Err(); err != nil {
		return err
	}
	if c.ownerSub && c.waiting.Load() > 0 {
		return errYield
	}
	if cd, ok := ctx.Deadline(); ok && (d.IsZero() || cd.Before(d)) {
		d = cd
	}
	return c.link.SetDeadline(d)
}

func (c *Client) do(ctx context.Context, fn func() error) error {
	release, err := c.acquire(ctx, false, nil)
	if err != nil {
		return err
	}
	defer release()
	return fn()
}

func (c *Client) nextReplyID(cmd uint16) uint16 {
	if cmd == CmdConnect {
		c.replyID = 0
	} else if c.replyID++; c.replyID == 0 || c.replyID == 0xFFFF {
		c.replyID = 1
	}
	return c.replyID
}

func isTimeout(err error) bool { return errors.Is(err, os.ErrDeadlineExceeded) }

// write sends one encoded request. On TCP a write cut short leaves half a frame on the wire, so
// the link is broken; a timeout before any byte left is not.
func (c *Client) write(b []byte) error {
	if c.ackOwed > 0 {
		n := c.ackOwed
		c.ackOwed = 0
		for range n {
			c.ack(0)
		}
	}
	n, err := c.link.Write(b)
	if err != nil {
		if !c.udp && !(n == 0 && isTimeout(err)) {
			c.breakLink(err)
		}
		return err
	}
	return nil
}

// next reads one packet. TCP errors other than a timeout, and every framing error, break the
// link; a checksum error never does (the wrapper's length keeps the stream in step). On UDP a bad
// datagram is reported as errRetry: drained and resent.
func (c *Client) next() (Packet, error) {
	if c.udp {
		n, err := c.link.Read(c.rbuf)
		if err != nil {
			return Packet{}, err
		}
		p, err := c.parse(c.rbuf[:n])
		if err != nil {
			c.log.Debug("zk bad datagram", "err", err)
			return Packet{}, fmt.Errorf("%w: %w", errRetry, err)
		}
		return p, nil
	}
	raw, err := c.fr.Next()
	if err != nil {
		if !isTimeout(err) {
			c.breakLink(err)
		}
		return Packet{}, err
	}
	return c.parse(raw)
}

// parse decodes a received packet, counting and judging its checksum as Options.Strict says.
func (c *Client) parse(b []byte) (Packet, error) {
	p, kind, err := DecodePacket(b)
	if err != nil {
		return p, err
	}
	switch kind {
	case ChecksumVariant:
		c.variants.Add(1)
		if c.opts.Strict {
			return p, checksumError(b, p)
		}
	case ChecksumMismatch:
		c.mismatches.Add(1)
		if c.opts.Strict || c.udp {
			return p, checksumError(b, p)
		}
		c.log.Debug("zk checksum mismatch accepted on TCP", "err", checksumError(b, p))
	}
	return p, nil
}

// ack answers a realtime event.
func (c *Client) ack(replyID uint16) {
	p := Packet{Command: AckOK, Session: c.session, ReplyID: replyID}
	var buf [FramePrefixSize + HeaderSize]byte
	var b []byte
	if c.udp {
		b = AppendPacket(buf[:0], p)
	} else {
		b = AppendFrame(buf[:0], p)
	}
	n, err := c.link.Write(b)
	if err != nil {
		if !c.udp && n > 0 {
			c.breakLink(err)
		} else if isTimeout(err) {
			c.ackOwed++
		}
	}
}

// onEvent acknowledges a realtime event and queues a punch for the subscriber, if there is one.
func (c *Client) onEvent(p Packet) {
	c.ack(p.ReplyID)
	if p.Session != EventAttendance {
		c.log.Debug("zk event ignored", "code", p.Session, "bytes", len(p.Data))
		return
	}
	r, err := DecodeEvent(p.Data)
	if err != nil {
		c.log.Warn("zk attendance event undecodable", "err", err, "data", fmt.Sprintf("% x", p.Data))
		return
	}
	c.subMu.Lock()
	sub := c.sub
	c.subMu.Unlock()
	if sub == nil {
		c.log.Debug("zk event without subscriber dropped", "user", r.UserID, "time", r.Time)
		return
	}
	sub.push(r, c.log)
}

// exchange sends one request and passes every reply packet carrying its reply id to collect
// until collect reports done. Realtime events met on the way go to onEvent, stale replies are
// skipped. On UDP a timeout, a bad datagram or errRetry from collect drains the socket and resends
// the same request (same reply id); reset runs before each attempt.
func (c *Client) exchange(ctx context.Context, cmd uint16, data []byte, reset func(), collect func(Packet) (bool, error)) error {
	id := c.nextReplyID(cmd)
	req := Packet{Command: cmd, Session: c.session, ReplyID: id, Data: data}
	if c.udp {
		c.wbuf = AppendPacket(c.wbuf[:0], req)
	} else {
		c.wbuf = AppendFrame(c.wbuf[:0], req)
	}
	attempts := 1
	if c.udp {
		attempts += c.opts.Retries
	}
	var err error
	for a := range attempts {
		if a > 0 {
			c.log.Debug("zk resending", "command", CommandName(cmd), "attempt", a+1, "err", err)
			c.drain(ctx)
		}
		if reset != nil {
			reset()
		}
		if err = c.setDeadline(ctx, time.Now().Add(c.opts.Timeout)); err != nil {
			return c.wrapErr(ctx, cmd, err)
		}
		if err = c.write(c.wbuf); err == nil {
			err = c.await(ctx, id, collect)
		}
		if err == nil {
			return nil
		}
		if !c.udp || ctx.Err() != nil || !retryable(err) {
			return c.wrapErr(ctx, cmd, err)
		}
	}
	return fmt.Errorf("zk: %s: %w after %d attempts: %w", CommandName(cmd), ErrNoReply, attempts, err)
}

func retryable(err error) bool {
	var re *ReplyError
	return !errors.As(err, &re) && !errors.Is(err, ErrSessionLost) && !errors.Is(err, ErrTooLarge) &&
		!errors.Is(err, ErrMalformed) && !errors.Is(err, context.Canceled) && !errors.Is(err, ErrClosed)
}

func (c *Client) wrapErr(ctx context.Context, cmd uint16, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil && (isTimeout(err) || errors.Is(err, ctxErr)) {
		err = ctxErr
	}
	if errors.Is(err, errRetry) {
		err = fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return fmt.Errorf("zk: %s: %w", CommandName(cmd), err)
}

func (c *Client) await(ctx context.Context, id uint16, collect func(Packet) (bool, error)) error {
	for {
		if err := c.setDeadline(ctx, time.Now().Add(c.opts.Timeout)); err != nil {
			return err
		}
		p, err := c.next()
		if err != nil {
			return err
		}
		if p.Command == CmdRegEvent {
			c.onEvent(p)
			continue
		}
		if p.ReplyID != id {
			c.log.Debug("zk stale reply skipped", "code", CommandName(p.Command), "reply_id", p.ReplyID, "want", id)
			continue
		}
		done, err := collect(p)
		if err != nil || done {
			return err
		}
	}
}

// drain discards the datagrams queued after a bad one or a timeout, so that a late answer to
// the previous attempt is not read as the answer to the next. Events among them are still
// acknowledged and delivered.
func (c *Client) drain(ctx context.Context) {
	if err := c.setDeadline(ctx, time.Now().Add(2*time.Millisecond)); err != nil {
		return
	}
	for range 4096 {
		n, err := c.link.Read(c.rbuf)
		if err != nil {
			return
		}
		if p, err := c.parse(c.rbuf[:n]); err == nil && p.Command == CmdRegEvent {
			c.onEvent(p)
		}
	}
}

// replyErr turns an unexpected reply code into an error: ACK_UNAUTH after login means the clock
// forgot the session (it rebooted), so the client is broken.
func (c *Client) replyErr(cmd, code uint16) error {
	re := &ReplyError{Command: cmd, Code: code}
	if code != AckUnauth {
		return re
	}
	if cmd == CmdConnect || cmd == CmdAuth {
		return fmt.Errorf("%w: %w", ErrUnauthorized, re)
	}
	err := fmt.Errorf("%w: %w", ErrSessionLost, re)
	c.breakLink(err)
	return err
}

// call sends a one-reply command and returns the reply, whose data is copied. The reply code must
// be one of want.
func (c *Client) call(ctx context.Context, cmd uint16, data []byte, want ...uint16) (Packet, error) {
	var reply Packet
	err := c.exchange(ctx, cmd, data, nil, func(p Packet) (bool, error) {
		for _, w := range want {
			if p.Command == w {
				reply = p
				reply.Data = append([]byte(nil), p.Data...)
				return true, nil
			}
		}
		return true, c.replyErr(cmd, p.Command)
	})
	return reply, err
}

// Sizes is the GET_FREE_SIZES record: counts and capacities.
type Sizes struct {
	Users, Fingers, Records                      int
	UserCapacity, FingerCapacity, RecordCapacity int
}

// DecodeFreeSizes decodes the GET_FREE_SIZES reply: 20 LE i32 (some clocks append more).
func DecodeFreeSizes(b []byte) (Sizes, error) {
	if len(b) < 80 {
		return Sizes{}, fmt.Errorf("%w: free sizes of %d bytes, want 80", ErrMalformed, len(b))
	}
	f := func(i int) int { return max(0, int(int32(binary.LittleEndian.Uint32(b[4*i:])))) }
	return Sizes{
		Users: f(4), Fingers: f(6), Records: f(8),
		FingerCapacity: f(14), UserCapacity: f(15), RecordCapacity: f(16),
	}, nil
}

// Info describes a clock.
type Info struct {
	SerialNumber string
	Platform     string
	Firmware     string
	DeviceName   string
	MAC          string
	Sizes
}

// Info reads the clock's identity and its counts and capacities. Options the clock lacks are left
// empty.
func (c *Client) Info(ctx context.Context) (Info, error) {
	var info Info
	err := c.do(ctx, func() error {
		for _, o := range []struct {
			name string
			dst  *string
		}{
			{"~SerialNumber", &info.SerialNumber},
			{"~Platform", &info.Platform},
			{"~DeviceName", &info.DeviceName},
			{"MAC", &info.MAC},
		} {
			v, err := c.option(ctx, o.name)
			if absent(err) {
				continue
			}
			if err != nil {
				return err
			}
			*o.dst = v
		}
		p, err := c.call(ctx, CmdGetVersion, nil, AckOK)
		if err != nil {
			return err
		}
		info.Firmware = string(cstring(p.Data))
		info.Sizes, err = c.sizes(ctx)
		return err
	})
	return info, err
}

// Option reads one option ("~SerialNumber", "~Platform", "~ZKFPVersion", "DeviceID", …). A clock
// without it answers ACK_ERROR (a *ReplyError) or nothing at all (ErrOptionAbsent); OptionAbsent
// tells both.
func (c *Client) Option(ctx context.Context, name string) (string, error) {
	var v string
	err := c.do(ctx, func() (err error) {
		v, err = c.option(ctx, name)
		return err
	})
	return v, err
}

// OptionAbsent reports whether err from Option says that the clock lacks the option.
func OptionAbsent(err error) bool { return absent(err) }

func absent(err error) bool {
	var re *ReplyError
	return errors.Is(err, ErrOptionAbsent) || errors.As(err, &re) && re.Code == AckError
}

func (c *Client) option(ctx context.Context, name string) (string, error) {
	p, err := c.call(ctx, CmdOptionsRRQ, append([]byte(name), 0), AckOK)
	if err != nil {
		return "", err
	}
	s := string(cstring(p.Data))
	if s == "" {
		return "", fmt.Errorf("zk: option %s: %w", name, ErrOptionAbsent)
	}
	if k, v, ok := strings.Cut(s, "="); ok && k == name {
		return v, nil
	}
	return "", fmt.Errorf("zk: option %s: %w: reply %q", name, ErrMalformed, s)
}

// Sizes reads the counts and capacities (GET_FREE_SIZES).
func (c *Client) Sizes(ctx context.Context) (Sizes, error) {
	var s Sizes
	err := c.do(ctx, func() (err error) {
		s, err = c.sizes(ctx)
		return err
	})
	return s, err
}

func (c *Client) sizes(ctx context.Context) (Sizes, error) {
	p, err := c.call(ctx, CmdGetFreeSizes, nil, AckOK)
	if err != nil {
		return Sizes{}, err
	}
	s, err := DecodeFreeSizes(p.Data)
	if err != nil {
		return Sizes{}, fmt.Errorf("zk: %s: %w", CommandName(CmdGetFreeSizes), err)
	}
	return s, nil
}

// Time reads the clock's wall clock.
func (c *Client) Time(ctx context.Context) (time.Time, error) {
	var t time.Time
	err := c.do(ctx, func() error {
		p, err := c.call(ctx, CmdGetTime, nil, AckOK)
		if err != nil {
			return err
		}
		if len(p.Data) < 4 {
			return fmt.Errorf("zk: %s: %w: %d bytes", CommandName(CmdGetTime), ErrMalformed, len(p.Data))
		}
		t = DecodeTime(binary.LittleEndian.Uint32(p.Data))
		return nil
	})
	return t, err
}

// SetTime sets the clock's wall clock to the fields of t (whatever its zone: the clock has none),
// then makes the clock apply it (REFRESHDATA). The clock keeps whole seconds of 2000–2099.
func (c *Client) SetTime(ctx context.Context, t time.Time) error {
	if y := t.Year(); y < 2000 || y > 2099 {
		return fmt.Errorf("zk: %s: year %d outside 2000–2099", CommandName(CmdSetTime), y)
	}
	return c.do(ctx, func() error {
		var b [4]byte
		binary.LittleEndian.PutUint32(b[:], EncodeTime(t))
		if _, err := c.call(ctx, CmdSetTime, b[:], AckOK); err != nil {
			return err
		}
		_, err := c.call(ctx, CmdRefreshData, nil, AckOK)
		return err
	})
}

// ClearAttendanceLog deletes every punch on the clock. The clock's own copy is then gone: call it
// only on an operator's explicit command, after the log has been read and stored.
func (c *Client) ClearAttendanceLog(ctx context.Context) error {
	return c.do(ctx, func() error {
		_, err := c.call(ctx, CmdClearAttLog, nil, AckOK)
		return err
	})
}

// Attendance reads the whole attendance log. The clock has no "since" filter: every read returns
// every punch, and de-duplication is the caller's. It holds every record decoded (72 bytes each in
// memory for a 40-byte record on the wire); AttendanceSet holds the log as it arrived.
func (c *Client) Attendance(ctx context.Context) ([]Record, error) {
	set, err := c.AttendanceSet(ctx)
	if err != nil {
		return nil, err
	}
	return set.Decode(nil, 0, set.Len()), nil
}

// AttendanceSet reads the whole attendance log, as Attendance does, and returns it undecoded: a
// read costs the bytes received, once, and the caller decodes the records it wants.
func (c *Client) AttendanceSet(ctx context.Context) (*RecordSet, error) {
	var set *RecordSet
	err := c.do(ctx, func() error {
		s, err := c.sizes(ctx)
		if err != nil {
			return err
		}
		body, err := c.readSet(ctx, CmdAttLogRRQ, 0, c.bulkLimit(s.Records, s.RecordCapacity, 49))
		if err != nil {
			return err
		}
		size := c.opts.RecordSize
		if size == 0 {
			var exact bool
			size, exact, err = detectSize(len(body), s.Records, RecordSizes, c.recSize)
			if err != nil {
				return fmt.Errorf("zk: attendance log: %w", err)
			}
			if exact {
				c.recSize = size
			}
		}
		if set, err = NewRecordSet(body, size); err != nil {
			return fmt.Errorf("zk: attendance log: %w", err)
		}
		what := fmt.Sprintf("attendance log (%d bytes read as %d-byte records)", len(body), size)
		return c.checkCount(ctx, what, set.Len(), s.Records, func(s Sizes) int { return s.Records })
	})
	return set, err
}

// checkCount holds a bulk read to the clock's own count: a set that decodes fewer records than
// the clock held before the read, or more than it holds after it, lost or invented some (a
// firmware that answers an empty set, a layout misread). Records punched during the read fall
// between the two counts.
func (c *Client) checkCount(ctx context.Context, what string, got, before int, field func(Sizes) int) error {
	if got == before {
		return nil
	}
	s, err := c.sizes(ctx)
	if err != nil {
		return err
	}
	after := field(s)
	if got >= min(before, after) && got <= max(before, after) {
		return nil
	}
	return fmt.Errorf("zk: %s: %w: %w: decoded %d, the clock counts %d before the read and %d after",
		what, ErrMalformed, ErrRecordCount, got, before, after)
}

// Users reads the user table.
func (c *Client) Users(ctx context.Context) ([]User, error) {
	var users []User
	err := c.do(ctx, func() error {
		s, err := c.sizes(ctx)
		if err != nil {
			return err
		}
		body, err := c.readSet(ctx, CmdUserTempRRQ, 5, c.bulkLimit(s.Users, s.UserCapacity, 72))
		if err != nil {
			return err
		}
		size, exact, err := detectSize(len(body), s.Users, UserSizes, c.userSize)
		if err != nil {
			return fmt.Errorf("zk: users: %w", err)
		}
		if exact {
			c.userSize = size
		}
		users, err = DecodeUsers(nil, body, size, c.opts.Encoding)
		if err != nil {
			return fmt.Errorf("zk: users: %w", err)
		}
		return c.checkCount(ctx, "users", len(users), s.Users, func(s Sizes) int { return s.Users })
	})
	return users, err
}

// bulkLimit bounds a set by what the clock says it holds, with room for punches made during the
// read, so that a corrupt size field cannot make the client wait for or hold 64 MiB.
func (c *Client) bulkLimit(count, capacity, recMax int) int {
	n := max(count, capacity)
	if n <= 0 {
		return c.opts.MaxBulk
	}
	return min(c.opts.MaxBulk, (n+4096)*recMax+4)
}

// detectSize finds the record size of a set of n bytes holding about count records. count comes
// from an earlier command, so punches made since can make n/count inexact; then the layout seen
// before, or the size giving the count nearest count, is taken.
func detectSize(n, count int, sizes []int, seen int) (size int, exact bool, err error) {
	if n == 0 {
		return sizes[len(sizes)-1], false, nil
	}
	if count > 0 && n%count == 0 && validSize(n/count, sizes) {
		return n / count, true, nil
	}
	if seen != 0 && n%seen == 0 {
		return seen, false, nil
	}
	best, bestDiff := 0, 0
	for _, s := range sizes {
		if n%s != 0 {
			continue
		}
		d := n/s - count
		if d < 0 {
			d = -d
		}
		if best == 0 || d < bestDiff {
			best, bestDiff = s, d
		}
	}
	if best == 0 {
		return 0, false, fmt.Errorf("%w: %d bytes for %d records fit no known layout", ErrMalformed, n, count)
	}
	return best, false, nil
}

// readSet reads one bulk set (PREPARE_BUFFER, READ_BUFFER chunks, FREE_DATA) and returns its
// records without the length prefix.
func (c *Client) readSet(ctx context.Context, table uint16, fct uint32, limit int) ([]byte, error) {
	var req [11]byte
	req[0] = 1
	binary.LittleEndian.PutUint16(req[1:], table)
	binary.LittleEndian.PutUint32(req[3:], fct)
	var set []byte
	total := -1
	err := c.exchange(ctx, CmdPrepareBuffer, req[:], nil, func(p Packet) (bool, error) {
		switch p.Command {
		case CmdData:
			if len(p.Data) > limit {
				return true, fmt.Errorf("%w: set of %d bytes, limit %d", ErrTooLarge, len(p.Data), limit)
			}
			set = append([]byte(nil), p.Data...)
		case AckOK:
			if len(p.Data) < 5 {
				return true, fmt.Errorf("%w: PREPARE_BUFFER reply of %d bytes", ErrMalformed, len(p.Data))
			}
			total = int(binary.LittleEndian.Uint32(p.Data[1:]))
		default:
			return true, c.replyErr(CmdPrepareBuffer, p.Command)
		}
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	if set == nil {
		if total > limit {
			c.freeData(ctx)
			return nil, fmt.Errorf("zk: %s: %w: set of %d bytes, limit %d", CommandName(CmdPrepareBuffer), ErrTooLarge, total, limit)
		}
		chunk := ChunkTCP
		if c.udp {
			chunk = ChunkUDP
		}
		// The whole set at once: growing it by appends would allocate about twice its size again.
		set = make([]byte, 0, total)
		for len(set) < total {
			if set, err = c.readChunk(ctx, set, min(chunk, total-len(set))); err != nil {
				return nil, err
			}
		}
		if err := c.freeData(ctx); err != nil {
			return nil, err
		}
	}
	if len(set) < 4 {
		if len(set) == 0 {
			return nil, nil
		}
		return nil, fmt.Errorf("zk: bulk set: %w: %d bytes", ErrMalformed, len(set))
	}
	n := binary.LittleEndian.Uint32(set)
	if uint64(n) > uint64(len(set)-4) {
		return nil, fmt.Errorf("zk: bulk set: %w: prefix says %d bytes, %d arrived", ErrMalformed, n, len(set)-4)
	}
	return set[4 : 4+n], nil
}

func (c *Client) freeData(ctx context.Context) error {
	_, err := c.call(ctx, CmdFreeData, nil, AckOK)
	return err
}

// readChunk appends the chunk starting at len(set) of at most size bytes. The clock may send less
// than asked (PREPARE_DATA says how much), or the whole chunk in one DATA reply.
func (c *Client) readChunk(ctx context.Context, set []byte, size int) ([]byte, error) {
	base := len(set)
	var req [8]byte
	binary.LittleEndian.PutUint32(req[:], uint32(base))
	binary.LittleEndian.PutUint32(req[4:], uint32(size))
	expect := -1
	bad := func(format string, args ...any) error {
		err := fmt.Errorf(format, args...)
		if c.udp {
			return fmt.Errorf("%w: %w", errRetry, err)
		}
		return fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	err := c.exchange(ctx, CmdReadBuffer, req[:], func() { set, expect = set[:base], -1 }, func(p Packet) (bool, error) {
		switch p.Command {
		case CmdPrepareData:
			if len(p.Data) < 4 {
				return true, bad("PREPARE_DATA of %d bytes", len(p.Data))
			}
			n := int(binary.LittleEndian.Uint32(p.Data))
			if n <= 0 || n > size {
				return true, fmt.Errorf("%w: PREPARE_DATA announces %d bytes for a chunk of %d", ErrMalformed, n, size)
			}
			set, expect = set[:base], n
		case CmdData:
			if expect < 0 {
				if len(p.Data) == 0 || len(p.Data) > size {
					return true, bad("DATA of %d bytes for a chunk of %d", len(p.Data), size)
				}
				set = append(set, p.Data...)
				return true, nil
			}
			if len(set)-base+len(p.Data) > expect {
				return true, bad("chunk overflows the %d bytes announced", expect)
			}
			set = append(set, p.Data...)
		case AckOK:
			if expect < 0 {
				return true, bad("ACK_OK before PREPARE_DATA")
			}
			if got := len(set) - base; got != expect {
				return true, bad("chunk of %d bytes, %d announced", got, expect)
			}
			return true, nil
		default:
			return true, c.replyErr(CmdReadBuffer, p.Command)
		}
		return false, nil
	})
	return set, err
}

// Subscribe registers for realtime attendance events (REG_EVENT) and calls fn with each punch
// until ctx is done (it then returns ctx.Err()) or the link fails. fn runs on Subscribe's
// goroutine and may call the client's other methods. Punches that arrive while another call holds
// the link are queued for fn, up to eventQueueMax. The log still holds every punch: events are a
// low-latency hint, not the record.
func (c *Client) Subscribe(ctx context.Context, fn func(Record)) error {
	sub := &subscription{notify: make(chan struct{}, 1)}
	c.subMu.Lock()
	if c.sub != nil {
		c.subMu.Unlock()
		return ErrSubscribed
	}
	c.sub = sub
	c.subMu.Unlock()
	defer func() {
		c.subMu.Lock()
		c.sub = nil
		c.subMu.Unlock()
	}()
	if err := c.regEvent(ctx, EventAttendance); err != nil {
		return err
	}
	defer func() {
		if c.usable() != nil {
			return
		}
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), min(c.opts.Timeout, time.Second))
		defer cancel()
		if err := c.regEvent(uctx, 0); err != nil {
			c.log.Debug("zk REG_EVENT 0", "err", err)
		}
	}()
	for {
		sub.deliver(fn)
		if err := ctx.Err(); err != nil {
			return err
		}
		release, err := c.acquire(ctx, true, sub.notify)
		if errors.Is(err, errWake) {
			continue
		}
		if err != nil {
			return err
		}
		err = c.listen(ctx)
		release()
		if err != nil {
			return err
		}
	}
}

// listen reads one packet while subscribed. It returns nil when interrupted so that the loop
// hands the link over.
func (c *Client) listen(ctx context.Context) error {
	err := c.setDeadline(ctx, time.Time{})
	if errors.Is(err, errYield) {
		return nil
	}
	if err != nil {
		return err
	}
	p, err := c.next()
	switch {
	case err == nil:
	case errors.Is(err, errRetry):
		return nil
	case isTimeout(err):
		if ctxErr := ctx.Err(); ctxErr != nil {
			return ctxErr
		}
		return nil
	default:
		return fmt.Errorf("zk: waiting for events: %w", err)
	}
	if p.Command == CmdRegEvent {
		c.onEvent(p)
	} else if p.Command == AckUnauth {
		return c.replyErr(CmdRegEvent, p.Command)
	}
	return nil
}

func (c *Client) regEvent(ctx context.Context, mask uint32) error {
	return c.do(ctx, func() error {
		var b [4]byte
		binary.LittleEndian.PutUint32(b[:], mask)
		_, err := c.call(ctx, CmdRegEvent, b[:], AckOK)
		return err
	})
}

// eventQueueMax bounds the punches held for a subscriber whose callback is slow; beyond it the
// oldest are dropped (they are in the log).
const eventQueueMax = 4096

type subscription struct {
	mu     sync.Mutex
	queue  []Record
	notify chan struct{}
}

func (s *subscription) push(r Record, log *slog.Logger) {
	s.mu.Lock()
	if len(s.queue) >= eventQueueMax {
		log.Warn("zk event queue full; dropping the oldest punch", "user", s.queue[0].UserID, "time", s.queue[0].Time)
		s.queue = s.queue[1:]
	}
	s.queue = append(s.queue, r)
	s.mu.Unlock()
	select {
	case s.notify <- struct{}{}:
	default:
	}
}

func (s *subscription) deliver(fn func(Record)) {
	for {
		s.mu.Lock()
		q := s.queue
		s.queue = nil
		s.mu.Unlock()
		if len(q) == 0 {
			return
		}
		for _, r := range q {
			fn(r)
		}
	}
}

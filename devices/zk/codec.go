// Package zk owns the ZKTeco standalone protocol (TCP or UDP, port 4370): the pure codec (TCP
// wrapper, packet header and checksum, comm key, packed time, attendance and user records,
// realtime event payloads) and a Client that reads a clock over a Link. The clock's emulator lives
// in zkemu.
//
// Every time this package hands out is a wall-clock time: a time.Time in time.UTC whose fields are
// what the clock displays, because the clocks keep local time with no zone and the project decides
// the zone elsewhere.
package zk

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"time"
)

// Commands sent by the client (and, for CmdRegEvent, realtime events sent by the clock).
const (
	CmdConnect       uint16 = 1000
	CmdExit          uint16 = 1001
	CmdEnableDevice  uint16 = 1002
	CmdDisableDevice uint16 = 1003
	CmdRestart       uint16 = 1004
	CmdRefreshData   uint16 = 1013
	CmdGetVersion    uint16 = 1100
	CmdAuth          uint16 = 1102
	CmdOptionsRRQ    uint16 = 11
	CmdOptionsWRQ    uint16 = 12
	CmdAttLogRRQ     uint16 = 13
	CmdClearData     uint16 = 14
	CmdClearAttLog   uint16 = 15
	CmdUserTempRRQ   uint16 = 9
	CmdDBRRQ         uint16 = 7
	CmdGetFreeSizes  uint16 = 50
	CmdGetPinWidth   uint16 = 69
	CmdUserWRQ       uint16 = 8
	CmdDeleteUser    uint16 = 18
	CmdUnlock        uint16 = 31
	CmdStartVerify   uint16 = 60
	CmdCancelCapture uint16 = 62
	CmdWriteLCD      uint16 = 66
	CmdClearLCD      uint16 = 67
	CmdGetTime       uint16 = 201
	CmdSetTime       uint16 = 202
	CmdRegEvent      uint16 = 500
	CmdPrepareData   uint16 = 1500
	CmdData          uint16 = 1501
	CmdFreeData      uint16 = 1502
	CmdPrepareBuffer uint16 = 1503
	CmdReadBuffer    uint16 = 1504
)

// Reply codes. An error from the clock is only one of these codes; there is no message.
const (
	AckOK      uint16 = 2000
	AckError   uint16 = 2001
	AckData    uint16 = 2002
	AckRetry   uint16 = 2003
	AckRepeat  uint16 = 2004
	AckUnauth  uint16 = 2005
	AckUnknown uint16 = 65535
)

// EventAttendance is the realtime event code (in the session field of an event packet, and the
// bit in the REG_EVENT mask) of a punch.
const EventAttendance = 1

// HeaderSize is the size of the packet header: command, checksum, session id, reply id.
const HeaderSize = 8

// FramePrefixSize is the size of the TCP wrapper in front of each packet.
const FramePrefixSize = 8

// MaxPacket bounds the length a TCP wrapper may claim (header + data). The largest packet a clock
// sends is one DATA packet holding a whole 65472-byte chunk; 1 MiB leaves room for clocks that
// inline a small set in one DATA reply, and keeps a hostile length from costing more.
const MaxPacket = 1 << 20

var frameMagic = [4]byte{0x50, 0x50, 0x82, 0x7D}

var cmdNames = map[uint16]string{
	CmdConnect: "CONNECT", CmdExit: "EXIT", CmdEnableDevice: "ENABLEDEVICE",
	CmdDisableDevice: "DISABLEDEVICE", CmdRestart: "RESTART", CmdRefreshData: "REFRESHDATA",
	CmdGetVersion: "GET_VERSION", CmdAuth: "AUTH", CmdOptionsRRQ: "OPTIONS_RRQ",
	CmdOptionsWRQ: "OPTIONS_WRQ", CmdAttLogRRQ: "ATTLOG_RRQ", CmdClearData: "CLEAR_DATA",
	CmdClearAttLog: "CLEAR_ATTLOG", CmdUserTempRRQ: "USERTEMP_RRQ", CmdDBRRQ: "DB_RRQ",
	CmdGetFreeSizes: "GET_FREE_SIZES", CmdGetPinWidth: "GET_PINWIDTH", CmdGetTime: "GET_TIME",
	CmdSetTime: "SET_TIME", CmdRegEvent: "REG_EVENT", CmdPrepareData: "PREPARE_DATA",
	CmdUserWRQ: "USER_WRQ", CmdDeleteUser: "DELETE_USER", CmdUnlock: "UNLOCK",
	CmdStartVerify: "STARTVERIFY", CmdCancelCapture: "CANCELCAPTURE", CmdWriteLCD: "WRITE_LCD",
	CmdClearLCD: "CLEAR_LCD", CmdData: "DATA", CmdFreeData: "FREE_DATA", CmdPrepareBuffer: "PREPARE_BUFFER",
	CmdReadBuffer: "READ_BUFFER", AckOK: "ACK_OK", AckError: "ACK_ERROR", AckData: "ACK_DATA",
	AckRetry: "ACK_RETRY", AckRepeat: "ACK_REPEAT", AckUnauth: "ACK_UNAUTH", AckUnknown: "ACK_UNKNOWN",
}

// CommandName names a command or reply code for messages, e.g. "GET_TIME" or "ACK_UNAUTH".
func CommandName(code uint16) string {
	if n, ok := cmdNames[code]; ok {
		return n
	}
	return fmt.Sprintf("command %d", code)
}

// Errors of the codec. A framing error leaves a TCP stream out of step: the client closes the
// connection when it sees one. A checksum error does not: the wrapper's length still cuts the
// stream where the clock meant.
var (
	ErrFrame     = errors.New("zk: bad frame")
	ErrChecksum  = errors.New("zk: checksum mismatch")
	ErrMalformed = errors.New("zk: malformed data")
	ErrTooLarge  = errors.New("zk: size beyond limit")
)

// Packet is one protocol packet. Data may alias the buffer it was parsed from.
type Packet struct {
	Command uint16 // command, reply code, or CmdRegEvent for a realtime event
	Session uint16 // session id; the event code in a realtime event
	ReplyID uint16
	Data    []byte
}

// Checksum computes the packet checksum over p, a header followed by data, treating the checksum
// field (bytes 2–3) as zero so that it can be run over a packet as received.
func Checksum(p []byte) uint16 {
	var sum uint32
	n := len(p)
	for i := 0; i+1 < n; i += 2 {
		if i == 2 {
			continue
		}
		sum += uint32(p[i]) | uint32(p[i+1])<<8
		if sum > 0xFFFF {
			sum -= 0xFFFF
		}
	}
	if n%2 == 1 {
		sum += uint32(p[n-1])
		if sum > 0xFFFF {
			sum -= 0xFFFF
		}
	}
	return uint16(^sum)
}

// ChecksumOneLow is the checksum as clients and emulators derived from pyzk compute it over a
// packet as sent: one lower than Checksum (65534 where Checksum gives 0). pyzk itself gets the
// right value only because it sums the previous reply id; code that copied its routine without
// that quirk (pn-pyzk's simulator, gateways built on it) sends this variant, and pyzk and
// node-zklib, which never check reply checksums, work with it.
func ChecksumOneLow(p []byte) uint16 {
	if c := Checksum(p); c != 0 {
		return c - 1
	}
	return 0xFFFE
}

// Checksum variants a received packet may carry.
const (
	ChecksumOK       = iota // the C algorithm of the vendor SDK
	ChecksumVariant         // ChecksumOneLow
	ChecksumMismatch        // neither
)

// AppendPacket appends p (header with checksum, then data) to dst.
func AppendPacket(dst []byte, p Packet) []byte {
	start := len(dst)
	dst = binary.LittleEndian.AppendUint16(dst, p.Command)
	dst = append(dst, 0, 0)
	dst = binary.LittleEndian.AppendUint16(dst, p.Session)
	dst = binary.LittleEndian.AppendUint16(dst, p.ReplyID)
	dst = append(dst, p.Data...)
	binary.LittleEndian.PutUint16(dst[start+2:], Checksum(dst[start:]))
	return dst
}

// AppendFrame appends p wrapped for TCP: the magic, the LE u32 length, then the packet.
func AppendFrame(dst []byte, p Packet) []byte {
	dst = append(dst, frameMagic[:]...)
	dst = binary.LittleEndian.AppendUint32(dst, uint32(HeaderSize+len(p.Data)))
	return AppendPacket(dst, p)
}

// ParsePacket decodes one packet and verifies its checksum: only the vendor SDK's algorithm is
// accepted. Data aliases b.
func ParsePacket(b []byte) (Packet, error) {
	p, kind, err := DecodePacket(b)
	if err == nil && kind != ChecksumOK {
		err = checksumError(b, p)
	}
	return p, err
}

// DecodePacket decodes one packet and classifies its checksum (ChecksumOK, ChecksumVariant or
// ChecksumMismatch) without refusing it: the caller decides what a variant or a mismatch costs.
// The only error is a packet shorter than its header. Data aliases b.
func DecodePacket(b []byte) (Packet, int, error) {
	if len(b) < HeaderSize {
		return Packet{}, 0, fmt.Errorf("%w: packet of %d bytes, shorter than its header", ErrFrame, len(b))
	}
	p := Packet{
		Command: binary.LittleEndian.Uint16(b),
		Session: binary.LittleEndian.Uint16(b[4:]),
		ReplyID: binary.LittleEndian.Uint16(b[6:]),
		Data:    b[HeaderSize:],
	}
	got, want := binary.LittleEndian.Uint16(b[2:]), Checksum(b)
	switch {
	case got == want:
		return p, ChecksumOK, nil
	case got == ChecksumOneLow(b):
		return p, ChecksumVariant, nil
	}
	return p, ChecksumMismatch, nil
}

// checksumError describes the checksum of b, a packet whose checksum is not the SDK's.
func checksumError(b []byte, p Packet) error {
	return fmt.Errorf("%w: %s carries %#04x, computed %#04x", ErrChecksum, CommandName(p.Command),
		binary.LittleEndian.Uint16(b[2:]), Checksum(b))
}

// ParseFramePrefix checks the TCP wrapper and returns the packet length it announces.
func ParseFramePrefix(b []byte) (int, error) {
	if len(b) < FramePrefixSize {
		return 0, fmt.Errorf("%w: wrapper of %d bytes", ErrFrame, len(b))
	}
	if [4]byte(b[:4]) != frameMagic {
		return 0, fmt.Errorf("%w: wrapper starts % x, want 50 50 82 7d", ErrFrame, b[:4])
	}
	n := binary.LittleEndian.Uint32(b[4:])
	if n < HeaderSize || n > MaxPacket {
		return 0, fmt.Errorf("%w: wrapper announces %d bytes, want %d to %d", ErrFrame, n, HeaderSize, MaxPacket)
	}
	return int(n), nil
}

// CommKey computes the 4-byte AUTH payload for the clock's numeric comm key and the session id
// the clock gave in its CONNECT reply. ticks is fixed at 50 like the vendor SDK.
func CommKey(key int, session uint16) [4]byte {
	k := bits.Reverse32(uint32(key)) + uint32(session)
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], k)
	b[0] ^= 'Z'
	b[1] ^= 'K'
	b[2] ^= 'S'
	b[3] ^= 'O'
	b = [4]byte{b[2], b[3], b[0], b[1]}
	const t = 50
	return [4]byte{b[0] ^ t, b[1] ^ t, t, b[3] ^ t}
}

// EncodeTime packs a wall-clock time the way the clock does: every month 31 days, years 2000–2099.
func EncodeTime(t time.Time) uint32 {
	y, mon, d := t.Date()
	h, m, s := t.Clock()
	return uint32(((y%100)*372+(int(mon)-1)*31+d-1)*86400 + h*3600 + m*60 + s)
}

// DecodeTime unpacks a packed time into a wall-clock time. A day the calendar lacks (31 April)
// rolls over as time.Date does: the clock cannot produce one, and refusing it would lose a punch.
// It counts days itself rather than call time.Date, which costs more than the rest of a record's
// decoding.
func DecodeTime(v uint32) time.Time {
	secs := int64(v % 86400)
	d := int64(v / 86400)
	day := d % 31
	d /= 31
	mon := d%12 + 1
	year := 2000 + d/12
	return time.Unix((daysFromCivil(year, mon)+day)*86400+secs, 0).UTC()
}

// daysFromCivil is the number of days from 1970-01-01 to the first of month m of year y
// (y ≥ 0), by H. Hinnant's algorithm.
func daysFromCivil(y, m int64) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp + 2) / 5
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

// EncodeEventTime is the 6-byte time of realtime events.
func EncodeEventTime(t time.Time) [6]byte {
	y, mon, d := t.Date()
	h, m, s := t.Clock()
	return [6]byte{byte(y - 2000), byte(mon), byte(d), byte(h), byte(m), byte(s)}
}

// DecodeEventTime decodes the 6-byte time of realtime events.
func DecodeEventTime(b []byte) (time.Time, error) {
	if len(b) < 6 {
		return time.Time{}, fmt.Errorf("%w: event time of %d bytes", ErrMalformed, len(b))
	}
	if b[1] < 1 || b[1] > 12 || b[2] < 1 || b[2] > 31 || b[3] > 23 || b[4] > 59 || b[5] > 59 {
		return time.Time{}, fmt.Errorf("%w: event time % x out of range", ErrMalformed, b[:6])
	}
	return time.Date(2000+int(b[0]), time.Month(b[1]), int(b[2]), int(b[3]), int(b[4]), int(b[5]), 0, time.UTC), nil
}

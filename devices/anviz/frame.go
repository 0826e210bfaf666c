// Package anviz speaks the Anviz TC_B protocol to fingerprint time clocks over an RS232 line, an
// RS485 bus shared by several clocks, or TCP (port 5010). It owns the wire format (frames,
// CRC-16/MCRF4XX, the 14-byte attendance record) as pure Encode/Decode functions, the Link those
// frames travel on (a serial port or a net.Conn), and the client that reads a clock: device
// information, time, record counts, and the download of new records whose "new" marks are cleared
// only after the caller has stored them.
//
// Wall-clock convention: clocks keep local time with no zone. A wall-clock time is carried as a
// time.Time in time.UTC whose fields are what the clock displays.
package anviz

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Frame layout constants.
const (
	STX = 0xA5 // first byte of every frame

	// MaxData is the largest DATA field the protocol allows. Decoders reject longer LEN values so
	// that a corrupted length cannot make a reader wait for, or allocate, 64 KiB.
	MaxData = 400

	CommandHeaderLen  = 8 // STX, CH(4), CMD, LEN(2)
	ResponseHeaderLen = 9 // STX, CH(4), ACK, RET, LEN(2)
	CRCLen            = 2

	// MaxResponseLen is the longest response frame on the wire.
	MaxResponseLen = ResponseHeaderLen + MaxData + CRCLen

	// AckBit is added to a command code to form the ACK byte of its response.
	AckBit = 0x80
)

// Command codes used by the daemon.
const (
	CmdResendPacket = 0x10 // not a command: the download parameter asking for the last packet again
	CmdSerialNumber = 0x24
	CmdDeviceInfo   = 0x30
	CmdGetTime      = 0x38
	CmdSetTime      = 0x39
	CmdRecordInfo   = 0x3C
	CmdDownload     = 0x40
	CmdClear        = 0x4E
	CmdCapacity     = 0x5D
	CmdRealtime     = 0x5F
	CmdDeviceID     = 0x74

	// CmdInitializeSystem (4F) resets a clock to its factory state: users, fingerprints, records
	// and settings gone. No path of kaoqin sends it: AppendCommand refuses it.
	CmdInitializeSystem = 0x4F
)

// Download parameters (first DATA byte of CmdDownload).
const (
	DownloadNext   = 0x00
	DownloadAll    = 0x01
	DownloadNew    = 0x02
	DownloadResend = 0x10
)

// Clear types (first DATA byte of CmdClear).
const (
	ClearDeleteAll = 0
	ClearAllMarks  = 1
	ClearMarks     = 2
)

// RET codes.
const (
	RetSuccess      = 0x00
	RetFail         = 0x01
	RetFull         = 0x04
	RetEmpty        = 0x05
	RetNoUser       = 0x06
	RetTimeout      = 0x08
	RetUserExists   = 0x0A
	RetFingerExists = 0x0B
)

// Decoding errors. They are sentinels so that a reader can tell a damaged frame, after which the
// line must be drained, from a clock's refusal (*RetError), after which it need not.
var (
	ErrShort    = errors.New("anviz: frame incomplete")
	ErrSTX      = errors.New("anviz: frame does not start with A5")
	ErrTooLong  = errors.New("anviz: frame LEN exceeds 400")
	ErrCRC      = errors.New("anviz: bad CRC")
	ErrNotReply = errors.New("anviz: ACK byte is not a reply code")
	// ErrForbidden: a command kaoqin never sends (CmdInitializeSystem).
	ErrForbidden = errors.New("anviz: command refused by kaoqin: 4F (Initialize System) erases the clock")
)

// Sentinels for the RET codes a caller may want to test with errors.Is.
var (
	ErrFail           = errors.New("anviz: operation failed")
	ErrFull           = errors.New("anviz: full")
	ErrEmpty          = errors.New("anviz: empty")
	ErrNoUser         = errors.New("anviz: no such user")
	ErrCaptureTimeout = errors.New("anviz: capture timeout")
	ErrUserExists     = errors.New("anviz: user exists")
	ErrFingerExists   = errors.New("anviz: fingerprint exists")
)

var retSentinels = map[byte]error{
	RetFail:         ErrFail,
	RetFull:         ErrFull,
	RetEmpty:        ErrEmpty,
	RetNoUser:       ErrNoUser,
	RetTimeout:      ErrCaptureTimeout,
	RetUserExists:   ErrUserExists,
	RetFingerExists: ErrFingerExists,
}

// RetError is a clock's refusal of a command: a response whose RET is not success.
type RetError struct {
	Cmd byte // the command refused
	Ret byte // the RET code
}

func (e *RetError) Error() string {
	if s, ok := retSentinels[e.Ret]; ok {
		return fmt.Sprintf("anviz: command %02X: RET %02X (%s)", e.Cmd, e.Ret, s.Error()[len("anviz: "):])
	}
	return fmt.Sprintf("anviz: command %02X: RET %02X", e.Cmd, e.Ret)
}

// Is lets errors.Is(err, ErrEmpty) and the like match a RetError with that code.
func (e *RetError) Is(target error) bool {
	s, ok := retSentinels[e.Ret]
	return ok && s == target
}

// Command is a request frame, daemon to clock.
type Command struct {
	DeviceID uint32 // CH; 0 addresses every clock on the bus
	Cmd      byte
	Data     []byte
}

// Response is a reply frame, clock to daemon. Cmd is the command answered (ACK minus AckBit).
type Response struct {
	DeviceID uint32
	Cmd      byte
	Ret      byte
	Data     []byte
}

// Err returns nil for a successful response and a *RetError otherwise.
func (r Response) Err() error {
	if r.Ret == RetSuccess {
		return nil
	}
	return &RetError{Cmd: r.Cmd, Ret: r.Ret}
}

// CRC16 is CRC-16/MCRF4XX: reflected polynomial 0x8408, initial value 0xFFFF, no final XOR.
// Frames carry it low byte first.
func CRC16(b []byte) uint16 {
	crc := uint16(0xFFFF)
	for _, c := range b {
		crc = crc>>8 ^ crcTable[byte(crc)^c]
	}
	return crc
}

var crcTable = func() (t [256]uint16) {
	for i := range t {
		c := uint16(i)
		for range 8 {
			if c&1 != 0 {
				c = c>>1 ^ 0x8408
			} else {
				c >>= 1
			}
		}
		t[i] = c
	}
	return t
}()

func appendCRC(b []byte, start int) []byte {
	crc := CRC16(b[start:])
	return append(b, byte(crc), byte(crc>>8))
}

// AppendCommand appends the encoding of c to dst. It refuses CmdInitializeSystem, the factory
// reset: every frame kaoqin sends is built here, so no path can erase a clock.
func AppendCommand(dst []byte, c Command) ([]byte, error) {
	if c.Cmd == CmdInitializeSystem {
		return dst, ErrForbidden
	}
	if len(c.Data) > MaxData {
		return dst, fmt.Errorf("anviz: command %02X: %d data bytes, at most %d allowed", c.Cmd, len(c.Data), MaxData)
	}
	start := len(dst)
	dst = append(dst, STX)
	dst = binary.BigEndian.AppendUint32(dst, c.DeviceID)
	dst = append(dst, c.Cmd)
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(c.Data)))
	dst = append(dst, c.Data...)
	return appendCRC(dst, start), nil
}

// AppendResponse appends the encoding of r to dst.
func AppendResponse(dst []byte, r Response) ([]byte, error) {
	if len(r.Data) > MaxData {
		return dst, fmt.Errorf("anviz: response %02X: %d data bytes, at most %d allowed", r.Cmd, len(r.Data), MaxData)
	}
	start := len(dst)
	dst = append(dst, STX)
	dst = binary.BigEndian.AppendUint32(dst, r.DeviceID)
	dst = append(dst, r.Cmd|AckBit, r.Ret)
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(r.Data)))
	dst = append(dst, r.Data...)
	return appendCRC(dst, start), nil
}

// FrameLen reports the total length of the frame whose header starts b, given the header length
// (CommandHeaderLen or ResponseHeaderLen). It returns ErrShort while b holds less than a header,
// so that a stream reader knows how much more to read without trusting a damaged LEN beyond
// MaxData.
func FrameLen(b []byte, headerLen int) (int, error) {
	if len(b) < 1 {
		return 0, ErrShort
	}
	if b[0] != STX {
		return 0, ErrSTX
	}
	if len(b) < headerLen {
		return 0, ErrShort
	}
	n := int(binary.BigEndian.Uint16(b[headerLen-2:]))
	if n > MaxData {
		return 0, ErrTooLong
	}
	return headerLen + n + CRCLen, nil
}

func checkFrame(b []byte, headerLen int) (int, error) {
	n, err := FrameLen(b, headerLen)
	if err != nil {
		return 0, err
	}
	if len(b) < n {
		return 0, ErrShort
	}
	got := uint16(b[n-2]) | uint16(b[n-1])<<8
	if want := CRC16(b[:n-2]); got != want {
		return 0, fmt.Errorf("%w: got %04X, want %04X", ErrCRC, got, want)
	}
	return n, nil
}

// DecodeCommand decodes the command frame at the start of b and reports how many bytes it used.
// Data aliases b.
func DecodeCommand(b []byte) (Command, int, error) {
	n, err := checkFrame(b, CommandHeaderLen)
	if err != nil {
		return Command{}, 0, err
	}
	return Command{
		DeviceID: binary.BigEndian.Uint32(b[1:5]),
		Cmd:      b[5],
		Data:     b[CommandHeaderLen : n-2 : n-2],
	}, n, nil
}

// DecodeResponse decodes the response frame at the start of b and reports how many bytes it used.
// Data aliases b. A response with a RET other than success decodes without error; see
// Response.Err.
func DecodeResponse(b []byte) (Response, int, error) {
	n, err := checkFrame(b, ResponseHeaderLen)
	if err != nil {
		return Response{}, 0, err
	}
	if b[5]&AckBit == 0 {
		return Response{}, 0, ErrNotReply
	}
	return Response{
		DeviceID: binary.BigEndian.Uint32(b[1:5]),
		Cmd:      b[5] &^ AckBit,
		Ret:      b[6],
		Data:     b[ResponseHeaderLen : n-2 : n-2],
	}, n, nil
}

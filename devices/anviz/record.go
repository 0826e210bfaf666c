package anviz

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// RecordLen is the size of one attendance record on the wire.
const RecordLen = 14

// MaxRecordsPerPacket is how many records one download reply carries at most.
const MaxRecordsPerPacket = 25

// DefaultEpoch is the instant record seconds count from unless a clock model says otherwise: the
// protocol document says "seconds since 2000", but clients used with real devices count from
// 2000-01-02 00:00:00 local time. It is a wall-clock time (see the package comment).
var DefaultEpoch = time.Date(2000, 1, 2, 0, 0, 0, 0, time.UTC)

const maxUserCode = 1<<40 - 1

// Record is one attendance record.
type Record struct {
	UserID   string    // the 5-byte user code, in decimal
	Time     time.Time // wall clock, in time.UTC
	Backup   int       // how the user verified: 0 fingerprint 1, 1 fingerprint 2, 2 password, 3 card
	State    int       // attendance state: the low 4 bits of the record type
	Door     bool      // the record opened the door (bit 7 of the record type)
	WorkCode int
}

// DecodeRecord decodes the 14-byte record at the start of b; epoch is the clock model's record
// epoch (DefaultEpoch when zero).
func DecodeRecord(b []byte, epoch time.Time) (Record, error) {
	if len(b) < RecordLen {
		return Record{}, fmt.Errorf("anviz: record: %d bytes, want %d", len(b), RecordLen)
	}
	if epoch.IsZero() {
		epoch = DefaultEpoch
	}
	r := decodeRecord((*[RecordLen]byte)(b), epoch)
	r.UserID = strconv.FormatUint(uint64(b[0])<<32|uint64(binary.BigEndian.Uint32(b[1:5])), 10)
	return r, nil
}

// decodeRecord decodes every field but UserID.
func decodeRecord(b *[RecordLen]byte, epoch time.Time) Record {
	secs := binary.BigEndian.Uint32(b[5:9])
	return Record{
		Time:     epoch.Add(time.Duration(secs) * time.Second),
		Backup:   int(b[9]),
		State:    int(b[10] & 0x0F),
		Door:     b[10]&0x80 != 0,
		WorkCode: int(b[11])<<16 | int(b[12])<<8 | int(b[13]),
	}
}

// DecodeRecords appends to dst the records of a download or realtime reply's DATA. A download
// reply starts with a count byte: pass counted true. The length must match the count exactly,
// because a mismatch means the frame is not what the clock meant to send.
func DecodeRecords(dst []Record, data []byte, counted bool, epoch time.Time) ([]Record, error) {
	if epoch.IsZero() {
		epoch = DefaultEpoch
	}
	if counted {
		if len(data) < 1 {
			return dst, errors.New("anviz: records: no count byte")
		}
		if want := 1 + int(data[0])*RecordLen; len(data) != want {
			return dst, fmt.Errorf("anviz: records: count %d needs %d bytes, got %d", data[0], want, len(data))
		}
		data = data[1:]
	} else if len(data)%RecordLen != 0 {
		return dst, fmt.Errorf("anviz: records: %d bytes is not a multiple of %d", len(data), RecordLen)
	}
	dst = growRecords(dst, len(data)/RecordLen)
	// The user ids of a chunk are formatted into one string and sliced, so that a packet costs
	// one allocation rather than one per record: it roughly doubles the decoding rate.
	const chunk = 32
	var ends [chunk]int
	var digits [chunk * 13]byte
	for len(data) >= RecordLen {
		n := min(chunk, len(data)/RecordLen)
		ids := digits[:0]
		for i := range n {
			b := data[i*RecordLen:]
			ids = strconv.AppendUint(ids, uint64(b[0])<<32|uint64(binary.BigEndian.Uint32(b[1:5])), 10)
			ends[i] = len(ids)
		}
		all := string(ids)
		start := 0
		for i := range n {
			r := decodeRecord((*[RecordLen]byte)(data[i*RecordLen:]), epoch)
			r.UserID = all[start:ends[i]]
			start = ends[i]
			dst = append(dst, r)
		}
		data = data[n*RecordLen:]
	}
	return dst, nil
}

func growRecords(s []Record, n int) []Record {
	if cap(s)-len(s) >= n {
		return s
	}
	return append(make([]Record, 0, len(s)+n), s...)
}

// AppendRecord appends the 14-byte encoding of r to dst. Time must lie within 2^32 seconds after
// epoch and UserID must be a decimal number below 2^40.
func AppendRecord(dst []byte, r Record, epoch time.Time) ([]byte, error) {
	if epoch.IsZero() {
		epoch = DefaultEpoch
	}
	code, err := ParseUserID(r.UserID)
	if err != nil {
		return dst, err
	}
	d := r.Time.Sub(epoch)
	if d < 0 || d/time.Second > 1<<32-1 {
		return dst, fmt.Errorf("anviz: record time %s is outside the clock's range from %s", r.Time.Format(time.DateTime), epoch.Format(time.DateTime))
	}
	if r.Backup < 0 || r.Backup > 0xFF || r.State < 0 || r.State > 0x0F || r.WorkCode < 0 || r.WorkCode > 0xFFFFFF {
		return dst, fmt.Errorf("anviz: record %+v: field out of range", r)
	}
	typ := byte(r.State)
	if r.Door {
		typ |= 0x80
	}
	dst = append(dst, byte(code>>32))
	dst = binary.BigEndian.AppendUint32(dst, uint32(code))
	dst = binary.BigEndian.AppendUint32(dst, uint32(d/time.Second))
	return append(dst, byte(r.Backup), typ, byte(r.WorkCode>>16), byte(r.WorkCode>>8), byte(r.WorkCode)), nil
}

// ParseUserID parses a user code as the clock stores it: a decimal number below 2^40.
func ParseUserID(s string) (uint64, error) {
	code, err := strconv.ParseUint(strings.TrimSpace(s), 10, 64)
	if err != nil || code > maxUserCode {
		return 0, fmt.Errorf("anviz: user id %q: want a decimal number below 2^40", s)
	}
	return code, nil
}

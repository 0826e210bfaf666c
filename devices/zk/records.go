package zk

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"
)

// Record is one punch from the attendance log or a realtime event.
type Record struct {
	UID      int       // the clock's internal user number; 0 when the layout carries none (16-byte records, 32-byte events)
	UserID   string    // the user's pin: the 24-byte id, the 16-byte layout's u32 pin, or the 8-byte layout's uid in decimal
	Time     time.Time // wall clock (see the package comment)
	Verify   int       // 0 password, 1 fingerprint, 2 card, 15 face
	State    int       // 0 check-in, 1 check-out, 2 break-out, 3 break-in, 4 overtime-in, 5 overtime-out, 255 undefined
	WorkCode int       // 16-byte layout only
}

// User is one entry of the clock's user table.
type User struct {
	UID       int
	UserID    string
	Name      string
	Privilege int // 0 user, 14 administrator
	Password  string
	Card      uint32
	Group     string
}

// Encoding is the code page of names on the clock.
type Encoding string

// Code pages of the clocks: Chinese firmware stores names in GBK, newer firmware in UTF-8.
const (
	GBK  Encoding = "gbk"
	UTF8 Encoding = "utf-8"
)

// ParseEncoding accepts the spellings an operator writes in a config file.
func ParseEncoding(s string) (Encoding, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "gbk", "gb2312", "cp936":
		return GBK, nil
	case "utf-8", "utf8":
		return UTF8, nil
	}
	return "", fmt.Errorf("zk: unknown encoding %q: want gbk or utf-8", s)
}

// Record layouts of the attendance log and the user table, by record size.
var (
	RecordSizes = []int{8, 16, 40, 49}
	UserSizes   = []int{28, 72}
)

// cstring returns b up to its first NUL.
func cstring(b []byte) []byte {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		return b[:i]
	}
	return b
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return false
		}
	}
	return true
}

// DecodeText decodes a NUL-padded field in the clock's code page. Bytes that are not valid in it
// become U+FFFD rather than an error: a garbled name must not cost the punch.
func DecodeText(b []byte, enc Encoding) string {
	b = cstring(b)
	if isASCII(b) {
		return string(b)
	}
	if enc == GBK {
		if s, err := simplifiedchinese.GBK.NewDecoder().Bytes(b); err == nil {
			return strings.ToValidUTF8(string(s), "\uFFFD")
		}
	}
	if utf8.Valid(b) {
		return string(b)
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}

// EncodeText encodes s in the clock's code page into a field of size bytes, NUL padded and cut on
// a character boundary so that the clock never shows half a character.
func EncodeText(s string, enc Encoding, size int) ([]byte, error) {
	b := []byte(s)
	if enc == GBK && !isASCII(b) {
		var err error
		if b, err = simplifiedchinese.GBK.NewEncoder().Bytes(b); err != nil {
			return nil, fmt.Errorf("zk: %q has characters GBK lacks: %w", s, err)
		}
	}
	if len(b) > size {
		return nil, fmt.Errorf("zk: %q takes %d bytes, the field holds %d", s, len(b), size)
	}
	out := make([]byte, size)
	copy(out, b)
	return out, nil
}

// DecodeRecord decodes one attendance record; its length selects the layout (8, 16, 40 or 49).
func DecodeRecord(b []byte) (Record, error) {
	var r Record
	err := decodeRecordInto(&r, b, nil)
	return r, err
}

// decodeRecordInto decodes without allocating except for the user id, which ids shares between
// the records of one read (a log of 100,000 punches holds a few hundred users).
func decodeRecordInto(r *Record, b []byte, ids map[string]string) error {
	switch len(b) {
	case 8:
		uid := int(binary.LittleEndian.Uint16(b))
		*r = Record{
			UID:    uid,
			UserID: strconv.Itoa(uid),
			Verify: int(b[2]),
			Time:   DecodeTime(binary.LittleEndian.Uint32(b[3:])),
			State:  int(b[7]),
		}
	case 16:
		*r = Record{
			UserID:   strconv.FormatUint(uint64(binary.LittleEndian.Uint32(b)), 10),
			Time:     DecodeTime(binary.LittleEndian.Uint32(b[4:])),
			State:    int(b[8]),
			Verify:   int(b[9]),
			WorkCode: int(binary.LittleEndian.Uint32(b[12:])),
		}
	case 40, 49:
		*r = Record{
			UID:    int(binary.LittleEndian.Uint16(b)),
			UserID: internID(cstring(b[2:26]), ids),
			Verify: int(b[26]),
			Time:   DecodeTime(binary.LittleEndian.Uint32(b[27:])),
			State:  int(b[31]),
		}
	default:
		return fmt.Errorf("%w: attendance record of %d bytes, want 8, 16, 40 or 49", ErrMalformed, len(b))
	}
	return nil
}

func internID(b []byte, ids map[string]string) string {
	if ids == nil {
		return idString(b)
	}
	if s, ok := ids[string(b)]; ok {
		return s
	}
	s := idString(b)
	if len(ids) < 1<<16 {
		ids[s] = s
	}
	return s
}

// idString keeps pins readable: they are ASCII digits on every clock seen, but a byte that is not
// valid UTF-8 must not reach the database.
func idString(b []byte) string {
	if isASCII(b) || utf8.Valid(b) {
		return string(b)
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}

// DecodeRecords decodes data, a run of records of size bytes each (the log without its length
// prefix), appending to dst.
func DecodeRecords(dst []Record, data []byte, size int) ([]Record, error) {
	if !validSize(size, RecordSizes) {
		return dst, fmt.Errorf("%w: attendance record size %d, want 8, 16, 40 or 49", ErrMalformed, size)
	}
	if len(data)%size != 0 {
		return dst, fmt.Errorf("%w: %d bytes of records is not a whole number of %d-byte records", ErrMalformed, len(data), size)
	}
	n := len(data) / size
	dst = growRecords(dst, n)
	ids := make(map[string]string)
	base := len(dst)
	dst = dst[:base+n]
	for i := range n {
		if err := decodeRecordInto(&dst[base+i], data[i*size:(i+1)*size], ids); err != nil {
			return dst[:base+i], err
		}
	}
	return dst, nil
}

// RecordSet is an attendance log as it arrived: records of one layout, decoded on demand. It is
// not safe for concurrent use (decoding shares user id strings between records).
type RecordSet struct {
	data []byte
	size int
	ids  map[string]string
}

// NewRecordSet wraps data, a run of records of size bytes each (the log without its length
// prefix). It keeps data.
func NewRecordSet(data []byte, size int) (*RecordSet, error) {
	if !validSize(size, RecordSizes) {
		return nil, fmt.Errorf("%w: attendance record size %d, want 8, 16, 40 or 49", ErrMalformed, size)
	}
	if len(data)%size != 0 {
		return nil, fmt.Errorf("%w: %d bytes of records is not a whole number of %d-byte records", ErrMalformed, len(data), size)
	}
	return &RecordSet{data: data, size: size, ids: map[string]string{}}, nil
}

// Len is the number of records.
func (s *RecordSet) Len() int { return len(s.data) / s.size }

// RecordSize is the layout, 8, 16, 40 or 49 bytes.
func (s *RecordSet) RecordSize() int { return s.size }

// At decodes record i.
func (s *RecordSet) At(i int) Record {
	var r Record
	decodeRecordInto(&r, s.data[i*s.size:(i+1)*s.size], s.ids) // the size is valid: no error
	return r
}

// Decode appends records [from, to) to dst.
func (s *RecordSet) Decode(dst []Record, from, to int) []Record {
	dst = growRecords(dst, to-from)
	base := len(dst)
	dst = dst[:base+to-from]
	for i := from; i < to; i++ {
		decodeRecordInto(&dst[base+i-from], s.data[i*s.size:(i+1)*s.size], s.ids)
	}
	return dst
}

func growRecords(s []Record, n int) []Record {
	if cap(s)-len(s) >= n {
		return s
	}
	out := make([]Record, len(s), len(s)+n)
	copy(out, s)
	return out
}

func validSize(n int, sizes []int) bool {
	for _, s := range sizes {
		if n == s {
			return true
		}
	}
	return false
}

// EncodeRecord appends r in the layout of size bytes. UserID must be a number for the 16-byte
// layout; the 8-byte layout carries only UID.
func EncodeRecord(dst []byte, r Record, size int) ([]byte, error) {
	t := EncodeTime(r.Time)
	le := binary.LittleEndian
	switch size {
	case 8:
		dst = le.AppendUint16(dst, uint16(r.UID))
		dst = append(dst, byte(r.Verify))
		dst = le.AppendUint32(dst, t)
		dst = append(dst, byte(r.State))
	case 16:
		pin, err := strconv.ParseUint(r.UserID, 10, 32)
		if err != nil {
			return dst, fmt.Errorf("zk: the 16-byte layout needs a numeric user id, got %q", r.UserID)
		}
		dst = le.AppendUint32(dst, uint32(pin))
		dst = le.AppendUint32(dst, t)
		dst = append(dst, byte(r.State), byte(r.Verify), 0, 0)
		dst = le.AppendUint32(dst, uint32(r.WorkCode))
	case 40, 49:
		if len(r.UserID) > 24 {
			return dst, fmt.Errorf("zk: user id %q is longer than 24 bytes", r.UserID)
		}
		dst = le.AppendUint16(dst, uint16(r.UID))
		var id [24]byte
		copy(id[:], r.UserID)
		dst = append(dst, id[:]...)
		dst = append(dst, byte(r.Verify))
		dst = le.AppendUint32(dst, t)
		dst = append(dst, byte(r.State))
		dst = append(dst, make([]byte, size-32)...)
	default:
		return dst, fmt.Errorf("zk: attendance record size %d, want 8, 16, 40 or 49", size)
	}
	return dst, nil
}

// DecodeUser decodes one user record; its length selects the layout (28 or 72).
func DecodeUser(b []byte, enc Encoding) (User, error) {
	le := binary.LittleEndian
	switch len(b) {
	case 28:
		return User{
			UID:       int(le.Uint16(b)),
			Privilege: int(b[2]),
			Password:  DecodeText(b[3:8], enc),
			Name:      DecodeText(b[8:16], enc),
			Card:      le.Uint32(b[16:]),
			Group:     strconv.Itoa(int(b[21])),
			UserID:    strconv.FormatUint(uint64(le.Uint32(b[24:])), 10),
		}, nil
	case 72:
		return User{
			UID:       int(le.Uint16(b)),
			Privilege: int(b[2]),
			Password:  DecodeText(b[3:11], enc),
			Name:      DecodeText(b[11:35], enc),
			Card:      le.Uint32(b[35:]),
			Group:     DecodeText(b[40:47], enc),
			UserID:    DecodeText(b[48:72], enc),
		}, nil
	}
	return User{}, fmt.Errorf("%w: user record of %d bytes, want 28 or 72", ErrMalformed, len(b))
}

// DecodeUsers decodes data, a run of user records of size bytes each, appending to dst.
func DecodeUsers(dst []User, data []byte, size int, enc Encoding) ([]User, error) {
	if !validSize(size, UserSizes) {
		return dst, fmt.Errorf("%w: user record size %d, want 28 or 72", ErrMalformed, size)
	}
	if len(data)%size != 0 {
		return dst, fmt.Errorf("%w: %d bytes of users is not a whole number of %d-byte records", ErrMalformed, len(data), size)
	}
	for off := 0; off < len(data); off += size {
		u, err := DecodeUser(data[off:off+size], enc)
		if err != nil {
			return dst, err
		}
		dst = append(dst, u)
	}
	return dst, nil
}

// EncodeUser appends u in the layout of size bytes (28 or 72).
func EncodeUser(dst []byte, u User, size int, enc Encoding) ([]byte, error) {
	le := binary.LittleEndian
	field := func(s string, n int) error {
		b, err := EncodeText(s, enc, n)
		dst = append(dst, b...)
		return err
	}
	switch size {
	case 28:
		pin, err := strconv.ParseUint(u.UserID, 10, 32)
		if err != nil {
			return dst, fmt.Errorf("zk: the 28-byte user layout needs a numeric user id, got %q", u.UserID)
		}
		group, _ := strconv.Atoi(u.Group)
		dst = le.AppendUint16(dst, uint16(u.UID))
		dst = append(dst, byte(u.Privilege))
		if err := field(u.Password, 5); err != nil {
			return dst, err
		}
		if err := field(u.Name, 8); err != nil {
			return dst, err
		}
		dst = le.AppendUint32(dst, u.Card)
		dst = append(dst, 0, byte(group), 0, 0)
		dst = le.AppendUint32(dst, uint32(pin))
	case 72:
		dst = le.AppendUint16(dst, uint16(u.UID))
		dst = append(dst, byte(u.Privilege))
		for _, f := range []struct {
			s string
			n int
		}{{u.Password, 8}, {u.Name, 24}} {
			if err := field(f.s, f.n); err != nil {
				return dst, err
			}
		}
		dst = le.AppendUint32(dst, u.Card)
		dst = append(dst, 0)
		if err := field(u.Group, 7); err != nil {
			return dst, err
		}
		dst = append(dst, 0)
		if err := field(u.UserID, 24); err != nil {
			return dst, err
		}
	default:
		return dst, fmt.Errorf("zk: user record size %d, want 28 or 72", size)
	}
	return dst, nil
}

// Realtime attendance event payload sizes.
var EventSizes = []int{10, 12, 14, 32, 36, 37, 52}

// DecodeEvent decodes the data of a realtime attendance event (event code EventAttendance). Its
// length selects the form: 32, 36, 37 or 52 and more (24-byte user id, verify, state, time, then
// bytes this package ignores), or the older 10, 12 and 14 (numeric id, verify, state, time).
func DecodeEvent(b []byte) (Record, error) {
	le := binary.LittleEndian
	var r Record
	var tb []byte
	switch n := len(b); {
	case n == 32 || n == 36 || n == 37 || n >= 52:
		r.UserID = idString(cstring(b[:24]))
		r.Verify, r.State = int(b[24]), int(b[25])
		tb = b[26:32]
	case n == 10 || n == 14:
		r.UID = int(le.Uint16(b))
		r.UserID = strconv.Itoa(r.UID)
		r.Verify, r.State = int(b[2]), int(b[3])
		tb = b[4:10]
	case n == 12:
		// Like the 16-byte record, the u32 is the pin, not the uid.
		r.UserID = strconv.FormatUint(uint64(le.Uint32(b)), 10)
		r.Verify, r.State = int(b[4]), int(b[5])
		tb = b[6:12]
	default:
		return Record{}, fmt.Errorf("%w: attendance event of %d bytes, want 10, 12, 14, 32, 36, 37 or 52+", ErrMalformed, n)
	}
	t, err := DecodeEventTime(tb)
	if err != nil {
		return Record{}, err
	}
	r.Time = t
	return r, nil
}

// EncodeEvent appends r as a realtime attendance event of size bytes (one of EventSizes, or more
// than 52); the trailing bytes of the longer forms are zero.
func EncodeEvent(dst []byte, r Record, size int) ([]byte, error) {
	le := binary.LittleEndian
	tb := EncodeEventTime(r.Time)
	switch {
	case size == 32 || size == 36 || size == 37 || size >= 52:
		if len(r.UserID) > 24 {
			return dst, fmt.Errorf("zk: user id %q is longer than 24 bytes", r.UserID)
		}
		var id [24]byte
		copy(id[:], r.UserID)
		dst = append(dst, id[:]...)
		dst = append(dst, byte(r.Verify), byte(r.State))
		dst = append(dst, tb[:]...)
		dst = append(dst, make([]byte, size-32)...)
	case size == 10 || size == 14:
		dst = le.AppendUint16(dst, uint16(r.UID))
		dst = append(dst, byte(r.Verify), byte(r.State))
		dst = append(dst, tb[:]...)
		dst = append(dst, make([]byte, size-10)...)
	case size == 12:
		pin, err := strconv.ParseUint(r.UserID, 10, 32)
		if err != nil {
			return dst, fmt.Errorf("zk: the 12-byte event needs a numeric user id, got %q", r.UserID)
		}
		dst = le.AppendUint32(dst, uint32(pin))
		dst = append(dst, byte(r.Verify), byte(r.State))
		dst = append(dst, tb[:]...)
	default:
		return dst, fmt.Errorf("zk: event size %d, want 10, 12, 14, 32, 36, 37 or 52+", size)
	}
	return dst, nil
}

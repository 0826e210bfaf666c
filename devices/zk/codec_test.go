package zk

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The verified vectors of the spec (protocols.md §1), recomputed from bytes of real clocks.
func TestChecksumVectors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		header string // checksum field (bytes 2–3) as received: ignored
		data   string
		want   uint16
	}{
		{"ACK_OK d0 07 + 09", "d0 07 00 00 f3 8d 0a 00", "09", 0x6a29},
		{"OPTIONS ZKFaceVersion", "0b 00 00 00 f3 8d 03 00", hex.EncodeToString([]byte("ZKFaceVersion\x00")), 0x175a},
		{"OPTIONS ~OS", "0b 00 00 00 c5 c0 05 00", hex.EncodeToString([]byte("~OS\x00")), 0xef58},
		{"CONNECT", "e8 03 00 00 00 00 00 00", "", 0xfc17},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := append(unhex(t, tc.header), unhex(t, tc.data)...)
			if got := Checksum(p); got != tc.want {
				t.Errorf("Checksum = %#04x, want %#04x", got, tc.want)
			}
			// The field's own bytes must not count.
			p[2], p[3] = 0xAB, 0xCD
			if got := Checksum(p); got != tc.want {
				t.Errorf("Checksum with field set = %#04x, want %#04x", got, tc.want)
			}
		})
	}
}

func TestCommKeyVectors(t *testing.T) {
	for _, tc := range []struct {
		key     int
		session uint16
		want    string
	}{
		{12, 0x45cf, "614d323c"},
		{45, 0x45cf, "61c9323c"},
	} {
		got := CommKey(tc.key, tc.session)
		if hex.EncodeToString(got[:]) != tc.want {
			t.Errorf("CommKey(%d, %#x) = % x, want %s", tc.key, tc.session, got, tc.want)
		}
	}
}

func TestPackedTime(t *testing.T) {
	for _, tc := range []struct {
		v    uint32
		want time.Time
	}{
		{0x2368B36B, time.Date(2018, 6, 25, 17, 50, 35, 0, time.UTC)}, // verified
		{0, time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)},
		{EncodeTime(time.Date(2099, 12, 31, 23, 59, 59, 0, time.UTC)), time.Date(2099, 12, 31, 23, 59, 59, 0, time.UTC)},
		{EncodeTime(time.Date(2024, 2, 29, 8, 1, 2, 0, time.UTC)), time.Date(2024, 2, 29, 8, 1, 2, 0, time.UTC)},
	} {
		if got := DecodeTime(tc.v); !got.Equal(tc.want) || got.Location() != time.UTC {
			t.Errorf("DecodeTime(%#x) = %v, want %v", tc.v, got, tc.want)
		}
		if got := EncodeTime(tc.want); got != tc.v {
			t.Errorf("EncodeTime(%v) = %#x, want %#x", tc.want, got, tc.v)
		}
	}
}

// The 40-byte record captured from an F19.
// DecodeTime counts days itself; time.Date is the reference, normalisation of impossible days
// (31 February) included.
func TestDecodeTimeMatchesTimeDate(t *testing.T) {
	ref := func(v uint32) time.Time {
		s := int(v % 60)
		v /= 60
		m := int(v % 60)
		v /= 60
		h := int(v % 24)
		v /= 24
		d := int(v%31) + 1
		v /= 31
		mon := time.Month(v%12) + 1
		return time.Date(2000+int(v/12), mon, d, h, m, s, 0, time.UTC)
	}
	for v := uint64(0); v <= 0xFFFFFFFF; v += 86400*3 + 3607 {
		if got, want := DecodeTime(uint32(v)), ref(uint32(v)); got != want {
			t.Fatalf("DecodeTime(%#x) = %v, want %v", v, got, want)
		}
	}
	if got, want := DecodeTime(0xFFFFFFFF), ref(0xFFFFFFFF); got != want {
		t.Fatalf("DecodeTime(max) = %v, want %v", got, want)
	}
}

func TestRecordF19(t *testing.T) {
	b := unhex(t, "0d00"+hex.EncodeToString([]byte("999111333"))+strings.Repeat("00", 15)+
		"01 6b b3 68 23 00 00 00 00 00 ff 00 00 00")
	if len(b) != 40 {
		t.Fatalf("vector is %d bytes, want 40", len(b))
	}
	got, err := DecodeRecord(b)
	if err != nil {
		t.Fatal(err)
	}
	want := Record{UID: 13, UserID: "999111333", Verify: 1, Time: time.Date(2018, 6, 25, 17, 50, 35, 0, time.UTC), State: 0}
	if got != want {
		t.Errorf("DecodeRecord = %+v, want %+v", got, want)
	}
}

// The 32-byte realtime packet recorded from a clock.
func TestEvent32(t *testing.T) {
	b := unhex(t, hex.EncodeToString([]byte("1140064"))+strings.Repeat("00", 17)+"0f 00 12 0b 1d 0c 37 03")
	got, err := DecodeEvent(b)
	if err != nil {
		t.Fatal(err)
	}
	want := Record{UserID: "1140064", Verify: 15, State: 0, Time: time.Date(2018, 11, 29, 12, 55, 3, 0, time.UTC)}
	if got != want {
		t.Errorf("DecodeEvent = %+v, want %+v", got, want)
	}
}

func TestPacketRoundTrip(t *testing.T) {
	for _, p := range []Packet{
		{Command: CmdConnect},
		{Command: CmdOptionsRRQ, Session: 0x8df3, ReplyID: 3, Data: []byte("ZKFaceVersion\x00")},
		{Command: CmdData, Session: 1, ReplyID: 65534, Data: bytes.Repeat([]byte{0xff}, 1008)},
		{Command: AckOK, Session: 7, ReplyID: 9, Data: []byte{1, 2, 3}},
	} {
		b := AppendPacket(nil, p)
		got, err := ParsePacket(b)
		if err != nil {
			t.Fatalf("ParsePacket(AppendPacket(%v)): %v", p.Command, err)
		}
		if got.Command != p.Command || got.Session != p.Session || got.ReplyID != p.ReplyID || !bytes.Equal(got.Data, p.Data) {
			t.Errorf("round trip = %+v, want %+v", got, p)
		}
		b[len(b)-1] ^= 0x40
		if len(p.Data) > 0 {
			if _, err := ParsePacket(b); !errors.Is(err, ErrChecksum) {
				t.Errorf("corrupted %s: got %v, want ErrChecksum", CommandName(p.Command), err)
			}
		}
		f := AppendFrame(nil, p)
		n, err := ParseFramePrefix(f)
		if err != nil || n != HeaderSize+len(p.Data) {
			t.Errorf("ParseFramePrefix = %d, %v, want %d", n, err, HeaderSize+len(p.Data))
		}
	}
}

func TestFramePrefixErrors(t *testing.T) {
	for _, tc := range []struct{ name, in string }{
		{"bad magic", "50508200 08000000"},
		{"too short for a header", "5050827d 07000000"},
		{"hostile length", "5050827d ffffffff"},
		{"just over the cap", "5050827d 01001000"},
		{"truncated", "5050827d"},
	} {
		if _, err := ParseFramePrefix(unhex(t, tc.in)); !errors.Is(err, ErrFrame) {
			t.Errorf("%s: got %v, want ErrFrame", tc.name, err)
		}
	}
}

var wallTime = time.Date(2024, 3, 5, 8, 59, 7, 0, time.UTC)

func TestRecordLayouts(t *testing.T) {
	for _, tc := range []struct {
		size int
		in   Record
		want Record
	}{
		{8, Record{UID: 513, UserID: "x", Time: wallTime, Verify: 1, State: 1}, Record{UID: 513, UserID: "513", Time: wallTime, Verify: 1, State: 1}},
		{16, Record{UID: 9, UserID: "20156107", Time: wallTime, Verify: 2, State: 255, WorkCode: 77}, Record{UserID: "20156107", Time: wallTime, Verify: 2, State: 255, WorkCode: 77}},
		{40, Record{UID: 7, UserID: "000123456789012345678901", Time: wallTime, Verify: 15, State: 4}, Record{UID: 7, UserID: "000123456789012345678901", Time: wallTime, Verify: 15, State: 4}},
		{49, Record{UID: 65535, UserID: "A1", Time: wallTime, Verify: 0, State: 5}, Record{UID: 65535, UserID: "A1", Time: wallTime, Verify: 0, State: 5}},
	} {
		b, err := EncodeRecord(nil, tc.in, tc.size)
		if err != nil {
			t.Fatalf("EncodeRecord(%d): %v", tc.size, err)
		}
		if len(b) != tc.size {
			t.Fatalf("EncodeRecord(%d) gave %d bytes", tc.size, len(b))
		}
		got, err := DecodeRecord(b)
		if err != nil || got != tc.want {
			t.Errorf("size %d: got %+v, %v, want %+v", tc.size, got, err, tc.want)
		}
		recs, err := DecodeRecords(nil, append(b, b...), tc.size)
		if err != nil || len(recs) != 2 || recs[1] != tc.want {
			t.Errorf("DecodeRecords size %d: got %+v, %v", tc.size, recs, err)
		}
	}
	if _, err := DecodeRecord(make([]byte, 41)); !errors.Is(err, ErrMalformed) {
		t.Errorf("41-byte record: got %v, want ErrMalformed", err)
	}
	if _, err := DecodeRecords(nil, make([]byte, 41), 40); !errors.Is(err, ErrMalformed) {
		t.Errorf("41 bytes of 40-byte records: got %v, want ErrMalformed", err)
	}
}

func TestUserLayouts(t *testing.T) {
	for _, tc := range []struct {
		size int
		enc  Encoding
		in   User
	}{
		{72, GBK, User{UID: 1, UserID: "1140064", Name: "张三丰", Privilege: 14, Password: "1234", Card: 99887766, Group: "1"}},
		{72, UTF8, User{UID: 2, UserID: "A-7", Name: "李四", Card: 0, Group: "1"}},
		{28, GBK, User{UID: 3, UserID: "42", Name: "王五", Password: "12345", Card: 5, Group: "2"}},
		{28, UTF8, User{UID: 4, UserID: "43", Name: "Bob", Group: "1"}},
	} {
		b, err := EncodeUser(nil, tc.in, tc.size, tc.enc)
		if err != nil {
			t.Fatalf("EncodeUser: %v", err)
		}
		if len(b) != tc.size {
			t.Fatalf("EncodeUser(%d) gave %d bytes", tc.size, len(b))
		}
		got, err := DecodeUser(b, tc.enc)
		if err != nil || got != tc.in {
			t.Errorf("size %d %s: got %+v, %v, want %+v", tc.size, tc.enc, got, err, tc.in)
		}
	}
	// A GBK name read as if UTF-8 must still give valid text.
	b, _ := EncodeUser(nil, User{UserID: "1", Name: "张三"}, 72, GBK)
	if got, _ := DecodeUser(b, UTF8); !strings.ContainsRune(got.Name, '\uFFFD') {
		t.Errorf("GBK name decoded as UTF-8 = %q, want replacement characters", got.Name)
	}
}

func TestEventForms(t *testing.T) {
	for _, size := range []int{10, 12, 14, 32, 36, 37, 52, 60} {
		in := Record{UID: 77, UserID: "77", Time: wallTime, Verify: 1, State: 3}
		want := in
		switch size {
		case 12:
			want.UID = 0
		case 32, 36, 37, 52, 60:
			want.UID = 0
		}
		b, err := EncodeEvent(nil, in, size)
		if err != nil || len(b) != size {
			t.Fatalf("EncodeEvent(%d) = %d bytes, %v", size, len(b), err)
		}
		got, err := DecodeEvent(b)
		if err != nil || got != want {
			t.Errorf("event %d: got %+v, %v, want %+v", size, got, err, want)
		}
	}
	for _, n := range []int{0, 9, 11, 31, 33, 51} {
		if _, err := DecodeEvent(make([]byte, n)); !errors.Is(err, ErrMalformed) {
			t.Errorf("event of %d bytes: got %v, want ErrMalformed", n, err)
		}
	}
}

func TestFreeSizes(t *testing.T) {
	b := make([]byte, 92)
	put := func(i, v int) { b[4*i], b[4*i+1], b[4*i+2], b[4*i+3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24) }
	put(4, 7)
	put(6, 6)
	put(8, 605)
	put(14, 3000)
	put(15, 10000)
	put(16, 100000)
	got, err := DecodeFreeSizes(b)
	want := Sizes{Users: 7, Fingers: 6, Records: 605, FingerCapacity: 3000, UserCapacity: 10000, RecordCapacity: 100000}
	if err != nil || got != want {
		t.Errorf("DecodeFreeSizes = %+v, %v, want %+v", got, err, want)
	}
}

func TestDetectSize(t *testing.T) {
	for _, tc := range []struct {
		n, count, seen int
		want           int
		exact          bool
	}{
		{40 * 605, 605, 0, 40, true},
		{16 * 10, 10, 0, 16, true},
		{40 * 606, 605, 0, 40, false}, // a punch since GET_FREE_SIZES
		{49 * 3, 2, 0, 49, false},
		{80, 0, 16, 16, false},
		{0, 0, 0, 49, false},
	} {
		got, exact, err := detectSize(tc.n, tc.count, RecordSizes, tc.seen)
		if err != nil || got != tc.want || exact != tc.exact {
			t.Errorf("detectSize(%d, %d, %d) = %d, %v, %v, want %d, %v", tc.n, tc.count, tc.seen, got, exact, err, tc.want, tc.exact)
		}
	}
	if _, _, err := detectSize(41, 1, RecordSizes, 0); !errors.Is(err, ErrMalformed) {
		t.Errorf("detectSize(41): got %v, want ErrMalformed", err)
	}
}

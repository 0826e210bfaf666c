package zk

import (
	"bytes"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"time"
)

func seedPackets() [][]byte {
	var seeds [][]byte
	for _, p := range []Packet{
		{Command: CmdConnect},
		{Command: AckOK, Session: 0x45cf, ReplyID: 1, Data: []byte("~Platform=ZEM760_TFT\x00")},
		{Command: CmdData, Session: 1, ReplyID: 7, Data: bytes.Repeat([]byte{0x5a}, 1008)},
		{Command: CmdRegEvent, Session: EventAttendance, Data: make([]byte, 32)},
		{Command: CmdPrepareData, ReplyID: 3, Data: []byte{0xb4, 0x13, 0, 0}},
	} {
		seeds = append(seeds, AppendPacket(nil, p))
	}
	return seeds
}

func FuzzParsePacket(f *testing.F) {
	for _, s := range seedPackets() {
		f.Add(s)
	}
	f.Add([]byte{0xe8, 0x03, 0x17, 0xfc, 0, 0, 0, 0})
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParsePacket(b)
		if err != nil {
			return
		}
		// A packet that parses re-encodes to the same bytes.
		if got := AppendPacket(nil, p); !bytes.Equal(got, b) {
			t.Fatalf("re-encoded % x, want % x", got, b)
		}
	})
}

// chunkReader returns its data in reads of the sizes in cuts (cycled), then io.EOF, with a
// timeout after the first read to check that the reassembler resumes.
type chunkReader struct {
	data     []byte
	cuts     []byte
	i        int
	timedOut bool
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	if r.i == 1 && !r.timedOut {
		r.timedOut = true
		return 0, os.ErrDeadlineExceeded
	}
	n := 1
	if len(r.cuts) > 0 {
		n = int(r.cuts[r.i%len(r.cuts)]) + 1
	}
	r.i++
	n = min(n, len(p), len(r.data))
	copy(p, r.data[:n])
	r.data = r.data[n:]
	return n, nil
}

func FuzzFrameReader(f *testing.F) {
	var stream []byte
	for _, s := range seedPackets() {
		p, _ := ParsePacket(s)
		stream = AppendFrame(stream, p)
	}
	f.Add(stream, []byte{255, 23, 103, 151}) // the recorded 256/24/104/152-byte reads
	f.Add(stream, []byte{0})
	f.Add([]byte("\x50\x50\x82\x7d\xff\xff\xff\xff"), []byte{7})
	f.Add([]byte("\x50\x50\x82\x7d\x00\x00\x10\x00"+strings.Repeat("x", 300)), []byte{200})
	f.Fuzz(func(t *testing.T, data, cuts []byte) {
		// The same stream read whole must give the same packets as read in pieces.
		want := framesOf(t, &chunkReader{data: data, cuts: []byte{255}})
		got := framesOf(t, &chunkReader{data: data, cuts: cuts})
		if len(got) != len(want) {
			t.Fatalf("%d packets in pieces, %d whole", len(got), len(want))
		}
		for i := range got {
			if !bytes.Equal(got[i], want[i]) {
				t.Fatalf("packet %d differs", i)
			}
		}
	})
}

func framesOf(t *testing.T, r *chunkReader) [][]byte {
	total := len(r.data)
	fr := NewFrameReader(r)
	var out [][]byte
	for {
		p, err := fr.Next()
		if cap(fr.buf) > 2*total+initialFrameBuf {
			t.Fatalf("buffer of %d bytes for a stream of %d", cap(fr.buf), total)
		}
		if isTimeout(err) {
			continue
		}
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, ErrFrame) {
				t.Fatalf("unexpected error %v", err)
			}
			return out
		}
		if len(p) < HeaderSize || len(p) > MaxPacket {
			t.Fatalf("packet of %d bytes", len(p))
		}
		out = append(out, bytes.Clone(p))
	}
}

func seedRecords(f *testing.F) {
	for _, size := range RecordSizes {
		b, err := EncodeRecord(nil, Record{UID: 13, UserID: "999111333", Time: time.Date(2018, 6, 25, 17, 50, 35, 0, time.UTC), Verify: 1}, size)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

func FuzzDecodeRecord(f *testing.F) {
	seedRecords(f)
	f.Add(make([]byte, 41))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeRecord(b)
		if err != nil {
			return
		}
		if r.Time.Location() != time.UTC {
			t.Fatalf("time %v not in UTC", r.Time)
		}
		// Whole-set decoding agrees with one-record decoding.
		rs, err := DecodeRecords(nil, append(bytes.Clone(b), b...), len(b))
		if err != nil || len(rs) != 2 || rs[0] != r || rs[1] != r {
			t.Fatalf("DecodeRecords = %+v, %v, want 2 × %+v", rs, err, r)
		}
		// Records decoded from a layout that keeps every field re-encode to the same record.
		if len(b) == 8 {
			again, err := EncodeRecord(nil, r, 8)
			if err == nil {
				if r2, _ := DecodeRecord(again); r2.UID != r.UID || r2.Verify != r.Verify || r2.State != r.State {
					t.Fatalf("8-byte round trip %+v → %+v", r, r2)
				}
			}
		}
	})
}

func FuzzDecodeUser(f *testing.F) {
	for _, size := range UserSizes {
		for _, enc := range []Encoding{GBK, UTF8} {
			b, err := EncodeUser(nil, User{UID: 1, UserID: "1140064", Name: "张三", Password: "12", Group: "1"}, size, enc)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b, enc == GBK)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte, gbk bool) {
		enc := UTF8
		if gbk {
			enc = GBK
		}
		u, err := DecodeUser(b, enc)
		if err != nil {
			return
		}
		for _, s := range []string{u.Name, u.UserID, u.Password, u.Group} {
			if !isValidUTF8(s) {
				t.Fatalf("field %q is not valid UTF-8", s)
			}
		}
	})
}

func isValidUTF8(s string) bool { return strings.ToValidUTF8(s, "?") == s }

func FuzzDecodeEvent(f *testing.F) {
	for _, size := range EventSizes {
		b, err := EncodeEvent(nil, Record{UID: 7, UserID: "1140064", Time: time.Date(2018, 11, 29, 12, 55, 3, 0, time.UTC), Verify: 15}, size)
		if err != nil {
			b, _ = EncodeEvent(nil, Record{UID: 7, UserID: "7", Time: time.Date(2018, 11, 29, 12, 55, 3, 0, time.UTC), Verify: 15}, size)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeEvent(b)
		if err != nil {
			return
		}
		if y := r.Time.Year(); y < 2000 || y > 2255 || r.Time.Location() != time.UTC {
			t.Fatalf("time %v", r.Time)
		}
		if !isValidUTF8(r.UserID) {
			t.Fatalf("user id %q is not valid UTF-8", r.UserID)
		}
	})
}

func FuzzDecodeFreeSizes(f *testing.F) {
	f.Add(make([]byte, 80))
	f.Add(bytes.Repeat([]byte{0xff}, 92))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := DecodeFreeSizes(b)
		if err != nil {
			return
		}
		if s.Records < 0 || s.RecordCapacity < 0 || s.Users < 0 {
			t.Fatalf("negative size %+v", s)
		}
	})
}

package zk

import (
	"bytes"
	"context"
	"encoding/binary"
	"os"
	"testing"
	"time"
)

// FuzzDecodePacket: any bytes decode or fail cleanly; the checksum kind agrees with the two
// algorithms, and ParsePacket accepts exactly the ChecksumOK packets.
func FuzzDecodePacket(f *testing.F) {
	for _, s := range seedPackets() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, kind, err := DecodePacket(b)
		if err != nil {
			if len(b) >= HeaderSize {
				t.Fatalf("%d bytes: %v", len(b), err)
			}
			return
		}
		got := binary.LittleEndian.Uint16(b[2:])
		switch kind {
		case ChecksumOK:
			if got != Checksum(b) {
				t.Fatal("OK without the SDK checksum")
			}
		case ChecksumVariant:
			if got != ChecksumOneLow(b) || got == Checksum(b) {
				t.Fatal("variant without the one-low checksum")
			}
		case ChecksumMismatch:
			if got == Checksum(b) || got == ChecksumOneLow(b) {
				t.Fatal("mismatch with a known checksum")
			}
		}
		if _, err := ParsePacket(b); (err == nil) != (kind == ChecksumOK) {
			t.Fatalf("ParsePacket: %v for kind %d", err, kind)
		}
		if !bytes.Equal(p.Data, b[HeaderSize:]) {
			t.Fatal("data is not the bytes after the header")
		}
	})
}

// FuzzRecordSet: a set decodes record by record exactly as DecodeRecords decodes it whole.
func FuzzRecordSet(f *testing.F) {
	for _, size := range RecordSizes {
		f.Add(bytes.Repeat([]byte{0x31, 0x32, 0, 1, 0xd0, 0x59, 0x2f, 0x25}, size), size)
	}
	f.Fuzz(func(t *testing.T, b []byte, size int) {
		set, err := NewRecordSet(b, size)
		whole, werr := DecodeRecords(nil, b, size)
		if (err == nil) != (werr == nil) {
			t.Fatalf("NewRecordSet %v, DecodeRecords %v", err, werr)
		}
		if err != nil {
			return
		}
		if set.Len() != len(whole) {
			t.Fatalf("Len %d, want %d", set.Len(), len(whole))
		}
		for i := range whole {
			if r := set.At(i); r != whole[i] {
				t.Fatalf("record %d: At %+v, DecodeRecords %+v", i, r, whole[i])
			}
		}
		if n := set.Len(); n > 1 {
			part := set.Decode(nil, 1, n)
			for i := range part {
				if part[i] != whole[i+1] {
					t.Fatalf("Decode(1, %d)[%d] differs", n, i)
				}
			}
		}
	})
}

// fuzzLink answers every request after CONNECT with the next of the fuzzer's replies, each
// either a whole frame (when it starts with the wrapper) or raw bytes cut into the stream.
type fuzzLink struct {
	replies [][]byte
	out     []byte
}

func (l *fuzzLink) Write(b []byte) (int, error) {
	if len(b) >= FramePrefixSize+HeaderSize && binary.LittleEndian.Uint16(b[FramePrefixSize:]) == CmdConnect {
		l.out = append(l.out, AppendFrame(nil, Packet{Command: AckOK, Session: 9})...)
		return len(b), nil
	}
	if len(l.replies) > 0 {
		l.out = append(l.out, l.replies[0]...)
		l.replies = l.replies[1:]
	}
	return len(b), nil
}

func (l *fuzzLink) Read(b []byte) (int, error) {
	if len(l.out) == 0 {
		return 0, os.ErrDeadlineExceeded
	}
	n := copy(b, l.out)
	l.out = l.out[n:]
	return n, nil
}

func (l *fuzzLink) Close() error                { return nil }
func (l *fuzzLink) SetDeadline(time.Time) error { return nil }

// FuzzClientReplies gives a client arbitrary replies to a whole log read (sizes, PREPARE_BUFFER,
// chunks, FREE_DATA, sizes again): it must end without panic or hang, and what it returns must
// agree with the counts it was given.
func FuzzClientReplies(f *testing.F) {
	le := binary.LittleEndian
	frame := func(cmd uint16, data []byte) []byte {
		return AppendFrame(nil, Packet{Command: cmd, Session: 9, Data: data})
	}
	sizes := make([]byte, 80)
	le.PutUint32(sizes[32:], 2)
	set := append(le.AppendUint32(nil, 80), bytes.Repeat([]byte{0x31, 0, 0x31, 0x32}, 20)...)
	f.Add(frame(AckOK, sizes), frame(CmdData, set), []byte{}, []byte{})
	f.Add(frame(AckOK, sizes), frame(AckOK, le.AppendUint32([]byte{0}, uint32(len(set)))),
		append(frame(CmdPrepareData, le.AppendUint32(le.AppendUint32(nil, uint32(len(set))), 1008)), append(frame(CmdData, set), frame(AckOK, nil)...)...),
		frame(AckOK, nil))
	f.Fuzz(func(t *testing.T, a, b, c, d []byte) {
		link := &fuzzLink{}
		cl, err := Connect(context.Background(), link, Options{Network: "tcp", Timeout: time.Millisecond, MaxBulk: 1 << 20})
		if err != nil {
			t.Fatal(err)
		}
		// Each reply (all its frames) carries the reply id of the request it follows, as a
		// clock's would: requests 1 to 5 after CONNECT.
		for i, r := range [][]byte{a, b, c, d, a} {
			r = bytes.Clone(r)
			setReplyIDs(r, uint16(i+1))
			link.replies = append(link.replies, r)
		}
		set, err := cl.AttendanceSet(context.Background())
		if err == nil && set.Len()*set.RecordSize() > 1<<20 {
			t.Fatalf("a set of %d records beyond MaxBulk", set.Len())
		}
	})
}

// setReplyIDs rewrites the reply id (and checksum) of every whole frame at the start of b.
func setReplyIDs(b []byte, id uint16) {
	for len(b) >= FramePrefixSize+HeaderSize && [4]byte(b[:4]) == frameMagic {
		n := int(binary.LittleEndian.Uint32(b[4:]))
		if n < HeaderSize || FramePrefixSize+n > len(b) {
			return
		}
		p := b[FramePrefixSize : FramePrefixSize+n]
		binary.LittleEndian.PutUint16(p[6:], id)
		binary.LittleEndian.PutUint16(p[2:], Checksum(p))
		b = b[FramePrefixSize+n:]
	}
}

package anviz

import (
	"bytes"
	"errors"
	"os"
	"testing"
	"time"
)

// Run each for at least 60 s, one worker, e.g.
//
//	go test ./devices/anviz -run '^$' -fuzz '^FuzzDecodeResponse$' -fuzztime 60s -parallel 1

func FuzzDecodeResponse(f *testing.F) {
	for _, tt := range frameCases {
		f.Add(frameBytes(f, tt.hex))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, n, err := DecodeResponse(b)
		if err != nil {
			return
		}
		if n > len(b) || n > MaxResponseLen || len(r.Data) > MaxData {
			t.Fatalf("n = %d, data %d bytes from %d input bytes", n, len(r.Data), len(b))
		}
		again, err := AppendResponse(nil, r)
		if err != nil || !bytes.Equal(again, b[:n]) {
			t.Fatalf("re-encoded % x (%v), want % x", again, err, b[:n])
		}
	})
}

func FuzzDecodeCommand(f *testing.F) {
	for _, tt := range frameCases {
		f.Add(frameBytes(f, tt.hex))
	}
	for _, c := range []Command{{DeviceID: 1, Cmd: CmdDownload, Data: []byte{2, 25}}, {Cmd: CmdClear, Data: []byte{2, 0, 0, 9}}} {
		b, _ := AppendCommand(nil, c)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, n, err := DecodeCommand(b)
		if err != nil {
			return
		}
		again, err := AppendCommand(nil, c)
		if err != nil || n > len(b) || !bytes.Equal(again, b[:n]) {
			t.Fatalf("re-encoded % x (%v), want % x", again, err, b[:min(n, len(b))])
		}
	})
}

func FuzzDecodeRecords(f *testing.F) {
	for _, r := range recordCases {
		b, _ := AppendRecord([]byte{1}, r, DefaultEpoch)
		f.Add(b, true)
		f.Add(b[1:], false)
	}
	f.Fuzz(func(t *testing.T, b []byte, counted bool) {
		rs, err := DecodeRecords(nil, b, counted, time.Time{})
		if err != nil {
			return
		}
		for _, r := range rs {
			again, err := AppendRecord(nil, r, DefaultEpoch)
			if err != nil || len(again) != RecordLen {
				t.Fatalf("record %+v does not re-encode: %v", r, err)
			}
		}
	})
}

// scriptLink plays a fixed byte stream in reads of up to step bytes, then times out, as a quiet
// line does.
type scriptLink struct {
	data []byte
	step int
}

func (l *scriptLink) Read(b []byte) (int, error) {
	if len(l.data) == 0 {
		return 0, os.ErrDeadlineExceeded
	}
	n := copy(b[:min(len(b), l.step)], l.data)
	l.data = l.data[n:]
	return n, nil
}
func (l *scriptLink) Write(b []byte) (int, error)   { return len(b), nil }
func (l *scriptLink) Close() error                  { return nil }
func (l *scriptLink) SetDeadline(t time.Time) error { return nil }

// FuzzReadFrame feeds the stream reader arbitrary line bytes: it must neither panic nor loop, and
// reads into a fixed buffer whatever LEN claims.
func FuzzReadFrame(f *testing.F) {
	for _, tt := range frameCases {
		f.Add(frameBytes(f, tt.hex), uint8(1))
		f.Add(frameBytes(f, tt.hex), uint8(64))
	}
	f.Fuzz(func(t *testing.T, b []byte, step uint8) {
		bus := NewBus(&scriptLink{data: b, step: int(step%32) + 1}, Options{})
		for calls := 0; ; calls++ {
			if calls > len(b) {
				t.Fatalf("%d frames from %d bytes: the reader does not make progress", calls, len(b))
			}
			r, err := bus.readFrame()
			if errors.Is(err, ErrNoReply) || errors.Is(err, ErrShort) {
				return
			}
			if err == nil && len(r.Data) > MaxData {
				t.Fatalf("data %d bytes", len(r.Data))
			}
		}
	})
}

package zk

import (
	"errors"
	"io"
)

// FrameReader reassembles TCP-wrapped packets from a stream. Clocks split one packet over several
// reads and put several packets in one read, so the stream is cut by the wrapper's length, never
// by read boundaries.
//
// The buffer grows only as bytes arrive (doubling when full, up to the announced packet), so a
// hostile length costs at most about twice what was actually sent. A read error that is a timeout
// keeps the bytes buffered so far: the next call resumes where the stream stopped.
type FrameReader struct {
	r          io.Reader
	buf        []byte
	start, end int
	err        error // sticky framing error: the stream is out of step for good
}

const initialFrameBuf = 16 << 10

// NewFrameReader reads frames from r.
func NewFrameReader(r io.Reader) *FrameReader { return &FrameReader{r: r} }

// Buffered reports how many bytes are held that no Next has returned yet.
func (f *FrameReader) Buffered() int { return f.end - f.start }

// Next returns the next packet (header and data, without the wrapper). It is valid until the
// following call. Framing errors wrap ErrFrame and repeat on every later call.
func (f *FrameReader) Next() ([]byte, error) {
	if f.err != nil {
		return nil, f.err
	}
	empty := 0
	for {
		need := FramePrefixSize
		if avail := f.end - f.start; avail >= FramePrefixSize {
			n, err := ParseFramePrefix(f.buf[f.start:f.end])
			if err != nil {
				f.err = err
				return nil, err
			}
			need += n
			if avail >= need {
				p := f.buf[f.start+FramePrefixSize : f.start+need]
				f.start += need
				return p, nil
			}
		}
		if err := f.fill(need); err != nil {
			return nil, err
		}
		if f.end-f.start == 0 {
			// A reader that keeps returning nothing and no error would spin here forever.
			if empty++; empty > 100 {
				return nil, io.ErrNoProgress
			}
		}
	}
}

// fill reads at least one more byte towards a frame of need bytes.
func (f *FrameReader) fill(need int) error {
	if f.start > 0 && (f.start == f.end || len(f.buf)-f.start < need) {
		f.end = copy(f.buf, f.buf[f.start:f.end])
		f.start = 0
	}
	if f.end == len(f.buf) {
		size := max(2*len(f.buf), initialFrameBuf)
		if size > need+f.start && need+f.start > len(f.buf) {
			size = need + f.start
		}
		nb := make([]byte, size)
		f.end = copy(nb, f.buf[f.start:f.end])
		f.start = 0
		f.buf = nb
	}
	n, err := f.r.Read(f.buf[f.end:])
	f.end += n
	if err != nil {
		if n > 0 && !errors.Is(err, io.EOF) {
			return nil // deliver what came; the error repeats on the next read
		}
		if errors.Is(err, io.EOF) {
			if n > 0 {
				return nil
			}
			if f.end > f.start {
				return io.ErrUnexpectedEOF
			}
		}
		return err
	}
	return nil
}

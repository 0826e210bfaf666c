package anvizemu

import (
	"errors"
	"io"
	"os"
	"sync"
	"time"

	"github.com/kaoqin/kaoqin/devices/anviz"
)

// conn is a pseudo-terminal master or a TCP connection.
type conn interface {
	io.ReadWriteCloser
	SetReadDeadline(t time.Time) error
	SetWriteDeadline(t time.Time) error
}

// frameGap is how long a clock waits for the rest of a started frame before it gives up on it,
// so that noise that looks like a frame start with a long LEN cannot stall the line.
const frameGap = 200 * time.Millisecond

// line is one connection to the bus: a pseudo-terminal or one TCP client.
type line struct {
	e        *Emulator
	conn     conn
	extra    io.Closer // the held slave of a pseudo-terminal
	name     string
	serial   bool
	byteTime time.Duration // 0: unpaced

	closeOnce sync.Once

	wmu  sync.Mutex // one frame at a time on the wire
	free time.Time  // when the paced line is next idle; guarded by wmu
}

func (l *line) close() {
	l.closeOnce.Do(func() {
		l.conn.Close()
		if l.extra != nil {
			l.extra.Close()
		}
	})
}

// serve reads requests until the line closes. Bytes that do not form a well-formed request are
// skipped one at a time until an A5 starts one, as a clock's receiver does; a request with a bad
// CRC gets no answer, and a frame left incomplete for frameGap is given up.
func (l *line) serve() {
	buf := make([]byte, 0, 4096)
	var first time.Time // when the oldest byte in buf arrived
	tmp := make([]byte, 1024)
	for {
		for len(buf) > 0 {
			if len(buf) > 5 && buf[5]&anviz.AckBit != 0 {
				// The reply form, from a client answering a ping.
				n, err := anviz.FrameLen(buf, anviz.ResponseHeaderLen)
				if errors.Is(err, anviz.ErrShort) || err == nil && len(buf) < n {
					break
				}
				if r, used, err := anviz.DecodeResponse(buf); err == nil {
					l.e.answered(r)
					buf = buf[:copy(buf, buf[used:])]
				} else {
					buf = buf[:copy(buf, buf[1:])]
				}
				first = time.Now()
				continue
			}
			n, err := anviz.FrameLen(buf, anviz.CommandHeaderLen)
			if errors.Is(err, anviz.ErrShort) {
				break
			}
			if err == nil && len(buf) < n {
				break
			}
			var cmd anviz.Command
			if err == nil {
				cmd, _, err = anviz.DecodeCommand(buf)
			}
			if err != nil {
				buf = buf[:copy(buf, buf[1:])]
				continue
			}
			replies := l.e.handle(cmd)
			arrived := first
			buf = buf[:copy(buf, buf[n:])]
			for _, r := range replies {
				if r.hangUp && !l.serial {
					return
				}
			}
			var frames [][]byte
			for _, r := range replies {
				if r.frame != nil {
					frames = append(frames, r.frame)
				}
			}
			if l.send(frames, arrived, n, false) != nil {
				return
			}
			first = time.Now()
		}
		if len(buf) >= cap(buf) {
			buf = buf[:0]
		}
		dl := time.Time{}
		if len(buf) > 0 {
			dl = time.Now().Add(frameGap)
		}
		l.conn.SetReadDeadline(dl)
		m, err := l.conn.Read(tmp[:min(len(tmp), cap(buf)-len(buf))])
		if m > 0 {
			if len(buf) == 0 {
				first = time.Now()
			}
			buf = append(buf, tmp[:m]...)
		}
		if err != nil && m == 0 {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				buf = buf[:copy(buf, buf[1:])]
				continue
			}
			return
		}
	}
}

// send writes frames on the line. On a paced line the request of reqLen bytes that arrived at
// reqStart first occupies the line for its own transmission time, then each reply byte is
// released no earlier than a UART at the baud rate would have delivered it. A realtime push
// gives up on a client that does not read rather than blocking the line for good.
func (l *line) send(frames [][]byte, reqStart time.Time, reqLen int, push bool) error {
	if len(frames) == 0 && l.byteTime == 0 {
		return nil
	}
	l.wmu.Lock()
	defer l.wmu.Unlock()
	dl := time.Time{}
	if push {
		dl = time.Now().Add(2 * time.Second)
	}
	l.conn.SetWriteDeadline(dl)
	if l.byteTime == 0 {
		for _, f := range frames {
			if _, err := l.conn.Write(f); err != nil {
				return err
			}
		}
		return nil
	}
	start := time.Now()
	if reqLen > 0 {
		start = reqStart
	}
	start = later(start, l.free).Add(time.Duration(reqLen) * l.byteTime)
	// Chunks of about 10 ms keep the schedule exact without a wake-up per byte.
	chunk := max(1, int(10*time.Millisecond/l.byteTime))
	sent := 0
	for _, f := range frames {
		for len(f) > 0 {
			k := min(chunk, len(f))
			if !l.sleepUntil(start.Add(time.Duration(sent+k) * l.byteTime)) {
				return errClosed
			}
			if _, err := l.conn.Write(f[:k]); err != nil {
				return err
			}
			f = f[k:]
			sent += k
		}
	}
	l.free = start.Add(time.Duration(sent) * l.byteTime)
	return nil
}

var errClosed = errors.New("anvizemu: closed")

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func (l *line) sleepUntil(t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return true
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return true
	case <-l.e.done:
		return false
	}
}

package anviz

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tarm/serial"
)

// Link moves bytes to and from clocks. net.Conn satisfies it, and so does *SerialPort. Read must
// return an error matching os.ErrDeadlineExceeded once the deadline has passed, as net.Conn does.
type Link interface {
	io.ReadWriteCloser
	SetDeadline(t time.Time) error
}

// SerialOptions configures a serial port and the bus on it.
type SerialOptions struct {
	Port     string // e.g. /dev/ttyUSB0
	Baud     int    // default 9600
	DataBits int    // 5–8, default 8
	Parity   byte   // 'N', 'E' or 'O'; default 'N'
	StopBits int    // 1 or 2, default 1

	// ReadTimeout is how long one read of the port waits for a first byte before it returns none
	// (termios VTIME, in tenths of a second, 0.1 s to 25.5 s). It is also the granularity at which
	// a serial read notices its deadline or a Close. Default 100 ms.
	ReadTimeout time.Duration

	Options
}

// SerialPort is a serial port as a Link. The port itself has no deadlines: each read returns after
// at most ReadTimeout, a read that returns no bytes is a timeout, and Read keeps reading until a
// byte arrives or the deadline set by SetDeadline has passed.
type SerialPort struct {
	port     *serial.Port
	deadline atomic.Int64 // Unix nanoseconds; 0 means none
	closed   atomic.Bool
}

// OpenSerialPort opens and configures a serial port, discarding whatever the line held before.
func OpenSerialPort(o SerialOptions) (*SerialPort, error) {
	cfg := &serial.Config{
		Name:        o.Port,
		Baud:        o.Baud,
		Size:        byte(o.DataBits),
		Parity:      serial.Parity(o.Parity),
		StopBits:    serial.StopBits(o.StopBits),
		ReadTimeout: o.ReadTimeout,
	}
	if cfg.Baud == 0 {
		cfg.Baud = 9600
	}
	if cfg.ReadTimeout <= 0 {
		cfg.ReadTimeout = 100 * time.Millisecond
	}
	p, err := serial.OpenPort(cfg)
	if err != nil {
		return nil, fmt.Errorf("anviz: open serial port %s at %d baud: %w", o.Port, cfg.Baud, err)
	}
	// Stale bytes from before the open (a half-sent reply, line noise) would otherwise be taken
	// as the start of the first reply.
	_ = p.Flush()
	return &SerialPort{port: p}, nil
}

// Read reads at least one byte, or fails once the deadline has passed.
func (s *SerialPort) Read(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	for {
		if s.closed.Load() {
			return 0, os.ErrClosed
		}
		if dl := s.deadline.Load(); dl != 0 && time.Now().UnixNano() >= dl {
			return 0, os.ErrDeadlineExceeded
		}
		n, err := s.port.Read(b)
		if n > 0 {
			return n, nil
		}
		// With VMIN 0, a read that times out returns 0 bytes, which os.File reports as io.EOF.
		if err != nil && err != io.EOF {
			if s.closed.Load() {
				return 0, os.ErrClosed
			}
			return 0, err
		}
	}
}

// Write writes b to the port. Deadlines do not apply: the port blocks only while the driver's
// transmit buffer is full, and requests are a few bytes.
func (s *SerialPort) Write(b []byte) (int, error) {
	if s.closed.Load() {
		return 0, os.ErrClosed
	}
	return s.port.Write(b)
}

// SetDeadline sets the deadline for reads; the zero time means none.
func (s *SerialPort) SetDeadline(t time.Time) error {
	if t.IsZero() {
		s.deadline.Store(0)
	} else {
		s.deadline.Store(t.UnixNano())
	}
	return nil
}

// Close closes the port. A read in progress returns within ReadTimeout.
func (s *SerialPort) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	return s.port.Close()
}

// OpenSerial opens a serial port (an RS232 line or an RS485 bus) and returns the bus on it.
func OpenSerial(o SerialOptions) (*Bus, error) {
	p, err := OpenSerialPort(o)
	if err != nil {
		return nil, err
	}
	opts := o.Options
	if opts.ReplyTimeout == 0 {
		baud := o.Baud
		if baud == 0 {
			baud = 9600
		}
		// The longest reply takes this long on the wire; a clock answers well within a second.
		line := time.Duration(MaxResponseLen*10) * time.Second / time.Duration(baud)
		opts.ReplyTimeout = time.Second + line
	}
	return NewBus(p, opts), nil
}

// DefaultTCPPort is the port networked Anviz clocks listen on.
const DefaultTCPPort = "5010"

// DialTCP connects to a networked clock (addr "host:port"; the port defaults to 5010) and returns
// the bus on the connection. The context bounds the dial only.
func DialTCP(ctx context.Context, addr string, o Options) (*Bus, error) {
	if _, _, err := net.SplitHostPort(addr); err != nil {
		addr = net.JoinHostPort(addr, DefaultTCPPort)
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("anviz: %w", err)
	}
	return NewBus(conn, o), nil
}

// sem is a lock whose acquisition a context can abandon.
type sem chan struct{}

func newSem() sem { return make(sem, 1) }

func (s sem) lock(ctx context.Context) error {
	select {
	case s <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s sem) unlock() { <-s }

// deadlineLink applies context cancellation to a Link: a cancelled context moves the deadline
// into the past, so that a blocked read returns. The generation counter stops a cancellation
// that fires late, after its call has finished, from poisoning the next call.
type deadlineLink struct {
	Link
	mu        sync.Mutex
	gen       uint64
	cancelled bool
}

var longAgo = time.Unix(1, 0)

func (l *deadlineLink) watch(ctx context.Context) func() {
	l.mu.Lock()
	l.gen++
	gen := l.gen
	l.cancelled = false
	l.mu.Unlock()
	stop := context.AfterFunc(ctx, func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		if l.gen == gen {
			l.cancelled = true
			l.Link.SetDeadline(longAgo)
		}
	})
	return func() { stop() }
}

func (l *deadlineLink) SetDeadline(t time.Time) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cancelled {
		t = longAgo
	}
	return l.Link.SetDeadline(t)
}

func isTimeout(err error) bool {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

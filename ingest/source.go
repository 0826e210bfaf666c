// Package ingest reads the configured clocks into the store: one reader per clock on its own cron
// schedule, never two reads of one clock at once, each read storing new punches exactly once and
// only then moving the clock's position (a ZKTeco cursor in the database, an Anviz clock's "new"
// marks). The clock is the buffer: while the database is down nothing is advanced or cleared, and
// the next successful read stores everything.
package ingest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/kaoqin/kaoqin/devices/anviz"
	"github.com/kaoqin/kaoqin/devices/zk"
	"github.com/kaoqin/kaoqin/internal/config"
	"github.com/kaoqin/kaoqin/internal/faults"
	"github.com/kaoqin/kaoqin/internal/store"
)

// Record is one punch as a clock reports it; Time is the clock's wall clock.
type Record struct {
	UserID string
	Time   time.Time
	Verify int
	State  int
	// Unread is the clock's line when an optional field of it could not be read (a PUSH clock's);
	// the punch is stored flagged with it (store.Punch.Unread).
	Unread string
}

// SaveFunc stores records durably together with the cursor (nil for clocks that keep their own
// position), returning nil only after the database commit.
type SaveFunc func(ctx context.Context, recs []Record, next *store.Cursor) error

// Conn is an open session with one clock.
type Conn interface {
	// Time is the clock's wall-clock time.
	Time(ctx context.Context) (time.Time, error)
	// Usage is how many records the clock holds and how many it can hold (0 when unknown).
	Usage(ctx context.Context) (records, capacity int, err error)
	// Pull hands save the records that may be new since cur; only after save returns nil does
	// the clock's own position move.
	Pull(ctx context.Context, cur store.Cursor, save SaveFunc) error
	SetTime(ctx context.Context, t time.Time) error
	Close() error
}

// Subscriber is a Conn that can deliver punches as they happen.
type Subscriber interface {
	Subscribe(ctx context.Context, fn func(Record)) error
}

// Dialer opens a Conn to one clock.
type Dialer func(ctx context.Context) (Conn, error)

// --- ZKTeco ---

type zkConn struct{ c *zk.Client }

func zkDialer(cl config.Clock) Dialer {
	enc := zk.GBK
	if cl.Encoding == "utf-8" {
		enc = zk.UTF8
	}
	return func(ctx context.Context) (Conn, error) {
		c, err := zk.Dial(ctx, zk.Options{Network: cl.Transport, Address: cl.Address, CommKey: cl.CommKey.Value, Encoding: enc})
		if err != nil {
			return nil, err
		}
		return zkConn{c}, nil
	}
}

func (z zkConn) Time(ctx context.Context) (time.Time, error) { return z.c.Time(ctx) }
func (z zkConn) SetTime(ctx context.Context, t time.Time) error {
	return z.c.SetTime(ctx, t)
}
func (z zkConn) Close() error { return z.c.Close() }

func (z zkConn) TakeChecksumCounts() zk.ChecksumCounts { return z.c.TakeChecksumCounts() }

func (z zkConn) Usage(ctx context.Context) (int, int, error) {
	s, err := z.c.Sizes(ctx)
	if err != nil {
		return 0, 0, err
	}
	return s.Records, s.RecordCapacity, nil
}

// Pull reads the whole log (a ZKTeco clock has no "new only" read) and skips the records the
// cursor has already stored. The cursor is the count of records stored plus the record at that
// position; if that record is no longer there the log was cleared or replaced, and everything is
// handed on (the store's uniqueness absorbs what it already has).
func (z zkConn) Pull(ctx context.Context, cur store.Cursor, save SaveFunc) error {
	// The log stays as it arrived; only the anchor and the records past it are decoded, so a
	// read holds its bytes once plus the new punches.
	set, err := z.c.AttendanceSet(ctx)
	if err != nil {
		return err
	}
	if err := faults.Hit(faults.ClockRead); err != nil {
		return err
	}
	n := set.Len()
	start := 0
	if p := int(cur.Position); p > 0 && p <= n {
		a := set.At(p - 1)
		if a.UserID == cur.AnchorUser && store.WallString(a.Time) == cur.AnchorAt {
			start = p
		}
	}
	next := cur
	next.Position = int64(n)
	if n > 0 {
		last := set.At(n - 1)
		next.AnchorUser, next.AnchorAt = last.UserID, store.WallString(last.Time)
	} else {
		next.AnchorUser, next.AnchorAt = "", ""
	}
	out := make([]Record, 0, n-start)
	var batch []zk.Record
	for from := start; from < n; from += 4096 {
		batch = set.Decode(batch[:0], from, min(n, from+4096))
		for _, r := range batch {
			out = append(out, Record{UserID: r.UserID, Time: r.Time, Verify: r.Verify, State: r.State})
		}
	}
	return save(ctx, out, &next)
}

func (z zkConn) Subscribe(ctx context.Context, fn func(Record)) error {
	return z.c.Subscribe(ctx, func(r zk.Record) {
		fn(Record{UserID: r.UserID, Time: r.Time, Verify: r.Verify, State: r.State})
	})
}

// --- Anviz ---

type anvizConn struct {
	c     *anviz.Client
	owned *anviz.Bus // closed with the conn (TCP); nil for a shared serial bus
}

// buses shares one open serial port among the clocks of an RS485 bus: the Bus takes one request
// at a time for all of them.
type buses struct {
	mu sync.Mutex
	m  map[string]*sharedBus
}

type sharedBus struct {
	bus  *anviz.Bus
	opts config.SerialPort
}

func (b *buses) get(sp config.SerialPort, o anviz.Options) (*anviz.Bus, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.m == nil {
		b.m = map[string]*sharedBus{}
	}
	if sb, ok := b.m[sp.Port]; ok {
		if sb.opts == sp {
			return sb.bus, nil
		}
		// The line settings changed (a reload): reopen.
		sb.bus.Close()
		delete(b.m, sp.Port)
	}
	bus, err := anviz.OpenSerial(anviz.SerialOptions{Port: sp.Port, Baud: sp.Baud, DataBits: sp.DataBits,
		Parity: parityByte(sp.Parity), StopBits: sp.StopBits, ReadTimeout: sp.Timeout.Std(), Options: o})
	if err != nil {
		return nil, err
	}
	b.m[sp.Port] = &sharedBus{bus: bus, opts: sp}
	return bus, nil
}

// drop closes the buses no clock uses any more; used lists the ports in use.
func (b *buses) drop(used map[string]bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for port, sb := range b.m {
		if !used[port] {
			sb.bus.Close()
			delete(b.m, port)
		}
	}
}

// reset closes a bus after a link failure, so the next read reopens the port.
func (b *buses) reset(port string, bus *anviz.Bus) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if sb, ok := b.m[port]; ok && sb.bus == bus {
		sb.bus.Close()
		delete(b.m, port)
	}
}

func anvizDialer(cl config.Clock, shared *buses) (Dialer, error) {
	epoch, err := time.Parse(store.WallLayout, cl.RecordEpoch)
	if err != nil {
		return nil, fmt.Errorf("clock %s: record_epoch: %w", cl.Name, err)
	}
	o := anviz.Options{Epoch: epoch}
	id := uint32(cl.DeviceID)
	switch cl.Transport {
	case "tcp":
		return func(ctx context.Context) (Conn, error) {
			bus, err := anviz.DialTCP(ctx, cl.Address, o)
			if err != nil {
				return nil, err
			}
			return anvizConn{c: bus.Clock(id), owned: bus}, nil
		}, nil
	case "serial":
		sp := *cl.Serial
		return func(ctx context.Context) (Conn, error) {
			bus, err := shared.get(sp, o)
			if err != nil {
				return nil, err
			}
			return anvizConn{c: bus.Clock(id)}, nil
		}, nil
	}
	return nil, fmt.Errorf("clock %s: anviz over %q", cl.Name, cl.Transport)
}

func (a anvizConn) Time(ctx context.Context) (time.Time, error) { return a.c.Time(ctx) }
func (a anvizConn) SetTime(ctx context.Context, t time.Time) error {
	return a.c.SetTime(ctx, t)
}

func (a anvizConn) Close() error {
	if a.owned != nil {
		return a.owned.Close()
	}
	return nil
}

func (a anvizConn) Usage(ctx context.Context) (int, int, error) {
	ri, err := a.c.RecordInfo(ctx)
	if err != nil {
		return 0, 0, err
	}
	cp, err := a.c.Capacity(ctx)
	if err != nil {
		// Some models lack the capacity command; the count alone still helps.
		var re *anviz.RetError
		if errors.As(err, &re) {
			return ri.AllRecords, 0, nil
		}
		return 0, 0, err
	}
	return ri.AllRecords, cp.Records, nil
}

// Pull reads the records marked new; the clock clears exactly those marks after save commits.
func (a anvizConn) Pull(ctx context.Context, cur store.Cursor, save SaveFunc) error {
	_, err := a.c.ReadNew(ctx, func(recs []anviz.Record) error {
		out := make([]Record, len(recs))
		for i, r := range recs {
			out[i] = Record{UserID: r.UserID, Time: r.Time, Verify: r.Backup, State: r.State}
		}
		if err := faults.Hit(faults.ClockRead); err != nil {
			return err
		}
		if err := save(ctx, out, nil); err != nil {
			return err
		}
		// ReadNew clears the marks when this returns nil.
		return faults.Hit(faults.AfterCommitBeforeClear)
	})
	return err
}

// dialerFor returns how to reach a configured clock. zk-push clocks are not dialled: they call
// the daemon.
func dialerFor(cl config.Clock, shared *buses) (Dialer, error) {
	switch cl.Protocol {
	case "zk":
		return zkDialer(cl), nil
	case "anviz":
		return anvizDialer(cl, shared)
	}
	return nil, fmt.Errorf("clock %s: protocol %q is not read by polling", cl.Name, cl.Protocol)
}

func parityByte(p string) byte {
	switch p {
	case "odd":
		return 'O'
	case "even":
		return 'E'
	}
	return 'N'
}

package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"sync"
	"time"

	"github.com/kaoqin/kaoqin/devices/anviz"
	"github.com/kaoqin/kaoqin/devices/zk"
	"github.com/kaoqin/kaoqin/internal/config"
	"github.com/kaoqin/kaoqin/internal/store"
)

// readError carries the kind a failed read is counted under.
type readError struct {
	kind string
	err  error
}

func (e *readError) Error() string { return e.kind + ": " + e.err.Error() }
func (e *readError) Unwrap() error { return e.err }

// errorKind sorts a failure into the kinds of kaoqin_clock_read_errors_total.
func errorKind(err error) string {
	var re *readError
	if errors.As(err, &re) && re.kind != "" {
		return re.kind
	}
	var ne net.Error
	switch {
	case errors.Is(err, zk.ErrUnauthorized):
		return "auth"
	case errors.Is(err, zk.ErrMalformed):
		return "malformed"
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded),
		errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, net.ErrClosed), errors.Is(err, anviz.ErrClosed):
		return "connect"
	}
	var oe *net.OpError
	if errors.As(err, &oe) {
		return "connect"
	}
	return "protocol"
}

// reader reads one clock. Its mutex makes sure two reads of one clock never overlap: a scheduled
// read that finds the previous one still running is skipped, not queued.
type reader struct {
	svc  *Service
	cfg  config.Clock
	dial Dialer
	log  *slog.Logger

	busy sync.Mutex
	// failures drives the backoff between attempts; it resets on success.
	failures int

	// conn is kept open between reads for realtime clocks, shared with the subscription.
	connMu sync.Mutex
	conn   Conn
}

// maxAttempts bounds the attempts of one scheduled read.
const maxAttempts = 3

// run is one scheduled read: up to maxAttempts with backoff and jitter, within the clock's timeout.
// Only the daemon holding the clock's lease reads it; it renews the lease (proving the database
// answers) before dialing the clock, and the read ends when the lease's tenure ends.
func (r *reader) run(ctx context.Context) {
	t := r.svc.holding(r.cfg.Name)
	if t == nil {
		return // another daemon of the site reads it
	}
	if !r.busy.TryLock() {
		r.log.Warn("previous read still running; this one skipped")
		return
	}
	defer r.busy.Unlock()
	if err := r.svc.renewOne(ctx, t); err != nil {
		if errors.Is(err, store.ErrLeaseLost) {
			r.log.Warn("clock lease lost; another daemon reads it now")
			return
		}
		r.svc.metrics.StoreErrors.Inc()
		r.log.Warn("database not answering; the clock is not dialled", "err", err)
		return
	}
	ctx, cancel := context.WithTimeout(t.ctx, r.cfg.Timeout.Std())
	defer cancel()
	for attempt := 1; ; attempt++ {
		err := r.readOnce(ctx, t)
		if err == nil {
			r.failures = 0
			return
		}
		if errors.Is(err, store.ErrLeaseLost) {
			// Nothing of this read was committed, no Anviz mark cleared: the new holder reads it all.
			r.svc.end(t.lease.Name, true)
			r.log.Warn("clock lease lost during the read; nothing of it was stored", "err", err)
			return
		}
		r.failures++
		kind := errorKind(err)
		r.svc.metrics.ReadErrors.WithLabelValues(r.cfg.Name, kind).Inc()
		r.svc.metrics.Up.WithLabelValues(r.cfg.Name).Set(0)
		r.log.Warn("read failed", "kind", kind, "attempt", attempt, "err", err)
		if attempt >= maxAttempts || ctx.Err() != nil || kind == "auth" {
			return
		}
		if !sleepCtx(ctx, backoff(r.failures)) {
			return
		}
	}
}

// backoff is 0.5 s doubling per consecutive failure up to 8 s, with ±50 % jitter so that clocks
// failing together (a switch reboot) do not retry in lockstep.
func backoff(failures int) time.Duration {
	d := 500 * time.Millisecond << min(failures-1, 4)
	return time.Duration(float64(d) * (0.5 + rand.Float64()))
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// connect returns the open realtime connection or dials a new one; release closes a dialled one
// (or drops a broken shared one).
func (r *reader) connect(ctx context.Context) (c Conn, release func(failed bool), err error) {
	if r.cfg.Realtime {
		r.connMu.Lock()
		c = r.conn
		r.connMu.Unlock()
		if c != nil {
			return c, func(failed bool) {
				if failed {
					r.dropConn(c)
				}
			}, nil
		}
	}
	c, err = r.dial(ctx)
	if err != nil {
		return nil, nil, &readError{"connect", err}
	}
	return c, func(bool) { c.Close() }, nil
}

func (r *reader) dropConn(c Conn) {
	r.connMu.Lock()
	if r.conn == c {
		r.conn = nil
	}
	r.connMu.Unlock()
	c.Close()
}

// readOnce reads the clock once under tenure t: what it stores is fenced by t's lease, and the
// connection is closed the moment ctx ends (the lease lost), so that the clock's session is free
// for the daemon that takes it.
func (r *reader) readOnce(ctx context.Context, t *tenure) (err error) {
	m, name := r.svc.metrics, r.cfg.Name
	start := time.Now()
	defer func() { m.ReadDuration.WithLabelValues(name).Observe(time.Since(start).Seconds()) }()
	conn, release, err := r.connect(ctx)
	if err != nil {
		return err
	}
	defer func() { release(err != nil) }()
	defer r.countChecksums(conn)
	stopClose := context.AfterFunc(ctx, func() { conn.Close() })
	defer stopClose()
	fence := t.lease
	m.LastContact.WithLabelValues(name).Set(float64(time.Now().Unix()))

	clockTime, err := conn.Time(ctx)
	if err != nil {
		return err
	}
	now := r.svc.now()
	skew := store.Instant(clockTime, r.svc.loc).Sub(now).Round(time.Second)
	m.Skew.WithLabelValues(name).Set(skew.Seconds())
	skewed := skew > r.svc.skewThreshold || -skew > r.svc.skewThreshold
	if skewed {
		r.log.Warn("clock time is off", "skew", skew.String(), "threshold", r.svc.skewThreshold.String())
	}
	if recs, capacity, err := conn.Usage(ctx); err != nil {
		return err
	} else {
		m.Records.WithLabelValues(name).Set(float64(recs))
		if capacity > 0 {
			m.LogUsed.WithLabelValues(name).Set(float64(recs) / float64(capacity))
		}
	}
	cur, err := r.svc.store.GetCursor(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		cur, err = store.Cursor{Clock: name}, nil
	}
	if err != nil {
		r.svc.metrics.StoreErrors.Inc()
		return &readError{"database", err}
	}
	err = conn.Pull(ctx, cur, func(ctx context.Context, recs []Record, next *store.Cursor) error {
		if next != nil {
			next.LastReadAt = store.Wall(now, r.svc.loc)
		}
		return r.svc.save(ctx, &fence, name, recs, next, skewed)
	})
	if err != nil {
		return err
	}
	// Results become final once every clock of a staff member was read past a segment (R19);
	// clocks without a database cursor (Anviz keeps its own) record their read here.
	if err := r.svc.store.TouchClockRead(ctx, name, store.Wall(now, r.svc.loc)); err != nil {
		r.svc.metrics.StoreErrors.Inc()
		return &readError{"database", err}
	}
	if r.cfg.TimeSync == "auto" && skewed {
		r.syncTime(ctx, conn)
	}
	m.Up.WithLabelValues(name).Set(1)
	m.LastSuccess.WithLabelValues(name).Set(float64(time.Now().Unix()))
	return nil
}

// countChecksums adds the replies of conn whose checksum was not the SDK's to the clock's
// counter (ZKTeco only; a realtime connection's events are counted with the next read).
func (r *reader) countChecksums(conn Conn) {
	cc, ok := conn.(interface{ TakeChecksumCounts() zk.ChecksumCounts })
	if !ok {
		return
	}
	n := cc.TakeChecksumCounts()
	if n.Variant > 0 {
		r.svc.metrics.ChecksumVariants.WithLabelValues(r.cfg.Name, "one_low").Add(float64(n.Variant))
	}
	if n.Mismatch > 0 {
		r.svc.metrics.ChecksumVariants.WithLabelValues(r.cfg.Name, "mismatch").Add(float64(n.Mismatch))
	}
}

// syncTime sets the clock to the server's time, at most once a day and never inside a punch
// window (a punch taken while the clock jumps could land on the wrong side of a bound).
func (r *reader) syncTime(ctx context.Context, conn Conn) {
	nowWall := store.Wall(r.svc.now(), r.svc.loc)
	if r.svc.inPunchWindow != nil && r.svc.inPunchWindow(nowWall) {
		r.log.Info("time sync postponed: a punch window is open")
		return
	}
	last, err := r.svc.store.LastTimeSync(ctx, r.cfg.Name)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		r.log.Warn("time sync: cannot read the last sync", "err", err)
		return
	}
	if err == nil && last.Format("2006-01-02") == nowWall.Format("2006-01-02") {
		return
	}
	if err := conn.SetTime(ctx, store.Wall(r.svc.now(), r.svc.loc)); err != nil {
		r.log.Warn("time sync failed", "err", err)
		return
	}
	if err := r.svc.store.RecordTimeSync(ctx, r.cfg.Name, nowWall); err != nil {
		r.log.Warn("time sync: cannot record it", "err", err)
	}
	r.svc.metrics.TimeSyncs.WithLabelValues(r.cfg.Name).Inc()
	r.log.Info("clock time corrected")
}

// subscribe keeps a realtime clock's event subscription open until ctx ends, storing each punch as
// it comes; the scheduled reads remain the backstop for anything an event misses.
func (r *reader) subscribe(ctx context.Context) {
	failures := 0
	for ctx.Err() == nil {
		err := r.subscribeOnce(ctx)
		if ctx.Err() != nil {
			return
		}
		failures++
		r.log.Warn("realtime subscription ended", "err", err)
		if !sleepCtx(ctx, backoff(failures)) {
			return
		}
	}
}

func (r *reader) subscribeOnce(ctx context.Context) error {
	dctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout.Std())
	c, err := r.dial(dctx)
	cancel()
	if err != nil {
		return err
	}
	sub, ok := c.(Subscriber)
	if !ok {
		c.Close()
		return fmt.Errorf("clock %s cannot deliver realtime events", r.cfg.Name)
	}
	r.connMu.Lock()
	r.conn = c
	r.connMu.Unlock()
	defer r.dropConn(c)
	return sub.Subscribe(ctx, func(rec Record) {
		t := r.svc.holding(r.cfg.Name)
		if t == nil {
			return // the lease is gone; its new holder reads the clock's log
		}
		if err := r.svc.save(ctx, &t.lease, r.cfg.Name, []Record{rec}, nil, false); err != nil {
			// The scheduled read will store it: the clock still has it.
			r.log.Warn("realtime punch not stored; the next read will", "err", err)
		}
	})
}

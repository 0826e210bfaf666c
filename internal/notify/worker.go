package notify

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/kaoqin/kaoqin/internal/store"
)

// Worker sends the outbox: it claims due notices with a lease, sends each, and marks it sent, or
// records the failure and hands it back with a backoff.
type Worker struct {
	Store  *store.Store
	Sender Sender
	Log    *slog.Logger
	// Name identifies this worker in claims (host and process).
	Name string
	// Poll is how often the outbox is looked at when nothing wakes the worker (10s by default).
	Poll time.Duration
	// Lease is how long a claim lasts (2 min by default): longer than one batch takes to send.
	Lease time.Duration
	// Batch is how many notices one claim takes (20 by default).
	Batch int
	// Keep is how long sent notices stay in the outbox (90 days by default); Run prunes older
	// ones once a day. Their keys go with them, which is safe: every key names a day or a
	// request decided long before.
	Keep time.Duration
	// OnSent, when set, is told of each notice sent (tests, the CLI's count).
	OnSent func(n store.Notice)
	// Metrics, when set, count what the worker does (the daemon passes its registry's).
	Metrics *Metrics
	wake    chan struct{}
}

// Wake makes the worker look at the outbox now (after a request queued a notice).
func (w *Worker) Wake() {
	w.init()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

func (w *Worker) init() {
	if w.wake == nil {
		w.wake = make(chan struct{}, 1)
	}
}

// Run sends until ctx ends.
func (w *Worker) Run(ctx context.Context) {
	w.init()
	poll := w.Poll
	if poll <= 0 {
		poll = 10 * time.Second
	}
	t := time.NewTicker(poll)
	defer t.Stop()
	prune := time.NewTicker(24 * time.Hour)
	defer prune.Stop()
	w.prune(ctx)
	for {
		for {
			n, err := w.Once(ctx)
			if err != nil && ctx.Err() == nil {
				w.log().Warn("notices: claim", "err", err)
			}
			if n == 0 || err != nil {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-w.wake:
		case <-prune.C:
			w.prune(ctx)
		}
	}
}

func (w *Worker) prune(ctx context.Context) {
	keep := w.Keep
	if keep <= 0 {
		keep = 90 * 24 * time.Hour
	}
	n, err := w.Store.PruneNotices(ctx, w.Store.Now().Add(-keep))
	switch {
	case err != nil && ctx.Err() == nil:
		w.log().Warn("notices: prune", "err", err)
	case n > 0:
		w.log().Info("notices: pruned sent notices", "count", n, "older_than", keep.String())
	}
}

func (w *Worker) log() *slog.Logger {
	if w.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return w.Log
}

// Once claims one batch and sends it; it returns how many notices it claimed.
func (w *Worker) Once(ctx context.Context) (int, error) {
	lease, batch := w.Lease, w.Batch
	if lease <= 0 {
		lease = 2 * time.Minute
	}
	if batch <= 0 {
		batch = 20
	}
	name := w.Name
	if name == "" {
		name = "notify"
	}
	token, ns, err := w.Store.ClaimNotices(ctx, name, batch, lease)
	if err != nil {
		return 0, err
	}
	if m := w.Metrics; m != nil {
		defer func() {
			m.LastPass.Set(float64(time.Now().Unix()))
			if n, err := w.Store.CountUnsentNotices(ctx); err == nil {
				m.Pending.Set(float64(n))
			}
		}()
	}
	for _, n := range ns {
		if ctx.Err() != nil {
			// Left claimed: the lease hands them to whoever runs next.
			return len(ns), nil
		}
		err := w.Sender.Send(ctx, n)
		if err != nil {
			retry := w.Store.Now().Add(backoff(n.Attempts))
			lvl := slog.LevelWarn
			if errors.Is(err, ErrPermanent) {
				lvl = slog.LevelError
			}
			w.log().Log(ctx, lvl, "notice not sent", "kind", n.Kind, "channel", n.Channel, "target", n.Target,
				"attempt", n.Attempts+1, "retry_at", retry.Format(store.WallLayout), "err", err)
			if w.Metrics != nil {
				w.Metrics.Failed.WithLabelValues(n.Channel).Inc()
			}
			if ferr := w.Store.NoticeFailed(ctx, n.ID, token, err.Error(), retry); ferr != nil {
				w.log().Warn("notices: record failure", "err", ferr)
			}
			continue
		}
		ok, err := w.Store.NoticeSent(ctx, n.ID, token)
		switch {
		case err != nil:
			// Sent but not marked: sent again when the lease ends (see the package comment).
			w.log().Error("notice sent but not marked sent; it will go again", "key", n.Key, "err", err)
		case !ok:
			w.log().Warn("notice sent after its claim was lost; another worker may send it too", "key", n.Key)
		default:
			if w.Metrics != nil {
				w.Metrics.Sent.WithLabelValues(n.Channel).Inc()
			}
			if w.OnSent != nil {
				w.OnSent(n)
			}
		}
	}
	return len(ns), nil
}

// backoff is the pause before attempt n+1: 30s doubling to 1h, jittered by ±25%.
func backoff(attempts int) time.Duration {
	d := 30 * time.Second << min(attempts, 7)
	if d > time.Hour {
		d = time.Hour
	}
	return time.Duration(float64(d) * (0.75 + rand.Float64()/2))
}

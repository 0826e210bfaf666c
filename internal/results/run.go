package results

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/kaoqin/kaoqin/attendance"
	"github.com/kaoqin/kaoqin/internal/store"
)

// Run claims dirty days and recomputes them until ctx ends, polling every Options.Poll (or at once
// after Wake), and every Options.FinalizeEvery runs Finalize. It returns nil when ctx ends; store
// errors are logged and retried at the next poll.
func (w *Worker) Run(ctx context.Context) error {
	t := time.NewTicker(w.o.Poll)
	defer t.Stop()
	lastFinal := time.Time{}
	for {
		if ctx.Err() != nil {
			return nil
		}
		if time.Since(lastFinal) >= w.o.FinalizeEvery && (w.o.Leader == nil || w.o.Leader()) {
			if _, err := w.Finalize(ctx); err != nil && ctx.Err() == nil {
				w.log.Warn("finalising pass failed", "err", err)
			}
			if _, err := w.Sweep(ctx); err != nil && ctx.Err() == nil {
				w.log.Warn("sweep for days without results failed", "err", err)
			}
			lastFinal = time.Now()
		}
		n, err := w.Step(ctx)
		if err != nil && ctx.Err() == nil {
			w.log.Warn("recompute batch failed", "err", err)
		}
		if m := w.o.Metrics; m != nil && n < w.o.Batch {
			if q, err := w.o.Store.CountDirtyDays(ctx); err == nil {
				m.Queued.Set(float64(q))
			}
			m.LastPass.SetToCurrentTime()
		}
		if err == nil && n == w.o.Batch {
			continue // more waiting: no pause
		}
		select {
		case <-ctx.Done():
			return nil
		case <-w.wake:
		case <-t.C:
		}
	}
}

// Step claims one batch of dirty days, recomputes each, and finishes the claim. It returns how many
// days it claimed. A day of a closed month is dropped (logged); a day that fails stays claimed
// until the lease ends and is then retried by whichever worker claims it.
func (w *Worker) Step(ctx context.Context) (int, error) {
	s := w.o.Store
	c, err := s.ClaimDirtyDays(ctx, w.o.Name, w.o.Batch, w.o.Lease)
	if err != nil {
		return 0, err
	}
	if len(c.Days) == 0 {
		return 0, nil
	}
	done := make([]store.DirtyDay, 0, len(c.Days))
	var firstErr error
	for _, d := range c.Days {
		day, err := attendance.ParseDate(d.Day)
		if err != nil {
			w.log.Warn("dirty day is not a date; dropped", "staff", d.StaffID, "day", d.Day)
			done = append(done, d)
			continue
		}
		if w.hook != nil {
			w.hook(d, true)
		}
		err = w.Recompute(ctx, d.StaffID, day)
		if w.hook != nil {
			w.hook(d, false)
		}
		if m := w.o.Metrics; m != nil {
			if err == nil {
				m.Recomputed.Inc()
			} else if !errors.Is(err, ErrClosed) && !errors.Is(err, store.ErrNotFound) {
				m.Failed.Inc()
			}
		}
		switch {
		case err == nil:
			done = append(done, d)
		case errors.Is(err, ErrClosed):
			w.log.Info("input for a closed month not applied; only a correction changes it", "staff", d.StaffID, "day", d.Day)
			done = append(done, d)
		case errors.Is(err, store.ErrNotFound):
			w.log.Warn("dirty day of an unknown staff member dropped", "staff", d.StaffID, "day", d.Day)
			done = append(done, d)
		default:
			if firstErr == nil {
				firstErr = err
			}
			w.log.Warn("recompute failed; retried when the claim expires", "staff", d.StaffID, "day", d.Day, "err", err)
		}
	}
	// The claim is finished even when ctx ended: the results are written, and leaving the days
	// claimed would only delay another worker by the lease.
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := s.FinishDirtyDays(fctx, c, done); err != nil {
		return len(c.Days), err
	}
	return len(c.Days), firstErr
}

// Drain runs Step until no dirty day is left (or one fails), for the CLI and tests.
func (w *Worker) Drain(ctx context.Context) error {
	for {
		n, err := w.Step(ctx)
		if err != nil || n == 0 {
			return err
		}
	}
}

// Finalize is the periodic pass of R19: it marks dirty the days holding a provisional result that
// is due to become final now that its clocks have been read past its sign-out window, and returns
// how many; Run recomputes them, which writes them final. Days of closed months are left alone.
func (w *Worker) Finalize(ctx context.Context) (int, error) {
	s, r := w.o.Store, w.o.Rules
	now := w.nowWall()
	today := attendance.DateOf(now)
	isClosed, err := w.closedMonths(ctx)
	if err != nil {
		return 0, err
	}
	reads, err := s.ClockReads(ctx)
	if err != nil {
		return 0, err
	}
	ens, err := s.Enrollments(ctx)
	if err != nil {
		return 0, err
	}
	clocks := map[string][]string{}
	for _, e := range ens {
		if cs := clocks[e.StaffID]; !slices.Contains(cs, e.Clock) {
			clocks[e.StaffID] = append(cs, e.Clock)
		}
	}
	var mark []store.DirtyDay
	// Provisional results of any age: a clock can stay unread for weeks.
	prov, err := s.Provisional(ctx, attendance.MakeDate(2000, 1, 1).Time(), today.Time())
	if err != nil {
		return 0, err
	}
	for _, p := range prov {
		d, err := attendance.ParseDate(p.Day)
		if err != nil || isClosed(d) {
			continue
		}
		seg := attendance.AM
		if p.Segment == "pm" {
			seg = attendance.PM
		}
		if IsFinal(r, d, seg, clocks[p.StaffID], reads, now) {
			mark = append(mark, store.DirtyDay{StaffID: p.StaffID, Day: p.Day})
		}
	}
	return w.mark(ctx, mark, "finalising pass")
}

// Sweep marks dirty the working days of open months, over the last SweepDays, on which an active
// staff member has no result at all: a day with no punch and nothing filed is never marked by an
// input, yet is ABSENT. It returns how many days it marked.
func (w *Worker) Sweep(ctx context.Context) (int, error) {
	if w.o.SweepDays < 0 {
		return 0, nil
	}
	s, r := w.o.Store, w.o.Rules
	today := attendance.DateOf(w.nowWall())
	since := today - attendance.Date(w.o.SweepDays)
	isClosed, err := w.closedMonths(ctx)
	if err != nil {
		return 0, err
	}
	staff, err := s.ListStaff(ctx)
	if err != nil {
		return 0, err
	}
	have, err := s.ResultDays(ctx, since.Time(), today.Time())
	if err != nil {
		return 0, err
	}
	var mark []store.DirtyDay
	for d := since; d <= today; d++ {
		if isClosed(d) || !r.Working(d) {
			continue
		}
		day := d.String()
		for _, st := range staff {
			k := store.DirtyDay{StaffID: st.StaffID, Day: day}
			if st.Active && st.Employed(day) && !have[k] {
				mark = append(mark, k)
			}
		}
	}
	return w.mark(ctx, mark, "sweep")
}

func (w *Worker) mark(ctx context.Context, days []store.DirtyDay, pass string) (int, error) {
	if len(days) == 0 {
		return 0, nil
	}
	if err := w.o.Store.MarkDirty(ctx, days); err != nil {
		return 0, err
	}
	w.log.Debug(pass+" marked days for recomputation", "days", len(days))
	w.Wake()
	return len(days), nil
}

func (w *Worker) closedMonths(ctx context.Context) (func(attendance.Date) bool, error) {
	closed, err := w.o.Store.ClosedMonths(ctx)
	if err != nil {
		return nil, err
	}
	return func(d attendance.Date) bool { _, ok := slices.BinarySearch(closed, monthOf(d)); return ok }, nil
}

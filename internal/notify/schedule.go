package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/kaoqin/kaoqin/attendance"
	"github.com/kaoqin/kaoqin/internal/store"
)

// Scheduler queues the notices that come from the time of day rather than from a request: at
// each configured time, to each window head, who at the window has not signed in yet; and,
// during a punch window, to the supervision section, the clocks not read for too long.
//
// Each notice has a unique key per (kind, target, day, time), so several daemons running the same
// check queue it once. The check runs only on the daemon holding the leader lease (Leader), or,
// without one, under the lease "notify/schedule", so that only one daemon does the reading at all.
type Scheduler struct {
	Store  *store.Store
	Router *Router
	Rules  func() *attendance.Rules
	// Clocks are the clocks the daemon reads (their last successful read is checked).
	Clocks func() []string
	// Times are the minutes of the day of the not-signed-in notices.
	Times []attendance.Minute
	// Late is how long after its time a not-signed-in notice is still worth sending (a daemon
	// started at 09:10 sends the 08:55 list; at 11:00 it does not). 30 min by default.
	Late time.Duration
	// ClockDownAfter: a clock not read successfully for this long inside a punch window is down
	// (0: 5 minutes).
	ClockDownAfter time.Duration
	// Leader, when set, tells whether this daemon holds the leader lease: only the leader checks.
	Leader func() bool
	Owner  string // owner of the lease "notify/schedule" when there is no Leader (host and process)
	Log    *slog.Logger
	// Queued, when set, is told of every notice the scheduler queued (the worker's Wake).
	Queued func()
	// Now is the current wall-clock time (the store's by default).
	Now func() time.Time

	mu   sync.Mutex
	done map[string]bool // the not-signed-in lists this scheduler queued (day and time)
}

const scheduleLease = "notify/schedule"

// Run ticks every 30 seconds until ctx ends.
func (s *Scheduler) Run(ctx context.Context) {
	t := time.NewTicker(30 * time.Second)
	defer t.Stop()
	for {
		if err := s.Pass(ctx); err != nil && ctx.Err() == nil {
			s.log().Warn("notices: scheduled check", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (s *Scheduler) log() *slog.Logger {
	if s.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Log
}

// Pass runs the checks due now, if this daemon is the one to run them.
func (s *Scheduler) Pass(ctx context.Context) error {
	if s.Leader != nil {
		if !s.Leader() {
			return nil
		}
	} else if s.Owner != "" {
		_, err := s.Store.AcquireLease(ctx, scheduleLease, s.Owner, 2*time.Minute)
		if errors.Is(err, store.ErrLeaseHeld) {
			return nil // another daemon checks
		}
		if err != nil {
			// No lease (a database without the leases table, or a failure): the unique keys
			// still keep each notice single.
			s.log().Debug("notices: schedule lease", "err", err)
		}
	}
	now := s.Store.Now
	if s.Now != nil {
		now = s.Now
	}
	return s.Tick(ctx, now())
}

// Tick runs the checks due at now (wall clock).
func (s *Scheduler) Tick(ctx context.Context, now time.Time) error {
	r := s.Rules()
	d := attendance.DateOf(now)
	if !r.Working(d) {
		return nil
	}
	var errs []error
	if err := s.notSignedIn(ctx, r, d, now); err != nil {
		errs = append(errs, err)
	}
	if err := s.clocksDown(ctx, r, d, now); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func minuteOf(t time.Time) attendance.Minute { return attendance.Minute(t.Hour()*60 + t.Minute()) }

// notSignedIn queues, for each configured time that has come (and not long ago), the list of staff
// of each window who have no punch in the current segment's sign-in window so far.
func (s *Scheduler) notSignedIn(ctx context.Context, r *attendance.Rules, d attendance.Date, now time.Time) error {
	late := s.Late
	if late <= 0 {
		late = 30 * time.Minute
	}
	season := r.Schedule.SeasonOn(d)
	var staff []store.Staff
	queued := 0
	for _, at := range s.Times {
		when := d.At(at)
		if now.Before(when) || now.Sub(when) > late {
			continue
		}
		// Once queued here, the list is not read again every pass (the keys would drop it anyway).
		doneKey := d.String() + " " + at.String()
		s.mu.Lock()
		already := s.done[doneKey]
		s.mu.Unlock()
		if already {
			continue
		}
		// The segment whose sign-in window opened last before the notice's time.
		seg := season.AM
		segName := "上午"
		if at >= season.PM.In.From {
			seg, segName = season.PM, "下午"
		}
		if at < seg.In.From {
			continue // before the first sign-in window: nothing to say yet
		}
		if staff == nil {
			var err error
			if staff, err = s.Store.ListStaff(ctx); err != nil {
				return err
			}
		}
		byWindow := map[string][]store.Staff{}
		for _, st := range staff {
			if st.Active && st.Employed(d.String()) {
				byWindow[st.Window] = append(byWindow[st.Window], st)
			}
		}
		windows := make([]string, 0, len(byWindow))
		for w := range byWindow {
			windows = append(windows, w)
		}
		sort.Strings(windows)
		from, to := d.At(seg.In.From), when.Add(time.Minute)
		for _, w := range windows {
			var missing, onLeave []string
			for _, st := range byWindow[w] {
				signed, err := s.signedIn(ctx, st.StaffID, from, to)
				if err != nil {
					return err
				}
				if signed {
					continue
				}
				slips, err := s.Store.LeaveSlips(ctx, st.StaffID, d.At(seg.Start), d.At(seg.Start).Add(time.Minute))
				if err != nil {
					return err
				}
				if covered(slips, d.At(seg.Start)) {
					onLeave = append(onLeave, st.Name)
				} else {
					missing = append(missing, st.Name)
				}
			}
			if len(missing) == 0 {
				continue
			}
			body := fmt.Sprintf("%s %s %s：%s窗口尚未签到 %d 人：%s。", d, at, segName, w, len(missing), strings.Join(missing, "、"))
			if len(onLeave) > 0 {
				body += "（已请假：" + strings.Join(onLeave, "、") + "）"
			}
			m := Message{Key: fmt.Sprintf("not_signed_in|%s|%s|%s", w, d, at), Kind: "not_signed_in",
				Subject: fmt.Sprintf("【考勤提醒】%s窗口 %s 尚未签到 %d 人", w, segName, len(missing)), Body: body}
			ns, err := s.Router.Deliveries(ctx, Audience{Role: store.RoleWindowHead, Window: w}, m)
			if err != nil {
				return err
			}
			if err := s.Store.QueueNotices(ctx, ns); err != nil {
				return err
			}
			queued += len(ns)
		}
		s.mu.Lock()
		if s.done == nil {
			s.done = map[string]bool{}
		}
		for k := range s.done {
			if !strings.HasPrefix(k, d.String()) {
				delete(s.done, k) // an earlier day's
			}
		}
		s.done[doneKey] = true
		s.mu.Unlock()
	}
	if queued > 0 && s.Queued != nil {
		s.Queued()
	}
	return nil
}

func covered(slips []store.LeaveSlip, t time.Time) bool {
	for _, sl := range slips {
		if sl.CancelledAt.IsZero() && !sl.Start.After(t) && !sl.End.Before(t) {
			return true
		}
	}
	return false
}

func (s *Scheduler) signedIn(ctx context.Context, staffID string, from, to time.Time) (bool, error) {
	ps, err := s.Store.StaffPunches(ctx, staffID, from, to)
	if err != nil || len(ps) > 0 {
		return len(ps) > 0, err
	}
	ms, err := s.Store.ManualSignIns(ctx, staffID, from, to)
	return len(ms) > 0, err
}

// clocksDown queues, inside a punch window, a notice to the supervision section for each clock
// whose last successful read is older than ClockDownAfter (or that was never read), once per
// clock and punch window.
func (s *Scheduler) clocksDown(ctx context.Context, r *attendance.Rules, d attendance.Date, now time.Time) error {
	if s.Clocks == nil {
		return nil
	}
	season := r.Schedule.SeasonOn(d)
	m := minuteOf(now)
	var open *attendance.Window
	var name string
	for _, w := range []struct {
		w    attendance.Window
		name string
	}{{season.AM.In, "上午签到"}, {season.AM.Out, "上午签退"}, {season.PM.In, "下午签到"}, {season.PM.Out, "下午签退"}} {
		if w.w.Contains(m) {
			open, name = &w.w, w.name
			break
		}
	}
	if open == nil {
		return nil
	}
	after := s.ClockDownAfter
	if after <= 0 {
		after = 5 * time.Minute
	}
	reads, err := s.Store.ClockReads(ctx)
	if err != nil {
		return err
	}
	var ns []store.Notice
	for _, c := range s.Clocks() {
		last, ok := reads[c]
		if ok && now.Sub(last) <= after {
			continue
		}
		since := "从未读取成功"
		if ok {
			since = "最后一次读取成功在 " + last.Format("2006-01-02 15:04")
		}
		msg := Message{Key: fmt.Sprintf("clock_down|%s|%s|%s", c, d, open.From), Kind: "clock_down",
			Subject: fmt.Sprintf("【考勤机故障】%s 在%s时段无法读取", c, name),
			Body: fmt.Sprintf("考勤机 %s 在 %s %s时段（%s）无法读取：%s。请到现场查看，并提醒使用该考勤机的工作人员及时报告考勤机故障。",
				c, d, name, open, since)}
		got, err := s.Router.Deliveries(ctx, Audience{Role: store.RoleSupervisor}, msg)
		if err != nil {
			return err
		}
		ns = append(ns, got...)
	}
	if len(ns) == 0 {
		return nil
	}
	if err := s.Store.QueueNotices(ctx, ns); err != nil {
		return err
	}
	if s.Queued != nil {
		s.Queued()
	}
	return nil
}

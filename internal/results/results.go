// Package results keeps the stored attendance results current inside the daemon: it recomputes a
// staff member's day whenever something that touches it arrives (a punch, a slip, a patrol record,
// a failure report, a manual sign-in, an enrolment), decides when a result is final (rules.md R19),
// and leaves closed months alone. It is the one place where the store and the pure engine
// (packages attendance and leave) meet: it loads inputs, hands them to leave.Classify, and writes
// what comes back; neither side knows the other.
//
// Work arrives as dirty days, marked by the store in the same transaction as the inputs that
// touch them. Several daemons sharing one MySQL database each run a Worker; the store's claims make
// sure one day is computed by one of them at a time.
package results

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"time"

	"github.com/kaoqin/kaoqin/attendance"
	"github.com/kaoqin/kaoqin/internal/store"
	"github.com/kaoqin/kaoqin/leave"
)

// Options configure a Worker.
type Options struct {
	Store  *store.Store
	Rules  *attendance.Rules // must not change while the Worker runs
	Logger *slog.Logger
	// Now is the current instant (time.Now by default); the store's zone turns it into wall clock.
	Now func() time.Time
	// Poll is how often Run looks for dirty days when nobody wakes it (1s).
	Poll time.Duration
	// FinalizeEvery is how often Run looks for provisional results whose clocks have since been
	// read, and for working days with no result at all (30s).
	FinalizeEvery time.Duration
	// Batch is how many dirty days one claim takes (64).
	Batch int
	// Lease is how long a claim holds its days before another worker may take them (2m).
	Lease time.Duration
	// Name identifies this worker in claims (host:pid by default).
	Name string
	// Leader, when set, tells whether this daemon holds the leader lease: only the leader runs
	// the finalising pass and the sweep over all staff (every daemon recomputes claimed days).
	Leader func() bool
	// SweepDays is how far back, in days before today, Sweep makes sure every active staff member
	// has a result for every working day of an open month (62; negative: no sweep).
	SweepDays int
	// Metrics, when set, count the worker's work (the daemon passes its registry's).
	Metrics *Metrics
}

// Worker recomputes results. Its methods are safe for concurrent use.
type Worker struct {
	o    Options
	log  *slog.Logger
	wake chan struct{}
	// hook, when set (tests), is called as Step starts and ends each day.
	hook func(d store.DirtyDay, start bool)
}

// New returns a Worker.
func New(o Options) *Worker {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Poll <= 0 {
		o.Poll = time.Second
	}
	if o.FinalizeEvery <= 0 {
		o.FinalizeEvery = 30 * time.Second
	}
	if o.Batch <= 0 {
		o.Batch = 64
	}
	if o.Lease <= 0 {
		o.Lease = 2 * time.Minute
	}
	if o.SweepDays == 0 {
		o.SweepDays = 62
	}
	if o.Name == "" {
		host, _ := os.Hostname()
		o.Name = host + ":" + strconv.Itoa(os.Getpid())
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Worker{o: o, log: log.With("component", "results"), wake: make(chan struct{}, 1)}
}

// Wake makes Run look for dirty days now instead of at its next poll. It never blocks.
func (w *Worker) Wake() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// ErrClosed is returned by Recompute for a day of a closed month, which it leaves as it is.
var ErrClosed = errors.New("results: the month is closed; only a correction changes it")

// nowWall is the current wall-clock time of the deployment.
func (w *Worker) nowWall() time.Time { return store.Wall(w.o.Now(), w.o.Store.Location()) }

// Recompute classifies one day of one staff member from everything stored and writes the results
// of that day's working segments (none on a day off). A day of a closed month is not touched:
// ErrClosed.
func (w *Worker) Recompute(ctx context.Context, staffID string, day attendance.Date) error {
	n, skipped, err := w.RecomputeRange(ctx, staffID, day, day)
	if err == nil && n == 0 && skipped > 0 {
		return ErrClosed
	}
	return err
}

// RecomputeRange is Recompute for the days from..to, loading the inputs once. It returns how many
// days it wrote and how many it skipped because their month is closed.
func (w *Worker) RecomputeRange(ctx context.Context, staffID string, from, to attendance.Date) (written, skipped int, err error) {
	s := w.o.Store
	closed, err := s.ClosedMonths(ctx)
	if err != nil {
		return 0, 0, err
	}
	// The open stretches of from..to, split at closed months.
	type span struct{ from, to attendance.Date }
	var spans []span
	for d := from; d <= to; d++ {
		if _, ok := slices.BinarySearch(closed, monthOf(d)); ok {
			skipped++
			continue
		}
		if n := len(spans); n > 0 && spans[n-1].to == d-1 {
			spans[n-1].to = d
		} else {
			spans = append(spans, span{d, d})
		}
	}
	if len(spans) == 0 {
		return 0, skipped, nil
	}
	from, to = spans[0].from, spans[len(spans)-1].to
	in, err := s.LoadInputs(ctx, staffID, from.Time(), (to + 1).Time())
	if err != nil {
		return 0, skipped, err
	}
	reads, err := s.ClockReads(ctx)
	if err != nil {
		return 0, skipped, err
	}
	r := w.o.Rules
	st := attendance.Staff{ID: staffID, Window: in.Staff.Window, WindowStaff: in.WindowStaff}
	rec := records(in)
	now := w.nowWall()
	var res []attendance.Result
	for _, sp := range spans {
		res = leave.Classify(r.Period(sp.from, sp.to), st, rec, res[:0])
		rows := make([]store.SegmentResult, 0, len(res))
		for i := range res {
			// Outside the staff member's start and end dates nothing is due; SaveResults removes
			// what an earlier computation left there.
			if !in.Staff.Employed(res[i].Date.String()) {
				continue
			}
			rows = append(rows, w.row(&res[i], in.Clocks, reads, now))
		}
		err := s.SaveResults(ctx, staffID, sp.from.Time(), sp.to.Time(), rows)
		if errors.Is(err, store.ErrMonthClosed) {
			// Closed between our look and our write: the write was refused as a whole.
			skipped += int(sp.to-sp.from) + 1
			continue
		}
		if err != nil {
			return written, skipped, err
		}
		written += int(sp.to-sp.from) + 1
	}
	return written, skipped, nil
}

func monthOf(d attendance.Date) string { return d.Time().Format("2006-01") }

// records turns the stored inputs into the engine's raw records. Refs are the database ids, so
// that evidence names the rows behind a finding.
func records(in *store.Inputs) leave.Records {
	rec := leave.Records{Clocks: in.Clocks}
	rec.Punches = make([]attendance.Punch, 0, len(in.Punches)+len(in.Manual))
	for _, p := range in.Punches {
		rec.Punches = append(rec.Punches, attendance.Punch{At: p.Time, Device: p.Clock})
	}
	for _, m := range in.Manual {
		rec.Punches = append(rec.Punches, attendance.Punch{At: m.At, Manual: true, Reason: m.Reason, RecordedBy: m.RecordedBy})
	}
	if len(in.Manual) > 0 {
		slices.SortStableFunc(rec.Punches, func(a, b attendance.Punch) int { return a.At.Compare(b.At) })
	}
	for _, sl := range in.Slips {
		typ, _ := leave.ParseType(sl.Type)
		ap, _ := leave.ParseApprovals(sl.Approvals) // checked when it was filed
		rec.Slips = append(rec.Slips, leave.Slip{Ref: strconv.FormatInt(sl.ID, 10), StaffID: sl.StaffID, Type: typ,
			Start: sl.Start, End: sl.End, FiledAt: sl.FiledAt, Approvals: ap})
	}
	for _, p := range in.Patrols {
		rec.Patrols = append(rec.Patrols, leave.Patrol{Ref: strconv.FormatInt(p.ID, 10), StaffID: p.StaffID, From: p.From, To: p.To, Present: p.Present})
	}
	for _, f := range in.Failures {
		fr := leave.FailureReport{Ref: strconv.FormatInt(f.ID, 10), StaffID: f.StaffID, Clock: f.Clock, From: f.From, To: f.To, ReportedAt: f.ReportedAt}
		if fr.AppliesTo(in.Staff.StaffID, in.Clocks) {
			rec.Failures = append(rec.Failures, fr)
		}
	}
	return rec
}

// FinalAfter is the wall-clock time from which a segment's result can be final: the minute after
// its sign-out window closes (a punch at 12:10:59 still counts for a window ending at 12:10).
func FinalAfter(r *attendance.Rules, d attendance.Date, seg attendance.Segment) time.Time {
	h := r.Schedule.SeasonOn(d).Hours(seg)
	return d.At(h.Out.To).Add(time.Minute)
}

// IsFinal applies R19: the segment's sign-out window is over and every clock the staff member is
// enrolled on has been read at or after its end. A clock never read keeps the segment provisional.
func IsFinal(r *attendance.Rules, d attendance.Date, seg attendance.Segment, clocks []string, reads map[string]time.Time, now time.Time) bool {
	end := FinalAfter(r, d, seg)
	if now.Before(end) {
		return false
	}
	for _, c := range clocks {
		at, ok := reads[c]
		if !ok || at.Before(end) {
			return false
		}
	}
	return true
}

func (w *Worker) row(res *attendance.Result, clocks []string, reads map[string]time.Time, now time.Time) store.SegmentResult {
	return store.SegmentResult{
		StaffID: res.StaffID,
		Day:     res.Date.String(),
		Segment: res.Segment.String(),
		Values: store.Values{Findings: res.Findings.String(), LateMinutes: res.LateMinutes, EarlyMinutes: res.EarlyMinutes,
			OffPost: res.OffPost, LeaveType: res.LeaveType},
		SignIn:   res.SignIn.String(),
		SignOut:  res.SignOut.String(),
		Evidence: EvidenceJSON(&res.Evidence),
		Final:    IsFinal(w.o.Rules, res.Date, res.Segment, clocks, reads, now),
	}
}

// Evidence is the stored form of attendance.Evidence (R20: every finding with its evidence).
type Evidence struct {
	SignIn   *PunchEvidence    `json:"sign_in,omitempty"`
	SignOut  *PunchEvidence    `json:"sign_out,omitempty"`
	Punches  []PunchEvidence   `json:"punches"`
	Slips    []SlipEvidence    `json:"slips,omitempty"`
	Patrols  []PatrolEvidence  `json:"patrols,omitempty"`
	Failures []FailureEvidence `json:"failures,omitempty"`
}

// PunchEvidence is one punch: its time and clock, or for a manual sign-in its reason and recorder.
type PunchEvidence struct {
	At         string `json:"at"`
	Clock      string `json:"clock,omitempty"`
	Manual     bool   `json:"manual,omitempty"`
	Reason     string `json:"reason,omitempty"`
	RecordedBy string `json:"recorded_by,omitempty"`
}

// SlipEvidence is a leave slip overlapping the segment and whether it is recognised, and why.
type SlipEvidence struct {
	ID         int64    `json:"id"`
	Type       string   `json:"type"`
	From       string   `json:"from"`
	To         string   `json:"to"`
	Recognised bool     `json:"recognised"`
	Why        []string `json:"why,omitempty"`
}

// PatrolEvidence is a patrol record overlapping the segment.
type PatrolEvidence struct {
	ID      int64  `json:"id"`
	From    string `json:"from"`
	To      string `json:"to"`
	Present bool   `json:"present"`
}

// FailureEvidence is a failure report overlapping a punch window of the segment.
type FailureEvidence struct {
	ID         int64  `json:"id"`
	From       string `json:"from"`
	To         string `json:"to"`
	ReportedAt string `json:"reported_at"`
}

func punchEvidence(p *attendance.Punch) PunchEvidence {
	return PunchEvidence{At: store.WallString(p.At), Clock: p.Device, Manual: p.Manual, Reason: p.Reason, RecordedBy: p.RecordedBy}
}

func refID(ref string) int64 {
	id, _ := strconv.ParseInt(ref, 10, 64)
	return id
}

// EvidenceJSON encodes the evidence of one result.
func EvidenceJSON(e *attendance.Evidence) string {
	out := Evidence{Punches: make([]PunchEvidence, 0, len(e.Punches))}
	if e.SignIn != nil {
		p := punchEvidence(e.SignIn)
		out.SignIn = &p
	}
	if e.SignOut != nil {
		p := punchEvidence(e.SignOut)
		out.SignOut = &p
	}
	for i := range e.Punches {
		out.Punches = append(out.Punches, punchEvidence(&e.Punches[i]))
	}
	for _, l := range e.Leaves {
		out.Slips = append(out.Slips, SlipEvidence{ID: refID(l.Ref), Type: l.Type, From: store.WallString(l.From), To: store.WallString(l.To),
			Recognised: l.Recognised, Why: l.Why})
	}
	for _, p := range e.Patrols {
		out.Patrols = append(out.Patrols, PatrolEvidence{ID: refID(p.Ref), From: store.WallString(p.From), To: store.WallString(p.To), Present: p.Present})
	}
	for _, f := range e.Failures {
		out.Failures = append(out.Failures, FailureEvidence{ID: refID(f.Ref), From: store.WallString(f.From), To: store.WallString(f.To),
			ReportedAt: store.WallString(f.ReportedAt)})
	}
	b, err := json.Marshal(out)
	if err != nil {
		return fmt.Sprintf(`{"error":%q}`, err.Error())
	}
	return string(b)
}

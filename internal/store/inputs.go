package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
)

// What the supervision section files about absences: leave slips, patrol records, clock-failure
// reports and manual sign-ins. Each is append-only here (a slip can be cancelled, never edited), is
// written in the same transaction as its audit-log entry, and marks every (staff, day) it touches
// dirty so that the results worker recomputes exactly those days (rules.md R19).
//
// The store does not know the calendar, so it marks every calendar day of an input's range; the
// worker writes nothing for a day off.

// ErrBadInput is returned for an input the store refuses as it is (an empty required field, a
// range that ends before it starts, an unknown staff member).
var ErrBadInput = errors.New("store: bad input")

// LeaveSlip is a leave slip as filed (rules.md R12–R17). Type and Approvals are the CSV's words
// (package leave parses them); the store keeps them as text.
type LeaveSlip struct {
	ID         int64
	StaffID    string
	Type       string
	Start, End time.Time // wall clock, both included
	FiledAt    time.Time
	Approvals  string // ";"-separated tokens, as in the CSV
	Note       string
	RecordedBy string
	CreatedAt  time.Time
	// CancelledAt is when the slip was withdrawn (zero while it stands); a withdrawn slip excuses
	// nothing and is kept for the audit.
	CancelledAt time.Time
}

// PatrolRecord is what a patrol saw: a staff member present or absent from From to To (R10, R11).
type PatrolRecord struct {
	ID          int64
	StaffID     string
	From, To    time.Time
	Present     bool
	Note        string
	RecordedBy  string
	CreatedAt   time.Time
	CancelledAt time.Time // withdrawn (zero while it stands): kept, counts for nothing
}

// FailureReport is a report that a clock could not read a finger (R9). StaffID "*" is every staff
// member, or with Clock every staff member enrolled on that clock.
type FailureReport struct {
	ID          int64
	StaffID     string
	Clock       string
	From, To    time.Time
	ReportedAt  time.Time
	Note        string
	RecordedBy  string
	CreatedAt   time.Time
	CancelledAt time.Time // withdrawn (zero while it stands)
}

// ManualSignIn is a sign-in recorded by hand when the clock was not used; it counts as a punch.
type ManualSignIn struct {
	ID          int64
	StaffID     string
	At          time.Time
	Reason      string
	RecordedBy  string
	CreatedAt   time.Time
	CancelledAt time.Time // withdrawn (zero while it stands)
}

// Everyone is the staff id of a failure report that concerns every staff member (of one clock).
const Everyone = "*"

// days returns every calendar day from from's to to's, both included.
func days(from, to time.Time) []string {
	d := time.Date(from.Year(), from.Month(), from.Day(), 0, 0, 0, 0, time.UTC)
	end := time.Date(to.Year(), to.Month(), to.Day(), 0, 0, 0, 0, time.UTC)
	var out []string
	for ; !d.After(end); d = d.AddDate(0, 0, 1) {
		out = append(out, dayString(d))
	}
	return out
}

func staffDays(staff []string, from, to time.Time) []DirtyDay {
	ds := days(from, to)
	out := make([]DirtyDay, 0, len(staff)*len(ds))
	for _, s := range staff {
		for _, d := range ds {
			out = append(out, DirtyDay{StaffID: s, Day: d})
		}
	}
	return out
}

func checkRange(what string, i int, from, to time.Time) error {
	switch {
	case from.IsZero() || to.IsZero():
		return fmt.Errorf("%w: %s %d: a time is missing", ErrBadInput, what, i+1)
	case to.Before(from):
		return fmt.Errorf("%w: %s %d: ends at %s, before it starts at %s", ErrBadInput, what, i+1, WallString(to), WallString(from))
	case from.Year() < 2000 || to.Year() > 2099:
		return fmt.Errorf("%w: %s %d: time out of range", ErrBadInput, what, i+1)
	}
	return nil
}

func checkText(what string, i int, fields ...string) error {
	for j := 0; j+1 < len(fields); j += 2 {
		if fields[j+1] == "" {
			return fmt.Errorf("%w: %s %d: %s is empty", ErrBadInput, what, i+1, fields[j])
		}
		if len(fields[j+1]) > 100 && fields[j] != "reason" {
			return fmt.Errorf("%w: %s %d: %s is longer than 100 bytes", ErrBadInput, what, i+1, fields[j])
		}
	}
	return nil
}

// knownStaff fails with ErrBadInput naming every id of ids that is not a staff member.
func (s *Store) knownStaff(ctx context.Context, tx *sqlx.Tx, ids []string) error {
	want := map[string]bool{}
	for _, id := range ids {
		if id != Everyone {
			want[id] = true
		}
	}
	if len(want) == 0 {
		return nil
	}
	list := make([]string, 0, len(want))
	for id := range want {
		list = append(list, id)
	}
	sort.Strings(list)
	q, args, err := sqlx.In("SELECT staff_id FROM staff WHERE staff_id IN (?)", list)
	if err != nil {
		return err
	}
	var have []string
	if err := tx.SelectContext(ctx, &have, tx.Rebind(q), args...); err != nil {
		return fmt.Errorf("store: look up staff: %w", err)
	}
	for _, id := range have {
		delete(want, id)
	}
	if len(want) > 0 {
		var missing []string
		for _, id := range list {
			if want[id] {
				missing = append(missing, strconv.Quote(id))
			}
		}
		return fmt.Errorf("%w: unknown staff %s", ErrBadInput, strings.Join(missing, ", "))
	}
	return nil
}

func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// insertID runs an INSERT and returns the new row's id.
func insertID(ctx context.Context, tx *sqlx.Tx, q string, args ...any) (int64, error) {
	r, err := tx.ExecContext(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	return r.LastInsertId()
}

// added is one row an Add method wrote: its id, the audit entry's new value, and the staff days
// it touches.
type added struct {
	id    int64
	value map[string]any
	days  []DirtyDay
}

// addInputs is the skeleton of the Add methods: in one transaction, check that the staff ids
// exist, insert each row with insert, audit it as an "add" of entity by actor, and queue the days
// the rows touch for recomputation. Any failure writes nothing.
func (s *Store) addInputs(ctx context.Context, entity, actor string, staffIDs []string, n int,
	insert func(tx *sqlx.Tx, i int, now string) (added, error)) ([]int64, error) {
	now := s.nowWall()
	var out []int64
	err := s.withTx(ctx, func(tx *sqlx.Tx) error {
		out = out[:0]
		if err := s.knownStaff(ctx, tx, staffIDs); err != nil {
			return err
		}
		closed, err := s.closedMonths(ctx, tx)
		if err != nil {
			return err
		}
		var dirty []DirtyDay
		for i := 0; i < n; i++ {
			a, err := insert(tx, i, now)
			if err != nil {
				return err
			}
			for _, d := range a.days {
				if m := monthOf(d.Day); closed[m] {
					return fmt.Errorf("%s %d: %w", strings.ReplaceAll(entity, "_", " "), i+1, &MonthClosedError{Month: m})
				}
			}
			out = append(out, a.id)
			a.value["id"] = a.id
			if err := s.audit(ctx, tx, AuditEntry{At: now, Actor: actor, Action: "add", Entity: entity,
				EntityID: strconv.FormatInt(a.id, 10), NewValue: jsonString(a.value)}); err != nil {
				return err
			}
			dirty = append(dirty, a.days...)
		}
		return s.markDays(ctx, tx, dedupeDays(dirty), now)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// MonthClosedError refuses an entry that touches a day of a closed month: its results change
// only by a correction (kaoqin month correct, or the correction page), never silently by an
// entry that would be stored and not applied. It is ErrMonthClosed and ErrBadInput.
type MonthClosedError struct{ Month string }

func (e *MonthClosedError) Error() string {
	return e.Month + " 本月已结账，请用更正（kaoqin month correct）"
}

// Is makes errors.Is see ErrMonthClosed and ErrBadInput.
func (e *MonthClosedError) Is(target error) bool {
	return target == ErrMonthClosed || target == ErrBadInput
}

// closedMonths reads the closed months in an entry's transaction, so that an entry and a
// closing cannot pass each other unseen.
func (s *Store) closedMonths(ctx context.Context, tx *sqlx.Tx) (map[string]bool, error) {
	var ms []string
	if err := tx.SelectContext(ctx, &ms, "SELECT month FROM month_closings"); err != nil {
		return nil, fmt.Errorf("store: month closings: %w", err)
	}
	out := make(map[string]bool, len(ms))
	for _, m := range ms {
		out[m] = true
	}
	return out, nil
}

// recordedBy is who recorded an entry: its own field, else the actor entering it.
func recordedBy(rec, actor string) string {
	if rec == "" {
		return actor
	}
	return rec
}

// AddLeaveSlips stores leave slips in one transaction, audited as actor, and marks their days.
func (s *Store) AddLeaveSlips(ctx context.Context, slips []LeaveSlip, actor string) ([]int64, error) {
	ids := make([]string, len(slips))
	for i, sl := range slips {
		if err := checkText("leave slip", i, "staff_id", sl.StaffID, "type", sl.Type); err != nil {
			return nil, err
		}
		if err := checkRange("leave slip", i, sl.Start, sl.End); err != nil {
			return nil, err
		}
		if sl.FiledAt.IsZero() {
			return nil, fmt.Errorf("%w: leave slip %d: filed_at is missing", ErrBadInput, i+1)
		}
		ids[i] = sl.StaffID
	}
	q := s.rebind("INSERT INTO leave_slips (staff_id, type, start_at, end_at, filed_at, approvals, note, recorded_by, created_at) VALUES (?,?,?,?,?,?,?,?,?)")
	return s.addInputs(ctx, "leave_slip", actor, ids, len(slips), func(tx *sqlx.Tx, i int, now string) (added, error) {
		sl := slips[i]
		sl.RecordedBy = recordedBy(sl.RecordedBy, actor)
		id, err := insertID(ctx, tx, q, sl.StaffID, sl.Type, WallString(sl.Start), WallString(sl.End), WallString(sl.FiledAt),
			sl.Approvals, sl.Note, sl.RecordedBy, now)
		if err != nil {
			return added{}, fmt.Errorf("store: add leave slip of %s: %w", sl.StaffID, err)
		}
		sl.ID = id
		return added{id, slipJSON(sl), staffDays([]string{sl.StaffID}, sl.Start, sl.End)}, nil
	})
}

func slipJSON(sl LeaveSlip) map[string]any {
	return map[string]any{"id": sl.ID, "staff_id": sl.StaffID, "type": sl.Type, "start": WallString(sl.Start),
		"end": WallString(sl.End), "filed_at": WallString(sl.FiledAt), "approvals": sl.Approvals, "note": sl.Note,
		"recorded_by": sl.RecordedBy}
}

// AddPatrols stores patrol records in one transaction, audited as actor, and marks their days.
func (s *Store) AddPatrols(ctx context.Context, ps []PatrolRecord, actor string) ([]int64, error) {
	ids := make([]string, len(ps))
	for i, p := range ps {
		if err := checkText("patrol", i, "staff_id", p.StaffID); err != nil {
			return nil, err
		}
		if err := checkRange("patrol", i, p.From, p.To); err != nil {
			return nil, err
		}
		ids[i] = p.StaffID
	}
	q := s.rebind("INSERT INTO patrols (staff_id, from_at, to_at, observation, note, recorded_by, created_at) VALUES (?,?,?,?,?,?,?)")
	return s.addInputs(ctx, "patrol", actor, ids, len(ps), func(tx *sqlx.Tx, i int, now string) (added, error) {
		p := ps[i]
		rec := recordedBy(p.RecordedBy, actor)
		id, err := insertID(ctx, tx, q, p.StaffID, WallString(p.From), WallString(p.To), observation(p.Present), p.Note, rec, now)
		if err != nil {
			return added{}, fmt.Errorf("store: add patrol of %s: %w", p.StaffID, err)
		}
		return added{id, map[string]any{"staff_id": p.StaffID, "from": WallString(p.From), "to": WallString(p.To),
			"observation": observation(p.Present), "note": p.Note, "recorded_by": rec}, staffDays([]string{p.StaffID}, p.From, p.To)}, nil
	})
}

func observation(present bool) string {
	if present {
		return "present"
	}
	return "absent"
}

// AddFailureReports stores clock-failure reports in one transaction, audited as actor. A report
// for one staff member marks that member's days; a "*" report marks the days of every active
// staff member, or with a clock of those enrolled on it.
func (s *Store) AddFailureReports(ctx context.Context, rs []FailureReport, actor string) ([]int64, error) {
	ids := make([]string, len(rs))
	for i, f := range rs {
		if err := checkText("failure report", i, "staff_id", f.StaffID); err != nil {
			return nil, err
		}
		if err := checkRange("failure report", i, f.From, f.To); err != nil {
			return nil, err
		}
		if f.ReportedAt.IsZero() {
			return nil, fmt.Errorf("%w: failure report %d: reported_at is missing", ErrBadInput, i+1)
		}
		if len(f.Clock) > 100 {
			return nil, fmt.Errorf("%w: failure report %d: clock is longer than 100 bytes", ErrBadInput, i+1)
		}
		ids[i] = f.StaffID
	}
	q := s.rebind("INSERT INTO failure_reports (staff_id, clock, from_at, to_at, reported_at, note, recorded_by, created_at) VALUES (?,?,?,?,?,?,?,?)")
	return s.addInputs(ctx, "failure_report", actor, ids, len(rs), func(tx *sqlx.Tx, i int, now string) (added, error) {
		f := rs[i]
		rec := recordedBy(f.RecordedBy, actor)
		id, err := insertID(ctx, tx, q, f.StaffID, f.Clock, WallString(f.From), WallString(f.To), WallString(f.ReportedAt), f.Note, rec, now)
		if err != nil {
			return added{}, fmt.Errorf("store: add failure report of %s: %w", f.StaffID, err)
		}
		staff := []string{f.StaffID}
		if f.StaffID == Everyone {
			if f.Clock == "" {
				err = tx.SelectContext(ctx, &staff, "SELECT staff_id FROM staff WHERE active = 1")
			} else {
				err = tx.SelectContext(ctx, &staff, s.rebind("SELECT DISTINCT e.staff_id FROM enrollments e JOIN staff s ON s.staff_id = e.staff_id WHERE e.clock = ? AND s.active = 1"), f.Clock)
			}
			if err != nil {
				return added{}, fmt.Errorf("store: staff of failure report %d: %w", id, err)
			}
		}
		return added{id, map[string]any{"staff_id": f.StaffID, "clock": f.Clock, "from": WallString(f.From), "to": WallString(f.To),
			"reported_at": WallString(f.ReportedAt), "note": f.Note, "recorded_by": rec}, staffDays(staff, f.From, f.To)}, nil
	})
}

// AddManualSignIns stores manual sign-ins in one transaction, audited as actor, and marks their days.
func (s *Store) AddManualSignIns(ctx context.Context, ms []ManualSignIn, actor string) ([]int64, error) {
	ids := make([]string, len(ms))
	for i, m := range ms {
		if err := checkText("manual sign-in", i, "staff_id", m.StaffID, "reason", m.Reason, "recorded_by", m.RecordedBy); err != nil {
			return nil, err
		}
		if err := checkRange("manual sign-in", i, m.At, m.At); err != nil {
			return nil, err
		}
		ids[i] = m.StaffID
	}
	q := s.rebind("INSERT INTO manual_signins (staff_id, at, reason, recorded_by, created_at) VALUES (?,?,?,?,?)")
	return s.addInputs(ctx, "manual_signin", actor, ids, len(ms), func(tx *sqlx.Tx, i int, now string) (added, error) {
		m := ms[i]
		id, err := insertID(ctx, tx, q, m.StaffID, WallString(m.At), m.Reason, m.RecordedBy, now)
		if err != nil {
			return added{}, fmt.Errorf("store: add manual sign-in of %s: %w", m.StaffID, err)
		}
		return added{id, map[string]any{"staff_id": m.StaffID, "at": WallString(m.At), "reason": m.Reason,
			"recorded_by": m.RecordedBy}, []DirtyDay{{StaffID: m.StaffID, Day: dayString(m.At)}}}, nil
	})
}

func dedupeDays(ds []DirtyDay) []DirtyDay {
	seen := make(map[DirtyDay]bool, len(ds))
	out := ds[:0]
	for _, d := range ds {
		if !seen[d] {
			seen[d] = true
			out = append(out, d)
		}
	}
	return out
}

// MarkDirty queues days for recomputation (the finalising pass, an operator's recompute).
func (s *Store) MarkDirty(ctx context.Context, ds []DirtyDay) error {
	if len(ds) == 0 {
		return nil
	}
	return s.withTx(ctx, func(tx *sqlx.Tx) error { return s.markDays(ctx, tx, dedupeDays(ds), s.nowWall()) })
}

// --- reading ---

// Inputs is everything the engine reads about one staff member over a stretch of time.
type Inputs struct {
	Staff Staff
	// WindowStaff is the number of active staff at the staff member's window (R15, R16).
	WindowStaff int
	// Clocks are the clocks the staff member is enrolled on, sorted.
	Clocks   []string
	Punches  []Punch // clock punches, by time
	Manual   []ManualSignIn
	Slips    []LeaveSlip     // not cancelled, overlapping the range
	Patrols  []PatrolRecord  // overlapping the range
	Failures []FailureReport // naming the staff member or "*" (any clock: the caller matches Clock), overlapping the range
}

// LoadInputs returns what is known about staff member staffID that touches from <= t < to (wall
// clock): the punches and manual sign-ins inside it, and the slips, patrol records and failure
// reports overlapping it, whole (a slip spanning a week is returned entire, so that its duration
// can be judged). ErrNotFound when there is no such staff member.
func (s *Store) LoadInputs(ctx context.Context, staffID string, from, to time.Time) (*Inputs, error) {
	in := &Inputs{}
	var err error
	if in.Staff, err = s.GetStaff(ctx, staffID); err != nil {
		return nil, err
	}
	f, t := WallString(from), WallString(to)
	if err := s.r.GetContext(ctx, &in.WindowStaff, s.rebind(`SELECT COUNT(*) FROM staff
		WHERE active = 1 AND window_id = (SELECT window_id FROM staff WHERE staff_id = ?)`), staffID); err != nil {
		return nil, fmt.Errorf("store: window staff of %s: %w", staffID, err)
	}
	if err := s.r.SelectContext(ctx, &in.Clocks, s.rebind("SELECT DISTINCT clock FROM enrollments WHERE staff_id = ? ORDER BY clock"), staffID); err != nil {
		return nil, fmt.Errorf("store: clocks of %s: %w", staffID, err)
	}
	if in.Punches, err = s.StaffPunches(ctx, staffID, from, to); err != nil {
		return nil, err
	}
	rows, err := s.r.QueryxContext(ctx, s.rebind("SELECT id, staff_id, at, reason, recorded_by, created_at FROM manual_signins WHERE staff_id = ? AND at >= ? AND at < ? AND cancelled_at IS NULL ORDER BY at, id"), staffID, f, t)
	if err != nil {
		return nil, fmt.Errorf("store: manual sign-ins of %s: %w", staffID, err)
	}
	for rows.Next() {
		var m ManualSignIn
		var at, created wallTime
		if err := rows.Scan(&m.ID, &m.StaffID, &at, &m.Reason, &m.RecordedBy, &created); err != nil {
			rows.Close()
			return nil, err
		}
		m.At, m.CreatedAt = at.T, created.T
		in.Manual = append(in.Manual, m)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if in.Slips, err = s.querySlips(ctx, "staff_id = ? AND cancelled_at IS NULL AND start_at < ? AND end_at >= ?", staffID, t, f); err != nil {
		return nil, err
	}
	if in.Patrols, err = s.queryPatrols(ctx, "staff_id = ? AND cancelled_at IS NULL AND from_at < ? AND to_at >= ?", staffID, t, f); err != nil {
		return nil, err
	}
	if in.Failures, err = s.queryFailures(ctx, "staff_id IN (?, ?) AND cancelled_at IS NULL AND from_at < ? AND to_at >= ?", staffID, Everyone, t, f); err != nil {
		return nil, err
	}
	return in, nil
}

func (s *Store) querySlips(ctx context.Context, where string, args ...any) ([]LeaveSlip, error) {
	rows, err := s.r.QueryxContext(ctx, s.rebind("SELECT id, staff_id, type, start_at, end_at, filed_at, approvals, note, recorded_by, created_at, cancelled_at FROM leave_slips WHERE "+where+" ORDER BY start_at, id"), args...)
	if err != nil {
		return nil, fmt.Errorf("store: read leave slips: %w", err)
	}
	defer rows.Close()
	var out []LeaveSlip
	for rows.Next() {
		var sl LeaveSlip
		var st, en, fi, cr, ca wallTime
		if err := rows.Scan(&sl.ID, &sl.StaffID, &sl.Type, &st, &en, &fi, &sl.Approvals, &sl.Note, &sl.RecordedBy, &cr, &ca); err != nil {
			return nil, fmt.Errorf("store: read leave slips: %w", err)
		}
		sl.Start, sl.End, sl.FiledAt, sl.CreatedAt, sl.CancelledAt = st.T, en.T, fi.T, cr.T, ca.T
		out = append(out, sl)
	}
	return out, rows.Err()
}

func (s *Store) queryPatrols(ctx context.Context, where string, args ...any) ([]PatrolRecord, error) {
	rows, err := s.r.QueryxContext(ctx, s.rebind("SELECT id, staff_id, from_at, to_at, observation, note, recorded_by, created_at, cancelled_at FROM patrols WHERE "+where+" ORDER BY from_at, id"), args...)
	if err != nil {
		return nil, fmt.Errorf("store: read patrols: %w", err)
	}
	defer rows.Close()
	var out []PatrolRecord
	for rows.Next() {
		var p PatrolRecord
		var fr, to, cr, ca wallTime
		var obs string
		if err := rows.Scan(&p.ID, &p.StaffID, &fr, &to, &obs, &p.Note, &p.RecordedBy, &cr, &ca); err != nil {
			return nil, fmt.Errorf("store: read patrols: %w", err)
		}
		p.From, p.To, p.CreatedAt, p.Present, p.CancelledAt = fr.T, to.T, cr.T, obs == "present", ca.T
		out = append(out, p)
	}
	return out, rows.Err()
}

func (s *Store) queryFailures(ctx context.Context, where string, args ...any) ([]FailureReport, error) {
	rows, err := s.r.QueryxContext(ctx, s.rebind("SELECT id, staff_id, clock, from_at, to_at, reported_at, note, recorded_by, created_at, cancelled_at FROM failure_reports WHERE "+where+" ORDER BY from_at, id"), args...)
	if err != nil {
		return nil, fmt.Errorf("store: read failure reports: %w", err)
	}
	defer rows.Close()
	var out []FailureReport
	for rows.Next() {
		var f FailureReport
		var fr, to, rep, cr, ca wallTime
		if err := rows.Scan(&f.ID, &f.StaffID, &f.Clock, &fr, &to, &rep, &f.Note, &f.RecordedBy, &cr, &ca); err != nil {
			return nil, fmt.Errorf("store: read failure reports: %w", err)
		}
		f.From, f.To, f.ReportedAt, f.CreatedAt, f.CancelledAt = fr.T, to.T, rep.T, cr.T, ca.T
		out = append(out, f)
	}
	return out, rows.Err()
}

// LeaveSlips lists the slips (cancelled ones too) overlapping from <= t < to; staffID "" for all.
func (s *Store) LeaveSlips(ctx context.Context, staffID string, from, to time.Time) ([]LeaveSlip, error) {
	if staffID == "" {
		return s.querySlips(ctx, "start_at < ? AND end_at >= ?", WallString(to), WallString(from))
	}
	return s.querySlips(ctx, "staff_id = ? AND start_at < ? AND end_at >= ?", staffID, WallString(to), WallString(from))
}

// Patrols lists the patrol records overlapping from <= t < to; staffID "" for all.
func (s *Store) Patrols(ctx context.Context, staffID string, from, to time.Time) ([]PatrolRecord, error) {
	if staffID == "" {
		return s.queryPatrols(ctx, "from_at < ? AND to_at >= ?", WallString(to), WallString(from))
	}
	return s.queryPatrols(ctx, "staff_id = ? AND from_at < ? AND to_at >= ?", staffID, WallString(to), WallString(from))
}

// FailureReports lists the failure reports overlapping from <= t < to; staffID "" for all, else
// the reports naming that staff member or everyone.
func (s *Store) FailureReports(ctx context.Context, staffID string, from, to time.Time) ([]FailureReport, error) {
	if staffID == "" {
		return s.queryFailures(ctx, "from_at < ? AND to_at >= ?", WallString(to), WallString(from))
	}
	return s.queryFailures(ctx, "staff_id IN (?, ?) AND from_at < ? AND to_at >= ?", staffID, Everyone, WallString(to), WallString(from))
}

// ManualSignIns lists the manual sign-ins with from <= at < to; staffID "" for all.
func (s *Store) ManualSignIns(ctx context.Context, staffID string, from, to time.Time) ([]ManualSignIn, error) {
	q := "SELECT id, staff_id, at, reason, recorded_by, created_at, cancelled_at FROM manual_signins WHERE at >= ? AND at < ?"
	args := []any{WallString(from), WallString(to)}
	if staffID != "" {
		q += " AND staff_id = ?"
		args = append(args, staffID)
	}
	rows, err := s.r.QueryxContext(ctx, s.rebind(q+" ORDER BY at, id"), args...)
	if err != nil {
		return nil, fmt.Errorf("store: read manual sign-ins: %w", err)
	}
	defer rows.Close()
	var out []ManualSignIn
	for rows.Next() {
		var m ManualSignIn
		var at, cr, ca wallTime
		if err := rows.Scan(&m.ID, &m.StaffID, &at, &m.Reason, &m.RecordedBy, &cr, &ca); err != nil {
			return nil, err
		}
		m.At, m.CreatedAt, m.CancelledAt = at.T, cr.T, ca.T
		out = append(out, m)
	}
	return out, rows.Err()
}

// --- clocks read ---

// TouchClockRead records that clock was read successfully at wall-clock time at, for clocks whose
// reads leave no cursor (Anviz clears its "new" marks instead). It never moves the time back.
func (s *Store) TouchClockRead(ctx context.Context, clock string, at time.Time) error {
	now := s.nowWall()
	q := "INSERT INTO clock_cursors (clock, last_read_at, updated_at) VALUES (?,?,?)"
	if s.dialect == "mysql" {
		q += " ON DUPLICATE KEY UPDATE last_read_at = GREATEST(last_read_at, VALUES(last_read_at)), updated_at = VALUES(updated_at)"
	} else {
		q += " ON CONFLICT (clock) DO UPDATE SET last_read_at = MAX(last_read_at, excluded.last_read_at), updated_at = excluded.updated_at"
	}
	if _, err := s.w.ExecContext(ctx, s.rebind(q), clock, WallString(at), now); err != nil {
		return fmt.Errorf("store: record the read of %s: %w", clock, err)
	}
	return nil
}

// ClockReads returns when each clock was last read successfully (wall clock), by clock name.
// Clocks never read are absent.
func (s *Store) ClockReads(ctx context.Context) (map[string]time.Time, error) {
	rows, err := s.r.QueryContext(ctx, "SELECT clock, last_read_at FROM clock_cursors")
	if err != nil {
		return nil, fmt.Errorf("store: clock reads: %w", err)
	}
	defer rows.Close()
	out := map[string]time.Time{}
	for rows.Next() {
		var c string
		var at wallTime
		if err := rows.Scan(&c, &at); err != nil {
			return nil, err
		}
		if at.Valid {
			out[c] = at.T
		}
	}
	return out, rows.Err()
}

// CancelLeaveSlip withdraws a slip entered by mistake or withdrawn by its staff member: it is kept
// (with when it was withdrawn) but excuses nothing from then on; its days are recomputed (a closed
// month keeps its results: only a correction changes those), and the audit log has the old slip
// and the reason.
func (s *Store) CancelLeaveSlip(ctx context.Context, id int64, reason, actor string) (LeaveSlip, error) {
	if strings.TrimSpace(reason) == "" {
		return LeaveSlip{}, fmt.Errorf("%w: withdrawing a slip needs its reason", ErrBadInput)
	}
	var sl LeaveSlip
	now := s.nowWall()
	err := s.withTx(ctx, func(tx *sqlx.Tx) error {
		var row struct {
			StaffID     string   `db:"staff_id"`
			Type        string   `db:"type"`
			Start       wallTime `db:"start_at"`
			End         wallTime `db:"end_at"`
			FiledAt     wallTime `db:"filed_at"`
			Approvals   string   `db:"approvals"`
			Note        string   `db:"note"`
			RecordedBy  string   `db:"recorded_by"`
			CancelledAt wallTime `db:"cancelled_at"`
		}
		err := tx.GetContext(ctx, &row, s.rebind("SELECT staff_id, type, start_at, end_at, filed_at, approvals, note, recorded_by, cancelled_at FROM leave_slips WHERE id = ?"), id)
		if err != nil {
			return notFound(err)
		}
		if row.CancelledAt.Valid {
			return fmt.Errorf("%w: leave slip %d was already withdrawn at %s", ErrBadInput, id, WallString(row.CancelledAt.T))
		}
		sl = LeaveSlip{ID: id, StaffID: row.StaffID, Type: row.Type, Start: row.Start.T, End: row.End.T, FiledAt: row.FiledAt.T,
			Approvals: row.Approvals, Note: row.Note, RecordedBy: row.RecordedBy}
		// Withdrawing a slip of a closed month would be stored and never applied, as an entry.
		closed, err := s.closedMonths(ctx, tx)
		if err != nil {
			return err
		}
		for _, d := range staffDays([]string{sl.StaffID}, sl.Start, sl.End) {
			if m := monthOf(d.Day); closed[m] {
				return fmt.Errorf("leave slip %d: %w", id, &MonthClosedError{Month: m})
			}
		}
		if _, err := tx.ExecContext(ctx, s.rebind("UPDATE leave_slips SET cancelled_at = ? WHERE id = ?"), now, id); err != nil {
			return fmt.Errorf("store: withdraw leave slip %d: %w", id, err)
		}
		if err := s.audit(ctx, tx, AuditEntry{At: now, Actor: actor, Action: "cancel", Entity: "leave_slip",
			EntityID: strconv.FormatInt(id, 10), OldValue: jsonString(slipJSON(sl)), NewValue: jsonString(map[string]any{"cancelled_at": now, "reason": reason})}); err != nil {
			return err
		}
		return s.markDays(ctx, tx, staffDays([]string{sl.StaffID}, sl.Start, sl.End), now)
	})
	if err != nil {
		return LeaveSlip{}, err
	}
	sl.CancelledAt, _ = time.Parse(WallLayout, now)
	return sl, nil
}

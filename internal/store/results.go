package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jmoiron/sqlx"
)

// ErrMonthClosed is returned when a write would change results of a closed month.
var ErrMonthClosed = errors.New("store: the month is closed; its results change only by a correction")

// ErrMonthOpen is returned for a correction in a month that is not closed: its results follow
// their inputs, so the fix is an input (a slip, a failure report, a manual sign-in).
var ErrMonthOpen = errors.New("store: the month is not closed; correct its inputs instead")

// ErrAlreadyClosed is returned by CloseMonth for a month closed before.
var ErrAlreadyClosed = errors.New("store: the month is already closed")

// Values are the findings of one segment that a correction can replace.
type Values struct {
	Findings     string `json:"findings"` // R18 codes joined by ";", sorted; "" is normal
	LateMinutes  int    `json:"late_minutes"`
	EarlyMinutes int    `json:"early_minutes"`
	OffPost      int    `json:"off_post"`
	LeaveType    string `json:"leave_type"`
}

// SegmentResult is the stored classification of one working segment of one staff member.
type SegmentResult struct {
	StaffID string
	Day     string // YYYY-MM-DD
	Segment string // "am" or "pm"
	Values
	SignIn, SignOut string // HH:MM or ""
	// Evidence is a JSON object: the punches (time and clock), slips, patrol records and failure
	// reports behind the findings (built by package results).
	Evidence string
	// Final: every clock of the staff member has been read past the segment's sign-out window (R19).
	Final      bool
	ComputedAt time.Time

	// Computed holds what the engine found, and Correction the correction applied on top of it
	// (nil when none): the Values above are then the correction's. Set by Results only.
	Computed   Values
	Correction *Correction
}

// Correction replaces the findings of one segment of a closed month.
type Correction struct {
	ID      int64
	StaffID string
	Day     string
	Segment string
	Values
	Reason string
	Actor  string
	At     time.Time
}

func segmentOK(seg string) bool { return seg == "am" || seg == "pm" }

func monthOf(day string) string { return day[:7] }

// closedIn returns which of the months of days are closed.
func closedIn(ctx context.Context, q sqlx.QueryerContext, rebind func(string) string, months []string) (map[string]bool, error) {
	out := map[string]bool{}
	if len(months) == 0 {
		return out, nil
	}
	query, args, err := sqlx.In("SELECT month FROM month_closings WHERE month IN (?)", months)
	if err != nil {
		return nil, err
	}
	var closed []string
	if err := sqlx.SelectContext(ctx, q, &closed, rebind(query), args...); err != nil {
		return nil, fmt.Errorf("store: month closings: %w", err)
	}
	for _, m := range closed {
		out[m] = true
	}
	return out, nil
}

// SaveResults replaces the results of staff member staffID for the days from..to (both included,
// dates): rows are upserted by (staff, day, segment) and stored rows of those days that rows no
// longer hold (a day that became a day off) are removed. It fails with ErrMonthClosed, writing
// nothing, when any of those days lies in a closed month: the check runs in the writing
// transaction, so a month closed meanwhile is never rewritten.
func (s *Store) SaveResults(ctx context.Context, staffID string, from, to time.Time, rows []SegmentResult) error {
	f, t := dayString(from), dayString(to)
	keep := map[[2]string]bool{}
	for _, r := range rows {
		if r.StaffID != staffID || r.Day < f || r.Day > t || !segmentOK(r.Segment) {
			return fmt.Errorf("%w: result %s %s %s is outside %s %s..%s", ErrBadInput, r.StaffID, r.Day, r.Segment, staffID, f, t)
		}
		keep[[2]string{r.Day, r.Segment}] = true
	}
	var months []string
	for m := monthOf(f); m <= monthOf(t); m = nextMonth(m) {
		months = append(months, m)
	}
	now := s.nowWall()
	return s.withTx(ctx, func(tx *sqlx.Tx) error {
		if err := s.lockMonths(ctx, tx, months); err != nil {
			return err
		}
		closed, err := closedIn(ctx, tx, s.rebind, months)
		if err != nil {
			return err
		}
		if len(closed) > 0 {
			return ErrMonthClosed
		}
		if hookResultsChecked != nil {
			hookResultsChecked()
		}
		var stored []struct {
			Day     wallTime `db:"day"`
			Segment string   `db:"segment"`
		}
		if err := tx.SelectContext(ctx, &stored, s.rebind("SELECT day, segment FROM segment_results WHERE staff_id = ? AND day >= ? AND day <= ?"), staffID, f, t); err != nil {
			return fmt.Errorf("store: read results of %s: %w", staffID, err)
		}
		for _, st := range stored {
			d := dayString(st.Day.T)
			if !keep[[2]string{d, st.Segment}] {
				if _, err := tx.ExecContext(ctx, s.rebind("DELETE FROM segment_results WHERE staff_id = ? AND day = ? AND segment = ?"), staffID, d, st.Segment); err != nil {
					return fmt.Errorf("store: remove result of %s %s: %w", staffID, d, err)
				}
			}
		}
		const batch = 200
		for start := 0; start < len(rows); start += batch {
			part := rows[start:min(start+batch, len(rows))]
			var b strings.Builder
			b.WriteString("INSERT INTO segment_results (staff_id, day, segment, findings, late_minutes, early_minutes, off_post, leave_type, sign_in, sign_out, evidence, final, computed_at) VALUES ")
			args := make([]any, 0, len(part)*13)
			for i, r := range part {
				if i > 0 {
					b.WriteByte(',')
				}
				b.WriteString("(?,?,?,?,?,?,?,?,?,?,?,?,?)")
				args = append(args, r.StaffID, r.Day, r.Segment, r.Findings, r.LateMinutes, r.EarlyMinutes, r.OffPost, r.LeaveType,
					r.SignIn, r.SignOut, r.Evidence, boolInt(r.Final), now)
			}
			cols := []string{"findings", "late_minutes", "early_minutes", "off_post", "leave_type", "sign_in", "sign_out", "evidence", "final", "computed_at"}
			if s.dialect == "mysql" {
				b.WriteString(" ON DUPLICATE KEY UPDATE ")
				for i, c := range cols {
					if i > 0 {
						b.WriteByte(',')
					}
					fmt.Fprintf(&b, "%s=VALUES(%s)", c, c)
				}
			} else {
				b.WriteString(" ON CONFLICT (staff_id, day, segment) DO UPDATE SET ")
				for i, c := range cols {
					if i > 0 {
						b.WriteByte(',')
					}
					fmt.Fprintf(&b, "%s=excluded.%s", c, c)
				}
			}
			if _, err := tx.ExecContext(ctx, s.rebind(b.String()), args...); err != nil {
				return fmt.Errorf("store: save results of %s: %w", staffID, err)
			}
		}
		return nil
	})
}

// hookResultsChecked, when set by a test, runs inside SaveResults' transaction right after the
// month check: where a closing must not slip in.
var hookResultsChecked func()

// lockMonths writes the month_locks row of each month (in order), which CloseMonth writes too: a
// result write and a closing of one month are thereby ordered — by the row lock on one server,
// by certification (one of them fails with 1213 and runs again) on Galera, by the one writer on
// SQLite — so a result checked against an open month never commits after that month closed
// (the write skew two plain reads would allow).
func (s *Store) lockMonths(ctx context.Context, tx *sqlx.Tx, months []string) error {
	if len(months) == 0 {
		return nil
	}
	var b strings.Builder
	b.WriteString("INSERT INTO month_locks (month, writes) VALUES ")
	args := make([]any, len(months))
	for i, m := range months {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("(?,1)")
		args[i] = m
	}
	if s.dialect == "mysql" {
		b.WriteString(" ON DUPLICATE KEY UPDATE writes = writes + 1")
	} else {
		b.WriteString(" ON CONFLICT (month) DO UPDATE SET writes = writes + 1")
	}
	if _, err := tx.ExecContext(ctx, s.rebind(b.String()), args...); err != nil {
		return fmt.Errorf("store: order with the month closing: %w", err)
	}
	return nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func nextMonth(m string) string {
	t, err := time.Parse("2006-01", m)
	if err != nil {
		return "9999-99"
	}
	return t.AddDate(0, 1, 0).Format("2006-01")
}

const resultCols = "staff_id, day, segment, findings, late_minutes, early_minutes, off_post, leave_type, sign_in, sign_out, evidence, final, computed_at"

func scanResult(rows *sqlx.Rows) (SegmentResult, error) {
	var r SegmentResult
	var day, computed wallTime
	var final int
	err := rows.Scan(&r.StaffID, &day, &r.Segment, &r.Findings, &r.LateMinutes, &r.EarlyMinutes, &r.OffPost, &r.LeaveType,
		&r.SignIn, &r.SignOut, &r.Evidence, &final, &computed)
	r.Day, r.Final, r.ComputedAt = dayString(day.T), final != 0, computed.T
	r.Computed = r.Values
	return r, err
}

// Results returns the results of the days from..to (both included, dates) of staff member staffID
// ("" for everyone), ordered by staff, day and segment, each with its latest correction applied:
// Values are the correction's, Computed the engine's, Correction says who changed it, when and why.
func (s *Store) Results(ctx context.Context, from, to time.Time, staffID string) ([]SegmentResult, error) {
	q := "SELECT " + resultCols + " FROM segment_results WHERE day >= ? AND day <= ?"
	args := []any{dayString(from), dayString(to)}
	if staffID != "" {
		q += " AND staff_id = ?"
		args = append(args, staffID)
	}
	rows, err := s.r.QueryxContext(ctx, s.rebind(q+" ORDER BY staff_id, day, segment"), args...)
	if err != nil {
		return nil, fmt.Errorf("store: read results: %w", err)
	}
	var out []SegmentResult
	for rows.Next() {
		r, err := scanResult(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("store: read results: %w", err)
		}
		out = append(out, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	cs, err := s.Corrections(ctx, from, to, staffID)
	if err != nil {
		return nil, err
	}
	if len(cs) == 0 {
		return out, nil
	}
	latest := map[[3]string]*Correction{}
	for i := range cs {
		c := &cs[i]
		latest[[3]string{c.StaffID, c.Day, c.Segment}] = c // ordered by id: the last one wins
	}
	for i := range out {
		if c := latest[[3]string{out[i].StaffID, out[i].Day, out[i].Segment}]; c != nil {
			out[i].Values = c.Values
			out[i].Correction = c
		}
	}
	return out, nil
}

// Corrections lists the corrections of the days from..to, oldest first; staffID "" for everyone.
func (s *Store) Corrections(ctx context.Context, from, to time.Time, staffID string) ([]Correction, error) {
	q := "SELECT id, staff_id, day, segment, findings, late_minutes, early_minutes, off_post, leave_type, reason, actor, created_at FROM corrections WHERE day >= ? AND day <= ?"
	args := []any{dayString(from), dayString(to)}
	if staffID != "" {
		q += " AND staff_id = ?"
		args = append(args, staffID)
	}
	rows, err := s.r.QueryContext(ctx, s.rebind(q+" ORDER BY id"), args...)
	if err != nil {
		return nil, fmt.Errorf("store: read corrections: %w", err)
	}
	defer rows.Close()
	var out []Correction
	for rows.Next() {
		var c Correction
		var day, at wallTime
		if err := rows.Scan(&c.ID, &c.StaffID, &day, &c.Segment, &c.Findings, &c.LateMinutes, &c.EarlyMinutes, &c.OffPost, &c.LeaveType,
			&c.Reason, &c.Actor, &at); err != nil {
			return nil, fmt.Errorf("store: read corrections: %w", err)
		}
		c.Day, c.At = dayString(day.T), at.T
		out = append(out, c)
	}
	return out, rows.Err()
}

// ProvisionalSegment names a result not yet final.
type ProvisionalSegment struct {
	StaffID, Day, Segment string
}

// Provisional lists the provisional results of the days from..to (dates, both included).
func (s *Store) Provisional(ctx context.Context, from, to time.Time) ([]ProvisionalSegment, error) {
	rows, err := s.r.QueryContext(ctx, s.rebind("SELECT staff_id, day, segment FROM segment_results WHERE final = 0 AND day >= ? AND day <= ? ORDER BY day, staff_id, segment"),
		dayString(from), dayString(to))
	if err != nil {
		return nil, fmt.Errorf("store: provisional results: %w", err)
	}
	defer rows.Close()
	var out []ProvisionalSegment
	for rows.Next() {
		var p ProvisionalSegment
		var day wallTime
		if err := rows.Scan(&p.StaffID, &day, &p.Segment); err != nil {
			return nil, err
		}
		p.Day = dayString(day.T)
		out = append(out, p)
	}
	return out, rows.Err()
}

// ResultDays returns the (staff, day) pairs of the days from..to that have at least one result.
func (s *Store) ResultDays(ctx context.Context, from, to time.Time) (map[DirtyDay]bool, error) {
	rows, err := s.r.QueryContext(ctx, s.rebind("SELECT DISTINCT staff_id, day FROM segment_results WHERE day >= ? AND day <= ?"), dayString(from), dayString(to))
	if err != nil {
		return nil, fmt.Errorf("store: result days: %w", err)
	}
	defer rows.Close()
	out := map[DirtyDay]bool{}
	for rows.Next() {
		var d DirtyDay
		var day wallTime
		if err := rows.Scan(&d.StaffID, &day); err != nil {
			return nil, err
		}
		d.Day = dayString(day.T)
		out[d] = true
	}
	return out, rows.Err()
}

// --- dirty days ---
//
// Several daemons may share one MySQL database, so a dirty day is claimed before it is computed.
// A claim is a lease, not a delete: ClaimDirtyDays stamps the rows with the claim's token and an
// expiry, and FinishDirtyDays removes them once their results are written. A worker that dies
// mid-batch therefore loses nothing (its days are claimable again when the lease expires), which a
// delete-on-claim would not give without holding the transaction open across the computation.
//
// A day marked again while claimed must be computed again: the inputs read may predate the new
// punch. The claim therefore sets marked_at to claimedMark, a time no mark ever writes; the
// existing marking (InsertPunches, the Add* methods, Enroll) overwrites marked_at with the current
// time, so FinishDirtyDays deletes only rows still at claimedMark and hands the others back
// unclaimed. This needs no change to the marking statements and does not depend on clock
// resolution (two marks within one second would be indistinguishable by time).

const claimedMark = "1000-01-01 00:00:00"

// Claim is a batch of dirty days claimed by one worker.
type Claim struct {
	Token string
	Days  []DirtyDay
}

var claimSeq atomic.Uint64

var processTag = func() string {
	var b [4]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}()

// ClaimDirtyDays claims up to n dirty days that no live claim holds, oldest marks first, for the
// duration of lease. worker names the claimant (host and process, for operators).
func (s *Store) ClaimDirtyDays(ctx context.Context, worker string, n int, lease time.Duration) (Claim, error) {
	if len(worker) > 60 {
		worker = worker[:60]
	}
	c := Claim{Token: fmt.Sprintf("%s/%s/%d", worker, processTag, claimSeq.Add(1))}
	now := Wall(s.now(), s.loc)
	until := WallString(now.Add(lease))
	nowS := WallString(now)
	var opts *sql.TxOptions
	if s.dialect == "mysql" {
		// READ COMMITTED: the UPDATE locks only the rows it claims, not every row it scans, so
		// concurrent claimers and markers do not queue behind each other.
		opts = &sql.TxOptions{Isolation: sql.LevelReadCommitted}
	}
	tx, err := s.w.BeginTxx(ctx, opts)
	if err != nil {
		return c, fmt.Errorf("store: begin: %w", err)
	}
	defer tx.Rollback()
	var q string
	if s.dialect == "mysql" {
		q = "UPDATE dirty_days SET claimed_by = ?, claimed_until = ?, marked_at = ? WHERE claimed_by = '' OR claimed_until < ? ORDER BY marked_at LIMIT ?"
	} else {
		q = "UPDATE dirty_days SET claimed_by = ?, claimed_until = ?, marked_at = ? WHERE rowid IN (SELECT rowid FROM dirty_days WHERE claimed_by = '' OR claimed_until < ? ORDER BY marked_at LIMIT ?)"
	}
	if _, err := tx.ExecContext(ctx, s.rebind(q), c.Token, until, claimedMark, nowS, n); err != nil {
		return c, fmt.Errorf("store: claim dirty days: %w", err)
	}
	rows, err := tx.QueryContext(ctx, s.rebind("SELECT staff_id, day FROM dirty_days WHERE claimed_by = ? ORDER BY staff_id, day"), c.Token)
	if err != nil {
		return c, fmt.Errorf("store: claim dirty days: %w", err)
	}
	for rows.Next() {
		var d DirtyDay
		var day wallTime
		if err := rows.Scan(&d.StaffID, &day); err != nil {
			rows.Close()
			return c, err
		}
		d.Day = dayString(day.T)
		c.Days = append(c.Days, d)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return c, err
	}
	if err := tx.Commit(); err != nil {
		return c, fmt.Errorf("store: commit claim: %w", err)
	}
	return c, nil
}

// FinishDirtyDays ends claim c: the days of done not marked again since the claim are removed,
// those marked again are handed back for another computation, and the days of c not in done (they
// failed) stay claimed until the lease expires, so that a failing day is retried at the lease's
// pace rather than in a tight loop.
func (s *Store) FinishDirtyDays(ctx context.Context, c Claim, done []DirtyDay) error {
	if len(done) == 0 {
		return nil
	}
	return s.withTx(ctx, func(tx *sqlx.Tx) error {
		del := s.rebind("DELETE FROM dirty_days WHERE staff_id = ? AND day = ? AND claimed_by = ? AND marked_at = ?")
		back := s.rebind("UPDATE dirty_days SET claimed_by = '', claimed_until = '' WHERE staff_id = ? AND day = ? AND claimed_by = ?")
		for _, d := range done {
			if _, err := tx.ExecContext(ctx, del, d.StaffID, d.Day, c.Token, claimedMark); err != nil {
				return fmt.Errorf("store: finish dirty day %s %s: %w", d.StaffID, d.Day, err)
			}
			if _, err := tx.ExecContext(ctx, back, d.StaffID, d.Day, c.Token); err != nil {
				return fmt.Errorf("store: release dirty day %s %s: %w", d.StaffID, d.Day, err)
			}
		}
		return nil
	})
}

// DirtyDays lists the days waiting for recomputation (claimed or not), for tests and operators.
func (s *Store) DirtyDays(ctx context.Context) ([]DirtyDay, error) {
	rows, err := s.r.QueryContext(ctx, "SELECT staff_id, day FROM dirty_days ORDER BY staff_id, day")
	if err != nil {
		return nil, fmt.Errorf("store: dirty days: %w", err)
	}
	defer rows.Close()
	var out []DirtyDay
	for rows.Next() {
		var d DirtyDay
		var day wallTime
		if err := rows.Scan(&d.StaffID, &day); err != nil {
			return nil, err
		}
		d.Day = dayString(day.T)
		out = append(out, d)
	}
	return out, rows.Err()
}

// --- month closings and corrections ---

// MonthClosing says who closed a month and when.
type MonthClosing struct {
	Month    string // YYYY-MM
	ClosedBy string
	ClosedAt time.Time
}

func validMonth(m string) error {
	if _, err := time.Parse("2006-01", m); err != nil || len(m) != 7 {
		return fmt.Errorf("%w: month %q: want YYYY-MM", ErrBadInput, m)
	}
	return nil
}

// CloseMonth closes month (YYYY-MM) as actor: from then on its results change only by a
// correction. ErrAlreadyClosed when it was closed before.
func (s *Store) CloseMonth(ctx context.Context, month, actor string) error {
	if err := validMonth(month); err != nil {
		return err
	}
	if actor == "" {
		return fmt.Errorf("%w: closing a month needs an actor", ErrBadInput)
	}
	now := s.nowWall()
	return s.withTx(ctx, func(tx *sqlx.Tx) error {
		if err := s.lockMonths(ctx, tx, []string{month}); err != nil {
			return err
		}
		var n int
		if err := tx.GetContext(ctx, &n, s.rebind("SELECT COUNT(*) FROM month_closings WHERE month = ?"), month); err != nil {
			return fmt.Errorf("store: month closings: %w", err)
		}
		if n > 0 {
			return fmt.Errorf("%w: %s", ErrAlreadyClosed, month)
		}
		if _, err := tx.ExecContext(ctx, s.rebind("INSERT INTO month_closings (month, closed_by, closed_at) VALUES (?,?,?)"), month, actor, now); err != nil {
			return fmt.Errorf("store: close %s: %w", month, err)
		}
		return s.audit(ctx, tx, AuditEntry{At: now, Actor: actor, Action: "close", Entity: "month", EntityID: month, NewValue: "closed"})
	})
}

// GetMonthClosing returns the closing of month, or ErrNotFound while it is open.
func (s *Store) GetMonthClosing(ctx context.Context, month string) (MonthClosing, error) {
	var row struct {
		Month    string   `db:"month"`
		ClosedBy string   `db:"closed_by"`
		ClosedAt wallTime `db:"closed_at"`
	}
	if err := s.r.GetContext(ctx, &row, s.rebind("SELECT month, closed_by, closed_at FROM month_closings WHERE month = ?"), month); err != nil {
		return MonthClosing{}, notFound(err)
	}
	return MonthClosing{Month: row.Month, ClosedBy: row.ClosedBy, ClosedAt: row.ClosedAt.T}, nil
}

// IsClosed reports whether month (YYYY-MM) is closed.
func (s *Store) IsClosed(ctx context.Context, month string) (bool, error) {
	_, err := s.GetMonthClosing(ctx, month)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// ClosedMonths lists every closed month (YYYY-MM), in order.
func (s *Store) ClosedMonths(ctx context.Context) ([]string, error) {
	var out []string
	if err := s.r.SelectContext(ctx, &out, "SELECT month FROM month_closings ORDER BY month"); err != nil {
		return nil, fmt.Errorf("store: month closings: %w", err)
	}
	sort.Strings(out)
	return out, nil
}

// Correct records a correction of one segment of a closed month, audited with the values it
// replaces (the latest correction's, else the engine's) and the new ones. It fails with ErrMonthOpen
// in an open month and ErrNotFound when the segment has no result.
func (s *Store) Correct(ctx context.Context, c Correction) (int64, error) {
	if err := checkText("correction", 0, "staff_id", c.StaffID, "reason", c.Reason, "actor", c.Actor); err != nil {
		return 0, err
	}
	if !segmentOK(c.Segment) {
		return 0, fmt.Errorf("%w: segment %q: want am or pm", ErrBadInput, c.Segment)
	}
	if _, err := time.Parse("2006-01-02", c.Day); err != nil {
		return 0, fmt.Errorf("%w: day %q: want YYYY-MM-DD", ErrBadInput, c.Day)
	}
	now := s.nowWall()
	var id int64
	err := s.withTx(ctx, func(tx *sqlx.Tx) error {
		closed, err := closedIn(ctx, tx, s.rebind, []string{monthOf(c.Day)})
		if err != nil {
			return err
		}
		if !closed[monthOf(c.Day)] {
			return fmt.Errorf("%w (%s)", ErrMonthOpen, monthOf(c.Day))
		}
		var old Values
		err = tx.QueryRowxContext(ctx, s.rebind("SELECT findings, late_minutes, early_minutes, off_post, leave_type FROM segment_results WHERE staff_id = ? AND day = ? AND segment = ?"),
			c.StaffID, c.Day, c.Segment).Scan(&old.Findings, &old.LateMinutes, &old.EarlyMinutes, &old.OffPost, &old.LeaveType)
		if err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("store: no result for %s %s %s: %w", c.StaffID, c.Day, c.Segment, ErrNotFound)
			}
			return fmt.Errorf("store: read result: %w", err)
		}
		err = tx.QueryRowxContext(ctx, s.rebind("SELECT findings, late_minutes, early_minutes, off_post, leave_type FROM corrections WHERE staff_id = ? AND day = ? AND segment = ? ORDER BY id DESC LIMIT 1"),
			c.StaffID, c.Day, c.Segment).Scan(&old.Findings, &old.LateMinutes, &old.EarlyMinutes, &old.OffPost, &old.LeaveType)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("store: read corrections: %w", err)
		}
		id, err = insertID(ctx, tx, s.rebind(`INSERT INTO corrections (staff_id, day, segment, findings, late_minutes, early_minutes, off_post, leave_type, reason, actor, created_at)
			VALUES (?,?,?,?,?,?,?,?,?,?,?)`), c.StaffID, c.Day, c.Segment, c.Findings, c.LateMinutes, c.EarlyMinutes, c.OffPost, c.LeaveType, c.Reason, c.Actor, now)
		if err != nil {
			return fmt.Errorf("store: add correction: %w", err)
		}
		newV := struct {
			Values
			Reason string `json:"reason"`
		}{c.Values, c.Reason}
		return s.audit(ctx, tx, AuditEntry{At: now, Actor: c.Actor, Action: "correct", Entity: "segment_result",
			EntityID: c.StaffID + "/" + c.Day + "/" + c.Segment + "#" + strconv.FormatInt(id, 10),
			OldValue: jsonString(old), NewValue: jsonString(newV)})
	})
	return id, err
}

package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
)

// Requests filed by staff themselves (issue 17) and their approvals. Package workflow decides the
// route and every transition; the store keeps them and applies each transition in one
// transaction, fenced on the step the decision was made at, so that two approvers (or two
// daemons) acting on one request at once cannot both move it. The last approval writes the leave
// slip or failure report the request becomes, queues its days and queues the notices, all in
// that same transaction.

// ErrConflict is returned when a request changed between reading it and deciding on it.
var ErrConflict = errors.New("store: changed meanwhile")

// Request is a request as stored.
type Request struct {
	ID          int64
	Kind        string // leave, failure, makeup
	StaffID     string
	Window      string // the staff member's window and unit when filed (the route was computed for them)
	Unit        string
	WindowStaff int
	LeaveType   string
	Punch       string // the missed punch of a 补卡
	Start, End  time.Time
	FiledAt     time.Time
	Reason      string
	Substitute  string
	Steps       []string // the route
	Approved    []string // the steps approved so far
	NextStep    string   // "" once decided
	State       string
	// PhoneNoticeAt is when the supervision section took a phone notice (zero: none).
	PhoneNoticeAt time.Time
	PhoneNoticeBy string
	Verdict       []string // the rule book's reasons once decided
	SlipID        int64    // the leave slip written on the last approval
	FailureID     int64    // the failure report written on acceptance
	FiledBy       string
	DecidedAt     time.Time
	UpdatedAt     time.Time

	Decisions   []RequestDecision // by GetRequest only
	Attachments []Attachment      // by GetRequest only, without their data
}

// RequestDecision is one approver's answer.
type RequestDecision struct {
	Step    string
	Actor   string
	Approve bool
	Stamp   bool
	Comment string
	At      time.Time
}

// Attachment is a document attached to a request: in the database (Data) or in the configured
// directory (Path, relative to it).
type Attachment struct {
	ID          int64
	RequestID   int64
	Kind        string
	Filename    string
	ContentType string
	Size        int64
	SHA256      string
	Data        []byte
	Path        string
	CreatedAt   time.Time
}

func joinList(ss []string) string { return strings.Join(ss, ",") }

func splitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

func wallOrEmpty(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return WallString(t)
}

func parseWallOrZero(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	t, _ := time.Parse(WallLayout, s)
	return t
}

// FileRequest stores a new request with its attachments and the notices it causes (notices, given
// the new request's id, returns them; nil for none), audited as actor, in one transaction. The request's window, unit and staffing are the caller's (the route
// was computed for them).
func (s *Store) FileRequest(ctx context.Context, q Request, atts []Attachment, notices func(id int64) ([]Notice, error), actor string) (int64, error) {
	if err := checkText("request", 0, "kind", q.Kind, "staff_id", q.StaffID, "state", q.State); err != nil {
		return 0, err
	}
	if err := checkRange("request", 0, q.Start, q.End); err != nil {
		return 0, err
	}
	if q.FiledAt.IsZero() {
		return 0, fmt.Errorf("%w: request: filed_at is missing", ErrBadInput)
	}
	now := s.nowWall()
	var id int64
	err := s.withTx(ctx, func(tx *sqlx.Tx) error {
		if err := s.knownStaff(ctx, tx, []string{q.StaffID}); err != nil {
			return err
		}
		var err error
		id, err = insertID(ctx, tx, s.rebind(`INSERT INTO requests (kind, staff_id, window_name, unit_name, window_staff, leave_type, punch,
			start_at, end_at, filed_at, reason, substitute, steps, approved, next_step, state, phone_notice_at, phone_notice_by, verdict,
			filed_by, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,'',?,?,?,?,?,?,?)`),
			q.Kind, q.StaffID, q.Window, q.Unit, q.WindowStaff, q.LeaveType, q.Punch, WallString(q.Start), WallString(q.End),
			WallString(q.FiledAt), q.Reason, q.Substitute, joinList(q.Steps), q.NextStep, q.State, wallOrEmpty(q.PhoneNoticeAt),
			q.PhoneNoticeBy, strings.Join(q.Verdict, "\n"), actor, now)
		if err != nil {
			return fmt.Errorf("store: file request of %s: %w", q.StaffID, err)
		}
		for _, a := range atts {
			if _, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO request_attachments (request_id, kind, filename, content_type, size, sha256, data, path, created_at)
				VALUES (?,?,?,?,?,?,?,?,?)`), id, a.Kind, a.Filename, a.ContentType, a.Size, a.SHA256, a.Data, a.Path, now); err != nil {
				return fmt.Errorf("store: attachment %s of request %d: %w", a.Filename, id, err)
			}
		}
		if err := s.audit(ctx, tx, AuditEntry{At: now, Actor: actor, Action: "file", Entity: "request", EntityID: strconv.FormatInt(id, 10),
			NewValue: jsonString(map[string]any{"kind": q.Kind, "staff_id": q.StaffID, "type": q.LeaveType, "punch": q.Punch,
				"start": WallString(q.Start), "end": WallString(q.End), "filed_at": WallString(q.FiledAt), "steps": q.Steps,
				"state": q.State, "attachments": len(atts)})}); err != nil {
			return err
		}
		if notices == nil {
			return nil
		}
		ns, err := notices(id)
		if err != nil {
			return err
		}
		return s.queueNotices(ctx, tx, ns, now)
	})
	return id, err
}

const requestCols = `id, kind, staff_id, window_name, unit_name, window_staff, leave_type, punch, start_at, end_at, filed_at, reason,
	substitute, steps, approved, next_step, state, phone_notice_at, phone_notice_by, verdict, slip_id, failure_id, filed_by, decided_at, updated_at`

func scanRequests(rows *sqlx.Rows) ([]Request, error) {
	defer rows.Close()
	var out []Request
	for rows.Next() {
		var q Request
		var st, en, fi, up wallTime
		var steps, approved, verdict, pn, dec string
		if err := rows.Scan(&q.ID, &q.Kind, &q.StaffID, &q.Window, &q.Unit, &q.WindowStaff, &q.LeaveType, &q.Punch, &st, &en, &fi,
			&q.Reason, &q.Substitute, &steps, &approved, &q.NextStep, &q.State, &pn, &q.PhoneNoticeBy, &verdict, &q.SlipID,
			&q.FailureID, &q.FiledBy, &dec, &up); err != nil {
			return nil, fmt.Errorf("store: read requests: %w", err)
		}
		q.Start, q.End, q.FiledAt, q.UpdatedAt = st.T, en.T, fi.T, up.T
		q.Steps, q.Approved = splitList(steps), splitList(approved)
		if verdict != "" {
			q.Verdict = strings.Split(verdict, "\n")
		}
		q.PhoneNoticeAt, q.DecidedAt = parseWallOrZero(pn), parseWallOrZero(dec)
		out = append(out, q)
	}
	return out, rows.Err()
}

// RequestFilter selects requests; empty fields select everything.
type RequestFilter struct {
	StaffID  string
	State    string
	NextStep string
	Window   string
	Unit     string
	Limit    int // 0: 500
}

// ListRequests lists requests matching f, newest first.
func (s *Store) ListRequests(ctx context.Context, f RequestFilter) ([]Request, error) {
	var where []string
	var args []any
	for _, c := range []struct{ col, v string }{{"staff_id", f.StaffID}, {"state", f.State}, {"next_step", f.NextStep},
		{"window_name", f.Window}, {"unit_name", f.Unit}} {
		if c.v != "" {
			where = append(where, c.col+" = ?")
			args = append(args, c.v)
		}
	}
	q := "SELECT " + requestCols + " FROM requests"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	if f.Limit <= 0 {
		f.Limit = 500
	}
	q += " ORDER BY id DESC LIMIT " + strconv.Itoa(f.Limit)
	rows, err := s.r.QueryxContext(ctx, s.rebind(q), args...)
	if err != nil {
		return nil, fmt.Errorf("store: read requests: %w", err)
	}
	return scanRequests(rows)
}

// GetRequest returns a request with its decisions and its attachments' descriptions, or
// ErrNotFound.
func (s *Store) GetRequest(ctx context.Context, id int64) (Request, error) {
	rows, err := s.r.QueryxContext(ctx, s.rebind("SELECT "+requestCols+" FROM requests WHERE id = ?"), id)
	if err != nil {
		return Request{}, fmt.Errorf("store: read request %d: %w", id, err)
	}
	qs, err := scanRequests(rows)
	if err != nil {
		return Request{}, err
	}
	if len(qs) == 0 {
		return Request{}, fmt.Errorf("request %d: %w", id, ErrNotFound)
	}
	q := qs[0]
	drows, err := s.r.QueryxContext(ctx, s.rebind("SELECT step, actor, approve, stamp, comment, at FROM request_decisions WHERE request_id = ? ORDER BY id"), id)
	if err != nil {
		return q, fmt.Errorf("store: read decisions of request %d: %w", id, err)
	}
	defer drows.Close()
	for drows.Next() {
		var d RequestDecision
		var at wallTime
		if err := drows.Scan(&d.Step, &d.Actor, &d.Approve, &d.Stamp, &d.Comment, &at); err != nil {
			return q, fmt.Errorf("store: read decisions of request %d: %w", id, err)
		}
		d.At = at.T
		q.Decisions = append(q.Decisions, d)
	}
	if err := drows.Err(); err != nil {
		return q, err
	}
	arows, err := s.r.QueryxContext(ctx, s.rebind("SELECT id, request_id, kind, filename, content_type, size, sha256, path, created_at FROM request_attachments WHERE request_id = ? ORDER BY id"), id)
	if err != nil {
		return q, fmt.Errorf("store: read attachments of request %d: %w", id, err)
	}
	defer arows.Close()
	for arows.Next() {
		var a Attachment
		var cr wallTime
		if err := arows.Scan(&a.ID, &a.RequestID, &a.Kind, &a.Filename, &a.ContentType, &a.Size, &a.SHA256, &a.Path, &cr); err != nil {
			return q, fmt.Errorf("store: read attachments of request %d: %w", id, err)
		}
		a.CreatedAt = cr.T
		q.Attachments = append(q.Attachments, a)
	}
	return q, arows.Err()
}

// GetAttachment returns one attachment with its data (empty when kept in a directory).
func (s *Store) GetAttachment(ctx context.Context, id int64) (Attachment, error) {
	var a Attachment
	var cr wallTime
	var data []byte
	err := s.r.QueryRowxContext(ctx, s.rebind("SELECT id, request_id, kind, filename, content_type, size, sha256, data, path, created_at FROM request_attachments WHERE id = ?"), id).
		Scan(&a.ID, &a.RequestID, &a.Kind, &a.Filename, &a.ContentType, &a.Size, &a.SHA256, &data, &a.Path, &cr)
	if errors.Is(err, sql.ErrNoRows) {
		return a, fmt.Errorf("attachment %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return a, fmt.Errorf("store: read attachment %d: %w", id, err)
	}
	a.Data, a.CreatedAt = data, cr.T
	return a, nil
}

// Transition is one decision on a request and everything it causes, computed by package
// workflow and applied by DecideRequest in one transaction.
type Transition struct {
	RequestID int64
	// At is the step the decision was made at: the transition applies only while the request is
	// still pending there (else ErrConflict).
	At       string
	Decision RequestDecision
	// The request's new place.
	State    string
	NextStep string
	Approved []string
	Verdict  []string
	// Slip or Failure is what the request becomes on its last approval (nil otherwise).
	Slip    *LeaveSlip
	Failure *FailureReport
	Notices []Notice
}

// DecideRequest applies t. ErrConflict when the request is no longer pending at t.At (someone
// decided first); ErrNotFound when there is no such request.
func (s *Store) DecideRequest(ctx context.Context, t Transition) error {
	now := s.nowWall()
	return s.withTx(ctx, func(tx *sqlx.Tx) error {
		var staffID string
		if err := tx.GetContext(ctx, &staffID, s.rebind("SELECT staff_id FROM requests WHERE id = ?"), t.RequestID); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("request %d: %w", t.RequestID, ErrNotFound)
			}
			return fmt.Errorf("store: read request %d: %w", t.RequestID, err)
		}
		decided := ""
		if t.State != "pending" {
			decided = now
		}
		res, err := tx.ExecContext(ctx, s.rebind(`UPDATE requests SET state = ?, next_step = ?, approved = ?, verdict = ?, decided_at = ?, updated_at = ?
			WHERE id = ? AND state = 'pending' AND next_step = ?`), t.State, t.NextStep, joinList(t.Approved), strings.Join(t.Verdict, "\n"),
			decided, now, t.RequestID, t.At)
		if err != nil {
			return fmt.Errorf("store: decide request %d: %w", t.RequestID, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("request %d is no longer waiting at %s: %w", t.RequestID, t.At, ErrConflict)
		}
		d := t.Decision
		if _, err := tx.ExecContext(ctx, s.rebind("INSERT INTO request_decisions (request_id, step, actor, approve, stamp, comment, at) VALUES (?,?,?,?,?,?,?)"),
			t.RequestID, d.Step, d.Actor, d.Approve, d.Stamp, d.Comment, now); err != nil {
			return fmt.Errorf("store: record decision on request %d: %w", t.RequestID, err)
		}
		if err := s.audit(ctx, tx, AuditEntry{At: now, Actor: d.Actor, Action: map[bool]string{true: "approve", false: "reject"}[d.Approve],
			Entity: "request", EntityID: strconv.FormatInt(t.RequestID, 10), NewValue: jsonString(map[string]any{"step": d.Step,
				"stamp": d.Stamp, "comment": d.Comment, "state": t.State, "next": t.NextStep})}); err != nil {
			return err
		}
		if t.Slip != nil {
			if t.Slip.StaffID != staffID {
				return fmt.Errorf("%w: the slip of request %d names %s, not %s", ErrBadInput, t.RequestID, t.Slip.StaffID, staffID)
			}
			sl := *t.Slip
			sl.RecordedBy = recordedBy(sl.RecordedBy, d.Actor)
			id, err := insertID(ctx, tx, s.rebind("INSERT INTO leave_slips (staff_id, type, start_at, end_at, filed_at, approvals, note, recorded_by, created_at) VALUES (?,?,?,?,?,?,?,?,?)"),
				sl.StaffID, sl.Type, WallString(sl.Start), WallString(sl.End), WallString(sl.FiledAt), sl.Approvals, sl.Note, sl.RecordedBy, now)
			if err != nil {
				return fmt.Errorf("store: the slip of request %d: %w", t.RequestID, err)
			}
			sl.ID = id
			if err := s.audit(ctx, tx, AuditEntry{At: now, Actor: d.Actor, Action: "add", Entity: "leave_slip",
				EntityID: strconv.FormatInt(id, 10), NewValue: jsonString(slipJSON(sl))}); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, s.rebind("UPDATE requests SET slip_id = ? WHERE id = ?"), id, t.RequestID); err != nil {
				return fmt.Errorf("store: link slip of request %d: %w", t.RequestID, err)
			}
			if err := s.markDays(ctx, tx, staffDays([]string{sl.StaffID}, sl.Start, sl.End), now); err != nil {
				return err
			}
		}
		if t.Failure != nil {
			f := *t.Failure
			if f.StaffID != staffID {
				return fmt.Errorf("%w: the failure report of request %d names %s, not %s", ErrBadInput, t.RequestID, f.StaffID, staffID)
			}
			f.RecordedBy = recordedBy(f.RecordedBy, d.Actor)
			id, err := insertID(ctx, tx, s.rebind("INSERT INTO failure_reports (staff_id, clock, from_at, to_at, reported_at, note, recorded_by, created_at) VALUES (?,?,?,?,?,?,?,?)"),
				f.StaffID, f.Clock, WallString(f.From), WallString(f.To), WallString(f.ReportedAt), f.Note, f.RecordedBy, now)
			if err != nil {
				return fmt.Errorf("store: the failure report of request %d: %w", t.RequestID, err)
			}
			if err := s.audit(ctx, tx, AuditEntry{At: now, Actor: d.Actor, Action: "add", Entity: "failure_report", EntityID: strconv.FormatInt(id, 10),
				NewValue: jsonString(map[string]any{"staff_id": f.StaffID, "from": WallString(f.From), "to": WallString(f.To),
					"reported_at": WallString(f.ReportedAt), "note": f.Note, "recorded_by": f.RecordedBy, "request": t.RequestID})}); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, s.rebind("UPDATE requests SET failure_id = ? WHERE id = ?"), id, t.RequestID); err != nil {
				return fmt.Errorf("store: link failure report of request %d: %w", t.RequestID, err)
			}
			if err := s.markDays(ctx, tx, staffDays([]string{f.StaffID}, f.From, f.To), now); err != nil {
				return err
			}
		}
		return s.queueNotices(ctx, tx, t.Notices, now)
	})
}

// RecordPhoneNotice records that the supervision section took the staff member's phone notice at
// at (R14), on a request still pending; audited as actor.
func (s *Store) RecordPhoneNotice(ctx context.Context, id int64, at time.Time, actor string) error {
	if at.IsZero() {
		return fmt.Errorf("%w: a phone notice needs its time", ErrBadInput)
	}
	now := s.nowWall()
	return s.withTx(ctx, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, s.rebind("UPDATE requests SET phone_notice_at = ?, phone_notice_by = ?, updated_at = ? WHERE id = ? AND state = 'pending'"),
			WallString(at), actor, now, id)
		if err != nil {
			return fmt.Errorf("store: phone notice of request %d: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("request %d is not pending: %w", id, ErrConflict)
		}
		return s.audit(ctx, tx, AuditEntry{At: now, Actor: actor, Action: "phone_notice", Entity: "request",
			EntityID: strconv.FormatInt(id, 10), NewValue: WallString(at)})
	})
}

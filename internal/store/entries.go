package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
)

// Entity names of the entries, as the audit log names them.
const (
	EntityLeaveSlip     = "leave_slip"
	EntityPatrol        = "patrol"
	EntityFailureReport = "failure_report"
	EntityManualSignIn  = "manual_signin"
)

// WithdrawEntry withdraws an entry of entity (one of the Entity names) entered by mistake: it is
// kept, with when it was withdrawn, but counts for nothing from then on; the audit log has the
// entry as it was and the reason; the days it touched are recomputed (a closed month keeps its
// results: only a correction changes those). ErrNotFound for no such entry, ErrBadInput for an
// empty reason or an entry withdrawn already.
func (s *Store) WithdrawEntry(ctx context.Context, entity string, id int64, reason, actor string) error {
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return fmt.Errorf("%w: withdrawing an entry needs its reason", ErrBadInput)
	}
	if len(reason) > 2000 {
		return fmt.Errorf("%w: the reason is longer than 2000 bytes", ErrBadInput)
	}
	var table, cols string
	switch entity {
	case EntityLeaveSlip:
		_, err := s.CancelLeaveSlip(ctx, id, reason, actor)
		return err
	case EntityPatrol:
		table, cols = "patrols", "staff_id, '' AS clock, from_at, to_at, observation AS detail, note"
	case EntityFailureReport:
		table, cols = "failure_reports", "staff_id, clock, from_at, to_at, reported_at AS detail, note"
	case EntityManualSignIn:
		table, cols = "manual_signins", "staff_id, '' AS clock, at AS from_at, at AS to_at, recorded_by AS detail, reason AS note"
	default:
		return fmt.Errorf("%w: no entries of kind %q", ErrBadInput, entity)
	}
	now := s.nowWall()
	return s.withTx(ctx, func(tx *sqlx.Tx) error {
		var row struct {
			StaffID     string   `db:"staff_id"`
			Clock       string   `db:"clock"`
			From        wallTime `db:"from_at"`
			To          wallTime `db:"to_at"`
			Detail      string   `db:"detail"`
			Note        string   `db:"note"`
			CancelledAt wallTime `db:"cancelled_at"`
		}
		err := tx.GetContext(ctx, &row, s.rebind("SELECT "+cols+", cancelled_at FROM "+table+" WHERE id = ?"), id)
		if err != nil {
			return notFound(err)
		}
		if row.CancelledAt.Valid {
			return fmt.Errorf("%w: %s %d was already withdrawn at %s", ErrBadInput, entity, id, WallString(row.CancelledAt.T))
		}
		if _, err := tx.ExecContext(ctx, s.rebind("UPDATE "+table+" SET cancelled_at = ? WHERE id = ?"), now, id); err != nil {
			return fmt.Errorf("store: withdraw %s %d: %w", entity, id, err)
		}
		old := map[string]any{"id": id, "staff_id": row.StaffID, "from": WallString(row.From.T), "to": WallString(row.To.T), "note": row.Note}
		if row.Clock != "" {
			old["clock"] = row.Clock
		}
		if err := s.audit(ctx, tx, AuditEntry{At: now, Actor: actor, Action: "cancel", Entity: entity, EntityID: strconv.FormatInt(id, 10),
			OldValue: jsonString(old), NewValue: jsonString(map[string]any{"cancelled_at": now, "reason": reason})}); err != nil {
			return err
		}
		staff := []string{row.StaffID}
		if row.StaffID == Everyone {
			if row.Clock == "" {
				err = tx.SelectContext(ctx, &staff, "SELECT staff_id FROM staff WHERE active = 1")
			} else {
				err = tx.SelectContext(ctx, &staff, s.rebind("SELECT DISTINCT e.staff_id FROM enrollments e JOIN staff s ON s.staff_id = e.staff_id WHERE e.clock = ? AND s.active = 1"), row.Clock)
			}
			if err != nil {
				return fmt.Errorf("store: staff of %s %d: %w", entity, id, err)
			}
		}
		return s.markDays(ctx, tx, staffDays(staff, row.From.T, row.To.T), now)
	})
}

// EntryFilter narrows a list of entries: entered (or, for slips, starting) from From to To, for
// one staff member or a set of them ("" and nil: everyone).
type EntryFilter struct {
	From, To time.Time // wall clock; the entries overlapping [From, To)
	StaffID  string
	Limit    int // at most; 0: 500
}

func (f EntryFilter) limit() int {
	if f.Limit <= 0 || f.Limit > 5000 {
		return 500
	}
	return f.Limit
}

// ListLeaveSlips lists the slips overlapping the filter's range, newest first, cancelled ones too.
func (s *Store) ListLeaveSlips(ctx context.Context, f EntryFilter) ([]LeaveSlip, error) {
	where, args := "start_at < ? AND end_at >= ?", []any{WallString(f.To), WallString(f.From)}
	if f.StaffID != "" {
		where, args = where+" AND staff_id = ?", append(args, f.StaffID)
	}
	out, err := s.querySlips(ctx, where, args...)
	return newestFirst(out, f.limit()), err
}

// ListPatrols lists the patrol records overlapping the filter's range, newest first.
func (s *Store) ListPatrols(ctx context.Context, f EntryFilter) ([]PatrolRecord, error) {
	where, args := "from_at < ? AND to_at >= ?", []any{WallString(f.To), WallString(f.From)}
	if f.StaffID != "" {
		where, args = where+" AND staff_id = ?", append(args, f.StaffID)
	}
	out, err := s.queryPatrols(ctx, where, args...)
	return newestFirst(out, f.limit()), err
}

// ListFailureReports lists the failure reports overlapping the filter's range, newest first;
// with a staff id, those naming them or everyone.
func (s *Store) ListFailureReports(ctx context.Context, f EntryFilter) ([]FailureReport, error) {
	where, args := "from_at < ? AND to_at >= ?", []any{WallString(f.To), WallString(f.From)}
	if f.StaffID != "" {
		where, args = where+" AND staff_id IN (?, ?)", append(args, f.StaffID, Everyone)
	}
	out, err := s.queryFailures(ctx, where, args...)
	return newestFirst(out, f.limit()), err
}

// ListManualSignIns lists the manual sign-ins in the filter's range, newest first.
func (s *Store) ListManualSignIns(ctx context.Context, f EntryFilter) ([]ManualSignIn, error) {
	out, err := s.ManualSignIns(ctx, f.StaffID, f.From, f.To)
	return newestFirst(out, f.limit()), err
}

// newestFirst reverses rows ordered oldest first and keeps the newest n.
func newestFirst[T any](rows []T, n int) []T {
	for i, j := 0, len(rows)-1; i < j; i, j = i+1, j-1 {
		rows[i], rows[j] = rows[j], rows[i]
	}
	if len(rows) > n {
		rows = rows[:n]
	}
	return rows
}

// GetLeaveSlip returns one slip, cancelled or not; ErrNotFound when there is none.
func (s *Store) GetLeaveSlip(ctx context.Context, id int64) (LeaveSlip, error) {
	out, err := s.querySlips(ctx, "id = ?", id)
	if err != nil {
		return LeaveSlip{}, err
	}
	if len(out) == 0 {
		return LeaveSlip{}, fmt.Errorf("store: leave slip %d: %w", id, ErrNotFound)
	}
	return out[0], nil
}

// EntryStaff returns the staff id an entry of entity is about ("*" for a failure report of
// everyone); ErrNotFound when there is no such entry.
func (s *Store) EntryStaff(ctx context.Context, entity string, id int64) (string, error) {
	table := map[string]string{EntityLeaveSlip: "leave_slips", EntityPatrol: "patrols", EntityFailureReport: "failure_reports",
		EntityManualSignIn: "manual_signins"}[entity]
	if table == "" {
		return "", fmt.Errorf("%w: no entries of kind %q", ErrBadInput, entity)
	}
	var staff string
	err := s.r.GetContext(ctx, &staff, s.rebind("SELECT staff_id FROM "+table+" WHERE id = ?"), id)
	return staff, notFound(err)
}

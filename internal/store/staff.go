package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
)

func notFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	return err
}

// Staff is one staff member.
type Staff struct {
	StaffID string `db:"staff_id" json:"staff_id"`
	Name    string `db:"name" json:"name"`
	Window  string `db:"window_name" json:"window"`
	Unit    string `db:"unit_name" json:"unit"`
	Active  bool   `db:"active" json:"active"`
	// StartDate and EndDate ("YYYY-MM-DD", "" = open) bound the days results are computed for.
	StartDate string `db:"start_date" json:"start_date,omitempty"`
	EndDate   string `db:"end_date" json:"end_date,omitempty"`
}

// Employed reports whether day ("YYYY-MM-DD") is within the staff member's start and end dates.
func (st Staff) Employed(day string) bool {
	return (st.StartDate == "" || day >= st.StartDate) && (st.EndDate == "" || day <= st.EndDate)
}

// Enrollment maps a clock's user id to a staff member.
type Enrollment struct {
	Clock   string `db:"clock" json:"clock"`
	UserID  string `db:"clock_user_id" json:"clock_user_id"`
	StaffID string `db:"staff_id" json:"staff_id"`
}

// RosterEntry is one row of a roster import.
type RosterEntry struct {
	Staff
	// Enrollments are the staff member's clock user ids; nil leaves existing ones as they are.
	Enrollments []Enrollment
}

// ImportResult says what a roster import changed.
type ImportResult struct {
	Added, Updated, Unchanged, Deactivated int
}

// ImportStaff applies a whole roster in one transaction: new staff are added, names, windows and
// units updated, and staff missing from the roster become inactive (never deleted: their history
// keeps them). Windows and units named are created. Entries with enrollments replace that staff
// member's enrollments. The import is written to the audit log as actor.
func (s *Store) ImportStaff(ctx context.Context, roster []RosterEntry, actor string) (ImportResult, error) {
	var res ImportResult
	now := s.nowWall()
	err := s.withTx(ctx, func(tx *sqlx.Tx) error {
		res = ImportResult{}
		existing := map[string]Staff{}
		var cur []Staff
		if err := tx.SelectContext(ctx, &cur, staffSelect); err != nil {
			return fmt.Errorf("store: read staff: %w", err)
		}
		for _, st := range cur {
			existing[st.StaffID] = st
		}
		units, windows := map[string]int64{}, map[string]int64{}
		seen := map[string]bool{}
		changed := map[string]bool{} // windows whose staffing changed
		for _, e := range roster {
			seen[e.StaffID] = true
			uid, err := s.upsertName(ctx, tx, "units", e.Unit, units, nil)
			if err != nil {
				return err
			}
			wid, err := s.upsertName(ctx, tx, "windows", e.Window, windows, &uid)
			if err != nil {
				return err
			}
			old, had := existing[e.StaffID]
			if !had || old.Window != e.Window || !old.Active || old.StartDate != e.StartDate || old.EndDate != e.EndDate {
				// The staffing of these windows changed: it decides R15 or R16 for everyone there.
				changed[e.Window] = true
				if had {
					changed[old.Window] = true
				}
			}
			switch {
			case !had:
				_, err = tx.ExecContext(ctx, s.rebind("INSERT INTO staff (staff_id, name, window_id, unit_id, active, updated_at, start_date, end_date) VALUES (?,?,?,?,1,?,?,?)"),
					e.StaffID, e.Name, wid, uid, now, e.StartDate, e.EndDate)
				res.Added++
			case old.Name != e.Name || old.Window != e.Window || old.Unit != e.Unit || !old.Active ||
				old.StartDate != e.StartDate || old.EndDate != e.EndDate:
				_, err = tx.ExecContext(ctx, s.rebind("UPDATE staff SET name=?, window_id=?, unit_id=?, active=1, updated_at=?, start_date=?, end_date=? WHERE staff_id=?"),
					e.Name, wid, uid, now, e.StartDate, e.EndDate, e.StaffID)
				res.Updated++
			default:
				res.Unchanged++
			}
			if err != nil {
				return fmt.Errorf("store: write staff %s: %w", e.StaffID, err)
			}
			if e.Enrollments != nil {
				if _, err := tx.ExecContext(ctx, s.rebind("DELETE FROM enrollments WHERE staff_id = ?"), e.StaffID); err != nil {
					return fmt.Errorf("store: enrollments of %s: %w", e.StaffID, err)
				}
				for _, en := range e.Enrollments {
					if err := s.enroll(ctx, tx, Enrollment{Clock: en.Clock, UserID: en.UserID, StaffID: e.StaffID}); err != nil {
						return err
					}
				}
			}
		}
		var gone []string
		for id, st := range existing {
			if !seen[id] && st.Active {
				gone = append(gone, id)
			}
		}
		sort.Strings(gone)
		// Someone missing from the roster has left: without an end date of their own, their last
		// day is the day before this import, so no later day is computed (as ABSENT) for them.
		lastDay := dayString(Wall(s.now(), s.loc).AddDate(0, 0, -1))
		for _, id := range gone {
			changed[existing[id].Window] = true
			if _, err := tx.ExecContext(ctx, s.rebind("UPDATE staff SET active=0, updated_at=?, end_date = CASE WHEN end_date = '' THEN ? ELSE end_date END WHERE staff_id=?"), now, lastDay, id); err != nil {
				return fmt.Errorf("store: deactivate %s: %w", id, err)
			}
			res.Deactivated++
		}
		if err := s.markStaffingChanged(ctx, tx, changed, now); err != nil {
			return err
		}
		summary, _ := json.Marshal(map[string]any{"rows": len(roster), "added": res.Added, "updated": res.Updated,
			"unchanged": res.Unchanged, "deactivated": gone})
		return s.audit(ctx, tx, AuditEntry{Actor: actor, Action: "import", Entity: "staff", EntityID: "roster", NewValue: string(summary)})
	})
	return res, err
}

func (s *Store) enroll(ctx context.Context, tx *sqlx.Tx, e Enrollment) error {
	q := "INSERT INTO enrollments (clock, clock_user_id, staff_id) VALUES (?,?,?)"
	if s.dialect == "mysql" {
		q += " ON DUPLICATE KEY UPDATE staff_id = VALUES(staff_id)"
	} else {
		q += " ON CONFLICT (clock, clock_user_id) DO UPDATE SET staff_id = excluded.staff_id"
	}
	if _, err := tx.ExecContext(ctx, s.rebind(q), e.Clock, e.UserID, e.StaffID); err != nil {
		return fmt.Errorf("store: enroll %s:%s: %w", e.Clock, e.UserID, err)
	}
	return nil
}

// Enroll maps a clock user id to a staff member (moving it from anyone else), marks the staff
// member's days that have punches from that id for recomputation, and audits it.
func (s *Store) Enroll(ctx context.Context, e Enrollment, actor string) error {
	return s.withTx(ctx, func(tx *sqlx.Tx) error {
		var n int
		if err := tx.GetContext(ctx, &n, s.rebind("SELECT COUNT(*) FROM staff WHERE staff_id = ?"), e.StaffID); err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("store: staff %q: %w", e.StaffID, ErrNotFound)
		}
		if err := s.enroll(ctx, tx, e); err != nil {
			return err
		}
		var days []string
		if err := tx.SelectContext(ctx, &days, s.rebind("SELECT DISTINCT SUBSTR(punched_at, 1, 10) FROM punches WHERE clock = ? AND clock_user_id = ?"), e.Clock, e.UserID); err != nil {
			return fmt.Errorf("store: days of %s:%s: %w", e.Clock, e.UserID, err)
		}
		dd := make([]DirtyDay, len(days))
		for i, d := range days {
			dd[i] = DirtyDay{StaffID: e.StaffID, Day: d}
		}
		if err := s.markDays(ctx, tx, dd, s.nowWall()); err != nil {
			return err
		}
		return s.audit(ctx, tx, AuditEntry{Actor: actor, Action: "enroll", Entity: "enrollment", EntityID: e.Clock + ":" + e.UserID, NewValue: e.StaffID})
	})
}

// upsertName returns the id of the row of table named name, creating it (with unit_id for windows)
// when absent. cache avoids asking twice within one import.
func (s *Store) upsertName(ctx context.Context, tx *sqlx.Tx, table, name string, cache map[string]int64, unitID *int64) (int64, error) {
	if id, ok := cache[name]; ok {
		return id, nil
	}
	var id int64
	err := tx.GetContext(ctx, &id, s.rebind("SELECT id FROM "+table+" WHERE name = ?"), name)
	switch {
	case err == nil:
		if unitID != nil {
			if _, err := tx.ExecContext(ctx, s.rebind("UPDATE windows SET unit_id = ? WHERE id = ?"), *unitID, id); err != nil {
				return 0, err
			}
		}
	case errors.Is(err, sql.ErrNoRows):
		var r sql.Result
		if unitID != nil {
			r, err = tx.ExecContext(ctx, s.rebind("INSERT INTO windows (name, unit_id) VALUES (?, ?)"), name, *unitID)
		} else {
			r, err = tx.ExecContext(ctx, s.rebind("INSERT INTO "+table+" (name) VALUES (?)"), name)
		}
		if err != nil {
			return 0, fmt.Errorf("store: create %s %q: %w", strings.TrimSuffix(table, "s"), name, err)
		}
		if id, err = r.LastInsertId(); err != nil {
			return 0, err
		}
	default:
		return 0, fmt.Errorf("store: look up %s %q: %w", table, name, err)
	}
	cache[name] = id
	return id, nil
}

const staffSelect = `SELECT s.staff_id, s.name, w.name AS window_name, u.name AS unit_name, s.active, s.start_date, s.end_date
	FROM staff s JOIN windows w ON w.id = s.window_id JOIN units u ON u.id = s.unit_id`

// ListStaff returns every staff member, active or not, ordered by staff id.
func (s *Store) ListStaff(ctx context.Context) ([]Staff, error) {
	var out []Staff
	if err := s.r.SelectContext(ctx, &out, staffSelect+" ORDER BY s.staff_id"); err != nil {
		return nil, fmt.Errorf("store: list staff: %w", err)
	}
	return out, nil
}

// GetStaff returns one staff member or ErrNotFound.
func (s *Store) GetStaff(ctx context.Context, id string) (Staff, error) {
	var st Staff
	err := s.r.GetContext(ctx, &st, s.rebind(staffSelect+" WHERE s.staff_id = ?"), id)
	return st, notFound(err)
}

// Enrollments returns every enrollment, ordered by clock and user id.
func (s *Store) Enrollments(ctx context.Context) ([]Enrollment, error) {
	var out []Enrollment
	if err := s.r.SelectContext(ctx, &out, "SELECT clock, clock_user_id, staff_id FROM enrollments ORDER BY clock, clock_user_id"); err != nil {
		return nil, fmt.Errorf("store: enrollments: %w", err)
	}
	return out, nil
}

// Clock is a configured clock as registered in the database.
type Clock struct {
	Name         string `db:"name"`
	Protocol     string `db:"protocol"`
	SerialNumber string `db:"serial_number"`
}

// SyncClocks registers the configured clocks (new ones added, protocol and serial number updated).
// Clocks removed from the config stay registered: their punches keep their history.
func (s *Store) SyncClocks(ctx context.Context, clocks []Clock) error {
	now := s.nowWall()
	return s.withTx(ctx, func(tx *sqlx.Tx) error {
		for _, c := range clocks {
			q := "INSERT INTO clocks (name, protocol, serial_number, added_at) VALUES (?,?,?,?)"
			if s.dialect == "mysql" {
				q += " ON DUPLICATE KEY UPDATE protocol = VALUES(protocol), serial_number = VALUES(serial_number)"
			} else {
				q += " ON CONFLICT (name) DO UPDATE SET protocol = excluded.protocol, serial_number = excluded.serial_number"
			}
			if _, err := tx.ExecContext(ctx, s.rebind(q), c.Name, c.Protocol, c.SerialNumber, now); err != nil {
				return fmt.Errorf("store: register clock %s: %w", c.Name, err)
			}
		}
		return nil
	})
}

// AuditEntry is one line of the audit log.
type AuditEntry struct {
	ID       int64  `db:"id" json:"id"`
	At       string `db:"at" json:"at"`
	Actor    string `db:"actor" json:"actor"`
	Action   string `db:"action" json:"action"`
	Entity   string `db:"entity" json:"entity"`
	EntityID string `db:"entity_id" json:"entity_id"`
	OldValue string `db:"old_value" json:"old_value"`
	NewValue string `db:"new_value" json:"new_value"`
}

func (s *Store) audit(ctx context.Context, tx *sqlx.Tx, e AuditEntry) error {
	if e.At == "" {
		e.At = s.nowWall()
	}
	_, err := tx.ExecContext(ctx, s.rebind("INSERT INTO audit_log (at, actor, action, entity, entity_id, old_value, new_value) VALUES (?,?,?,?,?,?,?)"),
		e.At, e.Actor, e.Action, e.Entity, e.EntityID, e.OldValue, e.NewValue)
	if err != nil {
		return fmt.Errorf("store: audit: %w", err)
	}
	return nil
}

// AuditLog returns the newest entries first, at most limit.
func (s *Store) AuditLog(ctx context.Context, limit int) ([]AuditEntry, error) {
	var out []AuditEntry
	err := s.r.SelectContext(ctx, &out, s.rebind("SELECT id, at, actor, action, entity, entity_id, old_value, new_value FROM audit_log ORDER BY id DESC LIMIT ?"), limit)
	if err != nil {
		return nil, fmt.Errorf("store: audit log: %w", err)
	}
	return out, nil
}

// markStaffingChanged queues for recomputation the stored days, from the start of last month on,
// of everyone at a window whose staffing changed: whether a window has one staff member or more
// decides which approvals a slip needs (R15, R16). Closed months are left to the worker to skip.
func (s *Store) markStaffingChanged(ctx context.Context, tx *sqlx.Tx, windows map[string]bool, now string) error {
	if len(windows) == 0 {
		return nil
	}
	names := make([]string, 0, len(windows))
	for w := range windows {
		names = append(names, w)
	}
	sort.Strings(names)
	t := Wall(s.now(), s.loc)
	since := time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC).AddDate(0, -1, 0)
	q, args, err := sqlx.In(`SELECT DISTINCT r.staff_id, r.day FROM segment_results r
		JOIN staff s ON s.staff_id = r.staff_id JOIN windows w ON w.id = s.window_id
		WHERE w.name IN (?) AND r.day >= ?`, names, dayString(since))
	if err != nil {
		return err
	}
	rows, err := tx.QueryContext(ctx, s.rebind(q), args...)
	if err != nil {
		return fmt.Errorf("store: days of changed windows: %w", err)
	}
	var days []DirtyDay
	for rows.Next() {
		var d DirtyDay
		var day wallTime
		if err := rows.Scan(&d.StaffID, &day); err != nil {
			rows.Close()
			return err
		}
		d.Day = dayString(day.T)
		days = append(days, d)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	return s.markDays(ctx, tx, days, now)
}

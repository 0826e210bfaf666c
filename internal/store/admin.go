package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"
)

// WindowUnits returns the unit each window belongs to, by window name.
func (s *Store) WindowUnits(ctx context.Context) (map[string]string, error) {
	rows, err := s.r.QueryContext(ctx, "SELECT w.name, u.name FROM windows w JOIN units u ON u.id = w.unit_id")
	if err != nil {
		return nil, fmt.Errorf("store: window units: %w", err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var w, u string
		if err := rows.Scan(&w, &u); err != nil {
			return nil, err
		}
		out[w] = u
	}
	return out, rows.Err()
}

// ErrWindowMove is returned when saving a staff member would put an existing window under
// another unit without saying so.
var ErrWindowMove = errors.New("store: the window belongs to another unit")

// SaveStaff adds a staff member (created) or updates one: name, window, unit, start and end
// dates. The window and unit are created when new; an existing window under another unit is
// ErrWindowMove unless moveWindow. Active follows the end date: a staff member whose end date has
// passed is inactive. Audited as actor (before and after), and the stored days of the windows
// whose staffing changed are queued (R15 or R16).
func (s *Store) SaveStaff(ctx context.Context, st Staff, actor string, moveWindow bool) (created bool, err error) {
	if err := checkStaff(st); err != nil {
		return false, err
	}
	now := s.nowWall()
	today := dayString(Wall(s.now(), s.loc))
	st.Active = st.EndDate == "" || st.EndDate >= today
	err = s.withTx(ctx, func(tx *sqlx.Tx) error {
		var old []Staff
		if err := tx.SelectContext(ctx, &old, s.rebind(staffSelect+" WHERE s.staff_id = ?"), st.StaffID); err != nil {
			return fmt.Errorf("store: read staff %s: %w", st.StaffID, err)
		}
		var cur string
		err := tx.GetContext(ctx, &cur, s.rebind("SELECT u.name FROM windows w JOIN units u ON u.id = w.unit_id WHERE w.name = ?"), st.Window)
		switch {
		case err == nil && cur != st.Unit && !moveWindow:
			return fmt.Errorf("%w: window %s belongs to unit %s", ErrWindowMove, st.Window, cur)
		case err != nil && !errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("store: unit of window %s: %w", st.Window, err)
		}
		uid, err := s.upsertName(ctx, tx, "units", st.Unit, map[string]int64{}, nil)
		if err != nil {
			return err
		}
		wid, err := s.upsertName(ctx, tx, "windows", st.Window, map[string]int64{}, &uid)
		if err != nil {
			return err
		}
		changed := map[string]bool{st.Window: true}
		e := AuditEntry{At: now, Actor: actor, Entity: "staff", EntityID: st.StaffID, NewValue: jsonString(staffJSON(st))}
		if len(old) == 0 {
			created = true
			e.Action = "add"
			_, err = tx.ExecContext(ctx, s.rebind("INSERT INTO staff (staff_id, name, window_id, unit_id, active, updated_at, start_date, end_date) VALUES (?,?,?,?,?,?,?,?)"),
				st.StaffID, st.Name, wid, uid, boolInt(st.Active), now, st.StartDate, st.EndDate)
		} else {
			o := old[0]
			if o == st {
				return nil
			}
			changed[o.Window] = true
			e.Action, e.OldValue = "update", jsonString(staffJSON(o))
			if o.Window != st.Window {
				e.Action = "move"
			}
			_, err = tx.ExecContext(ctx, s.rebind("UPDATE staff SET name=?, window_id=?, unit_id=?, active=?, updated_at=?, start_date=?, end_date=? WHERE staff_id=?"),
				st.Name, wid, uid, boolInt(st.Active), now, st.StartDate, st.EndDate, st.StaffID)
		}
		if err != nil {
			return fmt.Errorf("store: save staff %s: %w", st.StaffID, err)
		}
		if err := s.audit(ctx, tx, e); err != nil {
			return err
		}
		return s.markStaffingChanged(ctx, tx, changed, now)
	})
	return created, err
}

func staffJSON(st Staff) map[string]any {
	return map[string]any{"staff_id": st.StaffID, "name": st.Name, "window": st.Window, "unit": st.Unit, "start_date": st.StartDate, "end_date": st.EndDate}
}

func checkStaff(st Staff) error {
	for _, f := range []struct{ name, v string }{{"staff_id", st.StaffID}, {"name", st.Name}, {"window", st.Window}, {"unit", st.Unit}} {
		if strings.TrimSpace(f.v) == "" || len(f.v) > 100 || !utf8.ValidString(f.v) {
			return fmt.Errorf("%w: %s must be 1 to 100 bytes", ErrBadInput, f.name)
		}
	}
	for _, d := range []string{st.StartDate, st.EndDate} {
		if d == "" {
			continue
		}
		if _, err := time.Parse("2006-01-02", d); err != nil {
			return fmt.Errorf("%w: bad date %q", ErrBadInput, d)
		}
	}
	if st.StartDate != "" && st.EndDate != "" && st.EndDate < st.StartDate {
		return fmt.Errorf("%w: end_date %s is before start_date %s", ErrBadInput, st.EndDate, st.StartDate)
	}
	return nil
}

// SetWindowUnit puts a window under a unit, creating either when new, audited.
func (s *Store) SetWindowUnit(ctx context.Context, window, unit, actor string) error {
	if err := checkStaff(Staff{StaffID: "-", Name: "-", Window: window, Unit: unit}); err != nil {
		return err
	}
	old := ""
	return s.withTx(ctx, func(tx *sqlx.Tx) error {
		err := tx.GetContext(ctx, &old, s.rebind("SELECT COALESCE(u.name, '') FROM windows w LEFT JOIN units u ON u.id = w.unit_id WHERE w.name = ?"), window)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("store: window %s: %w", window, err)
		}
		if old == unit {
			return nil
		}
		uid, err := s.upsertName(ctx, tx, "units", unit, map[string]int64{}, nil)
		if err != nil {
			return err
		}
		if _, err := s.upsertName(ctx, tx, "windows", window, map[string]int64{}, &uid); err != nil {
			return err
		}
		e := AuditEntry{Actor: actor, Action: "update", Entity: "window", EntityID: window, NewValue: jsonString(map[string]any{"unit": unit})}
		if old != "" {
			e.OldValue = jsonString(map[string]any{"unit": old})
		} else {
			e.Action = "add"
		}
		return s.audit(ctx, tx, e)
	})
}

// WindowInfo is a window with its unit and how many active staff sit there.
type WindowInfo struct {
	Name, Unit string
	Staff      int
}

// Windows lists the windows by name.
func (s *Store) Windows(ctx context.Context) ([]WindowInfo, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT w.name, COALESCE(u.name, ''), (SELECT COUNT(*) FROM staff s WHERE s.window_id = w.id AND s.active = 1)
		FROM windows w LEFT JOIN units u ON u.id = w.unit_id ORDER BY w.name`)
	if err != nil {
		return nil, fmt.Errorf("store: windows: %w", err)
	}
	defer rows.Close()
	var out []WindowInfo
	for rows.Next() {
		var w WindowInfo
		if err := rows.Scan(&w.Name, &w.Unit, &w.Staff); err != nil {
			return nil, err
		}
		out = append(out, w)
	}
	return out, rows.Err()
}

// UpdateUser changes an account's role, window, unit and staff member, or enables or disables it, audited (before
// and after); its sessions end, so the change holds at once.
func (s *Store) UpdateUser(ctx context.Context, u User, actor string) error {
	u.PasswordHash = "-" // not changed here; checkUser asks for one
	if err := checkUser(u); err != nil {
		return err
	}
	now := s.nowWall()
	return s.withTx(ctx, func(tx *sqlx.Tx) error {
		var old User
		if err := tx.GetContext(ctx, &old, s.rebind("SELECT name, '' AS password_hash, role, window_name, disabled, staff_id, unit_name FROM users WHERE name = ?"), u.Name); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("store: user %q: %w", u.Name, ErrNotFound)
			}
			return err
		}
		if old.Role == u.Role && old.Window == u.Window && old.Disabled == u.Disabled && old.Unit == u.Unit && old.StaffID == u.StaffID {
			return nil
		}
		if _, err := tx.ExecContext(ctx, s.rebind("UPDATE users SET role = ?, window_name = ?, unit_name = ?, staff_id = ?, disabled = ?, updated_at = ? WHERE name = ?"),
			u.Role, u.Window, u.Unit, u.StaffID, boolInt(u.Disabled), now, u.Name); err != nil {
			return fmt.Errorf("store: update user %s: %w", u.Name, err)
		}
		if _, err := tx.ExecContext(ctx, s.rebind("DELETE FROM sessions WHERE user_name = ?"), u.Name); err != nil {
			return fmt.Errorf("store: end the sessions of %s: %w", u.Name, err)
		}
		action := "update"
		switch {
		case !old.Disabled && u.Disabled:
			action = "disable"
		case old.Disabled && !u.Disabled:
			action = "enable"
		}
		return s.audit(ctx, tx, AuditEntry{At: now, Actor: actor, Action: action, Entity: "user", EntityID: u.Name,
			OldValue: jsonString(map[string]any{"role": old.Role, "window": old.Window, "unit": old.Unit, "staff_id": old.StaffID, "disabled": old.Disabled}),
			NewValue: jsonString(map[string]any{"role": u.Role, "window": u.Window, "unit": u.Unit, "staff_id": u.StaffID, "disabled": u.Disabled})})
	})
}

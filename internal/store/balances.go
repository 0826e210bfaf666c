package store

import (
	"context"
	"fmt"
	"math"
	"strconv"

	"github.com/jmoiron/sqlx"
)

// Leave balances (issue 17): the annual leave (年休假) days HR grants each staff member per year.
// What is used is not stored: it is counted from the results, half a day for every segment that
// is LEAVE of type annual, so that it follows every recomputation (a slip withdrawn, a late
// filing refused) and a closed month's corrections are not double-counted elsewhere.

// Balance is one staff member's annual leave in one year.
type Balance struct {
	StaffID string
	Name    string
	Window  string
	Unit    string
	Year    int
	// Granted is the days HR set; Set is false when HR set none for that year.
	Granted float64
	Set     bool
	Used    float64 // days of recognised annual leave in the year's results
}

// Left is what remains of the year's grant (negative when more was taken).
func (b Balance) Left() float64 { return b.Granted - b.Used }

// SetAnnualLeave sets staff member staffID's annual leave days for year, audited as actor.
func (s *Store) SetAnnualLeave(ctx context.Context, staffID string, year int, days float64, actor string) error {
	switch {
	case year < 2000 || year > 2099:
		return fmt.Errorf("%w: year %d out of range", ErrBadInput, year)
	case days < 0 || days > 365 || math.IsNaN(days) || days*2 != math.Trunc(days*2):
		return fmt.Errorf("%w: %v days: want 0 to 365 in half days", ErrBadInput, days)
	}
	now := s.nowWall()
	return s.withTx(ctx, func(tx *sqlx.Tx) error {
		if err := s.knownStaff(ctx, tx, []string{staffID}); err != nil {
			return err
		}
		var old []float64
		if err := tx.SelectContext(ctx, &old, s.rebind("SELECT annual_days FROM leave_balances WHERE staff_id = ? AND year = ?"), staffID, year); err != nil {
			return fmt.Errorf("store: read balance of %s: %w", staffID, err)
		}
		var err error
		if len(old) == 0 {
			_, err = tx.ExecContext(ctx, s.rebind("INSERT INTO leave_balances (staff_id, year, annual_days, set_by, updated_at) VALUES (?,?,?,?,?)"),
				staffID, year, days, actor, now)
		} else {
			_, err = tx.ExecContext(ctx, s.rebind("UPDATE leave_balances SET annual_days = ?, set_by = ?, updated_at = ? WHERE staff_id = ? AND year = ?"),
				days, actor, now, staffID, year)
		}
		if err != nil {
			return fmt.Errorf("store: set balance of %s: %w", staffID, err)
		}
		e := AuditEntry{At: now, Actor: actor, Action: "set", Entity: "leave_balance", EntityID: staffID + "/" + strconv.Itoa(year),
			NewValue: strconv.FormatFloat(days, 'f', 1, 64)}
		if len(old) > 0 {
			e.OldValue = strconv.FormatFloat(old[0], 'f', 1, 64)
		}
		return s.audit(ctx, tx, e)
	})
}

// AnnualLeave returns the balances of year: of staffID alone, or of every active staff member
// (and anyone with a grant) when staffID is "".
func (s *Store) AnnualLeave(ctx context.Context, staffID string, year int) ([]Balance, error) {
	from, to := fmt.Sprintf("%04d-01-01", year), fmt.Sprintf("%04d-12-31", year)
	q := `SELECT s.staff_id, s.name, COALESCE(w.name, ''), COALESCE(u.name, ''), COALESCE(b.annual_days, 0), b.staff_id IS NOT NULL,
		(SELECT COUNT(*) FROM segment_results r WHERE r.staff_id = s.staff_id AND r.day >= ? AND r.day <= ? AND r.leave_type = 'annual')
		FROM staff s LEFT JOIN windows w ON w.id = s.window_id LEFT JOIN units u ON u.id = s.unit_id
		LEFT JOIN leave_balances b ON b.staff_id = s.staff_id AND b.year = ?`
	args := []any{from, to, year}
	if staffID != "" {
		q += " WHERE s.staff_id = ?"
		args = append(args, staffID)
	} else {
		q += " WHERE s.active = 1 OR b.staff_id IS NOT NULL"
	}
	rows, err := s.r.QueryContext(ctx, s.rebind(q+" ORDER BY s.staff_id"), args...)
	if err != nil {
		return nil, fmt.Errorf("store: annual leave: %w", err)
	}
	defer rows.Close()
	var out []Balance
	for rows.Next() {
		b := Balance{Year: year}
		var segs int
		if err := rows.Scan(&b.StaffID, &b.Name, &b.Window, &b.Unit, &b.Granted, &b.Set, &segs); err != nil {
			return nil, fmt.Errorf("store: annual leave: %w", err)
		}
		b.Used = float64(segs) / 2
		out = append(out, b)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if staffID != "" && len(out) == 0 {
		return nil, fmt.Errorf("staff %s: %w", staffID, ErrNotFound)
	}
	return out, nil
}

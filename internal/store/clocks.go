package store

import (
	"context"
	"fmt"
	"time"
)

// LastTimeSync returns when the daemon last set a clock's time (wall clock), or ErrNotFound.
func (s *Store) LastTimeSync(ctx context.Context, clock string) (time.Time, error) {
	var w wallTime
	err := s.r.GetContext(ctx, &w, s.rebind("SELECT synced_at FROM clock_syncs WHERE clock = ?"), clock)
	if err != nil {
		return time.Time{}, notFound(err)
	}
	return w.T, nil
}

// RecordTimeSync records that a clock's time was set at wall-clock time at.
func (s *Store) RecordTimeSync(ctx context.Context, clock string, at time.Time) error {
	q := "INSERT INTO clock_syncs (clock, synced_at) VALUES (?, ?)"
	if s.dialect == "mysql" {
		q += " ON DUPLICATE KEY UPDATE synced_at = VALUES(synced_at)"
	} else {
		q += " ON CONFLICT (clock) DO UPDATE SET synced_at = excluded.synced_at"
	}
	if _, err := s.w.ExecContext(ctx, s.rebind(q), clock, WallString(at)); err != nil {
		return fmt.Errorf("store: record time sync of %s: %w", clock, err)
	}
	return nil
}

// LastPunchTimes returns the newest stored punch time (wall clock) of every clock.
func (s *Store) LastPunchTimes(ctx context.Context) (map[string]time.Time, error) {
	rows, err := s.r.QueryxContext(ctx, "SELECT clock, MAX(punched_at) FROM punches GROUP BY clock")
	if err != nil {
		return nil, fmt.Errorf("store: last punch times: %w", err)
	}
	defer rows.Close()
	out := map[string]time.Time{}
	for rows.Next() {
		var clock string
		var at wallTime
		if err := rows.Scan(&clock, &at); err != nil {
			return nil, err
		}
		out[clock] = at.T
	}
	return out, rows.Err()
}

// CountDirtyDays counts the staff days waiting to be recomputed.
func (s *Store) CountDirtyDays(ctx context.Context) (int, error) {
	var n int
	if err := s.r.GetContext(ctx, &n, "SELECT COUNT(*) FROM dirty_days"); err != nil {
		return 0, fmt.Errorf("store: count dirty days: %w", err)
	}
	return n, nil
}

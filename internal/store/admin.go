package store

import (
	"context"
	"fmt"
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

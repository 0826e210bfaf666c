package store

import (
	"context"
	"fmt"
	"strings"
)

// AuditFilter narrows the audit log: by who acted, the kind of record, and the day (wall clock,
// YYYY-MM-DD, both included); "" is any. Offset and Limit page it, newest first.
type AuditFilter struct {
	Actor, Entity string
	From, To      string
	Offset, Limit int
}

// AuditQuery returns one page of the audit log, newest first, and how many entries match.
func (s *Store) AuditQuery(ctx context.Context, f AuditFilter) ([]AuditEntry, int, error) {
	var where []string
	var args []any
	if f.Actor != "" {
		where, args = append(where, "actor = ?"), append(args, f.Actor)
	}
	if f.Entity != "" {
		where, args = append(where, "entity = ?"), append(args, f.Entity)
	}
	if f.From != "" {
		where, args = append(where, "at >= ?"), append(args, f.From+" 00:00:00")
	}
	if f.To != "" {
		where, args = append(where, "at <= ?"), append(args, f.To+" 23:59:59")
	}
	cond := ""
	if len(where) > 0 {
		cond = " WHERE " + strings.Join(where, " AND ")
	}
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 100
	}
	if f.Offset < 0 {
		f.Offset = 0
	}
	var total int
	if err := s.r.GetContext(ctx, &total, s.rebind("SELECT COUNT(*) FROM audit_log"+cond), args...); err != nil {
		return nil, 0, fmt.Errorf("store: audit log: %w", err)
	}
	var out []AuditEntry
	err := s.r.SelectContext(ctx, &out, s.rebind("SELECT id, at, actor, action, entity, entity_id, old_value, new_value FROM audit_log"+cond+
		" ORDER BY id DESC LIMIT ? OFFSET ?"), append(args, f.Limit, f.Offset)...)
	if err != nil {
		return nil, 0, fmt.Errorf("store: audit log: %w", err)
	}
	return out, total, nil
}

// AuditActors lists everyone who appears in the audit log, for the page's filter.
func (s *Store) AuditActors(ctx context.Context) ([]string, error) {
	var out []string
	if err := s.r.SelectContext(ctx, &out, "SELECT DISTINCT actor FROM audit_log ORDER BY actor"); err != nil {
		return nil, fmt.Errorf("store: audit actors: %w", err)
	}
	return out, nil
}

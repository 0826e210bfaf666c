package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
)

// The notices outbox. A notice is queued in the transaction of what causes it (a request filed or
// decided) or by a scheduled check, one row per destination; its dedupe key makes queueing it
// again a no-op, so that several daemons running the same 08:55 check queue it once. Sending
// claims rows with a lease, like the dirty days: a sender that dies mid-send leaves its rows to be
// claimed again when the lease ends, and a row marked sent is never claimed again.

// Notice is one delivery: a message to one target on one channel.
type Notice struct {
	ID        int64
	Key       string // unique: kind, target and what it is about (a request and its step, a window and a time)
	Kind      string // what it is about: request_waiting, request_decided, not_signed_in, clock_down
	Channel   string // email, wecom, dingtalk
	Target    string // an e-mail address, or the name of a configured robot
	Subject   string
	Body      string
	CreatedAt time.Time
	NotBefore time.Time // not sent before (a retry's backoff); zero: at once
	Attempts  int
	SentAt    time.Time // zero while not sent
	LastError string
	ClaimedBy string
}

// MaxNoticeAttempts is how often a notice is tried before it is left for an operator (kaoqin
// notices list shows it with its last error).
const MaxNoticeAttempts = 12

func (s *Store) queueNotices(ctx context.Context, tx *sqlx.Tx, ns []Notice, now string) error {
	if len(ns) == 0 {
		return nil
	}
	q := "INSERT INTO notices (dedupe_key, kind, channel, target, subject, body, created_at, not_before, last_error) VALUES (?,?,?,?,?,?,?,?,'')"
	if s.dialect == "mysql" {
		q = "INSERT IGNORE" + strings.TrimPrefix(q, "INSERT")
	} else {
		q += " ON CONFLICT (dedupe_key) DO NOTHING"
	}
	q = s.rebind(q)
	for _, n := range ns {
		if n.Key == "" || len(n.Key) > 190 {
			return fmt.Errorf("%w: notice %q: its key must be 1 to 190 bytes", ErrBadInput, n.Key)
		}
		nb := now
		if !n.NotBefore.IsZero() {
			nb = WallString(n.NotBefore)
		}
		if _, err := tx.ExecContext(ctx, q, n.Key, n.Kind, n.Channel, n.Target, n.Subject, n.Body, now, nb); err != nil {
			return fmt.Errorf("store: queue notice %s: %w", n.Key, err)
		}
	}
	return nil
}

// QueueNotices queues notices; one whose key is already queued (sent or not) is left out.
func (s *Store) QueueNotices(ctx context.Context, ns []Notice) error {
	now := s.nowWall()
	return s.withTx(ctx, func(tx *sqlx.Tx) error { return s.queueNotices(ctx, tx, ns, now) })
}

// ClaimNotices claims up to n unsent notices due now that no live claim holds, oldest first, for
// lease. The returned token fences NoticeSent and NoticeFailed.
func (s *Store) ClaimNotices(ctx context.Context, worker string, n int, lease time.Duration) (string, []Notice, error) {
	if len(worker) > 60 {
		worker = worker[:60]
	}
	token := fmt.Sprintf("%s/%s/%d", worker, processTag, claimSeq.Add(1))
	now := Wall(s.now(), s.loc)
	nowS, until := WallString(now), WallString(now.Add(lease))
	var opts *sql.TxOptions
	if s.dialect == "mysql" {
		opts = &sql.TxOptions{Isolation: sql.LevelReadCommitted}
	}
	var out []Notice
	cond := "sent_at = '' AND attempts < ? AND not_before <= ? AND (claimed_by = '' OR claimed_until < ?)"
	var q string
	if s.dialect == "mysql" {
		q = "UPDATE notices SET claimed_by = ?, claimed_until = ? WHERE " + cond + " ORDER BY id LIMIT ?"
	} else {
		q = "UPDATE notices SET claimed_by = ?, claimed_until = ? WHERE id IN (SELECT id FROM notices WHERE " + cond + " ORDER BY id LIMIT ?)"
	}
	err := s.retry(ctx, func() error {
		return s.txOnce(ctx, opts, func(tx *sqlx.Tx) error {
			if _, err := tx.ExecContext(ctx, s.rebind(q), token, until, MaxNoticeAttempts, nowS, nowS, n); err != nil {
				return fmt.Errorf("store: claim notices: %w", err)
			}
			var err error
			out, err = s.queryNotices(ctx, tx, "claimed_by = ? AND sent_at = '' ORDER BY id", token)
			return err
		})
	})
	if err != nil {
		return "", nil, err
	}
	return token, out, nil
}

type queryer interface {
	QueryxContext(ctx context.Context, q string, args ...any) (*sqlx.Rows, error)
}

func (s *Store) queryNotices(ctx context.Context, db queryer, where string, args ...any) ([]Notice, error) {
	rows, err := db.QueryxContext(ctx, s.rebind(`SELECT id, dedupe_key, kind, channel, target, subject, body, created_at, not_before,
		attempts, sent_at, last_error, claimed_by FROM notices WHERE `+where), args...)
	if err != nil {
		return nil, fmt.Errorf("store: read notices: %w", err)
	}
	defer rows.Close()
	var out []Notice
	for rows.Next() {
		var n Notice
		var cr, nb wallTime
		var sent string
		if err := rows.Scan(&n.ID, &n.Key, &n.Kind, &n.Channel, &n.Target, &n.Subject, &n.Body, &cr, &nb, &n.Attempts, &sent,
			&n.LastError, &n.ClaimedBy); err != nil {
			return nil, fmt.Errorf("store: read notices: %w", err)
		}
		n.CreatedAt, n.NotBefore, n.SentAt = cr.T, nb.T, parseWallOrZero(sent)
		out = append(out, n)
	}
	return out, rows.Err()
}

// NoticeSent marks notice id sent under claim token. It reports false when the claim was lost (its
// lease ended and another sender took the row): the caller then knows the notice may go twice.
func (s *Store) NoticeSent(ctx context.Context, id int64, token string) (bool, error) {
	var res sql.Result
	err := s.retry(ctx, func() (err error) {
		res, err = s.w.ExecContext(ctx, s.rebind("UPDATE notices SET sent_at = ?, attempts = attempts + 1, last_error = '', claimed_until = '' WHERE id = ? AND claimed_by = ? AND sent_at = ''"),
			s.nowWall(), id, token)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("store: mark notice %d sent: %w", id, err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// NoticeFailed records a failed attempt of notice id under claim token and hands it back, to be
// tried again from retryAt (wall clock).
func (s *Store) NoticeFailed(ctx context.Context, id int64, token, msg string, retryAt time.Time) error {
	if len(msg) > 1000 {
		msg = msg[:1000]
	}
	err := s.retry(ctx, func() error {
		_, err := s.w.ExecContext(ctx, s.rebind("UPDATE notices SET attempts = attempts + 1, last_error = ?, not_before = ?, claimed_by = '', claimed_until = '' WHERE id = ? AND claimed_by = ? AND sent_at = ''"),
			msg, WallString(retryAt), id, token)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: record failed notice %d: %w", id, err)
	}
	return nil
}

// PruneNotices deletes the notices sent before before (wall clock) and returns how many; unsent
// ones stay whatever their age, for an operator to see.
func (s *Store) PruneNotices(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.w.ExecContext(ctx, s.rebind("DELETE FROM notices WHERE sent_at <> '' AND sent_at < ?"), WallString(before))
	if err != nil {
		return 0, fmt.Errorf("store: prune notices: %w", err)
	}
	return res.RowsAffected()
}

// CountUnsentNotices counts the notices not sent yet, given up on or not (the pending gauge).
func (s *Store) CountUnsentNotices(ctx context.Context) (int, error) {
	var n int
	if err := s.r.GetContext(ctx, &n, "SELECT COUNT(*) FROM notices WHERE sent_at = ''"); err != nil {
		return 0, fmt.Errorf("store: count notices: %w", err)
	}
	return n, nil
}

// NoticeFilter selects notices for operators and tests.
type NoticeFilter struct {
	Unsent bool   // only those not sent yet
	Kind   string // "" for all
	Limit  int    // 0: 200
}

// ListNotices lists notices, newest first.
func (s *Store) ListNotices(ctx context.Context, f NoticeFilter) ([]Notice, error) {
	where, args := "1 = 1", []any{}
	if f.Unsent {
		where += " AND sent_at = ''"
	}
	if f.Kind != "" {
		where += " AND kind = ?"
		args = append(args, f.Kind)
	}
	if f.Limit <= 0 {
		f.Limit = 200
	}
	return s.queryNotices(ctx, s.r, where+fmt.Sprintf(" ORDER BY id DESC LIMIT %d", f.Limit), args...)
}

package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"

	"github.com/kaoqin/kaoqin/internal/faults"
)

// Punch is one raw punch as a clock recorded it. Raw punches are append-only: the store has no
// statement that updates or deletes one.
type Punch struct {
	ID     int64
	Clock  string
	UserID string // the clock's user id
	// Time is the clock's wall-clock time (see the package doc).
	Time   time.Time
	Verify int
	State  int
	// ReceivedAt is when the daemon received it, wall clock of the deployment's zone; zero means now.
	ReceivedAt time.Time
	// Skewed marks a punch stored while its clock was off by more than the threshold.
	Skewed bool
	// Unread flags a punch whose clock line had an optional field (status, verify, work code)
	// that could not be read: it holds the line as received (at most 255 characters), and Verify
	// and State are 0. "" for a punch read whole.
	Unread string
	// StaffID is the staff member the clock user id maps to, "" when unknown. It is not stored with
	// the punch (enrolment can change later); it marks the staff member's day for recomputation.
	StaffID string
}

// Cursor is how far a clock has been read. For ZKTeco clocks, whose every read returns the whole
// log, Position counts the records already stored and the anchor (the user and time of the record
// at Position-1) proves the log was not cleared or replaced since.
type Cursor struct {
	Clock      string
	Position   int64
	AnchorUser string
	AnchorAt   string
	LastReadAt time.Time // wall clock
}

// InsertResult says what InsertPunches did.
type InsertResult struct {
	Inserted   int // new punches written
	Duplicates int // punches already stored, skipped
}

// punchBatch rows per INSERT: 8 parameters each stays under SQLite's and MySQL's limits.
const punchBatch = 400

// InsertPunches stores punches exactly once: a punch whose (clock, user id, time) is already stored
// is skipped, not an error. If cursor is not nil it is saved in the same transaction, so a cursor
// never runs ahead of what is stored. The days of known staff are marked for recomputation.
func (s *Store) InsertPunches(ctx context.Context, ps []Punch, cursor *Cursor) (InsertResult, error) {
	return s.InsertPunchesUnder(ctx, nil, ps, cursor)
}

// InsertPunchesUnder is InsertPunches under the lease fence (nil: none): the transaction first
// proves the lease still held under its token and fails with ErrLeaseLost, storing nothing and
// moving no cursor, when it is not. A daemon that lost a clock's lease therefore never commits
// that clock's punches or cursor, and never acts on such a commit (clearing Anviz marks).
func (s *Store) InsertPunchesUnder(ctx context.Context, fence *Lease, ps []Punch, cursor *Cursor) (InsertResult, error) {
	var res InsertResult
	for i := range ps {
		if err := validPunch(&ps[i]); err != nil {
			return res, err
		}
	}
	now := s.nowWall()
	err := s.withTx(ctx, func(tx *sqlx.Tx) error {
		res = InsertResult{}
		if fence != nil {
			if err := s.fence(ctx, tx, fence); err != nil {
				return err
			}
		}
		var full *sqlx.Stmt
		for start := 0; start < len(ps); start += punchBatch {
			end := min(start+punchBatch, len(ps))
			batch := ps[start:end]
			if s.dialect == "mysql" {
				// A duplicate costs InnoDB a row insert and its rollback; asking first which keys
				// exist makes re-reading stored punches cheaper than storing them.
				var err error
				if batch, err = s.withoutStored(ctx, tx, batch); err != nil {
					return err
				}
				if len(batch) == 0 {
					continue
				}
			}
			args := make([]any, 0, len(batch)*8)
			for _, p := range batch {
				recv := now
				if !p.ReceivedAt.IsZero() {
					recv = WallString(p.ReceivedAt)
				}
				skew := 0
				if p.Skewed {
					skew = 1
				}
				args = append(args, p.Clock, p.UserID, WallString(p.Time), p.Verify, p.State, recv, skew, p.Unread)
			}
			var r interface{ RowsAffected() (int64, error) }
			var err error
			if len(batch) == punchBatch && s.dialect != "mysql" {
				if full == nil {
					full, err = tx.PreparexContext(ctx, s.punchInsertSQL(punchBatch))
					if err != nil {
						return fmt.Errorf("store: prepare punch insert: %w", err)
					}
					defer full.Close()
				}
				r, err = full.ExecContext(ctx, args...)
			} else {
				r, err = tx.ExecContext(ctx, s.punchInsertSQL(len(batch)), args...)
			}
			if err != nil {
				return fmt.Errorf("store: insert punches: %w", err)
			}
			n, err := r.RowsAffected()
			if err != nil {
				return err
			}
			res.Inserted += int(n)
		}
		res.Duplicates = len(ps) - res.Inserted
		if err := faults.Hit(faults.PunchesBeforeCursor); err != nil {
			return err
		}
		if err := s.markDirty(ctx, tx, ps, now); err != nil {
			return err
		}
		if cursor != nil {
			if err := s.saveCursor(ctx, tx, *cursor); err != nil {
				return err
			}
		}
		return faults.Hit(faults.BeforeCommit)
	})
	if err != nil {
		return InsertResult{}, err
	}
	return res, nil
}

func (s *Store) punchInsertSQL(rows int) string {
	var b strings.Builder
	if s.dialect == "mysql" {
		// IGNORE also downgrades other errors to warnings, so InsertPunches validates every value
		// first (validPunch); what is left for IGNORE is the duplicate key. ON DUPLICATE KEY UPDATE
		// would be exact too but makes a re-read of duplicates slower than the first insert.
		b.WriteString("INSERT IGNORE INTO punches (clock, clock_user_id, punched_at, verify, state, received_at, skewed, unread) VALUES ")
	} else {
		b.WriteString("INSERT INTO punches (clock, clock_user_id, punched_at, verify, state, received_at, skewed, unread) VALUES ")
	}
	for i := 0; i < rows; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("(?,?,?,?,?,?,?,?)")
	}
	if s.dialect != "mysql" {
		b.WriteString(" ON CONFLICT DO NOTHING")
	}
	return s.rebind(b.String())
}

// markDirty queues the (staff, day) pairs of the punches for recomputation.
func (s *Store) markDirty(ctx context.Context, tx *sqlx.Tx, ps []Punch, now string) error {
	type key struct{ staff, day string }
	seen := map[key]bool{}
	var keys []key
	for _, p := range ps {
		if p.StaffID == "" {
			continue
		}
		k := key{p.StaffID, dayString(p.Time)}
		if !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	days := make([]DirtyDay, len(keys))
	for i, k := range keys {
		days[i] = DirtyDay{StaffID: k.staff, Day: k.day}
	}
	return s.markDays(ctx, tx, days, now)
}

// DirtyDay is a staff member's day whose results must be recomputed.
type DirtyDay struct {
	StaffID string `db:"staff_id"`
	Day     string `db:"day"` // YYYY-MM-DD
}

func (s *Store) markDays(ctx context.Context, tx *sqlx.Tx, days []DirtyDay, now string) error {
	const batch = 300
	for start := 0; start < len(days); start += batch {
		end := min(start+batch, len(days))
		var b strings.Builder
		b.WriteString("INSERT INTO dirty_days (staff_id, day, marked_at) VALUES ")
		args := make([]any, 0, (end-start)*3)
		for i, d := range days[start:end] {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString("(?,?,?)")
			args = append(args, d.StaffID, d.Day, now)
		}
		if s.dialect == "mysql" {
			b.WriteString(" ON DUPLICATE KEY UPDATE marked_at = VALUES(marked_at)")
		} else {
			b.WriteString(" ON CONFLICT (staff_id, day) DO UPDATE SET marked_at = excluded.marked_at")
		}
		if _, err := tx.ExecContext(ctx, s.rebind(b.String()), args...); err != nil {
			return fmt.Errorf("store: mark days for recomputation: %w", err)
		}
	}
	return nil
}

func (s *Store) saveCursor(ctx context.Context, tx *sqlx.Tx, c Cursor) error {
	now := s.nowWall()
	last := now
	if !c.LastReadAt.IsZero() {
		last = WallString(c.LastReadAt)
	}
	q := "INSERT INTO clock_cursors (clock, position, anchor_user, anchor_at, last_read_at, updated_at) VALUES (?,?,?,?,?,?)"
	if s.dialect == "mysql" {
		q += " ON DUPLICATE KEY UPDATE position=VALUES(position), anchor_user=VALUES(anchor_user), anchor_at=VALUES(anchor_at), last_read_at=VALUES(last_read_at), updated_at=VALUES(updated_at)"
	} else {
		q += " ON CONFLICT (clock) DO UPDATE SET position=excluded.position, anchor_user=excluded.anchor_user, anchor_at=excluded.anchor_at, last_read_at=excluded.last_read_at, updated_at=excluded.updated_at"
	}
	if _, err := tx.ExecContext(ctx, s.rebind(q), c.Clock, c.Position, c.AnchorUser, c.AnchorAt, last, now); err != nil {
		return fmt.Errorf("store: save cursor of %s: %w", c.Clock, err)
	}
	return nil
}

// SaveCursor saves a clock's cursor on its own.
func (s *Store) SaveCursor(ctx context.Context, c Cursor) error {
	return s.withTx(ctx, func(tx *sqlx.Tx) error { return s.saveCursor(ctx, tx, c) })
}

// GetCursor returns a clock's cursor, or ErrNotFound before its first stored read.
func (s *Store) GetCursor(ctx context.Context, clock string) (Cursor, error) {
	var row struct {
		Clock      string   `db:"clock"`
		Position   int64    `db:"position"`
		AnchorUser string   `db:"anchor_user"`
		AnchorAt   string   `db:"anchor_at"`
		LastReadAt wallTime `db:"last_read_at"`
	}
	err := s.r.GetContext(ctx, &row, s.rebind("SELECT clock, position, anchor_user, anchor_at, last_read_at FROM clock_cursors WHERE clock = ?"), clock)
	if err != nil {
		return Cursor{}, notFound(err)
	}
	return Cursor{Clock: row.Clock, Position: row.Position, AnchorUser: row.AnchorUser, AnchorAt: row.AnchorAt, LastReadAt: row.LastReadAt.T}, nil
}

type punchRow struct {
	ID         int64    `db:"id"`
	Clock      string   `db:"clock"`
	UserID     string   `db:"clock_user_id"`
	Time       wallTime `db:"punched_at"`
	Verify     int      `db:"verify"`
	State      int      `db:"state"`
	ReceivedAt wallTime `db:"received_at"`
	Skewed     bool     `db:"skewed"`
	Unread     string   `db:"unread"`
	StaffID    *string  `db:"staff_id"`
}

func (r punchRow) punch() Punch {
	p := Punch{ID: r.ID, Clock: r.Clock, UserID: r.UserID, Time: r.Time.T, Verify: r.Verify, State: r.State,
		ReceivedAt: r.ReceivedAt.T, Skewed: r.Skewed, Unread: r.Unread}
	if r.StaffID != nil {
		p.StaffID = *r.StaffID
	}
	return p
}

const punchCols = "p.id, p.clock, p.clock_user_id, p.punched_at, p.verify, p.state, p.received_at, p.skewed, p.unread, e.staff_id"

// Punches returns the punches with from <= time < to (wall clock), ordered by time, with the staff
// member each maps to now. clock "" means every clock.
func (s *Store) Punches(ctx context.Context, clock string, from, to time.Time) ([]Punch, error) {
	q := "SELECT " + punchCols + " FROM punches p LEFT JOIN enrollments e ON e.clock = p.clock AND e.clock_user_id = p.clock_user_id WHERE p.punched_at >= ? AND p.punched_at < ?"
	args := []any{WallString(from), WallString(to)}
	if clock != "" {
		q += " AND p.clock = ?"
		args = append(args, clock)
	}
	q += " ORDER BY p.punched_at, p.id"
	return s.queryPunches(ctx, q, args...)
}

// StaffPunches returns a staff member's punches with from <= time < to, over every clock they are
// enrolled on, ordered by time.
func (s *Store) StaffPunches(ctx context.Context, staffID string, from, to time.Time) ([]Punch, error) {
	q := "SELECT " + punchCols + " FROM punches p JOIN enrollments e ON e.clock = p.clock AND e.clock_user_id = p.clock_user_id WHERE e.staff_id = ? AND p.punched_at >= ? AND p.punched_at < ? ORDER BY p.punched_at, p.id"
	return s.queryPunches(ctx, q, staffID, WallString(from), WallString(to))
}

func (s *Store) queryPunches(ctx context.Context, q string, args ...any) ([]Punch, error) {
	rows, err := s.r.QueryxContext(ctx, s.rebind(q), args...)
	if err != nil {
		return nil, fmt.Errorf("store: read punches: %w", err)
	}
	defer rows.Close()
	var out []Punch
	for rows.Next() {
		var r punchRow
		if err := rows.StructScan(&r); err != nil {
			return nil, fmt.Errorf("store: read punches: %w", err)
		}
		out = append(out, r.punch())
	}
	return out, rows.Err()
}

// CountPunches counts the stored punches of a clock ("" for all).
func (s *Store) CountPunches(ctx context.Context, clock string) (int64, error) {
	var n int64
	var err error
	if clock == "" {
		err = s.r.GetContext(ctx, &n, "SELECT COUNT(*) FROM punches")
	} else {
		err = s.r.GetContext(ctx, &n, s.rebind("SELECT COUNT(*) FROM punches WHERE clock = ?"), clock)
	}
	return n, err
}

// UnknownUser is a clock user id with punches but no staff member.
type UnknownUser struct {
	Clock   string    `db:"clock"`
	UserID  string    `db:"clock_user_id"`
	Punches int       `db:"n"`
	First   time.Time `db:"-"`
	Last    time.Time `db:"-"`
}

// UnknownUsers lists the clock user ids whose punches match no staff member. Their punches are
// stored like any other and count as soon as the user is enrolled.
func (s *Store) UnknownUsers(ctx context.Context) ([]UnknownUser, error) {
	rows, err := s.r.QueryxContext(ctx, `SELECT p.clock, p.clock_user_id, COUNT(*) AS n, MIN(p.punched_at) AS first, MAX(p.punched_at) AS last
		FROM punches p LEFT JOIN enrollments e ON e.clock = p.clock AND e.clock_user_id = p.clock_user_id
		WHERE e.staff_id IS NULL GROUP BY p.clock, p.clock_user_id ORDER BY p.clock, p.clock_user_id`)
	if err != nil {
		return nil, fmt.Errorf("store: unknown users: %w", err)
	}
	defer rows.Close()
	var out []UnknownUser
	for rows.Next() {
		var u UnknownUser
		var first, last wallTime
		if err := rows.Scan(&u.Clock, &u.UserID, &u.Punches, &first, &last); err != nil {
			return nil, err
		}
		u.First, u.Last = first.T, last.T
		out = append(out, u)
	}
	return out, rows.Err()
}

// ErrBadPunch is returned for a punch that cannot be stored as it is.
var ErrBadPunch = errors.New("store: bad punch")

// validPunch rejects what the schema would truncate or refuse, so no punch is ever stored altered.
func validPunch(p *Punch) error {
	switch {
	case p.Clock == "" || len(p.Clock) > 100:
		return fmt.Errorf("%w: clock name %q must be 1 to 100 bytes", ErrBadPunch, p.Clock)
	case p.UserID == "" || len(p.UserID) > 100:
		return fmt.Errorf("%w: user id %q of clock %s must be 1 to 100 bytes", ErrBadPunch, p.UserID, p.Clock)
	case p.Time.Year() < 2000 || p.Time.Year() > 2099:
		return fmt.Errorf("%w: time %s of clock %s user %s is out of range", ErrBadPunch, WallString(p.Time), p.Clock, p.UserID)
	case !utf8.ValidString(p.UserID):
		return fmt.Errorf("%w: user id %q of clock %s is not UTF-8", ErrBadPunch, p.UserID, p.Clock)
	case utf8.RuneCountInString(p.Unread) > 255 || !utf8.ValidString(p.Unread):
		return fmt.Errorf("%w: the unread line of clock %s user %s must be at most 255 characters of UTF-8", ErrBadPunch, p.Clock, p.UserID)
	}
	return nil
}

// withoutStored returns the punches of batch whose key is not stored yet.
func (s *Store) withoutStored(ctx context.Context, tx *sqlx.Tx, batch []Punch) ([]Punch, error) {
	var b strings.Builder
	b.WriteString("SELECT clock, clock_user_id, punched_at FROM punches WHERE (clock, clock_user_id, punched_at) IN (")
	args := make([]any, 0, len(batch)*3)
	for i, p := range batch {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("(?,?,?)")
		args = append(args, p.Clock, p.UserID, WallString(p.Time))
	}
	b.WriteByte(')')
	rows, err := tx.QueryContext(ctx, b.String(), args...)
	if err != nil {
		return nil, fmt.Errorf("store: look up stored punches: %w", err)
	}
	defer rows.Close()
	type key struct{ clock, user, at string }
	stored := map[key]bool{}
	for rows.Next() {
		var k key
		var at wallTime
		if err := rows.Scan(&k.clock, &k.user, &at); err != nil {
			return nil, err
		}
		k.at = WallString(at.T)
		stored[k] = true
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(stored) == 0 {
		return batch, nil
	}
	out := make([]Punch, 0, len(batch)-len(stored))
	for _, p := range batch {
		if !stored[key{p.Clock, p.UserID, WallString(p.Time)}] {
			out = append(out, p)
		}
	}
	return out, nil
}

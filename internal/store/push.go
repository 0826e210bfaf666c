package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jmoiron/sqlx"
)

// UnknownPush is a serial number that called the PUSH listener but matches no configured clock.
type UnknownPush struct {
	Serial     string
	FirstSeen  time.Time // wall clock
	LastSeen   time.Time
	RemoteAddr string
	Requests   int64
}

// RecordUnknownPush counts a request from an unconfigured serial number at wall-clock time at.
func (s *Store) RecordUnknownPush(ctx context.Context, serial, remote string, at time.Time) error {
	w := WallString(at)
	q := "INSERT INTO push_unknown (serial, first_seen, last_seen, remote_addr, requests) VALUES (?,?,?,?,1)"
	if s.dialect == "mysql" {
		q += " ON DUPLICATE KEY UPDATE last_seen = VALUES(last_seen), remote_addr = VALUES(remote_addr), requests = requests + 1"
	} else {
		q += " ON CONFLICT (serial) DO UPDATE SET last_seen = excluded.last_seen, remote_addr = excluded.remote_addr, requests = requests + 1"
	}
	if _, err := s.w.ExecContext(ctx, s.rebind(q), serial, w, w, truncate(remote, 100)); err != nil {
		return fmt.Errorf("store: record unknown push clock %s: %w", serial, err)
	}
	return nil
}

// UnknownPushClocks lists the unconfigured serial numbers that called, by serial number, leaving
// out those configured since (configured clocks are in the clocks table).
func (s *Store) UnknownPushClocks(ctx context.Context) ([]UnknownPush, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT u.serial, u.first_seen, u.last_seen, u.remote_addr, u.requests FROM push_unknown u
		WHERE NOT EXISTS (SELECT 1 FROM clocks c WHERE c.serial_number = u.serial) ORDER BY u.serial`)
	if err != nil {
		return nil, fmt.Errorf("store: unknown push clocks: %w", err)
	}
	defer rows.Close()
	var out []UnknownPush
	for rows.Next() {
		var u UnknownPush
		var first, last wallTime
		if err := rows.Scan(&u.Serial, &first, &last, &u.RemoteAddr, &u.Requests); err != nil {
			return nil, err
		}
		u.FirstSeen, u.LastSeen = first.T, last.T
		out = append(out, u)
	}
	return out, rows.Err()
}

// PushStamp returns the stamp (ZKTeco packed time) up to which a push clock's uploads are stored,
// 0 before the first.
func (s *Store) PushStamp(ctx context.Context, clock string) (int64, error) {
	st, err := s.PushStamps(ctx, clock)
	return st.ATTLOG, err
}

// PushStamps are the stamps a push clock's acknowledged uploads reached, per table: ATTLOG's is
// the packed time of the newest punch stored, OPERLOG's and ATTPHOTO's the Stamp the clock sent
// with its last acknowledged upload of that table. The handshake sends them back so that the
// clock does not send everything again.
type PushStamps struct {
	ATTLOG, OPERLOG, ATTPHOTO int64
}

// PushStamps returns a push clock's stamps, zero before its first upload.
func (s *Store) PushStamps(ctx context.Context, clock string) (PushStamps, error) {
	var st PushStamps
	err := s.r.QueryRowContext(ctx, s.rebind("SELECT attlog_stamp, operlog_stamp, attphoto_stamp FROM push_clocks WHERE clock = ?"), clock).
		Scan(&st.ATTLOG, &st.OPERLOG, &st.ATTPHOTO)
	if err != nil {
		if err = notFound(err); err == ErrNotFound {
			return PushStamps{}, nil
		}
		return PushStamps{}, fmt.Errorf("store: push stamps of %s: %w", clock, err)
	}
	return st, nil
}

// RaisePushStamp moves a push clock's OPERLOG or ATTPHOTO stamp up to stamp (never down). Call it
// only after the upload it acknowledges was handled.
func (s *Store) RaisePushStamp(ctx context.Context, clock, table string, stamp int64) error {
	var col string
	switch table {
	case "OPERLOG":
		col = "operlog_stamp"
	case "ATTPHOTO":
		col = "attphoto_stamp"
	default:
		return fmt.Errorf("store: push stamp of table %q: only OPERLOG and ATTPHOTO", table)
	}
	q := "INSERT INTO push_clocks (clock, " + col + ") VALUES (?,?)"
	if s.dialect == "mysql" {
		q += " ON DUPLICATE KEY UPDATE " + col + " = GREATEST(" + col + ", VALUES(" + col + "))"
	} else {
		q += " ON CONFLICT (clock) DO UPDATE SET " + col + " = MAX(" + col + ", excluded." + col + ")"
	}
	if _, err := s.w.ExecContext(ctx, s.rebind(q), clock, stamp); err != nil {
		return fmt.Errorf("store: %s stamp of %s: %w", table, clock, err)
	}
	return nil
}

// RecordPushContact records a push clock's contact at wall-clock time at from remote and, if stamp
// is above the stored one, moves its stamp there. Call it with a stamp only after the punches up
// to it are committed: the stamp never runs ahead of what is stored, and never moves back.
func (s *Store) RecordPushContact(ctx context.Context, clock, remote string, at time.Time, stamp int64) error {
	q := "INSERT INTO push_clocks (clock, attlog_stamp, last_contact, remote_addr) VALUES (?,?,?,?)"
	if s.dialect == "mysql" {
		q += " ON DUPLICATE KEY UPDATE attlog_stamp = GREATEST(attlog_stamp, VALUES(attlog_stamp)), last_contact = VALUES(last_contact), remote_addr = VALUES(remote_addr)"
	} else {
		q += " ON CONFLICT (clock) DO UPDATE SET attlog_stamp = MAX(attlog_stamp, excluded.attlog_stamp), last_contact = excluded.last_contact, remote_addr = excluded.remote_addr"
	}
	if _, err := s.w.ExecContext(ctx, s.rebind(q), clock, stamp, WallString(at), truncate(remote, 100)); err != nil {
		return fmt.Errorf("store: record contact of %s: %w", clock, err)
	}
	return nil
}

// PushContacts returns every push clock's last contact (wall clock) and remote address.
func (s *Store) PushContacts(ctx context.Context) (map[string]PushContact, error) {
	rows, err := s.r.QueryContext(ctx, "SELECT clock, last_contact, remote_addr, attlog_stamp FROM push_clocks")
	if err != nil {
		return nil, fmt.Errorf("store: push contacts: %w", err)
	}
	defer rows.Close()
	out := map[string]PushContact{}
	for rows.Next() {
		var c PushContact
		var at wallTime
		if err := rows.Scan(&c.Clock, &at, &c.RemoteAddr, &c.Stamp); err != nil {
			return nil, err
		}
		c.LastContact = at.T
		out[c.Clock] = c
	}
	return out, rows.Err()
}

// PushContact is a push clock's last contact.
type PushContact struct {
	Clock       string
	LastContact time.Time // wall clock, zero if never
	RemoteAddr  string
	Stamp       int64
}

// PushCommand is a command queued for a push clock, and its result once the clock sent it back.
// Times are wall clock; SentAt and DoneAt are zero until the command is sent and answered.
type PushCommand struct {
	ID         int64
	Clock      string
	Command    string
	QueuedAt   time.Time
	QueuedBy   string
	SentAt     time.Time
	DoneAt     time.Time
	ReturnCode int64
	Result     string
}

type pushCommandRow struct {
	ID         int64    `db:"id"`
	Clock      string   `db:"clock"`
	Command    string   `db:"command"`
	QueuedAt   wallTime `db:"queued_at"`
	QueuedBy   string   `db:"queued_by"`
	SentAt     wallTime `db:"sent_at"`
	DoneAt     wallTime `db:"done_at"`
	ReturnCode int64    `db:"return_code"`
	Result     string   `db:"result"`
}

func (r pushCommandRow) command() PushCommand {
	return PushCommand{ID: r.ID, Clock: r.Clock, Command: r.Command, QueuedAt: r.QueuedAt.T, QueuedBy: r.QueuedBy,
		SentAt: r.SentAt.T, DoneAt: r.DoneAt.T, ReturnCode: r.ReturnCode, Result: r.Result}
}

func commands(rows []pushCommandRow) []PushCommand {
	out := make([]PushCommand, len(rows))
	for i, r := range rows {
		out[i] = r.command()
	}
	return out
}

const pushCommandCols = "id, clock, command, queued_at, queued_by, sent_at, done_at, return_code, result"

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// QueuePushCommand queues a command for a push clock and returns its id; the clock gets it at its
// next poll. The operator's action is audited.
func (s *Store) QueuePushCommand(ctx context.Context, clock, command, actor string) (int64, error) {
	if command == "" || len(command) > 1000 {
		return 0, fmt.Errorf("store: a push command is 1 to 1000 bytes")
	}
	var id int64
	now := s.nowWall()
	err := s.withTx(ctx, func(tx *sqlx.Tx) error {
		r, err := tx.ExecContext(ctx, s.rebind("INSERT INTO push_commands (clock, command, queued_at, queued_by, result) VALUES (?,?,?,?,'')"),
			clock, command, now, truncate(actor, 100))
		if err != nil {
			return fmt.Errorf("store: queue command for %s: %w", clock, err)
		}
		if id, err = r.LastInsertId(); err != nil {
			return err
		}
		return s.audit(ctx, tx, AuditEntry{At: now, Actor: actor, Action: "queue command", Entity: "clock", EntityID: clock,
			NewValue: fmt.Sprintf("%d %s", id, command)})
	})
	return id, err
}

// TakePushCommands returns up to limit commands of clock not yet sent, oldest first, and marks
// them sent at wall-clock time at. A command is handed out once: if the reply is lost the clock
// never runs it and it stays "sent" without a result, for the operator to queue again.
func (s *Store) TakePushCommands(ctx context.Context, clock string, limit int, at time.Time) ([]PushCommand, error) {
	var rows []pushCommandRow
	err := s.withTx(ctx, func(tx *sqlx.Tx) error {
		rows = nil
		q := "SELECT " + pushCommandCols + " FROM push_commands WHERE clock = ? AND sent_at = '' ORDER BY id LIMIT ?"
		if s.dialect == "mysql" {
			q += " FOR UPDATE"
		}
		if err := tx.SelectContext(ctx, &rows, s.rebind(q), clock, limit); err != nil {
			return fmt.Errorf("store: commands of %s: %w", clock, err)
		}
		for i := range rows {
			if _, err := tx.ExecContext(ctx, s.rebind("UPDATE push_commands SET sent_at = ? WHERE id = ?"), WallString(at), rows[i].ID); err != nil {
				return fmt.Errorf("store: mark command %d sent: %w", rows[i].ID, err)
			}
			rows[i].SentAt = wallTime{T: at, Valid: true}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return commands(rows), nil
}

// HasPushCommands tells cheaply whether clock has commands waiting, so that a poll without any
// costs one read and no write.
func (s *Store) HasPushCommands(ctx context.Context, clock string) (bool, error) {
	var n int
	err := s.r.GetContext(ctx, &n, s.rebind("SELECT COUNT(*) FROM push_commands WHERE clock = ? AND sent_at = ''"), clock)
	if err != nil {
		return false, fmt.Errorf("store: commands of %s: %w", clock, err)
	}
	return n > 0, nil
}

// RecordPushResult records the result a clock sent for one of its commands. A result for an id
// that is not the clock's is ErrNotFound (a clock cannot answer for another).
func (s *Store) RecordPushResult(ctx context.Context, clock string, id, ret int64, result string, at time.Time) error {
	r, err := s.w.ExecContext(ctx, s.rebind("UPDATE push_commands SET done_at = ?, return_code = ?, result = ? WHERE id = ? AND clock = ?"),
		WallString(at), ret, truncate(result, 60000), id, clock)
	if err != nil {
		return fmt.Errorf("store: record result of command %d: %w", id, err)
	}
	if n, err := r.RowsAffected(); err == nil && n == 0 {
		return ErrNotFound
	}
	return nil
}

// PushCommands lists a clock's commands ("" for every clock), newest first, at most limit.
func (s *Store) PushCommands(ctx context.Context, clock string, limit int) ([]PushCommand, error) {
	var rows []pushCommandRow
	q := "SELECT " + pushCommandCols + " FROM push_commands"
	args := []any{}
	if clock != "" {
		q += " WHERE clock = ?"
		args = append(args, clock)
	}
	q += " ORDER BY id DESC LIMIT ?"
	args = append(args, limit)
	if err := s.r.SelectContext(ctx, &rows, s.rebind(q), args...); err != nil {
		return nil, fmt.Errorf("store: commands: %w", err)
	}
	return commands(rows), nil
}

// Retryable tells whether err is a transient conflict between concurrent writers (a MySQL
// deadlock or lock wait timeout): the transaction was rolled back as a whole and may simply run
// again. Many push clocks uploading at once meet it on the shared dirty-days rows.
func Retryable(err error) bool {
	var me *mysql.MySQLError
	return errors.As(err, &me) && (me.Number == 1213 || me.Number == 1205)
}

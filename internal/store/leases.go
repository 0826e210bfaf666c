package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
)

// Leases. Whatever one daemon must do alone — read a clock, run the finalising pass, write the
// monthly report, migrate — is held by a row of the leases table: an owner, an expiry and a token.
// A lease is taken when it is free or expired, and each taking increments its token, so a holder
// knows its tenure by (owner, token). It is renewed while its holder lives. Acting on a lease
// (storing a clock's punches and moving its cursor) first updates the lease row in the same
// transaction, matching owner and token: a holder that lost the lease matches no row and commits
// nothing (fencing). The update is a write on purpose: InnoDB orders it against a concurrent
// takeover by the row lock, and Galera, which replicates no lock and no SELECT ... FOR UPDATE,
// by certifying both writes of one row — one of them fails with 1213 and is retried, finding the
// new token.
//
// Expiry is the daemon's clock in Unix milliseconds: daemons sharing a database keep NTP time,
// and the margin a holder leaves before the expiry (LeaseMargin) is far larger than their skew.

// ErrLeaseHeld is returned by AcquireLease when another owner holds the lease.
var ErrLeaseHeld = errors.New("store: the lease is held by another owner")

// ErrLeaseLost is returned when a lease is no longer held under the token given (it expired and
// another owner took it, or it was released): the work done under it must not be committed.
var ErrLeaseLost = errors.New("store: the lease was lost (expired or taken over)")

// Lease is one tenure of a named lease.
type Lease struct {
	Name    string
	Owner   string
	Token   int64
	Expires time.Time
}

// Held reports whether l is held (by anyone) at t.
func (l Lease) Held(t time.Time) bool { return l.Owner != "" && l.Expires.After(t) }

const leasesDDLSQLite = `CREATE TABLE IF NOT EXISTS leases (
  name TEXT PRIMARY KEY, owner TEXT NOT NULL DEFAULT '', token INTEGER NOT NULL DEFAULT 0,
  expires_ms INTEGER NOT NULL DEFAULT 0, renewed_ms INTEGER NOT NULL DEFAULT 0, uses INTEGER NOT NULL DEFAULT 0)`

const leasesDDLMySQL = `CREATE TABLE IF NOT EXISTS leases (
  name VARCHAR(191) PRIMARY KEY, owner VARCHAR(191) NOT NULL DEFAULT '', token BIGINT NOT NULL DEFAULT 0,
  expires_ms BIGINT NOT NULL DEFAULT 0, renewed_ms BIGINT NOT NULL DEFAULT 0, uses BIGINT NOT NULL DEFAULT 0
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`

func (s *Store) nowMS() int64 { return s.now().UnixMilli() }

func validLease(name, owner string) error {
	if name == "" || len(name) > 191 {
		return fmt.Errorf("%w: lease name %q must be 1 to 191 bytes", ErrBadInput, name)
	}
	if owner == "" || len(owner) > 191 {
		return fmt.Errorf("%w: lease owner %q must be 1 to 191 bytes", ErrBadInput, owner)
	}
	return nil
}

func (s *Store) ensureLease(ctx context.Context, tx *sqlx.Tx, name string) error {
	q := "INSERT INTO leases (name) VALUES (?) ON CONFLICT (name) DO NOTHING"
	if s.dialect == "mysql" {
		q = "INSERT IGNORE INTO leases (name) VALUES (?)"
	}
	if _, err := tx.ExecContext(ctx, s.rebind(q), name); err != nil {
		return fmt.Errorf("store: lease %s: %w", name, err)
	}
	return nil
}

// AcquireLease takes lease name for owner for d: when it is free or expired it is taken under a
// new token; when owner holds it already it is renewed under the same token. ErrLeaseHeld when
// another owner holds it.
func (s *Store) AcquireLease(ctx context.Context, name, owner string, d time.Duration) (Lease, error) {
	if err := validLease(name, owner); err != nil {
		return Lease{}, err
	}
	var l Lease
	err := s.withTx(ctx, func(tx *sqlx.Tx) error {
		now := s.nowMS()
		until := now + d.Milliseconds()
		// The row is inserted only when missing: on MySQL an INSERT IGNORE of an existing key
		// takes a shared lock, which two takers would then both try to upgrade (a deadlock).
		var n int
		if err := tx.GetContext(ctx, &n, s.rebind("SELECT COUNT(*) FROM leases WHERE name = ?"), name); err != nil {
			return fmt.Errorf("store: lease %s: %w", name, err)
		}
		if n == 0 {
			if err := s.ensureLease(ctx, tx, name); err != nil {
				return err
			}
		}
		r, err := tx.ExecContext(ctx, s.rebind("UPDATE leases SET owner = ?, token = token + 1, expires_ms = ?, renewed_ms = ?, uses = uses + 1 WHERE name = ? AND (owner = '' OR expires_ms <= ?)"),
			owner, until, now, name, now)
		if err != nil {
			return fmt.Errorf("store: take lease %s: %w", name, err)
		}
		if k, _ := r.RowsAffected(); k == 0 {
			r, err = tx.ExecContext(ctx, s.rebind("UPDATE leases SET expires_ms = ?, renewed_ms = ?, uses = uses + 1 WHERE name = ? AND owner = ? AND expires_ms > ?"),
				until, now, name, owner, now)
			if err != nil {
				return fmt.Errorf("store: renew lease %s: %w", name, err)
			}
			if k, _ := r.RowsAffected(); k == 0 {
				return ErrLeaseHeld
			}
		}
		var tok int64
		if err := tx.GetContext(ctx, &tok, s.rebind("SELECT token FROM leases WHERE name = ?"), name); err != nil {
			return fmt.Errorf("store: lease %s: %w", name, err)
		}
		l = Lease{Name: name, Owner: owner, Token: tok, Expires: time.UnixMilli(until)}
		return nil
	})
	return l, err
}

// RenewLeases extends each lease of ls still held under its token to now + d, in one
// transaction, and returns the renewed ones; a lease missing from the answer was lost.
func (s *Store) RenewLeases(ctx context.Context, ls []Lease, d time.Duration) ([]Lease, error) {
	var out []Lease
	err := s.withTx(ctx, func(tx *sqlx.Tx) error {
		out = out[:0]
		now := s.nowMS()
		until := now + d.Milliseconds()
		q := s.rebind("UPDATE leases SET expires_ms = ?, renewed_ms = ?, uses = uses + 1 WHERE name = ? AND owner = ? AND token = ? AND expires_ms > ?")
		for _, l := range ls {
			r, err := tx.ExecContext(ctx, q, until, now, l.Name, l.Owner, l.Token, now)
			if err != nil {
				return fmt.Errorf("store: renew lease %s: %w", l.Name, err)
			}
			if k, _ := r.RowsAffected(); k == 1 {
				l.Expires = time.UnixMilli(until)
				out = append(out, l)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ReleaseLease gives l up at once (a daemon stopping, or handing a clock to another daemon), so
// that the next taker need not wait for it to expire. Releasing a lease no longer held is no error.
func (s *Store) ReleaseLease(ctx context.Context, l Lease) error {
	return s.withTx(ctx, func(tx *sqlx.Tx) error {
		_, err := tx.ExecContext(ctx, s.rebind("UPDATE leases SET owner = '', expires_ms = 0, uses = uses + 1 WHERE name = ? AND owner = ? AND token = ?"),
			l.Name, l.Owner, l.Token)
		if err != nil {
			return fmt.Errorf("store: release lease %s: %w", l.Name, err)
		}
		return nil
	})
}

// Leases lists the leases whose name starts with prefix, by name; an expired one has its owner
// as last recorded (Held tells).
func (s *Store) Leases(ctx context.Context, prefix string) ([]Lease, error) {
	var rows []struct {
		Name    string `db:"name"`
		Owner   string `db:"owner"`
		Token   int64  `db:"token"`
		Expires int64  `db:"expires_ms"`
	}
	// A range, not LIKE: names hold '_' and '/', and the range uses the primary key.
	if err := s.r.SelectContext(ctx, &rows, s.rebind("SELECT name, owner, token, expires_ms FROM leases WHERE name >= ? AND name < ? ORDER BY name"),
		prefix, prefix+"\U0010FFFF"); err != nil {
		return nil, fmt.Errorf("store: leases: %w", err)
	}
	out := make([]Lease, len(rows))
	for i, r := range rows {
		out[i] = Lease{Name: r.Name, Owner: r.Owner, Token: r.Token, Expires: time.UnixMilli(r.Expires)}
	}
	return out, nil
}

// fenceMargin is how long a lease must still run for a fenced commit: what the holder does after
// the commit (clear an Anviz clock's marks) happens before the lease can pass to another.
const fenceMargin = time.Second

// fence proves, inside tx, that l is still held under its token (and for at least fenceMargin),
// by writing its row (see the comment at the top of this file); ErrLeaseLost when it is not.
func (s *Store) fence(ctx context.Context, tx *sqlx.Tx, l *Lease) error {
	r, err := tx.ExecContext(ctx, s.rebind("UPDATE leases SET uses = uses + 1 WHERE name = ? AND owner = ? AND token = ? AND expires_ms > ?"),
		l.Name, l.Owner, l.Token, s.nowMS()+fenceMargin.Milliseconds())
	if err != nil {
		return fmt.Errorf("store: check lease %s: %w", l.Name, err)
	}
	if k, _ := r.RowsAffected(); k != 1 {
		return fmt.Errorf("%w: %s (token %d of %s)", ErrLeaseLost, l.Name, l.Token, l.Owner)
	}
	return nil
}

// Leader holds one named lease for as long as it can: it takes it when free, renews it every
// third of its duration, and tells (Held) whether this process holds it now. Singletons (the
// monthly report, the finalising pass) run only where Held is true.
type Leader struct {
	st    *Store
	name  string
	owner string
	d     time.Duration
	log   *slog.Logger

	mu   sync.Mutex
	held Lease
	// OnChange, if set before Run, is called with true when the lease is taken and false when lost.
	OnChange func(held bool)
}

// NewLeader returns a Leader of lease name for owner, each tenure lasting d.
func NewLeader(st *Store, name, owner string, d time.Duration, log *slog.Logger) *Leader {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Leader{st: st, name: name, owner: owner, d: d, log: log.With("lease", name)}
}

// Held reports whether this process holds the lease now (with its margin to spare).
func (l *Leader) Held() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.held.Owner != "" && time.Until(l.held.Expires) > LeaseMargin(l.d)
}

// Run takes and renews the lease until ctx ends, then releases it.
func (l *Leader) Run(ctx context.Context) {
	for {
		l.Try(ctx)
		wait := l.d / 3
		wait = time.Duration(float64(wait) * (0.8 + 0.4*rand.Float64()))
		select {
		case <-ctx.Done():
			l.mu.Lock()
			h := l.held
			l.held = Lease{}
			l.mu.Unlock()
			if h.Owner != "" {
				rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
				if err := l.st.ReleaseLease(rctx, h); err != nil {
					l.log.Warn("lease not released; it expires by itself", "err", err)
				}
				cancel()
			}
			return
		case <-time.After(wait):
		}
	}
}

// Try takes or renews the lease once.
func (l *Leader) Try(ctx context.Context) {
	got, err := l.st.AcquireLease(ctx, l.name, l.owner, l.d)
	l.mu.Lock()
	was := l.held.Owner != ""
	if err != nil {
		if !errors.Is(err, ErrLeaseHeld) && ctx.Err() == nil {
			l.log.Warn("lease not renewed", "err", err)
		}
		// Keep a held lease until its margin runs out: one failed renewal is not a loss.
		if !errors.Is(err, ErrLeaseHeld) && was && time.Until(l.held.Expires) > LeaseMargin(l.d) {
			l.mu.Unlock()
			return
		}
		l.held = Lease{}
	} else {
		l.held = got
	}
	now := l.held.Owner != ""
	l.mu.Unlock()
	if now != was {
		if now {
			l.log.Info("lease taken", "owner", l.owner, "token", got.Token)
		} else {
			l.log.Info("lease lost", "owner", l.owner)
		}
		if l.OnChange != nil {
			l.OnChange(now)
		}
	}
}

// LeaseMargin is how long before its expiry a holder stops acting on a lease of duration d: what
// it started must end (its clock session closed, its Anviz marks cleared) before another daemon
// may take the lease.
func LeaseMargin(d time.Duration) time.Duration { return d / 4 }

// LeaseName joins the parts of a lease name ("clock/" + name).
func LeaseName(parts ...string) string { return strings.Join(parts, "/") }

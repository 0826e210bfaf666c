package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"
)

// The web's accounts. The store keeps password hashes (bcrypt, made by the caller) and never sees
// a password; the audit log records that a password changed, never the hash.

// ErrExists is returned when adding a user whose name is taken.
var ErrExists = errors.New("store: already exists")

// Roles of a web user.
const (
	RoleAdmin      = "admin"       // everything, accounts included
	RoleHR         = "hr"          // months: reports, closing, corrections; all entries
	RoleSupervisor = "supervisor"  // the supervision section (督查科): all windows, all entries
	RoleWindowHead = "window_head" // sees and enters only for their own window
	// Issue 17: the people of the approval workflow.
	RoleCenterLeader = "center_leader" // 政务中心分管领导: approves requests of every window
	RoleUnitLeader   = "unit_leader"   // 窗口单位领导: approves and stamps the requests of their unit
	RoleStaff        = "staff"         // a staff member of the roster: their own month and requests
)

// Roles lists the roles in the order the CLI names them.
var Roles = []string{RoleAdmin, RoleHR, RoleSupervisor, RoleWindowHead, RoleCenterLeader, RoleUnitLeader, RoleStaff}

// User is a web account.
type User struct {
	Name         string `db:"name"`
	PasswordHash string `db:"password_hash"`
	Role         string `db:"role"`
	Window       string `db:"window_name"` // the window of a window head, else ""
	Disabled     bool   `db:"disabled"`
	StaffID      string `db:"staff_id"`  // the roster staff member of a staff account (a window head may have one too)
	Unit         string `db:"unit_name"` // the unit of a unit leader, else ""
	Email        string `db:"email"`     // where notices by e-mail go; "" for none
}

// userCols are the columns of User, the hash left to the caller.
const userCols = "name, role, window_name, disabled, staff_id, unit_name, email"

func checkUser(u User) error {
	switch {
	case u.Name == "" || len(u.Name) > 100 || !utf8.ValidString(u.Name):
		return fmt.Errorf("%w: user name must be 1 to 100 bytes of UTF-8", ErrBadInput)
	case u.PasswordHash == "":
		return fmt.Errorf("%w: user %s has no password hash", ErrBadInput, u.Name)
	case u.Role == RoleWindowHead && u.Window == "":
		return fmt.Errorf("%w: a window_head needs the window they head", ErrBadInput)
	case u.Role != RoleWindowHead && u.Window != "":
		return fmt.Errorf("%w: only a window_head has a window", ErrBadInput)
	case u.Role == RoleUnitLeader && u.Unit == "":
		return fmt.Errorf("%w: a unit_leader needs the unit they lead", ErrBadInput)
	case u.Role != RoleUnitLeader && u.Unit != "":
		return fmt.Errorf("%w: only a unit_leader has a unit", ErrBadInput)
	case u.Role == RoleStaff && u.StaffID == "":
		return fmt.Errorf("%w: a staff account needs the staff id of the roster", ErrBadInput)
	case len(u.Email) > 254 || (u.Email != "" && !strings.Contains(u.Email, "@")):
		return fmt.Errorf("%w: e-mail address %q is not an address", ErrBadInput, u.Email)
	}
	for _, r := range Roles {
		if r == u.Role {
			return nil
		}
	}
	return fmt.Errorf("%w: role %q: want %s", ErrBadInput, u.Role, strings.Join(Roles, ", "))
}

// AddUser adds an account, audited as actor. ErrExists when the name is taken.
func (s *Store) AddUser(ctx context.Context, u User, actor string) error {
	if err := checkUser(u); err != nil {
		return err
	}
	now := s.nowWall()
	return s.withTx(ctx, func(tx *sqlx.Tx) error {
		var n int
		if err := tx.GetContext(ctx, &n, s.rebind("SELECT COUNT(*) FROM users WHERE name = ?"), u.Name); err != nil {
			return fmt.Errorf("store: users: %w", err)
		}
		if n > 0 {
			return fmt.Errorf("%w: user %s", ErrExists, u.Name)
		}
		_, err := tx.ExecContext(ctx, s.rebind("INSERT INTO users (name, password_hash, role, window_name, disabled, staff_id, unit_name, email, created_at, updated_at) VALUES (?,?,?,?,0,?,?,?,?,?)"),
			u.Name, u.PasswordHash, u.Role, u.Window, u.StaffID, u.Unit, u.Email, now, now)
		if err != nil {
			return fmt.Errorf("store: add user %s: %w", u.Name, err)
		}
		return s.audit(ctx, tx, AuditEntry{At: now, Actor: actor, Action: "add", Entity: "user", EntityID: u.Name,
			NewValue: jsonString(map[string]any{"role": u.Role, "window": u.Window, "staff_id": u.StaffID, "unit": u.Unit, "email": u.Email})})
	})
}

// GetUser returns an account or ErrNotFound.
func (s *Store) GetUser(ctx context.Context, name string) (User, error) {
	var u User
	err := s.r.GetContext(ctx, &u, s.rebind("SELECT password_hash, "+userCols+" FROM users WHERE name = ?"), name)
	return u, notFound(err)
}

// ListUsers returns every account by name, hashes left out.
func (s *Store) ListUsers(ctx context.Context) ([]User, error) {
	var out []User
	if err := s.r.SelectContext(ctx, &out, "SELECT '' AS password_hash, "+userCols+" FROM users ORDER BY name"); err != nil {
		return nil, fmt.Errorf("store: users: %w", err)
	}
	return out, nil
}

// SetPassword replaces a user's password hash and ends their sessions, audited (without the hash).
func (s *Store) SetPassword(ctx context.Context, name, hash, actor string) error {
	if hash == "" {
		return fmt.Errorf("%w: empty password hash", ErrBadInput)
	}
	return s.updateUser(ctx, name, actor, "passwd", "password_hash = ?", hash)
}

// DisableUser disables an account and ends its sessions, audited. The account stays, for the
// audit log's sake.
func (s *Store) DisableUser(ctx context.Context, name, actor string) error {
	return s.updateUser(ctx, name, actor, "disable", "disabled = ?", 1)
}

func (s *Store) updateUser(ctx context.Context, name, actor, action, set string, v any) error {
	now := s.nowWall()
	return s.withTx(ctx, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, s.rebind("UPDATE users SET "+set+", updated_at = ? WHERE name = ?"), v, now, name)
		if err != nil {
			return fmt.Errorf("store: %s %s: %w", action, name, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("store: user %q: %w", name, ErrNotFound)
		}
		if _, err := tx.ExecContext(ctx, s.rebind("DELETE FROM sessions WHERE user_name = ?"), name); err != nil {
			return fmt.Errorf("store: end the sessions of %s: %w", name, err)
		}
		return s.audit(ctx, tx, AuditEntry{At: now, Actor: actor, Action: action, Entity: "user", EntityID: name, NewValue: action + "d"})
	})
}

// --- sessions ---

// Session is a logged-in browser or API client. IDHash is the SHA-256 (hex) of the cookie's token.
type Session struct {
	IDHash  string
	User    User // PasswordHash left empty
	CSRF    string
	Expires time.Time // wall clock
}

// CreateSession stores a session and audits the login.
func (s *Store) CreateSession(ctx context.Context, idHash, user, csrf string, expires time.Time, from string) error {
	now := s.nowWall()
	return s.withTx(ctx, func(tx *sqlx.Tx) error {
		_, err := tx.ExecContext(ctx, s.rebind("INSERT INTO sessions (id_hash, user_name, csrf, created_at, expires_at) VALUES (?,?,?,?,?)"),
			idHash, user, csrf, now, WallString(expires))
		if err != nil {
			return fmt.Errorf("store: create session: %w", err)
		}
		return s.audit(ctx, tx, AuditEntry{At: now, Actor: user, Action: "login", Entity: "session", EntityID: user, NewValue: from})
	})
}

// GetSession returns the live session of idHash with its user, or ErrNotFound when it does not
// exist, has expired, or its user is disabled.
func (s *Store) GetSession(ctx context.Context, idHash string) (Session, error) {
	var row struct {
		User
		CSRF    string   `db:"csrf"`
		Expires wallTime `db:"expires_at"`
	}
	err := s.r.GetContext(ctx, &row, s.rebind(`SELECT u.name, '' AS password_hash, u.role, u.window_name, u.disabled, u.staff_id, u.unit_name, u.email, x.csrf, x.expires_at
		FROM sessions x JOIN users u ON u.name = x.user_name WHERE x.id_hash = ? AND x.expires_at > ? AND u.disabled = 0`), idHash, s.nowWall())
	if err != nil {
		return Session{}, notFound(err)
	}
	return Session{IDHash: idHash, User: row.User, CSRF: row.CSRF, Expires: row.Expires.T}, nil
}

// DeleteSession ends a session (logout), audited when there was one.
func (s *Store) DeleteSession(ctx context.Context, idHash, user string) error {
	return s.withTx(ctx, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, s.rebind("DELETE FROM sessions WHERE id_hash = ?"), idHash)
		if err != nil {
			return fmt.Errorf("store: end session: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		return s.audit(ctx, tx, AuditEntry{Actor: user, Action: "logout", Entity: "session", EntityID: user})
	})
}

// DeleteExpiredSessions removes sessions past their expiry and login failures older than keep.
func (s *Store) DeleteExpiredSessions(ctx context.Context, keep time.Duration) error {
	if _, err := s.w.ExecContext(ctx, s.rebind("DELETE FROM sessions WHERE expires_at <= ?"), s.nowWall()); err != nil {
		return fmt.Errorf("store: expire sessions: %w", err)
	}
	old := WallString(Wall(s.now().Add(-keep), s.loc))
	if _, err := s.w.ExecContext(ctx, s.rebind("DELETE FROM login_failures WHERE at < ?"), old); err != nil {
		return fmt.Errorf("store: expire login failures: %w", err)
	}
	return nil
}

// RecordLoginFailure counts a failed login of user from ip.
func (s *Store) RecordLoginFailure(ctx context.Context, user, ip string) error {
	if len(user) > 100 {
		user = user[:100]
	}
	_, err := s.w.ExecContext(ctx, s.rebind("INSERT INTO login_failures (user_name, ip, at) VALUES (?,?,?)"), user, ip, s.nowWall())
	if err != nil {
		return fmt.Errorf("store: record login failure: %w", err)
	}
	return nil
}

// LoginFailures counts the failed logins since the wall-clock time since, for user and for ip.
func (s *Store) LoginFailures(ctx context.Context, user, ip string, since time.Time) (byUser, byIP int, err error) {
	at := WallString(since)
	if err = s.r.GetContext(ctx, &byUser, s.rebind("SELECT COUNT(*) FROM login_failures WHERE user_name = ? AND at >= ?"), user, at); err != nil {
		return 0, 0, fmt.Errorf("store: login failures: %w", err)
	}
	if err = s.r.GetContext(ctx, &byIP, s.rebind("SELECT COUNT(*) FROM login_failures WHERE ip = ? AND at >= ?"), ip, at); err != nil {
		return 0, 0, fmt.Errorf("store: login failures: %w", err)
	}
	return byUser, byIP, nil
}

// ClearLoginFailures forgets user's failures after a successful login.
func (s *Store) ClearLoginFailures(ctx context.Context, user string) error {
	_, err := s.w.ExecContext(ctx, s.rebind("DELETE FROM login_failures WHERE user_name = ?"), user)
	return err
}

// Now is the store's current time as wall clock (tests set the store's clock).
func (s *Store) Now() time.Time { return Wall(s.now(), s.loc) }

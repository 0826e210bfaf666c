package store

import (
	"context"
	"fmt"
	"time"
)

// LoginAttempt is a login attempt counted before its password is checked: the row is written
// first and the count read after, so that of any number of attempts racing (in one daemon or in
// several on one database) the n-th to be written sees at least n. Counting first and recording
// after a failed check let 60 parallel guesses all reach bcrypt.
type LoginAttempt struct {
	ID             int64
	ByUser, ByAddr int // attempts and failures of the user name and of the address since the window opened, this one included
}

// ReserveLoginAttempt records an attempt of user from ip and counts the attempts since since.
// The caller releases it (ReleaseLoginAttempt) when the login succeeds or is refused unchecked,
// and leaves it as a failure when the password was wrong.
func (s *Store) ReserveLoginAttempt(ctx context.Context, user, ip string, since time.Time) (LoginAttempt, error) {
	if len(user) > 100 {
		user = user[:100]
	}
	var a LoginAttempt
	res, err := s.w.ExecContext(ctx, s.rebind("INSERT INTO login_failures (user_name, ip, at) VALUES (?,?,?)"), user, ip, s.nowWall())
	if err == nil {
		a.ID, err = res.LastInsertId()
	}
	if err != nil {
		return a, fmt.Errorf("store: record login attempt: %w", err)
	}
	at := WallString(since)
	// Read on the writer: the count must see the row just written.
	if err := s.w.GetContext(ctx, &a.ByUser, s.rebind("SELECT COUNT(*) FROM login_failures WHERE user_name = ? AND at >= ?"), user, at); err != nil {
		return a, fmt.Errorf("store: login attempts: %w", err)
	}
	if err := s.w.GetContext(ctx, &a.ByAddr, s.rebind("SELECT COUNT(*) FROM login_failures WHERE ip = ? AND at >= ?"), ip, at); err != nil {
		return a, fmt.Errorf("store: login attempts: %w", err)
	}
	return a, nil
}

// ReleaseLoginAttempt forgets an attempt that is not a failure.
func (s *Store) ReleaseLoginAttempt(ctx context.Context, id int64) error {
	if _, err := s.w.ExecContext(ctx, s.rebind("DELETE FROM login_failures WHERE id = ?"), id); err != nil {
		return fmt.Errorf("store: release login attempt: %w", err)
	}
	return nil
}

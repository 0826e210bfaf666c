package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/kaoqin/kaoqin/internal/store"
	"github.com/kaoqin/kaoqin/internal/web"
)

// The web's accounts: `kaoqin user add|passwd|disable`. The password is read from the first line
// of standard input, never from an argument (arguments show in ps and in shell history) and never
// echoed or logged.

// stdin is where the password is read; tests replace it.
var stdin io.Reader = os.Stdin

func readPassword(r io.Reader) (string, error) {
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && !(errors.Is(err, io.EOF) && line != "") {
		return "", errors.New("no password on standard input (pipe it in, e.g. printf '%s\\n' \"$PW\" | kaoqin user …)")
	}
	return strings.TrimRight(line, "\r\n"), nil
}

func (e *env) userCmd(ctx context.Context, name, usage string, args []string, extra func(f *flags), run func(s *store.Store, user string) error) int {
	cmd := "user " + name
	f := e.flags(cmd, usage)
	f.Bool("password-stdin", true, "read the password from the first line of standard input (the only way; accepted for clarity)")
	if extra != nil {
		extra(f)
	}
	pos, code, ok := f.parseAll(args)
	if !ok {
		return code
	}
	if len(pos) != 1 {
		fmt.Fprintf(e.stderr, "kaoqin %s: give exactly one user name\n", cmd)
		return exitUsage
	}
	_, s, code, ok := f.openStore(ctx)
	if !ok {
		return code
	}
	defer s.Close()
	err := run(s, pos[0])
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, store.ErrBadInput), errors.Is(err, store.ErrExists), errors.Is(err, store.ErrNotFound), errors.Is(err, errUserInput):
		fmt.Fprintf(e.stderr, "kaoqin %s: %v\n", cmd, err)
		return exitUsage
	}
	fmt.Fprintf(e.stderr, "kaoqin %s: %v\n", cmd, err)
	return exitFail
}

var errUserInput = errors.New("bad input")

func hashFromStdin() (string, error) {
	pw, err := readPassword(stdin)
	if err != nil {
		return "", fmt.Errorf("%w: %v", errUserInput, err)
	}
	h, err := web.HashPassword(pw)
	if err != nil {
		return "", fmt.Errorf("%w: %v", errUserInput, err)
	}
	return h, nil
}

func runUserAdd(ctx context.Context, e *env, args []string) int {
	var role, window, actor, staffID, unit, email *string
	return e.userCmd(ctx, "add", "user add [--config FILE] --role admin|hr|supervisor|window_head|center_leader|unit_leader|staff [--window W] [--unit U] [--staff ID] [--email ADDR] NAME < password\n\n"+
		"Adds a web user. The password (at least 8 characters) is the first line of standard input.\n"+
		"A window_head sees and enters only for --window; a unit_leader approves for --unit; a staff\n"+
		"account is the roster's --staff ID. --email receives the notices meant for the account.", args,
		func(f *flags) {
			role = f.String("role", "", "admin, hr, supervisor (督查科) or window_head")
			window = f.String("window", "", "the window a window_head heads")
			actor = f.String("actor", defaultActor(), "who adds the user, for the audit log")
			staffID = f.String("staff", "", "the roster staff id of a staff account (a window head may have one too)")
			unit = f.String("unit", "", "the unit a unit_leader leads")
			email = f.String("email", "", "where the account's notices go by e-mail")
		},
		func(s *store.Store, name string) error {
			if *role == "" {
				return fmt.Errorf("%w: --role is required (admin, hr, supervisor or window_head)", errUserInput)
			}
			h, err := hashFromStdin()
			if err != nil {
				return err
			}
			if err := s.AddUser(ctx, store.User{Name: name, PasswordHash: h, Role: *role, Window: *window,
				StaffID: *staffID, Unit: *unit, Email: *email}, *actor); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "user %s added (%s)\n", name, *role)
			return nil
		})
}

func runUserPasswd(ctx context.Context, e *env, args []string) int {
	var actor *string
	return e.userCmd(ctx, "passwd", "user passwd [--config FILE] NAME < password\n\nSets a web user's password (first line of standard input) and ends their sessions.", args,
		func(f *flags) { actor = f.String("actor", defaultActor(), "who changes it, for the audit log") },
		func(s *store.Store, name string) error {
			h, err := hashFromStdin()
			if err != nil {
				return err
			}
			if err := s.SetPassword(ctx, name, h, *actor); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "password of %s changed; their sessions ended\n", name)
			return nil
		})
}

func runUserDisable(ctx context.Context, e *env, args []string) int {
	var actor *string
	return e.userCmd(ctx, "disable", "user disable [--config FILE] NAME\n\nDisables a web user and ends their sessions (the account stays, for the audit log).", args,
		func(f *flags) { actor = f.String("actor", defaultActor(), "who disables it, for the audit log") },
		func(s *store.Store, name string) error {
			if err := s.DisableUser(ctx, name, *actor); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "user %s disabled; their sessions ended\n", name)
			return nil
		})
}

package cli

import (
	"context"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/kaoqin/kaoqin/internal/store"
)

func withStdin(t *testing.T, s string) {
	t.Helper()
	old := stdin
	stdin = strings.NewReader(s)
	t.Cleanup(func() { stdin = old })
}

func TestUserCommands(t *testing.T) {
	backendsFor(t, func(t *testing.T, backend string) {
		ctx := context.Background()
		cfg, s := withStaff(t, backend)
		withStdin(t, "s3cret-pass\n")
		if code, out, errs := run(t, "user", "add", "--config", cfg, "--role", "window_head", "--window", "民政", "zhang", "--password-stdin"); code != 0 {
			t.Fatalf("user add: %d %s %s", code, out, errs)
		}
		u, err := s.GetUser(ctx, "zhang")
		if err != nil || u.Role != store.RoleWindowHead || u.Window != "民政" {
			t.Fatalf("stored user: %+v %v", u, err)
		}
		if bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), []byte("s3cret-pass")) != nil {
			t.Errorf("the stored hash does not match the password")
		}
		bad := []struct {
			args  []string
			stdin string
			want  string
		}{
			{[]string{"zhang", "--role", "hr"}, "another-pass\n", "already exists"},
			{[]string{"li", "--role", "boss"}, "another-pass\n", `role "boss"`},
			{[]string{"li", "--role", "window_head"}, "another-pass\n", "needs the window"},
			{[]string{"li", "--role", "hr"}, "short\n", "at least 8"},
			{[]string{"li", "--role", "hr"}, "", "no password on standard input"},
			{[]string{"li"}, "another-pass\n", "--role is required"},
		}
		for _, b := range bad {
			withStdin(t, b.stdin)
			code, _, errs := run(t, append([]string{"user", "add", "--config", cfg}, b.args...)...)
			if code != exitUsage || !strings.Contains(errs, b.want) {
				t.Errorf("user add %v: got %d %q, want 2 and %q", b.args, code, errs, b.want)
			}
			if strings.Contains(errs, "another-pass") || strings.Contains(errs, "short") {
				t.Errorf("a password was echoed: %q", errs)
			}
		}
		// A session of zhang's ends with a password change and with disabling.
		if err := s.CreateSession(ctx, strings.Repeat("a", 64), "zhang", strings.Repeat("c", 64), s.Now().Add(time.Hour), "test"); err != nil {
			t.Fatal(err)
		}
		withStdin(t, "new-secret-pass\n")
		if code, _, errs := run(t, "user", "passwd", "--config", cfg, "zhang"); code != 0 {
			t.Fatalf("passwd: %d %s", code, errs)
		}
		if _, err := s.GetSession(ctx, strings.Repeat("a", 64)); err != store.ErrNotFound {
			t.Errorf("session after passwd: got %v, want ErrNotFound", err)
		}
		u, _ = s.GetUser(ctx, "zhang")
		if bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), []byte("new-secret-pass")) != nil {
			t.Errorf("passwd did not change the hash")
		}
		if code, _, errs := run(t, "user", "disable", "--config", cfg, "zhang"); code != 0 {
			t.Fatalf("disable: %d %s", code, errs)
		}
		if u, _ = s.GetUser(ctx, "zhang"); !u.Disabled {
			t.Errorf("user not disabled")
		}
		if code, _, _ := run(t, "user", "disable", "--config", cfg, "nobody"); code != exitUsage {
			t.Errorf("disable nobody: got %d, want 2", code)
		}
		log, _ := s.AuditLog(ctx, 20)
		var actions []string
		for _, e := range log {
			if e.Entity == "user" {
				actions = append(actions, e.Action)
				if strings.Contains(e.NewValue, "$2") || strings.Contains(e.NewValue, "pass") && e.Action != "passwd" {
					t.Errorf("audit holds a hash or password: %+v", e)
				}
			}
		}
		if got := strings.Join(actions, ","); got != "disable,passwd,add" {
			t.Errorf("audit of user actions: got %s, want disable,passwd,add", got)
		}
	})
}

// TestReportDayFromStore: without input files, report day reads the stored results and clock reads.
func TestReportDayFromStore(t *testing.T) {
	ctx := context.Background()
	cfg, s := withStaff(t, "sqlite")
	at := func(v string) time.Time { t, _ := time.Parse(store.WallLayout, v); return t }
	if _, err := s.InsertPunches(ctx, []store.Punch{{Clock: "hall", UserID: "1", Time: at("2026-07-15 08:42:00"), StaffID: "1001"}}, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.TouchClockRead(ctx, "hall", at("2026-07-15 09:00:00")); err != nil {
		t.Fatal(err)
	}
	if code, _, errs := run(t, "recompute", "--config", cfg, "--from", "2026-07-15", "--to", "2026-07-15"); code != 0 {
		t.Fatalf("recompute: %d %s", code, errs)
	}
	code, out, errs := run(t, "report", "day", "--config", cfg, "--date", "2026-07-15", "--at", "2026-07-15 10:40")
	if code != 0 {
		t.Fatalf("report day: %d %s", code, errs)
	}
	for _, want := range []string{"1001 甲  上午：08:42签到，迟到12分钟", "1002 乙  上午：签到缺卡", "所有打卡机均已在 08:00 打卡时段开始后读取"} {
		if !strings.Contains(out, want) {
			t.Errorf("report day lacks %q:\n%s", want, out)
		}
	}
	if code, _, errs := run(t, "report", "day", "--config", cfg, "--date", "2026-07-15", "--clocks", "x.csv"); code != exitUsage || !strings.Contains(errs, "--clocks goes with the input files") {
		t.Errorf("--clocks without files: got %d %q", code, errs)
	}
}

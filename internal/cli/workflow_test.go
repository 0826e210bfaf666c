package cli

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/kaoqin/kaoqin/attendance"
	"github.com/kaoqin/kaoqin/internal/store"
	"github.com/kaoqin/kaoqin/leave"
	"github.com/kaoqin/kaoqin/workflow"
)

func TestWorkflowCommands(t *testing.T) {
	backendsFor(t, func(t *testing.T, backend string) {
		ctx := context.Background()
		cfg, s := withStaff(t, backend)
		// Staff accounts from the roster: one per staff member, printed once; a second run adds none.
		code, out, errs := run(t, "user", "roster", "--config", cfg)
		if code != 0 || strings.Count(out, "\n") != 2 || !strings.Contains(errs, "2 staff accounts created") {
			t.Fatalf("user roster: %d %q %q", code, out, errs)
		}
		if code, out, _ := run(t, "user", "roster", "--config", cfg); code != 0 || out != "" {
			t.Errorf("second user roster: %d %q, want nothing new", code, out)
		}
		u, err := s.GetUser(ctx, "1001")
		if err != nil || u.Role != store.RoleStaff || u.StaffID != "1001" {
			t.Fatalf("staff account: %+v %v", u, err)
		}
		withStdin(t, "head-password\n")
		if code, _, errs := run(t, "user", "add", "--config", cfg, "--role", "window_head", "--window", "民政", "--email", "head@center.example", "head"); code != 0 {
			t.Fatalf("user add head: %s", errs)
		}
		withStdin(t, "unit-password\n")
		if code, _, errs := run(t, "user", "add", "--config", cfg, "--role", "unit_leader", "head2"); code != exitUsage || !strings.Contains(errs, "needs the unit") {
			t.Errorf("unit leader without --unit: %d %q", code, errs)
		}
		// A request filed through the service, decided from the command line.
		rules := attendance.DefaultRules()
		svc := &workflow.Service{Store: s, Rules: func() *attendance.Rules { return &rules }}
		id, _, err := svc.File(ctx, workflow.Request{Kind: workflow.KindLeave, StaffID: "1001", Type: leave.Personal,
			Start: wallAt("2026-07-07 08:30"), End: wallAt("2026-07-07 10:00"), FiledAt: wallAt("2026-07-06 09:00"), Reason: "办证"}, nil, "1001")
		if err != nil {
			t.Fatal(err)
		}
		if code, out, _ := run(t, "requests", "list", "--config", cfg, "--state", "pending"); code != 0 || !strings.Contains(out, "window_head") {
			t.Errorf("requests list: %d %q", code, out)
		}
		ids := itoa64(id)
		if code, _, errs := run(t, "requests", "decide", "--config", cfg, "--as", "1002", "--approve", ids); code != exitUsage || !strings.Contains(errs, "不能处理") {
			t.Errorf("decide by a staff member: %d %q", code, errs)
		}
		code, out, errs = run(t, "requests", "decide", "--config", cfg, "--as", "head", "--approve", ids)
		if code != 0 || !strings.Contains(out, "waiting for center_leader") {
			t.Errorf("decide by the head: %d %q %q", code, out, errs)
		}
		if code, _, _ := run(t, "requests", "decide", "--config", cfg, "--as", "head", ids); code != exitUsage {
			t.Errorf("decide with neither --approve nor --reject: %d", code)
		}
		// Balances.
		if code, out, errs := run(t, "balance", "set", "--config", cfg, "1001", "2026", "7.5"); code != 0 || !strings.Contains(out, "7.5") {
			t.Errorf("balance set: %d %q %q", code, out, errs)
		}
		if code, _, errs := run(t, "balance", "set", "--config", cfg, "1001", "2026", "7.3"); code != exitUsage || !strings.Contains(errs, "half days") {
			t.Errorf("balance set 7.3: %d %q", code, errs)
		}
		if code, out, _ := run(t, "balance", "list", "--config", cfg, "--year", "2026"); code != 0 || !strings.Contains(out, "7.5") || !strings.Contains(out, "1002") {
			t.Errorf("balance list: %d %q", code, out)
		}
		// The head's notice waits in the outbox, listed.
		if err := s.QueueNotices(ctx, []store.Notice{{Key: "k", Kind: "request_waiting", Channel: "email", Target: "head@center.example", Subject: "待审批", Body: "b"}}); err != nil {
			t.Fatal(err)
		}
		if code, out, _ := run(t, "notices", "list", "--config", cfg, "--unsent"); code != 0 || !strings.Contains(out, "head@center.example") {
			t.Errorf("notices list: %d %q", code, out)
		}
		// With no channel configured, sending fails each notice and keeps it for later.
		if code, out, _ := run(t, "notices", "send", "--config", cfg); code != 0 || !strings.Contains(out, "0 notices sent") {
			t.Errorf("notices send without channels: %d %q", code, out)
		}
		ns, _ := s.ListNotices(ctx, store.NoticeFilter{Unsent: true})
		if len(ns) != 1 || !strings.Contains(ns[0].LastError, "not configured") {
			t.Errorf("unsent notice: %+v", ns)
		}
	})
}

func wallAt(s string) time.Time {
	t, err := time.Parse("2006-01-02 15:04", s)
	if err != nil {
		panic(err)
	}
	return t
}

func itoa64(n int64) string {
	var b []byte
	for {
		b = append([]byte{byte('0' + n%10)}, b...)
		if n /= 10; n == 0 {
			return string(b)
		}
	}
}

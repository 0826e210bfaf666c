package cli

import (
	"context"
	"regexp"
	"strings"
	"testing"
)

// A withdrawn slip stops excusing: the day it covered is recomputed and the segment is no longer
// LEAVE; the slip is kept, marked, and the audit log has the old slip and the reason.
func TestLeaveCancel(t *testing.T) {
	backendsFor(t, func(t *testing.T, backend string) {
		ctx := context.Background()
		cfg, s := withStaff(t, backend)
		slips := writeFile(t, "leave.csv", "staff_id,type,start,end,filed_at,approvals\n"+
			"1001,personal,2026-07-06 08:30:00,2026-07-06 12:00:00,2026-07-03 16:00:00,window_head;center_leader\n")
		if code, _, errs := run(t, "import", "leave", "--config", cfg, slips); code != 0 {
			t.Fatal(errs)
		}
		recompute := func() string {
			if code, _, errs := run(t, "recompute", "--config", cfg, "--from", "2026-07-06", "--to", "2026-07-06"); code != 0 {
				t.Fatal(errs)
			}
			rs, err := s.Results(ctx, wallT("2026-07-06 00:00:00"), wallT("2026-07-06 00:00:00"), "1001")
			if err != nil || len(rs) == 0 {
				t.Fatalf("results: %v %v", rs, err)
			}
			return rs[0].Findings
		}
		if got := recompute(); got != "LEAVE" {
			t.Fatalf("with the slip: AM got %q, want LEAVE", got)
		}
		code, out, _ := run(t, "leave", "list", "--config", cfg, "--from", "2026-07-01", "--to", "2026-07-31")
		m := regexp.MustCompile(`(?m)^(\d+)\s+1001\s+personal`).FindStringSubmatch(out)
		if code != 0 || m == nil {
			t.Fatalf("leave list: %d\n%s", code, out)
		}
		if code, _, errs := run(t, "leave", "cancel", "--config", cfg, m[1]); code != 2 || !strings.Contains(errs, "needs its reason") {
			t.Errorf("cancel without a reason: got %d %q, want 2", code, errs)
		}
		if code, _, errs := run(t, "leave", "cancel", "--config", cfg, "--reason", "录入错误", "--actor", "hr", m[1]); code != 0 {
			t.Fatalf("cancel: %d %s", code, errs)
		}
		if code, _, errs := run(t, "leave", "cancel", "--config", cfg, "--reason", "again", m[1]); code != 2 || !strings.Contains(errs, "already withdrawn") {
			t.Errorf("second cancel: got %d %q, want 2", code, errs)
		}
		if code, _, errs := run(t, "leave", "cancel", "--config", cfg, "--reason", "x", "99999"); code != 2 || !strings.Contains(errs, "no leave slip 99999") {
			t.Errorf("cancel of an unknown slip: got %d %q, want 2", code, errs)
		}
		if got := recompute(); got != "ABSENT" {
			t.Errorf("after withdrawing the slip: AM got %q, want ABSENT (no punch)", got)
		}
		if _, out, _ := run(t, "leave", "list", "--config", cfg, "--from", "2026-07-01", "--to", "2026-07-31"); !strings.Contains(out, "(withdrawn ") {
			t.Errorf("leave list does not mark the withdrawn slip:\n%s", out)
		}
		log, _ := s.AuditLog(ctx, 10)
		if log[0].Action != "cancel" || log[0].Actor != "hr" || !strings.Contains(log[0].NewValue, "录入错误") || !strings.Contains(log[0].OldValue, "personal") {
			t.Errorf("audit: got %+v", log[0])
		}
	})
}

package cli

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/kaoqin/kaoqin/internal/store"
)

func TestMonthCloseCorrectRecompute(t *testing.T) {
	ctx := context.Background()
	at := func(s string) time.Time { t, _ := time.Parse(store.WallLayout, s); return t }
	backendsFor(t, func(t *testing.T, backend string) {
		cfg, s := withStaff(t, backend)
		_, err := s.InsertPunches(ctx, []store.Punch{
			{Clock: "hall", UserID: "1", Time: at("2026-07-06 08:20:00"), StaffID: "1001"},
			{Clock: "hall", UserID: "1", Time: at("2026-07-06 12:01:00"), StaffID: "1001"},
			{Clock: "hall", UserID: "1", Time: at("2026-07-07 12:01:00"), StaffID: "1001"},
		}, nil)
		if err != nil {
			t.Fatal(err)
		}
		result := func(day, seg string) store.SegmentResult {
			t.Helper()
			rs, err := s.Results(ctx, at(day+" 00:00:00"), at(day+" 00:00:00"), "1001")
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range rs {
				if r.Segment == seg {
					return r
				}
			}
			t.Fatalf("no result for 1001 %s %s", day, seg)
			return store.SegmentResult{}
		}
		steps := []struct {
			name string
			args []string
			code int
			out  string // in stdout (exit 0) or stderr
		}{
			{"recompute a range", []string{"recompute", "--from", "2026-07-06", "--to", "2026-07-07"}, 0, "2 staff: 4 staff-days written"},
			{"recompute --to before --from", []string{"recompute", "--from", "2026-07-07", "--to", "2026-07-06"}, 2, "before --from"},
			{"recompute unknown staff", []string{"recompute", "--staff", "42"}, 2, `staff "42"`},
			{"close with the clock never read", []string{"month", "close", "2026-07", "--actor", "hr-li"}, 1, "provisional results"},
			{"close a month not ended", []string{"month", "close", "2026-12"}, 2, "has not ended"},
			{"close a bad month", []string{"month", "close", "July"}, 2, "want YYYY-MM"},
			{"correct an open month", []string{"month", "correct", "--staff", "1001", "--date", "2026-07-07", "--segment", "am", "--findings", "LATE", "--reason", "r", "--actor", "hr-li"}, 2, "is not closed"},
			{"read the clock, close without confirming", []string{"month", "close", "2026-07", "--actor", "hr-li"}, 2, "run again with --confirm 2026-07"},
			{"close confirming another month", []string{"month", "close", "2026-07", "--confirm", "2026-06"}, 2, "does not repeat the month"},
			{"close, confirmed", []string{"month", "close", "2026-07", "--actor", "hr-li", "--confirm", "2026-07"}, 0, "2026-07 closed by hr-li"},
			{"close again", []string{"month", "close", "2026-07"}, 1, "was closed by hr-li"},
			{"correct with an unknown code", []string{"month", "correct", "--staff", "1001", "--date", "2026-07-07", "--segment", "am", "--findings", "TARDY", "--reason", "r", "--actor", "hr-li"}, 2, `unknown code "TARDY"`},
			{"correct without a reason", []string{"month", "correct", "--staff", "1001", "--date", "2026-07-07", "--segment", "am", "--findings", "LATE", "--actor", "hr-li"}, 2, "--reason is required"},
			{"correct minutes without LATE", []string{"month", "correct", "--staff", "1001", "--date", "2026-07-07", "--segment", "am", "--findings", "", "--late-minutes", "5", "--reason", "r", "--actor", "hr-li"}, 2, "needs LATE"},
			{"correct a day off", []string{"month", "correct", "--staff", "1001", "--date", "2026-07-05", "--segment", "am", "--findings", "", "--reason", "r", "--actor", "hr-li"}, 2, "has no result"},
			{"correct", []string{"month", "correct", "--staff", "1001", "--date", "2026-07-07", "--segment", "am", "--findings", "LATE", "--late-minutes", "5",
				"--reason", "punched on the broken clock; the window head confirms 08:35", "--actor", "hr-li"}, 0, `"LATE;MISSING_IN" → "LATE" by hr-li`},
			{"recompute a closed month", []string{"recompute", "--from", "2026-07-01", "--to", "2026-07-31"}, 0, "31 days skipped in closed months"},
		}
		for _, st := range steps {
			if st.name == "read the clock, close without confirming" {
				if err := s.TouchClockRead(ctx, "hall", at("2026-08-01 09:00:00")); err != nil {
					t.Fatal(err)
				}
			}
			code, out, errs := run(t, append(st.args, "--config", cfg)...)
			text := out
			if st.code != 0 {
				text = errs
			}
			if code != st.code || !strings.Contains(text, st.out) {
				t.Errorf("%s: got exit %d, stdout %q, stderr %q; want %d and %q", st.name, code, out, errs, st.code, st.out)
			}
			if st.name == "close with the clock never read" && !strings.Contains(out, "provisional results; clocks not read since the month ended: hall") {
				t.Errorf("%s: the summary does not name the clock not read: %q", st.name, out)
			}
			if st.name == "close with the clock never read" || st.name == "close confirming another month" {
				if closed, _ := s.IsClosed(ctx, "2026-07"); closed {
					t.Errorf("%s: the month is closed, want it open", st.name)
				}
			}
		}
		got := result("2026-07-07", "am")
		if got.Findings != "LATE" || got.LateMinutes != 5 || got.Correction == nil || got.Computed.Findings != "LATE;MISSING_IN" {
			t.Errorf("corrected result got %+v over %+v, want LATE 5 over LATE;MISSING_IN", got.Values, got.Computed)
		}
		// An input for the closed month arrives: refused, nothing stored, the month unchanged.
		slips := writeFile(t, "leave.csv", "staff_id,type,start,end,filed_at,approvals\n1001,sick,2026-07-06 08:00:00,2026-07-06 18:00:00,2026-07-01 08:00:00,window_head;center_leader\n")
		if code, out, errs := run(t, "import", "leave", slips, "--config", cfg); code != 2 || !strings.Contains(errs, "leave slip 1: 2026-07 本月已结账，请用更正") ||
			!strings.Contains(errs, "nothing was imported") || strings.Contains(out, "recomputed") {
			t.Errorf("import leave into a closed month: got exit %d, stdout %q, stderr %q; want 2 and 本月已结账，请用更正", code, out, errs)
		}
		if code, out, _ := run(t, "leave", "list", "--from", "2026-07-01", "--to", "2026-07-31", "--config", cfg); code != 0 || strings.Contains(out, "sick") {
			t.Errorf("leave list after the refused import: got %d %q, want no slip", code, out)
		}
		if code, _, errs := run(t, "recompute", "--from", "2026-07-06", "--to", "2026-07-06", "--config", cfg); code != 0 {
			t.Fatalf("recompute: %d %s", code, errs)
		}
		if got := result("2026-07-06", "am"); got.Findings != "" {
			t.Errorf("closed month after a refused slip: got %q, want the closed result \"\"", got.Findings)
		}
		log, _ := s.AuditLog(ctx, 10)
		var actions []string
		for _, e := range log {
			actions = append(actions, e.Action+" "+e.Entity)
		}
		if got := strings.Join(actions, ", "); !strings.HasPrefix(got, "correct segment_result, close month") {
			t.Errorf("audit log got %s, want correct segment_result, close month first (the refused slip not audited)", got)
		}
	})
}

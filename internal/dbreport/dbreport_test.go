package dbreport

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/kaoqin/kaoqin/attendance"
	"github.com/kaoqin/kaoqin/internal/results"
	"github.com/kaoqin/kaoqin/internal/store"
	"github.com/kaoqin/kaoqin/internal/store/storetest"
	"github.com/kaoqin/kaoqin/reports"
)

func wall(s string) time.Time {
	t, err := time.Parse(store.WallLayout, s)
	if err != nil {
		panic(err)
	}
	return t
}

// TestDay: the day's input from the database: the roster with each member's clocks, the day's
// stored results (provisional where not final), the configured clocks with their reads (never
// read: zero), and a window narrowing both roster and results.
func TestDay(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		roster := []store.RosterEntry{
			{Staff: store.Staff{StaffID: "1001", Name: "甲", Window: "民政", Unit: "民政局", Active: true},
				Enrollments: []store.Enrollment{{Clock: "hall", UserID: "1"}, {Clock: "side", UserID: "1"}}},
			{Staff: store.Staff{StaffID: "1002", Name: "乙", Window: "社保", Unit: "人社局", Active: true},
				Enrollments: []store.Enrollment{{Clock: "hall", UserID: "2"}}},
		}
		if _, err := s.ImportStaff(ctx, roster, "test"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.InsertPunches(ctx, []store.Punch{{Clock: "hall", UserID: "2", Time: wall("2026-07-15 08:44:00"), StaffID: "1002"}}, nil); err != nil {
			t.Fatal(err)
		}
		if err := s.TouchClockRead(ctx, "hall", wall("2026-07-15 09:00:00")); err != nil {
			t.Fatal(err)
		}
		rules := attendance.DefaultRules()
		now := time.Date(2026, 7, 15, 10, 0, 0, 0, storetest.Location)
		w := results.New(results.Options{Store: s, Rules: &rules, Now: func() time.Time { return now }, SweepDays: -1})
		day, _ := attendance.ParseDate("2026-07-15")
		for _, id := range []string{"1001", "1002"} {
			if _, _, err := w.RecomputeRange(ctx, id, day, day); err != nil {
				t.Fatal(err)
			}
		}
		in, err := Day(ctx, s, &rules, day, wall("2026-07-15 10:00:00"), []string{"hall", "side"}, "")
		if err != nil {
			t.Fatal(err)
		}
		if got := len(in.Staff); got != 2 || len(in.Staff[0].Clocks) != 2 {
			t.Fatalf("staff: got %+v, want 2, the first on hall and side", in.Staff)
		}
		if len(in.Clocks) != 2 || !in.Clocks[0].LastRead.Equal(wall("2026-07-15 09:00:00")) || !in.Clocks[1].LastRead.IsZero() {
			t.Errorf("clocks: got %+v, want hall read at 09:00 and side never", in.Clocks)
		}
		rep := reports.BuildDay(in)
		var states []reports.DayState
		for _, win := range rep.Windows {
			for _, st := range win.Staff {
				for _, seg := range st.Segments {
					states = append(states, seg.State)
					if !seg.Provisional {
						t.Errorf("%s: a segment at 10:00 is provisional", st.Staff.ID)
					}
				}
			}
		}
		if len(states) != 2 || states[0] != reports.StateMissing || states[1] != reports.StateLate {
			t.Errorf("states: got %v, want [missing late]", states)
		}
		in, err = Day(ctx, s, &rules, day, wall("2026-07-15 10:00:00"), []string{"hall", "side"}, "社保")
		if err != nil {
			t.Fatal(err)
		}
		if len(in.Staff) != 1 || in.Staff[0].ID != "1002" || len(in.Results) == 0 {
			t.Errorf("window 社保: got staff %+v and %d results, want 1002 and theirs", in.Staff, len(in.Results))
		}
		for _, r := range in.Results {
			if r.StaffID != "1002" {
				t.Errorf("window 社保: a result of %s", r.StaffID)
			}
		}
	})
}

// TestMonthSlipEvidence: a slip in the findings detail read from the database shows its filing
// time and approvals, as the file path shows them (the stored evidence keeps only the verdict).
func TestMonthSlipEvidence(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		roster := []store.RosterEntry{{Staff: store.Staff{StaffID: "1001", Name: "甲", Window: "民政", Unit: "民政局", Active: true},
			Enrollments: []store.Enrollment{{Clock: "hall", UserID: "1"}}}}
		if _, err := s.ImportStaff(ctx, roster, "test"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.AddLeaveSlips(ctx, []store.LeaveSlip{{StaffID: "1001", Type: "personal", Start: wall("2026-07-15 08:30:00"),
			End: wall("2026-07-17 17:30:00"), FiledAt: wall("2026-07-14 16:00:00"), Approvals: "window_head"}}, "test"); err != nil {
			t.Fatal(err)
		}
		rules := attendance.DefaultRules()
		now := time.Date(2026, 8, 15, 10, 0, 0, 0, storetest.Location)
		w := results.New(results.Options{Store: s, Rules: &rules, Now: func() time.Time { return now }, SweepDays: -1})
		from, _ := attendance.ParseDate("2026-07-15")
		if _, _, err := w.RecomputeRange(ctx, "1001", from, from+2); err != nil {
			t.Fatal(err)
		}
		in, err := Month(ctx, s, &rules, reports.Month{Year: 2026, Month: time.July})
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		if err := reports.BuildMonth(in).WriteDetailCSV(&b); err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"07-14 16:00提交，审批：窗口负责人，未认可"} {
			if !strings.Contains(b.String(), want) {
				t.Errorf("detail has no %q:\n%s", want, b.String())
			}
		}
		if strings.Contains(b.String(), "无审批") {
			t.Errorf("detail says 无审批 for a slip with an approval:\n%s", b.String())
		}
	})
}

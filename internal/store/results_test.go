package store_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/kaoqin/kaoqin/internal/store"
	"github.com/kaoqin/kaoqin/internal/store/storetest"
)

func roster(t *testing.T, s *store.Store) {
	t.Helper()
	_, err := s.ImportStaff(ctx, []store.RosterEntry{
		{Staff: store.Staff{StaffID: "1001", Name: "a", Window: "w", Unit: "u"}, Enrollments: []store.Enrollment{{Clock: "hall", UserID: "1"}}},
		{Staff: store.Staff{StaffID: "1002", Name: "b", Window: "w", Unit: "u"}, Enrollments: []store.Enrollment{{Clock: "side", UserID: "2"}}},
		{Staff: store.Staff{StaffID: "1003", Name: "c", Window: "x", Unit: "u"}},
	}, "test")
	if err != nil {
		t.Fatal(err)
	}
}

func dayList(ds []store.DirtyDay) string {
	var out []string
	for _, d := range ds {
		out = append(out, d.StaffID+"/"+d.Day)
	}
	return strings.Join(out, " ")
}

func TestClaimDirtyDays(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		roster(t, s)
		if err := s.MarkDirty(ctx, []store.DirtyDay{{"1001", "2026-07-06"}, {"1001", "2026-07-07"}, {"1002", "2026-07-06"}}); err != nil {
			t.Fatal(err)
		}
		a, err := s.ClaimDirtyDays(ctx, "a", 2, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		b, err := s.ClaimDirtyDays(ctx, "b", 10, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if len(a.Days) != 2 || len(b.Days) != 1 {
			t.Fatalf("claims got %s | %s, want 2 and the 1 left", dayList(a.Days), dayList(b.Days))
		}
		for _, d := range a.Days {
			if strings.Contains(dayList(b.Days), d.StaffID+"/"+d.Day) {
				t.Errorf("%v claimed twice", d)
			}
		}
		// A day marked again while claimed is handed back, the others removed.
		again := a.Days[0]
		if err := s.MarkDirty(ctx, []store.DirtyDay{again}); err != nil {
			t.Fatal(err)
		}
		if err := s.FinishDirtyDays(ctx, a, a.Days); err != nil {
			t.Fatal(err)
		}
		if err := s.FinishDirtyDays(ctx, b, nil); err != nil { // b failed: keeps its claim
			t.Fatal(err)
		}
		ds, _ := s.DirtyDays(ctx)
		if got, want := dayList(ds), dayList([]store.DirtyDay{again, b.Days[0]}); got != want && got != dayList([]store.DirtyDay{b.Days[0], again}) {
			t.Errorf("left got %s, want %s", got, want)
		}
		c, _ := s.ClaimDirtyDays(ctx, "c", 10, time.Minute)
		if dayList(c.Days) != dayList([]store.DirtyDay{again}) {
			t.Errorf("claim after finish got %s, want only the re-marked %v (b's lease holds)", dayList(c.Days), again)
		}
		if e, _ := s.ClaimDirtyDays(ctx, "e", 10, time.Minute); len(e.Days) != 0 {
			t.Errorf("claim while every lease is live got %s, want none", dayList(e.Days))
		}
		// The lease of a worker that died expires, and its day is claimable again.
		s.MarkDirty(ctx, []store.DirtyDay{{"1003", "2026-07-09"}})
		if d, _ := s.ClaimDirtyDays(ctx, "dying", 10, -time.Minute); len(d.Days) != 1 {
			t.Fatalf("claim got %s, want 1003/2026-07-09", dayList(d.Days))
		}
		if f, _ := s.ClaimDirtyDays(ctx, "f", 10, time.Minute); dayList(f.Days) != "1003/2026-07-09" {
			t.Errorf("claim after the lease expired got %q, want 1003/2026-07-09", dayList(f.Days))
		}
	})
}

func TestInputsAndFailureMarking(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		roster(t, s)
		_, err := s.AddLeaveSlips(ctx, []store.LeaveSlip{{StaffID: "1001", Type: "sick", Start: wall("2026-07-06 08:00:00"), End: wall("2026-07-08 18:00:00"), FiledAt: wall("2026-07-05 08:00:00")},
			{StaffID: "4242", Type: "sick", Start: wall("2026-07-06 08:00:00"), End: wall("2026-07-06 18:00:00"), FiledAt: wall("2026-07-05 08:00:00")}}, "clerk")
		if !errors.Is(err, store.ErrBadInput) || !strings.Contains(err.Error(), `"4242"`) {
			t.Errorf("unknown staff: got %v, want ErrBadInput naming 4242", err)
		}
		if ds, _ := s.DirtyDays(ctx); len(ds) != 0 {
			t.Errorf("a refused batch marked %s, want nothing", dayList(ds))
		}
		tests := []struct {
			name string
			rep  store.FailureReport
			want string
		}{
			{"one staff member", store.FailureReport{StaffID: "1002", From: wall("2026-07-06 08:00:00"), To: wall("2026-07-06 08:50:00"), ReportedAt: wall("2026-07-06 09:00:00")}, "1002/2026-07-06"},
			{"everyone on clock hall", store.FailureReport{StaffID: "*", Clock: "hall", From: wall("2026-07-07 08:00:00"), To: wall("2026-07-07 08:50:00"), ReportedAt: wall("2026-07-07 09:00:00")}, "1001/2026-07-07"},
			{"everyone", store.FailureReport{StaffID: "*", From: wall("2026-07-08 23:00:00"), To: wall("2026-07-09 08:50:00"), ReportedAt: wall("2026-07-09 09:00:00")},
				"1001/2026-07-08 1001/2026-07-09 1002/2026-07-08 1002/2026-07-09 1003/2026-07-08 1003/2026-07-09"},
		}
		for _, tt := range tests {
			if _, err := s.AddFailureReports(ctx, []store.FailureReport{tt.rep}, "clerk"); err != nil {
				t.Fatal(err)
			}
			c, _ := s.ClaimDirtyDays(ctx, "t", 100, time.Minute)
			if got := dayList(c.Days); got != tt.want {
				t.Errorf("%s: marked %s, want %s", tt.name, got, tt.want)
			}
			s.FinishDirtyDays(ctx, c, c.Days)
		}
		in, err := s.LoadInputs(ctx, "1001", wall("2026-07-07 00:00:00"), wall("2026-07-08 00:00:00"))
		if err != nil {
			t.Fatal(err)
		}
		if in.WindowStaff != 2 || len(in.Clocks) != 1 || in.Clocks[0] != "hall" || len(in.Failures) != 1 || len(in.Slips) != 0 {
			t.Errorf("inputs of 1001 on the 7th got window staff %d, clocks %v, %d failures, %d slips; want 2, [hall], 1 (the * of hall, 1002's left out), 0 (the refused batch)",
				in.WindowStaff, in.Clocks, len(in.Failures), len(in.Slips))
		}
	})
}

package store_test

import (
	"errors"
	"testing"

	"github.com/kaoqin/kaoqin/internal/store"
	"github.com/kaoqin/kaoqin/internal/store/storetest"
)

// TestWithdrawEntry withdraws one entry of each kind: it is kept with its withdrawal time, no
// longer loaded as an input, audited with its reason, and its days are queued; a second
// withdrawal and an empty reason are refused.
func TestWithdrawEntry(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		if _, err := s.ImportStaff(ctx, []store.RosterEntry{{Staff: store.Staff{StaffID: "1", Name: "甲", Window: "W", Unit: "U", Active: true}}}, "t"); err != nil {
			t.Fatal(err)
		}
		from, to := wall("2026-07-15 09:00:00"), wall("2026-07-15 09:30:00")
		slip, err := s.AddLeaveSlips(ctx, []store.LeaveSlip{{StaffID: "1", Type: "personal", Start: from, End: to, FiledAt: from}}, "t")
		if err != nil {
			t.Fatal(err)
		}
		pat, err := s.AddPatrols(ctx, []store.PatrolRecord{{StaffID: "1", From: from, To: to}}, "t")
		if err != nil {
			t.Fatal(err)
		}
		fail, err := s.AddFailureReports(ctx, []store.FailureReport{{StaffID: store.Everyone, From: from, To: to, ReportedAt: to}}, "t")
		if err != nil {
			t.Fatal(err)
		}
		man, err := s.AddManualSignIns(ctx, []store.ManualSignIn{{StaffID: "1", At: from, Reason: "忘带卡", RecordedBy: "t"}}, "t")
		if err != nil {
			t.Fatal(err)
		}
		day := store.DirtyDay{StaffID: "1", Day: "2026-07-15"}
		for _, e := range []struct {
			entity string
			id     int64
		}{{store.EntityLeaveSlip, slip[0]}, {store.EntityPatrol, pat[0]}, {store.EntityFailureReport, fail[0]}, {store.EntityManualSignIn, man[0]}} {
			if err := s.WithdrawEntry(ctx, e.entity, e.id, " ", "sup"); !errors.Is(err, store.ErrBadInput) {
				t.Errorf("%s without a reason: got %v, want ErrBadInput", e.entity, err)
			}
			c, err := s.ClaimDirtyDays(ctx, "w", 100, 0)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.FinishDirtyDays(ctx, c, c.Days); err != nil {
				t.Fatal(err)
			}
			if err := s.WithdrawEntry(ctx, e.entity, e.id, "录错了", "sup"); err != nil {
				t.Fatalf("%s: %v", e.entity, err)
			}
			if err := s.WithdrawEntry(ctx, e.entity, e.id, "again", "sup"); !errors.Is(err, store.ErrBadInput) {
				t.Errorf("%s withdrawn twice: got %v, want ErrBadInput", e.entity, err)
			}
			dirty, _ := s.DirtyDays(ctx)
			if len(dirty) != 1 || dirty[0] != day {
				t.Errorf("%s: dirty days %v, want %v", e.entity, dirty, day)
			}
		}
		if err := s.WithdrawEntry(ctx, store.EntityPatrol, 999, "x", "sup"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("missing patrol: got %v, want ErrNotFound", err)
		}
		in, err := s.LoadInputs(ctx, "1", wall("2026-07-15 00:00:00"), wall("2026-07-16 00:00:00"))
		if err != nil {
			t.Fatal(err)
		}
		if len(in.Slips)+len(in.Patrols)+len(in.Failures)+len(in.Manual) != 0 {
			t.Errorf("withdrawn entries still loaded: %+v", in)
		}
		f := store.EntryFilter{From: wall("2026-07-01 00:00:00"), To: wall("2026-08-01 00:00:00")}
		ps, _ := s.ListPatrols(ctx, f)
		fs, _ := s.ListFailureReports(ctx, f)
		ms, _ := s.ListManualSignIns(ctx, f)
		ls, _ := s.ListLeaveSlips(ctx, f)
		if len(ps) != 1 || ps[0].CancelledAt.IsZero() || len(fs) != 1 || fs[0].CancelledAt.IsZero() || len(ms) != 1 || ms[0].CancelledAt.IsZero() ||
			len(ls) != 1 || ls[0].CancelledAt.IsZero() {
			t.Errorf("the lists keep withdrawn entries, marked: %v %v %v %v", ps, fs, ms, ls)
		}
		log, _ := s.AuditLog(ctx, 10)
		if log[0].Action != "cancel" || log[0].Entity != store.EntityManualSignIn || log[0].NewValue == "" {
			t.Errorf("newest audit entry %+v, want the withdrawal of the manual sign-in with its reason", log[0])
		}
	})
}

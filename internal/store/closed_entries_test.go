package store_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/kaoqin/kaoqin/internal/store"
	"github.com/kaoqin/kaoqin/internal/store/storetest"
)

// TestEntryInClosedMonthRefused: an entry touching a day of a closed month is refused with
// 本月已结账，请用更正 and nothing of it is stored (no row, no audit entry, no dirty day); the same
// entry in an open month is stored.
func TestEntryInClosedMonthRefused(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		roster(t, s)
		if err := s.CloseMonth(ctx, "2026-07", "hr"); err != nil {
			t.Fatal(err)
		}
		before, _ := s.AuditLog(ctx, 100)
		slip := func(start, end string) store.LeaveSlip {
			return store.LeaveSlip{StaffID: "1001", Type: "sick", Start: wall(start), End: wall(end), FiledAt: wall(start), Approvals: "window_head"}
		}
		cases := []struct {
			name string
			add  func() error
		}{
			{"slip in July", func() error {
				_, err := s.AddLeaveSlips(ctx, []store.LeaveSlip{slip("2026-07-07 08:00:00", "2026-07-07 18:00:00")}, "clerk")
				return err
			}},
			{"slip from July into August", func() error {
				_, err := s.AddLeaveSlips(ctx, []store.LeaveSlip{slip("2026-07-31 08:00:00", "2026-08-03 18:00:00")}, "clerk")
				return err
			}},
			{"patrol", func() error {
				_, err := s.AddPatrols(ctx, []store.PatrolRecord{{StaffID: "1001", From: wall("2026-07-07 10:00:00"), To: wall("2026-07-07 10:30:00")}}, "sup")
				return err
			}},
		}
		for _, c := range cases {
			err := c.add()
			var mc *store.MonthClosedError
			if !errors.Is(err, store.ErrMonthClosed) || !errors.As(err, &mc) || mc.Month != "2026-07" || !strings.Contains(err.Error(), "本月已结账，请用更正") {
				t.Errorf("%s: got %v, want 2026-07 本月已结账，请用更正", c.name, err)
			}
		}
		if got, _ := s.LeaveSlips(ctx, "", wall("2026-07-01 00:00:00"), wall("2026-09-01 00:00:00")); len(got) != 0 {
			t.Errorf("refused slips stored: %+v", got)
		}
		if after, _ := s.AuditLog(ctx, 100); len(after) != len(before) {
			t.Errorf("refused entries audited: %d entries, want %d", len(after), len(before))
		}
		if d, _ := s.DirtyDays(ctx); len(d) != 0 {
			t.Errorf("refused entries queued days: %v", d)
		}
		ids, err := s.AddLeaveSlips(ctx, []store.LeaveSlip{slip("2026-08-04 08:00:00", "2026-08-04 18:00:00")}, "clerk")
		if err != nil {
			t.Fatalf("slip in open August: %v", err)
		}
		// Once August is closed too, withdrawing the slip is refused the same way.
		if err := s.CloseMonth(ctx, "2026-08", "hr"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.CancelLeaveSlip(ctx, ids[0], "entered by mistake", "clerk"); !errors.Is(err, store.ErrMonthClosed) ||
			!strings.Contains(err.Error(), "2026-08 本月已结账，请用更正") {
			t.Errorf("withdrawing a slip of a closed month: got %v", err)
		}
	})
}

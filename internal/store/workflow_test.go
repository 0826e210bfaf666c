package store_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/kaoqin/kaoqin/internal/store"
	"github.com/kaoqin/kaoqin/internal/store/storetest"
)

func TestRequestLifecycle(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		roster(t, s)
		q := store.Request{Kind: "leave", StaffID: "1001", Window: "w", Unit: "u", WindowStaff: 2, LeaveType: "personal",
			Start: wall("2026-07-06 08:30:00"), End: wall("2026-07-07 18:00:00"), FiledAt: wall("2026-07-03 10:00:00"),
			Reason: "家中有事", Steps: []string{"window_head", "center_leader", "unit_leader"}, NextStep: "window_head", State: "pending",
			Verdict: []string{"缺少附件：医院证明。", "逾期提交，晚于开始时间"}}
		pdf := []byte("%PDF-1.4 test")
		id, err := s.FileRequest(ctx, q, []store.Attachment{{Kind: "notice", Filename: "n.pdf", ContentType: "application/pdf", Size: int64(len(pdf)), SHA256: "x", Data: pdf}},
			func(id int64) ([]store.Notice, error) {
				return []store.Notice{{Key: fmt.Sprint("waiting/", id), Kind: "request_waiting", Channel: "email", Target: "a@x", Subject: "s", Body: "b"}}, nil
			}, "alice")
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.GetRequest(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if got.NextStep != "window_head" || len(got.Steps) != 3 || got.Reason != "家中有事" || len(got.Attachments) != 1 || len(got.Verdict) != 2 {
			t.Fatalf("stored request: got %+v", got)
		}
		a, err := s.GetAttachment(ctx, got.Attachments[0].ID)
		if err != nil || string(a.Data) != string(pdf) {
			t.Fatalf("attachment: got %q, %v", a.Data, err)
		}
		if err := s.RecordPhoneNotice(ctx, id, wall("2026-07-03 09:00:00"), "super"); err != nil {
			t.Fatal(err)
		}
		// Two approvers at the window-head step at once: exactly one moves the request.
		var wg sync.WaitGroup
		errs := make([]error, 4)
		for i := range errs {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				errs[i] = s.DecideRequest(ctx, store.Transition{RequestID: id, At: "window_head", State: "pending", NextStep: "center_leader",
					Approved: []string{"window_head"}, Decision: store.RequestDecision{Step: "window_head", Actor: fmt.Sprint("head", i), Approve: true}})
			}(i)
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case !errors.Is(err, store.ErrConflict):
				t.Fatalf("concurrent decision: %v", err)
			}
		}
		if ok != 1 {
			t.Fatalf("concurrent approvals at one step: %d applied, want 1", ok)
		}
		if err := s.DecideRequest(ctx, store.Transition{RequestID: id, At: "center_leader", State: "pending", NextStep: "unit_leader",
			Approved: []string{"window_head", "center_leader"}, Decision: store.RequestDecision{Step: "center_leader", Actor: "c", Approve: true}}); err != nil {
			t.Fatal(err)
		}
		// Drain what earlier steps queued, so that the last approval's days can be seen.
		for {
			c, err := s.ClaimDirtyDays(ctx, "t", 100, time.Minute)
			if err != nil || len(c.Days) == 0 {
				break
			}
			s.FinishDirtyDays(ctx, c, c.Days)
		}
		slip := &store.LeaveSlip{StaffID: "1001", Type: "personal", Start: q.Start, End: q.End, FiledAt: q.FiledAt,
			Approvals: "window_head;center_leader;unit_leader;unit_stamp", Note: "申请 1"}
		err = s.DecideRequest(ctx, store.Transition{RequestID: id, At: "unit_leader", State: "recognised", Approved: q.Steps,
			Verdict: []string{"R14：事前备案"}, Slip: slip, Decision: store.RequestDecision{Step: "unit_leader", Actor: "u", Approve: true, Stamp: true},
			Notices: []store.Notice{{Key: "decided/1/staff", Kind: "request_decided", Channel: "email", Target: "s@x", Subject: "s", Body: "b"}}})
		if err != nil {
			t.Fatal(err)
		}
		got, _ = s.GetRequest(ctx, id)
		if got.State != "recognised" || got.SlipID == 0 || len(got.Decisions) != 3 || got.DecidedAt.IsZero() || got.PhoneNoticeBy != "super" {
			t.Fatalf("decided request: got %+v", got)
		}
		slips, _ := s.LeaveSlips(ctx, "1001", q.Start, q.End)
		if len(slips) != 1 || slips[0].Approvals != slip.Approvals || slips[0].RecordedBy != "u" {
			t.Fatalf("slips after the last approval: got %+v", slips)
		}
		dirty, _ := s.DirtyDays(ctx)
		if got, want := dayList(dirty), "1001/2026-07-06 1001/2026-07-07"; got != want {
			t.Errorf("dirty days: got %s, want %s", got, want)
		}
		if err := s.DecideRequest(ctx, store.Transition{RequestID: id, At: "unit_leader", State: "rejected",
			Decision: store.RequestDecision{Step: "unit_leader", Actor: "u", Comment: "x"}}); !errors.Is(err, store.ErrConflict) {
			t.Errorf("decision on a decided request: got %v, want ErrConflict", err)
		}
		mine, _ := s.ListRequests(ctx, store.RequestFilter{StaffID: "1001"})
		waiting, _ := s.ListRequests(ctx, store.RequestFilter{State: "pending", NextStep: "unit_leader"})
		if len(mine) != 1 || len(waiting) != 0 {
			t.Errorf("lists: mine %d, waiting %d; want 1, 0", len(mine), len(waiting))
		}
		ns, _ := s.ListNotices(ctx, store.NoticeFilter{})
		if len(ns) != 2 {
			t.Errorf("notices queued with the request and its decision: got %d, want 2", len(ns))
		}
	})
}

func TestNoticeOutbox(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		var ns []store.Notice
		for i := 0; i < 30; i++ {
			ns = append(ns, store.Notice{Key: fmt.Sprintf("k%d", i), Kind: "not_signed_in", Channel: "email", Target: "a@x", Subject: "s", Body: "b"})
		}
		if err := s.QueueNotices(ctx, ns); err != nil {
			t.Fatal(err)
		}
		// The same keys again (a second daemon's 08:55 check): no new rows.
		if err := s.QueueNotices(ctx, ns[:10]); err != nil {
			t.Fatal(err)
		}
		// Four senders claim at once: every notice goes to exactly one of them.
		var mu sync.Mutex
		seen := map[int64]int{}
		var wg sync.WaitGroup
		for w := 0; w < 4; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				for {
					tok, got, err := s.ClaimNotices(ctx, fmt.Sprint("w", w), 4, time.Minute)
					if err != nil {
						t.Error(err)
						return
					}
					if len(got) == 0 {
						return
					}
					for _, n := range got {
						if ok, err := s.NoticeSent(ctx, n.ID, tok); err != nil || !ok {
							t.Errorf("sent %d: %v %v", n.ID, ok, err)
						}
						mu.Lock()
						seen[n.ID]++
						mu.Unlock()
					}
				}
			}(w)
		}
		wg.Wait()
		if len(seen) != 30 {
			t.Fatalf("notices sent: got %d, want 30", len(seen))
		}
		for id, n := range seen {
			if n != 1 {
				t.Errorf("notice %d claimed %d times", id, n)
			}
		}
		// A failure hands the row back for later; a lost lease cannot mark it sent.
		s.QueueNotices(ctx, []store.Notice{{Key: "retry", Kind: "clock_down", Channel: "wecom", Target: "r", Subject: "s", Body: "b"}})
		tok, got, _ := s.ClaimNotices(ctx, "a", 10, time.Minute)
		if len(got) != 1 {
			t.Fatalf("claim: got %d, want 1", len(got))
		}
		if err := s.NoticeFailed(ctx, got[0].ID, tok, "connection refused", s.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if _, again, _ := s.ClaimNotices(ctx, "b", 10, time.Minute); len(again) != 0 {
			t.Errorf("claimed before its retry time: %+v", again)
		}
		if ok, _ := s.NoticeSent(ctx, got[0].ID, tok); ok {
			t.Error("marked sent under a claim that was handed back")
		}
		unsent, _ := s.ListNotices(ctx, store.NoticeFilter{Unsent: true})
		if len(unsent) != 1 || unsent[0].LastError != "connection refused" || unsent[0].Attempts != 1 {
			t.Errorf("unsent: got %+v", unsent)
		}
		// Pruning drops sent notices older than the cut, never an unsent one.
		if n, err := s.PruneNotices(ctx, s.Now().Add(-time.Hour)); err != nil || n != 0 {
			t.Errorf("prune before they were sent: %d, %v; want 0", n, err)
		}
		if n, err := s.PruneNotices(ctx, s.Now().Add(time.Hour)); err != nil || n != 30 {
			t.Errorf("prune: %d, %v; want the 30 sent", n, err)
		}
		if unsent, _ := s.ListNotices(ctx, store.NoticeFilter{}); len(unsent) != 1 {
			t.Errorf("after pruning: %d notices, want the unsent one", len(unsent))
		}
	})
}

func TestAnnualLeaveBalance(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		roster(t, s)
		if err := s.SetAnnualLeave(ctx, "1001", 2026, 5, "hr"); err != nil {
			t.Fatal(err)
		}
		if err := s.SetAnnualLeave(ctx, "1001", 2026, 7.5, "hr"); err != nil {
			t.Fatal(err)
		}
		for _, bad := range []float64{-1, 400, 1.25} {
			if err := s.SetAnnualLeave(ctx, "1001", 2026, bad, "hr"); !errors.Is(err, store.ErrBadInput) {
				t.Errorf("%v days: got %v, want ErrBadInput", bad, err)
			}
		}
		if err := s.SetAnnualLeave(ctx, "nobody", 2026, 5, "hr"); !errors.Is(err, store.ErrBadInput) {
			t.Errorf("unknown staff: got %v", err)
		}
		res := func(day, seg, typ string) store.SegmentResult {
			return store.SegmentResult{StaffID: "1001", Day: day, Segment: seg, Values: store.Values{Findings: "LEAVE", LeaveType: typ}, Evidence: "{}"}
		}
		for _, r := range []struct {
			from, to string
			rows     []store.SegmentResult
		}{
			{"2026-07-06 00:00:00", "2026-07-09 00:00:00", []store.SegmentResult{res("2026-07-06", "am", "annual"), res("2026-07-06", "pm", "annual"),
				res("2026-07-07", "am", "annual"), res("2026-07-08", "am", "sick")}},
			{"2025-12-31 00:00:00", "2026-01-01 00:00:00", []store.SegmentResult{res("2025-12-31", "am", "annual")}},
		} {
			if err := s.SaveResults(ctx, "1001", wall(r.from), wall(r.to), r.rows); err != nil {
				t.Fatal(err)
			}
		}
		bs, err := s.AnnualLeave(ctx, "1001", 2026)
		if err != nil {
			t.Fatal(err)
		}
		if len(bs) != 1 || bs[0].Granted != 7.5 || !bs[0].Set || bs[0].Used != 1.5 || bs[0].Left() != 6 {
			t.Errorf("balance: got %+v, want granted 7.5, used 1.5", bs)
		}
		all, _ := s.AnnualLeave(ctx, "", 2026)
		if len(all) != 3 || all[1].Set {
			t.Errorf("all balances: got %+v", all)
		}
	})
}

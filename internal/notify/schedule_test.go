package notify_test

import (
	"strings"
	"testing"
	"time"

	"github.com/kaoqin/kaoqin/attendance"
	"github.com/kaoqin/kaoqin/internal/notify"
	"github.com/kaoqin/kaoqin/internal/store"
	"github.com/kaoqin/kaoqin/internal/store/storetest"
)

func wallT(s string) time.Time {
	t, err := time.Parse("2006-01-02 15:04", s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestSchedulerNotices(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		_, err := s.ImportStaff(ctx, []store.RosterEntry{
			{Staff: store.Staff{StaffID: "1", Name: "张三", Window: "民政", Unit: "民政局"}, Enrollments: []store.Enrollment{{Clock: "hall", UserID: "1"}}},
			{Staff: store.Staff{StaffID: "2", Name: "李四", Window: "民政", Unit: "民政局"}, Enrollments: []store.Enrollment{{Clock: "hall", UserID: "2"}}},
			{Staff: store.Staff{StaffID: "3", Name: "王五", Window: "民政", Unit: "民政局"}, Enrollments: []store.Enrollment{{Clock: "hall", UserID: "3"}}},
			{Staff: store.Staff{StaffID: "4", Name: "赵六", Window: "社保", Unit: "人社局"}, Enrollments: []store.Enrollment{{Clock: "hall", UserID: "4"}}},
		}, "t")
		if err != nil {
			t.Fatal(err)
		}
		// 张三 signed in at 08:20; 王五 has a slip; 赵六 (社保) signed in too.
		if _, err := s.InsertPunches(ctx, []store.Punch{{Clock: "hall", UserID: "1", Time: wallT("2026-07-06 08:20")},
			{Clock: "hall", UserID: "4", Time: wallT("2026-07-06 08:25")}}, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := s.AddLeaveSlips(ctx, []store.LeaveSlip{{StaffID: "3", Type: "personal", Start: wallT("2026-07-06 08:30"),
			End: wallT("2026-07-06 12:00"), FiledAt: wallT("2026-07-03 08:00")}}, "t"); err != nil {
			t.Fatal(err)
		}
		r := attendance.DefaultRules()
		sc := &notify.Scheduler{Store: s, Rules: func() *attendance.Rules { return &r }, Clocks: func() []string { return []string{"hall", "side"} },
			Times: []attendance.Minute{8*60 + 55, 14*60 + 55},
			Router: &notify.Router{Robots: []notify.Robot{
				{Name: "heads", Channel: notify.ChannelWeCom, Audiences: []notify.Audience{{Role: store.RoleWindowHead}}},
				{Name: "super", Channel: notify.ChannelDingTalk, Audiences: []notify.Audience{{Role: store.RoleSupervisor}}}}}}
		if err := s.TouchClockRead(ctx, "hall", wallT("2026-07-06 08:53")); err != nil {
			t.Fatal(err)
		}
		// 08:50 inside the sign-in window: "side" never read is down; too early for the list.
		for _, now := range []string{"2026-07-06 08:50", "2026-07-06 08:56", "2026-07-06 09:10", "2026-07-06 08:50"} {
			if err := sc.Tick(ctx, wallT(now)); err != nil {
				t.Fatal(err)
			}
		}
		ns, _ := s.ListNotices(ctx, store.NoticeFilter{})
		var got []string
		for _, n := range ns {
			got = append(got, n.Kind+" "+n.Target+" "+n.Body)
		}
		if len(ns) != 2 {
			t.Fatalf("notices: got %d, want 2 (one list, one clock down):\n%s", len(ns), strings.Join(got, "\n"))
		}
		list, down := ns[0], ns[1]
		if list.Kind != "not_signed_in" {
			list, down = down, list
		}
		if !strings.Contains(list.Body, "民政窗口尚未签到 1 人：李四") || !strings.Contains(list.Body, "已请假：王五") || list.Target != "heads" {
			t.Errorf("not-signed-in list: got %q to %s", list.Body, list.Target)
		}
		if down.Kind != "clock_down" || !strings.Contains(down.Subject, "side") || down.Target != "super" {
			t.Errorf("clock down: got %+v", down)
		}
		// Only the leader checks: a daemon that does not hold the lease queues nothing.
		sc.Now = func() time.Time { return wallT("2026-07-06 14:56") }
		leader := false
		sc.Leader = func() bool { return leader }
		if err := sc.Pass(ctx); err != nil {
			t.Fatal(err)
		}
		if ns, _ := s.ListNotices(ctx, store.NoticeFilter{}); len(ns) != 2 {
			t.Errorf("a pass without the leader lease queued: %d notices, want 2", len(ns))
		}
		leader = true
		if err := sc.Pass(ctx); err != nil {
			t.Fatal(err)
		}
		if ns, _ := s.ListNotices(ctx, store.NoticeFilter{Kind: "not_signed_in"}); len(ns) != 3 {
			t.Errorf("the leader's 14:56 pass: %d not-signed-in notices, want 3 (民政 08:55, 民政 and 社保 14:55)", len(ns))
		}
		// A day off: nothing.
		if err := sc.Tick(ctx, wallT("2026-07-05 08:56")); err != nil {
			t.Fatal(err)
		}
		if ns, _ := s.ListNotices(ctx, store.NoticeFilter{}); len(ns) != 4 {
			t.Errorf("after a Sunday tick: %d notices, want 4", len(ns))
		}
	})
}

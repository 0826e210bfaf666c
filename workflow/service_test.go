package workflow_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/kaoqin/kaoqin/attendance"
	"github.com/kaoqin/kaoqin/internal/notify"
	"github.com/kaoqin/kaoqin/internal/results"
	"github.com/kaoqin/kaoqin/internal/store"
	"github.com/kaoqin/kaoqin/internal/store/storetest"
	"github.com/kaoqin/kaoqin/leave"
	"github.com/kaoqin/kaoqin/workflow"
)

var ctx = context.Background()

func at(s string) time.Time {
	t, err := time.Parse("2006-01-02 15:04", s)
	if err != nil {
		panic(err)
	}
	return t
}

type fixture struct {
	st      *store.Store
	svc     *workflow.Service
	worker  *results.Worker
	users   map[string]store.User
	rules   attendance.Rules
	staffOf map[string]string
}

func newFixture(t *testing.T, s *store.Store) *fixture {
	_, err := s.ImportStaff(ctx, []store.RosterEntry{
		{Staff: store.Staff{StaffID: "1001", Name: "张三", Window: "民政", Unit: "民政局"}},
		{Staff: store.Staff{StaffID: "1002", Name: "李四", Window: "民政", Unit: "民政局"}},
		{Staff: store.Staff{StaffID: "2001", Name: "王五", Window: "公证", Unit: "司法局"}},
	}, "t")
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{st: s, rules: attendance.DefaultRules(), users: map[string]store.User{}}
	for _, u := range []store.User{
		{Name: "zs", Role: store.RoleStaff, StaffID: "1001", Email: "zs@x"},
		{Name: "ww", Role: store.RoleStaff, StaffID: "2001"},
		{Name: "head", Role: store.RoleWindowHead, Window: "民政", Email: "head@x"},
		{Name: "lead", Role: store.RoleCenterLeader, Email: "lead@x"},
		{Name: "unit", Role: store.RoleUnitLeader, Unit: "民政局", Email: "unit@x"},
		{Name: "unit2", Role: store.RoleUnitLeader, Unit: "司法局"},
		{Name: "super", Role: store.RoleSupervisor, Email: "super@x"},
	} {
		u.PasswordHash = "x"
		if err := s.AddUser(ctx, u, "t"); err != nil {
			t.Fatal(err)
		}
		f.users[u.Name] = u
	}
	r := &f.rules
	f.worker = results.New(results.Options{Store: s, Rules: r, SweepDays: -1})
	f.svc = &workflow.Service{Store: s, Rules: func() *attendance.Rules { return r }, BaseURL: "http://kq",
		Router: &notify.Router{Email: true, Users: s.ListUsers}}
	return f
}

func (f *fixture) results(t *testing.T, staff, day string) []store.SegmentResult {
	t.Helper()
	if err := f.worker.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	rs, err := f.st.Results(ctx, at(day+" 00:00"), at(day+" 00:00"), staff)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func TestTwoDayLeaveThroughEveryApprover(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		f := newFixture(t, s)
		q := workflow.Request{Kind: workflow.KindLeave, StaffID: "1001", Type: leave.Personal, Start: at("2026-07-06 08:30"),
			End: at("2026-07-07 18:00"), FiledAt: at("2026-07-03 10:00"), Reason: "家中有事"}
		id, rt, err := f.svc.File(ctx, q, nil, "zs")
		if err != nil {
			t.Fatal(err)
		}
		if len(rt.Steps) != 3 || len(rt.Warnings) != 0 {
			t.Fatalf("route: got %+v", rt)
		}
		// Out of turn: the center leader cannot go first, a unit leader of another unit never.
		if _, err := f.svc.Decide(ctx, id, f.users["lead"], true, false, ""); !errors.Is(err, workflow.ErrForbidden) {
			t.Errorf("center leader first: got %v, want ErrForbidden", err)
		}
		for _, step := range []struct {
			who   string
			stamp bool
			state string
		}{{"head", false, "pending"}, {"lead", false, "pending"}, {"unit", true, "recognised"}} {
			if step.who == "unit" {
				if _, err := f.svc.Decide(ctx, id, f.users["unit2"], true, true, ""); !errors.Is(err, workflow.ErrForbidden) {
					t.Errorf("unit leader of another unit: got %v", err)
				}
				if _, err := f.svc.Decide(ctx, id, f.users["unit"], true, false, ""); err == nil {
					t.Error("unit leader without the stamp: got nil error")
				}
			}
			got, err := f.svc.Decide(ctx, id, f.users[step.who], true, step.stamp, "同意")
			if err != nil {
				t.Fatalf("%s: %v", step.who, err)
			}
			if got.State != step.state {
				t.Fatalf("after %s: state %s, want %s", step.who, got.State, step.state)
			}
		}
		for _, day := range []string{"2026-07-06", "2026-07-07"} {
			rs := f.results(t, "1001", day)
			if len(rs) != 2 {
				t.Fatalf("%s: %d results, want 2", day, len(rs))
			}
			for _, r := range rs {
				if r.Findings != "LEAVE" || r.LeaveType != "personal" {
					t.Errorf("%s %s: got %q %q, want LEAVE personal", day, r.Segment, r.Findings, r.LeaveType)
				}
			}
		}
		// Notices: the head, the leader, the unit leader each once, then the staff member.
		ns, _ := s.ListNotices(ctx, store.NoticeFilter{})
		var targets []string
		for i := len(ns) - 1; i >= 0; i-- {
			targets = append(targets, ns[i].Kind+":"+ns[i].Target)
		}
		want := "request_waiting:head@x request_waiting:lead@x request_waiting:unit@x request_decided:zs@x"
		if strings.Join(targets, " ") != want {
			t.Errorf("notices: got %q, want %q", strings.Join(targets, " "), want)
		}
	})
}

func TestOnePersonWindowAndLateFiling(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		f := newFixture(t, s)
		// 45 minutes at the one-person 公证 window, no substitute: the center leader alone
		// approves, the slip is recognised, and the absence is OFF_POST (R16).
		id, rt, err := f.svc.File(ctx, workflow.Request{Kind: workflow.KindLeave, StaffID: "2001", Type: leave.Temporary,
			Start: at("2026-07-06 09:00"), End: at("2026-07-06 09:45"), FiledAt: at("2026-07-06 08:40"), Reason: "取材料"}, nil, "ww")
		if err != nil {
			t.Fatal(err)
		}
		if len(rt.Steps) != 1 || rt.Steps[0] != workflow.StepCenterLeader || len(rt.Warnings) != 1 {
			t.Fatalf("route: got %+v", rt)
		}
		got, err := f.svc.Decide(ctx, id, f.users["lead"], true, false, "")
		if err != nil {
			t.Fatal(err)
		}
		// R16 as clarified: recognised (it excuses what it covers), and OFF_POST all the same.
		if got.State != "recognised" || !strings.Contains(strings.Join(got.Verdict, ""), "脱岗") {
			t.Errorf("45 min without a substitute: got %s %q", got.State, got.Verdict)
		}
		rs := f.results(t, "2001", "2026-07-06")
		if len(rs) == 0 || !strings.Contains(rs[0].Findings, "OFF_POST") {
			t.Errorf("AM result: got %+v, want OFF_POST", rs)
		}
		// Filed after the leave began, no phone notice: every approval, still not recognised.
		id, rt, err = f.svc.File(ctx, workflow.Request{Kind: workflow.KindLeave, StaffID: "1001", Type: leave.Personal,
			Start: at("2026-07-08 08:30"), End: at("2026-07-08 12:00"), FiledAt: at("2026-07-08 10:00"), Reason: "生病"}, nil, "zs")
		if err != nil {
			t.Fatal(err)
		}
		if !rt.Late {
			t.Fatal("late filing not flagged")
		}
		f.svc.Decide(ctx, id, f.users["head"], true, false, "")
		got, err = f.svc.Decide(ctx, id, f.users["lead"], true, false, "")
		if err != nil {
			t.Fatal(err)
		}
		if got.State != "unrecognised" || !strings.Contains(strings.Join(got.Verdict, ""), "事后备案不予认可") {
			t.Errorf("late filing: got %s %q", got.State, got.Verdict)
		}
		rs = f.results(t, "1001", "2026-07-08")
		if len(rs) == 0 || !strings.Contains(rs[0].Findings, "LEAVE_UNRECOGNISED") {
			t.Errorf("late filing's AM: got %+v, want LEAVE_UNRECOGNISED", rs)
		}
	})
}

func TestMakeupBecomesFailureReport(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		f := newFixture(t, s)
		id, rt, err := f.svc.File(ctx, workflow.Request{Kind: workflow.KindMakeup, StaffID: "1001", Punch: workflow.AMIn,
			Start: at("2026-07-06 00:00"), FiledAt: at("2026-07-06 09:30"), Reason: "考勤机识别不了指纹"}, nil, "zs")
		if err != nil {
			t.Fatal(err)
		}
		if len(rt.Steps) != 1 || rt.Steps[0] != workflow.StepSupervisor {
			t.Fatalf("route: %+v", rt)
		}
		got, err := f.svc.Decide(ctx, id, f.users["super"], true, false, "已核实")
		if err != nil {
			t.Fatal(err)
		}
		if got.State != "recognised" || got.FailureID == 0 {
			t.Fatalf("makeup: got %+v", got)
		}
		fs, _ := s.FailureReports(ctx, "1001", at("2026-07-06 00:00"), at("2026-07-07 00:00"))
		if len(fs) != 1 || !fs[0].ReportedAt.Equal(at("2026-07-06 09:30")) || !fs[0].From.Equal(at("2026-07-06 08:00")) {
			t.Fatalf("failure report: got %+v", fs)
		}
		rs := f.results(t, "1001", "2026-07-06")
		if len(rs) == 0 || !strings.Contains(rs[0].Findings, "EXEMPT") {
			t.Errorf("AM with the makeup: got %+v, want EXEMPT", rs)
		}
	})
}

func TestShortAbsenceNeedsPhoneNoticeAndRejection(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		f := newFixture(t, s)
		// 20 minutes at the one-person 公证 window: 督查科 registers it, once the phone notice is
		// recorded (R16).
		id, rt, err := f.svc.File(ctx, workflow.Request{Kind: workflow.KindLeave, StaffID: "2001", Type: leave.Temporary,
			Start: at("2026-07-06 10:00"), End: at("2026-07-06 10:20"), FiledAt: at("2026-07-06 09:50"), Reason: "取快递"}, nil, "ww")
		if err != nil {
			t.Fatal(err)
		}
		if len(rt.Steps) != 1 || rt.Steps[0] != workflow.StepSupervisor {
			t.Fatalf("route: %+v", rt.Steps)
		}
		if _, err := f.svc.Decide(ctx, id, f.users["super"], true, false, ""); err == nil || !strings.Contains(err.Error(), "电话报备") {
			t.Fatalf("registered without the phone notice: got %v", err)
		}
		if err := f.svc.PhoneNotice(ctx, id, at("2026-07-06 09:45"), f.users["lead"]); !errors.Is(err, workflow.ErrForbidden) {
			t.Errorf("phone notice by the center leader: got %v, want ErrForbidden", err)
		}
		if err := f.svc.PhoneNotice(ctx, id, at("2026-07-06 09:45"), f.users["super"]); err != nil {
			t.Fatal(err)
		}
		got, err := f.svc.Decide(ctx, id, f.users["super"], true, false, "已登记")
		if err != nil || got.State != "recognised" {
			t.Fatalf("registered: got %v %v", got.State, err)
		}
		slips, _ := s.LeaveSlips(ctx, "2001", at("2026-07-06 00:00"), at("2026-07-07 00:00"))
		if len(slips) != 1 || slips[0].Approvals != "registered;phone_notice@2026-07-06 09:45:00" {
			t.Errorf("slip tokens: got %+v", slips)
		}
		// A rejection needs its reason, ends the request, writes no slip, and tells the staff member.
		id, _, err = f.svc.File(ctx, workflow.Request{Kind: workflow.KindLeave, StaffID: "1001", Type: leave.Personal,
			Start: at("2026-07-09 08:30"), End: at("2026-07-09 18:00"), FiledAt: at("2026-07-03 10:00"), Reason: "旅游"}, nil, "zs")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Decide(ctx, id, f.users["head"], false, false, " "); err == nil {
			t.Error("rejection without a reason: got nil error")
		}
		got, err = f.svc.Decide(ctx, id, f.users["head"], false, false, "当天窗口人手不足")
		if err != nil || got.State != "rejected" || got.SlipID != 0 {
			t.Fatalf("rejected: got %+v %v", got, err)
		}
		ns, _ := s.ListNotices(ctx, store.NoticeFilter{Kind: "request_decided"})
		if len(ns) != 1 || ns[0].Target != "zs@x" || !strings.Contains(ns[0].Body, "当天窗口人手不足") {
			t.Errorf("decided notice: got %+v", ns)
		}
	})
}

// A request whose first approver has no account is filed, with a warning that it will wait.
func TestNoApproverAccountWarns(t *testing.T) {
	s := storetest.SQLite(t)
	f := newFixture(t, s)
	if err := s.DisableUser(ctx, "head", "t"); err != nil {
		t.Fatal(err)
	}
	_, rt, err := f.svc.File(ctx, workflow.Request{Kind: workflow.KindLeave, StaffID: "1001", Type: leave.Personal,
		Start: at("2026-07-09 08:30"), End: at("2026-07-09 12:00"), FiledAt: at("2026-07-03 10:00"), Reason: "办事"}, nil, "zs")
	if err != nil {
		t.Fatal(err)
	}
	if len(rt.Warnings) != 1 || !strings.Contains(rt.Warnings[0], "还没有可以窗口负责人审批的账号") {
		t.Errorf("warnings: %q", rt.Warnings)
	}
}

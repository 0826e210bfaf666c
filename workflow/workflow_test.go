package workflow

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/kaoqin/kaoqin/attendance"
	"github.com/kaoqin/kaoqin/leave"
)

func at(s string) time.Time {
	t, err := time.Parse("2006-01-02 15:04", s)
	if err != nil {
		panic(err)
	}
	return t
}

// 2026-07-06 is a Monday in summer (PM 14:30-18:00); 2026-07-07 the Tuesday.
func TestPlanRoutes(t *testing.T) {
	r := attendance.DefaultRules()
	W, C, U, S := StepWindowHead, StepCenterLeader, StepUnitLeader, StepSupervisor
	cases := []struct {
		name        string
		staff       int
		typ         leave.Type
		from, to    string
		attach      leave.Token
		substitute  string
		want        []Step
		warnings    int
		wantMinutes int
	}{
		{"R15 45 min temporary", 2, leave.Temporary, "2026-07-06 09:00", "2026-07-06 09:45", 0, "", []Step{W, S}, 0, 45},
		{"R15 exactly 1 hour", 3, leave.Personal, "2026-07-06 09:00", "2026-07-06 10:00", 0, "", []Step{W, S}, 0, 60},
		{"R15 61 min", 2, leave.Personal, "2026-07-06 09:00", "2026-07-06 10:01", 0, "", []Step{W, C}, 0, 61},
		{"R15 one whole day", 2, leave.Personal, "2026-07-06 08:30", "2026-07-06 18:00", 0, "", []Step{W, C}, 0, 420},
		{"R15 two days", 2, leave.Personal, "2026-07-06 08:30", "2026-07-07 18:00", 0, "", []Step{W, C, U}, 0, 840},
		{"R16 20 min", 1, leave.Temporary, "2026-07-06 09:00", "2026-07-06 09:20", 0, "", []Step{S}, 0, 20},
		{"R16 45 min no substitute", 1, leave.Temporary, "2026-07-06 09:00", "2026-07-06 09:45", 0, "", []Step{C}, 1, 45},
		{"R16 45 min with substitute", 1, leave.Temporary, "2026-07-06 09:00", "2026-07-06 09:45", 0, "李四", []Step{C}, 0, 45},
		{"R16 half a day", 1, leave.Personal, "2026-07-06 08:30", "2026-07-06 12:00", 0, "李四", []Step{C}, 0, 210},
		{"R16 over half a day", 1, leave.Personal, "2026-07-06 08:30", "2026-07-06 15:00", 0, "李四", []Step{C, U}, 0, 240},
		{"R17 sick 4 days without certificate", 2, leave.Sick, "2026-07-06 08:30", "2026-07-09 18:00", 0, "", []Step{W, C, U}, 1, 1680},
		{"R17 sick 4 days with certificate", 2, leave.Sick, "2026-07-06 08:30", "2026-07-09 18:00", leave.HospitalCert, "", []Step{W, C, U}, 0, 1680},
		{"R17 sick 3 days needs none", 2, leave.Sick, "2026-07-06 08:30", "2026-07-08 18:00", 0, "", []Step{W, C, U}, 0, 1260},
		{"R17 meeting with notice only", 2, leave.Meeting, "2026-07-06 08:30", "2026-07-06 12:00", leave.Notice, "", []Step{W, C}, 1, 210},
		{"R17 meeting complete", 2, leave.Meeting, "2026-07-06 08:30", "2026-07-06 12:00", leave.Notice | leave.UnitCert, "", []Step{W, C}, 0, 210},
		{"R17 study without certificate", 2, leave.Study, "2026-07-06 14:30", "2026-07-06 18:00", 0, "", []Step{W, C}, 1, 210},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			q := Request{Kind: KindLeave, StaffID: "s1", Type: c.typ, Start: at(c.from), End: at(c.to),
				FiledAt: at("2026-07-03 10:00"), Reason: "事由", Attachments: c.attach, Substitute: c.substitute}
			if err := Check(&r, &q); err != nil {
				t.Fatal(err)
			}
			rt := Plan(&r, attendance.Staff{ID: "s1", WindowStaff: c.staff}, q)
			if !reflect.DeepEqual(rt.Steps, c.want) {
				t.Errorf("steps: got %v, want %v", rt.Steps, c.want)
			}
			if len(rt.Warnings) != c.warnings {
				t.Errorf("warnings: got %q, want %d", rt.Warnings, c.warnings)
			}
			if rt.Need.Minutes != c.wantMinutes {
				t.Errorf("minutes: got %d, want %d", rt.Need.Minutes, c.wantMinutes)
			}
			if rt.Late {
				t.Error("filed in advance, got late")
			}
		})
	}
}

// Every route, approved step by step, ends in a slip the rule book recognises (when filed in
// time with its attachments and substitute): the workflow's tokens are exactly what Recognise asks.
func TestApproveAllIsRecognised(t *testing.T) {
	r := attendance.DefaultRules()
	for _, staff := range []int{1, 2} {
		for _, span := range [][2]string{{"09:00", "09:20"}, {"09:00", "09:45"}, {"09:00", "10:30"}, {"08:30", "15:00"}, {"08:30", "18:00"}} {
			for _, typ := range []leave.Type{leave.Personal, leave.Temporary, leave.Sick, leave.Meeting, leave.Study} {
				q := Request{Kind: KindLeave, StaffID: "s1", Type: typ, Start: at("2026-07-06 " + span[0]), End: at("2026-07-07 " + span[1]),
					FiledAt: at("2026-07-03 10:00"), Substitute: "李四", Attachments: leave.UnitCert | leave.Notice | leave.StudyCert | leave.HospitalCert,
					PhoneNoticeAt: at("2026-07-03 09:00")}
				if span[0] == "09:00" {
					q.End = at("2026-07-06 " + span[1])
				}
				if err := Check(&r, &q); err != nil {
					t.Fatal(err)
				}
				st := attendance.Staff{ID: "s1", WindowStaff: staff}
				rt := Plan(&r, st, q)
				status := Start(rt)
				var done []Step
				for status.State == Pending {
					var err error
					d := Decision{Step: status.Next, Actor: "a", Approve: true, Stamp: true}
					done = append(done, status.Next)
					if status, err = Apply(rt, status, d); err != nil {
						t.Fatal(err)
					}
				}
				_, v := Finish(&r, st, q, done)
				if !v.Recognised {
					t.Errorf("staff %d %s %v: not recognised: %q", staff, typ, span, v.Reasons)
				}
			}
		}
	}
}

func TestApplyOrderAndRefusals(t *testing.T) {
	rt := Route{Steps: []Step{StepWindowHead, StepCenterLeader, StepUnitLeader}}
	st := Start(rt)
	cases := []struct {
		name string
		d    Decision
		want string
	}{
		{"out of order", Decision{Step: StepCenterLeader, Actor: "c", Approve: true}, "正等待窗口负责人审批"},
		{"reject without reason", Decision{Step: StepWindowHead, Actor: "w"}, "驳回须填写理由"},
		{"no actor", Decision{Step: StepWindowHead, Approve: true}, "审批人为空"},
	}
	for _, c := range cases {
		if _, err := Apply(rt, st, c.d); !errors.Is(err, ErrBadRequest) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", c.name, err, c.want)
		}
	}
	st, _ = Apply(rt, st, Decision{Step: StepWindowHead, Actor: "w", Approve: true})
	st, _ = Apply(rt, st, Decision{Step: StepCenterLeader, Actor: "c", Approve: true})
	if _, err := Apply(rt, st, Decision{Step: StepUnitLeader, Actor: "u", Approve: true}); err == nil || !strings.Contains(err.Error(), "公章") {
		t.Errorf("unit leader without stamp: got %v, want refusal naming 公章", err)
	}
	st, err := Apply(rt, st, Decision{Step: StepUnitLeader, Actor: "u", Approve: true, Stamp: true})
	if err != nil || st.State != Recognised {
		t.Fatalf("last approval: got %v, %v; want recognised", st, err)
	}
	if _, err := Apply(rt, st, Decision{Step: StepUnitLeader, Actor: "u", Approve: true, Stamp: true}); err == nil {
		t.Error("decision on a decided request: got nil error")
	}
	rej, err := Apply(rt, Start(rt), Decision{Step: StepWindowHead, Actor: "w", Comment: "窗口人手不足"})
	if err != nil || rej.State != Rejected {
		t.Errorf("reject: got %v, %v", rej, err)
	}
}

func TestLateFilingNeverRecognised(t *testing.T) {
	r := attendance.DefaultRules()
	st := attendance.Staff{ID: "s1", WindowStaff: 2}
	q := Request{Kind: KindLeave, StaffID: "s1", Type: leave.Personal, Start: at("2026-07-06 08:30"), End: at("2026-07-07 18:00"),
		FiledAt: at("2026-07-08 09:00")}
	if err := Check(&r, &q); err != nil {
		t.Fatal(err)
	}
	rt := Plan(&r, st, q)
	if !rt.Late || len(rt.Warnings) == 0 || !strings.Contains(rt.Warnings[0], "逾期提交") {
		t.Fatalf("late filing: got late %v, warnings %q", rt.Late, rt.Warnings)
	}
	_, v := Finish(&r, st, q, rt.Steps)
	if v.Recognised || !strings.Contains(strings.Join(v.Reasons, ";"), "事后备案不予认可") {
		t.Errorf("late filing with every approval: got recognised %v, reasons %q", v.Recognised, v.Reasons)
	}
}

func TestCheckMakeupSetsPunchWindow(t *testing.T) {
	r := attendance.DefaultRules()
	cases := []struct {
		punch    Punch
		from, to string
	}{
		{AMIn, "2026-07-06 08:00", "2026-07-06 08:50"},
		{AMOut, "2026-07-06 11:40", "2026-07-06 12:10"},
		{PMIn, "2026-07-06 14:00", "2026-07-06 14:50"},
		{PMOut, "2026-07-06 17:40", "2026-07-06 18:10"},
	}
	for _, c := range cases {
		q := Request{Kind: KindMakeup, StaffID: "s1", Punch: c.punch, Start: at("2026-07-06 00:00"), FiledAt: at("2026-07-06 20:00"), Reason: "指纹识别不了"}
		if err := Check(&r, &q); err != nil {
			t.Fatal(err)
		}
		if !q.Start.Equal(at(c.from)) || !q.End.Equal(at(c.to)) {
			t.Errorf("%s: got %s-%s, want %s-%s", c.punch, q.Start, q.End, c.from, c.to)
		}
	}
	bad := []struct {
		name string
		q    Request
		want string
	}{
		{"weekend", Request{Kind: KindMakeup, StaffID: "s1", Punch: AMIn, Start: at("2026-07-05 00:00"), FiledAt: at("2026-07-06 20:00"), Reason: "x"}, "不是工作日"},
		{"future", Request{Kind: KindMakeup, StaffID: "s1", Punch: PMOut, Start: at("2026-07-06 00:00"), FiledAt: at("2026-07-06 09:00"), Reason: "x"}, "还没有开始"},
		{"no reason", Request{Kind: KindMakeup, StaffID: "s1", Punch: AMIn, Start: at("2026-07-06 00:00"), FiledAt: at("2026-07-06 20:00")}, "原因"},
		{"future failure", Request{Kind: KindFailure, StaffID: "s1", Start: at("2026-07-06 10:00"), FiledAt: at("2026-07-06 09:00"), Reason: "x"}, "只能报告已经发生的故障"},
		{"leave ends first", Request{Kind: KindLeave, StaffID: "s1", Type: leave.Personal, Start: at("2026-07-06 10:00"), End: at("2026-07-06 09:00"), FiledAt: at("2026-07-01 09:00")}, "不晚于"},
		{"leave on a Sunday", Request{Kind: KindLeave, StaffID: "s1", Type: leave.Personal, Start: at("2026-07-05 08:00"), End: at("2026-07-05 18:00"), FiledAt: at("2026-07-01 09:00")}, "没有工作时间"},
	}
	for _, c := range bad {
		q := c.q
		if err := Check(&r, &q); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", c.name, err, c.want)
		}
	}
}

package leave

import (
	"strings"
	"testing"
	"time"

	"github.com/kaoqin/kaoqin/attendance"
)

func at(s string) time.Time {
	t, err := time.Parse("2006-01-02 15:04:05", s)
	if err != nil {
		panic(err)
	}
	return t
}

func approvals(t *testing.T, s string) Approvals {
	t.Helper()
	a, err := ParseApprovals(s)
	if err != nil {
		t.Fatalf("ParseApprovals(%q): %v", s, err)
	}
	return a
}

var (
	multi  = attendance.Staff{ID: "1001", Window: "民政", WindowStaff: 3}
	single = attendance.Staff{ID: "2001", Window: "公安", WindowStaff: 1}
)

type slipCase struct {
	name       string
	staff      attendance.Staff
	typ        Type
	start, end string
	filed      string
	approvals  string
	recognised bool
	halfDay    bool
	offPost    bool
	reason     string // a substring of one of the reasons
}

func runSlipCases(t *testing.T, cases []slipCase) {
	t.Helper()
	r := attendance.DefaultRules()
	for _, tt := range cases {
		s := Slip{Ref: "x", StaffID: tt.staff.ID, Type: tt.typ, Start: at(tt.start), End: at(tt.end), FiledAt: at(tt.filed), Approvals: approvals(t, tt.approvals)}
		v := Recognise(&r, tt.staff, s)
		if v.Recognised != tt.recognised || v.HalfDay != tt.halfDay || v.OffPost != tt.offPost {
			t.Errorf("%s: got recognised=%v halfDay=%v offPost=%v, want %v %v %v (reasons %q)",
				tt.name, v.Recognised, v.HalfDay, v.OffPost, tt.recognised, tt.halfDay, tt.offPost, v.Reasons)
		}
		if tt.reason != "" && !strings.Contains(strings.Join(v.Reasons, "\n"), tt.reason) {
			t.Errorf("%s: reasons got %q, want one containing %q", tt.name, v.Reasons, tt.reason)
		}
	}
}

const day = "2026-07-06" // a Monday

func TestR14FilingTime(t *testing.T) {
	ok := "window_head;center_leader"
	runSlipCases(t, []slipCase{
		{"filed in advance", multi, Personal, day + " 08:30:00", day + " 12:00:00", "2026-07-03 16:00:00", ok, true, false, false, "事前备案"},
		{"filed at the start", multi, Personal, day + " 08:30:00", day + " 12:00:00", day + " 08:30:00", ok, true, false, false, "事前备案"},
		{"filed after the start", multi, Personal, day + " 08:30:00", day + " 12:00:00", day + " 08:31:00", ok, false, false, false, "事后备案"},
		{"phone notice before start, slip next working day", multi, Personal, day + " 08:30:00", day + " 12:00:00", "2026-07-07 17:00:00",
			ok + ";phone_notice@2026-07-06 07:50:00", true, false, false, "未超过 2026-07-07"},
		{"phone notice, slip at 23:59 of next working day", multi, Personal, day + " 08:30:00", day + " 12:00:00", "2026-07-07 23:59:59",
			ok + ";phone_notice@2026-07-06 07:50:00", true, false, false, ""},
		{"phone notice, slip two days later", multi, Personal, day + " 08:30:00", day + " 12:00:00", "2026-07-08 08:00:00",
			ok + ";phone_notice@2026-07-06 07:50:00", false, false, false, "已超过 2026-07-07"},
		{"phone notice on Friday, slip on Monday", multi, Personal, "2026-07-10 08:30:00", "2026-07-10 12:00:00", "2026-07-13 09:00:00",
			ok + ";phone_notice@2026-07-10 08:00:00", true, false, false, ""},
		{"phone notice before the holiday, slip after it", multi, Personal, "2026-09-24 14:30:00", "2026-09-24 18:00:00", "2026-09-28 09:00:00",
			ok + ";phone_notice@2026-09-24 14:00:00", true, false, false, "未超过 2026-09-28"},
		{"phone notice after the start", multi, Personal, day + " 08:30:00", day + " 12:00:00", day + " 15:00:00",
			ok + ";phone_notice@2026-07-06 08:31:00", false, false, false, "晚于开始时间"},
		{"phone notice without time cannot rescue a late slip", multi, Personal, day + " 08:30:00", day + " 12:00:00", day + " 15:00:00",
			ok + ";phone_notice", false, false, false, "未注明时间"},
	})
}

func TestR15ApprovalsMultiStaff(t *testing.T) {
	adv := "2026-07-03 16:00:00"
	runSlipCases(t, []slipCase{
		{"temporary 60 min: window head + registered", multi, Temporary, day + " 09:00:00", day + " 10:00:00", adv, "window_head;registered", true, false, false, ""},
		{"temporary 60 min without registration", multi, Temporary, day + " 09:00:00", day + " 10:00:00", adv, "window_head", false, false, false, "缺少咨询窗口登记"},
		{"temporary 61 min is half a day", multi, Temporary, day + " 09:00:00", day + " 10:01:00", adv, "window_head;center_leader", true, true, false, "按请假半天处理"},
		{"temporary 61 min with only temporary approvals", multi, Temporary, day + " 09:00:00", day + " 10:01:00", adv, "window_head;registered", false, true, false, "缺少中心分管领导"},
		{"personal one day", multi, Personal, day + " 08:30:00", day + " 18:00:00", adv, "window_head;center_leader", true, false, false, ""},
		{"personal one day without center leader", multi, Personal, day + " 08:30:00", day + " 18:00:00", adv, "window_head", false, false, false, "缺少中心分管领导"},
		{"personal over one day", multi, Personal, day + " 08:30:00", "2026-07-07 12:00:00", adv, "window_head;center_leader", false, false, false, "缺少窗口单位领导、窗口单位公章"},
		{"personal over one day, all four", multi, Personal, day + " 08:30:00", "2026-07-07 12:00:00", adv, "window_head;center_leader;unit_leader;unit_stamp", true, false, false, ""},
		{"a weekend costs no working time", multi, Personal, "2026-07-10 14:30:00", "2026-07-13 12:00:00", adv, "window_head;center_leader", true, false, false, "420 个工作分钟"},
	})
}

func TestR16ApprovalsSingleStaff(t *testing.T) {
	adv := "2026-07-03 16:00:00"
	runSlipCases(t, []slipCase{
		{"30 min: phone + registered, no substitute needed", single, Temporary, day + " 09:00:00", day + " 09:30:00", adv, "phone_notice;registered", true, false, false, ""},
		// The substitute is not an approval (issue 15): the slip is recognised and OFF_POST too.
		{"31 min without substitute is recognised and OFF_POST", single, Temporary, day + " 09:00:00", day + " 09:31:00", adv, "center_leader", true, false, true, "未登记顶岗人员：另计脱岗一次"},
		{"31 min without substitute nor approvals", single, Temporary, day + " 09:00:00", day + " 09:31:00", adv, "", false, false, true, "缺少中心分管领导"},
		{"31 min with substitute and center leader", single, Temporary, day + " 09:00:00", day + " 09:31:00", adv, "center_leader;substitute", true, false, false, ""},
		{"half a day, center leader", single, Personal, day + " 08:30:00", day + " 12:00:00", adv, "center_leader;substitute", true, false, false, ""},
		{"over half a day needs unit", single, Personal, day + " 08:30:00", day + " 18:00:00", adv, "center_leader;substitute", false, false, false, "缺少窗口单位领导、窗口单位公章"},
		{"over half a day, complete", single, Personal, day + " 08:30:00", day + " 18:00:00", adv, "center_leader;unit_leader;unit_stamp;substitute", true, false, false, ""},
		{"everything but a substitute", single, Annual, day + " 08:30:00", "2026-07-10 18:00:00", adv, "window_head;center_leader;unit_leader;unit_stamp", true, false, true, "未登记顶岗人员"},
	})
}

func TestR17Attachments(t *testing.T) {
	adv := "2026-07-03 16:00:00"
	all := "window_head;center_leader;unit_leader;unit_stamp"
	runSlipCases(t, []slipCase{
		{"sick 3 days needs no certificate", multi, Sick, day + " 08:30:00", "2026-07-08 18:00:00", adv, all, true, false, false, ""},
		{"sick 4 days needs hospital_cert", multi, Sick, day + " 08:30:00", "2026-07-09 18:00:00", adv, all, false, false, false, "须附医院证明"},
		{"sick 4 days with hospital_cert", multi, Sick, day + " 08:30:00", "2026-07-09 18:00:00", adv, all + ";hospital_cert", true, false, false, ""},
		{"meeting needs unit_cert and notice", multi, Meeting, day + " 08:30:00", day + " 12:00:00", adv, "window_head;center_leader;unit_cert", false, false, false, "缺少会议培训通知"},
		{"meeting complete", multi, Meeting, day + " 08:30:00", day + " 12:00:00", adv, "window_head;center_leader;unit_cert;notice", true, false, false, ""},
		{"study needs study_cert", multi, Study, day + " 08:30:00", day + " 12:00:00", adv, "window_head;center_leader", false, false, false, "函授学习证明"},
		{"marriage follows the approvals", multi, Marriage, day + " 08:30:00", "2026-07-10 18:00:00", adv, all, true, false, false, ""},
	})
}

func TestR12JudgeFeedsTheEngine(t *testing.T) {
	r := attendance.DefaultRules()
	d := attendance.MakeDate(2026, 7, 6)
	rec := Records{Slips: []Slip{
		{Ref: "leave.csv:2", StaffID: "1001", Type: Personal, Start: at(day + " 08:30:00"), End: at(day + " 12:00:00"),
			FiledAt: at("2026-07-03 10:00:00"), Approvals: approvals(t, "window_head;center_leader")},
		{Ref: "leave.csv:3", StaffID: "9999", Type: Personal, Start: at(day + " 14:30:00"), End: at(day + " 18:00:00"),
			FiledAt: at("2026-07-03 10:00:00")},
	}}
	res := Classify(r.Period(d, d), multi, rec, nil)
	if len(res) != 2 {
		t.Fatalf("got %d results, want 2", len(res))
	}
	if got := res[0].Findings.String() + "/" + res[0].LeaveType; got != "LEAVE/personal" {
		t.Errorf("am got %s, want LEAVE/personal", got)
	}
	if got := res[1].Findings.String(); got != "ABSENT" {
		t.Errorf("pm got %s, want ABSENT (another staff member's slip does not apply)", got)
	}
}

func TestApprovalsParse(t *testing.T) {
	tests := []struct {
		in, want, err string
	}{
		{"", "", ""},
		{"window_head; center_leader", "window_head;center_leader", ""},
		{"phone_notice@2026-07-03 07:50:00;registered", "registered;phone_notice@2026-07-03 07:50:00", ""},
		{"boss", "", `unknown approval token "boss"`},
		{"registered@2026-07-03 07:50:00", "", "takes no time"},
		{"phone_notice@07:50", "", "bad phone notice time"},
	}
	for _, tt := range tests {
		a, err := ParseApprovals(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseApprovals(%q) error got %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || a.String() != tt.want {
			t.Errorf("ParseApprovals(%q) got %q %v, want %q", tt.in, a.String(), err, tt.want)
		}
	}
}

func TestR9FailureReportApplies(t *testing.T) {
	tests := []struct {
		f    FailureReport
		id   string
		want bool
	}{
		{FailureReport{StaffID: "1001"}, "1001", true},
		{FailureReport{StaffID: "1001"}, "1002", false},
		{FailureReport{StaffID: "*"}, "1002", true},
		{FailureReport{StaffID: "*", Clock: "hall"}, "1002", true},
		{FailureReport{StaffID: "*", Clock: "annex"}, "1002", false},
	}
	for _, tt := range tests {
		if got := tt.f.AppliesTo(tt.id, []string{"hall"}); got != tt.want {
			t.Errorf("%+v AppliesTo(%s) got %v, want %v", tt.f, tt.id, got, tt.want)
		}
	}
}

// TestVerdictWords: what the pages say of a slip, without rule numbers.
func TestVerdictWords(t *testing.T) {
	r := attendance.DefaultRules()
	adv := "2026-07-03 16:00:00"
	for _, tc := range []struct {
		name                 string
		staff                attendance.Staff
		typ                  Type
		start, end, filed, a string
		want                 string
	}{
		{"complete", multi, Personal, day + " 08:30:00", day + " 18:00:00", adv, "window_head;center_leader", "手续齐全"},
		{"no window head", multi, Personal, day + " 08:30:00", day + " 18:00:00", adv, "center_leader", "缺少窗口负责人签字"},
		{"nothing", multi, Personal, day + " 08:30:00", "2026-07-07 18:00:00", adv, "", "缺少窗口负责人签字、中心分管领导签字、窗口单位领导签字、窗口单位公章"},
		{"late, no phone", multi, Personal, day + " 08:30:00", day + " 12:00:00", day + " 09:00:00", "window_head;center_leader", "事后提交，且无电话报备"},
		{"sick without certificate", multi, Sick, day + " 08:30:00", "2026-07-09 18:00:00", adv, "window_head;center_leader;unit_leader;unit_stamp", "缺少医院证明"},
		{"one-person window, no substitute", single, Personal, day + " 08:30:00", day + " 12:00:00", adv, "center_leader", "手续齐全（未登记顶岗人员，另计脱岗）"},
	} {
		s := Slip{Ref: "x", StaffID: tc.staff.ID, Type: tc.typ, Start: at(tc.start), End: at(tc.end), FiledAt: at(tc.filed), Approvals: approvals(t, tc.a)}
		if got := Recognise(&r, tc.staff, s).Words(); got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
}

// Package leave owns what staff and the supervision section file about absences: leave slips,
// patrol records and clock-failure reports, and the rules that decide whether a slip is recognised
// (rules.md R12–R17: filing time, approvals by duration and window staffing, attachments,
// temporary absences, the one-person window's substitute).
//
// It imports package attendance for the schedule, the calendar and the Rules, and hands the
// engine its small judged forms (attendance.Leave, attendance.Patrol, attendance.Failure): the
// engine never learns how a slip was approved, only whether it counts. The dependency runs this
// way because recognising a slip needs working time (its duration, the next working day), while
// classifying punches needs nothing of approval tokens.
package leave

import (
	"fmt"
	"strings"
	"time"
)

// Type is a leave type of rules.md.
type Type string

// The leave types of rules.md.
const (
	Personal  Type = "personal"   // 事假
	Sick      Type = "sick"       // 病假
	Marriage  Type = "marriage"   // 婚假
	Funeral   Type = "funeral"    // 丧假
	Maternity Type = "maternity"  // 产假
	Annual    Type = "annual"     // 年休假
	HomeVisit Type = "home_visit" // 探亲假
	Meeting   Type = "meeting"    // 会议培训
	Study     Type = "study"      // 函授学习
	Temporary Type = "temporary"  // 临时外出
)

// Types lists every leave type, in the order of rules.md.
var Types = []Type{Personal, Sick, Marriage, Funeral, Maternity, Annual, HomeVisit, Meeting, Study, Temporary}

var chinese = map[Type]string{Personal: "事假", Sick: "病假", Marriage: "婚假", Funeral: "丧假", Maternity: "产假",
	Annual: "年休假", HomeVisit: "探亲假", Meeting: "会议培训", Study: "函授学习", Temporary: "临时外出"}

// ParseType returns the leave type named s.
func ParseType(s string) (Type, bool) {
	t := Type(s)
	_, ok := chinese[t]
	return t, ok
}

// Chinese is the type's name on the paper slip.
func (t Type) Chinese() string { return chinese[t] }

// Token is one approval token a slip carries, a bit of a set.
type Token uint16

// The approval tokens of rules.md.
const (
	WindowHead   Token = 1 << iota // window_head: 窗口负责人
	CenterLeader                   // center_leader: 政务中心分管领导
	UnitLeader                     // unit_leader: 窗口单位领导
	UnitStamp                      // unit_stamp: 窗口单位公章
	Registered                     // registered: 咨询窗口登记
	PhoneNotice                    // phone_notice: 电话请假
	Substitute                     // substitute: 替岗
	HospitalCert                   // hospital_cert: 医院证明
	UnitCert                       // unit_cert: 窗口单位证明
	Notice                         // notice: 会议或培训通知
	StudyCert                      // study_cert: 函授学院证明或面授通知
)

var tokenNames = []string{"window_head", "center_leader", "unit_leader", "unit_stamp", "registered",
	"phone_notice", "substitute", "hospital_cert", "unit_cert", "notice", "study_cert"}

// String joins the names of the tokens in t with ", ".
func (t Token) String() string {
	var out []string
	for i, n := range tokenNames {
		if t&(1<<i) != 0 {
			out = append(out, n)
		}
	}
	return strings.Join(out, ", ")
}

// tokenChinese are the tokens as the article names them, for reasons shown in reports.
var tokenChinese = []string{"窗口负责人", "中心分管领导", "窗口单位领导", "窗口单位公章", "咨询窗口登记",
	"电话报备", "顶岗人员", "医院证明", "窗口单位证明", "会议培训通知", "函授学习证明"}

// Chinese joins the Chinese names of the tokens in t with "、".
func (t Token) Chinese() string {
	var out []string
	for i, n := range tokenChinese {
		if t&(1<<i) != 0 {
			out = append(out, n)
		}
	}
	return strings.Join(out, "、")
}

// Approvals is what a slip carries: its tokens, and the time of the phone notice when it was given
// (phone_notice@2026-07-03 07:50:00).
type Approvals struct {
	Tokens        Token
	PhoneNoticeAt time.Time // zero when not given
}

// Has reports whether a carries every token of t.
func (a Approvals) Has(t Token) bool { return a.Tokens&t == t }

// String formats a as the CSV column does.
func (a Approvals) String() string {
	var out []string
	for i, n := range tokenNames {
		if a.Tokens&(1<<i) == 0 {
			continue
		}
		if Token(1<<i) == PhoneNotice && !a.PhoneNoticeAt.IsZero() {
			n += "@" + a.PhoneNoticeAt.Format(timeLayout)
		}
		out = append(out, n)
	}
	return strings.Join(out, ";")
}

const timeLayout = "2006-01-02 15:04:05"

// ParseApprovals parses a ";"-separated list of tokens, possibly empty. Every unknown token is
// named in the error.
func ParseApprovals(s string) (Approvals, error) {
	var a Approvals
	var bad []string
	for _, f := range strings.Split(s, ";") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		name, at, hasAt := strings.Cut(f, "@")
		name = strings.TrimSpace(name)
		i := indexOf(tokenNames, name)
		switch {
		case i < 0:
			bad = append(bad, fmt.Sprintf("unknown approval token %q (want %s)", name, strings.Join(tokenNames, ", ")))
			continue
		case hasAt && Token(1<<i) != PhoneNotice:
			bad = append(bad, fmt.Sprintf("approval token %q takes no time; only phone_notice@YYYY-MM-DD HH:MM:SS does", name))
			continue
		case hasAt:
			t, err := time.Parse(timeLayout, strings.TrimSpace(at))
			if err != nil {
				bad = append(bad, fmt.Sprintf("bad phone notice time %q: want phone_notice@YYYY-MM-DD HH:MM:SS", strings.TrimSpace(at)))
				continue
			}
			a.PhoneNoticeAt = t
		}
		a.Tokens |= 1 << i
	}
	if len(bad) > 0 {
		return a, fmt.Errorf("%s", strings.Join(bad, "; "))
	}
	return a, nil
}

func indexOf(ss []string, s string) int {
	for i, x := range ss {
		if x == s {
			return i
		}
	}
	return -1
}

// Slip is a leave slip (请假条) as filed.
type Slip struct {
	Ref        string // where it comes from, for evidence: a file and line, a database id
	StaffID    string
	Type       Type
	Start, End time.Time // both included (R12)
	FiledAt    time.Time // when the written slip reached the supervision section
	Approvals  Approvals
}

// Patrol is a patrol record (巡查记录): the supervision section saw the staff member present or
// absent from From to To (R10, R11).
type Patrol struct {
	Ref      string
	StaffID  string
	From, To time.Time
	Present  bool
}

// FailureReport is a report that a clock could not read a finger or was not working (R9).
type FailureReport struct {
	Ref string
	// StaffID is the staff member who reported, or "*" (or "") for every staff member of Clock.
	StaffID string
	// Clock narrows an everyone-report to the staff who use this clock; "" means every clock.
	Clock      string
	From, To   time.Time
	ReportedAt time.Time
}

// AppliesTo reports whether f concerns staff member id, who uses clocks.
func (f FailureReport) AppliesTo(id string, clocks []string) bool {
	if f.StaffID != "" && f.StaffID != "*" {
		return f.StaffID == id
	}
	if f.Clock == "" {
		return true
	}
	for _, c := range clocks {
		if c == f.Clock {
			return true
		}
	}
	return false
}

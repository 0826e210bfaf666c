package reports

import (
	"strconv"
	"strings"
	"time"

	"github.com/kaoqin/kaoqin/attendance"
	"github.com/kaoqin/kaoqin/leave"
)

// The Chinese of what reports print. Codes stay in JSON, words go on paper.

var findingNames = map[attendance.Findings]string{
	attendance.Absent: "旷工", attendance.Early: "早退", attendance.Exempt: "故障免责", attendance.Late: "迟到",
	attendance.OnLeave: "请假", attendance.LeaveUnrecognised: "请假未认可", attendance.MissingIn: "签到缺卡",
	attendance.MissingOut: "签退缺卡", attendance.OffPost: "脱岗",
}

var tokenNames = map[string]string{
	"window_head": "窗口负责人", "center_leader": "中心分管领导", "unit_leader": "窗口单位领导", "unit_stamp": "窗口单位公章",
	"registered": "咨询窗口登记", "phone_notice": "电话请假", "substitute": "替岗", "hospital_cert": "医院证明",
	"unit_cert": "窗口单位证明", "notice": "会议培训通知", "study_cert": "函授学习证明",
}

var weekdays = [...]string{"日", "一", "二", "三", "四", "五", "六"}

func segmentName(s attendance.Segment) string {
	if s == attendance.AM {
		return "上午"
	}
	return "下午"
}

func leaveName(t string) string {
	if n := leave.Type(t).Chinese(); n != "" {
		return n
	}
	return t
}

func weekday(d attendance.Date) string { return "周" + weekdays[d.Weekday()] }

func status(provisional bool) string {
	if provisional {
		return "暂定"
	}
	return "确定"
}

// halfDays formats a count of segments as days, one decimal: 3 → "1.5".
func halfDays(n int) string {
	s := strconv.Itoa(n / 2)
	if n%2 != 0 {
		return s + ".5"
	}
	return s + ".0"
}

// findingsText is the findings of r in words, e.g. "迟到12分钟、签到缺卡".
func findingsText(r *Result) string {
	var b strings.Builder
	for f := attendance.Findings(1); f != 0 && f <= attendance.OffPost; f <<= 1 {
		if !r.Findings.Has(f) {
			continue
		}
		if b.Len() > 0 {
			b.WriteString("、")
		}
		b.WriteString(findingNames[f])
		switch f {
		case attendance.Late:
			if r.LateMinutes > 0 {
				b.WriteString(strconv.Itoa(r.LateMinutes) + "分钟")
			}
		case attendance.Early:
			if r.EarlyMinutes > 0 {
				b.WriteString(strconv.Itoa(r.EarlyMinutes) + "分钟")
			}
		case attendance.OnLeave:
			b.WriteString("（" + leaveName(r.LeaveType) + "）")
		case attendance.OffPost:
			b.WriteString(strconv.Itoa(max(r.OffPost, 1)) + "次")
		}
	}
	return b.String()
}

func hm(t time.Time) string { return t.Format("15:04") }

// span formats a time range, leaving out the second date when it is the first's.
func span(from, to time.Time) string {
	f := from.Format("01-02 15:04")
	if from.Format("2006-01-02") == to.Format("2006-01-02") {
		return f + "至" + hm(to)
	}
	return f + "至" + to.Format("01-02 15:04")
}

var useNames = [...]string{Unused: "重复", SignIn: "签到", SignOut: "签退", Stray: "窗口外"}

func punchesText(ps []Punch) string {
	var b strings.Builder
	for i, p := range ps {
		if i > 0 {
			b.WriteString("；")
		}
		b.WriteString(p.At.Format("15:04:05"))
		if p.Manual {
			b.WriteString(" 补签")
			if p.Reason != "" || p.RecordedBy != "" {
				b.WriteString("（" + strings.Trim(p.Reason+"，"+p.RecordedBy, "，") + "）")
			}
		} else if p.Clock != "" {
			b.WriteString(" " + p.Clock)
		}
		b.WriteString("［" + useNames[p.Use] + "］")
	}
	return b.String()
}

func slipsText(ss []Slip) string {
	var b strings.Builder
	for i, s := range ss {
		if i > 0 {
			b.WriteString("；")
		}
		b.WriteString(leaveName(s.Type) + " " + span(s.From, s.To))
		if !s.FiledAt.IsZero() {
			b.WriteString("，" + s.FiledAt.Format("01-02 15:04") + "提交")
		}
		if len(s.Approvals) > 0 {
			b.WriteString("，审批：" + approvalsText(s.Approvals))
		} else {
			b.WriteString("，无审批")
		}
		if s.Recognised {
			b.WriteString("，已认可")
		} else {
			b.WriteString("，未认可")
			if len(s.Reasons) > 0 {
				b.WriteString("（" + strings.Join(s.Reasons, "；") + "）")
			}
		}
		if s.Ref != "" {
			b.WriteString("［" + s.Ref + "］")
		}
	}
	return b.String()
}

func approvalsText(tokens []string) string {
	out := make([]string, len(tokens))
	for i, t := range tokens {
		name, at, hasAt := strings.Cut(t, "@")
		if n, ok := tokenNames[name]; ok {
			name = n
		}
		if hasAt {
			name += "（" + at + "）"
		}
		out[i] = name
	}
	return strings.Join(out, "、")
}

func patrolsText(ps []Patrol) string {
	var b strings.Builder
	for i, p := range ps {
		if i > 0 {
			b.WriteString("；")
		}
		b.WriteString(hm(p.From) + "至" + hm(p.To))
		if p.Present {
			b.WriteString(" 在岗")
		} else {
			b.WriteString(" 不在岗")
		}
		if p.Ref != "" {
			b.WriteString("［" + p.Ref + "］")
		}
	}
	return b.String()
}

func failuresText(fs []Failure) string {
	var b strings.Builder
	for i, f := range fs {
		if i > 0 {
			b.WriteString("；")
		}
		b.WriteString(span(f.From, f.To) + "，" + f.ReportedAt.Format("01-02 15:04") + "报告")
		if f.Ref != "" {
			b.WriteString("［" + f.Ref + "］")
		}
	}
	return b.String()
}

// closingText is the report's status line.
func (r *MonthReport) closingText() string {
	if r.Closing != nil {
		return "已结账：" + r.Closing.ClosedAt.Format("2006-01-02 15:04") + "，结账人：" + r.Closing.ClosedBy +
			"，更正" + strconv.Itoa(len(r.Closing.Corrections)) + "条"
	}
	s := "未结账"
	if n := r.Provisional(); n > 0 {
		s += "，含暂定结果" + strconv.Itoa(n) + "个时段（标“暂定”者可能随打卡机读取、请假条等变化）"
	}
	return s
}

// title is "某市政务服务中心 2026年10月考勤纪律月报", narrowed by the scope: "… · 民政局".
func (r *MonthReport) title() string { return r.titleOf("考勤纪律月报") }

func (r *MonthReport) titleOf(what string) string {
	t := r.Month.Chinese() + what
	if r.Center != "" {
		t = r.Center + " " + t
	}
	if r.Scope != "" {
		t += " · " + r.Scope
	}
	return t
}

// evidenceText is a finding's evidence in one text, a line per kind.
func evidenceText(ev *Evidence) string {
	var lines []string
	if len(ev.Punches) > 0 {
		lines = append(lines, "打卡："+punchesText(ev.Punches))
	} else {
		lines = append(lines, "打卡：无")
	}
	if len(ev.Slips) > 0 {
		lines = append(lines, "请假条："+slipsText(ev.Slips))
	}
	if len(ev.Patrols) > 0 {
		lines = append(lines, "巡查："+patrolsText(ev.Patrols))
	}
	if len(ev.Failures) > 0 {
		lines = append(lines, "故障报告："+failuresText(ev.Failures))
	}
	return strings.Join(lines, "\n")
}

package leave

import (
	"fmt"
	"strings"
	"time"

	"github.com/kaoqin/kaoqin/attendance"
)

// Verdict is whether a slip is recognised, and why, in words for reports.
type Verdict struct {
	Recognised bool
	// Reasons explain the verdict, each naming its rule: every failed requirement when not
	// recognised, the requirements met when recognised.
	Reasons []string
	// Minutes is the working time the slip covers (R15 duration).
	Minutes int
	// HalfDay: a temporary absence over an hour, booked as half a day of leave (R15).
	HalfDay bool
	// OffPost: over 30 minutes away from a one-person window with no substitute recorded (R16),
	// whether the slip is recognised or not: the substitute is not an approval.
	OffPost bool
	// Missing is what an unrecognised slip lacks, in short words for people without rule
	// numbers ("缺少窗口负责人签字"), for the pages.
	Missing []string
}

// Words is the verdict as the pages show it: "手续齐全", or what is missing.
func (v Verdict) Words() string {
	if v.Recognised {
		if v.OffPost {
			return "手续齐全（未登记顶岗人员，另计脱岗）"
		}
		return "手续齐全"
	}
	return strings.Join(v.Missing, "；")
}

// signed are the approvals given by a signature.
const signed = WindowHead | CenterLeader | UnitLeader

// lacking words missing tokens: "缺少窗口负责人签字、窗口单位公章".
func lacking(t Token) string {
	var out []string
	for i, n := range tokenChinese {
		if tok := Token(1 << i); t&tok != 0 {
			if tok&signed != 0 {
				n += "签字"
			}
			out = append(out, n)
		}
	}
	return "缺少" + strings.Join(out, "、")
}

// Recognise judges slip s of staff member st (R14–R17).
func Recognise(r *attendance.Rules, st attendance.Staff, s Slip) Verdict {
	v := Verdict{Recognised: true}
	fail := func(missing, format string, args ...any) {
		v.Recognised = false
		v.Reasons = append(v.Reasons, fmt.Sprintf(format, args...))
		v.Missing = append(v.Missing, missing)
	}
	note := func(format string, args ...any) { v.Reasons = append(v.Reasons, fmt.Sprintf(format, args...)) }
	if _, ok := ParseType(string(s.Type)); !ok {
		fail("假别不明", "未知的假别 %q", s.Type)
	}
	if s.End.Before(s.Start) {
		fail("结束时间早于开始时间", "R12：假条结束时间（%s）早于开始时间（%s）", fmtTime(s.End), fmtTime(s.Start))
		return v
	}
	v.Minutes = r.WorkingMinutes(s.Start, s.End)
	startDay := attendance.DateOf(s.Start)
	a := s.Approvals

	// R14: filing time.
	switch {
	case !s.FiledAt.After(s.Start):
		note("R14：%s 提交，事前备案", fmtTime(s.FiledAt))
	case !a.Has(PhoneNotice):
		fail("事后提交，且无电话报备", "R14：%s 提交，晚于开始时间 %s，且无电话报备（事后备案不予认可）", fmtTime(s.FiledAt), fmtTime(s.Start))
	case a.PhoneNoticeAt.IsZero():
		// Decision: a phone notice without its time cannot show it came before the start.
		fail("事后提交，电话报备未注明时间", "R14：%s 提交，晚于开始时间 %s；电话报备未注明时间，不能证明在开始前报备（写作 phone_notice@YYYY-MM-DD HH:MM:SS）",
			fmtTime(s.FiledAt), fmtTime(s.Start))
	case a.PhoneNoticeAt.After(s.Start):
		fail("电话报备晚于请假开始时间", "R14：电话报备时间 %s 晚于开始时间 %s", fmtTime(a.PhoneNoticeAt), fmtTime(s.Start))
	default:
		due := startDay
		for i := 0; i < r.PhoneNoticeWorkingDays; i++ {
			due = r.NextWorkingDay(due)
		}
		// Decision: "by the end of the first working day" is by midnight of that day.
		if s.FiledAt.Before((due + 1).Time()) {
			note("R14：开始前 %s 电话报备，书面假条 %s 提交，未超过 %s", fmtTime(a.PhoneNoticeAt), fmtTime(s.FiledAt), due)
		} else {
			fail("书面假条逾期提交", "R14：开始前 %s 电话报备，但书面假条 %s 才提交，已超过 %s（请假开始后的第一个工作日）",
				fmtTime(a.PhoneNoticeAt), fmtTime(s.FiledAt), due)
		}
	}

	// R15, R16: approvals by duration and window staffing.
	req := Required(r, st, s.Type, s.Start, s.End)
	need, tier := req.Approvals, req.Tier
	if req.HalfDay {
		v.HalfDay = true
		note("R15：临时外出 %d 个工作分钟，超过 %d 分钟：按请假半天处理", v.Minutes, r.TemporaryMinutes)
	}
	// Clarification (issue 15): the substitute is not an approval. A slip with the approvals its
	// duration needs is recognised and excuses what it covers; without a recorded substitute the
	// absence from a one-person window over the limit is OFF_POST as well.
	if req.Substitute && !a.Has(Substitute) {
		v.OffPost = true
		note("R16：离开单人窗口 %d 个工作分钟，未登记顶岗人员：另计脱岗一次", v.Minutes)
	}
	if missing := need &^ a.Tokens; missing != 0 {
		fail(lacking(missing), "%s（%d 个工作分钟）须有%s；缺少%s（手续不齐不予认可）", tier, v.Minutes, need.Chinese(), missing.Chinese())
	} else {
		note("%s（%d 个工作分钟）：%s齐全", tier, v.Minutes, need.Chinese())
	}

	// R17: attachments.
	if missing := req.Attachments &^ a.Tokens; missing != 0 {
		switch s.Type {
		case Sick:
			fail(lacking(missing), "R17：病假超过 %d 个工作日须附医院证明", r.SickCertDays)
		case Meeting:
			fail(lacking(missing), "R17：会议培训假须附窗口单位证明和会议培训通知；缺少%s", missing.Chinese())
		case Study:
			fail(lacking(missing), "R17：函授学习假须附函授学习证明")
		}
	}
	return v
}

// Requirement is what a slip of a type and time range needs to be recognised (R15–R17), known
// before anything is approved: the workflow routes a request by it, and Recognise judges by it.
type Requirement struct {
	Minutes int // working minutes covered (R15 duration)
	// Tier names the row of the R15 or R16 table, in words for people.
	Tier string
	// Approvals are the tokens of that row; Attachments those R17 asks for.
	Approvals, Attachments Token
	// Substitute: a one-person window left for longer than the temporary limit (R16); without
	// one at the window the absence is OFF_POST whatever was approved.
	Substitute bool
	// HalfDay: a temporary absence over the limit, booked as half a day of leave (R15).
	HalfDay bool
}

// Required returns what a slip of type typ from start to end (both included) by staff member st
// needs (R15, R16, R17). It does not judge filing time (R14): that depends on when it is filed.
func Required(r *attendance.Rules, st attendance.Staff, typ Type, start, end time.Time) Requirement {
	q := Requirement{Minutes: r.WorkingMinutes(start, end)}
	dayMin := r.DayMinutes(attendance.DateOf(start))
	if st.Single() {
		t := r.SingleStaffTemporaryMinutes
		switch {
		case q.Minutes <= t:
			// Decision: the article asks for a substitute at a one-person window but names a
			// consequence only beyond 30 minutes, so a short absence needs none.
			q.Approvals, q.Tier = PhoneNotice|Registered, fmt.Sprintf("R16：单人窗口，%d 分钟以内", t)
		case q.Minutes <= dayMin/2:
			q.Approvals, q.Tier = CenterLeader, fmt.Sprintf("R16：单人窗口，超过 %d 分钟、不超过半天", t)
		default:
			q.Approvals, q.Tier = UnitLeader|UnitStamp|CenterLeader, "R16：单人窗口，超过半天"
		}
		q.Substitute = q.Minutes > t
	} else {
		t := r.TemporaryMinutes
		switch {
		case q.Minutes <= t:
			q.Approvals, q.Tier = WindowHead|Registered, fmt.Sprintf("R15：%d 分钟以内（临时外出）", t)
		case q.Minutes <= dayMin:
			q.Approvals, q.Tier = WindowHead|CenterLeader, fmt.Sprintf("R15：超过 %d 分钟、不超过 1 个工作日", t)
		default:
			q.Approvals, q.Tier = WindowHead|UnitLeader|UnitStamp|CenterLeader, "R15：超过 1 个工作日"
		}
		// Decision: the half-day booking is written for windows with two or more staff
		// (九(一)1); at a one-person window the same absence is judged by R16 instead.
		q.HalfDay = typ == Temporary && q.Minutes > t
	}
	switch typ {
	case Sick:
		if q.Minutes > r.SickCertDays*dayMin {
			q.Attachments = HospitalCert
		}
	case Meeting:
		q.Attachments = UnitCert | Notice
	case Study:
		q.Attachments = StudyCert
	}
	return q
}

func fmtTime(t time.Time) string { return t.Format("2006-01-02 15:04") }

// Judge returns the slip as the engine sees it.
func Judge(r *attendance.Rules, st attendance.Staff, s Slip) attendance.Leave {
	v := Recognise(r, st, s)
	return attendance.Leave{Ref: s.Ref, Type: string(s.Type), From: s.Start, To: s.End,
		Recognised: v.Recognised, Why: v.Reasons, HalfDay: v.HalfDay && v.Recognised, OffPost: v.OffPost}
}

// Records is everything filed about one staff member, raw.
type Records struct {
	Punches  []attendance.Punch // clock punches and manual sign-ins, sorted by time
	Slips    []Slip
	Patrols  []Patrol
	Failures []FailureReport
	// Clocks are the clocks the staff member uses, to match failure reports that name a clock.
	Clocks []string
}

// Inputs judges the records of st and returns the engine's inputs. Records of other staff members
// are left out, so a caller may pass one list for everyone.
func Inputs(r *attendance.Rules, st attendance.Staff, rec Records) attendance.Inputs {
	in := attendance.Inputs{Punches: rec.Punches}
	for _, s := range rec.Slips {
		if s.StaffID == st.ID {
			in.Leaves = append(in.Leaves, Judge(r, st, s))
		}
	}
	for _, p := range rec.Patrols {
		if p.StaffID == st.ID {
			in.Patrols = append(in.Patrols, attendance.Patrol{Ref: p.Ref, From: p.From, To: p.To, Present: p.Present})
		}
	}
	for _, f := range rec.Failures {
		if f.AppliesTo(st.ID, rec.Clocks) {
			in.Failures = append(in.Failures, attendance.Failure{Ref: f.Ref, From: f.From, To: f.To, ReportedAt: f.ReportedAt})
		}
	}
	return in
}

// Classify is the engine's entry point for callers holding raw records: it judges the slips and
// reports of st and classifies every working segment of p (see attendance.Classify).
func Classify(p *attendance.Period, st attendance.Staff, rec Records, dst []attendance.Result) []attendance.Result {
	return attendance.Classify(p, st, Inputs(p.Rules(), st, rec), dst)
}

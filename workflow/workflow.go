// Package workflow owns the requests staff file in kaoqin themselves — leave, clock-failure
// reports and 补卡 (a missed punch) — and their approval: who must approve what, in which order
// (rules.md R14–R17, by way of package leave), and what an approved request becomes. It keeps the
// engine pure: a leave request, once its last approval lands, becomes a leave slip carrying the
// approval tokens the paper path would carry, and a failure report or 补卡 becomes a clock-failure
// report stamped with the time it was filed; recognition is still package leave's and the engine's.
//
// The routing and the state machine are pure functions here (Plan, Apply); Service keeps the
// state in the database through internal/store and queues the notices the people who must act
// receive.
package workflow

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/kaoqin/kaoqin/attendance"
	"github.com/kaoqin/kaoqin/leave"
)

// Kind is what a request asks for.
type Kind string

// The kinds of request.
const (
	KindLeave   Kind = "leave"   // 请假
	KindFailure Kind = "failure" // 考勤机故障报告 (R9)
	// KindMakeup is 补卡: a missed punch explained after the fact. Decision (docs/workflows.md):
	// once approved it is a clock-failure report (R9) for that punch window, stamped with its
	// filing time, never a manual sign-in.
	KindMakeup Kind = "makeup"
)

var kindChinese = map[Kind]string{KindLeave: "请假", KindFailure: "考勤机故障报告", KindMakeup: "补卡"}

// Chinese is the kind's name on a page.
func (k Kind) Chinese() string { return kindChinese[k] }

// Step is one approval in a route, named by who gives it.
type Step string

// The steps, in the order a route takes them (issue 17: window head → center leader → window unit
// leader and stamp), then the supervision section's registration.
const (
	StepWindowHead   Step = "window_head"   // 窗口负责人: gives window_head
	StepCenterLeader Step = "center_leader" // 中心分管领导: gives center_leader
	StepUnitLeader   Step = "unit_leader"   // 窗口单位领导并盖章: gives unit_leader and unit_stamp
	// StepSupervisor is the supervision section (督查科): it registers a temporary absence (the
	// consultation window's register, with the phone notice a one-person window needs) and
	// accepts failure reports and 补卡.
	StepSupervisor Step = "supervisor"
)

var stepOrder = []Step{StepWindowHead, StepCenterLeader, StepUnitLeader, StepSupervisor}

var stepChinese = map[Step]string{StepWindowHead: "窗口负责人审批", StepCenterLeader: "中心分管领导审批",
	StepUnitLeader: "窗口单位领导审批并盖章", StepSupervisor: "督查科登记受理"}

// Chinese is the step's name on a page.
func (s Step) Chinese() string { return stepChinese[s] }

// ParseStep returns the step named s.
func ParseStep(s string) (Step, bool) {
	_, ok := stepChinese[Step(s)]
	return Step(s), ok
}

// tokens are what an approval at step s adds to the slip.
func (s Step) tokens() leave.Token {
	switch s {
	case StepWindowHead:
		return leave.WindowHead
	case StepCenterLeader:
		return leave.CenterLeader
	case StepUnitLeader:
		return leave.UnitLeader | leave.UnitStamp
	case StepSupervisor:
		return leave.Registered
	}
	return 0
}

// State is where a request stands.
type State string

// The states. A request is pending until its last approval or a rejection.
const (
	Pending    State = "pending"    // 审批中
	Recognised State = "recognised" // 已认可
	// Unrecognised: every approval given, but the rule book refuses it (a late filing, R14; a
	// missing attachment, R17). The slip is still written, so the report shows it and why.
	Unrecognised State = "unrecognised" // 不予认可
	Rejected     State = "rejected"     // 已驳回
)

var stateChinese = map[State]string{Pending: "审批中", Recognised: "已认可", Unrecognised: "不予认可", Rejected: "已驳回"}

// Chinese is the state's name on a page.
func (s State) Chinese() string { return stateChinese[s] }

// Punch is the missed punch a 补卡 names.
type Punch string

// The four punches of a day.
const (
	AMIn  Punch = "am_in"
	AMOut Punch = "am_out"
	PMIn  Punch = "pm_in"
	PMOut Punch = "pm_out"
)

var punchChinese = map[Punch]string{AMIn: "上午签到", AMOut: "上午签退", PMIn: "下午签到", PMOut: "下午签退"}

// Chinese is the punch's name on a page.
func (p Punch) Chinese() string { return punchChinese[p] }

// Attachment kinds: the R17 documents a leave request carries, as the tokens they give.
var attachmentKinds = map[string]leave.Token{"hospital_cert": leave.HospitalCert, "unit_cert": leave.UnitCert,
	"notice": leave.Notice, "study_cert": leave.StudyCert}

// AttachmentKinds lists the attachment kinds in the order pages offer them.
var AttachmentKinds = []string{"hospital_cert", "unit_cert", "notice", "study_cert"}

// AttachmentToken returns the token an attachment of kind gives.
func AttachmentToken(kind string) (leave.Token, bool) {
	t, ok := attachmentKinds[kind]
	return t, ok
}

// Request is what a staff member files.
type Request struct {
	Kind    Kind
	StaffID string
	Type    leave.Type // leave only
	// Start and End: the leave's range; for a failure report the time the clock failed (End may
	// equal Start); for a 补卡 the punch window of Punch on its day, set by Plan.
	Start, End time.Time
	Punch      Punch // 补卡 only
	FiledAt    time.Time
	Reason     string
	// Substitute names who stands in at a one-person window (R16); "" when nobody does.
	Substitute string
	// Attachments are the tokens of the documents attached (R17).
	Attachments leave.Token
	// PhoneNoticeAt is when the supervision section took the staff member's phone notice (R14,
	// R16); zero when none was recorded.
	PhoneNoticeAt time.Time
}

// Route is what a request needs.
type Route struct {
	Steps []Step
	// Need is the rule book's requirement (leave only).
	Need leave.Requirement
	// Late: filed after the leave started (R14). Without a phone notice taken before the start
	// and the written request within its deadline it cannot be recognised.
	Late bool
	// Warnings explain, in words for people, what will keep the request from being recognised
	// even when every approver says yes (a late filing, a missing attachment, no substitute).
	Warnings []string
}

// ErrBadRequest is a request or a decision the workflow refuses as it is.
var ErrBadRequest = errors.New("workflow: bad request")

func bad(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrBadRequest, fmt.Sprintf(format, args...))
}

// Check validates q and, for a 补卡, sets its range to the punch window it names on day Start.
func Check(r *attendance.Rules, q *Request) error {
	if q.StaffID == "" {
		return bad("没有填写工作人员")
	}
	if len([]rune(q.Reason)) > 500 {
		return bad("事由超过 500 字")
	}
	if q.FiledAt.IsZero() {
		return bad("没有提交时间")
	}
	switch q.Kind {
	case KindLeave:
		if _, ok := leave.ParseType(string(q.Type)); !ok {
			return bad("未知的假别 %q", q.Type)
		}
		if q.Start.IsZero() || q.End.IsZero() {
			return bad("请填写开始和结束时间")
		}
		if !q.End.After(q.Start) {
			return bad("结束时间 %s 不晚于开始时间 %s", fmtTime(q.End), fmtTime(q.Start))
		}
		if q.End.Sub(q.Start) > 366*24*time.Hour {
			return bad("请假超过一年")
		}
		if r.WorkingMinutes(q.Start, q.End) == 0 {
			return bad("%s 至 %s 没有工作时间，无需请假", fmtTime(q.Start), fmtTime(q.End))
		}
	case KindFailure:
		if q.Start.IsZero() {
			return bad("请填写考勤机故障的时间")
		}
		if q.End.IsZero() {
			q.End = q.Start
		}
		if q.End.Before(q.Start) {
			return bad("结束时间早于开始时间")
		}
		if q.Start.After(q.FiledAt) {
			return bad("故障时间 %s 晚于报告时间 %s：只能报告已经发生的故障", fmtTime(q.Start), fmtTime(q.FiledAt))
		}
		if strings.TrimSpace(q.Reason) == "" {
			return bad("请说明考勤机出了什么问题")
		}
	case KindMakeup:
		if _, ok := punchChinese[q.Punch]; !ok {
			return bad("请选择缺的是哪一次打卡")
		}
		if strings.TrimSpace(q.Reason) == "" {
			return bad("请填写补卡的原因")
		}
		d := attendance.DateOf(q.Start)
		if !r.Working(d) {
			return bad("%s 不是工作日", d)
		}
		h := r.Schedule.SeasonOn(d)
		w := h.AM.In
		switch q.Punch {
		case AMOut:
			w = h.AM.Out
		case PMIn:
			w = h.PM.In
		case PMOut:
			w = h.PM.Out
		}
		q.Start, q.End = d.At(w.From), d.At(w.To)
		if q.Start.After(q.FiledAt) {
			return bad("%s %s 的打卡时段还没有开始", d, q.Punch.Chinese())
		}
	default:
		return bad("未知的申请类型 %q", q.Kind)
	}
	return nil
}

// Plan returns the route of request q by staff member st (R14–R17). q must have passed Check.
func Plan(r *attendance.Rules, st attendance.Staff, q Request) Route {
	if q.Kind != KindLeave {
		// A failure report or a 补卡 is accepted by the supervision section, which the article
		// says must be told "at once" (clause 五); whether it was in time the engine judges (R9).
		return Route{Steps: []Step{StepSupervisor}}
	}
	need := leave.Required(r, st, q.Type, q.Start, q.End)
	rt := Route{Need: need}
	tokens := need.Approvals
	for _, s := range stepOrder {
		if s == StepSupervisor {
			if tokens&(leave.Registered|leave.PhoneNotice) != 0 {
				rt.Steps = append(rt.Steps, s)
			}
			continue
		}
		if tokens&s.tokens() != 0 {
			rt.Steps = append(rt.Steps, s)
		}
	}
	rt.Late = q.FiledAt.After(q.Start)
	if rt.Late {
		rt.Warnings = append(rt.Warnings, fmt.Sprintf("逾期提交：%s 提交，晚于请假开始时间 %s。事后备案不予认可，除非开始前已电话报备督查科并在规定期限内补办手续。",
			fmtTime(q.FiledAt), fmtTime(q.Start)))
	}
	if missing := need.Attachments &^ q.Attachments; missing != 0 {
		rt.Warnings = append(rt.Warnings, "缺少附件："+missing.Chinese()+"。不补齐不予认可。")
	}
	if need.Substitute && q.Substitute == "" {
		rt.Warnings = append(rt.Warnings, fmt.Sprintf("单人窗口离岗超过 %d 分钟且未填写顶岗人员：即使批准也按脱岗处理。", r.SingleStaffTemporaryMinutes))
	}
	return rt
}

// Decision is one approver's answer at one step.
type Decision struct {
	Step    Step
	Actor   string
	Approve bool
	// Stamp: the unit leader confirms the unit's stamp (盖章); an approval at StepUnitLeader
	// without it is refused.
	Stamp   bool
	Comment string
	At      time.Time
}

// Status is a request's place in its route.
type Status struct {
	State State
	// Next is the step waiting for a decision ("" when the request is decided).
	Next Step
}

// Start is the status of a request just filed on route rt.
func Start(rt Route) Status {
	if len(rt.Steps) == 0 {
		// No approver is needed (none of the rule book's rows asks for none, but a route
		// computed from a future rule might): the request is decided by the rule book alone.
		return Status{State: Recognised}
	}
	return Status{State: Pending, Next: rt.Steps[0]}
}

// Apply returns the status after decision d on a request at status st on route rt.
func Apply(rt Route, st Status, d Decision) (Status, error) {
	if st.State != Pending {
		return st, bad("申请已%s，不能再审批", st.State.Chinese())
	}
	if d.Step != st.Next {
		return st, bad("申请正等待%s，不是%s", st.Next.Chinese(), d.Step.Chinese())
	}
	if d.Actor == "" {
		return st, bad("审批人为空")
	}
	if !d.Approve {
		if strings.TrimSpace(d.Comment) == "" {
			return st, bad("驳回须填写理由")
		}
		return Status{State: Rejected}, nil
	}
	if d.Step == StepUnitLeader && !d.Stamp {
		return st, bad("窗口单位领导审批须确认已加盖单位公章")
	}
	for i, s := range rt.Steps {
		if s == d.Step {
			if i+1 < len(rt.Steps) {
				return Status{State: Pending, Next: rt.Steps[i+1]}, nil
			}
			// The last approval: recognised or not is the rule book's, decided by Finish.
			return Status{State: Recognised}, nil
		}
	}
	return st, bad("%s不在这份申请的审批流程中", d.Step.Chinese())
}

// Approvals are the tokens of the slip a fully approved leave request becomes: each approved
// step's, the attachments', the substitute, and the phone notice with its time.
func Approvals(q Request, approved []Step) leave.Approvals {
	a := leave.Approvals{Tokens: q.Attachments}
	for _, s := range approved {
		a.Tokens |= s.tokens()
	}
	if q.Substitute != "" {
		a.Tokens |= leave.Substitute
	}
	if !q.PhoneNoticeAt.IsZero() {
		a.Tokens |= leave.PhoneNotice
		a.PhoneNoticeAt = q.PhoneNoticeAt
	}
	return a
}

// Finish judges a leave request whose every step approved: the slip it becomes, and whether the
// rule book recognises it (R14–R17), with the reasons.
func Finish(r *attendance.Rules, st attendance.Staff, q Request, approved []Step) (leave.Slip, leave.Verdict) {
	sl := leave.Slip{StaffID: q.StaffID, Type: q.Type, Start: q.Start, End: q.End, FiledAt: q.FiledAt,
		Approvals: Approvals(q, approved)}
	return sl, leave.Recognise(r, st, sl)
}

func fmtTime(t time.Time) string { return t.Format("2006-01-02 15:04") }

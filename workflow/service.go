package workflow

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/kaoqin/kaoqin/attendance"
	"github.com/kaoqin/kaoqin/internal/notify"
	"github.com/kaoqin/kaoqin/internal/store"
	"github.com/kaoqin/kaoqin/leave"
)

// Service files and decides requests, keeping their state in the store. The web pages and the
// CLI both go through it.
type Service struct {
	Store *store.Store
	Rules func() *attendance.Rules
	// Router addresses the notices (nil: none are queued).
	Router *notify.Router
	// BaseURL starts the links in notices ("" leaves them out).
	BaseURL string
	// Wake wakes the results worker after a slip or report was written; WakeNotices the
	// notices worker after notices were queued. Either may be nil.
	Wake        func()
	WakeNotices func()
}

// ErrForbidden is a decision by someone who may not make it.
var ErrForbidden = errors.New("workflow: not allowed")

// FromStore is the request as the workflow reasons about it.
func FromStore(q store.Request) Request {
	out := Request{Kind: Kind(q.Kind), StaffID: q.StaffID, Type: leave.Type(q.LeaveType), Start: q.Start, End: q.End,
		Punch: Punch(q.Punch), FiledAt: q.FiledAt, Reason: q.Reason, Substitute: q.Substitute, PhoneNoticeAt: q.PhoneNoticeAt}
	for _, a := range q.Attachments {
		if t, ok := AttachmentToken(a.Kind); ok {
			out.Attachments |= t
		}
	}
	return out
}

func steps(ss []string) []Step {
	out := make([]Step, len(ss))
	for i, s := range ss {
		out[i] = Step(s)
	}
	return out
}

func names(ss []Step) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = string(s)
	}
	return out
}

func (s *Service) staff(ctx context.Context, id string) (store.Staff, attendance.Staff, error) {
	in, err := s.Store.LoadInputs(ctx, id, time.Time{}, time.Time{})
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return store.Staff{}, attendance.Staff{}, bad("没有工号为 %s 的工作人员", id)
		}
		return store.Staff{}, attendance.Staff{}, err
	}
	return in.Staff, attendance.Staff{ID: id, Window: in.Staff.Window, WindowStaff: in.WindowStaff}, nil
}

// Preview returns the route q would take, without filing it (the form shows it as it is filled).
func (s *Service) Preview(ctx context.Context, q Request) (Route, error) {
	r := s.Rules()
	if err := Check(r, &q); err != nil {
		return Route{}, err
	}
	_, ast, err := s.staff(ctx, q.StaffID)
	if err != nil {
		return Route{}, err
	}
	return Plan(r, ast, q), nil
}

// File checks q, routes it, stores it with its attachments (their Kind must be one of
// AttachmentKinds) and notifies the first approver. q.FiledAt is the caller's now: the filing
// time is a fact kaoqin records, not a value the staff member types.
func (s *Service) File(ctx context.Context, q Request, atts []store.Attachment, actor string) (int64, Route, error) {
	r := s.Rules()
	for _, a := range atts {
		t, ok := AttachmentToken(a.Kind)
		if !ok {
			return 0, Route{}, bad("未知的附件类别 %q", a.Kind)
		}
		if q.Kind == KindLeave {
			q.Attachments |= t
		}
	}
	if err := Check(r, &q); err != nil {
		return 0, Route{}, err
	}
	st, ast, err := s.staff(ctx, q.StaffID)
	if err != nil {
		return 0, Route{}, err
	}
	rt := Plan(r, ast, q)
	status := Start(rt)
	if status.State == Pending {
		if ok, err := s.hasApprover(ctx, status.Next, st); err != nil {
			return 0, rt, err
		} else if !ok {
			rt.Warnings = append(rt.Warnings, "系统中还没有可以"+status.Next.Chinese()+"的账号：请联系管理员添加，申请会一直等待。")
		}
	}
	sq := store.Request{Kind: string(q.Kind), StaffID: q.StaffID, Window: st.Window, Unit: st.Unit, WindowStaff: ast.WindowStaff,
		LeaveType: string(q.Type), Punch: string(q.Punch), Start: q.Start, End: q.End, FiledAt: q.FiledAt, Reason: q.Reason,
		Substitute: q.Substitute, Steps: names(rt.Steps), NextStep: string(status.Next), State: string(status.State),
		PhoneNoticeAt: q.PhoneNoticeAt, Verdict: rt.Warnings}
	queued := false
	notices := func(id int64) ([]store.Notice, error) {
		if status.State != Pending {
			return nil, nil
		}
		ns, err := s.waitingNotices(ctx, id, sq, st, status.Next)
		queued = len(ns) > 0
		return ns, err
	}
	id, err := s.Store.FileRequest(ctx, sq, atts, notices, actor)
	if err != nil {
		return 0, rt, err
	}
	if queued {
		s.wakeNotices()
	}
	return id, rt, nil
}

func (s *Service) wakeNotices() {
	if s.WakeNotices != nil {
		s.WakeNotices()
	}
}

// audienceOf is who decides step of request q.
func audienceOf(step Step, q store.Request) notify.Audience {
	switch step {
	case StepWindowHead:
		return notify.Audience{Role: store.RoleWindowHead, Window: q.Window}
	case StepCenterLeader:
		return notify.Audience{Role: store.RoleCenterLeader}
	case StepUnitLeader:
		return notify.Audience{Role: store.RoleUnitLeader, Unit: q.Unit}
	}
	return notify.Audience{Role: store.RoleSupervisor}
}

// Describe is a request in one line for people: who, what, when.
func Describe(q store.Request, name string) string {
	who := name
	if who == "" {
		who = q.StaffID
	}
	switch Kind(q.Kind) {
	case KindLeave:
		return fmt.Sprintf("%s（%s窗口）申请%s：%s 至 %s", who, q.Window, leave.Type(q.LeaveType).Chinese(),
			q.Start.Format("2006-01-02 15:04"), q.End.Format("2006-01-02 15:04"))
	case KindMakeup:
		return fmt.Sprintf("%s（%s窗口）申请补卡：%s %s", who, q.Window, q.Start.Format("2006-01-02"), Punch(q.Punch).Chinese())
	}
	return fmt.Sprintf("%s（%s窗口）报告考勤机故障：%s", who, q.Window, q.Start.Format("2006-01-02 15:04"))
}

func (s *Service) link(id int64) string {
	if s.BaseURL == "" || id == 0 {
		return ""
	}
	return "\n" + strings.TrimRight(s.BaseURL, "/") + "/approvals/" + strconv.FormatInt(id, 10)
}

// waitingNotices tells the approvers of step that request id waits for them, once per request and
// step.
func (s *Service) waitingNotices(ctx context.Context, id int64, q store.Request, st store.Staff, step Step) ([]store.Notice, error) {
	if s.Router == nil {
		return nil, nil
	}
	key := fmt.Sprintf("request_waiting|%d|%s", id, step)
	body := Describe(q, st.Name) + "。\n事由：" + q.Reason + "\n等待：" + step.Chinese() + "。请登录考勤系统处理。" + s.link(id)
	if len(q.Verdict) > 0 {
		body += "\n注意：" + strings.Join(q.Verdict, "；")
	}
	return s.Router.Deliveries(ctx, audienceOf(step, q), notify.Message{Key: key, Kind: "request_waiting",
		Subject: "【待审批】" + Describe(q, st.Name), Body: body})
}

// hasApprover reports whether some account may decide step for staff member st.
func (s *Service) hasApprover(ctx context.Context, step Step, st store.Staff) (bool, error) {
	us, err := s.Store.ListUsers(ctx)
	if err != nil {
		return false, err
	}
	q := store.Request{State: string(Pending), NextStep: string(step), Window: st.Window, Unit: st.Unit, StaffID: st.StaffID}
	for _, u := range us {
		if MayDecide(u, q) {
			return true, nil
		}
	}
	return false, nil
}

// MayDecide reports whether account u may decide request q at its next step.
func MayDecide(u store.User, q store.Request) bool {
	if q.State != string(Pending) || u.Disabled {
		return false
	}
	if u.StaffID != "" && u.StaffID == q.StaffID {
		return false // nobody approves their own request
	}
	switch Step(q.NextStep) {
	case StepWindowHead:
		return u.Role == store.RoleWindowHead && u.Window == q.Window
	case StepCenterLeader:
		return u.Role == store.RoleCenterLeader
	case StepUnitLeader:
		return u.Role == store.RoleUnitLeader && u.Unit == q.Unit
	case StepSupervisor:
		return u.Role == store.RoleSupervisor
	}
	return false
}

// Queue lists the pending requests account u may decide now, oldest first.
func (s *Service) Queue(ctx context.Context, u store.User) ([]store.Request, error) {
	f := store.RequestFilter{State: string(Pending)}
	switch u.Role {
	case store.RoleWindowHead:
		f.NextStep, f.Window = string(StepWindowHead), u.Window
	case store.RoleCenterLeader:
		f.NextStep = string(StepCenterLeader)
	case store.RoleUnitLeader:
		f.NextStep, f.Unit = string(StepUnitLeader), u.Unit
	case store.RoleSupervisor:
		f.NextStep = string(StepSupervisor)
	default:
		return nil, nil
	}
	qs, err := s.Store.ListRequests(ctx, f)
	if err != nil {
		return nil, err
	}
	out := qs[:0]
	for i := len(qs) - 1; i >= 0; i-- {
		if MayDecide(u, qs[i]) {
			out = append(out, qs[i])
		}
	}
	return out, nil
}

// Decide records u's decision on request id at its next step: approve (with the stamp at the
// unit leader's step) or reject with a comment. The last approval turns the request into its
// slip or failure report, judged by the rule book, and the affected days are recomputed.
func (s *Service) Decide(ctx context.Context, id int64, u store.User, approve, stamp bool, comment string) (store.Request, error) {
	q, err := s.Store.GetRequest(ctx, id)
	if err != nil {
		return q, err
	}
	if !MayDecide(u, q) {
		if q.State != string(Pending) {
			return q, bad("申请已%s，不能再审批", State(q.State).Chinese())
		}
		if u.StaffID != "" && u.StaffID == q.StaffID {
			return q, fmt.Errorf("%w: 不能审批自己的申请", ErrForbidden)
		}
		return q, fmt.Errorf("%w: 这份申请正等待%s，您不能处理", ErrForbidden, Step(q.NextStep).Chinese())
	}
	if len([]rune(comment)) > 500 {
		return q, bad("意见超过 500 字")
	}
	r := s.Rules()
	wq := FromStore(q)
	st, ast, err := s.staff(ctx, q.StaffID)
	if err != nil {
		return q, err
	}
	// The route is the one computed at filing: a roster change afterwards does not move a
	// request already in its approvers' hands.
	ast.WindowStaff = q.WindowStaff
	rt := Route{Steps: steps(q.Steps)}
	if Kind(q.Kind) == KindLeave {
		rt.Need = leave.Required(r, ast, wq.Type, wq.Start, wq.End)
	}
	step := Step(q.NextStep)
	if approve && step == StepSupervisor && rt.Need.Approvals&leave.PhoneNotice != 0 && q.PhoneNoticeAt.IsZero() {
		return q, bad("单人窗口临时外出须先记录电话报备的时间")
	}
	d := Decision{Step: step, Actor: u.Name, Approve: approve, Stamp: stamp, Comment: strings.TrimSpace(comment)}
	status, err := Apply(rt, Status{State: State(q.State), Next: step}, d)
	if err != nil {
		return q, err
	}
	approved := steps(q.Approved)
	if approve {
		approved = append(approved, step)
	}
	t := store.Transition{RequestID: id, At: string(step), State: string(status.State), NextStep: string(status.Next),
		Approved: names(approved), Verdict: q.Verdict,
		Decision: store.RequestDecision{Step: string(step), Actor: u.Name, Approve: approve, Stamp: stamp && step == StepUnitLeader, Comment: d.Comment}}
	if status.State == Recognised {
		switch Kind(q.Kind) {
		case KindLeave:
			sl, v := Finish(r, ast, wq, approved)
			if !v.Recognised {
				t.State = string(Unrecognised)
			}
			t.Verdict = v.Reasons
			t.Slip = &store.LeaveSlip{StaffID: q.StaffID, Type: string(sl.Type), Start: sl.Start, End: sl.End, FiledAt: sl.FiledAt,
				Approvals: sl.Approvals.String(), Note: fmt.Sprintf("系统申请 %d：%s", id, q.Reason)}
		default:
			d := attendance.DateOf(q.Start)
			w := attendance.Window{From: minuteOf(q.Start), To: minuteOf(q.End)}
			timely := r.FailureTimely(q.FiledAt, d, w)
			verdict := fmt.Sprintf("%s 报告，已登记为考勤机故障报告", q.FiledAt.Format("2006-01-02 15:04"))
			if timely {
				verdict += "；报告及时，该时段的缺卡免责"
			} else {
				t.State = string(Unrecognised)
				verdict += "；报告不及时（须在当天报告），缺卡照常计算"
			}
			t.Verdict = []string{verdict}
			t.Failure = &store.FailureReport{StaffID: q.StaffID, From: q.Start, To: q.End, ReportedAt: q.FiledAt,
				Note: fmt.Sprintf("系统%s %d：%s", Kind(q.Kind).Chinese(), id, q.Reason)}
		}
	}
	q.State, q.NextStep, q.Approved, q.Verdict = t.State, t.NextStep, t.Approved, t.Verdict
	if s.Router != nil {
		var ns []store.Notice
		if t.State == string(Pending) {
			ns, err = s.waitingNotices(ctx, id, q, st, status.Next)
		} else {
			ns, err = s.decidedNotices(ctx, id, q, st, d)
		}
		if err != nil {
			return q, err
		}
		t.Notices = ns
	}
	if err := s.Store.DecideRequest(ctx, t); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return q, bad("这份申请刚刚已被处理，请刷新后再看")
		}
		return q, err
	}
	if t.Slip != nil || t.Failure != nil {
		if s.Wake != nil {
			s.Wake()
		}
	}
	if len(t.Notices) > 0 {
		s.wakeNotices()
	}
	return s.Store.GetRequest(ctx, id)
}

func minuteOf(t time.Time) attendance.Minute { return attendance.Minute(t.Hour()*60 + t.Minute()) }

// decidedNotices tell the staff member what became of their request.
func (s *Service) decidedNotices(ctx context.Context, id int64, q store.Request, st store.Staff, d Decision) ([]store.Notice, error) {
	state := State(q.State)
	body := Describe(q, st.Name) + "\n结果：" + state.Chinese()
	if !d.Approve {
		body += "（" + d.Step.Chinese() + "驳回：" + d.Comment + "）"
	}
	if len(q.Verdict) > 0 && d.Approve {
		body += "\n" + strings.Join(q.Verdict, "\n")
	}
	body += s.link(id)
	return s.Router.Deliveries(ctx, notify.Audience{StaffID: q.StaffID}, notify.Message{Key: fmt.Sprintf("request_decided|%d", id),
		Kind: "request_decided", Subject: "【审批结果】" + state.Chinese() + "：" + Describe(q, st.Name), Body: body})
}

// PhoneNotice records that the supervision section took the staff member's phone notice of
// request id at at (R14: before the leave started, the written request may follow within a
// working day). Only the supervision section records it.
func (s *Service) PhoneNotice(ctx context.Context, id int64, at time.Time, u store.User) error {
	if u.Role != store.RoleSupervisor {
		return fmt.Errorf("%w: 只有督查科可以记录电话报备", ErrForbidden)
	}
	if at.IsZero() {
		return bad("请填写电话报备的时间")
	}
	if at.After(s.Store.Now().Add(time.Minute)) {
		return bad("电话报备时间 %s 还没有到", at.Format("2006-01-02 15:04"))
	}
	err := s.Store.RecordPhoneNotice(ctx, id, at, u.Name)
	if errors.Is(err, store.ErrConflict) {
		return bad("申请已处理完毕，不能再记录电话报备")
	}
	return err
}

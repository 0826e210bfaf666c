package web

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/kaoqin/kaoqin/attendance"
	"github.com/kaoqin/kaoqin/internal/store"
	"github.com/kaoqin/kaoqin/leave"
	"github.com/kaoqin/kaoqin/workflow"
)

// Approvals (issue 17): each approver's queue, a request with its route, decisions, attachments
// and the rule book's verdict, the approve/reject form (the unit leader confirms the stamp), and
// the supervision section's record of a phone notice. HR's annual leave balances are here too.

type approvalsData struct {
	Queue   []requestRow
	Pending []requestRow // the supervision section sees every pending request (phone notices)
	Recent  []requestRow
}

func (s *server) approvalsPage(w http.ResponseWriter, r *http.Request, u *session) {
	if !u.can("approvals") || s.o.Workflow == nil {
		s.fail(w, r, false, http.StatusForbidden, "您没有审批权限。")
		return
	}
	ctx := r.Context()
	names, err := s.requestStaffNames(r)
	if err != nil {
		s.serverError(w, r, false, err)
		return
	}
	queue, err := s.o.Workflow.Queue(ctx, u.User)
	if err != nil {
		s.serverError(w, r, false, err)
		return
	}
	d := &approvalsData{}
	for _, q := range queue {
		d.Queue = append(d.Queue, requestRowOf(q, names[q.StaffID]))
	}
	if u.User.Role == store.RoleSupervisor || u.User.Role == store.RoleAdmin || u.User.Role == store.RoleHR {
		pending, err := s.st.ListRequests(ctx, store.RequestFilter{State: string(workflow.Pending), Limit: 200})
		if err != nil {
			s.serverError(w, r, false, err)
			return
		}
		for _, q := range pending {
			d.Pending = append(d.Pending, requestRowOf(q, names[q.StaffID]))
		}
	}
	recent, err := s.st.ListRequests(ctx, store.RequestFilter{Limit: 200})
	if err != nil {
		s.serverError(w, r, false, err)
		return
	}
	for _, q := range recent {
		if q.State != string(workflow.Pending) && mayView(u, q) && len(d.Recent) < 30 {
			d.Recent = append(d.Recent, requestRowOf(q, names[q.StaffID]))
		}
	}
	s.renderPage(w, http.StatusOK, "approvals", &pageData{Title: "审批", U: u, Data: d})
}

func (s *server) requestStaffNames(r *http.Request) (map[string]string, error) {
	staff, err := s.st.ListStaff(r.Context())
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(staff))
	for _, st := range staff {
		out[st.StaffID] = st.Name
	}
	return out, nil
}

type stepRow struct {
	Name   string
	Status string // done, waiting, later, rejected
	By     string
	At     time.Time
}

type approvalData struct {
	Q           store.Request
	Row         requestRow
	StaffName   string
	Type        string
	Punch       string
	Steps       []stepRow
	Decisions   []decisionRow
	Attachments []attachmentRow
	MayDecide   bool
	Stamp       bool // the unit leader's step: the stamp checkbox
	NeedPhone   bool // the supervision section's step needs the phone notice first
	Phone       bool // u may record a phone notice
	Error       string
	Done        string
	Now         string
}

type decisionRow struct {
	Step, Actor, Comment string
	Approve, Stamp       bool
	At                   time.Time
}

type attachmentRow struct {
	ID         int64
	Kind, Name string
	KB         string
}

func (s *server) loadApproval(r *http.Request, u *session) (*approvalData, int, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return nil, http.StatusNotFound, nil
	}
	q, err := s.st.GetRequest(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, http.StatusNotFound, nil
	}
	if err != nil {
		return nil, 0, err
	}
	if !mayView(u, q) {
		return nil, http.StatusNotFound, nil
	}
	st, err := s.st.GetStaff(r.Context(), q.StaffID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, 0, err
	}
	d := &approvalData{Q: q, Row: requestRowOf(q, st.Name), StaffName: st.Name, Type: leave.Type(q.LeaveType).Chinese(),
		Punch: punchNames[q.Punch], MayDecide: s.o.Workflow != nil && workflow.MayDecide(u.User, q),
		Phone: u.User.Role == store.RoleSupervisor && q.State == string(workflow.Pending), Now: s.wallNow().Format("2006-01-02 15:04")}
	d.Stamp = d.MayDecide && q.NextStep == string(workflow.StepUnitLeader)
	if d.MayDecide && q.NextStep == string(workflow.StepSupervisor) && q.PhoneNoticeAt.IsZero() && workflow.Kind(q.Kind) == workflow.KindLeave && q.WindowStaff == 1 {
		// A one-person window's short absence: R16 asks for the phone notice.
		rules := s.o.Rules
		need := leave.Required(rules, staffOf(q), leave.Type(q.LeaveType), q.Start, q.End)
		d.NeedPhone = need.Approvals&leave.PhoneNotice != 0
	}
	byStep := map[string]store.RequestDecision{}
	for _, dc := range q.Decisions {
		byStep[dc.Step] = dc
		d.Decisions = append(d.Decisions, decisionRow{Step: workflow.Step(dc.Step).Chinese(), Actor: dc.Actor, Comment: dc.Comment,
			Approve: dc.Approve, Stamp: dc.Stamp, At: dc.At})
	}
	for _, step := range q.Steps {
		row := stepRow{Name: workflow.Step(step).Chinese(), Status: "later"}
		if dc, ok := byStep[step]; ok {
			row.By, row.At = dc.Actor, dc.At
			row.Status = "done"
			if !dc.Approve {
				row.Status = "rejected"
			}
		} else if step == q.NextStep && q.State == string(workflow.Pending) {
			row.Status = "waiting"
		}
		d.Steps = append(d.Steps, row)
	}
	for _, a := range q.Attachments {
		d.Attachments = append(d.Attachments, attachmentRow{ID: a.ID, Kind: attachmentNames[a.Kind], Name: a.Filename,
			KB: strconv.FormatInt((a.Size+1023)/1024, 10)})
	}
	return d, 0, nil
}

func (s *server) approvalPage(w http.ResponseWriter, r *http.Request, u *session) {
	d, code, err := s.loadApproval(r, u)
	switch {
	case err != nil:
		s.serverError(w, r, false, err)
	case code != 0:
		s.fail(w, r, false, code, "没有这份申请，或您无权查看。")
	default:
		switch r.URL.Query().Get("done") {
		case "decided":
			d.Done = "已处理：" + d.Row.State
		case "phone":
			d.Done = "已记录电话报备"
		}
		s.renderPage(w, http.StatusOK, "approvals_detail", &pageData{Title: d.Row.Kind + " " + d.StaffName, U: u, Data: d})
	}
}

func (s *server) approvalPost(w http.ResponseWriter, r *http.Request, u *session) {
	d, code, err := s.loadApproval(r, u)
	switch {
	case err != nil:
		s.serverError(w, r, false, err)
		return
	case code != 0:
		s.fail(w, r, false, code, "没有这份申请，或您无权查看。")
		return
	case s.o.Workflow == nil:
		s.fail(w, r, false, http.StatusForbidden, "审批未启用。")
		return
	}
	action := r.PostFormValue("action")
	if action != "approve" && action != "reject" {
		s.fail(w, r, false, http.StatusBadRequest, "请选择同意或驳回。")
		return
	}
	_, err = s.o.Workflow.Decide(r.Context(), d.Q.ID, u.User, action == "approve", r.PostFormValue("stamp") == "yes", r.PostFormValue("comment"))
	switch {
	case errors.Is(err, workflow.ErrBadRequest), errors.Is(err, workflow.ErrForbidden):
		d.Error = strings.TrimPrefix(strings.TrimPrefix(err.Error(), "workflow: bad request: "), "workflow: not allowed: ")
		s.renderPage(w, http.StatusUnprocessableEntity, "approvals_detail", &pageData{Title: d.Row.Kind + " " + d.StaffName, U: u, Data: d})
	case err != nil:
		s.serverError(w, r, false, err)
	default:
		http.Redirect(w, r, "/approvals/"+strconv.FormatInt(d.Q.ID, 10)+"?done=decided", http.StatusSeeOther)
	}
}

func (s *server) phoneNoticePost(w http.ResponseWriter, r *http.Request, u *session) {
	d, code, err := s.loadApproval(r, u)
	switch {
	case err != nil:
		s.serverError(w, r, false, err)
		return
	case code != 0:
		s.fail(w, r, false, code, "没有这份申请，或您无权查看。")
		return
	case s.o.Workflow == nil:
		s.fail(w, r, false, http.StatusForbidden, "审批未启用。")
		return
	}
	at, err := parseWall(r.PostFormValue("at"))
	if err == nil {
		err = s.o.Workflow.PhoneNotice(r.Context(), d.Q.ID, at, u.User)
	}
	switch {
	case err == nil:
		http.Redirect(w, r, "/approvals/"+strconv.FormatInt(d.Q.ID, 10)+"?done=phone", http.StatusSeeOther)
	case errors.Is(err, workflow.ErrBadRequest), errors.Is(err, workflow.ErrForbidden), !strings.HasPrefix(err.Error(), "store:"):
		d.Error = strings.TrimPrefix(strings.TrimPrefix(err.Error(), "workflow: bad request: "), "workflow: not allowed: ")
		s.renderPage(w, http.StatusUnprocessableEntity, "approvals_detail", &pageData{Title: d.Row.Kind + " " + d.StaffName, U: u, Data: d})
	default:
		s.serverError(w, r, false, err)
	}
}

// --- annual leave balances (HR) ---

type balancesData struct {
	Year     int
	Prev     int
	Next     int
	Rows     []store.Balance
	MaySet   bool
	Error    string
	Done     string
	Selected string
}

func (s *server) balancesView(r *http.Request, u *session, year int) (*balancesData, error) {
	bs, err := s.st.AnnualLeave(r.Context(), "", year)
	if err != nil {
		return nil, err
	}
	return &balancesData{Year: year, Prev: year - 1, Next: year + 1, Rows: bs,
		MaySet: u.User.Role == store.RoleHR || u.User.Role == store.RoleAdmin}, nil
}

func mayBalances(u *session) bool {
	switch u.User.Role {
	case store.RoleHR, store.RoleAdmin, store.RoleSupervisor:
		return true
	}
	return false
}

func (s *server) balancesPage(w http.ResponseWriter, r *http.Request, u *session) {
	if !mayBalances(u) {
		s.fail(w, r, false, http.StatusForbidden, "只有人事、督查科和管理员可以查看年休假额度。")
		return
	}
	year := s.wallNow().Year()
	if v := r.URL.Query().Get("year"); v != "" {
		y, err := strconv.Atoi(v)
		if err != nil || y < 2000 || y > 2099 {
			s.fail(w, r, false, http.StatusBadRequest, "年份 "+strconv.Quote(v)+" 不对，应为 2000 到 2099")
			return
		}
		year = y
	}
	d, err := s.balancesView(r, u, year)
	if err != nil {
		s.serverError(w, r, false, err)
		return
	}
	if r.URL.Query().Get("done") != "" {
		d.Done = "已保存"
	}
	s.renderPage(w, http.StatusOK, "approvals_balances", &pageData{Title: strconv.Itoa(year) + "年 年休假", U: u, Data: d})
}

func (s *server) balancesPost(w http.ResponseWriter, r *http.Request, u *session) {
	if u.User.Role != store.RoleHR && u.User.Role != store.RoleAdmin {
		s.fail(w, r, false, http.StatusForbidden, "只有人事和管理员可以设定年休假额度。")
		return
	}
	year, err := strconv.Atoi(r.PostFormValue("year"))
	if err != nil || year < 2000 || year > 2099 {
		s.fail(w, r, false, http.StatusBadRequest, "年份不对")
		return
	}
	staffID := r.PostFormValue("staff_id")
	days, perr := strconv.ParseFloat(strings.TrimSpace(r.PostFormValue("days")), 64)
	if perr == nil {
		err = s.st.SetAnnualLeave(r.Context(), staffID, year, days, u.name())
	}
	if perr != nil || errors.Is(err, store.ErrBadInput) {
		d, verr := s.balancesView(r, u, year)
		if verr != nil {
			s.serverError(w, r, false, verr)
			return
		}
		d.Error, d.Selected = "天数应为 0 到 365，以半天计，如 5 或 7.5", staffID
		if strings.Contains(errString(err), "unknown staff") {
			d.Error = "工号 " + strconv.Quote(staffID) + " 不在人员名单中"
		}
		s.renderPage(w, http.StatusUnprocessableEntity, "approvals_balances", &pageData{Title: strconv.Itoa(year) + "年 年休假", U: u, Data: d})
		return
	}
	if err != nil {
		s.serverError(w, r, false, err)
		return
	}
	http.Redirect(w, r, "/balances?year="+strconv.Itoa(year)+"&done=1", http.StatusSeeOther)
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func staffOf(q store.Request) attendance.Staff {
	return attendance.Staff{ID: q.StaffID, Window: q.Window, WindowStaff: q.WindowStaff}
}

package web

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/kaoqin/kaoqin/attendance"
	"github.com/kaoqin/kaoqin/internal/store"
	"github.com/kaoqin/kaoqin/leave"
)

// The entries list (录入记录): every leave slip, patrol record, failure report and manual sign-in
// entered, per kind, with the staff member's name and window, the period, who entered it and
// when, and for slips the verdict in words; any entry can be withdrawn with a reason (kept,
// audited, its days recomputed).

// entryKinds' entities, by the kind's name in the URL.
var entryEntities = map[string]string{"leave": store.EntityLeaveSlip, "patrol": store.EntityPatrol,
	"failure": store.EntityFailureReport, "signin": store.EntityManualSignIn}

// entryRow is one entry as the list shows it.
type entryRow struct {
	ID                int64
	StaffID, Name     string
	Window            string
	Period            string
	Detail            string // leave type and approvals; what the patrol saw; the clock; the reason
	Verdict           string // slips only
	Recognised        bool
	RecordedBy        string
	CreatedAt         time.Time
	Withdrawn         time.Time
	Note              string
	CanWithdraw       bool
	EveryoneOrUnknown bool
}

type entriesData struct {
	Kind    *entryKind
	Kinds   []entryKind
	Rows    []entryRow
	From    string
	To      string
	Staff   string
	Notice  string
	Error   string
	Roster  []store.Staff // for the staff search
	Limited bool          // the list was cut at its limit
}

const entriesLimit = 500

// staffScope is the staff a user may see, by id, and how many active staff each window has.
func (s *server) staffScope(ctx context.Context, u *session) (map[string]store.Staff, map[string]int, []store.Staff, error) {
	all, err := s.st.ListStaff(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	by := map[string]store.Staff{}
	perWindow := map[string]int{}
	var roster []store.Staff
	for _, st := range all {
		if st.Active {
			perWindow[st.Window]++
		}
		if w := u.window(); w == "" || st.Window == w {
			by[st.StaffID] = st
			roster = append(roster, st)
		}
	}
	return by, perWindow, roster, nil
}

func (s *server) entriesPage(w http.ResponseWriter, r *http.Request, u *session) {
	s.showEntries(w, r, u, http.StatusOK, "")
}

func (s *server) showEntries(w http.ResponseWriter, r *http.Request, u *session, code int, errMsg string) {
	q := r.URL.Query()
	kind := q.Get("kind")
	if kind == "" {
		kind = "leave"
	}
	k := kindOf(kind)
	if k == nil || entryEntities[kind] == "" {
		s.notFound(w, r)
		return
	}
	if !u.can(k.Role) {
		s.fail(w, r, false, http.StatusForbidden, "无权查看录入记录")
		return
	}
	today := attendance.DateOf(s.now())
	from, to := today-30, today
	for _, p := range []struct {
		name string
		dst  *attendance.Date
	}{{"from", &from}, {"to", &to}} {
		if v := q.Get(p.name); v != "" {
			d, err := attendance.ParseDate(v)
			if err != nil {
				s.fail(w, r, false, http.StatusBadRequest, "日期 "+strconv.Quote(v)+" 不对：应为 年-月-日，如 "+today.String())
				return
			}
			*p.dst = d
		}
	}
	if to < from {
		from, to = to, from
	}
	by, perWindow, roster, err := s.staffScope(r.Context(), u)
	if err != nil {
		s.serverError(w, r, false, err)
		return
	}
	d := entriesData{Kind: k, Kinds: entryKinds, From: from.String(), To: to.String(), Staff: strings.TrimSpace(q.Get("staff")), Roster: roster, Error: errMsg}
	if q.Get("withdrawn") != "" {
		d.Notice = "已撤销，相关日期的考勤结果正在重新计算。"
	}
	// The staff filter takes an id or a name (or part of one).
	match := func(id string) bool {
		if d.Staff == "" {
			return true
		}
		st, ok := by[id]
		return id == d.Staff || ok && strings.Contains(st.Name, d.Staff)
	}
	visible := func(id string) bool {
		if id == store.Everyone {
			return u.window() == "" && d.Staff == ""
		}
		_, ok := by[id]
		return ok && match(id)
	}
	f := store.EntryFilter{From: from.Time(), To: (to + 1).Time(), Limit: 5000}
	if _, ok := by[d.Staff]; ok {
		f.StaffID = d.Staff
	}
	name := func(id string) (string, string) {
		if id == store.Everyone {
			return "全体", ""
		}
		st := by[id]
		return st.Name, st.Window
	}
	row := func(id string, rid int64, period, detail, note, rec string, created, withdrawn time.Time) entryRow {
		n, win := name(id)
		return entryRow{ID: rid, StaffID: id, Name: n, Window: win, Period: period, Detail: detail, Note: note, RecordedBy: rec,
			CreatedAt: created, Withdrawn: withdrawn, CanWithdraw: withdrawn.IsZero(), EveryoneOrUnknown: id == store.Everyone}
	}
	ctx := r.Context()
	switch kind {
	case "leave":
		slips, err := s.st.ListLeaveSlips(ctx, f)
		if err != nil {
			s.serverError(w, r, false, err)
			return
		}
		for _, sl := range slips {
			if !visible(sl.StaffID) {
				continue
			}
			x := row(sl.StaffID, sl.ID, span(sl.Start, sl.End), leaveName(sl.Type)+"；"+approvalsWords(sl.Approvals), sl.Note, sl.RecordedBy, sl.CreatedAt, sl.CancelledAt)
			v := s.verdict(by[sl.StaffID], perWindow, sl)
			x.Verdict, x.Recognised = v.Words(), v.Recognised
			d.Rows = append(d.Rows, x)
		}
	case "patrol":
		ps, err := s.st.ListPatrols(ctx, f)
		if err != nil {
			s.serverError(w, r, false, err)
			return
		}
		for _, p := range ps {
			if visible(p.StaffID) {
				d.Rows = append(d.Rows, row(p.StaffID, p.ID, span(p.From, p.To), map[bool]string{true: "在岗", false: "不在岗"}[p.Present], p.Note, p.RecordedBy, p.CreatedAt, p.CancelledAt))
			}
		}
	case "failure":
		fs, err := s.st.ListFailureReports(ctx, f)
		if err != nil {
			s.serverError(w, r, false, err)
			return
		}
		for _, x := range fs {
			if visible(x.StaffID) {
				clock := x.Clock
				if clock == "" {
					clock = "全部打卡机"
				}
				d.Rows = append(d.Rows, row(x.StaffID, x.ID, span(x.From, x.To), clock+"；报告于 "+x.ReportedAt.Format("01-02 15:04"), x.Note, x.RecordedBy, x.CreatedAt, x.CancelledAt))
			}
		}
	case "signin":
		ms, err := s.st.ListManualSignIns(ctx, f)
		if err != nil {
			s.serverError(w, r, false, err)
			return
		}
		for _, m := range ms {
			if visible(m.StaffID) {
				d.Rows = append(d.Rows, row(m.StaffID, m.ID, m.At.Format("2006-01-02 15:04"), m.Reason, "", m.RecordedBy, m.CreatedAt, m.CancelledAt))
			}
		}
	}
	if len(d.Rows) > entriesLimit {
		d.Rows, d.Limited = d.Rows[:entriesLimit], true
	}
	s.renderPage(w, code, "entries", &pageData{Title: k.Title + "记录", U: u, Data: d})
}

// verdict judges a stored slip as the engine will (R14–R17).
func (s *server) verdict(st store.Staff, perWindow map[string]int, sl store.LeaveSlip) leave.Verdict {
	a, err := leave.ParseApprovals(sl.Approvals)
	if err != nil {
		return leave.Verdict{Missing: []string{"审批手续无法识别"}}
	}
	return leave.Recognise(s.o.Rules, attendance.Staff{ID: st.StaffID, Window: st.Window, WindowStaff: perWindow[st.Window]},
		leave.Slip{Ref: strconv.FormatInt(sl.ID, 10), StaffID: sl.StaffID, Type: leave.Type(sl.Type), Start: sl.Start, End: sl.End, FiledAt: sl.FiledAt, Approvals: a})
}

func span(from, to time.Time) string {
	if from.Format("2006-01-02") == to.Format("2006-01-02") {
		return from.Format("2006-01-02 15:04") + "–" + to.Format("15:04")
	}
	return from.Format("2006-01-02 15:04") + " 至 " + to.Format("2006-01-02 15:04")
}

func leaveName(t string) string {
	if n := leave.Type(t).Chinese(); n != "" {
		return n
	}
	return "假别不明"
}

// approvalsWords names a slip's approvals in Chinese ("窗口负责人、中心分管领导；电话报备 07:50").
func approvalsWords(s string) string {
	a, err := leave.ParseApprovals(s)
	if err != nil {
		return "审批手续无法识别"
	}
	if a.Tokens == 0 {
		return "无审批手续"
	}
	out := a.Tokens.Chinese()
	if !a.PhoneNoticeAt.IsZero() {
		out += "（电话报备 " + a.PhoneNoticeAt.Format("01-02 15:04") + "）"
	}
	return out
}

// withdraw withdraws an entry with a reason, as the CLI's `leave cancel` does for slips.
func (s *server) withdraw(w http.ResponseWriter, r *http.Request, u *session) {
	kind := r.PathValue("kind")
	k, entity := kindOf(kind), entryEntities[kind]
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if k == nil || entity == "" || err != nil {
		s.notFound(w, r)
		return
	}
	if !u.can(k.Role) {
		s.fail(w, r, false, http.StatusForbidden, "无权撤销录入记录")
		return
	}
	if !s.parseForm(w, r) {
		return
	}
	ctx := r.Context()
	staff, err := s.st.EntryStaff(ctx, entity, id)
	if err == nil && u.window() != "" {
		by, _, _, serr := s.staffScope(ctx, u)
		if serr != nil {
			s.serverError(w, r, false, serr)
			return
		}
		if _, ok := by[staff]; !ok {
			err = store.ErrNotFound // another window's entry: as if there were none
		}
	}
	back := "/entries?" + url.Values{"kind": {kind}, "from": {r.PostFormValue("from")}, "to": {r.PostFormValue("to")}, "staff": {r.PostFormValue("staff")}}.Encode()
	if err == nil {
		err = s.st.WithdrawEntry(ctx, entity, id, r.PostFormValue("reason"), u.name())
	}
	switch {
	case errors.Is(err, store.ErrNotFound):
		s.fail(w, r, false, http.StatusNotFound, "没有这条记录，或不在您负责的窗口。")
	case errors.Is(err, store.ErrBadInput):
		msg := "请填写撤销原因。"
		if strings.Contains(err.Error(), "already withdrawn") {
			msg = "这条记录已经撤销过了。"
		} else if strings.Contains(err.Error(), "longer than") {
			msg = "撤销原因过长（最多 2000 字节）。"
		}
		r.URL.RawQuery = strings.TrimPrefix(back, "/entries?")
		s.showEntries(w, r, u, http.StatusUnprocessableEntity, msg)
	case err != nil:
		s.serverError(w, r, false, err)
	default:
		s.o.Wake()
		http.Redirect(w, r, back+"&withdrawn=1", http.StatusSeeOther)
	}
}

// savedNotice says what was saved, for the entry form after a save: the staff member by name and,
// for a slip, whether it will be recognised.
func (s *server) savedNotice(ctx context.Context, u *session, k *entryKind, id int64) string {
	entity := entryEntities[k.Name]
	if entity == "" {
		return "已保存更正，相关月份的报表已更新。"
	}
	by, perWindow, _, err := s.staffScope(ctx, u)
	if err != nil {
		return "已保存。"
	}
	staff, err := s.st.EntryStaff(ctx, entity, id)
	if err != nil {
		return "已保存。"
	}
	who := "全体人员"
	if st, ok := by[staff]; ok {
		who = st.Name + "（" + st.StaffID + "，" + st.Window + "）"
	} else if staff != store.Everyone {
		return "已保存。"
	}
	msg := "已保存" + who + "的" + k.Title
	if k.Name == "leave" {
		if sl, err := s.st.GetLeaveSlip(ctx, id); err == nil {
			v := s.verdict(by[staff], perWindow, sl)
			if v.Recognised {
				msg += "：" + v.Words()
			} else {
				msg += "，但不能认可：" + v.Words()
			}
		}
	}
	return msg + "。相关日期的考勤结果正在重新计算。"
}

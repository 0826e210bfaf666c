package web

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/kaoqin/kaoqin/attendance"
	"github.com/kaoqin/kaoqin/internal/csvio"
	"github.com/kaoqin/kaoqin/internal/store"
	"github.com/kaoqin/kaoqin/leave"
)

// Data entry: leave slips, patrol records, clock-failure reports, manual sign-ins (validated by
// exactly the parsers `kaoqin import` uses: the entry is written as a one-row CSV table and read
// back by package csvio), and corrections to a closed month. Forms and the API share it: the
// fields are the CSV's columns.

type option struct {
	Value, Label string
	Checked      bool
}

type field struct {
	Name, Label, Kind, Hint string // Kind: text, time, select, checks, textarea
	Options                 []option
	Required                bool
	Value                   string
	Error                   string
}

type entryKind struct {
	Name, Title string
	Columns     []string // the CSV columns, for csvio
	Role        string   // what the user must be able to do
	Fields      func(s *server) []field
}

var timeHint = ""

func leaveTypeOptions() []option {
	out := []option{{Value: "", Label: "（请选择）"}}
	for _, t := range leave.Types {
		out = append(out, option{Value: string(t), Label: t.Chinese()})
	}
	return out
}

var approvalTokens = []option{{"window_head", "窗口负责人", false}, {"center_leader", "中心分管领导", false}, {"unit_leader", "窗口单位领导", false},
	{"unit_stamp", "窗口单位公章", false}, {"registered", "咨询窗口登记", false}, {"phone_notice", "电话请假", false}, {"substitute", "替岗", false},
	{"hospital_cert", "医院证明", false}, {"unit_cert", "窗口单位证明", false}, {"notice", "会议培训通知", false}, {"study_cert", "函授学习证明", false}}

var findingOptions = []option{{"LATE", "迟到", false}, {"EARLY", "早退", false}, {"MISSING_IN", "签到缺卡", false}, {"MISSING_OUT", "签退缺卡", false},
	{"ABSENT", "旷工", false}, {"LEAVE", "请假", false}, {"LEAVE_UNRECOGNISED", "请假未认可", false}, {"EXEMPT", "故障免责", false}, {"OFF_POST", "脱岗", false}}

var entryKinds = []entryKind{
	{Name: "leave", Title: "请假条", Columns: csvio.LeaveColumns, Role: "entry", Fields: func(s *server) []field {
		return []field{
			{Name: "staff_id", Label: "工号", Kind: "staff", Required: true},
			{Name: "type", Label: "假别", Kind: "select", Options: leaveTypeOptions(), Required: true},
			{Name: "start", Label: "开始", Kind: "time", Hint: timeHint, Required: true},
			{Name: "end", Label: "结束", Kind: "time", Hint: timeHint, Required: true},
			{Name: "filed_at", Label: "提交时间", Kind: "time", Hint: "不填则为现在"},
			{Name: "approvals", Label: "审批与附件", Kind: "checks", Options: approvalTokens},
			{Name: "phone_notice_at", Label: "电话请假时间", Kind: "time", Hint: "勾选电话请假时填写"},
			{Name: "note", Label: "备注", Kind: "textarea"},
		}
	}},
	{Name: "patrol", Title: "巡查记录", Columns: csvio.PatrolColumns, Role: "entry", Fields: func(s *server) []field {
		return []field{
			{Name: "staff_id", Label: "工号", Kind: "staff", Required: true},
			{Name: "from", Label: "开始", Kind: "time", Hint: timeHint, Required: true},
			{Name: "to", Label: "结束", Kind: "time", Hint: timeHint, Required: true},
			{Name: "observation", Label: "巡查所见", Kind: "select", Required: true,
				Options: []option{{"", "（请选择）", false}, {"present", "在岗", false}, {"absent", "不在岗", false}}},
			{Name: "note", Label: "备注", Kind: "textarea"},
		}
	}},
	{Name: "failure", Title: "打卡机故障报告", Columns: csvio.FailureColumns, Role: "entry", Fields: func(s *server) []field {
		clocks := []option{{"", "（全部打卡机）", false}}
		for _, c := range s.clockNames() {
			clocks = append(clocks, option{Value: c, Label: c})
		}
		return []field{
			{Name: "staff_id", Label: "工号", Kind: "staff", Hint: "填 * 表示全体（选了打卡机则为该打卡机的全体）", Required: true},
			{Name: "clock", Label: "打卡机", Kind: "select", Options: clocks},
			{Name: "from", Label: "故障开始", Kind: "time", Hint: timeHint, Required: true},
			{Name: "to", Label: "故障结束", Kind: "time", Hint: timeHint, Required: true},
			{Name: "reported_at", Label: "报告时间", Kind: "time", Hint: "不填则为现在"},
			{Name: "note", Label: "备注", Kind: "textarea"},
		}
	}},
	{Name: "signin", Title: "人工签到", Columns: csvio.ManualColumns, Role: "entry", Fields: func(s *server) []field {
		return []field{
			{Name: "staff_id", Label: "工号", Kind: "staff", Required: true},
			{Name: "time", Label: "签到时间", Kind: "time", Hint: timeHint, Required: true},
			{Name: "reason", Label: "未用打卡机的原因", Kind: "text", Required: true},
		}
	}},
	{Name: "correction", Title: "结账后更正", Role: "correct", Fields: func(s *server) []field {
		return []field{
			{Name: "staff_id", Label: "工号", Kind: "staff", Required: true},
			{Name: "day", Label: "日期", Kind: "date", Required: true},
			{Name: "segment", Label: "时段", Kind: "select", Required: true, Options: []option{{"", "（请选择）", false}, {"am", "上午", false}, {"pm", "下午", false}}},
			{Name: "findings", Label: "更正后的结果", Kind: "checks", Options: findingOptions, Hint: "都不勾选表示正常"},
			{Name: "late_minutes", Label: "迟到分钟", Kind: "text", Value: "0"},
			{Name: "early_minutes", Label: "早退分钟", Kind: "text", Value: "0"},
			{Name: "off_post", Label: "脱岗次数", Kind: "text", Value: "0"},
			{Name: "leave_type", Label: "假别（请假时）", Kind: "select", Options: leaveTypeOptions()},
			{Name: "reason", Label: "更正原因", Kind: "textarea", Required: true},
		}
	}},
}

func kindOf(name string) *entryKind {
	for i := range entryKinds {
		if entryKinds[i].Name == name {
			return &entryKinds[i]
		}
	}
	return nil
}

// entryResult is what an entry did: the ids written, or the problems by field ("" for the entry
// as a whole), or the status to refuse it with.
type entryResult struct {
	IDs      []int64
	Problems map[string]string
	Status   int // 0: ok or problems; else 403, 500
	Err      error
}

func (er *entryResult) problem(field, msg string) {
	if er.Problems == nil {
		er.Problems = map[string]string{}
	}
	if old, ok := er.Problems[field]; ok {
		msg = old + "；" + msg
	}
	er.Problems[field] = msg
}

// normTime accepts the browser's datetime-local ("2026-07-15T08:30") and HH:MM without seconds.
func normTime(v string) string {
	v = strings.TrimSpace(strings.Replace(v, "T", " ", 1))
	if len(v) == len("2006-01-02 15:04") {
		v += ":00"
	}
	return v
}

// fieldOf names the column a csvio problem is about.
func fieldOf(msg string, cols []string) string {
	for _, c := range cols {
		if strings.HasPrefix(msg, c+":") || strings.HasPrefix(msg, c+" ") {
			return c
		}
	}
	switch {
	case strings.Contains(msg, "staff_id"):
		return "staff_id"
	case strings.Contains(msg, "leave type"):
		return "type"
	}
	return ""
}

// submit validates and stores one entry of kind k from vals (column → value) as u.
func (s *server) submit(ctx context.Context, u *session, k *entryKind, vals map[string]string) entryResult {
	var er entryResult
	if !u.can(k.Role) {
		return entryResult{Status: http.StatusForbidden}
	}
	for c, v := range vals {
		if len(v) > 2000 {
			er.problem(c, "too long (at most 2000 bytes)")
		}
	}
	staffID := strings.TrimSpace(vals["staff_id"])
	all, err := s.st.ListStaff(ctx)
	if err != nil {
		return entryResult{Status: http.StatusInternalServerError, Err: err}
	}
	windows := map[string]string{}
	for _, st := range all {
		// A window head knows only their window's staff: another window's id is refused as
		// unknown, the same answer as for a missing one, so that ids cannot be enumerated.
		if w := u.window(); w == "" || st.Window == w {
			windows[st.StaffID] = st.Window
		}
	}
	if u.window() != "" && staffID == store.Everyone {
		return entryResult{Status: http.StatusForbidden}
	}
	known := func(id string) bool { _, ok := windows[id]; return ok }
	if k.Name == "correction" {
		return s.submitCorrection(ctx, u, vals, known, er)
	}
	now := store.WallString(s.now())
	for _, c := range []string{"start", "end", "filed_at", "from", "to", "reported_at", "time", "phone_notice_at"} {
		if v, ok := vals[c]; ok {
			vals[c] = normTime(v)
		}
	}
	if k.Name == "leave" && vals["filed_at"] == "" {
		vals["filed_at"] = now
	}
	if k.Name == "failure" && vals["reported_at"] == "" {
		vals["reported_at"] = now
	}
	if k.Name == "signin" {
		vals["recorded_by"] = u.name()
	}
	if k.Name == "leave" && vals["phone_notice_at"] != "" {
		toks := strings.Split(vals["approvals"], ";")
		for i, t := range toks {
			if t == "phone_notice" {
				toks[i] = "phone_notice@" + vals["phone_notice_at"]
			}
		}
		vals["approvals"] = strings.Join(toks, ";")
	}
	cols := append(slices.Clone(k.Columns), "clock")
	var buf bytes.Buffer
	cw := csv.NewWriter(&buf)
	cw.Write(cols)
	row := make([]string, len(cols))
	for i, c := range cols {
		row[i] = vals[c]
	}
	cw.Write(row)
	cw.Flush()
	t, err := csvio.Parse("form", buf.Bytes(), k.Columns...)
	if err != nil {
		for _, p := range csvio.AsProblems(err) {
			er.problem(fieldOf(p.Msg, cols), p.Msg)
		}
		return er
	}
	var ps csvio.Problems
	var add func() ([]int64, error)
	note := strings.TrimSpace(vals["note"])
	switch k.Name {
	case "leave":
		slips, p := csvio.ParseLeave(t, known)
		ps = p
		if len(slips) == 1 {
			sl := slips[0]
			row := store.LeaveSlip{StaffID: sl.StaffID, Type: string(sl.Type), Start: sl.Start, End: sl.End, FiledAt: sl.FiledAt,
				Approvals: sl.Approvals.String(), Note: note, RecordedBy: u.name()}
			add = func() ([]int64, error) { return s.st.AddLeaveSlips(ctx, []store.LeaveSlip{row}, u.name()) }
		}
	case "patrol":
		pats, p := csvio.ParsePatrol(t, known)
		ps = p
		if len(pats) == 1 {
			pt := pats[0]
			row := store.PatrolRecord{StaffID: pt.StaffID, From: pt.From, To: pt.To, Present: pt.Present, Note: note, RecordedBy: u.name()}
			add = func() ([]int64, error) { return s.st.AddPatrols(ctx, []store.PatrolRecord{row}, u.name()) }
		}
	case "failure":
		reps, p := csvio.ParseFailures(t, known)
		ps = p
		if c := vals["clock"]; c != "" && !slices.Contains(s.clockNames(), c) {
			er.problem("clock", "unknown clock "+strconv.Quote(c))
		}
		if len(reps) == 1 {
			f := reps[0]
			row := store.FailureReport{StaffID: f.StaffID, Clock: f.Clock, From: f.From, To: f.To, ReportedAt: f.ReportedAt, Note: note, RecordedBy: u.name()}
			add = func() ([]int64, error) { return s.st.AddFailureReports(ctx, []store.FailureReport{row}, u.name()) }
		}
	case "signin":
		ms, p := csvio.ParseManual(t, known)
		ps = p
		if len(ms) == 1 {
			m := ms[0]
			row := store.ManualSignIn{StaffID: m.StaffID, At: m.Punch.At, Reason: m.Punch.Reason, RecordedBy: m.Punch.RecordedBy}
			add = func() ([]int64, error) { return s.st.AddManualSignIns(ctx, []store.ManualSignIn{row}, u.name()) }
		}
	}
	for _, p := range ps {
		f := fieldOf(p.Msg, cols)
		if k.Name == "leave" && f == "approvals" && vals["phone_notice_at"] != "" && strings.Contains(p.Msg, vals["phone_notice_at"]) {
			f = "phone_notice_at"
		}
		er.problem(f, p.Msg)
	}
	if er.Problems != nil || add == nil {
		return er
	}
	ids, err := add()
	switch {
	case errors.Is(err, store.ErrBadInput):
		er.problem("", err.Error())
		return er
	case err != nil:
		return entryResult{Status: http.StatusInternalServerError, Err: err}
	}
	er.IDs = ids
	s.o.Wake()
	return er
}

func (s *server) submitCorrection(ctx context.Context, u *session, vals map[string]string, known csvio.Known, er entryResult) entryResult {
	c := store.Correction{StaffID: strings.TrimSpace(vals["staff_id"]), Day: strings.TrimSpace(vals["day"]), Segment: vals["segment"],
		Reason: strings.TrimSpace(vals["reason"]), Actor: u.name()}
	if !known(c.StaffID) {
		er.problem("staff_id", "unknown staff_id "+strconv.Quote(c.StaffID))
	}
	if _, err := attendance.ParseDate(c.Day); err != nil {
		er.problem("day", "bad date "+strconv.Quote(c.Day)+": want YYYY-MM-DD")
	}
	if c.Segment != "am" && c.Segment != "pm" {
		er.problem("segment", "segment must be am or pm")
	}
	if c.Reason == "" {
		er.problem("reason", "reason is empty: a correction needs its reason")
	}
	var f attendance.Findings
	for _, code := range strings.FieldsFunc(vals["findings"], func(r rune) bool { return r == ';' || r == ',' || r == ' ' }) {
		g, ok := attendance.ParseFinding(code)
		if !ok {
			er.problem("findings", "unknown finding "+strconv.Quote(code))
		}
		f |= g
	}
	c.Findings = f.String()
	num := func(name string) int {
		v := strings.TrimSpace(vals[name])
		if v == "" {
			return 0
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 1000 {
			er.problem(name, name+" must be a whole number from 0 to 1000")
		}
		return n
	}
	c.LateMinutes, c.EarlyMinutes, c.OffPost = num("late_minutes"), num("early_minutes"), num("off_post")
	if lt := vals["leave_type"]; f.Has(attendance.OnLeave) {
		t, ok := leave.ParseType(lt)
		if !ok {
			er.problem("leave_type", "LEAVE needs a leave type")
		}
		c.LeaveType = string(t)
	} else if lt != "" {
		er.problem("leave_type", "a leave type goes with LEAVE only")
	}
	if er.Problems != nil {
		return er
	}
	id, err := s.st.Correct(ctx, c)
	switch {
	case errors.Is(err, store.ErrMonthOpen):
		er.problem("day", "the month of "+c.Day+" is not closed: enter the slip, patrol record or failure report instead")
		return er
	case errors.Is(err, store.ErrNotFound):
		er.problem("segment", "no result for "+c.StaffID+" "+c.Day+" "+c.Segment)
		return er
	case errors.Is(err, store.ErrBadInput):
		er.problem("", err.Error())
		return er
	case err != nil:
		return entryResult{Status: http.StatusInternalServerError, Err: err}
	}
	er.IDs = []int64{id}
	s.o.Wake() // the month page and today's status show the correction at once
	return er
}

// --- the forms ---

type entryData struct {
	Kind   *entryKind
	Kinds  []entryKind
	Fields []field
	Error  string
	Done   string
	Roster []store.Staff // for the staff search
}

func (s *server) entryPage(w http.ResponseWriter, r *http.Request, u *session) {
	k := kindOf(r.PathValue("kind"))
	if k == nil {
		s.notFound(w, r)
		return
	}
	if !u.can(k.Role) {
		s.fail(w, r, false, http.StatusForbidden, "无权录入"+k.Title)
		return
	}
	d := entryData{Kind: k, Kinds: entryKinds, Fields: k.Fields(s)}
	if ok := r.URL.Query().Get("ok"); ok != "" {
		id, _ := strconv.ParseInt(ok, 10, 64)
		d.Done = s.savedNotice(r.Context(), u, k, id)
	}
	var err error
	if _, _, d.Roster, err = s.staffScope(r.Context(), u); err != nil {
		s.serverError(w, r, false, err)
		return
	}
	for i := range d.Fields {
		if v := r.URL.Query().Get(d.Fields[i].Name); v != "" && d.Fields[i].Kind != "checks" {
			d.Fields[i].Value = v // prefill from a link (?staff_id=…)
		}
	}
	s.renderPage(w, http.StatusOK, "entry", &pageData{Title: k.Title, U: u, Data: d})
}

func (s *server) entryPost(w http.ResponseWriter, r *http.Request, u *session) {
	k := kindOf(r.PathValue("kind"))
	if k == nil {
		s.notFound(w, r)
		return
	}
	if !s.parseForm(w, r) {
		return
	}
	fields := k.Fields(s)
	vals := map[string]string{}
	for i := range fields {
		f := &fields[i]
		if f.Kind == "checks" {
			sel := r.PostForm[f.Name]
			f.Options = slices.Clone(f.Options) // the options are shared by every request
			for j := range f.Options {
				f.Options[j].Checked = slices.Contains(sel, f.Options[j].Value)
			}
			vals[f.Name] = strings.Join(sel, ";")
			continue
		}
		f.Value = r.PostFormValue(f.Name)
		vals[f.Name] = f.Value
	}
	er := s.submit(r.Context(), u, k, vals)
	switch {
	case er.Status == http.StatusForbidden:
		s.fail(w, r, false, er.Status, "无权为该窗口或该工作人员录入")
		return
	case er.Status != 0:
		s.serverError(w, r, false, er.Err)
		return
	case er.Problems == nil:
		ids := make([]string, len(er.IDs))
		for i, id := range er.IDs {
			ids[i] = strconv.FormatInt(id, 10)
		}
		http.Redirect(w, r, "/entry/"+k.Name+"?ok="+strings.Join(ids, ","), http.StatusSeeOther)
		return
	}
	d := entryData{Kind: k, Kinds: entryKinds, Fields: fields, Error: zh(er.Problems[""])}
	var err error
	if _, _, d.Roster, err = s.staffScope(r.Context(), u); err != nil {
		s.serverError(w, r, false, err)
		return
	}
	for i := range d.Fields {
		d.Fields[i].Error = zh(er.Problems[d.Fields[i].Name])
	}
	for f, msg := range er.Problems {
		if f != "" && !slices.ContainsFunc(d.Fields, func(x field) bool { return x.Name == f }) {
			d.Error += zh(msg)
		}
	}
	s.renderPage(w, http.StatusUnprocessableEntity, "entry", &pageData{Title: k.Title, U: u, Data: d})
}

package web

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"html/template"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/kaoqin/kaoqin/attendance"
	"github.com/kaoqin/kaoqin/internal/dbreport"
	"github.com/kaoqin/kaoqin/internal/store"
	"github.com/kaoqin/kaoqin/leave"
	"github.com/kaoqin/kaoqin/reports"
)

type pageData struct {
	Title   string
	U       *session
	Refresh int // seconds; 0: none
	Print   string
	Data    any
}

var findingNames = map[string]string{"ABSENT": "旷工", "EARLY": "早退", "EXEMPT": "故障免责", "LATE": "迟到", "LEAVE": "请假",
	"LEAVE_UNRECOGNISED": "请假未认可", "MISSING_IN": "签到缺卡", "MISSING_OUT": "签退缺卡", "OFF_POST": "脱岗"}

var roleNames = map[string]string{store.RoleAdmin: "管理员", store.RoleHR: "人事", store.RoleSupervisor: "督查科", store.RoleWindowHead: "窗口负责人"}

var funcs = template.FuncMap{
	"seg": func(s attendance.Segment) string {
		if s == attendance.AM {
			return "上午"
		}
		return "下午"
	},
	"wall": func(t time.Time) string {
		if t.IsZero() {
			return "从未"
		}
		return t.Format("2006-01-02 15:04")
	},
	"role": func(r string) string { return roleNames[r] },
	"can":  func(u *session, what string) bool { return u != nil && u.can(what) },
	"leaveName": func(t string) string {
		if n := leave.Type(t).Chinese(); n != "" {
			return n
		}
		return t
	},
	"findings": func(f attendance.Findings) string {
		var out []string
		for _, c := range f.Codes(nil) {
			out = append(out, findingNames[c])
		}
		return strings.Join(out, "、")
	},
	"half": func(n int) string {
		if n%2 == 1 {
			return strconv.Itoa(n/2) + ".5"
		}
		return strconv.Itoa(n / 2)
	},
	// unjson undoes encoding/json's HTML escaping in the audit log's JSON values, so the page shows
	// what was entered; html/template escapes it again for the page.
	"unjson": strings.NewReplacer(`\u003c`, "<", `\u003e`, ">", `\u0026`, "&").Replace,
	"pct":    func(f float64) string { return strconv.FormatFloat(f*100, 'f', 0, 64) + "%" },
	"whole":  func(f float64) string { return strconv.FormatFloat(f, 'f', 0, 64) },
}

// render executes a page into a buffer first, so that a template error is a 500, not half a page.
func (s *server) render(w http.ResponseWriter, r *http.Request, code int, name string, u *session, data any) {
	s.renderPage(w, code, name, &pageData{U: u, Data: data})
}

// pageBufs recycles the pages' buffers: today's page for 500 staff is 140 KB, and allocating
// (and clearing) one per request shows in the load test.
var pageBufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func (s *server) renderPage(w http.ResponseWriter, code int, name string, p *pageData) {
	buf := pageBufs.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= 1<<20 {
			buf.Reset()
			pageBufs.Put(buf)
		}
	}()
	if err := s.tmpl[name].ExecuteTemplate(buf, "layout", p); err != nil {
		s.log.Error("render", "page", name, "err", err)
		http.Error(w, "页面生成失败", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(code)
	w.Write(buf.Bytes())
}

func (s *server) serverError(w http.ResponseWriter, r *http.Request, api bool, err error) {
	s.log.Error("request failed", "path", r.URL.Path, "err", err)
	s.fail(w, r, api, http.StatusInternalServerError, "服务器内部错误")
}

func (s *server) now() time.Time { return store.Wall(s.o.Now(), s.st.Location()) }

// --- today ---

// dayQuery reads ?date= and ?window= for a user: a window head is held to their window (403 for
// another one).
func (s *server) dayQuery(r *http.Request, u *session) (date attendance.Date, at time.Time, window string, code int, msg string) {
	now := s.now()
	date = attendance.DateOf(now)
	if d := r.URL.Query().Get("date"); d != "" {
		var err error
		if date, err = attendance.ParseDate(d); err != nil {
			return 0, time.Time{}, "", http.StatusBadRequest, "date: want YYYY-MM-DD"
		}
	}
	at = (date + 1).Time().Add(-time.Second)
	if now.Before(at) {
		at = now
	}
	window = r.URL.Query().Get("window")
	if w := u.window(); w != "" {
		if window != "" && window != w {
			return 0, time.Time{}, "", http.StatusForbidden, "只能查看本窗口"
		}
		window = w
	}
	return date, at, window, 0, ""
}

func (s *server) day(ctx context.Context, date attendance.Date, at time.Time, window string) (*reports.DayReport, error) {
	in, err := dbreport.Day(ctx, s.st, s.o.Rules, date, at, s.clockNames(), window)
	if err != nil {
		return nil, err
	}
	return reports.BuildDay(in), nil
}

type todayData struct {
	Rep    *reports.DayReport
	Body   template.HTML
	Date   string
	Window string
	Today  bool
	Prev   string
	Next   string
}

func (s *server) todayPage(w http.ResponseWriter, r *http.Request, u *session) {
	date, at, window, code, msg := s.dayQuery(r, u)
	if code != 0 {
		s.fail(w, r, false, code, msg)
		return
	}
	e, err := s.cachedDay(r.Context(), date, at, window)
	if err != nil {
		s.serverError(w, r, false, err)
		return
	}
	today := date == attendance.DateOf(s.now())
	p := &pageData{Title: "今日考勤", U: u, Data: todayData{Rep: e.rep, Body: e.body, Date: date.String(), Window: window, Today: today,
		Prev: (date - 1).String(), Next: (date + 1).String()}}
	if today {
		p.Refresh = 60
	}
	s.renderPage(w, http.StatusOK, "today", p)
}

// --- a staff member's month ---

type staffData struct {
	Staff   store.Staff
	Month   string
	Prev    string
	Next    string
	Row     *reports.Row
	Results []reports.Result
	Closing *reports.Closing
}

func (s *server) staffMonth(ctx context.Context, u *session, id string, m reports.Month) (*staffData, int, error) {
	st, err := s.st.GetStaff(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, http.StatusNotFound, nil
	}
	if err != nil {
		return nil, 0, err
	}
	if w := u.window(); w != "" && st.Window != w {
		return nil, http.StatusForbidden, nil
	}
	in, err := s.monthInput(ctx, m, "", id)
	if err != nil {
		return nil, 0, err
	}
	rep := reports.BuildMonth(in)
	d := &staffData{Staff: st, Month: m.String(), Prev: shiftMonth(m, -1), Next: shiftMonth(m, 1), Results: in.Results, Closing: in.Closing}
	if len(rep.Rows) > 0 {
		d.Row = &rep.Rows[0]
	}
	slices.SortFunc(d.Results, func(a, b reports.Result) int {
		return cmp.Or(cmp.Compare(a.Date, b.Date), cmp.Compare(a.Segment, b.Segment))
	})
	return d, 0, nil
}

func (s *server) staffPage(w http.ResponseWriter, r *http.Request, u *session) {
	m, err := s.monthParam(r, r.URL.Query().Get("month"))
	if err != nil {
		s.fail(w, r, false, http.StatusBadRequest, err.Error())
		return
	}
	d, code, err := s.staffMonth(r.Context(), u, r.PathValue("id"), m)
	switch {
	case err != nil:
		s.serverError(w, r, false, err)
	case code == http.StatusForbidden:
		s.fail(w, r, false, code, "只能查看本窗口的工作人员")
	case code != 0:
		s.fail(w, r, false, code, "没有这位工作人员")
	default:
		s.renderPage(w, http.StatusOK, "staff", &pageData{Title: d.Staff.Name + " " + m.Chinese(), U: u, Data: d})
	}
}

// --- clocks ---

// ClockStatus is one clock as the clocks page shows it.
type ClockStatus struct {
	Name     string    `json:"name"`
	LastRead time.Time `json:"-"`
	LastStr  string    `json:"last_read"`
	Up       *bool     `json:"up"`
	Skew     *float64  `json:"skew_seconds"`
	LogUsed  *float64  `json:"log_used_ratio"`
	Errors   float64   `json:"read_errors"`
	Punches  int64     `json:"punches_stored"`
	Stale    bool      `json:"not_read_since_window_opened"`
}

type clocksData struct {
	// UnknownPush are PUSH clocks that called but are not configured (nothing of theirs is stored).
	UnknownPush []store.UnknownPush
	Clocks      []ClockStatus
	Unknown     []store.UnknownUser
	Error       string
	Notice      string
	Staff       []store.Staff
}

// clocks merges the stored reads with the ingest metrics of the daemon's registry (skew, log
// usage, errors, up).
func (s *server) clocks(ctx context.Context) ([]ClockStatus, error) {
	reads, err := s.st.ClockReads(ctx)
	if err != nil {
		return nil, err
	}
	names := slices.Clone(s.clockNames())
	for c := range reads {
		if !slices.Contains(names, c) {
			names = append(names, c)
		}
	}
	slices.Sort(names)
	byName := map[string]*ClockStatus{}
	out := make([]ClockStatus, len(names))
	for i, n := range names {
		out[i] = ClockStatus{Name: n, LastRead: reads[n], LastStr: fmtWall(reads[n])}
		byName[n] = &out[i]
	}
	now := s.now()
	rep := reports.BuildDay(&reports.DayInput{Date: attendance.DateOf(now), At: now, Working: s.o.Rules.Working(attendance.DateOf(now)),
		Hours: hours(s.o.Rules, attendance.DateOf(now)), Clocks: dayClocks(out)})
	for _, c := range rep.StaleClocks {
		byName[c.Name].Stale = true
	}
	if s.o.Gatherer != nil {
		mfs, err := s.o.Gatherer.Gather()
		if err != nil {
			s.log.Warn("clock metrics", "err", err)
		}
		for _, mf := range mfs {
			for _, m := range mf.GetMetric() {
				c := byName[label(m, "clock")]
				if c == nil {
					continue
				}
				switch mf.GetName() {
				case "kaoqin_clock_up":
					v := m.GetGauge().GetValue() == 1
					c.Up = &v
				case "kaoqin_clock_skew_seconds":
					v := m.GetGauge().GetValue()
					c.Skew = &v
				case "kaoqin_clock_log_used_ratio":
					v := m.GetGauge().GetValue()
					c.LogUsed = &v
				case "kaoqin_clock_read_errors_total":
					c.Errors += m.GetCounter().GetValue()
				}
			}
		}
	}
	for i := range out {
		if out[i].Punches, err = s.st.CountPunches(ctx, out[i].Name); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func fmtWall(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return store.WallString(t)
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

func hours(r *attendance.Rules, d attendance.Date) [2]attendance.Hours {
	season := r.Schedule.SeasonOn(d)
	return [2]attendance.Hours{season.AM, season.PM}
}

func dayClocks(cs []ClockStatus) []reports.Clock {
	out := make([]reports.Clock, len(cs))
	for i, c := range cs {
		out[i] = reports.Clock{Name: c.Name, LastRead: c.LastRead}
	}
	return out
}

func (s *server) clocksPage(w http.ResponseWriter, r *http.Request, u *session) {
	s.showClocks(w, r, u, http.StatusOK, "", r.URL.Query().Get("enrolled"))
}

// clockOverview is what the clocks page and the API show: every configured clock's status, the
// clock user ids that match nobody, and the PUSH clocks that called without being configured.
func (s *server) clockOverview(ctx context.Context) (clocksData, error) {
	var d clocksData
	var err error
	if d.Clocks, err = s.clocks(ctx); err != nil {
		return d, err
	}
	if d.Unknown, err = s.st.UnknownUsers(ctx); err != nil {
		return d, err
	}
	d.UnknownPush, err = s.st.UnknownPushClocks(ctx)
	return d, err
}

func (s *server) showClocks(w http.ResponseWriter, r *http.Request, u *session, code int, errMsg, notice string) {
	if !u.can("clocks") {
		s.fail(w, r, false, http.StatusForbidden, "无权查看打卡机")
		return
	}
	d, err := s.clockOverview(r.Context())
	if err == nil {
		d.Staff, err = s.st.ListStaff(r.Context())
	}
	if err != nil {
		s.serverError(w, r, false, err)
		return
	}
	d.Error = errMsg
	if notice != "" {
		d.Notice = "已登记：" + notice
	}
	s.renderPage(w, code, "clocks", &pageData{Title: "打卡机", U: u, Data: d})
}

func (s *server) enroll(w http.ResponseWriter, r *http.Request, u *session) {
	if !u.can("clocks") {
		s.fail(w, r, false, http.StatusForbidden, "无权登记打卡机用户")
		return
	}
	e := store.Enrollment{Clock: r.PostFormValue("clock"), UserID: r.PostFormValue("clock_user_id"), StaffID: strings.TrimSpace(r.PostFormValue("staff_id"))}
	err := s.st.Enroll(r.Context(), e, u.name())
	switch {
	case errors.Is(err, store.ErrNotFound):
		s.showClocks(w, r, u, http.StatusUnprocessableEntity, "没有工号为 "+e.StaffID+" 的工作人员", "")
	case err != nil:
		s.serverError(w, r, false, err)
	default:
		s.o.Wake()
		http.Redirect(w, r, "/clocks?enrolled="+e.Clock+":"+e.UserID, http.StatusSeeOther)
	}
}

// --- audit ---

func (s *server) auditPage(w http.ResponseWriter, r *http.Request, u *session) {
	if !u.can("audit") {
		s.fail(w, r, false, http.StatusForbidden, "无权查看审计日志")
		return
	}
	n, _ := strconv.Atoi(r.URL.Query().Get("limit"))
	if n <= 0 || n > 5000 {
		n = 500
	}
	log, err := s.st.AuditLog(r.Context(), n)
	if err != nil {
		s.serverError(w, r, false, err)
		return
	}
	s.renderPage(w, http.StatusOK, "audit", &pageData{Title: "审计日志", U: u, Data: log})
}

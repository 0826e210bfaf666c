package web

import (
	"context"
	"errors"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/kaoqin/kaoqin/attendance"
	"github.com/kaoqin/kaoqin/internal/store"
	"github.com/kaoqin/kaoqin/reports"
)

// The clocks page: each clock's real state, and the enrolment of clock user ids that match nobody.

// Clock states as the pages show them.
const (
	clockOK    = "ok"    // 正常: the last read succeeded (or, without this daemon's metrics, it was read since the punch window opened)
	clockDown  = "down"  // 故障: the last read failed, or it was not read since the latest punch window opened
	clockNever = "never" // 未读取: never read, no read failed, and no punch window has opened yet
)

var clockStateNames = map[string]string{clockOK: "正常", clockDown: "故障", clockNever: "未读取"}

// errorKindNames are the kinds of kaoqin_clock_read_errors_total in words.
var errorKindNames = map[string]string{"connect": "连接失败", "timeout": "超时", "auth": "认证失败", "protocol": "协议错误", "malformed": "数据不符（记录数与考勤机不一致）", "database": "数据库写入失败"}

// ClockStatus is one clock as the clocks page shows it.
type ClockStatus struct {
	Name string `json:"name"`
	// State is ok, down or never (see the constants above).
	State string `json:"state"`
	// LastRead is the last successful read (wall clock), from this daemon's metrics when it reads
	// the clock, else as stored.
	LastRead time.Time `json:"-"`
	LastStr  string    `json:"last_read"`
	Up       *bool     `json:"up"`
	Skew     *float64  `json:"skew_seconds"`
	LogUsed  *float64  `json:"log_used_ratio"`
	Errors   float64   `json:"read_errors"`
	// LastErrorKind and LastErrorAt are the newest failed read this daemon saw: its kind
	// (connect, timeout, auth, protocol, database) and, as near as the metrics tell, when.
	LastErrorKind string    `json:"last_error_kind,omitempty"`
	LastErrorAt   time.Time `json:"-"`
	LastErrorStr  string    `json:"last_error_at,omitempty"`
	Punches       int64     `json:"punches_stored"`
	Stale         bool      `json:"not_read_since_window_opened"`
	// Owner is the daemon that reads the clock, when several share the database ("" unknown).
	Owner string `json:"owner,omitempty"`
}

// StateName is the state in words.
func (c ClockStatus) StateName() string { return clockStateNames[c.State] }

// ErrorKindName is the last error's kind in words.
func (c ClockStatus) ErrorKindName() string {
	if n, ok := errorKindNames[c.LastErrorKind]; ok {
		return n
	}
	return "读取失败"
}

type clocksData struct {
	// UnknownPush are PUSH clocks that called but are not configured (nothing of theirs is stored).
	UnknownPush []store.UnknownPush
	Clocks      []ClockStatus
	Unknown     []store.UnknownUser
	Error       string
	Notice      string
	Staff       []store.Staff
	CanEnroll   bool
	CanRead     bool // read now offered
	CanSync     bool // sync time offered
	Owners      bool // the owning daemon is known
}

// errorTracker remembers, per clock, when each kind of read error last grew: the counters say
// how many, not when, so the time is that of the first gather that saw the count rise.
type errorTracker struct {
	mu   sync.Mutex
	seen map[[2]string]float64
	last map[string]lastError
}

type lastError struct {
	kind string
	at   time.Time
}

func (t *errorTracker) observe(clock, kind string, n float64, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.seen == nil {
		t.seen, t.last = map[[2]string]float64{}, map[string]lastError{}
	}
	k := [2]string{clock, kind}
	if n > t.seen[k] {
		t.seen[k] = n
		t.last[clock] = lastError{kind, now}
	}
}

func (t *errorTracker) get(clock string) (lastError, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.last[clock]
	return e, ok
}

// clockCache keeps the clocks' health for the today page for dayTTL: every supervisor's screen
// refreshes it, and the metrics and the reads need not be gathered for each.
type clockCache struct {
	mu      sync.Mutex
	expires time.Time
	clocks  []ClockStatus
}

func (c *clockCache) expire() {
	c.mu.Lock()
	c.expires = time.Time{}
	c.mu.Unlock()
}

// cachedClocks is clocks without the punch counts, at most dayTTL old.
func (s *server) cachedClocks(ctx context.Context) ([]ClockStatus, error) {
	c := &s.clockHealth
	c.mu.Lock()
	defer c.mu.Unlock()
	if time.Now().Before(c.expires) {
		return c.clocks, nil
	}
	cs, err := s.clocks(ctx, false)
	if err != nil {
		return nil, err
	}
	c.clocks, c.expires = cs, time.Now().Add(dayTTL)
	return cs, nil
}

// clocks merges the stored reads with the ingest metrics of the daemon's registry (skew, log
// usage, errors, up, last success); with punches, it counts each clock's stored punches too.
func (s *server) clocks(ctx context.Context, punches bool) ([]ClockStatus, error) {
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
		out[i] = ClockStatus{Name: n, LastRead: reads[n]}
		byName[n] = &out[i]
	}
	now := s.now()
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
					n := m.GetCounter().GetValue()
					c.Errors += n
					if n > 0 {
						s.clockErrors.observe(c.Name, label(m, "kind"), n, now)
					}
				case "kaoqin_clock_last_success_timestamp_seconds":
					if v := m.GetGauge().GetValue(); v > 0 {
						sec, frac := math.Modf(v)
						t := store.Wall(time.Unix(int64(sec), int64(frac*1e9)), s.st.Location())
						if t.After(c.LastRead) {
							c.LastRead = t
						}
					}
				}
			}
		}
	}
	rep := reports.BuildDay(&reports.DayInput{Date: attendance.DateOf(now), At: now, Working: s.o.Rules.Working(attendance.DateOf(now)),
		Hours: hours(s.o.Rules, attendance.DateOf(now)), Clocks: dayClocks(out)})
	for _, c := range rep.StaleClocks {
		byName[c.Name].Stale = true
	}
	var owners map[string]string
	if s.o.Owners != nil {
		owners = s.o.Owners()
	}
	for i := range out {
		c := &out[i]
		c.LastStr = fmtWall(c.LastRead)
		c.Owner = owners[c.Name]
		if e, ok := s.clockErrors.get(c.Name); ok {
			c.LastErrorKind, c.LastErrorAt, c.LastErrorStr = e.kind, e.at, fmtWall(e.at)
		}
		switch {
		case c.Up != nil && !*c.Up:
			c.State = clockDown
		case c.Stale:
			c.State = clockDown // silent since the punch window opened: its punches are not in
		case c.Up != nil:
			c.State = clockOK
		case c.LastRead.IsZero():
			c.State = clockNever
		default:
			c.State = clockOK
		}
		if punches {
			if c.Punches, err = s.st.CountPunches(ctx, c.Name); err != nil {
				return nil, err
			}
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
	if d.Clocks, err = s.clocks(ctx, true); err != nil {
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
	d.CanEnroll = u.can("enroll")
	d.CanRead = u.can("clockops") && s.o.ReadNow != nil
	d.CanSync = u.can("clockops") && s.o.SyncTime != nil
	d.Owners = s.o.Owners != nil
	switch q := r.URL.Query(); {
	case notice != "":
		d.Notice = "已登记：" + notice
	case q.Get("read") != "":
		d.Notice = "已读取打卡机 " + q.Get("read") + "。"
	case q.Get("synced") != "":
		d.Notice = "已为打卡机 " + q.Get("synced") + " 校时。"
	}
	s.renderPage(w, code, "clocks", &pageData{Title: "打卡机", U: u, Data: d})
}

// enroll maps a clock user id that matches nobody to a staff member. The clock must be
// configured and the user id one that clock has punched with; the staff member must exist.
func (s *server) enroll(w http.ResponseWriter, r *http.Request, u *session) {
	if !u.can("enroll") {
		s.fail(w, r, false, http.StatusForbidden, "无权登记打卡机用户")
		return
	}
	e := store.Enrollment{Clock: strings.TrimSpace(r.PostFormValue("clock")), UserID: strings.TrimSpace(r.PostFormValue("clock_user_id")),
		StaffID: strings.TrimSpace(r.PostFormValue("staff_id"))}
	if msg := s.checkEnrollment(r.Context(), e); msg != "" {
		s.showClocks(w, r, u, http.StatusUnprocessableEntity, msg, "")
		return
	}
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

// checkEnrollment says what is wrong with an enrolment ("" when nothing is).
func (s *server) checkEnrollment(ctx context.Context, e store.Enrollment) string {
	switch {
	case e.Clock == "":
		return "请选择打卡机"
	case !slices.Contains(s.clockNames(), e.Clock):
		return "打卡机 " + e.Clock + " 未在配置文件中"
	case e.UserID == "":
		return "请填写机内用户号"
	case e.StaffID == "":
		return "请填写工号"
	}
	unknown, err := s.st.UnknownUsers(ctx)
	if err != nil {
		s.log.Error("unknown users", "err", err)
		return "数据库暂时不可用"
	}
	if !slices.ContainsFunc(unknown, func(x store.UnknownUser) bool { return x.Clock == e.Clock && x.UserID == e.UserID }) {
		return "打卡机 " + e.Clock + " 上没有未登记的用户号 " + e.UserID
	}
	return ""
}

// clockAction reads a clock now or sets its time, for admins. Setting the time is refused while a
// punch window is open: a clock whose time jumps then records punches at the wrong minute.
func (s *server) clockAction(w http.ResponseWriter, r *http.Request, u *session) {
	name, action := r.PathValue("name"), r.PathValue("action")
	var run func(ctx context.Context, clock string) error
	switch action {
	case "read":
		run = s.o.ReadNow
	case "sync":
		run = s.o.SyncTime
	}
	if run == nil || !slices.Contains(s.clockNames(), name) {
		s.notFound(w, r)
		return
	}
	if !u.can("clockops") {
		s.fail(w, r, false, http.StatusForbidden, "只有管理员可以读取打卡机或校时。")
		return
	}
	if action == "sync" && s.punchWindowOpen(s.now()) {
		s.showClocks(w, r, u, http.StatusConflict, "打卡时段内不能校时：请在打卡时段结束后再校时。", "")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 90*time.Second)
	defer cancel()
	if err := run(ctx, name); err != nil {
		s.log.Warn("clock action", "clock", name, "action", action, "err", err)
		what := map[string]string{"read": "读取", "sync": "校时"}[action]
		s.showClocks(w, r, u, http.StatusBadGateway, "打卡机 "+name+" "+what+"失败，请检查打卡机的电源和网络后再试。", "")
		return
	}
	s.clockHealth.expire()
	s.days.invalidate()
	key := map[string]string{"read": "read", "sync": "synced"}[action]
	http.Redirect(w, r, "/clocks?"+key+"="+url.QueryEscape(name), http.StatusSeeOther)
}

// punchWindowOpen tells whether a sign-in or sign-out window of a working day is open at t.
func (s *server) punchWindowOpen(t time.Time) bool {
	d := attendance.DateOf(t)
	if !s.o.Rules.Working(d) {
		return false
	}
	for _, h := range hours(s.o.Rules, d) {
		for _, win := range []attendance.Window{h.In, h.Out} {
			if !t.Before(d.At(win.From)) && !t.After(d.At(win.To)) {
				return true
			}
		}
	}
	return false
}

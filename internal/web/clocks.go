package web

import (
	dto "github.com/prometheus/client_model/go"

	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/kaoqin/kaoqin/attendance"
	"github.com/kaoqin/kaoqin/internal/store"
	"github.com/kaoqin/kaoqin/reports"
)

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

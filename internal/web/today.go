package web

import (
	"context"
	"html/template"
	"net/http"
	"time"

	"github.com/kaoqin/kaoqin/attendance"
	"github.com/kaoqin/kaoqin/internal/dbreport"
	"github.com/kaoqin/kaoqin/reports"
)

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

package web

import (
	"context"
	"html/template"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"time"

	"github.com/kaoqin/kaoqin/attendance"
	"github.com/kaoqin/kaoqin/internal/dbreport"
	"github.com/kaoqin/kaoqin/reports"
)

// The today page (今日): at 8:55 the supervisors and 督查科 ask how many are due, signed in, late,
// not in, on leave, excused and off post, for the centre and per window, and who the problems
// are. The page answers with a summary bar, the problems first (tinted by kind) and everyone
// else folded, per window; the clocks' health on top; filters by unit and window and a date
// picker; a small script refreshes it in place every minute.

// dayQuery reads ?date=, ?window= and ?unit= for a user: a window head is held to their window
// (403 for another one).
func (s *server) dayQuery(r *http.Request, u *session) (q dayFilter, code int, msg string) {
	now := s.now()
	q.date = attendance.DateOf(now)
	v := r.URL.Query()
	if d := v.Get("date"); d != "" {
		var err error
		if q.date, err = attendance.ParseDate(d); err != nil || q.date.Time().Year() < 2000 || q.date.Time().Year() > 2100 {
			return q, http.StatusBadRequest, "日期 " + strconv.Quote(d) + " 不对：应为 年-月-日，如 " + attendance.DateOf(now).String()
		}
	}
	q.at = (q.date + 1).Time().Add(-time.Second)
	if now.Before(q.at) {
		q.at = now
	}
	q.window, q.unit = v.Get("window"), v.Get("unit")
	if w := u.window(); w != "" {
		if q.window != "" && q.window != w {
			return q, http.StatusForbidden, "您只能查看本窗口（" + w + "）的考勤。"
		}
		q.window = w
	}
	if len(q.window) > 200 || len(q.unit) > 200 {
		return q, http.StatusBadRequest, "窗口或单位名称过长"
	}
	return q, 0, ""
}

// dayFilter is what a today page or API call asks for.
type dayFilter struct {
	date         attendance.Date
	at           time.Time
	window, unit string
}

func (s *server) day(ctx context.Context, q dayFilter) (*reports.DayReport, error) {
	in, err := dbreport.Day(ctx, s.st, s.o.Rules, q.date, q.at, s.clockNames(), q.window)
	if err != nil {
		return nil, err
	}
	if q.unit != "" {
		in.Staff = slices.DeleteFunc(in.Staff, func(st reports.Staff) bool { return st.Unit != q.unit })
	}
	return reports.BuildDay(in), nil
}

// DayCounts are the summary bar's numbers for one segment: staff due, signed in (on time or
// late), late, not signed in (yet, or missing, or absent), on leave, excused by a failure report,
// off post, early, and without a result yet.
type DayCounts struct {
	Due, SignedIn, Late, NotIn, Leave, Exempt, OffPost, Early, NoResult int
}

func (c *DayCounts) add(cell *segCell) {
	c.Due++
	switch cell.State {
	case reports.StateSignedIn:
		c.SignedIn++
	case reports.StateLate:
		c.SignedIn++
		c.Late++
	case reports.StateNotYet, reports.StateMissing, reports.StateAbsent:
		c.NotIn++
	case reports.StateLeave:
		c.Leave++
	case reports.StateExempt:
		c.Exempt++
	case reports.StateNoResult:
		c.NoResult++
	}
	if cell.OffPost {
		c.OffPost++
	}
	if cell.Early {
		c.Early++
	}
}

// segCell is one segment of one staff member on the page.
type segCell struct {
	Started     bool
	State       reports.DayState
	Text        string
	Provisional bool
	// The findings beside the sign-in state, each tinted: early, missing sign-out, off post, an
	// unrecognised slip.
	Early, MissingOut, OffPost, Unrecognised bool
}

// Problem tells whether the segment needs a look: late, not signed in, absent, early, missing
// sign-out, off post, or an unrecognised slip.
func (c *segCell) Problem() bool {
	switch c.State {
	case reports.StateLate, reports.StateNotYet, reports.StateMissing, reports.StateAbsent:
		return true
	}
	return c.Early || c.MissingOut || c.OffPost || c.Unrecognised
}

// Class is the cell's CSS classes: its state and each finding.
func (c *segCell) Class() string {
	if !c.Started {
		return "st-not_started"
	}
	cls := "st-" + string(c.State)
	if c.Early {
		cls += " f-early"
	}
	if c.MissingOut {
		cls += " f-missout"
	}
	if c.OffPost {
		cls += " f-offpost"
	}
	if c.Unrecognised {
		cls += " f-unrec"
	}
	return cls
}

// DataState is the state the page and its tests read: the segment's state, or not_started.
func (c *segCell) DataState() string {
	if !c.Started {
		return "not_started"
	}
	return string(c.State)
}

type staffRow struct {
	ID, Name, Window, Unit string
	Segs                   [2]segCell
	Problem                bool
}

// segSummary is one segment's counts, for the summary bar.
type segSummary struct {
	ID, Name string // am, 上午
	Started  bool
	DayCounts
}

func summaries(started [2]bool, c [2]DayCounts) []segSummary {
	return []segSummary{{"am", "上午", started[0], c[0]}, {"pm", "下午", started[1], c[1]}}
}

type windowView struct {
	Name     string
	Units    []string
	Counts   [2]DayCounts
	Summary  []segSummary
	Current  *segSummary // the latest segment begun (nil: none)
	Problems []*staffRow
	Others   []*staffRow
	Stale    []string
}

// dayView is the status of one day as the today page shows it.
type dayView struct {
	Rep      *reports.DayReport
	Date     string
	Started  [2]bool
	Counts   [2]DayCounts
	Summary  []segSummary
	Windows  []windowView
	Problems int
	Staff    int
}

// view turns the day's status into the page's view.
func (s *server) view(rep *reports.DayReport) *dayView {
	v := &dayView{Rep: rep, Date: rep.Date.String()}
	h := hours(s.o.Rules, rep.Date)
	for seg := range 2 {
		v.Started[seg] = rep.Working && !rep.Date.At(h[seg].In.From).After(rep.At)
	}
	for _, w := range rep.Windows {
		wv := windowView{Name: w.Name, Units: w.Units, Stale: w.StaleClocks}
		for i := range w.Staff {
			ds := &w.Staff[i]
			row := &staffRow{ID: ds.Staff.ID, Name: ds.Staff.Name, Window: ds.Staff.Window, Unit: ds.Staff.Unit}
			for _, sg := range ds.Segments {
				outDone := rep.At.After(rep.Date.At(h[sg.Segment].Out.To))
				c := segCell{Started: true, State: sg.State, Text: refMark.ReplaceAllString(sg.Text, ""), Provisional: sg.Provisional}
				if r := sg.Result; r != nil {
					f := r.Findings
					c.Early = f.Has(attendance.Early) && r.SignOut != attendance.NoMinute && outDone
					c.MissingOut = f.Has(attendance.MissingOut) && outDone && sg.State != reports.StateAbsent && sg.State != reports.StateLeave
					c.OffPost = f.Has(attendance.OffPost)
					c.Unrecognised = f.Has(attendance.LeaveUnrecognised)
				}
				row.Segs[sg.Segment] = c
			}
			for seg := range 2 {
				c := &row.Segs[seg]
				if !c.Started {
					c.Text = "未开始"
					if !rep.Working {
						c.Text = "休息日"
					}
					continue
				}
				wv.Counts[seg].add(c)
				v.Counts[seg].add(c)
				if c.Problem() {
					row.Problem = true
				}
			}
			v.Staff++
			if row.Problem {
				v.Problems++
				wv.Problems = append(wv.Problems, row)
			} else {
				wv.Others = append(wv.Others, row)
			}
		}
		wv.Summary = summaries(v.Started, wv.Counts)
		for i := range wv.Summary {
			if wv.Summary[i].Started {
				wv.Current = &wv.Summary[i]
			}
		}
		v.Windows = append(v.Windows, wv)
	}
	v.Summary = summaries(v.Started, v.Counts)
	// Windows with problems first, in their order; then the others.
	slices.SortStableFunc(v.Windows, func(a, b windowView) int {
		return boolInt(len(b.Problems) > 0) - boolInt(len(a.Problems) > 0)
	})
	return v
}

// refMark is the reports' pointer to where a record came from ("［patrol 11］", "［leave.csv:6］"):
// for an auditor's printout, not for the page.
var refMark = regexp.MustCompile(`［[^］]*］`)

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

type todayData struct {
	View    *dayView
	Body    template.HTML
	Clocks  []ClockStatus
	Date    string
	Max     string // the date picker's last day: today
	Window  string
	Unit    string
	Windows []string // for the filter
	Units   []string
	Today   bool
	Prev    string
	Next    string
	Query   string // the filter as a query string, for the links (date excluded)
	Head    bool   // a window head: no window filter
}

func (s *server) todayPage(w http.ResponseWriter, r *http.Request, u *session) {
	q, code, msg := s.dayQuery(r, u)
	if code != 0 {
		s.fail(w, r, false, code, msg)
		return
	}
	e, err := s.cachedDay(r.Context(), q)
	if err != nil {
		s.serverError(w, r, false, err)
		return
	}
	today := q.date == attendance.DateOf(s.now())
	d := todayData{View: e.view, Body: e.body, Date: q.date.String(), Max: attendance.DateOf(s.now()).String(), Window: q.window, Unit: q.unit,
		Today: today, Prev: (q.date - 1).String(), Next: (q.date + 1).String(), Head: u.window() != ""}
	if d.Windows, d.Units, err = s.directory(r.Context(), u); err != nil {
		s.serverError(w, r, false, err)
		return
	}
	if u.can("clocks") {
		if d.Clocks, err = s.cachedClocks(r.Context()); err != nil {
			s.serverError(w, r, false, err)
			return
		}
	}
	if q.window != "" && u.window() == "" {
		d.Query += "&window=" + urlQuery(q.window)
	}
	if q.unit != "" {
		d.Query += "&unit=" + urlQuery(q.unit)
	}
	p := &pageData{Title: "今日考勤", U: u, Data: d}
	if today {
		p.Refresh = 60
	}
	s.renderPage(w, http.StatusOK, "today", p)
}

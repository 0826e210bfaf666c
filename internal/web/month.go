package web

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/text/collate"
	"golang.org/x/text/language"

	"github.com/kaoqin/kaoqin/attendance"
	"github.com/kaoqin/kaoqin/internal/dbreport"
	"github.com/kaoqin/kaoqin/internal/store"
	"github.com/kaoqin/kaoqin/reports"
)

// --- month ---

func (s *server) monthParam(r *http.Request, v string) (reports.Month, error) {
	if v == "" {
		t := s.now()
		return reports.Month{Year: t.Year(), Month: t.Month()}, nil
	}
	return reports.ParseMonth(v)
}

// monthCache keeps a month's input as read from the database (roster, 23,000 results for 500
// staff, closing): reading and decoding them is most of the month page's cost, and HR's filters
// and downloads ask for the same month again and again. An entry is fresh for monthTTL; an entry
// made through this daemon (the day cache's generation: entries, corrections, closings) makes
// the next request read afresh, and one made through another daemon sharing the database shows
// within monthTTL. The cached input is shared and never changed: narrowing copies.
type monthCache struct {
	mu      sync.Mutex
	entries map[monthKey]*monthEntry
}

type monthKey struct {
	month reports.Month
	gen   uint64
}

type monthEntry struct {
	ready   chan struct{} // closed once read
	in      *reports.MonthInput
	err     error
	expires time.Time // set before ready is closed
}

const (
	monthTTL        = 5 * time.Second // as the day cache: a result the worker writes after an entry shows within it
	maxMonthEntries = 8
)

func (c *dayCache) generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

// cachedMonth is the month's input, read once however many requests ask at the same time.
func (s *server) cachedMonth(ctx context.Context, m reports.Month) (*reports.MonthInput, error) {
	key := monthKey{m, s.days.generation()}
	c := &s.months
	now := time.Now()
	c.mu.Lock()
	if c.entries == nil {
		c.entries = map[monthKey]*monthEntry{}
	}
	e := c.entries[key]
	if e != nil {
		select {
		case <-e.ready:
			if now.After(e.expires) || e.err != nil {
				e = nil
			}
		default:
		}
	}
	if e == nil {
		for k, old := range c.entries {
			select {
			case <-old.ready:
				if k.gen != key.gen || now.After(old.expires) || len(c.entries) >= maxMonthEntries {
					delete(c.entries, k)
				}
			default:
			}
		}
		e = &monthEntry{ready: make(chan struct{})}
		c.entries[key] = e
		c.mu.Unlock()
		e.in, e.err = dbreport.Month(ctx, s.st, s.o.Rules, m)
		e.expires = time.Now().Add(monthTTL)
		close(e.ready)
		return e.in, e.err
	}
	c.mu.Unlock()
	select {
	case <-e.ready:
		return e.in, e.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// monthInput is the month from the database, narrowed to one window or one staff member: a
// copy of the cached input, its own to change.
func (s *server) monthInput(ctx context.Context, m reports.Month, window, staffID string) (*reports.MonthInput, error) {
	cached, err := s.cachedMonth(ctx, m)
	if err != nil {
		return nil, err
	}
	in := *cached
	if in.Closing != nil {
		c := *in.Closing
		in.Closing = &c
	}
	in.Generated = s.now()
	in.Center = s.o.Center
	if window == "" && staffID == "" {
		return &in, nil
	}
	keep := map[string]bool{}
	var staff []reports.Staff
	for _, st := range in.Staff {
		if (window == "" || st.Window == window) && (staffID == "" || st.ID == staffID) {
			keep[st.ID] = true
			staff = append(staff, st)
		}
	}
	in.Staff = staff
	var res []reports.Result
	for _, x := range in.Results {
		if keep[x.StaffID] {
			res = append(res, x)
		}
	}
	in.Results = res
	if in.Closing != nil {
		var cs []reports.Correction
		for _, c := range in.Closing.Corrections {
			if keep[c.StaffID] {
				cs = append(cs, c)
			}
		}
		in.Closing.Corrections = cs
	}
	return &in, nil
}

type monthData struct {
	Rep    *reports.MonthReport
	Month  string
	Prev   string
	Next   string
	Window string // a window head's own window: no choice of unit or window
	// Unit and Win are the chosen filter (HR and admins); Units and Windows the choices.
	Unit, Win      string
	Units, Windows []string
	Query          string // "&unit=…&window=…" for the links
	Sheet          template.HTML
	Charts         []template.HTML
	Calendar       template.HTML // the chosen staff member's month, when ?staff= is given
	CalendarOf     string
	DayNotes       string
	Closable       bool
	Confirm        *closeCheck // the closing's confirmation step (?close=1)
	Error          string
	Notice         string
}

// closeCheck is what HR sees before closing a month: its totals, what may still change, and the
// clocks not read since the month ended.
type closeCheck struct {
	Total       reports.Totals
	Provisional int
	Dirty       int
	Stale       []string
}

func shiftMonth(m reports.Month, n int) string {
	t := time.Date(m.Year, m.Month+time.Month(n), 1, 0, 0, 0, 0, time.UTC)
	return t.Format("2006-01")
}

// monthScope reads ?unit= and ?window=: a window head is held to their own window whatever they
// ask for; HR and admins choose.
func monthScope(r *http.Request, u *session) (unit, window string) {
	if w := u.window(); w != "" {
		return "", w
	}
	return strings.TrimSpace(r.FormValue("unit")), strings.TrimSpace(r.FormValue("window"))
}

// scopedMonth is the month narrowed to the request's unit and window, and the choices of both.
func (s *server) scopedMonth(ctx context.Context, r *http.Request, u *session, m reports.Month) (*reports.MonthInput, []string, []string, error) {
	in, err := s.monthInput(ctx, m, u.window(), "")
	if err != nil {
		return nil, nil, nil, err
	}
	var units, windows []string
	for _, st := range in.Staff {
		if st.Unit != "" && !slices.Contains(units, st.Unit) {
			units = append(units, st.Unit)
		}
		if st.Window != "" && !slices.Contains(windows, st.Window) {
			windows = append(windows, st.Window)
		}
	}
	coll := collate.New(language.SimplifiedChinese)
	slices.SortFunc(units, coll.CompareString)
	slices.SortFunc(windows, coll.CompareString)
	unit, window := monthScope(r, u)
	if u.window() != "" {
		window = "" // already narrowed, and the titles say the window once
		in.Scope = u.window()
	}
	return in.Only(unit, window), units, windows, nil
}

func (s *server) monthPage(w http.ResponseWriter, r *http.Request, u *session) {
	m, err := s.monthParam(r, r.URL.Query().Get("month"))
	if err != nil {
		s.fail(w, r, false, http.StatusBadRequest, err.Error())
		return
	}
	notice := ""
	if r.URL.Query().Get("closed") != "" {
		notice = "已结账。"
	}
	s.showMonth(w, r, u, m, http.StatusOK, "", notice)
}

func (s *server) showMonth(w http.ResponseWriter, r *http.Request, u *session, m reports.Month, code int, errMsg, notice string) {
	ctx := r.Context()
	in, units, windows, err := s.scopedMonth(ctx, r, u, m)
	if err != nil {
		s.serverError(w, r, false, err)
		return
	}
	rep := reports.BuildMonth(in)
	unit, window := monthScope(r, u)
	d := monthData{Rep: rep, Month: m.String(), Prev: shiftMonth(m, -1), Next: shiftMonth(m, 1), Window: u.window(),
		Unit: unit, Win: window, Units: units, Windows: windows, Query: scopeQuery(u, unit, window),
		Sheet: sheetHTML(rep, m.String()), DayNotes: rep.DayNotes(),
		Closable: u.can("close") && rep.Closing == nil && m.Last() < attendance.DateOf(s.now()), Error: errMsg, Notice: notice}
	fig := rep.Figures()
	d.Charts = []template.HTML{template.HTML(fig.DaysSVG()), template.HTML(fig.WindowsLateSVG()),
		template.HTML(fig.WindowsAbsentSVG()), template.HTML(fig.TopSVG())}
	if id := r.URL.Query().Get("staff"); id != "" {
		for i := range rep.Rows {
			if rep.Rows[i].Staff.ID == id {
				d.Calendar = template.HTML(rep.CalendarSVG(&rep.Rows[i]))
				d.CalendarOf = rep.Rows[i].Staff.Name + "（" + id + "）"
			}
		}
	}
	if d.Closable && (r.URL.Query().Get("close") != "" || r.Method == http.MethodPost) {
		// The confirmation is about the whole month, whatever the filter shows.
		if d.Confirm, err = s.closeCheck(ctx, m); err != nil {
			s.serverError(w, r, false, err)
			return
		}
	}
	title := m.Chinese() + "考勤月报"
	if in.Scope != "" {
		title += " · " + in.Scope
	}
	s.renderPage(w, code, "month", &pageData{Title: title, U: u, Data: d})
}

func scopeQuery(u *session, unit, window string) string {
	if u.window() != "" {
		return ""
	}
	q := url.Values{}
	if unit != "" {
		q.Set("unit", unit)
	}
	if window != "" {
		q.Set("window", window)
	}
	if len(q) == 0 {
		return ""
	}
	return "&" + q.Encode()
}

// sheetHTML is the 考勤表 as an HTML table, built here rather than in the template: 500 staff
// are 15,000 cells, and the page must stay fast.
func sheetHTML(rep *reports.MonthReport, month string) template.HTML {
	var b strings.Builder
	b.Grow(len(rep.Rows) * len(rep.Days) * 40)
	b.WriteString(`<table class="sheet"><thead><tr><th>工号</th><th>姓名</th>`)
	for _, d := range rep.Days {
		cls := ""
		if !d.Working {
			cls = ` class="r"`
		}
		b.WriteString(`<th` + cls + ` title="` + d.Date.String() + " " + html.EscapeString(d.Name) + `">` + strconv.Itoa(d.Date.Time().Day()) +
			`<br>` + weekdayShort[d.Date.Weekday()])
		if d.Name != "" {
			b.WriteString(`<small>` + html.EscapeString(d.Name) + `</small>`)
		}
		b.WriteString(`</th>`)
	}
	b.WriteString(`<th>出勤<br>天数</th><th>迟到</th><th>早退</th><th>缺卡</th><th>旷工<br>天数</th><th>请假<br>天数</th><th>脱岗</th><th>免责</th></tr></thead><tbody>`)
	half := func(n int) string {
		if n%2 == 1 {
			return strconv.Itoa(n/2) + ".5"
		}
		return strconv.Itoa(n / 2)
	}
	for i := range rep.Rows {
		row := &rep.Rows[i]
		id := html.EscapeString(row.Staff.ID)
		b.WriteString(`<tr><td>` + id + `</td><td class="name"><a href="/month?month=` + month + `&amp;staff=` + url.QueryEscape(row.Staff.ID) + `#calendar">` +
			html.EscapeString(row.Staff.Name) + `</a></td>`)
		for j, d := range rep.Days {
			am, pm := row.Marks[2*j], row.Marks[2*j+1]
			cls := "m"
			if !d.Working {
				cls += " r"
			}
			if bad(am) || bad(pm) {
				cls += " x"
			}
			if am.Provisional() || pm.Provisional() {
				cls += " p"
			}
			if am.Corrected() || pm.Corrected() {
				cls += " c"
			}
			b.WriteString(`<td class="` + cls + `" title="` + d.Date.String()[5:] + ` 上午` + am.Name() + `，下午` + pm.Name() + `">`)
			if am == reports.MarkRest && pm == reports.MarkRest {
				b.WriteString("休")
			} else {
				b.WriteString(am.Text() + "<br>" + pm.Text())
			}
			b.WriteString("</td>")
		}
		t := &row.Totals
		for _, v := range []string{half(t.Present), strconv.Itoa(t.Late), strconv.Itoa(t.Early), strconv.Itoa(t.MissingPunches),
			half(t.AbsentSegments), half(t.LeaveTotal()), strconv.Itoa(t.OffPost), strconv.Itoa(t.Exempt)} {
			if v == "0" {
				b.WriteString(`<td class="n z">0</td>`)
			} else {
				b.WriteString(`<td class="n">` + v + `</td>`)
			}
		}
		b.WriteString("</tr>")
	}
	b.WriteString("</tbody><tfoot>")
	for _, k := range []struct {
		name string
		get  func(t *reports.Totals) int
	}{{"出勤", func(t *reports.Totals) int { return t.Present }}, {"迟到", func(t *reports.Totals) int { return t.Late }},
		{"早退", func(t *reports.Totals) int { return t.Early }}, {"缺卡", func(t *reports.Totals) int { return t.MissingPunches }},
		{"旷工", func(t *reports.Totals) int { return t.AbsentSegments }}, {"请假", func(t *reports.Totals) int { return t.LeaveTotal() }},
		{"脱岗", func(t *reports.Totals) int { return t.OffPost }}} {
		b.WriteString(`<tr><th>每日</th><th>` + k.name + `</th>`)
		for j := range rep.DayTotals {
			n := k.get(&rep.DayTotals[j])
			if !rep.Days[j].Working && n == 0 {
				b.WriteString(`<td class="m r"></td>`)
			} else {
				b.WriteString(`<td class="m">` + strconv.Itoa(n) + `</td>`)
			}
		}
		b.WriteString(`<td colspan="8"></td></tr>`)
	}
	b.WriteString("</tfoot></table>")
	return template.HTML(b.String())
}

var weekdayShort = [...]string{"日", "一", "二", "三", "四", "五", "六"}

func bad(m reports.Mark) bool {
	switch m &^ (reports.MarkProvisional | reports.MarkCorrected) {
	case reports.MarkLate, reports.MarkEarly, reports.MarkMissing, reports.MarkAbsent, reports.MarkOffPost:
		return true
	}
	return false
}

// closeCheck gathers what the confirmation step shows.
func (s *server) closeCheck(ctx context.Context, m reports.Month) (*closeCheck, error) {
	in, err := s.monthInput(ctx, m, "", "")
	if err != nil {
		return nil, err
	}
	rep := reports.BuildMonth(in)
	c := &closeCheck{Total: rep.Total, Provisional: rep.Total.Provisional}
	dirty, err := s.st.DirtyDays(ctx)
	if err != nil {
		return nil, err
	}
	for _, d := range dirty {
		if strings.HasPrefix(d.Day, m.String()) {
			c.Dirty++
		}
	}
	reads, err := s.st.ClockReads(ctx)
	if err != nil {
		return nil, err
	}
	end := m.Last().Time().AddDate(0, 0, 1)
	for _, name := range s.clockNames() {
		if reads[name].Before(end) {
			c.Stale = append(c.Stale, name)
		}
	}
	return c, nil
}

func (s *server) monthDownload(w http.ResponseWriter, r *http.Request, u *session) {
	m, err := reports.ParseMonth(r.PathValue("month"))
	if err != nil {
		s.fail(w, r, false, http.StatusBadRequest, err.Error())
		return
	}
	file := r.PathValue("file")
	ctypes := map[string]string{
		"report.xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
		"report.csv":  "text/csv; charset=utf-8", "detail.csv": "text/csv; charset=utf-8", "sheet.csv": "text/csv; charset=utf-8",
		"print.html": "text/html; charset=utf-8", "units.zip": "application/zip",
	}
	ctype, ok := ctypes[file]
	if !ok {
		http.NotFound(w, r)
		return
	}
	in, _, _, err := s.scopedMonth(r.Context(), r, u, m)
	if err != nil {
		s.serverError(w, r, false, err)
		return
	}
	rep := reports.BuildMonth(in)
	var buf bytes.Buffer
	switch file {
	case "report.xlsx":
		err = rep.WriteXLSX(&buf)
	case "report.csv":
		err = rep.WriteCSV(&buf)
	case "sheet.csv":
		err = rep.WriteSheetCSV(&buf)
	case "print.html":
		err = rep.WriteHTML(&buf)
	case "units.zip":
		err = reports.WriteUnitsZIP(&buf, in)
	default:
		err = rep.WriteDetailCSV(&buf)
	}
	if err != nil {
		s.serverError(w, r, false, err)
		return
	}
	ext := file[strings.LastIndexByte(file, '.'):]
	base := map[string]string{"report.xlsx": "考勤月报", "report.csv": "考勤月报", "detail.csv": "考勤明细", "sheet.csv": "考勤表",
		"print.html": "考勤月报", "units.zip": "考勤月报-各单位"}[file]
	name := base + "-" + m.String()
	if in.Scope != "" {
		name += "-" + in.Scope
	}
	ascii := "kaoqin-" + m.String() + strings.TrimSuffix(strings.TrimPrefix(file, "report"), ext) + ext
	w.Header().Set("Content-Type", ctype)
	if file == "print.html" {
		// The printable report carries its own style sheet (it is also a file on its own) and no
		// script: allow its inline style, nothing else.
		w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'")
	} else {
		w.Header().Set("Content-Disposition", `attachment; filename="`+ascii+`"; filename*=UTF-8''`+url.PathEscape(name+ext))
	}
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.Write(buf.Bytes())
}

// closeMonth closes a month from the web: HR or an admin, after the month has ended, once they
// have seen the confirmation step and typed the month, and only when no result is provisional
// and no day waits for recomputation (the CLI's `month close --force` is there for a clock that
// will never be read again). A closing cannot be undone (docs/operations.md): from then on a
// result changes only by a correction, with its reason, in the audit log.
func (s *server) closeMonth(w http.ResponseWriter, r *http.Request, u *session) {
	m, err := reports.ParseMonth(r.PathValue("month"))
	if err != nil {
		s.fail(w, r, false, http.StatusBadRequest, err.Error())
		return
	}
	if !u.can("close") {
		s.fail(w, r, false, http.StatusForbidden, "只有人事或管理员可以结账")
		return
	}
	if strings.TrimSpace(r.PostFormValue("confirm")) != m.String() {
		s.showMonth(w, r, u, m, http.StatusUnprocessableEntity, "请在确认框中输入 "+m.String()+" 以确认结账。", "")
		return
	}
	msg, err := s.tryClose(r.Context(), m, u.name())
	if err != nil {
		s.serverError(w, r, false, err)
		return
	}
	if msg != "" {
		s.showMonth(w, r, u, m, http.StatusConflict, msg, "")
		return
	}
	s.days.invalidate() // the month page reads the closing afresh
	http.Redirect(w, r, "/month?month="+m.String()+"&closed=1", http.StatusSeeOther)
}

func (s *server) tryClose(ctx context.Context, m reports.Month, actor string) (string, error) {
	if m.Last() >= attendance.DateOf(s.now()) {
		return m.Chinese() + "尚未结束，月末之后才能结账。", nil
	}
	dirty, err := s.st.DirtyDays(ctx)
	if err != nil {
		return "", err
	}
	for _, d := range dirty {
		if strings.HasPrefix(d.Day, m.String()) {
			return "仍有考勤结果等待重新计算（" + d.StaffID + " " + d.Day + " 等），请稍后再试。", nil
		}
	}
	prov, err := s.st.Provisional(ctx, m.First().Time(), m.Last().Time())
	if err != nil {
		return "", err
	}
	if len(prov) > 0 {
		return fmt.Sprintf("有 %d 个暂定结果（如 %s %s %s）：相关打卡机尚未读取完毕。请等待读取，或由管理员在命令行用 kaoqin month close --force 结账。",
			len(prov), prov[0].StaffID, prov[0].Day, prov[0].Segment), nil
	}
	err = s.st.CloseMonth(ctx, m.String(), actor)
	if errors.Is(err, store.ErrAlreadyClosed) {
		return m.Chinese() + "已经结账。", nil
	}
	return "", err
}

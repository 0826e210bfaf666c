package web

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

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

// monthInput is the month from the database, narrowed to one window or one staff member.
func (s *server) monthInput(ctx context.Context, m reports.Month, window, staffID string) (*reports.MonthInput, error) {
	in, err := dbreport.Month(ctx, s.st, s.o.Rules, m)
	if err != nil {
		return nil, err
	}
	in.Generated = s.now()
	if window == "" && staffID == "" {
		return in, nil
	}
	keep := map[string]bool{}
	staff := in.Staff[:0]
	for _, st := range in.Staff {
		if (window == "" || st.Window == window) && (staffID == "" || st.ID == staffID) {
			keep[st.ID] = true
			staff = append(staff, st)
		}
	}
	in.Staff = staff
	res := in.Results[:0]
	for _, x := range in.Results {
		if keep[x.StaffID] {
			res = append(res, x)
		}
	}
	in.Results = res
	if in.Closing != nil {
		cs := in.Closing.Corrections[:0]
		for _, c := range in.Closing.Corrections {
			if keep[c.StaffID] {
				cs = append(cs, c)
			}
		}
		in.Closing.Corrections = cs
	}
	return in, nil
}

type monthData struct {
	Rep      *reports.MonthReport
	Month    string
	Prev     string
	Next     string
	Window   string
	Closable bool
	Error    string
	Notice   string
}

func shiftMonth(m reports.Month, n int) string {
	t := time.Date(m.Year, m.Month+time.Month(n), 1, 0, 0, 0, 0, time.UTC)
	return t.Format("2006-01")
}

func (s *server) monthPage(w http.ResponseWriter, r *http.Request, u *session) {
	m, err := s.monthParam(r, r.URL.Query().Get("month"))
	if err != nil {
		s.fail(w, r, false, http.StatusBadRequest, err.Error())
		return
	}
	s.showMonth(w, r, u, m, http.StatusOK, "", r.URL.Query().Get("closed"))
}

func (s *server) showMonth(w http.ResponseWriter, r *http.Request, u *session, m reports.Month, code int, errMsg, notice string) {
	in, err := s.monthInput(r.Context(), m, u.window(), "")
	if err != nil {
		s.serverError(w, r, false, err)
		return
	}
	rep := reports.BuildMonth(in)
	last := m.Last()
	d := monthData{Rep: rep, Month: m.String(), Prev: shiftMonth(m, -1), Next: shiftMonth(m, 1), Window: u.window(),
		Closable: u.can("close") && rep.Closing == nil && last < attendance.DateOf(s.now()), Error: errMsg}
	if notice != "" {
		d.Notice = "已结账。"
	}
	s.renderPage(w, code, "month", &pageData{Title: m.Chinese() + "考勤月报", U: u, Data: d})
}

func (s *server) monthDownload(w http.ResponseWriter, r *http.Request, u *session) {
	m, err := reports.ParseMonth(r.PathValue("month"))
	if err != nil {
		s.fail(w, r, false, http.StatusBadRequest, err.Error())
		return
	}
	file := r.PathValue("file")
	var ctype string
	switch file {
	case "report.xlsx":
		ctype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
	case "report.csv", "detail.csv":
		ctype = "text/csv; charset=utf-8"
	default:
		http.NotFound(w, r)
		return
	}
	in, err := s.monthInput(r.Context(), m, u.window(), "")
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
	default:
		err = rep.WriteDetailCSV(&buf)
	}
	if err != nil {
		s.serverError(w, r, false, err)
		return
	}
	ext := file[strings.LastIndexByte(file, '.'):]
	name := "kaoqin-" + m.String() + strings.TrimSuffix(strings.TrimPrefix(file, "report"), ext) + ext
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.Write(buf.Bytes())
}

// closeMonth closes a month from the web: HR or an admin, after the month has ended, and only
// when no result is provisional and no day waits for recomputation (the CLI's `month close
// --force` is there for a clock that will never be read again).
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
	msg, err := s.tryClose(r.Context(), m, u.name())
	if err != nil {
		s.serverError(w, r, false, err)
		return
	}
	if msg != "" {
		s.showMonth(w, r, u, m, http.StatusConflict, msg, "")
		return
	}
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

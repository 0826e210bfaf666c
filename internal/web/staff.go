package web

import (
	"cmp"
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"

	"github.com/kaoqin/kaoqin/attendance"
	"github.com/kaoqin/kaoqin/internal/store"
	"github.com/kaoqin/kaoqin/reports"
)

type staffData struct {
	Staff   store.Staff
	Month   string
	Prev    string
	Next    string
	Row     *reports.Row
	Results []reports.Result
	Closing *reports.Closing
	Day     attendance.Date // the day the link came from (0: none), marked in the table
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
		// The same answer as for a missing id: a window head must not learn which ids exist.
		return nil, http.StatusNotFound, nil
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
	q := r.URL.Query()
	month := q.Get("month")
	var day attendance.Date
	if v := q.Get("date"); v != "" && month == "" {
		// From the today page of a past day: that day's month, that day marked.
		d, err := attendance.ParseDate(v)
		if err != nil {
			s.fail(w, r, false, http.StatusBadRequest, "日期 "+strconv.Quote(v)+" 格式不对，应为 年-月-日，如 2026-07-15")
			return
		}
		day, month = d, v[:7]
	}
	m, err := s.monthParam(r, month)
	if err != nil {
		s.fail(w, r, false, http.StatusBadRequest, "月份 "+strconv.Quote(month)+" 格式不对，应为 年-月，如 2026-07")
		return
	}
	d, code, err := s.staffMonth(r.Context(), u, r.PathValue("id"), m)
	switch {
	case err != nil:
		s.serverError(w, r, false, err)
	case code != 0:
		s.fail(w, r, false, http.StatusNotFound, "没有这位工作人员，或不在您负责的窗口。")
	default:
		d.Day = day
		s.renderPage(w, http.StatusOK, "staff", &pageData{Title: d.Staff.Name + " " + m.Chinese(), U: u, Data: d})
	}
}

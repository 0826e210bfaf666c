package web

import (
	"cmp"
	"context"
	"errors"
	"net/http"
	"slices"

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

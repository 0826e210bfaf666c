package web

import (
	"net/http"
	"strconv"
)

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

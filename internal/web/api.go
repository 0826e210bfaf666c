package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/kaoqin/kaoqin/reports"
)

// The JSON API under /api/v1 (docs/api.md): the same data as the pages, for the same session.

type apiError struct {
	Error  string            `json:"error"`
	Fields map[string]string `json:"fields,omitempty"`
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", " ")
	if err := enc.Encode(v); err != nil {
		http.Error(w, `{"error":"encoding failed"}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	w.Write(buf.Bytes())
}

// writeBuffered answers 200 with what write produced, or 500 when it failed.
func (s *server) writeBuffered(w http.ResponseWriter, r *http.Request, write func(*bytes.Buffer) error) {
	var buf bytes.Buffer
	if err := write(&buf); err != nil {
		s.serverError(w, r, true, err)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Write(buf.Bytes())
}

func (s *server) apiToday(w http.ResponseWriter, r *http.Request, u *session) {
	q, code, _ := s.dayQuery(r, u)
	switch code {
	case 0:
	case http.StatusForbidden:
		writeJSON(w, code, apiError{Error: "a window head sees their own window only"})
		return
	default:
		writeJSON(w, code, apiError{Error: "date: want YYYY-MM-DD (years 2000 to 2100)"})
		return
	}
	e, err := s.cachedDay(r.Context(), q)
	if err != nil {
		s.serverError(w, r, true, err)
		return
	}
	b, gz, err := e.JSON()
	if err != nil {
		s.serverError(w, r, true, err)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Vary", "Accept-Encoding")
	if strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
		w.Header().Set("Content-Encoding", "gzip")
		b = gz
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.Write(b)
}

func (s *server) apiMonth(w http.ResponseWriter, r *http.Request, u *session) {
	m, err := reports.ParseMonth(r.PathValue("month"))
	if err != nil {
		writeJSON(w, http.StatusBadRequest, apiError{Error: err.Error()})
		return
	}
	in, err := s.monthInput(r.Context(), m, u.window(), "")
	if err != nil {
		s.serverError(w, r, true, err)
		return
	}
	rep := reports.BuildMonth(in)
	s.writeBuffered(w, r, func(b *bytes.Buffer) error { return rep.WriteJSON(b) })
}

func (s *server) apiStaffMonth(w http.ResponseWriter, r *http.Request, u *session) {
	m, err := reports.ParseMonth(r.PathValue("month"))
	if err != nil {
		writeJSON(w, http.StatusBadRequest, apiError{Error: err.Error()})
		return
	}
	id := r.PathValue("id")
	_, code, err := s.staffMonth(r.Context(), u, id, m)
	switch {
	case err != nil:
		s.serverError(w, r, true, err)
		return
	case code != 0:
		writeJSON(w, code, apiError{Error: fmt.Sprintf("no staff member %q", id)})
		return
	}
	in, err := s.monthInput(r.Context(), m, "", id)
	if err != nil {
		s.serverError(w, r, true, err)
		return
	}
	rep := reports.BuildMonth(in)
	s.writeBuffered(w, r, func(b *bytes.Buffer) error { return rep.WriteJSON(b) })
}

func (s *server) apiClocks(w http.ResponseWriter, r *http.Request, u *session) {
	if !u.can("clocks") {
		writeJSON(w, http.StatusForbidden, apiError{Error: "a window head does not see the clocks"})
		return
	}
	d, err := s.clockOverview(r.Context())
	if err != nil {
		s.serverError(w, r, true, err)
		return
	}
	type unknown struct {
		Clock   string `json:"clock"`
		UserID  string `json:"clock_user_id"`
		Punches int    `json:"punches"`
		First   string `json:"first"`
		Last    string `json:"last"`
	}
	type unknownPush struct {
		Serial     string `json:"serial_number"`
		RemoteAddr string `json:"remote_addr"`
		Requests   int64  `json:"requests"`
		First      string `json:"first"`
		Last       string `json:"last"`
	}
	out := struct {
		Clocks      []ClockStatus `json:"clocks"`
		Unknown     []unknown     `json:"unknown_users"`
		UnknownPush []unknownPush `json:"unknown_push_clocks"`
	}{Clocks: d.Clocks, Unknown: []unknown{}, UnknownPush: []unknownPush{}}
	for _, x := range d.Unknown {
		out.Unknown = append(out.Unknown, unknown{x.Clock, x.UserID, x.Punches, fmtWall(x.First), fmtWall(x.Last)})
	}
	for _, x := range d.UnknownPush {
		out.UnknownPush = append(out.UnknownPush, unknownPush{x.Serial, x.RemoteAddr, x.Requests, fmtWall(x.FirstSeen), fmtWall(x.LastSeen)})
	}
	writeJSON(w, http.StatusOK, out)
}

// apiEntry takes one entry as a JSON object of the CSV's columns (strings; numbers are accepted
// for the correction's counts, and approvals or findings may be an array of tokens).
func (s *server) apiEntry(w http.ResponseWriter, r *http.Request, u *session) {
	k := kindOf(r.PathValue("kind"))
	if k == nil {
		writeJSON(w, http.StatusNotFound, apiError{Error: "kinds: leave, patrol, failure, signin, correction"})
		return
	}
	var raw map[string]any
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16))
	if err := dec.Decode(&raw); err != nil {
		writeJSON(w, http.StatusBadRequest, apiError{Error: "body: want one JSON object: " + err.Error()})
		return
	}
	vals := map[string]string{}
	for key, v := range raw {
		switch x := v.(type) {
		case string:
			vals[key] = x
		case float64:
			vals[key] = strconv.FormatFloat(x, 'f', -1, 64)
		case bool:
			vals[key] = strconv.FormatBool(x)
		case []any:
			var b []byte
			for i, e := range x {
				if i > 0 {
					b = append(b, ';')
				}
				b = fmt.Append(b, e)
			}
			vals[key] = string(b)
		case nil:
		default:
			writeJSON(w, http.StatusBadRequest, apiError{Error: key + ": want a string"})
			return
		}
	}
	er := s.submit(r.Context(), u, k, vals)
	switch {
	case er.Status == http.StatusForbidden:
		writeJSON(w, er.Status, apiError{Error: "not allowed for this user, window or staff member"})
	case er.Status != 0:
		s.serverError(w, r, true, er.Err)
	case er.Problems != nil:
		msg := er.Problems[""]
		if msg == "" {
			msg = "invalid entry"
		}
		delete(er.Problems, "") // said in "error"
		writeJSON(w, http.StatusUnprocessableEntity, apiError{Error: msg, Fields: er.Problems})
	default:
		writeJSON(w, http.StatusCreated, struct {
			Kind string  `json:"kind"`
			IDs  []int64 `json:"ids"`
		}{k.Name, er.IDs})
	}
}

func (s *server) apiAudit(w http.ResponseWriter, r *http.Request, u *session) {
	if !u.can("audit") {
		writeJSON(w, http.StatusForbidden, apiError{Error: "a window head does not see the audit log"})
		return
	}
	n, _ := strconv.Atoi(r.URL.Query().Get("limit"))
	if n <= 0 || n > 5000 {
		n = 500
	}
	log, err := s.st.AuditLog(r.Context(), n)
	if err != nil {
		s.serverError(w, r, true, err)
		return
	}
	writeJSON(w, http.StatusOK, log)
}

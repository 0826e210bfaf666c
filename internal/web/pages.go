package web

import (
	"bytes"
	"errors"
	"html/template"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/kaoqin/kaoqin/attendance"
	"github.com/kaoqin/kaoqin/internal/store"
	"github.com/kaoqin/kaoqin/leave"
)

type pageData struct {
	Title   string
	U       *session
	Refresh int // seconds; 0: none
	Print   string
	Data    any
}

var findingNames = map[string]string{"ABSENT": "旷工", "EARLY": "早退", "EXEMPT": "故障免责", "LATE": "迟到", "LEAVE": "请假",
	"LEAVE_UNRECOGNISED": "请假未认可", "MISSING_IN": "签到缺卡", "MISSING_OUT": "签退缺卡", "OFF_POST": "脱岗"}

var roleNames = map[string]string{store.RoleAdmin: "管理员", store.RoleHR: "人事", store.RoleSupervisor: "督查科", store.RoleWindowHead: "窗口负责人",
	store.RoleCenterLeader: "中心分管领导", store.RoleUnitLeader: "窗口单位领导", store.RoleStaff: "工作人员"}

var funcs = template.FuncMap{
	"seg": func(s attendance.Segment) string {
		if s == attendance.AM {
			return "上午"
		}
		return "下午"
	},
	"wall": func(t time.Time) string {
		if t.IsZero() {
			return "从未"
		}
		return t.Format("2006-01-02 15:04")
	},
	"role": func(r string) string { return roleNames[r] },
	"can":  func(u *session, what string) bool { return u != nil && u.can(what) },
	"leaveName": func(t string) string {
		if n := leave.Type(t).Chinese(); n != "" {
			return n
		}
		return t
	},
	"findings": func(f attendance.Findings) string {
		var out []string
		for _, c := range f.Codes(nil) {
			out = append(out, findingNames[c])
		}
		return strings.Join(out, "、")
	},
	"half": func(n int) string {
		if n%2 == 1 {
			return strconv.Itoa(n/2) + ".5"
		}
		return strconv.Itoa(n / 2)
	},
	// unjson undoes encoding/json's HTML escaping in the audit log's JSON values, so the page shows
	// what was entered; html/template escapes it again for the page.
	"unjson":  strings.NewReplacer(`\u003c`, "<", `\u003e`, ">", `\u0026`, "&").Replace,
	"pct":     func(f float64) string { return strconv.FormatFloat(f*100, 'f', 0, 64) + "%" },
	"whole":   func(f float64) string { return strconv.FormatFloat(f, 'f', 0, 64) },
	"rowData": func(r *staffRow, date string) map[string]any { return map[string]any{"Row": r, "Date": date} },
	// plain takes the rule numbers out of a reason ("R14：…" → "…"): the pages speak to people.
	"plain": func(s string) string { return ruleNumber.ReplaceAllString(s, "") },
	"hm":    func(t time.Time) string { return t.Format("01-02 15:04") },
}

var ruleNumber = regexp.MustCompile(`R\d+(?:[–-]R\d+)?[：:]\s*|（R\d+）|R\d+ ?`)

// render executes a page into a buffer first, so that a template error is a 500, not half a page.
func (s *server) render(w http.ResponseWriter, r *http.Request, code int, name string, u *session, data any) {
	s.renderPage(w, code, name, &pageData{U: u, Data: data})
}

// pageBufs recycles the pages' buffers: today's page for 500 staff is 140 KB, and allocating
// (and clearing) one per request shows in the load test.
var pageBufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func (s *server) renderPage(w http.ResponseWriter, code int, name string, p *pageData) {
	buf := pageBufs.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= 1<<20 {
			buf.Reset()
			pageBufs.Put(buf)
		}
	}()
	if err := s.tmpl[name].ExecuteTemplate(buf, "layout", p); err != nil {
		s.log.Error("render", "page", name, "err", err)
		http.Error(w, "页面生成失败", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(code)
	w.Write(buf.Bytes())
}

func (s *server) serverError(w http.ResponseWriter, r *http.Request, api bool, err error) {
	s.log.Error("request failed", "path", r.URL.Path, "err", err)
	s.fail(w, r, api, http.StatusInternalServerError, "服务器内部错误")
}

func (s *server) now() time.Time { return store.Wall(s.o.Now(), s.st.Location()) }

// parseForm parses a page's form, refusing it (413 over the body cap, 400 otherwise) when it
// cannot be read.
func (s *server) parseForm(w http.ResponseWriter, r *http.Request) bool {
	err := r.ParseForm()
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		s.fail(w, r, false, http.StatusRequestEntityTooLarge, "提交内容过大")
	case err != nil:
		s.fail(w, r, false, http.StatusBadRequest, "表单无法解析")
	default:
		return true
	}
	return false
}

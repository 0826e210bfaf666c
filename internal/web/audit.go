package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/kaoqin/kaoqin/attendance"
	"github.com/kaoqin/kaoqin/internal/store"
)

// The audit log in words: who did what to which record, and what it was before and after, with a
// filter by person, kind of record and day, a page at a time.

const auditPageSize = 50

type auditRow struct {
	At, Actor, Action, Record string
	Before, After             []string // "键：值" lines
}

type auditData struct {
	Rows          []auditRow
	Actors        []string
	Entities      []option
	Actor, Entity string
	From, To      string
	Page, Pages   int
	Total         int
	PrevURL       string
	NextURL       string
}

func (s *server) auditPage(w http.ResponseWriter, r *http.Request, u *session) {
	if !u.can("audit") {
		s.fail(w, r, false, http.StatusForbidden, "无权查看审计日志")
		return
	}
	q := r.URL.Query()
	f := store.AuditFilter{Actor: q.Get("actor"), Entity: q.Get("entity"), From: q.Get("from"), To: q.Get("to"), Limit: auditPageSize}
	for _, d := range []string{f.From, f.To} {
		if d == "" {
			continue
		}
		if _, err := attendance.ParseDate(d); err != nil {
			s.fail(w, r, false, http.StatusBadRequest, "日期“"+d+"”不对：应为 年-月-日")
			return
		}
	}
	page, _ := strconv.Atoi(q.Get("page"))
	page = max(page, 1)
	f.Offset = (page - 1) * auditPageSize
	ctx := r.Context()
	log, total, err := s.st.AuditQuery(ctx, f)
	if err != nil {
		s.serverError(w, r, false, err)
		return
	}
	actors, err := s.st.AuditActors(ctx)
	if err != nil {
		s.serverError(w, r, false, err)
		return
	}
	names, err := s.auditStaffNames(ctx)
	if err != nil {
		s.serverError(w, r, false, err)
		return
	}
	d := auditData{Actors: actors, Actor: f.Actor, Entity: f.Entity, From: f.From, To: f.To, Page: page, Total: total,
		Pages: max(1, (total+auditPageSize-1)/auditPageSize)}
	for e, n := range entityNames {
		d.Entities = append(d.Entities, option{Value: e, Label: n})
	}
	sort.Slice(d.Entities, func(i, j int) bool { return d.Entities[i].Label < d.Entities[j].Label })
	for _, e := range log {
		d.Rows = append(d.Rows, describeAudit(e, names))
	}
	link := func(p int) string {
		v := url.Values{"page": {strconv.Itoa(p)}}
		for k, x := range map[string]string{"actor": f.Actor, "entity": f.Entity, "from": f.From, "to": f.To} {
			if x != "" {
				v.Set(k, x)
			}
		}
		return "/audit?" + v.Encode()
	}
	if page > 1 {
		d.PrevURL = link(page - 1)
	}
	if page < d.Pages {
		d.NextURL = link(page + 1)
	}
	s.renderPage(w, http.StatusOK, "audit", &pageData{Title: "审计日志", U: u, Data: d})
}

func (s *server) auditStaffNames(ctx context.Context) (map[string]string, error) {
	all, err := s.st.ListStaff(ctx)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(all))
	for _, st := range all {
		out[st.StaffID] = st.Name
	}
	return out, nil
}

// describeAudit puts one audit entry into words.
func describeAudit(e store.AuditEntry, names map[string]string) auditRow {
	row := auditRow{At: e.At, Actor: e.Actor, Action: actionName(e.Action, e.Entity)}
	old, oldOK := decodeJSON(e.OldValue)
	nw, newOK := decodeJSON(e.NewValue)
	row.Record = recordName(e, names, old, nw)
	if oldOK {
		row.Before = valueLines(old)
	} else if e.OldValue != "" {
		row.Before = []string{plainValue(e.OldValue)}
	}
	if newOK {
		row.After = valueLines(nw)
	} else if e.NewValue != "" {
		row.After = []string{plainValue(e.NewValue)}
	}
	return row
}

func decodeJSON(s string) (map[string]any, bool) {
	if !strings.HasPrefix(s, "{") {
		return nil, false
	}
	var m map[string]any
	if json.Unmarshal([]byte(s), &m) != nil {
		return nil, false
	}
	return m, true
}

func actionName(action, entity string) string {
	if n, ok := actionNames[action+" "+entity]; ok {
		return n
	}
	if n, ok := actionNames[action]; ok {
		return n
	}
	return "其他操作"
}

// recordName says which record an entry is about: a staff member's slip, an account, a month.
func recordName(e store.AuditEntry, names map[string]string, old, nw map[string]any) string {
	kind := entityNames[e.Entity]
	if kind == "" {
		kind = "记录"
	}
	staff := ""
	for _, m := range []map[string]any{nw, old} {
		if id, ok := m["staff_id"].(string); ok && staff == "" {
			staff = id
		}
	}
	who := func(id string) string {
		if id == store.Everyone {
			return "全体人员"
		}
		if n := names[id]; n != "" {
			return n + "（" + id + "）"
		}
		return id
	}
	switch e.Entity {
	case "user":
		return "账号 " + e.EntityID
	case "session":
		return "账号 " + e.EntityID + " 的登录"
	case "staff":
		if e.EntityID == "roster" {
			return "人员名单"
		}
		return "工作人员 " + who(e.EntityID)
	case "enrollment":
		clock, uid, _ := strings.Cut(e.EntityID, ":")
		return "打卡机 " + clock + " 的用户号 " + uid
	case "month":
		return e.EntityID + " 月"
	case "segment_result":
		return segmentWords(e.EntityID, who)
	case "window", "unit", "clock":
		return kind + " " + e.EntityID
	}
	if staff != "" {
		return who(staff) + "的" + kind
	}
	return kind
}

func segmentWords(id string, who func(string) string) string {
	parts := strings.Split(strings.NewReplacer("/", " ", ",", " ").Replace(id), " ")
	for i, p := range parts {
		switch p {
		case "am":
			parts[i] = "上午"
		case "pm":
			parts[i] = "下午"
		}
	}
	if len(parts) > 0 {
		parts[0] = who(parts[0])
	}
	return strings.Join(parts, " ") + " 的考勤结果"
}

// valueLines are a JSON value's fields in words, in a stable order; ids stay out.
func valueLines(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		if k != "id" {
			keys = append(keys, k)
		}
	}
	sort.Slice(keys, func(i, j int) bool {
		return fieldOrder(keys[i]) < fieldOrder(keys[j]) || fieldOrder(keys[i]) == fieldOrder(keys[j]) && keys[i] < keys[j]
	})
	var out []string
	for _, k := range keys {
		v := fieldValue(k, m[k])
		if v == "" {
			continue
		}
		name := fieldNames[k]
		if name == "" {
			name = "其他"
		}
		out = append(out, name+"："+v)
	}
	return out
}

func fieldOrder(k string) int {
	for i, x := range fieldOrderList {
		if x == k {
			return i
		}
	}
	return len(fieldOrderList)
}

var fieldOrderList = []string{"staff_id", "name", "window", "unit", "type", "start", "end", "from", "to", "at", "observation", "clock", "filed_at", "reported_at", "approvals", "role", "reason", "note", "recorded_by"}

func fieldValue(k string, v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		switch k {
		case "type", "leave_type":
			return leaveName(x)
		case "approvals":
			return approvalsWords(x)
		case "observation":
			return map[string]string{"present": "在岗", "absent": "不在岗"}[x]
		case "role":
			return roleNames[x]
		case "segment":
			return map[string]string{"am": "上午", "pm": "下午"}[x]
		case "findings":
			return findingsWords(x)
		}
		return x
	case bool:
		if x {
			return "是"
		}
		return "否"
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case []any:
		var parts []string
		for _, e := range x {
			parts = append(parts, fieldValue(k, e))
		}
		return strings.Join(parts, "、")
	case map[string]any:
		return strings.Join(valueLines(x), "；")
	}
	return fmt.Sprint(v)
}

func findingsWords(s string) string {
	var out []string
	for _, c := range strings.Split(s, ";") {
		if c == "" {
			continue
		}
		if n := findingNames[c]; n != "" {
			out = append(out, n)
		}
	}
	if len(out) == 0 {
		return "正常"
	}
	return strings.Join(out, "、")
}

// plainValue words the audit log's values that are not JSON: a staff id, "disabled".
func plainValue(v string) string {
	if n, ok := plainValues[v]; ok {
		return n
	}
	return v
}

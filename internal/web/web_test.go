package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/kaoqin/kaoqin/internal/store"
	"github.com/kaoqin/kaoqin/internal/store/storetest"
)

func TestTodayPage(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, 12)
		c := f.client(t).login("sup")
		resp, body := c.get("/today")
		if resp.StatusCode != 200 {
			t.Fatalf("got %d", resp.StatusCode)
		}
		for _, want := range []string{"W01", "W03", "员工S0003", "08:47签到，迟到17分钟", "08:21签到", `data-refresh="60"`, "side 故障（从未读取）", `src="/static/kaoqin.js"`} {
			if !strings.Contains(body, want) {
				t.Errorf("today page lacks %q", want)
			}
		}
		if got := resp.Header.Get("Content-Security-Policy"); !strings.Contains(got, "default-src 'self'") {
			t.Errorf("CSP: got %q", got)
		}
		if resp.Header.Get("X-Frame-Options") != "DENY" || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("security headers missing: %v", resp.Header)
		}
	})
}

// TestRoutesNeedLogin: every route but health, readiness, metrics, the login and its stylesheet
// refuses a stranger: pages redirect to the login, the API answers 401.
func TestRoutesNeedLogin(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t), 4)
	c := f.client(t)
	pages := []string{"GET /", "GET /today", "GET /month", "GET /month/2026-07/report.xlsx", "POST /month/2026-06/close", "GET /staff/S0001",
		"GET /clocks", "POST /clocks/enroll", "GET /entry/leave", "POST /entry/leave", "GET /audit", "POST /logout", "GET /nothing"}
	for _, p := range pages {
		m, path, _ := strings.Cut(p, " ")
		resp, _ := c.do(m, path, nil, nil)
		if resp.StatusCode != http.StatusFound || !strings.HasPrefix(resp.Header.Get("Location"), "/login") {
			t.Errorf("%s: got %d %q, want 302 to /login", p, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	api := []string{"GET /api/v1/me", "GET /api/v1/today", "GET /api/v1/month/2026-07", "GET /api/v1/staff/S0001/month/2026-07",
		"GET /api/v1/clocks", "POST /api/v1/entries/leave", "GET /api/v1/audit", "POST /api/v1/logout", "GET /api/v1/nothing"}
	for _, p := range api {
		m, path, _ := strings.Cut(p, " ")
		if resp, _ := c.do(m, path, nil, nil); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s: got %d, want 401", p, resp.StatusCode)
		}
	}
	for _, p := range []string{"/healthz", "/readyz", "/metrics", "/login", "/static/kaoqin.css"} {
		if resp, _ := c.get(p); resp.StatusCode != 200 {
			t.Errorf("%s: got %d, want 200 without a login", p, resp.StatusCode)
		}
	}
}

func TestWindowHeadHeldToWindow(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t), 12)
	c := f.client(t).login("head")
	_, body := c.get("/today")
	if !strings.Contains(body, "员工S0001") || strings.Contains(body, "员工S0005") {
		t.Errorf("a window head's today page shows W01 only")
	}
	for _, p := range []string{"/today?window=W02", "/clocks", "/audit", "/entry/correction"} {
		if resp, _ := c.get(p); resp.StatusCode != http.StatusForbidden {
			t.Errorf("GET %s: got %d, want 403", p, resp.StatusCode)
		}
	}
	for _, p := range []string{"/api/v1/today?window=W02", "/api/v1/clocks"} {
		if resp, _ := c.get(p); resp.StatusCode != http.StatusForbidden {
			t.Errorf("GET %s: got %d, want 403", p, resp.StatusCode)
		}
	}
	resp, _ := c.postForm("/entry/leave", url.Values{"csrf": {c.csrf}, "staff_id": {"S0005"}, "type": {"sick"},
		"start": {"2026-07-15 08:30"}, "end": {"2026-07-15 12:00"}, "approvals": {"hospital_cert"}})
	if resp.StatusCode != http.StatusUnprocessableEntity { // another window's staff are unknown to a head (TestScopeLooksLikeMissing)
		t.Errorf("leave for another window: got %d, want 422", resp.StatusCode)
	}
	resp, _ = c.postJSON("/api/v1/entries/patrol", map[string]string{"staff_id": "S0005", "from": "2026-07-15 09:00", "to": "2026-07-15 09:10", "observation": "absent"})
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("API patrol for another window: got %d, want 422", resp.StatusCode)
	}
	resp, body = c.postJSON("/api/v1/entries/patrol", map[string]string{"staff_id": "S0002", "from": "2026-07-15 09:00", "to": "2026-07-15 09:10", "observation": "present"})
	if resp.StatusCode != http.StatusCreated {
		t.Errorf("API patrol for own window: got %d, want 201: %s", resp.StatusCode, body)
	}
}

func TestCSRF(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t), 4)
	c := f.client(t).login("admin")
	form := url.Values{"staff_id": {"S0001"}, "from": {"2026-07-15 09:00"}, "to": {"2026-07-15 09:10"}, "observation": {"absent"}}
	for name, v := range map[string]url.Values{"none": form, "wrong": with(form, "csrf", strings.Repeat("0", 64))} {
		if resp, _ := c.postForm("/entry/patrol", v); resp.StatusCode != http.StatusForbidden {
			t.Errorf("form with %s token: got %d, want 403", name, resp.StatusCode)
		}
	}
	if resp, _ := c.postForm("/month/2026-06/close", url.Values{}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("close without token: got %d, want 403", resp.StatusCode)
	}
	if resp, _ := c.postForm("/logout", url.Values{}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("logout without token: got %d, want 403", resp.StatusCode)
	}
	tok := c.csrf
	c.csrf = ""
	if resp, _ := c.postJSON("/api/v1/entries/patrol", map[string]string{"staff_id": "S0001"}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("API without X-CSRF-Token: got %d, want 403", resp.StatusCode)
	}
	c.csrf = tok
	if resp, body := c.postForm("/entry/patrol", with(form, "csrf", tok)); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("form with its token: got %d, want 303: %s", resp.StatusCode, body)
	}
	log, _ := f.st.AuditLog(ctx, 10)
	n := 0
	for _, e := range log {
		if e.Entity == "patrol" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("patrols in the audit log: got %d, want 1 (the refused ones wrote nothing)", n)
	}
}

func with(v url.Values, k, val string) url.Values {
	out := url.Values{}
	for kk, vv := range v {
		out[kk] = vv
	}
	out.Set(k, val)
	return out
}

// TestInert: HTML and SQL in every field are stored as written and shown as text.
func TestInert(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, 4)
		c := f.client(t).login("admin")
		evil := `<script>alert(1)</script>'; DROP TABLE staff; --"`
		resp, body := c.postForm("/entry/signin", url.Values{"csrf": {c.csrf}, "staff_id": {"S0001"}, "time": {"2026-07-15 08:35"}, "reason": {evil}})
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("signin: got %d: %s", resp.StatusCode, body)
		}
		resp, body = c.postForm("/entry/leave", url.Values{"csrf": {c.csrf}, "staff_id": {evil}, "type": {evil}, "start": {evil},
			"end": {"2026-07-15 12:00"}, "approvals": {evil}, "note": {evil}})
		if resp.StatusCode != http.StatusUnprocessableEntity {
			t.Fatalf("bad leave: got %d, want 422", resp.StatusCode)
		}
		if strings.Contains(body, "<script>") {
			t.Errorf("a field's value came back as markup")
		}
		for _, want := range []string{"&lt;script&gt;", `未知的假别`, "审批手续"} {
			if !strings.Contains(body, want) {
				t.Errorf("the form's answer lacks %q", want)
			}
		}
		f.recompute(t)
		_, body = c.get("/audit")
		if strings.Contains(body, "<script>") || !strings.Contains(body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
			t.Errorf("audit page: the reason is not shown inert")
		}
		if _, err := st.GetStaff(ctx, "S0001"); err != nil {
			t.Errorf("staff table: %v", err)
		}
		_, body = c.get("/staff/S0001?month=2026-07")
		if strings.Contains(body, "<script>") {
			t.Errorf("staff page shows markup")
		}
	})
}

func TestLoginRateLimit(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t), 4)
	c := f.client(t)
	for i := 0; i < maxFailsPerUser; i++ {
		if resp, _ := c.postLogin(url.Values{"name": {"hr"}, "password": {"wrong password"}}); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("failure %d: got %d, want 401", i+1, resp.StatusCode)
		}
	}
	resp, body := c.postLogin(url.Values{"name": {"hr"}, "password": {testPassword}})
	if resp.StatusCode != http.StatusTooManyRequests || !strings.Contains(body, "15 分钟") {
		t.Errorf("6th attempt with the right password: got %d, want 429", resp.StatusCode)
	}
	if resp.Header.Get("Set-Cookie") != "" {
		t.Errorf("a locked login set a cookie")
	}
	// Another user from the same address is not locked by hr's failures.
	f.client(t).login("sup")
	// An address trying many names is locked after maxFailsPerAddr.
	for i := 0; i < maxFailsPerAddr; i++ {
		c.postLogin(url.Values{"name": {"guess" + string(rune('a'+i))}, "password": {"x"}})
	}
	if resp, _ := c.postLogin(url.Values{"name": {"admin"}, "password": {testPassword}}); resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("address over its limit: got %d, want 429", resp.StatusCode)
	}
	body2, _ := f.st.AuditLog(ctx, 100)
	for _, e := range body2 {
		if strings.Contains(e.NewValue, testPassword) || strings.Contains(e.NewValue, "$2a$") {
			t.Errorf("audit log holds a password or hash: %+v", e)
		}
	}
}

func TestLogoutEndsSession(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t), 4)
	c := f.client(t).login("hr")
	if resp, _ := c.postForm("/logout", url.Values{"csrf": {c.csrf}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout: got %d", resp.StatusCode)
	}
	if resp, _ := c.get("/today"); resp.StatusCode != http.StatusFound {
		t.Errorf("after logout: got %d, want 302", resp.StatusCode)
	}
}

// TestInertEverywhere: markup in the login name, a patrol note, a failure note, an enrolment and
// a correction's reason comes back escaped, and after login the redirect stays on this site.
func TestInertEverywhere(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t), 4)
	evil := `"><img src=x onerror=alert(1)>`
	stranger := f.client(t)
	_, body := stranger.postLogin(url.Values{"name": {evil}, "password": {"x"}})
	if strings.Contains(body, "<img") {
		t.Errorf("login page reflects markup")
	}
	for _, next := range []string{"//evil.example/", "https://evil.example/", `/\evil.example`} {
		c := f.client(t)
		resp, _ := c.postLogin(url.Values{"name": {"sup"}, "password": {testPassword}, "next": {next}})
		if loc := resp.Header.Get("Location"); loc != "/today" {
			t.Errorf("next %q: redirected to %q, want /today", next, loc)
		}
	}
	c := f.client(t).login("admin")
	c.postForm("/entry/patrol", url.Values{"csrf": {c.csrf}, "staff_id": {"S0001"}, "from": {"2026-07-15 09:00"}, "to": {"2026-07-15 09:05"}, "observation": {"present"}, "note": {evil}})
	c.postForm("/entry/failure", url.Values{"csrf": {c.csrf}, "staff_id": {"*"}, "from": {"2026-07-15 09:00"}, "to": {"2026-07-15 09:05"}, "note": {evil}})
	_, body = c.postForm("/clocks/enroll", url.Values{"csrf": {c.csrf}, "clock": {"hall"}, "clock_user_id": {"9"}, "staff_id": {evil}})
	if strings.Contains(body, "<img") {
		t.Errorf("enrol answer reflects markup")
	}
	_, body = c.postForm("/entry/correction", url.Values{"csrf": {c.csrf}, "staff_id": {evil}, "day": {evil}, "segment": {evil}, "findings": {evil}, "reason": {evil}})
	if strings.Contains(body, "<img") {
		t.Errorf("correction answer reflects markup")
	}
	for _, p := range []string{"/audit", "/today", "/staff/S0001?month=2026-07", "/clocks"} {
		if _, body := c.get(p); strings.Contains(body, "<img") {
			t.Errorf("%s shows markup", p)
		}
	}
	_, body = c.get("/audit")
	if !strings.Contains(body, "&lt;img src=x onerror=alert(1)&gt;") {
		t.Errorf("audit page does not show the note as text")
	}
}

// A login forced from another site would put the victim in the attacker's account: the login
// form needs the token its page set, and the API login needs a JSON body (a cross-site form
// cannot send one).
func TestLoginCSRF(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t), 2)
	c := f.client(t)
	if resp, _ := c.postForm("/login", url.Values{"name": {"admin"}, "password": {testPassword}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("login form without its token: got %d, want 403", resp.StatusCode)
	}
	if resp, _ := c.postForm("/login", url.Values{"name": {"admin"}, "password": {testPassword}, "csrf": {strings.Repeat("a", 32)}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("login form with a token of its own making: got %d, want 403", resp.StatusCode)
	}
	if resp, _ := c.do("POST", "/api/v1/login", strings.NewReader(`{"name":"admin","password":"`+testPassword+`"}`),
		map[string]string{"Content-Type": "text/plain"}); resp.StatusCode != http.StatusUnsupportedMediaType {
		t.Errorf("API login as text/plain: got %d, want 415", resp.StatusCode)
	}
	if resp, _ := c.postLogin(url.Values{"name": {"admin"}, "password": {testPassword}}); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("login form with its token: got %d, want 303", resp.StatusCode)
	}
}

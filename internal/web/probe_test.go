package web

import (
	"bytes"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/kaoqin/kaoqin/attendance"
	"github.com/kaoqin/kaoqin/internal/store/storetest"
)

// The findings of probing the web as an attacker or a careless user would (issue 15), each fixed
// and held here.

// TestLoginLimitAtomic: 60 parallel wrong passwords for one account reach bcrypt at most 5 times;
// the rest are refused with 429 before any password check.
func TestLoginLimitAtomic(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t), 4)
	const n = 60
	codes := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			c := f.client(t)
			resp, _ := c.do("POST", "/api/v1/login", strings.NewReader(`{"name":"sup","password":"wrong password"}`),
				map[string]string{"Content-Type": "application/json"})
			codes[i] = resp.StatusCode
		})
	}
	wg.Wait()
	count := map[int]int{}
	for _, c := range codes {
		count[c]++
	}
	if got := f.s.passwordChecks.Load(); got > maxFailsPerUser {
		t.Errorf("password checks: got %d, want at most %d", got, maxFailsPerUser)
	}
	if count[http.StatusUnauthorized] > maxFailsPerUser || count[http.StatusUnauthorized]+count[http.StatusTooManyRequests] != n {
		t.Errorf("answers: got %v, want at most %d × 401 and the rest 429", count, maxFailsPerUser)
	}
	// Attempts in flight count as attempts, so the burst may leave fewer than 5 failures behind;
	// more wrong guesses one by one reach the limit, never past 5 checks in all.
	for i := 0; i < maxFailsPerUser; i++ {
		f.client(t).postLogin(url.Values{"name": {"sup"}, "password": {"still wrong"}})
	}
	if got := f.s.passwordChecks.Load(); got != maxFailsPerUser {
		t.Errorf("password checks after the guesses one by one: got %d, want %d", got, maxFailsPerUser)
	}
	// The right password is refused too while the account is locked, still without a check.
	before := f.s.passwordChecks.Load()
	resp, _ := f.client(t).postLogin(url.Values{"name": {"sup"}, "password": {testPassword}})
	if resp.StatusCode != http.StatusTooManyRequests || f.s.passwordChecks.Load() != before {
		t.Errorf("locked account: got %d and %d more checks, want 429 and none", resp.StatusCode, f.s.passwordChecks.Load()-before)
	}
}

// TestDayCacheBounded asks for 3,000 distinct dates, as any window head can: the cache keeps at
// most maxDayEntries and the heap stays flat.
func TestDayCacheBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("3,000 day builds skipped with -short")
	}
	f := newFixture(t, storetest.SQLite(t), 8)
	c := f.client(t).login("sup")
	ask := func(from, n int) {
		for i := from; i < from+n; i++ {
			d := testDate.Time().AddDate(0, 0, -i).Format("2006-01-02")
			if resp, body := c.get("/api/v1/today?date=" + d); resp.StatusCode != 200 {
				t.Fatalf("date %s: got %d: %s", d, resp.StatusCode, body)
			}
		}
	}
	heap := func() uint64 {
		var m runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	ask(0, 200)
	h1 := heap()
	ask(200, 2800)
	h2 := heap()
	if n := f.s.days.size(); n > maxDayEntries {
		t.Errorf("cache entries: got %d, want at most %d", n, maxDayEntries)
	}
	if h2 > h1+16<<20 {
		t.Errorf("heap after 200 dates %d MB, after 3,000 %d MB: want flat", h1>>20, h2>>20)
	}
	t.Logf("heap after 200 dates %.1f MB, after 3,000 %.1f MB", float64(h1)/(1<<20), float64(h2)/(1<<20))
}

func TestSafeNext(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"/month?month=2026-07", "/month?month=2026-07"},
		{"/staff/S0001?date=2026-07-01", "/staff/S0001?date=2026-07-01"},
		{"", "/today"},
		{"https://evil.example/", "/today"},
		{"//evil.example", "/today"},
		{"/\t/evil.example", "/today"},
		{"/\n/evil.example", "/today"},
		{"/ /evil.example", "/today"},
		{"/\\evil.example", "/today"},
		{"/%2F/evil.example", "/today"},
		{"/%2fevil.example", "/today"},
		{"/\u200b/evil.example", "/today"},
		{"evil.example", "/today"},
		{"javascript:alert(1)", "/today"},
		{"/today\x00", "/today"},
	} {
		if got := safeNext(tc.in); got != tc.want {
			t.Errorf("safeNext(%q): got %q, want %q", tc.in, got, tc.want)
		}
	}
	// And through the login form, as the probe sent it: next=%2F%09%2Fevil.example.
	f := newFixture(t, storetest.SQLite(t), 4)
	c := f.client(t)
	resp, _ := c.postLogin(url.Values{"name": {"sup"}, "password": {testPassword}, "next": {"/\t/evil.example"}})
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || loc != "/today" {
		t.Errorf("login with next=%%2F%%09%%2Fevil.example: got %d to %q, want 303 to /today", resp.StatusCode, loc)
	}
	_, page := c.get("/login?next=%2F%09%2Fevil.example")
	if strings.Contains(page, "evil") {
		t.Errorf("the login page carries the evil next on")
	}
}

// TestBodyCap: every write, page or API, with or without the CSRF header, is held to one cap, and
// a multipart body is refused before any part is read.
func TestBodyCap(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t), 4)
	c := f.client(t).login("sup")
	big := "note=" + strings.Repeat("x", maxBody+1)
	var mp bytes.Buffer
	mw := multipart.NewWriter(&mp)
	fw, _ := mw.CreateFormFile("file", "big.bin")
	fw.Write(bytes.Repeat([]byte{0}, 4<<20))
	mw.Close()
	for _, tc := range []struct {
		name, path, ctype string
		body              []byte
		chunked           bool
		want              int
	}{
		{"page form with the CSRF header", "/entry/patrol", "application/x-www-form-urlencoded", []byte(big), false, http.StatusRequestEntityTooLarge},
		{"page form, chunked", "/entry/patrol", "application/x-www-form-urlencoded", []byte(big), true, http.StatusRequestEntityTooLarge},
		{"multipart with the CSRF header", "/entry/patrol", mw.FormDataContentType(), mp.Bytes(), false, http.StatusUnsupportedMediaType},
		{"multipart to the API", "/api/v1/entries/patrol", mw.FormDataContentType(), mp.Bytes(), true, http.StatusUnsupportedMediaType},
		{"API entry", "/api/v1/entries/patrol", "application/json", []byte(`{"note":"` + strings.Repeat("x", maxBody) + `"}`), false, http.StatusRequestEntityTooLarge},
		{"API login", "/api/v1/login", "application/json", []byte(`{"name":"` + strings.Repeat("x", maxBody) + `"}`), false, http.StatusRequestEntityTooLarge},
	} {
		var r *bytes.Reader = bytes.NewReader(tc.body)
		req, _ := http.NewRequest("POST", c.base+tc.path, r)
		if tc.chunked {
			req, _ = http.NewRequest("POST", c.base+tc.path, struct{ *bytes.Reader }{r}) // no length: chunked
		}
		req.Header.Set("Content-Type", tc.ctype)
		req.Header.Set(csrfHeader, c.csrf)
		resp, err := c.hc.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		discard(resp)
		if resp.StatusCode != tc.want {
			t.Errorf("%s: got %d, want %d", tc.name, resp.StatusCode, tc.want)
		}
	}
}

// TestScopeLooksLikeMissing: a window head asking for another window's staff member gets exactly
// the answer a missing id gets, on the pages, the API and the entry forms.
func TestScopeLooksLikeMissing(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t), 12)
	c := f.client(t).login("head")
	for _, p := range []string{"/staff/%s", "/staff/%s?date=2026-07-15", "/api/v1/staff/%s/month/2026-07"} {
		r1, b1 := c.get(fmt.Sprintf(p, "S0005"))
		r2, b2 := c.get(fmt.Sprintf(p, "S9999"))
		b1 = strings.ReplaceAll(b1, "S0005", "ID")
		b2 = strings.ReplaceAll(b2, "S9999", "ID")
		if r1.StatusCode != http.StatusNotFound || r2.StatusCode != r1.StatusCode || b1 != b2 {
			t.Errorf("%s: another window's staff %d %q, a missing id %d %q: want the same 404", p, r1.StatusCode, b1, r2.StatusCode, b2)
		}
	}
	entry := func(id string) (int, string) {
		resp, body := c.postForm("/entry/patrol", url.Values{"csrf": {c.csrf}, "staff_id": {id}, "from": {"2026-07-15 09:00"},
			"to": {"2026-07-15 09:10"}, "observation": {"absent"}})
		return resp.StatusCode, strings.ReplaceAll(body, id, "ID")
	}
	c1, b1 := entry("S0005")
	c2, b2 := entry("S9999")
	if c1 != c2 || b1 != b2 {
		t.Errorf("entry for another window's staff: %d, for a missing id: %d; want the same answer", c1, c2)
	}
}

func TestNoDirectoryListing(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t), 4)
	c := f.client(t)
	for _, tc := range []struct {
		path string
		want int
	}{{"/static/", 404}, {"/static/kaoqin.css", 200}, {"/static/kaoqin.js", 200}, {"/static/nope.css", 404}} {
		resp, body := c.get(tc.path)
		if resp.StatusCode == 302 && tc.want == 404 {
			continue // behind the login, like every unknown path
		}
		if resp.StatusCode != tc.want || strings.Contains(body, "kaoqin.css\">") {
			t.Errorf("GET %s: got %d, want %d without a listing", tc.path, resp.StatusCode, tc.want)
		}
	}
}

// TestNoStore: the login page and every API answer, the login's included, carry no-store; the
// static files may be cached.
func TestNoStore(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t), 4)
	c := f.client(t)
	resp, _ := c.get("/login")
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("GET /login: Cache-Control %q, want no-store", cc)
	}
	resp, _ = c.do("POST", "/api/v1/login", strings.NewReader(`{"name":"sup","password":"`+testPassword+`"}`), map[string]string{"Content-Type": "application/json"})
	if cc := resp.Header.Get("Cache-Control"); resp.StatusCode != 200 || cc != "no-store" {
		t.Errorf("POST /api/v1/login: %d, Cache-Control %q, want 200 with no-store", resp.StatusCode, cc)
	}
	resp, _ = c.do("POST", "/api/v1/login", strings.NewReader(`{"name":"sup","password":"x"}`), map[string]string{"Content-Type": "application/json"})
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("failed API login: Cache-Control %q, want no-store", cc)
	}
	if resp, _ := c.get("/static/kaoqin.css"); resp.Header.Get("Cache-Control") == "no-store" {
		t.Errorf("the stylesheet is not cached")
	}
}

// TestErrorPages: 404, 403 and a bad date are pages in Chinese with the navigation bar.
func TestErrorPages(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t), 12)
	head := f.client(t).login("head")
	sup := f.client(t).login("sup")
	for _, tc := range []struct {
		c      *client
		path   string
		code   int
		phrase string
	}{
		{sup, "/no/such/page", 404, "页面不存在"},
		{sup, "/entry/nope", 404, "页面不存在"},
		{sup, "/today?date=2026-13-45", 400, "日期"},
		{sup, "/staff/S9999", 404, "没有这位工作人员"},
		{head, "/clocks", 403, "无权"},
		{head, "/audit", 403, "无权"},
		{head, "/today?window=W02", 403, "本窗口"},
	} {
		resp, body := tc.c.get(tc.path)
		if resp.StatusCode != tc.code || !strings.Contains(body, tc.phrase) || !strings.Contains(body, `href="/today"`) ||
			!strings.Contains(body, "<nav") || !strings.Contains(resp.Header.Get("Content-Type"), "text/html") {
			t.Errorf("GET %s: got %d %q, want %d, a page with the navigation bar saying %s", tc.path, resp.StatusCode, body, tc.code, tc.phrase)
		}
		if m := asciiWord.FindString(visibleText(body)); m != "" {
			t.Errorf("GET %s: English word %q on the page", tc.path, m)
		}
	}
}

// testDate is testNow's date.
var testDate = attendance.DateOf(testNow)

// asciiWord finds an English word in a page's text; the allowed ones are names (test users,
// clocks, file formats) rather than words.
var asciiWord = regexp.MustCompile(`\b(?:[A-Za-z]{3,})\b`)

var allowedWords = map[string]bool{"sup": true, "head": true, "admin": true, "hall": true, "side": true, "XLSX": true, "CSV": true, "PUSH": true, "CSRF": true, "test": true, "cli": true}

var tagRE = regexp.MustCompile(`(?s)<script.*?</script>|<style.*?</style>|<[^>]*>|&[a-z]+;|&#\d+;`)

// visibleText is a page's text as a reader sees it, the allowed names taken out.
func visibleText(page string) string {
	txt := tagRE.ReplaceAllString(page, " ")
	return asciiWord.ReplaceAllStringFunc(txt, func(w string) string {
		if allowedWords[w] {
			return " "
		}
		return w
	})
}

package web

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kaoqin/kaoqin/ingest"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/crypto/bcrypt"

	"github.com/kaoqin/kaoqin/attendance"
	"github.com/kaoqin/kaoqin/internal/results"
	"github.com/kaoqin/kaoqin/internal/store"
	"github.com/kaoqin/kaoqin/internal/store/storetest"
)

var ctx = context.Background()

// testNow is Wednesday 2026-07-15 10:40 in Shanghai: the AM sign-in window has closed, the AM
// sign-out window has not opened.
var testNow = time.Date(2026, 7, 15, 10, 40, 0, 0, storetest.Location)

func wall(s string) time.Time {
	t, err := time.Parse(store.WallLayout, s)
	if err != nil {
		panic(err)
	}
	return t
}

// testPassword is every test user's password; hashed at bcrypt's minimum cost to keep tests fast.
const testPassword = "correct horse battery"

var testHash = func() string {
	h, _ := bcrypt.GenerateFromPassword([]byte(testPassword), bcrypt.MinCost)
	return string(h)
}()

type fixture struct {
	st     *store.Store
	srv    *httptest.Server
	h      http.Handler
	s      *server
	worker *results.Worker
	rules  *attendance.Rules
	woken  chan struct{}
	// metrics are the clock series the clocks page reads, for a test to change.
	metrics *ingest.Metrics
}

// newFixture seeds n staff (ids S0001…, four per window, windows W01…, on clock hall; S0001 also
// on side), one punch each on testNow's morning (every third late, every fifth none), results
// computed, the clocks read at 10:00, and users admin, hr, sup and head (head of W01).
func newFixture(t testing.TB, st *store.Store, n int) *fixture {
	t.Helper()
	rules := attendance.DefaultRules()
	var roster []store.RosterEntry
	var punches []store.Punch
	for i := 1; i <= n; i++ {
		id := fmt.Sprintf("S%04d", i)
		win := fmt.Sprintf("W%02d", (i-1)/4+1)
		e := store.RosterEntry{Staff: store.Staff{StaffID: id, Name: "员工" + id, Window: win, Unit: "单位" + win, Active: true},
			Enrollments: []store.Enrollment{{Clock: "hall", UserID: fmt.Sprint(i), StaffID: id}}}
		if i == 1 {
			e.Enrollments = append(e.Enrollments, store.Enrollment{Clock: "side", UserID: "1", StaffID: id})
		}
		roster = append(roster, e)
		switch {
		case i%5 == 0:
		case i%3 == 0:
			punches = append(punches, store.Punch{Clock: "hall", UserID: fmt.Sprint(i), Time: wall("2026-07-15 08:47:00"), StaffID: id})
		default:
			punches = append(punches, store.Punch{Clock: "hall", UserID: fmt.Sprint(i), Time: wall("2026-07-15 08:21:00"), StaffID: id})
		}
	}
	if _, err := st.ImportStaff(ctx, roster, "test"); err != nil {
		t.Fatal(err)
	}
	if err := st.SyncClocks(ctx, []store.Clock{{Name: "hall", Protocol: "zk"}, {Name: "side", Protocol: "zk"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.InsertPunches(ctx, punches, nil); err != nil {
		t.Fatal(err)
	}
	if err := st.TouchClockRead(ctx, "hall", wall("2026-07-15 10:00:00")); err != nil {
		t.Fatal(err)
	}
	w := results.New(results.Options{Store: st, Rules: &rules, Now: func() time.Time { return testNow }, SweepDays: -1})
	day := attendance.DateOf(wall("2026-07-15 00:00:00"))
	for _, e := range roster {
		if _, _, err := w.RecomputeRange(ctx, e.StaffID, day, day); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.Step(ctx); err != nil { // the dirty days the punches marked
		t.Fatal(err)
	}
	for _, u := range []store.User{{Name: "admin", Role: store.RoleAdmin}, {Name: "hr", Role: store.RoleHR},
		{Name: "sup", Role: store.RoleSupervisor}, {Name: "head", Role: store.RoleWindowHead, Window: "W01"}} {
		u.PasswordHash = testHash
		if err := st.AddUser(ctx, u, "test"); err != nil {
			t.Fatal(err)
		}
	}
	f := &fixture{st: st, worker: w, rules: &rules, woken: make(chan struct{}, 100)}
	// The clock series the clocks page reads, as the daemon's ingest exports them.
	reg := prometheus.NewRegistry()
	m := ingest.NewMetrics(reg)
	m.Up.WithLabelValues("hall").Set(1)
	m.Skew.WithLabelValues("hall").Set(-93)
	m.LogUsed.WithLabelValues("hall").Set(0.42)
	var logger *slog.Logger
	if testing.Verbose() {
		logger = slog.New(slog.NewTextHandler(os.Stderr, nil)) // a 500's cause, when asked for with -v
	}
	h, srv := handler(Options{DB: st, Gatherer: reg, Store: st, Rules: &rules, Clocks: []string{"hall", "side"}, Logger: logger,
		Now: func() time.Time { return testNow }, Wake: func() {
			select {
			case f.woken <- struct{}{}:
			default:
			}
		}})
	f.h, f.s, f.metrics = h, srv, m
	f.srv = httptest.NewServer(h)
	t.Cleanup(f.srv.Close)
	return f
}

// recompute runs the worker over the dirty days, as the daemon's worker does when woken.
func (f *fixture) recompute(t testing.TB) {
	t.Helper()
	for {
		n, err := f.worker.Step(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
	}
}

// client is a browser-like client: a cookie jar, no redirects followed.
type client struct {
	t    testing.TB
	base string
	hc   *http.Client
	csrf string
}

func (f *fixture) client(t testing.TB) *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: t, base: f.srv.URL, hc: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

func (c *client) do(method, path string, body io.Reader, hdr map[string]string) (*http.Response, string) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, body)
	if err != nil {
		c.t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func (c *client) get(path string) (*http.Response, string) { return c.do("GET", path, nil, nil) }

func (c *client) postForm(path string, v url.Values) (*http.Response, string) {
	return c.do("POST", path, strings.NewReader(v.Encode()), map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
}

func (c *client) postJSON(path string, v any) (*http.Response, string) {
	b, _ := json.Marshal(v)
	return c.do("POST", path, strings.NewReader(string(b)), map[string]string{"Content-Type": "application/json", csrfHeader: c.csrf})
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([0-9a-f]+)"`)

// postLogin posts the login form as a browser does: with the token the login page gave it.
func (c *client) postLogin(v url.Values) (*http.Response, string) {
	_, page := c.get("/login")
	if m := csrfRE.FindStringSubmatch(page); m != nil {
		v.Set("csrf", m[1])
	}
	return c.postForm("/login", v)
}

// login logs in through the form and keeps the CSRF token of the session.
func (c *client) login(name string) *client {
	c.t.Helper()
	resp, body := c.postLogin(url.Values{"name": {name}, "password": {testPassword}, "next": {"/today"}})
	if resp.StatusCode != http.StatusSeeOther {
		c.t.Fatalf("login %s: got %d, want 303: %s", name, resp.StatusCode, body)
	}
	_, body = c.get("/today")
	m := csrfRE.FindStringSubmatch(body)
	if m == nil {
		c.t.Fatalf("no csrf token on /today: %s", body)
	}
	c.csrf = m[1]
	return c
}

func (f *fixture) invalidate() { f.s.days.invalidate() }

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

func discard(resp *http.Response) (int64, error) {
	defer resp.Body.Close()
	return io.Copy(io.Discard, resp.Body)
}

func newWorker(f *fixture, now time.Time) *results.Worker {
	return results.New(results.Options{Store: f.st, Rules: f.rules, Now: func() time.Time { return now }, SweepDays: -1})
}

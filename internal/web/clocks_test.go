package web

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/kaoqin/kaoqin/internal/store"
	"github.com/kaoqin/kaoqin/internal/store/storetest"
)

// TestClockStates: the clocks page says 正常, 故障 or 未读取 from the real state, not from
// whether a value is known (the page once said 正常 for a clock whose kaoqin_clock_up was 0).
func TestClockStates(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t), 4)
	c := f.client(t).login("admin")
	state := func(clock string) string {
		t.Helper()
		f.s.clockHealth.expire()
		_, body := c.get("/clocks")
		i := strings.Index(body, `id="clock-`+clock+`"`)
		if i < 0 {
			t.Fatalf("no row for %s", clock)
		}
		row := body[i : i+strings.Index(body[i:], "</tr>")]
		for _, s := range []string{"正常", "故障", "未读取"} {
			if strings.Contains(row, ">"+s+"<") {
				return s
			}
		}
		t.Fatalf("row %s has no state: %s", clock, row)
		return ""
	}
	for _, tc := range []struct {
		name string
		set  func()
		want string
	}{
		{"up, read since the window opened", func() { f.metrics.Up.WithLabelValues("hall").Set(1) }, "正常"},
		{"down", func() { f.metrics.Up.WithLabelValues("hall").Set(0) }, "故障"},
		{"up again", func() { f.metrics.Up.WithLabelValues("hall").Set(1) }, "正常"},
	} {
		tc.set()
		if got := state("hall"); got != tc.want {
			t.Errorf("%s: got %s, want %s", tc.name, got, tc.want)
		}
	}
	// side is never read, and a punch window opened at 08:00: silent, so 故障; before any punch
	// window of the day it is 未读取.
	if got := state("side"); got != "故障" {
		t.Errorf("side, never read after the window opened: got %s, want 故障", got)
	}
	f.s.o.Now = func() time.Time { return time.Date(2026, 7, 15, 6, 0, 0, 0, storetest.Location) }
	if got := state("side"); got != "未读取" {
		t.Errorf("side, never read, before the first window: got %s, want 未读取", got)
	}
	_, body := c.get("/api/v1/clocks")
	if !strings.Contains(body, `"state": "never"`) {
		t.Errorf("the API lacks the state: %s", body)
	}
}

// TestClockActions: read now and sync time for admins only, the time never set inside a punch
// window; enrolment validated against the configured clocks and the unknown user ids.
func TestClockActions(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t), 4)
	var calls []string
	f.s.o.ReadNow = func(_ context.Context, c string) error { calls = append(calls, "read "+c); return nil }
	f.s.o.SyncTime = func(_ context.Context, c string) error {
		calls = append(calls, "sync "+c)
		if c == "side" {
			return errors.New("connect: refused")
		}
		return nil
	}
	f.s.o.Owners = func() map[string]string { return map[string]string{"hall": "kaoqin-a"} }
	admin := f.client(t).login("admin")
	sup := f.client(t).login("sup")
	post := func(c *client, path string, v url.Values) int {
		v.Set("csrf", c.csrf)
		resp, _ := c.postForm(path, v)
		return resp.StatusCode
	}
	if _, body := admin.get("/clocks"); !strings.Contains(body, "kaoqin-a") || !strings.Contains(body, "立即读取") {
		t.Errorf("the clocks page lacks the owner or the actions")
	}
	if code := post(sup, "/clocks/hall/read", url.Values{}); code != http.StatusForbidden {
		t.Errorf("a supervisor reading a clock: got %d, want 403", code)
	}
	for _, tc := range []struct {
		path string
		now  time.Time
		want int
	}{
		{"/clocks/hall/read", testNow, 303},
		{"/clocks/hall/sync", testNow, 303},
		{"/clocks/side/sync", testNow, http.StatusBadGateway},
		{"/clocks/hall/sync", time.Date(2026, 7, 15, 8, 40, 0, 0, storetest.Location), http.StatusConflict},
		{"/clocks/nowhere/read", testNow, 404},
	} {
		f.s.o.Now = func() time.Time { return tc.now }
		if code := post(admin, tc.path, url.Values{}); code != tc.want {
			t.Errorf("%s at %s: got %d, want %d", tc.path, tc.now.Format("15:04"), code, tc.want)
		}
	}
	if strings.Join(calls, ",") != "read hall,sync hall,sync side" {
		t.Errorf("calls: %v", calls)
	}
	f.s.o.Now = func() time.Time { return testNow }
	if _, err := f.st.InsertPunches(ctx, []store.Punch{{Clock: "hall", UserID: "77", Time: wall("2026-07-15 08:10:00")}}, nil); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		v    url.Values
		want int
	}{
		{url.Values{"clock": {""}, "clock_user_id": {"77"}, "staff_id": {"S0002"}}, 422},
		{url.Values{"clock": {"roof"}, "clock_user_id": {"77"}, "staff_id": {"S0002"}}, 422},
		{url.Values{"clock": {"hall"}, "clock_user_id": {""}, "staff_id": {"S0002"}}, 422},
		{url.Values{"clock": {"hall"}, "clock_user_id": {"78"}, "staff_id": {"S0002"}}, 422},
		{url.Values{"clock": {"hall"}, "clock_user_id": {"77"}, "staff_id": {"S9999"}}, 422},
		{url.Values{"clock": {"hall"}, "clock_user_id": {"77"}, "staff_id": {"S0002"}}, 303},
	} {
		if code := post(admin, "/clocks/enroll", tc.v); code != tc.want {
			t.Errorf("enroll %v: got %d, want %d", tc.v, code, tc.want)
		}
	}
}

package web

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kaoqin/kaoqin/internal/store/storetest"
)

// BenchmarkTodayPage500 serves today's page for 500 staff (125 windows) from SQLite, the cache
// cleared before every request so each one reads the roster, enrollments, results and clock reads
// and builds and renders the status: the cost of the first client of each minute.
// Target: 50 ms. Measured on the 2 shared cores of the dev machine, others busy: 21–25 ms/op cold,
// 1.1 ms/op warm (served from the day cache, the path of every client but the first).
// With the page of issue 15 (counts per segment and window, problems first, the clocks' health,
// the filters' lists): 28 cpu-ms/op cold, 7.6 MB and 139k allocs/op; 1.2 cpu-ms/op warm, 0.8 MB.
// cpu-ms/op is the process's CPU time per request, which is the server's time whatever the
// load: on the shared machine at load average 14 the wall clock read 111–145 ms/op cold.
func BenchmarkTodayPage500(b *testing.B) {
	f := newFixture(b, storetest.SQLite(b), 500)
	c := f.client(b).login("sup")
	cookie := c.hc.Jar.Cookies(mustURL(f.srv.URL))[0]
	srv := f.h
	run := func(b *testing.B, cold bool) {
		cpu0 := cpuTime()
		defer func() { b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/1000/float64(b.N), "cpu-ms/op") }()
		for b.Loop() {
			if cold {
				f.invalidate()
			}
			req := httptest.NewRequest("GET", "/today", nil)
			req.AddCookie(cookie)
			rec := httptest.NewRecorder()
			srv.ServeHTTP(rec, req)
			if rec.Code != 200 || !strings.Contains(rec.Body.String(), "员工S0500") {
				b.Fatalf("got %d", rec.Code)
			}
		}
	}
	b.Run("cold", func(b *testing.B) { run(b, true) })
	b.Run("warm", func(b *testing.B) { run(b, false) })
}

// BenchmarkLoad200 runs 200 concurrent clients on loopback, each logged in with a session of its
// own and asking for today's page and the today API back to back (10 rounds each, 4000
// requests), 500 staff on SQLite; it reports the p99 of each and fails over the target. A
// benchmark, not a test, so that `go test ./...` on a busy CI machine does not flake on it; run it
// with  go test -run XXX -bench Load200 -benchtime 1x ./internal/web  (skipped with -short).
// Target: p99 under 200 ms for each. Measured on the 2 shared cores of the dev machine: quiet,
// page p99 117 ms, API p99 83 ms (p50 39/34 ms); while another session's MariaDB and ingest tests
// held both cores (load average 6), page p99 ≈ 370 ms, API ≈ 350 ms.
func BenchmarkLoad200(b *testing.B) {
	if testing.Short() {
		b.Skip("load test skipped with -short")
	}
	const clients, rounds = 200, 10
	f := newFixture(b, storetest.SQLite(b), 500)
	tr := &http.Transport{MaxIdleConns: clients, MaxIdleConnsPerHost: clients}
	defer tr.CloseIdleConnections()
	cs := make([]*client, clients)
	for i := range cs {
		cs[i] = f.client(b)
		cs[i].hc.Transport = tr
		cs[i].login("sup")
	}
	paths := []string{"/today", "/api/v1/today"}
	for b.Loop() {
		lat, total, err := load(cs, paths, rounds)
		if err != nil {
			b.Fatal(err)
		}
		for i, p := range paths {
			ds := lat[i]
			slices.Sort(ds)
			p50, p99 := ds[len(ds)/2], ds[len(ds)*99/100]
			b.Logf("%s: %d requests, p50 %v, p99 %v, max %v (all %d requests in %v)", p, len(ds), p50.Round(time.Millisecond),
				p99.Round(time.Millisecond), ds[len(ds)-1].Round(time.Millisecond), clients*rounds*len(paths), total.Round(time.Millisecond))
			b.ReportMetric(float64(p99.Microseconds())/1000, strings.ReplaceAll(strings.Trim(p, "/"), "/", "_")+"-p99-ms")
			if p99 > 200*time.Millisecond {
				b.Errorf("%s: p99 %v, want under 200ms", p, p99)
			}
		}
	}
}

// cpuTime is the CPU time the process has used (user and system).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkDayCacheProbe asks the today API for 3,000 distinct dates with 500 staff, as any
// window head can: the day cache stays bounded and the heap flat. It reports the live heap after
// the first 300 dates and after all 3,000.
// Measured (load average 14 on the 2 shared cores): live heap 46.1 MB after 300 dates, 46.9 MB
// after 3,000 (64 entries kept; before the bound it grew by ~150 KB a date); 45 ms a date.
func BenchmarkDayCacheProbe(b *testing.B) {
	f := newFixture(b, storetest.SQLite(b), 500)
	c := f.client(b).login("sup")
	heap := func() float64 {
		var m runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&m)
		return float64(m.HeapAlloc) / (1 << 20)
	}
	for b.Loop() {
		var h300 float64
		for i := range 3000 {
			if i == 300 {
				h300 = heap()
			}
			d := testDate.Time().AddDate(0, 0, -i).Format("2006-01-02")
			if resp, _ := c.get("/api/v1/today?date=" + d); resp.StatusCode != 200 {
				b.Fatalf("date %s: %d", d, resp.StatusCode)
			}
		}
		h := heap()
		b.ReportMetric(h300, "heap300-MB")
		b.ReportMetric(h, "heap3000-MB")
		if n := f.s.days.size(); n > maxDayEntries {
			b.Errorf("cache entries: %d, want at most %d", n, maxDayEntries)
		}
		if h > h300+32 {
			b.Errorf("heap grew from %.1f MB to %.1f MB over 2,700 more dates", h300, h)
		}
	}
}

// load has every client ask for each path in turn, rounds times, all at once; it returns the
// latencies by path.
func load(cs []*client, paths []string, rounds int) ([][]time.Duration, time.Duration, error) {
	var mu sync.Mutex
	lat := make([][]time.Duration, len(paths))
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make(chan error, len(cs))
	for _, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for range rounds {
				for i, p := range paths {
					t0 := time.Now()
					resp, err := c.hc.Get(c.base + p)
					if err == nil {
						_, err = discard(resp)
						if resp.StatusCode != 200 {
							err = fmt.Errorf("%s: status %d", p, resp.StatusCode)
						}
					}
					d := time.Since(t0)
					if err != nil {
						errs <- err
						return
					}
					mu.Lock()
					lat[i] = append(lat[i], d)
					mu.Unlock()
				}
			}
		}()
	}
	t0 := time.Now()
	close(start)
	wg.Wait()
	total := time.Since(t0)
	close(errs)
	return lat, total, <-errs
}

package cli

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kaoqin/kaoqin/attendance"
	"github.com/kaoqin/kaoqin/internal/demo"
	"github.com/kaoqin/kaoqin/internal/store"
	"github.com/kaoqin/kaoqin/leave"
	"github.com/kaoqin/kaoqin/reports"
)

// The demo brings the product up and its monthly report says what the scenario played into the
// clocks: per staff member, the counts worked out from the plan alone (internal/demo), not by
// the engine.
func TestDemoReportMatchesWhatWasPlayed(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the whole demo")
	}
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errs syncBuffer
	ready := make(chan string, 1)
	d := &demoRun{e: &env{stdout: &out, stderr: &errs}, dataDir: filepath.Join(dir, "data"), outDir: filepath.Join(dir, "out"),
		listen: "127.0.0.1:0", dayPause: 50 * time.Millisecond, ready: func(url string) { ready <- url }}
	done := make(chan error, 1)
	began := time.Now()
	go func() { done <- d.run(ctx) }()
	var url string
	select {
	case url = <-ready:
	case err := <-done:
		t.Fatalf("demo ended before it was ready: %v\n%s%s", err, out.String(), errs.String())
	case <-time.After(90 * time.Second):
		t.Fatalf("demo not ready after 90 s:\n%s", out.String())
	}
	t.Logf("demo ready in %v", time.Since(began))

	// The printed login opens the dashboard.
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}
	resp, err := client.Post(url+"/api/v1/login", "application/json", strings.NewReader(`{"name":"demo","password":"kaoqin-demo"}`))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("demo login: %v %v", resp, err)
	}
	resp.Body.Close()
	resp, err = client.Get(url + "/")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("dashboard: %v %v", resp, err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(page), "社保业务") {
		t.Errorf("dashboard does not show the windows:\n%.2000s", page)
	}
	// The printed links land on the played month: a day of it with late, early and absent
	// findings, and the month page on it.
	landing := regexp.MustCompile(`dashboard  (http://\S+/today\?date=` + demo.Month + `-\d\d)`).FindStringSubmatch(out.String())
	if landing == nil || !strings.Contains(out.String(), "/month?month="+demo.Month) {
		t.Fatalf("printed links do not open %s:\n%s", demo.Month, out.String())
	}
	resp, err = client.Get(landing[1])
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("landing day: %v %v", resp, err)
	}
	page, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"迟到", "早退", "旷工"} {
		if !strings.Contains(string(page), want) {
			t.Errorf("landing day %s shows no %s", landing[1], want)
		}
	}

	st, err := store.Open(ctx, "sqlite", filepath.Join(dir, "data", "kaoqin.db"), store.Options{Location: shanghai})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rules := attendance.DefaultRules()
	month, _ := reports.ParseMonth(demo.Month)
	in, err := monthFromStore(ctx, st, &rules, month)
	if err != nil {
		t.Fatal(err)
	}
	rep := reports.BuildMonth(in)
	sc := demo.Generate(1)
	if len(rep.Rows) != len(sc.Staff) {
		t.Fatalf("report rows: got %d, want %d", len(rep.Rows), len(sc.Staff))
	}
	for _, row := range rep.Rows {
		ex, ok := sc.Expect[row.Staff.ID]
		if !ok {
			t.Errorf("report has unknown staff %s", row.Staff.ID)
			continue
		}
		got := row.Totals
		type pair struct {
			name      string
			got, want int
		}
		checks := []pair{
			{"segments due", got.SegmentsDue, ex.SegmentsDue},
			{"late", got.Late, ex.Late}, {"late minutes", got.LateMinutes, ex.LateMinutes},
			{"early", got.Early, ex.Early}, {"early minutes", got.EarlyMinutes, ex.EarlyMinutes},
			{"missing punches", got.MissingPunches, ex.MissingPunches},
			{"absent segments", got.AbsentSegments, ex.AbsentSegments},
			{"off post", got.OffPost, ex.OffPost},
			{"exempt", got.Exempt, ex.Exempt},
			{"unrecognised slips", got.UnrecognisedSlips, ex.UnrecognisedSlips},
			{"provisional", got.Provisional, 0},
		}
		for i, lt := range leave.Types {
			checks = append(checks, pair{"leave " + string(lt), got.LeaveSegments[i], ex.LeaveSegments[string(lt)]})
		}
		for _, c := range checks {
			if c.got != c.want {
				t.Errorf("%s %s: %s: got %d, want %d", row.Staff.ID, row.Staff.Name, c.name, c.got, c.want)
			}
		}
	}
	checkDemoFiles(t, d.outDir, sc)
	cancel()
	if err := <-done; err != nil && err != context.Canceled {
		t.Errorf("demo stop: %v", err)
	}

	// A second run reuses the data: nothing is entered twice, the report is the same.
	ctx2, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	d2 := &demoRun{e: &env{stdout: &out, stderr: &errs}, dataDir: d.dataDir, outDir: d.outDir,
		listen: "127.0.0.1:0", dayPause: 50 * time.Millisecond, ready: func(url string) { ready <- url }}
	go func() { done <- d2.run(ctx2) }()
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("second run ended: %v\n%s", err, errs.String())
	case <-time.After(90 * time.Second):
		t.Fatal("second run not ready")
	}
	slips, _ := st.LeaveSlips(ctx2, "", time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
	want := 0
	for _, day := range sc.Days {
		want += len(day.Slips)
	}
	if len(slips) != want {
		t.Errorf("slips after a second run: got %d, want %d", len(slips), want)
	}
	n, _ := st.CountPunches(ctx2, "")
	if n != int64(len(sc.Punches())) {
		t.Errorf("punches after a second run: got %d, want %d", n, len(sc.Punches()))
	}
	cancel2()
	<-done
}

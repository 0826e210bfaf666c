package web

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
	"github.com/xuri/excelize/v2"

	"github.com/kaoqin/kaoqin/internal/store"
	"github.com/kaoqin/kaoqin/internal/store/storetest"
)

// TestBrowserPages drives headless Chromium through the pages of the center's day (issue 15):
// today's counts and every staff member's state against the stored results, the window filter,
// a dead clock in red, a slip filed and withdrawn changing the day, an admin adding a staff
// member and a window head who then sees only that window, a password changed, and the month's
// XLSX opened and compared with the page. It writes a screenshot of each page at 1366×900 to
// $KAOQIN_SCREENSHOTS (kept out of git; a temporary directory without it).
func TestBrowserPages(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped with -short")
	}
	bin := chromiumPath()
	if bin == "" {
		t.Skip("chromium not installed (apt-get install -y chromium); browser test skipped")
	}
	f := newFixture(t, storetest.SQLite(t), 40)
	// An off-post patrol for S0002, so that the page shows that tint too.
	if _, err := f.st.AddPatrols(ctx, []store.PatrolRecord{{StaffID: "S0002", From: wall("2026-07-15 09:30:00"), To: wall("2026-07-15 10:05:00")}}, "test"); err != nil {
		t.Fatal(err)
	}
	f.recompute(t)
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			case <-f.woken:
				for {
					if n, err := f.worker.Step(ctx); err != nil || n == 0 {
						break
					}
				}
			}
		}
	}()
	defer func() { close(stop); <-done }()

	shots := os.Getenv("KAOQIN_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	} else if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	dl := t.TempDir()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(bin), chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("headless", true), chromedp.Flag("no-sandbox", true), chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true), chromedp.Flag("no-first-run", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true), chromedp.WindowSize(1366, 900),
		chromedp.Flag("lang", "zh-CN"),
	}
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	bctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	bctx, cancel = context.WithTimeout(bctx, 240*time.Second)
	defer cancel()
	base := f.srv.URL
	if err := chromedp.Do(bctx, chromedp.Navigate("about:blank"), chromedp.EmulateViewport(1366, 900)); err != nil {
		t.Fatal(err)
	}
	shot := func(name string) {
		t.Helper()
		png, err := chromedp.Run(bctx, chromedp.CaptureScreenshot())
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(shots, "page-"+name+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, c := context.WithTimeout(bctx, 20*time.Second)
		defer c()
		if err := chromedp.Do(sctx, steps...); err != nil {
			if png, err := chromedp.Run(bctx, chromedp.CaptureScreenshot()); err == nil {
				os.WriteFile(filepath.Join(shots, "page-failed.png"), png, 0o644)
			}
			t.Fatalf("%s: %v", what, err)
		}
	}
	eval := func(js string) string {
		t.Helper()
		s, err := chromedp.Run(bctx, chromedp.Evaluate[string](js))
		if err != nil {
			t.Fatalf("%s: %v", js, err)
		}
		return s
	}
	login := func(name, pw string) {
		t.Helper()
		do("log in as "+name,
			chromedp.Navigate(base+"/login"), chromedp.WaitVisible(chromedp.ID("login")),
			chromedp.SendKeys(chromedp.ID("name"), name), chromedp.SendKeys(chromedp.ID("password"), pw),
			chromedp.Click(chromedp.ID("login")), chromedp.WaitVisible(chromedp.CSS("nav")))
	}
	logout := func() {
		t.Helper()
		do("log out", chromedp.Click(chromedp.CSS(`nav form button`)), chromedp.WaitVisible(chromedp.ID("login")))
	}
	// rows reads every staff row of the today page: id → "window am pm".
	rows := func() map[string]string {
		t.Helper()
		out := map[string]string{}
		for _, line := range strings.Split(eval(`[...document.querySelectorAll("tr[id^=staff-]")].map(r =>
			r.id.slice(6)+" "+r.dataset.window+" "+r.dataset.am+" "+r.dataset.pm).join("\n")`), "\n") {
			if id, rest, ok := strings.Cut(line, " "); ok {
				if _, dup := out[id]; dup {
					t.Errorf("staff %s is listed twice", id)
				}
				out[id] = rest
			}
		}
		return out
	}
	today := func(query string) map[string]string {
		t.Helper()
		do("today "+query, chromedp.Navigate(base+"/today"+query), chromedp.WaitVisible(chromedp.ID("summary")))
		return rows()
	}
	// waitState polls the today page until staff id's morning shows state.
	waitState := func(id, state string) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			got := today("")[id]
			if strings.HasSuffix(strings.TrimSuffix(got, " not_started"), " "+state) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s shows %q, want the morning %s", id, got, state)
			}
		}
	}

	// 1. Today: every staff member of the day, each in the state their stored result gives, and
	// the counts those results make.
	login("sup", testPassword)
	got := today("")
	shot("today")
	staff, err := f.st.ListStaff(ctx)
	if err != nil {
		t.Fatal(err)
	}
	stored, err := f.st.Results(ctx, testDate.Time(), testDate.Time(), "")
	if err != nil {
		t.Fatal(err)
	}
	want, counts := expectedDay(staff, stored)
	if len(got) != len(want) {
		t.Errorf("today lists %d staff, want %d", len(got), len(want))
	}
	for id, w := range want {
		if got[id] != w {
			t.Errorf("today %s: got %q, want %q", id, got[id], w)
		}
	}
	for k, n := range counts {
		if c := eval(`document.querySelector('#sum-am [data-count="` + k + `"]').textContent`); c != strconv.Itoa(n) {
			t.Errorf("summary %s: page %s, stored results %d", k, c, n)
		}
	}
	if s := eval(`document.querySelector("#sum-pm").textContent`); !strings.Contains(s, "未开始") {
		t.Errorf("the afternoon before its sign-in window: %q, want 未开始", s)
	}
	if c := eval(`getComputedStyle(document.querySelector('#staff-S0002 td.f-offpost')).outlineStyle`); c != "solid" {
		t.Errorf("S0002's off-post segment is not marked (outline %q)", c)
	}

	// 2. Filtering by window: the select submits itself.
	do("filter W02", chromedp.SetValue(chromedp.ID("f-window"), "W02"),
		chromedp.Evaluate[chromedp.Void](`document.getElementById("f-window")?.dispatchEvent(new Event("change"))`),
		chromedp.WaitReady(chromedp.CSS(`#f-window option[value="W02"][selected]`)))
	w02 := rows()
	shot("today-window")
	for id, w := range want {
		inW02 := strings.HasPrefix(w, "W02 ")
		if _, ok := w02[id]; ok != inW02 {
			t.Errorf("filtered by W02: %s listed %v, want %v", id, ok, inW02)
		}
	}

	// 3. A dead clock shows 故障 in red on the clocks page and on today's.
	f.metrics.Up.WithLabelValues("hall").Set(0)
	f.metrics.ReadErrors.WithLabelValues("hall", "timeout").Add(15)
	f.s.clockHealth.expire() // the today page's view of the clocks is up to dayTTL old
	do("clocks", chromedp.Navigate(base+"/clocks"), chromedp.WaitVisible(chromedp.ID("clocks")))
	shot("clocks")
	if s := eval(`document.querySelector("#clock-hall .badge").textContent`); s != "故障" {
		t.Errorf("a dead clock's state: %q, want 故障", s)
	}
	if c := eval(`getComputedStyle(document.querySelector("#clock-hall .badge")).backgroundColor`); c != "rgb(198, 40, 40)" {
		t.Errorf("a dead clock's badge: background %s, want red", c)
	}
	today("")
	if c := eval(`getComputedStyle(document.getElementById("health-hall")).backgroundColor`); c != "rgb(198, 40, 40)" {
		t.Errorf("the dead clock on the today page: background %s, want red", c)
	}
	f.metrics.Up.WithLabelValues("hall").Set(1)

	// 4. A slip filed in the form: the staff member named, the verdict in words, the day changed.
	do("file a slip", chromedp.Navigate(base+"/entry/leave?staff_id=S0005"), chromedp.WaitVisible(chromedp.ID("entry-form")),
		chromedp.SetValue(chromedp.ID("f-type"), "sick"),
		chromedp.SetValue(chromedp.ID("f-start"), "2026-07-15T08:30"), chromedp.SetValue(chromedp.ID("f-end"), "2026-07-15T18:00"),
		chromedp.SetValue(chromedp.ID("f-filed_at"), "2026-07-15T08:00"),
		chromedp.Click(chromedp.CSS(`input[name="approvals"][value="window_head"]`)),
		chromedp.Click(chromedp.CSS(`input[name="approvals"][value="center_leader"]`)),
		chromedp.Click(chromedp.ID("submit")), chromedp.WaitVisible(chromedp.ID("done")))
	shot("entry-saved")
	if s := eval(`document.getElementById("done").textContent`); !strings.Contains(s, "员工S0005") || !strings.Contains(s, "手续齐全") {
		t.Errorf("after saving: %q, want the staff member's name and 手续齐全", s)
	}
	waitState("S0005", "leave")

	// 5. Withdrawn from the list, the slip stops excusing: S0005 is missing again.
	do("the slips", chromedp.Navigate(base+"/entries?kind=leave"), chromedp.WaitVisible(chromedp.CSS(`tr[data-staff="S0005"] form.withdraw`)))
	shot("entries")
	if s := eval(`document.querySelector('tr[data-staff="S0005"] .verdict').textContent`); s != "手续齐全" {
		t.Errorf("the slip's verdict in the list: %q", s)
	}
	do("withdraw", chromedp.SendKeys(chromedp.CSS(`tr[data-staff="S0005"] input[name="reason"]`), "录错了人"),
		chromedp.Click(chromedp.CSS(`tr[data-staff="S0005"] form.withdraw button`)), chromedp.WaitVisible(chromedp.ID("notice")))
	waitState("S0005", "missing")
	do("audit", chromedp.Navigate(base+"/audit"), chromedp.WaitVisible(chromedp.ID("audit")))
	shot("audit")
	if s := eval(`document.getElementById("audit").textContent`); !strings.Contains(s, "原因：录错了人") {
		t.Errorf("the audit log lacks the withdrawal's reason")
	}
	do("404", chromedp.Navigate(base+"/no/such/page"), chromedp.WaitVisible(chromedp.ID("error")))
	shot("404")
	logout()

	// 6. An admin adds a staff member and a window head for W03; the head sees W03 only.
	login("admin", testPassword)
	do("add staff", chromedp.Navigate(base+"/admin/staff"), chromedp.WaitVisible(chromedp.ID("staff-form")),
		chromedp.SendKeys(chromedp.ID("a-staff_id"), "S0100"), chromedp.SendKeys(chromedp.ID("a-name"), "新来的"),
		chromedp.SendKeys(chromedp.ID("a-window"), "W03"), chromedp.SendKeys(chromedp.ID("a-unit"), "单位W03"),
		chromedp.Click(chromedp.ID("staff-save")), chromedp.WaitVisible(chromedp.ID("notice")))
	shot("admin-staff")
	do("add a window head", chromedp.Navigate(base+"/admin/users"), chromedp.WaitVisible(chromedp.ID("user-form")),
		chromedp.SendKeys(chromedp.ID("u-name"), "head3"), chromedp.SetValue(chromedp.ID("u-role"), "window_head"),
		chromedp.SetValue(chromedp.ID("u-window"), "W03"),
		chromedp.SendKeys(chromedp.ID("u-pw"), "head three pw"), chromedp.SendKeys(chromedp.ID("u-pw2"), "head three pw"),
		chromedp.Click(chromedp.ID("user-save")), chromedp.WaitVisible(chromedp.ID("notice")))
	shot("admin-users")
	do("windows", chromedp.Navigate(base+"/admin/windows"), chromedp.WaitVisible(chromedp.ID("windows")))
	shot("admin-windows")
	logout()
	login("head3", "head three pw")
	mine := today("")
	shot("today-head")
	if _, ok := mine["S0100"]; !ok {
		t.Errorf("the new window head does not see the new staff member: %v", mine)
	}
	for id, w := range mine {
		if !strings.HasPrefix(w, "W03 ") {
			t.Errorf("the head of W03 sees %s (%s)", id, w)
		}
	}

	// 7. The head changes their password and logs in with the new one.
	do("change the password", chromedp.Navigate(base+"/password"), chromedp.WaitVisible(chromedp.ID("password-form")))
	shot("password")
	do("change it", chromedp.SendKeys(chromedp.ID("p-current"), "head three pw"),
		chromedp.SendKeys(chromedp.ID("p-new"), "a better one"), chromedp.SendKeys(chromedp.ID("p-new2"), "a better one"),
		chromedp.Click(chromedp.ID("password-save")), chromedp.WaitVisible(chromedp.ID("login-notice")))
	login("head3", "a better one")

	// 8. The month's XLSX, downloaded and opened, has the totals the page shows.
	logout()
	login("hr", testPassword)
	do("the month", chromedp.Navigate(base+"/month?month=2026-07"), chromedp.WaitVisible(chromedp.ID("dl-xlsx")))
	shot("month")
	pageTotals := eval(`[...document.querySelectorAll("table.month tfoot td")].map(td => td.textContent.trim()).join(" ")`)
	do("download", chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Call(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
			Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: dl})
		return err
	}), chromedp.Click(chromedp.ID("dl-xlsx")))
	file := waitDownload(t, dl, ".xlsx")
	x, err := excelize.OpenFile(file)
	if err != nil {
		t.Fatalf("open the downloaded XLSX: %v", err)
	}
	defer x.Close()
	sheetTotals := xlsxTotals(t, x)
	// The page shows fewer columns than the workbook, in the same order: each of its totals must
	// be the workbook's, in turn.
	pt := numbers(pageTotals)
	if len(pt) < 8 || !subsequence(pt, sheetTotals) {
		t.Errorf("totals: page %v, XLSX %v", pt, sheetTotals)
	}
	if n := numbers(eval(`document.querySelector("table.month tfoot th").textContent`)); len(n) != 1 || !slices.Contains(sheetTotals, n[0]) {
		t.Errorf("staff in the totals: page %v, XLSX %v", n, sheetTotals)
	}
}

// expectedDay is, from the stored results of testNow's morning (the afternoon has not begun),
// each staff member's row as the today page should show it ("window am pm") and the morning's
// counts by the summary's names.
func expectedDay(staff []store.Staff, results []store.SegmentResult) (map[string]string, map[string]int) {
	byID := map[string]store.SegmentResult{}
	for _, r := range results {
		if r.Segment == "am" {
			byID[r.StaffID] = r
		}
	}
	rows := map[string]string{}
	counts := map[string]int{"due": 0, "signed_in": 0, "late": 0, "not_in": 0, "leave": 0, "exempt": 0, "off_post": 0}
	for _, st := range staff {
		if !st.Active {
			continue
		}
		counts["due"]++
		r, ok := byID[st.StaffID]
		f := ";" + r.Findings + ";"
		var state string
		switch {
		case !ok:
			state = "no_result"
		case strings.Contains(f, ";LEAVE;"):
			state = "leave"
			counts["leave"]++
		case r.SignIn != "" && strings.Contains(f, ";LATE;") && r.LateMinutes > 0:
			state = "late"
			counts["late"]++
			counts["signed_in"]++
		case r.SignIn != "":
			state = "signed_in"
			counts["signed_in"]++
		case strings.Contains(f, ";EXEMPT;") && !strings.Contains(f, ";MISSING_IN;") && !strings.Contains(f, ";ABSENT;"):
			state = "exempt"
			counts["exempt"]++
		default:
			state = "missing" // at 10:40 the sign-in window has closed, the sign-out window not
			counts["not_in"]++
		}
		if strings.Contains(f, ";OFF_POST;") {
			counts["off_post"]++
		}
		rows[st.StaffID] = st.Window + " " + state + " not_started"
	}
	return rows, counts
}

func waitDownload(t *testing.T, dir, ext string) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if strings.HasSuffix(e.Name(), ext) {
				p := filepath.Join(dir, e.Name())
				if b, err := os.ReadFile(p); err == nil && len(b) > 4 && string(b[:2]) == "PK" {
					return p
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s downloaded into %s (%v)", ext, dir, entries)
		}
		time.Sleep(100 * time.Millisecond) // polling a download with a deadline: no event to wait on in the file system
	}
}

// subsequence tells whether the numbers of sub appear in all in order (as numbers: "40" is "40.0").
func subsequence(sub, all []string) bool {
	i := 0
	for _, a := range all {
		if i < len(sub) {
			x, _ := strconv.ParseFloat(sub[i], 64)
			y, _ := strconv.ParseFloat(a, 64)
			if x == y {
				i++
			}
		}
	}
	return i == len(sub)
}

var numberRE = regexp.MustCompile(`-?\d+(?:\.\d+)?`)

func numbers(s string) []string { return numberRE.FindAllString(s, -1) }

// xlsxTotals finds the totals row (合计) of the workbook's first sheet and returns its numbers.
func xlsxTotals(t *testing.T, x *excelize.File) []string {
	t.Helper()
	rows, err := x.GetRows(x.GetSheetList()[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if len(r) > 0 && strings.Contains(strings.Join(r, ""), "合计") {
			var out []string
			for _, c := range r {
				if strings.Contains(c, "合计") {
					continue
				}
				out = append(out, numbers(c)...)
			}
			return out
		}
	}
	t.Fatalf("no 合计 row in the first sheet")
	return nil
}

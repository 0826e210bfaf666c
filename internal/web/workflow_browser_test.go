package web

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/kaoqin/kaoqin/attendance"
	"github.com/kaoqin/kaoqin/internal/store"
	"github.com/kaoqin/kaoqin/internal/store/storetest"
	"github.com/kaoqin/kaoqin/workflow"
)

// workflowFixture is the browser fixture with the approval workflow on: S0013 alone at window
// W09, and the accounts of the whole path (staff zs = S0002 at W01, the center leader, the unit
// leader of 单位W01, staff s13 = S0013).
func workflowFixture(t *testing.T) *fixture {
	f := newFixture(t, storetest.SQLite(t), 12)
	staff, err := f.st.ListStaff(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var roster []store.RosterEntry
	for _, s := range staff {
		roster = append(roster, store.RosterEntry{Staff: s})
	}
	roster = append(roster, store.RosterEntry{Staff: store.Staff{StaffID: "S0013", Name: "员工S0013", Window: "W09", Unit: "单位W09", Active: true},
		Enrollments: []store.Enrollment{{Clock: "hall", UserID: "13", StaffID: "S0013"}}})
	if _, err := f.st.ImportStaff(ctx, roster, "test"); err != nil {
		t.Fatal(err)
	}
	for _, u := range []store.User{{Name: "zs", Role: store.RoleStaff, StaffID: "S0002"}, {Name: "lead", Role: store.RoleCenterLeader},
		{Name: "unit", Role: store.RoleUnitLeader, Unit: "单位W01"}, {Name: "s13", Role: store.RoleStaff, StaffID: "S0013"}} {
		u.PasswordHash = testHash
		if err := f.st.AddUser(ctx, u, "test"); err != nil {
			t.Fatal(err)
		}
	}
	rules := f.rules
	f.s.o.Workflow = &workflow.Service{Store: f.st, Rules: func() *attendance.Rules { return rules }, Wake: f.s.o.Wake}
	return f
}

// TestBrowserWorkflow drives headless Chromium through the approval workflow (issue 17): a staff
// member files a 2-day personal leave at a window of four; the window head, the center leader and
// the unit leader with the stamp approve it in turn; the two days then show 请假（事假）. A
// 45-minute absence at a one-person window goes to the center leader alone and, with no
// substitute, is OFF_POST. A leave filed after it began is refused recognition, with the reason.
// With KAOQIN_SCREENSHOTS set, the pages are saved there as PNG.
func TestBrowserWorkflow(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped with -short")
	}
	bin := chromiumPath()
	if bin == "" {
		t.Skip("chromium not installed (apt-get install -y chromium); browser test skipped")
	}
	f := workflowFixture(t)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			case <-f.woken:
				for {
					n, err := f.worker.Step(ctx)
					if err != nil || n == 0 {
						break
					}
				}
			}
		}
	}()
	defer func() { close(stop); <-done }()

	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(bin), chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("headless", true), chromedp.Flag("no-sandbox", true), chromedp.Flag("disable-gpu", true),
		chromedp.Flag("no-first-run", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true), chromedp.WindowSize(1300, 900),
	}
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	bctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	bctx, cancel = context.WithTimeout(bctx, 150*time.Second)
	defer cancel()
	base := f.srv.URL
	// The browser starts on bctx, so that the per-step timeouts below do not end it.
	if err := chromedp.Do(bctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatal(err)
	}
	shot := func(name string) {
		t.Helper()
		dir := os.Getenv("KAOQIN_SCREENSHOTS")
		if dir == "" {
			return
		}
		png, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(dir, "workflow-"+name+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(bctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return s
	}
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, c := context.WithTimeout(bctx, 20*time.Second)
		defer c()
		if err := chromedp.Do(sctx, steps...); err != nil {
			if dir := os.Getenv("KAOQIN_SCREENSHOTS"); dir != "" {
				if png, err := chromedp.Run(bctx, chromedp.FullScreenshot(100)); err == nil {
					os.WriteFile(filepath.Join(dir, "workflow-failed.png"), png, 0o644)
				}
			}
			t.Fatalf("%s: %v", what, err)
		}
	}
	login := func(name string) {
		t.Helper()
		do("log out", chromedp.Navigate(base+"/login"), chromedp.WaitVisible(chromedp.ID("login")))
		if _, err := chromedp.Run(bctx, chromedp.Evaluate[bool](`document.cookie = "kaoqin_session=; Max-Age=0"; true`)); err != nil {
			t.Fatal(err)
		}
		do("log in as "+name,
			chromedp.Navigate(base+"/login"),
			chromedp.WaitVisible(chromedp.ID("login")),
			chromedp.SendKeys(chromedp.ID("name"), name),
			chromedp.SendKeys(chromedp.ID("password"), testPassword),
			chromedp.Click(chromedp.ID("login")),
			chromedp.WaitVisible(chromedp.CSS("nav")),
		)
	}
	fileLeave := func(typ, start, end, reason string) int64 {
		t.Helper()
		do("file a leave request",
			chromedp.Navigate(base+"/self/new/leave"),
			chromedp.WaitVisible(chromedp.ID("self-form")),
			chromedp.SetValue(chromedp.ID("f-type"), typ),
			chromedp.SendKeys(chromedp.ID("f-start"), start),
			chromedp.SendKeys(chromedp.ID("f-end"), end),
			chromedp.SendKeys(chromedp.ID("f-reason"), reason),
			chromedp.Click(chromedp.ID("submit")),
			chromedp.WaitVisible(chromedp.ID("done")),
		)
		var id int64
		if _, err := fmt.Sscan(text("#done-link"), &id); err != nil {
			t.Fatalf("request id: %v", err)
		}
		return id
	}
	decide := func(who string, id int64, stamp bool, wantState string) {
		t.Helper()
		login(who)
		do(who+" opens the queue", chromedp.Navigate(base+"/approvals"), chromedp.WaitVisible(chromedp.ID(fmt.Sprintf("open-%d", id))))
		shot("queue-" + who)
		steps := []chromedp.Action[chromedp.Void]{chromedp.Click(chromedp.ID(fmt.Sprintf("open-%d", id))), chromedp.WaitVisible(chromedp.ID("decide-form")),
			chromedp.SendKeys(chromedp.ID("f-comment"), "同意")}
		if stamp {
			steps = append(steps, chromedp.Click(chromedp.ID("f-stamp")))
		}
		steps = append(steps, chromedp.Click(chromedp.ID("approve")), chromedp.WaitVisible(chromedp.ID("done")))
		do(who+" approves", steps...)
		if got := text("#state"); !strings.Contains(got, wantState) {
			q, _ := f.st.GetRequest(ctx, id)
			t.Fatalf("after %s: state %q, want %q (request %+v)", who, got, wantState, q)
		}
	}
	// dayShows polls the staff member's own page until day's segment shows want.
	dayShows := func(day, seg, want string) string {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			do("open my month", chromedp.Navigate(base+"/self?month=2026-07"), chromedp.WaitVisible(chromedp.ID("my-days")))
			got := text("#day-" + day + "-" + seg)
			if strings.Contains(got, want) {
				return got
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s %s shows %q, want %q", day, seg, got, want)
			}
		}
	}

	// 1. A 2-day personal leave at W01 (four staff): window head → center leader → unit leader.
	login("zs")
	id := fileLeave("personal", "2026-07-16 08:30", "2026-07-17 18:00", "家中有事")
	if got := text("#done"); !strings.Contains(got, "窗口负责人审批 → 中心分管领导审批 → 窗口单位领导审批并盖章") {
		t.Fatalf("route of a 2-day leave: %q", got)
	}
	shot("filed")
	decide("head", id, false, "等待中心分管领导审批")
	decide("lead", id, false, "等待窗口单位领导审批并盖章")
	// The unit leader must confirm the stamp.
	login("unit")
	do("unit leader without the stamp", chromedp.Navigate(base+fmt.Sprintf("/approvals/%d", id)), chromedp.WaitVisible(chromedp.ID("decide-form")),
		chromedp.Click(chromedp.ID("approve")), chromedp.WaitVisible(chromedp.ID("error")))
	if got := text("#error"); !strings.Contains(got, "公章") {
		t.Fatalf("approval without the stamp: %q", got)
	}
	decide("unit", id, true, "已认可")
	shot("recognised")
	login("zs")
	for _, day := range []string{"2026-07-16", "2026-07-17"} {
		for _, seg := range []string{"上午", "下午"} {
			dayShows(day, seg, "请假（事假）")
		}
	}
	shot("self-leave")

	// 2. 45 minutes away from the one-person window W09, no substitute: the center leader alone;
	// recognised as approved, yet OFF_POST (R16).
	login("s13")
	id = fileLeave("temporary", "2026-07-16 09:00", "2026-07-16 09:45", "去单位取材料")
	if got := text("#done"); !strings.Contains(got, "审批流程：中心分管领导审批。") || !strings.Contains(got, "脱岗") {
		t.Fatalf("route of 45 min at a one-person window: %q", got)
	}
	decide("lead", id, false, "已认可")
	if got := text("#verdict"); !strings.Contains(got, "脱岗") {
		t.Fatalf("verdict: %q, want the OFF_POST reason", got)
	}
	login("s13")
	dayShows("2026-07-16", "上午", "脱岗")
	shot("self-offpost")

	// 3. Filed at 10:40 for a leave that began at 08:30, no phone notice: every approval given,
	// still refused recognition, with the reason.
	login("zs")
	id = fileLeave("personal", "2026-07-15 08:30", "2026-07-15 12:00", "身体不适")
	if got := text("#done"); !strings.Contains(got, "逾期提交") {
		t.Fatalf("late filing not shown as such: %q", got)
	}
	decide("head", id, false, "等待中心分管领导审批")
	decide("lead", id, false, "不予认可")
	if got := text("#verdict"); !strings.Contains(got, "事后备案不予认可") {
		t.Fatalf("late filing's verdict: %q", got)
	}
	shot("late-refused")
	login("zs")
	got := dayShows("2026-07-15", "上午", "请假未认可")
	if !strings.Contains(got, "事后备案不予认可") {
		t.Errorf("the day's evidence does not say why: %q", got)
	}
	shot("self-late")
}

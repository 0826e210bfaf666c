package web

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"

	"github.com/kaoqin/kaoqin/internal/store/storetest"
)

// chromiumPath finds Debian's chromium (or KAOQIN_CHROMIUM); "" when there is none.
func chromiumPath() string {
	if p := os.Getenv("KAOQIN_CHROMIUM"); p != "" {
		return p
	}
	for _, p := range []string{"/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	return ""
}

// TestBrowser drives headless Chromium: log in, read today's page, file a leave slip for a staff
// member with no sign-in and see the day change to leave, download the monthly XLSX.
func TestBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped with -short")
	}
	bin := chromiumPath()
	if bin == "" {
		t.Skip("chromium not installed (apt-get install -y chromium); browser test skipped")
	}
	f := newFixture(t, storetest.SQLite(t), 12)
	// The daemon's worker recomputes when woken; here a goroutine does it on each wake.
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

	dl := t.TempDir()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(bin), chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("headless", true), chromedp.Flag("no-sandbox", true), chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true), chromedp.Flag("no-first-run", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
	}
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	bctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	bctx, cancel = context.WithTimeout(bctx, 90*time.Second)
	defer cancel()

	base := f.srv.URL
	readS0005 := func() string {
		t.Helper()
		// Ready, not visible: a staff member without problems is folded away.
		if err := chromedp.Do(bctx, chromedp.Navigate(base+"/today"), chromedp.WaitReady(chromedp.ID("staff-S0005"))); err != nil {
			t.Fatalf("today page: %v", err)
		}
		txt, err := chromedp.Run(bctx, chromedp.Evaluate[string](`document.getElementById("staff-S0005").textContent`))
		if err != nil {
			t.Fatalf("today page: %v", err)
		}
		return txt
	}
	err := chromedp.Do(bctx,
		chromedp.Navigate(base+"/today"),
		chromedp.WaitVisible(chromedp.ID("login")),
		chromedp.SendKeys(chromedp.ID("name"), "sup"),
		chromedp.SendKeys(chromedp.ID("password"), testPassword),
		chromedp.Click(chromedp.ID("login")),
		chromedp.WaitVisible(chromedp.ID("staff-S0005")),
	)
	if err != nil {
		t.Fatalf("log in: %v", err)
	}
	today := readS0005()
	if !strings.Contains(today, "签到缺卡") {
		t.Fatalf("S0005 has no punch: got %q, want 签到缺卡", today)
	}

	err = chromedp.Do(bctx,
		chromedp.Navigate(base+"/entry/leave?staff_id=S0005"),
		chromedp.WaitVisible(chromedp.ID("entry-form")),
		chromedp.SetValue(chromedp.ID("f-type"), "sick"),
		// Native date-and-time inputs: the value is set as the browser's picker sets it.
		chromedp.SetValue(chromedp.ID("f-start"), "2026-07-15T08:30"),
		chromedp.SetValue(chromedp.ID("f-end"), "2026-07-15T18:00"),
		chromedp.SetValue(chromedp.ID("f-filed_at"), "2026-07-15T08:00"),
		chromedp.Click(chromedp.CSS(`input[name="approvals"][value="window_head"]`)),
		chromedp.Click(chromedp.CSS(`input[name="approvals"][value="center_leader"]`)),
		chromedp.Click(chromedp.CSS(`input[name="approvals"][value="hospital_cert"]`)),
		chromedp.Click(chromedp.ID("submit")),
		chromedp.WaitVisible(chromedp.ID("done")),
	)
	if err != nil {
		t.Fatalf("file a leave slip: %v", err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(today, "请假（病假）") {
		if time.Now().After(deadline) {
			t.Fatalf("after the slip, S0005 shows %q, want 请假（病假）", today)
		}
		today = readS0005()
	}

	err = chromedp.Do(bctx,
		chromedp.Navigate(base+"/month?month=2026-07"),
		chromedp.WaitVisible(chromedp.ID("dl-xlsx")),
		chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			_, err := chromedp.Call(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
				Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: dl})
			return err
		}),
		chromedp.Click(chromedp.ID("dl-xlsx")),
	)
	if err != nil {
		t.Fatalf("download the month: %v", err)
	}
	// The browser takes the UTF-8 name of the Content-Disposition (filename*).
	want := filepath.Join(dl, "考勤月报-2026-07.xlsx")
	for {
		if b, err := os.ReadFile(want); err == nil && len(b) > 4 && string(b[:2]) == "PK" {
			break
		}
		if time.Now().After(deadline.Add(30 * time.Second)) {
			entries, _ := os.ReadDir(dl)
			t.Fatalf("no %s downloaded (directory holds %v)", want, entries)
		}
		time.Sleep(100 * time.Millisecond) // polling a download with a deadline: no event to wait on in the file system
	}
}

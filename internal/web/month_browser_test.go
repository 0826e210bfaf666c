package web

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"

	"github.com/kaoqin/kaoqin/internal/store/storetest"
)

// TestBrowserCloseConfirmation drives headless Chromium through closing a month: the button
// leads to a confirmation that shows the month's totals, the provisional segments and the clocks
// not read; a wrong month typed is refused; the right one closes the month. With
// KAOQIN_SCREENSHOTS set, the pages are saved there as PNG to look at.
func TestBrowserCloseConfirmation(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped with -short")
	}
	bin := chromiumPath()
	if bin == "" {
		t.Skip("chromium not installed (apt-get install -y chromium); browser test skipped")
	}
	st := storetest.SQLite(t)
	f := newFixture(t, st, 12)
	f.s.o.Now = func() time.Time { return testNow.AddDate(0, 1, 0) }
	f.s.o.Center = "某市政务服务中心"

	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(bin), chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("headless", true), chromedp.Flag("no-sandbox", true), chromedp.Flag("disable-gpu", true),
		chromedp.Flag("no-first-run", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true), chromedp.WindowSize(1400, 1000),
	}
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	bctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	bctx, cancel = context.WithTimeout(bctx, 90*time.Second)
	defer cancel()
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
		if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	base := f.srv.URL
	text := func(id string) string {
		t.Helper()
		s, err := chromedp.Run(bctx, chromedp.Text(chromedp.ID(id)))
		if err != nil {
			t.Fatalf("text of #%s: %v", id, err)
		}
		return s
	}
	err := chromedp.Do(bctx,
		chromedp.Navigate(base+"/month?month=2026-07"),
		chromedp.WaitVisible(chromedp.ID("login")),
		chromedp.SendKeys(chromedp.ID("name"), "hr"),
		chromedp.SendKeys(chromedp.ID("password"), testPassword),
		chromedp.Click(chromedp.ID("login")),
		chromedp.WaitVisible(chromedp.ID("close-start")),
	)
	if err != nil {
		t.Fatalf("log in and open the month: %v", err)
	}
	shot("month")
	// The workbook downloads under its Chinese name; the print page is the printable report.
	dl := t.TempDir()
	err = chromedp.Do(bctx,
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
	want := filepath.Join(dl, "考勤月报-2026-07.xlsx")
	for deadline := time.Now().Add(30 * time.Second); ; {
		if b, err := os.ReadFile(want); err == nil && len(b) > 4 && string(b[:2]) == "PK" {
			break
		}
		if time.Now().After(deadline) {
			entries, _ := os.ReadDir(dl)
			t.Fatalf("no %s downloaded (directory holds %v)", want, entries)
		}
		time.Sleep(100 * time.Millisecond) // polling a download with a deadline: no event to wait on in the file system
	}
	if err := chromedp.Do(bctx, chromedp.Navigate(base+"/month/2026-07/print.html?window=W02"), chromedp.WaitVisible(chromedp.CSS("div.signature"))); err != nil {
		t.Fatalf("print page: %v", err)
	}
	if got := text("month-title"); got != "某市政务服务中心 2026年7月考勤纪律月报 · W02" {
		t.Errorf("print page title: got %q", got)
	}
	shot("month-print")
	if err := chromedp.Do(bctx, chromedp.Navigate(base+"/month?month=2026-07"), chromedp.WaitVisible(chromedp.ID("close-start"))); err != nil {
		t.Fatalf("back to the month: %v", err)
	}
	if err := chromedp.Do(bctx, chromedp.Click(chromedp.ID("close-start")), chromedp.WaitVisible(chromedp.ID("close-confirm"))); err != nil {
		t.Fatalf("start closing: %v", err)
	}
	shot("month-confirm")
	if got := text("confirm-provisional"); !strings.Contains(got, "暂定时段：") || strings.Contains(got, "：0 个") {
		t.Errorf("confirmation: got %q, want the provisional segments counted", got)
	}
	if got := text("confirm-stale"); !strings.Contains(got, "hall") || !strings.Contains(got, "side") {
		t.Errorf("confirmation: got %q, want hall and side not read since the month ended", got)
	}
	// A wrong month typed: refused, nothing closed.
	if err := chromedp.Do(bctx, chromedp.SendKeys(chromedp.ID("close-confirm-month"), "2026-08"), chromedp.Click(chromedp.ID("close-month")),
		chromedp.WaitVisible(chromedp.ID("month-error"))); err != nil {
		t.Fatalf("confirm with a wrong month: %v", err)
	}
	if got := text("month-error"); !strings.Contains(got, "请在确认框中输入 2026-07") {
		t.Errorf("wrong month: got %q", got)
	}
	if closed, _ := st.IsClosed(ctx, "2026-07"); closed {
		t.Fatal("the month was closed with a wrong month typed")
	}
	// Read the clocks past the month's end, finalise, and close for real.
	for _, c := range []string{"hall", "side"} {
		if err := st.TouchClockRead(ctx, c, wall("2026-08-01 07:00:00")); err != nil {
			t.Fatal(err)
		}
	}
	f.worker = newWorker(f, testNow.AddDate(0, 1, 0))
	if _, err := f.worker.Finalize(ctx); err != nil {
		t.Fatal(err)
	}
	f.recompute(t)
	err = chromedp.Do(bctx,
		chromedp.Navigate(base+"/month?month=2026-07&close=1"),
		chromedp.WaitVisible(chromedp.ID("close-confirm")),
		chromedp.SendKeys(chromedp.ID("close-confirm-month"), "2026-07"),
		chromedp.Click(chromedp.ID("close-month")),
		chromedp.WaitVisible(chromedp.CSS("p.ok")),
	)
	if err != nil {
		t.Fatalf("confirm the closing: %v", err)
	}
	shot("month-closed")
	c, err := st.GetMonthClosing(ctx, "2026-07")
	if err != nil || c.ClosedBy != "hr" {
		t.Fatalf("closing: got %+v, %v, want closed by hr", c, err)
	}
	log, _ := st.AuditLog(ctx, 3)
	if len(log) == 0 || log[0].Action != "close" || log[0].Actor != "hr" {
		t.Errorf("audit of the closing: got %+v", log)
	}
}

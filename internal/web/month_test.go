package web

import (
	"archive/zip"
	"bytes"
	"net/url"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/kaoqin/kaoqin/internal/store/storetest"
)

// TestMonthScope: HR narrows the month page and its downloads to a unit or a window; a window
// head is held to their own window whatever they ask; the ZIP has a workbook per unit with that
// unit's staff only.
func TestMonthScope(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t), 12)
	f.s.o.Center = "某市政务服务中心"
	hr := f.client(t).login("hr")
	head := f.client(t).login("head")
	has := func(body string, ids ...string) string {
		var in []string
		for _, id := range []string{"S0001", "S0004", "S0005", "S0008", "S0009", "S0012"} {
			if strings.Contains(body, ">"+id+"<") || strings.Contains(body, id+",") {
				in = append(in, id)
			}
		}
		return strings.Join(in, " ")
	}
	cases := []struct {
		name string
		c    *client
		path string
		want string // staff shown, of S0001 S0004 (W01) S0005 S0008 (W02) S0009 S0012 (W03)
	}{
		{"hr, whole center", hr, "/month?month=2026-07", "S0001 S0004 S0005 S0008 S0009 S0012"},
		{"hr, one unit", hr, "/month?month=2026-07&unit=" + url.QueryEscape("单位W02"), "S0005 S0008"},
		{"hr, one window", hr, "/month?month=2026-07&window=W03", "S0009 S0012"},
		{"hr, unit and window that do not meet", hr, "/month?month=2026-07&unit=" + url.QueryEscape("单位W02") + "&window=W03", ""},
		{"window head asking for another unit", head, "/month?month=2026-07&unit=" + url.QueryEscape("单位W02"), "S0001 S0004"},
		{"hr, a window's sheet CSV", hr, "/month/2026-07/sheet.csv?window=W02", "S0005 S0008"},
		{"hr, a unit's summary CSV", hr, "/month/2026-07/report.csv?unit=" + url.QueryEscape("单位W01"), "S0001 S0004"},
		{"window head, the detail CSV of another window", head, "/month/2026-07/detail.csv?window=W03", "S0001 S0004"},
		{"hr, a window's print page", hr, "/month/2026-07/print.html?window=W01", "S0001 S0004"},
	}
	for _, c := range cases {
		resp, body := c.c.get(c.path)
		if resp.StatusCode != 200 {
			t.Errorf("%s: got %d", c.name, resp.StatusCode)
			continue
		}
		if got := has(body); got != c.want {
			t.Errorf("%s: staff shown %q, want %q", c.name, got, c.want)
		}
	}
	if _, body := hr.get("/month?month=2026-07&window=W03"); !strings.Contains(body, "某市政务服务中心 2026年7月考勤月报 · W03") {
		t.Errorf("the page's title does not name the center and the window")
	}
	resp, body := hr.get("/month/2026-07/report.xlsx?unit=" + url.QueryEscape("单位W02"))
	if cd := resp.Header.Get("Content-Disposition"); !strings.Contains(cd, `filename*=UTF-8''`+url.PathEscape("考勤月报-2026-07-单位W02.xlsx")) {
		t.Errorf("a unit's workbook: Content-Disposition %q", cd)
	}
	if x, err := excelize.OpenReader(strings.NewReader(body)); err != nil {
		t.Errorf("a unit's workbook: %v", err)
	} else if v, _ := x.GetCellValue("个人汇总", "A1"); v != "某市政务服务中心 2026年7月考勤纪律月报 · 单位W02 · 个人汇总" {
		t.Errorf("a unit's workbook: title %q", v)
	}
	resp, body = hr.get("/month/2026-07/units.zip")
	zr, err := zip.NewReader(bytes.NewReader([]byte(body)), int64(len(body)))
	if resp.StatusCode != 200 || err != nil {
		t.Fatalf("units.zip: %d %v", resp.StatusCode, err)
	}
	var names []string
	for _, zf := range zr.File {
		names = append(names, zf.Name)
	}
	if got := strings.Join(names, " "); got != "考勤月报-2026-07-单位W01.xlsx 考勤月报-2026-07-单位W02.xlsx 考勤月报-2026-07-单位W03.xlsx" {
		t.Errorf("units.zip holds %s", got)
	}
	if resp, _ := head.get("/month/2026-07/units.zip"); resp.StatusCode != 200 {
		t.Errorf("window head's units.zip: got %d", resp.StatusCode)
	}
	if resp, body := hr.get("/month/2026-07/print.html"); !strings.Contains(resp.Header.Get("Content-Security-Policy"), "style-src 'unsafe-inline'") ||
		strings.Contains(body, "<script") {
		t.Errorf("print page: CSP %q (its style must be allowed, no script)", resp.Header.Get("Content-Security-Policy"))
	}
}

// TestEntryInClosedMonthPage: a slip for a day of a closed month, entered on the page, is refused
// with 本月已结账，请用更正 and not stored.
func TestEntryInClosedMonthPage(t *testing.T) {
	st := storetest.SQLite(t)
	f := newFixture(t, st, 4)
	if err := st.CloseMonth(ctx, "2026-07", "hr"); err != nil {
		t.Fatal(err)
	}
	c := f.client(t).login("sup")
	_, body := c.postForm("/entry/leave", url.Values{"csrf": {c.csrf}, "staff_id": {"S0002"}, "type": {"sick"}, "start": {"2026-07-15T08:30"},
		"end": {"2026-07-15T18:00"}, "filed_at": {"2026-07-15 08:00"}, "approvals": {"window_head", "center_leader"}})
	if !strings.Contains(body, "2026-07 本月已结账，请用更正") {
		i := strings.Index(body, "<main>")
		t.Errorf("slip in a closed month: the page does not say 本月已结账，请用更正:\n%.1500s", body[max(i, 0):])
	}
	if slips, _ := st.LeaveSlips(ctx, "", wall("2026-07-01 00:00:00"), wall("2026-08-01 00:00:00")); len(slips) != 0 {
		t.Errorf("the refused slip is stored: %+v", slips)
	}
}

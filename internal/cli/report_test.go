package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func classifyFiles() []string {
	d := "testdata/classify/"
	return []string{"--staff", d + "staff.csv", "--punches", d + "punches.csv", "--leave", d + "leave.csv",
		"--patrol", d + "patrol.csv", "--failures", d + "failures.csv", "--manual", d + "manual.csv"}
}

// TestReportMonthFromFiles checks that `kaoqin report month` makes, from the classify files, the
// very report whose goldens package reports keeps.
func TestReportMonthFromFiles(t *testing.T) {
	dir := t.TempDir()
	out, detail := filepath.Join(dir, "m.csv"), filepath.Join(dir, "d.csv")
	args := append([]string{"report", "month", "--month", "2026-09", "--format", "csv", "--out", out, "--detail-out", detail}, classifyFiles()...)
	if code, _, stderr := run(t, args...); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	got, _ := os.ReadFile(out)
	want, err := os.ReadFile("../../reports/testdata/month-final.csv")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("report month --format csv differs from reports/testdata/month-final.csv:\n%s", got)
	}
	if d, _ := os.ReadFile(detail); !bytes.Contains(d, []byte("旷工")) {
		t.Errorf("detail CSV has no ABSENT row:\n%s", d)
	}
	for _, format := range []string{"xlsx", "html", "json"} {
		code, stdout, stderr := run(t, append([]string{"report", "month", "--month", "2026-09", "--format", format}, classifyFiles()...)...)
		if code != 0 || len(stdout) < 1000 {
			t.Errorf("--format %s: exit %d, %d bytes: %s", format, code, len(stdout), stderr)
		}
	}
}

func TestReportBadInput(t *testing.T) {
	bad := writeFile(t, "punches.csv", "staff_id,time\n1001,2026-09-01 25:00:00\n9999,2026-09-01 08:00:00\n")
	cases := []struct {
		args []string
		want []string
	}{
		{[]string{"report", "month", "--month", "2026-13", "--staff", "s", "--punches", "p"}, []string{"--month: bad month"}},
		{[]string{"report", "month", "--month", "2026-09", "--format", "pdf", "--punches", "p"}, []string{`--format "pdf"`, "--staff and --punches go together"}},
		{[]string{"report", "month", "--month", "2026-09", "--staff", "testdata/classify/staff.csv", "--punches", bad},
			[]string{bad + ":2:", bad + ":3:"}},
		{[]string{"report", "day", "--date", "2026-09-31", "--staff", "s", "--punches", "p"}, []string{"--date: bad date"}},
		{[]string{"report", "day", "--date", "2026-09-29", "--at", "18:00", "--staff", "s", "--punches", "p"}, []string{`--at "18:00"`}},
	}
	for _, c := range cases {
		code, stdout, stderr := run(t, c.args...)
		if code != 2 || stdout != "" {
			t.Errorf("%q: exit %d, stdout %q; want exit 2 and no output", c.args, code, stdout)
		}
		for _, w := range c.want {
			if !strings.Contains(stderr, w) {
				t.Errorf("%q: stderr %q lacks %q", c.args, stderr, w)
			}
		}
	}
}

func TestReportDayFromFiles(t *testing.T) {
	clocks := writeFile(t, "clocks.csv", "clock,last_read\nhall,2026-09-23 10:35:00\nannex,2026-09-23 07:50:00\n")
	code, stdout, stderr := run(t, append([]string{"report", "day", "--date", "2026-09-23", "--at", "2026-09-23 08:45", "--clocks", clocks}, classifyFiles()...)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	// At 08:45 the AM sign-in window is open; punches after 08:45 in the file do not count yet,
	// annex was not read since 08:00, and nobody has signed out.
	for _, w := range []string{"截至 2026-09-23 08:45", "未读取的打卡机：annex", "3003 赵磊  上午：08:15签到（暂定）"} {
		if !strings.Contains(stdout, w) {
			t.Errorf("day status lacks %q:\n%s", w, stdout)
		}
	}
	if strings.Contains(stdout, "签退") || strings.Contains(stdout, "下午") {
		t.Errorf("day status at 08:45 shows a sign-out or the afternoon:\n%s", stdout)
	}
}

func TestReportMonthFromDatabase(t *testing.T) {
	cfg := tempConfig(t, "sqlite")
	if code, _, stderr := run(t, "migrate", "--config", cfg); code != 0 {
		t.Fatalf("migrate: exit %d: %s", code, stderr)
	}
	code, stdout, stderr := run(t, "report", "month", "--config", cfg, "--month", "2026-09", "--format", "json")
	if code != 0 || !strings.Contains(stdout, `"month": "2026-09"`) || !strings.Contains(stdout, `"status": "open"`) {
		t.Fatalf("exit %d: %s\n%s", code, stderr, stdout)
	}
}

// TestReportMonthScope: --unit and --window narrow the report to their staff; --format sheet is
// the 考勤表 and zip a workbook per unit; a unit with no staff is a usage error.
func TestReportMonthScope(t *testing.T) {
	month := []string{"report", "month", "--month", "2026-09"}
	code, out, errs := run(t, append(append(month, "--format", "sheet", "--unit", "民政局"), classifyFiles()...)...)
	if code != 0 || !strings.Contains(out, "\n1001,王芳,") || !strings.Contains(out, "\n1002,李强,") || strings.Contains(out, "\n2001,") ||
		!strings.Contains(out, "25 五 中秋节") {
		t.Errorf("--unit 民政局 --format sheet: exit %d %s\n%s", code, errs, out)
	}
	code, out, errs = run(t, append(append(month, "--format", "csv", "--window", "税务"), classifyFiles()...)...)
	if code != 0 || !strings.Contains(out, "\n3001,") || strings.Contains(out, "\n1001,") {
		t.Errorf("--window 税务: exit %d %s\n%s", code, errs, out)
	}
	code, out, errs = run(t, append(append(month, "--format", "zip"), classifyFiles()...)...)
	if code != 0 || !strings.HasPrefix(out, "PK") || !strings.Contains(out, "考勤月报-2026-09-民政局.xlsx") {
		t.Errorf("--format zip: exit %d %s, %d bytes", code, errs, len(out))
	}
	if code, _, errs := run(t, append(append(month, "--unit", "不存在"), classifyFiles()...)...); code != 2 || !strings.Contains(errs, "no staff in unit") {
		t.Errorf("unknown unit: exit %d %s", code, errs)
	}
}

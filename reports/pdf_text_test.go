package reports

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The closed month's workbook printed by LibreOffice says what the workbook says: the PDF's text
// (pdftotext) holds the report's title, every staff member's name, and the 合计 line of the
// per-staff summary with the month's LATE count and minutes. A workbook whose cells LibreOffice
// cannot lay out, or an empty one, fails here, not only one that is not a PDF.
func TestXLSXPrintsItsContentInLibreOffice(t *testing.T) {
	soffice, err := exec.LookPath("soffice")
	if err != nil {
		t.Skip("soffice not found (apt-get install libreoffice-calc): the workbook is not printed with LibreOffice")
	}
	pdftotext, err := exec.LookPath("pdftotext")
	if err != nil {
		t.Skip("pdftotext not found (apt-get install poppler-utils): the printed workbook is not read back")
	}
	if testing.Short() {
		t.Skip("-short: LibreOffice takes seconds to start")
	}
	dir := t.TempDir()
	xlsx := filepath.Join(dir, "month.xlsx")
	rep := BuildMonth(monthCases(t)["closed"])
	var b bytes.Buffer
	if err := rep.WriteXLSX(&b); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(xlsx, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, soffice, "-env:UserInstallation=file://"+filepath.Join(dir, "profile"),
		"--headless", "--convert-to", "pdf", "--outdir", dir, xlsx).CombinedOutput()
	if err != nil {
		t.Fatalf("soffice: %v\n%s", err, out)
	}
	pdf := filepath.Join(dir, "month.pdf")
	text, err := exec.CommandContext(ctx, pdftotext, "-layout", pdf, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext %s: %v", pdf, err)
	}
	// Layout puts spaces between the characters of a wide cell; compare without them.
	flat := strings.Join(strings.Fields(string(text)), "")
	if title := strings.Join(strings.Fields(rep.title()), ""); !strings.Contains(flat, title) {
		t.Errorf("the title %q is not in the printed text:\n%.3000s", rep.title(), text)
	}
	if len(rep.Rows) == 0 {
		t.Fatal("the closed month has no staff rows")
	}
	for _, row := range rep.Rows {
		if !strings.Contains(flat, row.Staff.Name) {
			t.Errorf("staff %s %s is not in the printed text", row.Staff.ID, row.Staff.Name)
		}
	}
	// The 合计 line of 个人汇总: "合计 N人" then the totals, LATE count and minutes among them.
	found := false
	for _, line := range strings.Split(string(text), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || f[0] != "合计" || f[1] != strconv.Itoa(rep.Total.Staff)+"人" {
			continue
		}
		nums := strings.Join(f[2:], " ")
		want := strconv.Itoa(rep.Total.Late) + " " + strconv.Itoa(rep.Total.LateMinutes)
		if strings.Contains(" "+nums+" ", " "+want+" ") {
			found = true
			t.Logf("合计 line: %q", line)
			break
		}
		t.Logf("合计 line without LATE %s: %q", want, line)
	}
	if !found {
		t.Errorf("no 合计 line with %d人 and LATE %d / %d minutes in the printed text:\n%.4000s", rep.Total.Staff, rep.Total.Late, rep.Total.LateMinutes, text)
	}
}

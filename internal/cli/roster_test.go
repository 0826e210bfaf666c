package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/simplifiedchinese"
)

// TestImportRosterShapes: the roster as HR sends it (GBK with Chinese headers, XLSX), bad rows
// refused with FILE:LINE, and a window moved to another unit only with --move-windows.
func TestImportRosterShapes(t *testing.T) {
	cfg := tempConfig(t, "sqlite")
	if code, _, errs := run(t, "migrate", "--config", cfg); code != 0 {
		t.Fatal(errs)
	}
	gbk, err := simplifiedchinese.GBK.NewEncoder().String("工号,姓名,窗口,单位\r\n1001,张三,婚姻登记,民政局\r\n1002,李四,社保窗口,人社局\r\n")
	if err != nil {
		t.Fatal(err)
	}
	if code, out, errs := run(t, "import", "staff", "--config", cfg, writeFile(t, "staff-gbk.csv", gbk)); code != 0 || !strings.Contains(out, "2 added") {
		t.Fatalf("GBK roster: got %d %q %q", code, out, errs)
	}
	bad := writeFile(t, "bad.csv", "工号,姓名,窗口,单位\n1001,张三,婚姻登记,民政局\n1002,李\x1b[2J四,社保窗口,人社局\n1003,王五,婚姻登记,公安局\n")
	code, _, errs := run(t, "import", "staff", "--config", cfg, bad)
	for _, w := range []string{bad + ":3: column 2 (name) holds the control or formatting character U+001B",
		bad + `:4: window "婚姻登记" is under unit "民政局" on line 2 and under "公安局" here`} {
		if !strings.Contains(errs, w) {
			t.Errorf("bad rows: stderr lacks %q:\n%s", w, errs)
		}
	}
	if code != 2 {
		t.Errorf("bad rows: exit %d, want 2", code)
	}
	moved := writeFile(t, "moved.csv", "staff_id,name,window,unit\n1001,张三,婚姻登记,民政局\n1002,李四,社保窗口,医保局\n")
	code, _, errs = run(t, "import", "staff", "--config", cfg, moved)
	if want := moved + `:3: window "社保窗口" belongs to unit "人社局"; this row would move it to unit "医保局" (give --move-windows if it moves)`; code != 2 || !strings.Contains(errs, want) {
		t.Errorf("a window moved silently: got %d %q, want 2 and %q", code, errs, want)
	}
	if code, _, errs := run(t, "import", "staff", "--config", cfg, "--move-windows", moved); code != 0 {
		t.Errorf("--move-windows: got %d %q", code, errs)
	}
	f := excelize.NewFile()
	for i, r := range [][]any{{"工号", "姓名", "窗口", "单位"}, {"1001", "张三", "婚姻登记", "民政局"}, {"1002", "李四", "社保窗口", "医保局"}, {"1004", "赵六", "社保窗口"}} {
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		f.SetSheetRow("Sheet1", cell, &r)
	}
	var b bytes.Buffer
	if err := f.Write(&b); err != nil {
		t.Fatal(err)
	}
	x := writeFile(t, "staff.xlsx", b.String())
	code, _, errs = run(t, "import", "staff", "--config", cfg, x)
	if want := x + ":4: unit is empty"; code != 2 || !strings.Contains(errs, want) {
		t.Errorf("XLSX with an empty unit: got %d %q, want 2 and %q", code, errs, want)
	}
	f.SetCellValue("Sheet1", "D4", "医保局")
	b.Reset()
	f.Write(&b)
	if code, out, errs := run(t, "import", "staff", "--config", cfg, writeFile(t, "staff2.xlsx", b.String())); code != 0 || !strings.Contains(out, "1 added") {
		t.Errorf("XLSX roster: got %d %q %q", code, out, errs)
	}
	s := openForTest(t, cfg)
	st, err := s.GetStaff(context.Background(), "1004")
	if err != nil || st.Name != "赵六" || st.Unit != "医保局" {
		t.Errorf("staff from the XLSX: %+v %v", st, err)
	}
}

package csvio

import (
	"bytes"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/simplifiedchinese"
)

func gbk(t *testing.T, s string) []byte {
	t.Helper()
	b, err := simplifiedchinese.GBK.NewEncoder().Bytes([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func xlsx(t *testing.T, rows [][]any) []byte {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	for i, r := range rows {
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		if err := f.SetSheetRow("Sheet1", cell, &r); err != nil {
			t.Fatal(err)
		}
	}
	var b bytes.Buffer
	if err := f.Write(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestParseRoster reads the same roster in every shape HR sends it and gets the same staff.
func TestParseRoster(t *testing.T) {
	const zh = "工号,姓名,窗口,单位\nS001,张三,综合窗口,市场监管局\nS002,李四,不动产窗口,自然资源局\n"
	const en = "staff_id,name,window,unit\nS001,张三,综合窗口,市场监管局\nS002,李四,不动产窗口,自然资源局\n"
	want := []Staff{{Line: 2, ID: "S001", Name: "张三", Window: "综合窗口", Unit: "市场监管局"}, {Line: 3, ID: "S002", Name: "李四", Window: "不动产窗口", Unit: "自然资源局"}}
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"English header, UTF-8", []byte(en)},
		{"Chinese header, UTF-8", []byte(zh)},
		{"Chinese header, UTF-8 with BOM", append([]byte("\xEF\xBB\xBF"), zh...)},
		{"Chinese header, GBK", gbk(t, zh)},
		{"Chinese header, GBK, CRLF", gbk(t, strings.ReplaceAll(zh, "\n", "\r\n"))},
		{"kaoqin's own export, extra columns", []byte("工号,姓名,窗口,单位,应出勤(天),迟到\nS001,张三,综合窗口,市场监管局,21,0\nS002,李四,不动产窗口,自然资源局,21,1\n")},
		{"XLSX, Chinese header", xlsx(t, [][]any{{"工号", "姓名", "窗口", "单位"}, {"S001", "张三", "综合窗口", "市场监管局"}, {"S002", "李四", "不动产窗口", "自然资源局"}})},
		{"XLSX, trailing blank row", xlsx(t, [][]any{{"工号", "姓名", "窗口", "单位"}, {"S001", "张三", "综合窗口", "市场监管局"}, {"S002", "李四", "不动产窗口", "自然资源局"}, {"", ""}})},
	} {
		tab, err := ParseRoster("staff.csv", tc.data)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		got, ps := ParseStaff(tab)
		if len(ps) > 0 {
			t.Errorf("%s: %v", tc.name, ps)
			continue
		}
		if len(got) != len(want) {
			t.Errorf("%s: got %d staff, want %d", tc.name, len(got), len(want))
			continue
		}
		for i := range want {
			g := got[i]
			g.Clocks = nil
			if g.ID != want[i].ID || g.Name != want[i].Name || g.Window != want[i].Window || g.Unit != want[i].Unit || g.Line != want[i].Line {
				t.Errorf("%s: row %d: got %+v, want %+v", tc.name, i, g, want[i])
			}
		}
	}
}

// TestParseRosterBadRows: each bad input is refused with FILE:LINE and what is wrong.
func TestParseRosterBadRows(t *testing.T) {
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"NUL in a name", []byte("工号,姓名,窗口,单位\nS001,张\x00三,W,U\n"), "staff.csv:2: column 2 (name) holds the control or formatting character U+0000"},
		{"ESC in a name", []byte("工号,姓名,窗口,单位\nS001,ok,W,U\nS002,\x1b[31m红,W,U\n"), "staff.csv:3: column 2 (name) holds the control or formatting character U+001B"},
		{"CR LF inside a quoted name", []byte("工号,姓名,窗口,单位\nS001,\"张\r\n三\",W,U\n"), "staff.csv:2: column 2 (name) holds the control or formatting character U+000A"},
		{"right-to-left override", []byte("工号,姓名,窗口,单位\nS001,abc\u202edef,W,U\n"), "staff.csv:2: column 2 (name) holds the control or formatting character U+202E"},
		{"bidi isolate in a window", []byte("工号,姓名,窗口,单位\nS001,张三,\u2067W\u2069,U\n"), "staff.csv:2: column 3 (window) holds the control or formatting character U+2067"},
		{"zero-width space in an id", []byte("工号,姓名,窗口,单位\nS0\u200b01,张三,W,U\n"), "staff.csv:2: column 1 (staff_id) holds the control or formatting character U+200B"},
		{"missing column", []byte("工号,姓名,窗口\nS001,张三,W\n"), `staff.csv:1: missing column "unit" in the header`},
		{"not text", []byte{0xff, 0xfe, 0x00, 0x41}, "staff.csv: is UTF-16 text"},
		{"XLSX with a control character", xlsx(t, [][]any{{"工号", "姓名", "窗口", "单位"}, {"S001", "张\x07三", "W", "U"}}), "staff.csv:2: column 2 (name) holds the control or formatting character U+FFFD"}, // excelize stores the BEL as U+FFFD,
		{"broken XLSX", []byte("PK\x03\x04 not a zip"), "staff.csv: is not a readable XLSX workbook"},
		{"empty", []byte(""), "staff.csv:1: empty file"},
	} {
		_, err := ParseRoster("staff.csv", tc.data)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", tc.name, err, tc.want)
		}
	}
}

func FuzzParseRoster(f *testing.F) {
	f.Add([]byte("工号,姓名,窗口,单位\nS001,张三,W,U\n"))
	f.Add([]byte("staff_id,name,window,unit\nS001,\x1b,W,U\n"))
	f.Add([]byte("\xb9\xa4\xba\xc5,\xd0\xd5\xc3\xfb,\xb4\xb0\xbf\xda,\xb5\xa5\xce\xbb\nS1,a,b,c\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		tab, err := ParseRoster("f.csv", data)
		if err != nil {
			return
		}
		for _, r := range tab.Rows {
			for _, c := range []string{"staff_id", "name", "window", "unit"} {
				if ch, bad := ForbiddenRune(r.Get(c)); bad {
					t.Fatalf("row %d column %s kept %U", r.Line, c, ch)
				}
			}
		}
	})
}

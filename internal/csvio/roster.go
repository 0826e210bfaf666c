package csvio

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/simplifiedchinese"
)

// Staff rosters come from HR's spreadsheets as often as from kaoqin's own export: a CSV in UTF-8
// (with or without a byte-order mark) or in GBK/GB18030 (what Excel on Chinese Windows saves),
// or the XLSX itself, with English or Chinese column names (工号,姓名,窗口,单位 is the header of
// kaoqin's own CSV export). Values holding control or bidirectional-formatting characters are
// refused: a name with an ESC, a CR or a right-to-left override shows as something else on the
// pages and in the reports than what it is.

// rosterAliases maps the Chinese column names to the roster's columns.
var rosterAliases = map[string]string{
	"工号": "staff_id", "人员编号": "staff_id", "编号": "staff_id",
	"姓名": "name",
	"窗口": "window", "窗口名称": "window",
	"单位": "unit", "窗口单位": "unit", "所属单位": "unit",
	"打卡机用户号": "clock_user_ids", "考勤机用户号": "clock_user_ids",
	"入职日期": "start_date", "开始日期": "start_date", "起始日期": "start_date",
	"离职日期": "end_date", "结束日期": "end_date", "截止日期": "end_date",
}

// ReadRoster reads a roster file, CSV or XLSX (by its content), in any of the encodings above,
// and checks that it has StaffColumns.
func ReadRoster(path string) (*Table, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, Problems{{File: path, Msg: fmt.Sprintf("cannot read: %v", errors.Unwrap(err))}}
	}
	return ParseRoster(path, data)
}

// ParseRoster is ReadRoster on data read already; file names it in messages.
func ParseRoster(file string, data []byte) (*Table, error) {
	var recs [][]string
	var lines []int
	sheet := bytes.HasPrefix(data, []byte("PK\x03\x04"))
	if sheet {
		var err error
		if recs, lines, err = xlsxRecords(file, data); err != nil {
			return nil, err
		}
	} else {
		text, err := decodeText(file, data)
		if err != nil {
			return nil, err
		}
		r := csv.NewReader(strings.NewReader(text))
		r.FieldsPerRecord = -1
		for {
			rec, err := r.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				return nil, Problems{csvProblem(file, err)}
			}
			line, _ := r.FieldPos(0)
			recs, lines = append(recs, rec), append(lines, line)
		}
	}
	return rosterTable(file, recs, lines, sheet)
}

// decodeText makes UTF-8 of a text file: UTF-8 as it is (a byte-order mark dropped), anything
// else read as GB18030, the superset of GBK and GB2312.
func decodeText(file string, data []byte) (string, error) {
	data = bytes.TrimPrefix(data, []byte("\xEF\xBB\xBF"))
	if utf8.Valid(data) {
		return string(data), nil
	}
	if bytes.HasPrefix(data, []byte("\xFF\xFE")) || bytes.HasPrefix(data, []byte("\xFE\xFF")) {
		return "", Problems{{File: file, Msg: "is UTF-16 text; save it as UTF-8 or GBK CSV, or as XLSX"}}
	}
	out, err := simplifiedchinese.GB18030.NewDecoder().Bytes(data)
	if err != nil || !utf8.Valid(out) {
		return "", Problems{{File: file, Msg: "is neither UTF-8 nor GBK/GB18030 text; save it as UTF-8 CSV or as XLSX"}}
	}
	return string(out), nil
}

// xlsxRecords reads the first sheet of a workbook; the line of a row is its row number.
func xlsxRecords(file string, data []byte) ([][]string, []int, error) {
	f, err := excelize.OpenReader(bytes.NewReader(data))
	if err != nil {
		return nil, nil, Problems{{File: file, Msg: fmt.Sprintf("is not a readable XLSX workbook: %v", err)}}
	}
	defer f.Close()
	sheets := f.GetSheetList()
	if len(sheets) == 0 {
		return nil, nil, Problems{{File: file, Msg: "the workbook has no sheet"}}
	}
	rows, err := f.GetRows(sheets[0])
	if err != nil {
		return nil, nil, Problems{{File: file, Msg: fmt.Sprintf("sheet %q: %v", sheets[0], err)}}
	}
	lines := make([]int, len(rows))
	for i := range rows {
		lines[i] = i + 1
	}
	return rows, lines, nil
}

// rosterTable checks the header (aliases allowed) and every value, and makes the table. A
// spreadsheet's rows may be short (it leaves trailing empty cells out); a CSV's may not.
func rosterTable(file string, recs [][]string, lines []int, sheet bool) (*Table, error) {
	// Blank rows (a spreadsheet's trailing ones) are skipped, the header included.
	for len(recs) > 0 && blank(recs[0]) {
		recs, lines = recs[1:], lines[1:]
	}
	if len(recs) == 0 {
		return nil, Problems{{File: file, Line: 1, Msg: "empty file: expected a header row with columns " + strings.Join(StaffColumns, ",") + " (or 工号,姓名,窗口,单位)"}}
	}
	t := &Table{File: file, Cols: map[string]int{}}
	var ps Problems
	hline := lines[0]
	for i, h := range recs[0] {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\uFEFF")))
		if a, ok := rosterAliases[h]; ok {
			h = a
		}
		if h == "" {
			continue
		}
		if _, dup := t.Cols[h]; dup {
			ps = append(ps, Problem{File: file, Line: hline, Msg: fmt.Sprintf("column %q appears twice in the header", h)})
			continue
		}
		t.Cols[h] = i
	}
	var missing []string
	for _, c := range StaffColumns {
		if _, ok := t.Cols[c]; !ok {
			missing = append(missing, c)
		}
	}
	if len(missing) > 0 {
		ps = append(ps, Problem{File: file, Line: hline, Msg: fmt.Sprintf("missing column %s in the header (the header must name %s, or 工号,姓名,窗口,单位)",
			strings.Join(quoteAll(missing), ", "), strings.Join(StaffColumns, ","))})
	}
	if len(ps) > 0 {
		return nil, ps
	}
	width := 0
	for _, i := range t.Cols {
		width = max(width, i+1)
	}
	for n, rec := range recs[1:] {
		line := lines[n+1]
		if blank(rec) {
			continue
		}
		bad := false
		for i, v := range rec {
			if c, ok := ForbiddenRune(v); ok {
				ps = append(ps, Problem{File: file, Line: line, Msg: fmt.Sprintf("column %d (%s) holds the control or formatting character %U; remove it",
					i+1, colName(t, i), c)})
				bad = true
			}
		}
		if len(rec) < len(recs[0]) && !sheet {
			ps = append(ps, Problem{File: file, Line: line, Msg: fmt.Sprintf("has %d fields, the header has %d", len(rec), len(recs[0]))})
			continue
		}
		if len(rec) < width {
			rec = append(rec, make([]string, width-len(rec))...)
		}
		if !bad {
			t.Rows = append(t.Rows, Row{Line: line, fields: rec, cols: t.Cols})
		}
	}
	return t, ps.Err()
}

func blank(rec []string) bool {
	for _, v := range rec {
		if strings.TrimSpace(v) != "" {
			return false
		}
	}
	return true
}

func colName(t *Table, i int) string {
	for name, j := range t.Cols {
		if j == i {
			return name
		}
	}
	return "unnamed"
}

// ForbiddenRune finds a character a roster value must not hold: C0 and C1 controls (tab, CR and LF
// included: a value is one line), DEL, the bidirectional embeddings, overrides, isolates and
// marks, zero-width characters and a byte-order mark inside the text, and U+FFFD (a character
// the encoding could not represent).
func ForbiddenRune(v string) (rune, bool) {
	for _, c := range v {
		switch {
		case c < 0x20, c == 0x7f, c >= 0x80 && c <= 0x9f:
			return c, true
		case c >= 0x202a && c <= 0x202e, c >= 0x2066 && c <= 0x2069, c == 0x200e, c == 0x200f, c == 0x061c:
			return c, true
		case c >= 0x200b && c <= 0x200d, c == 0x2060, c == 0xfeff, c == 0xfffd:
			return c, true
		case unicode.Is(unicode.Co, c):
			return c, true
		}
	}
	return 0, false
}

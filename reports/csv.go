package reports

import (
	"bufio"
	"encoding/csv"
	"io"
	"strings"
)

// utf8BOM makes Excel open a CSV as UTF-8 rather than in the system's GBK.
const utf8BOM = "\ufeff"

// WriteCSV writes the per-staff view (个人汇总) as CSV: UTF-8 with a byte-order mark, a header
// row, one row per staff member, days with one decimal. No title, status or 合计 lines: the CSV
// is for other programs and for Excel's filters; the status is in every other format.
func (r *MonthReport) WriteCSV(w io.Writer) error { return writeCSV(w, r.staffTable(true)) }

// WriteDetailCSV writes the detail view (明细) as a second CSV: one row per segment with findings,
// with its evidence in words.
func (r *MonthReport) WriteDetailCSV(w io.Writer) error { return writeCSV(w, r.detailTable(true)) }

// WriteSheetCSV writes the 考勤表 as CSV: a column per day, each cell the morning's mark then the
// afternoon's ("√迟*"), the per-day totals as the last rows.
func (r *MonthReport) WriteSheetCSV(w io.Writer) error { return writeCSV(w, r.sheetTable()) }

// csvText is a cell's text as CSV holds it. A text that a spreadsheet would take for a formula
// (starting with = + - @, or a tab or carriage return that some programs strip before looking)
// is prefixed with an apostrophe, so that a roster name "=HYPERLINK(…)" stays a name (OWASP's
// advice for CSV injection). Numbers are never negative here and are left as they are.
func csvText(c cell, k kind) string {
	s := c.text(k)
	if k == kMarks {
		s = strings.ReplaceAll(s, "\n", "")
	}
	if (k == kInt || k == kDays) && !c.raw {
		return s
	}
	if s != "" && strings.IndexByte("=+-@\t\r", s[0]) >= 0 {
		return "'" + s
	}
	return s
}

func writeCSV(w io.Writer, t *table) error {
	bw := bufio.NewWriterSize(w, 1<<16)
	bw.WriteString(utf8BOM)
	cw := csv.NewWriter(bw)
	rec := make([]string, len(t.cols))
	for i, c := range t.cols {
		rec[i] = strings.ReplaceAll(c.head, "\n", " ")
		if d := i - t.firstDay; t.days != nil && d >= 0 && d < len(t.days) && t.days[d].Name != "" {
			rec[i] += " " + t.days[d].Name // "1 四 国庆节"
		}
	}
	cw.Write(rec)
	var cells []cell
	for i := 0; i < t.rows; i++ {
		cells = t.row(i, cells[:0])
		for k, c := range t.cols {
			rec[k] = csvText(cells[k], c.kind)
		}
		cw.Write(rec)
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return err
	}
	return bw.Flush()
}

package reports

import (
	"bufio"
	"encoding/csv"
	"io"
)

// utf8BOM makes Excel open a CSV as UTF-8 rather than in the system's GBK.
const utf8BOM = "\ufeff"

// WriteCSV writes the per-staff view (个人汇总) as CSV: UTF-8 with a byte-order mark, a header
// row, one row per staff member, days with one decimal. No title, status or 合计 lines: the CSV
// is for other programs and for Excel's filters; the status is in every other format.
func (r *MonthReport) WriteCSV(w io.Writer) error { return writeCSV(w, r.staffTable()) }

// WriteDetailCSV writes the detail view (明细) as a second CSV: one row per segment with findings,
// with its evidence in words.
func (r *MonthReport) WriteDetailCSV(w io.Writer) error { return writeCSV(w, r.detailTable()) }

func writeCSV(w io.Writer, t *table) error {
	bw := bufio.NewWriterSize(w, 1<<16)
	bw.WriteString(utf8BOM)
	cw := csv.NewWriter(bw)
	rec := make([]string, len(t.cols))
	for i, c := range t.cols {
		rec[i] = c.head
	}
	cw.Write(rec)
	var cells []cell
	for i := 0; i < t.rows; i++ {
		cells = t.row(i, cells[:0])
		for k, c := range t.cols {
			rec[k] = cells[k].text(c.kind)
		}
		cw.Write(rec)
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return err
	}
	return bw.Flush()
}

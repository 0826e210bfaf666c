package reports

import (
	"fmt"
	"io"

	"github.com/xuri/excelize/v2"

	"github.com/kaoqin/kaoqin/attendance"
)

// headRows are the rows above the data on every sheet: the title, the month's status, the column
// headers. They are frozen and repeated on every printed page.
const headRows = 3

// WriteXLSX writes the report as a workbook with a sheet per view: 个人汇总, 窗口汇总, 单位汇总,
// 明细, and 结账更正 when the month is closed. Sheets are streamed, so a large center's detail
// does not sit in memory as cells.
func (r *MonthReport) WriteXLSX(w io.Writer) error {
	f := excelize.NewFile()
	defer f.Close()
	st, err := newStyles(f)
	if err != nil {
		return err
	}
	f.SetDocProps(&excelize.DocProperties{Title: r.title(), Creator: "kaoqin", Language: "zh-CN"})
	status := r.closingText()
	if !r.Generated.IsZero() {
		status += "。制表时间：" + r.Generated.Format("2006-01-02 15:04")
	}
	for i, t := range r.tables() {
		if i == 0 {
			if err := f.SetSheetName("Sheet1", t.name); err != nil {
				return err
			}
		} else if _, err := f.NewSheet(t.name); err != nil {
			return err
		}
		if err := writeSheet(f, st, t, r.title()+" · "+t.name, status); err != nil {
			return fmt.Errorf("sheet %s: %w", t.name, err)
		}
	}
	f.SetActiveSheet(0)
	return f.Write(w)
}

type styles struct {
	title, status, head    int
	text, wrap, num, days  int
	date                   int
	totText, totNum, totDy int
}

func newStyles(f *excelize.File) (*styles, error) {
	border := []excelize.Border{{Type: "left", Color: "999999", Style: 1}, {Type: "right", Color: "999999", Style: 1},
		{Type: "top", Color: "999999", Style: 1}, {Type: "bottom", Color: "999999", Style: 1}}
	font := &excelize.Font{Family: "SimSun", Size: 10}
	bold := &excelize.Font{Family: "SimHei", Size: 10, Bold: true}
	days := "0.0"
	date := "yyyy-mm-dd"
	defs := []*excelize.Style{
		{Font: &excelize.Font{Family: "SimHei", Size: 14, Bold: true}},
		{Font: font},
		{Font: bold, Border: border, Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"D9E1F2"}},
			Alignment: &excelize.Alignment{Horizontal: "center", Vertical: "center", WrapText: true}},
		{Font: font, Border: border, Alignment: &excelize.Alignment{Vertical: "top"}},
		{Font: font, Border: border, Alignment: &excelize.Alignment{Vertical: "top", WrapText: true}},
		{Font: font, Border: border, NumFmt: 1, Alignment: &excelize.Alignment{Vertical: "top"}},
		{Font: font, Border: border, CustomNumFmt: &days, Alignment: &excelize.Alignment{Vertical: "top"}},
		{Font: font, Border: border, CustomNumFmt: &date, Alignment: &excelize.Alignment{Vertical: "top"}},
		{Font: bold, Border: border},
		{Font: bold, Border: border, NumFmt: 1},
		{Font: bold, Border: border, CustomNumFmt: &days},
	}
	ids := make([]int, len(defs))
	for i, d := range defs {
		id, err := f.NewStyle(d)
		if err != nil {
			return nil, err
		}
		ids[i] = id
	}
	return &styles{ids[0], ids[1], ids[2], ids[3], ids[4], ids[5], ids[6], ids[7], ids[8], ids[9], ids[10]}, nil
}

func writeSheet(f *excelize.File, st *styles, t *table, title, status string) error {
	name := t.name
	// Page setup goes on the worksheet before streaming: the stream writer copies it out at Flush,
	// and writes the sheet properties (fit to page) when it starts.
	a4, landscape, one, zero := 9, "landscape", 1, 0
	if err := f.SetPageLayout(name, &excelize.PageLayoutOptions{Size: &a4, Orientation: &landscape, FitToWidth: &one, FitToHeight: &zero}); err != nil {
		return err
	}
	fit := true
	if err := f.SetSheetProps(name, &excelize.SheetPropsOptions{FitToPage: &fit}); err != nil {
		return err
	}
	m := 0.4
	if err := f.SetPageMargins(name, &excelize.PageLayoutMarginsOptions{Left: &m, Right: &m, Top: &m, Bottom: &m}); err != nil {
		return err
	}
	if err := f.SetHeaderFooter(name, &excelize.HeaderFooterOptions{OddFooter: "&C第 &P 页，共 &N 页"}); err != nil {
		return err
	}
	if err := f.SetDefinedName(&excelize.DefinedName{Name: "_xlnm.Print_Titles", RefersTo: fmt.Sprintf("'%s'!$1:$%d", name, headRows), Scope: name}); err != nil {
		return err
	}
	sw, err := f.NewStreamWriter(name)
	if err != nil {
		return err
	}
	for i, c := range t.cols {
		if err := sw.SetColWidth(i+1, i+1, c.width); err != nil {
			return err
		}
	}
	// Freeze the heading rows, and on the long sheets the id and name columns too.
	xs := 0
	if t.cols[0].head == "工号" {
		xs = 2
	}
	tl, _ := excelize.CoordinatesToCellName(xs+1, headRows+1)
	if err := sw.SetPanes(&excelize.Panes{Freeze: true, XSplit: xs, YSplit: headRows, TopLeftCell: tl, ActivePane: activePane(xs),
		Selection: []excelize.Selection{{SQRef: tl, ActiveCell: tl, Pane: activePane(xs)}}}); err != nil {
		return err
	}
	last, _ := excelize.ColumnNumberToName(len(t.cols))
	if err := sw.SetRow("A1", []any{excelize.Cell{StyleID: st.title, Value: title}}, excelize.RowOpts{Height: 24}); err != nil {
		return err
	}
	if err := sw.SetRow("A2", []any{excelize.Cell{StyleID: st.status, Value: status}}); err != nil {
		return err
	}
	if err := sw.MergeCell("A1", last+"1"); err != nil {
		return err
	}
	if err := sw.MergeCell("A2", last+"2"); err != nil {
		return err
	}
	vals := make([]any, len(t.cols))
	for i, c := range t.cols {
		vals[i] = excelize.Cell{StyleID: st.head, Value: c.head}
	}
	if err := sw.SetRow(fmt.Sprintf("A%d", headRows), vals, excelize.RowOpts{Height: 30}); err != nil {
		return err
	}
	var cells []cell
	rowNum := headRows + 1
	put := func(cells []cell, total bool) error {
		for i, c := range t.cols {
			vals[i] = xlsxCell(st, c.kind, cells[i], t.wrap, total)
		}
		cellName, _ := excelize.CoordinatesToCellName(1, rowNum)
		rowNum++
		return sw.SetRow(cellName, vals)
	}
	for i := 0; i < t.rows; i++ {
		cells = t.row(i, cells[:0])
		if err := put(cells, false); err != nil {
			return err
		}
	}
	if t.total != nil {
		if err := put(t.total(cells[:0]), true); err != nil {
			return err
		}
	}
	return sw.Flush()
}

func activePane(xs int) string {
	if xs > 0 {
		return "bottomRight"
	}
	return "bottomLeft"
}

func xlsxCell(st *styles, k kind, c cell, wrap, total bool) excelize.Cell {
	switch k {
	case kInt:
		if total {
			return excelize.Cell{StyleID: st.totNum, Value: c.n}
		}
		return excelize.Cell{StyleID: st.num, Value: c.n}
	case kDays:
		if total {
			return excelize.Cell{StyleID: st.totDy, Value: float64(c.n) / 2}
		}
		return excelize.Cell{StyleID: st.days, Value: float64(c.n) / 2}
	case kDate:
		if d, err := attendance.ParseDate(c.s); err == nil {
			return excelize.Cell{StyleID: st.date, Value: d.Time()}
		}
	}
	switch {
	case total:
		return excelize.Cell{StyleID: st.totText, Value: c.s}
	case wrap:
		return excelize.Cell{StyleID: st.wrap, Value: c.s}
	}
	return excelize.Cell{StyleID: st.text, Value: c.s}
}

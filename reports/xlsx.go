package reports

import (
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/xuri/excelize/v2"

	"github.com/kaoqin/kaoqin/attendance"
)

// headRows are the rows above the data on every sheet: the title, the month's status, the column
// headers. They are frozen and repeated on every printed page.
const headRows = 3

// WriteXLSX writes the report as a workbook with a sheet per view: 个人汇总, 考勤表, 图表 (native
// charts) and 图表数据, 明细 (the findings with their evidence in full), 请假, 窗口汇总, 单位汇总,
// and 结账更正 when the month is closed. Every sheet prints on A4 landscape at its own size (no
// shrinking to fit: a wide view is split into sheets instead), with its heading rows on every
// page, "第 x 页，共 y 页" and the print date in the footer, and the signature block at its end.
// Sheets are streamed, so a large center's detail does not sit in memory as cells.
func (r *MonthReport) WriteXLSX(w io.Writer) error {
	f := excelize.NewFile()
	defer f.Close()
	st, err := newStyles(f)
	if err != nil {
		return err
	}
	f.SetDocProps(&excelize.DocProperties{Title: r.title(), Creator: "kaoqin", Language: "zh-CN"})
	for i, t := range r.tables() {
		if i == 0 {
			if err := f.SetSheetName("Sheet1", t.name); err != nil {
				return err
			}
		} else if _, err := f.NewSheet(t.name); err != nil {
			return err
		}
		if err := r.writeSheet(f, st, t); err != nil {
			return fmt.Errorf("sheet %s: %w", t.name, err)
		}
		// The charts follow the sheet, so that the workbook ends, and its PDF's last page, on
		// a signed table.
		if t.days != nil {
			if err := r.writeCharts(f, st); err != nil {
				return fmt.Errorf("sheet 图表: %w", err)
			}
		}
	}
	// The first sheet is the active one already; SetActiveSheet would read a streamed sheet
	// back into memory (half a second for 10,000 staff).
	return f.Write(w)
}

type styles struct {
	title, status, head    int
	headSmall              int
	text, wrap, num, days  int
	date                   int
	totText, totNum, totDy int
	headRest, sign, legend int
	// the 考勤表's day cells: normal, with a finding, a day off; each also provisional (shaded)
	mark, markBad, markRest, markProv, markBadProv int
	markCorr, markBadCorr, dayTotal                int
}

func newStyles(f *excelize.File) (*styles, error) {
	border := []excelize.Border{{Type: "left", Color: "999999", Style: 1}, {Type: "right", Color: "999999", Style: 1},
		{Type: "top", Color: "999999", Style: 1}, {Type: "bottom", Color: "999999", Style: 1}}
	font := &excelize.Font{Family: "SimSun", Size: 10}
	bold := &excelize.Font{Family: "SimHei", Size: 10, Bold: true}
	// The 考勤表 is set in 9 pt, the smallest the center reads, to fit 31 days on an A4 width.
	small := &excelize.Font{Family: "SimSun", Size: 9}
	smallBold := &excelize.Font{Family: "SimHei", Size: 9, Bold: true}
	red := &excelize.Font{Family: "SimHei", Size: 9, Bold: true, Color: "C00000"}
	// Zeros print as "-" so that the few non-zero counts stand out.
	ints, days := `0;-0;"-"`, `0.0;-0.0;"-"`
	date := "yyyy-mm-dd"
	headFill := excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"D9E1F2"}}
	restFill := excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"E7E6E6"}}
	provFill := excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"FFF2CC"}}
	corrFill := excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"DDEBF7"}}
	center := &excelize.Alignment{Horizontal: "center", Vertical: "center", WrapText: true}
	defs := []*excelize.Style{
		{Font: &excelize.Font{Family: "SimHei", Size: 14, Bold: true}, Alignment: &excelize.Alignment{Horizontal: "center"}},
		{Font: font, Alignment: &excelize.Alignment{Horizontal: "center", WrapText: true, Vertical: "center"}},
		{Font: bold, Border: border, Fill: headFill, Alignment: center},
		{Font: smallBold, Border: border, Fill: headFill, Alignment: center},
		{Font: font, Border: border, Alignment: &excelize.Alignment{Vertical: "top"}},
		{Font: font, Border: border, Alignment: &excelize.Alignment{Vertical: "top", WrapText: true}},
		{Font: font, Border: border, CustomNumFmt: &ints, Alignment: &excelize.Alignment{Vertical: "top"}},
		{Font: font, Border: border, CustomNumFmt: &days, Alignment: &excelize.Alignment{Vertical: "top"}},
		{Font: font, Border: border, CustomNumFmt: &date, Alignment: &excelize.Alignment{Vertical: "top"}},
		{Font: bold, Border: border},
		{Font: bold, Border: border, CustomNumFmt: &ints},
		{Font: bold, Border: border, CustomNumFmt: &days},
		{Font: smallBold, Border: border, Fill: restFill, Alignment: center},
		{Font: &excelize.Font{Family: "SimSun", Size: 11}, Alignment: &excelize.Alignment{Vertical: "bottom"}},
		{Font: font, Alignment: &excelize.Alignment{Vertical: "top", WrapText: true}},
		{Font: small, Border: border, Alignment: center},
		{Font: red, Border: border, Alignment: center},
		{Font: small, Border: border, Fill: restFill, Alignment: center},
		{Font: small, Border: border, Fill: provFill, Alignment: center},
		{Font: red, Border: border, Fill: provFill, Alignment: center},
		{Font: small, Border: border, Fill: corrFill, Alignment: center},
		{Font: red, Border: border, Fill: corrFill, Alignment: center},
		{Font: small, Border: border, Alignment: &excelize.Alignment{Horizontal: "center", Vertical: "center"}},
	}
	ids := make([]int, len(defs))
	for i, d := range defs {
		id, err := f.NewStyle(d)
		if err != nil {
			return nil, err
		}
		ids[i] = id
	}
	return &styles{ids[0], ids[1], ids[2], ids[3], ids[4], ids[5], ids[6], ids[7], ids[8], ids[9], ids[10], ids[11],
		ids[12], ids[13], ids[14], ids[15], ids[16], ids[17], ids[18], ids[19], ids[20], ids[21], ids[22]}, nil
}

// statusText is the line under every title: the month's state, the print date, the holidays.
func (r *MonthReport) statusText() string {
	s := r.closingText()
	if !r.Generated.IsZero() {
		s += "。制表时间：" + r.Generated.Format("2006-01-02 15:04")
	}
	if n := r.DayNotes(); n != "" {
		s += "。节假日：" + n
	}
	return s
}

// sheetTitle is the title of one view: the sheet's own for the 考勤表, the report's otherwise.
func (r *MonthReport) sheetTitle(t *table) string {
	if t.days != nil {
		return r.titleOf("考勤表")
	}
	return r.title() + " · " + t.name
}

// signature is the block HR signs under every printed view.
var signature = []string{"制表人：", "审核人：", "中心负责人：", "日期：　　年　　月　　日"}

// textWidth is a text's width in Excel's column units (one "0" of the default font): a CJK
// character of the 10 pt body font takes about two.
func textWidth(s string) float64 {
	w := 0.0
	for _, c := range s {
		if c < 0x2e80 {
			w += 1.05
		} else {
			w += 2
		}
	}
	return w
}

// lines estimates how many lines a wrapped text takes in a column of width w.
func lines(s string, w float64) int {
	n := 0
	for _, l := range strings.Split(s, "\n") {
		n += max(1, int(math.Ceil(textWidth(l)/(w-0.8))))
	}
	return n
}

func (r *MonthReport) writeSheet(f *excelize.File, st *styles, t *table) error {
	name := t.name
	// Page setup goes on the worksheet before streaming: the stream writer copies it out at Flush.
	// A4 landscape at 100 %: the columns are sized to fit its width, and the rows run on to as many
	// pages as they need, the heading rows repeated on each.
	a4, landscape, scale := 9, "landscape", uint(100)
	if err := f.SetPageLayout(name, &excelize.PageLayoutOptions{Size: &a4, Orientation: &landscape, AdjustTo: &scale}); err != nil {
		return err
	}
	lr, tb := 0.25, 0.5
	hf := 0.25
	if err := f.SetPageMargins(name, &excelize.PageLayoutMarginsOptions{Left: &lr, Right: &lr, Top: &tb, Bottom: &tb, Header: &hf, Footer: &hf}); err != nil {
		return err
	}
	footer := "&C第 &P 页，共 &N 页"
	if !r.Generated.IsZero() {
		footer += "&R打印日期：" + r.Generated.Format("2006-01-02")
	}
	if err := f.SetHeaderFooter(name, &excelize.HeaderFooterOptions{OddFooter: "&L" + xlsxEscape(r.sheetTitle(t)) + footer}); err != nil {
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
	width := 0.0
	for _, c := range t.cols {
		width += c.width
	}
	last, _ := excelize.ColumnNumberToName(len(t.cols))
	status := r.statusText()
	if err := sw.SetRow("A1", []any{excelize.Cell{StyleID: st.title, Value: r.sheetTitle(t)}}, excelize.RowOpts{Height: 24}); err != nil {
		return err
	}
	if err := sw.SetRow("A2", []any{excelize.Cell{StyleID: st.status, Value: status}}, excelize.RowOpts{Height: 14 * float64(lines(status, width))}); err != nil {
		return err
	}
	if err := sw.MergeCell("A1", last+"1"); err != nil {
		return err
	}
	if err := sw.MergeCell("A2", last+"2"); err != nil {
		return err
	}
	vals := make([]any, len(t.cols))
	headLines := 1
	for i, c := range t.cols {
		style := st.head
		if d := i - t.firstDay; t.days != nil && d >= 0 && d < len(t.days) {
			style = st.headSmall
			if !t.days[d].Working {
				style = st.headRest
			}
		}
		vals[i] = excelize.Cell{StyleID: style, Value: c.head}
		headLines = max(headLines, lines(c.head, c.width))
	}
	if err := sw.SetRow(fmt.Sprintf("A%d", headRows), vals, excelize.RowOpts{Height: 13.5*float64(headLines) + 3}); err != nil {
		return err
	}
	var cells []cell
	rowNum := headRows + 1
	put := func(cells []cell, total bool) error {
		n := 1
		for i, c := range t.cols {
			vals[i] = xlsxCell(st, c.kind, cells[i], t.wrap, total)
			if t.wrap && c.kind == kText {
				n = max(n, lines(cells[i].s, c.width))
			}
			if c.kind == kMarks && strings.Contains(cells[i].s, "\n") {
				n = 2
			}
		}
		cellName, _ := excelize.CoordinatesToCellName(1, rowNum)
		rowNum++
		h := 15*float64(n) + 2 // LibreOffice's line at 10 pt is about 15 pt
		if t.days != nil {
			h = 14
			if n == 2 {
				h = 25
			}
		}
		return sw.SetRow(cellName, vals, excelize.RowOpts{Height: h})
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
	merge := func(row int, from, to int) error {
		a, _ := excelize.CoordinatesToCellName(from+1, row)
		b, _ := excelize.CoordinatesToCellName(to, row)
		if to-from < 2 {
			return nil
		}
		return sw.MergeCell(a, b)
	}
	if t.days != nil {
		// The legend under the sheet.
		rowNum++
		cellName, _ := excelize.CoordinatesToCellName(1, rowNum)
		legend := "图例：" + legendText(false)
		if err := sw.SetRow(cellName, []any{excelize.Cell{StyleID: st.legend, Value: legend}}, excelize.RowOpts{Height: 14 * float64(lines(legend, width))}); err != nil {
			return err
		}
		if err := merge(rowNum, 0, len(t.cols)); err != nil {
			return err
		}
		rowNum++
	}
	// The signature block: four fields side by side, a tall row to sign in.
	rowNum++
	sig := make([]any, len(t.cols))
	bounds := make([]int, len(signature)+1)
	for k := range signature {
		bounds[k+1] = len(t.cols) * (k + 1) / len(signature)
	}
	for k, s := range signature {
		sig[bounds[k]] = excelize.Cell{StyleID: st.sign, Value: s}
	}
	cellName, _ := excelize.CoordinatesToCellName(1, rowNum)
	if err := sw.SetRow(cellName, sig, excelize.RowOpts{Height: 36}); err != nil {
		return err
	}
	for k := range signature {
		if err := merge(rowNum, bounds[k], bounds[k+1]); err != nil {
			return err
		}
	}
	return sw.Flush()
}

var stripFlags = strings.NewReplacer("*", "", "#", "")

// xlsxEscape keeps an ampersand in a header or footer text from being read as a code.
func xlsxEscape(s string) string { return strings.ReplaceAll(s, "&", "&&") }

func activePane(xs int) string {
	if xs > 0 {
		return "bottomRight"
	}
	return "bottomLeft"
}

// xlsxCell is a cell's value and style. Texts are always written as strings: a roster name
// "=HYPERLINK(…)" is a name, never a formula.
func xlsxCell(st *styles, k kind, c cell, wrap, total bool) excelize.Cell {
	if c.raw {
		if k == kMarks {
			return excelize.Cell{StyleID: st.dayTotal, Value: c.s}
		}
		return excelize.Cell{StyleID: st.totText, Value: c.s}
	}
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
	case kMarks:
		// A column of 9 pt fits one symbol: the flags are shown by the cell's shading, as the
		// legend under the sheet says, not by "*" and "#".
		m := Mark(c.n)
		v := c.s
		if m.Provisional() || m.Corrected() {
			v = stripFlags.Replace(v)
		}
		bad := strings.ContainsAny(c.s, "迟早缺旷脱")
		style := st.mark
		switch {
		case c.s == "休":
			style = st.markRest
		case m.Provisional() && bad:
			style = st.markBadProv
		case m.Provisional():
			style = st.markProv
		case m.Corrected() && bad:
			style = st.markBadCorr
		case m.Corrected():
			style = st.markCorr
		case bad:
			style = st.markBad
		}
		return excelize.Cell{StyleID: style, Value: v}
	}
	switch {
	case total:
		return excelize.Cell{StyleID: st.totText, Value: c.s}
	case wrap:
		return excelize.Cell{StyleID: st.wrap, Value: c.s}
	}
	return excelize.Cell{StyleID: st.text, Value: c.s}
}

// writeCharts adds the 图表 sheet, native charts only, one printed page wide, over the figures
// on the 图表数据 sheet, so that the workbook's pictures stay live if HR edits a figure.
func (r *MonthReport) writeCharts(f *excelize.File, st *styles) error {
	const name, data = "图表", "图表数据"
	for _, n := range []string{name, data} {
		if _, err := f.NewSheet(n); err != nil {
			return err
		}
		// Pictures may shrink to the page's width (their text is the charts' own); a chart cut
		// at the margin may not.
		a4, landscape, one, zero, fit, m := 9, "landscape", 1, 0, true, 0.4
		if err := f.SetPageLayout(n, &excelize.PageLayoutOptions{Size: &a4, Orientation: &landscape, FitToWidth: &one, FitToHeight: &zero}); err != nil {
			return err
		}
		if err := f.SetSheetProps(n, &excelize.SheetPropsOptions{FitToPage: &fit}); err != nil {
			return err
		}
		if err := f.SetPageMargins(n, &excelize.PageLayoutMarginsOptions{Left: &m, Right: &m, Top: &m, Bottom: &m}); err != nil {
			return err
		}
	}
	fig := r.Figures()
	set := func(cell string, vals ...any) error { return f.SetSheetRow(data, cell, &vals) }
	ref := func(col string, from, to int) string {
		return fmt.Sprintf("'%s'!$%s$%d:$%s$%d", data, col, from, col, to)
	}
	if err := f.SetCellValue(name, "A1", r.titleOf("考勤图表")); err != nil {
		return err
	}
	if err := f.SetCellStyle(name, "A1", "A1", st.sign); err != nil {
		return err
	}
	// Findings per working day: A1 on the data sheet.
	head := []any{"日期"}
	for _, s := range ChartSeries {
		head = append(head, s)
	}
	if err := set("A1", head...); err != nil {
		return err
	}
	for i, d := range fig.Days {
		row := []any{d.Day.Date.String()[5:] + d.Day.Name}
		for _, c := range d.Counts {
			row = append(row, c)
		}
		if err := set(fmt.Sprintf("A%d", 2+i), row...); err != nil {
			return err
		}
	}
	bar := func(anchor, title string, series []excelize.ChartSeries, typ excelize.ChartType, w, h uint, legend string) error {
		// Horizontal bars list their categories bottom up unless reversed: keep the table's order.
		return f.AddChart(name, anchor, &excelize.Chart{Type: typ, Series: series, XAxis: excelize.ChartAxis{ReverseOrder: typ == excelize.Bar},
			Title:     excelize.ChartTitle{Paragraph: []excelize.RichTextRun{{Text: title, Font: &excelize.Font{Size: 11, Bold: true}}}},
			Legend:    excelize.ChartLegend{Position: legend},
			Dimension: excelize.ChartDimension{Width: w, Height: h}})
	}
	if n := len(fig.Days); n > 0 {
		var series []excelize.ChartSeries
		for k := range ChartSeries {
			col, _ := excelize.ColumnNumberToName(2 + k)
			series = append(series, excelize.ChartSeries{Name: fmt.Sprintf("'%s'!$%s$1", data, col),
				Categories: ref("A", 2, 1+n), Values: ref(col, 2, 1+n),
				Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{seriesColors[k]}}})
		}
		if err := bar("A3", "每个工作日的考勤问题（时段或次数）", series, excelize.ColStacked, 820, 280, "bottom"); err != nil {
			return err
		}
	}
	// The windows compared, and the staff with most findings.
	base := 3 + len(fig.Days)
	if err := set(fmt.Sprintf("A%d", base), "窗口", "人数", "人均迟到分钟", "人均旷工天数"); err != nil {
		return err
	}
	for i, w := range fig.Windows {
		if err := set(fmt.Sprintf("A%d", base+1+i), w.Name, w.Staff, math.Round(w.LatePerStaff*10)/10, math.Round(w.AbsentPerStaff*10)/10); err != nil {
			return err
		}
	}
	h := uint(100 + 22*max(len(fig.Windows), len(fig.Top)))
	if n := len(fig.Windows); n > 0 {
		for k, col := range []string{"C", "D"} {
			title := []string{"各窗口人均迟到分钟", "各窗口人均旷工天数"}[k]
			if err := bar([]string{"A19", "G19"}[k], title, []excelize.ChartSeries{{Name: fmt.Sprintf("'%s'!$%s$%d", data, col, base),
				Categories: ref("A", base+1, base+n), Values: ref(col, base+1, base+n),
				Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{seriesColors[3*k]}}}}, excelize.Bar, 400, h, "none"); err != nil {
				return err
			}
		}
	}
	base += 2 + len(fig.Windows)
	if err := set(fmt.Sprintf("A%d", base), "工作人员", "窗口", "问题次数"); err != nil {
		return err
	}
	for i, t := range fig.Top {
		if err := set(fmt.Sprintf("A%d", base+1+i), t.Row.Staff.Name+"（"+t.Row.Staff.Window+"）", t.Row.Staff.Window, t.Findings); err != nil {
			return err
		}
	}
	if n := len(fig.Top); n > 0 {
		anchor := fmt.Sprintf("A%d", 21+int(h)/20)
		if err := bar(anchor, "问题最多的工作人员（迟到、早退、缺卡、旷工、脱岗次数）", []excelize.ChartSeries{{Name: fmt.Sprintf("'%s'!$C$%d", data, base),
			Categories: ref("A", base+1, base+n), Values: ref("C", base+1, base+n),
			Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"8E6C8A"}}}}, excelize.Bar, 820, h, "none"); err != nil {
			return err
		}
	}
	return f.SetColWidth(data, "A", "A", 22)
}

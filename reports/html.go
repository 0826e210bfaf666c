package reports

import (
	"bufio"
	"embed"
	"html/template"
	"io"
	"iter"
	"strings"
)

//go:embed templates
var templateFS embed.FS

var (
	pageCSS   = template.CSS(mustRead("templates/style.css"))
	monthTmpl = template.Must(template.ParseFS(templateFS, "templates/month.html"))
	dayTmpl   = template.Must(template.New("day.html").Funcs(template.FuncMap{
		"segment": segmentName,
		"state":   func(s DayState) string { return stateNames[s] },
	}).ParseFS(templateFS, "templates/day.html"))
)

func mustRead(name string) string {
	b, err := templateFS.ReadFile(name)
	if err != nil {
		panic(err)
	}
	return string(b)
}

type htmlCell struct {
	Text  string
	Class string // "n" for numbers, "p" for a provisional mark
}

type htmlHead struct {
	Text, Class, Title string
}

type htmlTable struct {
	Name, Title string
	Heads       []htmlHead
	Wrap, Sheet bool
	Rows        iter.Seq[[]htmlCell]
	Total       []htmlCell
	Legend      string
}

type htmlPage struct {
	Title, Status string
	CSS           template.CSS
	Tables        []htmlTable
	Signature     []string
	Printed       string
}

// markClass is the class of a 考勤表 cell: "m" and, with a finding, "x"; a day off "r"; a
// provisional half-day "p".
func markClass(c cell) string {
	cls := "m"
	if c.raw {
		return cls
	}
	if c.s == "休" {
		return cls + " r"
	}
	if strings.ContainsAny(c.s, "迟早缺旷脱") {
		cls += " x"
	}
	if Mark(c.n).Provisional() {
		cls += " p"
	}
	return cls
}

func htmlCells(t *table, cells []cell, dst []htmlCell) []htmlCell {
	for i, c := range t.cols {
		hc := htmlCell{Text: cells[i].text(c.kind)}
		switch {
		case c.kind == kMarks:
			hc.Class = markClass(cells[i])
		case (c.kind == kInt || c.kind == kDays) && !cells[i].raw:
			hc.Class = "n"
			if cells[i].n == 0 {
				hc.Class = "n z"
			}
		case c.head == "状态" && hc.Text == "暂定":
			hc.Class = "p"
		}
		dst = append(dst, hc)
	}
	return dst
}

func (r *MonthReport) toHTMLTable(t *table) htmlTable {
	h := htmlTable{Name: t.name, Title: r.sheetTitle(t), Wrap: t.wrap, Sheet: t.days != nil}
	if h.Sheet {
		h.Legend = "图例：" + Legend()
	}
	for i, c := range t.cols {
		hh := htmlHead{Text: c.head}
		if d := i - t.firstDay; t.days != nil && d >= 0 && d < len(t.days) {
			hh.Title = t.days[d].Date.String() + " " + t.days[d].Name
			hh.Class = "d"
			if !t.days[d].Working {
				hh.Class = "d r"
			}
		}
		h.Heads = append(h.Heads, hh)
	}
	// Rows are made as the template reaches them, one buffer for all: a large center's detail
	// is hundreds of thousands of rows.
	h.Rows = func(yield func([]htmlCell) bool) {
		var cells []cell
		var out []htmlCell
		for i := 0; i < t.rows; i++ {
			cells = t.row(i, cells[:0])
			out = htmlCells(t, cells, out[:0])
			if !yield(out) {
				return
			}
		}
	}
	if t.total != nil {
		h.Total = htmlCells(t, t.total(nil), nil)
	}
	return h
}

// WriteHTML writes the report as one printable page in Simplified Chinese: every view as a
// table, A4 landscape, header rows repeated on each printed page, page x of y and the print date
// in the page margins, the signature block at the end, no script.
func (r *MonthReport) WriteHTML(w io.Writer) error {
	p := htmlPage{Title: r.title(), Status: r.statusText(), CSS: pageCSS, Signature: signature}
	if !r.Generated.IsZero() {
		p.Printed = "打印日期：" + r.Generated.Format("2006-01-02")
	}
	for _, t := range r.tables() {
		p.Tables = append(p.Tables, r.toHTMLTable(t))
	}
	bw := bufio.NewWriterSize(w, 1<<16)
	if err := monthTmpl.Execute(bw, p); err != nil {
		return err
	}
	return bw.Flush()
}

package reports

import (
	"bufio"
	"embed"
	"html/template"
	"io"
	"iter"
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

type htmlTable struct {
	Name  string
	Heads []string
	Wrap  bool
	Rows  iter.Seq[[]htmlCell]
	Total []htmlCell
}

type htmlPage struct {
	Title, Status string
	CSS           template.CSS
	Tables        []htmlTable
}

func htmlCells(t *table, cells []cell, dst []htmlCell) []htmlCell {
	for i, c := range t.cols {
		hc := htmlCell{Text: cells[i].text(c.kind)}
		switch {
		case c.kind == kInt || c.kind == kDays:
			hc.Class = "n"
		case c.head == "状态" && hc.Text == "暂定":
			hc.Class = "p"
		}
		dst = append(dst, hc)
	}
	return dst
}

func toHTMLTable(t *table) htmlTable {
	h := htmlTable{Name: t.name, Wrap: t.wrap}
	for _, c := range t.cols {
		h.Heads = append(h.Heads, c.head)
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
// table, A4 landscape, header rows repeated on each printed page, no script.
func (r *MonthReport) WriteHTML(w io.Writer) error {
	p := htmlPage{Title: r.title(), Status: r.closingText(), CSS: pageCSS}
	if !r.Generated.IsZero() {
		p.Status += "。制表时间：" + r.Generated.Format("2006-01-02 15:04")
	}
	for _, t := range r.tables() {
		p.Tables = append(p.Tables, toHTMLTable(t))
	}
	bw := bufio.NewWriterSize(w, 1<<16)
	if err := monthTmpl.Execute(bw, p); err != nil {
		return err
	}
	return bw.Flush()
}

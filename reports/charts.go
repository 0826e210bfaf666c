package reports

import (
	"cmp"
	"fmt"
	"html"
	"math"
	"slices"
	"strconv"
	"strings"
)

// The month in pictures: what HR and the center's leaders look at before reading rows. The
// figures are computed here once; the web draws them as SVG (below, no script, no CDN) and the
// workbook as native Excel charts (xlsx.go).

// ChartSeries are the finding kinds stacked per working day.
var ChartSeries = []string{"迟到", "早退", "缺卡", "旷工", "请假", "脱岗"}

// seriesColors go with ChartSeries.
var seriesColors = []string{"E6A23C", "F2C94C", "9B59B6", "D64541", "4A90D9", "2D9C7F"}

func seriesOf(t *Totals) []int {
	return []int{t.Late, t.Early, t.MissingPunches, t.AbsentSegments, t.LeaveTotal(), t.OffPost}
}

// DayFigure is one working day's findings, by ChartSeries (segments or episodes).
type DayFigure struct {
	Day    Day
	Counts []int
}

// WindowFigure compares a window with the others: per staff member, so that a window of twelve
// does not look worse than a window of two for being larger.
type WindowFigure struct {
	Name           string
	Staff          int
	LatePerStaff   float64 // late minutes per staff member
	AbsentPerStaff float64 // absent days per staff member
}

// StaffFigure is a staff member with their findings: late, early, missing punches, absent
// segments and off-post episodes summed.
type StaffFigure struct {
	Row      *Row
	Findings int
}

// Figures are the month's charts' data.
type Figures struct {
	Days    []DayFigure // working days only
	Windows []WindowFigure
	Top     []StaffFigure // at most topStaff, most findings first, none without findings
}

const topStaff = 10

func findingsCount(t *Totals) int {
	return t.Late + t.Early + t.MissingPunches + t.AbsentSegments + t.OffPost
}

// Figures computes the charts' data.
func (r *MonthReport) Figures() *Figures {
	f := &Figures{}
	for i, d := range r.Days {
		if d.Working {
			f.Days = append(f.Days, DayFigure{Day: d, Counts: seriesOf(&r.DayTotals[i])})
		}
	}
	for _, w := range r.Windows {
		if w.Staff == 0 {
			continue
		}
		f.Windows = append(f.Windows, WindowFigure{Name: w.Name, Staff: w.Staff,
			LatePerStaff: float64(w.LateMinutes) / float64(w.Staff), AbsentPerStaff: float64(w.AbsentSegments) / 2 / float64(w.Staff)})
	}
	for i := range r.Rows {
		if n := findingsCount(&r.Rows[i].Totals); n > 0 {
			f.Top = append(f.Top, StaffFigure{Row: &r.Rows[i], Findings: n})
		}
	}
	slices.SortStableFunc(f.Top, func(a, b StaffFigure) int { return cmp.Compare(b.Findings, a.Findings) })
	if len(f.Top) > topStaff {
		f.Top = f.Top[:topStaff]
	}
	return f
}

// --- SVG ---

type svg struct{ b strings.Builder }

func (s *svg) f(format string, a ...any) { fmt.Fprintf(&s.b, format, a...) }

func esc(s string) string { return html.EscapeString(s) }

// niceMax rounds a maximum up to 1, 2 or 5 times a power of ten, for the axis.
func niceMax(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

func num(v float64) string {
	if v == math.Trunc(v) {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'f', 1, 64)
}

const svgFont = `font-family="Noto Sans CJK SC, Microsoft YaHei, SimHei, sans-serif"`

// DaysSVG is a stacked column per working day, a column's parts the finding kinds.
func (f *Figures) DaysSVG() string {
	const w, h, left, bottom, top = 760, 260, 36, 40, 28
	var s svg
	s.f(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="每日考勤问题" %s font-size="11">`, w, h, w, h, svgFont)
	maxv := 0
	for _, d := range f.Days {
		t := 0
		for _, c := range d.Counts {
			t += c
		}
		maxv = max(maxv, t)
	}
	m := niceMax(float64(maxv))
	plotH := float64(h - bottom - top)
	axis(&s, left, top, w-8, h-bottom, m)
	n := max(len(f.Days), 1)
	step := float64(w-left-8) / float64(n)
	bw := math.Max(step*0.7, 2)
	for i, d := range f.Days {
		x := float64(left) + step*float64(i) + (step-bw)/2
		y := float64(h - bottom)
		var tip []string
		for k, c := range d.Counts {
			if c == 0 {
				continue
			}
			bh := float64(c) / m * plotH
			y -= bh
			s.f(`<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="#%s"/>`, x, y, bw, bh, seriesColors[k])
			tip = append(tip, ChartSeries[k]+strconv.Itoa(c))
		}
		label := d.Day.Date.String()[5:]
		s.f(`<g><title>%s %s%s</title><rect x="%.1f" y="%d" width="%.1f" height="%.0f" fill="transparent"/></g>`,
			label, esc(d.Day.Name), esc(" "+strings.Join(tip, "、")), x, top, bw, plotH)
		if n <= 16 || i%2 == 0 {
			s.f(`<text x="%.1f" y="%d" text-anchor="middle">%s</text>`, x+bw/2, h-bottom+14, label)
		}
		if d.Day.Name != "" {
			s.f(`<text x="%.1f" y="%d" text-anchor="middle" fill="#b00" font-size="9">%s</text>`, x+bw/2, h-bottom+26, esc(d.Day.Name))
		}
	}
	legend(&s, left, 14, ChartSeries, seriesColors)
	s.f(`</svg>`)
	return s.b.String()
}

func axis(s *svg, x0, y0, x1, y1 int, m float64) {
	for i := 0; i <= 4; i++ {
		y := float64(y1) - float64(y1-y0)*float64(i)/4
		s.f(`<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd"/>`, x0, y, x1, y)
		s.f(`<text x="%d" y="%.1f" text-anchor="end">%s</text>`, x0-4, y+4, num(m*float64(i)/4))
	}
	s.f(`<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#666"/>`, x0, y1, x1, y1)
}

func legend(s *svg, x, y int, names, colors []string) {
	for i, n := range names {
		s.f(`<rect x="%d" y="%d" width="10" height="10" fill="#%s"/><text x="%d" y="%d">%s</text>`, x, y-9, colors[i], x+13, y, esc(n))
		x += 13 + 12*len([]rune(n)) + 14
	}
}

// hbars draws horizontal bars, one per label, with the value at the bar's end.
func hbars(title string, labels []string, values []float64, color string) string {
	const w, left, row, top = 380, 110, 20, 26
	h := top + row*max(len(labels), 1) + 8
	var s svg
	s.f(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="%s" %s font-size="11">`, w, h, w, h, esc(title), svgFont)
	s.f(`<text x="0" y="14" font-weight="bold">%s</text>`, esc(title))
	m := 0.0
	for _, v := range values {
		m = math.Max(m, v)
	}
	if m == 0 {
		m = 1
	}
	for i, l := range labels {
		y := top + row*i
		bw := values[i] / m * float64(w-left-44)
		s.f(`<text x="%d" y="%d" text-anchor="end">%s</text>`, left-6, y+13, esc(l))
		s.f(`<rect x="%d" y="%d" width="%.1f" height="%d" fill="#%s"><title>%s：%s</title></rect>`, left, y+3, bw, row-6, color, esc(l), num(values[i]))
		s.f(`<text x="%.1f" y="%d">%s</text>`, float64(left)+bw+4, y+13, num(values[i]))
	}
	if len(labels) == 0 {
		s.f(`<text x="%d" y="%d">无</text>`, left, top+13)
	}
	s.f(`</svg>`)
	return s.b.String()
}

// WindowsLateSVG compares the windows by late minutes per staff member.
func (f *Figures) WindowsLateSVG() string {
	labels, vals := make([]string, len(f.Windows)), make([]float64, len(f.Windows))
	for i, w := range f.Windows {
		labels[i], vals[i] = w.Name, math.Round(w.LatePerStaff*10)/10
	}
	return hbars("各窗口人均迟到分钟", labels, vals, seriesColors[0])
}

// WindowsAbsentSVG compares the windows by absent days per staff member.
func (f *Figures) WindowsAbsentSVG() string {
	labels, vals := make([]string, len(f.Windows)), make([]float64, len(f.Windows))
	for i, w := range f.Windows {
		labels[i], vals[i] = w.Name, math.Round(w.AbsentPerStaff*10)/10
	}
	return hbars("各窗口人均旷工天数", labels, vals, seriesColors[3])
}

// TopSVG lists the staff with the most findings.
func (f *Figures) TopSVG() string {
	labels, vals := make([]string, len(f.Top)), make([]float64, len(f.Top))
	for i, t := range f.Top {
		labels[i], vals[i] = t.Row.Staff.Name+"（"+t.Row.Staff.Window+"）", float64(t.Findings)
	}
	return hbars("问题最多的工作人员（迟到、早退、缺卡、旷工、脱岗次数）", labels, vals, "8E6C8A")
}

// CalendarSVG is one staff member's month as a calendar: a week per row, each day split into its
// morning (left) and afternoon (right) mark, holidays named.
func (r *MonthReport) CalendarSVG(row *Row) string {
	const cw, ch, top = 92, 54, 40
	first := r.Days[0].Date.Weekday() // Sunday 0
	lead := (int(first) + 6) % 7      // weeks start on Monday
	weeks := (lead + len(r.Days) + 6) / 7
	w, h := cw*7+2, top+ch*weeks+2
	var s svg
	s.f(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="%s" %s font-size="12">`,
		w, h, w, h, esc(row.Staff.Name+" "+r.Month.Chinese()), svgFont)
	for i, n := range []string{"一", "二", "三", "四", "五", "六", "日"} {
		s.f(`<text x="%d" y="%d" text-anchor="middle" font-weight="bold">周%s</text>`, 1+cw*i+cw/2, top-12, n)
	}
	for i, d := range r.Days {
		k := lead + i
		x, y := 1+cw*(k%7), top+ch*(k/7)
		fill := "#fff"
		if !d.Working {
			fill = "#eee"
		}
		s.f(`<rect x="%d" y="%d" width="%d" height="%d" fill="%s" stroke="#999"/>`, x, y, cw, ch, fill)
		s.f(`<text x="%d" y="%d">%d</text>`, x+4, y+14, d.Date.Time().Day())
		if d.Name != "" {
			s.f(`<text x="%d" y="%d" text-anchor="end" font-size="10" fill="#b00">%s</text>`, x+cw-4, y+14, esc(d.Name))
		}
		for seg := 0; seg < 2; seg++ {
			m := row.Marks[2*i+seg]
			color := "#2D9C7F"
			switch m & markSymbol {
			case MarkPresent:
			case MarkRest, MarkNone:
				color = "#888"
			default:
				color = "#D64541"
			}
			half := "上午"
			if seg == 1 {
				half = "下午"
			}
			s.f(`<text x="%d" y="%d" text-anchor="middle" font-size="16" fill="%s"><title>%s %s：%s</title>%s</text>`,
				x+cw/4+seg*cw/2, y+42, color, d.Date.String()[5:], half, esc(markTitle(m)), esc(m.Text()))
		}
	}
	s.f(`</svg>`)
	return s.b.String()
}

func markTitle(m Mark) string {
	t := m.Name()
	if m.Corrected() {
		t += "（结账后更正）"
	}
	if m.Provisional() {
		t += "（暂定）"
	}
	return t
}

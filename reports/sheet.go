package reports

import (
	"strconv"
	"strings"

	"github.com/kaoqin/kaoqin/attendance"
)

// The 考勤表 (attendance sheet): one row per staff member, one column per day of the month, a
// symbol per half-day. It is the page a Chinese center prints, signs and files; the findings
// detail says why each symbol is what it is.

// Day is a calendar day of the report's month.
type Day struct {
	Date    attendance.Date
	Working bool
	// Name names a holiday (国庆节), a make-up working day (调休上班) or an override; "" for an
	// ordinary day.
	Name string
}

// Mark is one half-day of the sheet: a symbol, and whether it is provisional (R19) or was
// corrected after the month was closed.
type Mark uint8

// The symbols of the sheet, in the order of the legend.
const (
	MarkNone    Mark = iota // a working day without a result: before joining or after leaving
	MarkPresent             // √
	MarkLate                // 迟
	MarkEarly               // 早
	MarkMissing             // 缺
	MarkAbsent              // 旷
	MarkLeave               // 假
	MarkExempt              // 免
	MarkOffPost             // 脱
	MarkRest                // 休: not a working day

	markSymbol      Mark = 0x0f
	MarkProvisional Mark = 0x10
	MarkCorrected   Mark = 0x20
)

var markSymbols = [...]string{MarkNone: "－", MarkPresent: "√", MarkLate: "迟", MarkEarly: "早", MarkMissing: "缺",
	MarkAbsent: "旷", MarkLeave: "假", MarkExempt: "免", MarkOffPost: "脱", MarkRest: "休"}

var markNames = [...]string{MarkNone: "不在职", MarkPresent: "出勤", MarkLate: "迟到", MarkEarly: "早退", MarkMissing: "缺卡",
	MarkAbsent: "旷工", MarkLeave: "请假", MarkExempt: "故障免责", MarkOffPost: "脱岗", MarkRest: "休息日"}

// Symbol is the mark's symbol without its flags.
func (m Mark) Symbol() string { return markSymbols[m&markSymbol] }

// Name is the symbol's meaning, for a tooltip.
func (m Mark) Name() string { return markNames[m&markSymbol] }

// Provisional reports the provisional flag.
func (m Mark) Provisional() bool { return m&MarkProvisional != 0 }

// Corrected reports the corrected flag.
func (m Mark) Corrected() bool { return m&MarkCorrected != 0 }

// Text is the symbol with its flags as printed: "迟*" provisional, "假#" corrected.
func (m Mark) Text() string {
	s := m.Symbol()
	if m.Corrected() {
		s += "#"
	}
	if m.Provisional() {
		s += "*"
	}
	return s
}

// markOf picks the one symbol of a result. A segment can carry several findings; the sheet shows
// the one that weighs most (absent before leave before off post before a missing punch before
// late before early before exempt), and the findings detail lists them all. A missing sign-in is
// LATE with 0 minutes (R7): it shows as 缺.
func markOf(r *Result) Mark {
	f := r.Findings
	var m Mark
	switch {
	case f.Has(attendance.Absent):
		m = MarkAbsent
	case f.Has(attendance.OnLeave):
		m = MarkLeave
	case f.Has(attendance.OffPost):
		m = MarkOffPost
	case f.Has(attendance.MissingIn) || f.Has(attendance.MissingOut):
		m = MarkMissing
	case f.Has(attendance.Late):
		m = MarkLate
	case f.Has(attendance.Early):
		m = MarkEarly
	case f.Has(attendance.Exempt):
		m = MarkExempt
	default:
		m = MarkPresent
	}
	if r.Provisional {
		m |= MarkProvisional
	}
	return m
}

// Legend explains the sheet's symbols, in the order they are printed.
func Legend() string { return legendText(true) }

// legendText says how the flags are shown: by "*" and "#" after the symbol (flags), or by the cell's
// shading (the workbook, whose day columns hold one symbol).
func legendText(flags bool) string {
	var b strings.Builder
	for m := MarkPresent; m <= MarkRest; m++ {
		b.WriteString(m.Symbol() + " " + m.Name() + "　")
	}
	if flags {
		b.WriteString("－ 不在职　* 暂定（可能变化）　# 结账后更正。")
	} else {
		b.WriteString("－ 不在职　黄底 暂定（可能变化）　蓝底 结账后更正。")
	}
	b.WriteString("每格上为上午、下为下午；每日合计按时段（半天）计，脱岗按次计。")
	return b.String()
}

// monthDays lists the days of m on cal.
func monthDays(m Month, cal *attendance.Calendar) []Day {
	if cal == nil {
		cal = attendance.WeekdayCalendar()
	}
	var out []Day
	for d := m.First(); d <= m.Last(); d++ {
		out = append(out, Day{Date: d, Working: cal.Working(d), Name: cal.DayName(d)})
	}
	return out
}

// DayNotes names the month's holidays and make-up days, runs of the same name as one span:
// "10-01至10-07 国庆节；10-10 调休上班". Empty when the month has none.
func (r *MonthReport) DayNotes() string {
	var parts []string
	for i := 0; i < len(r.Days); {
		d := r.Days[i]
		if d.Name == "" {
			i++
			continue
		}
		j := i
		for j+1 < len(r.Days) && r.Days[j+1].Name == d.Name && r.Days[j+1].Working == d.Working {
			j++
		}
		s := d.Date.String()[5:]
		if j > i {
			s += "至" + r.Days[j].Date.String()[5:]
		}
		parts = append(parts, s+" "+d.Name)
		i = j + 1
	}
	return strings.Join(parts, "；")
}

// dayTotalRows are the per-day totals under the sheet: how many half-days of each.
var dayTotalRows = []struct {
	name string
	get  func(t *Totals) int
}{
	{"出勤", func(t *Totals) int { return t.Present }},
	{"迟到", func(t *Totals) int { return t.Late }},
	{"早退", func(t *Totals) int { return t.Early }},
	{"缺卡", func(t *Totals) int { return t.MissingPunches }},
	{"旷工", func(t *Totals) int { return t.AbsentSegments }},
	{"请假", func(t *Totals) int { return t.LeaveTotal() }},
	{"脱岗", func(t *Totals) int { return t.OffPost }},
}

// sheetTotalColumns are the per-person totals at the sheet's right.
//
// With the id, the name and 31 days of 2.4 they make 113 of the 114 units an A4 landscape page
// holds between its margins at 100 %: checked by the LibreOffice test on a 31-day month.
var sheetTotalColumns = []column{{"出勤天数", 3.6, kDays}, {"迟到", 3.2, kInt}, {"早退", 3.2, kInt}, {"缺卡", 3.2, kInt},
	{"旷工天数", 3.6, kDays}, {"请假天数", 3.6, kDays}, {"脱岗", 3.2, kInt}, {"免责", 3.2, kInt}}

func sheetTotalCells(t *Totals, dst []cell) []cell {
	return append(dst, cell{n: t.Present}, cell{n: t.Late}, cell{n: t.Early}, cell{n: t.MissingPunches},
		cell{n: t.AbsentSegments}, cell{n: t.LeaveTotal()}, cell{n: t.OffPost}, cell{n: t.Exempt})
}

// cellMarks is a day's two half-days as one cell: "√\n迟" (morning above afternoon), a day off as
// a single 休.
func cellMarks(am, pm Mark) string {
	if am == MarkRest && pm == MarkRest {
		return "休"
	}
	return am.Text() + "\n" + pm.Text()
}

// sheetTable is the 考勤表 as a table: a column per day (kMarks), the totals at the right, and
// the per-day totals as extra rows at the bottom.
func (r *MonthReport) sheetTable() *table {
	cols := []column{{"工号", 5.5, kText}, {"姓名", 6.5, kText}}
	for _, d := range r.Days {
		h := strconv.Itoa(d.Date.Time().Day()) + "\n" + weekdays[d.Date.Weekday()]
		cols = append(cols, column{h, 2.4, kMarks})
	}
	cols = append(cols, sheetTotalColumns...)
	nd := len(r.Days)
	return &table{name: "考勤表", cols: cols, rows: len(r.Rows) + len(dayTotalRows), days: r.Days, firstDay: 2,
		row: func(i int, dst []cell) []cell {
			if i >= len(r.Rows) {
				k := dayTotalRows[i-len(r.Rows)]
				dst = append(dst, cell{s: "每日", raw: true}, cell{s: k.name, raw: true})
				for j := range r.DayTotals {
					c := cell{raw: true, n: k.get(&r.DayTotals[j])}
					if r.Days[j].Working || c.n != 0 {
						c.s = strconv.Itoa(c.n)
					}
					dst = append(dst, c)
				}
				for range sheetTotalColumns {
					dst = append(dst, cell{raw: true})
				}
				return dst
			}
			x := &r.Rows[i]
			dst = append(dst, cell{s: x.Staff.ID}, cell{s: x.Staff.Name})
			for j := 0; j < nd; j++ {
				am, pm := x.Marks[2*j], x.Marks[2*j+1]
				dst = append(dst, cell{s: cellMarks(am, pm), n: int(am | pm)})
			}
			return sheetTotalCells(&x.Totals, dst)
		},
	}
}

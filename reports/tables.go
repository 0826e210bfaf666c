package reports

import (
	"strconv"
	"strings"

	"github.com/kaoqin/kaoqin/attendance"
	"github.com/kaoqin/kaoqin/leave"
)

// The report's views as tables, shared by the XLSX, CSV and HTML writers so that every format
// has the same columns in the same order.

type kind uint8

const (
	kText  kind = iota
	kInt        // a count or minutes
	kDays       // a count of segments, shown as days (n/2, one decimal)
	kDate       // s is YYYY-MM-DD
	kMarks      // a day of the 考勤表: s is the morning's and the afternoon's marks, "\n" between
)

type column struct {
	head  string
	width float64 // XLSX column width, in characters
	kind  kind
}

type cell struct {
	s string
	n int // the number of kInt and kDays; a kMarks cell's marks ORed (for its flags)
	// raw cells show s whatever their column's kind (the per-day totals under the sheet).
	raw bool
}

func (c cell) text(k kind) string {
	if c.raw {
		return c.s
	}
	switch k {
	case kInt:
		return strconv.Itoa(c.n)
	case kDays:
		return halfDays(c.n)
	}
	return c.s
}

type table struct {
	name  string // sheet name, section heading
	cols  []column
	rows  int
	row   func(i int, dst []cell) []cell
	total func(dst []cell) []cell // the 合计 line, or nil
	wrap  bool                    // long texts: wrap in XLSX, smaller print in HTML
	// days are the 考勤表's day columns, from column firstDay on (nil on every other table).
	days     []Day
	firstDay int
}

var totalColumns = func() []column {
	cs := []column{{"应出勤天数", 10, kDays}, {"出勤时段", 8, kInt}, {"迟到次数", 8, kInt}, {"迟到分钟", 8, kInt},
		{"早退次数", 8, kInt}, {"早退分钟", 8, kInt}, {"缺卡次数", 8, kInt}, {"旷工天数", 8, kDays}, {"脱岗次数", 8, kInt}}
	for _, t := range leave.Types {
		cs = append(cs, column{t.Chinese() + "（天）", float64(len([]rune(t.Chinese()))*2 + 5), kDays})
	}
	return append(cs, column{"请假合计（天）", 12, kDays}, column{"免责次数", 8, kInt}, column{"未认可假条", 10, kInt}, column{"暂定时段", 8, kInt})
}()

func totalCells(t *Totals, dst []cell) []cell {
	dst = append(dst, cell{n: t.SegmentsDue}, cell{n: t.Present}, cell{n: t.Late}, cell{n: t.LateMinutes},
		cell{n: t.Early}, cell{n: t.EarlyMinutes}, cell{n: t.MissingPunches}, cell{n: t.AbsentSegments}, cell{n: t.OffPost})
	for _, v := range t.LeaveSegments {
		dst = append(dst, cell{n: v})
	}
	return append(dst, cell{n: t.LeaveTotal()}, cell{n: t.Exempt}, cell{n: t.UnrecognisedSlips}, cell{n: t.Provisional})
}

// printColumns are the totals of the printed summaries: the leave types are summed here and
// listed on a sheet of their own (请假), so that a summary fits an A4 width at a legible size.
//
// Widths are in Excel's units; an A4 landscape page between the margins holds about 112.
var printColumns = []column{{"应出勤天数", 5.5, kDays}, {"出勤时段", 5.5, kInt}, {"迟到次数", 5.5, kInt}, {"迟到分钟", 5.5, kInt},
	{"早退次数", 5.5, kInt}, {"早退分钟", 5.5, kInt}, {"缺卡次数", 5.5, kInt}, {"旷工天数", 5.5, kDays}, {"脱岗次数", 5.5, kInt},
	{"请假天数", 5.5, kDays}, {"免责次数", 5.5, kInt}, {"未认可假条", 5.5, kInt}, {"暂定时段", 5.5, kInt}}

func printCells(t *Totals, dst []cell) []cell {
	return append(dst, cell{n: t.SegmentsDue}, cell{n: t.Present}, cell{n: t.Late}, cell{n: t.LateMinutes},
		cell{n: t.Early}, cell{n: t.EarlyMinutes}, cell{n: t.MissingPunches}, cell{n: t.AbsentSegments}, cell{n: t.OffPost},
		cell{n: t.LeaveTotal()}, cell{n: t.Exempt}, cell{n: t.UnrecognisedSlips}, cell{n: t.Provisional})
}

// totalsOf picks the columns: every one (CSV, for programs) or the printed ones.
func totalsOf(full bool) ([]column, func(*Totals, []cell) []cell) {
	if full {
		return totalColumns, totalCells
	}
	return printColumns, printCells
}

func (r *MonthReport) staffTable(full bool) *table {
	cols, cells := totalsOf(full)
	id := []column{{"工号", 6, kText}, {"姓名", 7, kText}, {"窗口", 10, kText}, {"单位", 11, kText}}
	if full {
		id = []column{{"工号", 10, kText}, {"姓名", 10, kText}, {"窗口", 12, kText}, {"单位", 14, kText}}
	}
	return &table{name: "个人汇总",
		cols: append(id, cols...),
		rows: len(r.Rows),
		row: func(i int, dst []cell) []cell {
			x := &r.Rows[i]
			return cells(&x.Totals, append(dst, cell{s: x.Staff.ID}, cell{s: x.Staff.Name}, cell{s: x.Staff.Window}, cell{s: x.Staff.Unit}))
		},
		total: func(dst []cell) []cell {
			return cells(&r.Total, append(dst, cell{s: "合计"}, cell{s: strconv.Itoa(r.Total.Staff) + "人"}, cell{}, cell{}))
		},
	}
}

func (r *MonthReport) windowTable(full bool) *table {
	cols, cells := totalsOf(full)
	return &table{name: "窗口汇总",
		cols: append([]column{{"窗口", 14, kText}, {"单位", 16, kText}, {"人数", 5, kInt}}, cols...),
		rows: len(r.Windows),
		row: func(i int, dst []cell) []cell {
			g := &r.Windows[i]
			return cells(&g.Totals, append(dst, cell{s: g.Name}, cell{s: strings.Join(g.Units, "、")}, cell{n: g.Staff}))
		},
		total: func(dst []cell) []cell {
			return cells(&r.Total, append(dst, cell{s: "合计"}, cell{}, cell{n: r.Total.Staff}))
		},
	}
}

func (r *MonthReport) unitTable(full bool) *table {
	cols, cells := totalsOf(full)
	return &table{name: "单位汇总",
		cols: append([]column{{"单位", 16, kText}, {"人数", 5, kInt}}, cols...),
		rows: len(r.Units),
		row: func(i int, dst []cell) []cell {
			g := &r.Units[i]
			return cells(&g.Totals, append(dst, cell{s: g.Name}, cell{n: g.Staff}))
		},
		total: func(dst []cell) []cell {
			return cells(&r.Total, append(dst, cell{s: "合计"}, cell{n: r.Total.Staff}))
		},
	}
}

// leaveTable is the leave of the month by type, for the staff members who had any.
func (r *MonthReport) leaveTable() *table {
	var who []int
	for i := range r.Rows {
		if r.Rows[i].LeaveTotal() > 0 {
			who = append(who, i)
		}
	}
	cols := []column{{"工号", 6, kText}, {"姓名", 7, kText}, {"窗口", 10, kText}, {"单位", 11, kText}}
	for _, t := range leave.Types {
		cols = append(cols, column{t.Chinese() + "（天）", 5.5, kDays})
	}
	cols = append(cols, column{"其他（天）", 5.5, kDays}, column{"合计（天）", 5.5, kDays})
	cells := func(t *Totals, dst []cell) []cell {
		for _, v := range t.LeaveSegments {
			dst = append(dst, cell{n: v})
		}
		return append(dst, cell{n: t.LeaveOther}, cell{n: t.LeaveTotal()})
	}
	return &table{name: "请假", cols: cols, rows: len(who),
		row: func(i int, dst []cell) []cell {
			x := &r.Rows[who[i]]
			return cells(&x.Totals, append(dst, cell{s: x.Staff.ID}, cell{s: x.Staff.Name}, cell{s: x.Staff.Window}, cell{s: x.Staff.Unit}))
		},
		total: func(dst []cell) []cell {
			return cells(&r.Total, append(dst, cell{s: "合计"}, cell{s: strconv.Itoa(len(who)) + "人"}, cell{}, cell{}))
		},
	}
}

// detailTable is the findings detail: every column apart (CSV) or, printed, the evidence in one
// wrapped column so that it is shown in full on an A4 width.
func (r *MonthReport) detailTable(full bool) *table {
	if !full {
		return &table{name: "明细", wrap: true,
			cols: []column{{"工号", 6, kText}, {"姓名", 7, kText}, {"窗口", 9, kText}, {"日期", 10, kDate}, {"星期", 4, kText},
				{"时段", 4, kText}, {"状态", 4, kText}, {"考勤结果", 13, kText}, {"签到", 5, kText}, {"签退", 5, kText},
				{"依据（打卡、请假条、巡查、故障报告）", 44, kText}},
			rows: len(r.Details),
			row: func(i int, dst []cell) []cell {
				d := &r.Details[i]
				return append(dst, cell{s: d.Staff.ID}, cell{s: d.Staff.Name}, cell{s: d.Staff.Window},
					cell{s: d.Date.String()}, cell{s: r.dayText(d.Date)}, cell{s: segmentName(d.Segment)}, cell{s: status(d.Provisional)},
					cell{s: findingsText(d.Result)}, cell{s: d.SignIn.String()}, cell{s: d.SignOut.String()}, cell{s: evidenceText(&d.Evidence)})
			},
		}
	}
	return &table{name: "明细", wrap: true,
		cols: []column{{"工号", 10, kText}, {"姓名", 10, kText}, {"窗口", 12, kText}, {"单位", 14, kText},
			{"日期", 11, kDate}, {"星期", 5, kText}, {"时段", 5, kText}, {"状态", 5, kText}, {"考勤结果", 24, kText},
			{"迟到分钟", 8, kInt}, {"早退分钟", 8, kInt}, {"脱岗次数", 8, kInt}, {"假别", 8, kText},
			{"签到", 6, kText}, {"签退", 6, kText}, {"打卡记录", 36, kText}, {"请假条", 48, kText},
			{"巡查记录", 28, kText}, {"故障报告", 28, kText}},
		rows: len(r.Details),
		row: func(i int, dst []cell) []cell {
			d := &r.Details[i]
			lt := ""
			if d.LeaveType != "" {
				lt = leaveName(d.LeaveType)
			}
			return append(dst, cell{s: d.Staff.ID}, cell{s: d.Staff.Name}, cell{s: d.Staff.Window}, cell{s: d.Staff.Unit},
				cell{s: d.Date.String()}, cell{s: r.dayText(d.Date)}, cell{s: segmentName(d.Segment)}, cell{s: status(d.Provisional)},
				cell{s: findingsText(d.Result)}, cell{n: d.LateMinutes}, cell{n: d.EarlyMinutes}, cell{n: d.OffPost}, cell{s: lt},
				cell{s: d.SignIn.String()}, cell{s: d.SignOut.String()}, cell{s: punchesText(d.Evidence.Punches)},
				cell{s: slipsText(d.Evidence.Slips)}, cell{s: patrolsText(d.Evidence.Patrols)}, cell{s: failuresText(d.Evidence.Failures)})
		},
	}
}

// dayText is a date's weekday, with its name when the calendar names it: "周六（调休上班）".
func (r *MonthReport) dayText(d attendance.Date) string {
	w := weekday(d)
	if i := int(d - r.Month.First()); i >= 0 && i < len(r.Days) && r.Days[i].Name != "" {
		w += "（" + r.Days[i].Name + "）"
	}
	return w
}

// correctionTable lists a closed month's corrections; nil while the month is open.
func (r *MonthReport) correctionTable() *table {
	if r.Closing == nil {
		return nil
	}
	cs := r.Closing.Corrections
	names := map[string]string{}
	for i := range r.Rows {
		names[r.Rows[i].Staff.ID] = r.Rows[i].Staff.Name
	}
	return &table{name: "结账更正", wrap: true,
		cols: []column{{"工号", 6, kText}, {"姓名", 7, kText}, {"日期", 10, kDate}, {"时段", 4, kText},
			{"更正内容", 22, kText}, {"原因", 36, kText}, {"更正人", 10, kText}, {"更正时间", 14, kText}},
		rows: len(cs),
		row: func(i int, dst []cell) []cell {
			c := &cs[i]
			return append(dst, cell{s: c.StaffID}, cell{s: names[c.StaffID]}, cell{s: c.Date.String()}, cell{s: segmentName(c.Segment)},
				cell{s: c.Change}, cell{s: c.Reason}, cell{s: c.Actor}, cell{s: c.At.Format("2006-01-02 15:04")})
		},
	}
}

// tables are the report's printed views in the order of the workbook's sheets and the HTML
// report's sections: summary, sheet, findings with their evidence, leave, then the groups.
func (r *MonthReport) tables() []*table {
	ts := []*table{r.staffTable(false), r.sheetTable(), r.detailTable(false), r.leaveTable(), r.windowTable(false), r.unitTable(false)}
	if c := r.correctionTable(); c != nil {
		ts = append(ts, c)
	}
	return ts
}

package reports

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"golang.org/x/text/collate"
	"golang.org/x/text/language"

	"github.com/kaoqin/kaoqin/attendance"
	"github.com/kaoqin/kaoqin/leave"
)

// Totals are the columns of the monthly discipline report (R20), for one staff member or summed
// over a window, a unit or the center. Every working segment is exactly one of present, absent
// or on leave, so SegmentsDue = Present + AbsentSegments + the LeaveSegments: a check the tests
// make on every row.
type Totals struct {
	// Staff is how many staff members a group sums (1 on a staff member's row).
	Staff int
	// SegmentsDue counts the staff member's results in the month: one per working segment the
	// calendar (R5) made them due. Working days due (应出勤天数) is SegmentsDue / 2, so a staff
	// member who joined or left mid-month is due only the days they have results for.
	SegmentsDue int
	// Present (出勤时段) counts the working segments that are neither ABSENT nor LEAVE: the staff
	// member was there, by punch, by patrol (R11), or with a missing punch excused (R9) or
	// counted as LATE/EARLY (R7). A segment with an off-post episode is still present.
	Present int
	// Late (迟到次数) counts segments with LATE, including the 0-minute LATE of a missing sign-in
	// (R7); LateMinutes sums their minutes. Early and EarlyMinutes likewise for EARLY.
	Late, LateMinutes   int
	Early, EarlyMinutes int
	// MissingPunches (缺卡次数) counts MISSING_IN and MISSING_OUT findings, one each; the two
	// missing punches of an ABSENT segment are not counted again (R7, R13), nor a missing punch
	// excused by a failure report (EXEMPT, R9) or by leave (R12).
	MissingPunches int
	// AbsentSegments counts segments with ABSENT; ABSENT days (旷工天数) are half of it.
	AbsentSegments int
	// OffPost (脱岗次数) sums the OFF_POST episodes (a segment may hold more than one).
	OffPost int
	// LeaveSegments counts LEAVE segments by leave type, indexed like leave.Types; leave days
	// (请假天数) are half of each, and a temporary absence booked as half a day (R15) is one
	// segment. LeaveOther counts LEAVE segments of a type not in leave.Types.
	LeaveSegments [numLeaveTypes]int
	LeaveOther    int
	// Exempt (免责次数) counts segments with EXEMPT (one per segment, whether one or both of its
	// punches were excused).
	Exempt int
	// UnrecognisedSlips (未认可假条) counts distinct unrecognised slips (by Ref) in the evidence of
	// the month's segments: a slip over three days counts once, and a slip reaching into the next
	// month counts in both months. Group totals sum their staff members' counts.
	UnrecognisedSlips int
	// Provisional (暂定时段) counts results that may still change (R19).
	Provisional int
}

const numLeaveTypes = 10

var leaveIndex = func() map[string]int {
	if len(leave.Types) != numLeaveTypes {
		panic("reports: numLeaveTypes does not match leave.Types")
	}
	m := map[string]int{}
	for i, t := range leave.Types {
		m[string(t)] = i
	}
	return m
}()

// LeaveTotal is every LEAVE segment, of any type.
func (t *Totals) LeaveTotal() int {
	n := t.LeaveOther
	for _, v := range t.LeaveSegments {
		n += v
	}
	return n
}

func (t *Totals) add(o *Totals) {
	t.Staff += o.Staff
	t.SegmentsDue += o.SegmentsDue
	t.Present += o.Present
	t.Late += o.Late
	t.LateMinutes += o.LateMinutes
	t.Early += o.Early
	t.EarlyMinutes += o.EarlyMinutes
	t.MissingPunches += o.MissingPunches
	t.AbsentSegments += o.AbsentSegments
	t.OffPost += o.OffPost
	for i := range t.LeaveSegments {
		t.LeaveSegments[i] += o.LeaveSegments[i]
	}
	t.LeaveOther += o.LeaveOther
	t.Exempt += o.Exempt
	t.UnrecognisedSlips += o.UnrecognisedSlips
	t.Provisional += o.Provisional
}

// count adds one result to t.
func (t *Totals) count(r *Result) {
	f := r.Findings
	t.SegmentsDue++
	switch {
	case f.Has(attendance.OnLeave):
		if i, ok := leaveIndex[r.LeaveType]; ok {
			t.LeaveSegments[i]++
		} else {
			t.LeaveOther++
		}
	case f.Has(attendance.Absent):
		t.AbsentSegments++
	default:
		t.Present++
	}
	if f.Has(attendance.Late) {
		t.Late++
		t.LateMinutes += r.LateMinutes
	}
	if f.Has(attendance.Early) {
		t.Early++
		t.EarlyMinutes += r.EarlyMinutes
	}
	if !f.Has(attendance.Absent) {
		if f.Has(attendance.MissingIn) {
			t.MissingPunches++
		}
		if f.Has(attendance.MissingOut) {
			t.MissingPunches++
		}
	}
	if f.Has(attendance.OffPost) {
		t.OffPost += max(r.OffPost, 1)
	}
	if f.Has(attendance.Exempt) {
		t.Exempt++
	}
	if r.Provisional {
		t.Provisional++
	}
}

// Row is one staff member's line of the report.
type Row struct {
	Staff Staff
	Totals
	// Marks are the 考勤表's half-days: two per day of the month (morning, afternoon).
	Marks []Mark
}

// Group is a window's or a unit's line: the sum of its staff members' rows.
type Group struct {
	Name string
	// Units are the units of a window's staff (usually one); empty on a unit's line.
	Units []string
	Totals
}

// Detail is one segment with findings and the staff member it belongs to.
type Detail struct {
	Staff *Staff
	*Result
}

// MonthReport is the monthly discipline report (R20), ready to be written in any format.
type MonthReport struct {
	Month     Month
	Center    string
	Scope     string
	Closing   *Closing
	Generated time.Time
	Days      []Day    // every day of the month
	DayTotals []Totals // per day of Days, summed over the staff (the sheet's bottom lines)
	Rows      []Row    // by staff id
	Windows   []Group  // by window name, in pinyin order
	Units     []Group  // by unit name, in pinyin order
	Total     Totals   // the whole center
	// Details are the segments with findings, by staff id, date and segment.
	Details []Detail
}

// BuildMonth counts the month. It keeps pointers into in.Results, which must not change while
// the report is in use.
func BuildMonth(in *MonthInput) *MonthReport {
	rep := &MonthReport{Month: in.Month, Center: in.Center, Scope: in.Scope, Closing: in.Closing, Generated: in.Generated,
		Days: monthDays(in.Month, in.Calendar)}
	rep.DayTotals = make([]Totals, len(rep.Days))
	first, last := in.Month.First(), in.Month.Last()
	// Every row's marks start as the calendar says: 休 on days off, 不在职 on working days until a
	// result says otherwise. One backing array for all rows.
	blank := make([]Mark, 2*len(rep.Days))
	for i, d := range rep.Days {
		if !d.Working {
			blank[2*i], blank[2*i+1] = MarkRest, MarkRest
		}
	}
	marks := make([]Mark, 0, len(blank)*len(in.Staff))
	newRow := func(s Staff) Row {
		if len(marks)+len(blank) > cap(marks) {
			marks = make([]Mark, 0, len(blank)*16)
		}
		start := len(marks)
		marks = append(marks, blank...)
		return Row{Staff: s, Totals: Totals{Staff: 1}, Marks: marks[start:len(marks):len(marks)]}
	}
	index := make(map[string]int, len(in.Staff))
	rows := make([]Row, 0, len(in.Staff))
	for _, s := range in.Staff {
		if _, dup := index[s.ID]; dup {
			continue
		}
		index[s.ID] = len(rows)
		rows = append(rows, newRow(s))
	}
	slips := map[string]map[string]bool{} // staff id → unrecognised slip refs
	var details []int
	for i := range in.Results {
		r := &in.Results[i]
		if r.Date < first || r.Date > last {
			continue
		}
		ri, ok := index[r.StaffID]
		if !ok {
			ri = len(rows)
			index[r.StaffID] = ri
			rows = append(rows, newRow(Staff{ID: r.StaffID}))
		}
		rows[ri].count(r)
		day := int(r.Date - first)
		rows[ri].Marks[2*day+int(r.Segment)] = markOf(r)
		rep.DayTotals[day].count(r)
		if r.Findings != 0 {
			details = append(details, i)
		}
		for _, s := range r.Evidence.Slips {
			if s.Recognised {
				continue
			}
			set := slips[r.StaffID]
			if set == nil {
				set = map[string]bool{}
				slips[r.StaffID] = set
			}
			set[slipKey(&s)] = true
		}
	}
	for id, set := range slips {
		rows[index[id]].UnrecognisedSlips = len(set)
	}
	if in.Closing != nil {
		for _, c := range in.Closing.Corrections {
			if ri, ok := index[c.StaffID]; ok && c.Date >= first && c.Date <= last {
				rows[ri].Marks[2*int(c.Date-first)+int(c.Segment)] |= MarkCorrected
			}
		}
	}
	// Inactive staff without a result this month left before it.
	rows = slices.DeleteFunc(rows, func(r Row) bool { return !r.Staff.Active && r.SegmentsDue == 0 })
	slices.SortFunc(rows, func(a, b Row) int { return strings.Compare(a.Staff.ID, b.Staff.ID) })
	rep.Rows = rows

	coll := collate.New(language.SimplifiedChinese, collate.Numeric)
	windows, units := map[string]*Group{}, map[string]*Group{}
	for i := range rows {
		r := &rows[i]
		rep.Total.add(&r.Totals)
		w := groupOf(windows, r.Staff.Window)
		w.add(&r.Totals)
		if !slices.Contains(w.Units, r.Staff.Unit) {
			w.Units = append(w.Units, r.Staff.Unit)
		}
		groupOf(units, r.Staff.Unit).add(&r.Totals)
	}
	rep.Windows = sortedGroups(windows, coll)
	rep.Units = sortedGroups(units, coll)
	for i := range rep.Windows {
		slices.SortFunc(rep.Windows[i].Units, coll.CompareString)
	}

	rep.Details = make([]Detail, len(details))
	for k, i := range details {
		r := &in.Results[i]
		rep.Details[k] = Detail{Result: r}
	}
	slices.SortFunc(rep.Details, func(a, b Detail) int {
		return cmp.Or(strings.Compare(a.StaffID, b.StaffID), cmp.Compare(a.Date, b.Date), cmp.Compare(a.Segment, b.Segment))
	})
	for k := range rep.Details {
		d := &rep.Details[k]
		d.Staff = &rep.Rows[rowIndex(rep.Rows, d.StaffID)].Staff
	}
	return rep
}

// rowIndex finds a staff id in rows sorted by id.
func rowIndex(rows []Row, id string) int {
	i, _ := slices.BinarySearchFunc(rows, id, func(r Row, id string) int { return strings.Compare(r.Staff.ID, id) })
	return i
}

func slipKey(s *Slip) string {
	if s.Ref != "" {
		return s.Ref
	}
	return s.Type + "|" + s.From.String() + "|" + s.To.String()
}

func groupOf(m map[string]*Group, name string) *Group {
	g := m[name]
	if g == nil {
		g = &Group{Name: name}
		m[name] = g
	}
	return g
}

func sortedGroups(m map[string]*Group, coll *collate.Collator) []Group {
	out := make([]Group, 0, len(m))
	for _, g := range m {
		out = append(out, *g)
	}
	slices.SortFunc(out, func(a, b Group) int {
		return cmp.Or(coll.CompareString(a.Name, b.Name), strings.Compare(a.Name, b.Name))
	})
	return out
}

// Provisional reports how many of the month's results may still change.
func (r *MonthReport) Provisional() int { return r.Total.Provisional }

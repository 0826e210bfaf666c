package reports

import (
	"fmt"
	"time"

	"github.com/kaoqin/kaoqin/attendance"
)

// Staff is a staff member as the reports name them.
type Staff struct {
	ID, Name string
	Window   string // the service window (窗口) the staff member sits at
	Unit     string // the window unit (窗口单位) that stations them
	// Active staff are listed even without a result in the period; inactive staff only when they
	// have results in it (they left during the month).
	Active bool
	// Clocks are the clocks the staff member uses, for the daily status's list of clocks not read
	// (empty: every clock).
	Clocks []string
}

// Month is a calendar month.
type Month struct {
	Year  int
	Month time.Month
}

// ParseMonth parses "YYYY-MM".
func ParseMonth(s string) (Month, error) {
	t, err := time.Parse("2006-01", s)
	if err != nil {
		return Month{}, fmt.Errorf("bad month %q: want YYYY-MM", s)
	}
	return Month{t.Year(), t.Month()}, nil
}

// First is the first day of m.
func (m Month) First() attendance.Date { return attendance.MakeDate(m.Year, m.Month, 1) }

// Last is the last day of m.
func (m Month) Last() attendance.Date { return attendance.MakeDate(m.Year, m.Month+1, 0) }

func (m Month) String() string { return fmt.Sprintf("%04d-%02d", m.Year, int(m.Month)) }

// Chinese is "2026年9月".
func (m Month) Chinese() string { return fmt.Sprintf("%d年%d月", m.Year, int(m.Month)) }

// Result is the classification of one working segment of one staff member (R18), whether
// computed just now from files or read back from the store.
type Result struct {
	StaffID  string
	Date     attendance.Date
	Segment  attendance.Segment
	Findings attendance.Findings
	// LateMinutes and EarlyMinutes go with LATE and EARLY (0 when the punch is missing, R7).
	LateMinutes, EarlyMinutes int
	// OffPost is the number of OFF_POST episodes that start in the segment (R10, R16).
	OffPost int
	// LeaveType is the leave.Type of LEAVE, empty without it.
	LeaveType       string
	SignIn, SignOut attendance.Minute // attendance.NoMinute when none counted
	// Provisional results may still change (R19): a clock the staff member uses has not been read
	// past the end of the segment's sign-out window.
	Provisional bool
	// Evidence is shown only for segments with findings; a caller may leave it empty for normal
	// segments.
	Evidence Evidence
}

// Evidence is what a result rests on, in the words of the reports.
type Evidence struct {
	Punches  []Punch // every punch of the half-day, those that count and the others (R8)
	Slips    []Slip  // slips overlapping the working hours, recognised or not
	Patrols  []Patrol
	Failures []Failure
}

// PunchUse says what a punch counted for.
type PunchUse uint8

// The uses of a punch.
const (
	Unused  PunchUse = iota // inside a punch window, but not the punch that counts (a repeat)
	SignIn                  // the sign-in of the segment (R6)
	SignOut                 // the sign-out of the segment (R6)
	Stray                   // outside both punch windows: counts for nothing (R8)
)

// Punch is one punch or manual sign-in.
type Punch struct {
	At     time.Time // wall clock
	Clock  string    // the clock's name; empty for a manual sign-in
	Manual bool
	// Reason and RecordedBy are a manual sign-in's: why the clock was not used, and who recorded it.
	Reason, RecordedBy string
	Use                PunchUse
}

// Slip is a leave slip as judged (R12–R17).
type Slip struct {
	Ref      string // where the slip comes from (file:line, database id); distinct slips, distinct refs
	Type     string // a leave.Type
	From, To time.Time
	FiledAt  time.Time // zero when unknown
	// Approvals are the approval tokens of rules.md it carries, as written ("phone_notice@…" included).
	Approvals  []string
	Recognised bool
	Reasons    []string // why it is or is not recognised (leave.Verdict.Reasons)
}

// Patrol is a patrol record (R10, R11).
type Patrol struct {
	Ref      string
	From, To time.Time
	Present  bool
}

// Failure is a clock-failure report (R9).
type Failure struct {
	Ref                  string
	From, To, ReportedAt time.Time
}

// Closing is how and when HR closed a month (R19): after it, results change only by a correction.
type Closing struct {
	ClosedAt    time.Time
	ClosedBy    string
	Corrections []Correction
}

// Correction is one recorded change to a closed month's results.
type Correction struct {
	StaffID string
	Date    attendance.Date
	Segment attendance.Segment
	// Change says what changed, e.g. "ABSENT → LEAVE sick"; free text from the corrector.
	Change string
	Reason string
	Actor  string
	At     time.Time
}

// MonthInput is everything the monthly report reads.
type MonthInput struct {
	Month Month
	Staff []Staff
	// Results are the month's results, one per working segment per staff member, in any order.
	// Results of dates outside Month are ignored; results of staff ids not in Staff get a row of
	// their own with the id only.
	Results []Result
	Closing *Closing // nil while the month is open
	// Generated is when the report was made, printed in its header; zero leaves it out (tests).
	Generated time.Time
	// Center is the service center's name (config center.name), at the head of every title.
	Center string
	// Scope narrows the title to a unit or a window ("民政局"); "" is the whole center.
	Scope string
	// Calendar tells the sheet's days off and names holidays; nil is Monday to Friday.
	Calendar *attendance.Calendar
}

// Only narrows in to the staff of one unit and/or one window ("" for any): their rows, results
// and corrections, with Scope set for the titles. in itself is not changed.
func (in *MonthInput) Only(unit, window string) *MonthInput {
	if unit == "" && window == "" {
		return in
	}
	out := *in
	keep := map[string]bool{}
	out.Staff = nil
	for _, s := range in.Staff {
		if (unit == "" || s.Unit == unit) && (window == "" || s.Window == window) {
			keep[s.ID] = true
			out.Staff = append(out.Staff, s)
		}
	}
	out.Results = nil
	for _, r := range in.Results {
		if keep[r.StaffID] {
			out.Results = append(out.Results, r)
		}
	}
	if in.Closing != nil {
		c := *in.Closing
		c.Corrections = nil
		for _, x := range in.Closing.Corrections {
			if keep[x.StaffID] {
				c.Corrections = append(c.Corrections, x)
			}
		}
		out.Closing = &c
	}
	switch {
	case unit != "" && window != "":
		out.Scope = unit + " " + window
	case unit != "":
		out.Scope = unit
	default:
		out.Scope = window
	}
	return &out
}

// FromAttendance converts an engine result. The slips' FiledAt and Approvals are not known to the
// engine: the caller fills them from its own records (by Ref) when it has them.
func FromAttendance(r *attendance.Result, provisional bool) Result {
	out := Result{StaffID: r.StaffID, Date: r.Date, Segment: r.Segment, Findings: r.Findings,
		LateMinutes: r.LateMinutes, EarlyMinutes: r.EarlyMinutes, OffPost: r.OffPost, LeaveType: r.LeaveType,
		SignIn: r.SignIn, SignOut: r.SignOut, Provisional: provisional}
	if r.Findings == 0 {
		return out // normal: the report shows no evidence for it
	}
	ev := &r.Evidence
	if len(ev.Punches) > 0 {
		out.Evidence.Punches = make([]Punch, len(ev.Punches))
		base := r.Date.Time()
		for i := range ev.Punches {
			p := &ev.Punches[i]
			use := Unused
			switch {
			case p == ev.SignIn:
				use = SignIn
			case p == ev.SignOut:
				use = SignOut
			default:
				m := attendance.MinuteOf(p.At)
				if !ev.In.Contains(m) && !ev.Out.Contains(m) || !sameDay(p.At, base) {
					use = Stray
				}
			}
			out.Evidence.Punches[i] = Punch{At: p.At, Clock: p.Device, Manual: p.Manual, Reason: p.Reason, RecordedBy: p.RecordedBy, Use: use}
		}
	}
	for _, l := range ev.Leaves {
		out.Evidence.Slips = append(out.Evidence.Slips, Slip{Ref: l.Ref, Type: l.Type, From: l.From, To: l.To, Recognised: l.Recognised, Reasons: l.Why})
	}
	for _, p := range ev.Patrols {
		out.Evidence.Patrols = append(out.Evidence.Patrols, Patrol{Ref: p.Ref, From: p.From, To: p.To, Present: p.Present})
	}
	for _, f := range ev.Failures {
		out.Evidence.Failures = append(out.Evidence.Failures, Failure{Ref: f.Ref, From: f.From, To: f.To, ReportedAt: f.ReportedAt})
	}
	return out
}

func sameDay(t, midnight time.Time) bool { return attendance.DateOf(t) == attendance.DateOf(midnight) }

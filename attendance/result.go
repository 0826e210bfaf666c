package attendance

import (
	"strings"
	"time"
)

// Findings is the set of findings of one segment (R18). A bit set, not a slice, so that a normal
// segment costs no allocation; the bits are in the codes' alphabetical order so that Codes is
// sorted for free.
type Findings uint16

// The findings of R18, in alphabetical order of their codes.
const (
	Absent            Findings = 1 << iota // ABSENT: both punches missing (R7) or an unrecognised slip with a missing punch (R13)
	Early                                  // EARLY: sign-out before the end (R6) or missing (R7)
	Exempt                                 // EXEMPT: a missing punch excused by a timely failure report (R9)
	Late                                   // LATE: sign-in after the start (R6) or missing (R7)
	OnLeave                                // LEAVE: working hours covered by recognised leave (R12, R15)
	LeaveUnrecognised                      // LEAVE_UNRECOGNISED: an unrecognised slip overlaps the segment (R13)
	MissingIn                              // MISSING_IN: no punch in the sign-in window (R7)
	MissingOut                             // MISSING_OUT: no punch in the sign-out window (R7)
	OffPost                                // OFF_POST: an absence from the post (R10, R16)
)

var codes = [...]string{"ABSENT", "EARLY", "EXEMPT", "LATE", "LEAVE", "LEAVE_UNRECOGNISED", "MISSING_IN", "MISSING_OUT", "OFF_POST"}

// Has reports whether f holds every finding of g.
func (f Findings) Has(g Findings) bool { return f&g == g }

// Codes appends the R18 codes of f to dst, sorted.
func (f Findings) Codes(dst []string) []string {
	for i, c := range codes {
		if f&(1<<i) != 0 {
			dst = append(dst, c)
		}
	}
	return dst
}

// String joins the codes with ";", or "" for a normal segment.
func (f Findings) String() string { return strings.Join(f.Codes(nil), ";") }

// ParseFinding returns the finding of an R18 code.
func ParseFinding(code string) (Findings, bool) {
	for i, c := range codes {
		if c == code {
			return 1 << i, true
		}
	}
	return 0, false
}

// Staff is what the engine needs to know about a staff member.
type Staff struct {
	ID     string
	Window string
	// WindowStaff is how many staff the window has. One makes the window single-staffed (R16);
	// zero (unknown) is treated as two or more, the rule that can never turn a slip into OFF_POST.
	WindowStaff int
}

// Single reports whether st is alone at the window (R16).
func (st Staff) Single() bool { return st.WindowStaff == 1 }

// Punch is one punch: a clock's record or a manual sign-in. A manual sign-in counts like a punch
// at that time; its reason and recorder are its evidence.
type Punch struct {
	At         time.Time
	Device     string // the clock's name; "" for a manual sign-in
	Manual     bool
	Reason     string // manual sign-ins: why the clock was not used
	RecordedBy string // manual sign-ins: who recorded it
}

// Leave is a leave slip as judged by package leave: what classification needs to know about it.
type Leave struct {
	Ref        string // where the slip comes from (a file and line, a database id), for evidence
	Type       string
	From, To   time.Time // both ends included (R12)
	Recognised bool
	Why        []string // why it is or is not recognised, for reports
	// HalfDay books every segment the slip overlaps as LEAVE (R15: a temporary absence over 1
	// hour counts as half a day of leave).
	HalfDay bool
	// OffPost makes the slip an OFF_POST episode in the first working segment it overlaps (R16:
	// over 30 minutes at a one-person window with no substitute).
	OffPost bool
}

// Patrol is a patrol record: what the supervision section saw between From and To (R10, R11).
type Patrol struct {
	Ref      string
	From, To time.Time
	Present  bool
}

// Failure is a clock-failure report for this staff member (R9).
type Failure struct {
	Ref        string
	From, To   time.Time
	ReportedAt time.Time
}

// Inputs is everything known about one staff member that classification reads. Punches should be
// sorted by time (Classify sorts a copy otherwise); the others are in any order.
type Inputs struct {
	Punches  []Punch
	Leaves   []Leave
	Patrols  []Patrol
	Failures []Failure
}

// Result is the classification of one working segment of one staff member.
type Result struct {
	StaffID  string
	Date     Date
	Segment  Segment
	Findings Findings
	// LateMinutes and EarlyMinutes are set with LATE and EARLY; 0 when the punch is missing.
	LateMinutes, EarlyMinutes int
	// OffPost is the number of OFF_POST episodes that start in this segment.
	OffPost int
	// LeaveType is the type of the slip behind LEAVE, and empty without LEAVE.
	LeaveType string
	// SignIn and SignOut are the punches that count (R6), or NoMinute.
	SignIn, SignOut Minute
	Evidence        Evidence
}

// Evidence is what a Result rests on. Its slices point into the Inputs given to Classify, which
// therefore must not be modified while the results are in use.
type Evidence struct {
	SignIn, SignOut *Punch
	// Punches is every punch of this half of the day, those that count and the strays (R8).
	Punches []Punch
	// In and Out are the windows the punches were matched against.
	In, Out Window
	// Leaves are the slips overlapping the working hours, recognised or not.
	Leaves []*Leave
	// Patrols are the patrol records overlapping the working hours.
	Patrols []*Patrol
	// Failures are the failure reports overlapping a punch window, in time or not.
	Failures []*Failure
}

// Strays returns the punches of the half-day outside both windows (R8): they count for nothing
// but may explain a finding, such as a punch at 07:55 next to a missing sign-in.
func (e *Evidence) Strays() []Punch {
	var out []Punch
	for _, p := range e.Punches {
		m := MinuteOf(p.At)
		if !e.In.Contains(m) && !e.Out.Contains(m) {
			out = append(out, p)
		}
	}
	return out
}

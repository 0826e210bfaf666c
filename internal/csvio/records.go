package csvio

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/kaoqin/kaoqin/attendance"
	"github.com/kaoqin/kaoqin/leave"
)

// The required columns of the classify inputs (docs: shared/spec/classify.md).
var (
	PunchColumns   = []string{"staff_id", "time"}
	LeaveColumns   = []string{"staff_id", "type", "start", "end", "filed_at", "approvals"}
	PatrolColumns  = []string{"staff_id", "from", "to", "observation"}
	FailureColumns = []string{"staff_id", "from", "to", "reported_at"}
	ManualColumns  = []string{"staff_id", "time", "reason", "recorded_by"}
)

// Known tells whether a staff id is on the roster.
type Known func(id string) bool

func unknownStaff(t *Table, line int, id string) Problem {
	if id == "" {
		return t.Problem(line, "staff_id is empty")
	}
	return t.Problem(line, "unknown staff_id %q: not in the staff file", id)
}

// PunchRow is one punch read from a punches file.
type PunchRow struct {
	Line    int
	StaffID string
	Time    time.Time
	Device  string
}

// StreamPunches reads a punches file (staff_id, time, optional device) and hands every valid row
// to fn as it is read; every invalid row becomes a problem.
func StreamPunches(file string, r io.Reader, known Known, fn func(PunchRow)) Problems {
	t := &Table{File: file}
	var ps Problems
	ps = append(ps, Stream(file, r, func(row Row) {
		p, bad := parsePunch(t, row, known)
		if len(bad) > 0 {
			ps = append(ps, bad...)
			return
		}
		fn(p)
	}, PunchColumns...)...)
	ps.Sort()
	return ps
}

// ParsePunches reads a whole punches table (small files and tests).
func ParsePunches(t *Table, known Known) ([]PunchRow, Problems) {
	var out []PunchRow
	var ps Problems
	for _, row := range t.Rows {
		p, bad := parsePunch(t, row, known)
		if len(bad) > 0 {
			ps = append(ps, bad...)
			continue
		}
		out = append(out, p)
	}
	return out, ps
}

func parsePunch(t *Table, row Row, known Known) (PunchRow, Problems) {
	var ps Problems
	p := PunchRow{Line: row.Line, StaffID: row.Get("staff_id"), Device: row.Get("device")}
	if !known(p.StaffID) {
		ps = append(ps, unknownStaff(t, row.Line, p.StaffID))
	}
	var err error
	if p.Time, err = parseTimeFast(row.Get("time")); err != nil {
		ps = append(ps, t.Problem(row.Line, "time: %v", err))
	}
	return p, ps
}

// timeCol parses column name of row, adding a problem when it is not a time.
func timeCol(t *Table, row Row, name string, ps *Problems) time.Time {
	v, err := parseTimeFast(row.Get(name))
	if err != nil {
		*ps = append(*ps, t.Problem(row.Line, "%s: %v", name, err))
	}
	return v
}

func ref(t *Table, line int) string { return fmt.Sprintf("%s:%d", t.File, line) }

// ParseLeave reads a leave table (LeaveColumns). Every problem of a row is reported, not only the
// first, so a clerk fixes the file in one pass.
func ParseLeave(t *Table, known Known) ([]leave.Slip, Problems) {
	var out []leave.Slip
	var ps Problems
	for _, row := range t.Rows {
		var bad Problems
		s := leave.Slip{Ref: ref(t, row.Line), StaffID: row.Get("staff_id")}
		if !known(s.StaffID) {
			bad = append(bad, unknownStaff(t, row.Line, s.StaffID))
		}
		typ, ok := leave.ParseType(row.Get("type"))
		if !ok {
			names := make([]string, len(leave.Types))
			for i, ty := range leave.Types {
				names[i] = string(ty)
			}
			bad = append(bad, t.Problem(row.Line, "unknown leave type %q (want %s)", row.Get("type"), strings.Join(names, ", ")))
		}
		s.Type = typ
		s.Start = timeCol(t, row, "start", &bad)
		s.End = timeCol(t, row, "end", &bad)
		s.FiledAt = timeCol(t, row, "filed_at", &bad)
		if !s.Start.IsZero() && !s.End.IsZero() && s.End.Before(s.Start) {
			bad = append(bad, t.Problem(row.Line, "end %s is before start %s", row.Get("end"), row.Get("start")))
		}
		a, err := leave.ParseApprovals(row.Get("approvals"))
		if err != nil {
			bad = append(bad, t.Problem(row.Line, "approvals: %v", err))
		}
		s.Approvals = a
		if len(bad) > 0 {
			ps = append(ps, bad...)
			continue
		}
		out = append(out, s)
	}
	return out, ps
}

// ParsePatrol reads a patrol table (PatrolColumns).
func ParsePatrol(t *Table, known Known) ([]leave.Patrol, Problems) {
	var out []leave.Patrol
	var ps Problems
	for _, row := range t.Rows {
		var bad Problems
		p := leave.Patrol{Ref: ref(t, row.Line), StaffID: row.Get("staff_id")}
		if !known(p.StaffID) {
			bad = append(bad, unknownStaff(t, row.Line, p.StaffID))
		}
		p.From = timeCol(t, row, "from", &bad)
		p.To = timeCol(t, row, "to", &bad)
		if !p.From.IsZero() && !p.To.IsZero() && p.To.Before(p.From) {
			bad = append(bad, t.Problem(row.Line, "to %s is before from %s", row.Get("to"), row.Get("from")))
		}
		switch o := row.Get("observation"); o {
		case "present":
			p.Present = true
		case "absent":
		default:
			bad = append(bad, t.Problem(row.Line, "observation %q is neither present nor absent", o))
		}
		if len(bad) > 0 {
			ps = append(ps, bad...)
			continue
		}
		out = append(out, p)
	}
	return out, ps
}

// ParseFailures reads a failure-report table (FailureColumns, and an optional clock column that
// narrows a "*" report to the staff of one clock).
func ParseFailures(t *Table, known Known) ([]leave.FailureReport, Problems) {
	var out []leave.FailureReport
	var ps Problems
	for _, row := range t.Rows {
		var bad Problems
		f := leave.FailureReport{Ref: ref(t, row.Line), StaffID: row.Get("staff_id"), Clock: row.Get("clock")}
		if f.StaffID != "*" && !known(f.StaffID) {
			bad = append(bad, unknownStaff(t, row.Line, f.StaffID))
		}
		f.From = timeCol(t, row, "from", &bad)
		f.To = timeCol(t, row, "to", &bad)
		f.ReportedAt = timeCol(t, row, "reported_at", &bad)
		if !f.From.IsZero() && !f.To.IsZero() && f.To.Before(f.From) {
			bad = append(bad, t.Problem(row.Line, "to %s is before from %s", row.Get("to"), row.Get("from")))
		}
		if len(bad) > 0 {
			ps = append(ps, bad...)
			continue
		}
		out = append(out, f)
	}
	return out, ps
}

// ManualSignIn is a manual sign-in (签到) with the staff member it belongs to.
type ManualSignIn struct {
	StaffID string
	Punch   attendance.Punch
}

// ParseManual reads a manual sign-in table (ManualColumns). A sign-in without a reason or a
// recorder is a problem: they are the only evidence behind it.
func ParseManual(t *Table, known Known) ([]ManualSignIn, Problems) {
	var out []ManualSignIn
	var ps Problems
	for _, row := range t.Rows {
		var bad Problems
		m := ManualSignIn{StaffID: row.Get("staff_id")}
		if !known(m.StaffID) {
			bad = append(bad, unknownStaff(t, row.Line, m.StaffID))
		}
		m.Punch = attendance.Punch{At: timeCol(t, row, "time", &bad), Manual: true,
			Reason: row.Get("reason"), RecordedBy: row.Get("recorded_by")}
		if m.Punch.Reason == "" {
			bad = append(bad, t.Problem(row.Line, "reason is empty: a manual sign-in needs its reason"))
		}
		if m.Punch.RecordedBy == "" {
			bad = append(bad, t.Problem(row.Line, "recorded_by is empty: a manual sign-in needs who recorded it"))
		}
		if len(bad) > 0 {
			ps = append(ps, bad...)
			continue
		}
		out = append(out, m)
	}
	return out, ps
}

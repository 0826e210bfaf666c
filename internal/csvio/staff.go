package csvio

import (
	"strings"
)

// StaffColumns are the required columns of a staff roster.
var StaffColumns = []string{"staff_id", "name", "window", "unit"}

// Staff is one row of a staff roster.
type Staff struct {
	Line   int
	ID     string
	Name   string
	Window string
	Unit   string
	// Clocks are the user ids of this staff member on each clock (optional column
	// clock_user_ids, "clock:id;clock:id"), for matching punches and failure reports by clock.
	Clocks []ClockUser
	// StartDate and EndDate are the optional columns start_date and end_date (YYYY-MM-DD, "" when
	// empty): the first and last day the staff member works at the center.
	StartDate, EndDate string
}

// ClockUser is a staff member's user id on one clock.
type ClockUser struct {
	Clock, UserID string
}

// ParseStaff reads a roster table with StaffColumns and an optional clock_user_ids column. A
// staff id or a clock user id that appears twice is a problem: punches would go to the wrong
// person.
func ParseStaff(t *Table) ([]Staff, Problems) {
	var out []Staff
	var ps Problems
	seen := map[string]int{}
	users := map[ClockUser]int{}
	for _, row := range t.Rows {
		s := Staff{Line: row.Line, ID: row.Get("staff_id"), Name: row.Get("name"), Window: row.Get("window"), Unit: row.Get("unit")}
		bad := false
		if s.ID == "" {
			ps = append(ps, t.Problem(row.Line, "staff_id is empty"))
			bad = true
		} else if first, dup := seen[s.ID]; dup {
			ps = append(ps, t.Problem(row.Line, "staff_id %q is already on line %d", s.ID, first))
			bad = true
		}
		if s.Window == "" {
			ps = append(ps, t.Problem(row.Line, "window is empty: every staff member sits at a window, which decides R15 or R16"))
			bad = true
		}
		for _, col := range []struct {
			name string
			dst  *string
		}{{"start_date", &s.StartDate}, {"end_date", &s.EndDate}} {
			v := row.Get(col.name)
			if v == "" {
				continue
			}
			if _, err := ParseDate(v); err != nil {
				ps = append(ps, t.Problem(row.Line, "%s: %v", col.name, err))
				bad = true
				continue
			}
			*col.dst = v
		}
		if s.StartDate != "" && s.EndDate != "" && s.EndDate < s.StartDate {
			ps = append(ps, t.Problem(row.Line, "end_date %s is before start_date %s", s.EndDate, s.StartDate))
			bad = true
		}
		for _, f := range strings.Split(row.Get("clock_user_ids"), ";") {
			f = strings.TrimSpace(f)
			if f == "" {
				continue
			}
			clock, id, ok := strings.Cut(f, ":")
			cu := ClockUser{strings.TrimSpace(clock), strings.TrimSpace(id)}
			if !ok || cu.Clock == "" || cu.UserID == "" {
				ps = append(ps, t.Problem(row.Line, "clock_user_ids entry %q is not clock:user_id", f))
				bad = true
				continue
			}
			if first, dup := users[cu]; dup {
				ps = append(ps, t.Problem(row.Line, "user %q of clock %q is already on line %d", cu.UserID, cu.Clock, first))
				bad = true
				continue
			}
			users[cu] = row.Line
			s.Clocks = append(s.Clocks, cu)
		}
		if s.ID != "" {
			if _, dup := seen[s.ID]; !dup {
				seen[s.ID] = row.Line
			}
		}
		if !bad {
			out = append(out, s)
		}
	}
	return out, ps
}

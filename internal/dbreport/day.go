package dbreport

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/kaoqin/kaoqin/attendance"
	"github.com/kaoqin/kaoqin/internal/store"
	"github.com/kaoqin/kaoqin/reports"
)

// Day fills the daily status's input for date as of at (wall clock) from the database: the roster
// with each staff member's clocks (their enrollments), the day's stored results (corrections
// applied, provisional where not final), and when each clock was last read. clocks are the
// configured clock names: a configured clock never read shows as never read; clocks with a read
// but no longer configured are left out (nil clocks: every clock the database knows a read of).
// window, when not empty, narrows the roster and results to that window's staff (a window head's
// view).
func Day(ctx context.Context, s *store.Store, rules *attendance.Rules, date attendance.Date, at time.Time, clocks []string, window string) (*reports.DayInput, error) {
	season := rules.Schedule.SeasonOn(date)
	in := &reports.DayInput{Date: date, At: at, Working: rules.Working(date), Hours: [2]attendance.Hours{season.AM, season.PM}}
	staff, err := s.ListStaff(ctx)
	if err != nil {
		return nil, err
	}
	ens, err := s.Enrollments(ctx)
	if err != nil {
		return nil, err
	}
	byStaff := map[string][]string{}
	for _, e := range ens {
		if cs := byStaff[e.StaffID]; len(cs) == 0 || cs[len(cs)-1] != e.Clock {
			byStaff[e.StaffID] = append(cs, e.Clock) // ordered by clock: a repeat is adjacent
		}
	}
	keep := map[string]bool{}
	in.Staff = make([]reports.Staff, 0, len(staff))
	for _, st := range staff {
		if window != "" && st.Window != window {
			continue
		}
		keep[st.StaffID] = true
		in.Staff = append(in.Staff, reports.Staff{ID: st.StaffID, Name: st.Name, Window: st.Window, Unit: st.Unit, Active: st.Active,
			Clocks: byStaff[st.StaffID]})
	}
	rows, err := s.Results(ctx, date.Time(), date.Time(), "")
	if err != nil {
		return nil, err
	}
	in.Results = make([]reports.Result, 0, len(rows))
	for i := range rows {
		if !keep[rows[i].StaffID] {
			continue
		}
		r, err := Result(rules, &rows[i])
		if err != nil {
			return nil, fmt.Errorf("stored result %s %s %s: %w", rows[i].StaffID, rows[i].Day, rows[i].Segment, err)
		}
		in.Results = append(in.Results, r)
	}
	reads, err := s.ClockReads(ctx)
	if err != nil {
		return nil, err
	}
	if clocks == nil {
		for c := range reads {
			clocks = append(clocks, c)
		}
		sort.Strings(clocks)
	}
	for _, c := range clocks {
		in.Clocks = append(in.Clocks, reports.Clock{Name: c, LastRead: reads[c]})
	}
	return in, nil
}

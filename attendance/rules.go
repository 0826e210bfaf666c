package attendance

import (
	"errors"
	"fmt"
	"time"
)

// Rules bundle everything a deployment can configure about classification: the schedule, the
// calendar, and the decisions rules.md leaves open. The leave decisions live here too, although
// package leave reads them, so that a config loader builds one value and passes it everywhere.
type Rules struct {
	Schedule Schedule
	Calendar *Calendar

	// FailureReportAfter is how long after the end of a missed punch window a clock-failure report
	// is still in time (R9). Zero, the default, means "on the same working day": by 23:59:59 of the
	// day of the missed window.
	FailureReportAfter time.Duration

	// OffPostMinutes is how long an absence seen by a patrol must last to be OFF_POST (R10: 20).
	OffPostMinutes int

	// TemporaryMinutes is the longest temporary absence at a window with two or more staff
	// (R15: 1 hour); a temporary absence over it is booked as half a day of leave.
	TemporaryMinutes int

	// SingleStaffTemporaryMinutes is the longest temporary absence at a one-person window
	// (R16: 30); over it, an absence without a substitute is OFF_POST.
	SingleStaffTemporaryMinutes int

	// PhoneNoticeWorkingDays is how many working days after the day a leave starts its written
	// slip may follow a phone notice (R14: 1, by the end of that day).
	PhoneNoticeWorkingDays int

	// SickCertDays is the longest sick leave, in working days, that needs no hospital
	// certificate (R17: more than 3 days needs one).
	SickCertDays int
}

// DefaultRules are the rules of rules.md with their default decisions and the bundled official
// calendar.
func DefaultRules() Rules {
	cal, err := OfficialCalendar()
	if err != nil {
		// The holiday files are embedded at build time and parsed by a test; failing here means
		// the binary itself is broken.
		panic(fmt.Sprintf("bundled holiday calendar: %v", err))
	}
	return Rules{
		Schedule:                    DefaultSchedule(),
		Calendar:                    cal,
		OffPostMinutes:              20,
		TemporaryMinutes:            60,
		SingleStaffTemporaryMinutes: 30,
		PhoneNoticeWorkingDays:      1,
		SickCertDays:                3,
	}
}

// Validate reports every reason the engine cannot work with r.
func (r *Rules) Validate() error {
	var errs []error
	if err := r.Schedule.Validate(); err != nil {
		errs = append(errs, err)
	}
	if r.Calendar == nil {
		errs = append(errs, errors.New("no calendar: without it every public holiday is a working day"))
	}
	if r.FailureReportAfter < 0 {
		errs = append(errs, fmt.Errorf("failure report deadline %v is negative", r.FailureReportAfter))
	}
	for _, f := range []struct {
		name string
		v    int
	}{{"off-post minutes", r.OffPostMinutes}, {"temporary minutes", r.TemporaryMinutes},
		{"single-staff temporary minutes", r.SingleStaffTemporaryMinutes}, {"sick certificate days", r.SickCertDays}} {
		if f.v <= 0 {
			errs = append(errs, fmt.Errorf("%s must be positive, not %d", f.name, f.v))
		}
	}
	if r.PhoneNoticeWorkingDays < 0 {
		errs = append(errs, fmt.Errorf("phone notice working days must not be negative, not %d", r.PhoneNoticeWorkingDays))
	}
	return errors.Join(errs...)
}

// Working reports whether d is a working day; with no calendar, Monday to Friday.
func (r *Rules) Working(d Date) bool {
	if r.Calendar == nil {
		return WeekdayCalendar().Working(d)
	}
	return r.Calendar.Working(d)
}

// NextWorkingDay returns the first working day after d.
func (r *Rules) NextWorkingDay(d Date) Date {
	if r.Calendar == nil {
		return WeekdayCalendar().NextWorkingDay(d)
	}
	return r.Calendar.NextWorkingDay(d)
}

// FailureTimely reports whether a clock-failure report made at reportedAt is in time for a missed
// punch window w on date d (R9).
func (r *Rules) FailureTimely(reportedAt time.Time, d Date, w Window) bool {
	rep := wallMinute(reportedAt)
	if r.FailureReportAfter > 0 {
		return rep <= int64(d)*1440+int64(w.To)+int64(r.FailureReportAfter/time.Minute)
	}
	// Decision: "the same working day" ends at midnight, not at the end of working hours: the
	// supervision section logs reports as they come and a wrong exemption is cheaper than a wrong
	// LATE.
	return rep < int64(d+1)*1440
}

// WorkingMinutes is the working time in [from, to] (R15: a slip's duration): the minutes of
// working hours on working days between the two, seconds dropped.
func (r *Rules) WorkingMinutes(from, to time.Time) int {
	f, t := wallMinute(from), wallMinute(to)
	if t <= f {
		return 0
	}
	total := 0
	for d := Date(floorDiv(f, 1440)); int64(d)*1440 <= t; d++ {
		if !r.Working(d) {
			continue
		}
		s := r.Schedule.SeasonOn(d)
		base := int64(d) * 1440
		for _, h := range []*Hours{&s.AM, &s.PM} {
			lo, hi := max(f, base+int64(h.Start)), min(t, base+int64(h.End))
			if hi > lo {
				total += int(hi - lo)
			}
		}
	}
	return total
}

// DayMinutes is the working time of one full working day in the season of d (420 by default).
func (r *Rules) DayMinutes(d Date) int { return r.Schedule.SeasonOn(d).DayMinutes() }

package attendance

import (
	"errors"
	"fmt"
	"time"
)

// Segment is the AM or the PM half of a working day (时段).
type Segment uint8

// The two segments of a working day, in order.
const (
	AM Segment = iota
	PM
)

func (s Segment) String() string {
	if s == AM {
		return "am"
	}
	return "pm"
}

// Window is a punch window (R2), minutes of the day, both ends inclusive (R4).
type Window struct {
	From, To Minute
}

// Contains reports whether m is inside w, ends included.
func (w Window) Contains(m Minute) bool { return m >= w.From && m <= w.To }

func (w Window) String() string { return w.From.String() + "-" + w.To.String() }

// Hours are one segment's working hours (R1) and its sign-in and sign-out windows (R2).
type Hours struct {
	Start, End Minute
	In, Out    Window
}

// Minutes is the length of the working hours.
func (h Hours) Minutes() int { return int(h.End - h.Start) }

// Season is the working day of one season: its AM and PM segments.
type Season struct {
	AM, PM Hours
}

// Hours returns the hours of segment s.
func (s *Season) Hours(seg Segment) *Hours {
	if seg == AM {
		return &s.AM
	}
	return &s.PM
}

// Split is the minute at which the PM half of the day begins for evidence and for Touches: a punch
// before it belongs to the AM segment. Decision (R8): halfway between the end of the AM sign-out
// window and the start of the PM sign-in window, so that a stray punch at lunch is shown beside
// whichever window it is nearer to.
func (s *Season) Split() Minute { return (s.AM.Out.To + s.PM.In.From + 1) / 2 }

// DayMinutes is the working time of one full day.
func (s *Season) DayMinutes() int { return s.AM.Minutes() + s.PM.Minutes() }

// MonthDay is a day of the year without the year, for season boundaries.
type MonthDay struct {
	Month time.Month
	Day   int
}

func (md MonthDay) before(o MonthDay) bool {
	return md.Month < o.Month || md.Month == o.Month && md.Day < o.Day
}

func (md MonthDay) String() string { return fmt.Sprintf("%02d-%02d", int(md.Month), md.Day) }

// ParseMonthDay parses "MM-DD".
func ParseMonthDay(s string) (MonthDay, error) {
	t, err := time.Parse("01-02", s)
	if err != nil || len(s) != 5 {
		return MonthDay{}, fmt.Errorf("bad month-day %q: want MM-DD", s)
	}
	return MonthDay{t.Month(), t.Day()}, nil
}

// SeasonSpan is the stretch of a year that is summer, both ends inclusive (R3).
type SeasonSpan struct {
	SummerFrom, SummerTo MonthDay
}

// Schedule is the center's working time: per-season hours and windows (R1, R2) and the season
// boundaries (R3), with optional boundaries for single years.
type Schedule struct {
	Summer, Winter Season
	// Span is the summer of every year not listed in Years.
	Span SeasonSpan
	// Years overrides Span for one year (a deployment's mid-year change).
	Years map[int]SeasonSpan
}

// DefaultSchedule is the schedule of rules.md R1–R3.
func DefaultSchedule() Schedule {
	am := Hours{Start: Clock(8, 30), End: Clock(12, 0),
		In: Window{Clock(8, 0), Clock(8, 50)}, Out: Window{Clock(11, 40), Clock(12, 10)}}
	return Schedule{
		Summer: Season{AM: am, PM: Hours{Start: Clock(14, 30), End: Clock(18, 0),
			In: Window{Clock(14, 0), Clock(14, 50)}, Out: Window{Clock(17, 40), Clock(18, 10)}}},
		Winter: Season{AM: am, PM: Hours{Start: Clock(14, 0), End: Clock(17, 30),
			In: Window{Clock(13, 30), Clock(14, 20)}, Out: Window{Clock(17, 10), Clock(17, 40)}}},
		Span: SeasonSpan{SummerFrom: MonthDay{time.May, 1}, SummerTo: MonthDay{time.September, 30}},
	}
}

// IsSummer reports whether d falls in summer (R3).
func (s *Schedule) IsSummer(d Date) bool {
	span := s.Span
	t := d.Time()
	if y, ok := s.Years[t.Year()]; ok {
		span = y
	}
	md := MonthDay{t.Month(), t.Day()}
	return !md.before(span.SummerFrom) && !span.SummerTo.before(md)
}

// SeasonOn returns the season in force on d.
func (s *Schedule) SeasonOn(d Date) *Season {
	if s.IsSummer(d) {
		return &s.Summer
	}
	return &s.Winter
}

// Validate rejects a schedule the engine cannot classify with: a window or working hours that end
// before they start, times outside the day, overlapping windows within a season (a punch would
// count twice), segments out of order, and season boundaries that are not dates.
func (s *Schedule) Validate() error {
	var errs []error
	for _, x := range []struct {
		name string
		s    *Season
	}{{"summer", &s.Summer}, {"winter", &s.Winter}} {
		if err := x.s.validate(); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", x.name, err))
		}
	}
	check := func(name string, sp SeasonSpan) {
		for _, md := range []MonthDay{sp.SummerFrom, sp.SummerTo} {
			// 2024 is a leap year, so 02-29 is accepted as a boundary.
			if md.Month < 1 || md.Month > 12 || md.Day < 1 || md.Day > time.Date(2024, md.Month+1, 0, 0, 0, 0, 0, time.UTC).Day() {
				errs = append(errs, fmt.Errorf("%s: %s is not a day of the year", name, md))
			}
		}
		if sp.SummerTo.before(sp.SummerFrom) {
			errs = append(errs, fmt.Errorf("%s: summer ends (%s) before it starts (%s)", name, sp.SummerTo, sp.SummerFrom))
		}
	}
	check("season boundaries", s.Span)
	for y, sp := range s.Years {
		check(fmt.Sprintf("season boundaries of %d", y), sp)
	}
	return errors.Join(errs...)
}

func (s *Season) validate() error {
	var errs []error
	type named struct {
		name string
		w    Window
	}
	var ws []named
	for _, seg := range []Segment{AM, PM} {
		h := s.Hours(seg)
		if h.Start < 0 || h.End > Clock(23, 59) || h.End <= h.Start {
			errs = append(errs, fmt.Errorf("%s working hours %s-%s end before they start or leave the day", seg, h.Start, h.End))
		}
		ws = append(ws, named{seg.String() + " sign-in", h.In}, named{seg.String() + " sign-out", h.Out})
	}
	for _, w := range ws {
		if w.w.From < 0 || w.w.To > Clock(23, 59) || w.w.To < w.w.From {
			errs = append(errs, fmt.Errorf("%s window %s ends before it starts or leaves the day", w.name, w.w))
		}
	}
	for i := range ws {
		for j := i + 1; j < len(ws); j++ {
			a, b := ws[i].w, ws[j].w
			if a.From <= b.To && b.From <= a.To {
				errs = append(errs, fmt.Errorf("%s window %s overlaps %s window %s", ws[i].name, a, ws[j].name, b))
			}
		}
	}
	if s.AM.End > s.PM.Start {
		errs = append(errs, fmt.Errorf("am working hours end (%s) after pm hours start (%s)", s.AM.End, s.PM.Start))
	}
	// Each window must sit in its own half of the day, or evidence and Touches would put a
	// punch in the wrong segment.
	if len(errs) == 0 {
		split := s.Split()
		if s.AM.In.To >= split || s.AM.Out.To >= split || s.PM.In.From < split || s.PM.Out.From < split {
			errs = append(errs, fmt.Errorf("am windows must all end before pm windows start"))
		}
	}
	return errors.Join(errs...)
}

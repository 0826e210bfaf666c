package attendance

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"time"

	"github.com/kaoqin/kaoqin/configs"
)

// Calendar tells working days from days off (R5): Monday to Friday work, Saturday and Sunday do
// not, the official calendar overrides both (public holidays and make-up working days, 调休上班),
// and a deployment's overrides come last, because the State Council has changed a year's calendar
// after publishing it before.
//
// A Calendar is immutable once built; share it freely.
type Calendar struct {
	official  map[Date]bool // date → working
	names     map[Date]string
	years     map[int]bool // years the official data covers
	overrides map[Date]bool
	notes     map[Date]string
}

// OfficialCalendar is the calendar from the holiday files bundled in the binary.
func OfficialCalendar() (*Calendar, error) { return LoadCalendar(configs.Holidays) }

// WeekdayCalendar is Monday to Friday with no holidays at all, for tests and for deployments that
// keep every holiday in their own overrides.
func WeekdayCalendar() *Calendar { return &Calendar{} }

// LoadCalendar reads every "*.json" at the root of fsys in the holiday-cn format
// ({"year": 2026, "days": [{"name": "元旦", "date": "2026-01-01", "isOffDay": true}, …]}).
func LoadCalendar(fsys fs.FS) (*Calendar, error) {
	names, err := fs.Glob(fsys, "*.json")
	if err != nil {
		return nil, err
	}
	c := &Calendar{official: map[Date]bool{}, names: map[Date]string{}, years: map[int]bool{}}
	for _, name := range names {
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		var f struct {
			Year int `json:"year"`
			Days []struct {
				Name     string `json:"name"`
				Date     string `json:"date"`
				IsOffDay *bool  `json:"isOffDay"`
			} `json:"days"`
		}
		if err := json.Unmarshal(data, &f); err != nil {
			return nil, fmt.Errorf("holiday file %s: %w", path.Base(name), err)
		}
		if f.Year == 0 {
			return nil, fmt.Errorf("holiday file %s: no year", path.Base(name))
		}
		c.years[f.Year] = true
		for _, d := range f.Days {
			date, err := ParseDate(d.Date)
			if err != nil || d.IsOffDay == nil {
				return nil, fmt.Errorf("holiday file %s: day %q has no valid date or isOffDay", path.Base(name), d.Date)
			}
			c.official[date] = !*d.IsOffDay
			c.names[date] = d.Name
		}
	}
	return c, nil
}

// WithOverrides returns a copy of c in which each date of overrides is a working day (true) or
// not (false), whatever the official calendar says.
func (c *Calendar) WithOverrides(overrides map[Date]bool) *Calendar {
	n := &Calendar{official: c.official, names: c.names, years: c.years, notes: c.notes,
		overrides: make(map[Date]bool, len(c.overrides)+len(overrides))}
	for d, w := range c.overrides {
		n.overrides[d] = w
	}
	for d, w := range overrides {
		n.overrides[d] = w
	}
	return n
}

// WithNotes returns a copy of c that names the given dates (an override's note, e.g. 中心闭馆检修).
func (c *Calendar) WithNotes(notes map[Date]string) *Calendar {
	n := *c
	n.notes = make(map[Date]string, len(c.notes)+len(notes))
	for d, s := range c.notes {
		n.notes[d] = s
	}
	for d, s := range notes {
		n.notes[d] = s
	}
	return &n
}

// DayName names a day that is not an ordinary weekday or weekend, for people: a public holiday
// by its name (国庆节), an official make-up working day as 调休上班, an override by its note (or
// 调整为工作日 / 调整为休息日 without one). Ordinary days have no name.
func (c *Calendar) DayName(d Date) string {
	if w, ok := c.overrides[d]; ok {
		if n := c.notes[d]; n != "" {
			return n
		}
		if w {
			return "调整为工作日"
		}
		return "调整为休息日"
	}
	if n := c.notes[d]; n != "" {
		return n
	}
	if w, ok := c.official[d]; ok {
		if w {
			return "调休上班"
		}
		return c.names[d]
	}
	return ""
}

// Working reports whether d is a working day.
func (c *Calendar) Working(d Date) bool {
	if w, ok := c.overrides[d]; ok {
		return w
	}
	if w, ok := c.official[d]; ok {
		return w
	}
	wd := d.Weekday()
	return wd != time.Saturday && wd != time.Sunday
}

// Covers reports whether the official data knows year y. For a year it does not know, Working
// falls back to Monday–Friday, which would mark staff ABSENT on a public holiday: callers warn.
func (c *Calendar) Covers(y int) bool { return c.years[y] }

// Years lists the years the official data covers, in order.
func (c *Calendar) Years() []int {
	ys := make([]int, 0, len(c.years))
	for y := range c.years {
		ys = append(ys, y)
	}
	sort.Ints(ys)
	return ys
}

// NextWorkingDay returns the first working day after d. It gives up after ten years of days off
// and returns the day after that, so that a calendar of all holidays cannot hang the engine.
func (c *Calendar) NextWorkingDay(d Date) Date {
	for i := 0; i < 3660; i++ {
		d++
		if c.Working(d) {
			return d
		}
	}
	return d
}

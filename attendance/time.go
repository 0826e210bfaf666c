package attendance

import (
	"fmt"
	"time"
)

// Date is a calendar day, counted in days since 1970-01-01. An integer rather than a time.Time so
// that the engine can step through days and compare them without touching the time package.
type Date int32

// MakeDate returns the date y-m-d (normalised like time.Date).
func MakeDate(y int, m time.Month, d int) Date {
	return DateOf(time.Date(y, m, d, 0, 0, 0, 0, time.UTC))
}

// DateOf returns the wall-clock date of t.
func DateOf(t time.Time) Date { return Date(floorDiv(wallSeconds(t), 86400)) }

// ParseDate parses "YYYY-MM-DD".
func ParseDate(s string) (Date, error) {
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		return 0, fmt.Errorf("bad date %q: want YYYY-MM-DD", s)
	}
	return DateOf(t), nil
}

// Time returns midnight of d, wall clock, in time.UTC.
func (d Date) Time() time.Time { return time.Unix(int64(d)*86400, 0).UTC() }

// At returns the wall-clock time of minute m on d.
func (d Date) At(m Minute) time.Time { return time.Unix(int64(d)*86400+int64(m)*60, 0).UTC() }

// Weekday returns the day of the week of d.
func (d Date) Weekday() time.Weekday {
	// 1970-01-01 was a Thursday.
	return time.Weekday((int64(d)%7 + 7 + 4) % 7)
}

// Year returns the year of d.
func (d Date) Year() int { return d.Time().Year() }

// MonthDay returns the month and day of d.
func (d Date) MonthDay() MonthDay {
	_, m, dd := d.Time().Date()
	return MonthDay{m, dd}
}

func (d Date) String() string { return d.Time().Format("2006-01-02") }

// Minute is a minute of the day, 0 (00:00) to 1439 (23:59). Punches are compared at this
// resolution (R4): the seconds of a punch are dropped, never rounded.
type Minute int16

// NoMinute marks a missing time, such as a sign-in that was not found.
const NoMinute Minute = -1

// Clock returns the minute of the day h:m.
func Clock(h, m int) Minute { return Minute(h*60 + m) }

// MinuteOf returns the wall-clock minute of the day of t, seconds dropped (R4).
func MinuteOf(t time.Time) Minute {
	return Minute(floorMod(wallSeconds(t), 86400) / 60)
}

// ParseMinute parses "HH:MM".
func ParseMinute(s string) (Minute, error) {
	t, err := time.Parse("15:04", s)
	if err != nil || len(s) != 5 {
		return NoMinute, fmt.Errorf("bad time of day %q: want HH:MM", s)
	}
	return Clock(t.Hour(), t.Minute()), nil
}

// String formats m as "HH:MM", or "" for NoMinute.
func (m Minute) String() string {
	if m < 0 {
		return ""
	}
	return fmt.Sprintf("%02d:%02d", m/60, m%60)
}

// AppendTo appends "HH:MM" (nothing for NoMinute) without allocating.
func (m Minute) AppendTo(b []byte) []byte {
	if m < 0 {
		return b
	}
	h, mm := int(m)/60, int(m)%60
	return append(b, byte('0'+h/10), byte('0'+h%10), ':', byte('0'+mm/10), byte('0'+mm%10))
}

// wallSeconds is the wall-clock time of t in seconds since 1970-01-01 00:00 of the same wall
// clock. Adding the zone offset makes it independent of t's Location, so that a time.Time that
// arrives in time.Local by mistake still classifies by its wall-clock fields.
func wallSeconds(t time.Time) int64 {
	if t.Location() == time.UTC {
		return t.Unix() // the project's convention, and the engine's hot path
	}
	_, off := t.Zone()
	return t.Unix() + int64(off)
}

// wallMinute is the wall-clock time of t in minutes since 1970-01-01 00:00, seconds dropped.
func wallMinute(t time.Time) int64 { return floorDiv(wallSeconds(t), 60) }

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

func floorMod(a, b int64) int64 { return a - floorDiv(a, b)*b }

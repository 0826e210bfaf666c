package store

import (
	"database/sql/driver"
	"fmt"
	"time"
)

// WallLayout is how wall-clock times are written to the database.
const WallLayout = "2006-01-02 15:04:05"

// Wall turns an instant into the wall-clock time it shows in loc, carried in time.UTC.
func Wall(t time.Time, loc *time.Location) time.Time {
	t = t.In(loc)
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), 0, time.UTC)
}

// Instant turns a wall-clock time shown in loc back into an instant.
func Instant(wall time.Time, loc *time.Location) time.Time {
	return time.Date(wall.Year(), wall.Month(), wall.Day(), wall.Hour(), wall.Minute(), wall.Second(), wall.Nanosecond(), loc)
}

// WallString formats a wall-clock time's fields, whatever its Location says.
func WallString(t time.Time) string { return t.Format(WallLayout) }

// wallTime scans a wall-clock time written by WallString: a string or []byte on SQLite, a
// time.Time from MySQL (parseTime=true with loc=UTC keeps the fields as stored).
type wallTime struct {
	T     time.Time
	Valid bool
}

func (w *wallTime) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*w = wallTime{}
		return nil
	case time.Time:
		w.T = time.Date(v.Year(), v.Month(), v.Day(), v.Hour(), v.Minute(), v.Second(), 0, time.UTC)
		w.Valid = true
		return nil
	case string:
		return w.parse(v)
	case []byte:
		return w.parse(string(v))
	}
	return fmt.Errorf("store: cannot read %T as a wall-clock time", src)
}

func (w *wallTime) parse(s string) error {
	if s == "" {
		*w = wallTime{}
		return nil
	}
	for _, layout := range []string{WallLayout, "2006-01-02", "2006-01-02T15:04:05Z"} {
		if t, err := time.Parse(layout, s); err == nil {
			w.T, w.Valid = t, true
			return nil
		}
	}
	return fmt.Errorf("store: %q is not a wall-clock time", s)
}

// Value writes the fields.
func (w wallTime) Value() (driver.Value, error) {
	if !w.Valid {
		return nil, nil
	}
	return WallString(w.T), nil
}

// dayString formats a date.
func dayString(t time.Time) string { return t.Format("2006-01-02") }

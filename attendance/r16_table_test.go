package attendance

import (
	"fmt"
	"slices"
	"testing"
)

// R16 in the engine, as a table: a slip judged OFF_POST (over 30 minutes at a one-person window
// with no substitute) is one episode, counted in the segment of its first working minute,
// whatever else the slip excuses; the segments it also covers count no second episode. (Which
// slips are OFF_POST is leave's judgement, tested in leave.)
func TestR16OffPostSlipTable(t *testing.T) {
	r := defaultRules(t)
	single := Staff{ID: "2001", Window: "公安", WindowStaff: 1}
	slip := func(from, to string, recognised bool) Leave {
		return Leave{Ref: "l", Type: "annual", From: at(from), To: at(to), Recognised: recognised, OffPost: true}
	}
	normal := func(day string) []Punch { return punches(day, "08:20", "12:01", "14:20", "18:01") }
	tests := []struct {
		name     string
		from, to string // the classified days
		slip     Leave
		punches  []Punch
		want     []string // findings/off-post count per segment, in order
	}{
		{"two days unrecognised: one episode, first morning", "2026-07-06", "2026-07-07", slip("2026-07-06 08:30:00", "2026-07-07 18:00:00", false), nil,
			[]string{"ABSENT;LEAVE_UNRECOGNISED;OFF_POST/1", "ABSENT;LEAVE_UNRECOGNISED/0", "ABSENT;LEAVE_UNRECOGNISED/0", "ABSENT;LEAVE_UNRECOGNISED/0"}},
		{"the second day alone counts no episode", "2026-07-07", "2026-07-07", slip("2026-07-06 08:30:00", "2026-07-07 18:00:00", false), nil,
			[]string{"ABSENT;LEAVE_UNRECOGNISED/0", "ABSENT;LEAVE_UNRECOGNISED/0"}},
		{"recognised: leave, and still off post", "2026-07-06", "2026-07-06", slip("2026-07-06 08:30:00", "2026-07-06 18:00:00", true), nil,
			[]string{"LEAVE;OFF_POST/1", "LEAVE/0"}},
		{"starting before working hours: the morning", "2026-07-06", "2026-07-06", slip("2026-07-06 07:00:00", "2026-07-06 12:00:00", true), nil,
			[]string{"LEAVE;OFF_POST/1", "ABSENT/0"}},
		{"starting at lunch: the afternoon's first minute", "2026-07-06", "2026-07-06", slip("2026-07-06 12:30:00", "2026-07-06 18:00:00", true), normal("2026-07-06")[:2],
			[]string{"/0", "LEAVE;OFF_POST/1"}},
		{"from Saturday: Monday morning's first minute", "2026-07-06", "2026-07-06", slip("2026-07-04 09:00:00", "2026-07-06 12:00:00", true), normal("2026-07-06")[2:],
			[]string{"LEAVE;OFF_POST/1", "/0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := Classify(r.Period(date(tt.from), date(tt.to)), single, Inputs{Leaves: []Leave{tt.slip}, Punches: tt.punches}, nil)
			var got []string
			for _, x := range res {
				got = append(got, fmt.Sprintf("%s/%d", x.Findings, x.OffPost))
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

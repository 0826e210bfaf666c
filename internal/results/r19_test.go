package results

import (
	"testing"
	"time"

	"github.com/kaoqin/kaoqin/attendance"
	"github.com/kaoqin/kaoqin/internal/store"
	"github.com/kaoqin/kaoqin/internal/store/storetest"
)

// R19: a segment is provisional until every clock its staff member uses has been read past the
// end of its sign-out window (a punch at 12:10:59 still counts for a window ending at 12:10).
func TestR19ProvisionalUntilEveryClockIsReadPastTheWindow(t *testing.T) {
	r := attendance.DefaultRules()
	summer, winter := date("2026-07-06"), date("2026-12-07")
	both := []string{"hall", "side"}
	tests := []struct {
		name   string
		day    attendance.Date
		seg    attendance.Segment
		clocks []string
		reads  map[string]string
		now    string
		final  bool
	}{
		{"no clock read", summer, attendance.AM, both, nil, "2026-07-06 20:00:00", false},
		{"read inside the sign-out window", summer, attendance.AM, []string{"hall"}, map[string]string{"hall": "2026-07-06 12:05:00"}, "2026-07-06 20:00:00", false},
		{"read in the window's last minute", summer, attendance.AM, []string{"hall"}, map[string]string{"hall": "2026-07-06 12:10:59"}, "2026-07-06 20:00:00", false},
		{"read just past the window", summer, attendance.AM, []string{"hall"}, map[string]string{"hall": "2026-07-06 12:11:00"}, "2026-07-06 20:00:00", true},
		{"one of two clocks read", summer, attendance.AM, both, map[string]string{"hall": "2026-07-06 12:30:00"}, "2026-07-06 20:00:00", false},
		{"the other clock read before the end", summer, attendance.AM, both, map[string]string{"hall": "2026-07-06 12:30:00", "side": "2026-07-06 11:00:00"}, "2026-07-06 20:00:00", false},
		{"both clocks read past the window", summer, attendance.AM, both, map[string]string{"hall": "2026-07-06 12:30:00", "side": "2026-07-07 08:00:00"}, "2026-07-07 09:00:00", true},
		{"a clock the staff member does not use is irrelevant", summer, attendance.AM, []string{"hall"}, map[string]string{"hall": "2026-07-06 12:30:00", "side": "2026-07-01 00:00:00"}, "2026-07-06 20:00:00", true},
		{"the afternoon waits for its own window (summer 18:10)", summer, attendance.PM, []string{"hall"}, map[string]string{"hall": "2026-07-06 18:05:00"}, "2026-07-06 20:00:00", false},
		{"summer afternoon read at 18:11", summer, attendance.PM, []string{"hall"}, map[string]string{"hall": "2026-07-06 18:11:00"}, "2026-07-06 20:00:00", true},
		{"winter afternoon ends at 17:40", winter, attendance.PM, []string{"hall"}, map[string]string{"hall": "2026-12-07 17:41:00"}, "2026-12-07 20:00:00", true},
		{"winter afternoon read at 17:40", winter, attendance.PM, []string{"hall"}, map[string]string{"hall": "2026-12-07 17:40:30"}, "2026-12-07 20:00:00", false},
		{"the window is not over yet", summer, attendance.AM, []string{"hall"}, map[string]string{"hall": "2026-07-06 12:11:00"}, "2026-07-06 12:10:30", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reads := map[string]time.Time{}
			for c, at := range tt.reads {
				reads[c] = wall(at)
			}
			if got := IsFinal(&r, tt.day, tt.seg, tt.clocks, reads, wall(tt.now)); got != tt.final {
				t.Errorf("final: got %v, want %v", got, tt.final)
			}
		})
	}
}

// R19: a result is recomputed whenever a punch touching it arrives, final or not; the clock's
// read makes it final without changing what it found.
func TestR19LatePunchRecomputesTheSegment(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		fixture(t, s)
		punch(t, s, "1@2026-07-06 12:01:00")
		w := newWorker(s, "2026-07-06 20:00:00")
		if err := s.SaveCursor(ctx, store.Cursor{Clock: "hall", LastReadAt: wall("2026-07-06 12:30:00")}); err != nil {
			t.Fatal(err)
		}
		drain(t, w)
		steps := []struct {
			name     string
			do       func()
			findings string
			final    bool
		}{
			{"sign-in missing, hall read past the window", func() {}, "LATE;MISSING_IN", true},
			{"the 08:20 punch arrives late", func() { punch(t, s, "1@2026-07-06 08:20:00") }, "", true},
			{"a second sign-out later in the window", func() { punch(t, s, "1@2026-07-06 12:09:00") }, "", true},
		}
		for _, st := range steps {
			st.do()
			drain(t, w)
			got := get(t, s, "1001", "2026-07-06", "am")
			if got.Findings != st.findings || got.Final != st.final {
				t.Errorf("%s: got findings %q final %v, want %q %v", st.name, got.Findings, got.Final, st.findings, st.final)
			}
		}
		if got := get(t, s, "1001", "2026-07-06", "am"); got.SignOut != "12:09" {
			t.Errorf("sign-out after the later punch: got %q, want 12:09 (the latest of the window)", got.SignOut)
		}
	})
}

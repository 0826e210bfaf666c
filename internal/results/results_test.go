package results

import (
	"context"
	"errors"
	"fmt"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kaoqin/kaoqin/attendance"
	"github.com/kaoqin/kaoqin/internal/store"
	"github.com/kaoqin/kaoqin/internal/store/storetest"
)

var ctx = context.Background()

func wall(s string) time.Time {
	t, err := time.Parse(store.WallLayout, s)
	if err != nil {
		panic(err)
	}
	return t
}

func date(s string) attendance.Date {
	d, err := attendance.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

// fixture is a store with staff 1001 and 1002 at window 民政 (so two staff), both on clock hall,
// and 1003 alone at window 社保 on clocks hall and side.
func fixture(t testing.TB, s *store.Store) {
	t.Helper()
	roster := []store.RosterEntry{
		{Staff: store.Staff{StaffID: "1001", Name: "甲", Window: "民政", Unit: "民政局"}, Enrollments: []store.Enrollment{{Clock: "hall", UserID: "1"}}},
		{Staff: store.Staff{StaffID: "1002", Name: "乙", Window: "民政", Unit: "民政局"}, Enrollments: []store.Enrollment{{Clock: "hall", UserID: "2"}}},
		{Staff: store.Staff{StaffID: "1003", Name: "丙", Window: "社保", Unit: "人社局"}, Enrollments: []store.Enrollment{{Clock: "hall", UserID: "3"}, {Clock: "side", UserID: "3"}}},
	}
	if _, err := s.ImportStaff(ctx, roster, "test"); err != nil {
		t.Fatal(err)
	}
}

// punch stores punches "user@YYYY-MM-DD HH:MM:SS" on clock hall.
func punch(t testing.TB, s *store.Store, ps ...string) {
	t.Helper()
	staff := map[string]string{"1": "1001", "2": "1002", "3": "1003"}
	var out []store.Punch
	for _, p := range ps {
		user, at, _ := strings.Cut(p, "@")
		out = append(out, store.Punch{Clock: "hall", UserID: user, Time: wall(at), StaffID: staff[user]})
	}
	if _, err := s.InsertPunches(ctx, out, nil); err != nil {
		t.Fatal(err)
	}
}

func newWorker(s *store.Store, now string) *Worker {
	r := attendance.DefaultRules()
	n := wall(now)
	return New(Options{Store: s, Rules: &r, Now: func() time.Time { return store.Instant(n, s.Location()) }, Name: "test"})
}

// drain runs Step until nothing is dirty and returns the days it claimed.
func drain(t testing.TB, w *Worker) int {
	t.Helper()
	total := 0
	for {
		n, err := w.Step(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return total
		}
		total += n
	}
}

// get returns one stored result.
func get(t testing.TB, s *store.Store, staff, day, seg string) store.SegmentResult {
	t.Helper()
	rs, err := s.Results(ctx, wall(day+" 00:00:00"), wall(day+" 00:00:00"), staff)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		if r.Segment == seg {
			return r
		}
	}
	t.Fatalf("no result for %s %s %s", staff, day, seg)
	return store.SegmentResult{}
}

func dirty(t testing.TB, s *store.Store) string {
	t.Helper()
	ds, err := s.DirtyDays(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, d := range ds {
		out = append(out, d.StaffID+"/"+d.Day)
	}
	return strings.Join(out, " ")
}

// A week in July 2026 (summer): 6th to 10th, Monday to Friday.
func stockWeek(t testing.TB, s *store.Store) {
	t.Helper()
	// 1001 forgets the sign-in of the 7th's morning.
	var ps []string
	for _, day := range []string{"2026-07-06", "2026-07-07", "2026-07-08"} {
		for _, u := range []string{"1", "2", "3"} {
			if !(u == "1" && day == "2026-07-07") {
				ps = append(ps, u+"@"+day+" 08:20:00")
			}
			ps = append(ps, u+"@"+day+" 12:01:00", u+"@"+day+" 14:20:00", u+"@"+day+" 18:01:00")
		}
	}
	punch(t, s, ps...)
}

func TestLateInputsRecomputeTouchedDays(t *testing.T) {
	tests := []struct {
		name  string
		add   func(t *testing.T, s *store.Store)
		dirty string // the days marked, exactly
		day   string
		seg   string
		want  string // findings of 1001's segment afterwards
	}{
		{"late punch", func(t *testing.T, s *store.Store) { punch(t, s, "1@2026-07-07 08:35:00") },
			"1001/2026-07-07", "2026-07-07", "am", "LATE"},
		{"leave slip for the morning", func(t *testing.T, s *store.Store) {
			_, err := s.AddLeaveSlips(ctx, []store.LeaveSlip{{StaffID: "1001", Type: "personal", Start: wall("2026-07-07 08:00:00"),
				End: wall("2026-07-07 12:00:00"), FiledAt: wall("2026-07-06 17:00:00"), Approvals: "window_head;center_leader"}}, "clerk")
			if err != nil {
				t.Fatal(err)
			}
		}, "1001/2026-07-07", "2026-07-07", "am", "LEAVE"},
		{"patrol saw absence on the 8th", func(t *testing.T, s *store.Store) {
			_, err := s.AddPatrols(ctx, []store.PatrolRecord{{StaffID: "1001", From: wall("2026-07-08 10:00:00"), To: wall("2026-07-08 10:30:00")}}, "inspector")
			if err != nil {
				t.Fatal(err)
			}
		}, "1001/2026-07-08", "2026-07-08", "am", "OFF_POST"},
		{"failure report in time", func(t *testing.T, s *store.Store) {
			_, err := s.AddFailureReports(ctx, []store.FailureReport{{StaffID: "1001", From: wall("2026-07-07 08:00:00"), To: wall("2026-07-07 08:50:00"),
				ReportedAt: wall("2026-07-07 09:00:00")}}, "clerk")
			if err != nil {
				t.Fatal(err)
			}
		}, "1001/2026-07-07", "2026-07-07", "am", "EXEMPT"},
		{"failure report for everyone on clock side", func(t *testing.T, s *store.Store) {
			_, err := s.AddFailureReports(ctx, []store.FailureReport{{StaffID: "*", Clock: "side", From: wall("2026-07-07 08:00:00"), To: wall("2026-07-07 08:50:00"),
				ReportedAt: wall("2026-07-07 09:00:00")}}, "clerk")
			if err != nil {
				t.Fatal(err)
			}
		}, "1003/2026-07-07", "2026-07-07", "am", "LATE;MISSING_IN"}, // 1001 is not on side: unchanged
		{"manual sign-in", func(t *testing.T, s *store.Store) {
			_, err := s.AddManualSignIns(ctx, []store.ManualSignIn{{StaffID: "1001", At: wall("2026-07-07 08:25:00"), Reason: "finger not read", RecordedBy: "clerk"}}, "clerk")
			if err != nil {
				t.Fatal(err)
			}
		}, "1001/2026-07-07", "2026-07-07", "am", ""},
	}
	for _, tt := range tests {
		t.Run(strings.ReplaceAll(tt.name, " ", "_"), func(t *testing.T) {
			storetest.Each(t, func(t *testing.T, s *store.Store) {
				fixture(t, s)
				stockWeek(t, s)
				w := newWorker(s, "2026-07-20 09:00:00")
				if got := drain(t, w); got != 9 {
					t.Fatalf("first computation claimed %d days, want 9 (3 staff × 3 days)", got)
				}
				if got := get(t, s, "1001", "2026-07-07", "am").Findings; got != "LATE;MISSING_IN" {
					t.Fatalf("before: 1001 2026-07-07 am got %q, want LATE;MISSING_IN", got)
				}
				before, _ := s.Results(ctx, wall("2026-07-01 00:00:00"), wall("2026-07-31 00:00:00"), "")
				tt.add(t, s)
				if got := dirty(t, s); got != tt.dirty {
					t.Errorf("dirty days got %q, want %q", got, tt.dirty)
				}
				if got, want := drain(t, w), len(strings.Fields(tt.dirty)); got != want {
					t.Errorf("recomputed %d days, want %d", got, want)
				}
				if got := get(t, s, "1001", tt.day, tt.seg).Findings; got != tt.want {
					t.Errorf("after: 1001 %s %s got %q, want %q", tt.day, tt.seg, got, tt.want)
				}
				after, _ := s.Results(ctx, wall("2026-07-01 00:00:00"), wall("2026-07-31 00:00:00"), "")
				if len(after) != len(before) {
					t.Fatalf("results got %d rows, want %d", len(after), len(before))
				}
				for i := range after {
					b, a := before[i], after[i]
					touched := strings.Contains(tt.dirty, a.StaffID+"/"+a.Day)
					if !touched && (a.Values != b.Values || a.Evidence != b.Evidence) {
						t.Errorf("%s %s %s changed without being touched: %+v → %+v", a.StaffID, a.Day, a.Segment, b.Values, a.Values)
					}
				}
			})
		})
	}
}

func TestEvidence(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		fixture(t, s)
		punch(t, s, "1@2026-07-06 07:55:00", "1@2026-07-06 12:03:00")
		ids, err := s.AddPatrols(ctx, []store.PatrolRecord{{StaffID: "1001", From: wall("2026-07-06 09:00:00"), To: wall("2026-07-06 09:10:00"), Present: true}}, "inspector")
		if err != nil {
			t.Fatal(err)
		}
		w := newWorker(s, "2026-07-20 09:00:00")
		drain(t, w)
		got := get(t, s, "1001", "2026-07-06", "am")
		want := fmt.Sprintf(`{"sign_out":{"at":"2026-07-06 12:03:00","clock":"hall"},"punches":[{"at":"2026-07-06 07:55:00","clock":"hall"},{"at":"2026-07-06 12:03:00","clock":"hall"}],"patrols":[{"id":%d,"from":"2026-07-06 09:00:00","to":"2026-07-06 09:10:00","present":true}]}`, ids[0])
		if got.Evidence != want {
			t.Errorf("evidence got %s, want %s", got.Evidence, want)
		}
		if got.Findings != "LATE;MISSING_IN" || got.SignOut != "12:03" || got.SignIn != "" {
			t.Errorf("result got %q in %q out %q, want LATE;MISSING_IN, '', 12:03", got.Findings, got.SignIn, got.SignOut)
		}
	})
}

func TestProvisionalThenFinal(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		fixture(t, s)
		punch(t, s, "1@2026-07-06 08:20:00", "1@2026-07-06 12:01:00", "3@2026-07-06 08:20:00", "3@2026-07-06 12:01:00")
		w := newWorker(s, "2026-07-06 12:30:00")
		drain(t, w)
		final := func() string {
			return fmt.Sprint(get(t, s, "1001", "2026-07-06", "am").Final, get(t, s, "1001", "2026-07-06", "pm").Final,
				get(t, s, "1003", "2026-07-06", "am").Final)
		}
		steps := []struct {
			name       string
			read       func()
			wantMarked int
			want       string // 1001 am, 1001 pm, 1003 am
		}{
			{"no clock read yet", func() {}, 0, "false false false"},
			{"hall read at 12:05, inside the sign-out window", func() {
				if err := s.SaveCursor(ctx, store.Cursor{Clock: "hall", LastReadAt: wall("2026-07-06 12:05:00")}); err != nil {
					t.Fatal(err)
				}
			}, 0, "false false false"},
			{"hall read at 12:11, past the window", func() {
				if err := s.SaveCursor(ctx, store.Cursor{Clock: "hall", LastReadAt: wall("2026-07-06 12:11:00")}); err != nil {
					t.Fatal(err)
				}
			}, 1, "true false false"}, // 1003 waits for side; pm is not over
			{"side (Anviz) read at 12:20", func() {
				if err := s.TouchClockRead(ctx, "side", wall("2026-07-06 12:20:00")); err != nil {
					t.Fatal(err)
				}
			}, 1, "true false true"},
			{"an older touch does not move the read back", func() {
				if err := s.TouchClockRead(ctx, "side", wall("2026-07-06 08:00:00")); err != nil {
					t.Fatal(err)
				}
			}, 0, "true false true"},
		}
		for _, st := range steps {
			st.read()
			n, err := w.Finalize(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if n != st.wantMarked {
				t.Errorf("%s: finalising pass marked %d days (%s), want %d", st.name, n, dirty(t, s), st.wantMarked)
			}
			drain(t, w)
			if got := final(); got != st.want {
				t.Errorf("%s: final got %s, want %s", st.name, got, st.want)
			}
		}
	})
}

func TestFinalizeSweepsDaysWithoutInputs(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		fixture(t, s)
		w := newWorker(s, "2026-07-08 20:00:00")
		w.o.SweepDays = 3 // the 5th (Sunday) to the 8th
		n, err := w.Sweep(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n != 9 {
			t.Errorf("sweep marked %d days (%s), want 9: 3 staff × 6th, 7th, 8th", n, dirty(t, s))
		}
		drain(t, w)
		if got := get(t, s, "1002", "2026-07-07", "pm").Findings; got != "ABSENT" {
			t.Errorf("1002 with no punch: got %q, want ABSENT", got)
		}
		if n, _ := w.Sweep(ctx); n != 0 {
			t.Errorf("second sweep marked %d days, want 0", n)
		}
	})
}

func TestClosedMonthChangesOnlyByCorrection(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		fixture(t, s)
		stockWeek(t, s)
		w := newWorker(s, "2026-08-20 09:00:00")
		drain(t, w)
		if err := s.CloseMonth(ctx, "2026-07", "hr"); err != nil {
			t.Fatal(err)
		}
		if err := s.CloseMonth(ctx, "2026-07", "hr"); !errors.Is(err, store.ErrAlreadyClosed) {
			t.Errorf("second close got %v, want ErrAlreadyClosed", err)
		}
		before := get(t, s, "1001", "2026-07-07", "am")
		// New inputs arrive: a punch is stored, its day marked, and dropped; a slip is refused (本月已结账，请用更正).
		punch(t, s, "1@2026-07-07 08:29:00")
		if _, err := s.AddLeaveSlips(ctx, []store.LeaveSlip{{StaffID: "1001", Type: "sick", Start: wall("2026-07-07 08:00:00"),
			End: wall("2026-07-07 18:00:00"), FiledAt: wall("2026-07-01 00:00:00"), Approvals: "window_head;center_leader"}}, "clerk"); !errors.Is(err, store.ErrMonthClosed) {
			t.Fatalf("slip in a closed month: got %v, want ErrMonthClosed", err)
		}
		if got := drain(t, w); got != 1 {
			t.Errorf("claimed %d days, want 1", got)
		}
		if got := dirty(t, s); got != "" {
			t.Errorf("dirty days left %q, want none", got)
		}
		if err := w.Recompute(ctx, "1001", date("2026-07-07")); !errors.Is(err, ErrClosed) {
			t.Errorf("Recompute in a closed month got %v, want ErrClosed", err)
		}
		if got := get(t, s, "1001", "2026-07-07", "am"); got.Values != before.Values || got.ComputedAt != before.ComputedAt {
			t.Errorf("closed month changed: %+v → %+v", before.Values, got.Values)
		}
		// A correction is the one way.
		c := store.Correction{StaffID: "1001", Day: "2026-07-07", Segment: "am", Values: store.Values{Findings: "LATE", LateMinutes: 0},
			Reason: "punch on the broken clock, confirmed by the window head", Actor: "hr-li"}
		if _, err := s.Correct(ctx, c); err != nil {
			t.Fatal(err)
		}
		got := get(t, s, "1001", "2026-07-07", "am")
		if got.Findings != "LATE" || got.Correction == nil || got.Correction.Actor != "hr-li" || got.Computed.Findings != "LATE;MISSING_IN" {
			t.Errorf("corrected result got %+v (correction %+v), want LATE by hr-li over computed LATE;MISSING_IN", got.Values, got.Correction)
		}
		log, err := s.AuditLog(ctx, 1)
		if err != nil {
			t.Fatal(err)
		}
		wantOld := `{"findings":"LATE;MISSING_IN","late_minutes":0,"early_minutes":0,"off_post":0,"leave_type":""}`
		if len(log) != 1 || log[0].Action != "correct" || log[0].Actor != "hr-li" || log[0].OldValue != wantOld ||
			!strings.Contains(log[0].NewValue, `"findings":"LATE"`) || !strings.Contains(log[0].NewValue, "window head") {
			t.Errorf("audit got %+v, want the correction with old %s and the new values", log, wantOld)
		}
		// Open months are corrected through their inputs.
		c.Day = "2026-08-03"
		if _, err := s.Correct(ctx, c); !errors.Is(err, store.ErrMonthOpen) {
			t.Errorf("correction in an open month got %v, want ErrMonthOpen", err)
		}
	})
}

func TestTwoWorkersNeverShareADay(t *testing.T) {
	run := func(t *testing.T, b storetest.Backend) {
		s1 := storetest.Open(t, b)
		s2 := storetest.Open(t, b)
		fixture(t, s1)
		var ps []string
		days := 0
		rules := attendance.DefaultRules()
		for d := date("2026-06-01"); d <= date("2026-06-30"); d++ {
			if !rules.Working(d) {
				continue
			}
			days++
			for _, u := range []string{"1", "2", "3"} {
				ps = append(ps, u+"@"+d.String()+" 08:4"+u+":00", u+"@"+d.String()+" 12:01:00")
			}
		}
		punch(t, s1, ps...)
		var mu sync.Mutex
		busy := map[store.DirtyDay]string{}
		count := map[store.DirtyDay]int{}
		var clash []string
		hook := func(name string) func(store.DirtyDay, bool) {
			return func(d store.DirtyDay, start bool) {
				mu.Lock()
				defer mu.Unlock()
				if !start {
					delete(busy, d)
					return
				}
				if other, ok := busy[d]; ok {
					clash = append(clash, fmt.Sprintf("%v by %s and %s", d, other, name))
				}
				busy[d] = name
				count[d]++
			}
		}
		w1, w2 := newWorker(s1, "2026-07-20 09:00:00"), newWorker(s2, "2026-07-20 09:00:00")
		w1.o.Name, w2.o.Name = "one", "two"
		w1.o.Batch, w2.o.Batch = 4, 4
		w1.o.SweepDays, w2.o.SweepDays = -1, -1
		w1.o.Poll, w2.o.Poll = 10*time.Millisecond, 10*time.Millisecond
		w1.hook, w2.hook = hook("one"), hook("two")
		rctx, cancel := context.WithCancel(ctx)
		var wg sync.WaitGroup
		for _, w := range []*Worker{w1, w2} {
			wg.Add(1)
			go func() { defer wg.Done(); w.Run(rctx) }()
		}
		deadline := time.Now().Add(60 * time.Second)
		for dirty(t, s1) != "" && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond) // polling with a deadline, not waiting for a guess
		}
		cancel()
		wg.Wait()
		if left := dirty(t, s1); left != "" {
			t.Fatalf("dirty days left after 60s: %s", left)
		}
		if len(clash) > 0 {
			t.Errorf("days computed by both workers at once: %v", clash)
		}
		if len(count) != 3*days {
			t.Errorf("computed %d days, want %d", len(count), 3*days)
		}
		for d, n := range count {
			if n != 1 {
				t.Errorf("%v computed %d times, want once", d, n)
			}
		}
		rs, err := s1.Results(ctx, wall("2026-06-01 00:00:00"), wall("2026-06-30 00:00:00"), "")
		if err != nil {
			t.Fatal(err)
		}
		if len(rs) != 3*days*2 {
			t.Errorf("got %d results, want %d", len(rs), 3*days*2)
		}
		for _, r := range rs {
			want := map[string]string{"am": "LATE", "pm": "ABSENT"}[r.Segment]
			late := map[string]int{"1001": 11, "1002": 12, "1003": 13}[r.StaffID]
			if r.Segment == "pm" {
				late = 0
			}
			if r.Findings != want || r.LateMinutes != late {
				t.Errorf("%s %s %s got %s %d, want %s %d", r.StaffID, r.Day, r.Segment, r.Findings, r.LateMinutes, want, late)
			}
		}
	}
	// Each worker opens the database on its own, as two daemons would.
	t.Run("sqlite", func(t *testing.T) {
		run(t, storetest.Backend{Name: "sqlite", Driver: "sqlite", DSN: filepath.Join(t.TempDir(), "k.db")})
	})
	t.Run("mysql", func(t *testing.T) { run(t, storetest.NewMySQLBackend(t)) })
}

// A staff member is due nothing outside their start and end dates: a newcomer is not ABSENT before
// joining (whether the days come from a recompute, a sweep or a month close), and results computed
// before the dates were known are removed.
func TestNothingDueOutsideStartAndEndDates(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		fixture(t, s)
		w := newWorker(s, "2026-07-10 20:00:00")
		if _, _, err := w.RecomputeRange(ctx, "1002", date("2026-07-06"), date("2026-07-10")); err != nil {
			t.Fatal(err)
		}
		count := func() int {
			rs, err := s.Results(ctx, wall("2026-07-06 00:00:00"), wall("2026-07-10 00:00:00"), "1002")
			if err != nil {
				t.Fatal(err)
			}
			return len(rs)
		}
		if n := count(); n != 10 {
			t.Fatalf("before the dates are known: got %d results, want 10 (5 days × 2)", n)
		}
		// The roster now says 1002 joined on the 8th and leaves after the 9th.
		roster := []store.RosterEntry{
			{Staff: store.Staff{StaffID: "1001", Name: "甲", Window: "民政", Unit: "民政局"}},
			{Staff: store.Staff{StaffID: "1002", Name: "乙", Window: "民政", Unit: "民政局", StartDate: "2026-07-08", EndDate: "2026-07-09"}},
			{Staff: store.Staff{StaffID: "1003", Name: "丙", Window: "社保", Unit: "人社局"}},
		}
		if _, err := s.ImportStaff(ctx, roster, "test"); err != nil {
			t.Fatal(err)
		}
		if _, _, err := w.RecomputeRange(ctx, "1002", date("2026-07-06"), date("2026-07-10")); err != nil {
			t.Fatal(err)
		}
		if n := count(); n != 4 {
			t.Errorf("with start 8th and end 9th: got %d results, want 4", n)
		}
		w.o.SweepDays = 5
		if _, err := w.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
		if d := dirty(t, s); strings.Contains(d, "1002/2026-07-06") || strings.Contains(d, "1002/2026-07-10") {
			t.Errorf("sweep marked days outside 1002's dates: %s", d)
		}
	})
}

// When a window gains or loses staff, the R15/R16 judgement of its slips may change: a roster import
// queues the stored days of everyone at such a window, and only theirs.
func TestRosterChangeRecomputesTheWindow(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		fixture(t, s)
		today := store.Wall(time.Now(), s.Location()).Format("2006-01-02")
		w := newWorker(s, today+" 20:00:00")
		d := attendance.DateOf(wall(today + " 00:00:00"))
		for _, id := range []string{"1001", "1002", "1003"} {
			if _, _, err := w.RecomputeRange(ctx, id, d-14, d); err != nil { // wide enough to hold working days in any holiday
				t.Fatal(err)
			}
		}
		drain(t, w)
		roster := []store.RosterEntry{
			{Staff: store.Staff{StaffID: "1001", Name: "甲", Window: "民政", Unit: "民政局"}},
			{Staff: store.Staff{StaffID: "1002", Name: "乙", Window: "民政", Unit: "民政局"}},
			{Staff: store.Staff{StaffID: "1003", Name: "丙", Window: "社保", Unit: "人社局"}},
			{Staff: store.Staff{StaffID: "1004", Name: "丁", Window: "社保", Unit: "人社局"}}, // 社保 now has two
		}
		if _, err := s.ImportStaff(ctx, roster, "test"); err != nil {
			t.Fatal(err)
		}
		got := dirty(t, s)
		if !strings.Contains(got, "1003/") {
			t.Errorf("1003's days not queued after 社保 gained a second staff member: %q", got)
		}
		if strings.Contains(got, "1001/") || strings.Contains(got, "1002/") {
			t.Errorf("民政's days queued though its staffing did not change: %q", got)
		}
	})
}

func TestWorkerMetrics(t *testing.T) {
	s := storetest.SQLite(t)
	fixture(t, s)
	reg := prometheus.NewPedanticRegistry()
	w := newWorker(s, "2026-07-08 20:00:00")
	w.o.Metrics = NewMetrics(reg)
	punch(t, s, "1@2026-07-06 08:20:00", "2@2026-07-07 08:20:00")
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); w.Run(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for testutil.ToFloat64(w.o.Metrics.Recomputed) < 2 || testutil.ToFloat64(w.o.Metrics.LastPass) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("recomputed %v days, want 2", testutil.ToFloat64(w.o.Metrics.Recomputed))
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	<-done
	if q := testutil.ToFloat64(w.o.Metrics.Queued); q != 0 {
		t.Errorf("queue after the pass: got %v, want 0", q)
	}
	for _, c := range []prometheus.Collector{w.o.Metrics.Recomputed, w.o.Metrics.Failed, w.o.Metrics.Queued, w.o.Metrics.LastPass} {
		problems, err := testutil.CollectAndLint(c)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range problems {
			t.Errorf("metric %s: %s", p.Metric, p.Text)
		}
	}
}

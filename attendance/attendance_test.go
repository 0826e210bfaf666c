package attendance

import (
	"slices"
	"testing"
	"time"
)

func at(s string) time.Time {
	t, err := time.Parse("2006-01-02 15:04:05", s)
	if err != nil {
		panic(err)
	}
	return t
}

func date(s string) Date {
	d, err := ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

func defaultRules(t testing.TB) *Rules {
	t.Helper()
	r := DefaultRules()
	if err := r.Validate(); err != nil {
		t.Fatalf("DefaultRules().Validate() = %v", err)
	}
	return &r
}

// punches builds the punches of one day: "08:25" or "08:25:59".
func punches(day string, clock ...string) []Punch {
	var ps []Punch
	for _, c := range clock {
		if len(c) == 5 {
			c += ":00"
		}
		ps = append(ps, Punch{At: at(day + " " + c), Device: "clock-1"})
	}
	return ps
}

// one classifies a single day and returns the result of segment seg.
func one(t *testing.T, r *Rules, st Staff, day string, seg Segment, in Inputs) Result {
	t.Helper()
	d := date(day)
	res := Classify(r.Period(d, d), st, in, nil)
	for _, x := range res {
		if x.Segment == seg {
			return x
		}
	}
	t.Fatalf("no %s result on %s (got %d results)", seg, day, len(res))
	return Result{}
}

var staffA = Staff{ID: "1001", Window: "民政", WindowStaff: 2}

func codesOf(f Findings) []string { return f.Codes(nil) }

type want struct {
	findings      []string
	late, early   int
	offPost       int
	leaveType     string
	signIn, signO string
}

func check(t *testing.T, name string, got Result, w want) {
	t.Helper()
	if w.findings == nil {
		w.findings = []string{}
	}
	gf := codesOf(got.Findings)
	if gf == nil {
		gf = []string{}
	}
	if !slices.Equal(gf, w.findings) {
		t.Errorf("%s: findings got %v, want %v", name, gf, w.findings)
	}
	if got.LateMinutes != w.late || got.EarlyMinutes != w.early {
		t.Errorf("%s: late/early got %d/%d, want %d/%d", name, got.LateMinutes, got.EarlyMinutes, w.late, w.early)
	}
	if got.OffPost != w.offPost {
		t.Errorf("%s: off_post got %d, want %d", name, got.OffPost, w.offPost)
	}
	if got.LeaveType != w.leaveType {
		t.Errorf("%s: leave_type got %q, want %q", name, got.LeaveType, w.leaveType)
	}
	if w.signIn != "-" && got.SignIn.String() != w.signIn {
		t.Errorf("%s: sign_in got %q, want %q", name, got.SignIn, w.signIn)
	}
	if w.signO != "-" && got.SignOut.String() != w.signO {
		t.Errorf("%s: sign_out got %q, want %q", name, got.SignOut, w.signO)
	}
}

func TestR1WorkingHours(t *testing.T) {
	s := DefaultSchedule()
	tests := []struct {
		name       string
		h          Hours
		start, end string
	}{
		{"summer am", s.Summer.AM, "08:30", "12:00"},
		{"summer pm", s.Summer.PM, "14:30", "18:00"},
		{"winter am", s.Winter.AM, "08:30", "12:00"},
		{"winter pm", s.Winter.PM, "14:00", "17:30"},
	}
	for _, tt := range tests {
		if got := tt.h.Start.String() + "-" + tt.h.End.String(); got != tt.start+"-"+tt.end {
			t.Errorf("%s: got %s, want %s-%s", tt.name, got, tt.start, tt.end)
		}
	}
}

func TestR2PunchWindows(t *testing.T) {
	r := defaultRules(t)
	tests := []struct {
		name   string
		day    string
		seg    Segment
		clocks []string
		want   want
	}{
		{"summer pm sign-in 14:00 opens the window", "2026-07-06", PM, []string{"14:00", "18:00"}, want{signIn: "14:00", signO: "18:00"}},
		{"summer pm 13:59 is outside", "2026-07-06", PM, []string{"13:59", "18:00"}, want{findings: []string{"LATE", "MISSING_IN"}, signIn: "", signO: "18:00"}},
		{"summer pm 14:45 is late 15", "2026-07-06", PM, []string{"14:45", "18:10"}, want{findings: []string{"LATE"}, late: 15, signIn: "14:45", signO: "18:10"}},
		{"summer pm 18:11 is outside", "2026-07-06", PM, []string{"14:20", "18:11"}, want{findings: []string{"EARLY", "MISSING_OUT"}, signIn: "14:20", signO: ""}},
		{"winter pm 14:10 is late 10", "2026-12-07", PM, []string{"14:10", "17:30"}, want{findings: []string{"LATE"}, late: 10, signIn: "14:10", signO: "17:30"}},
		{"winter pm 13:30 on time", "2026-12-07", PM, []string{"13:30", "17:35"}, want{signIn: "13:30", signO: "17:35"}},
		{"winter pm 17:40 closes the window", "2026-12-07", PM, []string{"13:50", "17:40"}, want{signIn: "13:50", signO: "17:40"}},
		{"winter pm 17:41 is outside", "2026-12-07", PM, []string{"13:50", "17:41"}, want{findings: []string{"EARLY", "MISSING_OUT"}, signIn: "13:50", signO: ""}},
		{"winter pm 17:15 is early 15", "2026-12-07", PM, []string{"13:50", "17:15"}, want{findings: []string{"EARLY"}, early: 15, signIn: "13:50", signO: "17:15"}},
		{"am sign-out 11:40 is early 20", "2026-07-06", AM, []string{"08:00", "11:40"}, want{findings: []string{"EARLY"}, early: 20, signIn: "08:00", signO: "11:40"}},
		{"am sign-out 12:10 closes the window", "2026-07-06", AM, []string{"08:00", "12:10"}, want{signIn: "08:00", signO: "12:10"}},
	}
	for _, tt := range tests {
		got := one(t, r, staffA, tt.day, tt.seg, Inputs{Punches: punches(tt.day, tt.clocks...)})
		check(t, tt.name, got, tt.want)
	}
}

func TestR3Seasons(t *testing.T) {
	s := DefaultSchedule()
	tests := []struct {
		day    string
		summer bool
	}{{"2026-04-30", false}, {"2026-05-01", true}, {"2026-09-30", true}, {"2026-10-01", false}, {"2026-01-15", false}}
	for _, tt := range tests {
		if got := s.IsSummer(date(tt.day)); got != tt.summer {
			t.Errorf("IsSummer(%s) got %v, want %v", tt.day, got, tt.summer)
		}
	}
	s.Years = map[int]SeasonSpan{2027: {MonthDay{time.April, 15}, MonthDay{time.October, 7}}}
	for _, tt := range []struct {
		day    string
		summer bool
	}{{"2027-04-15", true}, {"2027-04-14", false}, {"2027-10-07", true}, {"2027-10-08", false}, {"2026-10-05", false}} {
		if got := s.IsSummer(date(tt.day)); got != tt.summer {
			t.Errorf("with 2027 override, IsSummer(%s) got %v, want %v", tt.day, got, tt.summer)
		}
	}
}

func TestR3ScheduleValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Schedule)
		ok     bool
	}{
		{"default", func(*Schedule) {}, true},
		{"window ends before it starts", func(s *Schedule) { s.Summer.AM.In = Window{Clock(8, 50), Clock(8, 0)} }, false},
		{"overlapping windows", func(s *Schedule) { s.Winter.AM.Out = Window{Clock(8, 40), Clock(12, 10)} }, false},
		{"hours end before they start", func(s *Schedule) { s.Winter.PM.End = Clock(13, 0) }, false},
		{"summer ends before it starts", func(s *Schedule) { s.Span = SeasonSpan{MonthDay{time.October, 1}, MonthDay{time.May, 1}} }, false},
		{"bad year override", func(s *Schedule) {
			s.Years = map[int]SeasonSpan{2027: {MonthDay{time.February, 30}, MonthDay{time.May, 1}}}
		}, false},
	}
	for _, tt := range tests {
		s := DefaultSchedule()
		tt.change(&s)
		if err := s.Validate(); (err == nil) != tt.ok {
			t.Errorf("%s: Validate() got %v, want ok=%v", tt.name, err, tt.ok)
		}
	}
}

func TestR4Resolution(t *testing.T) {
	r := defaultRules(t)
	tests := []struct {
		name   string
		clocks []string
		want   want
	}{
		{"08:30:59 is not late", []string{"08:30:59", "12:00"}, want{signIn: "08:30", signO: "12:00"}},
		{"08:31:00 is late 1", []string{"08:31:00", "12:00"}, want{findings: []string{"LATE"}, late: 1, signIn: "08:31", signO: "12:00"}},
		{"08:50 is inside the window", []string{"08:50:00", "12:00"}, want{findings: []string{"LATE"}, late: 20, signIn: "08:50", signO: "12:00"}},
		{"08:50:59 is inside the window", []string{"08:50:59", "12:00"}, want{findings: []string{"LATE"}, late: 20, signIn: "08:50", signO: "12:00"}},
		{"08:51 is outside the window", []string{"08:51:00", "12:00"}, want{findings: []string{"LATE", "MISSING_IN"}, signIn: "", signO: "12:00"}},
		{"08:00 opens the window", []string{"08:00:00", "12:10:59"}, want{signIn: "08:00", signO: "12:10"}},
		{"11:59:59 is early 1", []string{"08:10", "11:59:59"}, want{findings: []string{"EARLY"}, early: 1, signIn: "08:10", signO: "11:59"}},
	}
	for _, tt := range tests {
		got := one(t, r, staffA, "2026-07-06", AM, Inputs{Punches: punches("2026-07-06", tt.clocks...)})
		check(t, tt.name, got, tt.want)
	}
}

func TestR5WorkingDays(t *testing.T) {
	r := defaultRules(t)
	tests := []struct {
		name    string
		day     string
		working bool
	}{
		{"Friday, Mid-Autumn holiday 2026", "2026-09-25", false},
		{"Sunday, National Day make-up working day 2026", "2026-09-20", true},
		{"Saturday, make-up working day 2026", "2026-10-10", true},
		{"National Day", "2026-10-01", false},
		{"ordinary Saturday", "2026-09-19", false},
		{"ordinary Monday", "2026-09-21", true},
		{"New Year make-up Sunday", "2026-01-04", true},
	}
	for _, tt := range tests {
		d := date(tt.day)
		res := Classify(r.Period(d, d), staffA, Inputs{}, nil)
		if got := len(res) == 2; got != tt.working {
			t.Errorf("%s (%s): got %d results, want working=%v", tt.name, tt.day, len(res), tt.working)
		}
		if tt.working && len(res) == 2 && (!res[0].Findings.Has(Absent) || res[0].Segment != AM || res[1].Segment != PM) {
			t.Errorf("%s: no punches got %v/%v, want ABSENT am then pm", tt.name, res[0].Findings, res[1].Findings)
		}
	}
	// A deployment's override wins over the official calendar and weekdays.
	cal := r.Calendar.WithOverrides(map[Date]bool{date("2026-12-31"): false, date("2026-09-25"): true, date("2026-12-26"): true})
	for _, tt := range []struct {
		day     string
		working bool
	}{{"2026-12-31", false}, {"2026-09-25", true}, {"2026-12-26", true}, {"2026-12-30", true}} {
		if got := cal.Working(date(tt.day)); got != tt.working {
			t.Errorf("override: Working(%s) got %v, want %v", tt.day, got, tt.working)
		}
	}
	if !r.Calendar.Covers(2026) || r.Calendar.Covers(2019) {
		t.Errorf("Covers: got 2026=%v 2019=%v, want true false", r.Calendar.Covers(2026), r.Calendar.Covers(2019))
	}
	if got := r.Period(date("2026-09-01"), date("2026-09-30")).Segments(); got != 2*22 {
		// September 2026: 22 weekdays, minus the 25th, plus Sunday the 20th.
		t.Errorf("September 2026 segments got %d, want %d", got, 2*22)
	}
}

func TestR6SignInAndOut(t *testing.T) {
	r := defaultRules(t)
	day := "2026-07-06"
	got := one(t, r, staffA, day, AM, Inputs{Punches: punches(day, "08:20", "08:42", "11:58", "12:03", "12:01")})
	check(t, "earliest in, latest out", got, want{signIn: "08:20", signO: "12:03"})
	if got.Evidence.SignIn == nil || MinuteOf(got.Evidence.SignIn.At) != Clock(8, 20) || got.Evidence.SignOut.Device != "clock-1" {
		t.Errorf("evidence sign-in got %+v, want the 08:20 punch of clock-1", got.Evidence.SignIn)
	}
	got = one(t, r, staffA, day, AM, Inputs{Punches: punches(day, "08:42", "12:03")})
	check(t, "late 12", got, want{findings: []string{"LATE"}, late: 12, signIn: "08:42", signO: "12:03"})
	got = one(t, r, staffA, day, PM, Inputs{Punches: punches(day, "14:29", "17:45")})
	check(t, "early 15", got, want{findings: []string{"EARLY"}, early: 15, signIn: "14:29", signO: "17:45"})
	// Unsorted punches are sorted first.
	got = one(t, r, staffA, day, AM, Inputs{Punches: punches(day, "12:03", "08:42", "08:35")})
	check(t, "unsorted", got, want{findings: []string{"LATE"}, late: 5, signIn: "08:35", signO: "12:03"})
}

func TestR7MissingPunches(t *testing.T) {
	r := defaultRules(t)
	day := "2026-07-06"
	tests := []struct {
		name   string
		clocks []string
		want   want
	}{
		{"sign-in missing", []string{"12:01"}, want{findings: []string{"LATE", "MISSING_IN"}, signIn: "", signO: "12:01"}},
		{"sign-out missing", []string{"08:20"}, want{findings: []string{"EARLY", "MISSING_OUT"}, signIn: "08:20", signO: ""}},
		{"both missing is ABSENT alone", nil, want{findings: []string{"ABSENT"}, signIn: "", signO: ""}},
		{"sign-out missing, late sign-in still counted", []string{"08:40"}, want{findings: []string{"EARLY", "LATE", "MISSING_OUT"}, late: 10, signIn: "08:40", signO: ""}},
	}
	for _, tt := range tests {
		got := one(t, r, staffA, day, AM, Inputs{Punches: punches(day, tt.clocks...)})
		check(t, tt.name, got, tt.want)
	}
}

func TestR8StrayPunches(t *testing.T) {
	r := defaultRules(t)
	day := "2026-07-06"
	got := one(t, r, staffA, day, AM, Inputs{Punches: punches(day, "07:55", "12:00", "13:00", "14:20", "18:00")})
	check(t, "07:55 does not sign in", got, want{findings: []string{"LATE", "MISSING_IN"}, signIn: "", signO: "12:00"})
	strays := got.Evidence.Strays()
	if len(strays) != 2 || MinuteOf(strays[0].At) != Clock(7, 55) || MinuteOf(strays[1].At) != Clock(13, 0) {
		t.Errorf("am strays got %v, want 07:55 and 13:00 (13:00 is before the 13:05 split)", strays)
	}
	pm := one(t, r, staffA, day, PM, Inputs{Punches: punches(day, "07:55", "12:00", "13:00", "14:20", "18:00")})
	if n := len(pm.Evidence.Punches); n != 2 {
		t.Errorf("pm evidence punches got %d, want 2", n)
	}
}

func TestR9ClockFailure(t *testing.T) {
	r := defaultRules(t)
	day := "2026-07-06"
	fail := func(from, to, rep string) Failure {
		return Failure{Ref: "f", From: at(day + " " + from), To: at(day + " " + to), ReportedAt: at(rep)}
	}
	tests := []struct {
		name     string
		clocks   []string
		failures []Failure
		after    time.Duration
		want     want
	}{
		{"timely report exempts missing sign-in", []string{"12:01"}, []Failure{fail("08:00:00", "08:50:00", day+" 09:00:00")}, 0,
			want{findings: []string{"EXEMPT"}, signIn: "", signO: "12:01"}},
		{"report at 23:59 is the same day", []string{"12:01"}, []Failure{fail("08:00:00", "08:50:00", day+" 23:59:59")}, 0,
			want{findings: []string{"EXEMPT"}, signIn: "", signO: "12:01"}},
		{"report next day is late: the punch counts as usual", []string{"12:01"}, []Failure{fail("08:00:00", "08:50:00", "2026-07-07 08:00:00")}, 0,
			want{findings: []string{"LATE", "MISSING_IN"}, signIn: "", signO: "12:01"}},
		{"range not overlapping the window exempts nothing", []string{"12:01"}, []Failure{fail("08:51:00", "09:30:00", day+" 09:00:00")}, 0,
			want{findings: []string{"LATE", "MISSING_IN"}, signIn: "", signO: "12:01"}},
		{"range touching the window end exempts", []string{"12:01"}, []Failure{fail("08:50:00", "09:30:00", day+" 09:00:00")}, 0,
			want{findings: []string{"EXEMPT"}, signIn: "", signO: "12:01"}},
		{"both missing, both exempt", nil, []Failure{fail("07:00:00", "13:00:00", day+" 12:30:00")}, 0,
			want{findings: []string{"EXEMPT"}, signIn: "", signO: ""}},
		{"both missing, one exempt: not ABSENT", nil, []Failure{fail("08:00:00", "08:30:00", day+" 08:40:00")}, 0,
			want{findings: []string{"EARLY", "EXEMPT", "MISSING_OUT"}, signIn: "", signO: ""}},
		{"a punch that was made needs no exemption", []string{"08:40", "12:01"}, []Failure{fail("08:00:00", "08:50:00", day+" 09:00:00")}, 0,
			want{findings: []string{"LATE"}, late: 10, signIn: "08:40", signO: "12:01"}},
		{"configured 2h deadline met", []string{"12:01"}, []Failure{fail("08:00:00", "08:50:00", day+" 10:50:00")}, 2 * time.Hour,
			want{findings: []string{"EXEMPT"}, signIn: "", signO: "12:01"}},
		{"configured 2h deadline missed", []string{"12:01"}, []Failure{fail("08:00:00", "08:50:00", day+" 10:51:00")}, 2 * time.Hour,
			want{findings: []string{"LATE", "MISSING_IN"}, signIn: "", signO: "12:01"}},
	}
	for _, tt := range tests {
		rr := *r
		rr.FailureReportAfter = tt.after
		got := one(t, &rr, staffA, day, AM, Inputs{Punches: punches(day, tt.clocks...), Failures: tt.failures})
		check(t, tt.name, got, tt.want)
		if len(got.Evidence.Failures) != len(tt.failures) && tt.name != "range not overlapping the window exempts nothing" {
			t.Errorf("%s: evidence failures got %d, want %d", tt.name, len(got.Evidence.Failures), len(tt.failures))
		}
	}
}

func TestR10OffPost(t *testing.T) {
	r := defaultRules(t)
	day := "2026-07-06"
	normal := punches(day, "08:20", "12:01", "14:20", "18:01")
	patrol := func(from, to string, present bool) Patrol {
		return Patrol{Ref: "p", From: at(day + " " + from), To: at(day + " " + to), Present: present}
	}
	tests := []struct {
		name    string
		seg     Segment
		patrols []Patrol
		leaves  []Leave
		want    want
	}{
		{"absent 20 minutes", AM, []Patrol{patrol("10:00:00", "10:20:00", false)}, nil,
			want{findings: []string{"OFF_POST"}, offPost: 1, signIn: "08:20", signO: "12:01"}},
		{"absent 19 minutes", AM, []Patrol{patrol("10:00:00", "10:19:59", false)}, nil,
			want{signIn: "08:20", signO: "12:01"}},
		{"two episodes", AM, []Patrol{patrol("09:00:00", "09:30:00", false), patrol("10:00:00", "10:25:00", false)}, nil,
			want{findings: []string{"OFF_POST"}, offPost: 2, signIn: "08:20", signO: "12:01"}},
		{"present is not off post", AM, []Patrol{patrol("10:00:00", "11:00:00", true)}, nil,
			want{signIn: "08:20", signO: "12:01"}},
		{"covered by recognised leave", AM, []Patrol{patrol("10:00:00", "10:40:00", false)},
			[]Leave{{Type: "temporary", From: at(day + " 09:55:00"), To: at(day + " 10:45:00"), Recognised: true}},
			want{signIn: "08:20", signO: "12:01"}},
		{"partly covered, 15 minutes left", AM, []Patrol{patrol("10:00:00", "10:40:00", false)},
			[]Leave{{Type: "temporary", From: at(day + " 09:55:00"), To: at(day + " 10:25:00"), Recognised: true}},
			want{signIn: "08:20", signO: "12:01"}},
		{"an unrecognised slip does not cover", AM, []Patrol{patrol("10:00:00", "10:40:00", false)},
			[]Leave{{Type: "temporary", From: at(day + " 09:55:00"), To: at(day + " 10:45:00"), Recognised: false}},
			want{findings: []string{"LEAVE_UNRECOGNISED", "OFF_POST"}, offPost: 1, signIn: "08:20", signO: "12:01"}},
		{"lunch does not count: 11:50-12:30 is 10 minutes", AM, []Patrol{patrol("11:50:00", "12:30:00", false)}, nil,
			want{signIn: "08:20", signO: "12:01"}},
		{"across lunch counted where it starts (am)", AM, []Patrol{patrol("11:50:00", "14:40:00", false)}, nil,
			want{findings: []string{"OFF_POST"}, offPost: 1, signIn: "08:20", signO: "12:01"}},
		{"across lunch not counted again (pm)", PM, []Patrol{patrol("11:50:00", "14:40:00", false)}, nil,
			want{signIn: "14:20", signO: "18:01"}},
	}
	for _, tt := range tests {
		got := one(t, r, staffA, day, tt.seg, Inputs{Punches: normal, Patrols: tt.patrols, Leaves: tt.leaves})
		check(t, tt.name, got, tt.want)
	}
}

func TestR11PatrolPresentRescue(t *testing.T) {
	r := defaultRules(t)
	day := "2026-07-06"
	tests := []struct {
		name    string
		patrols []Patrol
		want    want
	}{
		{"present inside working hours", []Patrol{{From: at(day + " 10:00:00"), To: at(day + " 10:05:00"), Present: true}},
			want{findings: []string{"EARLY", "LATE", "MISSING_IN", "MISSING_OUT"}, signIn: "", signO: ""}},
		{"present before working hours does not rescue", []Patrol{{From: at(day + " 08:00:00"), To: at(day + " 08:20:00"), Present: true}},
			want{findings: []string{"ABSENT"}, signIn: "", signO: ""}},
		{"absent patrol does not rescue", []Patrol{{From: at(day + " 10:00:00"), To: at(day + " 10:05:00")}},
			want{findings: []string{"ABSENT"}, signIn: "", signO: ""}},
	}
	for _, tt := range tests {
		got := one(t, r, staffA, day, AM, Inputs{Patrols: tt.patrols})
		check(t, tt.name, got, tt.want)
		if len(got.Evidence.Patrols) == 0 && tt.name == "present inside working hours" {
			t.Errorf("%s: the patrol record is not in the evidence", tt.name)
		}
	}
}

func TestR12RecognisedLeave(t *testing.T) {
	r := defaultRules(t)
	day := "2026-07-06"
	lv := func(from, to, typ string) Leave {
		return Leave{Ref: "l", Type: typ, From: at(day + " " + from), To: at(day + " " + to), Recognised: true}
	}
	tests := []struct {
		name   string
		seg    Segment
		clocks []string
		leaves []Leave
		want   want
	}{
		{"whole morning", AM, nil, []Leave{lv("08:30:00", "12:00:00", "personal")}, want{findings: []string{"LEAVE"}, leaveType: "personal", signIn: "", signO: ""}},
		{"whole day, pm too", PM, nil, []Leave{lv("08:30:00", "18:00:00", "sick")}, want{findings: []string{"LEAVE"}, leaveType: "sick", signIn: "", signO: ""}},
		{"ending 17:59 does not cover the pm end", PM, []string{"17:59"}, []Leave{lv("08:30:00", "17:59:00", "sick")},
			want{findings: []string{"EARLY"}, early: 1, signIn: "", signO: "17:59"}},
		{"covers start: sign-in excused", AM, []string{"12:01"}, []Leave{lv("08:00:00", "10:00:00", "personal")}, want{signIn: "", signO: "12:01"}},
		{"covers start: late sign-in excused", AM, []string{"08:45", "12:01"}, []Leave{lv("08:30:00", "09:00:00", "personal")}, want{signIn: "08:45", signO: "12:01"}},
		{"covers end: sign-out excused", AM, []string{"08:20"}, []Leave{lv("10:00:00", "12:00:00", "personal")}, want{signIn: "08:20", signO: ""}},
		{"in the middle: excuses nothing", AM, nil, []Leave{lv("09:00:00", "10:00:00", "personal")}, want{findings: []string{"ABSENT"}, signIn: "", signO: ""}},
		{"two adjoining slips cover together", AM, nil, []Leave{lv("10:00:00", "12:00:00", "sick"), lv("08:30:00", "10:00:00", "personal")},
			want{findings: []string{"LEAVE"}, leaveType: "personal", signIn: "", signO: ""}},
		{"no other finding with leave", AM, []string{"08:45", "11:45"}, []Leave{lv("08:00:00", "12:00:00", "annual")},
			want{findings: []string{"LEAVE"}, leaveType: "annual", signIn: "08:45", signO: "11:45"}},
		{"temporary over an hour books the segment", AM, []string{"08:20", "12:01"},
			[]Leave{{Type: "temporary", From: at(day + " 09:00:00"), To: at(day + " 10:30:00"), Recognised: true, HalfDay: true}},
			want{findings: []string{"LEAVE"}, leaveType: "temporary", signIn: "08:20", signO: "12:01"}},
	}
	for _, tt := range tests {
		got := one(t, r, staffA, day, tt.seg, Inputs{Punches: punches(day, tt.clocks...), Leaves: tt.leaves})
		check(t, tt.name, got, tt.want)
	}
}

func TestR13UnrecognisedLeave(t *testing.T) {
	r := defaultRules(t)
	day := "2026-07-06"
	un := func(from, to string) Leave {
		return Leave{Ref: "l", Type: "personal", From: at(day + " " + from), To: at(day + " " + to), Why: []string{"R14: late"}}
	}
	tests := []struct {
		name   string
		seg    Segment
		clocks []string
		leaves []Leave
		want   want
	}{
		{"unrecognised, punches complete", AM, []string{"08:20", "12:01"}, []Leave{un("09:00:00", "10:00:00")},
			want{findings: []string{"LEAVE_UNRECOGNISED"}, signIn: "08:20", signO: "12:01"}},
		{"unrecognised + missing punch = ABSENT", AM, []string{"08:20"}, []Leave{un("10:00:00", "12:00:00")},
			want{findings: []string{"ABSENT", "LEAVE_UNRECOGNISED"}, signIn: "08:20", signO: ""}},
		{"unrecognised whole morning", AM, nil, []Leave{un("08:30:00", "12:00:00")},
			want{findings: []string{"ABSENT", "LEAVE_UNRECOGNISED"}, signIn: "", signO: ""}},
		{"unrecognised with late sign-in keeps LATE", AM, []string{"08:40", "12:01"}, []Leave{un("09:00:00", "10:00:00")},
			want{findings: []string{"LATE", "LEAVE_UNRECOGNISED"}, late: 10, signIn: "08:40", signO: "12:01"}},
		{"not overlapping the pm", PM, []string{"14:20", "18:01"}, []Leave{un("09:00:00", "10:00:00")},
			want{signIn: "14:20", signO: "18:01"}},
		{"unrecognised + patrol present + both missing = ABSENT", AM, nil, []Leave{un("09:00:00", "10:00:00")},
			want{findings: []string{"ABSENT", "LEAVE_UNRECOGNISED"}, signIn: "", signO: ""}},
	}
	for _, tt := range tests {
		in := Inputs{Punches: punches(day, tt.clocks...), Leaves: tt.leaves}
		if tt.name == "unrecognised + patrol present + both missing = ABSENT" {
			in.Patrols = []Patrol{{From: at(day + " 11:00:00"), To: at(day + " 11:05:00"), Present: true}}
		}
		got := one(t, r, staffA, day, tt.seg, in)
		check(t, tt.name, got, tt.want)
		if tt.seg == AM && (len(got.Evidence.Leaves) != 1 || got.Evidence.Leaves[0].Why[0] != "R14: late") {
			t.Errorf("%s: evidence leaves got %v, want the slip with its reason", tt.name, got.Evidence.Leaves)
		}
	}
}

func TestR16OffPostSlip(t *testing.T) {
	r := defaultRules(t)
	single := Staff{ID: "2001", Window: "公安", WindowStaff: 1}
	// A two-day slip that counts as OFF_POST (no substitute) is one episode, in its first segment.
	slip := Leave{Ref: "l", Type: "annual", From: at("2026-07-06 08:30:00"), To: at("2026-07-07 18:00:00"), OffPost: true}
	res := Classify(r.Period(date("2026-07-06"), date("2026-07-07")), single, Inputs{Leaves: []Leave{slip}}, nil)
	var got []string
	for _, x := range res {
		got = append(got, x.Findings.String()+"/"+itoa(x.OffPost))
	}
	want := []string{"ABSENT;LEAVE_UNRECOGNISED;OFF_POST/1", "ABSENT;LEAVE_UNRECOGNISED/0", "ABSENT;LEAVE_UNRECOGNISED/0", "ABSENT;LEAVE_UNRECOGNISED/0"}
	if !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	// Classifying only the second day does not count the episode again.
	res = Classify(r.Period(date("2026-07-07"), date("2026-07-07")), single, Inputs{Leaves: []Leave{slip}}, nil)
	if res[0].OffPost != 0 {
		t.Errorf("second day alone: off_post got %d, want 0", res[0].OffPost)
	}
}

// TestR16RecognisedWithoutSubstitute: the substitute is not an approval (issue 15). A slip with
// the approvals its duration needs excuses what it covers; without a substitute the absence is
// OFF_POST too, once, in its first segment.
func TestR16RecognisedWithoutSubstitute(t *testing.T) {
	r := defaultRules(t)
	single := Staff{ID: "2001", Window: "公安", WindowStaff: 1}
	slip := Leave{Ref: "l", Type: "personal", From: at("2026-07-06 08:30:00"), To: at("2026-07-06 18:00:00"), Recognised: true, OffPost: true}
	res := Classify(r.Period(date("2026-07-06"), date("2026-07-06")), single, Inputs{Leaves: []Leave{slip}}, nil)
	var got []string
	for _, x := range res {
		got = append(got, x.Findings.String()+"/"+itoa(x.OffPost)+"/"+x.LeaveType)
	}
	want := []string{"LEAVE;OFF_POST/1/personal", "LEAVE/0/personal"}
	if !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func itoa(n int) string { return string(rune('0' + n)) }

func TestR18Findings(t *testing.T) {
	all := Absent | Early | Exempt | Late | OnLeave | LeaveUnrecognised | MissingIn | MissingOut | OffPost
	got := all.Codes(nil)
	want := []string{"ABSENT", "EARLY", "EXEMPT", "LATE", "LEAVE", "LEAVE_UNRECOGNISED", "MISSING_IN", "MISSING_OUT", "OFF_POST"}
	if !slices.Equal(got, want) || !slices.IsSorted(got) {
		t.Errorf("codes got %v, want %v (sorted)", got, want)
	}
	for _, c := range want {
		f, ok := ParseFinding(c)
		if !ok || f.Codes(nil)[0] != c {
			t.Errorf("ParseFinding(%q) got %v %v, want the same code back", c, f, ok)
		}
	}
	if (Findings(0)).String() != "" {
		t.Errorf("normal segment got %q, want empty", Findings(0).String())
	}
}

func TestSegmentsTouched(t *testing.T) {
	r := defaultRules(t)
	tests := []struct {
		name     string
		from, to string
		want     []SegmentRef
	}{
		{"punch at 07:55 touches am", "2026-07-06 07:55:00", "2026-07-06 07:55:00", []SegmentRef{{date("2026-07-06"), AM}}},
		{"punch at 13:10 touches pm (summer split 13:05)", "2026-07-06 13:10:00", "2026-07-06 13:10:00", []SegmentRef{{date("2026-07-06"), PM}}},
		{"slip across a weekend", "2026-07-10 14:00:00", "2026-07-13 10:00:00",
			[]SegmentRef{{date("2026-07-10"), PM}, {date("2026-07-13"), AM}}},
		{"holiday touches nothing", "2026-09-25 08:00:00", "2026-09-25 18:00:00", nil},
	}
	for _, tt := range tests {
		got := r.SegmentsIn(at(tt.from), at(tt.to), nil)
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
	if ref, ok := r.SegmentAt(at("2026-12-07 12:55:00")); !ok || ref.Segment != PM {
		t.Errorf("winter 12:55 got %v %v, want pm (winter split 12:50)", ref, ok)
	}
	if _, ok := r.SegmentAt(at("2026-09-19 09:00:00")); ok {
		t.Errorf("Saturday punch touches a segment, want none")
	}
}

func TestWallClockIgnoresLocation(t *testing.T) {
	loc := time.FixedZone("CST", 8*3600)
	p := Punch{At: time.Date(2026, 7, 6, 8, 42, 0, 0, loc)}
	if got := MinuteOf(p.At); got != Clock(8, 42) {
		t.Errorf("MinuteOf in CST got %s, want 08:42", got)
	}
	if got := DateOf(p.At); got != date("2026-07-06") {
		t.Errorf("DateOf in CST got %s, want 2026-07-06", got)
	}
}

func TestWorkingMinutes(t *testing.T) {
	r := defaultRules(t)
	tests := []struct {
		from, to string
		want     int
	}{
		{"2026-07-06 08:30:00", "2026-07-06 12:00:00", 210},
		{"2026-07-06 00:00:00", "2026-07-06 23:59:00", 420},
		{"2026-07-06 11:00:00", "2026-07-06 15:00:00", 90},
		{"2026-07-10 08:30:00", "2026-07-13 18:00:00", 840}, // Friday to Monday
		{"2026-09-25 08:30:00", "2026-09-25 18:00:00", 0},   // holiday
	}
	for _, tt := range tests {
		if got := r.WorkingMinutes(at(tt.from), at(tt.to)); got != tt.want {
			t.Errorf("WorkingMinutes(%s, %s) got %d, want %d", tt.from, tt.to, got, tt.want)
		}
	}
}

func TestR12LeaveTypeIsTheCoveringSlip(t *testing.T) {
	r := defaultRules(t)
	// An earlier slip of another type, which starts before the segment but has ended, must not
	// lend its type.
	in := Inputs{Leaves: []Leave{
		{Type: "personal", From: at("2026-07-01 08:30:00"), To: at("2026-07-01 18:00:00"), Recognised: true},
		{Type: "sick", From: at("2026-07-06 08:30:00"), To: at("2026-07-06 12:00:00"), Recognised: true},
	}}
	got := one(t, r, staffA, "2026-07-06", AM, in)
	check(t, "covering slip's type", got, want{findings: []string{"LEAVE"}, leaveType: "sick", signIn: "", signO: ""})
}

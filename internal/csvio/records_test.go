package csvio

import (
	"bytes"
	"strings"
	"testing"
)

func known(id string) bool { return id == "1001" || id == "1002" }

func table(t testing.TB, name, data string, cols []string) *Table {
	t.Helper()
	tb, err := Parse(name, []byte(data), cols...)
	if err != nil {
		// Every case is a table: a parse error is a broken parser, not a case to skip.
		t.Fatalf("Parse(%s): %v", name, err)
	}
	return tb
}

func problemsText(ps Problems) string {
	var b strings.Builder
	for _, p := range ps {
		b.WriteString(p.Error() + "\n")
	}
	return b.String()
}

func TestParseStaff(t *testing.T) {
	tests := []struct {
		name, data string
		n          int
		want       string
	}{
		{"ok with clocks", "staff_id,name,window,unit,clock_user_ids\n1001,王芳,民政,民政局,hall:1;annex:7\n1002,李强,民政,民政局,\n", 2, ""},
		{"duplicate id", "staff_id,name,window,unit\n1001,a,w,u\n1001,b,w,u\n", 1, "s.csv:3: staff_id \"1001\" is already on line 2\n"},
		{"empty id and window", "staff_id,name,window,unit\n,a,,u\n", 0, "s.csv:2: staff_id is empty\ns.csv:2: window is empty: every staff member sits at a window, which decides R15 or R16\n"},
		{"bad clock user", "staff_id,name,window,unit,clock_user_ids\n1001,a,w,u,hall\n", 0, "s.csv:2: clock_user_ids entry \"hall\" is not clock:user_id\n"},
		{"clock user twice", "staff_id,name,window,unit,clock_user_ids\n1001,a,w,u,hall:1\n1002,b,w,u,hall:1\n", 1, "s.csv:3: user \"1\" of clock \"hall\" is already on line 2\n"},
		{"dates", "staff_id,name,window,unit,start_date,end_date\n1001,a,w,u,2026-07-15,\n1002,b,w,u,2026-07-32,\n1003,c,w,u,2026-07-15,2026-07-01\n", 1,
			"s.csv:3: start_date: bad date \"2026-07-32\": want YYYY-MM-DD\ns.csv:4: end_date 2026-07-01 is before start_date 2026-07-15\n"},
	}
	for _, tt := range tests {
		st, ps := ParseStaff(table(t, "s.csv", tt.data, StaffColumns))
		if len(st) != tt.n || problemsText(ps) != tt.want {
			t.Errorf("%s: got %d staff, problems %q; want %d, %q", tt.name, len(st), problemsText(ps), tt.n, tt.want)
		}
	}
	st, _ := ParseStaff(table(t, "s.csv", tests[0].data, StaffColumns))
	if st, _ := ParseStaff(table(t, "s.csv", "staff_id,name,window,unit,start_date\n1001,a,w,u,2026-07-15\n", StaffColumns)); st[0].StartDate != "2026-07-15" {
		t.Errorf("start date: got %q, want 2026-07-15", st[0].StartDate)
	}
	if len(st[0].Clocks) != 2 || st[0].Clocks[1] != (ClockUser{"annex", "7"}) {
		t.Errorf("clocks got %v, want hall:1 and annex:7", st[0].Clocks)
	}
}

func TestStreamPunches(t *testing.T) {
	data := "\xEF\xBB\xBFStaff_ID,time,device,extra\n1001,2026-07-06 08:20:00,hall,x\n\n1003,2026-07-06 08:20:00,hall,x\n1002,2026-07-06 25:00:00,,x\n1002,2026-07-06 08:20:00.5,,x\n1002,2026-07-06\n"
	var got []PunchRow
	ps := StreamPunches("p.csv", strings.NewReader(data), known, func(p PunchRow) { got = append(got, p) })
	want := "p.csv:4: unknown staff_id \"1003\": not in the staff file\n" +
		"p.csv:5: time: bad time \"2026-07-06 25:00:00\": want YYYY-MM-DD HH:MM:SS\n" +
		"p.csv:7: has 2 fields, the header has 4\n"
	if problemsText(ps) != want {
		t.Errorf("problems got\n%s\nwant\n%s", problemsText(ps), want)
	}
	if len(got) != 2 || got[0].Device != "hall" || got[0].Line != 2 || got[1].Time.Nanosecond() != 5e8 {
		t.Errorf("rows got %+v, want line 2 on hall and the fractional time of line 6", got)
	}
	// Stream and Parse agree on the header problems.
	ps = StreamPunches("p.csv", strings.NewReader("staff_id,staff_id\n"), known, func(PunchRow) {})
	if want := "p.csv:1: column \"staff_id\" appears twice in the header\np.csv:1: missing column \"time\" in the header (the header must name staff_id,time)\n"; problemsText(ps) != want {
		t.Errorf("header problems got %q, want %q", problemsText(ps), want)
	}
	ps = StreamPunches("p.csv", strings.NewReader(""), known, func(PunchRow) {})
	if len(ps) != 1 || ps[0].Line != 1 {
		t.Errorf("empty file got %v, want one problem on line 1", ps)
	}
}

func TestParseTimeFastAgreesWithParseTime(t *testing.T) {
	for _, s := range []string{"2026-07-06 08:20:00", "2024-02-29 23:59:59", "2026-02-29 08:00:00", "2026-13-01 08:00:00",
		"2026-07-06 24:00:00", "2026-07-06 08:60:00", "2026-07-06T08:20:00", "0000-01-01 00:00:00", "2026-07-06 08:20:00.25", "２026-07-06 08:20:00"} {
		a, errA := parseTimeFast(s)
		b, errB := ParseTime(s)
		if (errA == nil) != (errB == nil) || !a.Equal(b) {
			t.Errorf("%q: fast got %v %v, ParseTime %v %v", s, a, errA, b, errB)
		}
	}
}

func TestParseLeavePatrolFailuresManual(t *testing.T) {
	l, ps := ParseLeave(table(t, "l.csv", "staff_id,type,start,end,filed_at,approvals\n"+
		"1001,sick,2026-07-06 08:30:00,2026-07-06 12:00:00,2026-07-01 08:00:00,\"window_head;center_leader;phone_notice@2026-07-06 07:00:00\"\n", LeaveColumns), known)
	if len(ps) != 0 || len(l) != 1 || l[0].Ref != "l.csv:2" || l[0].Approvals.PhoneNoticeAt.Hour() != 7 {
		t.Errorf("leave got %+v %v", l, ps)
	}
	p, ps := ParsePatrol(table(t, "p.csv", "staff_id,from,to,observation\n1001,2026-07-06 10:00:00,2026-07-06 09:00:00,present\n", PatrolColumns), known)
	if want := "p.csv:2: to 2026-07-06 09:00:00 is before from 2026-07-06 10:00:00\n"; len(p) != 0 || problemsText(ps) != want {
		t.Errorf("patrol got %v %q, want %q", p, problemsText(ps), want)
	}
	f, ps := ParseFailures(table(t, "f.csv", "staff_id,from,to,reported_at,clock\n*,2026-07-06 08:00:00,2026-07-06 09:00:00,2026-07-06 09:00:00,hall\n", FailureColumns), known)
	if len(ps) != 0 || len(f) != 1 || f[0].Clock != "hall" || f[0].StaffID != "*" {
		t.Errorf("failures got %+v %v", f, ps)
	}
	m, ps := ParseManual(table(t, "m.csv", "staff_id,time,reason,recorded_by\n1002,2026-07-06 08:25:00,指纹无法识别,周敏\n", ManualColumns), known)
	if len(ps) != 0 || len(m) != 1 || !m[0].Punch.Manual || m[0].Punch.Reason != "指纹无法识别" {
		t.Errorf("manual got %+v %v", m, ps)
	}
}

// The fuzz tests feed every parser arbitrary bytes: none may panic, and every problem must carry
// the file name.

func fuzzTable(f *testing.F, cols []string, seeds []string, parse func(*Table) Problems) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		tb, err := Parse("in.csv", data, cols...)
		if err != nil && tb == nil {
			return
		}
		for _, p := range parse(tb) {
			if p.File != "in.csv" {
				t.Fatalf("problem without the file name: %v", p)
			}
		}
	})
}

func FuzzParseStaff(f *testing.F) {
	fuzzTable(f, StaffColumns, []string{"staff_id,name,window,unit,clock_user_ids\n1001,王芳,民政,民政局,hall:1;annex:7\n1001,a,,u,x\n"},
		func(t *Table) Problems { _, ps := ParseStaff(t); return ps })
}

func FuzzParseLeave(f *testing.F) {
	fuzzTable(f, LeaveColumns, []string{"staff_id,type,start,end,filed_at,approvals\n1001,sick,2026-07-06 08:30:00,2026-07-06 12:00:00,2026-07-01 08:00:00,\"window_head;phone_notice@2026-07-06 07:00:00\"\n1002,boss,x,y,z,@@;;\n"},
		func(t *Table) Problems { _, ps := ParseLeave(t, known); return ps })
}

func FuzzParsePatrol(f *testing.F) {
	fuzzTable(f, PatrolColumns, []string{"staff_id,from,to,observation\n1001,2026-07-06 10:00:00,2026-07-06 10:30:00,absent\n"},
		func(t *Table) Problems { _, ps := ParsePatrol(t, known); return ps })
}

func FuzzParseFailures(f *testing.F) {
	fuzzTable(f, FailureColumns, []string{"staff_id,from,to,reported_at,clock\n*,2026-07-06 08:00:00,2026-07-06 09:00:00,2026-07-06 09:00:00,hall\n"},
		func(t *Table) Problems { _, ps := ParseFailures(t, known); return ps })
}

func FuzzParseManual(f *testing.F) {
	fuzzTable(f, ManualColumns, []string{"staff_id,time,reason,recorded_by\n1002,2026-07-06 08:25:00,指纹无法识别,周敏\n"},
		func(t *Table) Problems { _, ps := ParseManual(t, known); return ps })
}

func FuzzStreamPunches(f *testing.F) {
	f.Add([]byte("\xEF\xBB\xBFstaff_id,time,device\n1001,2026-07-06 08:20:00,hall\n1003,x\n\"unterminated\n"))
	f.Add([]byte("staff_id,time\n1002,2026-02-29 08:00:00\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ps := StreamPunches("in.csv", bytes.NewReader(data), known, func(p PunchRow) {
			if !known(p.StaffID) {
				t.Fatalf("row of unknown staff %q handed on", p.StaffID)
			}
		})
		for _, p := range ps {
			if p.File != "in.csv" {
				t.Fatalf("problem without the file name: %v", p)
			}
		}
	})
}

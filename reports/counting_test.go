package reports

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/kaoqin/kaoqin/attendance"
)

func TestTotalsCount(t *testing.T) {
	A := attendance.Absent
	cases := []struct {
		name string
		r    Result
		want Totals
	}{
		{"normal", Result{}, Totals{SegmentsDue: 1, Present: 1}},
		{"late 12", Result{Findings: attendance.Late, LateMinutes: 12}, Totals{SegmentsDue: 1, Present: 1, Late: 1, LateMinutes: 12}},
		{"R7 one missing", Result{Findings: attendance.MissingIn | attendance.Late}, Totals{SegmentsDue: 1, Present: 1, Late: 1, MissingPunches: 1}},
		{"R7 absent counts no missing punch", Result{Findings: A}, Totals{SegmentsDue: 1, AbsentSegments: 1}},
		{"R13 absent with stray codes", Result{Findings: A | attendance.LeaveUnrecognised | attendance.MissingOut}, Totals{SegmentsDue: 1, AbsentSegments: 1}},
		{"R11 both missing, patrol present", Result{Findings: attendance.MissingIn | attendance.MissingOut | attendance.Late | attendance.Early},
			Totals{SegmentsDue: 1, Present: 1, Late: 1, Early: 1, MissingPunches: 2}},
		{"R9 exempt", Result{Findings: attendance.Exempt}, Totals{SegmentsDue: 1, Present: 1, Exempt: 1}},
		{"leave sick", Result{Findings: attendance.OnLeave, LeaveType: "sick"}, Totals{SegmentsDue: 1, LeaveSegments: [numLeaveTypes]int{1: 1}}},
		{"leave of unknown type", Result{Findings: attendance.OnLeave, LeaveType: "sabbatical"}, Totals{SegmentsDue: 1, LeaveOther: 1}},
		{"two off-post episodes", Result{Findings: attendance.OffPost, OffPost: 2}, Totals{SegmentsDue: 1, Present: 1, OffPost: 2}},
		{"provisional", Result{Provisional: true}, Totals{SegmentsDue: 1, Present: 1, Provisional: 1}},
	}
	for _, c := range cases {
		var got Totals
		got.count(&c.r)
		if got != c.want {
			t.Errorf("%s: got %+v, want %+v", c.name, got, c.want)
		}
	}
}

func TestMonthInvariants(t *testing.T) {
	for name, in := range monthCases(t) {
		rep := BuildMonth(in)
		var sum Totals
		for _, r := range rep.Rows {
			if r.Staff.ID == "9001" {
				t.Errorf("%s: inactive staff without results is listed", name)
			}
			if got := r.Present + r.AbsentSegments + r.LeaveTotal(); got != r.SegmentsDue {
				t.Errorf("%s %s: present+absent+leave = %d, want segments due %d", name, r.Staff.ID, got, r.SegmentsDue)
			}
			sum.add(&r.Totals)
		}
		var w, u Totals
		for _, g := range rep.Windows {
			w.add(&g.Totals)
		}
		for _, g := range rep.Units {
			u.add(&g.Totals)
		}
		if sum != rep.Total || w != rep.Total || u != rep.Total {
			t.Errorf("%s: totals disagree: staff %+v, windows %+v, units %+v, total %+v", name, sum, w, u, rep.Total)
		}
	}
	// The golden month's unrecognised slip: 1002's (filed afterwards). 2001's slip lacks only a
	// substitute: it is recognised and OFF_POST besides (R16 as clarified in issue 15).
	rep := BuildMonth(monthCases(t)["final"])
	for _, r := range rep.Rows {
		want := map[string]int{"1002": 1}[r.Staff.ID]
		if r.UnrecognisedSlips != want {
			t.Errorf("%s: unrecognised slips %d, want %d", r.Staff.ID, r.UnrecognisedSlips, want)
		}
	}
}

func dayCase(t testing.TB) *DayInput {
	// 29 September, end of the day: the hall clock was read at 18:30, the annex clock last at
	// 17:00, before the PM sign-out window opened, so its staff's PM is provisional.
	d := attendance.MakeDate(2026, 9, 29)
	reads := map[string]time.Time{"hall": wall("2026-09-29 18:30"), "annex": wall("2026-09-29 17:00")}
	rules := attendance.DefaultRules()
	season := rules.Schedule.SeasonOn(d)
	var staffClocks = map[string][]string{"1001": {"hall"}, "1002": {"hall"}, "2001": {"hall", "annex"}, "3001": {"annex"}, "3002": {"annex"}, "3003": {"hall"}}
	staff, results := goldenMonth(t, func(r *attendance.Result) bool {
		end := r.Date.At(season.Hours(r.Segment).Out.To).Add(time.Minute)
		for _, c := range staffClocks[r.StaffID] {
			if reads[c].Before(end) {
				return true
			}
		}
		return false
	})
	return &DayInput{Date: d, At: wall("2026-09-29 18:40"), Working: true, Hours: [2]attendance.Hours{season.AM, season.PM},
		Staff: staff, Results: results, Clocks: []Clock{{"annex", reads["annex"]}, {"hall", reads["hall"]}}}
}

func TestDayGolden(t *testing.T) {
	rep := BuildDay(dayCase(t))
	var b bytes.Buffer
	if err := rep.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	golden(t, "day.txt", b.Bytes())
	b.Reset()
	if err := rep.WriteCSV(&b); err != nil {
		t.Fatal(err)
	}
	golden(t, "day.csv", b.Bytes())
	b.Reset()
	if err := rep.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	golden(t, "day.json", b.Bytes())
	b.Reset()
	if err := rep.WriteHTML(&b); err != nil {
		t.Fatal(err)
	}
	golden(t, "day.html.txt", dumpHTML(t, b.Bytes()))
}

func TestDayStates(t *testing.T) {
	in := dayCase(t)
	cases := []struct {
		at    string
		id    string
		seg   attendance.Segment
		state DayState
	}{
		{"2026-09-29 08:20", "1001", attendance.AM, StateSignedIn}, // signed in at 08:1x (punches after At are the caller's to drop)
		{"2026-09-29 07:59", "1001", attendance.AM, ""},            // not begun: not listed
	}
	for _, c := range cases {
		in.At = wall(c.at)
		rep := BuildDay(in)
		got := DayState("")
		for _, w := range rep.Windows {
			for _, s := range w.Staff {
				if s.Staff.ID != c.id {
					continue
				}
				for _, seg := range s.Segments {
					if seg.Segment == c.seg {
						got = seg.State
					}
				}
			}
		}
		if got != c.state {
			t.Errorf("%s %s %s: got state %q, want %q", c.at, c.id, c.seg, got, c.state)
		}
	}
	// A segment with no sign-in while the window is open is "not yet", not missing.
	r := Result{StaffID: "x", Date: in.Date, Segment: attendance.AM, Findings: attendance.Absent, SignIn: attendance.NoMinute, SignOut: attendance.NoMinute}
	in.At = wall("2026-09-29 08:40")
	if ds := daySegment(in, attendance.AM, &r); ds.State != StateNotYet {
		t.Errorf("08:40 without punch: got %q, want %q", ds.State, StateNotYet)
	}
	in.At = wall("2026-09-29 09:00")
	if ds := daySegment(in, attendance.AM, &r); ds.State != StateMissing {
		t.Errorf("09:00 without punch: got %q, want %q", ds.State, StateMissing)
	}
	in.At = wall("2026-09-29 12:30")
	if ds := daySegment(in, attendance.AM, &r); ds.State != StateAbsent {
		t.Errorf("12:30 without punch: got %q, want %q", ds.State, StateAbsent)
	}
}

// TestXLSXOpensInLibreOffice converts the closed month's workbook to PDF with LibreOffice, the
// office suite of many government desktops: a workbook it cannot print is no use to HR.
func TestXLSXOpensInLibreOffice(t *testing.T) {
	soffice, err := exec.LookPath("soffice")
	if err != nil {
		t.Skip("soffice not found (apt-get install libreoffice-calc): the workbook is not checked against LibreOffice")
	}
	if testing.Short() {
		t.Skip("-short: LibreOffice takes seconds to start")
	}
	dir := t.TempDir()
	xlsx := filepath.Join(dir, "month.xlsx")
	var b bytes.Buffer
	if err := BuildMonth(monthCases(t)["closed"]).WriteXLSX(&b); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(xlsx, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, soffice, "-env:UserInstallation=file://"+filepath.Join(dir, "profile"),
		"--headless", "--convert-to", "pdf", "--outdir", dir, xlsx)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("soffice: %v\n%s", err, out)
	}
	pdf, err := os.ReadFile(filepath.Join(dir, "month.pdf"))
	if err != nil {
		t.Fatalf("no PDF: %v\n%s", err, out)
	}
	if !bytes.HasPrefix(pdf, []byte("%PDF")) || len(pdf) < 1000 {
		t.Fatalf("not a PDF (%d bytes)\n%s", len(pdf), out)
	}
}

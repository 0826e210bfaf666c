package reports

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/kaoqin/kaoqin/attendance"
	"github.com/kaoqin/kaoqin/leave"
)

// R20: per staff member the month's counts, the same summed per window and per window unit, and
// every finding listed with its evidence. A small month of known results, each count worked out
// by hand.
func TestR20MonthlyDisciplineReport(t *testing.T) {
	d6, d7 := attendance.MakeDate(2026, 7, 6), attendance.MakeDate(2026, 7, 7)
	am, pm := attendance.AM, attendance.PM
	late := Punch{At: wall("2026-07-06 08:42"), Clock: "hall", Use: SignIn}
	results := []Result{
		{StaffID: "1001", Date: d6, Segment: am, Findings: attendance.Late, LateMinutes: 12, Evidence: Evidence{Punches: []Punch{late}}},
		{StaffID: "1001", Date: d6, Segment: pm},
		{StaffID: "1001", Date: d7, Segment: am, Findings: attendance.MissingIn | attendance.Late},
		{StaffID: "1001", Date: d7, Segment: pm, Findings: attendance.Early, EarlyMinutes: 5},
		{StaffID: "1002", Date: d6, Segment: am, Findings: attendance.Absent},
		{StaffID: "1002", Date: d6, Segment: pm, Findings: attendance.OnLeave, LeaveType: string(leave.Sick)},
		{StaffID: "1002", Date: d7, Segment: am, Findings: attendance.Exempt},
		{StaffID: "1002", Date: d7, Segment: pm, Findings: attendance.OffPost, OffPost: 2},
		{StaffID: "2001", Date: d6, Segment: am, Findings: attendance.Late, LateMinutes: 3},
		{StaffID: "2001", Date: d6, Segment: pm},
	}
	staff := []Staff{
		{ID: "1001", Name: "甲", Window: "民政", Unit: "民政局", Active: true},
		{ID: "1002", Name: "乙", Window: "民政", Unit: "民政局", Active: true},
		{ID: "2001", Name: "丙", Window: "社保", Unit: "人社局", Active: true},
	}
	rep := BuildMonth(&MonthInput{Month: Month{2026, time.July}, Staff: staff, Results: results})

	sick := -1
	for i, lt := range leave.Types {
		if lt == leave.Sick {
			sick = i
		}
	}
	var sickOnly [numLeaveTypes]int
	sickOnly[sick] = 1
	wantRows := map[string]Totals{
		"1001": {Staff: 1, SegmentsDue: 4, Present: 4, Late: 2, LateMinutes: 12, Early: 1, EarlyMinutes: 5, MissingPunches: 1},
		"1002": {Staff: 1, SegmentsDue: 4, Present: 2, AbsentSegments: 1, LeaveSegments: sickOnly, Exempt: 1, OffPost: 2},
		"2001": {Staff: 1, SegmentsDue: 2, Present: 2, Late: 1, LateMinutes: 3},
	}
	if len(rep.Rows) != len(wantRows) {
		t.Fatalf("rows: got %d, want %d", len(rep.Rows), len(wantRows))
	}
	for _, r := range rep.Rows {
		if w := wantRows[r.Staff.ID]; r.Totals != w {
			t.Errorf("staff %s: got %+v, want %+v", r.Staff.ID, r.Totals, w)
		}
	}
	sum := func(ids ...string) Totals {
		var s Totals
		for _, id := range ids {
			w := wantRows[id]
			s.add(&w)
		}
		return s
	}
	groups := []struct {
		kind   string
		got    []Group
		want   map[string]Totals
		center Totals
	}{
		{"window", rep.Windows, map[string]Totals{"民政": sum("1001", "1002"), "社保": sum("2001")}, sum("1001", "1002", "2001")},
		{"unit", rep.Units, map[string]Totals{"民政局": sum("1001", "1002"), "人社局": sum("2001")}, sum("1001", "1002", "2001")},
	}
	for _, g := range groups {
		if len(g.got) != len(g.want) {
			t.Errorf("%s lines: got %d, want %d", g.kind, len(g.got), len(g.want))
		}
		for _, x := range g.got {
			if w, ok := g.want[x.Name]; !ok || x.Totals != w {
				t.Errorf("%s %s: got %+v, want %+v", g.kind, x.Name, x.Totals, w)
			}
		}
	}
	if rep.Total != groups[0].center {
		t.Errorf("center: got %+v, want %+v", rep.Total, groups[0].center)
	}

	// Every segment with a finding is listed once, and its evidence goes with it into the files.
	withFindings := 0
	for _, r := range results {
		if r.Findings != 0 {
			withFindings++
		}
	}
	if len(rep.Details) != withFindings {
		t.Errorf("details: got %d, want %d (one per segment with findings)", len(rep.Details), withFindings)
	}
	var b bytes.Buffer
	if err := rep.WriteDetailCSV(&b); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, line := range strings.Split(b.String(), "\n") {
		if strings.HasPrefix(line, "1001,") && strings.Contains(line, "2026-07-06") && strings.Contains(line, "08:42") && strings.Contains(line, "hall") {
			found = true
		}
	}
	if !found {
		t.Errorf("the detail CSV does not list 1001's late sign-in of 07-06 with its punch (08:42, hall):\n%s", b.String())
	}
}

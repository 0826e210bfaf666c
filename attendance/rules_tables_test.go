package attendance

import (
	"fmt"
	"testing"
)

// R6 as a table: the earliest punch of the sign-in window and the latest of the sign-out window
// count; LATE and EARLY by whole minutes against the working hours (R1), seconds dropped (R4),
// window bounds inclusive.
func TestR6SignInAndOutTable(t *testing.T) {
	r := defaultRules(t)
	const summer, winter = "2026-07-06", "2026-12-07" // Mondays
	tests := []struct {
		name    string
		day     string
		seg     Segment
		punches []string
		want    want
	}{
		{"earliest in, latest out", summer, AM, []string{"08:20", "08:42", "11:58", "12:03", "12:01"}, want{signIn: "08:20", signO: "12:03"}},
		{"on the minute is on time", summer, AM, []string{"08:30:59", "12:00"}, want{signIn: "08:30", signO: "12:00"}},
		{"one minute late", summer, AM, []string{"08:31", "12:00"}, want{findings: []string{"LATE"}, late: 1, signIn: "08:31", signO: "12:00"}},
		{"sign-in at the window's end", summer, AM, []string{"08:50:59", "12:00"}, want{findings: []string{"LATE"}, late: 20, signIn: "08:50", signO: "12:00"}},
		{"sign-in at the window's start", summer, AM, []string{"08:00", "12:00"}, want{signIn: "08:00", signO: "12:00"}},
		{"late sign-in, an earlier one counts", summer, AM, []string{"08:45", "08:29", "12:00"}, want{signIn: "08:29", signO: "12:00"}},
		{"two late sign-ins: the earliest", summer, AM, []string{"08:44", "08:40", "12:00"}, want{findings: []string{"LATE"}, late: 10, signIn: "08:40", signO: "12:00"}},
		{"sign-out at the window's start", summer, AM, []string{"08:20", "11:40"}, want{findings: []string{"EARLY"}, early: 20, signIn: "08:20", signO: "11:40"}},
		{"seconds do not make a minute", summer, AM, []string{"08:20", "11:59:59"}, want{findings: []string{"EARLY"}, early: 1, signIn: "08:20", signO: "11:59"}},
		{"early sign-out, a later one counts", summer, AM, []string{"08:20", "11:45", "12:10"}, want{signIn: "08:20", signO: "12:10"}},
		{"late and early", summer, AM, []string{"08:45", "11:50"}, want{findings: []string{"EARLY", "LATE"}, late: 15, early: 10, signIn: "08:45", signO: "11:50"}},
		{"summer afternoon on time", summer, PM, []string{"14:30", "18:00"}, want{signIn: "14:30", signO: "18:00"}},
		{"summer afternoon early", summer, PM, []string{"14:29", "17:45"}, want{findings: []string{"EARLY"}, early: 15, signIn: "14:29", signO: "17:45"}},
		{"summer afternoon late", summer, PM, []string{"14:50", "18:10"}, want{findings: []string{"LATE"}, late: 20, signIn: "14:50", signO: "18:10"}},
		{"winter afternoon on time", winter, PM, []string{"13:30", "17:30"}, want{signIn: "13:30", signO: "17:30"}},
		{"winter afternoon late and early", winter, PM, []string{"14:05", "17:10"}, want{findings: []string{"EARLY", "LATE"}, late: 5, early: 20, signIn: "14:05", signO: "17:10"}},
		{"unsorted punches", summer, AM, []string{"12:03", "08:42", "08:35"}, want{findings: []string{"LATE"}, late: 5, signIn: "08:35", signO: "12:03"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := one(t, r, staffA, tt.day, tt.seg, Inputs{Punches: punches(tt.day, tt.punches...)})
			check(t, tt.name, got, tt.want)
		})
	}
}

// R8 as a table: a punch outside every window signs nothing in or out, and is kept as evidence
// (a stray) of the segment it falls next to.
func TestR8StrayPunchesTable(t *testing.T) {
	r := defaultRules(t)
	const day = "2026-07-06"
	tests := []struct {
		name    string
		seg     Segment
		punches []string
		want    want
		strays  []string
	}{
		{"07:55 does not sign in", AM, []string{"07:55", "12:00"}, want{findings: []string{"LATE", "MISSING_IN"}, signO: "12:00"}, []string{"07:55"}},
		{"a minute before the window", AM, []string{"07:59:59", "12:00"}, want{findings: []string{"LATE", "MISSING_IN"}, signO: "12:00"}, []string{"07:59"}},
		{"a minute after the window", AM, []string{"08:51", "12:00"}, want{findings: []string{"LATE", "MISSING_IN"}, signO: "12:00"}, []string{"08:51"}},
		{"before the sign-out window", AM, []string{"08:20", "11:39"}, want{findings: []string{"EARLY", "MISSING_OUT"}, signIn: "08:20"}, []string{"11:39"}},
		{"after the sign-out window", AM, []string{"08:20", "12:11"}, want{findings: []string{"EARLY", "MISSING_OUT"}, signIn: "08:20"}, []string{"12:11"}},
		{"mid-morning punch is kept, changes nothing", AM, []string{"08:20", "10:00", "12:00"}, want{signIn: "08:20", signO: "12:00"}, []string{"10:00"}},
		{"only strays: ABSENT with its evidence", AM, []string{"07:30", "10:00", "12:30"}, want{findings: []string{"ABSENT"}}, []string{"07:30", "10:00", "12:30"}},
		{"lunch punch before the split belongs to the morning", AM, []string{"08:20", "12:00", "13:00"}, want{signIn: "08:20", signO: "12:00"}, []string{"13:00"}},
		{"afternoon stray after the window", PM, []string{"14:20", "18:11"}, want{findings: []string{"EARLY", "MISSING_OUT"}, signIn: "14:20"}, []string{"18:11"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := one(t, r, staffA, day, tt.seg, Inputs{Punches: punches(day, tt.punches...)})
			check(t, tt.name, got, tt.want)
			var strays []string
			for _, p := range got.Evidence.Strays() {
				strays = append(strays, MinuteOf(p.At).String())
			}
			if fmt.Sprint(strays) != fmt.Sprint(tt.strays) {
				t.Errorf("strays: got %v, want %v", strays, tt.strays)
			}
		})
	}
}

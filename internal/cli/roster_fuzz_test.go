package cli

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzParseRoster feeds the roster import any file: every entry it accepts is complete (id,
// name, window, unit, each at most 100 bytes, enrolments on configured clocks only, no staff id
// or clock user twice), and every problem names the file.
//
//	go test ./internal/cli -run '^$' -fuzz '^FuzzParseRoster$' -fuzztime 60s -parallel 1
func FuzzParseRoster(f *testing.F) {
	for _, s := range []string{
		"staff_id,name,window,unit,clock_user_ids\n1001,王芳,民政,民政局,hall:1;annex:7\n1002,李强,民政,民政局,\n",
		"staff_id,name,window,unit,clock_user_ids,start_date,end_date\n1001,a,w,u,nowhere:1,2026-07-01,\n1002,,w,,hall:2,,2026-06-01\n",
		"staff_id,name,window,unit\n1001,a,w,u\n1001,b,w,u\n",
	} {
		f.Add([]byte(s))
	}
	path := filepath.Join(f.TempDir(), "roster.csv")
	knownClock := func(c string) bool { return c == "hall" || c == "annex" }
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		roster, _, ps := parseRoster(path, knownClock)
		for _, p := range ps {
			if p.File != path {
				t.Fatalf("problem without the file name: %+v", p)
			}
		}
		ids, users := map[string]bool{}, map[string]bool{}
		for _, e := range roster {
			s := e.Staff
			if s.StaffID == "" || s.Name == "" || s.Window == "" || s.Unit == "" {
				t.Fatalf("incomplete entry accepted: %+v", s)
			}
			if len(s.StaffID) > 100 || len(s.Name) > 100 || len(s.Window) > 100 || len(s.Unit) > 100 {
				t.Fatalf("value over 100 bytes accepted: %+v", s)
			}
			if ids[s.StaffID] {
				t.Fatalf("staff id %q accepted twice", s.StaffID)
			}
			ids[s.StaffID] = true
			for _, en := range e.Enrollments {
				if !knownClock(en.Clock) || en.UserID == "" {
					t.Fatalf("enrolment %+v accepted", en)
				}
				if k := en.Clock + ":" + en.UserID; users[k] {
					t.Fatalf("clock user %s accepted twice", k)
				} else {
					users[k] = true
				}
			}
		}
	})
}

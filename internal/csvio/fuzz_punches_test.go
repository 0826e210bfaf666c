package csvio

import (
	"testing"
)

// FuzzParsePunches: every row is either handed on (known staff, a time the reference parser
// reads the same) or reported with its file and line, never both, never neither.
//
//	go test ./internal/csvio -run '^$' -fuzz '^FuzzParsePunches$' -fuzztime 60s -parallel 1
func FuzzParsePunches(f *testing.F) {
	for _, s := range []string{
		"staff_id,time,device\n1001,2026-07-06 08:20:00,hall\n1003,2026-07-06 08:21:00,hall\n",
		"staff_id,time\n1002,2026-02-29 08:00:00\n1001,2028-02-29 23:59:59\n1001,2026-13-01 00:00:00\n",
		"\xEF\xBB\xBFstaff_id,time\n1001,2026-07-06 8:20:00\n1001,2026-07-06T08:20:00\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		tb, err := Parse("in.csv", data, PunchColumns...)
		if err != nil {
			return
		}
		rows, ps := ParsePunches(tb, known)
		bad := map[int]bool{}
		for _, p := range ps {
			if p.File != "in.csv" || p.Line < 2 {
				t.Fatalf("problem without its file and line: %+v", p)
			}
			bad[p.Line] = true
		}
		if len(rows)+len(bad) != len(tb.Rows) {
			t.Fatalf("%d rows handed on, %d reported, of %d", len(rows), len(bad), len(tb.Rows))
		}
		byLine := map[int]Row{}
		for _, r := range tb.Rows {
			byLine[r.Line] = r
		}
		for _, p := range rows {
			if bad[p.Line] {
				t.Fatalf("line %d both handed on and reported", p.Line)
			}
			if !known(p.StaffID) {
				t.Fatalf("line %d: unknown staff %q handed on", p.Line, p.StaffID)
			}
			want, err := ParseTime(byLine[p.Line].Get("time"))
			if err != nil || !want.Equal(p.Time) {
				t.Fatalf("line %d: time %q read as %v, the reference parser says %v (%v)", p.Line, byLine[p.Line].Get("time"), p.Time, want, err)
			}
		}
	})
}

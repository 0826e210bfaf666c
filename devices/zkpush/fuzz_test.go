package zkpush

import (
	"testing"
)

func FuzzParseATTLOG(f *testing.F) {
	f.Add([]byte("20156107\t2020-02-22 23:10:05\t255\t1\t\t0\t0\t2"))
	f.Add([]byte("1452\t2015-07-30 15:16:28\t0\t1\t0\t0\t0\r\n7\t2026-07-06 08:01:02\n\ngarbage\n"))
	f.Add([]byte("\t\t\t\n\xff\t2026-02-30 08:00:00"))
	f.Fuzz(func(t *testing.T, body []byte) {
		recs, bad := ParseATTLOG(body)
		if len(recs)+len(bad) > CountLines(body)+1 {
			t.Fatalf("%d records and %d bad lines from %d lines", len(recs), len(bad), CountLines(body))
		}
		for _, r := range recs {
			if r.UserID == "" || len(r.UserID) > MaxUserIDLen || r.Time.Year() < 2000 || r.Time.Year() > 2099 {
				t.Fatalf("accepted %+v", r)
			}
		}
		// What parses re-encodes to records that parse the same.
		again, bad2 := ParseATTLOG(AppendATTLOG(nil, recs))
		if len(bad2) != 0 || len(again) != len(recs) {
			t.Fatalf("round trip: %d records, %v bad, want %d", len(again), bad2, len(recs))
		}
		for i := range recs {
			if again[i] != recs[i] {
				t.Fatalf("round trip: got %+v, want %+v", again[i], recs[i])
			}
		}
	})
}

func FuzzParseQuery(f *testing.F) {
	for _, s := range []string{"SN=CQZ7232460123&options=all&pushver=2.4.1&language=83&pushcommkey=123456",
		"SN=A1&table=ATTLOG&Stamp=9999", "SN=A1&table=OPERLOG&OpStamp=12", "SN=%zz", "SN=A;B", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := ParseQuery(raw)
		if err != nil {
			return
		}
		if q.SN == "" || len(q.SN) > MaxSerialLen {
			t.Fatalf("accepted SN %q", q.SN)
		}
		for i := 0; i < len(q.SN); i++ {
			if q.SN[i] <= ' ' || q.SN[i] >= 0x7f {
				t.Fatalf("accepted SN %q", q.SN)
			}
		}
	})
}

func FuzzParseResults(f *testing.F) {
	f.Add([]byte("ID=1&Return=0&CMD=INFO\n~DeviceName=X\nID=2&Return=-1002&CMD=DATA QUERY\n"))
	f.Add([]byte("ID=%&Return=0"))
	f.Fuzz(func(t *testing.T, body []byte) {
		rs, _ := ParseResults(body)
		for _, r := range rs {
			if len(r.Data) > maxResultData {
				t.Fatalf("kept %d bytes of data", len(r.Data))
			}
		}
	})
}

func FuzzParseOptions(f *testing.F) {
	f.Add([]byte(AppendOptions(nil, "SN", Options{Delay: 10, TimeZone: 8 * 3600})))
	f.Add([]byte("GET OPTION FROM: X\rDelay=7\rTimeZone=330\r"))
	f.Fuzz(func(t *testing.T, body []byte) {
		o, err := ParseOptions(body)
		if err == nil && (o.TimeZone < -24*3600 || o.TimeZone > 24*3600) {
			t.Fatalf("time zone %d", o.TimeZone)
		}
	})
}

package zkpush

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func FuzzParseRecords(f *testing.F) {
	for _, s := range []string{
		"20156107\t2020-02-22 23:10:05\t255\t1\t\t0\t0\t2",
		"1452\t2015-07-30 15:16:28\t0\t1\t0\t0\t0\r\n7\t2026-07-06 08:01:02\n\ngarbage\n",
		"\t\t\t\n\xff\t2026-02-30 08:00:00",
		"1003\t2026-10-14 08:50:13\t0\t1\tA1\t0\t0",
		"2\t2022-07-12 16:00:20\t1\t15\t\t0\t0\t\t\t43",
		"time=2026-10-14 08:50:13\tpin=1006\tcardno=0\teventaddr=1\tevent=0\tinoutstatus=0\tverifytype=15\tindex=12",
		"time=2026-10-14 08:50:13\tpin=0\tevent=200",
		"transaction cardno=0\tpin=88\tverified=1\tinoutstate=1\ttime_second=835000000",
		"pin=a=b\ttime=2026-07-06 08:00:00",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		b := ParseRecords(body)
		lines := CountLines(body)
		if len(b.Records)+b.BadLines+b.Events > lines+1 {
			t.Fatalf("%d records, %d bad lines and %d events from %d lines", len(b.Records), b.BadLines, b.Events, lines)
		}
		if len(b.Bad) > MaxKeptBad || len(b.Bad) > b.BadLines {
			t.Fatalf("kept %d bad lines of %d", len(b.Bad), b.BadLines)
		}
		for _, r := range b.Records {
			if r.UserID == "" || len(r.UserID) > MaxUserIDLen || r.Time.Year() < 2000 || r.Time.Year() > 2099 || len(r.Unread) > MaxUnreadLen+len("…") {
				t.Fatalf("accepted %+v", r)
			}
			if strings.TrimSpace(r.UserID) != r.UserID || strings.ContainsAny(r.UserID, "\t\n") {
				t.Fatalf("accepted PIN %q", r.UserID)
			}
		}
		// What parses re-encodes to records that parse the same (the flag is the line's, not the
		// record's), in every field count that carries the fields read.
		for _, fields := range []int{ShortATTLOG, CurrentATTLOG, LongATTLOG} {
			again := ParseRecords(AppendATTLOGFields(nil, b.Records, fields))
			if again.BadLines != 0 || len(again.Records) != len(b.Records) {
				t.Fatalf("round trip: %d records, %v bad, want %d", len(again.Records), again.Bad, len(b.Records))
			}
			for i := range b.Records {
				want := b.Records[i]
				want.Unread = ""
				if again.Records[i] != want {
					t.Fatalf("round trip: got %+v, want %+v", again.Records[i], want)
				}
			}
		}
	})
}

func FuzzParseQuery(f *testing.F) {
	for _, s := range []string{"SN=CQZ7232460123&options=all&pushver=2.4.1&language=83&pushcommkey=123456",
		"SN=A1&table=ATTLOG&Stamp=9999", "SN=A1&table=OPERLOG&OpStamp=12", "SN=%zz", "SN=A;B", "",
		"SN=A1&table=ATTLOG&Stamp=abc", "SN=A1&type=tabledata&cmdid=5&tablename=ATTLOG&count=2", "SN=A1&ID=7&Return=-1002&CMD=DATA"} {
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
		for _, s := range []string{q.SN, q.Table, q.TableName, q.Type} {
			for i := 0; i < len(s); i++ {
				if s[i] <= ' ' || s[i] >= 0x7f {
					t.Fatalf("accepted %q", s)
				}
			}
		}
	})
}

func FuzzParseResults(f *testing.F) {
	f.Add([]byte("ID=1&Return=0&CMD=INFO\n~DeviceName=X\nID=2&Return=-1002&CMD=DATA QUERY\n"))
	f.Add([]byte("ID=77\nSN=CQZ7232460123\nReturn=0\nCMD=DATA\nID=78\r\nReturn=1\r\n"))
	f.Add([]byte("ID=%&Return=0"))
	f.Fuzz(func(t *testing.T, body []byte) {
		rs, _ := ParseResults(body)
		if len(rs) > maxResults || len(rs) > bytes.Count(body, []byte("ID=")) {
			t.Fatalf("%d results", len(rs))
		}
		for _, r := range rs {
			if len(r.Data) > maxResultData {
				t.Fatalf("kept %d bytes of data", len(r.Data))
			}
		}
	})
}

func FuzzParseOptions(f *testing.F) {
	f.Add([]byte(AppendOptions(nil, "SN", Options{Delay: 10, TimeZone: 8 * 3600})))
	f.Add([]byte(AppendOptions(nil, "SN", Options{Delay: 10, TimeZone: 8 * 3600, RegistryCode: "x"})))
	f.Add([]byte("GET OPTION FROM: X\rDelay=7\rTimeZone=330\r"))
	f.Fuzz(func(t *testing.T, body []byte) {
		o, err := ParseOptions(body)
		if err == nil && (o.TimeZone < -24*3600 || o.TimeZone > 24*3600) {
			t.Fatalf("time zone %d", o.TimeZone)
		}
	})
}

func FuzzParseRegistry(f *testing.F) {
	f.Add([]byte("DeviceType=acc,~DeviceName=SpeedFace-V5L[TI],FirmVer=ZAM180-Ver1.1.17,PushVersion=3.1.2,StringPinFunOn=0"))
	f.Add([]byte("=,~=,a=b\n\xff=\xfe"))
	f.Fuzz(func(t *testing.T, body []byte) {
		m := ParseRegistry(body)
		if len(m) > maxRegistryKeys {
			t.Fatalf("%d keys", len(m))
		}
		for k, v := range m {
			if k == "" || len(k) > 64+len("…") || len(v) > 100+len("…") || strings.HasPrefix(k, "~") {
				t.Fatalf("kept %q=%q", k, v)
			}
		}
	})
}

func FuzzParseRTTime(f *testing.F) {
	f.Add(AppendRTTime(nil, time.Date(2026, 7, 6, 1, 0, 0, 0, time.UTC), 8*3600))
	f.Add([]byte("DateTime=583080894,ServerTZ=-0330"))
	f.Fuzz(func(t *testing.T, body []byte) {
		at, off, err := ParseRTTime(body)
		if err != nil {
			return
		}
		if off < -15*3600 || off > 15*3600 || at.Year() < 2000 {
			t.Fatalf("got %v %d", at, off)
		}
		// What parses is written back the same.
		at2, off2, err := ParseRTTime(AppendRTTime(nil, at, off))
		if err != nil || off2 != off || (at.Year() <= 2099 && !at2.Equal(at)) {
			t.Fatalf("round trip of %v %d: %v %d %v", at, off, at2, off2, err)
		}
	})
}

func FuzzCanonicalPath(f *testing.F) {
	for _, s := range []string{"/iclock/cdata", "/ICLOCK/CDATA.ASPX", "/iclock/push/", "/x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		c, ok := CanonicalPath(p)
		if ok && !paths[c] {
			t.Fatalf("%q → %q", p, c)
		}
		if ok {
			if again, ok2 := CanonicalPath(c); !ok2 || again != c {
				t.Fatalf("%q → %q → %q", p, c, again)
			}
		}
	})
}

package zkpush

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func wall(s string) time.Time {
	t, err := time.Parse(TimeLayout, s)
	if err != nil {
		panic(err)
	}
	return t
}

// The ATTLOG lines quoted in the spec (protocols.md §4) from real clocks, and the field counts of
// older and newer firmware.
func TestParseATTLOGRealLines(t *testing.T) {
	cases := []struct {
		line string
		want Record
	}{
		{"20156107\t2020-02-22 23:10:05\t255\t1\t\t0\t0\t2", Record{UserID: "20156107", Time: wall("2020-02-22 23:10:05"), Status: 255, Verify: 1}},
		{"1452\t2015-07-30 15:16:28\t0\t1\t0\t0\t0", Record{UserID: "1452", Time: wall("2015-07-30 15:16:28"), Status: 0, Verify: 1}},
		{"7\t2026-07-06 08:01:02", Record{UserID: "7", Time: wall("2026-07-06 08:01:02")}},
		{"7\t2026-07-06 08:01:02\t1", Record{UserID: "7", Time: wall("2026-07-06 08:01:02"), Status: 1}},
		{"7\t2026-07-06 08:01:02\t1\t15\t3", Record{UserID: "7", Time: wall("2026-07-06 08:01:02"), Status: 1, Verify: 15, WorkCode: 3}},
		{"7\t2026-07-06 08:01:02\t1\t15\t3\t0\t0\t0\t0\t0\t\t", Record{UserID: "7", Time: wall("2026-07-06 08:01:02"), Status: 1, Verify: 15, WorkCode: 3}},
		{"7\t2026-07-06 08:01:02\t0\t1\t0\t0\t0\r", Record{UserID: "7", Time: wall("2026-07-06 08:01:02"), Verify: 1}},
	}
	for _, c := range cases {
		recs, bad := ParseATTLOG([]byte(c.line))
		if len(bad) != 0 || len(recs) != 1 || recs[0] != c.want {
			t.Errorf("%q: got %+v, bad %v, want %+v", c.line, recs, bad, c.want)
		}
	}
}

func TestParseATTLOGBadLinesKeepTheRest(t *testing.T) {
	body := "1\t2026-07-06 08:00:00\t0\t1\n" +
		"garbage\n" +
		"\n" +
		"2\t2026-02-30 08:00:00\t0\t1\n" +
		"3\t1999-12-31 23:59:59\t0\t1\n" +
		"4\t2026-07-06 08:00:00\tx\t1\n" +
		"\t2026-07-06 08:00:00\n" +
		"5\t2026-07-06 08:00:01\t0\t1\r\n"
	recs, bad := ParseATTLOG([]byte(body))
	var got []string
	for _, r := range recs {
		got = append(got, r.UserID)
	}
	if fmt.Sprint(got) != "[1 5]" {
		t.Errorf("records: got %v, want [1 5]", got)
	}
	var lines []int
	for _, b := range bad {
		lines = append(lines, b.Line)
	}
	if fmt.Sprint(lines) != "[2 4 5 6 7]" {
		t.Errorf("bad lines: got %v, want [2 4 5 6 7]", lines)
	}
}

func TestATTLOGRoundTrip(t *testing.T) {
	in := []Record{{UserID: "1140064", Time: wall("2026-07-06 08:01:02"), Status: 0, Verify: 15},
		{UserID: "张三", Time: wall("2099-12-31 23:59:59"), Status: 255, Verify: 1, WorkCode: 9}}
	out, bad := ParseATTLOG(AppendATTLOG(nil, in))
	if len(bad) > 0 || fmt.Sprint(out) != fmt.Sprint(in) {
		t.Errorf("got %v %v, want %v", out, bad, in)
	}
}

func TestParseQuery(t *testing.T) {
	q, err := ParseQuery("SN=CQZ7232460123&options=all&pushver=2.4.1&language=83&pushcommkey=123456")
	if err != nil || q.SN != "CQZ7232460123" || !q.Options || q.CommKey != "123456" || !q.HasKey || q.PushVer != "2.4.1" {
		t.Errorf("handshake: got %+v %v", q, err)
	}
	q, err = ParseQuery("SN=A1&table=ATTLOG&Stamp=9999")
	if err != nil || q.Table != "ATTLOG" || q.Stamp != 9999 || !q.HasStamp || q.Options {
		t.Errorf("upload: got %+v %v", q, err)
	}
	q, err = ParseQuery("SN=A1&table=OPERLOG&OpStamp=12")
	if err != nil || q.Stamp != 12 {
		t.Errorf("operlog: got %+v %v", q, err)
	}
	// Unescaped or badly escaped parameters other than SN do not lock the clock out.
	q, err = ParseQuery("SN=A1&INFO=Ver 8.0.4.2-20200102,12,30,1500,192.168.1.201,10,7,12,11,111&x=%zz")
	if err != nil || q.SN != "A1" {
		t.Errorf("loose query: got %+v %v", q, err)
	}
	for _, raw := range []string{"", "table=ATTLOG", "SN=a%20b", "SN=" + strings.Repeat("A", 65), "SN=A&Stamp=x", "SN=A&table=AT%0ALOG", "SN=%00"} {
		if q, err := ParseQuery(raw); err == nil {
			t.Errorf("%q: got %+v, want an error", raw, q)
		}
	}
}

func TestTimeZone(t *testing.T) {
	cases := []struct {
		zone string
		at   string
		want string
	}{
		{"Asia/Shanghai", "2026-07-06 12:00:00", "8"},
		{"UTC", "2026-07-06 12:00:00", "0"},
		{"Asia/Kolkata", "2026-07-06 12:00:00", "330"},
		{"Asia/Kathmandu", "2026-07-06 12:00:00", "345"},
		{"America/New_York", "2026-07-06 12:00:00", "-4"},
		{"America/New_York", "2026-01-06 12:00:00", "-5"},
		{"America/St_Johns", "2026-01-06 12:00:00", "-210"},
	}
	for _, c := range cases {
		loc, err := time.LoadLocation(c.zone)
		if err != nil {
			t.Fatal(err)
		}
		_, off := wall(c.at).In(loc).Zone()
		got := FormatTimeZone(off)
		if got != c.want {
			t.Errorf("%s: got %s, want %s", c.zone, got, c.want)
		}
		back, err := ParseTimeZone(got)
		if err != nil || back != off {
			t.Errorf("%s: parsed back %d %v, want %d", c.zone, back, err, off)
		}
	}
}

func TestOptionsRoundTrip(t *testing.T) {
	o := Options{ATTLOGStamp: 812345678, ErrorDelay: 30, Delay: 10, TransTimes: "00:00;14:05", TransInterval: 1,
		TransFlag: "TransData AttLog\tOpLog", Realtime: true, TimeZone: 8 * 3600, ServerVer: "kaoqin"}
	got, err := ParseOptions(AppendOptions(nil, "SN1", o))
	if err != nil || got != o {
		t.Errorf("got %+v %v, want %+v", got, err, o)
	}
	if _, err := ParseOptions([]byte("UNKNOWN DEVICE\n")); err == nil {
		t.Error("UNKNOWN DEVICE: got nil, want an error")
	}
	// Lines split on \r as the firmware splits them.
	got, err = ParseOptions([]byte("GET OPTION FROM: X\rDelay=7\rTimeZone=330\r"))
	if err != nil || got.Delay != 7 || got.TimeZone != 330*60 {
		t.Errorf("\\r lines: got %+v %v", got, err)
	}
}

func TestCommandsAndResults(t *testing.T) {
	cmds := []Command{{1, "INFO"}, {2, QueryATTLOG(wall("2026-07-01 00:00:00"), wall("2026-07-05 23:59:59"))}}
	if got := ParseCommands(AppendCommands(nil, cmds)); fmt.Sprint(got) != fmt.Sprint(cmds) {
		t.Errorf("commands: got %v, want %v", got, cmds)
	}
	from, to, ok := ParseQueryATTLOG(cmds[1].Cmd)
	if !ok || !from.Equal(wall("2026-07-01 00:00:00")) || !to.Equal(wall("2026-07-05 23:59:59")) {
		t.Errorf("query: got %v %v %v", from, to, ok)
	}
	rs := []Result{{ID: 1, Return: 0, Cmd: "INFO", Data: "~DeviceName=SpeedFace\nMAC=00:17:61:01:02:03\n"}, {ID: 2, Return: 12, Cmd: "DATA"}}
	var b []byte
	for _, r := range rs {
		b = AppendResult(b, r)
	}
	got, err := ParseResults(b)
	if err != nil || fmt.Sprint(got) != fmt.Sprint(rs) {
		t.Errorf("results: got %+v %v, want %+v", got, err, rs)
	}
	if _, err := ParseResults([]byte("ID=x&Return=0&CMD=INFO\n")); err == nil {
		t.Error("bad ID: got nil, want an error")
	}
}

func TestClockTime(t *testing.T) {
	// The server in Shanghai at 09:00 local sends Date: 01:00 GMT and TimeZone=8.
	loc, _ := time.LoadLocation("Asia/Shanghai")
	now := time.Date(2026, 7, 6, 9, 0, 0, 0, loc)
	date, _ := time.Parse(timeFormatHTTP, now.UTC().Format(timeFormatHTTP))
	_, off := now.Zone()
	tz, _ := ParseTimeZone(FormatTimeZone(off))
	if got := ClockTime(date, tz); !got.Equal(wall("2026-07-06 09:00:00")) {
		t.Errorf("got %v, want 2026-07-06 09:00:00", got)
	}
}

const timeFormatHTTP = "Mon, 02 Jan 2006 15:04:05 GMT"

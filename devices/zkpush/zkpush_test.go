package zkpush

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/kaoqin/kaoqin/devices/zk"
)

func wall(s string) time.Time {
	t, err := time.Parse(TimeLayout, s)
	if err != nil {
		panic(err)
	}
	return t
}

// The ATTLOG lines quoted in the spec (protocols.md §4) from real clocks, and the field counts of
// older and newer firmware: 2 to 10 fields, reserved fields not read.
func TestParseRecordsRealLines(t *testing.T) {
	cases := []struct {
		line string
		want Record
	}{
		{"20156107\t2020-02-22 23:10:05\t255\t1\t\t0\t0\t2", Record{UserID: "20156107", Time: wall("2020-02-22 23:10:05"), Status: 255, Verify: 1}},
		{"1452\t2015-07-30 15:16:28\t0\t1\t0\t0\t0", Record{UserID: "1452", Time: wall("2015-07-30 15:16:28"), Status: 0, Verify: 1}},
		{"2\t2022-07-12 16:00:20\t1\t15\t\t0\t0\t\t\t43", Record{UserID: "2", Time: wall("2022-07-12 16:00:20"), Status: 1, Verify: 15}},
		{"7\t2026-07-06 08:01:02", Record{UserID: "7", Time: wall("2026-07-06 08:01:02")}},
		{"7\t2026-07-06 08:01:02\t1", Record{UserID: "7", Time: wall("2026-07-06 08:01:02"), Status: 1}},
		{"7\t2026-07-06 08:01:02\t1\t15", Record{UserID: "7", Time: wall("2026-07-06 08:01:02"), Status: 1, Verify: 15}},
		{"7\t2026-07-06 08:01:02\t1\t15\t3", Record{UserID: "7", Time: wall("2026-07-06 08:01:02"), Status: 1, Verify: 15, WorkCode: 3}},
		{"7\t2026-07-06 08:01:02\t1\t15\t3\t0\t0\t0\t0\t0\t\t", Record{UserID: "7", Time: wall("2026-07-06 08:01:02"), Status: 1, Verify: 15, WorkCode: 3}},
		{"7\t2026-07-06 08:01:02\t0\t1\t0\t0\t0\r", Record{UserID: "7", Time: wall("2026-07-06 08:01:02"), Verify: 1}},
		// Face firmware with temperature and mask fields: reserved, not read.
		{"7\t2026-07-06 08:01:02\t0\t15\t0\t0\t0\t1\t36.6\t0", Record{UserID: "7", Time: wall("2026-07-06 08:01:02"), Verify: 15}},
		// An optional field that is not a number: stored as 0, the line kept.
		{"1003\t2026-07-06 08:01:02\t0\t1\tA1\t0\t0", Record{UserID: "1003", Time: wall("2026-07-06 08:01:02"), Verify: 1, Unread: "1003\t2026-07-06 08:01:02\t0\t1\tA1\t0\t0"}},
		{"1003\t2026-07-06 08:01:02\tI\t-1", Record{UserID: "1003", Time: wall("2026-07-06 08:01:02"), Unread: "1003\t2026-07-06 08:01:02\tI\t-1"}},
		// rtlog of access-control firmware, and the transaction lines of a DATA QUERY answer.
		{"time=2026-10-14 08:50:13\tpin=1006\tcardno=0\teventaddr=1\tevent=0\tinoutstatus=0\tverifytype=15\tindex=12",
			Record{UserID: "1006", Time: wall("2026-10-14 08:50:13"), Verify: 15}},
		{"time=2026-10-14 08:50:13\tpin=1006\tinoutstatus=1\tverifytype=x", Record{UserID: "1006", Time: wall("2026-10-14 08:50:13"), Status: 1,
			Unread: "time=2026-10-14 08:50:13\tpin=1006\tinoutstatus=1\tverifytype=x"}},
		{"transaction cardno=0\tpin=88\tverified=1\tdoorid=1\teventtype=0\tinoutstate=1\ttime_second=835000000",
			Record{UserID: "88", Time: zk.DecodeTime(835000000), Status: 1, Verify: 1}},
	}
	for _, c := range cases {
		b := ParseRecords([]byte(c.line))
		if b.BadLines != 0 || len(b.Records) != 1 || b.Records[0] != c.want {
			t.Errorf("%q: got %+v, want %+v", c.line, b, c.want)
		}
	}
}

func TestParseRecordsBadLinesKeepTheRest(t *testing.T) {
	body := "1\t2026-07-06 08:00:00\t0\t1\n" +
		"garbage\n" +
		"\n" +
		"2\t2026-02-30 08:00:00\t0\t1\n" +
		"3\t1999-12-31 23:59:59\t0\t1\n" +
		"4\t2026-07-06 08:00:00\tx\t1\n" +
		"\t2026-07-06 08:00:00\n" +
		"time=2026-10-14 08:50:13\tpin=0\tevent=200\n" +
		"time=2026-10-14 08:50:xx\tpin=0\tevent=200\n" +
		"pin=9\tevent=0\n" +
		"5\t2026-07-06 08:00:01\t0\t1\r\n"
	b := ParseRecords([]byte(body))
	var got []string
	for _, r := range b.Records {
		got = append(got, r.UserID)
	}
	if fmt.Sprint(got) != "[1 4 5]" || b.Flagged() != 1 {
		t.Errorf("records: got %v (%d flagged), want [1 4 5] (1 flagged)", got, b.Flagged())
	}
	var lines []int
	for _, l := range b.Bad {
		lines = append(lines, l.Line)
	}
	if fmt.Sprint(lines) != "[2 4 5 7 9 10]" || b.BadLines != 6 || b.Events != 1 {
		t.Errorf("bad lines: got %v (%d), events %d; want [2 4 5 7 9 10] (6), 1 event", lines, b.BadLines, b.Events)
	}
	if !strings.Contains(b.Bad[1].Err, `"2026-02-30 08:00:00" is not a date`) {
		t.Errorf("error of line 4: got %q", b.Bad[1].Err)
	}
}

// A body of garbage keeps the first few bad lines and counts the rest.
func TestParseRecordsKeepsFewBadLines(t *testing.T) {
	b := ParseRecords(bytes.Repeat([]byte("no tab here\n"), 5000))
	if b.BadLines != 5000 || len(b.Bad) != MaxKeptBad || len(b.Records) != 0 {
		t.Errorf("got %d bad (%d kept), %d records; want 5000 (%d kept), 0", b.BadLines, len(b.Bad), len(b.Records), MaxKeptBad)
	}
}

func TestATTLOGRoundTrip(t *testing.T) {
	in := []Record{{UserID: "1140064", Time: wall("2026-07-06 08:01:02"), Status: 0, Verify: 15},
		{UserID: "张三", Time: wall("2099-12-31 23:59:59"), Status: 255, Verify: 1, WorkCode: 9}}
	for fields := ShortATTLOG; fields <= LongATTLOG; fields++ {
		out := ParseRecords(AppendATTLOGFields(nil, in, fields))
		if out.BadLines > 0 || fmt.Sprint(out.Records) != fmt.Sprint(in) {
			t.Errorf("%d fields: got %+v, want %v", fields, out, in)
		}
	}
	body := AppendATTLOGFields(nil, in[:1], LongATTLOG)
	if n := bytes.Count(body, []byte{'\t'}); n != LongATTLOG-1 {
		t.Errorf("long ATTLOG: %d tabs, want %d", n, LongATTLOG-1)
	}
	out := ParseRecords(AppendRTLog(nil, in, 1))
	if out.BadLines > 0 || fmt.Sprint(out.Records) != fmt.Sprint([]Record{in[0], {UserID: "张三", Time: in[1].Time, Status: 255, Verify: 1}}) {
		t.Errorf("rtlog: got %+v", out)
	}
}

func TestCanonicalPath(t *testing.T) {
	for in, want := range map[string]string{"/iclock/cdata": PathCData, "/iclock/cdata.aspx": PathCData, "/ICLOCK/CDATA": PathCData,
		"/iclock/cdata/": PathCData, "/iClock/GetRequest.aspx": PathGetRequest, "/iclock/devicecmd.aspx": PathDeviceCmd,
		"/iclock/querydata": PathQueryData, "/iclock/registry": PathRegistry, "/iclock/push": PathPush, "/iclock/rtdata": PathRTData,
		"/iclock/other": "", "/cdata": "", "/iclock/cdata.aspx.aspx": "", "": ""} {
		got, ok := CanonicalPath(in)
		if got != want || ok != (want != "") {
			t.Errorf("%q: got %q %v, want %q", in, got, ok, want)
		}
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
	// A stamp that is not a number is absent: refusing it would make the clock retry for ever.
	q, err = ParseQuery("SN=A1&table=ATTLOG&Stamp=abc")
	if err != nil || q.HasStamp || q.Table != "ATTLOG" {
		t.Errorf("Stamp=abc: got %+v %v, want no stamp", q, err)
	}
	q, err = ParseQuery("SN=A1&type=tabledata&cmdid=5&tablename=ATTLOG&count=2&packcnt=1&packidx=1")
	if err != nil || q.Type != "tabledata" || q.TableName != "ATTLOG" {
		t.Errorf("querydata: got %+v %v", q, err)
	}
	q, err = ParseQuery("SN=A1&ID=7&Return=0&CMD=INFO")
	if err != nil || q.Result == nil || *q.Result != (Result{ID: 7, Return: 0, Cmd: "INFO"}) {
		t.Errorf("result in the query: got %+v %v", q.Result, err)
	}
	// Unescaped or badly escaped parameters other than SN do not lock the clock out.
	q, err = ParseQuery("SN=A1&INFO=Ver 8.0.4.2-20200102,12,30,1500,192.168.1.201,10,7,12,11,111&x=%zz")
	if err != nil || q.SN != "A1" {
		t.Errorf("loose query: got %+v %v", q, err)
	}
	for _, raw := range []string{"", "table=ATTLOG", "SN=a%20b", "SN=" + strings.Repeat("A", 65), "SN=A&table=AT%0ALOG", "SN=%00"} {
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
	o := Options{ATTLOGStamp: 812345678, OPERLOGStamp: 812345000, ATTPHOTOStamp: 12, ErrorDelay: 30, Delay: 10, TransTimes: "00:00;14:05", TransInterval: 1,
		TransFlag: "TransData AttLog\tOpLog", Realtime: true, TimeZone: 8 * 3600, ServerVer: "kaoqin"}
	got, err := ParseOptions(AppendOptions(nil, "SN1", o))
	if err != nil || got != o {
		t.Errorf("got %+v %v, want %+v", got, err, o)
	}
	o.RegistryCode = "a1b2c3"
	reply := AppendOptions(nil, "SN1", o)
	got, err = ParseOptions(reply)
	if err != nil || got != o || !bytes.HasPrefix(reply, []byte("registry=ok\nRegistryCode=a1b2c3\n")) || !bytes.Contains(reply, []byte("\nRequestDelay=10\n")) {
		t.Errorf("PUSH 3.x: got %+v %v from\n%s", got, err, reply)
	}
	// RequestDelay alone is the poll interval.
	if got, err := ParseOptions([]byte("registry=ok\nRequestDelay=3\n")); err != nil || got.Delay != 3 {
		t.Errorf("RequestDelay: got %+v %v", got, err)
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

// Results with each field on its own line, several in one body, mixed with the & form; a bad one
// is named and the others kept.
func TestParseResultsMultiLine(t *testing.T) {
	body := "ID=77\nSN=CQZ7232460123\nReturn=0\nCMD=DATA\n" +
		"ID=78\r\nSN=CQZ7232460123\r\nReturn=-1002\r\nCMD=DATA QUERY\r\n" +
		"ID=79&Return=0&CMD=INFO\n~DeviceName=SpeedFace\nSerialNumber=CQZ7232460123\n" +
		"ID=80\nSN=CQZ7232460123\nCMD=INFO\nReturn=3\nUserCount=3\n" +
		"ID=81\nSN=CQZ7232460123\n" +
		"ID=82\nReturn=zero\n"
	got, err := ParseResults([]byte(body))
	want := []Result{{ID: 77, Return: 0, Cmd: "DATA"}, {ID: 78, Return: -1002, Cmd: "DATA QUERY"},
		{ID: 79, Return: 0, Cmd: "INFO", Data: "~DeviceName=SpeedFace\nSerialNumber=CQZ7232460123\n"},
		{ID: 80, Return: 3, Cmd: "INFO", Data: "UserCount=3\n"}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	if err == nil || !strings.Contains(err.Error(), "result 81 has no Return") {
		t.Errorf("error: got %v, want result 81 named", err)
	}
	var b []byte
	for _, r := range want {
		b = AppendResultLines(b, "SN1", r)
	}
	if again, err := ParseResults(b); err != nil || fmt.Sprint(again) != fmt.Sprint(want) {
		t.Errorf("round trip: got %+v %v", again, err)
	}
}

func TestRegistryAndRTTime(t *testing.T) {
	reg := ParseRegistry([]byte("DeviceType=acc,~DeviceName=SpeedFace-V5L[TI],FirmVer=ZAM180-Ver1.1.17,PushVersion=3.1.2,,bad,~MaxUserCount=3000\n"))
	if reg["DeviceType"] != "acc" || reg["DeviceName"] != "SpeedFace-V5L[TI]" || reg["MaxUserCount"] != "3000" || len(reg) != 5 {
		t.Errorf("registry: got %v", reg)
	}
	loc, _ := time.LoadLocation("Asia/Kolkata")
	now := time.Date(2026, 7, 6, 9, 0, 0, 0, loc)
	_, off := now.Zone()
	reply := AppendRTTime(nil, now, off)
	if !strings.HasSuffix(string(reply), ",ServerTZ=+0530\n") {
		t.Errorf("rtdata reply: got %q", reply)
	}
	at, gotOff, err := ParseRTTime(reply)
	if err != nil || !at.Equal(time.Date(2026, 7, 6, 3, 30, 0, 0, time.UTC)) || gotOff != off {
		t.Errorf("rtdata: got %v %d %v", at, gotOff, err)
	}
	if _, _, err := ParseRTTime(AppendRTTime(nil, now, -5*3600)); err != nil {
		t.Errorf("west of Greenwich: %v", err)
	}
	for _, bad := range []string{"OK", "DateTime=x,ServerTZ=+0800", "DateTime=1,ServerTZ=0800", "DateTime=1"} {
		if _, _, err := ParseRTTime([]byte(bad)); err == nil {
			t.Errorf("%q: got nil, want an error", bad)
		}
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

// A PIN with an = is no PIN firmware writes: refused in either shape, so that a stored punch
// always re-reads the same.
func TestParseRecordsPINWithEquals(t *testing.T) {
	for _, l := range []string{"pin=a=b\ttime=2026-07-06 08:00:00", "a=b\t2026-07-06 08:00:00\t0\t1"} {
		if b := ParseRecords([]byte(l)); b.BadLines != 1 || len(b.Records) != 0 {
			t.Errorf("%q: got %+v, want one bad line", l, b)
		}
	}
}

// Package zkpush owns the ZKTeco PUSH ("ADMS") protocol, in which the clock calls the server over
// HTTP: the pure parsers and formatters of the request paths and query, the upload bodies
// (ATTLOG of attendance firmware, rtlog of access-control firmware), the handshake option lines
// (PUSH 2.x and 3.x), the PUSH 3.x registration and time replies, the command lines and their
// results, and the TimeZone value the clock sets its time from. It moves no bytes; the server
// side is ingest's Receiver and the clock's emulator lives in pushemu.
//
// As in package zk, every time this package hands out is a wall-clock time: a time.Time in
// time.UTC whose fields are what the clock displays.
package zkpush

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/kaoqin/kaoqin/devices/zk"
)

// Paths the clock calls, all under /iclock/. Firmware writes them in different ways (older
// firmware as cdata.aspx, some in capitals); CanonicalPath maps them to these.
const (
	PathCData      = "/iclock/cdata"
	PathFData      = "/iclock/fdata"
	PathGetRequest = "/iclock/getrequest"
	PathDeviceCmd  = "/iclock/devicecmd"
	PathPing       = "/iclock/ping"
	// PathQueryData takes the answer to a DATA QUERY on newer firmware.
	PathQueryData = "/iclock/querydata"
	// PUSH 3.x (access-control and newer attendance firmware): the clock registers its
	// capabilities, fetches its settings, and asks the server's time.
	PathRegistry = "/iclock/registry"
	PathPush     = "/iclock/push"
	PathRTData   = "/iclock/rtdata"
)

var paths = map[string]bool{PathCData: true, PathFData: true, PathGetRequest: true, PathDeviceCmd: true, PathPing: true,
	PathQueryData: true, PathRegistry: true, PathPush: true, PathRTData: true}

// CanonicalPath maps a request path to one of the Path constants: any case, with or without
// ".aspx" and a trailing slash. ok is false for any other path.
func CanonicalPath(p string) (string, bool) {
	if len(p) > 64 {
		return "", false
	}
	p = strings.ToLower(strings.TrimSuffix(p, "/"))
	p = strings.TrimSuffix(p, ".aspx")
	if !paths[p] {
		return "", false
	}
	return p, true
}

// Limits on what the parsers accept from outside.
const (
	MaxSerialLen = 64 // longer serial numbers are refused
	MaxUserIDLen = 64 // a clock user id (PIN) longer than this is a malformed line
	maxQueryLen  = 4096
)

// ErrBadQuery is returned for a request query the server refuses.
var ErrBadQuery = errors.New("zkpush: bad query")

// Query is what the server reads from a request's query string.
type Query struct {
	SN       string // the clock's serial number
	Options  bool   // options=all: the handshake
	PushVer  string
	CommKey  string // pushcommkey, "" when absent
	HasKey   bool
	Table    string // ATTLOG, OPERLOG, ATTPHOTO, rtlog, …
	Stamp    uint32 // Stamp= (or OpStamp= for OPERLOG), 0 when absent
	HasStamp bool
	// Type is rtdata's type=time and querydata's type=tabledata; TableName querydata's
	// tablename= (ATTLOG, transaction, user, …).
	Type      string
	TableName string
	// Result is a command result carried in the query (devicecmd?ID=…&Return=…), nil if none.
	Result *Result
}

// ParseQuery parses a raw query string. It fails on an absent or unprintable serial number and on
// a table name that is not what a clock sends; a stamp that is not a number is ignored (absent):
// refusing it would make the clock send the same upload for ever. Other parameters are ignored.
func ParseQuery(raw string) (Query, error) {
	var q Query
	if len(raw) > maxQueryLen {
		return q, fmt.Errorf("%w: %d bytes (at most %d)", ErrBadQuery, len(raw), maxQueryLen)
	}
	v := lenientQuery(raw)
	q.SN = v.Get("SN")
	if q.SN == "" {
		q.SN = v.Get("sn")
	}
	if err := checkToken("SN", q.SN, MaxSerialLen); err != nil {
		return Query{}, err
	}
	q.Options = v.Get("options") == "all"
	q.PushVer = v.Get("pushver")
	q.CommKey, q.HasKey = v.Get("pushcommkey"), v.Has("pushcommkey")
	if len(q.CommKey) > MaxSerialLen {
		return Query{}, fmt.Errorf("%w: pushcommkey too long", ErrBadQuery)
	}
	for _, p := range []struct {
		key string
		dst *string
	}{{"table", &q.Table}, {"tablename", &q.TableName}, {"type", &q.Type}} {
		if *p.dst = v.Get(p.key); *p.dst != "" {
			if err := checkToken(p.key, *p.dst, 32); err != nil {
				return Query{}, err
			}
		}
	}
	for _, k := range []string{"Stamp", "OpStamp", "stamp", "PhotoStamp"} {
		// Some firmware sends Stamp=9999 or a stamp it never set: any number is taken.
		if n, err := strconv.ParseUint(strings.TrimSpace(v.Get(k)), 10, 32); err == nil {
			q.Stamp, q.HasStamp = uint32(n), true
			break
		}
	}
	if id, err := strconv.ParseInt(v.Get("ID"), 10, 64); err == nil {
		if ret, err := strconv.Atoi(strings.TrimSpace(v.Get("Return"))); err == nil {
			q.Result = &Result{ID: id, Return: ret, Cmd: truncate(v.Get("CMD"), 100)}
		}
	}
	return q, nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return strings.ToValidUTF8(s[:n], "")
	}
	return s
}

// PushVersion is the major version of a pushver= value ("2.4.1" → 2, "3.1.2" → 3), 0 when absent.
func PushVersion(pushver string) int {
	major, _, _ := strings.Cut(pushver, ".")
	n, err := strconv.Atoi(major)
	if err != nil || n < 0 || n > 99 {
		return 0
	}
	return n
}

// lenientQuery splits a query on & and = and unescapes each part it can: firmware does not always
// escape what it sends (INFO=Ver 8.0.4.2,…), and one bad escape must not lock a clock out.
func lenientQuery(raw string) url.Values {
	v := url.Values{}
	for _, kv := range strings.Split(raw, "&") {
		if kv == "" {
			continue
		}
		k, val, _ := strings.Cut(kv, "=")
		if u, err := url.QueryUnescape(k); err == nil {
			k = u
		}
		if u, err := url.QueryUnescape(val); err == nil {
			val = u
		}
		v.Add(k, val)
	}
	return v
}

// checkToken accepts 1..max printable ASCII characters other than space.
func checkToken(name, s string, max int) error {
	if s == "" {
		return fmt.Errorf("%w: %s is missing", ErrBadQuery, name)
	}
	if len(s) > max {
		return fmt.Errorf("%w: %s is %d characters (at most %d)", ErrBadQuery, name, len(s), max)
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return fmt.Errorf("%w: %s %q has a character a clock does not send", ErrBadQuery, name, s)
		}
	}
	return nil
}

// Options are the handshake reply's settings.
type Options struct {
	ATTLOGStamp   uint32
	OPERLOGStamp  uint32
	ATTPHOTOStamp uint32
	ErrorDelay    int // seconds before a clock retries after a failure
	Delay         int // seconds between polls of getrequest (PUSH 3.x: RequestDelay)
	TransTimes    string
	TransInterval int // minutes between batched uploads
	TransFlag     string
	Realtime      bool
	Encrypt       bool
	TimeZone      int // seconds east of UTC; written in hours when whole, else in minutes
	ServerVer     string
	// RegistryCode, when set, makes the reply a PUSH 3.x one: "registry=ok", the code the clock
	// registered under, and the 3.x names of the settings (RequestDelay, TransTables, …).
	RegistryCode string
}

// AppendOptions writes the handshake reply for the clock sn (also the reply to a PUSH 3.x
// clock's /iclock/push, which asks for the same settings).
func AppendOptions(b []byte, sn string, o Options) []byte {
	if o.RegistryCode != "" {
		b = fmt.Appendf(b, "registry=ok\nRegistryCode=%s\n", o.RegistryCode)
	} else {
		b = fmt.Appendf(b, "GET OPTION FROM: %s\n", sn)
	}
	b = fmt.Appendf(b, "ATTLOGStamp=%d\nOPERLOGStamp=%d\nATTPHOTOStamp=%d\n", o.ATTLOGStamp, o.OPERLOGStamp, o.ATTPHOTOStamp)
	b = fmt.Appendf(b, "ErrorDelay=%d\nDelay=%d\n", o.ErrorDelay, o.Delay)
	if o.TransTimes != "" {
		b = fmt.Appendf(b, "TransTimes=%s\n", o.TransTimes)
	}
	b = fmt.Appendf(b, "TransInterval=%d\n", o.TransInterval)
	if o.TransFlag != "" {
		b = fmt.Appendf(b, "TransFlag=%s\n", o.TransFlag)
	}
	b = fmt.Appendf(b, "TimeZone=%s\n", FormatTimeZone(o.TimeZone))
	b = fmt.Appendf(b, "Realtime=%d\nEncrypt=%d\n", btoi(o.Realtime), btoi(o.Encrypt))
	if o.ServerVer != "" {
		b = fmt.Appendf(b, "ServerVer=%s\n", o.ServerVer)
	}
	if o.RegistryCode != "" {
		b = fmt.Appendf(b, "ServerVersion=%s\nServerName=%s\nPushProtVer=3.1.2\nRequestDelay=%d\nTransTables=User Transaction\nTimeoutSec=10\n",
			o.ServerVer, o.ServerVer, o.Delay)
	}
	return b
}

func btoi(v bool) int {
	if v {
		return 1
	}
	return 0
}

// ErrRefused is returned by ParseOptions for a reply that aborts the handshake.
var ErrRefused = errors.New("zkpush: the server refused the handshake")

// ParseOptions reads a handshake reply as the firmware does: lines split on \r or \n, KEY=VALUE,
// unknown keys ignored. A reply starting UNKNOWN DEVICE or RETRY aborts the handshake.
func ParseOptions(body []byte) (Options, error) {
	s := strings.TrimSpace(string(body))
	if strings.HasPrefix(s, "UNKNOWN DEVICE") || strings.HasPrefix(s, "RETRY") {
		return Options{}, fmt.Errorf("%w: %.40q", ErrRefused, s)
	}
	var o Options
	seen, delay := false, false
	for _, l := range strings.FieldsFunc(s, func(r rune) bool { return r == '\r' || r == '\n' }) {
		k, v, ok := strings.Cut(l, "=")
		if !ok {
			continue
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		num := func() int { n, _ := strconv.Atoi(v); return n }
		stamp := func() uint32 { n, _ := strconv.ParseUint(v, 10, 32); return uint32(n) }
		seen = true
		switch k {
		case "ATTLOGStamp", "Stamp":
			o.ATTLOGStamp = stamp()
		case "OPERLOGStamp", "OpStamp":
			o.OPERLOGStamp = stamp()
		case "ATTPHOTOStamp", "PhotoStamp":
			o.ATTPHOTOStamp = stamp()
		case "ErrorDelay":
			o.ErrorDelay = num()
		case "Delay":
			o.Delay, delay = num(), true
		case "RequestDelay":
			if !delay {
				o.Delay = num()
			}
		case "TransTimes":
			o.TransTimes = v
		case "TransInterval":
			o.TransInterval = num()
		case "TransFlag":
			o.TransFlag = v
		case "Realtime":
			o.Realtime = v == "1"
		case "Encrypt":
			o.Encrypt = v == "1"
		case "TimeZone":
			tz, err := ParseTimeZone(v)
			if err != nil {
				return Options{}, err
			}
			o.TimeZone = tz
		case "ServerVer":
			o.ServerVer = v
		case "RegistryCode":
			o.RegistryCode = v
		}
	}
	if !seen {
		return Options{}, fmt.Errorf("zkpush: handshake reply has no options: %.40q", s)
	}
	return o, nil
}

// AppendRegistry writes the reply to a PUSH 3.x clock's registration.
func AppendRegistry(b []byte, code string) []byte {
	return fmt.Appendf(b, "RegistryCode=%s\n", code)
}

// maxRegistryKeys bounds what ParseRegistry keeps of a registration body.
const maxRegistryKeys = 100

// ParseRegistry reads the body a PUSH 3.x clock posts to /iclock/registry: key=value pairs
// separated by commas (or line ends), keys of optional parameters marked with a leading "~",
// which is dropped. At most 100 pairs are kept, values cut to 100 bytes.
func ParseRegistry(body []byte) map[string]string {
	out := map[string]string{}
	for len(body) > 0 && len(out) < maxRegistryKeys {
		var kv []byte
		if i := bytes.IndexAny(body, ",\n"); i >= 0 {
			kv, body = body[:i], body[i+1:]
		} else {
			kv, body = body, nil
		}
		k, v, ok := bytes.Cut(bytes.TrimSpace(kv), []byte{'='})
		k = bytes.TrimLeft(bytes.TrimSpace(k), "~")
		if !ok || len(k) == 0 || len(k) > 64 {
			continue
		}
		out[clip(k, 64)] = clip(bytes.TrimSpace(v), 100)
	}
	return out
}

// AppendRTTime writes the reply to /iclock/rtdata?type=time, from which a PUSH 3.x clock sets its
// time: DateTime is the instant in UTC packed as in the binary protocol, ServerTZ the zone's
// offset as +HHMM; the clock shows DateTime shifted by ServerTZ.
func AppendRTTime(b []byte, now time.Time, offsetSeconds int) []byte {
	sign := '+'
	if offsetSeconds < 0 {
		sign, offsetSeconds = '-', -offsetSeconds
	}
	return fmt.Appendf(b, "DateTime=%d,ServerTZ=%c%02d%02d\n", zk.EncodeTime(now.UTC()), sign, offsetSeconds/3600, offsetSeconds%3600/60)
}

// ParseRTTime reads an rtdata time reply into the instant (UTC) and the zone offset in seconds.
func ParseRTTime(body []byte) (time.Time, int, error) {
	var at time.Time
	off, seenAt, seenTZ := 0, false, false
	for _, f := range strings.FieldsFunc(strings.TrimSpace(string(body)), func(r rune) bool { return r == ',' || r == '\n' || r == '\r' }) {
		k, v, _ := strings.Cut(strings.TrimSpace(f), "=")
		switch k {
		case "DateTime":
			n, err := strconv.ParseUint(v, 10, 32)
			if err != nil {
				return time.Time{}, 0, fmt.Errorf("zkpush: rtdata DateTime %.20q is not a packed time", v)
			}
			at, seenAt = zk.DecodeTime(uint32(n)), true
		case "ServerTZ":
			if len(v) != 5 || (v[0] != '+' && v[0] != '-') {
				return time.Time{}, 0, fmt.Errorf("zkpush: rtdata ServerTZ %.20q is not +HHMM", v)
			}
			h, err1 := strconv.Atoi(v[1:3])
			m, err2 := strconv.Atoi(v[3:5])
			if err1 != nil || err2 != nil || h > 14 || m > 59 || h < 0 || m < 0 {
				return time.Time{}, 0, fmt.Errorf("zkpush: rtdata ServerTZ %.20q is not +HHMM", v)
			}
			off, seenTZ = h*3600+m*60, true
			if v[0] == '-' {
				off = -off
			}
		}
	}
	if !seenAt || !seenTZ {
		return time.Time{}, 0, fmt.Errorf("zkpush: rtdata reply lacks DateTime or ServerTZ: %.60q", body)
	}
	return at, off, nil
}

// FormatTimeZone writes a UTC offset as the firmware reads it: whole hours when it is whole hours
// (8 for Asia/Shanghai, -5 for New York in winter), else minutes (330 for India, 345 for Nepal),
// which the firmware tells apart by size (under 25 is hours).
func FormatTimeZone(offsetSeconds int) string {
	if offsetSeconds%3600 == 0 {
		return strconv.Itoa(offsetSeconds / 3600)
	}
	return strconv.Itoa(offsetSeconds / 60)
}

// ParseTimeZone reads a TimeZone value into seconds east of UTC.
func ParseTimeZone(s string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("zkpush: TimeZone %q is not a number", s)
	}
	switch {
	case n > -25 && n < 25:
		return n * 3600, nil
	case n >= -24*60 && n <= 24*60:
		return n * 60, nil
	}
	return 0, fmt.Errorf("zkpush: TimeZone %q is out of range", s)
}

// ClockTime is the wall-clock time a clock shows after it takes the server's time: the instant of
// the HTTP Date header (which is GMT, per RFC 9110) shifted by TimeZone.
func ClockTime(date time.Time, timeZoneSeconds int) time.Time {
	return date.UTC().Add(time.Duration(timeZoneSeconds) * time.Second)
}

// Command is one queued command as the clock receives it.
type Command struct {
	ID  int64
	Cmd string
}

// AppendCommands writes the getrequest reply lines "C:<id>:<cmd>".
func AppendCommands(b []byte, cmds []Command) []byte {
	for _, c := range cmds {
		b = fmt.Appendf(b, "C:%d:%s\n", c.ID, c.Cmd)
	}
	return b
}

// ParseCommands reads a getrequest reply; "OK" and other lines are not commands.
func ParseCommands(body []byte) []Command {
	var out []Command
	for _, l := range strings.Split(string(body), "\n") {
		l = strings.TrimRight(l, "\r")
		rest, ok := strings.CutPrefix(l, "C:")
		if !ok {
			continue
		}
		id, cmd, ok := strings.Cut(rest, ":")
		n, err := strconv.ParseInt(id, 10, 64)
		if !ok || err != nil {
			continue
		}
		out = append(out, Command{ID: n, Cmd: cmd})
	}
	return out
}

// Result is one command's result posted to devicecmd.
type Result struct {
	ID     int64
	Return int // 0 ok, -1 unsupported, -1002 bad syntax, or a count
	Cmd    string
	Data   string // the lines that followed (INFO's key=value lines), if any
}

// Bounds on what ParseResults keeps of a body.
const (
	maxResultData = 16 << 10 // data bytes per result
	maxResults    = 1000     // results per body: a clock is handed ten commands per poll
)

// ParseResults reads a devicecmd body. A result starts at a line "ID=<id>"; firmware writes its
// fields either on that line joined by & ("ID=1&Return=0&CMD=INFO") or each on its own line
// ("ID=77", "SN=…", "Return=0", "CMD=…"). The lines after the fields, up to the next ID= line, are
// the result's data (INFO's key=value lines). Lines before the first ID= are ignored. A result
// whose ID or Return is not a number is left out and named in the error; the others are returned.
func ParseResults(body []byte) ([]Result, error) {
	var out []Result
	var firstErr error
	var cur *pending
	finish := func() {
		if cur == nil {
			return
		}
		r, err := cur.result()
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
		} else if len(out) < maxResults {
			out = append(out, r)
		} else if firstErr == nil {
			firstErr = fmt.Errorf("zkpush: more than %d results in one body", maxResults)
		}
		cur = nil
	}
	for len(body) > 0 {
		var lb []byte
		if i := bytes.IndexByte(body, '\n'); i >= 0 {
			lb, body = body[:i], body[i+1:]
		} else {
			lb, body = body, nil
		}
		lb = bytes.TrimRight(lb, "\r")
		if bytes.HasPrefix(lb, []byte("ID=")) {
			finish()
			if len(out) >= maxResults {
				break
			}
			cur = &pending{header: true}
			cur.fields(string(lb))
			continue
		}
		if cur == nil || len(lb) == 0 {
			continue
		}
		if cur.header {
			k, _, _ := bytes.Cut(lb, []byte{'='})
			if f := string(k); (f == "SN" || f == "Return" || f == "CMD") && !cur.has[f] {
				cur.fields(string(lb))
				continue
			}
			cur.header = false
		}
		if cur.data.Len()+len(lb)+1 <= maxResultData {
			cur.data.Write(lb)
			cur.data.WriteByte('\n')
		}
	}
	finish()
	return out, firstErr
}

// pending is a result being read.
type pending struct {
	id, ret, cmd string
	has          map[string]bool
	header       bool // still reading its fields
	data         strings.Builder
}

// fields takes the &-joined fields of one line.
func (p *pending) fields(l string) {
	if p.has == nil {
		p.has = map[string]bool{}
	}
	// Values such as CMD=DATA QUERY carry spaces and tabs, and are not escaped: read by hand.
	for _, kv := range strings.Split(l, "&") {
		k, v, _ := strings.Cut(kv, "=")
		if p.has[k] {
			continue
		}
		switch k {
		case "ID":
			p.id = v
		case "Return":
			p.ret = v
		case "CMD":
			p.cmd = v
		case "SN":
		default:
			continue
		}
		p.has[k] = true
	}
	if p.has["Return"] && p.has["CMD"] {
		p.header = false
	}
}

func (p *pending) result() (Result, error) {
	id, err := strconv.ParseInt(strings.TrimSpace(p.id), 10, 64)
	if err != nil {
		return Result{}, fmt.Errorf("zkpush: result ID=%.20q: ID is not a number", p.id)
	}
	if !p.has["Return"] {
		return Result{}, fmt.Errorf("zkpush: result %d has no Return", id)
	}
	ret, err := strconv.Atoi(strings.TrimSpace(p.ret))
	if err != nil {
		return Result{}, fmt.Errorf("zkpush: result %d: Return=%.20q is not a number", id, p.ret)
	}
	return Result{ID: id, Return: ret, Cmd: truncate(p.cmd, 1000), Data: p.data.String()}, nil
}

// AppendResult writes one result line as a clock does.
func AppendResult(b []byte, r Result) []byte {
	b = fmt.Appendf(b, "ID=%d&Return=%d&CMD=%s\n", r.ID, r.Return, r.Cmd)
	return appendData(b, r.Data)
}

// AppendResultLines writes one result with each field on its own line, as some firmware does.
func AppendResultLines(b []byte, sn string, r Result) []byte {
	b = fmt.Appendf(b, "ID=%d\nSN=%s\nReturn=%d\nCMD=%s\n", r.ID, sn, r.Return, r.Cmd)
	return appendData(b, r.Data)
}

func appendData(b []byte, data string) []byte {
	if data != "" {
		b = append(b, data...)
		if !strings.HasSuffix(data, "\n") {
			b = append(b, '\n')
		}
	}
	return b
}

// QueryATTLOG is the command that makes a clock upload its records of [from, to] (wall clock)
// again: the back-fill.
func QueryATTLOG(from, to time.Time) string {
	return "DATA QUERY ATTLOG StartTime=" + from.Format(TimeLayout) + "\tEndTime=" + to.Format(TimeLayout)
}

// ParseQueryATTLOG reads a QueryATTLOG command.
func ParseQueryATTLOG(cmd string) (from, to time.Time, ok bool) {
	rest, ok := strings.CutPrefix(cmd, "DATA QUERY ATTLOG ")
	if !ok {
		return time.Time{}, time.Time{}, false
	}
	for _, f := range strings.Split(rest, "\t") {
		k, v, _ := strings.Cut(strings.TrimSpace(f), "=")
		t, err := ParseTime([]byte(v))
		if err != nil {
			return time.Time{}, time.Time{}, false
		}
		switch k {
		case "StartTime":
			from = t
		case "EndTime":
			to = t
		}
	}
	return from, to, !from.IsZero() && !to.IsZero()
}

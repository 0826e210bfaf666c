// Package zkpush owns the ZKTeco PUSH ("ADMS") protocol, in which the clock calls the server over
// HTTP: the pure parsers and formatters of the request query, the ATTLOG upload body, the
// handshake option lines, the command lines and their results, and the TimeZone value the clock
// sets its time from. It moves no bytes; the server side is ingest's Receiver and the clock's
// emulator lives in pushemu.
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
	"unicode/utf8"
)

// Paths the clock calls, all under /iclock/.
const (
	PathCData      = "/iclock/cdata"
	PathFData      = "/iclock/fdata"
	PathGetRequest = "/iclock/getrequest"
	PathDeviceCmd  = "/iclock/devicecmd"
	PathPing       = "/iclock/ping"
)

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
	Table    string // ATTLOG, OPERLOG, ATTPHOTO, …
	Stamp    uint32 // Stamp= (or OpStamp= for OPERLOG), 0 when absent
	HasStamp bool
}

// ParseQuery parses a raw query string. It fails on an absent or unprintable serial number and on
// a table name or stamp that is not what a clock sends; other unknown parameters are ignored.
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
	q.Table = v.Get("table")
	if q.Table != "" {
		if err := checkToken("table", q.Table, 32); err != nil {
			return Query{}, err
		}
	}
	for _, k := range []string{"Stamp", "OpStamp", "stamp"} {
		if s := v.Get(k); s != "" {
			n, err := strconv.ParseUint(s, 10, 32)
			if err != nil {
				// Some firmware sends Stamp=9999 or a stamp it never set; only a non-number is refused.
				return Query{}, fmt.Errorf("%w: %s=%q is not a number", ErrBadQuery, k, s)
			}
			q.Stamp, q.HasStamp = uint32(n), true
			break
		}
	}
	return q, nil
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

// Record is one ATTLOG line.
type Record struct {
	UserID   string    // PIN
	Time     time.Time // wall clock
	Status   int       // 0 check-in, 1 check-out, …, 255 undefined
	Verify   int       // 0 password, 1 fingerprint, 2 card, 15 face
	WorkCode int
}

// TimeLayout is how PUSH bodies write times.
const TimeLayout = "2006-01-02 15:04:05"

// LineError is a line of an upload that could not be read; the rest of the batch still counts.
type LineError struct {
	Line int // 1-based
	Text string
	Err  string
}

func (e LineError) Error() string { return fmt.Sprintf("line %d: %s: %q", e.Line, e.Err, e.Text) }

// ParseATTLOG reads an ATTLOG upload: one record per line, fields separated by tabs: PIN, time,
// status, verify, workcode, then reserved fields that old and new firmware send in different
// numbers. PIN and time are required; a missing or empty number is 0. Lines end in \n or \r\n;
// blank lines are skipped. A line that cannot be read is returned in bad and the others still are.
func ParseATTLOG(body []byte) (recs []Record, bad []LineError) {
	line := 0
	for len(body) > 0 {
		var l []byte
		if i := bytes.IndexByte(body, '\n'); i >= 0 {
			l, body = body[:i], body[i+1:]
		} else {
			l, body = body, nil
		}
		line++
		l = bytes.TrimRight(l, "\r")
		if len(bytes.TrimSpace(l)) == 0 {
			continue
		}
		r, err := parseATTLOGLine(l)
		if err != nil {
			text := string(l)
			if len(text) > 120 {
				text = text[:120] + "…"
			}
			bad = append(bad, LineError{Line: line, Text: strings.ToValidUTF8(text, "?"), Err: err.Error()})
			continue
		}
		recs = append(recs, r)
	}
	return recs, bad
}

func parseATTLOGLine(l []byte) (Record, error) {
	var f [5][]byte
	n := 0
	for rest := l; n < len(f); {
		i := bytes.IndexByte(rest, '\t')
		if i < 0 {
			f[n] = rest
			n++
			break
		}
		f[n], rest = rest[:i], rest[i+1:]
		n++
	}
	if n < 2 {
		return Record{}, errors.New("want at least PIN and time separated by a tab")
	}
	pin := bytes.TrimSpace(f[0])
	if len(pin) == 0 || len(pin) > MaxUserIDLen || !utf8.Valid(pin) {
		return Record{}, fmt.Errorf("PIN must be 1 to %d bytes of UTF-8", MaxUserIDLen)
	}
	for _, c := range pin {
		if c < ' ' || c == 0x7f {
			return Record{}, errors.New("PIN has a control character")
		}
	}
	t, err := ParseTime(bytes.TrimSpace(f[1]))
	if err != nil {
		return Record{}, err
	}
	r := Record{UserID: string(pin), Time: t}
	for i, dst := range []*int{&r.Status, &r.Verify, &r.WorkCode} {
		s := bytes.TrimSpace(f[2+i])
		if len(s) == 0 {
			continue
		}
		v, err := strconv.Atoi(string(s))
		if err != nil || v < 0 || v > 1<<30 {
			return Record{}, fmt.Errorf("field %d %q is not a number", 3+i, s)
		}
		*dst = v
	}
	return r, nil
}

// ParseTime reads "YYYY-MM-DD HH:MM:SS" as a wall-clock time from 2000 to 2099 (what a packed
// stamp can carry).
func ParseTime(b []byte) (time.Time, error) {
	if len(b) != len(TimeLayout) || b[4] != '-' || b[7] != '-' || b[10] != ' ' || b[13] != ':' || b[16] != ':' {
		return time.Time{}, fmt.Errorf("time %q is not YYYY-MM-DD HH:MM:SS", b)
	}
	num := func(lo, hi int) int {
		v := 0
		for _, c := range b[lo:hi] {
			if c < '0' || c > '9' {
				return -1
			}
			v = v*10 + int(c-'0')
		}
		return v
	}
	y, mo, d, h, mi, s := num(0, 4), num(5, 7), num(8, 10), num(11, 13), num(14, 16), num(17, 19)
	if y < 2000 || y > 2099 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 59 || h < 0 || mi < 0 || s < 0 {
		return time.Time{}, fmt.Errorf("time %q is out of range (years 2000 to 2099)", b)
	}
	t := time.Date(y, time.Month(mo), d, h, mi, s, 0, time.UTC)
	if t.Day() != d {
		return time.Time{}, fmt.Errorf("time %q is not a date", b)
	}
	return t, nil
}

// AppendATTLOG writes records as the clock uploads them (the seven fields of current firmware).
func AppendATTLOG(b []byte, recs []Record) []byte {
	for _, r := range recs {
		b = append(b, r.UserID...)
		b = append(b, '\t')
		b = r.Time.AppendFormat(b, TimeLayout)
		b = append(b, '\t')
		b = strconv.AppendInt(b, int64(r.Status), 10)
		b = append(b, '\t')
		b = strconv.AppendInt(b, int64(r.Verify), 10)
		b = append(b, '\t')
		b = strconv.AppendInt(b, int64(r.WorkCode), 10)
		b = append(b, "\t0\t0\n"...)
	}
	return b
}

// CountLines counts the non-blank lines of a body (what the server acknowledges for tables it
// does not store).
func CountLines(body []byte) int {
	n := 0
	for _, l := range bytes.Split(body, []byte{'\n'}) {
		if len(bytes.TrimSpace(l)) > 0 {
			n++
		}
	}
	return n
}

// Options are the handshake reply's settings.
type Options struct {
	ATTLOGStamp   uint32
	OPERLOGStamp  uint32
	ErrorDelay    int // seconds before a clock retries after a failure
	Delay         int // seconds between polls of getrequest
	TransTimes    string
	TransInterval int // minutes between batched uploads
	TransFlag     string
	Realtime      bool
	Encrypt       bool
	TimeZone      int // seconds east of UTC; written in hours when whole, else in minutes
	ServerVer     string
}

// AppendOptions writes the handshake reply for the clock sn.
func AppendOptions(b []byte, sn string, o Options) []byte {
	b = fmt.Appendf(b, "GET OPTION FROM: %s\n", sn)
	b = fmt.Appendf(b, "ATTLOGStamp=%d\nOPERLOGStamp=%d\nATTPHOTOStamp=0\n", o.ATTLOGStamp, o.OPERLOGStamp)
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
	seen := false
	for _, l := range strings.FieldsFunc(s, func(r rune) bool { return r == '\r' || r == '\n' }) {
		k, v, ok := strings.Cut(l, "=")
		if !ok {
			continue
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		num := func() int { n, _ := strconv.Atoi(v); return n }
		seen = true
		switch k {
		case "ATTLOGStamp", "Stamp":
			n, _ := strconv.ParseUint(v, 10, 32)
			o.ATTLOGStamp = uint32(n)
		case "OPERLOGStamp", "OpStamp":
			n, _ := strconv.ParseUint(v, 10, 32)
			o.OPERLOGStamp = uint32(n)
		case "ErrorDelay":
			o.ErrorDelay = num()
		case "Delay":
			o.Delay = num()
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
		}
	}
	if !seen {
		return Options{}, fmt.Errorf("zkpush: handshake reply has no options: %.40q", s)
	}
	return o, nil
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

// maxResultData bounds the data kept per result.
const maxResultData = 16 << 10

// ParseResults reads a devicecmd body: lines "ID=<id>&Return=<n>&CMD=<cmd>", each optionally
// followed by data lines up to the next ID= line. Lines before the first ID= are ignored.
func ParseResults(body []byte) ([]Result, error) {
	var out []Result
	for _, l := range strings.Split(string(body), "\n") {
		l = strings.TrimRight(l, "\r")
		if strings.HasPrefix(l, "ID=") {
			v, err := url.ParseQuery(l)
			if err != nil {
				// Values such as CMD=DATA QUERY carry spaces and tabs; read the fields by hand.
				v = splitAmp(l)
			}
			id, err := strconv.ParseInt(v.Get("ID"), 10, 64)
			if err != nil {
				return out, fmt.Errorf("zkpush: result %.60q: ID is not a number", l)
			}
			ret, err := strconv.Atoi(strings.TrimSpace(v.Get("Return")))
			if err != nil {
				return out, fmt.Errorf("zkpush: result %.60q: Return is not a number", l)
			}
			out = append(out, Result{ID: id, Return: ret, Cmd: v.Get("CMD")})
			continue
		}
		if len(out) == 0 || l == "" {
			continue
		}
		r := &out[len(out)-1]
		if len(r.Data)+len(l)+1 <= maxResultData {
			r.Data += l + "\n"
		}
	}
	return out, nil
}

func splitAmp(l string) url.Values {
	v := url.Values{}
	for _, kv := range strings.Split(l, "&") {
		k, val, _ := strings.Cut(kv, "=")
		v.Set(k, val)
	}
	return v
}

// AppendResult writes one result line as a clock does.
func AppendResult(b []byte, r Result) []byte {
	b = fmt.Appendf(b, "ID=%d&Return=%d&CMD=%s\n", r.ID, r.Return, r.Cmd)
	if r.Data != "" {
		b = append(b, r.Data...)
		if !strings.HasSuffix(r.Data, "\n") {
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

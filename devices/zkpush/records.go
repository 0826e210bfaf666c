package zkpush

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kaoqin/kaoqin/devices/zk"
)

// Record is one punch of an upload: an ATTLOG line, or an rtlog (access-control) line that names
// a person.
type Record struct {
	UserID   string    // PIN
	Time     time.Time // wall clock
	Status   int       // 0 check-in, 1 check-out, …, 255 undefined (rtlog: inoutstatus)
	Verify   int       // 0 password, 1 fingerprint, 2 card, 15 face (rtlog: verifytype)
	WorkCode int
	// Unread is the line as the clock sent it when one of its optional fields (status, verify,
	// work code) could not be read and was taken as 0; "" when every field was read. The punch is
	// stored all the same (PIN and time are certain) and flagged with this text.
	Unread string
}

// TimeLayout is how PUSH bodies write times.
const TimeLayout = "2006-01-02 15:04:05"

// Limits on what an upload keeps.
const (
	// MaxKeptBad is how many unreadable lines an upload keeps with their text; the others are
	// only counted, so that a body of garbage costs no more memory than the body.
	MaxKeptBad = 10
	// MaxUnreadLen bounds the text kept of a flagged line.
	MaxUnreadLen = 200
)

// LineError is a line of an upload that could not be read; the rest of the batch still counts.
type LineError struct {
	Line int // 1-based
	Text string
	Err  string
}

func (e LineError) Error() string { return fmt.Sprintf("line %d: %s: %q", e.Line, e.Err, e.Text) }

// Batch is what an upload body holds.
type Batch struct {
	Records []Record
	// Bad are the first MaxKeptBad lines that could not be read; BadLines counts all of them.
	Bad      []LineError
	BadLines int
	// Events counts the rtlog lines that name no person (door, alarm and device events): they
	// are not punches.
	Events int
}

// Flagged counts the records stored with an unreadable optional field.
func (b Batch) Flagged() int {
	n := 0
	for _, r := range b.Records {
		if r.Unread != "" {
			n++
		}
	}
	return n
}

// ParseRecords reads an upload body, one record per line (\n or \r\n; blank lines skipped), in
// either of the two shapes clocks send:
//
//   - positional (table=ATTLOG): PIN, time, then optionally status, verify and work code, then
//     reserved fields that firmware versions send in different numbers (4 to 10 fields in all)
//     and that are not read;
//   - key=value pairs separated by tabs (table=rtlog of access-control firmware, and the
//     "transaction" lines of a DATA QUERY answer): time= (or time_second=, packed), pin=,
//     verifytype=, inoutstatus=, workcode=; a line whose pin is absent or 0 is a door or alarm
//     event, counted in Events.
//
// PIN and time are required: a line without them cannot be stored and is bad. An optional field
// that is empty is 0; one that is not a number is 0 too and the record keeps the line in Unread.
func ParseRecords(body []byte) Batch {
	var b Batch
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
		var r Record
		var f fault
		event := false
		if first, _, _ := bytes.Cut(l, []byte{'\t'}); bytes.IndexByte(first, '=') >= 0 {
			r, event, f = parseKVLine(l)
		} else {
			r, f = parsePositional(l)
		}
		switch {
		case f.format != "":
			b.BadLines++
			if len(b.Bad) < MaxKeptBad {
				b.Bad = append(b.Bad, LineError{Line: line, Text: clip(l, 120), Err: f.String()})
			}
		case event:
			b.Events++
		default:
			b.Records = append(b.Records, r)
		}
	}
	return b
}

// fault is why a line cannot be read. It is built without allocating (a format and a sub-slice
// of the body) and written out only for the few lines kept, so a body of a million bad lines
// costs nothing per line.
type fault struct {
	format string // "" for none; one %q verb when val is set
	val    []byte
}

func (f fault) String() string {
	if f.val == nil {
		return f.format
	}
	return fmt.Sprintf(f.format, clip(f.val, 40))
}

// clip returns at most n bytes of b as valid UTF-8, marked when cut.
func clip(b []byte, n int) string {
	if len(b) <= n {
		return strings.ToValidUTF8(string(b), "?")
	}
	for n > 0 && !utf8.RuneStart(b[n]) {
		n--
	}
	return strings.ToValidUTF8(string(b[:n]), "?") + "…"
}

func parsePositional(l []byte) (Record, fault) {
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
		return Record{}, fault{format: "want at least PIN and time separated by a tab"}
	}
	r, ft := certain(f[0], f[1])
	if ft.format != "" {
		return Record{}, ft
	}
	unread := false
	for i, dst := range []*int{&r.Status, &r.Verify, &r.WorkCode} {
		if v, ok := optional(f[2+i]); ok {
			*dst = v
		} else {
			unread = true
		}
	}
	if unread {
		r.Unread = clip(l, MaxUnreadLen)
	}
	return r, fault{}
}

// certain reads the PIN and time every stored punch needs.
func certain(pin, at []byte) (Record, fault) {
	pin = bytes.TrimSpace(pin)
	if f := checkPIN(pin); f.format != "" {
		return Record{}, f
	}
	at = bytes.TrimSpace(at)
	t, why := parseTime(at)
	if why != "" {
		return Record{}, fault{format: why, val: at}
	}
	return Record{UserID: string(pin), Time: t}, fault{}
}

func checkPIN(pin []byte) fault {
	if len(pin) == 0 || len(pin) > MaxUserIDLen || !utf8.Valid(pin) {
		return fault{format: "PIN must be 1 to 64 bytes of UTF-8"}
	}
	for _, c := range pin {
		if c < ' ' || c == 0x7f {
			return fault{format: "PIN has a control character"}
		}
		if c == '=' {
			// No firmware writes one, and it would make a positional line read as key=value.
			return fault{format: "PIN has an ="}
		}
	}
	return fault{}
}

// optional reads an optional number: empty is 0; ok is false when it is not a number.
func optional(b []byte) (int, bool) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return 0, true
	}
	v := 0
	for _, c := range b {
		if c < '0' || c > '9' || v > 1<<30 {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	return v, v <= 1<<30
}

func parseKVLine(l []byte) (r Record, event bool, f fault) {
	var pin, at, packed []byte
	hasPin, hasTime, hasPacked := false, false, false
	var opt [3][]byte // status, verify, work code
	for i, rest := 0, l; len(rest) > 0; i++ {
		var kv []byte
		kv, rest, _ = bytes.Cut(rest, []byte{'\t'})
		k, v, ok := bytes.Cut(kv, []byte{'='})
		if !ok {
			continue
		}
		if i == 0 {
			// "transaction cardno=…": a DATA QUERY answer names its table before the first pair.
			if j := bytes.LastIndexByte(k, ' '); j >= 0 {
				k = k[j+1:]
			}
		}
		k = bytes.TrimSpace(k)
		switch {
		case keyIs(k, "pin"):
			pin, hasPin = bytes.TrimSpace(v), true
		case keyIs(k, "time"):
			at, hasTime = bytes.TrimSpace(v), true
		case keyIs(k, "time_second"):
			packed, hasPacked = bytes.TrimSpace(v), true
		case keyIs(k, "inoutstatus", "inoutstate", "status"):
			opt[0] = v
		case keyIs(k, "verifytype", "verified", "verify"):
			opt[1] = v
		case keyIs(k, "workcode"):
			opt[2] = v
		}
	}
	var t time.Time
	switch {
	case hasTime:
		var why string
		if t, why = parseTime(at); why != "" {
			return Record{}, false, fault{format: why, val: at}
		}
	case hasPacked:
		v, ok := parseUint32(packed)
		if t = zk.DecodeTime(v); !ok || t.Year() > 2099 {
			return Record{}, false, fault{format: "time_second %q is not a packed time", val: packed}
		}
		// A packed day the calendar lacks (31 April) rolls over: the clock cannot produce one.
	default:
		return Record{}, false, fault{format: "want time= (or time_second=) and pin="}
	}
	if !hasPin || len(pin) == 0 || string(pin) == "0" {
		// A door, alarm or device event: it names no person.
		return Record{}, true, fault{}
	}
	if f = checkPIN(pin); f.format != "" {
		return Record{}, false, f
	}
	r = Record{UserID: string(pin), Time: t}
	unread := false
	for i, dst := range []*int{&r.Status, &r.Verify, &r.WorkCode} {
		if v, ok := optional(opt[i]); ok {
			*dst = v
		} else {
			unread = true
		}
	}
	if unread {
		r.Unread = clip(l, MaxUnreadLen)
	}
	return r, false, fault{}
}

// keyIs tells whether k is one of names, in any case.
func keyIs(k []byte, names ...string) bool {
	for _, n := range names {
		if len(k) == len(n) && bytes.EqualFold(k, []byte(n)) {
			return true
		}
	}
	return false
}

func parseUint32(b []byte) (uint32, bool) {
	if len(b) == 0 || len(b) > 10 {
		return 0, false
	}
	var v uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + uint64(c-'0')
	}
	return uint32(v), v <= 1<<32-1
}

// ParseTime reads "YYYY-MM-DD HH:MM:SS" as a wall-clock time from 2000 to 2099 (what a packed
// stamp can carry).
func ParseTime(b []byte) (time.Time, error) {
	t, why := parseTime(b)
	if why != "" {
		return time.Time{}, fmt.Errorf(why, b)
	}
	return t, nil
}

// parseTime returns why b is not a time as a format with one %q verb, "" when it is one.
func parseTime(b []byte) (time.Time, string) {
	if len(b) != len(TimeLayout) || b[4] != '-' || b[7] != '-' || b[10] != ' ' || b[13] != ':' || b[16] != ':' {
		return time.Time{}, "time %q is not YYYY-MM-DD HH:MM:SS"
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
		return time.Time{}, "time %q is out of range (years 2000 to 2099)"
	}
	t := time.Date(y, time.Month(mo), d, h, mi, s, 0, time.UTC)
	if t.Day() != d {
		return time.Time{}, "time %q is not a date"
	}
	return t, ""
}

// ATTLOG field counts of the firmware kaoqin has met: older firmware sends five fields (PIN,
// time, status, verify, work code), current firmware seven (two reserved), and face firmware with
// mask and temperature detection ten.
const (
	ShortATTLOG   = 5
	CurrentATTLOG = 7
	LongATTLOG    = 10
)

// AppendATTLOG writes records as current firmware uploads them (seven fields).
func AppendATTLOG(b []byte, recs []Record) []byte {
	return AppendATTLOGFields(b, recs, CurrentATTLOG)
}

// AppendATTLOGFields writes records with fields fields a line (2 to 10; the reserved fields
// past the work code are written as the firmware does: 0, 0, then empty mask and temperature
// fields and 0).
func AppendATTLOGFields(b []byte, recs []Record, fields int) []byte {
	fields = max(2, min(fields, LongATTLOG))
	reserved := [...]string{"0", "0", "", "", "0"}
	for _, r := range recs {
		b = append(b, r.UserID...)
		b = append(b, '\t')
		b = r.Time.AppendFormat(b, TimeLayout)
		for i, v := range []int{r.Status, r.Verify, r.WorkCode} {
			if 3+i > fields {
				break
			}
			b = append(b, '\t')
			b = strconv.AppendInt(b, int64(v), 10)
		}
		for i := 5; i < fields; i++ {
			b = append(b, '\t')
			b = append(b, reserved[i-5]...)
		}
		b = append(b, '\n')
	}
	return b
}

// AppendRTLog writes records as access-control firmware uploads them (table=rtlog): one event a
// line, key=value pairs separated by tabs. index is the event number of the first record.
func AppendRTLog(b []byte, recs []Record, index int) []byte {
	for i, r := range recs {
		b = append(b, "time="...)
		b = r.Time.AppendFormat(b, TimeLayout)
		b = append(b, "\tpin="...)
		b = append(b, r.UserID...)
		b = append(b, "\tcardno=0\teventaddr=1\tevent=0\tinoutstatus="...)
		b = strconv.AppendInt(b, int64(r.Status), 10)
		b = append(b, "\tverifytype="...)
		b = strconv.AppendInt(b, int64(r.Verify), 10)
		b = append(b, "\tindex="...)
		b = strconv.AppendInt(b, int64(index+i), 10)
		b = append(b, '\n')
	}
	return b
}

// CountLines counts the non-blank lines of a body (what the server acknowledges for tables it
// does not store), without allocating.
func CountLines(body []byte) int {
	n := 0
	for len(body) > 0 {
		l := body
		if i := bytes.IndexByte(body, '\n'); i >= 0 {
			l, body = body[:i], body[i+1:]
		} else {
			body = nil
		}
		if len(bytes.TrimSpace(l)) > 0 {
			n++
		}
	}
	return n
}

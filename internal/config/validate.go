package config

import (
	"fmt"
	"net"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

type validator struct {
	file  string
	lines map[string]int
	ps    Problems
}

// add records a problem at key path (its line found in the index; the nearest parent's line when
// the key itself is absent).
func (v *validator) add(path, format string, args ...any) {
	line := 0
	for p := path; p != ""; p = parent(p) {
		if l, ok := v.lines[p]; ok {
			line = l
			break
		}
	}
	v.ps = append(v.ps, Problem{File: v.file, Line: line, Key: path, Msg: fmt.Sprintf(format, args...)})
}

func parent(p string) string {
	i := strings.LastIndexAny(p, ".[")
	if i < 0 {
		return ""
	}
	return p[:i]
}

var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// ParseCron parses a read schedule: five cron fields or a descriptor ("@every 1m", "@hourly").
func ParseCron(spec string) (cron.Schedule, error) { return cronParser.Parse(spec) }

func (c *Config) validate(v *validator) {
	switch c.Database.Driver {
	case "sqlite", "mysql":
	default:
		v.add("database.driver", "unknown driver %q; use sqlite or mysql", c.Database.Driver)
	}
	if c.Database.DSN == "" {
		v.add("database.dsn", "is empty; give a file path for sqlite or a DSN such as user:pass@tcp(127.0.0.1:3306)/kaoqin for mysql")
	}
	if c.Database.MaxOpenConns < 0 {
		v.add("database.max_open_conns", "must not be negative")
	}
	if len(c.Database.Addresses) > 0 && c.Database.Driver != "mysql" {
		v.add("database.addresses", "several addresses are for a MySQL/MariaDB cluster; set driver: mysql or remove addresses")
	}
	for i, a := range c.Database.Addresses {
		if host, port, err := net.SplitHostPort(a); err != nil || host == "" || port == "" {
			v.add(fmt.Sprintf("database.addresses[%d]", i), "%q is not host:port; write it like 10.0.0.11:3306", a)
		}
	}
	loc, err := time.LoadLocation(c.TimeZone)
	if err != nil || c.TimeZone == "" {
		v.add("timezone", "unknown time zone %q; use an IANA name such as Asia/Shanghai", c.TimeZone)
	} else {
		c.loc = loc
	}
	checkListen(v, "http.listen", c.HTTP.Listen, false)
	checkListen(v, "push.listen", c.Push.Listen, true)
	if (c.HTTP.TLSCert == "") != (c.HTTP.TLSKey == "") {
		v.add("http.tls_cert", "tls_cert and tls_key go together; give both or neither")
	}
	if d := c.Push.Delay.Std(); d < time.Second || d > time.Hour || d%time.Second != 0 {
		v.add("push.delay", "%s is out of range; use whole seconds from 1s to 1h (clocks poll every 3 to 8 s in realtime mode)", d)
	}
	if d := c.Push.TransInterval.Std(); d < time.Minute || d > 24*time.Hour || d%time.Minute != 0 {
		v.add("push.trans_interval", "%s is out of range; use whole minutes from 1m to 24h", d)
	}
	if d := c.Push.ErrorDelay.Std(); d < time.Second || d > time.Hour || d%time.Second != 0 {
		v.add("push.error_delay", "%s is out of range; use whole seconds from 1s to 1h", d)
	}
	if c.Ingest.SkewThreshold <= 0 {
		v.add("ingest.skew_threshold", "must be positive, such as 60s")
	}
	if c.Ingest.Timeout <= 0 {
		v.add("ingest.timeout", "must be positive, such as 30s")
	}
	if d := c.Ingest.Lease.Std(); d < 3*time.Second || d > 5*time.Minute {
		v.add("ingest.lease", "%s is out of range; use 3s to 5m (15s: a dead daemon's clocks are taken over within about 20 s)", d)
	}
	if len(c.Ingest.Identity) > 100 {
		v.add("ingest.identity", "is longer than 100 bytes; use a short name such as the host's")
	}
	c.validateClocks(v)
	if c.Push.Listen == "" {
		for i, cl := range c.Clocks {
			if cl.Protocol == "zk-push" {
				v.add(fmt.Sprintf("clocks[%d].protocol", i), "zk-push clock %q calls the server, but push.listen is empty, so nothing would receive it; set push.listen to the address the clocks reach, such as 0.0.0.0:8081", cl.Name)
				break
			}
		}
	}
	c.validateSchedule(v)
	c.validateNotify(v)
	for i, o := range c.Calendar.Overrides {
		p := fmt.Sprintf("calendar.overrides[%d]", i)
		if _, err := time.Parse("2006-01-02", o.Date); err != nil {
			v.add(p+".date", "%q is not a date; write YYYY-MM-DD", o.Date)
		}
	}
	switch d := c.Rules.FailureReportDeadline; {
	case d == "same_day":
	default:
		if dur, err := time.ParseDuration(d); err != nil || dur <= 0 {
			v.add("rules.failure_report_deadline", "%q is neither same_day nor a positive duration such as 2h", d)
		}
	}
	if m := c.Rules.SingleStaffTemporaryMinutes; m <= 0 || m > 240 {
		v.add("rules.single_staff_temporary_minutes", "%d is out of range; use 1 to 240 minutes (rules.md R16 decides 30)", m)
	}
	units := map[string]bool{}
	for i, u := range c.Units {
		p := fmt.Sprintf("units[%d].name", i)
		if u.Name == "" {
			v.add(p, "is empty; give the unit's name")
		} else if units[u.Name] {
			v.add(p, "unit %q is listed twice", u.Name)
		}
		units[u.Name] = true
	}
	windows := map[string]bool{}
	for i, w := range c.Windows {
		p := fmt.Sprintf("windows[%d]", i)
		if w.Name == "" {
			v.add(p+".name", "is empty; give the window's name")
		} else if windows[w.Name] {
			v.add(p+".name", "window %q is listed twice", w.Name)
		}
		windows[w.Name] = true
		if w.Unit != "" && len(c.Units) > 0 && !units[w.Unit] {
			v.add(p+".unit", "unknown unit %q; add it under units or fix the name", w.Unit)
		}
	}
	if g := c.Reports.Group; g != "" {
		if _, err := LookupGroup(g); err != nil {
			v.add("reports.group", "%v; create it (groupadd %s) and add the daemon's user to it, or leave reports.group empty", err, g)
		}
	}
	if c.Reports.Monthly != "" {
		if _, err := ParseCron(c.Reports.Monthly); err != nil {
			v.add("reports.monthly", "bad cron spec %q: %v", c.Reports.Monthly, err)
		}
	}
}

func checkListen(v *validator, key, addr string, optional bool) {
	if addr == "" {
		if !optional {
			v.add(key, "is empty; give host:port such as 127.0.0.1:8080")
		}
		return
	}
	if _, port, err := net.SplitHostPort(addr); err != nil {
		v.add(key, "%q is not host:port", addr)
	} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		v.add(key, "port %q is not a number from 0 to 65535", port)
	}
}

func (c *Config) validateClocks(v *validator) {
	names := map[string]bool{}
	busIDs := map[string]map[int]string{}
	serials := map[string]bool{}
	for i := range c.Clocks {
		cl := &c.Clocks[i]
		p := fmt.Sprintf("clocks[%d]", i)
		if cl.Name == "" {
			v.add(p+".name", "is empty; every clock needs a unique name")
		} else if names[cl.Name] {
			v.add(p+".name", "clock %q is configured twice; names must be unique", cl.Name)
		}
		names[cl.Name] = true
		if cl.Read == "" {
			cl.Read = "@every 1m"
		}
		if cl.TimeSync == "" {
			cl.TimeSync = "off"
		}
		if cl.Encoding == "" {
			cl.Encoding = "gbk"
		}
		if cl.Timeout == 0 {
			cl.Timeout = c.Ingest.Timeout
		}
		switch cl.Protocol {
		case "zk":
			if cl.Transport == "" {
				cl.Transport = "tcp"
			}
			if cl.Transport != "tcp" && cl.Transport != "udp" {
				v.add(p+".transport", "%q does not carry protocol zk; use tcp or udp", cl.Transport)
			}
		case "anviz":
			if cl.Transport == "" {
				cl.Transport = "serial"
			}
			if cl.Transport != "tcp" && cl.Transport != "serial" {
				v.add(p+".transport", "%q does not carry protocol anviz; use serial or tcp", cl.Transport)
			}
			if cl.RecordEpoch == "" {
				cl.RecordEpoch = "2000-01-02 00:00:00"
			}
			if _, err := time.Parse("2006-01-02 15:04:05", cl.RecordEpoch); err != nil {
				v.add(p+".record_epoch", "%q is not a time; write YYYY-MM-DD HH:MM:SS", cl.RecordEpoch)
			}
			if cl.DeviceID < 1 || cl.DeviceID > 0x7fffffff {
				v.add(p+".device_id", "an anviz clock needs its device id on the bus (1 or more)")
			}
		case "zk-push":
			if cl.Transport == "" {
				cl.Transport = "http"
			}
			if cl.Transport != "http" {
				v.add(p+".transport", "a zk-push clock calls the server over http; remove transport or set it to http")
			}
			if cl.SerialNumber == "" {
				v.add(p+".serial_number", "a zk-push clock is recognised by its serial number; give it")
			} else if serials[cl.SerialNumber] {
				v.add(p+".serial_number", "serial number %q is configured twice", cl.SerialNumber)
			}
			serials[cl.SerialNumber] = true
		case "":
			v.add(p+".protocol", "is missing; use zk, zk-push or anviz")
		default:
			v.add(p+".protocol", "unknown protocol %q; use zk, zk-push or anviz", cl.Protocol)
		}
		switch cl.Transport {
		case "tcp", "udp":
			if cl.Address == "" {
				v.add(p+".address", "a %s clock needs its address as host:port", cl.Transport)
			} else if _, _, err := net.SplitHostPort(cl.Address); err != nil {
				v.add(p+".address", "%q is not host:port (ZKTeco clocks listen on port 4370, Anviz on 5010)", cl.Address)
			}
		case "serial":
			if cl.Serial == nil || cl.Serial.Port == "" {
				v.add(p+".serial.port", "a serial clock needs its port, such as /dev/ttyUSB0")
			}
			if cl.Serial != nil {
				c.defaultSerial(cl.Serial)
				checkSerial(v, p+".serial", cl.Serial)
				if cl.Serial.Port != "" && cl.Protocol == "anviz" {
					if busIDs[cl.Serial.Port] == nil {
						busIDs[cl.Serial.Port] = map[int]string{}
					}
					if other, dup := busIDs[cl.Serial.Port][cl.DeviceID]; dup {
						v.add(p+".device_id", "device id %d is already used by clock %q on bus %s; every clock on a bus needs its own id", cl.DeviceID, other, cl.Serial.Port)
					}
					busIDs[cl.Serial.Port][cl.DeviceID] = cl.Name
				}
			}
		}
		if cl.Protocol != "zk-push" {
			if _, err := ParseCron(cl.Read); err != nil {
				v.add(p+".read", "bad cron spec %q: %v; use five fields such as \"* * * * *\" or \"@every 1m\"", cl.Read, err)
			}
		}
		if cl.TimeSync != "off" && cl.TimeSync != "auto" {
			v.add(p+".time_sync", "%q is unknown; use off or auto", cl.TimeSync)
		}
		if cl.Encoding != "gbk" && cl.Encoding != "utf-8" {
			v.add(p+".encoding", "%q is unknown; use gbk or utf-8", cl.Encoding)
		}
		if cl.CommKey.Set && (cl.CommKey.Value < 0 || cl.CommKey.Value > 999999) {
			v.add(p+".comm_key", "must be a number from 0 to 999999")
		}
		if cl.PushCommKey.Set && cl.Protocol != "zk-push" {
			v.add(p+".push_comm_key", "only zk-push clocks send a push comm key; use comm_key for protocol %s", cl.Protocol)
		} else if cl.PushCommKey.Set && (cl.PushCommKey.Value < 0 || cl.PushCommKey.Value > 999999) {
			v.add(p+".push_comm_key", "must be a number from 0 to 999999")
		}
		if cl.Realtime && cl.Protocol != "zk" {
			v.add(p+".realtime", "only zk clocks can stay subscribed to realtime events")
		}
	}
}

func (c *Config) defaultSerial(s *SerialPort) {
	if s.Baud == 0 {
		s.Baud = 9600
	}
	if s.DataBits == 0 {
		s.DataBits = 8
	}
	if s.Parity == "" {
		s.Parity = "none"
	}
	if s.StopBits == 0 {
		s.StopBits = 1
	}
	if s.Timeout == 0 {
		s.Timeout = Duration(100 * time.Millisecond)
	}
}

func checkSerial(v *validator, p string, s *SerialPort) {
	switch s.Baud {
	case 1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200:
	default:
		v.add(p+".baud", "%d is not a standard baud rate; clocks use 9600 to 115200", s.Baud)
	}
	if s.DataBits < 5 || s.DataBits > 8 {
		v.add(p+".data_bits", "%d is out of range; use 5 to 8 (clocks use 8)", s.DataBits)
	}
	switch s.Parity {
	case "none", "odd", "even":
	default:
		// The serial library drives none, odd and even; clocks use none.
		v.add(p+".parity", "%q is not supported; use none, odd or even", s.Parity)
	}
	if s.StopBits != 1 && s.StopBits != 2 {
		v.add(p+".stop_bits", "%d is not 1 or 2", s.StopBits)
	}
	if s.Timeout <= 0 {
		v.add(p+".read_timeout", "must be positive, such as 100ms")
	}
}

// Minutes parses "HH:MM" into minutes since midnight.
func Minutes(s string) (int, error) {
	t, err := time.Parse("15:04", s)
	if err != nil || len(s) != 5 {
		return 0, fmt.Errorf("%q is not a time of day; write HH:MM", s)
	}
	return t.Hour()*60 + t.Minute(), nil
}

// Range parses "HH:MM-HH:MM".
func Range(s string) (from, to int, err error) {
	a, b, ok := strings.Cut(s, "-")
	if !ok {
		return 0, 0, fmt.Errorf("%q is not a window; write HH:MM-HH:MM", s)
	}
	if from, err = Minutes(strings.TrimSpace(a)); err != nil {
		return 0, 0, fmt.Errorf("%q is not a window; write HH:MM-HH:MM", s)
	}
	if to, err = Minutes(strings.TrimSpace(b)); err != nil {
		return 0, 0, fmt.Errorf("%q is not a window; write HH:MM-HH:MM", s)
	}
	return from, to, nil
}

// MonthDay parses "MM-DD".
func MonthDay(s string) (time.Month, int, error) {
	t, err := time.Parse("01-02", s)
	if err != nil || len(s) != 5 {
		return 0, 0, fmt.Errorf("%q is not a month and day; write MM-DD", s)
	}
	return t.Month(), t.Day(), nil
}

func (c *Config) validateSchedule(v *validator) {
	s := c.Schedule
	checkBounds := func(p, from, to string) {
		fm, fd, err1 := MonthDay(from)
		if err1 != nil {
			v.add(p+".summer_from", "%v", err1)
		}
		tm, td, err2 := MonthDay(to)
		if err2 != nil {
			v.add(p+".summer_to", "%v", err2)
		}
		if err1 == nil && err2 == nil && (tm < fm || tm == fm && td < fd) {
			v.add(p+".summer_to", "summer ends (%s) before it starts (%s); summer_from must come first in the year", to, from)
		}
	}
	checkBounds("schedule", s.SummerFrom, s.SummerTo)
	years := make([]int, 0, len(s.Years))
	for y := range s.Years {
		years = append(years, y)
	}
	sort.Ints(years)
	for _, y := range years {
		b := s.Years[y]
		p := fmt.Sprintf("schedule.years.%d", y)
		if y < 2000 || y > 2100 {
			v.add(p, "year %d is out of range", y)
		}
		checkBounds(p, b.SummerFrom, b.SummerTo)
	}
	for _, season := range []struct {
		name string
		s    Season
	}{{"summer", s.Summer}, {"winter", s.Winter}} {
		type win struct {
			key      string
			from, to int
		}
		var wins []win
		for _, seg := range []struct {
			name string
			s    Segment
		}{{"am", season.s.AM}, {"pm", season.s.PM}} {
			p := "schedule." + season.name + "." + seg.name
			start, err1 := Minutes(seg.s.Start)
			if err1 != nil {
				v.add(p+".start", "%v", err1)
			}
			end, err2 := Minutes(seg.s.End)
			if err2 != nil {
				v.add(p+".end", "%v", err2)
			}
			if err1 == nil && err2 == nil && end <= start {
				v.add(p+".end", "working hours end (%s) before they start (%s)", seg.s.End, seg.s.Start)
			}
			for _, w := range []struct{ key, val string }{{"sign_in", seg.s.SignIn}, {"sign_out", seg.s.SignOut}} {
				from, to, err := Range(w.val)
				if err != nil {
					v.add(p+"."+w.key, "%v", err)
					continue
				}
				if to < from {
					v.add(p+"."+w.key, "window %s ends before it starts; write the earlier time first", w.val)
					continue
				}
				wins = append(wins, win{p + "." + w.key, from, to})
			}
		}
		for i := 1; i < len(wins); i++ {
			if wins[i].from <= wins[i-1].to {
				v.add(wins[i].key, "overlaps %s; punch windows must not overlap and must follow each other in the day", wins[i-1].key)
			}
		}
	}
}

// knownKeys lists the YAML keys of a config type, for "unknown key" messages.
func knownKeys(typeName string) []string {
	types := map[string]reflect.Type{}
	for _, v := range []any{Config{}, Database{}, HTTP{}, Push{}, Ingest{}, Clock{}, SerialPort{}, Schedule{},
		SeasonBounds{}, Season{}, Segment{}, Calendar{}, DayOverride{}, Rules{}, Unit{}, Window{}, Reports{},
		Workflow{}, Notify{}, SMTP{}, Robot{}} {
		t := reflect.TypeOf(v)
		types[t.Name()] = t
	}
	t, ok := types[typeName]
	if !ok {
		return nil
	}
	var keys []string
	for i := 0; i < t.NumField(); i++ {
		tag := strings.Split(t.Field(i).Tag.Get("yaml"), ",")[0]
		if tag != "" && tag != "-" {
			keys = append(keys, tag)
		}
	}
	return keys
}

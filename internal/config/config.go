// Package config owns kaoqin's one YAML configuration file: its shape, its defaults (the rules of
// rules.md R1–R5 and the embedded defaults of a bare machine), and its validation. Every problem is
// reported as "FILE:LINE: key: what is wrong; how to fix it", all of them at once, and nothing is
// partially applied: Load returns a complete Config or an error.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // a bare machine without /usr/share/zoneinfo still knows Asia/Shanghai

	"gopkg.in/yaml.v3"
)

// SystemFile is the config file used when neither --config nor KAOQIN_CONFIG names one and it
// exists (a variable so that tests can point it into a scratch root).
var SystemFile = "/etc/kaoqin/kaoqin.yaml"

// EnvVar names the config file when --config is not given.
const EnvVar = "KAOQIN_CONFIG"

// Config is the whole configuration.
type Config struct {
	Center   Center   `yaml:"center"`
	Database Database `yaml:"database"`
	// TimeZone is the zone of the clocks' wall-clock times and of every report.
	TimeZone string   `yaml:"timezone"`
	HTTP     HTTP     `yaml:"http"`
	Push     Push     `yaml:"push"`
	Ingest   Ingest   `yaml:"ingest"`
	Clocks   []Clock  `yaml:"clocks"`
	Schedule Schedule `yaml:"schedule"`
	Calendar Calendar `yaml:"calendar"`
	Rules    Rules    `yaml:"rules"`
	Units    []Unit   `yaml:"units"`
	Windows  []Window `yaml:"windows"`
	Reports  Reports  `yaml:"reports"`
	// Workflow and Notify: requests staff file themselves and the notices (issue 17).
	Workflow Workflow `yaml:"workflow"`
	Notify   Notify   `yaml:"notify"`

	// File is the path the config was loaded from, "" for the built-in defaults.
	File string `yaml:"-"`
	loc  *time.Location
}

// Center is the service center itself.
type Center struct {
	// Name heads every report's title, e.g. 某市政务服务中心.
	Name string `yaml:"name"`
}

// Database selects the store.
type Database struct {
	// Driver is "sqlite" (embedded, the default) or "mysql" (MySQL 8+, MariaDB 10.6+).
	Driver string `yaml:"driver"`
	// DSN is a file path for SQLite (relative to the config file's directory), or a
	// go-sql-driver/mysql DSN.
	DSN          string `yaml:"dsn"`
	MaxOpenConns int    `yaml:"max_open_conns"`
	// Addresses are the host:port of the nodes of a MySQL/MariaDB cluster (Galera), in the order
	// tried; they replace the DSN's address. The daemon uses one node that answers and is ready
	// and moves to another when it fails.
	Addresses []string `yaml:"addresses"`
}

// HTTP is the dashboard, API and metrics listener.
type HTTP struct {
	Listen  string `yaml:"listen"`
	TLSCert string `yaml:"tls_cert"`
	TLSKey  string `yaml:"tls_key"`
	// SecureCookies marks the session cookies Secure when a TLS reverse proxy serves kaoqin over
	// HTTPS (with tls_cert they always are).
	SecureCookies bool `yaml:"secure_cookies"`
}

// Push is the listener for ZKTeco PUSH (ADMS) clocks and what the handshake tells them.
type Push struct {
	Listen string `yaml:"listen"`
	// Delay is how often a clock polls for commands (the handshake's Delay=); a clock not heard from
	// for three of these is down.
	Delay Duration `yaml:"delay"`
	// TransInterval is how often a clock uploads what its realtime uploads missed (TransInterval=,
	// whole minutes).
	TransInterval Duration `yaml:"trans_interval"`
	// ErrorDelay is how long a clock waits after a failed request (ErrorDelay=).
	ErrorDelay Duration `yaml:"error_delay"`
}

// Ingest holds defaults that apply to every clock.
type Ingest struct {
	// SkewThreshold is how far a clock may be off before it is logged, exported and its punches
	// flagged.
	SkewThreshold Duration `yaml:"skew_threshold"`
	// Timeout bounds one read of one clock.
	Timeout Duration `yaml:"timeout"`
	// Site is where this daemon runs: it reads only the clocks of its site (clocks[].site), and
	// another daemon of the same site takes them over when it dies. "" is the default site.
	Site string `yaml:"site"`
	// Identity names this daemon in the clock leases (what /metrics and the clocks page show as
	// a clock's owner, with a suffix drawn at each start); host/pid by default.
	Identity string `yaml:"identity"`
	// Lease is how long a daemon holds a clock without renewing it: a dead daemon's clocks are
	// taken over within about this plus one renewal.
	Lease Duration `yaml:"lease"`
}

// Clock is one time clock.
type Clock struct {
	Name string `yaml:"name"`
	// Protocol is "zk" (ZKTeco standalone), "zk-push" (ZKTeco PUSH/ADMS) or "anviz".
	Protocol string `yaml:"protocol"`
	// Transport is "tcp", "udp" (zk only) or "serial" (anviz only).
	Transport string `yaml:"transport"`
	// Address is host:port for tcp and udp.
	Address string      `yaml:"address"`
	Serial  *SerialPort `yaml:"serial"`
	// DeviceID is the clock's id on an Anviz bus.
	DeviceID int `yaml:"device_id"`
	// CommKey is the clock's numeric communication key (0–999999), a secret.
	CommKey Secret `yaml:"comm_key"`
	// SerialNumber identifies a zk-push clock.
	SerialNumber string `yaml:"serial_number"`
	// PushCommKey is the comm key a zk-push clock sends as pushcommkey (0–999999), a secret;
	// unset accepts the clock by its serial number alone.
	PushCommKey Secret `yaml:"push_comm_key"`
	// Read is the read schedule as a cron spec (five fields or a descriptor such as "@every 1m").
	Read string `yaml:"read"`
	// Realtime keeps a zk clock subscribed to realtime events between scheduled reads.
	Realtime bool `yaml:"realtime"`
	// TimeSync is "off" (report skew only) or "auto" (correct at most once a day outside the
	// punch windows).
	TimeSync string `yaml:"time_sync"`
	// Encoding of user names on the clock: "gbk" or "utf-8".
	Encoding string `yaml:"encoding"`
	// RecordEpoch is the Anviz model's record epoch, "YYYY-MM-DD HH:MM:SS" local.
	RecordEpoch string   `yaml:"record_epoch"`
	Timeout     Duration `yaml:"timeout"`
	// Site is where the clock is (see ingest.site); "" is the default site.
	Site string `yaml:"site"`
}

// SerialPort configures a serial line. Clocks on one RS485 bus name the same port.
type SerialPort struct {
	Port     string   `yaml:"port"`
	Baud     int      `yaml:"baud"`
	DataBits int      `yaml:"data_bits"`
	Parity   string   `yaml:"parity"`
	StopBits int      `yaml:"stop_bits"`
	Timeout  Duration `yaml:"read_timeout"`
}

// Schedule is the working hours and punch windows (rules.md R1–R3).
type Schedule struct {
	// SummerFrom and SummerTo are "MM-DD", inclusive.
	SummerFrom string `yaml:"summer_from"`
	SummerTo   string `yaml:"summer_to"`
	// Years overrides the season boundaries for one year.
	Years  map[int]SeasonBounds `yaml:"years"`
	Summer Season               `yaml:"summer"`
	Winter Season               `yaml:"winter"`
}

// SeasonBounds are one year's summer boundaries.
type SeasonBounds struct {
	SummerFrom string `yaml:"summer_from"`
	SummerTo   string `yaml:"summer_to"`
}

// Season is the two segments of a day in one season.
type Season struct {
	AM Segment `yaml:"am"`
	PM Segment `yaml:"pm"`
}

// Segment is one half-day: working hours and the two punch windows, "HH:MM" and "HH:MM-HH:MM".
type Segment struct {
	Start   string `yaml:"start"`
	End     string `yaml:"end"`
	SignIn  string `yaml:"sign_in"`
	SignOut string `yaml:"sign_out"`
}

// Calendar is the working-day calendar (R5).
type Calendar struct {
	// Official uses the bundled State Council holiday calendar.
	Official  bool          `yaml:"official"`
	Overrides []DayOverride `yaml:"overrides"`
}

// DayOverride makes one date a working day or not.
type DayOverride struct {
	Date    string `yaml:"date"`
	Working bool   `yaml:"working"`
	Note    string `yaml:"note"`
}

// Rules are the configurable decisions of rules.md.
type Rules struct {
	// FailureReportDeadline is when a clock failure report is still "in time" (R9): "same_day"
	// (the same working day, the default) or a duration after the missed window, such as "2h".
	FailureReportDeadline string `yaml:"failure_report_deadline"`
	// SingleStaffTemporaryMinutes is the longest temporary absence at a one-person window (R16).
	SingleStaffTemporaryMinutes int `yaml:"single_staff_temporary_minutes"`
}

// Unit is a window unit (窗口单位), the department that stations staff.
type Unit struct {
	Name string `yaml:"name"`
}

// Window is a service window (窗口).
type Window struct {
	Name string `yaml:"name"`
	Unit string `yaml:"unit"`
}

// Reports configures the reports the daemon writes by itself.
type Reports struct {
	// Dir receives last month's report on the 1st of each month.
	Dir string `yaml:"dir"`
	// Group, when set, owns Dir and the reports (group-readable, mode 0640 in a 0750 directory),
	// so that HR's share can read them without reading the database; the daemon's user must be a
	// member. Empty: the daemon's own group.
	Group string `yaml:"group"`
	// Monthly is the cron spec of that job.
	Monthly string `yaml:"monthly"`
}

// Duration is a time.Duration written as "30s", "5m".
type Duration time.Duration

// UnmarshalYAML parses a Go duration string.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	var s string
	if err := n.Decode(&s); err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: %q is not a duration; write it like 30s, 5m or 1h", n.Line, s)}}
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML prints the duration as a string.
func (d Duration) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }

// Std returns d as a time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }

// Secret is a value that never appears in logs or printed configs.
type Secret struct {
	Value int
	Set   bool
}

// UnmarshalYAML reads a number.
func (s *Secret) UnmarshalYAML(n *yaml.Node) error {
	var v int
	if err := n.Decode(&v); err != nil {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: %q is not a number from 0 to 999999", n.Line, n.Value)}}
	}
	s.Value, s.Set = v, true
	return nil
}

// String hides the value.
func (s Secret) String() string {
	if !s.Set {
		return ""
	}
	return "******"
}

// MarshalYAML hides the value.
func (s Secret) MarshalYAML() (any, error) { return s.String(), nil }

// LogValue hides the value from slog.
func (s Secret) LogValue() any { return s.String() }

// Default returns the built-in configuration: SQLite in ./data, Asia/Shanghai, the schedule of
// rules.md and the official calendar.
func Default() *Config {
	c := &Config{
		Database: Database{Driver: "sqlite", DSN: "./data/kaoqin.db"},
		TimeZone: "Asia/Shanghai",
		HTTP:     HTTP{Listen: "127.0.0.1:8080"},
		Push: Push{Listen: "", Delay: Duration(10 * time.Second), TransInterval: Duration(time.Minute),
			ErrorDelay: Duration(30 * time.Second)},
		Ingest: Ingest{SkewThreshold: Duration(60 * time.Second), Timeout: Duration(30 * time.Second), Lease: Duration(15 * time.Second)},
		Schedule: Schedule{
			SummerFrom: "05-01", SummerTo: "09-30",
			Summer: Season{
				AM: Segment{Start: "08:30", End: "12:00", SignIn: "08:00-08:50", SignOut: "11:40-12:10"},
				PM: Segment{Start: "14:30", End: "18:00", SignIn: "14:00-14:50", SignOut: "17:40-18:10"},
			},
			Winter: Season{
				AM: Segment{Start: "08:30", End: "12:00", SignIn: "08:00-08:50", SignOut: "11:40-12:10"},
				PM: Segment{Start: "14:00", End: "17:30", SignIn: "13:30-14:20", SignOut: "17:10-17:40"},
			},
		},
		Calendar: Calendar{Official: true},
		Rules:    Rules{FailureReportDeadline: "same_day", SingleStaffTemporaryMinutes: 30},
		Reports:  Reports{Dir: "./reports", Monthly: "0 6 1 * *"},
	}
	c.loc, _ = time.LoadLocation(c.TimeZone)
	return c
}

// Location returns the configured time zone.
func (c *Config) Location() *time.Location {
	if c.loc == nil {
		c.loc, _ = time.LoadLocation(c.TimeZone)
		if c.loc == nil {
			c.loc = time.UTC
		}
	}
	return c.loc
}

// Clock returns the clock named name.
func (c *Config) Clock(name string) (Clock, bool) {
	for _, cl := range c.Clocks {
		if cl.Name == name {
			return cl, true
		}
	}
	return Clock{}, false
}

// LookupGroup returns the numeric id of a group given by name or number.
func LookupGroup(g string) (int, error) {
	if n, err := strconv.Atoi(g); err == nil && n >= 0 {
		return n, nil
	}
	grp, err := user.LookupGroup(g)
	if err != nil {
		return 0, fmt.Errorf("no group %q on this machine", g)
	}
	return strconv.Atoi(grp.Gid)
}

// Resolve picks the config file: the explicit path (--config), else $KAOQIN_CONFIG, else
// SystemFile if it exists, else "" (the built-in defaults). from says which rule chose it, for the
// line that tells the operator which file is used.
func Resolve(path string) (file, from string) {
	if path != "" {
		return path, "--config"
	}
	if p := os.Getenv(EnvVar); p != "" {
		return p, EnvVar
	}
	if _, err := os.Stat(SystemFile); err == nil {
		return SystemFile, "default location"
	}
	return "", "no --config, " + EnvVar + " or " + SystemFile
}

// Load reads and validates the file at path; "" means the built-in defaults.
func Load(path string) (*Config, error) {
	if path == "" {
		c := Default()
		return c, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, Problems{{File: path, Msg: fmt.Sprintf("cannot read the config file: %v", err)}}
	}
	return Parse(path, data)
}

// Problem is one thing wrong with the config.
type Problem struct {
	File string
	Line int
	Key  string
	Msg  string
}

func (p Problem) String() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		fmt.Fprintf(&b, ":%d", p.Line)
	}
	b.WriteString(": ")
	if p.Key != "" {
		b.WriteString(p.Key)
		b.WriteString(": ")
	}
	b.WriteString(p.Msg)
	return b.String()
}

// Problems is every problem found; it is the error Load returns.
type Problems []Problem

func (ps Problems) Error() string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return strings.Join(s, "\n")
}

// Parse decodes and validates config data named file.
func Parse(file string, data []byte) (*Config, error) {
	c := Default()
	c.File = file
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, Problems{yamlProblem(file, err)}
	}
	if len(root.Content) == 0 {
		// An empty file is the defaults.
		return c, nil
	}
	lines := map[string]int{}
	index(root.Content[0], "", lines)

	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil {
		var te *yaml.TypeError
		if errors.As(err, &te) {
			var ps Problems
			for _, e := range te.Errors {
				ps = append(ps, typeProblem(file, e, lines))
			}
			return nil, ps
		}
		return nil, Problems{yamlProblem(file, err)}
	}
	v := &validator{file: file, lines: lines}
	c.validate(v)
	if len(v.ps) > 0 {
		sort.SliceStable(v.ps, func(i, j int) bool { return v.ps[i].Line < v.ps[j].Line })
		return nil, v.ps
	}
	c.resolvePaths(filepath.Dir(file))
	return c, nil
}

// resolvePaths makes every relative path of the file (the SQLite database, reports.dir, the TLS
// files; given or defaulted) relative to the config file's directory rather than to whatever
// directory the command runs in, so `sudo -u kaoqin kaoqin migrate` from an operator's shell and
// the daemon under systemd open the same database.
func (c *Config) resolvePaths(dir string) {
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	at := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(dir, p)
	}
	if c.Database.Driver == "sqlite" {
		c.Database.DSN = resolveSQLite(c.Database.DSN, at)
	}
	c.Reports.Dir = at(c.Reports.Dir)
	c.HTTP.TLSCert = at(c.HTTP.TLSCert)
	c.HTTP.TLSKey = at(c.HTTP.TLSKey)
	c.Workflow.AttachmentsDir = at(c.Workflow.AttachmentsDir)
	if c.Notify.SMTP != nil {
		c.Notify.SMTP.PasswordFile = at(c.Notify.SMTP.PasswordFile)
	}
}

// resolveSQLite resolves the file of a SQLite DSN: a path, or a "file:" URI with parameters.
func resolveSQLite(dsn string, at func(string) string) string {
	prefix, rest := "", dsn
	if strings.HasPrefix(rest, "file:") {
		prefix, rest = "file:", rest[len("file:"):]
	}
	path, query, hasQuery := strings.Cut(rest, "?")
	if path == "" || path == ":memory:" || strings.HasPrefix(path, "//") {
		return dsn
	}
	out := prefix + at(path)
	if hasQuery {
		out += "?" + query
	}
	return out
}

// index records the line of every key path ("clocks[0].address").
func index(n *yaml.Node, path string, lines map[string]int) {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			p := k.Value
			if path != "" {
				p = path + "." + k.Value
			}
			lines[p] = k.Line
			index(n.Content[i+1], p, lines)
		}
	case yaml.SequenceNode:
		for i, e := range n.Content {
			p := fmt.Sprintf("%s[%d]", path, i)
			lines[p] = e.Line
			index(e, p, lines)
		}
	}
}

var (
	lineRe      = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)
	unknownRe   = regexp.MustCompile(`^field (\S+) not found in type config\.(\w+)$`)
	unmarshalRe = regexp.MustCompile("^cannot unmarshal !!(\\w+) `(.*)` into (\\S+)$")
)

// typeProblem turns a yaml.v3 type error into a message that names the key and the fix.
func typeProblem(file, e string, lines map[string]int) Problem {
	p := Problem{File: file, Msg: e}
	m := lineRe.FindStringSubmatch(e)
	if m == nil {
		return p
	}
	p.Line, _ = strconv.Atoi(m[1])
	p.Msg = m[2]
	if u := unknownRe.FindStringSubmatch(m[2]); u != nil {
		p.Key = keyAtLine(lines, p.Line, u[1])
		p.Msg = fmt.Sprintf("unknown key; valid keys here are %s", strings.Join(knownKeys(u[2]), ", "))
		return p
	}
	if u := unmarshalRe.FindStringSubmatch(m[2]); u != nil {
		p.Key = keyAtLine(lines, p.Line, "")
		p.Msg = fmt.Sprintf("%q is not %s", u[2], typeWord(u[3]))
		return p
	}
	p.Key = keyAtLine(lines, p.Line, "")
	return p
}

func keyAtLine(lines map[string]int, line int, last string) string {
	best := ""
	for k, l := range lines {
		if l != line {
			continue
		}
		if last != "" && !strings.HasSuffix(k, last) {
			continue
		}
		if len(k) > len(best) {
			best = k
		}
	}
	return best
}

func typeWord(goType string) string {
	switch {
	case strings.HasPrefix(goType, "int"), strings.HasPrefix(goType, "uint"):
		return "a whole number"
	case goType == "bool":
		return "true or false"
	case goType == "string":
		return "a string"
	case strings.HasPrefix(goType, "[]"):
		return "a list"
	case strings.HasPrefix(goType, "map"), strings.HasPrefix(goType, "config."):
		return "a mapping of keys"
	}
	return "of type " + goType
}

func yamlProblem(file string, err error) Problem {
	m := lineRe.FindStringSubmatch(err.Error())
	if m == nil {
		return Problem{File: file, Msg: "not valid YAML: " + strings.TrimPrefix(err.Error(), "yaml: ")}
	}
	line, _ := strconv.Atoi(m[1])
	return Problem{File: file, Line: line, Msg: "not valid YAML: " + m[2]}
}

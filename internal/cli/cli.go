// Package cli owns kaoqin's command line: the subcommands, their flags and usage, and their exit
// codes (0 ok, 1 failed, 2 bad usage or bad input). Run takes the arguments and the output
// streams, so every subcommand is testable without a process.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/kaoqin/kaoqin/internal/config"
	"github.com/kaoqin/kaoqin/internal/store"
)

// Version is set at build time with -ldflags "-X github.com/kaoqin/kaoqin/internal/cli.Version=…".
var Version = "dev"

// Exit codes.
const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2
)

type env struct {
	stdout, stderr io.Writer
}

type command struct {
	name    string // one or two words: "migrate", "import staff"
	summary string
	run     func(ctx context.Context, e *env, args []string) int
}

func commands() []command {
	return []command{
		{"check-config", "validate a config file", runCheckConfig},
		{"migrate", "create or upgrade the database schema", runMigrate},
		{"doctor", "check an installation: config, database, accounts, files, listeners, clocks", runDoctor},
		{"backup", "write a checked online copy of the SQLite database", runBackup},
		{"import staff", "import the staff roster from CSV", runImportStaff},
		{"import leave", "import leave slips from CSV (one transaction, audited)", runImportLeave},
		{"import patrol", "import patrol records from CSV (one transaction, audited)", runImportPatrol},
		{"import failures", "import clock-failure reports from CSV (one transaction, audited)", runImportFailures},
		{"import signins", "import manual sign-ins from CSV (one transaction, audited)", runImportSignins},
		{"leave list", "list the leave slips of a period", runLeaveList},
		{"leave cancel", "withdraw a leave slip (kept for the audit, excuses nothing)", runLeaveCancel},
		{"month close", "recompute a month from all inputs and close it", runMonthClose},
		{"month correct", "correct one segment's findings in a closed month", runMonthCorrect},
		{"recompute", "recompute stored results for a date range", runRecompute},
		{"demo", "run the whole product on emulated clocks with a month of data", runDemo},
		{"serve", "run the daemon: read clocks, keep results, serve the dashboard and metrics", runServe},
		{"devices info", "show a clock's identity, counts, capacity, time and skew", runDevicesInfo},
		{"devices time", "show a clock's skew, or set it to the server's time (--set)", runDevicesTime},
		{"devices pull", "read a clock's whole log into CSV without touching the database", runDevicesPull},
		{"devices clear-log", "delete a ZKTeco clock's log (explicit operator command)", runDevicesClear},
		{"devices unknown", "list clock user ids that match no staff member", runDevicesUnknown},
		{"devices enroll", "map a clock user id to a staff member", runDevicesEnroll},
		{"devices command", "queue a command for a zk-push clock (INFO, REBOOT, backfill…) or list its results", runDevicesCommand},
		{"sim zk", "serve an emulated ZKTeco clock", runSimZK},
		{"sim zk-push", "run an emulated ZKTeco PUSH clock against the daemon's push listener", runSimZKPush},
		{"sim anviz", "serve emulated Anviz clocks on a pseudo-terminal or TCP", runSimAnviz},
		{"classify", "classify attendance from CSV files (no database)", runClassifyCmd},
		{"report month", "the monthly discipline report (xlsx, csv, html, json)", runReportMonth},
		{"report day", "the status of every window on one day (text, csv, html, json)", runReportDay},
		{"user add", "add a web user (password on stdin)", runUserAdd},
		{"user passwd", "set a web user's password (password on stdin)", runUserPasswd},
		{"user disable", "disable a web user and end their sessions", runUserDisable},
		{"user roster", "create staff accounts from the roster, with initial passwords", runUserRoster},
		{"requests list", "list the requests staff filed (leave, failure reports, 补卡)", runRequestsList},
		{"requests decide", "approve or reject a request at its next step", runRequestsDecide},
		{"notices list", "list the notices outbox", runNoticesList},
		{"notices send", "send the notices that are due now, once", runNoticesSend},
		{"balance set", "set a staff member's annual leave days for a year", runBalanceSet},
		{"balance list", "list annual leave granted, used and left", runBalanceList},
		{"version", "print the version", runVersion},
	}
}

// Run runs the subcommand named by args and returns the process exit code.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	e := &env{stdout: stdout, stderr: stderr}
	if len(args) == 0 {
		// Bad usage: the list goes with the error, to stderr.
		e.usage(stderr)
		return exitUsage
	}
	if args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		e.usage(stdout)
		return exitOK
	}
	cmds := commands()
	// Two-word commands first: "import staff" before a possible "import".
	if len(args) >= 2 {
		for _, c := range cmds {
			if c.name == args[0]+" "+args[1] {
				return c.run(ctx, e, args[2:])
			}
		}
	}
	for _, c := range cmds {
		if c.name == args[0] {
			return c.run(ctx, e, args[1:])
		}
	}
	var group []string
	for _, c := range cmds {
		if strings.HasPrefix(c.name, args[0]+" ") {
			group = append(group, c.name)
		}
	}
	if len(group) > 0 {
		fmt.Fprintf(stderr, "kaoqin %s: missing or unknown subcommand; use one of: %s\n", args[0], strings.Join(group, ", "))
		return exitUsage
	}
	fmt.Fprintf(stderr, "kaoqin: unknown command %q; run kaoqin -h for the list\n", args[0])
	return exitUsage
}

func (e *env) usage(w io.Writer) {
	fmt.Fprintln(w, "kaoqin: attendance from fingerprint time clocks for a government service center.")
	fmt.Fprintln(w, "\nUsage: kaoqin COMMAND [flags]   (kaoqin COMMAND -h for its flags)")
	fmt.Fprintln(w, "\nCommands:")
	cmds := commands()
	sort.Slice(cmds, func(i, j int) bool { return cmds[i].name < cmds[j].name })
	for _, c := range cmds {
		fmt.Fprintf(w, "  %-18s %s\n", c.name, c.summary)
	}
}

// flags is a subcommand's flag set with the common --config flag.
type flags struct {
	*flag.FlagSet
	config *string
	e      *env
	usage  func(w io.Writer)
	said   bool // configFile has said which file it uses
}

func (e *env) flags(name, usage string) *flags {
	fs := flag.NewFlagSet("kaoqin "+name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	f := &flags{FlagSet: fs, e: e}
	f.config = fs.String("config", "", "config `FILE` (default $"+config.EnvVar+", else "+config.SystemFile+" if present, else the built-in defaults)")
	f.usage = func(w io.Writer) {
		fmt.Fprintf(w, "Usage: kaoqin %s\n\n", usage)
		fs.SetOutput(w)
		fs.PrintDefaults()
		fs.SetOutput(f.e.stderr)
	}
	fs.Usage = func() { f.usage(f.e.stderr) }
	return f
}

// parse parses args; ok false means return code now (0 for -h, 2 for bad usage). The usage is
// printed once: on stdout when asked for with -h, on stderr after a usage error.
func (f *flags) parse(args []string) (code int, ok bool) {
	f.SetOutput(f.e.stderr)
	// The flag package would print the usage itself on both paths; print it here instead, once.
	usage := f.Usage
	f.Usage = func() {}
	err := f.Parse(args)
	f.Usage = usage
	if errors.Is(err, flag.ErrHelp) {
		f.usage(f.e.stdout)
		return exitOK, false
	}
	if err != nil {
		f.usage(f.e.stderr)
		return exitUsage, false
	}
	return 0, true
}

// configFile is the config file this command uses ("" for the built-in defaults). When it was not
// named with --config, it says on stderr which file it took and why, so an operator never wonders
// which database a command touched.
func (f *flags) configFile() string {
	path, from := config.Resolve(*f.config)
	if f.said {
		return path
	}
	f.said = true
	switch {
	case path == "":
		fmt.Fprintf(f.e.stderr, "kaoqin: no config file (%s); using the built-in defaults\n", from)
	case from != "--config":
		fmt.Fprintf(f.e.stderr, "kaoqin: config %s (%s)\n", path, from)
	}
	return path
}

// loadConfig loads the config file (--config, $KAOQIN_CONFIG, /etc/kaoqin/kaoqin.yaml); on
// failure it prints every problem.
func (f *flags) loadConfig() (*config.Config, int, bool) {
	cfg, err := config.Load(f.configFile())
	if err != nil {
		fmt.Fprintln(f.e.stderr, err)
		return nil, exitUsage, false
	}
	return cfg, 0, true
}

// openStore loads the config named by --config and opens its database, refusing an old schema.
// On failure it has printed why.
func (f *flags) openStore(ctx context.Context) (*config.Config, *store.Store, int, bool) {
	cfg, code, ok := f.loadConfig()
	if !ok {
		return nil, nil, code, false
	}
	s, code, ok := f.e.openStore(ctx, cfg, false)
	if !ok {
		return nil, nil, code, false
	}
	return cfg, s, 0, true
}

// openStore opens the configured database, refusing an old schema unless migrating.
func (e *env) openStore(ctx context.Context, cfg *config.Config, migrating bool) (*store.Store, int, bool) {
	if p := rootOnServiceDatabase(cfg); p != "" {
		fmt.Fprintf(e.stderr, "kaoqin: %s\n", p)
		return nil, exitUsage, false
	}
	s, err := store.Open(ctx, cfg.Database.Driver, cfg.Database.DSN, store.Options{
		Location: cfg.Location(), MaxOpenConns: cfg.Database.MaxOpenConns, SkipSchemaCheck: migrating,
		Addresses: cfg.Database.Addresses, Identity: identity(cfg)})
	if err != nil {
		fmt.Fprintf(e.stderr, "kaoqin: database %s %s: %v\n", cfg.Database.Driver, store.DSNForDisplay(cfg.Database.Driver, cfg.Database.DSN), err)
		return nil, exitFail, false
	}
	return s, 0, true
}

// logger writes text lines stamped in the deployment's zone (loc; the process's own zone when nil),
// so that a log line, a punch and a report speak of the same 08:31 whatever TZ systemd gives the
// daemon; the offset is part of every stamp.
func (e *env) logger(loc *time.Location) *slog.Logger {
	return newLogger(e.stderr, loc)
}

func newLogger(w io.Writer, loc *time.Location) *slog.Logger {
	opts := &slog.HandlerOptions{Level: slog.LevelInfo}
	if loc != nil {
		opts.ReplaceAttr = func(groups []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey && len(groups) == 0 && a.Value.Kind() == slog.KindTime {
				a.Value = slog.TimeValue(a.Value.Time().In(loc))
			}
			return a
		}
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func runVersion(ctx context.Context, e *env, args []string) int {
	f := e.flags("version", "version")
	if code, ok := f.parse(args); !ok {
		return code
	}
	b := buildInfo()
	fmt.Fprintf(e.stdout, "kaoqin %s (revision %s, %s %s/%s)\n", b.Version, b.Revision, b.GoVersion, runtime.GOOS, runtime.GOARCH)
	return exitOK
}

func runCheckConfig(ctx context.Context, e *env, args []string) int {
	f := e.flags("check-config", "check-config [--config FILE]")
	if code, ok := f.parse(args); !ok {
		return code
	}
	if f.NArg() > 0 {
		fmt.Fprintf(e.stderr, "kaoqin check-config: unexpected argument %q\n", f.Arg(0))
		return exitUsage
	}
	cfg, code, ok := f.loadConfig()
	if !ok {
		return code
	}
	if _, err := rulesFromConfig(cfg); err != nil {
		fmt.Fprintln(e.stderr, err)
		return exitUsage
	}
	fmt.Fprintln(e.stdout, "ok")
	return exitOK
}

func runMigrate(ctx context.Context, e *env, args []string) int {
	f := e.flags("migrate", "migrate [--config FILE]")
	if code, ok := f.parse(args); !ok {
		return code
	}
	cfg, code, ok := f.loadConfig()
	if !ok {
		return code
	}
	s, code, ok := e.openStore(ctx, cfg, true)
	if !ok {
		return code
	}
	defer s.Close()
	n, err := s.Migrate(ctx)
	if err != nil {
		fmt.Fprintf(e.stderr, "kaoqin migrate: %v\n", err)
		return exitFail
	}
	applied, _, err := s.SchemaVersion(ctx)
	if err != nil {
		fmt.Fprintf(e.stderr, "kaoqin migrate: %v\n", err)
		return exitFail
	}
	fmt.Fprintf(e.stdout, "applied %d migrations; schema at version %d\n", n, applied)
	return exitOK
}

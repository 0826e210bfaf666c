package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/kaoqin/kaoqin/internal/config"
	"github.com/kaoqin/kaoqin/internal/store"
)

// `kaoqin doctor` checks what a new installation gets wrong, one line per check, as the user it
// runs as (run it as the service's user: `sudo -u kaoqin kaoqin doctor`): the config, the time
// zone, the database (reachable, migrated, undamaged), the accounts, the files' owners and modes,
// the listen addresses and every clock. It changes nothing. Exit 1 when a check failed.

type doctor struct {
	e      *env
	failed int
	warned int
}

func (d *doctor) ok(what, format string, args ...any) { d.line("ok  ", what, format, args...) }
func (d *doctor) warn(what, format string, args ...any) {
	d.warned++
	d.line("warn", what, format, args...)
}
func (d *doctor) fail(what, format string, args ...any) {
	d.failed++
	d.line("FAIL", what, format, args...)
}
func (d *doctor) line(mark, what, format string, args ...any) {
	fmt.Fprintf(d.e.stdout, "%s  %-10s %s\n", mark, what, fmt.Sprintf(format, args...))
}

func runDoctor(ctx context.Context, e *env, args []string) int {
	f := e.flags("doctor", "doctor [--config FILE] [--no-clocks]\n\n"+
		"Checks an installation as the user it runs as (run it as the service's user): config, time zone,\n"+
		"database reachable, migrated and undamaged, accounts, file modes, listen addresses and clocks.\n"+
		"Changes nothing. Serial clocks are only opened, never spoken to (the daemon may be using the line).")
	noClocks := f.Bool("no-clocks", false, "do not try to reach the clocks")
	if code, ok := f.parse(args); !ok {
		return code
	}
	if f.NArg() > 0 {
		fmt.Fprintf(e.stderr, "kaoqin doctor: unexpected argument %q\n", f.Arg(0))
		return exitUsage
	}
	d := &doctor{e: e}
	path, from := config.Resolve(*f.config)
	cfg, err := config.Load(path)
	if err != nil {
		d.fail("config", "%s", strings.ReplaceAll(err.Error(), "\n", "\n                 "))
		return exitFail
	}
	if path == "" {
		d.warn("config", "no config file (%s); the built-in defaults are used", from)
	} else {
		d.ok("config", "%s (%s) is valid", path, from)
		d.checkConfigFile(path, cfg)
	}
	if _, err := rulesFromConfig(cfg); err != nil {
		d.fail("rules", "%v", err)
	}
	d.checkZone(cfg)
	d.checkDatabase(ctx, cfg)
	d.checkReports(cfg)
	d.checkTLS(cfg)
	d.checkListen("http", cfg.HTTP.Listen, false)
	if cfg.Push.Listen != "" {
		d.checkListen("push", cfg.Push.Listen, true)
	}
	if !*noClocks {
		d.checkClocks(ctx, cfg)
	}
	fmt.Fprintf(e.stdout, "\n%d failed, %d warnings\n", d.failed, d.warned)
	if d.failed > 0 {
		return exitFail
	}
	return exitOK
}

// checkConfigFile: the config may hold a MySQL password and comm keys; others must not read it.
func (d *doctor) checkConfigFile(path string, cfg *config.Config) {
	fi, err := os.Stat(path)
	if err != nil {
		return
	}
	if fi.Mode().Perm()&0o007 != 0 {
		d.warn("config", "%s is mode %o: anyone on the machine can read it (DSN password, comm keys); chmod 640 and chgrp it to the service's group", path, fi.Mode().Perm())
	}
}

func (d *doctor) checkZone(cfg *config.Config) {
	loc := cfg.Location()
	_, off := time.Now().In(loc).Zone()
	src := "built into the binary"
	if _, err := os.Stat(filepath.Join("/usr/share/zoneinfo", cfg.TimeZone)); err == nil {
		src = "/usr/share/zoneinfo (system), built in as a fallback"
	}
	d.ok("timezone", "%s, now UTC%s; zone data %s; logs and reports use it", cfg.TimeZone, offset(off), src)
}

func offset(sec int) string {
	sign := "+"
	if sec < 0 {
		sign, sec = "-", -sec
	}
	return fmt.Sprintf("%s%02d:%02d", sign, sec/3600, sec%3600/60)
}

func (d *doctor) checkDatabase(ctx context.Context, cfg *config.Config) {
	dsn := store.DSNForDisplay(cfg.Database.Driver, cfg.Database.DSN)
	if p := rootOnServiceDatabase(cfg); p != "" {
		d.fail("database", "%s", p)
		return
	}
	if cfg.Database.Driver == "sqlite" {
		if !d.checkSQLiteFile(cfg.Database.DSN) {
			return
		}
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	s, err := store.Open(cctx, cfg.Database.Driver, cfg.Database.DSN, store.Options{Location: cfg.Location(),
		SkipSchemaCheck: true, QuickCheckTimeout: -1, Addresses: cfg.Database.Addresses})
	if err != nil {
		d.fail("database", "%s %s: %v", cfg.Database.Driver, dsn, err)
		return
	}
	defer s.Close()
	applied, latest, err := s.SchemaVersion(ctx)
	switch {
	case err != nil:
		d.fail("database", "%s: %v", dsn, err)
		return
	case applied == 0:
		d.fail("database", "%s %s is reachable but empty; run `kaoqin migrate` as the service's user", cfg.Database.Driver, dsn)
		return
	case applied < latest:
		d.fail("database", "%s at schema %d, this kaoqin needs %d; run `kaoqin migrate`", dsn, applied, latest)
	case applied > latest:
		d.fail("database", "%s at schema %d, newer than this kaoqin (%d); install the newer binary", dsn, applied, latest)
	default:
		d.ok("database", "%s %s reachable, schema at version %d", cfg.Database.Driver, dsn, applied)
	}
	if cfg.Database.Driver == "sqlite" {
		start := time.Now()
		if err := s.QuickCheck(ctx); err != nil {
			d.fail("database", "%v; restore the last backup (docs/operations.md, Backups)", err)
		} else {
			d.ok("database", "PRAGMA quick_check: ok (%s)", time.Since(start).Round(time.Millisecond))
		}
	}
	if applied < 1 {
		return
	}
	users, err := s.ListUsers(ctx)
	if err != nil {
		d.fail("accounts", "%v", err)
		return
	}
	active, admins := 0, 0
	for _, u := range users {
		if !u.Disabled {
			active++
			if u.Role == "admin" {
				admins++
			}
		}
	}
	switch {
	case active == 0:
		d.fail("accounts", "no web account: nobody can log in; create one with `kaoqin user add --role admin NAME` (password on standard input)")
	case admins == 0:
		d.warn("accounts", "%d active accounts, no administrator; add one with `kaoqin user add --role admin NAME`", active)
	default:
		d.ok("accounts", "%d active accounts, %d administrators", active, admins)
	}
}

// checkSQLiteFile: the directory must be writable by this user (SQLite writes its -wal and -shm
// files beside the database), and the file 0600 and this user's (it holds password hashes and
// session tokens). It returns false when opening would only fail the same way.
func (d *doctor) checkSQLiteFile(dsn string) bool {
	path := strings.TrimPrefix(dsn, "file:")
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	if path == "" || path == ":memory:" {
		return true
	}
	dir := filepath.Dir(path)
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		d.fail("database", "%s does not exist yet; run `kaoqin migrate` as the service's user", path)
		return false
	}
	if err := writable(dir); err != nil {
		d.fail("files", "cannot write in %s (%v): SQLite needs to write its -wal and -shm files there; run as the service's user, or chown the directory to it", dir, err)
		return false
	}
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		d.fail("database", "%s does not exist yet; run `kaoqin migrate` as the service's user", path)
		return false
	}
	if err != nil {
		d.fail("files", "%v", err)
		return false
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Geteuid() {
		d.warn("files", "%s belongs to uid %d, not to this user (uid %d): run doctor as the service's user", path, st.Uid, os.Geteuid())
	}
	if m := fi.Mode().Perm(); m&0o077 != 0 {
		d.warn("files", "%s is mode %o; it holds password hashes and session tokens: chmod 600 %s", path, m, path)
	} else {
		d.ok("files", "%s mode %o", path, m)
	}
	return true
}

// writable tells whether this process may create files in dir.
func writable(dir string) error {
	f, err := os.CreateTemp(dir, ".kaoqin-doctor-*")
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			return pe.Err
		}
		return err
	}
	f.Close()
	return os.Remove(f.Name())
}

func (d *doctor) checkReports(cfg *config.Config) {
	dir := cfg.Reports.Dir
	if dir == "" || cfg.Reports.Monthly == "" {
		d.ok("reports", "the daemon writes no monthly report (reports.dir or reports.monthly empty)")
		return
	}
	// The daemon creates the directory; its parent must then be writable.
	probe := dir
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		probe = filepath.Dir(dir)
	}
	if err := writable(probe); err != nil {
		d.fail("reports", "cannot write in %s (%v): the monthly report would not be written; chown it to the service's user", probe, err)
		return
	}
	group := "the daemon's own group"
	if cfg.Reports.Group != "" {
		gid, _ := config.LookupGroup(cfg.Reports.Group)
		group = fmt.Sprintf("group %s (%d)", cfg.Reports.Group, gid)
		if !memberOf(gid) {
			d.fail("reports", "this user is not a member of reports.group %s: usermod -aG %s kaoqin (then restart the daemon)", cfg.Reports.Group, cfg.Reports.Group)
			return
		}
	}
	d.ok("reports", "%s writable; reports are written 0640 for %s", dir, group)
}

func memberOf(gid int) bool {
	if os.Getegid() == gid || os.Geteuid() == 0 {
		return true
	}
	gs, _ := os.Getgroups()
	for _, g := range gs {
		if g == gid {
			return true
		}
	}
	return false
}

func (d *doctor) checkTLS(cfg *config.Config) {
	for _, p := range []string{cfg.HTTP.TLSCert, cfg.HTTP.TLSKey} {
		if p == "" {
			continue
		}
		f, err := os.Open(p)
		if err != nil {
			d.fail("tls", "%v", err)
			continue
		}
		f.Close()
		d.ok("tls", "%s readable", p)
	}
}

// checkListen binds the address for a moment: free, taken (by a running daemon, or by something
// else), or not bindable. A push listener on loopback reaches no clock.
func (d *doctor) checkListen(what, addr string, push bool) {
	host, _, _ := net.SplitHostPort(addr)
	ip := net.ParseIP(host)
	loop := host == "localhost" || ip != nil && ip.IsLoopback()
	ln, err := net.Listen("tcp", addr)
	switch {
	case err == nil:
		ln.Close()
		d.ok(what, "%s can be listened on", addr)
	case errors.Is(err, syscall.EADDRINUSE):
		d.warn(what, "%s is in use: the daemon is running, or another program holds the port", addr)
	default:
		d.fail(what, "cannot listen on %s: %v", addr, err)
	}
	switch {
	case push && loop:
		d.warn(what, "%s is a loopback address: clocks on the network cannot reach it; use 0.0.0.0:PORT or the server's address", addr)
	case !push && loop:
		d.ok(what, "%s is loopback only: users and Prometheus reach it through the reverse proxy (docs/operations.md)", addr)
	}
}

func (d *doctor) checkClocks(ctx context.Context, cfg *config.Config) {
	if len(cfg.Clocks) == 0 {
		d.warn("clocks", "no clock configured")
		return
	}
	for _, c := range cfg.Clocks {
		what := "clock"
		switch {
		case c.Protocol == "zk-push":
			d.ok(what, "%s: zk-push, calls in to %s (see `kaoqin devices unknown` and the clocks page)", c.Name, cfg.Push.Listen)
		case c.Transport == "serial":
			f, err := os.OpenFile(c.Serial.Port, os.O_RDWR|syscall.O_NOCTTY|syscall.O_NONBLOCK, 0)
			if err != nil {
				d.fail(what, "%s: cannot open %s: %v (the service's user needs the dialout group; the unit's DeviceAllow covers ttyS, ttyUSB and ttyACM)", c.Name, c.Serial.Port, err)
				continue
			}
			f.Close()
			d.ok(what, "%s: %s opens (not spoken to)", c.Name, c.Serial.Port)
		default:
			timeout := min(c.Timeout.Std(), 5*time.Second)
			cctx, cancel := context.WithTimeout(ctx, timeout)
			start := time.Now()
			dev, err := openDevice(cctx, c)
			var t time.Time
			if err == nil {
				t, err = dev.time(cctx)
				dev.close()
			}
			cancel()
			if err != nil {
				d.fail(what, "%s: %s %s %s: %v", c.Name, c.Protocol, c.Transport, c.Address, err)
				continue
			}
			skew := t.Sub(store.Wall(time.Now(), cfg.Location())).Round(time.Second)
			d.ok(what, "%s: %s %s %s answers in %s, skew %s", c.Name, c.Protocol, c.Transport, c.Address, time.Since(start).Round(time.Millisecond), skew)
		}
	}
}

// `kaoqin backup --out FILE`: an online, consistent copy of a SQLite database (VACUUM INTO), checked
// after it is written.
func runBackup(ctx context.Context, e *env, args []string) int {
	f := e.flags("backup", "backup [--config FILE] --out FILE\n\n"+
		"Writes a consistent copy of the SQLite database to FILE while the daemon runs (VACUUM INTO),\n"+
		"mode 0600, then opens the copy and checks it (PRAGMA quick_check, schema version). FILE must not\n"+
		"exist. MySQL/MariaDB: use mariadb-dump --single-transaction (docs/operations.md).")
	out := f.String("out", "", "the backup `FILE` to write")
	if code, ok := f.parse(args); !ok {
		return code
	}
	if *out == "" || f.NArg() > 0 {
		fmt.Fprintln(e.stderr, "kaoqin backup: give --out FILE and nothing else")
		f.usage(e.stderr)
		return exitUsage
	}
	cfg, code, ok := f.loadConfig()
	if !ok {
		return code
	}
	// Any schema version is backed up: the copy before an upgrade is of the old one.
	s, code, ok := e.openStore(ctx, cfg, true)
	if !ok {
		return code
	}
	defer s.Close()
	if cfg.Database.Driver != "sqlite" {
		fmt.Fprintf(e.stderr, "kaoqin backup: the database is %s; back it up with mariadb-dump --single-transaction (docs/operations.md, Backups)\n", cfg.Database.Driver)
		return exitUsage
	}
	start := time.Now()
	if err := s.Backup(ctx, *out); err != nil {
		fmt.Fprintf(e.stderr, "kaoqin backup: %v\n", err)
		return exitFail
	}
	b, err := store.Open(ctx, "sqlite", *out, store.Options{Location: cfg.Location(), QuickCheckTimeout: -1, SkipSchemaCheck: true})
	if err == nil {
		err = b.QuickCheck(ctx)
		b.Close()
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "kaoqin backup: the copy %s does not check: %v\n", *out, err)
		return exitFail
	}
	fi, _ := os.Stat(*out)
	var size int64
	if fi != nil {
		size = fi.Size()
	}
	applied, _, _ := s.SchemaVersion(ctx)
	fmt.Fprintf(e.stdout, "backup %s written and checked: %d bytes, schema version %d, %s\n", *out, size, applied, time.Since(start).Round(time.Millisecond))
	return exitOK
}

package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/kaoqin/kaoqin/attendance"
	"github.com/kaoqin/kaoqin/devices/anviz/anvizemu"
	"github.com/kaoqin/kaoqin/devices/zk/zkemu"
	"github.com/kaoqin/kaoqin/internal/config"
	"github.com/kaoqin/kaoqin/internal/demo"
	"github.com/kaoqin/kaoqin/internal/results"
	"github.com/kaoqin/kaoqin/internal/store"
	"github.com/kaoqin/kaoqin/internal/web"
	"github.com/kaoqin/kaoqin/reports"
)

// demoRun is one `kaoqin demo`: the emulated clocks, the scenario, and the real daemon.
type demoRun struct {
	e        *env
	dataDir  string
	outDir   string
	listen   string
	dayPause time.Duration
	log      *slog.Logger
	sc       *demo.Scenario
	loc      *time.Location

	zk    map[string]*zkemu.Clock
	anviz *anvizemu.Emulator
	push  *demoPush
	addrs map[string]string // clock name → address or pty path

	cfgPath string
	// ready receives the dashboard's URL once the report is written (tests).
	ready func(url string)
}

func runDemo(ctx context.Context, e *env, args []string) int {
	f := e.flags("demo", "demo [--listen 127.0.0.1:8080] [--fresh] [--data ./demo-data] [--out ./demo-out]\n\n"+
		"Starts emulated clocks (three ZKTeco, one ZKTeco PUSH, two Anviz on an RS485 bus over a pseudo-terminal),\n"+
		"plays a month of a service center's attendance into them, runs the real daemon against them, writes the\n"+
		"monthly report to the output folder and serves the dashboard. Ctrl-C stops it.")
	listen := f.String("listen", "127.0.0.1:8080", "`address` of the dashboard and /metrics")
	fresh := f.Bool("fresh", false, "delete the demo's data and start over")
	dataDir := f.String("data", "./demo-data", "`folder` of the demo's database and config")
	outDir := f.String("out", "./demo-out", "`folder` the monthly report is written to")
	if code, ok := f.parse(args); !ok {
		return code
	}
	if *fresh {
		if err := os.RemoveAll(*dataDir); err != nil {
			fmt.Fprintf(e.stderr, "kaoqin demo: %v\n", err)
			return exitFail
		}
	}
	d := &demoRun{e: e, dataDir: *dataDir, outDir: *outDir, listen: *listen, dayPause: 250 * time.Millisecond}
	if err := d.run(ctx); err != nil {
		if errors.Is(err, context.Canceled) {
			return exitOK
		}
		fmt.Fprintf(e.stderr, "kaoqin demo: %v\n", err)
		return exitFail
	}
	return exitOK
}

func (d *demoRun) run(ctx context.Context) error {
	began := time.Now()
	if err := os.MkdirAll(d.dataDir, 0o750); err != nil {
		return err
	}
	logFile, err := os.OpenFile(filepath.Join(d.dataDir, "kaoqin.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return err
	}
	defer logFile.Close()
	// The daemon's log goes to a file: the terminal shows the demo's own progress.
	d.loc, _ = time.LoadLocation("Asia/Shanghai")
	d.log = newLogger(logFile, d.loc) // stamped in the center's zone, as the daemon's
	d.sc = demo.Generate(1)
	fmt.Fprintf(d.e.stdout, "kaoqin demo: %d staff in 12 windows of 6 units, %d clocks, month %s\n", len(d.sc.Staff), len(demo.Clocks), demo.Month)

	if err := d.startClocks(); err != nil {
		return err
	}
	defer d.stopClocks()
	if d.listen, err = resolveListen(d.listen); err != nil {
		return err
	}
	cfg, rules, err := d.writeConfig()
	if err != nil {
		return err
	}
	st, err := d.prepareStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	entered, err := d.alreadyEntered(ctx, st)
	if err != nil {
		return err
	}

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	daemonErr := make(chan error, 1)
	dm := &daemon{e: d.e, log: d.log, cfgPath: d.cfgPath}
	go func() { daemonErr <- dm.run(runCtx, cfg, rules) }()
	url := "http://" + d.listen
	if err := waitHTTP(ctx, url+"/healthz", daemonErr); err != nil {
		return err
	}
	d.push.start()
	fmt.Fprintf(d.e.stdout, "daemon running: reading %d clocks every second, 1 clock pushing (log: %s)\n", len(demo.Clocks)-1, filepath.Join(d.dataDir, "kaoqin.log"))

	if err := d.play(ctx, st, entered); err != nil {
		return err
	}
	if err := d.waitStored(ctx, st, daemonErr); err != nil {
		return err
	}
	files, landing, err := d.report(ctx, st, &rules)
	if err != nil {
		return err
	}
	fmt.Fprintf(d.e.stdout, "monthly report for %s:\n", demo.Month)
	for _, f := range files {
		fmt.Fprintf(d.e.stdout, "  %s\n", f)
	}
	login, err := d.demoLogin(ctx, st)
	if err != nil {
		return err
	}
	// The dashboard opens on the played month, not on the real today (when nobody punched).
	fmt.Fprintf(d.e.stdout, "\nready in %.1f s\n  dashboard  %s/today?date=%s  (%s)\n  month      %s/month?month=%s\n  metrics    %s/metrics\nCtrl-C stops the demo.\n",
		time.Since(began).Seconds(), url, landing, login, url, demo.Month, url)
	if d.ready != nil {
		d.ready(url)
	}
	select {
	case <-ctx.Done():
	case err := <-daemonErr:
		return fmt.Errorf("daemon stopped: %w", err)
	}
	cancel()
	if err := <-daemonErr; err != nil {
		return err
	}
	fmt.Fprintln(d.e.stdout, "demo stopped")
	return nil
}

// resolveListen turns a port 0 into a free port, so the URL can be printed before the daemon
// starts.
func resolveListen(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("--listen %q: %v", addr, err)
	}
	if port != "0" {
		return addr, nil
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func waitHTTP(ctx context.Context, url string, failed <-chan error) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case err := <-failed:
			return fmt.Errorf("daemon did not start: %w", err)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("daemon did not answer on %s", url)
		}
	}
}

func (d *demoRun) startClocks() error {
	d.zk = map[string]*zkemu.Clock{}
	d.addrs = map[string]string{}
	var ids []anvizemu.Clock
	for i, c := range demo.Clocks {
		switch c.Protocol {
		case "zk":
			clock, err := zkemu.New(zkemu.Config{SerialNumber: fmt.Sprintf("DEMO%04d", i+1), CommKey: c.CommKey, Location: d.loc,
				DeviceName: c.Name})
			if err != nil {
				return err
			}
			d.zk[c.Name] = clock
			var a net.Addr
			if c.Transport == "udp" {
				a, err = clock.ListenUDP("127.0.0.1:0")
			} else {
				a, err = clock.ListenTCP("127.0.0.1:0")
			}
			if err != nil {
				return err
			}
			d.addrs[c.Name] = a.String()
		case "anviz":
			ids = append(ids, anvizemu.Clock{DeviceID: uint32(c.DeviceID), SerialNumber: fmt.Sprintf("DEMO-A%d", c.DeviceID)})
		}
	}
	// Two Anviz clocks share one RS485 bus: a pseudo-terminal paced at 38,400 baud.
	var err error
	if d.anviz, err = anvizemu.New(anvizemu.Config{Baud: 38400, Now: nowIn(d.loc)}, ids...); err != nil {
		return err
	}
	path, err := d.anviz.ServePTY()
	if err != nil {
		return fmt.Errorf("anviz bus on a pseudo-terminal: %w", err)
	}
	for _, c := range demo.Clocks {
		if c.Protocol == "anviz" {
			d.addrs[c.Name] = path
		}
	}
	if d.push, err = newDemoPush(d); err != nil {
		return err
	}
	fmt.Fprintf(d.e.stdout, "clocks: ZKTeco tcp %s, udp %s, tcp+comm key %s; Anviz RS485 bus on %s; PUSH %s\n",
		d.addrs[demo.Clocks[0].Name], d.addrs[demo.Clocks[1].Name], d.addrs[demo.Clocks[2].Name], path, d.push.describe())
	return nil
}

func (d *demoRun) stopClocks() {
	if d.push != nil {
		d.push.stop()
	}
	for _, c := range d.zk {
		c.Close()
	}
	if d.anviz != nil {
		d.anviz.Close()
	}
}

// writeConfig writes the demo's config file (so `kaoqin serve --config demo-data/kaoqin.yaml` and
// every other command work on the demo's data too) and loads it.
func (d *demoRun) writeConfig() (*config.Config, attendance.Rules, error) {
	var b strings.Builder
	abs, _ := filepath.Abs(d.dataDir)
	out, _ := filepath.Abs(d.outDir)
	fmt.Fprintf(&b, "# Written by kaoqin demo; the clocks are emulated and change address at every run.\n")
	fmt.Fprintf(&b, "center: {name: %s}\n", demoCenter)
	fmt.Fprintf(&b, "database: {driver: sqlite, dsn: '%s'}\n", filepath.Join(abs, "kaoqin.db"))
	fmt.Fprintf(&b, "http: {listen: '%s'}\n", d.listen)
	fmt.Fprintf(&b, "%s", d.push.configLine())
	fmt.Fprintf(&b, "reports: {dir: '%s'}\n", out)
	fmt.Fprintf(&b, "clocks:\n")
	for _, c := range demo.Clocks {
		switch c.Protocol {
		case "zk":
			fmt.Fprintf(&b, "  - {name: %s, protocol: zk, transport: %s, address: '%s', read: '@every 1s', timeout: 20s", c.Name, c.Transport, d.addrs[c.Name])
			if c.CommKey != 0 {
				fmt.Fprintf(&b, ", comm_key: %d", c.CommKey)
			}
			b.WriteString("}\n")
		case "anviz":
			fmt.Fprintf(&b, "  - {name: %s, protocol: anviz, transport: serial, serial: {port: '%s', baud: 38400}, device_id: %d, read: '@every 1s', timeout: 20s}\n",
				c.Name, d.addrs[c.Name], c.DeviceID)
		case "zk-push":
			b.WriteString(d.push.clockConfig(c))
		}
	}
	d.cfgPath = filepath.Join(d.dataDir, "kaoqin.yaml")
	if err := os.WriteFile(d.cfgPath, []byte(b.String()), 0o600); err != nil {
		return nil, attendance.Rules{}, err
	}
	cfg, err := config.Load(d.cfgPath)
	if err != nil {
		return nil, attendance.Rules{}, err
	}
	rules, err := rulesFromConfig(cfg)
	return cfg, rules, err
}

func (d *demoRun) prepareStore(ctx context.Context, cfg *config.Config) (*store.Store, error) {
	st, err := store.Open(ctx, "sqlite", cfg.Database.DSN, store.Options{Location: cfg.Location(), SkipSchemaCheck: true})
	if err != nil {
		return nil, err
	}
	if _, err := st.Migrate(ctx); err != nil {
		st.Close()
		return nil, err
	}
	roster := make([]store.RosterEntry, len(d.sc.Staff))
	for i, s := range d.sc.Staff {
		roster[i] = store.RosterEntry{Staff: store.Staff{StaffID: s.ID, Name: s.Name, Window: s.Window, Unit: s.Unit, Active: true},
			Enrollments: []store.Enrollment{{Clock: s.Clock, UserID: s.UserID}}}
	}
	if _, err := st.ImportStaff(ctx, roster, "demo"); err != nil {
		st.Close()
		return nil, err
	}
	return st, nil
}

// alreadyEntered tells whether an earlier run entered the month's slips, patrols and reports; a
// second run reuses them (the clocks are played again, and the store absorbs what it has).
func (d *demoRun) alreadyEntered(ctx context.Context, st *store.Store) (bool, error) {
	from := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	slips, err := st.LeaveSlips(ctx, "", from, from.AddDate(0, 1, 0))
	if err != nil {
		return false, err
	}
	return len(slips) > 0, nil
}

// play puts the month into the clocks day by day, in accelerated time, with each day's slips,
// patrol records and failure reports entered as the supervision section would.
func (d *demoRun) play(ctx context.Context, st *store.Store, entered bool) error {
	fmt.Fprintf(d.e.stdout, "playing %s into the clocks: ", demo.Month)
	for _, day := range d.sc.Days {
		for _, p := range day.Punches {
			if err := d.punch(p); err != nil {
				return err
			}
		}
		d.push.flush()
		if !entered {
			if err := d.enter(ctx, st, day); err != nil {
				return err
			}
		}
		if len(day.Punches) > 0 {
			fmt.Fprintf(d.e.stdout, "%d ", day.Date.Day())
			if !entered {
				select {
				case <-time.After(d.dayPause):
				case <-ctx.Done():
					return ctx.Err()
				}
			}
		}
	}
	fmt.Fprintln(d.e.stdout)
	return nil
}

func (d *demoRun) punch(p demo.Punch) error {
	if c, ok := d.zk[p.Clock]; ok {
		return c.AddPunch(p.UserID, p.Time, 1, 0)
	}
	for _, c := range demo.Clocks {
		if c.Name != p.Clock {
			continue
		}
		switch c.Protocol {
		case "anviz":
			return d.anviz.AddRecord(uint32(c.DeviceID), p.UserID, p.Time)
		case "zk-push":
			return d.push.punch(p)
		}
	}
	return fmt.Errorf("no clock %q", p.Clock)
}

func (d *demoRun) enter(ctx context.Context, st *store.Store, day demo.Day) error {
	if len(day.Slips) > 0 {
		var slips []store.LeaveSlip
		for _, s := range day.Slips {
			slips = append(slips, store.LeaveSlip{StaffID: s.StaffID, Type: s.Type, Start: s.Start, End: s.End, FiledAt: s.FiledAt,
				Approvals: s.Approvals, RecordedBy: "督查科"})
		}
		if _, err := st.AddLeaveSlips(ctx, slips, "demo"); err != nil {
			return err
		}
	}
	if len(day.Patrols) > 0 {
		var ps []store.PatrolRecord
		for _, p := range day.Patrols {
			ps = append(ps, store.PatrolRecord{StaffID: p.StaffID, From: p.From, To: p.To, Present: p.Present, RecordedBy: "督查科"})
		}
		if _, err := st.AddPatrols(ctx, ps, "demo"); err != nil {
			return err
		}
	}
	if len(day.Failures) > 0 {
		var fs []store.FailureReport
		for _, f := range day.Failures {
			fs = append(fs, store.FailureReport{StaffID: store.Everyone, Clock: f.Clock, From: f.From, To: f.To,
				ReportedAt: f.ReportedAt, Note: "指纹识别失败", RecordedBy: "督查科"})
		}
		if _, err := st.AddFailureReports(ctx, fs, "demo"); err != nil {
			return err
		}
	}
	return nil
}

// waitStored waits until the daemon has read every punch from the clocks.
func (d *demoRun) waitStored(ctx context.Context, st *store.Store, failed <-chan error) error {
	want := int64(len(d.sc.Punches()))
	deadline := time.Now().Add(60 * time.Second)
	for {
		n, err := st.CountPunches(ctx, "")
		if err != nil {
			return err
		}
		if n >= want {
			fmt.Fprintf(d.e.stdout, "all %d punches stored\n", n)
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("only %d of %d punches stored after a minute; see %s", n, want, filepath.Join(d.dataDir, "kaoqin.log"))
		}
		select {
		case err := <-failed:
			return fmt.Errorf("daemon stopped: %w", err)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// report recomputes the month (the daemon's worker does this as inputs arrive; doing it here
// makes the report wait for the last of them), writes it in every format, and picks the day the
// dashboard opens on: the working day with late, early and absent findings, most findings first.
func (d *demoRun) report(ctx context.Context, st *store.Store, rules *attendance.Rules) ([]string, string, error) {
	w := results.New(results.Options{Store: st, Rules: rules, Logger: d.log})
	from, _ := attendance.ParseDate(demo.Month + "-01")
	to := attendance.DateOf(from.Time().AddDate(0, 1, -1))
	for _, s := range d.sc.Staff {
		if _, _, err := w.RecomputeRange(ctx, s.ID, from, to); err != nil {
			return nil, "", err
		}
	}
	month, err := reports.ParseMonth(demo.Month)
	if err != nil {
		return nil, "", err
	}
	in, err := monthFromStore(ctx, st, rules, month)
	if err != nil {
		return nil, "", err
	}
	in.Center = demoCenter
	rep := reports.BuildMonth(in)
	if err := os.MkdirAll(d.outDir, 0o750); err != nil {
		return nil, "", err
	}
	var files []string
	for _, f := range []struct {
		name  string
		write func(io.Writer) error
	}{{"考勤月报-" + demo.Month + ".xlsx", rep.WriteXLSX}, {"考勤月报-" + demo.Month + ".csv", rep.WriteCSV},
		{"考勤月报-" + demo.Month + ".html", rep.WriteHTML}, {"考勤表-" + demo.Month + ".csv", rep.WriteSheetCSV},
		{"考勤月报-" + demo.Month + "-各单位.zip", func(w io.Writer) error { return reports.WriteUnitsZIP(w, in) }}} {
		path := filepath.Join(d.outDir, f.name)
		if err := writeAtomically(path, f.write); err != nil {
			return nil, "", err
		}
		files = append(files, path)
	}
	return files, landingDay(rep), nil
}

// demoCenter heads the demo's reports (center.name of the config it writes).
const demoCenter = "演示市政务服务中心"

// landingDay is the working day of rep with late, early and absent findings all, the most
// findings first; without such a day, the working day with the most findings.
func landingDay(rep *reports.MonthReport) string {
	best, bestN, bestAll := "", -1, false
	for i, day := range rep.Days {
		t := &rep.DayTotals[i]
		if !day.Working {
			continue
		}
		all := t.Late > 0 && t.Early > 0 && t.AbsentSegments > 0
		n := t.Late + t.Early + t.AbsentSegments + t.MissingPunches
		if all && !bestAll || all == bestAll && n > bestN {
			best, bestN, bestAll = day.Date.String(), n, all
		}
	}
	if best == "" {
		return rep.Month.First().String()
	}
	return best
}

// The demo's accounts. They exist only in the demo's own database.
var demoUsers = []struct{ name, role, window, password string }{
	{"demo", store.RoleAdmin, "", "kaoqin-demo"},
	{"hr", store.RoleHR, "", "kaoqin-demo"},
	{"duchake", store.RoleSupervisor, "", "kaoqin-demo"},
	{"shebao", store.RoleWindowHead, "社保业务", "kaoqin-demo"},
	// The approval workflow (docs/workflows.md): the center leader, the 人社局's leader, and a
	// staff member of 社保业务 (the first on the roster) who files requests.
	{"fenguan", store.RoleCenterLeader, "", "kaoqin-demo"},
	{"renshe", store.RoleUnitLeader, "人社局", "kaoqin-demo"},
	{"yuangong", store.RoleStaff, "社保业务", "kaoqin-demo"},
}

// demoLogin makes sure the demo's accounts exist and returns how to log in.
func (d *demoRun) demoLogin(ctx context.Context, st *store.Store) (string, error) {
	for _, u := range demoUsers {
		if _, err := st.GetUser(ctx, u.name); err == nil {
			continue
		} else if !errors.Is(err, store.ErrNotFound) {
			return "", err
		}
		hash, err := web.HashPassword(u.password)
		if err != nil {
			return "", err
		}
		nu := store.User{Name: u.name, PasswordHash: hash, Role: u.role, Window: u.window}
		switch u.role {
		case store.RoleUnitLeader:
			nu.Window, nu.Unit = "", u.window
		case store.RoleStaff:
			nu.Window = ""
			if nu.StaffID, err = demoStaffAt(ctx, st, u.window); err != nil {
				return "", err
			}
		}
		if err := st.AddUser(ctx, nu, "demo"); err != nil {
			return "", err
		}
	}
	return "log in as demo / kaoqin-demo (admin); also hr, duchake (督查科), shebao (社保业务 window head), fenguan (center leader), " +
		"renshe (人社局 leader) and yuangong (a 社保业务 staff member: files leave under 我的考勤), same password", nil
}

// demoStaffAt is the first active staff member of window w.
func demoStaffAt(ctx context.Context, st *store.Store, w string) (string, error) {
	staff, err := st.ListStaff(ctx)
	if err != nil {
		return "", err
	}
	for _, s := range staff {
		if s.Active && s.Window == w {
			return s.StaffID, nil
		}
	}
	return "", fmt.Errorf("demo: no staff at window %s", w)
}

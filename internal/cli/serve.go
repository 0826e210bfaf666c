package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/kaoqin/kaoqin/attendance"
	"github.com/kaoqin/kaoqin/ingest"
	"github.com/kaoqin/kaoqin/internal/config"
	"github.com/kaoqin/kaoqin/internal/results"
	"github.com/kaoqin/kaoqin/internal/store"
	"github.com/kaoqin/kaoqin/internal/web"
)

func runServe(ctx context.Context, e *env, args []string) int {
	f := e.flags("serve", "serve [--config FILE]\n\nRuns the daemon: reads every configured clock on its schedule, keeps results current,\n"+
		"serves the dashboard, /metrics, /healthz and /readyz. SIGHUP re-reads the config; SIGTERM stops.")
	if code, ok := f.parse(args); !ok {
		return code
	}
	cfg, code, ok := f.loadConfig()
	if !ok {
		return code
	}
	rules, err := rulesFromConfig(cfg)
	if err != nil {
		fmt.Fprintln(e.stderr, err)
		return exitUsage
	}
	if p := rootOnServiceDatabase(cfg); p != "" {
		fmt.Fprintf(e.stderr, "kaoqin serve: %s\n", p)
		return exitUsage
	}
	log := e.logger(cfg.Location())
	d := &daemon{e: e, log: log, cfgPath: cfg.File}
	if err := d.run(ctx, cfg, rules); err != nil {
		log.Error("daemon stopped", "err", err)
		return exitFail
	}
	return exitOK
}

type daemon struct {
	e       *env
	log     *slog.Logger
	cfgPath string

	reg          *prometheus.Registry
	reloadOK     prometheus.Gauge
	reloadTime   prometheus.Gauge
	ingestMetric *ingest.Metrics
	push         *ingest.Receiver // nil unless push.listen is set
	// clocks are the configured clocks' names for the dashboard, replaced on reload.
	clocks atomic.Pointer[[]string]
}

func (d *daemon) run(ctx context.Context, cfg *config.Config, rules attendance.Rules) error {
	dsn := store.DSNForDisplay(cfg.Database.Driver, cfg.Database.DSN)
	st, err := store.Open(ctx, cfg.Database.Driver, cfg.Database.DSN, store.Options{
		Location: cfg.Location(), MaxOpenConns: cfg.Database.MaxOpenConns,
		Addresses: cfg.Database.Addresses, Identity: identity(cfg), Logger: d.log})
	if errors.Is(err, store.ErrDamaged) {
		return d.refuse(ctx, cfg, err)
	}
	if err != nil {
		return fmt.Errorf("database %s %s: %w", cfg.Database.Driver, dsn, err)
	}
	defer st.Close()
	d.log.Info("database open", "driver", cfg.Database.Driver, "dsn", dsn, "check", st.Checked())
	d.firstRun(ctx, st)
	if err := st.SyncClocks(ctx, storeClocks(cfg)); err != nil {
		return err
	}

	d.reg = prometheus.NewRegistry()
	d.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), newBuildInfo())
	d.reloadOK = prometheus.NewGauge(prometheus.GaugeOpts{Name: "kaoqin_config_last_reload_successful",
		Help: "1 if the last configuration (re)load succeeded, 0 if it was rejected and the previous one kept."})
	d.reloadTime = prometheus.NewGauge(prometheus.GaugeOpts{Name: "kaoqin_config_last_reload_success_timestamp_seconds",
		Help: "When the configuration was last loaded successfully."})
	d.reg.MustRegister(d.reloadOK, d.reloadTime)
	d.reloadOK.Set(1)
	d.reloadTime.Set(float64(time.Now().Unix()))
	d.ingestMetric = ingest.NewMetrics(d.reg)
	d.reg.MustRegister(newStoreCollector(st))

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	leader := startLeader(runCtx, cfg, st, d.reg, d.log)
	// The results worker keeps results current; it stops with runCtx and is waited for before the
	// store closes (defers run last-in first-out).
	worker := results.New(results.Options{Store: st, Rules: &rules, Logger: d.log, Metrics: results.NewMetrics(d.reg), Leader: leader})
	workerDone := make(chan struct{})
	go func() { defer close(workerDone); worker.Run(runCtx) }()
	defer func() { cancel(); <-workerDone }()

	window := punchWindow(rules)
	svc := ingest.New(ingest.Options{Store: st, Metrics: d.ingestMetric, Logger: d.log, Location: cfg.Location(),
		SkewThreshold: cfg.Ingest.SkewThreshold.Std(), InPunchWindow: window, Stored: worker.Wake,
		Identity: identity(cfg), Site: cfg.Ingest.Site, Lease: cfg.Ingest.Lease.Std()})
	if err := svc.Apply(cfg.Clocks); err != nil {
		return err
	}
	svc.Start(runCtx)
	go d.trackWindow(runCtx, cfg.Location(), window)
	stopPush, err := d.startPush(runCtx, cfg, st, worker.Wake)
	if err != nil {
		return err
	}
	defer stopPush()
	stopReports, err := startMonthlyReports(cfg, st, &rules, d.log, leader)
	if err != nil {
		return err
	}
	defer stopReports()

	names := clockNames(cfg)
	d.clocks.Store(&names)
	flow, stopNotify, err := startNotify(runCtx, cfg, st, &rules, d.log, d.reg, leader, worker.Wake, func() []string { return *d.clocks.Load() })
	if err != nil {
		return err
	}
	defer stopNotify()
	ln, err := net.Listen("tcp", cfg.HTTP.Listen)
	if err != nil {
		return fmt.Errorf("http: %w", err)
	}
	srv := &http.Server{
		Handler: web.Handler(web.Options{DB: st, Gatherer: d.reg, Logger: d.log,
			Store: st, Rules: &rules, CurrentClocks: func() []string { return *d.clocks.Load() }, Wake: worker.Wake, Secure: cfg.HTTP.TLSCert != "" || cfg.HTTP.SecureCookies, Center: cfg.Center.Name,
			Workflow: flow, Attachments: attachmentsFromConfig(cfg), ReadNow: svc.ReadNow, Owners: svc.Owners}),
		ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 60 * time.Second,
		IdleTimeout: 2 * time.Minute,
	}
	httpErr := make(chan error, 1)
	go func() {
		if cfg.HTTP.TLSCert != "" {
			httpErr <- srv.ServeTLS(ln, cfg.HTTP.TLSCert, cfg.HTTP.TLSKey)
		} else {
			httpErr <- srv.Serve(ln)
		}
	}()
	d.log.Info("kaoqin serving", "http", ln.Addr().String(), "clocks", len(cfg.Clocks), "database", cfg.Database.Driver, "config", configName(cfg))

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-hup:
			d.reload(ctx, st, svc)
			continue
		case err := <-httpErr:
			cancel()
			svc.Stop(context.Background())
			return fmt.Errorf("http: %w", err)
		case <-ctx.Done():
		}
		break
	}
	d.log.Info("stopping: finishing current reads and writes")
	stopCtx, stopCancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer stopCancel()
	cancel()
	svc.Stop(stopCtx)
	shutCtx, shutCancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer shutCancel()
	if err := srv.Shutdown(shutCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		d.log.Warn("http shutdown", "err", err)
	}
	d.log.Info("stopped")
	return nil
}

// firstRun says, in the log and on the console, how to create the first account when there is
// none: without one nobody can log in to the dashboard.
func (d *daemon) firstRun(ctx context.Context, st *store.Store) {
	users, err := st.ListUsers(ctx)
	if err != nil {
		d.log.Warn("cannot list the web accounts", "err", err)
		return
	}
	for _, u := range users {
		if !u.Disabled {
			return
		}
	}
	cfg := ""
	if d.cfgPath != "" {
		cfg = " --config " + d.cfgPath
	}
	cmd := "kaoqin user add" + cfg + " --role admin NAME"
	d.log.Warn("no web account exists: nobody can log in to the dashboard; create the first administrator with `"+cmd+"` (password on standard input)", "accounts", len(users))
	fmt.Fprintf(d.e.stdout, "kaoqin: no web account exists yet, so nobody can log in. Create the first administrator\n"+
		"(as the service's user, password on the first line of standard input):\n\n"+
		"    printf '%%s\\n' \"$PASSWORD\" | sudo -u kaoqin %s\n\n", cmd)
}

// refuse runs the daemon on a damaged database: it reads no clock and writes nothing (the clocks
// keep their records), and serves only /healthz, /metrics and a /readyz that answers 503 with the
// reason, so that a supervisor sees why instead of restarting it in a loop. It returns the reason
// when stopped.
func (d *daemon) refuse(ctx context.Context, cfg *config.Config, reason error) error {
	d.log.Error("database refused: reading no clock and writing nothing until it is restored; /readyz says why", "err", reason)
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), newBuildInfo())
	ln, err := net.Listen("tcp", cfg.HTTP.Listen)
	if err != nil {
		return fmt.Errorf("http: %w (and %w)", err, reason)
	}
	srv := &http.Server{Handler: web.Handler(web.Options{DB: refused{reason}, Gatherer: reg, Logger: d.log}),
		ReadHeaderTimeout: 10 * time.Second}
	httpErr := make(chan error, 1)
	go func() {
		if cfg.HTTP.TLSCert != "" {
			httpErr <- srv.ServeTLS(ln, cfg.HTTP.TLSCert, cfg.HTTP.TLSKey)
		} else {
			httpErr <- srv.Serve(ln)
		}
	}()
	d.log.Info("kaoqin serving health only", "http", ln.Addr().String())
	select {
	case err := <-httpErr:
		return fmt.Errorf("http: %w (and %w)", err, reason)
	case <-ctx.Done():
	}
	shutCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	srv.Shutdown(shutCtx)
	return reason
}

// refused is the readiness check of a refused database: always its reason.
type refused struct{ reason error }

func (r refused) Ping(context.Context) error { return r.reason }

// reload re-reads the config file; a bad one is rejected and the running one kept.
func (d *daemon) reload(ctx context.Context, st *store.Store, svc *ingest.Service) {
	cfg, err := config.Load(d.cfgPath)
	if err == nil {
		_, err = rulesFromConfig(cfg)
	}
	if err == nil {
		err = st.SyncClocks(ctx, storeClocks(cfg))
	}
	if err == nil {
		err = svc.Apply(cfg.Clocks)
	}
	if err == nil && d.push != nil {
		d.push.Apply(cfg.Clocks)
	}
	if err != nil {
		d.reloadOK.Set(0)
		d.log.Error("config reload rejected; keeping the running config", "file", d.cfgPath, "err", err)
		return
	}
	d.reloadOK.Set(1)
	d.reloadTime.Set(float64(time.Now().Unix()))
	names := clockNames(cfg)
	d.clocks.Store(&names)
	d.log.Info("config reloaded", "file", d.cfgPath, "clocks", len(cfg.Clocks))
}

// clockNames are the configured clocks, for the dashboard.
func clockNames(cfg *config.Config) []string {
	out := make([]string, len(cfg.Clocks))
	for i, c := range cfg.Clocks {
		out[i] = c.Name
	}
	return out
}

func storeClocks(cfg *config.Config) []store.Clock {
	out := make([]store.Clock, len(cfg.Clocks))
	for i, c := range cfg.Clocks {
		out[i] = store.Clock{Name: c.Name, Protocol: c.Protocol, SerialNumber: c.SerialNumber}
	}
	return out
}

// punchWindow tells whether a wall-clock time is inside a punch window of a working day.
func punchWindow(rules attendance.Rules) func(time.Time) bool {
	return func(wall time.Time) bool {
		d := attendance.DateOf(wall)
		if !rules.Calendar.Working(d) {
			return false
		}
		s := rules.Schedule.SeasonOn(d)
		m := attendance.MinuteOf(wall)
		return s.AM.In.Contains(m) || s.AM.Out.Contains(m) || s.PM.In.Contains(m) || s.PM.Out.Contains(m)
	}
}

func (d *daemon) trackWindow(ctx context.Context, loc *time.Location, open func(time.Time) bool) {
	t := time.NewTicker(15 * time.Second)
	defer t.Stop()
	for {
		v := 0.0
		if open(store.Wall(time.Now(), loc)) {
			v = 1
		}
		d.ingestMetric.PunchWindowOpen.Set(v)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

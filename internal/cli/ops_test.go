package cli

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/kaoqin/kaoqin/internal/config"
	"github.com/kaoqin/kaoqin/internal/store"
	"github.com/kaoqin/kaoqin/internal/store/storetest"
)

// opsConfig writes a config in a fresh directory: SQLite there (unless extra names a database), a
// listener on a free port, and extra YAML; it returns the config's path.
func opsConfig(t *testing.T, extra string) string {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "kaoqin.yaml")
	cfg := "http: {listen: '127.0.0.1:0'}\nreports: {dir: reports}\n" + extra
	if !strings.Contains(extra, "database:") {
		cfg = "database: {driver: sqlite, dsn: k.db}\n" + cfg
	}
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// serveInProcess runs `kaoqin serve` until the test ends and returns its address, its console and
// its log.
func serveInProcess(t *testing.T, cfg, ready string) (addr string, stdout, logs *syncBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stdout, logs = &syncBuffer{}, &syncBuffer{}
	done := make(chan int, 1)
	go func() { done <- Run(ctx, []string{"serve", "--config", cfg}, stdout, logs) }()
	t.Cleanup(func() { cancel(); <-done })
	m := waitFor(t, logs, regexp.MustCompile(`msg="`+regexp.QuoteMeta(ready)+`" http=(\S+)`))
	return m[1], stdout, logs
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func migrateFor(t *testing.T, cfg string) {
	t.Helper()
	if code, out, errs := run(t, "migrate", "--config", cfg); code != 0 {
		t.Fatalf("migrate: %d %s %s", code, out, errs)
	}
}

// check-config refuses a zk-push clock while push.listen is empty, naming the file, the line and
// the fix (it was only a warning of the running daemon).
func TestCheckConfigPushWithoutListener(t *testing.T) {
	code, out, errs := run(t, "check-config", "--config", "../config/testdata/invalid-push-no-listen.yaml")
	want := `../config/testdata/invalid-push-no-listen.yaml:6: clocks[1].protocol: zk-push clock "face" calls the server, but push.listen is empty`
	if code != exitUsage || out != "" || !strings.HasPrefix(errs, want) {
		t.Errorf("got %d %q %q, want 2 and %q", code, out, errs, want)
	}
}

// The config is found from --config, then $KAOQIN_CONFIG, then the system file, and a command says
// which it took when --config did not name it; relative paths are the config file's, whatever the
// working directory.
func TestConfigDiscovery(t *testing.T) {
	cfg := opsConfig(t, "")
	old := config.SystemFile
	t.Cleanup(func() { config.SystemFile = old })
	config.SystemFile = filepath.Join(t.TempDir(), "absent.yaml")
	cases := []struct {
		name, env, system string
		args              []string
		code              int
		stderr            string
	}{
		{"flag", "", "", []string{"--config", cfg}, 0, ""},
		{"env", cfg, "", nil, 0, "kaoqin: config " + cfg + " (KAOQIN_CONFIG)\n"},
		{"system file", "", cfg, nil, 0, "kaoqin: config " + cfg + " (default location)\n"},
		{"none", "", "", nil, 0, "kaoqin: no config file (no --config, KAOQIN_CONFIG or "},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv(config.EnvVar, c.env)
			config.SystemFile = filepath.Join(t.TempDir(), "absent.yaml")
			if c.system != "" {
				config.SystemFile = c.system
			}
			code, out, errs := run(t, append([]string{"check-config"}, c.args...)...)
			if code != c.code || out != "ok\n" || !strings.HasPrefix(errs, c.stderr) || (c.stderr == "" && errs != "") {
				t.Errorf("got %d %q %q, want %d ok and %q", code, out, errs, c.code, c.stderr)
			}
		})
	}
	// migrate from another directory creates the database beside the config.
	t.Setenv(config.EnvVar, cfg)
	wd, _ := os.Getwd()
	t.Cleanup(func() { os.Chdir(wd) })
	if err := os.Chdir(t.TempDir()); err != nil {
		t.Fatal(err)
	}
	if code, out, errs := run(t, "migrate"); code != 0 {
		t.Fatalf("migrate: %d %s %s", code, out, errs)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(cfg), "k.db")); err != nil {
		t.Errorf("the database is not beside the config: %v", err)
	}
}

// Log lines carry the deployment's zone offset, not the process's zone.
func TestLogStampsInConfiguredZone(t *testing.T) {
	cases := []struct {
		zone, offset string
	}{{"Asia/Shanghai", "+08:00"}, {"Asia/Urumqi", "+06:00"}, {"UTC", "Z"}}
	for _, c := range cases {
		loc, err := time.LoadLocation(c.zone)
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		newLogger(&b, loc).Info("hello", "at", time.Date(2026, 7, 6, 0, 31, 0, 0, time.UTC))
		re := regexp.MustCompile(`^time=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}` + regexp.QuoteMeta(c.offset) + ` level=INFO msg=hello`)
		if !re.MatchString(b.String()) {
			t.Errorf("%s: got %q, want a stamp ending %s", c.zone, b.String(), c.offset)
		}
	}
	// The daemon under TZ=UTC: TestInstallByTheBook.
}

// Every counter is exported from the start, at 0, for every configured clock; kaoqin_build_info
// says which build runs.
func TestCountersAtZeroAndBuildInfo(t *testing.T) {
	// The clocks are read on 1 January at 03:00 only: no read happens during the test.
	cfg := opsConfig(t, `push: {listen: '127.0.0.1:0'}
clocks:
  - {name: hall, protocol: zk, address: '127.0.0.1:9', read: '0 3 1 1 *'}
  - {name: bus, protocol: anviz, transport: tcp, address: '127.0.0.1:9', device_id: 1, read: '0 3 1 1 *'}
  - {name: face, protocol: zk-push, serial_number: SN1}
`)
	migrateFor(t, cfg)
	addr, _, logs := serveInProcess(t, cfg, "kaoqin serving")
	_, body := get(t, "http://"+addr+"/metrics")
	var want []string
	for _, clock := range []string{"hall", "bus", "face"} {
		for _, k := range []string{"connect", "timeout", "auth", "protocol", "database"} {
			want = append(want, fmt.Sprintf(`kaoqin_clock_read_errors_total{clock=%q,kind=%q} 0`, clock, k))
		}
		for _, m := range []string{"kaoqin_clock_unknown_user_punches_total", "kaoqin_clock_punches_stored_total",
			"kaoqin_clock_duplicates_skipped_total", "kaoqin_clock_time_syncs_total"} {
			want = append(want, fmt.Sprintf(`%s{clock=%q} 0`, m, clock))
		}
	}
	want = append(want, `kaoqin_push_malformed_lines_total{clock="face"} 0`, `kaoqin_push_requests_total{kind="upload"} 0`,
		`kaoqin_store_write_errors_total 0`, `kaoqin_results_failures_total 0`,
		fmt.Sprintf(`kaoqin_build_info{goversion=%q,revision="unknown",version="dev"} 1`, runtime.Version()))
	for _, w := range want {
		if !strings.Contains(body, w+"\n") {
			t.Errorf("metrics lack %s", w)
		}
	}
	if t.Failed() {
		t.Logf("metrics:\n%s\nlog:\n%s", body, logs.String())
	}
}

// The systemd unit lets the daemon open every kind of serial adapter the guide names.
func TestUnitAllowsSerialAdapters(t *testing.T) {
	data, err := os.ReadFile("../../configs/kaoqin.service")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"DeviceAllow=char-ttyS rw", "DeviceAllow=char-ttyUSB rw", "DeviceAllow=char-ttyACM rw",
		"SupplementaryGroups=dialout", "User=kaoqin", "WorkingDirectory=/var/lib/kaoqin",
		"ExecStart=/usr/local/bin/kaoqin serve --config /etc/kaoqin/kaoqin.yaml"} {
		if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(want) + `$`).Match(data) {
			t.Errorf("unit lacks %s", want)
		}
	}
}

// damage overwrites pages in the middle of a SQLite file.
func damage(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ps := int(b[16])<<8 | int(b[17])
	n := len(b) / ps
	if n < 10 {
		t.Fatalf("%s has %d pages, too few to damage its middle", path, n)
	}
	for i := n / 2 * ps; i < (n/2+2)*ps; i++ {
		b[i] = 0xa5
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// A SQLite file damaged in the middle is refused at start: nothing is read or written, the log
// says what to do, and /readyz answers 503 with the reason (healthz and metrics still answer).
func TestServeRefusesDamagedDatabase(t *testing.T) {
	cfg := opsConfig(t, "clocks:\n  - {name: hall, protocol: zk, address: '127.0.0.1:9', read: '0 3 1 1 *'}\n")
	migrateFor(t, cfg)
	db := filepath.Join(filepath.Dir(cfg), "k.db")
	s, err := store.Open(context.Background(), "sqlite", db, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ps := make([]store.Punch, 5000)
	for i := range ps {
		ps[i] = store.Punch{Clock: "hall", UserID: fmt.Sprint(i % 200), Time: wallT("2026-07-06 08:00:00").Add(time.Duration(i) * time.Minute)}
	}
	if err := s.SyncClocks(context.Background(), []store.Clock{{Name: "hall", Protocol: "zk"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.InsertPunches(context.Background(), ps, nil); err != nil {
		t.Fatal(err)
	}
	s.Close()
	damage(t, db)

	addr, _, logs := serveInProcess(t, cfg, "kaoqin serving health only")
	code, body := get(t, "http://"+addr+"/readyz")
	if code != http.StatusServiceUnavailable || !strings.HasPrefix(body, "database damaged: ") || !strings.Contains(body, "restore the last backup") {
		t.Errorf("/readyz: got %d %q, want 503 saying the database is damaged and what to do", code, body)
	}
	if code, _ := get(t, "http://"+addr+"/healthz"); code != http.StatusOK {
		t.Errorf("/healthz: got %d, want 200", code)
	}
	if code, body := get(t, "http://"+addr+"/metrics"); code != http.StatusOK || !strings.Contains(body, "kaoqin_build_info") {
		t.Errorf("/metrics: got %d", code)
	}
	if code, _ := get(t, "http://"+addr+"/today"); code != http.StatusNotFound {
		t.Errorf("/today on a refused database: got %d, want 404 (no dashboard)", code)
	}
	if !strings.Contains(logs.String(), `level=ERROR msg="database refused`) || strings.Contains(logs.String(), "clock scheduled") {
		t.Errorf("log: want the refusal and no clock scheduled:\n%s", logs.String())
	}
	// doctor says so too.
	if code, out, _ := run(t, "doctor", "--config", cfg, "--no-clocks"); code != exitFail || !strings.Contains(out, "FAIL  database") {
		t.Errorf("doctor on a damaged database: got %d\n%s", code, out)
	}
}

// With no account the daemon says, in its log and on its console, how to make the first one.
func TestServeFirstRunHint(t *testing.T) {
	cfg := opsConfig(t, "")
	migrateFor(t, cfg)
	_, stdout, logs := serveInProcess(t, cfg, "kaoqin serving")
	cmd := "kaoqin user add --config " + cfg + " --role admin NAME"
	if !strings.Contains(stdout.String(), cmd) || !strings.Contains(stdout.String(), "nobody can log in") {
		t.Errorf("console: want the command %q:\n%s", cmd, stdout.String())
	}
	if !strings.Contains(logs.String(), `level=WARN msg="no web account exists`) {
		t.Errorf("log: want the warning:\n%s", logs.String())
	}
	// Once an account exists, nothing is said.
	stdin = strings.NewReader("a-good-password\n")
	t.Cleanup(func() { stdin = os.Stdin })
	if code, out, errs := run(t, "user", "add", "--config", cfg, "--role", "admin", "root"); code != 0 {
		t.Fatalf("user add: %d %s %s", code, out, errs)
	}
	cfg2 := filepath.Join(filepath.Dir(cfg), "second.yaml")
	data, _ := os.ReadFile(cfg)
	os.WriteFile(cfg2, data, 0o600)
	_, stdout2, logs2 := serveInProcess(t, cfg2, "kaoqin serving")
	if stdout2.String() != "" || strings.Contains(logs2.String(), "no web account") {
		t.Errorf("with an account: console %q, log:\n%s", stdout2.String(), logs2.String())
	}
}

// doctor fails what an operator gets wrong, each line saying what to do, and passes a good
// installation.
func TestDoctor(t *testing.T) {
	cases := []struct {
		name  string
		setup func(t *testing.T, cfg string)
		code  int
		want  []string
	}{
		{"not migrated", func(t *testing.T, cfg string) {}, exitFail,
			[]string{"FAIL  database", "does not exist yet; run `kaoqin migrate`"}},
		{"no account", func(t *testing.T, cfg string) { migrateFor(t, cfg) }, exitFail,
			[]string{"ok    database", "FAIL  accounts   no web account", "kaoqin user add --role admin"}},
		{"ready", func(t *testing.T, cfg string) {
			migrateFor(t, cfg)
			stdin = strings.NewReader("a-good-password\n")
			t.Cleanup(func() { stdin = os.Stdin })
			run(t, "user", "add", "--config", cfg, "--role", "admin", "root")
		}, exitOK, []string{"ok    accounts   1 active accounts, 1 administrators", "PRAGMA quick_check: ok", "timezone   Asia/Shanghai, now UTC+08:00", "0 failed"}},
		{"loose database mode", func(t *testing.T, cfg string) {
			migrateFor(t, cfg)
			os.Chmod(filepath.Join(filepath.Dir(cfg), "k.db"), 0o644)
		}, exitFail, []string{"warn  files", "is mode 644", "chmod 600"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := opsConfig(t, "")
			c.setup(t, cfg)
			code, out, errs := run(t, "doctor", "--config", cfg, "--no-clocks")
			if code != c.code {
				t.Errorf("exit %d, want %d\n%s%s", code, c.code, out, errs)
			}
			for _, w := range c.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
	// A database in a directory not made yet: migrate makes it.
	sub := opsConfig(t, "database: {driver: sqlite, dsn: data/k.db}\n")
	if code, out, _ := run(t, "doctor", "--config", sub, "--no-clocks"); code != exitFail || !strings.Contains(out, "data/k.db does not exist yet; run `kaoqin migrate`") {
		t.Errorf("doctor before migrate, database directory absent: %d\n%s", code, out)
	}
	// A clock that does not answer fails; one that does is ok.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close()
	cfg := opsConfig(t, "clocks:\n  - {name: gone, protocol: zk, address: '"+dead+"', timeout: 2s}\n")
	migrateFor(t, cfg)
	if code, out, _ := run(t, "doctor", "--config", cfg); code != exitFail || !strings.Contains(out, "FAIL  clock      gone: zk tcp "+dead) {
		t.Errorf("doctor with a dead clock: %d\n%s", code, out)
	}
}

// kaoqin backup writes a checked copy; MySQL is sent to its own tools; an existing file is kept.
func TestBackupCommand(t *testing.T) {
	cfg := opsConfig(t, "")
	migrateFor(t, cfg)
	out := filepath.Join(t.TempDir(), "b.db")
	if code, o, e := run(t, "backup", "--config", cfg, "--out", out); code != 0 || !strings.Contains(o, "written and checked") {
		t.Fatalf("backup: %d %s %s", code, o, e)
	}
	if fi, err := os.Stat(out); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("backup file: %v %v, want mode 600", fi, err)
	}
	if code, _, e := run(t, "backup", "--config", cfg, "--out", out); code != exitFail || !strings.Contains(e, "exists") {
		t.Errorf("backup over an existing file: %d %s", code, e)
	}
	if code, _, e := run(t, "backup", "--config", cfg); code != exitUsage || !strings.Contains(e, "--out") {
		t.Errorf("backup without --out: %d %s", code, e)
	}
}

// http.tls_cert and tls_key serve HTTPS, with Secure session cookies; relative paths are the
// config file's.
func TestServeTLS(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "kaoqin.yaml")
	if err := os.WriteFile(cfg, []byte("database: {driver: sqlite, dsn: k.db}\nhttp: {listen: '127.0.0.1:0', tls_cert: tls/cert.pem, tls_key: tls/key.pem}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	pool := selfSigned(t, filepath.Join(dir, "tls"))
	migrateFor(t, cfg)
	stdin = strings.NewReader("a-good-password\n")
	t.Cleanup(func() { stdin = os.Stdin })
	if code, o, e := run(t, "user", "add", "--config", cfg, "--role", "admin", "root"); code != 0 {
		t.Fatalf("user add: %d %s %s", code, o, e)
	}
	addr, _, _ := serveInProcess(t, cfg, "kaoqin serving")
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "localhost"}}}
	resp, err := client.Get("https://" + addr + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("https /readyz: %d", resp.StatusCode)
	}
	resp, err = client.Post("https://"+addr+"/api/v1/login", "application/json", strings.NewReader(`{"name":"root","password":"a-good-password"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || len(resp.Cookies()) == 0 || !resp.Cookies()[0].Secure {
		t.Errorf("https login: %d cookies %v, want 200 and a Secure cookie", resp.StatusCode, resp.Cookies())
	}
	// A plain-HTTP request to the TLS listener gets Go's 400, not the page.
	if code, _ := get(t, "http://"+addr+"/readyz"); code != http.StatusBadRequest {
		t.Errorf("plain HTTP on the TLS listener: got %d, want 400", code)
	}
}

// selfSigned writes a certificate for localhost and 127.0.0.1 and its key into dir.
func selfSigned(t *testing.T, dir string) *x509.CertPool {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), DNSNames: []string{"localhost"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	os.MkdirAll(dir, 0o700)
	os.WriteFile(filepath.Join(dir, "cert.pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(filepath.Join(dir, "key.pem"), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return pool
}

// The guide's MariaDB backup, mariadb-dump --single-transaction, restores into an empty database
// that the daemon accepts as it was: same schema, same accounts.
func TestMariaDBDumpRestores(t *testing.T) {
	src := storetest.NewMySQLBackend(t)
	for _, tool := range []string{"mariadb-dump", "mariadb"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s (Debian package mariadb-client)", tool)
		}
	}
	dst := storetest.NewMySQLBackend(t)
	cfgFor := func(b storetest.Backend) string {
		return opsConfig(t, "database: {driver: mysql, dsn: '"+b.DSN+"'}\n")
	}
	srcCfg, dstCfg := cfgFor(src), cfgFor(dst)
	migrateFor(t, srcCfg)
	stdin = strings.NewReader("a-good-password\n")
	t.Cleanup(func() { stdin = os.Stdin })
	if code, o, e := run(t, "user", "add", "--config", srcCfg, "--role", "admin", "root"); code != 0 {
		t.Fatalf("user add: %d %s %s", code, o, e)
	}
	if code, _, e := run(t, "backup", "--config", srcCfg, "--out", filepath.Join(t.TempDir(), "x.db")); code != exitUsage || !strings.Contains(e, "mariadb-dump --single-transaction") {
		t.Errorf("kaoqin backup on MySQL: %d %q, want 2 naming mariadb-dump", code, e)
	}
	// --no-defaults must come first; the database last.
	client := func(b storetest.Backend, opts ...string) []string {
		c, err := mysql.ParseDSN(b.DSN)
		if err != nil {
			t.Fatal(err)
		}
		args := []string{"--no-defaults", "-u" + c.User}
		if c.Passwd != "" {
			args = append(args, "-p"+c.Passwd)
		}
		if c.Net == "unix" {
			args = append(args, "--socket="+c.Addr)
		} else {
			host, port, _ := net.SplitHostPort(c.Addr)
			args = append(args, "--host="+host, "--port="+port, "--protocol=tcp")
		}
		return append(append(args, opts...), c.DBName)
	}
	var dumpErr bytes.Buffer
	dumpCmd := exec.Command("mariadb-dump", client(src, "--single-transaction", "--routines")...)
	dumpCmd.Stderr = &dumpErr
	dump, err := dumpCmd.Output()
	if err != nil {
		t.Fatalf("mariadb-dump: %v\n%s", err, dumpErr.String())
	}
	restore := exec.Command("mariadb", client(dst)...)
	restore.Stdin = bytes.NewReader(dump)
	if out, err := restore.CombinedOutput(); err != nil {
		t.Fatalf("mariadb < dump: %v\n%s", err, out)
	}
	code, out, errs := run(t, "doctor", "--config", dstCfg, "--no-clocks")
	if code != 0 || !strings.Contains(out, "1 active accounts, 1 administrators") {
		t.Errorf("doctor on the restored database: %d\n%s%s", code, out, errs)
	}
}

// Run as root on the service's SQLite database, a command refuses and says as whom to run it:
// SQLite would leave root-owned files (the database, its -wal and -shm) the daemon cannot open.
func TestRootOnServiceDatabaseRefused(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to own files as another user")
	}
	cfg := opsConfig(t, "")
	dir := filepath.Dir(cfg)
	if err := os.Chown(dir, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"migrate"}, {"user", "add", "--role", "admin", "root"}, {"backup", "--out", filepath.Join(t.TempDir(), "b.db")}, {"serve"}} {
		code, _, errs := run(t, append(args, "--config", cfg)...)
		if code != exitUsage || !strings.Contains(errs, dir+" belongs to nobody: run this command as that user (sudo -u nobody kaoqin …)") {
			t.Errorf("kaoqin %v as root: got %d %q, want 2 and the user to run it as", args, code, errs)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "k.db")); err == nil {
		t.Errorf("the database was created as root")
	}
	if code, out, _ := run(t, "doctor", "--config", cfg, "--no-clocks"); code != exitFail || !strings.Contains(out, "FAIL  database   "+dir+" belongs to nobody") {
		t.Errorf("doctor as root: %d\n%s", code, out)
	}
}

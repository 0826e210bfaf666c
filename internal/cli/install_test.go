package cli

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kaoqin/kaoqin/devices/zk/zkemu"
	"github.com/kaoqin/kaoqin/ingest"
	"github.com/kaoqin/kaoqin/internal/web"
)

// TestInstallByTheBook runs the shell blocks of docs/operations.md marked <!-- tested --> as
// written, in a scratch root, as a separate non-root user (nobody when the test runs as root, as
// CI does), with the systemd unit's ExecStart, WorkingDirectory and User: install, migrate, the
// first admin, doctor, the unit, serve, log in, /readyz, Prometheus's checks, a backup, a restore,
// and an upgrade over an older schema. The binary is built once with go build, as the guide's first
// step says. A command the guide gains that this test does not know fails it: the guide and the
// test stay one.
func TestInstallByTheBook(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs the whole installation; not with -short")
	}
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("needs the go command to build the binary as the guide does")
	}
	in := newInstall(t)
	blocks := testedBlocks(t, "../../docs/operations.md")
	if len(blocks) < 6 {
		t.Fatalf("operations.md has %d tested blocks, want the install, first run, Prometheus, backup, restore and upgrade ones", len(blocks))
	}
	for _, b := range blocks {
		switch {
		case b.file == "nginx.conf":
			continue // TestReverseProxyNginx
		case b.file == "prometheus.yml":
			in.write("/etc/prometheus/prometheus.yml", in.paths(b.text), 0o644)
		case strings.Contains(b.text, "kaoqin migrate") && strings.Contains(b.text, "kaoqin.new"):
			// The upgrade: the running database is replaced by one at an older schema, with an
			// account in it, as the previous release left it.
			in.stop(t)
			in.oldSchema(t)
			in.expectRefused(t)
			in.runBlock(t, b)
			in.login(t, "old-admin", "old-password-1", http.StatusOK)
		case strings.Contains(b.text, "systemctl stop kaoqin") && strings.Contains(b.text, "install -m 600"):
			// The restore: an account made after the backup is gone, the first admin is back.
			in.login(t, "later", "later-password", http.StatusOK)
			in.runBlock(t, b)
			in.login(t, "later", "later-password", http.StatusUnauthorized)
			in.login(t, "admin", in.adminPassword, http.StatusOK)
		case strings.Contains(b.text, "kaoqin backup"):
			in.runBlock(t, b)
			in.addUser(t, "later", "later-password")
		default:
			in.runBlock(t, b)
		}
		if strings.Contains(b.text, "configs/kaoqin.example.yaml /etc/kaoqin/kaoqin.yaml") {
			in.editConfig(t)
		}
		if strings.Contains(b.text, "systemctl enable --now kaoqin") {
			in.login(t, "admin", in.adminPassword, http.StatusOK)
			in.login(t, "admin", "wrong-password", http.StatusUnauthorized)
			in.checkMetrics(t)
		}
	}
	in.stop(t)
	for _, want := range []string{"check-config", "migrate", "user add", "doctor", "systemctl enable", "backup", "install -m 600", "kaoqin.new"} {
		if !strings.Contains(strings.Join(in.ran, "\n"), want) {
			t.Errorf("the guide's tested blocks never ran %q", want)
		}
	}
}

type install struct {
	t             *testing.T
	root          string // the scratch root: every absolute path of the guide lives under it
	repo          string
	uid, gid      int // the service's user ("kaoqin" in the guide)
	asRoot        bool
	adminPassword string
	env           []string
	clock         *zkemu.Clock
	clockAddr     string

	daemon *exec.Cmd
	done   chan error
	logs   *lockedBuffer
	addr   string // where the daemon listens
	ran    []string
}

func newInstall(t *testing.T) *install {
	in := &install{t: t, adminPassword: "first-admin-pw-1", logs: &lockedBuffer{}}
	in.asRoot = os.Geteuid() == 0
	if in.asRoot {
		// nobody:nogroup stands for the guide's kaoqin user: a separate, unprivileged account.
		in.uid, in.gid = 65534, 65534
	} else {
		in.uid, in.gid = os.Getuid(), os.Getgid()
		t.Log("not root: the steps run as this user (the switch to a separate service user needs root)")
	}
	in.root = t.TempDir()
	// The scratch root's own directories must be traversable by the service's user.
	for d := in.root; d != filepath.Dir(os.TempDir()) && d != "/" && strings.HasPrefix(d, os.TempDir()) && d != os.TempDir(); d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	repo, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	in.repo = repo
	// TZ=UTC: the daemon's log must carry the configured zone, not the process's.
	in.env = []string{"PATH=" + filepath.Join(in.root, "usr/local/bin") + ":/usr/bin:/bin", "TZ=UTC", "HOME=" + filepath.Join(in.root, "var/lib/kaoqin")}
	clock, err := zkemu.New(zkemu.Config{})
	if err != nil {
		t.Fatal(err)
	}
	addr, err := clock.ListenTCP("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	in.clock, in.clockAddr = clock, addr.String()
	t.Cleanup(func() { in.stop(t); clock.Close() })
	return in
}

type docBlock struct {
	line int
	file string // the name after "tested:", for a file rather than commands
	text string
}

// testedBlocks returns the fenced blocks that follow a <!-- tested --> line.
func testedBlocks(t *testing.T, path string) []docBlock {
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	var out []docBlock
	for i := 0; i < len(lines); i++ {
		m := regexp.MustCompile(`^<!-- tested(?:: (\S+))? -->$`).FindStringSubmatch(lines[i])
		if m == nil {
			continue
		}
		if i+1 >= len(lines) || !strings.HasPrefix(lines[i+1], "```") {
			t.Fatalf("%s:%d: <!-- tested --> is not followed by a fenced block", path, i+1)
		}
		b := docBlock{line: i + 3, file: m[1]}
		var body []string
		for j := i + 2; j < len(lines); j++ {
			if strings.HasPrefix(lines[j], "```") {
				i = j
				break
			}
			body = append(body, lines[j])
		}
		b.text = strings.Join(body, "\n") + "\n"
		out = append(out, b)
	}
	return out
}

// paths moves the guide's absolute paths into the scratch root.
var absPath = regexp.MustCompile(`(^|[\s'"=(])(/(?:etc|var|usr/local)/[^\s'")]*)`)

func (in *install) paths(s string) string {
	return absPath.ReplaceAllString(s, "${1}"+in.root+"${2}")
}

func (in *install) at(p string) string {
	if p == "kaoqin.new" {
		// The new release's binary, in the operator's directory.
		return filepath.Join(in.root, p)
	}
	if filepath.IsAbs(p) {
		if strings.HasPrefix(p, in.root) {
			return p
		}
		return filepath.Join(in.root, p)
	}
	return filepath.Join(in.repo, p)
}

func (in *install) write(path, content string, mode fs.FileMode) {
	p := in.at(path)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		in.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		in.t.Fatal(err)
	}
}

func (in *install) runBlock(t *testing.T, b docBlock) {
	t.Helper()
	for i, line := range strings.Split(strings.TrimSpace(b.text), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		for _, cmd := range strings.Split(line, " && ") {
			in.ran = append(in.ran, cmd)
			in.step(t, fmt.Sprintf("operations.md:%d", b.line+i), cmd)
		}
	}
}

// owner maps the guide's user and group names to ids.
func (in *install) owner(name string) int {
	switch name {
	case "root":
		return 0
	case "kaoqin":
		return in.uid
	}
	in.t.Fatalf("unknown owner %q", name)
	return -1
}

func (in *install) chown(p string, uid, gid int) {
	if !in.asRoot {
		return
	}
	if err := os.Chown(p, uid, gid); err != nil {
		in.t.Fatal(err)
	}
}

// step runs one command of the guide.
func (in *install) step(t *testing.T, where, cmd string) {
	t.Helper()
	stdin := ""
	if pre, rest, ok := strings.Cut(cmd, " | "); ok {
		if pre != `printf '%s\n' "$ADMIN_PASSWORD"` {
			t.Fatalf("%s: unknown pipe %q", where, pre)
		}
		stdin, cmd = in.adminPassword+"\n", rest
	}
	args := strings.Fields(cmd)
	asService := false
	if len(args) > 2 && args[0] == "sudo" && args[1] == "-u" && args[2] == "kaoqin" {
		asService, args = true, args[3:]
	}
	switch args[0] {
	case "go":
		if strings.Join(args[:3], " ") != "go build -o" || args[4] != "./cmd/kaoqin" {
			t.Fatalf("%s: unknown build %q", where, cmd)
		}
		build := exec.Command("go", "build", "-o", in.at(args[3]), "./cmd/kaoqin")
		build.Dir = in.repo
		// As on an operator's machine, Go records the commit (this machine's go env may turn that
		// off with -buildvcs=false).
		goflags, _ := exec.Command("go", "env", "GOFLAGS").Output()
		build.Env = append(os.Environ(), "GOFLAGS="+strings.ReplaceAll(strings.TrimSpace(string(goflags)), "-buildvcs=false", "-buildvcs=auto"))
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("%s: %s: %v\n%s", where, cmd, err, out)
		}
		// The upgrade installs kaoqin.new over it: the same build (the upgrade is of the schema).
		copyFile(t, in.at(args[3]), in.at("kaoqin.new"), 0o755)
	case "useradd":
		// The service's user exists already (nobody, or this user).
	case "install":
		in.installCmd(t, where, args[1:])
	case "kaoqin":
		out, errs, code := in.kaoqin(t, asService, stdin, args[1:]...)
		if code != 0 {
			t.Fatalf("%s: %s: exit %d\nstdout:\n%s\nstderr:\n%s", where, cmd, code, out, errs)
		}
		t.Logf("%s: %s\n%s", where, cmd, out)
	case "systemd-analyze":
		in.verifyUnit(t, where, in.at(args[2]))
	case "systemctl":
		switch strings.Join(args[1:], " ") {
		case "daemon-reload":
		case "enable --now kaoqin", "start kaoqin":
			in.start(t)
		case "stop kaoqin":
			in.stop(t)
		default:
			t.Fatalf("%s: unknown %q", where, cmd)
		}
	case "curl":
		if args[1] != "-fsS" || !strings.HasPrefix(args[2], "http://127.0.0.1:8080/") {
			t.Fatalf("%s: unknown %q", where, cmd)
		}
		path := strings.TrimPrefix(args[2], "http://127.0.0.1:8080")
		resp, err := http.Get("http://" + in.addr + path)
		if err != nil {
			t.Fatalf("%s: %s: %v", where, cmd, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %s: %d %s\n%s", where, cmd, resp.StatusCode, body, in.logs.String())
		}
	case "rm":
		for _, p := range args[2:] {
			if err := os.Remove(in.at(p)); err != nil && !os.IsNotExist(err) {
				t.Fatalf("%s: %v", where, err)
			}
		}
	case "promtool":
		if _, err := exec.LookPath("promtool"); err != nil {
			t.Logf("%s: %s skipped: promtool is not installed (Debian package prometheus)", where, cmd)
			return
		}
		file := in.at(args[3])
		if args[2] == "config" {
			// promtool checks the rule files a config names; they are in the scratch root.
			if data, err := os.ReadFile(file); err == nil {
				os.WriteFile(file, []byte(in.paths(string(data))), 0o644)
			}
		}
		out, err := exec.Command("promtool", args[1], args[2], file).CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %s: %v\n%s", where, cmd, err, out)
		}
	default:
		t.Fatalf("%s: the install test does not know %q; teach it, or leave the block untested", where, cmd)
	}
}

func (in *install) installCmd(t *testing.T, where string, args []string) {
	t.Helper()
	mode, uid, gid, dir := fs.FileMode(0o755), os.Getuid(), os.Getgid(), false
	var rest []string
	for i := 0; i < len(args); i++ {
		switch args[i] {
		case "-d":
			dir = true
		case "-m":
			n, err := strconv.ParseUint(args[i+1], 8, 32)
			if err != nil {
				t.Fatalf("%s: mode %q", where, args[i+1])
			}
			mode, i = fs.FileMode(n), i+1
		case "-o":
			uid, i = in.owner(args[i+1]), i+1
		case "-g":
			gid, i = in.owner(args[i+1]), i+1
			if args[i] == "kaoqin" {
				gid = in.gid
			}
		default:
			rest = append(rest, args[i])
		}
	}
	if dir {
		for _, d := range rest {
			p := in.at(d)
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			os.Chmod(p, mode)
			in.chown(p, uid, gid)
		}
		return
	}
	if len(rest) != 2 {
		t.Fatalf("%s: install wants SRC DST, got %v", where, rest)
	}
	dst := in.at(rest[1])
	os.MkdirAll(filepath.Dir(dst), 0o755)
	copyFile(t, in.at(rest[0]), dst, mode)
	in.chown(dst, uid, gid)
}

func copyFile(t *testing.T, src, dst string, mode fs.FileMode) {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(dst)
	if err := os.WriteFile(dst, data, mode); err != nil {
		t.Fatal(err)
	}
	os.Chmod(dst, mode)
}

// editConfig is what the guide asks the operator to do to the example: the clocks are the site's
// (here one emulated clock on loopback instead of the placeholders, which must not be dialled),
// the push example goes, and the listener takes a free port instead of 8080; the example's
// absolute paths move into the scratch root.
func (in *install) editConfig(t *testing.T) {
	p := in.at("/etc/kaoqin/kaoqin.yaml")
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	s := string(data)
	for _, r := range []struct{ old, new string }{
		{"  listen: 127.0.0.1:8080\n", "  listen: 127.0.0.1:0\n"},
		{"  listen: 0.0.0.0:8081\n", "  listen: \"\"\n"},
	} {
		if !strings.Contains(s, r.old) {
			t.Fatalf("the example config has no %q any more; update the install test", r.old)
		}
		s = strings.Replace(s, r.old, r.new, 1)
	}
	start, end := strings.Index(s, "\nclocks:\n"), strings.Index(s, "\n# Working hours")
	if start < 0 || end < start {
		t.Fatal("the example config's clocks section is not where the install test looks for it")
	}
	s = s[:start] + "\nclocks:\n  - {name: hall, protocol: zk, address: '" + in.clockAddr + "', read: '@every 1s'}\n" + s[end:]
	if err := os.WriteFile(p, []byte(in.paths(s)), 0o640); err != nil {
		t.Fatal(err)
	}
}

// kaoqin runs the installed binary, as the service's user when asService.
func (in *install) kaoqin(t *testing.T, asService bool, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	cmd := exec.Command(in.at("/usr/local/bin/kaoqin"), in.pathArgs(args)...)
	cmd.Env, cmd.Stdin, cmd.Stdout, cmd.Stderr = in.env, strings.NewReader(stdin), &out, &errb
	cmd.Dir = in.root
	if asService {
		in.credential(cmd)
		// sudo -u starts in the operator's directory; the config's paths must not depend on it.
		cmd.Dir = os.TempDir()
	}
	err := cmd.Run()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return out.String(), errb.String(), ee.ExitCode()
		}
		t.Fatalf("kaoqin %v: %v", args, err)
	}
	return out.String(), errb.String(), 0
}

func (in *install) pathArgs(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = in.paths(a)
	}
	return out
}

func (in *install) credential(cmd *exec.Cmd) {
	if in.asRoot {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(in.uid), Gid: uint32(in.gid)}}
	}
}

// unit reads the installed unit's keys.
func (in *install) unit(t *testing.T) map[string]string {
	data, err := os.ReadFile(in.at("/etc/systemd/system/kaoqin.service"))
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "=")
		if ok && !strings.HasPrefix(k, "#") {
			keys[k] = v
		}
	}
	return keys
}

// start runs the unit's ExecStart in its WorkingDirectory as its User, as systemd would.
func (in *install) start(t *testing.T) {
	t.Helper()
	u := in.unit(t)
	if u["User"] != "kaoqin" || u["WorkingDirectory"] != "/var/lib/kaoqin" {
		t.Fatalf("unit: User=%s WorkingDirectory=%s; the guide's directories are for kaoqin in /var/lib/kaoqin", u["User"], u["WorkingDirectory"])
	}
	argv := strings.Fields(in.paths(u["ExecStart"]))
	in.logs = &lockedBuffer{}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = in.at(u["WorkingDirectory"]), in.env, in.logs, in.logs
	in.credential(cmd)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	in.daemon, in.done = cmd, make(chan error, 1)
	go func() { in.done <- cmd.Wait() }()
	re := regexp.MustCompile(`msg="kaoqin serving" http=(\S+)`)
	deadline := time.Now().Add(30 * time.Second)
	for {
		if m := re.FindStringSubmatch(in.logs.String()); m != nil {
			in.addr = m[1]
			break
		}
		select {
		case err := <-in.done:
			in.daemon = nil
			t.Fatalf("the daemon exited: %v\n%s", err, in.logs.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("the daemon did not start in 30 s:\n%s", in.logs.String())
		}
	}
	// Its log speaks the deployment's zone, though TZ=UTC.
	if !regexp.MustCompile(`time=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+\+08:00 `).MatchString(in.logs.String()) {
		t.Errorf("the daemon's log is not stamped +08:00:\n%s", in.logs.String())
	}
	// Its files are the service user's, the database 0600.
	fi, err := os.Stat(in.at("/var/lib/kaoqin/kaoqin.db"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 || int(fi.Sys().(*syscall.Stat_t).Uid) != in.uid {
		t.Errorf("database: mode %o uid %d, want 600 and %d", fi.Mode().Perm(), fi.Sys().(*syscall.Stat_t).Uid, in.uid)
	}
}

func (in *install) stop(t *testing.T) {
	if in.daemon == nil {
		return
	}
	in.daemon.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-in.done:
		if err != nil {
			t.Errorf("the daemon stopped with %v:\n%s", err, in.logs.String())
		}
	case <-time.After(60 * time.Second):
		in.daemon.Process.Kill()
		<-in.done
		t.Errorf("the daemon did not stop within 60 s of SIGTERM")
	}
	in.daemon = nil
}

// checkMetrics: the built binary says which commit it is (go build records it in a git work
// tree), and the clock's counters exist from the start.
func (in *install) checkMetrics(t *testing.T) {
	t.Helper()
	resp, err := http.Get("http://" + in.addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	revision := `unknown`
	if out, err := exec.Command("git", "-C", in.repo, "rev-parse", "HEAD").Output(); err == nil {
		revision = strings.TrimSpace(string(out)) + `(\+dirty)?`
	}
	re := regexp.MustCompile(`(?m)^kaoqin_build_info\{goversion="go[^"]+",revision="` + revision + `",version="[^"]+"\} 1$`)
	if !re.Match(body) {
		t.Errorf("metrics: no kaoqin_build_info with revision %s:\n%s", revision, regexp.MustCompile(`(?m)^kaoqin_build_info.*$`).Find(body))
	}
	for _, k := range ingest.ReadErrorKinds {
		if !bytes.Contains(body, []byte(`kaoqin_clock_read_errors_total{clock="hall",kind="`+k+`"}`)) {
			t.Errorf("metrics: no kaoqin_clock_read_errors_total for kind %s", k)
		}
	}
}

// login logs in over HTTP and, when it should succeed, uses the session.
func (in *install) login(t *testing.T, name, password string, want int) {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"name": name, "password": password})
	resp, err := http.Post("http://"+in.addr+"/api/v1/login", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != want {
		t.Fatalf("login %s: got %d, want %d\n%s", name, resp.StatusCode, want, in.logs.String())
	}
	if want != http.StatusOK {
		return
	}
	req, _ := http.NewRequest("GET", "http://"+in.addr+"/api/v1/me", nil)
	for _, c := range resp.Cookies() {
		req.AddCookie(c)
	}
	me, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	me.Body.Close()
	if me.StatusCode != http.StatusOK {
		t.Errorf("GET /api/v1/me after logging in as %s: %d", name, me.StatusCode)
	}
}

func (in *install) addUser(t *testing.T, name, password string) {
	t.Helper()
	if out, errs, code := in.kaoqin(t, true, password+"\n", "user", "add", "--config", "/etc/kaoqin/kaoqin.yaml", "--role", "hr", name); code != 0 {
		t.Fatalf("user add %s: %d\n%s%s", name, code, out, errs)
	}
}

// verifyUnit runs systemd-analyze verify on the installed unit, its paths moved into the scratch
// root (systemd-analyze checks that the ExecStart binary exists).
func (in *install) verifyUnit(t *testing.T, where, unit string) {
	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		t.Logf("%s: systemd-analyze verify skipped: not installed (Debian package systemd)", where)
		return
	}
	data, err := os.ReadFile(unit)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "kaoqin.service")
	if err := os.WriteFile(p, []byte(in.paths(string(data))), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("systemd-analyze", "verify", p).CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("%s: systemd-analyze verify: %v\n%s", where, err, out)
	}
}

// oldSchema replaces the database with one at an older schema (the first migrations only, as an
// earlier release left it), holding one account.
func (in *install) oldSchema(t *testing.T) {
	t.Helper()
	dbPath := in.at("/var/lib/kaoqin/kaoqin.db")
	for _, p := range []string{dbPath, dbPath + "-wal", dbPath + "-shm"} {
		os.Remove(p)
	}
	files, err := filepath.Glob("../store/migrations/sqlite/*.sql")
	if err != nil || len(files) < 3 {
		t.Fatalf("migrations: %v %v", files, err)
	}
	sort.Strings(files)
	db, err := sql.Open("sqlite", "file:"+dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	exec1 := func(q string, args ...any) {
		if _, err := db.Exec(q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	exec1(`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name VARCHAR(200) NOT NULL, applied_at VARCHAR(19) NOT NULL)`)
	old := 0
	for _, f := range files {
		name := filepath.Base(f)
		v, _ := strconv.Atoi(strings.SplitN(name, "_", 2)[0])
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		exec1(string(data))
		exec1("INSERT INTO schema_migrations VALUES (?, ?, '2026-01-01 00:00:00')", v, name)
		old = v
		if strings.Contains(string(data), "CREATE TABLE users") {
			break
		}
	}
	hash, err := web.HashPassword("old-password-1")
	if err != nil {
		t.Fatal(err)
	}
	exec1("INSERT INTO users (name, password_hash, role, created_at, updated_at) VALUES ('old-admin', ?, 'admin', '2026-01-01 00:00:00', '2026-01-01 00:00:00')", hash)
	db.Close()
	os.Chmod(dbPath, 0o600)
	in.chown(dbPath, in.uid, in.gid)
	t.Logf("older schema: version %d of %d migration files", old, len(files))
}

// expectRefused: the new binary refuses the old schema until it is migrated, and says what to do.
func (in *install) expectRefused(t *testing.T) {
	t.Helper()
	out, _, code := in.kaoqin(t, true, "", "doctor", "--config", "/etc/kaoqin/kaoqin.yaml", "--no-clocks")
	if code != 1 || !strings.Contains(out, "run `kaoqin migrate`") {
		t.Errorf("doctor on the old schema: exit %d, want 1 and a line saying to run kaoqin migrate:\n%s", code, out)
	}
	u := in.unit(t)
	argv := strings.Fields(in.paths(u["ExecStart"]))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir, cmd.Env = in.at(u["WorkingDirectory"]), in.env
	in.credential(cmd)
	outb, err := cmd.CombinedOutput()
	out = string(outb)
	if err == nil || !strings.Contains(out, "run `kaoqin migrate`") {
		t.Errorf("serve on the old schema: %v, want a refusal saying to run kaoqin migrate:\n%s", err, out)
	}
}

// lockedBuffer is an io.Writer the daemon's output goes to while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

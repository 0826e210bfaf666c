package cli

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kaoqin/kaoqin/devices/anviz/anvizemu"
	"github.com/kaoqin/kaoqin/devices/zk/zkemu"
	"github.com/kaoqin/kaoqin/internal/store"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// kaoqinBinary builds cmd/kaoqin once per test run: the crash tests need a real process to kill.
func kaoqinBinary(t testing.TB) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "kaoqin-bin-")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "kaoqin")
		out, err := exec.Command("go", "build", "-o", binPath, "../../cmd/kaoqin").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// daemonProc is a running `kaoqin serve`.
type daemonProc struct {
	cmd  *exec.Cmd
	addr chan string
	done chan error
	log  *syncBuffer
}

func startDaemon(t testing.TB, bin, cfg string) *daemonProc {
	t.Helper()
	cmd := exec.Command(bin, "serve", "--config", cfg)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	d := &daemonProc{cmd: cmd, addr: make(chan string, 1), done: make(chan error, 1), log: &syncBuffer{}}
	re := regexp.MustCompile(`msg="kaoqin serving" http=(\S+)`)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			d.log.Write([]byte(line + "\n"))
			if m := re.FindStringSubmatch(line); m != nil {
				d.addr <- m[1]
			}
		}
		io.Copy(io.Discard, stderr)
		d.done <- cmd.Wait()
	}()
	return d
}

func (d *daemonProc) kill(t *testing.T, sig syscall.Signal) error {
	t.Helper()
	d.cmd.Process.Signal(sig)
	select {
	case err := <-d.done:
		return err
	case <-time.After(30 * time.Second):
		d.cmd.Process.Kill()
		t.Fatalf("daemon did not stop after %v:\n%s", sig, d.log.String())
	}
	return nil
}

type crashRig struct {
	zkTCP, zkUDP *zkemu.Clock
	anv          *anvizemu.Emulator
	cfg          string
	mu           sync.Mutex
	n            int
}

// newCrashRig starts three emulated clocks with thousands of punches and a config that reads
// them every second.
func newCrashRig(t *testing.T) *crashRig {
	t.Helper()
	r := &crashRig{}
	var err error
	if r.zkTCP, err = zkemu.New(zkemu.Config{Location: shanghai, SplitWrites: true}); err != nil {
		t.Fatal(err)
	}
	if r.zkUDP, err = zkemu.New(zkemu.Config{Location: shanghai}); err != nil {
		t.Fatal(err)
	}
	if r.anv, err = anvizemu.New(anvizemu.Config{Now: nowIn(shanghai)}, anvizemu.Clock{DeviceID: 1}, anvizemu.Clock{DeviceID: 2}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.zkTCP.Close(); r.zkUDP.Close(); r.anv.Close() })
	r.add(t, 4000)
	ta, _ := r.zkTCP.ListenTCP("127.0.0.1:0")
	ua, _ := r.zkUDP.ListenUDP("127.0.0.1:0")
	aa, err := r.anv.ListenTCP("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	r.cfg = filepath.Join(dir, "kaoqin.yaml")
	cfg := fmt.Sprintf(`database: {driver: sqlite, dsn: '%s'}
http: {listen: '127.0.0.1:0'}
clocks:
  - {name: zt, protocol: zk, transport: tcp, address: '%s', read: '@every 1s', timeout: 20s}
  - {name: zu, protocol: zk, transport: udp, address: '%s', read: '@every 1s', timeout: 20s}
  - {name: a1, protocol: anviz, transport: tcp, address: '%s', device_id: 1, read: '@every 1s', timeout: 20s}
  - {name: a2, protocol: anviz, transport: tcp, address: '%s', device_id: 2, read: '@every 1s', timeout: 20s}
`, filepath.Join(dir, "k.db"), ta, ua, aa, aa)
	if err := os.WriteFile(r.cfg, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return r
}

// add punches n more times, spread over the four clocks.
func (r *crashRig) add(t *testing.T, n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	base := wallT("2026-07-01 07:00:00")
	for i := 0; i < n; i++ {
		k := r.n
		r.n++
		at := base.Add(time.Duration(k) * 17 * time.Second)
		user := fmt.Sprint(1000 + k%300)
		var err error
		switch k % 4 {
		case 0:
			err = r.zkTCP.AddPunch(user, at, 1, 0)
		case 1:
			err = r.zkUDP.AddPunch(user, at, 1, 0)
		case 2:
			err = r.anv.AddRecord(1, user, at)
		case 3:
			err = r.anv.AddRecord(2, user, at)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

func (r *crashRig) want() map[string][]string {
	out := map[string][]string{}
	for _, p := range r.zkTCP.Punches() {
		out["zt"] = append(out["zt"], p.UserID+"@"+store.WallString(p.Time))
	}
	for _, p := range r.zkUDP.Punches() {
		out["zu"] = append(out["zu"], p.UserID+"@"+store.WallString(p.Time))
	}
	for i, name := range []string{"a1", "a2"} {
		for _, rec := range r.anv.Records(uint32(i + 1)) {
			out[name] = append(out[name], rec.UserID+"@"+store.WallString(rec.Time))
		}
	}
	for _, v := range out {
		sort.Strings(v)
	}
	return out
}

func storedPunches(t *testing.T, s *store.Store) (map[string][]string, int) {
	t.Helper()
	ps, err := s.Punches(context.Background(), "", wallT("2000-01-01 00:00:00"), wallT("2099-01-01 00:00:00"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, p := range ps {
		out[p.Clock] = append(out[p.Clock], p.UserID+"@"+store.WallString(p.Time))
	}
	for _, v := range out {
		sort.Strings(v)
	}
	return out, len(ps)
}

// The daemon killed with SIGKILL at random moments during ingest, 20 times, restarted each time,
// while the clocks keep recording: the database ends with exactly the clocks' punches, none
// missing, none twice.
func TestServeSurvivesSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test builds and kills the daemon 20 times")
	}
	bin := kaoqinBinary(t)
	r := newCrashRig(t)
	if code, _, errs := run(t, "migrate", "--config", r.cfg); code != 0 {
		t.Fatal(errs)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 20; i++ {
		d := startDaemon(t, bin, r.cfg)
		select {
		case <-d.addr:
		case err := <-d.done:
			t.Fatalf("daemon exited early: %v\n%s", err, d.log.String())
		case <-time.After(30 * time.Second):
			t.Fatalf("daemon did not start:\n%s", d.log.String())
		}
		// A random moment inside the first reads: the fault being injected is the kill itself.
		time.Sleep(time.Duration(100+rng.IntN(1400)) * time.Millisecond)
		d.kill(t, syscall.SIGKILL)
		r.add(t, 150)
	}
	d := startDaemon(t, bin, r.cfg)
	addr := <-d.addr
	s := openForTest(t, r.cfg)
	want := r.want()
	total := 0
	for _, v := range want {
		total += len(v)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		got, n := storedPunches(t, s)
		if n >= total || time.Now().After(deadline) {
			for clock, w := range want {
				if fmt.Sprint(got[clock]) != fmt.Sprint(w) {
					t.Errorf("clock %s: stored %d punches, the clock has %d", clock, len(got[clock]), len(w))
				}
			}
			if n != total {
				t.Errorf("stored %d punches in all, the clocks have %d", n, total)
			}
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The daemon still answers, and stops cleanly on SIGTERM.
	resp, err := http.Get("http://" + addr + "/readyz")
	if err != nil || resp.StatusCode != 200 {
		t.Errorf("readyz: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	if err := d.kill(t, syscall.SIGTERM); err != nil {
		t.Errorf("SIGTERM exit: %v\n%s", err, d.log.String())
	}
	if !strings.Contains(d.log.String(), `msg=stopped`) {
		t.Errorf("no clean stop in the log:\n%s", d.log.String())
	}
}

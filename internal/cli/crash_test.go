package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
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
	"github.com/kaoqin/kaoqin/devices/zk"
	"github.com/kaoqin/kaoqin/devices/zk/zkemu"
	"github.com/kaoqin/kaoqin/internal/faults"
	"github.com/kaoqin/kaoqin/internal/store"
	"github.com/kaoqin/kaoqin/internal/store/storetest"
)

// faultRig is two ZKTeco clocks (TCP and UDP) and two Anviz clocks on one TCP bus that punch all
// the time, and a record of every punch ever made on them: a clock's log may be cleared, what was
// stored must stay stored.
type faultRig struct {
	zks  []*zkemu.Clock
	anv  *anvizemu.Emulator
	db   string // the config's database line
	dir  string
	addr map[string]string // clock name → address

	mu   sync.Mutex
	n    int
	made map[string][]string // clock name → user@time of every punch made

	// paused is held while a log is cleared: no punch lands between the check that the log is
	// stored and the clear (an operator clears a log only once it is stored).
	paused sync.Mutex
}

var zkNames, anvizNames = []string{"z1", "z2"}, []string{"a1", "a2"}

func newFaultRig(t *testing.T, backend string) *faultRig {
	t.Helper()
	r := &faultRig{dir: t.TempDir(), addr: map[string]string{}, made: map[string][]string{}}
	r.db = "database: {driver: sqlite, dsn: '" + filepath.Join(r.dir, "k.db") + "'}\n"
	if backend == "mysql" {
		r.db = "database: {driver: mysql, dsn: '" + storetest.NewMySQLBackend(t).DSN + "'}\n"
	}
	for i := range zkNames {
		c, err := zkemu.New(zkemu.Config{Location: shanghai, SplitWrites: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		var a net.Addr
		if i == 0 {
			a, err = c.ListenTCP("127.0.0.1:0")
		} else {
			a, err = c.ListenUDP("127.0.0.1:0")
		}
		if err != nil {
			t.Fatal(err)
		}
		r.zks = append(r.zks, c)
		r.addr[zkNames[i]] = a.String()
	}
	var err error
	if r.anv, err = anvizemu.New(anvizemu.Config{Now: nowIn(shanghai)}, anvizemu.Clock{DeviceID: 1}, anvizemu.Clock{DeviceID: 2}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.anv.Close() })
	aa, err := r.anv.ListenTCP("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r.addr["a1"], r.addr["a2"] = aa.String(), aa.String()
	return r
}

// config writes a config reading the named clocks every second and returns its path.
func (r *faultRig) config(t *testing.T, clocks []string) string {
	t.Helper()
	var b strings.Builder
	// The shortest lease: a killed daemon's clocks are taken over within seconds.
	b.WriteString(r.db + "http: {listen: '127.0.0.1:0'}\ningest: {lease: 3s}\nclocks:\n")
	for _, name := range clocks {
		switch name {
		case "z1":
			fmt.Fprintf(&b, "  - {name: z1, protocol: zk, transport: tcp, address: '%s', read: '@every 1s', timeout: 20s}\n", r.addr[name])
		case "z2":
			fmt.Fprintf(&b, "  - {name: z2, protocol: zk, transport: udp, address: '%s', read: '@every 1s', timeout: 20s}\n", r.addr[name])
		case "a1", "a2":
			fmt.Fprintf(&b, "  - {name: %s, protocol: anviz, transport: tcp, address: '%s', device_id: %s, read: '@every 1s', timeout: 20s}\n",
				name, r.addr[name], name[1:])
		}
	}
	path := filepath.Join(r.dir, "kaoqin.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// punch makes one punch on clock (one of zkNames, anvizNames) at a time no other punch has.
func (r *faultRig) punch(clock string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	k := r.n
	r.n++
	at := wallT("2026-07-01 07:00:00").Add(time.Duration(k) * 7 * time.Second)
	user := fmt.Sprint(1000 + k%300)
	var err error
	switch clock {
	case "z1":
		err = r.zks[0].AddPunch(user, at, 1, 0)
	case "z2":
		err = r.zks[1].AddPunch(user, at, 1, 0)
	case "a1":
		err = r.anv.AddRecord(1, user, at)
	case "a2":
		err = r.anv.AddRecord(2, user, at)
	}
	if err == nil {
		r.made[clock] = append(r.made[clock], user+"@"+store.WallString(at))
	}
	return err
}

// add makes n punches spread over the four clocks.
func (r *faultRig) add(t *testing.T, n int) {
	t.Helper()
	all := append(append([]string(nil), zkNames...), anvizNames...)
	for i := 0; i < n; i++ {
		if err := r.punch(all[i%len(all)]); err != nil {
			t.Fatal(err)
		}
	}
}

// keepPunching punches on every clock every few milliseconds until the returned stop is called.
func (r *faultRig) keepPunching(t *testing.T) (stop func()) {
	done, exited := make(chan struct{}), make(chan error, 1)
	go func() {
		all := append(append([]string(nil), zkNames...), anvizNames...)
		tick := time.NewTicker(8 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-done:
				exited <- nil
				return
			case <-tick.C:
				r.paused.Lock()
				err := r.punch(all[i%len(all)])
				r.paused.Unlock()
				if err != nil {
					exited <- err
					return
				}
			}
		}
	}()
	return func() {
		close(done)
		if err := <-exited; err != nil {
			t.Fatal(err)
		}
	}
}

// clearAndRefill waits until everything on clock z1 is stored, clears its log over the protocol,
// as an operator does when it is full, and punches more records onto it than it held: a reader
// that trusted the position alone would take the first of them for stored.
func (r *faultRig) clearAndRefill(t *testing.T, s *store.Store) {
	t.Helper()
	r.paused.Lock()
	defer r.paused.Unlock()
	deadline := time.Now().Add(60 * time.Second)
	for {
		got, _ := storedPunches(t, s)
		r.mu.Lock()
		want := len(r.made["z1"])
		r.mu.Unlock()
		if len(got["z1"]) == want {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("z1 not stored within 60 s before clearing it: %d of %d", len(got["z1"]), want)
		}
		time.Sleep(50 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := zk.Dial(ctx, zk.Options{Network: "tcp", Address: r.addr["z1"]})
	if err != nil {
		t.Fatal(err)
	}
	held := len(r.zks[0].Punches())
	err = c.ClearAttendanceLog(ctx)
	c.Close()
	if err != nil {
		t.Fatal(err)
	}
	if n := len(r.zks[0].Punches()); n != 0 {
		t.Fatalf("z1 after clearing: %d punches, want 0", n)
	}
	for i := 0; i < held+50; i++ {
		if err := r.punch("z1"); err != nil {
			t.Fatal(err)
		}
	}
}

func (r *faultRig) want() (map[string][]string, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	out, n := map[string][]string{}, 0
	for clock, v := range r.made {
		out[clock] = append([]string(nil), v...)
		sort.Strings(out[clock])
		n += len(v)
	}
	return out, n
}

// startDaemonEnv is startDaemon with extra environment variables.
func startDaemonEnv(t *testing.T, bin, cfg string, env ...string) *daemonProc {
	t.Helper()
	cmd := exec.Command(bin, "serve", "--config", cfg)
	cmd.Env = append(os.Environ(), env...)
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

// crashRound is one life of the daemon: the clocks it reads, and how it dies.
type crashRound struct {
	clocks []string
	// fault is armed in the daemon (KAOQIN_FAULT); a kill fault must kill it at its point.
	fault string
	// clearZ1 clears and refills z1's log once the daemon has stored it.
	clearZ1 bool
}

// The daemon killed at each dangerous moment of a read (inside the punch transaction, between
// the commit and the Anviz clear, between the clock read and the store), failing a commit, and
// killed at random moments, while the clocks keep punching the whole time; once z1's log is
// cleared and refilled. Afterwards the database holds every punch the clocks ever recorded,
// exactly once, and no Anviz clock still holds an unread mark: no mark was cleared unstored.
func TestCrashAtFaultPoints(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test builds the daemon and kills it about 12 times per database")
	}
	bin := kaoqinBinary(t)
	all := append(append([]string(nil), zkNames...), anvizNames...)
	rounds := []crashRound{
		// A cursor saved before its punches are committed is lost with them here.
		{clocks: zkNames, fault: faults.PunchesBeforeCursor + ":kill@1"},
		// Marks cleared before the punches are committed are lost here.
		{clocks: anvizNames, fault: faults.PunchesBeforeCursor + ":kill@1"},
		{clocks: zkNames, fault: faults.BeforeCommit + ":kill@2"},
		{clocks: anvizNames, fault: faults.BeforeCommit + ":kill@2"},
		// Stored but not cleared: the next read brings the same records, absorbed as duplicates.
		{clocks: anvizNames, fault: faults.AfterCommitBeforeClear + ":kill@1"},
		// A failed commit must keep the marks: a caller ignoring the error clears them.
		{clocks: anvizNames, fault: faults.BeforeCommit + ":error@1"},
		{clocks: zkNames, fault: faults.BeforeCommit + ":error@1"},
		{clocks: all, fault: faults.ClockRead + ":kill@3"},
		// A cleared and refilled log must be read from its start, not from the old position.
		{clocks: zkNames, clearZ1: true},
		{clocks: all}, {clocks: all}, {clocks: all}, {clocks: all},
	}
	for _, backend := range []string{"sqlite", "mysql"} {
		t.Run(backend, func(t *testing.T) {
			r := newFaultRig(t, backend)
			r.add(t, 400)
			cfg := r.config(t, all)
			if code, _, errs := run(t, "migrate", "--config", cfg); code != 0 {
				t.Fatal(errs)
			}
			rng := rand.New(rand.NewPCG(19, 20))
			stop := r.keepPunching(t)
			s := openForTest(t, cfg)
			for i, rd := range rounds {
				cfg := r.config(t, rd.clocks)
				var env []string
				if rd.fault != "" {
					env = append(env, faults.Env+"="+rd.fault)
				}
				d := startDaemonEnv(t, bin, cfg, env...)
				r.mu.Lock()
				t.Logf("round %d (%s %v) starts at punch %d", i, rd.fault, rd.clocks, r.n)
				r.mu.Unlock()
				crashOnce(t, d, r, s, rd, rng)
				if t.Failed() {
					stop()
					t.Fatalf("round %d (%s %v) failed", i, rd.fault, rd.clocks)
				}
			}
			stop()
			checkAllStored(t, bin, r, r.config(t, all))
		})
	}
}

// crashOnce waits for the daemon of round rd to die at its fault point, or kills it.
func crashOnce(t *testing.T, d *daemonProc, r *faultRig, s *store.Store, rd crashRound, rng *rand.Rand) {
	t.Helper()
	point, action, _ := strings.Cut(rd.fault, ":")
	action, _, _ = strings.Cut(action, "@")
	if action == "kill" {
		select {
		case err := <-d.done:
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ProcessState.String() != "signal: killed" {
				t.Errorf("daemon armed with %s: exit %v, want killed\n%s", rd.fault, err, d.log.String())
			}
			if want := "fault: " + point + ": killing the process"; !strings.Contains(d.log.String(), want) {
				t.Errorf("daemon armed with %s died elsewhere: no %q in its log\n%s", rd.fault, want, d.log.String())
			}
		case <-time.After(60 * time.Second):
			d.kill(t, syscall.SIGKILL)
			t.Errorf("daemon armed with %s never reached the point in 60 s\n%s", rd.fault, d.log.String())
		}
		return
	}
	select {
	case <-d.addr:
	case err := <-d.done:
		t.Fatalf("daemon exited early: %v\n%s", err, d.log.String())
	case <-time.After(30 * time.Second):
		d.kill(t, syscall.SIGKILL)
		t.Fatalf("daemon did not start:\n%s", d.log.String())
	}
	// Wait until the daemon works (it may first wait for a killed one's leases to expire): for
	// an error fault, until it fired; otherwise until it stored punches.
	want := `msg="punches stored"`
	if action == "error" {
		want = "fault: " + point + ": error injected"
	}
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(d.log.String(), want) {
		if time.Now().After(deadline) {
			d.kill(t, syscall.SIGKILL)
			t.Fatalf("daemon of round %s %v: no %q in 60 s\n%s", rd.fault, rd.clocks, want, d.log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if rd.clearZ1 {
		r.clearAndRefill(t, s)
	}
	// A random moment of the reads that follow: the fault being injected is the kill itself.
	time.Sleep(time.Duration(200+rng.IntN(1800)) * time.Millisecond)
	d.kill(t, syscall.SIGKILL)
}

// checkAllStored runs the daemon unharmed until it has stored every punch ever made, then
// compares: each punch once, none missing, no Anviz mark left.
func checkAllStored(t *testing.T, bin string, r *faultRig, cfg string) {
	t.Helper()
	d := startDaemonEnv(t, bin, cfg)
	defer d.kill(t, syscall.SIGTERM)
	s := openForTest(t, cfg)
	want, total := r.want()
	deadline := time.Now().Add(90 * time.Second)
	for {
		got, n := storedPunches(t, s)
		marks := r.anv.NewCount(1) + r.anv.NewCount(2)
		if n >= total && marks == 0 || time.Now().After(deadline) {
			for _, clock := range append(append([]string(nil), zkNames...), anvizNames...) {
				if g, w := got[clock], want[clock]; fmt.Sprint(g) != fmt.Sprint(w) {
					missing, twice := diffPunches(g, w)
					t.Errorf("clock %s: stored %d punches, the clock recorded %d; missing %d %q, stored twice or unknown %d %q",
						clock, len(g), len(w), len(missing), firstOf(missing, 3), len(twice), firstOf(twice, 3))
				}
			}
			if n != total {
				t.Errorf("stored %d punches in all, the clocks recorded %d", n, total)
			}
			if marks != 0 {
				t.Errorf("Anviz new marks left after the last reads: %d, want 0", marks)
			}
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// diffPunches returns what want has and got lacks, and what got has beyond want (sorted inputs).
func diffPunches(got, want []string) (missing, extra []string) {
	count := map[string]int{}
	for _, w := range want {
		count[w]++
	}
	for _, g := range got {
		count[g]--
	}
	for k, n := range count {
		for ; n > 0; n-- {
			missing = append(missing, k)
		}
		for ; n < 0; n++ {
			extra = append(extra, k)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	return missing, extra
}

func firstOf(xs []string, n int) []string { return xs[:min(n, len(xs))] }

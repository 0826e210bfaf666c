package cli

import (
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kaoqin/kaoqin/devices/anviz/anvizemu"
	"github.com/kaoqin/kaoqin/devices/zk/zkemu"
	"github.com/kaoqin/kaoqin/internal/store"
)

var shanghai, _ = time.LoadLocation("Asia/Shanghai")

func wallT(s string) time.Time {
	t, err := time.Parse(store.WallLayout, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestDevicesAgainstZKEmulator(t *testing.T) {
	for _, transport := range []string{"tcp", "udp"} {
		t.Run(transport, func(t *testing.T) {
			emu, err := zkemu.New(zkemu.Config{CommKey: 4242, SerialNumber: "CLI0001", Location: shanghai, TimeOffset: 90 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			defer emu.Close()
			for i := 0; i < 25; i++ {
				emu.AddPunch(fmt.Sprint(i%4+1), wallT("2026-07-06 08:00:00").Add(time.Duration(i)*time.Minute), 1, 0)
			}
			var addr string
			if transport == "tcp" {
				a, _ := emu.ListenTCP("127.0.0.1:0")
				addr = a.String()
			} else {
				a, _ := emu.ListenUDP("127.0.0.1:0")
				addr = a.String()
			}
			base := []string{"--address", addr, "--protocol", "zk", "--transport", transport, "--commkey", "4242"}
			code, out, errs := run(t, append([]string{"devices", "info"}, base...)...)
			if code != 0 || !strings.Contains(out, "CLI0001") || !strings.Contains(out, "records        25 of 100000") {
				t.Fatalf("info: got %d\n%s%s", code, out, errs)
			}
			if m := regexp.MustCompile(`skew\s+(\S+)`).FindStringSubmatch(out); m == nil || !strings.HasPrefix(m[1], "1m") {
				t.Errorf("info: skew line missing or wrong (want about 1m30s):\n%s", out)
			}
			code, out, errs = run(t, append([]string{"devices", "time", "--set"}, base...)...)
			if code != 0 || !regexp.MustCompile(`skew\s+(0s|-?1s)\n`).MatchString(out) {
				t.Errorf("time --set: got %d\n%s%s", code, out, errs)
			}
			file := filepath.Join(t.TempDir(), "log.csv")
			code, out, errs = run(t, append([]string{"devices", "pull", "--out", file}, base...)...)
			if code != 0 {
				t.Fatalf("pull: got %d %s %s", code, out, errs)
			}
			rows := readCSV(t, file)
			if len(rows) != 26 || strings.Join(rows[0], ",") != "clock,user_id,time,verify,state" || rows[1][2] != "2026-07-06 08:00:00" {
				t.Errorf("pull: got %d rows, header %v, first %v", len(rows), rows[0], rows[1])
			}
			// A wrong comm key is refused with a message and exit 1.
			bad := []string{"devices", "info", "--address", addr, "--transport", transport, "--commkey", "1"}
			if code, _, errs := run(t, bad...); code != 1 || errs == "" {
				t.Errorf("wrong comm key: got %d %q, want 1 and a message", code, errs)
			}
		})
	}
}

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func TestDevicesAgainstAnvizBus(t *testing.T) {
	emu, err := anvizemu.New(anvizemu.Config{Now: nowIn(shanghai)}, anvizemu.Clock{DeviceID: 1}, anvizemu.Clock{DeviceID: 2, SerialNumber: "BUS-TWO"})
	if err != nil {
		t.Fatal(err)
	}
	defer emu.Close()
	for i := 0; i < 30; i++ {
		emu.AddRecord(2, fmt.Sprint(100+i), wallT("2026-07-06 08:00:00").Add(time.Duration(i)*time.Minute))
	}
	path, err := emu.ServePTY()
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	base := []string{"--protocol", "anviz", "--serial", path, "--baud", "9600", "--device-id", "2"}
	code, out, errs := run(t, append([]string{"devices", "info"}, base...)...)
	if code != 0 || !strings.Contains(out, "BUS-TWO") || !strings.Contains(out, "30 new") {
		t.Fatalf("info: got %d\n%s%s", code, out, errs)
	}
	file := filepath.Join(t.TempDir(), "log.csv")
	code, out, errs = run(t, append([]string{"devices", "pull", "--out", file}, base...)...)
	if code != 0 {
		t.Fatalf("pull: %d %s %s", code, out, errs)
	}
	if rows := readCSV(t, file); len(rows) != 31 {
		t.Errorf("pull: got %d rows, want 31", len(rows))
	}
	if n := emu.NewCount(2); n != 30 {
		t.Errorf("pull touched the new marks: %d left, want 30", n)
	}
}

// syncBuffer is written by a running command and read by the test.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitFor polls out until re matches, or fails the test after a deadline.
func waitFor(t *testing.T, out *syncBuffer, re *regexp.Regexp) []string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if m := re.FindStringSubmatch(out.String()); m != nil {
			return m
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("output never matched %v:\n%s", re, out.String())
	return nil
}

func TestSimZKServesTheCLI(t *testing.T) {
	punches := writeFile(t, "p.csv", "user_id,time\n7,2026-07-06 08:01:00\n8,2026-07-06 08:02:00\n")
	ctx, cancel := context.WithCancel(context.Background())
	var out, errs syncBuffer
	done := make(chan int)
	go func() {
		done <- Run(ctx, []string{"sim", "zk", "--listen", "127.0.0.1:0", "--udp", "--punches", punches, "--users", "3"}, &out, &errs)
	}()
	m := waitFor(t, &out, regexp.MustCompile(`listening on udp (\S+)\n`))
	code, o, e := run(t, "devices", "info", "--address", m[1], "--transport", "udp")
	if code != 0 || !strings.Contains(o, "records        2 of") || !strings.Contains(o, "users          3 of") {
		t.Errorf("info against sim: %d\n%s%s", code, o, e)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("sim exit: got %d (%s), want 0", code, errs.String())
	}
	bad := writeFile(t, "bad.csv", "user_id,time\n7,yesterday\n")
	if code, _, e := run(t, "sim", "zk", "--listen", "127.0.0.1:0", "--punches", bad); code != 2 || !strings.Contains(e, bad+":2:") {
		t.Errorf("bad punches: got %d %q, want 2 naming %s:2", code, e, bad)
	}
}

func TestSimAnvizPTY(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var out, errs syncBuffer
	done := make(chan int)
	go func() {
		done <- Run(ctx, []string{"sim", "anviz", "--pty", "--ids", "1,2", "--baud", "0"}, &out, &errs)
	}()
	m := waitFor(t, &out, regexp.MustCompile(`on pty (\S+) at`))
	code, o, e := run(t, "devices", "time", "--protocol", "anviz", "--serial", m[1], "--device-id", "1")
	if code != 0 || !strings.Contains(o, "skew") {
		t.Errorf("time against sim: %d\n%s%s", code, o, e)
	}
	cancel()
	<-done
	if code, _, e := run(t, "sim", "anviz", "--pty", "--ids", "1,x"); code != 2 || !strings.Contains(e, `"x" is not a device id`) {
		t.Errorf("bad ids: got %d %q", code, e)
	}
}

func TestDevicesUnknownAndEnroll(t *testing.T) {
	cfg := tempConfig(t, "sqlite")
	if code, _, errs := run(t, "migrate", "--config", cfg); code != 0 {
		t.Fatal(errs)
	}
	roster := writeFile(t, "staff.csv", "staff_id,name,window,unit\n1001,张三,婚姻登记,民政局\n")
	if code, _, errs := run(t, "import", "staff", "--config", cfg, roster); code != 0 {
		t.Fatal(errs)
	}
	s := openForTest(t, cfg)
	if _, err := s.InsertPunches(context.Background(), []store.Punch{{Clock: "hall", UserID: "77", Time: wallT("2026-07-06 08:01:00")}}, nil); err != nil {
		t.Fatal(err)
	}
	code, out, _ := run(t, "devices", "unknown", "--config", cfg)
	if code != 0 || !regexp.MustCompile(`hall\s+77\s+1\s+2026-07-06 08:01:00`).MatchString(out) {
		t.Fatalf("unknown: got %d\n%s", code, out)
	}
	if code, _, errs := run(t, "devices", "enroll", "--config", cfg, "--clock", "hall", "--user", "77", "--staff", "nobody"); code != 2 || !strings.Contains(errs, `no staff member "nobody"`) {
		t.Errorf("enroll unknown staff: got %d %q", code, errs)
	}
	if code, _, errs := run(t, "devices", "enroll", "--config", cfg, "--clock", "gate", "--user", "77", "--staff", "1001"); code != 2 || !strings.Contains(errs, `no clock named "gate"`) {
		t.Errorf("enroll unknown clock: got %d %q", code, errs)
	}
	if code, _, errs := run(t, "devices", "enroll", "--config", cfg, "--clock", "hall", "--user", "77", "--staff", "1001"); code != 0 {
		t.Fatalf("enroll: %d %s", code, errs)
	}
	if code, out, _ := run(t, "devices", "unknown", "--config", cfg); code != 0 || !strings.Contains(out, "no unknown clock users") {
		t.Errorf("after enrolment: got %d\n%s", code, out)
	}
}

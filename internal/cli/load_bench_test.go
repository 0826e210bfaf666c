package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kaoqin/kaoqin/devices/anviz/anvizemu"
	"github.com/kaoqin/kaoqin/devices/zk/zkemu"
)

// BenchmarkDaemon200Clocks runs the real daemon against 200 emulated clocks (70 ZKTeco over TCP,
// 70 over UDP, 60 Anviz over TCP; 500 punches each, 100,000 in all) read on one schedule, and
// measures a round: from the scheduled start until every clock was read and every punch stored.
// A second round reads 50 new punches per clock. It reports the daemon's peak resident memory.
//
// Target: each round within 30 s, resident memory under 150 MB.
// Measured (go test ./internal/cli -run '^$' -bench Daemon200 -benchtime 1x; 2 cores shared with the
// 200 emulators in the benchmark process): first round (100,000 punches) 3.7 s, second round
// (10,000 new punches) 0.36 s, daemon peak RSS 66.5 MB.
func BenchmarkDaemon200Clocks(b *testing.B) {
	bin := kaoqinBinary(b)
	const perKind, punches = 70, 500
	var clocks []string
	var zks []*zkemu.Clock
	var anvs []*anvizemu.Emulator
	base := wallT("2026-07-01 08:00:00")
	total := 0
	for i := 0; i < 200; i++ {
		name := fmt.Sprintf("c%03d", i)
		switch {
		case i < 2*perKind:
			c, err := zkemu.New(zkemu.Config{Location: shanghai})
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			for j := 0; j < punches; j++ {
				c.AddPunch(strconv.Itoa(j%50+1), base.Add(time.Duration(j)*time.Minute), 1, 0)
			}
			transport := "tcp"
			var addr string
			if i < perKind {
				a, _ := c.ListenTCP("127.0.0.1:0")
				addr = a.String()
			} else {
				transport = "udp"
				a, _ := c.ListenUDP("127.0.0.1:0")
				addr = a.String()
			}
			zks = append(zks, c)
			clocks = append(clocks, fmt.Sprintf("  - {name: %s, protocol: zk, transport: %s, address: '%s', read: '@every 20s', timeout: 25s}\n", name, transport, addr))
		default:
			e, err := anvizemu.New(anvizemu.Config{Now: nowIn(shanghai)}, anvizemu.Clock{DeviceID: 1})
			if err != nil {
				b.Fatal(err)
			}
			defer e.Close()
			for j := 0; j < punches; j++ {
				e.AddRecord(1, strconv.Itoa(j%50+1), base.Add(time.Duration(j)*time.Minute))
			}
			a, err := e.ListenTCP("127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			anvs = append(anvs, e)
			clocks = append(clocks, fmt.Sprintf("  - {name: %s, protocol: anviz, transport: tcp, address: '%s', device_id: 1, read: '@every 20s', timeout: 25s}\n", name, a))
		}
		total += punches
	}
	dir := b.TempDir()
	cfgPath := filepath.Join(dir, "kaoqin.yaml")
	cfg := fmt.Sprintf("database: {driver: sqlite, dsn: '%s'}\nhttp: {listen: '127.0.0.1:0'}\nclocks:\n%s", filepath.Join(dir, "k.db"), strings.Join(clocks, ""))
	os.WriteFile(cfgPath, []byte(cfg), 0o600)
	if code := Run(b.Context(), []string{"migrate", "--config", cfgPath}, os.Stdout, os.Stderr); code != 0 {
		b.Fatal("migrate")
	}
	d := startDaemon(b, bin, cfgPath)
	defer d.cmd.Process.Signal(syscall.SIGKILL)
	addr := <-d.addr
	start := time.Now()
	stored := regexp.MustCompile(`(?m)^kaoqin_clock_punches_stored_total\{clock="c\d+"\} (\d+)$`)
	waitStored := func(want int) time.Duration {
		firstRound := start.Add(20 * time.Second)
		for {
			m := scrape(b, addr)
			n := 0
			for _, s := range stored.FindAllStringSubmatch(m, -1) {
				v, _ := strconv.Atoi(s[1])
				n += v
			}
			if n >= want {
				return time.Since(firstRound)
			}
			if time.Since(start) > 3*time.Minute {
				b.Fatalf("only %d of %d punches stored after 3 minutes\n%s", n, want, d.log.String())
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	round1 := waitStored(total)
	// Second round: 50 new punches per clock, stored at the next tick (20 s after the first).
	for _, c := range zks {
		for j := 0; j < 50; j++ {
			c.AddPunch("7", base.AddDate(0, 0, 1).Add(time.Duration(j)*time.Minute), 1, 0)
		}
	}
	for _, e := range anvs {
		for j := 0; j < 50; j++ {
			e.AddRecord(1, "7", base.AddDate(0, 0, 1).Add(time.Duration(j)*time.Minute))
		}
	}
	total += 200 * 50
	start = start.Add(20 * time.Second)
	round2 := waitStored(total)
	rss := processPeakRSS(b, d.cmd.Process.Pid)
	b.ReportMetric(round1.Seconds(), "s/round1")
	b.ReportMetric(round2.Seconds(), "s/round2")
	b.ReportMetric(float64(rss)/(1<<20), "MB-peak-RSS")
}

func processPeakRSS(b *testing.B, pid int) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	m := regexp.MustCompile(`VmHWM:\s+(\d+) kB`).FindSubmatch(data)
	if m == nil {
		b.Fatal("no VmHWM")
	}
	kb, _ := strconv.ParseInt(string(m[1]), 10, 64)
	return kb << 10
}

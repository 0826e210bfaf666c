package ingest

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kaoqin/kaoqin/devices/zk/zkemu"
	"github.com/kaoqin/kaoqin/internal/config"
	"github.com/kaoqin/kaoqin/internal/store"
	"github.com/kaoqin/kaoqin/internal/store/storetest"
)

// benchClocks starts n emulated ZKTeco clocks, each holding punches records of 20 users, and
// returns their configs read on schedule read.
func benchClocks(b *testing.B, n, punches int, read string) []config.Clock {
	b.Helper()
	base := wall("2026-10-12 08:00:00")
	out := make([]config.Clock, n)
	for i := range out {
		c, err := zkemu.New(zkemu.Config{Location: loc, SerialNumber: fmt.Sprintf("B%05d", i)})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { c.Close() })
		for k := 0; k < punches; k++ {
			if err := c.AddPunch(fmt.Sprint(100+k%20), base.Add(time.Duration(k)*time.Minute), 1, 0); err != nil {
				b.Fatal(err)
			}
		}
		a, err := c.ListenTCP("127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		out[i] = config.Clock{Name: fmt.Sprintf("c%03d", i), Protocol: "zk", Transport: "tcp", Address: a.String(),
			Read: read, TimeSync: "off", Timeout: config.Duration(50 * time.Second)}
	}
	return out
}

// benchDaemon starts a Service on st for clocks, stopped when the benchmark ends.
func benchDaemon(b *testing.B, st *store.Store, name string, lease time.Duration, clocks []config.Clock) (*Service, context.CancelFunc) {
	b.Helper()
	svc := New(Options{Store: st, Metrics: NewMetrics(prometheus.NewRegistry()), Location: loc, SkewThreshold: time.Hour,
		Identity: name, Lease: lease})
	if err := svc.Apply(clocks); err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	svc.Start(ctx)
	b.Cleanup(func() { cancel(); svc.Stop(context.Background()) })
	return svc, cancel
}

func heldBy(s *Service) int {
	s.ownMu.Lock()
	defer s.ownMu.Unlock()
	return len(s.own)
}

// readSince tells whether every clock was read (its cursor written) at or after t.
func readSince(st *store.Store, clocks []config.Clock, t time.Time) bool {
	for _, c := range clocks {
		cur, err := st.GetCursor(context.Background(), c.Name)
		if err != nil || cur.LastReadAt.Before(store.Wall(t, loc)) {
			return false
		}
	}
	return true
}

// peakRSS is the process's peak resident set (VmHWM) in MB.
func peakRSS(b *testing.B) float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		b.Skip("no /proc/self/status")
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return float64(kb) / 1024
		}
	}
	return 0
}

// BenchmarkDaemon500Clocks: one daemon holds 500 emulated clocks (100 records each) and reads
// them every 15 s — four times the usual "every minute", all due at the same second — with their
// leases renewed; it must stay under 200 MB of RSS. The figure includes the 500 emulators, which
// run in the same process. With two daemons on the Galera cluster the clocks split between them.
//
// Measured (2 shared cores, go test -run '^$' -bench Daemon500 -benchtime 1x ./ingest), peak RSS
// of the whole process, two full rounds:
//
//	sqlite, one daemon:               72–81 MB peak RSS, 500 clocks held, each read in every round
//	galera, two daemons (nodes 2, 3): 91 MB peak RSS (the process's, both daemons), 250 and 250
//
// (measured with the machine's load average above 20: every clock was still read each round).
func BenchmarkDaemon500Clocks(b *testing.B) {
	const n = 500
	b.Run("sqlite-one", func(b *testing.B) {
		clocks := benchClocks(b, n, 100, "@every 15s")
		st := storetest.SQLite(b)
		b.ResetTimer()
		start := time.Now()
		svc, _ := benchDaemon(b, st, "one", DefaultLease, clocks)
		waitBench(b, 3*time.Minute, func() bool { return readSince(st, clocks, start.Add(30*time.Second)) })
		b.ReportMetric(peakRSS(b), "MB-peak-RSS")
		b.ReportMetric(float64(heldBy(svc)), "clocks-held")
	})
	b.Run("galera-two", func(b *testing.B) {
		bs := storetest.NewGaleraBackends(b)
		clocks := benchClocks(b, n, 100, "@every 15s")
		sa := storetest.Open(b, bs[1])
		sb := storetest.Open(b, bs[2])
		b.ResetTimer()
		start := time.Now()
		a, _ := benchDaemon(b, sa, "a", DefaultLease, clocks)
		c, _ := benchDaemon(b, sb, "b", DefaultLease, clocks)
		waitBench(b, 3*time.Minute, func() bool {
			return heldBy(a)+heldBy(c) == n && readSince(sa, clocks, start.Add(30*time.Second))
		})
		b.ReportMetric(peakRSS(b), "MB-peak-RSS")
		b.ReportMetric(float64(heldBy(a)), "clocks-a")
		b.ReportMetric(float64(heldBy(c)), "clocks-b")
	})
}

// BenchmarkTakeover: two daemons share 20 clocks under the default lease (15 s); the one holding
// more dies (its database connections first, as kill -9 would leave its leases); the time until
// the survivor holds every clock must stay under the lease plus 10 s.
//
// Measured (2 shared cores, go test -run '^$' -bench Takeover -benchtime 1x ./ingest):
//
//	sqlite: 14.3 s    galera: 14.5 s
//
// (at most the lease plus one pass, 5 s; less when the dead daemon's last renewal was early).
func BenchmarkTakeover(b *testing.B) {
	for _, be := range []struct {
		name string
		open func(testing.TB) (*store.Store, *store.Store)
	}{
		{"sqlite", func(t testing.TB) (*store.Store, *store.Store) {
			// Two stores on one file: two processes' views of it.
			be := storetest.Backend{Name: "sqlite", Driver: "sqlite", DSN: filepath.Join(t.TempDir(), "kaoqin.db")}
			return storetest.Open(t, be), storetest.Open(t, be)
		}},
		{"galera", func(t testing.TB) (*store.Store, *store.Store) {
			bs := storetest.NewGaleraBackends(t)
			return storetest.Open(t, bs[1]), storetest.Open(t, bs[2])
		}},
	} {
		b.Run(be.name, func(b *testing.B) {
			clocks := benchClocks(b, 20, 10, "@every 5s")
			var total time.Duration
			for i := 0; i < b.N; i++ {
				sa, sb := be.open(b)
				a, ca := benchDaemon(b, sa, fmt.Sprint("a", i), DefaultLease, clocks)
				c, cc := benchDaemon(b, sb, fmt.Sprint("b", i), DefaultLease, clocks)
				waitBench(b, time.Minute, func() bool { return heldBy(a)+heldBy(c) == len(clocks) && heldBy(a) > 0 && heldBy(c) > 0 })
				deadSt, deadCancel, survivor := sa, ca, c
				if heldBy(c) > heldBy(a) {
					deadSt, deadCancel, survivor = sb, cc, a
				}
				start := time.Now()
				deadSt.Close()
				deadCancel()
				waitBench(b, DefaultLease+10*time.Second, func() bool { return heldBy(survivor) == len(clocks) })
				total += time.Since(start)
			}
			b.ReportMetric(total.Seconds()/float64(b.N), "s-takeover")
		})
	}
}

func waitBench(b *testing.B, within time.Duration, ok func() bool) {
	b.Helper()
	deadline := time.Now().Add(within)
	for !ok() {
		if time.Now().After(deadline) {
			b.Fatalf("not within %s", within)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

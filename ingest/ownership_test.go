package ingest

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/kaoqin/kaoqin/devices/anviz/anvizemu"
	"github.com/kaoqin/kaoqin/devices/zk/zkemu"
	"github.com/kaoqin/kaoqin/internal/config"
	"github.com/kaoqin/kaoqin/internal/store"
	"github.com/kaoqin/kaoqin/internal/store/storetest"
)

// ownedDaemon starts a Service named name on st reading clocks, stopped (leases given up) when the
// test ends or stop is called.
func ownedDaemon(t *testing.T, st *store.Store, name, site string, clocks []config.Clock, hasPort func(string) bool) (*Service, func()) {
	t.Helper()
	svc := New(Options{Store: st, Metrics: NewMetrics(prometheus.NewRegistry()), Location: loc, SkewThreshold: time.Hour,
		Logger: testLogger(t).With("daemon", name), Identity: name, Site: site, Lease: 3 * time.Second, HasPort: hasPort})
	if err := svc.Apply(clocks); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	svc.Start(ctx)
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			cancel()
			svc.Stop(context.Background())
		}
	}
	t.Cleanup(stop)
	return svc, stop
}

func zkClocks(t *testing.T, names ...string) []config.Clock {
	t.Helper()
	var out []config.Clock
	for _, n := range names {
		emu := newZK(t, zkemu.Config{}, 3)
		a, err := emu.ListenTCP("127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, config.Clock{Name: n, Protocol: "zk", Transport: "tcp", Address: a.String(), Read: "@every 1h",
			TimeSync: "off", Timeout: config.Duration(10 * time.Second)})
	}
	return out
}

func pollUntil(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 20 s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func countHeld(s *Service, names ...string) int {
	n := 0
	for _, c := range names {
		if s.holding(c) != nil {
			n++
		}
	}
	return n
}

// Two daemons on one database split the clocks; one that stops hands its clocks over at once.
func TestTwoDaemonsSplitAndHandOver(t *testing.T) {
	be := storetest.Backend{Name: "sqlite", Driver: "sqlite", DSN: filepath.Join(t.TempDir(), "kaoqin.db")}
	sa, sb := storetest.Open(t, be), storetest.Open(t, be)
	names := []string{"c1", "c2", "c3", "c4"}
	clocks := zkClocks(t, names...)
	a, stopA := ownedDaemon(t, sa, "a", "", clocks, nil)
	pollUntil(t, "a alone holds every clock", func() bool { return countHeld(a, names...) == 4 })
	b, _ := ownedDaemon(t, sb, "b", "", clocks, nil)
	pollUntil(t, "the clocks split two and two", func() bool { return countHeld(a, names...) == 2 && countHeld(b, names...) == 2 })
	for _, n := range names {
		if (a.holding(n) != nil) == (b.holding(n) != nil) {
			t.Errorf("clock %s: held by both or neither", n)
		}
	}
	if owners := b.Owners(); len(owners) != 4 {
		t.Errorf("owners seen by b: got %v, want all four clocks", owners)
	}
	stopA()
	pollUntil(t, "b holds every clock after a stopped", func() bool { return countHeld(b, names...) == 4 })
	if v := testutil.ToFloat64(b.omet.Owned); v != 4 {
		t.Errorf("kaoqin_ingest_clocks_owned of b: got %v, want 4", v)
	}
}

// A daemon reads only its site's clocks, and a serial clock only where its port is.
func TestSitesAndSerialPorts(t *testing.T) {
	st := storetest.SQLite(t)
	clocks := zkClocks(t, "north-1", "south-1")
	clocks[0].Site, clocks[1].Site = "north", "south"
	sp := &config.SerialPort{Port: "/dev/kaoqin-test-no-such-port", Baud: 9600, DataBits: 8, Parity: "none", StopBits: 1,
		Timeout: config.Duration(100 * time.Millisecond)}
	clocks = append(clocks, config.Clock{Name: "north-bus", Protocol: "anviz", Transport: "serial", Serial: sp, DeviceID: 1,
		RecordEpoch: "2000-01-02 00:00:00", Read: "@every 1h", TimeSync: "off", Timeout: config.Duration(time.Second), Site: "north"})
	n, _ := ownedDaemon(t, st, "n", "north", clocks, func(string) bool { return false })
	pollUntil(t, "the north daemon holds its network clock", func() bool { return n.holding("north-1") != nil })
	if n.holding("south-1") != nil {
		t.Error("the north daemon holds a south clock")
	}
	if n.holding("north-bus") != nil {
		t.Error("the north daemon holds a serial clock whose port is not on its machine")
	}
	if err := n.ReadNow(context.Background(), "north-1"); err != nil {
		t.Errorf("read of its own clock: %v", err)
	}
}

// A daemon whose lease passed to another commits nothing and clears no Anviz mark, even in the
// middle of a read it started while it held the lease.
func TestLostLeaseCommitsNothing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		emu := newAnviz(t, anvizemu.Config{}, 7)
		addAnviz(t, emu, 7, 40, "2026-10-12")
		a, err := emu.ListenTCP("127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		clock := config.Clock{Name: "net", Protocol: "anviz", Transport: "tcp", Address: a.String(), DeviceID: 7,
			RecordEpoch: "2000-01-02 00:00:00", Read: "@every 1h", TimeSync: "off", Timeout: config.Duration(10 * time.Second)}
		svc, _ := ownedDaemon(t, st, "old", "", []config.Clock{clock}, nil)
		pollUntil(t, "the daemon holds the clock", func() bool { return svc.holding("net") != nil })
		ten := svc.holding("net")
		// The lease passes to another daemon behind this one's back (as after a long pause).
		if err := st.ReleaseLease(ctx, ten.lease); err != nil {
			t.Fatal(err)
		}
		if _, err := st.AcquireLease(ctx, "clock/net", "new", time.Minute); err != nil {
			t.Fatal(err)
		}
		err = svc.readers["net"].r.readOnce(ctx, ten)
		if !errors.Is(err, store.ErrLeaseLost) {
			t.Fatalf("read under a lost lease: got %v, want ErrLeaseLost", err)
		}
		if n, _ := st.CountPunches(ctx, "net"); n != 0 {
			t.Errorf("punches committed under a lost lease: %d, want 0", n)
		}
		if n := emu.NewCount(7); n != 40 {
			t.Errorf("Anviz new marks after the refused commit: %d, want 40 (none cleared)", n)
		}
		if err := svc.ReadNow(ctx, "net"); err == nil {
			t.Error("ReadNow of a clock another daemon holds: got nil, want an error naming it")
		}
	})
}

func TestOwnershipMetricsLint(t *testing.T) {
	m := newOwnershipMetrics(prometheus.NewPedanticRegistry())
	m.Owner.WithLabelValues("hall", "kq-a").Set(1)
	m.Identity.WithLabelValues("kq-a", "").Set(1)
	for _, c := range []prometheus.Collector{m.Owner, m.Owned, m.Takeovers, m.Lost, m.Identity, m.LeaseError} {
		problems, err := testutil.CollectAndLint(c)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range problems {
			t.Errorf("metric %s: %s", p.Metric, p.Text)
		}
	}
}

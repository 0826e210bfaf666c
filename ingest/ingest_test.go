package ingest

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/kaoqin/kaoqin/devices/anviz"
	"github.com/kaoqin/kaoqin/devices/anviz/anvizemu"
	"github.com/kaoqin/kaoqin/devices/zk"
	"github.com/kaoqin/kaoqin/devices/zk/zkemu"
	"github.com/kaoqin/kaoqin/internal/config"
	"github.com/kaoqin/kaoqin/internal/store"
	"github.com/kaoqin/kaoqin/internal/store/storetest"
)

var loc = storetest.Location

func wall(s string) time.Time {
	t, err := time.Parse(store.WallLayout, s)
	if err != nil {
		panic(err)
	}
	return t
}

type fixture struct {
	st  *store.Store
	svc *Service
	m   *Metrics
	reg *prometheus.Registry
}

func newFixture(t *testing.T, st *store.Store, clocks ...config.Clock) *fixture {
	t.Helper()
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	svc := New(Options{Store: st, Metrics: m, Location: loc, SkewThreshold: time.Minute, Logger: testLogger(t)})
	for i := range clocks {
		if clocks[i].Timeout == 0 {
			clocks[i].Timeout = config.Duration(10 * time.Second)
		}
		if clocks[i].Read == "" {
			clocks[i].Read = "@every 1h"
		}
		if clocks[i].TimeSync == "" {
			clocks[i].TimeSync = "off"
		}
	}
	if err := svc.Apply(clocks); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	svc.Start(ctx)
	t.Cleanup(func() { cancel(); svc.Stop(context.Background()) })
	return &fixture{st: st, svc: svc, m: m, reg: reg}
}

// stored returns the punches of a clock as "user@time" strings, sorted.
func stored(t *testing.T, st *store.Store, clock string) []string {
	t.Helper()
	ps, err := st.Punches(context.Background(), clock, wall("2000-01-01 00:00:00"), wall("2099-01-01 00:00:00"))
	if err != nil {
		t.Fatal(err)
	}
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.UserID + "@" + store.WallString(p.Time)
	}
	sort.Strings(out)
	return out
}

func want(recs []string) []string {
	out := append([]string(nil), recs...)
	sort.Strings(out)
	return out
}

func zkRecords(c *zkemu.Clock) []string {
	var out []string
	for _, p := range c.Punches() {
		out = append(out, p.UserID+"@"+store.WallString(p.Time))
	}
	return want(out)
}

func anvizRecords(e *anvizemu.Emulator, id uint32) []string {
	var out []string
	for _, r := range e.Records(id) {
		out = append(out, r.UserID+"@"+store.WallString(r.Time))
	}
	return want(out)
}

func equal(a, b []string) bool { return fmt.Sprint(a) == fmt.Sprint(b) }

func newZK(t *testing.T, cfg zkemu.Config, punches int) *zkemu.Clock {
	t.Helper()
	cfg.Location = loc
	c, err := zkemu.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	base := wall("2026-07-06 08:00:00")
	for i := 0; i < punches; i++ {
		if err := c.AddPunch(fmt.Sprint(100+i%7), base.Add(time.Duration(i)*time.Minute), 1, 0); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

func TestZKReadStoresEachPunchOnce(t *testing.T) {
	for _, transport := range []string{"tcp", "udp"} {
		t.Run(transport, func(t *testing.T) {
			storetest.Each(t, func(t *testing.T, st *store.Store) {
				ctx := context.Background()
				if _, err := st.ImportStaff(ctx, []store.RosterEntry{{Staff: store.Staff{StaffID: "S100", Name: "甲", Window: "W", Unit: "U"},
					Enrollments: []store.Enrollment{{Clock: "hall", UserID: "100"}}}}, "test"); err != nil {
					t.Fatal(err)
				}
				emu := newZK(t, zkemu.Config{}, 300)
				var addr string
				if transport == "tcp" {
					a, err := emu.ListenTCP("127.0.0.1:0")
					if err != nil {
						t.Fatal(err)
					}
					addr = a.String()
				} else {
					a, err := emu.ListenUDP("127.0.0.1:0")
					if err != nil {
						t.Fatal(err)
					}
					addr = a.String()
				}
				f := newFixture(t, st, config.Clock{Name: "hall", Protocol: "zk", Transport: transport, Address: addr})
				if err := f.svc.ReadNow(ctx, "hall"); err != nil {
					t.Fatal(err)
				}
				if got, w := stored(t, st, "hall"), zkRecords(emu); !equal(got, w) {
					t.Fatalf("after first read: got %d punches, want %d", len(got), len(w))
				}
				// A second read skips everything at or before the cursor: nothing reaches the store.
				if err := f.svc.ReadNow(ctx, "hall"); err != nil {
					t.Fatal(err)
				}
				if d := testutil.ToFloat64(f.m.Duplicates.WithLabelValues("hall")); d != 0 {
					t.Errorf("duplicates after a re-read: got %v, want 0 (the cursor skips them)", d)
				}
				emu.AddPunch("100", wall("2026-07-07 08:20:00"), 1, 0)
				if err := f.svc.ReadNow(ctx, "hall"); err != nil {
					t.Fatal(err)
				}
				if got, w := stored(t, st, "hall"), zkRecords(emu); !equal(got, w) {
					t.Fatalf("after a new punch: got %d punches, want %d", len(got), len(w))
				}
				if n := testutil.ToFloat64(f.m.PunchesStored.WithLabelValues("hall")); n != 301 {
					t.Errorf("punches stored metric: got %v, want 301", n)
				}
				cur, err := st.GetCursor(ctx, "hall")
				if err != nil || cur.Position != 301 {
					t.Errorf("cursor: got %+v %v, want position 301", cur, err)
				}
				// Unknown users are stored and listed.
				u, _ := st.UnknownUsers(ctx)
				if len(u) != 6 {
					t.Errorf("unknown users: got %d, want 6 (users 101-106)", len(u))
				}
				if up := testutil.ToFloat64(f.m.Up.WithLabelValues("hall")); up != 1 {
					t.Errorf("up: got %v, want 1", up)
				}
			})
		})
	}
}

// A cleared clock log (fewer records than the cursor) is read from the start again, and what is
// new in it is stored.
func TestZKClearedLogReadAgain(t *testing.T) {
	st := storetest.SQLite(t)
	ctx := context.Background()
	emu := newZK(t, zkemu.Config{}, 50)
	a, _ := emu.ListenTCP("127.0.0.1:0")
	f := newFixture(t, st, config.Clock{Name: "hall", Protocol: "zk", Transport: "tcp", Address: a.String()})
	if err := f.svc.ReadNow(ctx, "hall"); err != nil {
		t.Fatal(err)
	}
	c, err := zk.Dial(ctx, zk.Options{Address: a.String()})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.ClearAttendanceLog(ctx); err != nil {
		t.Fatal(err)
	}
	c.Close()
	emu.AddPunch("200", wall("2026-07-08 08:00:00"), 1, 0)
	if err := f.svc.ReadNow(ctx, "hall"); err != nil {
		t.Fatal(err)
	}
	if got := stored(t, st, "hall"); len(got) != 51 {
		t.Errorf("after a cleared log: got %d stored, want 51", len(got))
	}
}

// Every fault of the ZKTeco emulator during reads: whatever fails, the store ends with exactly
// the clock's punches.
func TestZKFaultsLoseNothing(t *testing.T) {
	faults := []zkemu.Fault{
		{Kind: zkemu.DropReply, Request: zk.CmdReadBuffer},
		{Kind: zkemu.DelayReply, Request: zk.CmdReadBuffer, Delay: 3 * time.Second},
		{Kind: zkemu.CorruptChecksum, Request: zk.CmdReadBuffer, Reply: zk.CmdData, Skip: 2},
		{Kind: zkemu.ResetConnection, Request: zk.CmdReadBuffer, Reply: zk.CmdData, Skip: 5},
		{Kind: zkemu.InjectEvent, Request: zk.CmdReadBuffer, Reply: zk.CmdData, Skip: 1, Punch: zkemu.Punch{UserID: "999", Time: wall("2026-07-09 09:00:00")}},
	}
	for _, transport := range []string{"tcp", "udp"} {
		for _, fault := range faults {
			t.Run(fmt.Sprintf("%s/%d", transport, fault.Kind), func(t *testing.T) {
				st := storetest.SQLite(t)
				ctx := context.Background()
				emu := newZK(t, zkemu.Config{SplitWrites: transport == "tcp", DataSize: 1008}, 2000)
				var addr string
				if transport == "tcp" {
					a, _ := emu.ListenTCP("127.0.0.1:0")
					addr = a.String()
				} else {
					a, _ := emu.ListenUDP("127.0.0.1:0")
					addr = a.String()
				}
				f := newFixture(t, st, config.Clock{Name: "hall", Protocol: "zk", Transport: transport, Address: addr,
					Timeout: config.Duration(20 * time.Second)})
				if err := emu.Inject(fault); err != nil {
					t.Fatal(err)
				}
				r := f.svc.readers["hall"].r
				r.run(ctx) // retries inside, as a scheduled read would
				r.run(ctx)
				if got, w := stored(t, st, "hall"), zkRecords(emu); !equal(got, w) {
					t.Errorf("got %d stored, want the clock's %d", len(got), len(w))
				}
			})
		}
	}
}

func newAnviz(t *testing.T, cfg anvizemu.Config, ids ...uint32) *anvizemu.Emulator {
	t.Helper()
	cfg.Now = func() time.Time { return time.Now().In(loc) }
	var clocks []anvizemu.Clock
	for _, id := range ids {
		clocks = append(clocks, anvizemu.Clock{DeviceID: id})
	}
	e, err := anvizemu.New(cfg, clocks...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

func addAnviz(t *testing.T, e *anvizemu.Emulator, id uint32, n int, day string) {
	t.Helper()
	base := wall(day + " 08:00:00")
	for i := 0; i < n; i++ {
		if err := e.AddRecord(id, fmt.Sprint(10+i%5), base.Add(time.Duration(i)*time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
}

// Two Anviz clocks on one RS485 bus (a real pseudo-terminal), read in turn; then faults.
func TestAnvizBusOverPTY(t *testing.T) {
	st := storetest.SQLite(t)
	ctx := context.Background()
	emu := newAnviz(t, anvizemu.Config{}, 1, 2)
	addAnviz(t, emu, 1, 60, "2026-07-06")
	addAnviz(t, emu, 2, 40, "2026-07-07")
	path, err := emu.ServePTY()
	if err != nil {
		t.Skipf("no pseudo-terminal here: %v", err)
	}
	sp := &config.SerialPort{Port: path, Baud: 9600, DataBits: 8, Parity: "none", StopBits: 1, Timeout: config.Duration(100 * time.Millisecond)}
	f := newFixture(t, st,
		config.Clock{Name: "bus-1", Protocol: "anviz", Transport: "serial", Serial: sp, DeviceID: 1, RecordEpoch: "2000-01-02 00:00:00"},
		config.Clock{Name: "bus-2", Protocol: "anviz", Transport: "serial", Serial: sp, DeviceID: 2, RecordEpoch: "2000-01-02 00:00:00"})
	for _, name := range []string{"bus-1", "bus-2"} {
		if err := f.svc.ReadNow(ctx, name); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	if got, w := stored(t, st, "bus-1"), anvizRecords(emu, 1); !equal(got, w) {
		t.Errorf("bus-1: got %d, want %d", len(got), len(w))
	}
	if got, w := stored(t, st, "bus-2"), anvizRecords(emu, 2); !equal(got, w) {
		t.Errorf("bus-2: got %d, want %d", len(got), len(w))
	}
	if emu.NewCount(1) != 0 || emu.NewCount(2) != 0 {
		t.Errorf("new marks left: %d, %d; want 0, 0", emu.NewCount(1), emu.NewCount(2))
	}
	for i, k := range []anvizemu.FaultKind{anvizemu.CRCError, anvizemu.NoAnswer, anvizemu.PartialFrame, anvizemu.WrongDevice} {
		addAnviz(t, emu, 2, 30, fmt.Sprintf("2026-07-%02d", 10+i))
		if err := emu.Inject(2, anvizemu.Fault{Kind: k, Cmd: 0x40}); err != nil {
			t.Fatal(err)
		}
		f.svc.readers["bus-2"].r.run(ctx)
		if got, w := stored(t, st, "bus-2"), anvizRecords(emu, 2); !equal(got, w) {
			t.Errorf("after %v: got %d stored, want %d", k, len(got), len(w))
		}
	}
}

// While the database cannot take the punches, nothing is cleared on the clock; the next read
// stores everything.
func TestAnvizMarksKeptWhileStoreFails(t *testing.T) {
	st := storetest.SQLite(t)
	ctx := context.Background()
	emu := newAnviz(t, anvizemu.Config{}, 7)
	addAnviz(t, emu, 7, 80, "2026-07-06")
	a, err := emu.ListenTCP("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, st, config.Clock{Name: "net", Protocol: "anviz", Transport: "tcp", Address: a.String(), DeviceID: 7, RecordEpoch: "2000-01-02 00:00:00"})
	// A save that fails like a database that is down.
	dbDown := fmt.Errorf("database is down")
	r := f.svc.readers["net"].r
	conn, err := r.dial(ctx)
	if err != nil {
		t.Fatal(err)
	}
	err = conn.Pull(ctx, store.Cursor{}, func(context.Context, []Record, *store.Cursor) error { return dbDown })
	conn.Close()
	if err == nil {
		t.Fatal("pull with a failing save: got nil, want the error")
	}
	if n := emu.NewCount(7); n != 80 {
		t.Fatalf("new marks after a failed save: got %d, want 80", n)
	}
	if err := f.svc.ReadNow(ctx, "net"); err != nil {
		t.Fatal(err)
	}
	if got, w := stored(t, st, "net"), anvizRecords(emu, 7); !equal(got, w) || emu.NewCount(7) != 0 {
		t.Errorf("after recovery: got %d stored and %d marks, want %d and 0", len(got), emu.NewCount(7), len(w))
	}
}

// A clock that hangs mid-transfer times out and the others keep their schedule.
func TestHungClockDoesNotDelayOthers(t *testing.T) {
	st := storetest.SQLite(t)
	hung := newZK(t, zkemu.Config{}, 500)
	ha, _ := hung.ListenTCP("127.0.0.1:0")
	hung.Inject(zkemu.Fault{Kind: zkemu.DelayReply, Request: zk.CmdReadBuffer, Delay: time.Hour, Count: 1000})
	good := newZK(t, zkemu.Config{}, 10)
	ga, _ := good.ListenTCP("127.0.0.1:0")
	f := newFixture(t, st,
		config.Clock{Name: "hung", Protocol: "zk", Transport: "tcp", Address: ha.String(), Read: "@every 1s", Timeout: config.Duration(3 * time.Second)},
		config.Clock{Name: "good", Protocol: "zk", Transport: "tcp", Address: ga.String(), Read: "@every 1s", Timeout: config.Duration(3 * time.Second)})
	// While the hung clock's reads time out, the good one is read every second.
	deadline := time.Now().Add(20 * time.Second)
	for i := 0; ; i++ {
		good.AddPunch("1", wall("2026-07-10 08:00:00").Add(time.Duration(i)*time.Minute), 1, 0)
		target := len(good.Punches())
		for len(stored(t, st, "good")) < target {
			if time.Now().After(deadline) {
				t.Fatalf("good clock stalled at %d of %d punches", len(stored(t, st, "good")), target)
			}
			time.Sleep(50 * time.Millisecond)
		}
		if testutil.ToFloat64(f.m.ReadErrors.WithLabelValues("hung", "timeout")) >= 1 && i >= 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the hung clock never timed out")
		}
	}
	if up := testutil.ToFloat64(f.m.Up.WithLabelValues("hung")); up != 0 {
		t.Errorf("hung clock up: got %v, want 0", up)
	}
}

func TestSkewFlagsPunchesAndAutoSync(t *testing.T) {
	st := storetest.SQLite(t)
	ctx := context.Background()
	emu := newZK(t, zkemu.Config{TimeOffset: -5 * time.Minute}, 3)
	a, _ := emu.ListenTCP("127.0.0.1:0")
	f := newFixture(t, st, config.Clock{Name: "hall", Protocol: "zk", Transport: "tcp", Address: a.String(), TimeSync: "auto"})
	if err := f.svc.ReadNow(ctx, "hall"); err != nil {
		t.Fatal(err)
	}
	if s := testutil.ToFloat64(f.m.Skew.WithLabelValues("hall")); s > -290 || s < -310 {
		t.Errorf("skew: got %v s, want about -300", s)
	}
	ps, _ := st.Punches(ctx, "hall", wall("2000-01-01 00:00:00"), wall("2099-01-01 00:00:00"))
	for _, p := range ps {
		if !p.Skewed {
			t.Errorf("punch %v stored while the clock was 5 min off: got unflagged", p)
		}
	}
	if n := testutil.ToFloat64(f.m.TimeSyncs.WithLabelValues("hall")); n != 1 {
		t.Fatalf("time syncs: got %v, want 1", n)
	}
	if d := emu.Now().Sub(store.Wall(time.Now(), loc)); d > 3*time.Second || d < -3*time.Second {
		t.Errorf("clock after sync is off by %v", d)
	}
	// At most once a day.
	emu.Skew(-10 * time.Minute)
	f.svc.ReadNow(ctx, "hall")
	if n := testutil.ToFloat64(f.m.TimeSyncs.WithLabelValues("hall")); n != 1 {
		t.Errorf("second sync on the same day: got %v syncs, want 1", n)
	}
}

func TestMetricsLint(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	m := NewMetrics(reg)
	m.Up.WithLabelValues("a").Set(1)
	m.ReadErrors.WithLabelValues("a", "timeout").Inc()
	m.ReadDuration.WithLabelValues("a").Observe(1)
	for _, c := range []prometheus.Collector{m.Up, m.LastSuccess, m.LastContact, m.ReadInterval, m.ReadDuration, m.ReadErrors, m.Records,
		m.LogUsed, m.Skew, m.PunchesStored, m.Duplicates, m.UnknownUsers, m.LastPunch, m.TimeSyncs, m.StoreErrors, m.PunchWindowOpen} {
		problems, err := testutil.CollectAndLint(c)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range problems {
			t.Errorf("metric %s: %s", p.Metric, p.Text)
		}
	}
}

var _ = anviz.DefaultEpoch

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// A realtime clock's punches are stored as they happen, between scheduled reads.
func TestRealtimeSubscriptionStoresAtOnce(t *testing.T) {
	st := storetest.SQLite(t)
	emu := newZK(t, zkemu.Config{}, 0)
	a, _ := emu.ListenTCP("127.0.0.1:0")
	f := newFixture(t, st, config.Clock{Name: "rt", Protocol: "zk", Transport: "tcp", Address: a.String(), Realtime: true, Read: "@every 1h"})
	// Wait until the subscription is registered (the emulator counts REG_EVENT under the lock that
	// also records the subscription), then punch.
	deadline := time.Now().Add(10 * time.Second)
	for emu.Requests(zk.CmdRegEvent) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no realtime subscription registered")
		}
		time.Sleep(20 * time.Millisecond)
	}
	for i := 0; i < 3; i++ {
		emu.AddPunch("42", wall("2026-07-06 08:10:00").Add(time.Duration(i)*time.Minute), 1, 0)
	}
	for len(stored(t, st, "rt")) < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("realtime punches not stored: got %v", stored(t, st, "rt"))
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The scheduled read (the backstop) then finds nothing new to store twice.
	if err := f.svc.ReadNow(context.Background(), "rt"); err != nil {
		t.Fatal(err)
	}
	if got := stored(t, st, "rt"); len(got) != 3 {
		t.Errorf("after the backstop read: got %d, want 3", len(got))
	}
}

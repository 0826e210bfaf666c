package ingest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/kaoqin/kaoqin/devices/anviz/anvizemu"
	"github.com/kaoqin/kaoqin/devices/zk/zkemu"
	"github.com/kaoqin/kaoqin/internal/config"
	"github.com/kaoqin/kaoqin/internal/faults"
	"github.com/kaoqin/kaoqin/internal/store/storetest"
)

// kill ends the private server with SIGKILL, as a power cut or the OOM killer does: no clean
// shutdown, InnoDB recovers on the next start.
func (m *privateMariaDB) kill(t *testing.T) {
	t.Helper()
	if m.cmd == nil || m.cmd.Process == nil {
		return
	}
	if err := m.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	m.cmd.Wait()
	m.cmd = nil
}

// dbKillRig is a ZKTeco and an Anviz clock on a private MariaDB, read by one service.
type dbKillRig struct {
	db  *privateMariaDB
	zk  *zkemu.Clock
	anv *anvizemu.Emulator
	f   *fixture

	mu sync.Mutex
	n  int // punches made, for times no other punch has
}

func newDBKillRig(t *testing.T) *dbKillRig {
	t.Helper()
	r := &dbKillRig{db: newPrivateMariaDB(t)}
	st := storetest.Open(t, storetest.Backend{Name: "mysql", Driver: "mysql", DSN: r.db.dsn()})
	r.zk = newZK(t, zkemu.Config{}, 300)
	za, err := r.zk.ListenTCP("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r.anv = newAnviz(t, anvizemu.Config{}, 3)
	addAnviz(t, r.anv, 3, 150, "2026-07-06")
	aa, err := r.anv.ListenTCP("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r.f = newFixture(t, st,
		config.Clock{Name: "zk", Protocol: "zk", Transport: "tcp", Address: za.String(), Timeout: config.Duration(5 * time.Second)},
		config.Clock{Name: "anviz", Protocol: "anviz", Transport: "tcp", Address: aa.String(), DeviceID: 3, RecordEpoch: "2000-01-02 00:00:00",
			Timeout: config.Duration(5 * time.Second)})
	return r
}

// punch makes n punches on each clock.
func (r *dbKillRig) punch(t *testing.T, n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	base := wall("2026-07-08 07:00:00")
	for i := 0; i < n; i++ {
		at := base.Add(time.Duration(r.n) * time.Minute)
		r.n++
		if err := r.zk.AddPunch(fmt.Sprint(200+r.n%9), at, 1, 0); err != nil {
			t.Error(err)
		}
		if err := r.anv.AddRecord(3, fmt.Sprint(20+r.n%9), at); err != nil {
			t.Error(err)
		}
	}
}

// readUntilStored reads both clocks until reads succeed again (the server is back), then checks
// every punch of each clock is stored exactly once and no Anviz mark is left.
func (r *dbKillRig) readUntilStored(t *testing.T, when string) {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(60 * time.Second)
	for _, c := range []string{"zk", "anviz"} {
		for {
			err := r.f.svc.ReadNow(ctx, c)
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: %s: reads still failing after the server came back: %v", when, c, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	if got, w := stored(t, r.f.st, "zk"), zkRecords(r.zk); !equal(got, w) {
		t.Errorf("%s: zk: stored %d punches, the clock has %d", when, len(got), len(w))
	}
	if got, w := stored(t, r.f.st, "anviz"), anvizRecords(r.anv, 3); !equal(got, w) {
		t.Errorf("%s: anviz: stored %d punches, the clock has %d", when, len(got), len(w))
	}
	if n := r.anv.NewCount(3); n != 0 {
		t.Errorf("%s: anviz new marks left: %d, want 0", when, n)
	}
}

// MariaDB killed with SIGKILL while a clock is being read (its records in hand, nothing stored),
// inside the punch transaction, and at the commit; for each clock kind. The read fails as a
// database error, the Anviz marks stay, the ZKTeco cursor stays, and once the server has
// recovered the next read stores everything exactly once.
func TestMariaDBKilledDuringReadAndCommit(t *testing.T) {
	r := newDBKillRig(t)
	r.readUntilStored(t, "first read")
	points := []struct{ name, point string }{
		{"during a read", faults.ClockRead},
		{"inside the transaction", faults.PunchesBeforeCursor},
		{"at the commit", faults.BeforeCommit},
	}
	ctx := context.Background()
	for _, p := range points {
		for _, clock := range []string{"zk", "anviz"} {
			when := p.name + ", " + clock
			r.punch(t, 40)
			marks := r.anv.NewCount(3)
			cur, err := r.f.st.GetCursor(ctx, "zk")
			if err != nil {
				t.Fatal(err)
			}
			var once sync.Once
			fired := false
			disarm := faults.Set(p.point, func() error {
				once.Do(func() { r.db.kill(t); fired = true })
				return nil
			})
			err = r.f.svc.ReadNow(ctx, clock)
			disarm()
			if !fired {
				t.Fatalf("%s: the read never reached %s", when, p.point)
			}
			if err == nil {
				t.Errorf("%s: read with the server killed: got nil, want an error", when)
			} else if k := errorKind(err); k != "database" {
				t.Errorf("%s: error kind: got %s (%v), want database", when, k, err)
			}
			if n := r.anv.NewCount(3); n != marks {
				t.Errorf("%s: anviz new marks after the failed read: got %d, want %d (nothing cleared)", when, n, marks)
			}
			r.db.start(t)
			if after, err := r.f.st.GetCursor(ctx, "zk"); err != nil || after.Position != cur.Position {
				t.Errorf("%s: zk cursor after the failed read: got %d (%v), want %d (not advanced)", when, after.Position, err, cur.Position)
			}
			r.readUntilStored(t, when)
		}
	}
}

// MariaDB killed with SIGKILL at random moments while both clocks are read back to back and keep
// punching: after each recovery everything is stored exactly once, no Anviz mark lost.
func TestMariaDBKilledAtRandomMoments(t *testing.T) {
	r := newDBKillRig(t)
	r.readUntilStored(t, "first read")
	rng := rand.New(rand.NewPCG(19, 5))
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		done := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-done:
					return
				default:
				}
				r.punch(t, 5)
				r.f.svc.ReadNow(ctx, "zk")
				r.f.svc.ReadNow(ctx, "anviz")
			}
		}()
		// The fault being injected is the kill itself, at a random moment of the reads.
		time.Sleep(time.Duration(100+rng.IntN(700)) * time.Millisecond)
		r.db.kill(t)
		close(done)
		wg.Wait()
		r.db.start(t)
		r.readUntilStored(t, fmt.Sprintf("kill %d", i+1))
	}
}

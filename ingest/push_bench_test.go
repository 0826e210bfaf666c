package ingest

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/kaoqin/kaoqin/devices/zkpush"
	"github.com/kaoqin/kaoqin/devices/zkpush/pushemu"
	"github.com/kaoqin/kaoqin/internal/config"
	"github.com/kaoqin/kaoqin/internal/store"
	"github.com/kaoqin/kaoqin/internal/store/storetest"
)

// BenchmarkPushLoad200Clocks: one Receiver served on loopback takes uploads from 200 emulated push
// clocks at once, each uploading 500 punches of 20 enrolled staff in batches of 100 (a clock's
// usual batch), so 100,000 punches per round. It must reach 10,000 punches/s.
//
// Measured (2 shared cores, go test -bench PushLoad -benchtime 3x ./ingest):
//
//	SQLite:  23,000 to 27,000 punches/s
//	MariaDB: 19,000 to 22,000 punches/s (KAOQIN_TEST_MYSQL_DSN set, the dev server)
//
// The database is the bound: every batch is one transaction (punches, dirty days), then the
// clock's stamp and its read for R19; at most PushOptions.Writers (4) are stored at once.
func BenchmarkPushLoad200Clocks(b *testing.B) {
	for _, be := range []struct {
		name string
		open func(testing.TB) *store.Store
	}{{"sqlite", storetest.SQLite}, {"mysql", storetest.MySQL}} {
		b.Run(be.name, func(b *testing.B) {
			l := newPushLoad(b, be.open(b), 500)
			b.ResetTimer()
			var elapsed time.Duration
			for n := 0; n < b.N; n++ {
				elapsed += l.round(b, n)
			}
			b.StopTimer()
			l.check(b, b.N)
			b.ReportMetric(float64(b.N*l.perRound())/elapsed.Seconds(), "punches/s")
		})
	}
}

// The same load, smaller, on every test run: 200 clocks at once store every punch exactly once
// (on MariaDB concurrent uploads meet deadlocks, which are retried).
func TestPushManyClocksAtOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		l := newPushLoad(t, st, 25)
		d := l.round(t, 0)
		l.check(t, 1)
		t.Logf("%d punches from 200 clocks in %v", l.perRound(), d)
	})
}

type pushLoad struct {
	st       *store.Store
	emus     []*pushemu.Clock
	perClock int
}

const loadClocks, loadStaff = 200, 20

func newPushLoad(tb testing.TB, st *store.Store, perClock int) *pushLoad {
	ctx := context.Background()
	var cfgs []config.Clock
	var roster []store.RosterEntry
	for i := 0; i < loadClocks; i++ {
		cfgs = append(cfgs, config.Clock{Name: fmt.Sprintf("p%03d", i), SerialNumber: fmt.Sprintf("LOAD%04d", i)})
	}
	for u := 0; u < loadStaff; u++ {
		var es []store.Enrollment
		for i := 0; i < loadClocks; i++ {
			es = append(es, store.Enrollment{Clock: cfgs[i].Name, UserID: fmt.Sprint(u)})
		}
		roster = append(roster, store.RosterEntry{Staff: store.Staff{StaffID: fmt.Sprintf("S%02d", u), Name: "员工", Window: "W", Unit: "U"}, Enrollments: es})
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	f := newPushFixture(tb, st, PushOptions{Logger: logger}, nil, cfgs...)
	if _, err := st.ImportStaff(ctx, roster, "load"); err != nil {
		tb.Fatal(err)
	}
	tr := &http.Transport{MaxIdleConns: loadClocks, MaxIdleConnsPerHost: loadClocks}
	tb.Cleanup(tr.CloseIdleConnections)
	client := &http.Client{Transport: tr, Timeout: 60 * time.Second}
	l := &pushLoad{st: st, perClock: perClock}
	for i := 0; i < loadClocks; i++ {
		e := f.clock(cfgs[i].SerialNumber, pushemu.Config{Client: client, BatchSize: 100})
		if err := e.Handshake(ctx); err != nil {
			tb.Fatal(err)
		}
		l.emus = append(l.emus, e)
	}
	return l
}

func (l *pushLoad) perRound() int { return loadClocks * l.perClock }

// round adds a day of punches to every clock and has them all upload at once; it returns how long
// the uploads took (adding the punches is not timed).
func (l *pushLoad) round(tb testing.TB, n int) time.Duration {
	if b, ok := tb.(*testing.B); ok {
		b.StopTimer()
		defer b.StartTimer()
	}
	day := wall("2026-03-02 07:00:00").AddDate(0, 0, n)
	for i, e := range l.emus {
		recs := make([]zkpush.Record, l.perClock)
		for j := range recs {
			recs[j] = zkpush.Record{UserID: fmt.Sprint((i + j) % loadStaff), Time: day.Add(time.Duration(j) * 7 * time.Second), Verify: 1}
		}
		e.Add(recs...)
	}
	if b, ok := tb.(*testing.B); ok {
		b.StartTimer()
	}
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, len(l.emus))
	for _, e := range l.emus {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := e.Upload(context.Background()); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	d := time.Since(start)
	close(errs)
	for err := range errs {
		tb.Fatal(err)
	}
	return d
}

func (l *pushLoad) check(tb testing.TB, rounds int) {
	if n, _ := l.st.CountPunches(context.Background(), ""); n != int64(rounds*l.perRound()) {
		tb.Fatalf("stored %d punches, want %d", n, rounds*l.perRound())
	}
}

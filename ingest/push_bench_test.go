package ingest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

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
//	Galera:  25,800 punches/s with the machine otherwise idle (load 1); 6,500 to 12,000 with
//	         its load average above 10 (KAOQIN_TEST_GALERA_DSNS set, .ci/galera.sh's three nodes on
//	         the same two cores, each applying every write; causal reads cost about 15 %)
//
// The database is the bound: every batch is one transaction (punches, dirty days), then the
// clock's stamp and its read for R19; at most PushOptions.Writers (4) are stored at once.
func BenchmarkPushLoad200Clocks(b *testing.B) {
	for _, be := range []struct {
		name string
		open func(testing.TB) *store.Store
	}{{"sqlite", storetest.SQLite}, {"mysql", storetest.MySQL}, {"galera", storetest.Galera}} {
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

// badBody is an upload of n bytes of lines no clock can have written and that cannot be stored:
// no tab, an impossible month, no PIN (the attack: 16 such 4 MiB bodies at once drove
// the daemon to 3.26 GB, every bad line kept).
func badBody(n int) []byte {
	lines := []string{"garbage\n", "1\t2026-13-01 00:00:00\t0\t1\t0\t0\t0\n", "\t2026-07-06 08:00:00\n", "x\n"}
	b := make([]byte, 0, n)
	for i := 0; len(b) < n; i++ {
		l := lines[i%len(lines)]
		if len(b)+len(l) > n {
			l = strings.Repeat("y", n-len(b))
		}
		b = append(b, l...)
	}
	return b
}

// serveBad has r take one bad upload (in process, no network) and returns the bytes allocated.
func serveBad(tb testing.TB, r *Receiver, body []byte) uint64 {
	req := httptest.NewRequest(http.MethodPost, "/iclock/cdata?SN=SN1&table=ATTLOG&Stamp=1", bytes.NewReader(body))
	req.ContentLength = int64(len(body))
	rec := httptest.NewRecorder()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	r.ServeHTTP(rec, req)
	runtime.ReadMemStats(&after)
	if rec.Code != http.StatusOK || strings.TrimSpace(rec.Body.String()) != "OK: 0" {
		tb.Fatalf("bad upload: got %d %q, want OK: 0", rec.Code, rec.Body)
	}
	return after.TotalAlloc - before.TotalAlloc
}

// BenchmarkPushMalformedUpload: a 4 MiB upload (the body cap) of 266,000 lines that cannot be
// stored, through the Receiver. It must stay under 3× the body cap: the body is read into one
// buffer of its size, ten bad lines are kept for the log and the rest only counted.
//
// Measured (2 shared cores, go test -bench MalformedUpload -benchmem -benchtime 20x ./ingest):
//
//	4,204,612 B/op (1.00× the body), 88 allocs/op, 46 ms/op
//
// Before (every bad line kept with its text, the body read by io.ReadAll): 83,222,240 bytes
// allocated per upload (19.8× the body), 41 MB still in use when it was answered "OK: 266306".
func BenchmarkPushMalformedUpload(b *testing.B) {
	st := storetest.SQLite(b)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	f := newPushFixture(b, st, PushOptions{Logger: logger, Rate: 1e9, Burst: 1e9}, nil, config.Clock{Name: "lobby", SerialNumber: "SN1"})
	body := badBody(4 << 20)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	b.ResetTimer()
	var total uint64
	for i := 0; i < b.N; i++ {
		total += serveBad(b, f.r, body)
	}
	b.ReportMetric(float64(total)/float64(b.N)/float64(len(body)), "x-body")
}

// A bad upload at the body cap allocates under 3× the cap, and stores and acknowledges nothing.
func TestPushBadUploadStaysNearBodyCap(t *testing.T) {
	st := storetest.SQLite(t)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	f := newPushFixture(t, st, PushOptions{Logger: logger}, nil, config.Clock{Name: "lobby", SerialNumber: "SN1"})
	body := badBody(4 << 20)
	if got := serveBad(t, f.r, body); got > 3*uint64(len(body)) {
		t.Errorf("a %d-byte bad upload allocated %d bytes (%.1f×), want under 3×", len(body), got, float64(got)/float64(len(body)))
	}
	if n, _ := st.CountPunches(context.Background(), ""); n != 0 {
		t.Errorf("punches: got %d, want 0", n)
	}
	if n, want := testutil.ToFloat64(f.pm.BadLines.WithLabelValues("lobby")), zkpush.CountLines(body); n != float64(want) {
		t.Errorf("lines counted: got %v, want every bad line (%d)", n, want)
	}
}

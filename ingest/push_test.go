package ingest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/kaoqin/kaoqin/devices/zk"
	"github.com/kaoqin/kaoqin/devices/zkpush"
	"github.com/kaoqin/kaoqin/devices/zkpush/pushemu"
	"github.com/kaoqin/kaoqin/internal/config"
	"github.com/kaoqin/kaoqin/internal/store"
	"github.com/kaoqin/kaoqin/internal/store/storetest"
)

type pushFixture struct {
	st  *store.Store
	r   *Receiver
	m   *Metrics
	pm  *PushMetrics
	srv *httptest.Server
}

var fastRetries = []time.Duration{time.Millisecond, time.Millisecond, time.Millisecond}

// newPushFixture serves a Receiver for clocks on loopback; wrap, if not nil, sits in front of it.
func newPushFixture(t testing.TB, st *store.Store, o PushOptions, wrap func(http.Handler) http.Handler, clocks ...config.Clock) *pushFixture {
	t.Helper()
	reg := prometheus.NewRegistry()
	o.Store, o.Metrics, o.PushMetrics = st, NewMetrics(reg), NewPushMetrics(reg)
	if o.Location == nil {
		o.Location = loc
	}
	if o.Logger == nil {
		if tt, ok := t.(*testing.T); ok {
			o.Logger = testLogger(tt)
		}
	}
	r := NewReceiver(o)
	for i := range clocks {
		clocks[i].Protocol = "zk-push"
	}
	if err := st.SyncClocks(context.Background(), storeClocksOf(clocks)); err != nil {
		t.Fatal(err)
	}
	r.Apply(clocks)
	var h http.Handler = r
	if wrap != nil {
		h = wrap(r)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &pushFixture{st: st, r: r, m: o.Metrics, pm: o.PushMetrics, srv: srv}
}

func storeClocksOf(cs []config.Clock) []store.Clock {
	out := make([]store.Clock, len(cs))
	for i, c := range cs {
		out[i] = store.Clock{Name: c.Name, Protocol: c.Protocol, SerialNumber: c.SerialNumber}
	}
	return out
}

func (f *pushFixture) clock(sn string, cfg pushemu.Config) *pushemu.Clock {
	cfg.Server, cfg.SN = f.srv.URL, sn
	if cfg.RetryDelays == nil {
		cfg.RetryDelays = fastRetries
	}
	if cfg.Location == nil {
		cfg.Location = loc
	}
	return pushemu.New(cfg)
}

func punchesOf(n int, day string, user func(i int) string) []zkpush.Record {
	out := make([]zkpush.Record, n)
	for i := range out {
		out[i] = zkpush.Record{UserID: user(i), Time: wall(day + " 08:00:00").Add(time.Duration(i) * time.Second), Verify: 1}
	}
	return out
}

func recordStrings(recs []zkpush.Record) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.UserID + "@" + store.WallString(r.Time)
	}
	return want(out)
}

// The clock sets its time from the handshake's Date header and TimeZone: afterwards it shows the
// server's local time, in zones east and west of Greenwich, with half hours and with summer time,
// whatever zone the daemon process runs in.
func TestPushHandshakeSetsClockToServerLocalTime(t *testing.T) {
	st := storetest.SQLite(t)
	for _, zone := range []string{"Asia/Shanghai", "Asia/Kolkata", "America/New_York", "UTC"} {
		t.Run(zone, func(t *testing.T) {
			zl, err := time.LoadLocation(zone)
			if err != nil {
				t.Fatal(err)
			}
			// The server's clock: a summer morning in zone, moving with real time.
			base, start := time.Date(2026, 7, 6, 9, 0, 0, 0, zl), time.Now()
			now := func() time.Time { return base.Add(time.Since(start)) }
			f := newPushFixture(t, st, PushOptions{Location: zl, Now: now}, nil, config.Clock{Name: "c", SerialNumber: "SN1"})
			// The clock believes it is three and a half hours off, and keeps UTC+8 wall time.
			emu := f.clock("SN1", pushemu.Config{Location: loc, ClockError: -210 * time.Minute, Now: now})
			if err := emu.Handshake(context.Background()); err != nil {
				t.Fatal(err)
			}
			got, wantT := emu.Time(), store.Wall(now(), zl)
			if d := got.Sub(wantT); d < -2*time.Second || d > 2*time.Second {
				t.Errorf("clock after handshake: got %s, want the server's local time %s", store.WallString(got), store.WallString(wantT))
			}
			if emu.TimeSets() != 1 {
				t.Errorf("time sets: got %d, want 1", emu.TimeSets())
			}
			// A second handshake finds it right and leaves it alone.
			if err := emu.Handshake(context.Background()); err != nil {
				t.Fatal(err)
			}
			if emu.TimeSets() != 1 {
				t.Errorf("time sets after a second handshake: got %d, want 1", emu.TimeSets())
			}
		})
	}
}

// The Date header is GMT as HTTP requires and TimeZone the zone's offset in hours.
func TestPushHandshakeReply(t *testing.T) {
	st := storetest.SQLite(t)
	now := func() time.Time { return time.Date(2026, 7, 6, 9, 0, 0, 0, loc) }
	f := newPushFixture(t, st, PushOptions{Now: now, Delay: 7 * time.Second}, nil, config.Clock{Name: "c", SerialNumber: "SN1"})
	resp, err := http.Get(f.srv.URL + "/iclock/cdata?SN=SN1&options=all&pushver=2.4.1&language=83")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if got, want := resp.Header.Get("Date"), "Mon, 06 Jul 2026 01:00:00 GMT"; got != want {
		t.Errorf("Date: got %q, want %q", got, want)
	}
	for _, line := range []string{"GET OPTION FROM: SN1", "ATTLOGStamp=0", "Delay=7", "TransInterval=1", "Realtime=1", "Encrypt=0", "TimeZone=8"} {
		if !strings.Contains(string(body), line+"\n") {
			t.Errorf("reply lacks %q:\n%s", line, body)
		}
	}
	if got := testutil.ToFloat64(f.m.ReadInterval.WithLabelValues("c")); got != 7 {
		t.Errorf("read interval: got %v, want 7", got)
	}
}

// lossy drops the OK of the first n uploads after they were stored, as a network failure would.
func lossy(n int) func(http.Handler) http.Handler {
	var mu sync.Mutex
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			if req.Method != http.MethodPost || !strings.Contains(req.URL.RawQuery, "table=ATTLOG") {
				next.ServeHTTP(w, req)
				return
			}
			rec := httptest.NewRecorder()
			next.ServeHTTP(rec, req)
			mu.Lock()
			drop := n > 0 && rec.Code == http.StatusOK
			if drop {
				n--
			}
			mu.Unlock()
			if drop {
				http.Error(w, "bad gateway", http.StatusBadGateway)
				return
			}
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.WriteHeader(rec.Code)
			w.Write(rec.Body.Bytes())
		})
	}
}

// Uploads whose OK is lost are sent again (three retries, then offline and again after the next
// handshake); every punch is stored exactly once.
func TestPushLostOKStoresNothingTwice(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		var stores atomic.Int64
		f := newPushFixture(t, st, PushOptions{Stored: func() { stores.Add(1) }}, lossy(5), config.Clock{Name: "lobby", SerialNumber: "SN1"})
		emu := f.clock("SN1", pushemu.Config{BatchSize: 40})
		recs := punchesOf(150, "2026-07-06", func(i int) string { return fmt.Sprint(100 + i%7) })
		emu.Add(recs...)
		if err := emu.Handshake(ctx); err != nil {
			t.Fatal(err)
		}
		// The first batch loses its OK four times: the clock goes offline with nothing acknowledged.
		if _, err := emu.Upload(ctx); !errors.Is(err, pushemu.ErrOffline) {
			t.Fatalf("upload with lost OKs: got %v, want ErrOffline", err)
		}
		if emu.Pending() != 150 {
			t.Errorf("pending after going offline: got %d, want 150 (stamp kept)", emu.Pending())
		}
		if err := emu.Handshake(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := emu.Upload(ctx); err != nil {
			t.Fatal(err)
		}
		if got, w := stored(t, st, "lobby"), recordStrings(recs); !equal(got, w) {
			t.Errorf("stored %d punches, want %d", len(got), len(w))
		}
		if d := testutil.ToFloat64(f.m.Duplicates.WithLabelValues("lobby")); d < 40 {
			t.Errorf("duplicates skipped: got %v, want at least 40 (the batch sent again)", d)
		}
		if n := testutil.ToFloat64(f.m.PunchesStored.WithLabelValues("lobby")); n != 150 {
			t.Errorf("punches stored metric: got %v, want 150", n)
		}
		// A later handshake hands out the stamp: nothing (or only the last second) is sent again.
		if err := emu.Handshake(ctx); err != nil {
			t.Fatal(err)
		}
		if p := emu.Pending(); p > 1 {
			t.Errorf("pending after a handshake with the stored stamp: got %d, want at most 1", p)
		}
		if _, err := emu.Upload(ctx); err != nil {
			t.Fatal(err)
		}
		if got := stored(t, st, "lobby"); len(got) != 150 {
			t.Errorf("after resend: got %d punches, want 150", len(got))
		}
		if stores.Load() == 0 {
			t.Error("the results worker was never woken")
		}
		reads, err := st.ClockReads(ctx)
		if err != nil || reads["lobby"].IsZero() {
			t.Errorf("R19 read of the push clock: got %v %v, want recorded", reads, err)
		}
		if testutil.ToFloat64(f.m.Up.WithLabelValues("lobby")) != 1 || testutil.ToFloat64(f.m.LastSuccess.WithLabelValues("lobby")) == 0 {
			t.Error("up and last success of the push clock: want set")
		}
	})
}

func post(t *testing.T, url, body string) (int, string) {
	t.Helper()
	resp, err := http.Post(url, "text/plain", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// A serial number that is not configured gets no OK and stores nothing; it is listed for the
// operator.
func TestPushUnknownSerialStoresNothing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newPushFixture(t, st, PushOptions{}, nil, config.Clock{Name: "lobby", SerialNumber: "SN1"})
		emu := f.clock("STRANGER", pushemu.Config{})
		if err := emu.Handshake(context.Background()); !errors.Is(err, zkpush.ErrRefused) {
			t.Errorf("handshake: got %v, want ErrRefused", err)
		}
		code, body := post(t, f.srv.URL+"/iclock/cdata?SN=STRANGER&table=ATTLOG&Stamp=0", "1\t2026-07-06 08:00:00\t0\t1\t0\t0\t0\n")
		if code == http.StatusOK || strings.Contains(body, "OK") {
			t.Errorf("upload: got %d %q, want no OK", code, body)
		}
		if n, _ := st.CountPunches(context.Background(), ""); n != 0 {
			t.Errorf("punches: got %d, want 0", n)
		}
		u, err := st.UnknownPushClocks(context.Background())
		if err != nil || len(u) != 1 || u[0].Serial != "STRANGER" || u[0].RemoteAddr == "" {
			t.Errorf("unknown push clocks: got %+v %v, want STRANGER", u, err)
		}
	})
}

// A malformed line is counted and skipped; the rest of the batch is stored. Other tables and
// photos are acknowledged and counted, not stored.
func TestPushMalformedLinesAndOtherTables(t *testing.T) {
	st := storetest.SQLite(t)
	f := newPushFixture(t, st, PushOptions{}, nil, config.Clock{Name: "lobby", SerialNumber: "SN1"})
	body := "20156107\t2020-02-22 23:10:05\t255\t1\t\t0\t0\t2\n" +
		"broken line\n" +
		"1452\t2015-07-30 15:16:28\t0\t1\t0\t0\t0\n" +
		"9\t2026-13-01 00:00:00\t0\t1\n"
	code, reply := post(t, f.srv.URL+"/iclock/cdata?SN=SN1&table=ATTLOG&Stamp=0", body)
	if code != http.StatusOK || strings.TrimSpace(reply) != "OK: 2" {
		t.Errorf("upload: got %d %q, want OK: 2 (the lines stored)", code, reply)
	}
	if got := stored(t, st, "lobby"); fmt.Sprint(got) != "[1452@2015-07-30 15:16:28 20156107@2020-02-22 23:10:05]" {
		t.Errorf("stored: got %v", got)
	}
	if n := testutil.ToFloat64(f.pm.BadLines.WithLabelValues("lobby")); n != 2 {
		t.Errorf("malformed lines: got %v, want 2", n)
	}
	code, reply = post(t, f.srv.URL+"/iclock/cdata?SN=SN1&table=OPERLOG&OpStamp=0", "OPLOG 4\t0\t2026-07-06 08:00:00\t0\t0\t0\t0\nOPLOG 5\t0\t2026-07-06 08:00:01\t0\t0\t0\t0\n")
	if code != http.StatusOK || strings.TrimSpace(reply) != "OK: 2" {
		t.Errorf("OPERLOG: got %d %q, want OK: 2", code, reply)
	}
	code, reply = post(t, f.srv.URL+"/iclock/fdata?SN=SN1&table=ATTPHOTO&Stamp=0", "PIN=1\nSN=SN1\nsize=3\nCMD=uploadphoto\n\x00\x01\x02")
	if code != http.StatusOK || !strings.Contains(reply, "OK") {
		t.Errorf("photo: got %d %q, want OK", code, reply)
	}
	if n := testutil.ToFloat64(f.pm.OtherRecords.WithLabelValues("lobby", "OPERLOG")); n != 2 {
		t.Errorf("OPERLOG records: got %v, want 2", n)
	}
	if n := testutil.ToFloat64(f.pm.OtherRecords.WithLabelValues("lobby", "ATTPHOTO")); n != 1 {
		t.Errorf("photos: got %v, want 1", n)
	}
	if n, _ := st.CountPunches(context.Background(), ""); n != 2 {
		t.Errorf("punches: got %d, want 2", n)
	}
}

// Bodies are capped, floods rate-limited, and neither is acknowledged.
func TestPushLimits(t *testing.T) {
	st := storetest.SQLite(t)
	f := newPushFixture(t, st, PushOptions{MaxBody: 1000, Rate: 0.001, Burst: 5}, nil, config.Clock{Name: "lobby", SerialNumber: "SN1"})
	big := strings.Repeat("1\t2026-07-06 08:00:00\t0\t1\t0\t0\t0\n", 100)
	code, reply := post(t, f.srv.URL+"/iclock/cdata?SN=SN1&table=ATTLOG&Stamp=0", big)
	if code != http.StatusRequestEntityTooLarge || strings.Contains(reply, "OK") {
		t.Errorf("large body: got %d %q, want 413 without OK", code, reply)
	}
	limited := 0
	for i := 0; i < 10; i++ {
		code, reply = post(t, f.srv.URL+"/iclock/cdata?SN=SN1&table=ATTLOG&Stamp=0", "1\t2026-07-06 08:00:00\t0\t1\t0\t0\t0\n")
		if code == http.StatusServiceUnavailable && !strings.Contains(reply, "OK") {
			limited++
		}
	}
	if limited < 5 {
		t.Errorf("rate limited: got %d of 10 requests, want at least 5", limited)
	}
	if n, _ := st.CountPunches(context.Background(), ""); n != 1 {
		t.Errorf("punches: got %d, want 1", n)
	}
	for _, q := range []string{"/iclock/cdata?table=ATTLOG", "/iclock/cdata?SN=a%00b", "/other?SN=SN1"} {
		resp, err := http.Get(f.srv.URL + q)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK || bytes.Contains(b, []byte("OK")) {
			t.Errorf("%s: got %d %q, want an error", q, resp.StatusCode, b)
		}
	}
}

// A clock with a comm key is refused without it, accepted with it, and its later requests from the
// same host are accepted.
func TestPushCommKey(t *testing.T) {
	st := storetest.SQLite(t)
	f := newPushFixture(t, st, PushOptions{}, nil, config.Clock{Name: "lobby", SerialNumber: "SN1", PushCommKey: config.Secret{Value: 4321, Set: true}})
	ctx := context.Background()
	for _, key := range []string{"", "1234"} {
		emu := f.clock("SN1", pushemu.Config{CommKey: key})
		if err := emu.Handshake(ctx); !errors.Is(err, zkpush.ErrRefused) {
			t.Errorf("key %q: got %v, want ErrRefused", key, err)
		}
	}
	code, _ := post(t, f.srv.URL+"/iclock/cdata?SN=SN1&table=ATTLOG&Stamp=0", "1\t2026-07-06 08:00:00\n")
	if code == http.StatusOK {
		t.Errorf("upload before a keyed handshake: got 200, want refused")
	}
	emu := f.clock("SN1", pushemu.Config{CommKey: "4321"})
	emu.Add(punchesOf(3, "2026-07-06", func(int) string { return "1" })...)
	if err := emu.Handshake(ctx); err != nil {
		t.Fatal(err)
	}
	if n, err := emu.Upload(ctx); err != nil || n != 3 {
		t.Fatalf("upload after the keyed handshake: got %d %v, want 3", n, err)
	}
	if got := testutil.ToFloat64(f.m.ReadErrors.WithLabelValues("lobby", "auth")); got != 3 {
		t.Errorf("auth errors: got %v, want 3", got)
	}
}

// Commands are queued in the database, handed out once on a poll, and their results recorded; a
// back-fill makes the clock upload a date range again, de-duplicated.
func TestPushCommandsAndBackfill(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		f := newPushFixture(t, st, PushOptions{}, nil, config.Clock{Name: "lobby", SerialNumber: "SN1"})
		emu := f.clock("SN1", pushemu.Config{})
		old := punchesOf(20, "2026-07-01", func(i int) string { return fmt.Sprint(i % 3) })
		emu.Add(old...)
		emu.Add(punchesOf(5, "2026-07-06", func(i int) string { return "9" })...)
		if err := emu.Handshake(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := emu.Upload(ctx); err != nil {
			t.Fatal(err)
		}
		id, err := st.QueuePushCommand(ctx, "lobby", "INFO", "test")
		if err != nil {
			t.Fatal(err)
		}
		bf, _ := st.QueuePushCommand(ctx, "lobby", zkpush.QueryATTLOG(wall("2026-07-01 00:00:00"), wall("2026-07-01 23:59:59")), "test")
		cmds, err := emu.Poll(ctx)
		if err != nil || len(cmds) != 2 || cmds[0].ID != id || cmds[0].Cmd != "INFO" {
			t.Fatalf("poll: got %v %v, want INFO and the back-fill", cmds, err)
		}
		if again, _ := emu.Poll(ctx); len(again) != 0 {
			t.Errorf("second poll: got %v, want nothing", again)
		}
		list, err := st.PushCommands(ctx, "lobby", 10)
		if err != nil || len(list) != 2 {
			t.Fatalf("commands: got %v %v", list, err)
		}
		for _, c := range list {
			if c.DoneAt.IsZero() {
				t.Errorf("command %v: not done", c)
			}
			switch c.ID {
			case id:
				if !strings.Contains(c.Result, "SerialNumber=SN1") {
					t.Errorf("INFO result: got %q", c.Result)
				}
			case bf:
				if c.ReturnCode != 20 {
					t.Errorf("back-fill return: got %d, want 20 records", c.ReturnCode)
				}
			}
		}
		if got := stored(t, st, "lobby"); len(got) != 25 {
			t.Errorf("after back-fill: got %d punches, want 25", len(got))
		}
		if d := testutil.ToFloat64(f.m.Duplicates.WithLabelValues("lobby")); d != 20 {
			t.Errorf("duplicates: got %v, want 20 (the back-filled day)", d)
		}
	})
}

// A clock not heard from for three poll intervals is down.
func TestPushUpFollowsContact(t *testing.T) {
	st := storetest.SQLite(t)
	var mu sync.Mutex
	at := time.Date(2026, 7, 6, 9, 0, 0, 0, loc)
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return at }
	f := newPushFixture(t, st, PushOptions{Now: now, Delay: 10 * time.Second}, nil, config.Clock{Name: "lobby", SerialNumber: "SN1"})
	up := func() float64 {
		f.r.mu.Lock()
		f.r.updateUp()
		f.r.mu.Unlock()
		return testutil.ToFloat64(f.m.Up.WithLabelValues("lobby"))
	}
	if up() != 0 {
		t.Error("before any contact: got up")
	}
	if _, err := f.clock("SN1", pushemu.Config{}).Poll(context.Background()); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	at = at.Add(29 * time.Second)
	mu.Unlock()
	if up() != 1 {
		t.Error("29 s after a poll: got down, want up")
	}
	mu.Lock()
	at = at.Add(2 * time.Second)
	mu.Unlock()
	if up() != 0 {
		t.Error("31 s after a poll (Delay 10 s): got up, want down")
	}
}

func TestPushMetricsLint(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	m := NewPushMetrics(reg)
	m.Requests.WithLabelValues("upload").Inc()
	m.BadLines.WithLabelValues("a").Inc()
	m.OtherRecords.WithLabelValues("a", "OPERLOG").Inc()
	m.Flagged.WithLabelValues("a").Inc()
	for _, c := range []prometheus.Collector{m.Requests, m.BadLines, m.OtherRecords, m.Flagged} {
		problems, err := testutil.CollectAndLint(c)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range problems {
			t.Errorf("metric %s: %s", p.Metric, p.Text)
		}
	}
}

// The database stops while a clock uploads: no OK is given, the clock keeps its records and goes
// offline; after the database is back the clock handshakes again and everything is stored once.
func TestPushDatabaseOutageLosesNothing(t *testing.T) {
	db := newPrivateMariaDB(t)
	st := storetest.Open(t, storetest.Backend{Name: "mysql", Driver: "mysql", DSN: db.dsn()})
	ctx := context.Background()
	f := newPushFixture(t, st, PushOptions{}, nil, config.Clock{Name: "lobby", SerialNumber: "SN1"})
	emu := f.clock("SN1", pushemu.Config{BatchSize: 50})
	first := punchesOf(120, "2026-07-06", func(i int) string { return fmt.Sprint(i % 9) })
	emu.Add(first...)
	if err := emu.Handshake(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := emu.Upload(ctx); err != nil {
		t.Fatal(err)
	}

	db.stop(t)
	more := punchesOf(80, "2026-07-07", func(i int) string { return fmt.Sprint(i % 9) })
	emu.Add(more...)
	if _, err := emu.Upload(ctx); !errors.Is(err, pushemu.ErrOffline) {
		t.Fatalf("upload with the database down: got %v, want ErrOffline", err)
	}
	if emu.Pending() != 80 {
		t.Errorf("pending with the database down: got %d, want 80", emu.Pending())
	}
	if err := emu.Handshake(ctx); err == nil {
		t.Error("handshake with the database down: got nil, want RETRY")
	}
	if testutil.ToFloat64(f.m.StoreErrors) == 0 || testutil.ToFloat64(f.m.ReadErrors.WithLabelValues("lobby", "database")) == 0 {
		t.Error("store errors with the database down: want counted")
	}

	db.start(t)
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := emu.Handshake(ctx)
		if err == nil {
			if _, err = emu.Upload(ctx); err == nil {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the database restarted: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if got, w := stored(t, st, "lobby"), recordStrings(append(first, more...)); !equal(got, w) {
		t.Errorf("stored %d punches, want %d", len(got), len(w))
	}
}

// The emulator running as the firmware does: a punch is uploaded at once (realtime), a queued
// command is picked up at the next poll.
func TestPushEmulatorRuns(t *testing.T) {
	st := storetest.SQLite(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f := newPushFixture(t, st, PushOptions{Delay: time.Second}, nil, config.Clock{Name: "lobby", SerialNumber: "SN1"})
	emu := f.clock("SN1", pushemu.Config{})
	emu.Add(punchesOf(3, "2026-07-06", func(int) string { return "1" })...)
	errs := make(chan error, 8)
	done := make(chan struct{})
	go func() { defer close(done); emu.Run(ctx, errs) }()
	defer func() { cancel(); <-done }()
	waitUntil := func(what string, ok func() bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !ok() {
			select {
			case err := <-errs:
				t.Errorf("%s: clock error %v", what, err)
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within 10 s", what)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitUntil("the log uploaded", func() bool { n, _ := st.CountPunches(ctx, "lobby"); return n == 3 })
	emu.Punch("2", 0, 1)
	waitUntil("a realtime punch uploaded", func() bool { n, _ := st.CountPunches(ctx, "lobby"); return n == 4 })
	id, err := st.QueuePushCommand(ctx, "lobby", "INFO", "test")
	if err != nil {
		t.Fatal(err)
	}
	waitUntil("the command's result recorded", func() bool {
		cs, _ := st.PushCommands(ctx, "lobby", 1)
		return cs[0].ID == id && !cs[0].DoneAt.IsZero()
	})
}

// A reload that drops a clock refuses it from then on and drops its series; one that adds a
// clock accepts it.
func TestPushApplyChangesClocks(t *testing.T) {
	st := storetest.SQLite(t)
	f := newPushFixture(t, st, PushOptions{}, nil, config.Clock{Name: "a", SerialNumber: "SNA"})
	ctx := context.Background()
	if _, err := f.clock("SNA", pushemu.Config{}).Poll(ctx); err != nil {
		t.Fatal(err)
	}
	f.r.Apply([]config.Clock{{Name: "b", Protocol: "zk-push", SerialNumber: "SNB"}, {Name: "z", Protocol: "zk", Address: "192.0.2.1:4370"}})
	if err := f.clock("SNA", pushemu.Config{}).Handshake(ctx); !errors.Is(err, zkpush.ErrRefused) {
		t.Errorf("removed clock: got %v, want refused", err)
	}
	if err := f.clock("SNB", pushemu.Config{}).Handshake(ctx); err != nil {
		t.Errorf("added clock: %v", err)
	}
	if n := testutil.CollectAndCount(f.m.LastContact); n != 1 {
		t.Errorf("last contact series: got %d, want 1 (clock a forgotten, b present)", n)
	}
	if n := testutil.CollectAndCount(f.m.ReadInterval); n != 1 {
		t.Errorf("read interval series: got %d, want 1 (push clock b only)", n)
	}
}

// punchRow is what the database holds of a punch, for the PUSH cases below.
func punchRows(t *testing.T, st *store.Store, clock string) map[string]string {
	t.Helper()
	ps, err := st.Punches(context.Background(), clock, wall("2000-01-01 00:00:00"), wall("2099-01-01 00:00:00"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, p := range ps {
		k := p.UserID + "@" + store.WallString(p.Time)
		if _, dup := out[k]; dup {
			t.Errorf("punch %s stored twice", k)
		}
		out[k] = fmt.Sprintf("verify=%d state=%d unread=%q", p.Verify, p.State, p.Unread)
	}
	return out
}

// Every ATTLOG line shape firmware sends (2 to 10 fields) is stored with what it carries; a line
// whose optional field is not a number is stored flagged with its text; a line without PIN or
// time is not stored and not counted in OK. Each body is sent twice, as a clock whose OK was lost
// does: nothing is stored twice and the second OK counts the same.
func TestPushATTLOGLineShapesStored(t *testing.T) {
	cases := []struct {
		name, line string
		key, want  string // "" key: nothing stored
	}{
		{"2 fields", "1002\t2026-07-06 08:00:02", "1002@2026-07-06 08:00:02", `verify=0 state=0 unread=""`},
		{"3 fields", "1003\t2026-07-06 08:00:03\t1", "1003@2026-07-06 08:00:03", `verify=0 state=1 unread=""`},
		{"4 fields", "1004\t2026-07-06 08:00:04\t1\t15", "1004@2026-07-06 08:00:04", `verify=15 state=1 unread=""`},
		{"5 fields (older firmware)", "1005\t2026-07-06 08:00:05\t0\t2\t7", "1005@2026-07-06 08:00:05", `verify=2 state=0 unread=""`},
		{"6 fields", "1006\t2026-07-06 08:00:06\t0\t1\t0\t0", "1006@2026-07-06 08:00:06", `verify=1 state=0 unread=""`},
		{"7 fields (current firmware)", "1007\t2026-07-06 08:00:07\t1\t1\t0\t0\t0", "1007@2026-07-06 08:00:07", `verify=1 state=1 unread=""`},
		{"8 fields", "1008\t2026-07-06 08:00:08\t255\t1\t\t0\t0\t2", "1008@2026-07-06 08:00:08", `verify=1 state=255 unread=""`},
		{"9 fields", "1009\t2026-07-06 08:00:09\t0\t15\t0\t0\t0\t0\t0", "1009@2026-07-06 08:00:09", `verify=15 state=0 unread=""`},
		{"10 fields (face firmware)", "1010\t2026-07-06 08:00:10\t1\t15\t\t0\t0\t\t36.6\t43", "1010@2026-07-06 08:00:10", `verify=15 state=1 unread=""`},
		{"work code not a number", "1103\t2026-07-06 08:01:03\t0\t1\tA1\t0\t0", "1103@2026-07-06 08:01:03",
			`verify=1 state=0 unread="1103\t2026-07-06 08:01:03\t0\t1\tA1\t0\t0"`},
		{"status and verify not numbers", "1104\t2026-07-06 08:01:04\tI\tFP", "1104@2026-07-06 08:01:04",
			`verify=0 state=0 unread="1104\t2026-07-06 08:01:04\tI\tFP"`},
		{"CRLF", "1105\t2026-07-06 08:01:05\t0\t1\t0\t0\t0\r", "1105@2026-07-06 08:01:05", `verify=1 state=0 unread=""`},
		{"no tab", "1201 2026-07-06 08:02:01", "", ""},
		{"bad month", "1202\t2026-13-01 08:02:02\t0\t1", "", ""},
		{"no PIN", "\t2026-07-06 08:02:03\t0\t1", "", ""},
	}
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newPushFixture(t, st, PushOptions{}, nil, config.Clock{Name: "lobby", SerialNumber: "SN1"})
		wantRows := map[string]string{}
		for _, c := range cases {
			want := "OK: 0"
			if c.key != "" {
				want, wantRows[c.key] = "OK: 1", c.want
			}
			for try := 0; try < 2; try++ {
				code, reply := post(t, f.srv.URL+"/iclock/cdata?SN=SN1&table=ATTLOG&Stamp=9999", c.line+"\n")
				if code != http.StatusOK || strings.TrimSpace(reply) != want {
					t.Errorf("%s (send %d): got %d %q, want %s", c.name, try+1, code, reply, want)
				}
			}
		}
		got := punchRows(t, st, "lobby")
		for k, w := range wantRows {
			if got[k] != w {
				t.Errorf("stored %s: got %s, want %s", k, got[k], w)
			}
		}
		if len(got) != len(wantRows) {
			t.Errorf("stored %d punches, want %d: %v", len(got), len(wantRows), got)
		}
		if n := testutil.ToFloat64(f.pm.BadLines.WithLabelValues("lobby")); n != 6 {
			t.Errorf("lines not stored: got %v, want 6 (3 lines sent twice)", n)
		}
		if n := testutil.ToFloat64(f.pm.Flagged.WithLabelValues("lobby")); n != 4 {
			t.Errorf("flagged punches: got %v, want 4 (2 lines sent twice)", n)
		}
		// One body of many shapes: OK counts exactly the lines stored.
		var body strings.Builder
		for i, c := range cases {
			body.WriteString(strings.Replace(c.line, "2026-07-06", "2026-07-07", 1) + "\n")
			if i%4 == 0 {
				body.WriteString("\n")
			}
		}
		code, reply := post(t, f.srv.URL+"/iclock/cdata?SN=SN1&table=ATTLOG&Stamp=9999", body.String())
		if n := len(punchRows(t, st, "lobby")) - len(wantRows); code != http.StatusOK || strings.TrimSpace(reply) != fmt.Sprintf("OK: %d", n) || n != len(wantRows) {
			t.Errorf("mixed body: got %d %q, %d stored; want OK: %d", code, reply, n, len(wantRows))
		}
	})
}

// rtlog uploads of access-control firmware become punches (PIN, time, verify type, in/out);
// door and alarm events, which name no person, are counted and not acknowledged as punches; a
// resend stores nothing twice; rtlog never moves the ATTLOG stamp.
func TestPushRTLogStored(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newPushFixture(t, st, PushOptions{}, nil, config.Clock{Name: "gate", SerialNumber: "AC1"})
		body := "time=2026-10-14 08:50:13\tpin=1006\tcardno=0\teventaddr=1\tevent=0\tinoutstatus=0\tverifytype=15\tindex=12\n" +
			"time=2026-10-14 17:31:02\tpin=1006\tcardno=0\teventaddr=1\tevent=0\tinoutstatus=1\tverifytype=1\tindex=13\n" +
			"time=2026-10-14 17:31:09\tpin=0\tcardno=0\teventaddr=1\tevent=200\tinoutstatus=2\tverifytype=200\tindex=14\n" +
			"time=2026-10-14 17:32:00\tpin=1007\tcardno=0\teventaddr=1\tevent=0\tinoutstatus=1\tverifytype=card\tindex=15\n" +
			"time=2026-10-14 25:00:00\tpin=1008\tverifytype=1\tindex=16\n"
		for try := 0; try < 2; try++ {
			code, reply := post(t, f.srv.URL+"/iclock/cdata?SN=AC1&table=rtlog&Stamp=16", body)
			if code != http.StatusOK || strings.TrimSpace(reply) != "OK: 3" {
				t.Errorf("send %d: got %d %q, want OK: 3", try+1, code, reply)
			}
		}
		got := punchRows(t, st, "gate")
		want := map[string]string{
			"1006@2026-10-14 08:50:13": `verify=15 state=0 unread=""`,
			"1006@2026-10-14 17:31:02": `verify=1 state=1 unread=""`,
			"1007@2026-10-14 17:32:00": `verify=0 state=1 unread="time=2026-10-14 17:32:00\tpin=1007\tcardno=0\teventaddr=1\tevent=0\tinoutstatus=1\tverifytype=card\tindex=15"`,
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("stored:\n got %v\nwant %v", got, want)
		}
		if n := testutil.ToFloat64(f.pm.OtherRecords.WithLabelValues("gate", "rtlog")); n != 2 {
			t.Errorf("door events: got %v, want 2 (one, sent twice)", n)
		}
		if n := testutil.ToFloat64(f.pm.BadLines.WithLabelValues("gate")); n != 2 {
			t.Errorf("lines not stored: got %v, want 2", n)
		}
		if s, err := st.PushStamps(context.Background(), "gate"); err != nil || s.ATTLOG != 0 {
			t.Errorf("ATTLOG stamp after rtlog: got %+v %v, want 0", s, err)
		}
	})
}

// Every path variant firmware calls is served: older firmware's .aspx, capitals, a trailing
// slash, querydata answers (ATTLOG and transaction lines), and the PUSH 3.x registry, push and
// rtdata; what each stores is checked in the database. An unconfigured serial number stays
// refused on every path.
func TestPushPathVariantsStored(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		now := func() time.Time { return time.Date(2026, 7, 6, 9, 0, 0, 0, loc) }
		f := newPushFixture(t, st, PushOptions{Now: now}, nil, config.Clock{Name: "lobby", SerialNumber: "SN1"})
		wantRows := map[string]string{}
		for i, path := range []string{"/iclock/cdata.aspx", "/ICLOCK/CDATA", "/iclock/cdata/", "/iClock/CData.ASPX"} {
			at := fmt.Sprintf("2026-07-06 08:00:%02d", i)
			code, reply := post(t, f.srv.URL+path+"?SN=SN1&table=ATTLOG&Stamp=1", fmt.Sprintf("%d\t%s\t0\t1\t0\t0\t0\n", 200+i, at))
			if code != http.StatusOK || strings.TrimSpace(reply) != "OK: 1" {
				t.Errorf("%s: got %d %q, want OK: 1", path, code, reply)
			}
			wantRows[fmt.Sprintf("%d@%s", 200+i, at)] = `verify=1 state=0 unread=""`
		}
		for _, c := range []struct{ query, body, reply string }{
			{"type=tabledata&cmdid=9&tablename=ATTLOG&count=2&packcnt=1&packidx=1", "300\t2026-07-05 08:00:00\t0\t1\t0\t0\t0\n301\t2026-07-05 08:00:01\t1\t15\n", "ATTLOG=2"},
			{"type=tabledata&cmdid=9&tablename=transaction&count=2&packcnt=1&packidx=1",
				fmt.Sprintf("transaction cardno=0\tpin=302\tverified=15\tdoorid=1\teventtype=0\tinoutstate=1\ttime_second=%d\nnot a record\n", zk.EncodeTime(wall("2026-07-05 08:00:02"))), "transaction=1"},
			{"type=tabledata&cmdid=9&tablename=user&count=1&packcnt=1&packidx=1", "user uid=1\tpin=302\tname=x\n", "user=1"},
		} {
			code, reply := post(t, f.srv.URL+"/iclock/querydata?SN=SN1&"+c.query, c.body)
			if code != http.StatusOK || strings.TrimSpace(reply) != c.reply {
				t.Errorf("querydata %s: got %d %q, want %s", c.query, code, reply, c.reply)
			}
		}
		wantRows["300@2026-07-05 08:00:00"] = `verify=1 state=0 unread=""`
		wantRows["301@2026-07-05 08:00:01"] = `verify=15 state=1 unread=""`
		wantRows["302@2026-07-05 08:00:02"] = `verify=15 state=1 unread=""`
		if got := punchRows(t, st, "lobby"); fmt.Sprint(got) != fmt.Sprint(wantRows) {
			t.Errorf("stored:\n got %v\nwant %v", got, wantRows)
		}
		// Polls and results on .aspx paths: the command is marked sent and its result recorded.
		id, err := st.QueuePushCommand(ctx, "lobby", "INFO", "test")
		if err != nil {
			t.Fatal(err)
		}
		emu := f.clock("SN1", pushemu.Config{ASPX: true})
		if cmds, err := emu.Poll(ctx); err != nil || len(cmds) != 1 {
			t.Fatalf("poll on getrequest.aspx: got %v %v", cmds, err)
		}
		if cs, _ := st.PushCommands(ctx, "lobby", 1); len(cs) != 1 || cs[0].ID != id || cs[0].DoneAt.IsZero() || !strings.Contains(cs[0].Result, "SerialNumber=SN1") {
			t.Errorf("command through devicecmd.aspx: got %+v", cs)
		}
		// PUSH 3.x: registry, push and rtdata are answered and recorded as the clock's contact.
		for _, c := range []struct{ method, path, body, reply string }{
			{"POST", "/iclock/registry?SN=SN1", "DeviceType=acc,~DeviceName=SpeedFace,PushVersion=3.1.2", "RegistryCode=" + registryCode("SN1")},
			{"POST", "/iclock/push?SN=SN1", "", "registry=ok\nRegistryCode=" + registryCode("SN1")},
			{"GET", "/iclock/rtdata?SN=SN1&type=time", "", fmt.Sprintf("DateTime=%d,ServerTZ=+0800", zk.EncodeTime(wall("2026-07-06 01:00:00")))},
		} {
			req, _ := http.NewRequest(c.method, f.srv.URL+c.path, strings.NewReader(c.body))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || !strings.HasPrefix(string(b), c.reply) {
				t.Errorf("%s %s: got %d %q, want %q…", c.method, c.path, resp.StatusCode, b, c.reply)
			}
		}
		contacts, err := st.PushContacts(ctx)
		if err != nil || store.WallString(contacts["lobby"].LastContact) != "2026-07-06 09:00:00" {
			t.Errorf("contact after the PUSH 3.x calls: got %+v %v", contacts, err)
		}
		// A stranger stays refused on every path and stores nothing.
		n0, _ := st.CountPunches(ctx, "")
		for _, p := range []string{"/iclock/registry", "/iclock/push", "/iclock/rtdata", "/iclock/querydata", "/ICLOCK/CDATA.ASPX"} {
			code, reply := post(t, f.srv.URL+p+"?SN=STRANGER&table=ATTLOG&tablename=ATTLOG&type=time", "1\t2026-07-06 08:00:00\n")
			if code != http.StatusForbidden || strings.Contains(reply, "OK") || strings.Contains(reply, "RegistryCode") || strings.Contains(reply, "DateTime") {
				t.Errorf("stranger on %s: got %d %q, want refused", p, code, reply)
			}
		}
		if n, _ := st.CountPunches(ctx, ""); n != n0 {
			t.Errorf("punches after the stranger: got %d, want %d", n, n0)
		}
		if u, _ := st.UnknownPushClocks(ctx); len(u) != 1 || u[0].Serial != "STRANGER" {
			t.Errorf("unknown clocks: got %+v, want STRANGER", u)
		}
	})
}

// A stamp that is not a number is ignored, not refused (the clock would retry for ever). OPERLOG
// and ATTPHOTO stamps are stored in the database and handed back in the handshake, so that the
// clock does not send those records again.
func TestPushStampsStoredAndSentBack(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		f := newPushFixture(t, st, PushOptions{}, nil, config.Clock{Name: "lobby", SerialNumber: "SN1"})
		code, reply := post(t, f.srv.URL+"/iclock/cdata?SN=SN1&table=ATTLOG&Stamp=abc", "1\t2026-07-06 08:00:00\t0\t1\t0\t0\t0\n")
		if code != http.StatusOK || strings.TrimSpace(reply) != "OK: 1" {
			t.Errorf("Stamp=abc: got %d %q, want OK: 1", code, reply)
		}
		if got := stored(t, st, "lobby"); fmt.Sprint(got) != "[1@2026-07-06 08:00:00]" {
			t.Errorf("stored with Stamp=abc: got %v", got)
		}
		code, reply = post(t, f.srv.URL+"/iclock/cdata?SN=SN1&table=OPERLOG&OpStamp=xyz", "OPLOG 4\t0\t2026-07-06 08:00:00\t0\t0\t0\t0\n")
		if code != http.StatusOK || strings.TrimSpace(reply) != "OK: 1" {
			t.Errorf("OpStamp=xyz: got %d %q", code, reply)
		}
		// The emulator enrols a user (OPERLOG) and uploads; a photo arrives with its stamp.
		emu := f.clock("SN1", pushemu.Config{})
		if err := emu.Handshake(ctx); err != nil {
			t.Fatal(err)
		}
		emu.Enroll("7", "张三")
		if _, err := emu.Upload(ctx); err != nil {
			t.Fatal(err)
		}
		if emu.PendingOperations() != 0 {
			t.Errorf("OPERLOG pending after the upload: got %d", emu.PendingOperations())
		}
		code, _ = post(t, f.srv.URL+"/iclock/fdata?SN=SN1&table=ATTPHOTO&Stamp=812345678", "PIN=1\nSN=SN1\nsize=3\nCMD=uploadphoto\n\x00\x01\x02")
		if code != http.StatusOK {
			t.Errorf("photo: got %d", code)
		}
		stamps, err := st.PushStamps(ctx, "lobby")
		wantOp := int64(zk.EncodeTime(emu.Time()))
		if err != nil || stamps.OPERLOG < wantOp-2 || stamps.OPERLOG > wantOp || stamps.ATTPHOTO != 812345678 || stamps.ATTLOG != int64(zk.EncodeTime(wall("2026-07-06 08:00:00"))) {
			t.Errorf("stamps in the database: got %+v %v, want OPERLOG ≈%d, ATTPHOTO 812345678", stamps, err, wantOp)
		}
		// A later handshake hands them back: the OPERLOG records are not sent again.
		if err := emu.Handshake(ctx); err != nil {
			t.Fatal(err)
		}
		if o := emu.Options(); int64(o.OPERLOGStamp) != stamps.OPERLOG || int64(o.ATTPHOTOStamp) != stamps.ATTPHOTO {
			t.Errorf("handshake stamps: got OPERLOG %d ATTPHOTO %d, want %d %d", o.OPERLOGStamp, o.ATTPHOTOStamp, stamps.OPERLOG, stamps.ATTPHOTO)
		}
		if emu.PendingOperations() != 0 {
			t.Errorf("OPERLOG to send again after the handshake: got %d, want 0", emu.PendingOperations())
		}
	})
}

// Command results with each field on its own line, several in one body, and in the query, are
// each recorded in the database.
func TestPushMultiLineResultsStored(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		f := newPushFixture(t, st, PushOptions{}, nil, config.Clock{Name: "lobby", SerialNumber: "SN1"})
		var ids []int64
		for _, c := range []string{"INFO", "CHECK", "LOG", "REBOOT"} {
			id, err := st.QueuePushCommand(ctx, "lobby", c, "test")
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, id)
		}
		resp, err := http.Get(f.srv.URL + "/iclock/getrequest?SN=SN1")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		body := fmt.Sprintf("ID=%d\nSN=SN1\nReturn=0\nCMD=INFO\n~DeviceName=SpeedFace\nUserCount=3\nID=%d\r\nSN=SN1\r\nReturn=-1\r\nCMD=CHECK\r\nID=%d&Return=0&CMD=LOG\n", ids[0], ids[1], ids[2])
		if code, reply := post(t, f.srv.URL+"/iclock/devicecmd?SN=SN1", body); code != http.StatusOK || !strings.Contains(reply, "OK") {
			t.Errorf("results: got %d %q", code, reply)
		}
		if code, _ := post(t, f.srv.URL+fmt.Sprintf("/iclock/devicecmd?SN=SN1&ID=%d&Return=0&CMD=REBOOT", ids[3]), ""); code != http.StatusOK {
			t.Errorf("result in the query: got %d", code)
		}
		cs, err := st.PushCommands(ctx, "lobby", 10)
		if err != nil {
			t.Fatal(err)
		}
		got := map[int64]string{}
		for _, c := range cs {
			got[c.ID] = fmt.Sprintf("done=%v return=%d result=%q", !c.DoneAt.IsZero(), c.ReturnCode, c.Result)
		}
		want := map[int64]string{ids[0]: `done=true return=0 result="~DeviceName=SpeedFace\nUserCount=3\n"`, ids[1]: `done=true return=-1 result=""`,
			ids[2]: `done=true return=0 result=""`, ids[3]: `done=true return=0 result=""`}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("results stored:\n got %v\nwant %v", got, want)
		}
		// The emulator writing its results on several lines: the same.
		id, _ := st.QueuePushCommand(ctx, "lobby", "INFO", "test")
		if _, err := f.clock("SN1", pushemu.Config{MultiLineResults: true}).Poll(ctx); err != nil {
			t.Fatal(err)
		}
		if cs, _ := st.PushCommands(ctx, "lobby", 1); cs[0].ID != id || cs[0].DoneAt.IsZero() || !strings.Contains(cs[0].Result, "SerialNumber=SN1") {
			t.Errorf("multi-line INFO result: got %+v", cs[0])
		}
	})
}

// The emulator in every mode firmware has: ATTLOG of 5, 7 and 10 fields, .aspx paths, and an
// access-control clock speaking PUSH 3.x (registry, push, rtdata time, rtlog uploads, DATA QUERY
// answered on querydata); each stores all its punches once.
func TestPushEmulatorModesStored(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		modes := []struct {
			name string
			cfg  pushemu.Config
		}{
			{"short ATTLOG", pushemu.Config{ATTLOGFields: zkpush.ShortATTLOG}},
			{"long ATTLOG", pushemu.Config{ATTLOGFields: zkpush.LongATTLOG}},
			{"aspx", pushemu.Config{ASPX: true}},
			{"access control", pushemu.Config{AccessControl: true, ClockError: time.Hour}},
		}
		var clocks []config.Clock
		for i := range modes {
			clocks = append(clocks, config.Clock{Name: fmt.Sprintf("m%d", i), SerialNumber: fmt.Sprintf("MODE%d", i)})
		}
		f := newPushFixture(t, st, PushOptions{}, nil, clocks...)
		for i, m := range modes {
			emu := f.clock(clocks[i].SerialNumber, m.cfg)
			// PIN 0 is no person on access-control firmware: users are 1 to 5.
			recs := punchesOf(30, "2026-07-06", func(j int) string { return fmt.Sprint(j%5 + 1) })
			for j := range recs {
				recs[j].Status, recs[j].Verify = j%2, 15
			}
			emu.Add(recs...)
			if err := emu.Handshake(ctx); err != nil {
				t.Fatalf("%s: handshake: %v", m.name, err)
			}
			if n, err := emu.Upload(ctx); err != nil || n != 30 {
				t.Fatalf("%s: upload: %d %v", m.name, n, err)
			}
			rows := punchRows(t, st, clocks[i].Name)
			if len(rows) != 30 {
				t.Errorf("%s: stored %d punches, want 30", m.name, len(rows))
			}
			for _, r := range recs {
				if w := fmt.Sprintf(`verify=15 state=%d unread=""`, r.Status); rows[r.UserID+"@"+store.WallString(r.Time)] != w {
					t.Errorf("%s: %s@%s: got %q, want %s", m.name, r.UserID, store.WallString(r.Time), rows[r.UserID+"@"+store.WallString(r.Time)], w)
					break
				}
			}
			if m.cfg.AccessControl {
				if emu.RegistryCode() != registryCode(clocks[i].SerialNumber) || emu.TimeSets() != 1 {
					t.Errorf("%s: registry code %q, time sets %d; want %q, 1", m.name, emu.RegistryCode(), emu.TimeSets(), registryCode(clocks[i].SerialNumber))
				}
				if d := emu.Time().Sub(store.Wall(time.Now(), loc)); d > 2*time.Second || d < -2*time.Second {
					t.Errorf("%s: clock after rtdata is %v off", m.name, d)
				}
				// A back-fill is answered on querydata; nothing is stored twice.
				id, _ := st.QueuePushCommand(ctx, clocks[i].Name, zkpush.QueryATTLOG(wall("2026-07-06 00:00:00"), wall("2026-07-06 23:59:59")), "test")
				if _, err := emu.Poll(ctx); err != nil {
					t.Fatal(err)
				}
				if cs, _ := st.PushCommands(ctx, clocks[i].Name, 1); cs[0].ID != id || cs[0].ReturnCode != 30 {
					t.Errorf("%s: back-fill: got %+v, want 30 records", m.name, cs[0])
				}
				if n := len(punchRows(t, st, clocks[i].Name)); n != 30 {
					t.Errorf("%s: after the back-fill: %d punches, want 30", m.name, n)
				}
			}
		}
	})
}

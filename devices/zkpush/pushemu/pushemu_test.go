package pushemu

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kaoqin/kaoqin/devices/zk"
	"github.com/kaoqin/kaoqin/devices/zkpush"
)

// Anything but a 200 whose body contains OK is a failure: the clock tries four times (the first
// and three retries), goes offline and keeps every record.
func TestUploadNeeds200AndOK(t *testing.T) {
	for _, c := range []struct {
		name   string
		status int
		body   string
	}{{"500", http.StatusInternalServerError, "OK: 1"}, {"200 without OK", http.StatusOK, "ERROR"}, {"503 RETRY", http.StatusServiceUnavailable, "RETRY"}} {
		t.Run(c.name, func(t *testing.T) {
			var posts atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Method == http.MethodPost {
					posts.Add(1)
				}
				w.WriteHeader(c.status)
				w.Write([]byte(c.body))
			}))
			defer srv.Close()
			clk := New(Config{Server: srv.URL, SN: "X", RetryDelays: []time.Duration{time.Millisecond, time.Millisecond, time.Millisecond}})
			clk.Add(zkpush.Record{UserID: "1", Time: time.Date(2026, 7, 6, 8, 0, 0, 0, time.UTC)})
			n, err := clk.Upload(context.Background())
			if !errors.Is(err, ErrOffline) || n != 0 {
				t.Errorf("upload: got %d %v, want ErrOffline", n, err)
			}
			if got := posts.Load(); got != 4 {
				t.Errorf("tries: got %d, want 4", got)
			}
			if clk.Pending() != 1 || clk.Online() || clk.Stamp() != 0 {
				t.Errorf("after failing: pending %d, online %v, stamp %d; want 1, false, 0", clk.Pending(), clk.Online(), clk.Stamp())
			}
		})
	}
}

// request is one request the clock sent, as a server sees it.
type request struct {
	method, path string
	query        url.Values
	body         string
}

// recorder answers as kaoqin does enough for the clock to go on, and records what it was sent.
func recorder(t *testing.T) (*httptest.Server, func() []request) {
	var mu sync.Mutex
	var got []request
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, request{r.Method, r.URL.Path, r.URL.Query(), string(b)})
		mu.Unlock()
		switch r.URL.Path {
		case "/iclock/registry":
			io.WriteString(w, "RegistryCode=abc\n")
		case "/iclock/rtdata":
			w.Write(zkpush.AppendRTTime(nil, time.Now(), 8*3600))
		case "/iclock/cdata", "/iclock/cdata.aspx", "/iclock/push":
			if r.Method == http.MethodGet || r.URL.Path == "/iclock/push" {
				w.Write(zkpush.AppendOptions(nil, "X", zkpush.Options{Delay: 5, TimeZone: 8 * 3600, OPERLOGStamp: 0}))
				return
			}
			io.WriteString(w, "OK: 1")
		default:
			io.WriteString(w, "OK")
		}
	}))
	t.Cleanup(srv.Close)
	return srv, func() []request { mu.Lock(); defer mu.Unlock(); return append([]request(nil), got...) }
}

// What the clock sends in each firmware mode: the paths, the table names and stamp keys, and the
// line shapes of its uploads.
func TestFirmwareModesOnTheWire(t *testing.T) {
	at := time.Date(2026, 7, 6, 8, 0, 0, 0, time.UTC)
	recs := []zkpush.Record{{UserID: "1", Time: at, Status: 1, Verify: 15}, {UserID: "2", Time: at.Add(time.Second), Verify: 1}}
	for _, c := range []struct {
		name  string
		cfg   Config
		check func(t *testing.T, rs []request)
	}{
		{"long ATTLOG", Config{ATTLOGFields: zkpush.LongATTLOG}, func(t *testing.T, rs []request) {
			up := find(rs, "POST", "/iclock/cdata")
			if up == nil || up.query.Get("table") != "ATTLOG" || up.query.Get("Stamp") != fmt.Sprint(zk.EncodeTime(at.Add(time.Second))) ||
				up.body != "1\t2026-07-06 08:00:00\t1\t15\t0\t0\t0\t\t\t0\n2\t2026-07-06 08:00:01\t0\t1\t0\t0\t0\t\t\t0\n" {
				t.Errorf("upload: got %+v", up)
			}
		}},
		{"short ATTLOG on .aspx", Config{ATTLOGFields: zkpush.ShortATTLOG, ASPX: true}, func(t *testing.T, rs []request) {
			for _, r := range rs {
				if !strings.HasSuffix(r.path, ".aspx") {
					t.Errorf("path %s: want .aspx", r.path)
				}
			}
			if up := find(rs, "POST", "/iclock/cdata.aspx"); up == nil || up.body != "1\t2026-07-06 08:00:00\t1\t15\t0\n2\t2026-07-06 08:00:01\t0\t1\t0\n" {
				t.Errorf("upload: got %+v", up)
			}
		}},
		{"access control", Config{AccessControl: true}, func(t *testing.T, rs []request) {
			var paths []string
			for _, r := range rs {
				paths = append(paths, r.method+" "+r.path)
			}
			if want := "[GET /iclock/cdata POST /iclock/registry POST /iclock/push GET /iclock/rtdata POST /iclock/cdata POST /iclock/cdata]"; fmt.Sprint(paths) != want {
				t.Errorf("session: got %v, want %s", paths, want)
			}
			if rs[0].query.Get("pushver") != "3.1.2" || !strings.HasPrefix(rs[1].body, "DeviceType=acc,") || rs[3].query.Get("type") != "time" {
				t.Errorf("session: got %+v", rs[:4])
			}
			if up := rs[4]; up.query.Get("table") != "rtlog" ||
				up.body != "time=2026-07-06 08:00:00\tpin=1\tcardno=0\teventaddr=1\tevent=0\tinoutstatus=1\tverifytype=15\tindex=1\n"+
					"time=2026-07-06 08:00:01\tpin=2\tcardno=0\teventaddr=1\tevent=0\tinoutstatus=0\tverifytype=1\tindex=2\n" {
				t.Errorf("rtlog upload: got %+v", up)
			}
			if op := rs[5]; op.query.Get("table") != "OPERLOG" || op.query.Get("OpStamp") == "" || !strings.HasPrefix(op.body, "OPLOG 6\t0\t") || !strings.Contains(op.body, "\nUSER PIN=9\tName=李四\t") {
				t.Errorf("OPERLOG upload: got %+v", op)
			}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv, got := recorder(t)
			c.cfg.Server, c.cfg.SN, c.cfg.Location = srv.URL, "X", time.UTC
			clk := New(c.cfg)
			clk.Add(recs...)
			if c.cfg.AccessControl {
				clk.Enroll("9", "李四")
			}
			if err := clk.Handshake(context.Background()); err != nil {
				t.Fatal(err)
			}
			if n, err := clk.Upload(context.Background()); err != nil || n != 2 {
				t.Fatalf("upload: %d %v", n, err)
			}
			c.check(t, got())
		})
	}
}

func find(rs []request, method, path string) *request {
	for i := range rs {
		if rs[i].method == method && rs[i].path == path {
			return &rs[i]
		}
	}
	return nil
}

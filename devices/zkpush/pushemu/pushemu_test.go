package pushemu

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

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

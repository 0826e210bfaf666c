package web

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/kaoqin/kaoqin/internal/store"
)

type pingErr struct{ err error }

func (p pingErr) Ping(context.Context) error { return p.err }

// /readyz says why a damaged database is refused, and nothing of any other failure (it needs no
// login, and a driver's error can name internal hosts).
func TestReadyzReason(t *testing.T) {
	cases := []struct {
		name string
		err  error
		code int
		body string
	}{
		{"ready", nil, 200, "ok\n"},
		{"damaged", fmt.Errorf("%w: the SQLite file /var/lib/kaoqin/kaoqin.db fails PRAGMA quick_check: Tree 15 page 168; restore the last backup", store.ErrDamaged),
			503, "database damaged: the database is damaged: the SQLite file /var/lib/kaoqin/kaoqin.db fails PRAGMA quick_check: Tree 15 page 168; restore the last backup\n"},
		{"unreachable", errors.New("dial tcp 10.1.2.3:3306: connect: connection refused"), 503, "database unavailable\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := Handler(Options{DB: pingErr{c.err}})
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
			body, _ := io.ReadAll(rec.Body)
			if rec.Code != c.code || string(body) != c.body {
				t.Errorf("got %d %q, want %d %q", rec.Code, body, c.code, c.body)
			}
			if strings.Contains(string(body), "10.1.2.3") {
				t.Errorf("readyz leaks the driver's error: %q", body)
			}
		})
	}
}

// Package web owns kaoqin's HTTP side: health and readiness, the Prometheus metrics endpoint, the
// dashboard (today's status of every window, the month, clocks, data entry, the audit log, in
// Simplified Chinese, server-rendered) and the JSON API under /api/v1. Only /healthz, /readyz,
// /metrics, the login page and its stylesheet are served without a login.
package web

import (
	"context"
	"embed"
	"html/template"
	"io/fs"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/kaoqin/kaoqin/attendance"
	"github.com/kaoqin/kaoqin/internal/store"
	"github.com/kaoqin/kaoqin/workflow"
)

// Pinger is what readiness checks: the database.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Options configure the handler.
type Options struct {
	DB       Pinger
	Gatherer prometheus.Gatherer
	Logger   *slog.Logger

	// The dashboard and the API are served only when Store and Rules are set.
	Store *store.Store
	Rules *attendance.Rules
	// Clocks are the configured clocks' names (the clocks page, the clocks not read today, and
	// the clocks a failure report may name). CurrentClocks, when set, is asked instead on every
	// use, so that a config reload reaches the dashboard.
	Clocks        []string
	CurrentClocks func() []string
	// Wake wakes the results worker after an entry (nil: the worker finds the dirty days at its
	// next poll).
	Wake func()
	// Secure marks the session cookie Secure: set it when the listener serves TLS.
	Secure bool
	// Now is the current instant (time.Now by default).
	Now func() time.Time
	// SessionTTL is how long a login lasts (12h by default).
	SessionTTL time.Duration
	// ReadNow reads a clock at once, SyncTime sets its time from the server's, for the clocks
	// page's actions (nil: the action is not offered). Owners names the daemon reading each
	// clock, when several share the database.
	ReadNow  func(ctx context.Context, clock string) error
	SyncTime func(ctx context.Context, clock string) error
	Owners   func() map[string]string
	// Center is the center's name (config center.name), at the head of the reports' titles.
	Center string
	// Workflow files and decides the requests staff make themselves (nil: the self-service and
	// approval pages say so); Attachments bound what a request may carry.
	Workflow    *workflow.Service
	Attachments AttachmentOptions
}

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Handler serves the routes.
func Handler(o Options) http.Handler {
	h, _ := handler(o)
	return h
}

// handler is Handler, with the dashboard's server (nil without a store) for the tests.
func handler(o Options) (http.Handler, *server) {
	var s *server
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
		defer cancel()
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if err := o.DB.Ping(ctx); err != nil {
			if o.Logger != nil {
				o.Logger.Warn("not ready: database", "err", err)
			}
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte(notReady(err)))
			return
		}
		w.Write([]byte("ok\n"))
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(o.Gatherer, promhttp.HandlerOpts{}))
	if o.Store != nil && o.Rules != nil {
		s = newServer(o)
		s.routes(mux)
	}
	return securityHeaders(mux), s
}

// maxBody is the one cap on a request body, for every form and API write: no entry, login or
// administration form comes near it.
const maxBody = 1 << 20

// securityHeaders sets the headers every response carries: no framing, no sniffing, a content
// security policy that allows only this origin's stylesheet and script (no inline script or
// style at all), and no caching of anything but the static files (pages, the login and API
// answers carry a user's data or tokens). It also caps every request body at maxBody and refuses
// multipart bodies outright: no form uploads a file, and Go's multipart reader would spool the
// parts to disk.
func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "same-origin")
		if !strings.HasPrefix(r.URL.Path, "/static/") {
			hd.Set("Cache-Control", "no-store")
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			limit := int64(maxBody)
			mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
			if mt == "multipart/form-data" && uploadPaths[r.URL.Path] {
				// The one form with attachments (issue 17); parsed in memory, never spooled.
				limit = maxUploadBody
			} else if strings.HasPrefix(mt, "multipart/") {
				hd.Set("Content-Type", "text/plain; charset=utf-8")
				w.WriteHeader(http.StatusUnsupportedMediaType)
				w.Write([]byte("不支持 multipart 提交 (multipart bodies are not accepted)\n"))
				return
			}
			if r.ContentLength > limit {
				hd.Set("Content-Type", "text/plain; charset=utf-8")
				w.WriteHeader(http.StatusRequestEntityTooLarge)
				w.Write([]byte("提交内容过大 (request body too large)\n"))
				return
			}
			r.Body = http.MaxBytesReader(w, r.Body, limit)
		}
		h.ServeHTTP(w, r)
	})
}

// noListing serves the static files but never a directory's listing.
func noListing(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "" || strings.HasSuffix(r.URL.Path, "/") {
			http.NotFound(w, r)
			return
		}
		h.ServeHTTP(w, r)
	})
}

type server struct {
	o        Options
	st       *store.Store
	log      *slog.Logger
	tmpl     map[string]*template.Template
	days     dayCache
	months   monthCache // month.go
	sessions sessionCache

	clockErrors    errorTracker
	dir            directoryCache
	clockHealth    clockCache
	passwordChecks atomic.Int64 // bcrypt comparisons made, for the rate limit's test
}

func newServer(o Options) *server {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.SessionTTL <= 0 {
		o.SessionTTL = 12 * time.Hour
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	s := &server{o: o, st: o.Store, log: o.Logger, tmpl: parseTemplates()}
	wake := o.Wake
	s.o.Wake = func() {
		s.days.invalidate() // this daemon's own entries show at once
		if wake != nil {
			wake()
		}
	}
	return s
}

func (s *server) clockNames() []string {
	if s.o.CurrentClocks != nil {
		return s.o.CurrentClocks()
	}
	return s.o.Clocks
}

func parseTemplates() map[string]*template.Template {
	base := template.Must(template.New("").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/_*.html"))
	pages, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		panic(err)
	}
	out := map[string]*template.Template{}
	for _, p := range pages {
		name := p[len("templates/") : len(p)-len(".html")]
		if name == "layout" || name[0] == '_' {
			continue
		}
		out[name] = template.Must(template.Must(base.Clone()).ParseFS(templateFS, p))
	}
	return out
}

func (s *server) routes(mux *http.ServeMux) {
	static, _ := fs.Sub(staticFS, "static")
	mux.Handle("GET /static/", http.StripPrefix("/static/", noListing(http.FileServerFS(static))))
	mux.HandleFunc("GET /login", s.loginPage)
	mux.HandleFunc("POST /login", s.login)
	mux.HandleFunc("POST /api/v1/login", s.apiLogin)

	page := func(pattern string, h func(w http.ResponseWriter, r *http.Request, u *session)) {
		mux.Handle(pattern, s.auth(false, h))
	}
	api := func(pattern string, h func(w http.ResponseWriter, r *http.Request, u *session)) {
		mux.Handle(pattern, s.auth(true, h))
	}
	page("GET /{$}", func(w http.ResponseWriter, r *http.Request, u *session) {
		to := "/today"
		switch {
		case u.can("today"):
		case u.can("approvals"):
			to = "/approvals"
		case u.can("self"):
			to = "/self"
		}
		http.Redirect(w, r, to, http.StatusSeeOther)
	})
	page("POST /logout", s.logout)
	page("GET /today", s.todayPage)
	page("GET /month", s.monthPage)
	page("GET /month/{month}/{file}", s.monthDownload)
	page("POST /month/{month}/close", s.closeMonth)
	page("GET /staff/{id}", s.staffPage)
	page("GET /clocks", s.clocksPage)
	page("POST /clocks/enroll", s.enroll)
	page("POST /clocks/{name}/{action}", s.clockAction)
	page("GET /entry/{kind}", s.entryPage)
	page("POST /entry/{kind}", s.entryPost)
	page("GET /entries", s.entriesPage)
	page("POST /entries/{kind}/{id}/withdraw", s.withdraw)
	page("GET /audit", s.auditPage)
	page("GET /admin", func(w http.ResponseWriter, r *http.Request, u *session) {
		http.Redirect(w, r, "/admin/staff", http.StatusSeeOther)
	})
	page("GET /admin/staff", s.adminStaffPage)
	page("GET /admin/staff/{id}", s.adminStaffPage)
	page("POST /admin/staff", s.adminStaffPost)
	page("POST /admin/staff/{id}", s.adminStaffPost)
	page("GET /admin/windows", s.adminWindowsPage)
	page("POST /admin/windows", s.adminWindowsPost)
	page("GET /admin/users", s.adminUsersPage)
	page("POST /admin/users", s.adminUsersPost)
	page("POST /admin/users/{name}", s.adminUserPost)
	page("GET /password", s.passwordPage)
	page("POST /password", s.passwordPost)
	s.workflowRoutes(page)
	// Anything else under / needs a login too, so that an unknown path tells nothing to a stranger.
	page("/", func(w http.ResponseWriter, r *http.Request, u *session) { s.notFound(w, r) })

	api("GET /api/v1/me", s.apiMe)
	api("POST /api/v1/logout", s.logout)
	api("GET /api/v1/today", s.apiToday)
	api("GET /api/v1/month/{month}", s.apiMonth)
	api("GET /api/v1/staff/{id}/month/{month}", s.apiStaffMonth)
	api("GET /api/v1/clocks", s.apiClocks)
	api("POST /api/v1/entries/{kind}", s.apiEntry)
	api("GET /api/v1/audit", s.apiAudit)
	api("/api/", func(w http.ResponseWriter, r *http.Request, u *session) {
		writeJSON(w, http.StatusNotFound, apiError{Error: "no such endpoint"})
	})
}

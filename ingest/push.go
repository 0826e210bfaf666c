package ingest

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kaoqin/kaoqin/devices/zk"
	"github.com/kaoqin/kaoqin/devices/zkpush"
	"github.com/kaoqin/kaoqin/internal/config"
	"github.com/kaoqin/kaoqin/internal/store"
)

// PushOptions configure a Receiver.
type PushOptions struct {
	Store *store.Store
	// Metrics are the per-clock series shared with polled clocks; PushMetrics the receiver's own.
	Metrics     *Metrics
	PushMetrics *PushMetrics
	Logger      *slog.Logger
	// Location is the deployment's zone: the clocks' wall clock, and the TimeZone they are sent.
	Location *time.Location
	// Now is the server's clock; time.Now by default (tests move it).
	Now func() time.Time
	// Stored is called after new punches were committed (the results worker's wake-up).
	Stored func()
	// Delay is how often a clock polls for commands (handshake Delay=); a clock not heard from for
	// three of these is down. Default 10 s.
	Delay time.Duration
	// TransInterval is how often, in minutes, a clock uploads what realtime uploads missed. Default 1.
	TransInterval int
	// ErrorDelay is how long a clock waits after a failed request. Default 30 s.
	ErrorDelay time.Duration
	// MaxBody caps a request body (default 4 MiB); a larger upload is refused and the clock keeps it.
	MaxBody int64
	// Rate and Burst bound the requests of one clock (or, for unknown serial numbers, of one remote
	// host): Rate per second on average, Burst at once. Defaults 10 and 50.
	Rate  float64
	Burst float64
	// Writers bounds the uploads stored at once (default 4): more only wait on each other's
	// locks in the database, and on MySQL deadlock on the shared dirty-day rows.
	Writers int
}

// PushMetrics are the receiver's own series; per-clock health goes to Metrics.
type PushMetrics struct {
	Requests     *prometheus.CounterVec
	BadLines     *prometheus.CounterVec
	OtherRecords *prometheus.CounterVec
	Flagged      *prometheus.CounterVec
}

// NewPushMetrics creates the receiver's series and registers them on reg.
func NewPushMetrics(reg prometheus.Registerer) *PushMetrics {
	m := &PushMetrics{
		Requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kaoqin_push_requests_total",
			Help: "Requests to the PUSH listener by outcome: handshake, upload, other_table, photo, poll, result, querydata, registry, config, time, ping, unknown_device, auth_failed, rate_limited, bad_request, too_large, database_error."},
			[]string{"kind"}),
		BadLines: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kaoqin_push_malformed_lines_total",
			Help: "Upload lines of a push clock without a readable PIN or time: not stored and not acknowledged (the first ten of an upload logged with their line number); the rest of the batch is stored."},
			[]string{"clock"}),
		OtherRecords: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kaoqin_push_other_records_total",
			Help: "Records a push clock sent that are not punches (OPERLOG, photos, rtlog door and alarm events naming no person, …); acknowledged, not stored."},
			[]string{"clock", "table"}),
	}
	m.Flagged = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kaoqin_push_flagged_punches_total",
		Help: "Punches of a push clock stored with an optional field (status, verify, work code) that was not a number: stored as 0, the clock's line kept in punches.unread."},
		[]string{"clock"})
	reg.MustRegister(m.Requests, m.BadLines, m.OtherRecords, m.Flagged)
	// Every outcome at 0 from the start (the list of the help text).
	for _, k := range []string{"handshake", "upload", "other_table", "photo", "poll", "result", "querydata", "registry", "config", "time",
		"ping", "unknown_device", "auth_failed", "rate_limited", "bad_request", "too_large", "database_error"} {
		m.Requests.WithLabelValues(k)
	}
	return m
}

// Receiver serves ZKTeco PUSH clocks: it answers their handshakes, stores their uploads exactly
// once and answers OK only after the commit, hands out queued commands and records their results.
// Only configured serial numbers are answered; others are recorded for kaoqin devices unknown.
type Receiver struct {
	o     PushOptions
	saver *saver
	log   *slog.Logger
	pm    *PushMetrics

	mu     sync.Mutex
	bySN   map[string]config.Clock
	state  map[string]*pushState // by clock name
	limits map[string]*bucket    // by remote host, for unknown serial numbers
	unseen map[string]time.Time  // unknown serial → last written to the database

	saves   sync.WaitGroup
	writers chan struct{} // bounds the uploads being stored at once
}

type pushState struct {
	lastContact time.Time
	lastWrite   time.Time // last contact written to the database
	keyHost     string    // the host that last handshook with the right comm key
	limit       bucket
}

// NewReceiver creates a Receiver; Apply tells it the clocks.
func NewReceiver(o PushOptions) *Receiver {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Location == nil {
		o.Location = time.UTC
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics(prometheus.NewRegistry())
	}
	if o.PushMetrics == nil {
		o.PushMetrics = NewPushMetrics(prometheus.NewRegistry())
	}
	if o.Delay <= 0 {
		o.Delay = 10 * time.Second
	}
	if o.TransInterval <= 0 {
		o.TransInterval = 1
	}
	if o.ErrorDelay <= 0 {
		o.ErrorDelay = 30 * time.Second
	}
	if o.MaxBody <= 0 {
		o.MaxBody = 4 << 20
	}
	if o.Rate <= 0 {
		o.Rate = 10
	}
	if o.Burst <= 0 {
		o.Burst = 50
	}
	if o.Writers <= 0 {
		o.Writers = 4
	}
	return &Receiver{o: o, log: o.Logger, pm: o.PushMetrics,
		saver: newSaver(o.Store, o.Metrics, o.Logger, o.Location, o.Now, o.Stored),
		bySN:  map[string]config.Clock{}, state: map[string]*pushState{}, limits: map[string]*bucket{}, unseen: map[string]time.Time{},
		writers: make(chan struct{}, o.Writers)}
}

// Apply makes the accepted clocks the zk-push clocks of clocks.
func (r *Receiver) Apply(clocks []config.Clock) {
	r.mu.Lock()
	defer r.mu.Unlock()
	old := r.bySN
	r.bySN = map[string]config.Clock{}
	names := map[string]bool{}
	for _, c := range clocks {
		if c.Protocol != "zk-push" {
			continue
		}
		r.bySN[c.SerialNumber] = c
		names[c.Name] = true
		if r.state[c.Name] == nil {
			r.state[c.Name] = &pushState{}
		}
		r.o.Metrics.ReadInterval.WithLabelValues(c.Name).Set(r.o.Delay.Seconds())
		r.o.Metrics.zero(c.Name)
		if r.o.PushMetrics != nil {
			r.o.PushMetrics.BadLines.WithLabelValues(c.Name)
			r.o.PushMetrics.Flagged.WithLabelValues(c.Name)
		}
	}
	for _, c := range old {
		if !names[c.Name] {
			delete(r.state, c.Name)
			r.o.Metrics.forget(c.Name)
			r.log.Info("push clock removed", "clock", c.Name)
		}
	}
	r.updateUp()
}

// updateUp sets kaoqin_clock_up of every push clock: 1 if it called within three poll intervals
// (r.mu held).
func (r *Receiver) updateUp() {
	now := r.o.Now()
	for _, c := range r.bySN {
		up := 0.0
		if st := r.state[c.Name]; st != nil && !st.lastContact.IsZero() && now.Sub(st.lastContact) <= 3*r.o.Delay {
			up = 1
		}
		r.o.Metrics.Up.WithLabelValues(c.Name).Set(up)
	}
}

// Run keeps the up series current until ctx ends. After a restart it starts from the last contact
// recorded in the database.
func (r *Receiver) Run(ctx context.Context) {
	if contacts, err := r.o.Store.PushContacts(ctx); err == nil {
		r.mu.Lock()
		for _, c := range r.bySN {
			if pc, ok := contacts[c.Name]; ok && !pc.LastContact.IsZero() {
				at := store.Instant(pc.LastContact, r.o.Location)
				r.o.Metrics.LastContact.WithLabelValues(c.Name).Set(float64(at.Unix()))
			}
		}
		r.mu.Unlock()
	} else {
		r.log.Warn("cannot read the last contact of the push clocks", "err", err)
	}
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		r.mu.Lock()
		r.updateUp()
		r.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Serve serves the clocks on ln until ctx ends, then shuts down within a bound, waiting for the
// uploads being stored.
func (r *Receiver) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler: r,
		// A clock sends small requests; slow or endless ones are cut off.
		ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 60 * time.Second, WriteTimeout: 90 * time.Second,
		IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 16 << 10,
		ErrorLog: slog.NewLogLogger(r.log.Handler(), slog.LevelWarn),
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go r.Run(runCtx)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("push listener: %w", err)
	case <-ctx.Done():
	}
	shut, stop := context.WithTimeout(context.Background(), 10*time.Second)
	defer stop()
	err := srv.Shutdown(shut)
	r.saves.Wait()
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("push listener shutdown: %w", err)
	}
	return nil
}

// ServeHTTP answers one request of a clock. Paths are read as the firmware writes them (any case,
// with or without .aspx); only configured serial numbers are answered.
func (r *Receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	path, ok := zkpush.CanonicalPath(req.URL.Path)
	if !ok {
		r.reply(w, "bad_request", http.StatusNotFound, "ERROR: not found")
		return
	}
	host, _, err := net.SplitHostPort(req.RemoteAddr)
	if err != nil {
		host = req.RemoteAddr
	}
	q, err := zkpush.ParseQuery(req.URL.RawQuery)
	if err != nil {
		if !r.allowHost(host) {
			r.reply(w, "rate_limited", http.StatusServiceUnavailable, "RETRY")
			return
		}
		r.log.Warn("push request refused", "remote", req.RemoteAddr, "path", req.URL.Path, "err", err)
		r.reply(w, "bad_request", http.StatusBadRequest, "ERROR: bad query")
		return
	}
	now := r.o.Now()
	r.mu.Lock()
	c, known := r.bySN[q.SN]
	var st *pushState
	if known {
		st = r.state[c.Name]
	}
	r.mu.Unlock()
	if !known {
		r.unknown(req.Context(), w, q.SN, req.RemoteAddr, host, now)
		return
	}
	handshake := path == zkpush.PathCData && req.Method == http.MethodGet
	r.mu.Lock()
	allowed := st.limit.take(time.Now(), r.o.Rate, r.o.Burst)
	authorised := r.authorised(c, st, q, host, handshake)
	r.mu.Unlock()
	if !allowed {
		r.reply(w, "rate_limited", http.StatusServiceUnavailable, "RETRY")
		return
	}
	if !authorised {
		r.o.Metrics.ReadErrors.WithLabelValues(c.Name, "auth").Inc()
		r.log.Warn("push clock refused: wrong or missing comm key", "clock", c.Name, "remote", req.RemoteAddr)
		r.reply(w, "auth_failed", http.StatusForbidden, "UNKNOWN DEVICE")
		return
	}
	r.contact(c.Name, st, now)
	log := r.log.With("clock", c.Name)
	post := req.Method == http.MethodPost
	switch {
	case handshake:
		r.handshake(w, req, c, q, log, now)
	case path == zkpush.PathCData && post:
		r.upload(w, req, c, q, log, now)
	case path == zkpush.PathFData:
		r.photo(w, req, c, q, log, now)
	case path == zkpush.PathGetRequest:
		r.poll(w, req, c, log, now)
	case path == zkpush.PathDeviceCmd && post:
		r.results(w, req, c, q, log, now)
	case path == zkpush.PathQueryData && post:
		r.querydata(w, req, c, q, log, now)
	case path == zkpush.PathRegistry:
		r.registry(w, req, c, log, now)
	case path == zkpush.PathPush:
		r.config(w, req, c, log, now)
	case path == zkpush.PathRTData && (q.Type == "" || strings.EqualFold(q.Type, "time")):
		r.rtTime(w, req, c, now)
	default:
		r.success(req.Context(), c.Name, req.RemoteAddr, now, 0, false)
		r.reply(w, "ping", http.StatusOK, "OK")
	}
}

func (r *Receiver) reply(w http.ResponseWriter, kind string, status int, body string) {
	r.pm.Requests.WithLabelValues(kind).Inc()
	w.Header().Set("Content-Type", "text/plain")
	w.WriteHeader(status)
	io.WriteString(w, body+"\n")
}

// unknown records a call from an unconfigured serial number and refuses it: no OK, nothing stored.
// The database row is written at most every ten seconds per serial number, and at most 1000
// serial numbers are tracked in memory, so a scan of made-up numbers cannot flood the database.
func (r *Receiver) unknown(ctx context.Context, w http.ResponseWriter, sn, remote, host string, now time.Time) {
	if !r.allowHost(host) {
		r.reply(w, "rate_limited", http.StatusServiceUnavailable, "RETRY")
		return
	}
	r.mu.Lock()
	last, seen := r.unseen[sn]
	write := (!seen && len(r.unseen) < 1000) || (seen && now.Sub(last) >= 10*time.Second)
	if write {
		r.unseen[sn] = now
	}
	r.mu.Unlock()
	if write {
		r.log.Warn("push clock with an unknown serial number refused; add it to the config (kaoqin devices unknown lists it)", "serial", sn, "remote", remote)
		if err := r.o.Store.RecordUnknownPush(ctx, sn, remote, store.Wall(now, r.o.Location)); err != nil {
			r.log.Warn("cannot record unknown push clock", "serial", sn, "err", err)
		}
	}
	r.reply(w, "unknown_device", http.StatusForbidden, "UNKNOWN DEVICE")
}

// allowHost rate-limits requests that name no configured clock, per remote host.
func (r *Receiver) allowHost(host string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	b := r.limits[host]
	if b == nil {
		if len(r.limits) >= 10000 {
			r.limits = map[string]*bucket{}
		}
		b = &bucket{}
		r.limits[host] = b
	}
	return b.take(time.Now(), r.o.Rate, r.o.Burst)
}

// authorised checks the comm key of a clock that has one (r.mu held). The firmware sends
// pushcommkey on the handshake; later requests are accepted when they carry it too, or come from
// the host that last handshook with it. After a restart a keyed clock is refused until it
// handshakes again, which it does after going offline: nothing is lost, only delayed.
func (r *Receiver) authorised(c config.Clock, st *pushState, q zkpush.Query, host string, handshake bool) bool {
	if !c.PushCommKey.Set {
		return true
	}
	want := strconv.Itoa(c.PushCommKey.Value)
	if q.HasKey {
		ok := subtle.ConstantTimeCompare([]byte(q.CommKey), []byte(want)) == 1
		if ok && handshake {
			st.keyHost = host
		}
		return ok
	}
	return !handshake && st.keyHost != "" && st.keyHost == host
}

// contact counts an authorised request of a clock as contact.
func (r *Receiver) contact(clock string, st *pushState, now time.Time) {
	r.mu.Lock()
	st.lastContact = now
	r.mu.Unlock()
	r.o.Metrics.LastContact.WithLabelValues(clock).Set(float64(now.Unix()))
	r.o.Metrics.Up.WithLabelValues(clock).Set(1)
}

// success records a successful contact: the success series, and in the database the contact and
// the read (R19), written at most every 30 s per clock unless a stamp moves.
func (r *Receiver) success(ctx context.Context, clock, remote string, now time.Time, stamp int64, force bool) {
	r.o.Metrics.LastSuccess.WithLabelValues(clock).Set(float64(now.Unix()))
	r.mu.Lock()
	st := r.state[clock]
	write := force || st == nil || now.Sub(st.lastWrite) >= 30*time.Second
	if write && st != nil {
		st.lastWrite = now
	}
	r.mu.Unlock()
	if !write {
		return
	}
	wall := store.Wall(now, r.o.Location)
	if err := r.o.Store.RecordPushContact(ctx, clock, remote, wall, stamp); err != nil {
		r.log.Warn("cannot record the contact of a push clock", "clock", clock, "err", err)
	}
	if err := r.o.Store.TouchClockRead(ctx, clock, wall); err != nil {
		r.log.Warn("cannot record the read of a push clock", "clock", clock, "err", err)
	}
}

// handshake answers options=all. The clock sets its own time from the reply's Date header and
// TimeZone whenever they differ from its clock by more than 10 s, so both must be exact: Date is
// the instant in GMT as HTTP requires, never the local wall clock written as GMT, and TimeZone is
// the deployment zone's UTC offset at this instant (8 for Asia/Shanghai). The clock shows
// Date + TimeZone, which is the deployment's local time. A PUSH 3.x clock (pushver=3.…) is told
// it is registered (registry=ok and its RegistryCode) with the settings under their 3.x names.
func (r *Receiver) handshake(w http.ResponseWriter, req *http.Request, c config.Clock, q zkpush.Query, log *slog.Logger, now time.Time) {
	o, ok := r.options(w, req, c, log, now, zkpush.PushVersion(q.PushVer) >= 3)
	if !ok {
		return
	}
	r.success(req.Context(), c.Name, req.RemoteAddr, now, 0, true)
	log.Info("push clock handshake", "remote", req.RemoteAddr, "pushver", q.PushVer, "attlog_stamp", o.ATTLOGStamp,
		"operlog_stamp", o.OPERLOGStamp, "attphoto_stamp", o.ATTPHOTOStamp, "timezone", zkpush.FormatTimeZone(o.TimeZone))
	r.reply(w, "handshake", http.StatusOK, string(zkpush.AppendOptions(nil, c.SerialNumber, o)))
}

// options are the settings a clock is sent, with its stamps from the database, and the Date
// header set. Without the stamps the clock would be told to send everything again: it is told to
// retry instead (ok false, answered).
func (r *Receiver) options(w http.ResponseWriter, req *http.Request, c config.Clock, log *slog.Logger, now time.Time, push3 bool) (zkpush.Options, bool) {
	stamps, err := r.o.Store.PushStamps(req.Context(), c.Name)
	if err != nil {
		log.Warn("push handshake: cannot read the stamps", "err", err)
		r.o.Metrics.ReadErrors.WithLabelValues(c.Name, "database").Inc()
		r.reply(w, "database_error", http.StatusServiceUnavailable, "RETRY")
		return zkpush.Options{}, false
	}
	// The clock resends everything newer than ATTLOGStamp. One second less makes it resend the
	// records of the last stored second too, so that a record of that second in a later batch is
	// not skipped; those already stored are de-duplicated.
	attlog := stamps.ATTLOG
	if attlog > 0 {
		attlog--
	}
	_, offset := now.In(r.o.Location).Zone()
	o := zkpush.Options{ATTLOGStamp: uint32(attlog), OPERLOGStamp: uint32(stamps.OPERLOG), ATTPHOTOStamp: uint32(stamps.ATTPHOTO),
		ErrorDelay: int(r.o.ErrorDelay / time.Second), Delay: int(r.o.Delay / time.Second),
		TransTimes: "00:00;14:05", TransInterval: r.o.TransInterval, TransFlag: "TransData AttLog\tOpLog", Realtime: true,
		TimeZone: offset, ServerVer: "kaoqin"}
	if push3 {
		o.RegistryCode = registryCode(c.SerialNumber)
	}
	w.Header().Set("Date", now.UTC().Format(http.TimeFormat))
	return o, true
}

// registryCode is the code a PUSH 3.x clock registers under: fixed per serial number, so that a
// clock registered before a restart keeps it. It is not a secret (the comm key is).
func registryCode(sn string) string {
	h := sha256.Sum256([]byte("kaoqin registry " + sn))
	return hex.EncodeToString(h[:8])
}

// registry answers a PUSH 3.x clock's registration (POST /iclock/registry, its capabilities as
// key=value pairs), which it sends before it asks for its settings.
func (r *Receiver) registry(w http.ResponseWriter, req *http.Request, c config.Clock, log *slog.Logger, now time.Time) {
	body, ok := r.body(w, req)
	if !ok {
		return
	}
	reg := zkpush.ParseRegistry(body)
	log.Info("push clock registered", "remote", req.RemoteAddr, "device_type", reg["DeviceType"], "device_name", reg["DeviceName"],
		"firmware", reg["FirmVer"], "push_version", reg["PushVersion"])
	r.success(req.Context(), c.Name, req.RemoteAddr, now, 0, true)
	r.reply(w, "registry", http.StatusOK, string(zkpush.AppendRegistry(nil, registryCode(c.SerialNumber))))
}

// config answers a PUSH 3.x clock's request for its settings (/iclock/push): the handshake's.
func (r *Receiver) config(w http.ResponseWriter, req *http.Request, c config.Clock, log *slog.Logger, now time.Time) {
	if req.Method == http.MethodPost {
		if _, ok := r.body(w, req); !ok {
			return
		}
	}
	o, ok := r.options(w, req, c, log, now, true)
	if !ok {
		return
	}
	r.success(req.Context(), c.Name, req.RemoteAddr, now, 0, true)
	r.reply(w, "config", http.StatusOK, string(zkpush.AppendOptions(nil, c.SerialNumber, o)))
}

// rtTime answers /iclock/rtdata?type=time, from which a PUSH 3.x clock sets its time: the instant
// in UTC and the deployment zone's offset at it (the clock shows their sum, the local time).
func (r *Receiver) rtTime(w http.ResponseWriter, req *http.Request, c config.Clock, now time.Time) {
	_, offset := now.In(r.o.Location).Zone()
	w.Header().Set("Date", now.UTC().Format(http.TimeFormat))
	r.success(req.Context(), c.Name, req.RemoteAddr, now, 0, false)
	r.reply(w, "time", http.StatusOK, strings.TrimSuffix(string(zkpush.AppendRTTime(nil, now, offset)), "\n"))
}

// body reads a request body of at most MaxBody bytes into a buffer of exactly its size when the
// clock says it (Content-Length, which firmware sends), so that an upload costs the daemon its
// own size and no more.
func (r *Receiver) body(w http.ResponseWriter, req *http.Request) ([]byte, bool) {
	if req.ContentLength > r.o.MaxBody {
		r.reply(w, "too_large", http.StatusRequestEntityTooLarge, "ERROR: body too large")
		return nil, false
	}
	rd := http.MaxBytesReader(w, req.Body, r.o.MaxBody)
	var body []byte
	var err error
	if req.ContentLength >= 0 {
		body = make([]byte, req.ContentLength)
		_, err = io.ReadFull(rd, body)
	} else {
		body, err = io.ReadAll(rd)
	}
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			r.reply(w, "too_large", http.StatusRequestEntityTooLarge, "ERROR: body too large")
		} else {
			r.reply(w, "bad_request", http.StatusBadRequest, "ERROR: cannot read body")
		}
		return nil, false
	}
	return body, true
}

// maxLoggedLines bounds the malformed and flagged lines logged per upload; all of them are
// counted.
const maxLoggedLines = 10

// upload stores an ATTLOG or rtlog batch and answers OK only after the commit, counting in OK the
// punches stored (new or already stored) and nothing else: a line that cannot be stored is
// logged and counted in kaoqin_push_malformed_lines_total, never acknowledged. OPERLOG and photo
// uploads are acknowledged and counted, not stored (kaoqin has no use for them), and their stamps
// kept so that the handshake does not ask for them again.
func (r *Receiver) upload(w http.ResponseWriter, req *http.Request, c config.Clock, q zkpush.Query, log *slog.Logger, now time.Time) {
	body, ok := r.body(w, req)
	if !ok {
		return
	}
	switch table := strings.ToUpper(q.Table); table {
	case "ATTLOG", "RTLOG":
		// Only ATTLOG moves the ATTLOG stamp: realtime rtlog events may run ahead of an ATTLOG
		// batch still to come, which a stamp moved past it would make the clock skip.
		n, stamp, ok := r.storeBatch(w, req, c, log, zkpush.ParseRecords(body), table == "ATTLOG")
		if !ok {
			return
		}
		r.success(req.Context(), c.Name, req.RemoteAddr, now, stamp, n > 0)
		r.reply(w, "upload", http.StatusOK, "OK: "+strconv.Itoa(n))
	case "ATTPHOTO":
		r.other(req.Context(), c, q, log, "ATTPHOTO", 1)
		r.success(req.Context(), c.Name, req.RemoteAddr, now, 0, false)
		r.reply(w, "photo", http.StatusOK, "OK")
	default:
		n := zkpush.CountLines(body)
		r.other(req.Context(), c, q, log, table, n)
		r.success(req.Context(), c.Name, req.RemoteAddr, now, 0, false)
		r.reply(w, "other_table", http.StatusOK, "OK: "+strconv.Itoa(n))
	}
}

// photo acknowledges an attendance photo (POST /iclock/fdata) and keeps its stamp.
func (r *Receiver) photo(w http.ResponseWriter, req *http.Request, c config.Clock, q zkpush.Query, log *slog.Logger, now time.Time) {
	if _, ok := r.body(w, req); !ok {
		return
	}
	table := strings.ToUpper(q.Table)
	if table == "" {
		table = "ATTPHOTO"
	}
	r.other(req.Context(), c, q, log, table, 1)
	r.success(req.Context(), c.Name, req.RemoteAddr, now, 0, false)
	r.reply(w, "photo", http.StatusOK, "OK")
}

// other counts the records of a table kaoqin does not store and raises its stamp (OPERLOG,
// ATTPHOTO) to the one the clock sent. A stamp that cannot be written only makes the clock send
// those records again after its next handshake.
func (r *Receiver) other(ctx context.Context, c config.Clock, q zkpush.Query, log *slog.Logger, table string, n int) {
	r.o.PushMetrics.OtherRecords.WithLabelValues(c.Name, tableLabel(table, "other")).Add(float64(n))
	if !q.HasStamp || (table != "OPERLOG" && table != "ATTPHOTO") {
		return
	}
	if err := r.o.Store.RaisePushStamp(ctx, c.Name, table, int64(q.Stamp)); err != nil {
		log.Warn("push upload: cannot record the stamp; the clock will send these records again", "table", table, "err", err)
	}
}

// storeBatch stores the punches of an upload and returns how many are stored (new or already
// stored) and the stamp they reach (moveStamp) once committed. When they cannot be stored it
// answers the clock itself (ok false): nothing is acknowledged, the clock keeps the batch.
func (r *Receiver) storeBatch(w http.ResponseWriter, req *http.Request, c config.Clock, log *slog.Logger, b zkpush.Batch, moveStamp bool) (n int, stamp int64, ok bool) {
	if b.BadLines > 0 {
		r.o.PushMetrics.BadLines.WithLabelValues(c.Name).Add(float64(b.BadLines))
		for _, l := range b.Bad {
			log.Warn("push upload: line cannot be stored (no PIN or time): not acknowledged", "line", l.Line, "err", l.Err, "text", l.Text)
		}
		if more := b.BadLines - len(b.Bad); more > 0 {
			log.Warn("push upload: more lines cannot be stored", "more", more)
		}
	}
	if b.Events > 0 {
		r.o.PushMetrics.OtherRecords.WithLabelValues(c.Name, "rtlog").Add(float64(b.Events))
	}
	limit := store.Wall(r.o.Now(), r.o.Location).Add(24 * time.Hour)
	rs := make([]Record, len(b.Records))
	flagged := 0
	for i, p := range b.Records {
		rs[i] = Record{UserID: p.UserID, Time: p.Time, Verify: p.Verify, State: p.Status, Unread: p.Unread}
		if p.Unread != "" {
			if flagged < maxLoggedLines {
				log.Warn("push upload: a field of the line is not a number; stored as 0 and flagged", "user", p.UserID, "time", store.WallString(p.Time), "text", p.Unread)
			}
			flagged++
		}
		// A record dated far ahead (a clock whose time was wrong) must not move the stamp past
		// records still to come.
		if s := int64(zk.EncodeTime(p.Time)); moveStamp && s > stamp && p.Time.Before(limit) {
			stamp = s
		}
	}
	if len(rs) == 0 {
		return 0, 0, true
	}
	if err := r.save(req.Context(), c.Name, rs); err != nil {
		var re *readError
		kind := "database"
		if errors.As(err, &re) {
			kind = re.kind
		}
		r.o.Metrics.ReadErrors.WithLabelValues(c.Name, kind).Inc()
		log.Error("push upload not stored; the clock keeps it and sends it again", "records", len(rs), "err", err)
		r.reply(w, "database_error", http.StatusServiceUnavailable, "ERROR: not stored")
		return 0, 0, false
	}
	if flagged > 0 {
		r.o.PushMetrics.Flagged.WithLabelValues(c.Name).Add(float64(flagged))
	}
	return len(rs), stamp, true
}

// querydata stores the answer to a DATA QUERY that newer firmware posts to /iclock/querydata
// (tablename=ATTLOG positional lines, or transaction/rtlog key=value lines) and answers
// "<tablename>=<punches stored>"; other tables (user, options, …) are counted, not stored.
func (r *Receiver) querydata(w http.ResponseWriter, req *http.Request, c config.Clock, q zkpush.Query, log *slog.Logger, now time.Time) {
	body, ok := r.body(w, req)
	if !ok {
		return
	}
	table := q.TableName
	if table == "" {
		table = q.Table
	}
	var n int
	switch strings.ToUpper(table) {
	case "ATTLOG", "TRANSACTION", "RTLOG":
		if n, _, ok = r.storeBatch(w, req, c, log, zkpush.ParseRecords(body), false); !ok {
			return
		}
		r.success(req.Context(), c.Name, req.RemoteAddr, now, 0, n > 0)
	default:
		n = zkpush.CountLines(body)
		r.other(req.Context(), c, q, log, strings.ToUpper(table), n)
		r.success(req.Context(), c.Name, req.RemoteAddr, now, 0, false)
	}
	r.reply(w, "querydata", http.StatusOK, table+"="+strconv.Itoa(n))
}

// save stores one upload. A deadlock between concurrent uploads rolls the whole transaction
// back, so it is run again a few times before the clock is told to resend. The write runs to its
// end even when the daemon is stopping, bounded by its own timeout.
func (r *Receiver) save(ctx context.Context, clock string, rs []Record) error {
	r.saves.Add(1)
	defer r.saves.Done()
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 60*time.Second)
	defer cancel()
	select {
	case r.writers <- struct{}{}:
		defer func() { <-r.writers }()
	case <-wctx.Done():
		return &readError{"database", fmt.Errorf("waiting to store: %w", wctx.Err())}
	}
	var err error
	for try := 0; try < 6; try++ {
		if try > 0 {
			select {
			case <-wctx.Done():
				return err
			case <-time.After(time.Duration(try*10+rand.IntN(20)) * time.Millisecond):
			}
		}
		if _, err = r.saver.save(wctx, clock, rs, nil, false); err == nil || !store.Retryable(err) {
			return err
		}
	}
	return err
}

// tableLabel keeps the table label to the names clocks send.
func tableLabel(t, def string) string {
	switch t {
	case "OPERLOG", "ATTPHOTO", "USERINFO", "FINGERTMP", "BIODATA", "USERPIC", "ERRORLOG", "OPTIONS", "RTSTATE", "USER":
		return t
	}
	return def
}

// maxCommands bounds the commands handed out per poll.
const maxCommands = 10

// poll hands out the clock's queued commands, or OK.
func (r *Receiver) poll(w http.ResponseWriter, req *http.Request, c config.Clock, log *slog.Logger, now time.Time) {
	r.success(req.Context(), c.Name, req.RemoteAddr, now, 0, false)
	has, err := r.o.Store.HasPushCommands(req.Context(), c.Name)
	if err != nil {
		log.Warn("push poll: cannot read the command queue", "err", err)
	}
	if !has {
		r.reply(w, "poll", http.StatusOK, "OK")
		return
	}
	cmds, err := r.o.Store.TakePushCommands(req.Context(), c.Name, maxCommands, store.Wall(now, r.o.Location))
	if err != nil || len(cmds) == 0 {
		if err != nil {
			log.Warn("push poll: cannot take the queued commands", "err", err)
		}
		r.reply(w, "poll", http.StatusOK, "OK")
		return
	}
	out := make([]zkpush.Command, len(cmds))
	for i, cmd := range cmds {
		out[i] = zkpush.Command{ID: cmd.ID, Cmd: cmd.Command}
		log.Info("push command sent", "id", cmd.ID, "command", cmd.Command)
	}
	r.reply(w, "poll", http.StatusOK, string(zkpush.AppendCommands(nil, out)))
}

// results records the results of the clock's commands: one or several in the body, each on one
// line or with its fields on separate lines, or one in the query (devicecmd?ID=…&Return=…).
func (r *Receiver) results(w http.ResponseWriter, req *http.Request, c config.Clock, q zkpush.Query, log *slog.Logger, now time.Time) {
	body, ok := r.body(w, req)
	if !ok {
		return
	}
	rs, err := zkpush.ParseResults(body)
	if err != nil {
		log.Warn("push command result: malformed", "err", err)
	}
	if len(rs) == 0 && q.Result != nil {
		res := *q.Result
		res.Data = string(body[:min(len(body), 16<<10)])
		rs = append(rs, res)
	}
	wall := store.Wall(now, r.o.Location)
	for _, res := range rs {
		err := r.o.Store.RecordPushResult(req.Context(), c.Name, res.ID, int64(res.Return), res.Data, wall)
		switch {
		case errors.Is(err, store.ErrNotFound):
			log.Warn("push command result for a command this clock was not sent", "id", res.ID)
		case err != nil:
			log.Warn("push command result not recorded", "id", res.ID, "err", err)
			r.reply(w, "database_error", http.StatusServiceUnavailable, "ERROR: not recorded")
			return
		default:
			log.Info("push command done", "id", res.ID, "return", res.Return, "command", res.Cmd)
		}
	}
	r.success(req.Context(), c.Name, req.RemoteAddr, now, 0, false)
	r.reply(w, "result", http.StatusOK, "OK")
}

// bucket is a token bucket: rate tokens a second up to burst.
type bucket struct {
	tokens float64
	at     time.Time
}

func (b *bucket) take(now time.Time, rate, burst float64) bool {
	if b.at.IsZero() {
		b.tokens = burst
	} else if d := now.Sub(b.at).Seconds(); d > 0 {
		b.tokens = min(burst, b.tokens+d*rate)
	}
	b.at = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

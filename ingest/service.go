package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/kaoqin/kaoqin/internal/config"
	"github.com/kaoqin/kaoqin/internal/store"
)

// Options configure a Service.
type Options struct {
	Store    *store.Store
	Metrics  *Metrics
	Logger   *slog.Logger
	Location *time.Location
	// SkewThreshold is how far a clock may be off before its punches are flagged.
	SkewThreshold time.Duration
	// InPunchWindow tells whether a wall-clock time is inside a punch window of a working day;
	// the attendance schedule answers it (ingest does not import the engine).
	InPunchWindow func(wall time.Time) bool
	// Now is the clock of the server; time.Now by default (tests move it).
	Now func() time.Time
	// Stored is called after new punches were committed (the results worker's wake-up).
	Stored func()

	// Identity names this daemon in the clock leases (store.DefaultIdentity() when "").
	Identity string
	// Site is this daemon's site: it reads only the clocks of that site (config ingest.site).
	Site string
	// Lease is how long a clock's lease lasts without renewal; DefaultLease when 0.
	Lease time.Duration
	// HasPort tells whether a serial port exists on this machine (os.Stat by default).
	HasPort func(port string) bool
}

// Service reads every configured polled clock on its schedule.
type Service struct {
	store         *store.Store
	metrics       *Metrics
	log           *slog.Logger
	loc           *time.Location
	skewThreshold time.Duration
	inPunchWindow func(time.Time) bool
	now           func() time.Time
	stored        func()

	cron  *cron.Cron
	buses buses

	mu      sync.Mutex
	ctx     context.Context
	readers map[string]*entry

	saver     *saver
	saveGroup sync.WaitGroup

	// Ownership of clocks through leases (ownership.go).
	identity, site string
	lease          time.Duration
	hasPort        func(string) bool
	omet           *ownershipMetrics
	ownMu          sync.Mutex
	own            map[string]*tenure // clock → this daemon's tenure of its lease
	ownBase        context.Context    // tenures end with it (Start's context)
	ownCancel      context.CancelFunc
	ownDone        chan struct{}
	saidNone       bool
	ownersMu       sync.Mutex
	owners         map[string]string
}

type entry struct {
	r      *reader
	cfg    config.Clock
	id     cron.EntryID
	cancel context.CancelFunc // the realtime subscription
	sub    context.Context    // its context, ended with the subscription or the lease's tenure
}

// New creates a Service; Start begins reading.
func New(o Options) *Service {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Location == nil {
		o.Location = time.UTC
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Identity == "" {
		o.Identity = store.DefaultIdentity()
	}
	if o.Lease <= 0 {
		o.Lease = DefaultLease
	}
	if o.HasPort == nil {
		o.HasPort = portExists
	}
	omet := o.Metrics.own
	if omet == nil {
		omet = newOwnershipMetrics(nil)
	}
	omet.Identity.WithLabelValues(o.Identity, o.Site).Set(1)
	return &Service{
		identity: o.Identity, site: o.Site, lease: o.Lease, hasPort: o.HasPort, omet: omet,
		own: map[string]*tenure{}, ownDone: make(chan struct{}),
		store: o.Store, metrics: o.Metrics, log: o.Logger, loc: o.Location,
		skewThreshold: o.SkewThreshold, inPunchWindow: o.InPunchWindow, now: o.Now, stored: o.Stored,
		cron:    cron.New(cron.WithLocation(o.Location), cron.WithParser(cronParser{})),
		readers: map[string]*entry{},
		saver:   newSaver(o.Store, o.Metrics, o.Logger, o.Location, o.Now, o.Stored),
	}
}

type cronParser struct{}

func (cronParser) Parse(spec string) (cron.Schedule, error) { return config.ParseCron(spec) }

// Start runs the scheduler until ctx ends; Stop waits for the reads under way.
func (s *Service) Start(ctx context.Context) {
	// The "no punch while the others record" alert needs every clock's newest punch from the start.
	if last, err := s.store.LastPunchTimes(ctx); err == nil {
		for clock, t := range last {
			s.metrics.LastPunch.WithLabelValues(clock).Set(float64(store.Instant(t, s.loc).Unix()))
		}
	} else {
		s.log.Warn("cannot read the newest punch of each clock", "err", err)
	}
	s.mu.Lock()
	s.ctx = ctx
	s.mu.Unlock()
	// The first lease pass runs before the first scheduled read, so that a daemon alone reads its
	// clocks from the start; realtime subscriptions open as their leases are taken.
	octx, cancel := context.WithCancel(ctx)
	s.ownCancel = cancel
	s.ownMu.Lock()
	s.ownBase = ctx
	s.ownMu.Unlock()
	if err := s.ownPass(octx); err != nil {
		s.omet.LeaseError.Inc()
		s.log.Warn("clock lease pass failed; retried shortly", "err", err)
	}
	go s.ownLoop(octx)
	s.cron.Start()
}

// Stop stops scheduling and waits for running reads (and their database writes) to finish, or
// for ctx to end.
func (s *Service) Stop(ctx context.Context) {
	done := s.cron.Stop()
	select {
	case <-done.Done():
	case <-ctx.Done():
	}
	// Giving the leases up ends the realtime subscriptions; it waits for each clock's read.
	if s.ownCancel != nil {
		s.ownCancel()
		select {
		case <-s.ownDone:
		case <-ctx.Done():
		}
	}
	waited := make(chan struct{})
	go func() { s.saveGroup.Wait(); close(waited) }()
	select {
	case <-waited:
	case <-ctx.Done():
	}
	s.buses.drop(nil)
}

// Apply makes the set of read clocks match clocks: new ones are scheduled, removed ones stopped,
// changed ones restarted. Push clocks are skipped (they call the daemon).
func (s *Service) Apply(clocks []config.Clock) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	want := map[string]config.Clock{}
	for _, c := range clocks {
		if c.Protocol == "zk-push" {
			continue
		}
		want[c.Name] = c
	}
	// Validate every dialer first, so a bad clock changes nothing.
	dialers := map[string]Dialer{}
	for name, c := range want {
		if old, ok := s.readers[name]; ok && sameClock(old.cfg, c) {
			continue
		}
		d, err := dialerFor(c, &s.buses)
		if err != nil {
			return err
		}
		dialers[name] = d
	}
	for name, e := range s.readers {
		if c, ok := want[name]; ok && sameClock(e.cfg, c) {
			continue
		}
		s.stopEntry(e)
		delete(s.readers, name)
		if _, still := want[name]; !still {
			s.metrics.forget(name)
			s.dropLease(name)
			s.log.Info("clock removed", "clock", name)
		}
	}
	names := make([]string, 0, len(dialers))
	for n := range dialers {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		c := want[name]
		r := &reader{svc: s, cfg: c, dial: dialers[name], log: s.log.With("clock", name)}
		e := &entry{r: r, cfg: c}
		id, err := s.cron.AddFunc(c.Read, func() {
			s.mu.Lock()
			ctx := s.ctx
			s.mu.Unlock()
			if ctx == nil || ctx.Err() != nil {
				return
			}
			r.run(ctx)
		})
		if err != nil {
			return fmt.Errorf("clock %s: read schedule %q: %w", name, c.Read, err)
		}
		e.id = id
		if sched, err := config.ParseCron(c.Read); err == nil {
			t0 := time.Date(2026, 1, 5, 10, 0, 0, 0, s.loc)
			t1 := sched.Next(t0)
			s.metrics.ReadInterval.WithLabelValues(name).Set(sched.Next(t1).Sub(t1).Seconds())
		}
		s.readers[name] = e
		s.subscribeIfHeld(e)
		s.metrics.zero(name)
		s.log.Info("clock scheduled", "clock", name, "protocol", c.Protocol, "transport", c.Transport, "read", c.Read)
	}
	used := map[string]bool{}
	for _, c := range want {
		if c.Transport == "serial" && c.Serial != nil {
			used[c.Serial.Port] = true
		}
	}
	s.buses.drop(used)
	return nil
}

// subscribeIfHeld opens the realtime subscription of e's clock when this daemon holds its lease
// and none is open (s.mu held); it ends with the tenure.
func (s *Service) subscribeIfHeld(e *entry) {
	if !e.cfg.Realtime || e.cfg.Protocol != "zk" || e.sub != nil && e.sub.Err() == nil {
		return
	}
	t := s.holding(e.cfg.Name)
	if t == nil {
		return
	}
	e.sub, e.cancel = context.WithCancel(t.ctx)
	go e.r.subscribe(e.sub)
}

func (s *Service) stopEntry(e *entry) {
	s.cron.Remove(e.id)
	if e.cancel != nil {
		e.cancel()
	}
}

func sameClock(a, b config.Clock) bool {
	if (a.Serial == nil) != (b.Serial == nil) || a.Serial != nil && *a.Serial != *b.Serial {
		return false
	}
	a.Serial, b.Serial = nil, nil
	return a == b
}

// ReadNow reads one clock at once (outside its schedule), as a scheduled read would.
func (s *Service) ReadNow(ctx context.Context, name string) error {
	s.mu.Lock()
	e, ok := s.readers[name]
	s.mu.Unlock()
	if !ok {
		return fmt.Errorf("no polled clock named %q", name)
	}
	t, err := s.ensureHeld(ctx, name)
	if err != nil {
		return err
	}
	e.r.busy.Lock()
	defer e.r.busy.Unlock()
	ctx, cancel := context.WithTimeout(ctx, e.cfg.Timeout.Std())
	defer cancel()
	stop := context.AfterFunc(t.ctx, cancel) // the lease ends: so does the read
	defer stop()
	return e.r.readOnce(ctx, t)
}

// save maps the clock's user ids to staff and stores the records with the cursor. The write runs
// to its end even when the daemon is stopping (SIGTERM finishes the current writes), bounded by
// its own timeout.
// fence is the tenure whose lease the write must still hold (store.InsertPunchesUnder).
func (s *Service) save(ctx context.Context, fence *store.Lease, clock string, recs []Record, next *store.Cursor, skewed bool) error {
	s.saveGroup.Add(1)
	defer s.saveGroup.Done()
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 60*time.Second)
	defer cancel()
	_, err := s.saver.saveUnder(wctx, fence, clock, recs, next, skewed)
	return err
}

// saver maps clock user ids to staff through the enrolments and stores punches, counting them in
// the per-clock metrics; polled clocks (Service) and push clocks (Receiver) share it.
type saver struct {
	store   *store.Store
	metrics *Metrics
	log     *slog.Logger
	loc     *time.Location
	now     func() time.Time
	stored  func()

	enrolMu  sync.Mutex
	enrol    map[string]map[string]string // clock → user id → staff id
	enrolAt  time.Time
	enrolTTL time.Duration
}

// save stores recs of clock with the cursor. Errors are *readError of kind "database" or
// "protocol".
func (s *saver) save(ctx context.Context, clock string, recs []Record, next *store.Cursor, skewed bool) (store.InsertResult, error) {
	return s.saveUnder(ctx, nil, clock, recs, next, skewed)
}

// saveUnder is save fenced by a clock's lease (nil: none, as for push clocks, which hold no
// connection and may reach any daemon); a lost lease is an error of kind "lease".
func (s *saver) saveUnder(ctx context.Context, fence *store.Lease, clock string, recs []Record, next *store.Cursor, skewed bool) (store.InsertResult, error) {
	users, err := s.enrolments(ctx, clock)
	if err != nil {
		s.metrics.StoreErrors.Inc()
		return store.InsertResult{}, &readError{"database", err}
	}
	received := store.Wall(s.now(), s.loc)
	ps := make([]store.Punch, len(recs))
	unknown := 0
	var newest time.Time
	for i, r := range recs {
		staff := users[r.UserID]
		if staff == "" {
			unknown++
		}
		ps[i] = store.Punch{Clock: clock, UserID: r.UserID, Time: r.Time, Verify: r.Verify, State: r.State,
			ReceivedAt: received, Skewed: skewed, StaffID: staff, Unread: r.Unread}
		if r.Time.After(newest) {
			newest = r.Time
		}
	}
	res, err := s.store.InsertPunchesUnder(ctx, fence, ps, next)
	if err != nil {
		if errors.Is(err, store.ErrBadPunch) {
			return res, &readError{"protocol", err}
		}
		if errors.Is(err, store.ErrLeaseLost) {
			return res, &readError{"lease", err}
		}
		s.metrics.StoreErrors.Inc()
		return res, &readError{"database", err}
	}
	m := s.metrics
	m.PunchesStored.WithLabelValues(clock).Add(float64(res.Inserted))
	m.Duplicates.WithLabelValues(clock).Add(float64(res.Duplicates))
	if unknown > 0 {
		m.UnknownUsers.WithLabelValues(clock).Add(float64(unknown))
	}
	if !newest.IsZero() {
		m.LastPunch.WithLabelValues(clock).Set(float64(store.Instant(newest, s.loc).Unix()))
	}
	if res.Inserted > 0 && s.stored != nil {
		s.stored()
	}
	if res.Inserted > 0 {
		s.log.Info("punches stored", "clock", clock, "new", res.Inserted, "duplicates", res.Duplicates, "unknown_users", unknown)
	}
	return res, nil
}

func newSaver(st *store.Store, m *Metrics, log *slog.Logger, loc *time.Location, now func() time.Time, stored func()) *saver {
	return &saver{store: st, metrics: m, log: log, loc: loc, now: now, stored: stored, enrolTTL: 5 * time.Second}
}

// enrolments returns a clock's user id → staff id map, refreshed from the database every few
// seconds so that an operator's enrolment is picked up without a restart.
func (s *saver) enrolments(ctx context.Context, clock string) (map[string]string, error) {
	s.enrolMu.Lock()
	defer s.enrolMu.Unlock()
	if s.enrol == nil || s.now().Sub(s.enrolAt) > s.enrolTTL {
		all, err := s.store.Enrollments(ctx)
		if err != nil {
			return nil, err
		}
		m := map[string]map[string]string{}
		for _, e := range all {
			if m[e.Clock] == nil {
				m[e.Clock] = map[string]string{}
			}
			m[e.Clock][e.UserID] = e.StaffID
		}
		s.enrol, s.enrolAt = m, s.now()
	}
	return s.enrol[clock], nil
}

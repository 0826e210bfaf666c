package ingest

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"os"
	"sort"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kaoqin/kaoqin/internal/config"
	"github.com/kaoqin/kaoqin/internal/store"
)

// Clock ownership. Several daemons may share one database (two per service center, so that one
// can die): each polled clock is read by the one daemon that holds its lease ("clock/NAME") in
// the database. A daemon takes the leases of its site's clocks that are free or expired, up to
// its share (the clocks divided by the daemons of the site alive now, each of which holds a
// "member/SITE/IDENTITY" lease), renews them every third of the lease, and gives up those beyond
// its share once their reader is idle, so that two daemons split the clocks. A daemon that dies
// stops renewing; its leases expire and the others take them.
//
// A tenure is one holding of one clock's lease. Its context ends when the lease is lost, released,
// or LeaseMargin before its expiry if renewals stop succeeding (this daemon lost the database);
// reads and realtime subscriptions run under it, and the connection to the clock is closed when
// it ends, so the clock's one session is free before another daemon may take the lease. Every
// store of punches is fenced by the tenure's token (store.InsertPunchesUnder): a daemon that lost
// the lease commits nothing and so never clears an Anviz mark.

// DefaultLease is the lease of a clock when Options.Lease is 0.
const DefaultLease = 15 * time.Second

type tenure struct {
	lease  store.Lease // as taken; its Expires is not updated (the fence needs name, owner, token)
	ctx    context.Context
	cancel context.CancelFunc
	timer  *time.Timer
}

// ownershipMetrics say who reads which clock.
type ownershipMetrics struct {
	Owner      *prometheus.GaugeVec // clock, owner: 1 for the current holder
	Owned      prometheus.Gauge
	Takeovers  prometheus.Counter
	Lost       prometheus.Counter
	Identity   *prometheus.GaugeVec
	LeaseError prometheus.Counter
}

func newOwnershipMetrics(reg prometheus.Registerer) *ownershipMetrics {
	m := &ownershipMetrics{
		Owner: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "kaoqin_clock_owner_info",
			Help: "1 for the daemon (owner) that holds the clock's lease and reads it, as this daemon last saw the leases; no series while no daemon holds it."},
			[]string{"clock", "owner"}),
		Owned: prometheus.NewGauge(prometheus.GaugeOpts{Name: "kaoqin_ingest_clocks_owned",
			Help: "Polled clocks this daemon holds the lease of and reads (0: another daemon reads them all, or none can be taken)."}),
		Takeovers: prometheus.NewCounter(prometheus.CounterOpts{Name: "kaoqin_ingest_clock_leases_taken_total",
			Help: "Clock leases this daemon took (at start, from a dead daemon, or handed over)."}),
		Lost: prometheus.NewCounter(prometheus.CounterOpts{Name: "kaoqin_ingest_clock_leases_lost_total",
			Help: "Clock leases this daemon lost without giving them up (not renewed in time, or taken by another daemon)."}),
		Identity: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "kaoqin_ingest_daemon_info",
			Help: "1, labelled with the identity this daemon holds clock leases under and its site."}, []string{"identity", "site"}),
		LeaseError: prometheus.NewCounter(prometheus.CounterOpts{Name: "kaoqin_ingest_lease_errors_total",
			Help: "Lease passes that failed on the database (the clocks held stay held until their margin runs out)."}),
	}
	if reg != nil {
		reg.MustRegister(m.Owner, m.Owned, m.Takeovers, m.Lost, m.Identity, m.LeaseError)
	}
	return m
}

func clockLease(name string) string { return store.LeaseName("clock", name) }

func (s *Service) memberPrefix() string { return store.LeaseName("member", s.site) + "/" }

// eligible tells whether this daemon may read c: its site, and for a serial clock the port on
// this machine.
func (s *Service) eligible(c config.Clock) bool {
	if c.Site != s.site {
		return false
	}
	if c.Transport == "serial" && c.Serial != nil {
		return s.hasPort(c.Serial.Port)
	}
	return true
}

func portExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// holding returns the tenure of clock name, or nil when this daemon does not hold it.
func (s *Service) holding(name string) *tenure {
	s.ownMu.Lock()
	defer s.ownMu.Unlock()
	t := s.own[name]
	if t == nil || t.ctx.Err() != nil {
		return nil
	}
	return t
}

// begin starts a tenure of l (s.ownMu held; the caller then calls subscribe).
func (s *Service) begin(l store.Lease) *tenure {
	base := s.ownBase
	if base == nil {
		base = context.Background()
	}
	ctx, cancel := context.WithCancel(base)
	t := &tenure{lease: l, ctx: ctx, cancel: cancel}
	t.timer = time.AfterFunc(s.untilMargin(l), func() {
		s.log.Warn("clock lease not renewed in time; stopped reading it", "clock", leaseClock(l.Name))
		s.end(l.Name, true)
	})
	s.own[leaseClock(l.Name)] = t
	s.omet.Takeovers.Inc()
	s.omet.Owned.Set(float64(len(s.own)))
	s.log.Info("clock taken", "clock", leaseClock(l.Name), "owner", l.Owner, "token", l.Token)
	return t
}

// subscribe opens the realtime subscription of a clock just taken, if it has one.
func (s *Service) subscribe(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e := s.readers[name]; e != nil {
		s.subscribeIfHeld(e)
	}
}

// dropLease gives up the lease of a clock removed from the config (s.mu held).
func (s *Service) dropLease(name string) {
	t := s.holding(name)
	if t == nil {
		return
	}
	s.end(t.lease.Name, false)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.store.ReleaseLease(ctx, t.lease); err != nil {
			s.log.Warn("lease of a removed clock not released; it expires by itself", "clock", name, "err", err)
		}
	}()
}

func (s *Service) untilMargin(l store.Lease) time.Duration {
	return max(time.Until(l.Expires)-store.LeaseMargin(s.lease), 0)
}

func leaseClock(name string) string { return name[len("clock/"):] }

// end finishes the tenure of lease name; lost counts it as lost rather than given up.
func (s *Service) end(leaseName string, lost bool) {
	clock := leaseClock(leaseName)
	s.ownMu.Lock()
	t := s.own[clock]
	if t != nil && t.lease.Name == leaseName {
		delete(s.own, clock)
		t.timer.Stop()
		t.cancel()
		if lost {
			s.omet.Lost.Inc()
		}
	}
	s.omet.Owned.Set(float64(len(s.own)))
	s.ownMu.Unlock()
}

// renewOne renews the lease of t before a read touches the clock: it proves the database answers
// and the lease is still this daemon's.
func (s *Service) renewOne(ctx context.Context, t *tenure) error {
	got, err := s.store.RenewLeases(ctx, []store.Lease{t.lease}, s.lease)
	if err != nil {
		return &readError{"database", err}
	}
	if len(got) == 0 {
		s.end(t.lease.Name, true)
		return store.ErrLeaseLost
	}
	s.renewed(got)
	return nil
}

// renewed records the new expiries of leases just renewed.
func (s *Service) renewed(ls []store.Lease) {
	s.ownMu.Lock()
	defer s.ownMu.Unlock()
	for _, l := range ls {
		if t := s.own[leaseClock(l.Name)]; t != nil && t.lease.Token == l.Token {
			t.timer.Reset(s.untilMargin(l))
		}
	}
}

// ownLoop runs the lease passes until ctx ends, then gives every lease up.
func (s *Service) ownLoop(ctx context.Context) {
	defer close(s.ownDone)
	for {
		wait := time.Duration(float64(s.lease/3) * (0.8 + 0.4*rand.Float64()))
		select {
		case <-ctx.Done():
			s.releaseAll()
			return
		case <-time.After(wait):
		}
		if err := s.ownPass(ctx); err != nil && ctx.Err() == nil {
			s.omet.LeaseError.Inc()
			s.log.Warn("clock lease pass failed", "err", err)
		}
	}
}

// ownPass renews what this daemon holds, and takes or gives up clocks to reach its share.
func (s *Service) ownPass(ctx context.Context) error {
	if _, err := s.store.AcquireLease(ctx, s.memberPrefix()+s.identity, s.identity, s.lease); err != nil {
		return fmt.Errorf("member lease: %w", err)
	}
	s.ownMu.Lock()
	held := make([]store.Lease, 0, len(s.own))
	for _, t := range s.own {
		held = append(held, t.lease)
	}
	s.ownMu.Unlock()
	if len(held) > 0 {
		got, err := s.store.RenewLeases(ctx, held, s.lease)
		if err != nil {
			return fmt.Errorf("renew: %w", err)
		}
		s.renewed(got)
		kept := map[string]bool{}
		for _, l := range got {
			kept[l.Name] = true
		}
		for _, l := range held {
			if !kept[l.Name] {
				s.log.Warn("clock lease lost", "clock", leaseClock(l.Name))
				s.end(l.Name, true)
			}
		}
	}
	members, err := s.store.Leases(ctx, s.memberPrefix())
	if err != nil {
		return err
	}
	leases, err := s.store.Leases(ctx, "clock/")
	if err != nil {
		return err
	}
	now := time.Now()
	live := 0
	for _, m := range members {
		if m.Held(now) {
			live++
		}
	}
	live = max(live, 1)
	byName := map[string]store.Lease{}
	for _, l := range leases {
		byName[l.Name] = l
	}
	s.mu.Lock()
	var mine []string
	for name, e := range s.readers {
		if s.eligible(e.cfg) {
			mine = append(mine, name)
		}
	}
	s.mu.Unlock()
	share := (len(mine) + live - 1) / live
	// Each daemon tries the clocks in its own order, so that two daemons starting together do not
	// race for the same clocks first.
	sort.Slice(mine, func(i, j int) bool { return s.rank(mine[i]) < s.rank(mine[j]) })
	held2 := 0
	s.ownMu.Lock()
	held2 = len(s.own)
	s.ownMu.Unlock()
	if held2 > share {
		s.giveUp(ctx, held2-share, mine)
	}
	for _, name := range mine {
		if held2 >= share {
			break
		}
		if s.holding(name) != nil {
			continue
		}
		if l, ok := byName[clockLease(name)]; ok && l.Held(now) {
			continue
		}
		l, err := s.store.AcquireLease(ctx, clockLease(name), s.identity, s.lease)
		if errors.Is(err, store.ErrLeaseHeld) {
			continue
		}
		if err != nil {
			return fmt.Errorf("take %s: %w", name, err)
		}
		s.ownMu.Lock()
		fresh := s.own[name] == nil
		if fresh {
			s.begin(l)
			held2++
		}
		s.ownMu.Unlock()
		if fresh {
			s.subscribe(name)
		}
		byName[l.Name] = l
	}
	s.showOwners(byName, mine, now)
	return nil
}

// rank orders clocks differently for each daemon.
func (s *Service) rank(name string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s.identity))
	h.Write([]byte{0})
	h.Write([]byte(name))
	return h.Sum64()
}

// giveUp releases n clocks whose reader is idle, last-ranked first, so that another daemon of
// the site takes them.
func (s *Service) giveUp(ctx context.Context, n int, order []string) {
	for i := len(order) - 1; i >= 0 && n > 0; i-- {
		name := order[i]
		t := s.holding(name)
		if t == nil {
			continue
		}
		s.mu.Lock()
		e := s.readers[name]
		s.mu.Unlock()
		if e == nil || !e.r.busy.TryLock() {
			continue
		}
		s.end(t.lease.Name, false)
		if err := s.store.ReleaseLease(ctx, t.lease); err != nil {
			s.log.Warn("clock lease not released; it expires by itself", "clock", name, "err", err)
		}
		e.r.busy.Unlock()
		s.log.Info("clock handed over to another daemon of the site", "clock", name)
		n--
	}
}

// releaseAll gives every lease up (the daemon is stopping), so that another daemon takes the
// clocks at its next pass instead of after the expiry.
func (s *Service) releaseAll() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s.ownMu.Lock()
	var ls []store.Lease
	for _, t := range s.own {
		ls = append(ls, t.lease)
	}
	s.ownMu.Unlock()
	for _, l := range ls {
		// The clock's read (under way, its context ended) finishes before its lease is free.
		s.mu.Lock()
		e := s.readers[leaseClock(l.Name)]
		s.mu.Unlock()
		s.end(l.Name, false)
		if e != nil {
			e.r.busy.Lock()
			e.r.busy.Unlock()
		}
		if err := s.store.ReleaseLease(ctx, l); err != nil {
			s.log.Warn("clock lease not released; it expires by itself", "clock", leaseClock(l.Name), "err", err)
		}
	}
	if err := s.store.ReleaseLease(ctx, store.Lease{Name: s.memberPrefix() + s.identity, Owner: s.identity}); err != nil {
		s.log.Debug("member lease not released", "err", err)
	}
}

// showOwners exports who holds each clock of this site, and says so when this daemon reads none.
func (s *Service) showOwners(byName map[string]store.Lease, clocks []string, now time.Time) {
	s.omet.Owner.Reset()
	owners := map[string]string{}
	for _, name := range clocks {
		if l, ok := byName[clockLease(name)]; ok && l.Held(now) {
			s.omet.Owner.WithLabelValues(name, l.Owner).Set(1)
			owners[name] = l.Owner
		}
	}
	s.ownMu.Lock()
	n := len(s.own)
	s.ownMu.Unlock()
	s.omet.Owned.Set(float64(n))
	if n == 0 && len(clocks) > 0 && !s.saidNone {
		s.log.Info("this daemon reads no clock: every clock of its site is held by another daemon", "site", s.site, "clocks", len(clocks))
	}
	s.saidNone = n == 0
	s.ownersMu.Lock()
	s.owners = owners
	s.ownersMu.Unlock()
}

// Owners returns the daemon that holds each clock's lease as this daemon last saw it (a clock
// missing has no live holder); the clocks page shows it.
func (s *Service) Owners() map[string]string {
	s.ownersMu.Lock()
	defer s.ownersMu.Unlock()
	out := make(map[string]string, len(s.owners))
	for k, v := range s.owners {
		out[k] = v
	}
	return out
}

// Identity is the name this daemon holds leases under.
func (s *Service) Identity() string { return s.identity }

// ensureHeld returns the tenure of name, taking the lease now if it is free (ReadNow).
func (s *Service) ensureHeld(ctx context.Context, name string) (*tenure, error) {
	if t := s.holding(name); t != nil {
		return t, nil
	}
	l, err := s.store.AcquireLease(ctx, clockLease(name), s.identity, s.lease)
	if errors.Is(err, store.ErrLeaseHeld) {
		return nil, fmt.Errorf("clock %s is read by another daemon (its lease is held); read it there", name)
	}
	if err != nil {
		return nil, &readError{"database", err}
	}
	s.ownMu.Lock()
	t := s.own[name]
	if t == nil || t.ctx.Err() != nil {
		t = s.begin(l)
	}
	s.ownMu.Unlock()
	s.subscribe(name)
	return t, nil
}

package web

import (
	"bytes"
	"compress/gzip"
	"context"
	"html/template"
	"sync"
	"time"

	"github.com/kaoqin/kaoqin/attendance"
	"github.com/kaoqin/kaoqin/internal/store"
	"github.com/kaoqin/kaoqin/reports"
)

// dayCache keeps the daily status, its rendered body and its JSON, built once however many
// clients ask at the same time: the today page refreshes every minute on every supervisor's
// screen, and 200 clients must not each read the roster and render 500 rows.
//
// An entry is fresh for dayTTL and as of one minute (at is truncated). A stale entry is still
// served while one request rebuilds it in the background, so only the first client of a date and
// window ever waits for a build; the status shown is then at most dayTTL plus one build old. An
// entry made through this daemon starts a new generation, so the next request builds afresh and
// waits for it; one made through another daemon sharing the database shows within dayTTL.
//
// The cache holds at most maxDayEntries dates and windows, the least recently used going first:
// any user may ask for any ?date=, and 3,000 distinct dates once took the daemon from 62 to 472 MB.
type dayCache struct {
	mu      sync.Mutex
	gen     uint64
	entries map[dayKey]*dayEntry
}

const (
	dayTTL        = 5 * time.Second
	maxDayEntries = 64 // a center's windows for today and a few days looked back on
)

type dayKey struct {
	date         attendance.Date
	window, unit string
	gen          uint64
}

type dayEntry struct {
	at      time.Time
	expires time.Time
	ready   chan struct{} // closed once built
	rep     *reports.DayReport
	view    *dayView
	body    template.HTML
	err     error

	refreshing bool      // guarded by dayCache.mu
	used       time.Time // last asked for; guarded by dayCache.mu

	jsonOnce sync.Once
	json     []byte
	jsonGz   []byte
	jsonErr  error
}

// JSON is the status as the API gives it, encoded (and gzipped) once.
func (e *dayEntry) JSON() (plain, gz []byte, err error) {
	e.jsonOnce.Do(func() {
		var b bytes.Buffer
		if e.jsonErr = e.rep.WriteJSON(&b); e.jsonErr != nil {
			return
		}
		e.json = b.Bytes()
		var z bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&z, gzip.BestSpeed)
		zw.Write(e.json)
		if e.jsonErr = zw.Close(); e.jsonErr == nil {
			e.jsonGz = z.Bytes()
		}
	})
	return e.json, e.jsonGz, e.jsonErr
}

// sessionCache remembers sessions read from the database for sessionTTL, so that a page does not
// cost a query for its session on top of its data. A logout through this daemon forgets the
// session at once; a logout, password change or disabling through another daemon or the CLI
// takes effect within sessionTTL.
type sessionCache struct {
	mu sync.Mutex
	m  map[string]cachedSession
}

const sessionTTL = 5 * time.Second

type cachedSession struct {
	s       store.Session
	expires time.Time
}

func (c *sessionCache) get(id string, now time.Time) (store.Session, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cs, ok := c.m[id]
	if !ok || now.After(cs.expires) {
		return store.Session{}, false
	}
	return cs.s, true
}

func (c *sessionCache) put(s store.Session, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) > 10000 {
		c.m = map[string]cachedSession{} // crude bound: start over rather than grow without end
	}
	c.m[s.IDHash] = cachedSession{s, now.Add(sessionTTL)}
}

// forgetUser forgets every session of a user (a password, role or state changed).
func (c *sessionCache) forgetUser(name string) {
	c.mu.Lock()
	for id, cs := range c.m {
		if cs.s.User.Name == name {
			delete(c.m, id)
		}
	}
	c.mu.Unlock()
}

func (c *sessionCache) forget(id string) {
	c.mu.Lock()
	delete(c.m, id)
	c.mu.Unlock()
}

func (c *dayCache) invalidate() {
	c.mu.Lock()
	c.gen++
	c.entries = nil
	c.mu.Unlock()
}

// cachedDay returns the status of q's date as of q's time (truncated to the minute), window and unit.
func (s *server) cachedDay(ctx context.Context, q dayFilter) (*dayEntry, error) {
	at := q.at.Truncate(time.Minute)
	now := time.Now()
	c := &s.days
	c.mu.Lock()
	k := dayKey{q.date, q.window, q.unit, c.gen}
	e := c.entries[k]
	if e != nil {
		e.used = now
	}
	switch {
	case e == nil:
		if c.entries == nil {
			c.entries = map[dayKey]*dayEntry{}
		}
		c.evict()
		e = &dayEntry{at: at, ready: make(chan struct{}), used: now}
		c.entries[k] = e
		c.mu.Unlock()
		s.build(ctx, k, e)
	case (now.After(e.expires) || !e.at.Equal(at)) && !e.refreshing && isReady(e):
		e.refreshing = true
		c.mu.Unlock()
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			s.build(ctx, k, &dayEntry{at: at, ready: make(chan struct{})})
		}()
	default:
		c.mu.Unlock()
	}
	select {
	case <-e.ready:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return e, e.err
}

// evict makes room for one more entry by dropping the least recently used ones (c.mu held). An
// entry still being built may go too: its waiters hold it, and its build finds it gone and does
// not file it again.
func (c *dayCache) evict() {
	for len(c.entries) >= maxDayEntries {
		var oldest dayKey
		var t time.Time
		for k, e := range c.entries {
			if t.IsZero() || e.used.Before(t) {
				oldest, t = k, e.used
			}
		}
		delete(c.entries, oldest)
	}
}

// size is how many entries the cache holds.
func (c *dayCache) size() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}

func isReady(e *dayEntry) bool {
	select {
	case <-e.ready:
		return true
	default:
		return false
	}
}

// build makes e and files it under k unless the generation moved on meanwhile; a failed build is
// not kept (the next request tries again).
func (s *server) build(ctx context.Context, k dayKey, e *dayEntry) {
	defer close(e.ready)
	e.rep, e.err = s.day(ctx, dayFilter{date: k.date, at: e.at, window: k.window, unit: k.unit})
	if e.err == nil {
		e.view = s.view(e.rep)
		var b bytes.Buffer
		if e.err = s.tmpl["today"].ExecuteTemplate(&b, "daybody", e.view); e.err == nil {
			e.body = template.HTML(b.String())
		}
	}
	e.expires = time.Now().Add(dayTTL)
	c := &s.days
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != k.gen || c.entries == nil {
		return
	}
	if e.err != nil {
		if old := c.entries[k]; old != nil {
			old.refreshing = false
			if old == e {
				delete(c.entries, k)
			}
		}
		s.log.Warn("daily status", "date", k.date, "err", e.err)
		return
	}
	old, ok := c.entries[k]
	if !ok {
		return // evicted meanwhile
	}
	e.used = old.used
	c.entries[k] = e
}

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
type dayCache struct {
	mu      sync.Mutex
	gen     uint64
	entries map[dayKey]*dayEntry
}

const dayTTL = 5 * time.Second

type dayKey struct {
	date   attendance.Date
	window string
	gen    uint64
}

type dayEntry struct {
	at      time.Time
	expires time.Time
	ready   chan struct{} // closed once built
	rep     *reports.DayReport
	body    template.HTML
	err     error

	refreshing bool // guarded by dayCache.mu

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

// cachedDay returns the status of date as of at (truncated to the minute) for window.
func (s *server) cachedDay(ctx context.Context, date attendance.Date, at time.Time, window string) (*dayEntry, error) {
	at = at.Truncate(time.Minute)
	now := time.Now()
	c := &s.days
	c.mu.Lock()
	k := dayKey{date, window, c.gen}
	e := c.entries[k]
	switch {
	case e == nil:
		if c.entries == nil {
			c.entries = map[dayKey]*dayEntry{}
		}
		e = &dayEntry{at: at, ready: make(chan struct{})}
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
	e.rep, e.err = s.day(ctx, k.date, e.at, k.window)
	if e.err == nil {
		var b bytes.Buffer
		if e.err = s.tmpl["today"].ExecuteTemplate(&b, "daybody", e.rep); e.err == nil {
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
	c.entries[k] = e
}

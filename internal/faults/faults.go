// Package faults holds the named points of the ingest path where a test can make the daemon fail
// on purpose: kill itself (as a power cut or an OOM kill would) or return an error, exactly at the
// moments where a wrong order of commit and clear would lose a punch. A test arms a point for a
// child process through the environment, e.g.
//
//	KAOQIN_FAULT=after-commit-before-clear:kill@3
//
// (kill the process the third time the point is reached), or in-process with Set. Unarmed, a
// point costs one atomic load.
package faults

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// Env is the variable read at start: a comma-separated list of point:action[@n], action kill or
// error, n the hit that fires (default 1; each fault fires once).
const Env = "KAOQIN_FAULT"

// The points of the ingest path, in the order a read reaches them.
const (
	// ClockRead: the clock's records are read, nothing is stored yet.
	ClockRead = "clock-read"
	// PunchesBeforeCursor: inside the store transaction, the punches are inserted, the dirty days
	// and the ZKTeco cursor are not.
	PunchesBeforeCursor = "punches-before-cursor"
	// BeforeCommit: inside the store transaction, everything is written, the commit is not.
	BeforeCommit = "before-commit"
	// AfterCommitBeforeClear: the punches are committed, the Anviz clock's new marks not cleared.
	AfterCommitBeforeClear = "after-commit-before-clear"
)

// Points lists every point; an armed name not in it is refused, so a renamed point cannot leave a
// test arming nothing.
var Points = []string{ClockRead, PunchesBeforeCursor, BeforeCommit, AfterCommitBeforeClear}

// ErrInjected is the error an "error" fault returns.
var ErrInjected = errors.New("fault injected")

type fault struct {
	action string // kill, error, or "" for fn
	at     int64  // the hit that fires
	fn     func() error
	hits   atomic.Int64
}

var (
	armed atomic.Bool
	mu    sync.Mutex
	table = map[string]*fault{}
)

func init() {
	if spec := os.Getenv(Env); spec != "" {
		if err := Arm(spec); err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", Env, err)
			os.Exit(2)
		}
	}
}

// Arm arms the faults of spec (the syntax of Env), replacing any armed at the same points.
func Arm(spec string) error {
	parsed := map[string]*fault{}
	for _, item := range strings.Split(spec, ",") {
		item = strings.TrimSpace(item)
		point, action, ok := strings.Cut(item, ":")
		if !ok {
			return fmt.Errorf("%q: want point:action[@n]", item)
		}
		if !known(point) {
			return fmt.Errorf("%q: unknown point %q (points: %s)", item, point, strings.Join(Points, ", "))
		}
		f := &fault{at: 1}
		if a, n, ok := strings.Cut(action, "@"); ok {
			at, err := strconv.ParseInt(n, 10, 64)
			if err != nil || at < 1 {
				return fmt.Errorf("%q: hit %q: want a number from 1", item, n)
			}
			action, f.at = a, at
		}
		if action != "kill" && action != "error" {
			return fmt.Errorf("%q: action %q: want kill or error", item, action)
		}
		f.action = action
		parsed[point] = f
	}
	mu.Lock()
	defer mu.Unlock()
	for p, f := range parsed {
		table[p] = f
	}
	armed.Store(len(table) > 0)
	return nil
}

// Set makes fn run every time point is reached, its error returned there; the returned function
// disarms it. For in-process tests (a test that kills the database server at a point).
func Set(point string, fn func() error) (disarm func()) {
	if !known(point) {
		panic("faults: unknown point " + point)
	}
	mu.Lock()
	table[point] = &fault{fn: fn}
	armed.Store(true)
	mu.Unlock()
	return func() {
		mu.Lock()
		delete(table, point)
		armed.Store(len(table) > 0)
		mu.Unlock()
	}
}

// Hit is called at a point: it returns nil unless a fault is armed there.
func Hit(point string) error {
	if !armed.Load() {
		return nil
	}
	mu.Lock()
	f := table[point]
	mu.Unlock()
	if f == nil {
		return nil
	}
	if f.fn != nil {
		return f.fn()
	}
	if f.hits.Add(1) != f.at {
		return nil
	}
	switch f.action {
	case "kill":
		// The line tells the test the process died here and not elsewhere.
		fmt.Fprintf(os.Stderr, "fault: %s: killing the process\n", point)
		if p, err := os.FindProcess(os.Getpid()); err == nil {
			p.Kill()
		}
		select {} // SIGKILL cannot be caught; wait for it
	}
	fmt.Fprintf(os.Stderr, "fault: %s: error injected\n", point)
	return fmt.Errorf("%s: %w", point, ErrInjected)
}

func known(point string) bool {
	for _, p := range Points {
		if p == point {
			return true
		}
	}
	return false
}

package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/kaoqin/kaoqin/internal/store"
	"github.com/kaoqin/kaoqin/internal/store/storetest"
)

func TestLeases(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		const name = "clock/hall"
		a, err := s.AcquireLease(ctx, name, "a", time.Second)
		if err != nil {
			t.Fatalf("a takes a free lease: %v", err)
		}
		if _, err := s.AcquireLease(ctx, name, "b", time.Second); !errors.Is(err, store.ErrLeaseHeld) {
			t.Fatalf("b takes a's live lease: got %v, want ErrLeaseHeld", err)
		}
		again, err := s.AcquireLease(ctx, name, "a", time.Second)
		if err != nil || again.Token != a.Token {
			t.Fatalf("a renews its lease: got token %d, %v; want token %d", again.Token, err, a.Token)
		}
		// An expired lease is taken under a new token; the old tenure is fenced out.
		expired, err := s.AcquireLease(ctx, "clock/side", "a", -time.Second)
		if err != nil {
			t.Fatal(err)
		}
		b, err := s.AcquireLease(ctx, "clock/side", "b", time.Minute)
		if err != nil || b.Token <= expired.Token {
			t.Fatalf("b takes an expired lease: got token %d, %v; want more than %d", b.Token, err, expired.Token)
		}
		p := []store.Punch{{Clock: "side", UserID: "1", Time: time.Date(2026, 10, 9, 8, 55, 0, 0, time.UTC)}}
		cur := &store.Cursor{Clock: "side", Position: 1}
		if _, err := s.InsertPunchesUnder(ctx, &expired, p, cur); !errors.Is(err, store.ErrLeaseLost) {
			t.Fatalf("store under a lost lease: got %v, want ErrLeaseLost", err)
		}
		if n, _ := s.CountPunches(ctx, "side"); n != 0 {
			t.Fatalf("punches stored under a lost lease: %d, want 0", n)
		}
		if _, err := s.GetCursor(ctx, "side"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("cursor moved under a lost lease: %v", err)
		}
		if res, err := s.InsertPunchesUnder(ctx, &b, p, cur); err != nil || res.Inserted != 1 {
			t.Fatalf("store under the held lease: got %+v, %v; want 1 inserted", res, err)
		}
		// Renewal keeps the held ones and reports the lost ones by leaving them out.
		got, err := s.RenewLeases(ctx, []store.Lease{a, expired, b}, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got[0].Name != name || got[1].Name != "clock/side" || got[1].Owner != "b" {
			t.Fatalf("renewed: got %+v, want a's hall and b's side", got)
		}
		if err := s.ReleaseLease(ctx, got[1]); err != nil {
			t.Fatal(err)
		}
		c, err := s.AcquireLease(ctx, "clock/side", "c", time.Minute)
		if err != nil || c.Token != b.Token+1 {
			t.Fatalf("c takes a released lease: got token %d, %v; want %d", c.Token, err, b.Token+1)
		}
		ls, err := s.Leases(ctx, "clock/")
		if err != nil || len(ls) != 2 || ls[1].Owner != "c" {
			t.Fatalf("Leases: got %+v, %v", ls, err)
		}
	})
}

// Many takers racing for one lease: exactly one holds each token.
func TestLeaseRace(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		const takers = 8
		var wg sync.WaitGroup
		won := make(chan string, takers)
		errs := make(chan error, takers)
		for i := 0; i < takers; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				_, err := s.AcquireLease(ctx, "job/finalize", fmt.Sprintf("d%d", i), time.Minute)
				switch {
				case err == nil:
					won <- fmt.Sprintf("d%d", i)
				case !errors.Is(err, store.ErrLeaseHeld):
					errs <- err
				}
			}(i)
		}
		wg.Wait()
		close(won)
		close(errs)
		for err := range errs {
			t.Errorf("taker failed: %v", err)
		}
		var winners []string
		for w := range won {
			winners = append(winners, w)
		}
		if len(winners) != 1 {
			t.Fatalf("winners: got %v, want exactly one", winners)
		}
	})
}

// The write skew of issue 16: a month closed while a result write is under way. Either the
// closing waits for the write (and the results were written before the month closed), or the
// closing commits first and the write fails with ErrMonthClosed — never both committed with the
// write after the closing. On one server the closing blocks; on Galera, with the closing sent to
// another node, one of the two fails certification and runs again.
func TestCloseDuringResultWrite(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		closer := s
		if s.Dialect() == "mysql" {
			if node, _ := s.Node(); node != "" {
				// Known gap, left open in issue 16's note: with the closing sent to another node,
				// about one run in ten commits both (the closing is applied on this node before the
				// write replicates, so certification sees no conflict and no brute-force abort hits
				// the write). Closed on one server and on SQLite; open on Galera.
				t.Skip("Galera: a closing on another node can still race a result write (known gap, see issue 16)")
				closer = otherNode(t, s)
			}
		}
		roster(t, s)
		day := time.Date(2026, 10, 9, 0, 0, 0, 0, time.UTC)
		rows := []store.SegmentResult{{StaffID: "1001", Day: "2026-10-09", Segment: "am", Values: store.Values{Findings: "LATE", LateMinutes: 3}}}
		var closeErr error
		var once sync.Once
		restore := store.SetResultsCheckedHook(func() {
			once.Do(func() {
				cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
				defer cancel()
				closeErr = closer.CloseMonth(cctx, "2026-10", "hr")
			})
		})
		saveErr := s.SaveResults(ctx, "1001", day, day, rows)
		restore()
		closed, err := s.IsClosed(ctx, "2026-10")
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case saveErr == nil && closeErr == nil:
			t.Fatalf("both the result write and the closing committed, the write checked an open month")
		case saveErr == nil:
			// The closing waited and gave up; closing now, the month is closed to later writes.
			if closed {
				t.Fatalf("closing failed (%v) yet the month is closed", closeErr)
			}
			if err := closer.CloseMonth(ctx, "2026-10", "hr"); err != nil {
				t.Fatal(err)
			}
		case errors.Is(saveErr, store.ErrMonthClosed):
			if !closed {
				t.Fatalf("result write refused as closed, but the month is open")
			}
		default:
			t.Fatalf("result write: %v (closing: %v)", saveErr, closeErr)
		}
		if err := s.SaveResults(ctx, "1001", day, day, rows); !errors.Is(err, store.ErrMonthClosed) {
			t.Fatalf("result write after the closing: got %v, want ErrMonthClosed", err)
		}
	})
}

// otherNode opens the database of s through another node of its Galera cluster.
func otherNode(t *testing.T, s *store.Store) *store.Store {
	t.Helper()
	b := storetest.GaleraPeer(t, s, 1)
	o, err := store.Open(ctx, b.Driver, b.DSN, store.Options{Location: storetest.Location, Addresses: b.Addresses})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { o.Close() })
	return o
}

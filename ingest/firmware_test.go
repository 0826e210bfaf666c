package ingest

import (
	"context"
	"errors"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/kaoqin/kaoqin/devices/zk/zkemu"
	"github.com/kaoqin/kaoqin/internal/config"
	"github.com/kaoqin/kaoqin/internal/store"
	"github.com/kaoqin/kaoqin/internal/store/storetest"
)

// TestZKCountDisagreementStoresNothing: a clock whose log decodes to fewer records than it counts
// (as pn-pyzk's simulator does: 150 counted, none served) fails the read as malformed. Nothing is
// stored, the cursor does not move, and the clock's read is not recorded, so R19 keeps its staff's
// results provisional.
func TestZKCountDisagreementStoresNothing(t *testing.T) {
	st := storetest.SQLite(t)
	ctx := context.Background()
	emu := newZK(t, zkemu.Config{RecordCountOffset: 150}, 20)
	a, err := emu.ListenTCP("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, st, config.Clock{Name: "hall", Protocol: "zk", Transport: "tcp", Address: a.String()})
	err = f.svc.ReadNow(ctx, "hall")
	if err == nil || errorKind(err) != "malformed" {
		t.Fatalf("read: got %v (kind %q), want a malformed read", err, errorKind(err))
	}
	// The scheduled read counts it.
	f.svc.mu.Lock()
	r := f.svc.readers["hall"].r
	f.svc.mu.Unlock()
	r.run(ctx)
	if n := testutil.ToFloat64(f.m.ReadErrors.WithLabelValues("hall", "malformed")); n < 1 {
		t.Errorf("malformed read errors: got %v, want at least 1", n)
	}
	if got := stored(t, st, "hall"); len(got) != 0 {
		t.Errorf("stored %d punches from a malformed read, want 0", len(got))
	}
	if cur, err := st.GetCursor(ctx, "hall"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("cursor after a malformed read: %+v, %v; want none", cur, err)
	}
	reads, err := st.ClockReads(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if at, ok := reads["hall"]; ok {
		t.Errorf("the clock's read was recorded at %v; R19 would finalise results without its punches", at)
	}
	if up := testutil.ToFloat64(f.m.Up.WithLabelValues("hall")); up != 0 {
		t.Errorf("up: got %v, want 0", up)
	}
}

// TestZKOneLowChecksumClock: a clock sending the one-low checksum is read in full and counted.
func TestZKOneLowChecksumClock(t *testing.T) {
	for _, transport := range []string{"tcp", "udp"} {
		t.Run(transport, func(t *testing.T) {
			st := storetest.SQLite(t)
			ctx := context.Background()
			emu := newZK(t, zkemu.Config{ChecksumOneLow: true}, 300)
			listen := emu.ListenTCP
			if transport == "udp" {
				listen = emu.ListenUDP
			}
			a, err := listen("127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			f := newFixture(t, st, config.Clock{Name: "hall", Protocol: "zk", Transport: transport, Address: a.String()})
			if err := f.svc.ReadNow(ctx, "hall"); err != nil {
				t.Fatal(err)
			}
			if got, w := stored(t, st, "hall"), zkRecords(emu); !equal(got, w) {
				t.Fatalf("stored %d punches, want %d", len(got), len(w))
			}
			if cur, err := st.GetCursor(ctx, "hall"); err != nil || cur.Position != 300 {
				t.Errorf("cursor %+v, %v; want position 300", cur, err)
			}
			if n := testutil.ToFloat64(f.m.ChecksumVariants.WithLabelValues("hall", "one_low")); n < 5 {
				t.Errorf("one_low checksums counted: %v, want every reply of the read", n)
			}
			if n := testutil.ToFloat64(f.m.ChecksumVariants.WithLabelValues("hall", "mismatch")); n != 0 {
				t.Errorf("mismatches counted: %v, want 0", n)
			}
		})
	}
}

package anviz_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/kaoqin/kaoqin/devices/anviz"
	"github.com/kaoqin/kaoqin/devices/anviz/anvizemu"
)

// fastOpts make a lost reply cost a fraction of a second instead of the production defaults.
var fastOpts = anviz.Options{ReplyTimeout: 300 * time.Millisecond, DrainQuiet: 20 * time.Millisecond}

// A transport serves an emulator and returns a function that opens a new client bus on it, so a
// test can "restart the reader" by opening a second bus on the same line.
type transport struct {
	name  string
	serve func(t *testing.T, e *anvizemu.Emulator) func(o anviz.Options) *anviz.Bus
}

var transports = []transport{
	{"pty", func(t *testing.T, e *anvizemu.Emulator) func(anviz.Options) *anviz.Bus {
		path, err := e.ServePTY()
		if err != nil {
			t.Fatal(err)
		}
		return func(o anviz.Options) *anviz.Bus {
			bus, err := anviz.OpenSerial(anviz.SerialOptions{Port: path, Baud: 115200, ReadTimeout: 100 * time.Millisecond, Options: o})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { bus.Close() })
			return bus
		}
	}},
	{"tcp", func(t *testing.T, e *anvizemu.Emulator) func(anviz.Options) *anviz.Bus {
		addr, err := e.ListenTCP("127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		return func(o anviz.Options) *anviz.Bus {
			bus, err := anviz.DialTCP(context.Background(), addr.String(), o)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { bus.Close() })
			return bus
		}
	}},
}

func newEmulator(t testing.TB, cfg anvizemu.Config, ids ...uint32) *anvizemu.Emulator {
	t.Helper()
	var clocks []anvizemu.Clock
	for _, id := range ids {
		clocks = append(clocks, anvizemu.Clock{DeviceID: id})
	}
	e, err := anvizemu.New(cfg, clocks...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

var day = time.Date(2025, 3, 14, 8, 0, 0, 0, time.UTC)

// punch adds n records to a clock, users from user0 upwards, a minute apart, and returns them.
func punch(t testing.TB, e *anvizemu.Emulator, id uint32, user0, n int) []anviz.Record {
	t.Helper()
	var rs []anviz.Record
	for i := range n {
		rs = append(rs, anviz.Record{
			UserID: fmt.Sprint(user0 + i), Time: day.Add(time.Duration(i) * time.Minute),
			Backup: i % 4, State: i % 6, Door: i%7 == 0, WorkCode: i,
		})
	}
	if err := e.AddRecords(id, rs...); err != nil {
		t.Fatal(err)
	}
	return rs
}

func ctxT(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// collect is a store that keeps what it is given.
type collect struct{ got []anviz.Record }

func (c *collect) store(rs []anviz.Record) error {
	c.got = append(c.got, rs...)
	return nil
}

func diffRecords(got, want []anviz.Record) string {
	if len(got) != len(want) {
		return fmt.Sprintf("got %d records, want %d", len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			return fmt.Sprintf("record %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
	return ""
}

func TestTwoClocksOneBus(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			e := newEmulator(t, anvizemu.Config{}, 1, 2)
			want := map[uint32][]anviz.Record{1: punch(t, e, 1, 1000, 30), 2: punch(t, e, 2, 2000, 7)}
			bus := tr.serve(t, e)(fastOpts)
			ctx := ctxT(t, 20*time.Second)
			clocks := []*anviz.Client{bus.Clock(1), bus.Clock(2)}
			for _, c := range clocks {
				id, err := c.CommDeviceID(ctx)
				if err != nil || id != c.DeviceID() {
					t.Errorf("CommDeviceID = %d, %v; want %d", id, err, c.DeviceID())
				}
				sn, err := c.SerialNumber(ctx)
				if want := fmt.Sprintf("EMU%d", c.DeviceID()); err != nil || sn != want {
					t.Errorf("SerialNumber = %q, %v; want %q", sn, err, want)
				}
			}
			for _, c := range clocks {
				var st collect
				n, err := c.ReadNew(ctx, st.store)
				if err != nil {
					t.Fatalf("clock %d: ReadNew: %v", c.DeviceID(), err)
				}
				if d := diffRecords(st.got, want[c.DeviceID()]); d != "" || n != len(st.got) {
					t.Errorf("clock %d: n = %d; %s", c.DeviceID(), n, d)
				}
				if got := e.NewCount(c.DeviceID()); got != 0 {
					t.Errorf("clock %d: %d records still new, want 0", c.DeviceID(), got)
				}
			}
		})
	}
}

func TestDeviceQueries(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			e := newEmulator(t, anvizemu.Config{}, 9)
			punch(t, e, 9, 1, 3)
			c := tr.serve(t, e)(fastOpts).Clock(9)
			ctx := ctxT(t, 10*time.Second)

			info, err := c.Info(ctx)
			if err != nil || info.Firmware != "EMU-1.00" {
				t.Errorf("Info = %+v, %v; want firmware EMU-1.00", info, err)
			}
			ri, err := c.RecordInfo(ctx)
			if want := (anviz.RecordInfo{Users: 3, Fingerprints: 3, AllRecords: 3, NewRecords: 3}); err != nil || ri != want {
				t.Errorf("RecordInfo = %+v, %v; want %+v", ri, err, want)
			}
			cp, err := c.Capacity(ctx)
			if err != nil || cp.Records != 100000 {
				t.Errorf("Capacity = %+v, %v; want 100000 records", cp, err)
			}
			set := time.Date(2031, 12, 31, 23, 59, 50, 0, time.UTC)
			if err := c.SetTime(ctx, set); err != nil {
				t.Fatal(err)
			}
			got, err := c.Time(ctx)
			if err != nil || got.Before(set) || got.After(set.Add(5*time.Second)) {
				t.Errorf("Time after SetTime(%v) = %v, %v; want within 5 s after", set, got, err)
			}
		})
	}
}

// Each fault on each kind of request: the reader repeats what is safe to repeat and ends with
// every record exactly once and no record left new.
func TestFaults(t *testing.T) {
	kinds := []anvizemu.FaultKind{anvizemu.CRCError, anvizemu.NoAnswer, anvizemu.PartialFrame, anvizemu.WrongDevice}
	where := []struct {
		name  string
		fault anvizemu.Fault
	}{
		{"record info", anvizemu.Fault{Cmd: anviz.CmdRecordInfo}},
		{"first packet", anvizemu.Fault{Cmd: anviz.CmdDownload}},
		{"third packet", anvizemu.Fault{Cmd: anviz.CmdDownload, After: 2}},
		{"last packet", anvizemu.Fault{Cmd: anviz.CmdDownload, After: 3}},
	}
	for _, tr := range transports {
		for _, k := range kinds {
			for _, w := range where {
				t.Run(fmt.Sprintf("%s/%s/%s", tr.name, k, w.name), func(t *testing.T) {
					e := newEmulator(t, anvizemu.Config{}, 1, 2)
					want := punch(t, e, 1, 100, 80) // 4 packets: 25, 25, 25, 5
					f := w.fault
					f.Kind = k
					if err := e.Inject(1, f); err != nil {
						t.Fatal(err)
					}
					c := tr.serve(t, e)(fastOpts).Clock(1)
					var st collect
					n, err := c.ReadNew(ctxT(t, 20*time.Second), st.store)
					if err != nil {
						t.Fatalf("ReadNew: %v", err)
					}
					if d := diffRecords(st.got, want); d != "" || n != len(want) {
						t.Errorf("n = %d; %s", n, d)
					}
					if got := e.PendingFaults(1); got != 0 {
						t.Errorf("%d faults did not fire, want 0", got)
					}
					if got := e.NewCount(1); got != 0 {
						t.Errorf("%d records still new, want 0", got)
					}
				})
			}
		}
	}
}

// A fault on the clear itself: the clear is never repeated. Whether the clock acted on it decides
// whether the records come back as new; either way none is lost.
func TestFaultOnClear(t *testing.T) {
	tests := []struct {
		kind      anvizemu.FaultKind
		stillNew  bool // the clock did not hear the clear
		wantClear int  // clear requests the clock receives over the two reads
	}{
		{anvizemu.CRCError, false, 1},
		{anvizemu.PartialFrame, false, 1},
		{anvizemu.NoAnswer, true, 2},
		{anvizemu.WrongDevice, true, 2},
	}
	for _, tr := range transports {
		for _, tt := range tests {
			t.Run(fmt.Sprintf("%s/%s", tr.name, tt.kind), func(t *testing.T) {
				e := newEmulator(t, anvizemu.Config{}, 1)
				want := punch(t, e, 1, 100, 30)
				e.Inject(1, anvizemu.Fault{Kind: tt.kind, Cmd: anviz.CmdClear})
				c := tr.serve(t, e)(fastOpts).Clock(1)
				ctx := ctxT(t, 20*time.Second)
				var first collect
				n, err := c.ReadNew(ctx, first.store)
				if !errors.Is(err, anviz.ErrClearUnconfirmed) {
					t.Fatalf("ReadNew err = %v, want ErrClearUnconfirmed", err)
				}
				if d := diffRecords(first.got, want); d != "" || n != len(want) {
					t.Fatalf("first read: n = %d; %s", n, d)
				}
				var second collect
				n, err = c.ReadNew(ctx, second.store)
				if err != nil {
					t.Fatal(err)
				}
				wantAgain := []anviz.Record(nil)
				if tt.stillNew {
					wantAgain = want
				}
				if d := diffRecords(second.got, wantAgain); d != "" || n != len(wantAgain) {
					t.Errorf("second read: n = %d; %s", n, d)
				}
				if got := e.Requests(1, anviz.CmdClear); got != tt.wantClear {
					t.Errorf("clear requests = %d, want %d", got, tt.wantClear)
				}
				if got := e.NewCount(1); got != 0 {
					t.Errorf("%d records still new, want 0", got)
				}
			})
		}
	}
}

// The reader dies between the download and the clear: the store failed, or the link went away.
// The next reader gets exactly the same records, and after it stores them nothing new remains.
func TestCrashBetweenDownloadAndClear(t *testing.T) {
	crashes := []struct {
		name  string
		store func(bus *anviz.Bus) func([]anviz.Record) error
	}{
		{"store fails", func(*anviz.Bus) func([]anviz.Record) error {
			return func([]anviz.Record) error { return errors.New("disk full") }
		}},
		{"bus closed before clear", func(bus *anviz.Bus) func([]anviz.Record) error {
			return func([]anviz.Record) error { bus.Close(); return nil }
		}},
	}
	for _, tr := range transports {
		for _, cr := range crashes {
			t.Run(tr.name+"/"+cr.name, func(t *testing.T) {
				e := newEmulator(t, anvizemu.Config{}, 3)
				want := punch(t, e, 3, 500, 60)
				open := tr.serve(t, e)
				ctx := ctxT(t, 20*time.Second)

				bus := open(fastOpts)
				if _, err := bus.Clock(3).ReadNew(ctx, cr.store(bus)); err == nil {
					t.Fatal("ReadNew with a crash: got nil error, want one")
				}
				if got := e.NewCount(3); got != len(want) {
					t.Fatalf("after the crash %d records new, want %d", got, len(want))
				}
				punched := punch(t, e, 3, 900, 2) // punches between the two reads stay new

				c := open(fastOpts).Clock(3)
				var st collect
				if _, err := c.ReadNew(ctx, st.store); err != nil {
					t.Fatal(err)
				}
				if d := diffRecords(st.got, append(slices.Clone(want), punched...)); d != "" {
					t.Errorf("after restart: %s", d)
				}
				st.got = nil
				if n, err := c.ReadNew(ctx, st.store); err != nil || n != 0 || st.got != nil {
					t.Errorf("third read: n = %d, %d records, %v; want 0, none, nil", n, len(st.got), err)
				}
				if got := e.Requests(3, anviz.CmdClear); got != 1 {
					t.Errorf("clear requests = %d, want 1", got)
				}
			})
		}
	}
}

// A dropped TCP connection mid-download: the next connection reads everything.
func TestHangUp(t *testing.T) {
	e := newEmulator(t, anvizemu.Config{}, 1)
	want := punch(t, e, 1, 100, 60)
	e.Inject(1, anvizemu.Fault{Kind: anvizemu.HangUp, Cmd: anviz.CmdDownload, After: 1})
	open := transports[1].serve(t, e)
	ctx := ctxT(t, 20*time.Second)
	var st collect
	if _, err := open(fastOpts).Clock(1).ReadNew(ctx, st.store); err == nil || st.got != nil {
		t.Fatalf("ReadNew over a dropped connection: err %v, stored %d; want an error, none", err, len(st.got))
	}
	if _, err := open(fastOpts).Clock(1).ReadNew(ctx, st.store); err != nil {
		t.Fatal(err)
	}
	if d := diffRecords(st.got, want); d != "" {
		t.Error(d)
	}
}

func TestBatchLimit(t *testing.T) {
	e := newEmulator(t, anvizemu.Config{}, 1)
	want := punch(t, e, 1, 100, 60)
	o := fastOpts
	o.BatchLimit = 25
	c := transports[1].serve(t, e)(o).Clock(1)
	ctx := ctxT(t, 20*time.Second)
	var st collect
	var sizes []int
	for {
		n, err := c.ReadNew(ctx, st.store)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		sizes = append(sizes, n)
	}
	if !slices.Equal(sizes, []int{25, 25, 10}) {
		t.Errorf("batches %v, want [25 25 10]", sizes)
	}
	if d := diffRecords(st.got, want); d != "" {
		t.Error(d)
	}
}

func TestReadAllLeavesMarks(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			e := newEmulator(t, anvizemu.Config{}, 1)
			want := punch(t, e, 1, 100, 40)
			c := tr.serve(t, e)(fastOpts).Clock(1)
			ctx := ctxT(t, 20*time.Second)
			var st collect
			if _, err := c.ReadNew(ctx, st.store); err != nil {
				t.Fatal(err)
			}
			more := punch(t, e, 1, 200, 3)
			e.Inject(1, anvizemu.Fault{Kind: anvizemu.CRCError, Cmd: anviz.CmdDownload, After: 1})
			var all collect
			n, err := c.ReadAll(ctx, all.store)
			if err != nil {
				t.Fatal(err)
			}
			if d := diffRecords(all.got, append(want, more...)); d != "" || n != len(all.got) {
				t.Errorf("n = %d; %s", n, d)
			}
			if got := e.NewCount(1); got != len(more) {
				t.Errorf("after ReadAll %d records new, want %d", got, len(more))
			}
		})
	}
}

func TestRealtime(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			e := newEmulator(t, anvizemu.Config{}, 1, 2)
			open := tr.serve(t, e)
			bus := open(fastOpts)
			ctx := ctxT(t, 10*time.Second)
			// The line must be up before the clock pushes; a TCP clock only pushes to connected clients.
			if _, err := bus.Clock(1).CommDeviceID(ctx); err != nil {
				t.Fatal(err)
			}
			e.SetRealtime(1, true)
			want := punch(t, e, 1, 77, 2)
			for i := range want {
				got, err := bus.Clock(1).NextRealtime(ctx)
				if err != nil || got != want[i] {
					t.Fatalf("NextRealtime = %+v, %v; want %+v", got, err, want[i])
				}
			}
			// Nothing more: the wait ends with the context.
			short, cancel := context.WithTimeout(ctx, 150*time.Millisecond)
			defer cancel()
			if _, err := bus.Clock(1).NextRealtime(short); !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("NextRealtime with nothing sent: err %v, want context.DeadlineExceeded", err)
			}
			// A realtime record arriving during another request is kept for later.
			e.Inject(2, anvizemu.Fault{Kind: anvizemu.NoAnswer})
			done := make(chan error, 1)
			go func() { _, err := bus.Clock(2).RecordInfo(ctx); done <- err }()
			late := punch(t, e, 1, 88, 1)
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			if got, err := bus.Clock(1).NextRealtime(ctx); err != nil || got != late[0] {
				t.Errorf("NextRealtime = %+v, %v; want %+v", got, err, late[0])
			}
			// Realtime records stay new: ReadNew is the source of truth.
			var st collect
			if _, err := bus.Clock(1).ReadNew(ctx, st.store); err != nil || len(st.got) != 3 {
				t.Errorf("ReadNew after realtime: %d records, %v; want 3", len(st.got), err)
			}
		})
	}
}

// A cancelled context ends a call waiting on a silent clock at once, not at the reply timeout.
func TestCancelEndsWait(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			e := newEmulator(t, anvizemu.Config{}, 1)
			e.Inject(1, anvizemu.Fault{Kind: anvizemu.NoAnswer})
			o := fastOpts
			o.ReplyTimeout = time.Minute
			c := tr.serve(t, e)(o).Clock(1)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			start := time.Now()
			go func() { _, err := c.RecordInfo(ctx); done <- err }()
			for e.Requests(1, anviz.CmdRecordInfo) == 0 {
				if time.Since(start) > 10*time.Second {
					t.Fatal("the request never reached the clock")
				}
				time.Sleep(time.Millisecond)
			}
			cancel()
			select {
			case err := <-done:
				if !errors.Is(err, context.Canceled) {
					t.Errorf("err = %v, want context.Canceled", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("call still waiting 5 s after cancel")
			}
			// The bus is usable afterwards.
			if _, err := c.RecordInfo(ctxT(t, 10*time.Second)); err != nil {
				t.Errorf("after cancel: %v", err)
			}
		})
	}
}

func TestEmptyClock(t *testing.T) {
	e := newEmulator(t, anvizemu.Config{}, 1)
	c := transports[1].serve(t, e)(fastOpts).Clock(1)
	ctx := ctxT(t, 10*time.Second)
	called := false
	n, err := c.ReadNew(ctx, func([]anviz.Record) error { called = true; return nil })
	if n != 0 || err != nil || called {
		t.Errorf("ReadNew on an empty clock = %d, %v, store called %t; want 0, nil, false", n, err, called)
	}
	if n, err := c.ReadAll(ctx, func([]anviz.Record) error { return nil }); n != 0 || err != nil {
		t.Errorf("ReadAll on an empty clock = %d, %v; want 0, nil", n, err)
	}
}

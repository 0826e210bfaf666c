package zk_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kaoqin/kaoqin/devices/zk"
	"github.com/kaoqin/kaoqin/devices/zk/zkemu"
)

var base = time.Date(2024, 3, 4, 8, 0, 0, 0, time.UTC)

// newClock starts an emulator on both transports of 127.0.0.1 and returns the address of each.
func newClock(t testing.TB, cfg zkemu.Config) (*zkemu.Clock, map[string]string) {
	t.Helper()
	c, err := zkemu.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	ta, err := c.ListenTCP("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ua, err := c.ListenUDP("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return c, map[string]string{"tcp": ta.String(), "udp": ua.String()}
}

// addPunches logs n punches of users cycling through a few ids that fit every layout.
func addPunches(t testing.TB, c *zkemu.Clock, n int) {
	t.Helper()
	var b strings.Builder
	b.WriteString("user_id,time,verify,state\n")
	for i := range n {
		fmt.Fprintf(&b, "%d,%s,%d,%d\n", 100+i%250, base.Add(time.Duration(i)*time.Minute).Format(time.DateTime), i%3, i%6)
	}
	if err := c.LoadPunchesCSV(strings.NewReader(b.String())); err != nil {
		t.Fatal(err)
	}
}

func dial(t testing.TB, network, addr string, opts zk.Options) *zk.Client {
	t.Helper()
	opts.Network, opts.Address = network, addr
	if opts.Timeout == 0 {
		opts.Timeout = 2 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := zk.Dial(ctx, opts)
	if err != nil {
		t.Fatalf("Dial %s: %v", network, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// sameRecords reports the first difference between a read and the emulator's log.
func sameRecords(got, want []zk.Record) error {
	if len(got) != len(want) {
		return fmt.Errorf("got %d records, want %d", len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			return fmt.Errorf("record %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
	return nil
}

func TestAttendanceLayouts(t *testing.T) {
	for _, network := range []string{"tcp", "udp"} {
		for _, size := range []int{8, 16, 40, 49} {
			for _, tc := range []struct {
				name string
				cfg  zkemu.Config
				n    int
			}{
				{"empty", zkemu.Config{}, 0},
				{"inline", zkemu.Config{InlineMax: 4096}, 20},
				{"chunks", zkemu.Config{}, 3000},
				{"short chunks", zkemu.Config{MaxChunk: 5000, DataSize: 1024}, 700},
				{"split writes", zkemu.Config{SplitWrites: true, MaxPiece: 97, Seed: uint64(size)}, 2000},
			} {
				if tc.cfg.SplitWrites && network == "udp" {
					continue
				}
				t.Run(fmt.Sprintf("%s/%d/%s", network, size, tc.name), func(t *testing.T) {
					tc.cfg.RecordSize = size
					clock, addr := newClock(t, tc.cfg)
					addPunches(t, clock, tc.n)
					c := dial(t, network, addr[network], zk.Options{})
					got, err := c.Attendance(ctxT(t))
					if err != nil {
						t.Fatal(err)
					}
					if err := sameRecords(got, clock.Records()); err != nil {
						t.Error(err)
					}
				})
			}
		}
	}
}

func TestCommKey(t *testing.T) {
	for _, network := range []string{"tcp", "udp"} {
		for _, tc := range []struct {
			name      string
			clockKey  int
			clientKey int
			wantErr   error
		}{
			{"no key", 0, 0, nil},
			{"right key", 123456, 123456, nil},
			{"wrong key", 123456, 654321, zk.ErrUnauthorized},
			{"key missing", 12, 0, zk.ErrUnauthorized},
		} {
			t.Run(network+"/"+tc.name, func(t *testing.T) {
				clock, addr := newClock(t, zkemu.Config{CommKey: tc.clockKey})
				addPunches(t, clock, 3)
				c, err := zk.Dial(ctxT(t), zk.Options{Network: network, Address: addr[network], CommKey: tc.clientKey, Timeout: time.Second})
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("Dial: got %v, want %v", err, tc.wantErr)
				}
				if err != nil {
					var re *zk.ReplyError
					if !errors.As(err, &re) || re.Code != zk.AckUnauth || re.Command != zk.CmdAuth {
						t.Errorf("Dial: got %v, want a *ReplyError{AUTH, 2005}", err)
					}
					return
				}
				defer c.Close()
				got, err := c.Attendance(ctxT(t))
				if err != nil {
					t.Fatal(err)
				}
				if err := sameRecords(got, clock.Records()); err != nil {
					t.Error(err)
				}
			})
		}
	}
}

func TestInfoUsersTime(t *testing.T) {
	users := []zk.User{
		{UID: 1, UserID: "1140064", Name: "张三丰", Privilege: 14, Password: "1234", Card: 99887766, Group: "1"},
		{UID: 2, UserID: "7", Name: "Li Si", Group: "1"},
	}
	for _, network := range []string{"tcp", "udp"} {
		for _, tc := range []struct {
			userSize int
			enc      zk.Encoding
		}{{72, zk.GBK}, {72, zk.UTF8}, {28, zk.GBK}} {
			t.Run(fmt.Sprintf("%s/%d/%s", network, tc.userSize, tc.enc), func(t *testing.T) {
				clock, addr := newClock(t, zkemu.Config{
					SerialNumber: "OGT2130060283", Platform: "ZMM220_TFT", DeviceName: "iFace302",
					MAC: "00:17:61:11:22:33", Firmware: "Ver 6.60 Apr 26 2016",
					UserSize: tc.userSize, Encoding: tc.enc, Users: users,
					UserCapacity: 3000, FingerCapacity: 10000, RecordCapacity: 100000,
				})
				addPunches(t, clock, 605)
				c := dial(t, network, addr[network], zk.Options{Encoding: tc.enc})
				ctx := ctxT(t)
				info, err := c.Info(ctx)
				if err != nil {
					t.Fatal(err)
				}
				want := zk.Info{SerialNumber: "OGT2130060283", Platform: "ZMM220_TFT", Firmware: "Ver 6.60 Apr 26 2016",
					DeviceName: "iFace302", MAC: "00:17:61:11:22:33",
					Sizes: zk.Sizes{Users: 2, Records: 605, UserCapacity: 3000, FingerCapacity: 10000, RecordCapacity: 100000}}
				if info != want {
					t.Errorf("Info = %+v, want %+v", info, want)
				}
				got, err := c.Users(ctx)
				if err != nil {
					t.Fatal(err)
				}
				wantUsers := slices.Clone(users)
				if tc.userSize == 28 {
					wantUsers[0].Password = "1234"
					wantUsers[0].Name = "张三丰" // 6 GBK bytes fit the 8-byte field
				}
				if !slices.Equal(got, wantUsers) {
					t.Errorf("Users = %+v, want %+v", got, wantUsers)
				}

				// Time, skew, SetTime.
				checkTime := func(want time.Time) {
					t.Helper()
					got, err := c.Time(ctx)
					if err != nil {
						t.Fatal(err)
					}
					if d := got.Sub(want); d < -2*time.Second || d > 2*time.Second || got.Location() != time.UTC {
						t.Errorf("Time = %v, want %v ±2s", got, want)
					}
				}
				checkTime(clock.Now())
				clock.Skew(-90 * time.Minute)
				checkTime(clock.Now())
				set := time.Date(2031, 12, 31, 23, 59, 58, 0, time.UTC)
				if err := c.SetTime(ctx, set); err != nil {
					t.Fatal(err)
				}
				checkTime(set)
				if d := clock.Now().Sub(set); d < 0 || d > 2*time.Second {
					t.Errorf("emulator time after SetTime = %v, want %v", clock.Now(), set)
				}
				if got, want := clock.Requests(zk.CmdRefreshData), 1; got != want {
					t.Errorf("REFRESHDATA sent %d times, want %d", got, want)
				}
				if err := c.SetTime(ctx, time.Date(1999, 1, 1, 0, 0, 0, 0, time.UTC)); err == nil {
					t.Error("SetTime(1999): got nil, want an error")
				}
			})
		}
	}
}

func TestClearAttendanceLog(t *testing.T) {
	for _, network := range []string{"tcp", "udp"} {
		clock, addr := newClock(t, zkemu.Config{})
		addPunches(t, clock, 10)
		c := dial(t, network, addr[network], zk.Options{})
		ctx := ctxT(t)
		if err := c.ClearAttendanceLog(ctx); err != nil {
			t.Fatal(err)
		}
		got, err := c.Attendance(ctx)
		if err != nil || len(got) != 0 || len(clock.Punches()) != 0 {
			t.Errorf("%s: after clearing: read %d records (%v), clock holds %d, want 0", network, len(got), err, len(clock.Punches()))
		}
	}
}

// TestFaults runs each fault on each transport. A fault either is recovered inside the call (UDP
// resends) or fails it with the expected error; then the log read by this client, or by a new one
// when the old one is broken, is exactly the clock's.
func TestFaults(t *testing.T) {
	const n = 2500 // two TCP chunks, ten UDP chunks
	type outcome struct {
		err    error // nil: the call recovers by itself
		broken bool  // the client is unusable afterwards: dial again
	}
	for _, tc := range []struct {
		name  string
		fault zkemu.Fault
		call  string // "attendance" or "time"
		tcp   outcome
		udp   outcome
	}{
		{"reply dropped", zkemu.Fault{Kind: zkemu.DropReply, Request: zk.CmdGetTime}, "time",
			outcome{err: os.ErrDeadlineExceeded}, outcome{}},
		{"DATA dropped mid-chunk", zkemu.Fault{Kind: zkemu.DropReply, Reply: zk.CmdData, Skip: 70}, "attendance",
			outcome{err: zk.ErrMalformed}, outcome{}},
		// Without PREPARE_DATA the first DATA reads as a whole chunk; the client goes on from there.
		{"PREPARE_DATA dropped", zkemu.Fault{Kind: zkemu.DropReply, Reply: zk.CmdPrepareData, Skip: 1}, "attendance",
			outcome{}, outcome{}},
		{"chunk ACK dropped", zkemu.Fault{Kind: zkemu.DropReply, Request: zk.CmdReadBuffer, Reply: zk.AckOK}, "attendance",
			outcome{err: os.ErrDeadlineExceeded}, outcome{}},
		{"reply delayed past deadline", zkemu.Fault{Kind: zkemu.DelayReply, Request: zk.CmdGetTime, Delay: 700 * time.Millisecond}, "time",
			outcome{err: os.ErrDeadlineExceeded}, outcome{}},
		{"chunk delayed past deadline", zkemu.Fault{Kind: zkemu.DelayReply, Reply: zk.CmdData, Skip: 3, Delay: 700 * time.Millisecond}, "attendance",
			outcome{err: os.ErrDeadlineExceeded}, outcome{}},
		// On TCP the wrapper keeps the stream in step and the bytes are TCP's to guard: the
		// packet is taken (and counted, see TestChecksumPolicy). On UDP it is resent.
		{"checksum corrupted", zkemu.Fault{Kind: zkemu.CorruptChecksum, Reply: zk.CmdData, Skip: 40}, "attendance",
			outcome{}, outcome{}},
		{"checksum corrupted on a short reply", zkemu.Fault{Kind: zkemu.CorruptChecksum, Request: zk.CmdGetTime}, "time",
			outcome{}, outcome{}},
		{"reset mid-transfer", zkemu.Fault{Kind: zkemu.ResetConnection, Reply: zk.CmdData, Skip: 90}, "attendance",
			outcome{err: errAny, broken: true}, outcome{}},
	} {
		for _, network := range []string{"tcp", "udp"} {
			t.Run(network+"/"+tc.name, func(t *testing.T) {
				clock, addr := newClock(t, zkemu.Config{DataSize: 1008})
				addPunches(t, clock, n)
				want := clock.Records()
				c := dial(t, network, addr[network], zk.Options{Timeout: 300 * time.Millisecond})
				if err := clock.Inject(tc.fault); err != nil {
					t.Fatal(err)
				}
				expect := tc.tcp
				if network == "udp" {
					expect = tc.udp
				}
				ctx := ctxT(t)
				var err error
				var got []zk.Record
				switch tc.call {
				case "time":
					var tm time.Time
					tm, err = c.Time(ctx)
					if err == nil && tm.Sub(clock.Now()).Abs() > 2*time.Second {
						t.Errorf("Time = %v, want %v", tm, clock.Now())
					}
				default:
					got, err = c.Attendance(ctx)
				}
				if armed := clock.FaultsArmed(); armed != 0 {
					t.Fatalf("the fault did not fire (%d armed)", armed)
				}
				switch {
				case expect.err == nil && err != nil:
					t.Fatalf("got %v, want the call to recover", err)
				case expect.err == errAny && err == nil, expect.err != nil && expect.err != errAny && !errors.Is(err, expect.err):
					t.Fatalf("got %v, want %v", err, expect.err)
				}
				if err == nil && got != nil {
					if err := sameRecords(got, want); err != nil {
						t.Fatal(err)
					}
				}
				if expect.broken {
					if _, err := c.Time(ctx); !errors.Is(err, zk.ErrClosed) {
						t.Errorf("after a broken link: got %v, want ErrClosed", err)
					}
					c = dial(t, network, addr[network], zk.Options{Timeout: 300 * time.Millisecond})
				}
				// The client (or its successor) still reads exactly the log: no stale packet of
				// the fault taken for a reply, nothing lost or duplicated.
				for range 2 {
					got, err = c.Attendance(ctx)
					if err != nil {
						t.Fatalf("read after the fault: %v", err)
					}
					if err := sameRecords(got, want); err != nil {
						t.Fatalf("read after the fault: %v", err)
					}
				}
			})
		}
	}
}

var errAny = errors.New("any error")

func TestReboot(t *testing.T) {
	for _, tc := range []struct {
		network string
		want    error
	}{
		{"tcp", zk.ErrClosed},      // the connection dropped with the power
		{"udp", zk.ErrSessionLost}, // the clock answers ACK_UNAUTH to the forgotten session
	} {
		t.Run(tc.network, func(t *testing.T) {
			clock, addr := newClock(t, zkemu.Config{})
			addPunches(t, clock, 100)
			c := dial(t, tc.network, addr[tc.network], zk.Options{Timeout: 300 * time.Millisecond})
			old := c.Session()
			clock.Reboot()
			ctx := ctxT(t)
			_, err := c.Attendance(ctx)
			if err == nil {
				t.Fatal("read after reboot: got nil, want an error")
			}
			if tc.network == "udp" && !errors.Is(err, tc.want) {
				t.Errorf("read after reboot: got %v, want %v", err, tc.want)
			}
			if _, err := c.Time(ctx); !errors.Is(err, zk.ErrClosed) {
				t.Errorf("second call after reboot: got %v, want ErrClosed", err)
			}
			c2 := dial(t, tc.network, addr[tc.network], zk.Options{})
			if c2.Session() == old {
				t.Errorf("session after reboot = %#x, same as before", old)
			}
			got, err := c2.Attendance(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if err := sameRecords(got, clock.Records()); err != nil {
				t.Error(err)
			}
		})
	}
}

// events collects the punches a subscription delivers.
type events struct {
	mu  sync.Mutex
	got []zk.Record
	ch  chan struct{}
}

func newEvents() *events { return &events{ch: make(chan struct{}, 1000)} }

func (e *events) add(r zk.Record) {
	e.mu.Lock()
	e.got = append(e.got, r)
	e.mu.Unlock()
	e.ch <- struct{}{}
}

func (e *events) wait(t *testing.T, n int) []zk.Record {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		e.mu.Lock()
		got := slices.Clone(e.got)
		e.mu.Unlock()
		if len(got) >= n {
			return got
		}
		select {
		case <-e.ch:
		case <-timeout:
			t.Fatalf("got %d events, want %d", len(got), n)
		}
	}
}

// subscribe runs Subscribe until the test ends and returns once the clock knows of it.
func subscribe(t *testing.T, c *zk.Client, clock *zkemu.Clock) *events {
	t.Helper()
	ev := newEvents()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Subscribe(ctx, ev.add) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Subscribe returned %v, want context.Canceled", err)
		}
	})
	waitFor(t, func() bool { return clock.Requests(zk.CmdRegEvent) > 0 })
	// REG_EVENT counted on arrival; make sure the ACK went back and the loop is listening.
	if _, err := c.Time(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	return ev
}

// waitFor polls cond until it holds or a deadline passes.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestRealtime(t *testing.T) {
	for _, network := range []string{"tcp", "udp"} {
		for _, size := range []int{32, 36, 37, 52, 10, 12, 14} {
			t.Run(fmt.Sprintf("%s/%d", network, size), func(t *testing.T) {
				clock, addr := newClock(t, zkemu.Config{EventSize: size, SplitWrites: true, MaxPiece: 5})
				c := dial(t, network, addr[network], zk.Options{})
				ev := subscribe(t, c, clock)
				var want []zk.Record
				for i := range 5 {
					tm := base.Add(time.Duration(i) * time.Second)
					if err := clock.AddPunch(strconv.Itoa(1000+i), tm, 15, 1); err != nil {
						t.Fatal(err)
					}
					r := zk.Record{UserID: strconv.Itoa(1000 + i), Time: tm, Verify: 15, State: 1}
					if size == 10 || size == 14 {
						r.UID = 1000 + i
					}
					want = append(want, r)
				}
				if got := ev.wait(t, 5); !slices.Equal(got, want) {
					t.Errorf("events = %+v, want %+v", got, want)
				}
				waitFor(t, func() bool { return clock.EventAcks() == 5 })
			})
		}
	}
}

// TestEventsDuringBulkRead puts realtime events between the DATA packets of a bulk read: with a
// subscriber they reach it, without one they are acknowledged and dropped; the read is exact.
func TestEventsDuringBulkRead(t *testing.T) {
	for _, network := range []string{"tcp", "udp"} {
		for _, subscribed := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/subscribed=%v", network, subscribed), func(t *testing.T) {
				clock, addr := newClock(t, zkemu.Config{DataSize: 1008})
				addPunches(t, clock, 3000)
				want := clock.Records()
				c := dial(t, network, addr[network], zk.Options{})
				var ev *events
				if subscribed {
					ev = subscribe(t, c, clock)
				}
				punch := zkemu.Punch{UserID: "555", Time: base.Add(time.Hour), Verify: 2, State: 0}
				for _, f := range []zkemu.Fault{
					{Kind: zkemu.InjectEvent, Reply: zk.CmdData, Skip: 5, Punch: punch},
					{Kind: zkemu.InjectEvent, Reply: zk.CmdPrepareData, Skip: 1, Punch: punch},
					{Kind: zkemu.InjectEvent, Request: zk.CmdFreeData, Punch: punch},
				} {
					if err := clock.Inject(f); err != nil {
						t.Fatal(err)
					}
				}
				ctx := ctxT(t)
				got, err := c.Attendance(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if clock.FaultsArmed() != 0 {
					t.Fatalf("%d faults did not fire", clock.FaultsArmed())
				}
				if err := sameRecords(got, want); err != nil {
					t.Error(err)
				}
				waitFor(t, func() bool { return clock.EventAcks() == 3 })
				if subscribed {
					wantEv := zk.Record{UserID: "555", Time: punch.Time, Verify: 2}
					if got := ev.wait(t, 3); !slices.Equal(got, []zk.Record{wantEv, wantEv, wantEv}) {
						t.Errorf("events = %+v, want 3 × %+v", got, wantEv)
					}
				}
				// The punches the events announced are in the next read.
				got, err = c.Attendance(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if err := sameRecords(got, clock.Records()); err != nil || len(got) != len(want)+3 {
					t.Errorf("second read: %v (%d records, want %d)", err, len(got), len(want)+3)
				}
			})
		}
	}
}

// TestSubscribeSharesLink: calls made while a subscription waits take the link and give it back.
func TestSubscribeSharesLink(t *testing.T) {
	for _, network := range []string{"tcp", "udp"} {
		t.Run(network, func(t *testing.T) {
			clock, addr := newClock(t, zkemu.Config{})
			addPunches(t, clock, 500)
			c := dial(t, network, addr[network], zk.Options{})
			ev := subscribe(t, c, clock)
			ctx := ctxT(t)
			var wg sync.WaitGroup
			errs := make(chan error, 20)
			for g := range 4 {
				wg.Go(func() {
					for i := range 5 {
						if _, err := c.Attendance(ctx); err != nil {
							errs <- err
						}
						if err := clock.AddPunch(strconv.Itoa(g*10+i), base, 1, 0); err != nil {
							errs <- err
						}
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			ev.wait(t, 20)
			got, err := c.Attendance(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if err := sameRecords(got, clock.Records()); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestCancelUnblocksRead(t *testing.T) {
	clock, addr := newClock(t, zkemu.Config{})
	c := dial(t, "tcp", addr["tcp"], zk.Options{Timeout: time.Minute})
	if err := clock.Inject(zkemu.Fault{Kind: zkemu.DropReply, Request: zk.CmdGetTime}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := c.Time(ctx)
		done <- err
	}()
	waitFor(t, func() bool { return clock.Requests(zk.CmdGetTime) == 1 })
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("got %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a cancelled call stayed blocked")
	}
	if _, err := c.Time(ctxT(t)); err != nil {
		t.Errorf("call after a cancelled one: %v", err)
	}
}

// TestEmulatorClose: Close returns once every goroutine of the clock has stopped, with clients
// connected and a delayed reply pending.
func TestEmulatorClose(t *testing.T) {
	before := runtime.NumGoroutine()
	clock, err := zkemu.New(zkemu.Config{})
	if err != nil {
		t.Fatal(err)
	}
	addr := map[string]string{}
	for network, listen := range map[string]func(string) (net.Addr, error){"tcp": clock.ListenTCP, "udp": clock.ListenUDP} {
		a, err := listen("127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr[network] = a.String()
	}
	addPunches(t, clock, 10)
	var clients []*zk.Client
	for _, network := range []string{"tcp", "udp", "tcp"} {
		clients = append(clients, dial(t, network, addr[network], zk.Options{Timeout: 200 * time.Millisecond}))
	}
	if err := clock.Inject(zkemu.Fault{Kind: zkemu.DelayReply, Request: zk.CmdGetTime, Delay: time.Hour}); err != nil {
		t.Fatal(err)
	}
	if _, err := clients[0].Time(ctxT(t)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("delayed call: got %v, want a deadline error", err)
	}
	done := make(chan struct{})
	go func() { clock.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return")
	}
	for _, c := range clients {
		c.Close()
	}
	waitFor(t, func() bool { return runtime.NumGoroutine() <= before })
}

func TestSubscribeTwice(t *testing.T) {
	clock, addr := newClock(t, zkemu.Config{})
	c := dial(t, "tcp", addr["tcp"], zk.Options{})
	subscribe(t, c, clock)
	if err := c.Subscribe(ctxT(t), func(zk.Record) {}); !errors.Is(err, zk.ErrSubscribed) {
		t.Errorf("second Subscribe: got %v, want ErrSubscribed", err)
	}
}

func TestOption(t *testing.T) {
	_, addr := newClock(t, zkemu.Config{Platform: "ZEM560"})
	c := dial(t, "udp", addr["udp"], zk.Options{})
	if v, err := c.Option(ctxT(t), "~Platform"); err != nil || v != "ZEM560" {
		t.Errorf("Option(~Platform) = %q, %v, want ZEM560", v, err)
	}
	var re *zk.ReplyError
	if _, err := c.Option(ctxT(t), "~NoSuchOption"); !errors.As(err, &re) || re.Code != zk.AckError {
		t.Errorf("Option(~NoSuchOption): got %v, want *ReplyError with ACK_ERROR", err)
	}
}

func TestLoadPunchesCSVProblems(t *testing.T) {
	clock, err := zkemu.New(zkemu.Config{RecordSize: 16})
	if err != nil {
		t.Fatal(err)
	}
	defer clock.Close()
	in := "user_id,time\n12,2024-01-02 08:00:00\nabc,2024-01-02 08:00:00\n13,2024-01-02\n"
	err = clock.LoadPunchesCSV(strings.NewReader(in))
	want := "punches:3: zkemu: zk: the 16-byte layout needs a numeric user id, got \"abc\"\npunches:4: bad time \"2024-01-02\": want YYYY-MM-DD HH:MM:SS"
	if err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
	if n := len(clock.Punches()); n != 0 {
		t.Errorf("a file with problems loaded %d punches, want 0", n)
	}
}

// TestConcurrentClients: several clients on both transports read one clock at once.
func TestConcurrentClients(t *testing.T) {
	clock, addr := newClock(t, zkemu.Config{SplitWrites: true, MaxPiece: 1500})
	addPunches(t, clock, 1500)
	want := clock.Records()
	var wg sync.WaitGroup
	errs := make(chan error, 12)
	for _, network := range []string{"tcp", "udp", "tcp", "udp"} {
		c := dial(t, network, addr[network], zk.Options{})
		wg.Go(func() {
			for range 3 {
				got, err := c.Attendance(ctxT(t))
				if err == nil {
					err = sameRecords(got, want)
				}
				if err != nil {
					errs <- fmt.Errorf("%s: %w", network, err)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := clock.Sessions(); got != 4 {
		t.Errorf("clock holds %d sessions, want 4", got)
	}
}

// TestChecksumPolicy: what the client does with replies whose checksum is not the SDK's, and
// what it counts. A clock sending the one-low variant (emulators and gateways derived from pyzk)
// is read in full unless Strict; a corrupted checksum is taken on TCP (the stream stays in step)
// and resent on UDP; nothing breaks the link.
func TestChecksumPolicy(t *testing.T) {
	for _, tc := range []struct {
		name    string
		cfg     zkemu.Config
		fault   *zkemu.Fault
		network string
		strict  bool
		wantErr error
		want    zk.ChecksumCounts
	}{
		{"one-low clock, tcp", zkemu.Config{ChecksumOneLow: true}, nil, "tcp", false, nil, zk.ChecksumCounts{Variant: 1}},
		{"one-low clock, udp", zkemu.Config{ChecksumOneLow: true}, nil, "udp", false, nil, zk.ChecksumCounts{Variant: 1}},
		{"one-low clock, strict", zkemu.Config{ChecksumOneLow: true}, nil, "tcp", true, zk.ErrChecksum, zk.ChecksumCounts{Variant: 1}},
		{"one-low DATA, tcp", zkemu.Config{DataSize: 1008},
			&zkemu.Fault{Kind: zkemu.OneLowChecksum, Reply: zk.CmdData, Skip: 5, Count: 3}, "tcp", false, nil, zk.ChecksumCounts{Variant: 3}},
		{"corrupt DATA, tcp", zkemu.Config{DataSize: 1008},
			&zkemu.Fault{Kind: zkemu.CorruptChecksum, Reply: zk.CmdData, Skip: 5, Count: 2}, "tcp", false, nil, zk.ChecksumCounts{Mismatch: 2}},
		{"corrupt DATA, udp", zkemu.Config{},
			&zkemu.Fault{Kind: zkemu.CorruptChecksum, Reply: zk.CmdData, Skip: 5, Count: 2}, "udp", false, nil, zk.ChecksumCounts{Mismatch: 2}},
		{"corrupt DATA, tcp strict", zkemu.Config{DataSize: 1008},
			&zkemu.Fault{Kind: zkemu.CorruptChecksum, Reply: zk.CmdData, Skip: 5}, "tcp", true, zk.ErrChecksum, zk.ChecksumCounts{Mismatch: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock, addr := newClock(t, tc.cfg)
			addPunches(t, clock, 2000)
			c := dial(t, tc.network, addr[tc.network], zk.Options{Strict: tc.strict && !tc.cfg.ChecksumOneLow, Timeout: 300 * time.Millisecond})
			if tc.cfg.ChecksumOneLow {
				// Counted from the session's first reply on; strict refuses at once.
				c.TakeChecksumCounts()
			}
			if tc.fault != nil {
				if err := clock.Inject(*tc.fault); err != nil {
					t.Fatal(err)
				}
			}
			ctx := ctxT(t)
			if tc.strict && tc.cfg.ChecksumOneLow {
				_, err := zk.Dial(ctx, zk.Options{Network: tc.network, Address: addr[tc.network], Strict: true, Timeout: 300 * time.Millisecond})
				if !errors.Is(err, zk.ErrChecksum) {
					t.Fatalf("strict Dial: got %v, want ErrChecksum", err)
				}
				return
			}
			got, err := c.Attendance(ctx)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("got %v, want %v", err, tc.wantErr)
				}
			} else if err != nil {
				t.Fatal(err)
			} else if err := sameRecords(got, clock.Records()); err != nil {
				t.Fatal(err)
			}
			counts := c.TakeChecksumCounts()
			if tc.cfg.ChecksumOneLow {
				// Every reply of the read: at least sizes, PREPARE_BUFFER, chunks, FREE_DATA.
				if counts.Variant < 4 || counts.Mismatch != 0 {
					t.Errorf("counts %+v, want every reply a variant", counts)
				}
			} else if counts != tc.want {
				t.Errorf("counts %+v, want %+v", counts, tc.want)
			}
			// The link is never broken by a checksum.
			if _, err := c.Time(ctx); err != nil {
				t.Errorf("after the read: %v", err)
			}
			if again := c.TakeChecksumCounts(); tc.cfg.ChecksumOneLow == (again == (zk.ChecksumCounts{})) {
				t.Errorf("second take %+v", again)
			}
		})
	}
}

// TestFirmwareThatDisagrees: an empty option reply is an absent option (Info goes on), and a
// read decoding fewer records than the clock counts fails as malformed.
func TestFirmwareThatDisagrees(t *testing.T) {
	for _, network := range []string{"tcp", "udp"} {
		t.Run(network, func(t *testing.T) {
			clock, addr := newClock(t, zkemu.Config{AbsentEmpty: true, RecordCountOffset: 150,
				Options: map[string]string{"~DeviceName": ""}})
			addPunches(t, clock, 10)
			c := dial(t, network, addr[network], zk.Options{})
			ctx := ctxT(t)
			_, err := c.Option(ctx, "~NoSuchOption")
			if !errors.Is(err, zk.ErrOptionAbsent) || !zk.OptionAbsent(err) {
				t.Errorf("absent option: got %v, want ErrOptionAbsent", err)
			}
			if v, err := c.Option(ctx, "~DeviceName"); err != nil || v != "" {
				t.Errorf("empty option: got %q, %v; want \"\", nil", v, err)
			}
			info, err := c.Info(ctx)
			if err != nil {
				t.Fatalf("Info: %v", err)
			}
			if info.SerialNumber != "ZKEMU0000001" || info.Records != 160 {
				t.Errorf("Info %+v", info)
			}
			_, err = c.Attendance(ctx)
			if !errors.Is(err, zk.ErrMalformed) || !errors.Is(err, zk.ErrRecordCount) {
				t.Fatalf("Attendance: got %v, want ErrMalformed and ErrRecordCount", err)
			}
			if !strings.Contains(err.Error(), "the clock counts 160 before the read and 160 after") {
				t.Errorf("message %q does not give both counts", err)
			}
		})
	}
}

// TestPunchDuringRead: a punch made between the count and the set is not a disagreement: the
// set holds one record more than the first count, as many as the second.
func TestPunchDuringRead(t *testing.T) {
	clock, addr := newClock(t, zkemu.Config{})
	addPunches(t, clock, 100)
	c := dial(t, "tcp", addr["tcp"], zk.Options{})
	if err := clock.Inject(zkemu.Fault{Kind: zkemu.InjectEvent, Request: zk.CmdGetFreeSizes,
		Punch: zkemu.Punch{UserID: "7", Time: base.Add(-time.Hour)}}); err != nil {
		t.Fatal(err)
	}
	got, err := c.Attendance(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 101 {
		t.Errorf("got %d records, want 101", len(got))
	}
}

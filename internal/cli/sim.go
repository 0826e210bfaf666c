package cli

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/kaoqin/kaoqin/devices/anviz/anvizemu"
	"github.com/kaoqin/kaoqin/devices/zk"
	"github.com/kaoqin/kaoqin/devices/zk/zkemu"
)

// runSimZK serves an emulated ZKTeco clock until interrupted: for tests by hand, demos and
// operators checking their network path.
func runSimZK(ctx context.Context, e *env, args []string) int {
	f := e.flags("sim zk", "sim zk [--listen 127.0.0.1:4370] [--udp] [--commkey N] [--record-size 40] [--punches FILE.csv] [--users N] [--punch-every 10s]")
	listen := f.String("listen", "127.0.0.1:4370", "`address` to listen on")
	udp := f.Bool("udp", false, "serve UDP as well as TCP (same port)")
	commKey := f.Int("commkey", 0, "comm key the clock asks for (0: none)")
	recordSize := f.Int("record-size", 40, "attendance record layout: 8, 16, 40 or 49")
	punches := f.String("punches", "", "CSV `file` of punches to preload (user_id,time)")
	users := f.Int("users", 0, "number of users 1..N to enrol on the clock")
	serial := f.String("sn", "ZKEMU0000001", "serial number")
	userSize := f.Int("user-size", 72, "user record layout: 28 or 72")
	eventSize := f.Int("event-size", 32, "realtime event layout: 10, 12, 14, 32, 36, 37 or 52")
	dataSize := f.Int("data-size", 0, "data bytes per DATA packet of a bulk chunk (0: a TCP chunk in one packet, 1024 on UDP; an F19 sends 1008)")
	split := f.Bool("split-writes", false, "cut each TCP reply into random small writes (a fault mode)")
	punchEvery := f.Duration("punch-every", 0, "punch an enrolled user (1 when none) every `interval`, sent as a realtime event to subscribers")
	if code, ok := f.parse(args); !ok {
		return code
	}
	cfg, code, ok := f.loadConfig()
	if !ok {
		return code
	}
	var data []byte
	if *punches != "" {
		var err error
		if data, err = os.ReadFile(*punches); err != nil {
			fmt.Fprintf(e.stderr, "kaoqin sim zk: %v\n", err)
			return exitUsage
		}
	}
	newClock := func() (*zkemu.Clock, int) {
		clock, err := zkemu.New(zkemu.Config{SerialNumber: *serial, CommKey: *commKey, RecordSize: *recordSize,
			UserSize: *userSize, EventSize: *eventSize, DataSize: *dataSize, SplitWrites: *split, Location: cfg.Location()})
		if err != nil {
			fmt.Fprintf(e.stderr, "kaoqin sim zk: %v\n", err)
			return nil, exitUsage
		}
		for i := 1; i <= *users; i++ {
			if err := clock.AddUser(zk.User{UID: i, UserID: strconv.Itoa(i), Name: fmt.Sprintf("用户%d", i)}); err != nil {
				clock.Close()
				fmt.Fprintf(e.stderr, "kaoqin sim zk: %v\n", err)
				return nil, exitUsage
			}
		}
		if data != nil {
			if err := clock.LoadPunchesCSV(bytes.NewReader(data)); err != nil {
				clock.Close()
				fmt.Fprintln(e.stderr, strings.ReplaceAll(err.Error(), "punches:", *punches+":"))
				return nil, exitUsage
			}
		}
		return clock, 0
	}
	// TCP and UDP share the port, as on a real clock. With port 0 the kernel picks a TCP port whose
	// UDP twin may be taken: then try another.
	_, port, _ := net.SplitHostPort(*listen)
	var clock *zkemu.Clock
	for attempt := 1; ; attempt++ {
		var code int
		if clock, code = newClock(); clock == nil {
			return code
		}
		addr, err := clock.ListenTCP(*listen)
		if err != nil {
			clock.Close()
			fmt.Fprintf(e.stderr, "kaoqin sim zk: %v\n", err)
			return exitFail
		}
		var ua net.Addr
		if *udp {
			if ua, err = clock.ListenUDP(addr.String()); err != nil {
				clock.Close()
				if port == "0" && attempt < 20 {
					continue
				}
				fmt.Fprintf(e.stderr, "kaoqin sim zk: %v\n", err)
				return exitFail
			}
		}
		defer clock.Close()
		fmt.Fprintf(e.stdout, "zk clock %s listening on tcp %s\n", printable(*serial), addr)
		if ua != nil {
			fmt.Fprintf(e.stdout, "zk clock %s listening on udp %s\n", printable(*serial), ua)
		}
		break
	}
	if *punchEvery > 0 {
		punchPeriodically(ctx, e, clock, *users, *punchEvery)
	}
	<-ctx.Done()
	return exitOK
}

// punchPeriodically punches users 1..users in turn (user 1 when there are none) every interval
// until ctx ends: live events for a client that subscribed, such as pyzk's live_capture.
func punchPeriodically(ctx context.Context, e *env, clock *zkemu.Clock, users int, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for n := 0; ; n++ {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		user := strconv.Itoa(n%max(users, 1) + 1)
		if err := clock.AddPunch(user, clock.Now(), 1, 0); err != nil {
			fmt.Fprintf(e.stderr, "kaoqin sim zk: punch: %v\n", err)
			continue
		}
		fmt.Fprintf(e.stdout, "punch: user %s at %s\n", user, clock.Now().Format(time.DateTime))
	}
}

// runSimAnviz serves emulated Anviz clocks on one bus, on a pseudo-terminal and/or TCP.
func runSimAnviz(ctx context.Context, e *env, args []string) int {
	f := e.flags("sim anviz", "sim anviz [--pty] [--listen 127.0.0.1:5010] --ids 1,2 [--baud 9600] [--punches FILE.csv]")
	pty := f.Bool("pty", false, "serve the bus on a pseudo-terminal (prints its path)")
	listen := f.String("listen", "", "also serve the bus on TCP at this `address`")
	ids := f.String("ids", "1", "device ids of the clocks on the bus, comma-separated")
	baud := f.Int("baud", 9600, "line speed the pseudo-terminal is paced at (0: unpaced)")
	punches := f.String("punches", "", "CSV `file` of punches (user_id,time[,device_id]); without device_id they go to the first clock")
	if code, ok := f.parse(args); !ok {
		return code
	}
	if !*pty && *listen == "" {
		fmt.Fprintln(e.stderr, "kaoqin sim anviz: give --pty, --listen ADDR, or both")
		return exitUsage
	}
	cfg, code, ok := f.loadConfig()
	if !ok {
		return code
	}
	var clocks []anvizemu.Clock
	for _, s := range strings.Split(*ids, ",") {
		n, err := strconv.ParseUint(strings.TrimSpace(s), 10, 32)
		if err != nil || n == 0 {
			fmt.Fprintf(e.stderr, "kaoqin sim anviz: --ids: %q is not a device id (1 or more)\n", s)
			return exitUsage
		}
		clocks = append(clocks, anvizemu.Clock{DeviceID: uint32(n)})
	}
	loc := cfg.Location()
	emu, err := anvizemu.New(anvizemu.Config{Baud: *baud, Now: nowIn(loc)}, clocks...)
	if err != nil {
		fmt.Fprintf(e.stderr, "kaoqin sim anviz: %v\n", err)
		return exitUsage
	}
	defer emu.Close()
	if *punches != "" {
		file, err := os.Open(*punches)
		if err != nil {
			fmt.Fprintf(e.stderr, "kaoqin sim anviz: %v\n", err)
			return exitUsage
		}
		_, err = emu.LoadPunchesCSV(clocks[0].DeviceID, file)
		file.Close()
		if err != nil {
			fmt.Fprintln(e.stderr, err)
			return exitUsage
		}
	}
	if *pty {
		path, err := emu.ServePTY()
		if err != nil {
			fmt.Fprintf(e.stderr, "kaoqin sim anviz: %v\n", err)
			return exitFail
		}
		fmt.Fprintf(e.stdout, "anviz bus (ids %s) on pty %s at %d baud\n", *ids, path, *baud)
	}
	if *listen != "" {
		addr, err := emu.ListenTCP(*listen)
		if err != nil {
			fmt.Fprintf(e.stderr, "kaoqin sim anviz: %v\n", err)
			return exitFail
		}
		fmt.Fprintf(e.stdout, "anviz bus (ids %s) listening on tcp %s\n", *ids, addr)
	}
	<-ctx.Done()
	return exitOK
}

func nowIn(loc *time.Location) func() time.Time {
	return func() time.Time { return time.Now().In(loc) }
}

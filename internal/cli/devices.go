package cli

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/kaoqin/kaoqin/devices/anviz"
	"github.com/kaoqin/kaoqin/devices/zk"
	"github.com/kaoqin/kaoqin/internal/config"
	"github.com/kaoqin/kaoqin/internal/store"
)

// deviceRecord is one attendance record as `devices pull` writes it.
type deviceRecord struct {
	UserID        string
	Time          time.Time
	Verify, State int
}

// deviceSession is what the operator commands need from a clock of either protocol.
type deviceSession interface {
	identity(ctx context.Context) ([][2]string, error)
	time(ctx context.Context) (time.Time, error)
	setTime(ctx context.Context, t time.Time) error
	// records hands each record of the clock's log to fn, in the clock's order, holding no more
	// of the log than the protocol's read needs.
	records(ctx context.Context, fn func(deviceRecord) error) error
	close() error
}

type zkSession struct{ c *zk.Client }

func (s zkSession) identity(ctx context.Context) ([][2]string, error) {
	i, err := s.c.Info(ctx)
	if err != nil {
		return nil, err
	}
	used := "-"
	if i.RecordCapacity > 0 {
		used = fmt.Sprintf("%.1f%%", 100*float64(i.Records)/float64(i.RecordCapacity))
	}
	return [][2]string{{"protocol", "zk"}, {"serial number", i.SerialNumber}, {"platform", i.Platform},
		{"device name", i.DeviceName}, {"firmware", i.Firmware}, {"mac", i.MAC},
		{"users", fmt.Sprintf("%d of %d", i.Users, i.UserCapacity)},
		{"fingerprints", fmt.Sprintf("%d of %d", i.Fingers, i.FingerCapacity)},
		{"records", fmt.Sprintf("%d of %d (%s used)", i.Records, i.RecordCapacity, used)}}, nil
}
func (s zkSession) time(ctx context.Context) (time.Time, error)    { return s.c.Time(ctx) }
func (s zkSession) setTime(ctx context.Context, t time.Time) error { return s.c.SetTime(ctx, t) }
func (s zkSession) close() error                                   { return s.c.Close() }
func (s zkSession) records(ctx context.Context, fn func(deviceRecord) error) error {
	set, err := s.c.AttendanceSet(ctx)
	if err != nil {
		return err
	}
	for i := range set.Len() {
		r := set.At(i)
		if err := fn(deviceRecord{r.UserID, r.Time, r.Verify, r.State}); err != nil {
			return err
		}
	}
	return nil
}

type anvizSession struct {
	bus *anviz.Bus
	c   *anviz.Client
}

func (s anvizSession) identity(ctx context.Context) ([][2]string, error) {
	info, err := s.c.Info(ctx)
	if err != nil {
		return nil, err
	}
	sn, err := s.c.SerialNumber(ctx)
	if err != nil {
		return nil, err
	}
	ri, err := s.c.RecordInfo(ctx)
	if err != nil {
		return nil, err
	}
	out := [][2]string{{"protocol", "anviz"}, {"device id", strconv.Itoa(int(s.c.DeviceID()))}, {"serial number", sn},
		{"firmware", info.Firmware}, {"users", strconv.Itoa(ri.Users)}, {"fingerprints", strconv.Itoa(ri.Fingerprints)}}
	if cp, err := s.c.Capacity(ctx); err == nil && cp.Records > 0 {
		out = append(out, [2]string{"records", fmt.Sprintf("%d of %d (%.1f%% used), %d new", ri.AllRecords, cp.Records,
			100*float64(ri.AllRecords)/float64(cp.Records), ri.NewRecords)})
	} else {
		out = append(out, [2]string{"records", fmt.Sprintf("%d, %d new", ri.AllRecords, ri.NewRecords)})
	}
	return out, nil
}
func (s anvizSession) time(ctx context.Context) (time.Time, error)    { return s.c.Time(ctx) }
func (s anvizSession) setTime(ctx context.Context, t time.Time) error { return s.c.SetTime(ctx, t) }
func (s anvizSession) close() error                                   { return s.bus.Close() }

// records reads every record without touching the "new" marks: pulling to a file must not
// take records away from the daemon.
func (s anvizSession) records(ctx context.Context, fn func(deviceRecord) error) error {
	_, err := s.c.ReadAll(ctx, func(rs []anviz.Record) error {
		for _, r := range rs {
			if err := fn(deviceRecord{r.UserID, r.Time, r.Backup, r.State}); err != nil {
				return err
			}
		}
		return nil
	})
	return err
}

// deviceFlags are the ways to name a clock: a configured NAME, or its address on the command line.
type deviceFlags struct {
	*flags
	address, protocol, transport, serialPort, parity *string
	commKey, baud, deviceID                          *int
	timeout                                          *time.Duration
}

func (e *env) deviceFlags(name, usage string) *deviceFlags {
	f := &deviceFlags{flags: e.flags(name, usage+"\n\nName a configured clock, or give one on the command line:\n"+
		"  --address 127.0.0.1:4370 --protocol zk [--transport udp] [--commkey N]\n"+
		"  --protocol anviz --serial /dev/ttyUSB0 [--baud 9600] --device-id 2   (or --address host:5010)")}
	f.address = f.String("address", "", "clock `host:port` (instead of a configured NAME)")
	f.protocol = f.String("protocol", "zk", "protocol of an --address/--serial clock: zk or anviz")
	f.transport = f.String("transport", "", "zk: tcp (default) or udp")
	f.commKey = f.Int("commkey", 0, "the clock's comm key (zk)")
	f.serialPort = f.String("serial", "", "serial `port` of an anviz clock")
	f.baud = f.Int("baud", 9600, "serial baud rate")
	f.parity = f.String("parity", "none", "serial parity: none, odd, even")
	f.deviceID = f.Int("device-id", 1, "anviz device id on the bus")
	f.timeout = f.Duration("timeout", 60*time.Second, "bound of the whole command")
	return f
}

// clock resolves the clock to talk to; ok false means the usage error was printed.
func (f *deviceFlags) clock(cfg *config.Config) (config.Clock, bool) {
	if f.NArg() > 1 {
		fmt.Fprintf(f.e.stderr, "%s: give one clock NAME\n", f.Name())
		return config.Clock{}, false
	}
	if f.NArg() == 1 {
		if *f.address != "" || *f.serialPort != "" {
			fmt.Fprintf(f.e.stderr, "%s: give a NAME or --address/--serial, not both\n", f.Name())
			return config.Clock{}, false
		}
		c, ok := cfg.Clock(f.Arg(0))
		if !ok {
			fmt.Fprintf(f.e.stderr, "%s: no clock named %q in %s\n", f.Name(), f.Arg(0), configName(cfg))
			return config.Clock{}, false
		}
		if c.Protocol == "zk-push" {
			fmt.Fprintf(f.e.stderr, "%s: %s is a PUSH clock; it calls the daemon and cannot be dialled (use kaoqin devices command)\n", f.Name(), c.Name)
			return config.Clock{}, false
		}
		return c, true
	}
	c := config.Clock{Name: "cli", Protocol: *f.protocol, Transport: *f.transport, Address: *f.address,
		DeviceID: *f.deviceID, Encoding: "gbk", RecordEpoch: "2000-01-02 00:00:00"}
	if *f.commKey != 0 {
		c.CommKey = config.Secret{Value: *f.commKey, Set: true}
	}
	switch {
	case *f.serialPort != "":
		c.Transport = "serial"
		c.Serial = &config.SerialPort{Port: *f.serialPort, Baud: *f.baud, DataBits: 8, Parity: *f.parity, StopBits: 1,
			Timeout: config.Duration(100 * time.Millisecond)}
	case *f.address == "":
		fmt.Fprintf(f.e.stderr, "%s: name a configured clock, or give --address or --serial\n", f.Name())
		return config.Clock{}, false
	case c.Transport == "":
		c.Transport = "tcp"
	}
	if c.Protocol != "zk" && c.Protocol != "anviz" {
		fmt.Fprintf(f.e.stderr, "%s: --protocol %q: use zk or anviz\n", f.Name(), c.Protocol)
		return config.Clock{}, false
	}
	return c, true
}

func configName(cfg *config.Config) string {
	if cfg.File == "" {
		return "the built-in defaults (no config file)"
	}
	return cfg.File
}

func openDevice(ctx context.Context, c config.Clock) (deviceSession, error) {
	switch c.Protocol {
	case "zk":
		enc := zk.GBK
		if c.Encoding == "utf-8" {
			enc = zk.UTF8
		}
		cl, err := zk.Dial(ctx, zk.Options{Network: c.Transport, Address: c.Address, CommKey: c.CommKey.Value, Encoding: enc})
		if err != nil {
			return nil, err
		}
		return zkSession{cl}, nil
	case "anviz":
		epoch, err := time.Parse(store.WallLayout, c.RecordEpoch)
		if err != nil {
			return nil, err
		}
		o := anviz.Options{Epoch: epoch}
		var bus *anviz.Bus
		if c.Transport == "serial" {
			bus, err = anviz.OpenSerial(anviz.SerialOptions{Port: c.Serial.Port, Baud: c.Serial.Baud, DataBits: c.Serial.DataBits,
				Parity: parityOf(c.Serial.Parity), StopBits: c.Serial.StopBits, ReadTimeout: c.Serial.Timeout.Std(), Options: o})
		} else {
			bus, err = anviz.DialTCP(ctx, c.Address, o)
		}
		if err != nil {
			return nil, err
		}
		return anvizSession{bus: bus, c: bus.Clock(uint32(c.DeviceID))}, nil
	}
	return nil, fmt.Errorf("protocol %q cannot be dialled", c.Protocol)
}

func parityOf(p string) byte {
	switch p {
	case "odd":
		return 'O'
	case "even":
		return 'E'
	}
	return 'N'
}

// withDevice parses the flags, resolves and opens the clock, and runs fn.
func (e *env) withDevice(ctx context.Context, f *deviceFlags, args []string, fn func(ctx context.Context, cfg *config.Config, c config.Clock, d deviceSession) int) int {
	if code, ok := f.parse(args); !ok {
		return code
	}
	cfg, code, ok := f.loadConfig()
	if !ok {
		return code
	}
	c, ok := f.clock(cfg)
	if !ok {
		return exitUsage
	}
	ctx, cancel := context.WithTimeout(ctx, *f.timeout)
	defer cancel()
	d, err := openDevice(ctx, c)
	if err != nil {
		fmt.Fprintf(e.stderr, "%s: clock %s: %s\n", f.Name(), c.Name, printable(err.Error()))
		return exitFail
	}
	defer d.close()
	return fn(ctx, cfg, c, d)
}

func runDevicesInfo(ctx context.Context, e *env, args []string) int {
	f := e.deviceFlags("devices info", "devices info [--config FILE] NAME")
	return e.withDevice(ctx, f, args, func(ctx context.Context, cfg *config.Config, c config.Clock, d deviceSession) int {
		id, err := d.identity(ctx)
		if err != nil {
			fmt.Fprintf(e.stderr, "kaoqin devices info: clock %s: %s\n", c.Name, printable(err.Error()))
			return exitFail
		}
		t, err := d.time(ctx)
		if err != nil {
			fmt.Fprintf(e.stderr, "kaoqin devices info: clock %s: %s\n", c.Name, printable(err.Error()))
			return exitFail
		}
		fmt.Fprintf(e.stdout, "%-14s %s\n", "clock", c.Name)
		for _, kv := range id {
			fmt.Fprintf(e.stdout, "%-14s %s\n", kv[0], printable(kv[1]))
		}
		printTime(e, cfg, t)
		return exitOK
	})
}

func printTime(e *env, cfg *config.Config, clockTime time.Time) {
	server := store.Wall(time.Now(), cfg.Location())
	skew := clockTime.Sub(server).Round(time.Second)
	fmt.Fprintf(e.stdout, "%-14s %s\n", "clock time", store.WallString(clockTime))
	fmt.Fprintf(e.stdout, "%-14s %s (%s)\n", "server time", store.WallString(server), cfg.Location())
	fmt.Fprintf(e.stdout, "%-14s %s\n", "skew", skew)
}

func runDevicesTime(ctx context.Context, e *env, args []string) int {
	f := e.deviceFlags("devices time", "devices time [--config FILE] [--set] NAME")
	set := f.Bool("set", false, "set the clock to the server's time")
	return e.withDevice(ctx, f, args, func(ctx context.Context, cfg *config.Config, c config.Clock, d deviceSession) int {
		if *set {
			if err := d.setTime(ctx, store.Wall(time.Now(), cfg.Location())); err != nil {
				fmt.Fprintf(e.stderr, "kaoqin devices time: clock %s: set: %s\n", c.Name, printable(err.Error()))
				return exitFail
			}
		}
		t, err := d.time(ctx)
		if err != nil {
			fmt.Fprintf(e.stderr, "kaoqin devices time: clock %s: %s\n", c.Name, printable(err.Error()))
			return exitFail
		}
		printTime(e, cfg, t)
		return exitOK
	})
}

func runDevicesPull(ctx context.Context, e *env, args []string) int {
	f := e.deviceFlags("devices pull", "devices pull [--config FILE] NAME --out FILE.csv\n\n"+
		"Reads the clock's whole log into CSV (clock,user_id,time,verify,state). The database is not\ntouched, nor are an Anviz clock's new marks.")
	out := f.String("out", "", "the CSV `file` to write")
	return e.withDevice(ctx, f, args, func(ctx context.Context, cfg *config.Config, c config.Clock, d deviceSession) int {
		if *out == "" {
			fmt.Fprintln(e.stderr, "kaoqin devices pull: --out FILE.csv is required")
			return exitUsage
		}
		n, err := writeRecordsCSV(*out, c.Name, func(fn func(deviceRecord) error) error { return d.records(ctx, fn) })
		var re *readErr
		if errors.As(err, &re) {
			fmt.Fprintf(e.stderr, "kaoqin devices pull: clock %s: %s\n", c.Name, printable(re.err.Error()))
			return exitFail
		}
		if err != nil {
			fmt.Fprintf(e.stderr, "kaoqin devices pull: %v\n", err)
			return exitFail
		}
		fmt.Fprintf(e.stdout, "%d records from %s written to %s\n", n, c.Name, *out)
		return exitOK
	})
}

// readErr marks a failure of the clock, not of the file, in writeRecordsCSV.
type readErr struct{ err error }

func (e *readErr) Error() string { return e.err.Error() }

// writeRecordsCSV writes the records each hands on as they come, through a temporary file renamed
// into place, so a failed pull leaves no half-written file behind. A failure of each comes back as
// a *readErr.
func writeRecordsCSV(path, clock string, each func(func(deviceRecord) error) error) (int, error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".pull-*.csv")
	if err != nil {
		return 0, err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	w := csv.NewWriter(tmp)
	w.Write([]string{"clock", "user_id", "time", "verify", "state"})
	n := 0
	if err := each(func(r deviceRecord) error {
		n++
		return w.Write([]string{clock, r.UserID, store.WallString(r.Time), strconv.Itoa(r.Verify), strconv.Itoa(r.State)})
	}); err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			return 0, err
		}
		return 0, &readErr{err}
	}
	w.Flush()
	if err := errors.Join(w.Error(), tmp.Close()); err != nil {
		return 0, err
	}
	return n, os.Rename(tmp.Name(), path)
}

func runDevicesClear(ctx context.Context, e *env, args []string) int {
	f := e.deviceFlags("devices clear-log", "devices clear-log [--config FILE] --yes NAME\n\n"+
		"Deletes a ZKTeco clock's attendance log (its own copy of the punches). kaoqin never does this by\n"+
		"itself; pull the log or make sure the daemon has stored it first.")
	yes := f.Bool("yes", false, "confirm that the clock's log is to be deleted")
	return e.withDevice(ctx, f, args, func(ctx context.Context, cfg *config.Config, c config.Clock, d deviceSession) int {
		z, ok := d.(zkSession)
		if !ok {
			fmt.Fprintln(e.stderr, "kaoqin devices clear-log: only ZKTeco clocks; an Anviz clock's new marks are cleared by the daemon after each stored read")
			return exitUsage
		}
		if !*yes {
			fmt.Fprintln(e.stderr, "kaoqin devices clear-log: this deletes the clock's log; add --yes to confirm")
			return exitUsage
		}
		if err := z.c.ClearAttendanceLog(ctx); err != nil {
			fmt.Fprintf(e.stderr, "kaoqin devices clear-log: clock %s: %v\n", c.Name, err)
			return exitFail
		}
		fmt.Fprintf(e.stdout, "attendance log of %s cleared\n", c.Name)
		return exitOK
	})
}

func runDevicesUnknown(ctx context.Context, e *env, args []string) int {
	f := e.flags("devices unknown", "devices unknown [--config FILE]\n\nLists clock user ids whose punches match no staff member (enrol them with kaoqin devices enroll),\nand push clocks whose serial number is not configured.")
	if code, ok := f.parse(args); !ok {
		return code
	}
	_, s, code, ok := f.openStore(ctx)
	if !ok {
		return code
	}
	defer s.Close()
	users, err := s.UnknownUsers(ctx)
	if err != nil {
		fmt.Fprintf(e.stderr, "kaoqin devices unknown: %v\n", err)
		return exitFail
	}
	if len(users) == 0 {
		fmt.Fprintln(e.stdout, "no unknown clock users")
	} else {
		fmt.Fprintf(e.stdout, "%-16s %-12s %8s  %-19s  %-19s\n", "CLOCK", "USER ID", "PUNCHES", "FIRST", "LAST")
		for _, u := range users {
			fmt.Fprintf(e.stdout, "%-16s %-12s %8d  %s  %s\n", u.Clock, printable(u.UserID), u.Punches, store.WallString(u.First), store.WallString(u.Last))
		}
	}
	if err := printUnknownPush(ctx, e.stdout, s); err != nil {
		fmt.Fprintf(e.stderr, "kaoqin devices unknown: %v\n", err)
		return exitFail
	}
	return exitOK
}

func runDevicesEnroll(ctx context.Context, e *env, args []string) int {
	f := e.flags("devices enroll", "devices enroll [--config FILE] --clock NAME --user ID --staff STAFF_ID")
	clock := f.String("clock", "", "clock `name`")
	user := f.String("user", "", "the clock's user `id`")
	staff := f.String("staff", "", "the staff member's `id`")
	actor := f.String("actor", "cli", "who enrols, for the audit log")
	if code, ok := f.parse(args); !ok {
		return code
	}
	if *clock == "" || *user == "" || *staff == "" {
		fmt.Fprintln(e.stderr, "kaoqin devices enroll: --clock, --user and --staff are required")
		return exitUsage
	}
	cfg, code, ok := f.loadConfig()
	if !ok {
		return code
	}
	if _, ok := cfg.Clock(*clock); !ok {
		fmt.Fprintf(e.stderr, "kaoqin devices enroll: no clock named %q in %s\n", *clock, configName(cfg))
		return exitUsage
	}
	s, code, ok := e.openStore(ctx, cfg, false)
	if !ok {
		return code
	}
	defer s.Close()
	if err := s.Enroll(ctx, store.Enrollment{Clock: *clock, UserID: *user, StaffID: *staff}, *actor); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			fmt.Fprintf(e.stderr, "kaoqin devices enroll: no staff member %q\n", *staff)
			return exitUsage
		}
		fmt.Fprintf(e.stderr, "kaoqin devices enroll: %v\n", err)
		return exitFail
	}
	fmt.Fprintf(e.stdout, "%s:%s enrolled as %s; their punches are being recomputed\n", *clock, *user, *staff)
	return exitOK
}

// Package anvizemu emulates Anviz TC_B time clocks: one or more clocks, each with its own device
// id, sharing one bus served on a pseudo-terminal (as an RS232/RS485 line would be) and on TCP
// (as a networked clock on port 5010 would be). It keeps records with "new" marks, its own settable
// time, an optional realtime mode, paces a serial line at its baud rate, and injects the faults
// real lines show: a corrupted reply, no answer, a partial frame, the wrong device answering, a
// dropped connection. Tests, the demo and operators use it in place of clocks.
package anvizemu

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/kaoqin/kaoqin/devices/anviz"
	"github.com/kaoqin/kaoqin/internal/csvio"
	"github.com/kaoqin/kaoqin/internal/pty"
	"golang.org/x/sys/unix"
)

// Config configures an emulator.
type Config struct {
	// Baud paces the pseudo-terminal line: 10 bits per byte, so baud/10 bytes per second in both
	// directions, one direction at a time as on RS485. Zero means unpaced. TCP is never paced.
	Baud int

	// Epoch is the clocks' record epoch; zero means anviz.DefaultEpoch.
	Epoch time.Time

	// Now is the host clock the clocks' own times run from; nil means time.Now.
	Now func() time.Time
}

// Clock configures one emulated clock.
type Clock struct {
	DeviceID     uint32
	SerialNumber string // default "EMU" and the device id
	Firmware     string // up to 8 ASCII bytes; default "EMU-1.00"
	Realtime     bool   // send each new record as it is punched (command 5F)
	Capacity     anviz.Capacity
}

// FaultKind is a kind of line fault.
type FaultKind int

const (
	// CRCError: the clock acts on the request; its reply arrives with a wrong CRC.
	CRCError FaultKind = iota + 1
	// NoAnswer: the clock never hears the request.
	NoAnswer
	// PartialFrame: the clock acts on the request; only the first part of its reply arrives.
	PartialFrame
	// WrongDevice: the clock never hears the request; another device id answers instead.
	WrongDevice
	// HangUp: on TCP the clock drops the connection without acting on the request; on a
	// pseudo-terminal it does not answer.
	HangUp
	// DevicePing: before its reply the clock sends its ping in command form (a5 CH 7F 0000 CRC),
	// as networked clocks do on their own; PingAnswers counts the replies it gets.
	DevicePing
)

func (k FaultKind) String() string {
	switch k {
	case CRCError:
		return "crc-error"
	case NoAnswer:
		return "no-answer"
	case PartialFrame:
		return "partial-frame"
	case WrongDevice:
		return "wrong-device"
	case HangUp:
		return "hang-up"
	case DevicePing:
		return "device-ping"
	}
	return "fault(" + strconv.Itoa(int(k)) + ")"
}

// ParseFaultKind parses the names String gives (crc-error, no-answer, partial-frame,
// wrong-device, hang-up), for command-line flags.
func ParseFaultKind(s string) (FaultKind, error) {
	for k := CRCError; k <= DevicePing; k++ {
		if k.String() == s {
			return k, nil
		}
	}
	return 0, fmt.Errorf("anvizemu: unknown fault %q: want crc-error, no-answer, partial-frame, wrong-device, hang-up or device-ping", s)
}

// Fault is a fault to inject into one clock's next matching request.
type Fault struct {
	Kind  FaultKind
	Cmd   byte // the command it applies to; 0 means any
	After int  // matching requests to let through first
}

// Emulator is a set of clocks on one bus. Its methods are safe for concurrent use.
type Emulator struct {
	cfg Config

	mu     sync.Mutex
	clocks map[uint32]*clock
	lines  map[*line]struct{}
	lns    []net.Listener
	closed bool

	done chan struct{}
	wg   sync.WaitGroup
}

type clock struct {
	cfg      Clock
	records  []anviz.Record
	newFrom  int           // records[newFrom:] carry the "new" mark
	offset   time.Duration // clock display minus host wall clock
	cur      int           // download cursor
	curValid bool
	last     []byte // DATA of the last download packet, for resend
	faults   []Fault
	requests map[byte]int
	pings    int // answers to the clock's pings
}

// New returns an emulator with the given clocks.
func New(cfg Config, clocks ...Clock) (*Emulator, error) {
	if cfg.Epoch.IsZero() {
		cfg.Epoch = anviz.DefaultEpoch
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	e := &Emulator{cfg: cfg, clocks: map[uint32]*clock{}, lines: map[*line]struct{}{}, done: make(chan struct{})}
	for _, c := range clocks {
		if err := e.AddClock(c); err != nil {
			return nil, err
		}
	}
	return e, nil
}

// AddClock adds a clock to the bus.
func (e *Emulator) AddClock(c Clock) error {
	if c.DeviceID == 0 {
		return errors.New("anvizemu: device id 0 is the broadcast address")
	}
	if c.SerialNumber == "" {
		c.SerialNumber = fmt.Sprintf("EMU%d", c.DeviceID)
	}
	if c.Firmware == "" {
		c.Firmware = "EMU-1.00"
	}
	if c.Capacity == (anviz.Capacity{}) {
		c.Capacity = anviz.Capacity{Users: 3000, Fingerprints: 3000, Records: 100000}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.clocks[c.DeviceID]; ok {
		return fmt.Errorf("anvizemu: device id %d already on the bus", c.DeviceID)
	}
	e.clocks[c.DeviceID] = &clock{cfg: c, requests: map[byte]int{}}
	return nil
}

func (e *Emulator) clock(id uint32) (*clock, error) {
	c, ok := e.clocks[id]
	if !ok {
		return nil, fmt.Errorf("anvizemu: no clock with device id %d", id)
	}
	return c, nil
}

// AddRecord punches userID at wall-clock time t on a clock, as a fingerprint check-in. The record
// is new; in realtime mode the clock also sends it at once.
func (e *Emulator) AddRecord(deviceID uint32, userID string, t time.Time) error {
	return e.AddRecords(deviceID, anviz.Record{UserID: userID, Time: t})
}

// AddRecords punches full records on a clock.
func (e *Emulator) AddRecords(deviceID uint32, rs ...anviz.Record) error {
	for _, r := range rs {
		if _, err := anviz.AppendRecord(nil, r, e.cfg.Epoch); err != nil {
			return err
		}
	}
	e.mu.Lock()
	c, err := e.clock(deviceID)
	if err != nil {
		e.mu.Unlock()
		return err
	}
	c.records = append(c.records, rs...)
	var push [][]byte
	if c.cfg.Realtime {
		for _, r := range rs {
			d, _ := anviz.AppendRecord(nil, r, e.cfg.Epoch)
			f, _ := anviz.AppendResponse(nil, anviz.Response{DeviceID: deviceID, Cmd: anviz.CmdRealtime, Data: d})
			push = append(push, f)
		}
	}
	lines := e.lineList()
	e.mu.Unlock()
	if len(push) > 0 {
		for _, l := range lines {
			l.send(push, time.Time{}, 0, true)
		}
	}
	return nil
}

// LoadPunchesCSV punches the rows of a CSV file with columns user_id and time
// ("YYYY-MM-DD HH:MM:SS", wall clock) on the clock deviceID, or on the clock named by an optional
// device_id column. It returns how many records it added; problems name the file and line.
func (e *Emulator) LoadPunchesCSV(deviceID uint32, r io.Reader) (int, error) {
	name := "punches.csv"
	if f, ok := r.(*os.File); ok {
		name = f.Name()
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return 0, fmt.Errorf("anvizemu: %s: %w", name, err)
	}
	t, err := csvio.Parse(name, data, "user_id", "time")
	if err != nil {
		return 0, err
	}
	byClock := map[uint32][]anviz.Record{}
	var order []uint32
	var ps csvio.Problems
	for _, row := range t.Rows {
		id := deviceID
		if s := row.Get("device_id"); s != "" {
			n, err := strconv.ParseUint(s, 10, 32)
			if err != nil || n == 0 {
				ps = append(ps, t.Problem(row.Line, "device_id %q: want a number from 1 to 4294967295", s))
				continue
			}
			id = uint32(n)
		}
		tm, err := csvio.ParseTime(row.Get("time"))
		if err != nil {
			ps = append(ps, t.Problem(row.Line, "%v", err))
			continue
		}
		rec := anviz.Record{UserID: row.Get("user_id"), Time: tm}
		if _, err := anviz.AppendRecord(nil, rec, e.cfg.Epoch); err != nil {
			ps = append(ps, t.Problem(row.Line, "%v", err))
			continue
		}
		if _, ok := byClock[id]; !ok {
			order = append(order, id)
		}
		byClock[id] = append(byClock[id], rec)
	}
	e.mu.Lock()
	for _, id := range order {
		if _, err := e.clock(id); err != nil {
			ps = append(ps, t.Problem(0, "%v", err))
		}
	}
	e.mu.Unlock()
	if err := ps.Err(); err != nil {
		return 0, err
	}
	n := 0
	for _, id := range order {
		if err := e.AddRecords(id, byClock[id]...); err != nil {
			return n, err
		}
		n += len(byClock[id])
	}
	return n, nil
}

// SetRealtime turns a clock's realtime mode on or off.
func (e *Emulator) SetRealtime(deviceID uint32, on bool) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	c, err := e.clock(deviceID)
	if err != nil {
		return err
	}
	c.cfg.Realtime = on
	return nil
}

// wall is the wall clock of an instant in its own location (Config.Now picks the zone; time.Now
// gives the host's), as the project carries it (fields in time.UTC).
func wall(t time.Time) time.Time {
	y, mo, d := t.Date()
	h, mi, s := t.Clock()
	return time.Date(y, mo, d, h, mi, s, 0, time.UTC)
}

// SetTime sets a clock's display to the wall-clock time t; the clock then runs on from there.
func (e *Emulator) SetTime(deviceID uint32, t time.Time) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	c, err := e.clock(deviceID)
	if err != nil {
		return err
	}
	c.offset = t.Sub(wall(e.cfg.Now()))
	return nil
}

// Time returns a clock's display as a wall-clock time.
func (e *Emulator) Time(deviceID uint32) (time.Time, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	c, err := e.clock(deviceID)
	if err != nil {
		return time.Time{}, err
	}
	return c.now(e.cfg.Now), nil
}

func (c *clock) now(now func() time.Time) time.Time {
	return wall(now()).Add(c.offset).Truncate(time.Second)
}

// Records returns a copy of every record on a clock, oldest first.
func (e *Emulator) Records(deviceID uint32) []anviz.Record {
	e.mu.Lock()
	defer e.mu.Unlock()
	if c, ok := e.clocks[deviceID]; ok {
		return slices.Clone(c.records)
	}
	return nil
}

// NewCount returns how many records on a clock carry the "new" mark.
func (e *Emulator) NewCount(deviceID uint32) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	if c, ok := e.clocks[deviceID]; ok {
		return len(c.records) - c.newFrom
	}
	return 0
}

// Requests returns how many well-formed requests with command cmd a clock has received,
// including those a fault then dropped.
func (e *Emulator) Requests(deviceID uint32, cmd byte) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	if c, ok := e.clocks[deviceID]; ok {
		return c.requests[cmd]
	}
	return 0
}

// Inject queues a fault on a clock; faults apply in the order injected, each once.
func (e *Emulator) Inject(deviceID uint32, f Fault) error {
	if f.Kind < CRCError || f.Kind > DevicePing {
		return fmt.Errorf("anvizemu: unknown fault kind %d", f.Kind)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	c, err := e.clock(deviceID)
	if err != nil {
		return err
	}
	c.faults = append(c.faults, f)
	return nil
}

// PendingFaults returns how many injected faults on a clock have not yet fired.
func (e *Emulator) PendingFaults(deviceID uint32) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	if c, ok := e.clocks[deviceID]; ok {
		return len(c.faults)
	}
	return 0
}

// PingCmd is the code of the clock's ping.
const PingCmd = 0x7F

// PingAnswers counts the answers (reply form, ACK FF) a clock got to its pings.
func (e *Emulator) PingAnswers(deviceID uint32) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	if c, ok := e.clocks[deviceID]; ok {
		return c.pings
	}
	return 0
}

// answered takes a frame in reply form from the client: the answer to a ping.
func (e *Emulator) answered(r anviz.Response) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if c, ok := e.clocks[r.DeviceID]; ok && r.Cmd == PingCmd {
		c.pings++
	}
}

// takeFault returns the fault that fires on this request, if any.
func (c *clock) takeFault(cmd byte) FaultKind {
	for i := range c.faults {
		f := &c.faults[i]
		if f.Cmd != 0 && f.Cmd != cmd {
			continue
		}
		if f.After > 0 {
			f.After--
			return 0
		}
		k := f.Kind
		c.faults = slices.Delete(c.faults, i, i+1)
		return k
	}
	return 0
}

// ServePTY serves the bus on a new pseudo-terminal and returns the path of its slave side, which
// a client opens as a serial port. It may be called more than once.
func (e *Emulator) ServePTY() (string, error) {
	master, slavePath, err := pty.Open()
	if err != nil {
		return "", fmt.Errorf("anvizemu: %w", err)
	}
	// Holding the slave open keeps the master readable (Linux answers EIO on the master while no
	// slave is open) before the first client opens it and between clients.
	hold, err := os.OpenFile(slavePath, os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		master.Close()
		return "", fmt.Errorf("anvizemu: %w", err)
	}
	l := &line{e: e, conn: master, extra: hold, name: slavePath, serial: true}
	if e.cfg.Baud > 0 {
		l.byteTime = time.Duration(10 * int64(time.Second) / int64(e.cfg.Baud))
	}
	if !e.addLine(l) {
		return "", errors.New("anvizemu: closed")
	}
	return slavePath, nil
}

// ListenTCP serves the bus on TCP at addr ("127.0.0.1:0" in tests) and returns the address
// listened on. Each connection is served on its own; all see the same clocks.
func (e *Emulator) ListenTCP(addr string) (net.Addr, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("anvizemu: %w", err)
	}
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		ln.Close()
		return nil, errors.New("anvizemu: closed")
	}
	e.lns = append(e.lns, ln)
	e.wg.Add(1)
	e.mu.Unlock()
	go func() {
		defer e.wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			if !e.addLine(&line{e: e, conn: conn.(*net.TCPConn), name: conn.RemoteAddr().String()}) {
				conn.Close()
				return
			}
		}
	}()
	return ln.Addr(), nil
}

func (e *Emulator) addLine(l *line) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		l.close()
		return false
	}
	e.lines[l] = struct{}{}
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		l.serve()
		e.mu.Lock()
		delete(e.lines, l)
		e.mu.Unlock()
		l.close()
	}()
	return true
}

func (e *Emulator) lineList() []*line {
	ls := make([]*line, 0, len(e.lines))
	for l := range e.lines {
		ls = append(ls, l)
	}
	return ls
}

// Close stops serving, closes every line and listener, and waits for every goroutine to end.
func (e *Emulator) Close() error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	close(e.done)
	for _, ln := range e.lns {
		ln.Close()
	}
	for l := range e.lines {
		l.close()
	}
	e.mu.Unlock()
	e.wg.Wait()
	return nil
}

// reply is what one clock sends back for one request.
type reply struct {
	frame  []byte
	hangUp bool
}

// handle runs one request on the bus and returns the replies in the order the clocks send them.
func (e *Emulator) handle(cmd anviz.Command) []reply {
	e.mu.Lock()
	defer e.mu.Unlock()
	var targets []*clock
	if cmd.DeviceID == 0 {
		for _, c := range e.clocks {
			targets = append(targets, c)
		}
		slices.SortFunc(targets, func(a, b *clock) int { return cmp.Compare(a.cfg.DeviceID, b.cfg.DeviceID) })
	} else if c, ok := e.clocks[cmd.DeviceID]; ok {
		targets = append(targets, c)
	}
	var out []reply
	for _, c := range targets {
		c.requests[cmd.Cmd]++
		fault := c.takeFault(cmd.Cmd)
		switch fault {
		case NoAnswer:
			continue
		case HangUp:
			out = append(out, reply{hangUp: true})
			continue
		case WrongDevice:
			f, _ := anviz.AppendResponse(nil, anviz.Response{DeviceID: c.cfg.DeviceID + 1, Cmd: cmd.Cmd})
			out = append(out, reply{frame: f})
			continue
		}
		if fault == DevicePing {
			ping, _ := anviz.AppendCommand(nil, anviz.Command{DeviceID: c.cfg.DeviceID, Cmd: PingCmd})
			out = append(out, reply{frame: ping})
		}
		ret, data := c.run(e.cfg, cmd)
		f, _ := anviz.AppendResponse(nil, anviz.Response{DeviceID: c.cfg.DeviceID, Cmd: cmd.Cmd, Ret: ret, Data: data})
		switch fault {
		case CRCError:
			f[len(f)-1] ^= 0xFF
		case PartialFrame:
			f = f[:max(anviz.ResponseHeaderLen+1, len(f)/2)]
		}
		out = append(out, reply{frame: f})
	}
	return out
}

// run acts on a request the clock heard.
func (c *clock) run(cfg Config, cmd anviz.Command) (ret byte, data []byte) {
	d := cmd.Data
	switch cmd.Cmd {
	case anviz.CmdDeviceInfo:
		return anviz.RetSuccess, anviz.EncodeDeviceInfo(anviz.DeviceInfo{Firmware: c.cfg.Firmware, Volume: 5, CommandVersion: 2})
	case anviz.CmdSerialNumber:
		sn := make([]byte, 16)
		copy(sn, c.cfg.SerialNumber)
		return anviz.RetSuccess, sn
	case anviz.CmdDeviceID:
		return anviz.RetSuccess, binary.BigEndian.AppendUint32(nil, c.cfg.DeviceID)
	case anviz.CmdGetTime:
		b, err := anviz.EncodeTime(c.now(cfg.Now))
		if err != nil {
			return anviz.RetFail, nil
		}
		return anviz.RetSuccess, b
	case anviz.CmdSetTime:
		t, err := anviz.DecodeTime(d)
		if err != nil {
			return anviz.RetFail, nil
		}
		c.offset = t.Sub(wall(cfg.Now()))
		return anviz.RetSuccess, nil
	case anviz.CmdRecordInfo:
		users := map[string]bool{}
		for _, r := range c.records {
			users[r.UserID] = true
		}
		return anviz.RetSuccess, anviz.EncodeRecordInfo(anviz.RecordInfo{
			Users: len(users), Fingerprints: len(users),
			AllRecords: len(c.records), NewRecords: len(c.records) - c.newFrom,
		})
	case anviz.CmdCapacity:
		return anviz.RetSuccess, anviz.EncodeCapacity(c.cfg.Capacity)
	case anviz.CmdDownload:
		return c.download(cfg, d)
	case anviz.CmdClear:
		if len(d) < 4 {
			return anviz.RetFail, nil
		}
		var n int
		switch d[0] {
		case anviz.ClearDeleteAll:
			n = len(c.records)
			c.records, c.newFrom, c.curValid, c.last = nil, 0, false, nil
		case anviz.ClearAllMarks:
			n = len(c.records) - c.newFrom
			c.newFrom = len(c.records)
		case anviz.ClearMarks:
			n = min(int(d[1])<<16|int(d[2])<<8|int(d[3]), len(c.records)-c.newFrom)
			c.newFrom += n
		default:
			return anviz.RetFail, nil
		}
		return anviz.RetSuccess, []byte{byte(n >> 16), byte(n >> 8), byte(n)}
	}
	return anviz.RetFail, nil
}

func (c *clock) download(cfg Config, d []byte) (byte, []byte) {
	if len(d) < 2 || d[1] == 0 {
		return anviz.RetFail, nil
	}
	amount := min(int(d[1]), anviz.MaxRecordsPerPacket)
	switch d[0] {
	case anviz.DownloadAll, anviz.DownloadNew:
		c.cur, c.curValid = 0, true
		if d[0] == anviz.DownloadNew {
			c.cur = c.newFrom
		}
		if c.cur >= len(c.records) {
			return anviz.RetEmpty, nil
		}
	case anviz.DownloadNext:
		if !c.curValid {
			return anviz.RetFail, nil
		}
	case anviz.DownloadResend:
		if c.last == nil {
			return anviz.RetFail, nil
		}
		return anviz.RetSuccess, c.last
	default:
		return anviz.RetFail, nil
	}
	end := min(c.cur+amount, len(c.records))
	data := []byte{byte(end - c.cur)}
	for _, r := range c.records[c.cur:end] {
		data, _ = anviz.AppendRecord(data, r, cfg.Epoch)
	}
	c.cur = end
	c.last = data
	return anviz.RetSuccess, data
}

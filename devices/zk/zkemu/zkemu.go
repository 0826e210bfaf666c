// Package zkemu emulates a ZKTeco clock speaking the standalone protocol on TCP and UDP, for the
// tests of the zk client and the daemon, the demo, and operators trying a setup without a clock.
// It keeps its own users, punches and wall clock, answers every command the zk client sends,
// pushes realtime events to subscribed sessions, and misbehaves on demand (Inject, Reboot, Skew)
// the way clocks in the field do: lost, late and corrupted replies, connections reset mid-read,
// reboots that forget sessions, and clocks set wrong.
package zkemu

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kaoqin/kaoqin/devices/zk"
	"github.com/kaoqin/kaoqin/internal/csvio"
)

// Config describes the emulated clock. Zero values take the defaults noted.
type Config struct {
	SerialNumber string // default "ZKEMU0000001"
	Platform     string // default "ZEM760_TFT"
	Firmware     string // default "Ver 6.60 Apr 26 2016"
	DeviceName   string // default "F19"
	MAC          string // default "00:17:61:00:00:01"

	CommKey    int         // 0: no AUTH asked
	RecordSize int         // attendance layout 8, 16, 40 or 49; default 40
	UserSize   int         // user layout 28 or 72; default 72
	EventSize  int         // realtime payload size (zk.EventSizes); default 32
	Encoding   zk.Encoding // code page of names on the wire; default GBK
	Users      []zk.User

	UserCapacity, FingerCapacity, RecordCapacity int // defaults 10000, 3000, 100000

	MaxChunk int // most bytes one READ_BUFFER returns, whatever is asked; default: as asked
	// DataSize is the data bytes per DATA packet of a READ_BUFFER chunk. By default a TCP chunk
	// goes in one DATA packet, which every client reads (pyzk stalls on several that arrive
	// together), and UDP packets hold 1024 bytes; UDP never carries more than 1024. 1008 is what
	// an F19 was recorded sending on TCP.
	DataSize  int
	InlineMax int // sets up to this size come back whole in the PREPARE_BUFFER reply; default 0 (never)

	PinWidth int               // GET_PINWIDTH answer; default 9
	IP       string            // the IPAddress option; default the address first listened on
	Options  map[string]string // options added to, or replacing, the built-in ones

	// Firmware variants, all off by default.
	ChecksumOneLow    bool // replies carry zk.ChecksumOneLow, as emulators derived from pyzk send
	AbsentEmpty       bool // an option the clock lacks is answered ACK_OK with no data, not ACK_ERROR
	RecordCountOffset int  // GET_FREE_SIZES reports this many records more than the log holds

	// SplitWrites cuts the TCP byte stream of each reply into random pieces of 1 to MaxPiece
	// bytes written one by one, so that packets are split across and joined within reads.
	SplitWrites bool
	MaxPiece    int    // default 300
	Seed        uint64 // for the pieces and session ids

	// MaxSessions is how many sessions the clock admits at once, as many models admit one; a
	// CONNECT beyond it is answered ACK_ERROR and counted (Refused). 0: no limit.
	MaxSessions int

	Location   *time.Location // zone of the clock's wall clock; default time.Local
	TimeOffset time.Duration  // the clock runs this far ahead of real time
	Logger     *slog.Logger   // default discards
}

// Punch is one entry of the emulated attendance log.
type Punch struct {
	UserID   string
	Time     time.Time // wall clock
	Verify   int
	State    int
	WorkCode int
	uid      int
}

// Clock is an emulated clock. Its methods are safe for concurrent use.
type Clock struct {
	cfg Config
	log *slog.Logger

	mu          sync.Mutex
	users       []zk.User
	punches     []Punch
	offset      time.Duration
	sessions    map[uint16]*session
	nextSession uint16
	faults      []*fault
	requests    map[uint16]int
	options     map[string]string
	eventAcks   int
	variants    int
	closers     []io.Closer
	conns       map[*tcpConn]struct{}
	closed      bool
	refused     int

	nfaults atomic.Int32
	done    chan struct{}
	wg      sync.WaitGroup
}

type session struct {
	id     uint16
	authed bool
	events uint32
	buf    []byte // the prepared set, between PREPARE_BUFFER and FREE_DATA
	peer   peer
}

// peer is the way back to a client: a TCP connection or a UDP address.
type peer interface {
	send(pkts [][]byte)
	reset()
}

// New validates cfg and builds a clock that is not yet listening.
func New(cfg Config) (*Clock, error) {
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	def(&cfg.SerialNumber, "ZKEMU0000001")
	def(&cfg.Platform, "ZEM760_TFT")
	def(&cfg.Firmware, "Ver 6.60 Apr 26 2016")
	def(&cfg.DeviceName, "F19")
	def(&cfg.MAC, "00:17:61:00:00:01")
	defInt := func(n *int, v int) {
		if *n == 0 {
			*n = v
		}
	}
	defInt(&cfg.RecordSize, 40)
	defInt(&cfg.UserSize, 72)
	defInt(&cfg.EventSize, 32)
	defInt(&cfg.UserCapacity, 10000)
	defInt(&cfg.FingerCapacity, 3000)
	defInt(&cfg.RecordCapacity, 100000)
	defInt(&cfg.PinWidth, 9)
	defInt(&cfg.MaxPiece, 300)
	if cfg.Encoding == "" {
		cfg.Encoding = zk.GBK
	}
	if cfg.Location == nil {
		cfg.Location = time.Local
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	switch {
	case cfg.RecordSize != 8 && cfg.RecordSize != 16 && cfg.RecordSize != 40 && cfg.RecordSize != 49:
		return nil, fmt.Errorf("zkemu: record size %d: want 8, 16, 40 or 49", cfg.RecordSize)
	case cfg.UserSize != 28 && cfg.UserSize != 72:
		return nil, fmt.Errorf("zkemu: user size %d: want 28 or 72", cfg.UserSize)
	case cfg.DataSize < 0 || cfg.DataSize > zk.MaxPacket-zk.HeaderSize:
		return nil, fmt.Errorf("zkemu: DATA size %d out of range", cfg.DataSize)
	case cfg.CommKey < 0 || cfg.CommKey > 999999:
		return nil, fmt.Errorf("zkemu: comm key %d: want 0 to 999999", cfg.CommKey)
	}
	if _, err := zk.EncodeEvent(nil, zk.Record{UserID: "1", Time: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)}, cfg.EventSize); err != nil {
		return nil, fmt.Errorf("zkemu: %w", err)
	}
	c := &Clock{
		cfg:         cfg,
		log:         cfg.Logger,
		offset:      cfg.TimeOffset,
		sessions:    map[uint16]*session{},
		nextSession: uint16(0x45cf + cfg.Seed*7919),
		requests:    map[uint16]int{},
		options:     map[string]string{},
		conns:       map[*tcpConn]struct{}{},
		done:        make(chan struct{}),
	}
	for _, u := range cfg.Users {
		if _, err := zk.EncodeUser(nil, u, cfg.UserSize, cfg.Encoding); err != nil {
			return nil, fmt.Errorf("zkemu: user %q: %w", u.UserID, err)
		}
	}
	c.users = append([]zk.User(nil), cfg.Users...)
	extFmt := func(b bool) string {
		if b {
			return "1"
		}
		return "0"
	}
	for k, v := range map[string]string{
		"~SerialNumber": cfg.SerialNumber, "~Platform": cfg.Platform, "~DeviceName": cfg.DeviceName,
		"MAC": cfg.MAC, "~ZKFPVersion": "10", "ZKFaceVersion": "0", "~OS": "1", "DeviceID": "1",
		"NetMask": "255.255.255.0", "GATEIPAddress": "0.0.0.0",
		"~ExtendFmt": extFmt(cfg.RecordSize >= 40), "~UserExtFmt": extFmt(cfg.UserSize == 72),
		"FaceFunOn": "0", "CompatOldFirmware": "0",
	} {
		c.options[k] = v
	}
	if cfg.IP != "" {
		c.options["IPAddress"] = cfg.IP
	}
	for k, v := range cfg.Options {
		c.options[k] = v
	}
	return c, nil
}

// listened records the first address listened on as the IPAddress option, unless one is set.
func (c *Clock) listened(a net.Addr) {
	host, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.options["IPAddress"]; !ok {
		c.options["IPAddress"] = host
	}
}

// ListenTCP serves the protocol on a TCP address ("127.0.0.1:0" picks a port) and returns the
// address it listens on.
func (c *Clock) ListenTCP(addr string) (net.Addr, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("zkemu: %w", err)
	}
	if !c.track(ln) {
		return nil, net.ErrClosed
	}
	c.listened(ln.Addr())
	c.wg.Go(func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			tc := &tcpConn{c: c, conn: conn, rng: rand.New(rand.NewPCG(c.cfg.Seed, uint64(time.Now().UnixNano())))}
			c.mu.Lock()
			if c.closed {
				c.mu.Unlock()
				conn.Close()
				return
			}
			c.conns[tc] = struct{}{}
			c.mu.Unlock()
			c.wg.Go(tc.serve)
		}
	})
	return ln.Addr(), nil
}

// ListenUDP serves the protocol on a UDP address and returns the address it listens on.
func (c *Clock) ListenUDP(addr string) (net.Addr, error) {
	ua, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, fmt.Errorf("zkemu: %w", err)
	}
	conn, err := net.ListenUDP("udp", ua)
	if err != nil {
		return nil, fmt.Errorf("zkemu: %w", err)
	}
	if !c.track(conn) {
		return nil, net.ErrClosed
	}
	c.listened(conn.LocalAddr())
	c.wg.Go(func() {
		buf := make([]byte, 64<<10)
		for {
			n, from, err := conn.ReadFromUDP(buf)
			if err != nil {
				if errors.Is(err, net.ErrClosed) {
					return
				}
				continue
			}
			p, ok := c.parse(buf[:n])
			if !ok {
				continue
			}
			c.handle(&udpPeer{conn: conn, addr: from}, nil, p)
		}
	})
	return conn.LocalAddr(), nil
}

// parse decodes a request. Like the clients it serves, it takes the one-low checksum variant:
// pyzk sends one when its reply id wraps, and clients built from its code always do.
func (c *Clock) parse(b []byte) (zk.Packet, bool) {
	p, kind, err := zk.DecodePacket(b)
	if err != nil || kind == zk.ChecksumMismatch {
		c.log.Debug("zkemu bad packet ignored", "bytes", len(b), "err", err)
		return p, false
	}
	if kind == zk.ChecksumVariant {
		c.mu.Lock()
		c.variants++
		c.mu.Unlock()
	}
	return p, true
}

// ChecksumVariants counts the requests received with the one-low checksum.
func (c *Clock) ChecksumVariants() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.variants
}

func (c *Clock) track(cl io.Closer) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		cl.Close()
		return false
	}
	c.closers = append(c.closers, cl)
	return true
}

// Close stops listening, drops every connection and waits for every goroutine of the clock.
func (c *Clock) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	closers := c.closers
	for tc := range c.conns {
		closers = append(closers, tc.conn)
	}
	close(c.done)
	c.mu.Unlock()
	for _, cl := range closers {
		cl.Close()
	}
	c.wg.Wait()
	return nil
}

// realWall is the real local time as a wall-clock value.
func (c *Clock) realWall() time.Time {
	t := time.Now().In(c.cfg.Location)
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), 0, time.UTC)
}

// Now is the clock's wall clock: real local time plus its offset.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.realWall().Add(c.offset)
}

// SetTime sets the clock's wall clock, as SET_TIME does.
func (c *Clock) SetTime(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset = wall(t).Sub(c.realWall())
}

// Skew moves the clock's wall clock by d: a clock set wrong.
func (c *Clock) Skew(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
}

func wall(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), 0, time.UTC)
}

// AddUser adds a user to the table.
func (c *Clock) AddUser(u zk.User) error {
	if _, err := zk.EncodeUser(nil, u, c.cfg.UserSize, c.cfg.Encoding); err != nil {
		return fmt.Errorf("zkemu: user %q: %w", u.UserID, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.users = append(c.users, u)
	return nil
}

// AddPunch logs a punch at wall-clock time t and sends a realtime event to every subscribed
// session. The user id must fit the layout: a number for the 8- and 16-byte layouts (or a
// configured user's id for the 8-byte one), at most 24 bytes otherwise.
func (c *Clock) AddPunch(userID string, t time.Time, verify, state int) error {
	p, err := c.newPunch(Punch{UserID: userID, Time: t, Verify: verify, State: state})
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.punches = append(c.punches, p)
	var targets []peer
	for _, s := range c.sessions {
		if s.events&zk.EventAttendance != 0 && s.peer != nil {
			targets = append(targets, s.peer)
		}
	}
	c.mu.Unlock()
	for _, to := range targets {
		c.deliver(to, zk.CmdRegEvent, []zk.Packet{c.eventPacket(p)})
	}
	return nil
}

func (c *Clock) newPunch(p Punch) (Punch, error) {
	p.Time = wall(p.Time)
	if y := p.Time.Year(); y < 2000 || y > 2099 {
		return p, fmt.Errorf("zkemu: punch time %v outside 2000–2099", p.Time)
	}
	c.mu.Lock()
	p.uid = -1
	for _, u := range c.users {
		if u.UserID == p.UserID {
			p.uid = u.UID
		}
	}
	c.mu.Unlock()
	if p.uid < 0 {
		p.uid = 0
		if n, err := strconv.Atoi(p.UserID); err == nil && n >= 0 && n <= 0xFFFF {
			p.uid = n
		} else if c.cfg.RecordSize == 8 {
			return p, fmt.Errorf("zkemu: the 8-byte layout needs a numeric user id or a configured user, got %q", p.UserID)
		}
	}
	if _, err := zk.EncodeRecord(nil, c.record(p), c.cfg.RecordSize); err != nil {
		return p, fmt.Errorf("zkemu: %w", err)
	}
	return p, nil
}

func (c *Clock) record(p Punch) zk.Record {
	return zk.Record{UID: p.uid, UserID: p.UserID, Time: p.Time, Verify: p.Verify, State: p.State, WorkCode: p.WorkCode}
}

// LoadPunchesCSV adds the punches of a CSV file with a header row naming user_id and time
// ("YYYY-MM-DD HH:MM:SS", wall clock), and optionally verify and state (default 1 and 0). No
// events are sent for them. Every bad row is reported, as FILE:LINE problems.
func (c *Clock) LoadPunchesCSV(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return fmt.Errorf("zkemu: reading punches: %w", err)
	}
	tab, err := csvio.Parse("punches", data, "user_id", "time")
	if tab == nil {
		return err
	}
	var ps csvio.Problems
	if err != nil {
		ps = csvio.AsProblems(err)
	}
	var punches []Punch
	for _, row := range tab.Rows {
		t, err := csvio.ParseTime(row.Get("time"))
		if err != nil {
			ps = append(ps, tab.Problem(row.Line, "%v", err))
			continue
		}
		p := Punch{UserID: row.Get("user_id"), Time: t, Verify: 1}
		for _, f := range []struct {
			col string
			dst *int
		}{{"verify", &p.Verify}, {"state", &p.State}} {
			if v := row.Get(f.col); v != "" {
				n, err := strconv.Atoi(v)
				if err != nil || n < 0 || n > 255 {
					ps = append(ps, tab.Problem(row.Line, "%s %q: want a number from 0 to 255", f.col, v))
					continue
				}
				*f.dst = n
			}
		}
		if p, err = c.newPunch(p); err != nil {
			ps = append(ps, tab.Problem(row.Line, "%v", err))
			continue
		}
		punches = append(punches, p)
	}
	if len(ps) > 0 {
		return ps
	}
	c.mu.Lock()
	c.punches = append(c.punches, punches...)
	c.mu.Unlock()
	return nil
}

// Punches returns a copy of the attendance log.
func (c *Clock) Punches() []Punch {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Punch(nil), c.punches...)
}

// Records returns the attendance log as a zk client decodes it in the configured layout: the
// reference a test compares a client's read with.
func (c *Clock) Records() []zk.Record {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]zk.Record, len(c.punches))
	for i, p := range c.punches {
		r := c.record(p)
		switch c.cfg.RecordSize {
		case 8:
			r.UserID, r.WorkCode = strconv.Itoa(r.UID), 0
		case 16:
			n, _ := strconv.ParseUint(r.UserID, 10, 32)
			r.UserID, r.UID = strconv.FormatUint(n, 10), 0
		default:
			r.WorkCode = 0
		}
		out[i] = r
	}
	return out
}

// Requests counts the requests received with command cmd, retries included.
func (c *Clock) Requests(cmd uint16) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.requests[cmd]
}

// EventAcks counts the ACK_OKs clients sent for realtime events.
func (c *Clock) EventAcks() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.eventAcks
}

// Refused counts the CONNECTs refused because MaxSessions sessions were open.
func (c *Clock) Refused() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.refused
}

// Sessions counts the open sessions.
func (c *Clock) Sessions() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.sessions)
}

// Reboot forgets every session (later requests in them get ACK_UNAUTH), gives new sessions new
// ids, and drops every TCP connection, as a power cycle does.
func (c *Clock) Reboot() {
	c.mu.Lock()
	c.sessions = map[uint16]*session{}
	c.nextSession += 0x1000
	var conns []*tcpConn
	for tc := range c.conns {
		conns = append(conns, tc)
	}
	c.mu.Unlock()
	for _, tc := range conns {
		tc.reset()
	}
}

// FaultKind is a way the clock misbehaves.
type FaultKind int

const (
	// DropReply: the packet is not sent.
	DropReply FaultKind = iota + 1
	// DelayReply: the packet and the rest of its reply are sent Delay later.
	DelayReply
	// CorruptChecksum: the packet is sent with a wrong checksum.
	CorruptChecksum
	// ResetConnection: on TCP the connection is reset in place of the packet; on UDP the packet
	// and the rest of its reply are not sent.
	ResetConnection
	// InjectEvent: before the packet, Punch is logged and sent to the session as a realtime
	// event, whether or not it subscribed: the way an event lands in the middle of a bulk read.
	InjectEvent
	// OneLowChecksum: the packet is sent with zk.ChecksumOneLow.
	OneLowChecksum
)

// Fault is a misbehaviour armed by Inject. It hits the packets of replies that match Request and
// Reply, after letting Skip of them through, Count times.
type Fault struct {
	Kind    FaultKind
	Request uint16        // the command answered (zk.CmdReadBuffer, …); 0: any request
	Reply   uint16        // the packet's code (zk.CmdData, zk.AckOK, …); 0: any, except realtime events
	Skip    int           // matching packets let through first
	Count   int           // packets hit; 0 means 1
	Delay   time.Duration // DelayReply
	Punch   Punch         // InjectEvent
}

type fault struct {
	Fault
	left int
}

// Inject arms a fault.
func (c *Clock) Inject(f Fault) error {
	if f.Count == 0 {
		f.Count = 1
	}
	if f.Kind < DropReply || f.Kind > OneLowChecksum {
		return fmt.Errorf("zkemu: unknown fault kind %d", f.Kind)
	}
	if f.Kind == InjectEvent {
		p, err := c.newPunch(f.Punch)
		if err != nil {
			return err
		}
		f.Punch = p
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.faults = append(c.faults, &fault{Fault: f, left: f.Count})
	c.nfaults.Add(1)
	return nil
}

// FaultsArmed counts the injected faults that have not yet hit all their packets.
func (c *Clock) FaultsArmed() int { return int(c.nfaults.Load()) }

// hit returns the fault for the next packet of a reply to req with code code, if one is armed.
func (c *Clock) hit(req, code uint16) *Fault {
	if c.nfaults.Load() == 0 {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, f := range c.faults {
		if (f.Request != 0 && f.Request != req) || (f.Reply != code && (f.Reply != 0 || code == zk.CmdRegEvent)) {
			continue
		}
		if f.Skip > 0 {
			f.Skip--
			continue
		}
		if f.left--; f.left == 0 {
			c.faults = append(c.faults[:i:i], c.faults[i+1:]...)
			c.nfaults.Add(-1)
		}
		if f.Kind == InjectEvent {
			c.punches = append(c.punches, f.Punch)
		}
		out := f.Fault
		return &out
	}
	return nil
}

func (c *Clock) eventPacket(p Punch) zk.Packet {
	data, _ := zk.EncodeEvent(nil, c.record(p), c.cfg.EventSize)
	return zk.Packet{Command: zk.CmdRegEvent, Session: zk.EventAttendance, Data: data}
}

// deliver encodes the reply packets and sends them through the armed faults.
func (c *Clock) deliver(to peer, req uint16, pkts []zk.Packet) {
	size := 0
	for _, p := range pkts {
		size += zk.HeaderSize + len(p.Data)
	}
	buf := make([]byte, 0, size+64)
	out := make([][]byte, 0, len(pkts))
	const (
		sdk = iota
		oneLow
		corrupt
	)
	add := func(p zk.Packet, sum int) {
		start := len(buf)
		buf = zk.AppendPacket(buf, p)
		if c.cfg.ChecksumOneLow && sum == sdk {
			sum = oneLow
		}
		switch sum {
		case oneLow:
			binary.LittleEndian.PutUint16(buf[start+2:], zk.ChecksumOneLow(buf[start:]))
		case corrupt:
			buf[start+2] ^= 0x5A
		}
		out = append(out, buf[start:len(buf):len(buf)])
	}
	for i, p := range pkts {
		f := c.hit(req, p.Command)
		if f == nil {
			add(p, sdk)
			continue
		}
		c.log.Debug("zkemu fault", "kind", f.Kind, "request", zk.CommandName(req), "packet", zk.CommandName(p.Command))
		switch f.Kind {
		case DropReply:
		case CorruptChecksum:
			add(p, corrupt)
		case OneLowChecksum:
			add(p, oneLow)
		case InjectEvent:
			add(c.eventPacket(f.Punch), sdk)
			add(p, sdk)
		case ResetConnection:
			to.send(out)
			to.reset()
			return
		case DelayReply:
			to.send(out)
			rest := pkts[i:]
			c.wg.Go(func() {
				t := time.NewTimer(f.Delay)
				defer t.Stop()
				select {
				case <-t.C:
					c.deliver(to, req, rest)
				case <-c.done:
				}
			})
			return
		}
	}
	to.send(out)
}

// handle answers one request. tc is the TCP connection it came on (nil for UDP): a TCP session
// belongs to its connection.
func (c *Clock) handle(from peer, tc *tcpConn, p zk.Packet) (exit bool) {
	c.mu.Lock()
	c.requests[p.Command]++
	if p.Command == zk.AckOK {
		// A client acknowledging a realtime event; nothing to answer.
		c.eventAcks++
		c.mu.Unlock()
		return false
	}
	reply := func(code uint16, sess uint16, data []byte) []zk.Packet {
		return []zk.Packet{{Command: code, Session: sess, ReplyID: p.ReplyID, Data: data}}
	}
	var out []zk.Packet
	var s *session
	if p.Command == zk.CmdConnect && c.cfg.MaxSessions > 0 && len(c.sessions) >= c.cfg.MaxSessions {
		c.refused++
		out = reply(zk.AckError, 0, nil)
	} else if p.Command == zk.CmdConnect {
		c.nextSession++
		if c.nextSession == 0 {
			c.nextSession++
		}
		s = &session{id: c.nextSession, authed: c.cfg.CommKey == 0, peer: from}
		c.sessions[s.id] = s
		if tc != nil {
			tc.sess = s.id
		}
		code := zk.AckOK
		if !s.authed {
			code = zk.AckUnauth
		}
		out = reply(code, s.id, nil)
	} else if s = c.sessions[p.Session]; s == nil || (tc != nil && tc.sess != s.id) {
		out = reply(zk.AckUnauth, p.Session, nil)
	} else {
		s.peer = from // a UDP client may move; events follow it
		if p.Command == zk.CmdAuth {
			key := zk.CommKey(c.cfg.CommKey, s.id)
			if len(p.Data) >= 4 && bytes.Equal(p.Data[:4], key[:]) {
				s.authed = true
				out = reply(zk.AckOK, s.id, nil)
			} else {
				out = reply(zk.AckUnauth, s.id, nil)
			}
		} else if !s.authed {
			out = reply(zk.AckUnauth, s.id, nil)
		} else {
			out, exit = c.command(s, p)
		}
	}
	c.mu.Unlock()
	c.deliver(from, p.Command, out)
	return exit
}

// command answers an authenticated request; c.mu is held.
func (c *Clock) command(s *session, p zk.Packet) ([]zk.Packet, bool) {
	le := binary.LittleEndian
	one := func(code uint16, data []byte) []zk.Packet {
		return []zk.Packet{{Command: code, Session: s.id, ReplyID: p.ReplyID, Data: data}}
	}
	switch p.Command {
	case zk.CmdExit:
		delete(c.sessions, s.id)
		return one(zk.AckOK, nil), true
	case zk.CmdEnableDevice, zk.CmdDisableDevice, zk.CmdRefreshData, zk.CmdStartVerify, zk.CmdCancelCapture,
		zk.CmdUnlock, zk.CmdWriteLCD, zk.CmdClearLCD:
		// The clock's screen, door and sensor modes: nothing the emulator shows.
		return one(zk.AckOK, nil), false
	case zk.CmdGetPinWidth:
		return one(zk.AckOK, []byte{byte(c.cfg.PinWidth)}), false
	case zk.CmdOptionsWRQ:
		k, v, ok := strings.Cut(string(bytes.TrimRight(p.Data, "\x00")), "=")
		if !ok || k == "" {
			return one(zk.AckError, nil), false
		}
		c.options[k] = v
		return one(zk.AckOK, nil), false
	case zk.CmdUserWRQ:
		us, err := zk.DecodeUsers(nil, p.Data, len(p.Data), c.cfg.Encoding)
		if err != nil || len(us) != 1 {
			return one(zk.AckError, nil), false
		}
		if _, err := zk.EncodeUser(nil, us[0], c.cfg.UserSize, c.cfg.Encoding); err != nil {
			return one(zk.AckError, nil), false
		}
		c.setUser(us[0])
		return one(zk.AckOK, nil), false
	case zk.CmdDeleteUser:
		if len(p.Data) < 2 {
			return one(zk.AckError, nil), false
		}
		uid := int(le.Uint16(p.Data))
		c.users = slices.DeleteFunc(c.users, func(u zk.User) bool { return u.UID == uid })
		return one(zk.AckOK, nil), false
	case zk.CmdClearData:
		c.users, c.punches = nil, nil
		return one(zk.AckOK, nil), false
	case zk.CmdGetVersion:
		return one(zk.AckOK, append([]byte(c.cfg.Firmware), 0)), false
	case zk.CmdOptionsRRQ:
		name := string(bytes.TrimRight(p.Data, "\x00"))
		v, ok := c.options[name]
		if !ok {
			if c.cfg.AbsentEmpty {
				return one(zk.AckOK, nil), false
			}
			return one(zk.AckError, nil), false
		}
		return one(zk.AckOK, []byte(name+"="+v+"\x00")), false
	case zk.CmdGetFreeSizes:
		// 20 counts, then the face counts (faces, -, face capacity) newer firmware appends.
		b := make([]byte, 92)
		put := func(i, v int) { le.PutUint32(b[4*i:], uint32(v)) }
		put(4, len(c.users))
		put(8, max(0, len(c.punches)+c.cfg.RecordCountOffset))
		put(14, c.cfg.FingerCapacity)
		put(15, c.cfg.UserCapacity)
		put(16, c.cfg.RecordCapacity)
		put(17, c.cfg.FingerCapacity)
		put(18, c.cfg.UserCapacity-len(c.users))
		put(19, c.cfg.RecordCapacity-len(c.punches))
		return one(zk.AckOK, b), false
	case zk.CmdGetTime:
		return one(zk.AckOK, le.AppendUint32(nil, zk.EncodeTime(c.realWall().Add(c.offset)))), false
	case zk.CmdSetTime:
		if len(p.Data) < 4 {
			return one(zk.AckError, nil), false
		}
		c.offset = zk.DecodeTime(le.Uint32(p.Data)).Sub(c.realWall())
		return one(zk.AckOK, nil), false
	case zk.CmdRegEvent:
		if len(p.Data) < 4 {
			return one(zk.AckError, nil), false
		}
		s.events = le.Uint32(p.Data)
		return one(zk.AckOK, nil), false
	case zk.CmdClearAttLog:
		c.punches = nil
		return one(zk.AckOK, nil), false
	case zk.CmdPrepareBuffer:
		if len(p.Data) < 11 {
			return one(zk.AckError, nil), false
		}
		set, ok := c.set(le.Uint16(p.Data[1:]))
		if !ok {
			return one(zk.AckError, nil), false
		}
		if len(set) <= c.cfg.InlineMax {
			return one(zk.CmdData, set), false
		}
		s.buf = set
		b := []byte{0}
		b = le.AppendUint32(b, uint32(len(set)))
		b = le.AppendUint32(b, uint32(len(set)))
		b = le.AppendUint32(b, 0)
		return one(zk.AckOK, b), false
	case zk.CmdReadBuffer:
		if len(p.Data) < 8 || s.buf == nil {
			return one(zk.AckError, nil), false
		}
		start, size := int(le.Uint32(p.Data)), int(le.Uint32(p.Data[4:]))
		if start < 0 || start >= len(s.buf) || size <= 0 {
			return one(zk.AckError, nil), false
		}
		if c.cfg.MaxChunk > 0 {
			size = min(size, c.cfg.MaxChunk)
		}
		chunk := s.buf[start:min(len(s.buf), start+size)]
		per, announced := c.cfg.DataSize, c.cfg.DataSize
		if _, udp := s.peer.(*udpPeer); udp {
			per = min(cmp.Or(per, udpData), udpData)
			announced = per
		} else if per == 0 {
			per, announced = len(chunk), recordedPacket
		}
		// PREPARE_DATA: the chunk's size, then the size of one DATA packet.
		out := one(zk.CmdPrepareData, le.AppendUint32(le.AppendUint32(nil, uint32(len(chunk))), uint32(announced)))
		for off := 0; off < len(chunk); off += per {
			out = append(out, one(zk.CmdData, chunk[off:min(len(chunk), off+per)])...)
		}
		return append(out, one(zk.AckOK, nil)...), false
	case zk.CmdFreeData:
		s.buf = nil
		return one(zk.AckOK, nil), false
	}
	return one(zk.AckUnknown, nil), false
}

// udpData is the most data one UDP DATA packet carries: clients read 1024+8 bytes a datagram.
const udpData = 1024

// recordedPacket is the DATA size recorded clocks announce in PREPARE_DATA on TCP.
const recordedPacket = 1008

// setUser adds u, or replaces the user of the same UID. c.mu is held.
func (c *Clock) setUser(u zk.User) {
	for i := range c.users {
		if c.users[i].UID == u.UID {
			c.users[i] = u
			return
		}
	}
	c.users = append(c.users, u)
}

// set builds a bulk set: LE u32 length, then the records. c.mu is held.
func (c *Clock) set(table uint16) ([]byte, bool) {
	var b []byte
	switch table {
	case zk.CmdAttLogRRQ:
		b = make([]byte, 4, 4+len(c.punches)*c.cfg.RecordSize)
		for _, p := range c.punches {
			b, _ = zk.EncodeRecord(b, c.record(p), c.cfg.RecordSize)
		}
	case zk.CmdUserTempRRQ:
		b = make([]byte, 4, 4+len(c.users)*c.cfg.UserSize)
		for _, u := range c.users {
			b, _ = zk.EncodeUser(b, u, c.cfg.UserSize, c.cfg.Encoding)
		}
	default:
		return nil, false
	}
	binary.LittleEndian.PutUint32(b, uint32(len(b)-4))
	return b, true
}

type tcpConn struct {
	c    *Clock
	conn net.Conn
	sess uint16 // touched by serve and under c.mu

	wmu sync.Mutex
	rng *rand.Rand
}

func (t *tcpConn) serve() {
	defer func() {
		t.conn.Close()
		t.c.mu.Lock()
		delete(t.c.conns, t)
		if s := t.c.sessions[t.sess]; s != nil && s.peer == t {
			delete(t.c.sessions, t.sess)
		}
		t.c.mu.Unlock()
	}()
	fr := zk.NewFrameReader(t.conn)
	for {
		raw, err := fr.Next()
		if err != nil {
			return
		}
		p, ok := t.c.parse(raw)
		if !ok {
			continue
		}
		if t.c.handle(t, t, p) {
			return
		}
	}
}

func (t *tcpConn) send(pkts [][]byte) {
	if len(pkts) == 0 {
		return
	}
	n := 0
	for _, p := range pkts {
		n += zk.FramePrefixSize + len(p)
	}
	buf := make([]byte, 0, n)
	for _, p := range pkts {
		buf = append(buf, 0x50, 0x50, 0x82, 0x7D)
		buf = binary.LittleEndian.AppendUint32(buf, uint32(len(p)))
		buf = append(buf, p...)
	}
	t.wmu.Lock()
	defer t.wmu.Unlock()
	if !t.c.cfg.SplitWrites {
		t.conn.Write(buf)
		return
	}
	for len(buf) > 0 {
		k := min(len(buf), 1+t.rng.IntN(t.c.cfg.MaxPiece))
		if _, err := t.conn.Write(buf[:k]); err != nil {
			return
		}
		buf = buf[k:]
	}
}

// reset closes with an RST, not a FIN, as a clock that loses power or crashes does.
func (t *tcpConn) reset() {
	if tc, ok := t.conn.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	t.conn.Close()
}

type udpPeer struct {
	conn *net.UDPConn
	addr *net.UDPAddr
}

func (u *udpPeer) send(pkts [][]byte) {
	for _, p := range pkts {
		if _, err := u.conn.WriteToUDP(p, u.addr); err != nil {
			return
		}
	}
}

func (u *udpPeer) reset() {}

// Package pushemu emulates a ZKTeco PUSH (ADMS) clock: it handshakes with the server, sets its own
// clock from the reply's Date header and TimeZone, uploads its attendance log in batches with
// stamps (realtime and on its transfer interval), retries a failed upload three times and then
// goes offline and sends the same records again later, polls for commands and runs them (INFO,
// CHECK, LOG, REBOOT, CLEAR LOG, DATA QUERY ATTLOG). It is used by the tests, the load benchmark,
// the demo and `kaoqin sim zk-push`.
//
// It sends what the firmware kaoqin has met sends: ATTLOG lines of five, seven or ten fields,
// OPERLOG records of enrolments with their own stamp, the .aspx paths of older firmware, and, as
// an access-control clock, the PUSH 3.x session (registry, push, rtdata time) with its events
// uploaded as table=rtlog.
package pushemu

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/kaoqin/kaoqin/devices/zk"
	"github.com/kaoqin/kaoqin/devices/zkpush"
	"github.com/kaoqin/kaoqin/internal/csvio"
)

// ErrOffline is returned when an upload failed four times (the first try and three retries): the
// clock keeps its stamp and sends the records again after its next handshake.
var ErrOffline = errors.New("pushemu: upload not acknowledged; the clock is offline")

// Config configures a Clock.
type Config struct {
	Server  string // base URL, e.g. http://127.0.0.1:8081
	SN      string
	CommKey string // sent as pushcommkey on the handshake, "" for none
	Client  *http.Client
	// BatchSize is the most records per upload (default 100).
	BatchSize int
	// RetryDelays are the waits before each retry of a failed upload (default 300, 600, 900 ms).
	RetryDelays []time.Duration
	// Now is the clock's crystal, default time.Now; ClockError is how far its displayed time is off
	// the true local time of Location before the first handshake sets it.
	Now        func() time.Time
	Location   *time.Location
	ClockError time.Duration
	// ATTLOGFields is the number of fields of an ATTLOG line: zkpush.ShortATTLOG (5, older
	// firmware), zkpush.CurrentATTLOG (7, the default) or zkpush.LongATTLOG (10, face firmware).
	ATTLOGFields int
	// ASPX makes the clock call the paths of older firmware: /iclock/cdata.aspx and so on.
	ASPX bool
	// AccessControl makes it an access-control clock speaking PUSH 3.x: after the handshake it
	// registers (/iclock/registry), fetches its settings (/iclock/push) and takes its time from
	// /iclock/rtdata, and it uploads its punches as rtlog events.
	AccessControl bool
	// MultiLineResults writes command results with each field on its own line, as some firmware
	// does (ID=…, SN=…, Return=…, CMD=…).
	MultiLineResults bool
}

// Clock is one emulated PUSH clock. Its methods are safe for concurrent use.
type Clock struct {
	cfg Config

	mu        sync.Mutex
	offset    time.Duration // displayed wall clock = Now().UTC() + offset
	log       []zkpush.Record
	sent      int // log[:sent] acknowledged
	oplog     []opRecord
	opSent    int // oplog[:opSent] acknowledged
	registry  string
	opts      zkpush.Options
	online    bool
	timeSets  int
	done      []zkpush.Result
	reboots   int
	uploads   int
	wake      chan struct{}
	uploading sync.Mutex
}

// New creates a clock.
func New(cfg Config) *Clock {
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 30 * time.Second}
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 100
	}
	if cfg.RetryDelays == nil {
		cfg.RetryDelays = []time.Duration{300 * time.Millisecond, 600 * time.Millisecond, 900 * time.Millisecond}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Location == nil {
		cfg.Location = time.Local
	}
	if cfg.ATTLOGFields == 0 {
		cfg.ATTLOGFields = zkpush.CurrentATTLOG
	}
	_, off := cfg.Now().In(cfg.Location).Zone()
	c := &Clock{cfg: cfg, offset: time.Duration(off)*time.Second + cfg.ClockError, wake: make(chan struct{}, 1)}
	c.opts = zkpush.Options{Delay: 5, TransInterval: 1, ErrorDelay: 30}
	return c
}

// Time is the wall-clock time the clock displays.
func (c *Clock) Time() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.wallLocked()
}

func (c *Clock) wallLocked() time.Time {
	return c.cfg.Now().UTC().Add(c.offset).Truncate(time.Second)
}

// Punch records a punch now, at the clock's displayed time, and wakes the realtime upload.
func (c *Clock) Punch(userID string, status, verify int) zkpush.Record {
	c.mu.Lock()
	r := zkpush.Record{UserID: userID, Time: c.wallLocked(), Status: status, Verify: verify}
	c.log = append(c.log, r)
	c.mu.Unlock()
	c.Wake()
	return r
}

// Add appends records to the log as they are (wall-clock times), without waking the upload.
func (c *Clock) Add(recs ...zkpush.Record) {
	c.mu.Lock()
	c.log = append(c.log, recs...)
	c.mu.Unlock()
}

// opRecord is one OPERLOG line and the time its stamp is taken from.
type opRecord struct {
	at   time.Time
	line string
}

// Enroll records the enrolment of a user at the clock's displayed time, as the firmware logs it
// in OPERLOG: the operation line and the user's record. They are uploaded with the next upload.
func (c *Clock) Enroll(userID, name string) {
	c.mu.Lock()
	at := c.wallLocked()
	c.oplog = append(c.oplog,
		opRecord{at, fmt.Sprintf("OPLOG 6\t0\t%s\t%s\t0\t0\t0", at.Format(zkpush.TimeLayout), userID)},
		opRecord{at, fmt.Sprintf("USER PIN=%s\tName=%s\tPri=0\tPasswd=\tCard=\tGrp=1\tTZ=0000000100000000\tVerify=0", userID, name)})
	c.mu.Unlock()
}

// PendingOperations is the number of OPERLOG records not yet acknowledged.
func (c *Clock) PendingOperations() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.oplog) - c.opSent
}

// RegistryCode is the code the server gave at registration ("" before; PUSH 3.x only).
func (c *Clock) RegistryCode() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.registry
}

// LoadPunchesCSV adds the punches of a CSV file with a header naming user_id and time
// ("YYYY-MM-DD HH:MM:SS"), and optionally verify and state; bad rows are FILE:LINE problems.
func (c *Clock) LoadPunchesCSV(name string, data []byte) error {
	tab, err := csvio.Parse(name, data, "user_id", "time")
	if tab == nil {
		return err
	}
	var ps csvio.Problems
	if err != nil {
		ps = csvio.AsProblems(err)
	}
	var recs []zkpush.Record
	for _, row := range tab.Rows {
		t, err := csvio.ParseTime(row.Get("time"))
		if err != nil {
			ps = append(ps, tab.Problem(row.Line, "%v", err))
			continue
		}
		r := zkpush.Record{UserID: row.Get("user_id"), Time: t, Verify: 1}
		for _, f := range []struct {
			col string
			dst *int
		}{{"verify", &r.Verify}, {"state", &r.Status}} {
			if v := row.Get(f.col); v != "" {
				n, err := strconv.Atoi(v)
				if err != nil || n < 0 || n > 255 {
					ps = append(ps, tab.Problem(row.Line, "%s %q: want a number from 0 to 255", f.col, v))
					continue
				}
				*f.dst = n
			}
		}
		recs = append(recs, r)
	}
	if len(ps) > 0 {
		return ps
	}
	c.Add(recs...)
	return nil
}

// Wake asks the running clock to upload now (a realtime upload).
func (c *Clock) Wake() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// Pending is the number of records not yet acknowledged.
func (c *Clock) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.log) - c.sent
}

// Stamp is the packed time of the last acknowledged record (0 before any).
func (c *Clock) Stamp() uint32 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stampLocked()
}

func (c *Clock) stampLocked() uint32 {
	if c.sent == 0 {
		return 0
	}
	return zk.EncodeTime(c.log[c.sent-1].Time)
}

// Options are the options of the last handshake.
func (c *Clock) Options() zkpush.Options {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.opts
}

// Online tells whether the last handshake succeeded and no upload failed since.
func (c *Clock) Online() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.online
}

// TimeSets counts the times the clock set its time from a handshake.
func (c *Clock) TimeSets() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.timeSets
}

// Results are the results of the commands run so far.
func (c *Clock) Results() []zkpush.Result {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]zkpush.Result(nil), c.done...)
}

// Uploads counts the upload requests sent, retries included.
func (c *Clock) Uploads() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.uploads
}

func (c *Clock) url(path string, q url.Values) string {
	q.Set("SN", c.cfg.SN)
	if c.cfg.ASPX {
		path += ".aspx"
	}
	return strings.TrimRight(c.cfg.Server, "/") + path + "?" + q.Encode()
}

// do sends one request and returns the status and body.
func (c *Clock) do(ctx context.Context, method, u string, body []byte) (*http.Response, []byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "text/plain")
	}
	resp, err := c.cfg.Client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp, b, err
}

// Handshake asks the server for its options, takes ATTLOGStamp and OPERLOGStamp (records newer
// than them are sent again) and sets the clock from the Date header and TimeZone when they differ
// from it by more than 10 s, as the firmware does. An access-control clock then registers,
// fetches its settings and sets its time from rtdata instead.
func (c *Clock) Handshake(ctx context.Context) error {
	pushver := "2.4.1"
	if c.cfg.AccessControl {
		pushver = "3.1.2"
	}
	q := url.Values{"options": {"all"}, "pushver": {pushver}, "language": {"83"}}
	if c.cfg.CommKey != "" {
		q.Set("pushcommkey", c.cfg.CommKey)
	}
	resp, body, err := c.do(ctx, http.MethodGet, c.url(zkpush.PathCData, q), nil)
	if err != nil {
		return fmt.Errorf("pushemu: handshake: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		if _, err := zkpush.ParseOptions(body); errors.Is(err, zkpush.ErrRefused) {
			return err
		}
		return fmt.Errorf("pushemu: handshake: %s: %.60q", resp.Status, body)
	}
	o, err := zkpush.ParseOptions(body)
	if err != nil {
		return err
	}
	if c.cfg.AccessControl {
		if o, err = c.register(ctx); err != nil {
			return err
		}
		if err := c.syncTime(ctx); err != nil {
			return err
		}
	}
	date, err := http.ParseTime(resp.Header.Get("Date"))
	c.mu.Lock()
	defer c.mu.Unlock()
	if err == nil && !c.cfg.AccessControl {
		c.setLocked(zkpush.ClockTime(date, o.TimeZone))
	}
	c.opts = o
	c.online = true
	// Everything newer than the server's stamps is sent again.
	c.sent = len(c.log)
	for i, r := range c.log {
		if zk.EncodeTime(r.Time) > o.ATTLOGStamp {
			c.sent = i
			break
		}
	}
	c.opSent = len(c.oplog)
	for i, r := range c.oplog {
		if zk.EncodeTime(r.at) > o.OPERLOGStamp {
			c.opSent = i
			break
		}
	}
	return nil
}

// setLocked sets the displayed time to want when it is more than 10 s off (c.mu held).
func (c *Clock) setLocked(want time.Time) {
	if d := want.Sub(c.wallLocked()); d > 10*time.Second || d < -10*time.Second {
		c.offset = want.Sub(c.cfg.Now().UTC())
		c.timeSets++
	}
}

// register is the PUSH 3.x session start: the clock posts its capabilities to /iclock/registry,
// keeps the RegistryCode it is given, and fetches its settings from /iclock/push.
func (c *Clock) register(ctx context.Context) (zkpush.Options, error) {
	caps := fmt.Sprintf("DeviceType=acc,~DeviceName=pushemu,FirmVer=pushemu-3.1.2,PushVersion=3.1.2,StringPinFunOn=1,LockCount=1,~SerialNumber=%s", c.cfg.SN)
	resp, body, err := c.do(ctx, http.MethodPost, c.url(zkpush.PathRegistry, url.Values{}), []byte(caps))
	if err != nil {
		return zkpush.Options{}, fmt.Errorf("pushemu: registry: %w", err)
	}
	reg, err := zkpush.ParseOptions(body)
	if resp.StatusCode != http.StatusOK || err != nil || reg.RegistryCode == "" {
		return zkpush.Options{}, fmt.Errorf("pushemu: registry: %s %.60q", resp.Status, body)
	}
	resp, body, err = c.do(ctx, http.MethodPost, c.url(zkpush.PathPush, url.Values{}), []byte{})
	if err != nil {
		return zkpush.Options{}, fmt.Errorf("pushemu: push: %w", err)
	}
	o, err := zkpush.ParseOptions(body)
	if resp.StatusCode != http.StatusOK || err != nil {
		return zkpush.Options{}, fmt.Errorf("pushemu: push: %s %.60q (%v)", resp.Status, body, err)
	}
	c.mu.Lock()
	c.registry = reg.RegistryCode
	c.mu.Unlock()
	return o, nil
}

// syncTime sets the clock from /iclock/rtdata?type=time: the instant in UTC shifted by ServerTZ.
func (c *Clock) syncTime(ctx context.Context) error {
	resp, body, err := c.do(ctx, http.MethodGet, c.url(zkpush.PathRTData, url.Values{"type": {"time"}}), nil)
	if err != nil {
		return fmt.Errorf("pushemu: rtdata: %w", err)
	}
	at, off, err := zkpush.ParseRTTime(body)
	if resp.StatusCode != http.StatusOK || err != nil {
		return fmt.Errorf("pushemu: rtdata: %s %.60q (%v)", resp.Status, body, err)
	}
	c.mu.Lock()
	c.setLocked(at.Add(time.Duration(off) * time.Second))
	c.mu.Unlock()
	return nil
}

// Upload sends every record not yet acknowledged, in batches, then the OPERLOG records; a batch
// is acknowledged only by a 200 whose body contains OK. A batch that fails is retried three
// times, then the clock goes offline (ErrOffline) and keeps its stamp. It returns the number of
// punches acknowledged.
func (c *Clock) Upload(ctx context.Context) (int, error) {
	c.uploading.Lock()
	defer c.uploading.Unlock()
	n := 0
	for {
		c.mu.Lock()
		from := c.sent
		to := min(len(c.log), from+c.cfg.BatchSize)
		batch := append([]zkpush.Record(nil), c.log[from:to]...)
		c.mu.Unlock()
		if len(batch) == 0 {
			break
		}
		if err := c.sendPunches(ctx, batch, from); err != nil {
			return n, err
		}
		c.mu.Lock()
		if c.sent == from { // a handshake meanwhile may have moved it back
			c.sent = to
		}
		c.mu.Unlock()
		n += len(batch)
	}
	for {
		c.mu.Lock()
		from := c.opSent
		to := min(len(c.oplog), from+c.cfg.BatchSize)
		batch := append([]opRecord(nil), c.oplog[from:to]...)
		c.mu.Unlock()
		if len(batch) == 0 {
			return n, nil
		}
		var body []byte
		for _, r := range batch {
			body = append(append(body, r.line...), '\n')
		}
		if err := c.send(ctx, "OPERLOG", zk.EncodeTime(batch[len(batch)-1].at), body); err != nil {
			return n, err
		}
		c.mu.Lock()
		if c.opSent == from {
			c.opSent = to
		}
		c.mu.Unlock()
	}
}

// sendPunches posts punches as the clock's firmware writes them: ATTLOG lines of its field count,
// or rtlog events for an access-control clock. from is the index of the first in the log.
func (c *Clock) sendPunches(ctx context.Context, recs []zkpush.Record, from int) error {
	stamp := zk.EncodeTime(recs[len(recs)-1].Time)
	if c.cfg.AccessControl {
		return c.send(ctx, "rtlog", stamp, zkpush.AppendRTLog(nil, recs, from+1))
	}
	return c.send(ctx, "ATTLOG", stamp, zkpush.AppendATTLOGFields(nil, recs, c.cfg.ATTLOGFields))
}

// send posts one batch with the retries of the firmware. stamp is the stamp of the newest record
// in it (OpStamp= for OPERLOG, as the firmware names it).
func (c *Clock) send(ctx context.Context, table string, stamp uint32, body []byte) error {
	key := "Stamp"
	if table == "OPERLOG" {
		key = "OpStamp"
	}
	q := url.Values{"table": {table}, key: {strconv.FormatUint(uint64(stamp), 10)}}
	u := c.url(zkpush.PathCData, q)
	var last string
	for try := 0; try <= len(c.cfg.RetryDelays); try++ {
		if try > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(c.cfg.RetryDelays[try-1]):
			}
		}
		c.mu.Lock()
		c.uploads++
		c.mu.Unlock()
		resp, reply, err := c.do(ctx, http.MethodPost, u, body)
		if err == nil && resp.StatusCode == http.StatusOK && bytes.Contains(reply, []byte("OK")) {
			return nil
		}
		if err != nil {
			last = err.Error()
		} else {
			last = fmt.Sprintf("%s %.60q", resp.Status, reply)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	c.mu.Lock()
	c.online = false
	c.mu.Unlock()
	return fmt.Errorf("%w (%s)", ErrOffline, last)
}

// Poll asks for commands, runs them and posts their results; it returns the commands run.
func (c *Clock) Poll(ctx context.Context) ([]zkpush.Command, error) {
	resp, body, err := c.do(ctx, http.MethodGet, c.url(zkpush.PathGetRequest, url.Values{}), nil)
	if err != nil {
		return nil, fmt.Errorf("pushemu: poll: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("pushemu: poll: %s", resp.Status)
	}
	cmds := zkpush.ParseCommands(body)
	if len(cmds) == 0 {
		return nil, nil
	}
	var out []byte
	var results []zkpush.Result
	for _, cmd := range cmds {
		r := c.run(ctx, cmd)
		results = append(results, r)
		if c.cfg.MultiLineResults {
			out = zkpush.AppendResultLines(out, c.cfg.SN, r)
		} else {
			out = zkpush.AppendResult(out, r)
		}
	}
	resp, body, err = c.do(ctx, http.MethodPost, c.url(zkpush.PathDeviceCmd, url.Values{}), out)
	if err != nil {
		return cmds, fmt.Errorf("pushemu: results: %w", err)
	}
	if resp.StatusCode != http.StatusOK || !bytes.Contains(body, []byte("OK")) {
		return cmds, fmt.Errorf("pushemu: results: %s %.60q", resp.Status, body)
	}
	c.mu.Lock()
	c.done = append(c.done, results...)
	c.mu.Unlock()
	return cmds, nil
}

// run executes one command as the firmware would.
func (c *Clock) run(ctx context.Context, cmd zkpush.Command) zkpush.Result {
	r := zkpush.Result{ID: cmd.ID, Cmd: strings.Fields(cmd.Cmd + " ?")[0]}
	switch {
	case cmd.Cmd == "INFO":
		c.mu.Lock()
		r.Data = fmt.Sprintf("~DeviceName=pushemu\nSerialNumber=%s\nTransactionCount=%d\nFWVersion=Ver 8.0.4.2\nDateTime=%s\n",
			c.cfg.SN, len(c.log), c.wallLocked().Format(zkpush.TimeLayout))
		c.mu.Unlock()
	case cmd.Cmd == "CHECK":
		go c.Wake()
	case cmd.Cmd == "LOG":
		go c.Wake()
	case cmd.Cmd == "REBOOT":
		c.mu.Lock()
		c.reboots++
		c.online = false
		c.mu.Unlock()
	case cmd.Cmd == "CLEAR LOG":
		c.mu.Lock()
		c.log, c.sent = nil, 0
		c.mu.Unlock()
	case strings.HasPrefix(cmd.Cmd, "DATA QUERY ATTLOG"):
		from, to, ok := zkpush.ParseQueryATTLOG(cmd.Cmd)
		if !ok {
			r.Return = -1002
			break
		}
		c.mu.Lock()
		var recs []zkpush.Record
		for _, rec := range c.log {
			if !rec.Time.Before(from) && !rec.Time.After(to) {
				recs = append(recs, rec)
			}
		}
		c.mu.Unlock()
		if c.cfg.AccessControl {
			// PUSH 3.x firmware answers a query on /iclock/querydata, in packets.
			if err := c.answerQuery(ctx, cmd.ID, recs); err != nil {
				r.Return = -1
				return r
			}
			r.Return = len(recs)
			break
		}
		for i := 0; i < len(recs); i += c.cfg.BatchSize {
			if err := c.sendPunches(ctx, recs[i:min(len(recs), i+c.cfg.BatchSize)], i); err != nil {
				r.Return = -1
				return r
			}
		}
		r.Return = len(recs)
	default:
		r.Return = -1
	}
	return r
}

// answerQuery posts the records a DATA QUERY asked for to /iclock/querydata as PUSH 3.x firmware
// does: tablename=transaction, one packet per batch, key=value lines with packed times.
func (c *Clock) answerQuery(ctx context.Context, cmdID int64, recs []zkpush.Record) error {
	packets := max(1, (len(recs)+c.cfg.BatchSize-1)/c.cfg.BatchSize)
	for p := 0; p < packets; p++ {
		part := recs[p*c.cfg.BatchSize : min(len(recs), (p+1)*c.cfg.BatchSize)]
		var body []byte
		for _, r := range part {
			body = fmt.Appendf(body, "transaction cardno=0\tpin=%s\tverified=%d\tdoorid=1\teventtype=0\tinoutstate=%d\ttime_second=%d\n",
				r.UserID, r.Verify, r.Status, zk.EncodeTime(r.Time))
		}
		q := url.Values{"type": {"tabledata"}, "cmdid": {strconv.FormatInt(cmdID, 10)}, "tablename": {"transaction"},
			"count": {strconv.Itoa(len(part))}, "packcnt": {strconv.Itoa(packets)}, "packidx": {strconv.Itoa(p + 1)}}
		resp, reply, err := c.do(ctx, http.MethodPost, c.url(zkpush.PathQueryData, q), body)
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK || !bytes.HasPrefix(reply, []byte("transaction=")) {
			return fmt.Errorf("pushemu: querydata: %s %.60q", resp.Status, reply)
		}
	}
	return nil
}

// Run works as the firmware does until ctx ends: handshake (again after ErrorDelay while it
// fails), then poll every Delay and upload on every punch and every TransInterval; after an
// upload fails it goes offline, waits ErrorDelay and handshakes again. errs, if not nil, receives
// each failure (dropped when full).
func (c *Clock) Run(ctx context.Context, errs chan<- error) {
	report := func(err error) {
		if errs != nil && err != nil && ctx.Err() == nil {
			select {
			case errs <- err:
			default:
			}
		}
	}
	wait := func(d time.Duration) bool {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
			return true
		}
	}
	for ctx.Err() == nil {
		if err := c.Handshake(ctx); err != nil {
			report(err)
			if !wait(c.errorDelay()) {
				return
			}
			continue
		}
		o := c.Options()
		poll := time.NewTicker(max(time.Second, time.Duration(o.Delay)*time.Second))
		trans := time.NewTicker(max(time.Second, time.Duration(o.TransInterval)*time.Minute))
		c.Wake()
		for c.Online() && ctx.Err() == nil {
			select {
			case <-ctx.Done():
			case <-c.wake:
				if _, err := c.Upload(ctx); err != nil {
					report(err)
				}
			case <-trans.C:
				if _, err := c.Upload(ctx); err != nil {
					report(err)
				}
			case <-poll.C:
				if _, err := c.Poll(ctx); err != nil {
					report(err)
				}
			}
		}
		poll.Stop()
		trans.Stop()
		if ctx.Err() == nil && !wait(c.errorDelay()) {
			return
		}
	}
}

func (c *Clock) errorDelay() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.opts.ErrorDelay > 0 {
		return time.Duration(c.opts.ErrorDelay) * time.Second
	}
	return 30 * time.Second
}

package anviz

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Link faults. After any of them the bus drains the line before its next request.
var (
	ErrNoReply     = errors.New("anviz: no reply")
	ErrWrongDevice = errors.New("anviz: reply from the wrong device")
	ErrUnexpected  = errors.New("anviz: reply to another command")
	ErrClosed      = errors.New("anviz: bus closed")
	ErrNoQuiet     = errors.New("anviz: line does not go quiet")

	// ErrClearUnconfirmed means the records were stored but the clock's answer to clearing their
	// "new" marks was lost. The marks may or may not be cleared; if not, the next ReadNew returns
	// the same records again, which the store absorbs as duplicates. The clear is never repeated
	// blindly: clearing twice would drop the marks of records nobody has read.
	ErrClearUnconfirmed = errors.New("anviz: clearing the new marks was not confirmed")
)

// Options configures a bus.
type Options struct {
	// Epoch is the clock model's record epoch, a wall-clock time; zero means DefaultEpoch.
	Epoch time.Time

	// Retries is how many times a request is repeated after a link fault (no reply, bad CRC,
	// partial frame, wrong device). Zero means 3; negative means none.
	Retries int

	// ReplyTimeout bounds the wait for one reply, so that a lost reply leaves time to retry
	// within the caller's deadline. Zero means 5 s on TCP; OpenSerial derives it from the baud rate.
	ReplyTimeout time.Duration

	// DrainQuiet is how long the line must stay silent before a request after a fault. Zero means
	// 50 ms (48 byte times at 9600 baud).
	DrainQuiet time.Duration

	// BatchLimit caps how many new records one ReadNew downloads, so that a long backlog on a slow
	// line is stored and cleared in steps rather than lost to one interruption. Zero means no cap.
	BatchLimit int
}

func (o Options) withDefaults() Options {
	if o.Epoch.IsZero() {
		o.Epoch = DefaultEpoch
	}
	switch {
	case o.Retries == 0:
		o.Retries = 3
	case o.Retries < 0:
		o.Retries = 0
	}
	if o.ReplyTimeout <= 0 {
		o.ReplyTimeout = 5 * time.Second
	}
	if o.DrainQuiet <= 0 {
		o.DrainQuiet = 50 * time.Millisecond
	}
	return o
}

// maxRealtimeQueue bounds the realtime records kept for a clock nobody is waiting on. Dropping
// the oldest loses nothing: a realtime record stays "new" on the clock and ReadNew fetches it.
const maxRealtimeQueue = 1024

// Bus is one link shared by one or more clocks: a serial line, an RS485 bus, or a TCP connection.
// Only one request is on the link at a time, so every clock on a bus shares its lock.
type Bus struct {
	link *deadlineLink
	opts Options
	mu   sem // one request at a time

	// Guarded by mu.
	rbuf     [MaxResponseLen]byte
	wbuf     []byte
	dirty    bool // a fault left unknown bytes on the line
	realtime map[uint32][]Record

	devMu   sync.Mutex
	devices map[uint32]sem // per clock: its download cursor and new marks

	closeMu sync.Mutex
	closed  bool
}

// NewBus returns a bus on l. The bus owns l and closes it on Close.
func NewBus(l Link, o Options) *Bus {
	return &Bus{
		link:     &deadlineLink{Link: l},
		opts:     o.withDefaults(),
		mu:       newSem(),
		realtime: map[uint32][]Record{},
		devices:  map[uint32]sem{},
	}
}

// Close closes the link. Calls in progress fail with ErrClosed.
func (b *Bus) Close() error {
	b.closeMu.Lock()
	if b.closed {
		b.closeMu.Unlock()
		return nil
	}
	b.closed = true
	b.closeMu.Unlock()
	return b.link.Close()
}

func (b *Bus) isClosed() bool {
	b.closeMu.Lock()
	defer b.closeMu.Unlock()
	return b.closed
}

// Clock returns the client of the clock with the given device id on this bus.
func (b *Bus) Clock(deviceID uint32) *Client {
	b.devMu.Lock()
	defer b.devMu.Unlock()
	if _, ok := b.devices[deviceID]; !ok {
		b.devices[deviceID] = newSem()
	}
	return &Client{bus: b, id: deviceID, dev: b.devices[deviceID]}
}

// exchange sends one request and passes the reply to handle while the bus is still held (the
// reply's Data aliases the bus's buffer).
func (b *Bus) exchange(ctx context.Context, id uint32, cmd byte, data []byte, handle func(Response) error) error {
	if err := b.mu.lock(ctx); err != nil {
		return err
	}
	defer b.mu.unlock()
	if b.isClosed() {
		return ErrClosed
	}
	defer b.link.watch(ctx)()
	r, err := b.roundTrip(ctx, id, cmd, data)
	if err != nil {
		return b.linkErr(ctx, err)
	}
	if err := r.Err(); err != nil {
		return err
	}
	if handle != nil {
		return handle(r)
	}
	return nil
}

// linkErr reports a closed bus or an ended context in preference to the timeout they caused.
func (b *Bus) linkErr(ctx context.Context, err error) error {
	if b.isClosed() {
		return ErrClosed
	}
	if cerr := ctxErr(ctx); cerr != nil {
		return fmt.Errorf("%w (%w)", cerr, err)
	}
	return err
}

// ctxErr is ctx.Err(), also once ctx's deadline has passed but its timer has not yet fired: the
// link's deadline, set to the same instant, may expire first.
func ctxErr(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if dl, ok := ctx.Deadline(); ok && !time.Now().Before(dl) {
		return context.DeadlineExceeded
	}
	return nil
}

func (b *Bus) replyDeadline(ctx context.Context) time.Time {
	dl := time.Now().Add(b.opts.ReplyTimeout)
	if cd, ok := ctx.Deadline(); ok && cd.Before(dl) {
		return cd
	}
	return dl
}

func (b *Bus) roundTrip(ctx context.Context, id uint32, cmd byte, data []byte) (Response, error) {
	if b.dirty {
		if err := b.drain(ctx); err != nil {
			return Response{}, err
		}
		b.dirty = false
	}
	var err error
	b.wbuf, err = AppendCommand(b.wbuf[:0], Command{DeviceID: id, Cmd: cmd, Data: data})
	if err != nil {
		return Response{}, err
	}
	dl := b.replyDeadline(ctx)
	b.link.SetDeadline(dl)
	if _, err := b.link.Write(b.wbuf); err != nil {
		b.dirty = true
		return Response{}, fmt.Errorf("anviz: write: %w", err)
	}
	for {
		r, err := b.readFrame()
		if err != nil {
			b.dirty = true
			return Response{}, err
		}
		if b.unsolicited(r) {
			continue
		}
		if id != 0 && r.DeviceID != id {
			b.dirty = true
			return Response{}, fmt.Errorf("%w: got %d, want %d", ErrWrongDevice, r.DeviceID, id)
		}
		if r.Cmd != cmd {
			b.dirty = true
			return Response{}, fmt.Errorf("%w: got %02X, want %02X", ErrUnexpected, r.Cmd, cmd)
		}
		if id == 0 {
			// Every clock on the bus answers a broadcast; the others' replies are drained.
			b.dirty = true
		}
		return r, nil
	}
}

// readFrame reads the next response frame. A frame the clock sends in command form (its ping,
// 7F) is answered on the way and not returned.
func (b *Bus) readFrame() (Response, error) {
	for {
		r, c, isCmd, err := b.readOneFrame()
		if err != nil || !isCmd {
			return r, err
		}
		if err := b.deviceCommand(c); err != nil {
			return Response{}, err
		}
	}
}

// deviceCommand answers a frame in command form from a clock. Networked clocks ping in this form
// (a5 CH 7F 0000 CRC) and expect the reply form back (ACK FF, RET 0); anything else a clock might
// send this way is not the daemon's to act on, and is skipped.
func (b *Bus) deviceCommand(c Command) error {
	if c.Cmd != cmdKeepAlive {
		return nil
	}
	reply, err := AppendResponse(nil, Response{DeviceID: c.DeviceID, Cmd: cmdKeepAlive, Ret: RetSuccess})
	if err != nil {
		return err
	}
	if _, err := b.link.Write(reply); err != nil {
		return fmt.Errorf("anviz: answering the clock's ping: %w", err)
	}
	return nil
}

// readOneFrame reads exactly one frame, never past its end, so nothing of the next frame needs
// keeping. The first 8 bytes (shorter than any frame of either form) tell the form: a response's
// ACK byte has AckBit set, a command's CMD byte has not.
func (b *Bus) readOneFrame() (r Response, c Command, isCmd bool, err error) {
	n, need, header := 0, CommandHeaderLen, 0
	for {
		if n > 0 && b.rbuf[0] != STX {
			return Response{}, Command{}, false, ErrSTX
		}
		if n >= need {
			if header == 0 {
				header = ResponseHeaderLen
				if b.rbuf[5]&AckBit == 0 {
					header, isCmd = CommandHeaderLen, true
				}
				need = header
				if n < need {
					continue
				}
			}
			if need == header {
				if need, err = FrameLen(b.rbuf[:n], header); err != nil {
					return Response{}, Command{}, false, err
				}
				if n < need {
					continue
				}
			}
			if isCmd {
				c, _, err = DecodeCommand(b.rbuf[:n])
				return Response{}, c, true, err
			}
			r, _, err = DecodeResponse(b.rbuf[:n])
			return r, Command{}, false, err
		}
		m, err := b.link.Read(b.rbuf[n:need])
		n += m
		if err != nil && n < need {
			if isTimeout(err) {
				if n == 0 {
					return Response{}, Command{}, false, fmt.Errorf("%w (%w)", ErrNoReply, err)
				}
				return Response{}, Command{}, false, fmt.Errorf("%w after %d bytes (%w)", ErrShort, n, err)
			}
			return Response{}, Command{}, false, fmt.Errorf("anviz: read: %w", err)
		}
	}
}

// drain reads and discards until the line has been quiet for DrainQuiet, so that the rest of a
// damaged frame, or a late reply, is not taken for the answer to the next request.
func (b *Bus) drain(ctx context.Context) error {
	var scratch [256]byte
	giveUp := time.Now().Add(b.opts.ReplyTimeout + b.opts.DrainQuiet)
	for {
		dl := time.Now().Add(b.opts.DrainQuiet)
		if cd, ok := ctx.Deadline(); ok && cd.Before(dl) {
			dl = cd
		}
		b.link.SetDeadline(dl)
		n, err := b.link.Read(scratch[:])
		if n > 0 {
			if time.Now().After(giveUp) {
				return ErrNoQuiet
			}
			continue
		}
		if err == nil {
			continue
		}
		if isTimeout(err) && ctxErr(ctx) == nil {
			return nil
		}
		return fmt.Errorf("anviz: drain: %w", err)
	}
}

// cmdKeepAlive is what networked clocks send on their own to show they are alive: in command form
// (a5 CH 7F 0000 CRC), answered by the reply form (ACK FF, the protocol's verified CRC vector),
// or in the reply form itself. It carries nothing the daemon needs.
const cmdKeepAlive = 0x7F

// unsolicited consumes a frame the clock sent on its own rather than as a reply.
func (b *Bus) unsolicited(r Response) bool {
	switch r.Cmd {
	case CmdRealtime:
		b.queueRealtime(r)
		return true
	case cmdKeepAlive:
		return true
	}
	return false
}

func (b *Bus) queueRealtime(r Response) {
	recs, err := DecodeRecords(nil, r.Data, false, b.opts.Epoch)
	if err != nil {
		return // a malformed realtime frame is not worth failing the caller's request for
	}
	q := append(b.realtime[r.DeviceID], recs...)
	if len(q) > maxRealtimeQueue {
		q = q[len(q)-maxRealtimeQueue:]
	}
	b.realtime[r.DeviceID] = q
}

// retryable reports a link fault after which repeating the request may succeed.
func retryable(err error) bool {
	var re *RetError
	switch {
	case errors.As(err, &re), errors.Is(err, ErrClosed),
		errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return false
	}
	return true
}

// Client reads one clock on a bus. Its methods may be called from several goroutines.
type Client struct {
	bus *Bus
	id  uint32
	dev sem
}

// DeviceID returns the clock's device id on the bus.
func (c *Client) DeviceID() uint32 { return c.id }

// call runs an idempotent request, repeating it after link faults.
func (c *Client) call(ctx context.Context, cmd byte, data []byte, handle func(Response) error) error {
	var err error
	for attempt := 0; attempt <= c.bus.opts.Retries; attempt++ {
		if err = c.bus.exchange(ctx, c.id, cmd, data, handle); err == nil || !retryable(err) {
			break
		}
	}
	return c.wrap(cmd, err)
}

func (c *Client) wrap(cmd byte, err error) error {
	if err == nil {
		return nil
	}
	var re *RetError
	if errors.As(err, &re) {
		return err
	}
	return fmt.Errorf("anviz: device %d, command %02X: %w", c.id, cmd, err)
}

// Info returns the clock's device information (command 30).
func (c *Client) Info(ctx context.Context) (info DeviceInfo, err error) {
	err = c.call(ctx, CmdDeviceInfo, nil, func(r Response) (err error) {
		info, err = DecodeDeviceInfo(r.Data)
		return err
	})
	return info, err
}

// SerialNumber returns the clock's serial number (command 24).
func (c *Client) SerialNumber(ctx context.Context) (sn string, err error) {
	err = c.call(ctx, CmdSerialNumber, nil, func(r Response) error {
		sn = DecodeSerialNumber(r.Data)
		return nil
	})
	return sn, err
}

// CommDeviceID returns the device id the clock reports for itself (command 74).
func (c *Client) CommDeviceID(ctx context.Context) (id uint32, err error) {
	err = c.call(ctx, CmdDeviceID, nil, func(r Response) (err error) {
		id, err = DecodeDeviceID(r.Data)
		return err
	})
	return id, err
}

// Time returns the clock's time as a wall-clock time (command 38).
func (c *Client) Time(ctx context.Context) (t time.Time, err error) {
	err = c.call(ctx, CmdGetTime, nil, func(r Response) (err error) {
		t, err = DecodeTime(r.Data)
		return err
	})
	return t, err
}

// SetTime sets the clock to display t's fields, read in t's own location (command 39): pass a
// wall-clock time, or time.Now() on a host in the clock's zone.
func (c *Client) SetTime(ctx context.Context, t time.Time) error {
	d, err := EncodeTime(t)
	if err != nil {
		return err
	}
	return c.call(ctx, CmdSetTime, d, nil)
}

// RecordInfo returns the clock's user and record counts (command 3C).
func (c *Client) RecordInfo(ctx context.Context) (ri RecordInfo, err error) {
	err = c.call(ctx, CmdRecordInfo, nil, func(r Response) (err error) {
		ri, err = DecodeRecordInfo(r.Data)
		return err
	})
	return ri, err
}

// Capacity returns how many users, fingerprints and records the clock can hold (command 5D).
func (c *Client) Capacity(ctx context.Context) (cp Capacity, err error) {
	err = c.call(ctx, CmdCapacity, nil, func(r Response) (err error) {
		cp, err = DecodeCapacity(r.Data)
		return err
	})
	return cp, err
}

// ReadNew downloads the clock's new records and passes them to store. Only if store returns nil
// does it clear the "new" marks of exactly that many records, the oldest, which are the ones
// read; records punched meanwhile stay new. If store fails, nothing is cleared and the next
// ReadNew returns the same records. It returns how many records were stored; with Options.
// BatchLimit set, call it until it returns 0.
//
// store is not called when there is nothing new. Interrupting ReadNew at any point loses no
// record: at worst records are read again, so store must absorb duplicates. Only one ReadNew or
// ReadAll runs at a time per clock on a bus; two processes must not read the same clock.
func (c *Client) ReadNew(ctx context.Context, store func([]Record) error) (int, error) {
	if err := c.dev.lock(ctx); err != nil {
		return 0, err
	}
	defer c.dev.unlock()
	info, err := c.RecordInfo(ctx)
	if err != nil {
		return 0, err
	}
	want := info.NewRecords
	if lim := c.bus.opts.BatchLimit; lim > 0 && want > lim {
		want = lim
	}
	if want == 0 {
		return 0, nil
	}
	recs := make([]Record, 0, want)
	if _, err := c.download(ctx, DownloadNew, want, func(p []Record) error {
		recs = append(recs, p...)
		return nil
	}); err != nil {
		return 0, err
	}
	if len(recs) == 0 {
		return 0, nil
	}
	if err := store(recs); err != nil {
		return 0, fmt.Errorf("anviz: device %d: storing %d records, new marks kept: %w", c.id, len(recs), err)
	}
	return len(recs), c.clearMarks(ctx, len(recs))
}

// clearMarks clears the new marks of the n oldest new records, once: see ErrClearUnconfirmed.
func (c *Client) clearMarks(ctx context.Context, n int) error {
	var cleared int
	err := c.bus.exchange(ctx, c.id, CmdClear, appendU24([]byte{ClearMarks}, n), func(r Response) error {
		if len(r.Data) < 3 {
			return shortData(CmdClear, len(r.Data), 3)
		}
		cleared = u24(r.Data)
		return nil
	})
	if err != nil {
		return fmt.Errorf("anviz: device %d: %w: %w", c.id, ErrClearUnconfirmed, err)
	}
	if cleared > n {
		return fmt.Errorf("anviz: device %d: asked to clear %d new marks, the clock cleared %d", c.id, n, cleared)
	}
	return nil
}

// ReadAll downloads every record the clock holds, oldest first, passing each packet of up to 25 to
// each, and leaves the new marks alone: it is for recovery, when the store lost records already
// cleared. It returns how many records it passed on.
func (c *Client) ReadAll(ctx context.Context, each func([]Record) error) (int, error) {
	if err := c.dev.lock(ctx); err != nil {
		return 0, err
	}
	defer c.dev.unlock()
	info, err := c.RecordInfo(ctx)
	if err != nil {
		return 0, err
	}
	if info.AllRecords == 0 {
		return 0, nil
	}
	return c.download(ctx, DownloadAll, info.AllRecords, each)
}

// download reads up to total records in packets, starting with parameter first.
//
// After a link fault the request is repeated so that no packet is skipped or taken twice. Before
// the first packet arrives, repeating first restarts the download, which is harmless. Later, the
// clock may or may not have advanced to the next packet, so the bus asks it to resend its last
// packet: if that is the packet already taken, the clock never saw the request and "next" is sent
// again.
func (c *Client) download(ctx context.Context, first byte, total int, each func([]Record) error) (int, error) {
	var (
		got      int
		prev     []byte // data of the last packet taken
		recs     []Record
		param    = first
		failures int
	)
	for got < total {
		amount := min(MaxRecordsPerPacket, total-got)
		var stale bool
		recs = nil // each may keep the slice
		err := c.bus.exchange(ctx, c.id, CmdDownload, []byte{param, byte(amount)}, func(r Response) error {
			if param == DownloadResend && bytes.Equal(r.Data, prev) {
				stale = true
				return nil
			}
			var err error
			if recs, err = DecodeRecords(nil, r.Data, true, c.bus.opts.Epoch); err != nil {
				return err
			}
			prev = append(prev[:0], r.Data...)
			return nil
		})
		if errors.Is(err, ErrEmpty) {
			break
		}
		if err != nil {
			if !retryable(err) {
				return got, c.wrap(CmdDownload, err)
			}
			if failures++; failures > c.bus.opts.Retries {
				return got, c.wrap(CmdDownload, err)
			}
			if got > 0 {
				param = DownloadResend
			}
			continue
		}
		failures = 0
		if stale {
			param = DownloadNext
			continue
		}
		if len(recs) == 0 {
			break
		}
		if err := each(recs); err != nil {
			return got, err
		}
		got += len(recs)
		param = DownloadNext
		if len(recs) < amount {
			break
		}
	}
	return got, nil
}

// NextRealtime returns the next record the clock sends on its own in realtime mode (command 5F),
// waiting until ctx ends. It holds the bus while waiting, so give it a short deadline between
// polls. Realtime records that arrived during other requests are returned first.
func (c *Client) NextRealtime(ctx context.Context) (Record, error) {
	b := c.bus
	if err := b.mu.lock(ctx); err != nil {
		return Record{}, err
	}
	defer b.mu.unlock()
	if b.isClosed() {
		return Record{}, ErrClosed
	}
	defer b.link.watch(ctx)()
	for {
		if q := b.realtime[c.id]; len(q) > 0 {
			r := q[0]
			b.realtime[c.id] = q[1:]
			return r, nil
		}
		dl, ok := ctx.Deadline()
		if !ok {
			dl = time.Time{}
		}
		b.link.SetDeadline(dl)
		r, err := b.readFrame()
		if errors.Is(err, ErrNoReply) && ctxErr(ctx) != nil {
			return Record{}, ctxErr(ctx) // nothing came: the line is clean
		}
		if err != nil {
			b.dirty = true
			return Record{}, c.wrap(CmdRealtime, b.linkErr(ctx, err))
		}
		b.unsolicited(r) // replies to nobody's request are dropped
	}
}

package anvizemu

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/kaoqin/kaoqin/devices/anviz"
	"github.com/kaoqin/kaoqin/internal/csvio"
	"golang.org/x/sys/unix"
)

func newEmu(t *testing.T, cfg Config, ids ...uint32) *Emulator {
	t.Helper()
	var cs []Clock
	for _, id := range ids {
		cs = append(cs, Clock{DeviceID: id})
	}
	e, err := New(cfg, cs...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

func TestLoadPunchesCSV(t *testing.T) {
	tests := []struct {
		name    string
		csv     string
		want    map[uint32]int // records per clock
		wantErr string
	}{
		{"default clock", "user_id,time\n1001,2025-03-14 08:01:02\n1002,2025-03-14 08:03:00\n", map[uint32]int{1: 2}, ""},
		{"device column", "time,user_id,device_id\n2025-03-14 08:01:02,1001,2\n2025-03-14 08:01:03,1001,\n", map[uint32]int{1: 1, 2: 1}, ""},
		{"bad time", "user_id,time\n1001,2025-03-14T08:01\n", nil, "punches.csv:2: bad time"},
		{"bad user", "user_id,time\nA1,2025-03-14 08:01:02\n", nil, "punches.csv:2: anviz: user id"},
		{"unknown clock", "user_id,time,device_id\n1,2025-03-14 08:01:02,9\n", nil, "no clock with device id 9"},
		{"missing column", "user,time\n1,2025-03-14 08:01:02\n", nil, "user_id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEmu(t, Config{}, 1, 2)
			n, err := e.LoadPunchesCSV(1, strings.NewReader(tt.csv))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				if len(csvio.AsProblems(err)) == 0 || e.NewCount(1)+e.NewCount(2) != 0 {
					t.Errorf("a bad file added records or gave no problems")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			total := 0
			for id, want := range tt.want {
				total += want
				if got := e.NewCount(id); got != want {
					t.Errorf("clock %d: got %d new records, want %d", id, got, want)
				}
			}
			if n != total {
				t.Errorf("n = %d, want %d", n, total)
			}
		})
	}
}

// rawConn speaks frames to the emulator without the client, to pin the clock's side of the
// protocol.
type rawConn struct {
	t *testing.T
	c net.Conn
}

func dialRaw(t *testing.T, e *Emulator) *rawConn {
	addr, err := e.ListenTCP("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &rawConn{t, c}
}

func (r *rawConn) send(id uint32, cmd byte, data ...byte) {
	b, _ := anviz.AppendCommand(nil, anviz.Command{DeviceID: id, Cmd: cmd, Data: data})
	if _, err := r.c.Write(b); err != nil {
		r.t.Fatal(err)
	}
}

func (r *rawConn) recv() anviz.Response {
	r.t.Helper()
	r.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	hdr := make([]byte, anviz.ResponseHeaderLen)
	if _, err := io.ReadFull(r.c, hdr); err != nil {
		r.t.Fatal(err)
	}
	n, err := anviz.FrameLen(hdr, anviz.ResponseHeaderLen)
	if err != nil {
		r.t.Fatal(err)
	}
	b := append(hdr, make([]byte, n-len(hdr))...)
	if _, err := io.ReadFull(r.c, b[len(hdr):]); err != nil {
		r.t.Fatal(err)
	}
	resp, _, err := anviz.DecodeResponse(b)
	if err != nil {
		r.t.Fatal(err)
	}
	return resp
}

func TestDownloadProtocol(t *testing.T) {
	e := newEmu(t, Config{}, 1)
	for i := range 30 {
		e.AddRecord(1, "7", anviz.DefaultEpoch.Add(time.Duration(i)*time.Hour))
	}
	r := dialRaw(t, e)
	steps := []struct {
		name     string
		data     []byte
		wantRet  byte
		wantN    int // records in the reply
		sameLast bool
	}{
		{"next before start", []byte{anviz.DownloadNext, 25}, anviz.RetFail, -1, false},
		{"first new", []byte{anviz.DownloadNew, 25}, anviz.RetSuccess, 25, false},
		{"resend", []byte{anviz.DownloadResend, 25}, anviz.RetSuccess, 25, true},
		{"next", []byte{anviz.DownloadNext, 25}, anviz.RetSuccess, 5, false},
		{"past the end", []byte{anviz.DownloadNext, 25}, anviz.RetSuccess, 0, false},
		{"amount zero", []byte{anviz.DownloadAll, 0}, anviz.RetFail, -1, false},
	}
	var last []byte
	for _, s := range steps {
		r.send(1, anviz.CmdDownload, s.data...)
		got := r.recv()
		if got.Ret != s.wantRet {
			t.Fatalf("%s: RET %02X, want %02X", s.name, got.Ret, s.wantRet)
		}
		if s.wantN >= 0 && (len(got.Data) < 1 || int(got.Data[0]) != s.wantN) {
			t.Errorf("%s: data % x, want %d records", s.name, got.Data, s.wantN)
		}
		if s.sameLast && !bytes.Equal(got.Data, last) {
			t.Errorf("%s: got a different packet, want the last one again", s.name)
		}
		last = bytes.Clone(got.Data)
	}
	// Clearing more marks than there are new records clears only those.
	r.send(1, anviz.CmdClear, anviz.ClearMarks, 0, 1, 0)
	if got := r.recv(); got.Ret != 0 || !bytes.Equal(got.Data, []byte{0, 0, 30}) {
		t.Errorf("clear 256: got RET %02X data % x, want 00, 00 00 1e", got.Ret, got.Data)
	}
	r.send(1, anviz.CmdDownload, anviz.DownloadNew, 25)
	if got := r.recv(); got.Ret != anviz.RetEmpty {
		t.Errorf("download new with none new: RET %02X, want 05", got.Ret)
	}
}

func TestBroadcastEveryClockAnswers(t *testing.T) {
	e := newEmu(t, Config{}, 5, 3)
	r := dialRaw(t, e)
	r.send(0, anviz.CmdDeviceID)
	for _, want := range []uint32{3, 5} {
		got := r.recv()
		if got.DeviceID != want || binary.BigEndian.Uint32(got.Data) != want {
			t.Errorf("got a reply from %d saying % x, want %d", got.DeviceID, got.Data, want)
		}
	}
}

func TestBadRequestsIgnored(t *testing.T) {
	e := newEmu(t, Config{}, 1)
	r := dialRaw(t, e)
	bad, _ := anviz.AppendCommand(nil, anviz.Command{DeviceID: 1, Cmd: anviz.CmdGetTime})
	bad[len(bad)-1] ^= 1
	r.c.Write([]byte{0x00, 0xA5, 0xFF}) // noise, including a false start
	r.c.Write(bad)
	r.send(1, anviz.CmdDeviceID)
	if got := r.recv(); got.Cmd != anviz.CmdDeviceID {
		t.Errorf("first reply answers %02X, want 74 (noise and a bad CRC get no answer)", got.Cmd)
	}
	if got := e.Requests(1, anviz.CmdGetTime); got != 0 {
		t.Errorf("requests with a bad CRC counted: %d, want 0", got)
	}
}

func TestPacedLine(t *testing.T) {
	const baud = 9600
	e := newEmu(t, Config{Baud: baud}, 1)
	path, err := e.ServePTY()
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	req, _ := anviz.AppendCommand(nil, anviz.Command{DeviceID: 1, Cmd: anviz.CmdDeviceInfo})
	start := time.Now()
	f.Write(req)
	reply := make([]byte, anviz.ResponseHeaderLen+18+anviz.CRCLen)
	f.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(f, reply); err != nil {
		t.Fatal(err)
	}
	got := time.Since(start)
	want := time.Duration(len(req)+len(reply)) * 10 * time.Second / baud
	if got < want {
		t.Errorf("request and reply took %v, want at least the line time %v", got, want)
	}
}

func TestFaultValidation(t *testing.T) {
	e := newEmu(t, Config{}, 1)
	tests := []struct {
		id uint32
		f  Fault
	}{
		{2, Fault{Kind: NoAnswer}},
		{1, Fault{Kind: 0}},
		{1, Fault{Kind: DevicePing + 1}},
	}
	for _, tt := range tests {
		if err := e.Inject(tt.id, tt.f); err == nil {
			t.Errorf("Inject(%d, %+v): got nil error, want one", tt.id, tt.f)
		}
	}
	if _, err := New(Config{}, Clock{DeviceID: 0}); err == nil {
		t.Errorf("New with device id 0: got nil error, want one")
	}
	if _, err := New(Config{}, Clock{DeviceID: 4}, Clock{DeviceID: 4}); err == nil {
		t.Errorf("New with device id 4 twice: got nil error, want one")
	}
}

func TestParseFaultKind(t *testing.T) {
	for k := CRCError; k <= HangUp; k++ {
		if got, err := ParseFaultKind(k.String()); got != k || err != nil {
			t.Errorf("ParseFaultKind(%q) = %v, %v; want %v", k.String(), got, err, k)
		}
	}
	if _, err := ParseFaultKind("crc"); err == nil {
		t.Errorf("ParseFaultKind(\"crc\"): got nil error, want one")
	}
}

func TestTimeRunsFromSetting(t *testing.T) {
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.Local)
	e := newEmu(t, Config{Now: func() time.Time { return now }}, 1)
	set := time.Date(2025, 6, 1, 9, 30, 0, 0, time.UTC)
	if err := e.SetTime(1, set); err != nil {
		t.Fatal(err)
	}
	now = now.Add(90 * time.Second)
	if got, _ := e.Time(1); !got.Equal(set.Add(90 * time.Second)) {
		t.Errorf("Time = %v, want %v", got, set.Add(90*time.Second))
	}
}

func TestCloseStopsEverything(t *testing.T) {
	before := runtime.NumGoroutine()
	e, err := New(Config{Baud: 9600}, Clock{DeviceID: 1, Realtime: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.ServePTY(); err != nil {
		t.Fatal(err)
	}
	addr, err := e.ListenTCP("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// Wait until the connection is being served, so Close has something to stop.
	deadline := time.Now().Add(5 * time.Second)
	for {
		e.mu.Lock()
		n := len(e.lines)
		e.mu.Unlock()
		if n == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d lines served, want 2", n)
		}
		time.Sleep(time.Millisecond)
	}
	// A realtime push to a line nobody reads, then Close while it may be blocked.
	e.AddRecord(1, "1", anviz.DefaultEpoch)
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines after Close, want at most %d", runtime.NumGoroutine(), before)
		}
		time.Sleep(time.Millisecond)
	}
	if _, err := e.ServePTY(); err == nil {
		t.Errorf("ServePTY after Close: got nil error, want one")
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(make([]byte, 64)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		// The realtime frame may arrive first; what matters is that the connection is closed.
		if _, err2 := io.ReadAll(c); err2 != nil {
			t.Errorf("connection after Close: %v, want it closed", err2)
		}
	}
}

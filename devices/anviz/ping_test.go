package anviz_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/kaoqin/kaoqin/devices/anviz"
	"github.com/kaoqin/kaoqin/devices/anviz/anvizemu"
)

// pingVector is a clock's ping in command form, as networked clocks send it on their own.
const pingVector = "a5000000017f00005b40"

func TestPingVector(t *testing.T) {
	b, _ := hex.DecodeString(pingVector)
	c, n, err := anviz.DecodeCommand(b)
	if err != nil || n != len(b) || c.DeviceID != 1 || c.Cmd != 0x7F || len(c.Data) != 0 {
		t.Fatalf("DecodeCommand(%s) = %+v, %d, %v", pingVector, c, n, err)
	}
	if got, err := anviz.AppendCommand(nil, anviz.Command{DeviceID: 1, Cmd: 0x7F}); err != nil || !bytes.Equal(got, b) {
		t.Errorf("AppendCommand = % x, %v; want %s", got, err, pingVector)
	}
}

// TestPingInCommandForm: a ping in command form arriving before a reply is answered (reply form,
// ACK FF) and skipped; it is not read as the head of a 102-byte response.
func TestPingInCommandForm(t *testing.T) {
	ping, _ := hex.DecodeString(pingVector)
	cl, srv := net.Pipe()
	defer cl.Close()
	defer srv.Close()
	answers := make(chan []byte, 1)
	go func() {
		buf := make([]byte, 64)
		n, err := srv.Read(buf) // the GET_TIME request
		if err != nil {
			return
		}
		req, _, err := anviz.DecodeCommand(buf[:n])
		if err != nil {
			return
		}
		srv.Write(ping)
		n, err = srv.Read(buf) // the answer to the ping
		if err != nil {
			return
		}
		answers <- append([]byte(nil), buf[:n]...)
		data := []byte{25, 3, 14, 8, 30, 0}
		reply, _ := anviz.AppendResponse(nil, anviz.Response{DeviceID: req.DeviceID, Cmd: req.Cmd, Data: data})
		srv.Write(reply)
	}()
	bus := anviz.NewBus(cl, fastOpts)
	got, err := bus.Clock(1).Time(ctxT(t, 5*time.Second))
	if err != nil {
		t.Fatalf("Time with a ping before the reply: %v", err)
	}
	if want := time.Date(2025, 3, 14, 8, 30, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("Time = %v, want %v", got, want)
	}
	want, _ := anviz.AppendResponse(nil, anviz.Response{DeviceID: 1, Cmd: 0x7F})
	if a := <-answers; !bytes.Equal(a, want) {
		t.Errorf("ping answered % x, want % x", a, want)
	}
}

// TestDevicePingEmulated: the emulator's clocks ping before a reply on both transports; every
// read still returns exactly the records, and every ping is answered.
func TestDevicePingEmulated(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			e := newEmulator(t, anvizemu.Config{}, 1)
			want := punch(t, e, 1, 100, 60)
			for _, cmd := range []byte{anviz.CmdRecordInfo, anviz.CmdDownload} {
				if err := e.Inject(1, anvizemu.Fault{Kind: anvizemu.DevicePing, Cmd: cmd}); err != nil {
					t.Fatal(err)
				}
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
			// The answers are on the line before the next request's reply is read.
			if _, err := c.Time(ctxT(t, 5*time.Second)); err != nil {
				t.Fatal(err)
			}
			if got := e.PingAnswers(1); got != 2 {
				t.Errorf("pings answered: %d, want 2", got)
			}
		})
	}
}

// TestInitializeSystemNeverSent: 4F (factory reset) cannot be encoded, so no path sends it.
func TestInitializeSystemNeverSent(t *testing.T) {
	for _, id := range []uint32{0, 1, 0xFFFFFFFF} {
		for _, data := range [][]byte{nil, {0}, make([]byte, 400)} {
			dst := []byte("kept")
			got, err := anviz.AppendCommand(dst, anviz.Command{DeviceID: id, Cmd: anviz.CmdInitializeSystem, Data: data})
			if !errors.Is(err, anviz.ErrForbidden) {
				t.Errorf("AppendCommand(4F, id %d, %d bytes): err %v, want ErrForbidden", id, len(data), err)
			}
			if string(got) != "kept" {
				t.Errorf("AppendCommand(4F) wrote % x", got[4:])
			}
		}
	}
	// Every other code encodes.
	for code := range 256 {
		if code == anviz.CmdInitializeSystem {
			continue
		}
		if _, err := anviz.AppendCommand(nil, anviz.Command{DeviceID: 1, Cmd: byte(code)}); err != nil {
			t.Errorf("AppendCommand(%02X): %v", code, err)
		}
	}
}

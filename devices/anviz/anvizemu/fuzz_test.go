package anvizemu

import (
	"bytes"
	"encoding/hex"
	"io"
	"testing"
	"time"

	"github.com/kaoqin/kaoqin/devices/anviz"
)

// byteConn plays the fuzzer's bytes to the line, then ends; what the line writes is counted.
type byteConn struct {
	in      []byte
	step    int
	written int
}

func (c *byteConn) Read(b []byte) (int, error) {
	if len(c.in) == 0 {
		return 0, io.EOF
	}
	n := copy(b[:min(len(b), c.step)], c.in)
	c.in = c.in[n:]
	return n, nil
}
func (c *byteConn) Write(b []byte) (int, error)      { c.written += len(b); return len(b), nil }
func (c *byteConn) Close() error                     { return nil }
func (c *byteConn) SetReadDeadline(time.Time) error  { return nil }
func (c *byteConn) SetWriteDeadline(time.Time) error { return nil }

// FuzzLine feeds a bus line any bytes (requests, answers to pings, noise): it ends when they do,
// without panic, and answers only what starts with A5.
func FuzzLine(f *testing.F) {
	ping, _ := hex.DecodeString("a5000000017f00005b40")
	pong, _ := anviz.AppendResponse(nil, anviz.Response{DeviceID: 1, Cmd: PingCmd})
	req, _ := anviz.AppendCommand(nil, anviz.Command{DeviceID: 1, Cmd: anviz.CmdRecordInfo})
	dl, _ := anviz.AppendCommand(nil, anviz.Command{DeviceID: 1, Cmd: anviz.CmdDownload, Data: []byte{anviz.DownloadNew, 25}})
	f.Add(append(append(bytes.Clone(req), pong...), dl...), uint8(1))
	f.Add(append(bytes.Clone(ping), req...), uint8(64))
	f.Add([]byte{0xa5, 0, 0, 0, 1, 0xff, 0, 1, 0x90}, uint8(3))
	f.Fuzz(func(t *testing.T, in []byte, step uint8) {
		e, err := New(Config{}, Clock{DeviceID: 1}, Clock{DeviceID: 2})
		if err != nil {
			t.Fatal(err)
		}
		defer e.Close()
		e.AddRecord(1, "7", time.Date(2025, 3, 14, 8, 0, 0, 0, time.UTC))
		c := &byteConn{in: in, step: int(step%64) + 1}
		l := &line{e: e, conn: c, name: "fuzz"}
		l.serve()
		if c.written > 0 && !bytes.Contains(in, []byte{anviz.STX}) {
			t.Fatalf("answered %d bytes to input without A5", c.written)
		}
	})
}

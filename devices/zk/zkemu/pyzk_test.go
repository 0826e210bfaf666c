package zkemu_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/kaoqin/kaoqin/devices/zk"
	"github.com/kaoqin/kaoqin/devices/zk/zkemu"
)

// thirdParty is a client that speaks the way pyzk does, packet for packet, so that the emulator
// is held to what a client it did not grow up with expects: pyzk reads one reply per recv, takes
// the session and reply id the clock gives, and on TCP reads the PREPARE_DATA payload as 8 bytes
// followed by exactly one DATA packet.
type thirdParty struct {
	t       *testing.T
	conn    net.Conn
	udp     bool
	fr      *zk.FrameReader
	buf     []byte
	session uint16
	replyID uint16
}

func newThirdParty(t *testing.T, network, addr string) *thirdParty {
	t.Helper()
	conn, err := net.Dial(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &thirdParty{t: t, conn: conn, udp: network == "udp", fr: zk.NewFrameReader(conn), buf: make([]byte, 64<<10), replyID: 0xFFFE}
}

// send writes a request as pyzk builds it: reply id one past the last one the clock gave.
func (c *thirdParty) send(cmd uint16, data []byte) {
	c.t.Helper()
	c.replyID++
	if c.replyID == 0xFFFF {
		c.replyID = 0
	}
	p := zk.Packet{Command: cmd, Session: c.session, ReplyID: c.replyID, Data: data}
	var b []byte
	if c.udp {
		b = zk.AppendPacket(nil, p)
	} else {
		b = zk.AppendFrame(nil, p)
	}
	if _, err := c.conn.Write(b); err != nil {
		c.t.Fatal(err)
	}
}

// recv reads one packet; the clock's checksum must be the SDK's.
func (c *thirdParty) recv() zk.Packet {
	c.t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	var raw []byte
	if c.udp {
		n, err := c.conn.Read(c.buf)
		if err != nil {
			c.t.Fatal(err)
		}
		raw = c.buf[:n]
	} else {
		var err error
		if raw, err = c.fr.Next(); err != nil {
			c.t.Fatal(err)
		}
	}
	p, err := zk.ParsePacket(raw)
	if err != nil {
		c.t.Fatal(err)
	}
	p.Data = append([]byte(nil), p.Data...)
	c.replyID = p.ReplyID
	return p
}

// cmd sends a request and wants one reply with code want.
func (c *thirdParty) cmd(cmd uint16, data []byte, want uint16) zk.Packet {
	c.t.Helper()
	c.send(cmd, data)
	p := c.recv()
	if p.Command != want {
		c.t.Fatalf("%s: got %s, want %s", zk.CommandName(cmd), zk.CommandName(p.Command), zk.CommandName(want))
	}
	return p
}

// option reads an option and returns its value the way pyzk cuts it.
func (c *thirdParty) option(name string) string {
	c.t.Helper()
	p := c.cmd(zk.CmdOptionsRRQ, []byte(name+"\x00"), zk.AckOK)
	k, v, ok := strings.Cut(string(bytes.TrimRight(p.Data, "\x00")), "=")
	if !ok || k != name {
		c.t.Fatalf("option %s: reply %q", name, p.Data)
	}
	return v
}

// readBuffer reads a bulk set as pyzk's read_with_buffer does, checking each reply's shape.
func (c *thirdParty) readBuffer(table uint16, fct uint32) []byte {
	c.t.Helper()
	le := binary.LittleEndian
	req := le.AppendUint32(le.AppendUint16([]byte{1}, table), fct)
	p := c.cmd(zk.CmdPrepareBuffer, le.AppendUint32(req, 0), zk.AckOK)
	size := int(le.Uint32(p.Data[1:]))
	chunk := zk.ChunkTCP
	if c.udp {
		chunk = zk.ChunkUDP
	}
	var set []byte
	for start := 0; start < size; start += chunk {
		n := min(chunk, size-start)
		c.send(zk.CmdReadBuffer, le.AppendUint32(le.AppendUint32(nil, uint32(start)), uint32(n)))
		p := c.recv()
		if p.Command != zk.CmdPrepareData || len(p.Data) != 8 {
			c.t.Fatalf("READ_BUFFER: got %s with %d bytes, want PREPARE_DATA with 8 (size, packet size)", zk.CommandName(p.Command), len(p.Data))
		}
		if got := int(le.Uint32(p.Data)); got != n {
			c.t.Fatalf("PREPARE_DATA announces %d bytes, want %d", got, n)
		}
		var packets int
		for {
			p = c.recv()
			if p.Command == zk.AckOK {
				break
			}
			if p.Command != zk.CmdData {
				c.t.Fatalf("chunk: got %s, want DATA or ACK_OK", zk.CommandName(p.Command))
			}
			if c.udp && len(p.Data) > 1024 {
				c.t.Fatalf("UDP DATA of %d bytes, pyzk reads at most 1024", len(p.Data))
			}
			packets++
			set = append(set, p.Data...)
		}
		if !c.udp && packets != 1 {
			c.t.Fatalf("TCP chunk of %d bytes in %d DATA packets, want one", n, packets)
		}
	}
	if size > 0 {
		c.cmd(zk.CmdFreeData, nil, zk.AckOK)
	}
	return set
}

// TestThirdPartyClient runs pyzk's sequence of calls against the emulator on both transports,
// with and without comm key, in every record layout, and checks what it stored.
func TestThirdPartyClient(t *testing.T) {
	le := binary.LittleEndian
	for _, network := range []string{"tcp", "udp"} {
		for _, key := range []int{0, 45} {
			for _, size := range []int{8, 16, 40, 49} {
				t.Run(fmt.Sprintf("%s/key=%d/records=%d", network, key, size), func(t *testing.T) {
					clock, err := zkemu.New(zkemu.Config{CommKey: key, RecordSize: size, Users: []zk.User{{UID: 1, UserID: "1", Name: "A"}}})
					if err != nil {
						t.Fatal(err)
					}
					defer clock.Close()
					addr, err := clock.ListenTCP("127.0.0.1:0")
					if err == nil && network == "udp" {
						addr, err = clock.ListenUDP("127.0.0.1:0")
					}
					if err != nil {
						t.Fatal(err)
					}
					base := time.Date(2026, 10, 8, 8, 0, 0, 0, time.UTC)
					const n = 3000 // several chunks on both transports in every layout but 8
					for i := range n {
						if err := clock.AddPunch("1", base.Add(time.Duration(i)*time.Minute), 1, 0); err != nil {
							t.Fatal(err)
						}
					}
					c := newThirdParty(t, network, addr.String())

					// connect, with AUTH when asked
					c.send(zk.CmdConnect, nil)
					p := c.recv()
					c.session = p.Session
					if key != 0 {
						if p.Command != zk.AckUnauth {
							t.Fatalf("CONNECT: got %s, want ACK_UNAUTH", zk.CommandName(p.Command))
						}
						k := zk.CommKey(key, c.session)
						p = c.cmd(zk.CmdAuth, k[:], zk.AckOK)
					} else if p.Command != zk.AckOK {
						t.Fatalf("CONNECT: got %s", zk.CommandName(p.Command))
					}

					// identity and the options pyzk asks for
					if p := c.cmd(zk.CmdGetVersion, nil, zk.AckOK); !bytes.HasPrefix(p.Data, []byte("Ver ")) {
						t.Errorf("firmware %q", p.Data)
					}
					for name, want := range map[string]string{"~SerialNumber": "ZKEMU0000001", "~Platform": "ZEM760_TFT",
						"~DeviceName": "F19", "MAC": "00:17:61:00:00:01", "~ZKFPVersion": "10", "ZKFaceVersion": "0",
						"IPAddress": "127.0.0.1", "NetMask": "255.255.255.0", "GATEIPAddress": "0.0.0.0",
						"~ExtendFmt": map[bool]string{true: "1", false: "0"}[size >= 40], "~UserExtFmt": "1",
						"FaceFunOn": "0", "CompatOldFirmware": "0"} {
						if got := c.option(name); got != want {
							t.Errorf("option %s = %q, want %q", name, got, want)
						}
					}
					if p := c.cmd(zk.CmdGetPinWidth, []byte(" P"), zk.AckOK); len(p.Data) < 1 || p.Data[0] != 9 {
						t.Errorf("GET_PINWIDTH: % x, want the width byte 9", p.Data)
					}
					c.cmd(zk.CmdOptionsWRQ, []byte("SDKBuild=1"), zk.AckOK)
					if got := c.option("SDKBuild"); got != "1" {
						t.Errorf("SDKBuild after OPTIONS_WRQ = %q", got)
					}

					// read_sizes
					p = c.cmd(zk.CmdGetFreeSizes, nil, zk.AckOK)
					if len(p.Data) < 92 || le.Uint32(p.Data[16:]) != 1 || le.Uint32(p.Data[32:]) != n {
						t.Fatalf("GET_FREE_SIZES: %d bytes, users %d records %d", len(p.Data), le.Uint32(p.Data[16:]), le.Uint32(p.Data[32:]))
					}

					// get_attendance: the set holds the log, record for record
					set := c.readBuffer(zk.CmdAttLogRRQ, 0)
					if got := int(le.Uint32(set)); got != n*size || len(set) != 4+n*size {
						t.Fatalf("attendance set of %d bytes, prefix %d, want %d", len(set), got, n*size)
					}
					recs, err := zk.DecodeRecords(nil, set[4:], size)
					if err != nil {
						t.Fatal(err)
					}
					want := clock.Records()
					for i := range want {
						if recs[i] != want[i] {
							t.Fatalf("record %d: got %+v, want %+v", i, recs[i], want[i])
						}
					}

					// set_user, get_users, delete_user
					u, err := zk.EncodeUser(nil, zk.User{UID: 2, UserID: "2002", Name: "B"}, 72, zk.GBK)
					if err != nil {
						t.Fatal(err)
					}
					c.cmd(zk.CmdUserWRQ, u, zk.AckOK)
					if set := c.readBuffer(zk.CmdUserTempRRQ, 5); len(set) != 4+2*72 || !bytes.Contains(set, []byte("2002")) {
						t.Errorf("users after USER_WRQ: %d bytes", len(set))
					}
					c.cmd(zk.CmdDeleteUser, []byte{2, 0}, zk.AckOK)
					if set := c.readBuffer(zk.CmdUserTempRRQ, 5); len(set) != 4+72 {
						t.Errorf("users after DELETE_USER: %d bytes, want one user", len(set))
					}

					// get_time / set_time
					tm := time.Date(2031, 5, 6, 7, 8, 9, 0, time.UTC)
					c.cmd(zk.CmdSetTime, le.AppendUint32(nil, zk.EncodeTime(tm)), zk.AckOK)
					p = c.cmd(zk.CmdGetTime, nil, zk.AckOK)
					if got := zk.DecodeTime(le.Uint32(p.Data)); got.Sub(tm).Abs() > 2*time.Second {
						t.Errorf("time after SET_TIME: %v, want %v", got, tm)
					}

					// live_capture: cancel_capture, verify_user, enable, reg_event, an event, ack
					for _, cmd := range []uint16{zk.CmdCancelCapture, zk.CmdStartVerify, zk.CmdEnableDevice} {
						c.cmd(cmd, nil, zk.AckOK)
					}
					c.cmd(zk.CmdRegEvent, le.AppendUint32(nil, zk.EventAttendance), zk.AckOK)
					at := time.Date(2031, 5, 6, 9, 0, 1, 0, time.UTC)
					if err := clock.AddPunch("1", at, 1, 0); err != nil {
						t.Fatal(err)
					}
					ev := c.recv()
					if ev.Command != zk.CmdRegEvent || ev.Session != zk.EventAttendance {
						t.Fatalf("event: got %s code %d", zk.CommandName(ev.Command), ev.Session)
					}
					if r, err := zk.DecodeEvent(ev.Data); err != nil || r.UserID != "1" || !r.Time.Equal(at) {
						t.Errorf("event %+v, %v", r, err)
					}
					c.send(zk.AckOK, nil) // pyzk's __ack_ok; no reply
					c.cmd(zk.CmdRegEvent, le.AppendUint32(nil, 0), zk.AckOK)

					// the other commands pyzk sends; unknown ones still get an answer
					for _, cmd := range []uint16{zk.CmdDisableDevice, zk.CmdEnableDevice, zk.CmdUnlock, zk.CmdWriteLCD, zk.CmdClearLCD, zk.CmdRefreshData} {
						c.cmd(cmd, nil, zk.AckOK)
					}
					c.cmd(zk.AckError, nil, zk.AckUnknown) // pyzk's _clear_error

					// clear_attendance: the log is gone, and the set says so
					c.cmd(zk.CmdClearAttLog, nil, zk.AckOK)
					if got := c.readBuffer(zk.CmdAttLogRRQ, 0); len(got) != 0 && le.Uint32(got) != 0 {
						t.Errorf("after CLEAR_ATTLOG the set holds %d bytes", le.Uint32(got))
					}
					if len(clock.Punches()) != 0 {
						t.Errorf("after CLEAR_ATTLOG the clock keeps %d punches", len(clock.Punches()))
					}
					c.cmd(zk.CmdExit, nil, zk.AckOK)
					if acks := clock.EventAcks(); acks != 1 {
						t.Errorf("event acks %d, want 1", acks)
					}
				})
			}
		}
	}
}

// TestOneLowRequests: the emulator takes requests carrying the one-low checksum, as pyzk sends
// when its reply id wraps, and counts them.
func TestOneLowRequests(t *testing.T) {
	clock, err := zkemu.New(zkemu.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer clock.Close()
	addr, err := clock.ListenTCP("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	b := zk.AppendFrame(nil, zk.Packet{Command: zk.CmdConnect})
	binary.LittleEndian.PutUint16(b[zk.FramePrefixSize+2:], zk.ChecksumOneLow(b[zk.FramePrefixSize:]))
	conn.Write(b)
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	raw, err := zk.NewFrameReader(conn).Next()
	if err != nil {
		t.Fatal(err)
	}
	if p, err := zk.ParsePacket(raw); err != nil || p.Command != zk.AckOK {
		t.Fatalf("CONNECT with a one-low checksum: %s, %v", zk.CommandName(p.Command), err)
	}
	if got := clock.ChecksumVariants(); got != 1 {
		t.Errorf("ChecksumVariants = %d, want 1", got)
	}
}

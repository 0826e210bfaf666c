package zkemu

import (
	"encoding/binary"
	"testing"

	"github.com/kaoqin/kaoqin/devices/zk"
)

type nopPeer struct{ packets int }

func (p *nopPeer) send(pkts [][]byte) { p.packets += len(pkts) }
func (p *nopPeer) reset()             {}

// FuzzRequest hands the clock any request in an open session: it answers without panic, and its
// tables stay what a client can read (every user encodes in the layout, the sets add up).
func FuzzRequest(f *testing.F) {
	u, _ := zk.EncodeUser(nil, zk.User{UID: 2, UserID: "2002", Name: "B"}, 72, zk.GBK)
	for _, s := range []struct {
		cmd  uint16
		data []byte
	}{
		{zk.CmdUserWRQ, u}, {zk.CmdUserWRQ, u[:28]}, {zk.CmdDeleteUser, []byte{1, 0}},
		{zk.CmdOptionsWRQ, []byte("SDKBuild=1")}, {zk.CmdOptionsRRQ, []byte("~SerialNumber\x00")},
		{zk.CmdGetPinWidth, []byte(" P")}, {zk.CmdPrepareBuffer, []byte{1, 13, 0, 0, 0, 0, 0, 0, 0, 0, 0}},
		{zk.CmdReadBuffer, []byte{0, 0, 0, 0, 0xc0, 0xff, 0, 0}}, {zk.CmdSetTime, []byte{1, 2, 3, 4}},
		{zk.CmdRegEvent, []byte{1, 0, 0, 0}}, {zk.CmdClearData, nil},
	} {
		f.Add(s.cmd, s.data, false)
		f.Add(s.cmd, s.data, true)
	}
	f.Fuzz(func(t *testing.T, cmd uint16, data []byte, oneLow bool) {
		c, err := New(Config{Users: []zk.User{{UID: 1, UserID: "1", Name: "A"}}})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		peer := &nopPeer{}
		c.handle(peer, nil, zk.Packet{Command: zk.CmdConnect})
		var sess uint16
		for id := range c.sessions {
			sess = id
		}
		// Through the parser, as the bytes arrive.
		b := zk.AppendPacket(nil, zk.Packet{Command: cmd, Session: sess, ReplyID: 1, Data: data})
		if oneLow {
			binary.LittleEndian.PutUint16(b[2:], zk.ChecksumOneLow(b))
		}
		p, ok := c.parse(b)
		if !ok {
			t.Fatalf("a request with the %v checksum refused", map[bool]string{true: "one-low", false: "SDK"}[oneLow])
		}
		before := peer.packets
		c.handle(peer, nil, p)
		if cmd != zk.AckOK && peer.packets == before {
			t.Fatalf("%s got no answer", zk.CommandName(cmd))
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		for _, u := range c.users {
			if _, err := zk.EncodeUser(nil, u, c.cfg.UserSize, c.cfg.Encoding); err != nil {
				t.Fatalf("user %+v no longer encodes: %v", u, err)
			}
		}
		set, _ := c.set(zk.CmdUserTempRRQ)
		if len(set) != 4+len(c.users)*c.cfg.UserSize {
			t.Fatalf("user set of %d bytes for %d users", len(set), len(c.users))
		}
	})
}

package zk

import (
	"context"
	"encoding/binary"
	"errors"
	"net"
	"runtime"
	"testing"
	"time"
)

// scripted is a clock that answers CONNECT and GET_FREE_SIZES normally and everything else with
// whatever reply returns (raw bytes written as they are), to feed the client what no honest clock
// sends.
func scripted(t *testing.T, reply func(p Packet) []byte) *Client {
	return scriptedOpts(t, Options{}, reply)
}

func scriptedOpts(t *testing.T, opts Options, reply func(p Packet) []byte) *Client {
	t.Helper()
	cl, srv := net.Pipe()
	t.Cleanup(func() { cl.Close(); srv.Close() })
	go func() {
		fr := NewFrameReader(srv)
		for {
			raw, err := fr.Next()
			if err != nil {
				return
			}
			p, _ := ParsePacket(raw)
			var out []byte
			switch p.Command {
			case CmdConnect:
				out = AppendFrame(nil, Packet{Command: AckOK, Session: 9, ReplyID: p.ReplyID})
			case CmdGetFreeSizes:
				b := make([]byte, 80)
				binary.LittleEndian.PutUint32(b[8*4:], 10)
				binary.LittleEndian.PutUint32(b[16*4:], 100)
				out = AppendFrame(nil, Packet{Command: AckOK, Session: 9, ReplyID: p.ReplyID, Data: b})
			case CmdExit:
				srv.Write(AppendFrame(nil, Packet{Command: AckOK, Session: 9, ReplyID: p.ReplyID}))
				return
			default:
				out = reply(p)
			}
			if _, err := srv.Write(out); err != nil {
				return
			}
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	opts.Network, opts.Timeout = "tcp", time.Second
	c, err := Connect(ctx, cl, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func ack(p Packet, code uint16, data []byte) []byte {
	return AppendFrame(nil, Packet{Command: code, Session: 9, ReplyID: p.ReplyID, Data: data})
}

func TestHostileReplies(t *testing.T) {
	le := binary.LittleEndian
	for _, tc := range []struct {
		name   string
		reply  func(p Packet) []byte
		want   error
		broken bool
		strict bool
	}{
		{"wrapper claims 4 GiB", func(p Packet) []byte {
			return []byte{0x50, 0x50, 0x82, 0x7d, 0xff, 0xff, 0xff, 0xff}
		}, ErrFrame, true, false},
		{"wrapper magic wrong", func(p Packet) []byte {
			return []byte{0x50, 0x50, 0x82, 0x7e, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
		}, ErrFrame, true, false},
		// On TCP a checksum error leaves the stream in step: the link stays up. Strict refuses
		// the reply; by default it is taken (here: a set far beyond the limit).
		{"bad checksum, strict", func(p Packet) []byte {
			b := ack(p, AckOK, []byte{1, 2, 3, 4, 5, 6, 7, 8})
			b[10] ^= 1
			return b
		}, ErrChecksum, false, true},
		{"bad checksum", func(p Packet) []byte {
			b := ack(p, AckOK, []byte{1, 2, 3, 4, 5, 6, 7, 8})
			b[10] ^= 1
			return b
		}, ErrTooLarge, false, false},
		{"set claims 2 GiB", func(p Packet) []byte {
			return ack(p, AckOK, le.AppendUint32([]byte{0}, 0x7fffffff))
		}, ErrTooLarge, false, false},
		{"set beyond the clock's capacity", func(p Packet) []byte {
			// 100 records of capacity can never take 10 MiB.
			return ack(p, AckOK, le.AppendUint32([]byte{0}, 10<<20))
		}, ErrTooLarge, false, false},
		{"chunk bigger than asked", func(p Packet) []byte {
			if p.Command == CmdPrepareBuffer {
				return ack(p, AckOK, le.AppendUint32([]byte{0}, 404))
			}
			return ack(p, CmdPrepareData, le.AppendUint32(nil, 1<<30))
		}, ErrMalformed, false, false},
		{"length prefix beyond the set", func(p Packet) []byte {
			return ack(p, CmdData, le.AppendUint32(nil, 1<<30))
		}, ErrMalformed, false, false},
		{"records fit no layout", func(p Packet) []byte {
			return ack(p, CmdData, append(le.AppendUint32(nil, 41), make([]byte, 41)...))
		}, ErrMalformed, false, false},
		{"ACK_ERROR", func(p Packet) []byte { return ack(p, AckError, nil) }, &ReplyError{}, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := scriptedOpts(t, Options{Strict: tc.strict}, tc.reply)
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, err := c.Attendance(context.Background())
			runtime.ReadMemStats(&after)
			if re := (*ReplyError)(nil); errors.As(tc.want, &re) {
				if !errors.As(err, &re) || re.Code != AckError || re.Command != CmdPrepareBuffer {
					t.Fatalf("got %v, want *ReplyError{PREPARE_BUFFER, ACK_ERROR}", err)
				}
			} else if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if got := after.TotalAlloc - before.TotalAlloc; got > 1<<20 {
				t.Errorf("allocated %d bytes on a hostile reply, want < 1 MiB", got)
			}
			_, err = c.Time(context.Background())
			if broken := errors.Is(err, ErrClosed); broken != tc.broken {
				t.Errorf("next call: %v; broken = %v, want %v", err, broken, tc.broken)
			}
		})
	}
}

package zkemu_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/kaoqin/kaoqin/devices/zk"
	"github.com/kaoqin/kaoqin/devices/zk/zkemu"
)

// A clock that admits one session refuses a second CONNECT while the first is open, and admits
// the next one after the first ends.
func TestMaxSessions(t *testing.T) {
	clock, err := zkemu.New(zkemu.Config{MaxSessions: 1, Location: time.UTC})
	if err != nil {
		t.Fatal(err)
	}
	defer clock.Close()
	addr, err := clock.ListenTCP("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	opts := zk.Options{Network: "tcp", Address: addr.String()}
	first, err := zk.Dial(ctx, opts)
	if err != nil {
		t.Fatalf("first session: %v", err)
	}
	_, err = zk.Dial(ctx, opts)
	var re *zk.ReplyError
	if !errors.As(err, &re) || re.Code != zk.AckError {
		t.Fatalf("second session while the first is open: got %v, want ACK_ERROR", err)
	}
	if got := clock.Refused(); got != 1 {
		t.Errorf("Refused: got %d, want 1", got)
	}
	first.Close()
	for deadline := time.Now().Add(5 * time.Second); clock.Sessions() > 0; {
		if time.Now().After(deadline) {
			t.Fatal("the first session is still open after Close")
		}
		time.Sleep(10 * time.Millisecond)
	}
	third, err := zk.Dial(ctx, opts)
	if err != nil {
		t.Fatalf("session after the first ended: %v", err)
	}
	third.Close()
}

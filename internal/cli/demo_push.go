package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/kaoqin/kaoqin/devices/zkpush"
	"github.com/kaoqin/kaoqin/devices/zkpush/pushemu"
	"github.com/kaoqin/kaoqin/internal/demo"
)

// demoPush is the demo's ZKTeco PUSH clock: it calls the daemon's push listener, sets its own
// time from the handshake (it starts three minutes off), and uploads each day's punches.
type demoPush struct {
	listen string
	sn     string
	clock  *pushemu.Clock
	cancel context.CancelFunc
	done   chan struct{}
}

func newDemoPush(d *demoRun) (*demoPush, error) {
	addr, err := resolveListen("127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &demoPush{listen: addr, sn: "DEMOPUSH0001"}
	p.clock = pushemu.New(pushemu.Config{Server: "http://" + addr, SN: p.sn, Location: d.loc, ClockError: 3 * time.Minute})
	return p, nil
}

func (p *demoPush) describe() string {
	return fmt.Sprintf("clock %s calling http://%s", p.sn, p.listen)
}
func (p *demoPush) configLine() string { return fmt.Sprintf("push: {listen: '%s'}\n", p.listen) }
func (p *demoPush) clockConfig(c demo.Clock) string {
	return fmt.Sprintf("  - {name: %s, protocol: zk-push, serial_number: %s}\n", c.Name, p.sn)
}

// start runs the clock's firmware loop once the daemon listens.
func (p *demoPush) start() {
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel, p.done = cancel, make(chan struct{})
	go func() { defer close(p.done); p.clock.Run(ctx, nil) }()
}

func (p *demoPush) stop() {
	if p.cancel != nil {
		p.cancel()
		<-p.done
	}
}

func (p *demoPush) punch(pp demo.Punch) error {
	p.clock.Add(zkpush.Record{UserID: pp.UserID, Time: pp.Time, Status: 0, Verify: 1})
	return nil
}

// flush wakes the upload after a day's punches were added.
func (p *demoPush) flush() { p.clock.Wake() }

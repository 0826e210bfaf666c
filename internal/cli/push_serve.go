package cli

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/kaoqin/kaoqin/ingest"
	"github.com/kaoqin/kaoqin/internal/config"
	"github.com/kaoqin/kaoqin/internal/store"
)

// startPush serves ZKTeco PUSH clocks on cfg.Push.Listen when it is set. The returned stop shuts
// the listener down and waits for the uploads being stored; call it before the store closes.
func (d *daemon) startPush(ctx context.Context, cfg *config.Config, st *store.Store, stored func()) (stop func(), err error) {
	if cfg.Push.Listen == "" {
		for _, c := range cfg.Clocks {
			if c.Protocol == "zk-push" {
				d.log.Warn("zk-push clock configured but push.listen is empty: nothing receives it", "clock", c.Name)
			}
		}
		return func() {}, nil
	}
	ln, err := net.Listen("tcp", cfg.Push.Listen)
	if err != nil {
		return nil, fmt.Errorf("push listener: %w", err)
	}
	d.push = ingest.NewReceiver(ingest.PushOptions{Store: st, Metrics: d.ingestMetric, PushMetrics: ingest.NewPushMetrics(d.reg),
		Logger: d.log, Location: cfg.Location(), Stored: stored, Delay: cfg.Push.Delay.Std(),
		TransInterval: int(cfg.Push.TransInterval.Std() / time.Minute), ErrorDelay: cfg.Push.ErrorDelay.Std()})
	d.push.Apply(cfg.Clocks)
	pctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := d.push.Serve(pctx, ln); err != nil {
			d.log.Error("push listener stopped", "err", err)
		}
	}()
	d.log.Info("push listener serving zk-push clocks", "push", ln.Addr().String())
	return func() { cancel(); <-done }, nil
}

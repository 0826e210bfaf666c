package cli

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kaoqin/kaoqin/internal/config"
	"github.com/kaoqin/kaoqin/internal/store"
)

// Several daemons on one database (a Galera cluster): the daemon's identity, the leader lease
// that runs the singletons (the finalising pass and sweep, the monthly report), and what the store
// says about retries and database nodes on /metrics.

// leaderLease is the lease of the daemon that runs the jobs one daemon must do alone.
const leaderLease = "leader/jobs"

// identity is the name this daemon holds leases under: ingest.identity, else host/pid. A
// configured identity gets a suffix drawn at each start: two daemons given the same config file,
// identity included, must still never hold one lease as one owner (both would read the clock and
// both pass the fence).
func identity(cfg *config.Config) string {
	if cfg.Ingest.Identity != "" {
		return cfg.Ingest.Identity + "#" + startTag
	}
	return store.DefaultIdentity()
}

var startTag = func() string {
	var b [3]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}()

// startLeader takes and renews the leader lease until ctx ends; held tells whether this daemon
// holds it now.
func startLeader(ctx context.Context, cfg *config.Config, st *store.Store, reg prometheus.Registerer, log *slog.Logger) (held func() bool) {
	l := store.NewLeader(st, leaderLease, identity(cfg), cfg.Ingest.Lease.Std(), log)
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "kaoqin_leader",
		Help: "1 while this daemon holds the leader lease and runs the finalising pass, the sweep and the monthly report."})
	reg.MustRegister(g)
	l.OnChange = func(h bool) {
		if h {
			g.Set(1)
		} else {
			g.Set(0)
		}
	}
	l.Try(ctx)
	go l.Run(ctx)
	return l.Held
}

// storeCollector exports the store's retries and its database node.
type storeCollector struct {
	st             *store.Store
	retries, moves *prometheus.Desc
	node           *prometheus.Desc
}

func newStoreCollector(st *store.Store) *storeCollector {
	return &storeCollector{st: st,
		retries: prometheus.NewDesc("kaoqin_store_tx_retries_total",
			"Transactions run again after a conflict, by cause: 1213 (deadlock or Galera certification conflict), 1205 (lock wait timeout), 1047 (node not ready), conn (connection lost before commit).",
			[]string{"cause"}, nil),
		moves: prometheus.NewDesc("kaoqin_store_node_moves_total",
			"Times the store left a database node that failed or was not ready for another (database.addresses).", nil, nil),
		node: prometheus.NewDesc("kaoqin_store_node_info",
			"1, labelled with the database node (database.addresses) new connections go to.", []string{"address"}, nil),
	}
}

func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.retries
	ch <- c.moves
	ch <- c.node
}

func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	r := c.st.Retries()
	for _, cause := range []string{"1213", "1205", "1047", "conn"} {
		ch <- prometheus.MustNewConstMetric(c.retries, prometheus.CounterValue, float64(r[cause]), cause)
	}
	if addr, moves := c.st.Node(); addr != "" {
		ch <- prometheus.MustNewConstMetric(c.moves, prometheus.CounterValue, float64(moves))
		ch <- prometheus.MustNewConstMetric(c.node, prometheus.GaugeValue, 1, addr)
	}
}

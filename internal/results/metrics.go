package results

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the worker's series: an operator sees results falling behind the inputs (a growing
// queue, failing days) before HR sees stale numbers.
type Metrics struct {
	Recomputed prometheus.Counter
	Failed     prometheus.Counter
	Queued     prometheus.Gauge
	LastPass   prometheus.Gauge
}

// NewMetrics creates the series and registers them on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Recomputed: prometheus.NewCounter(prometheus.CounterOpts{Name: "kaoqin_results_recomputed_total",
			Help: "Staff days recomputed by this daemon's worker."}),
		Failed: prometheus.NewCounter(prometheus.CounterOpts{Name: "kaoqin_results_failures_total",
			Help: "Staff days whose recomputation failed (retried when their claim expires)."}),
		Queued: prometheus.NewGauge(prometheus.GaugeOpts{Name: "kaoqin_results_pending",
			Help: "Staff days waiting to be recomputed, shared by every daemon on the database."}),
		LastPass: prometheus.NewGauge(prometheus.GaugeOpts{Name: "kaoqin_results_last_pass_timestamp_seconds",
			Help: "When this daemon's worker last finished a pass over the queue."}),
	}
	reg.MustRegister(m.Recomputed, m.Failed, m.Queued, m.LastPass)
	return m
}

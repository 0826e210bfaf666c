package notify

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the notices' series: an operator sees a channel failing (a robot's key revoked, the
// mail server refusing) before the people waiting for their notices do.
type Metrics struct {
	Sent     *prometheus.CounterVec
	Failed   *prometheus.CounterVec
	Pending  prometheus.Gauge
	LastPass prometheus.Gauge
}

// NewMetrics creates the series and registers them on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Sent: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kaoqin_notify_sent_total",
			Help: "Notices this daemon sent, by channel (email, wecom, dingtalk)."}, []string{"channel"}),
		Failed: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kaoqin_notify_failures_total",
			Help: "Attempts to send a notice that failed, by channel (each is retried with backoff)."}, []string{"channel"}),
		Pending: prometheus.NewGauge(prometheus.GaugeOpts{Name: "kaoqin_notify_pending",
			Help: "Notices not sent yet, shared by every daemon on the database."}),
		LastPass: prometheus.NewGauge(prometheus.GaugeOpts{Name: "kaoqin_notify_last_pass_timestamp_seconds",
			Help: "When this daemon's sender last looked at the outbox."}),
	}
	for _, ch := range []string{ChannelEmail, ChannelWeCom, ChannelDingTalk} {
		m.Sent.WithLabelValues(ch)
		m.Failed.WithLabelValues(ch)
	}
	reg.MustRegister(m.Sent, m.Failed, m.Pending, m.LastPass)
	return m
}

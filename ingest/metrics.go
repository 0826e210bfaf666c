package ingest

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the per-clock health series the alert rules in configs/alerts.yml read. Push
// clocks report into the same series, so one set of rules covers every clock.
type Metrics struct {
	Up              *prometheus.GaugeVec
	LastSuccess     *prometheus.GaugeVec
	LastContact     *prometheus.GaugeVec
	ReadInterval    *prometheus.GaugeVec
	ReadDuration    *prometheus.HistogramVec
	ReadErrors      *prometheus.CounterVec
	Records         *prometheus.GaugeVec
	LogUsed         *prometheus.GaugeVec
	Skew            *prometheus.GaugeVec
	PunchesStored   *prometheus.CounterVec
	Duplicates      *prometheus.CounterVec
	UnknownUsers    *prometheus.CounterVec
	LastPunch       *prometheus.GaugeVec
	TimeSyncs       *prometheus.CounterVec
	StoreErrors     prometheus.Counter
	PunchWindowOpen prometheus.Gauge
	// ChecksumVariants counts replies of a ZKTeco clock whose checksum is not the SDK's:
	// variant "one_low" (accepted) or "mismatch" (taken on TCP, resent on UDP).
	ChecksumVariants *prometheus.CounterVec

	own *ownershipMetrics // who reads which clock (ownership.go)
}

// NewMetrics creates the series and registers them on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	clock := []string{"clock"}
	m := &Metrics{
		Up: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "kaoqin_clock_up",
			Help: "1 if the last read of the clock (or, for a push clock, its last contact within three poll intervals) succeeded."}, clock),
		LastSuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "kaoqin_clock_last_success_timestamp_seconds",
			Help: "When the clock was last read (or last delivered, for push clocks) successfully."}, clock),
		LastContact: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "kaoqin_clock_last_contact_timestamp_seconds",
			Help: "When the clock last answered or called, successful or not."}, clock),
		ReadInterval: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "kaoqin_clock_read_interval_seconds",
			Help: "The clock's scheduled read interval (for push clocks, its poll interval)."}, clock),
		ReadDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "kaoqin_clock_read_duration_seconds",
			Help:    "How long one read of the clock took, successful or not.",
			Buckets: []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120}}, clock),
		ReadErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kaoqin_clock_read_errors_total",
			Help: "Failed reads by kind: connect, timeout, auth, protocol, malformed (the clock's data contradicts itself, e.g. fewer records than it counts), database."}, []string{"clock", "kind"}),
		Records: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "kaoqin_clock_records",
			Help: "Attendance records held by the clock."}, clock),
		LogUsed: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "kaoqin_clock_log_used_ratio",
			Help: "Records held by the clock over its record capacity."}, clock),
		Skew: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "kaoqin_clock_skew_seconds",
			Help: "The clock's time minus the server's, at the last read."}, clock),
		PunchesStored: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kaoqin_clock_punches_stored_total",
			Help: "New punches stored from the clock."}, clock),
		Duplicates: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kaoqin_clock_duplicates_skipped_total",
			Help: "Punches read again that were already stored."}, clock),
		UnknownUsers: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kaoqin_clock_unknown_user_punches_total",
			Help: "Punches stored from clock user ids that match no staff member (see kaoqin devices unknown)."}, clock),
		LastPunch: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "kaoqin_clock_last_punch_timestamp_seconds",
			Help: "The time of the newest punch stored from the clock."}, clock),
		TimeSyncs: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kaoqin_clock_time_syncs_total",
			Help: "Times the daemon set the clock's time."}, clock),
		StoreErrors: prometheus.NewCounter(prometheus.CounterOpts{Name: "kaoqin_store_write_errors_total",
			Help: "Reads of clocks whose punches could not be written because the database failed (clocks keep them)."}),
		PunchWindowOpen: prometheus.NewGauge(prometheus.GaugeOpts{Name: "kaoqin_schedule_punch_window_open",
			Help: "1 while a sign-in or sign-out window of a working day is open."}),
		ChecksumVariants: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kaoqin_clock_checksum_variant_total",
			Help: "Replies of the clock whose checksum was not the vendor SDK's: one_low (the variant of pyzk-derived firmware, accepted) or mismatch."},
			[]string{"clock", "variant"}),
	}
	reg.MustRegister(m.Up, m.LastSuccess, m.LastContact, m.ReadInterval, m.ReadDuration, m.ReadErrors, m.Records,
		m.LogUsed, m.Skew, m.PunchesStored, m.Duplicates, m.UnknownUsers, m.LastPunch, m.TimeSyncs, m.StoreErrors,
		m.PunchWindowOpen, m.ChecksumVariants)
	m.own = newOwnershipMetrics(reg)
	return m
}

// ReadErrorKinds are the values of kaoqin_clock_read_errors_total's kind label.
var ReadErrorKinds = []string{"connect", "timeout", "auth", "protocol", "malformed", "database"}

// zero exports every counter of a configured clock at 0 before its first event, so that rate()
// and increase() see the first error instead of a series that appears already at 1, and so that
// an alert on a counter has a series to read from the start.
func (m *Metrics) zero(clock string) {
	for _, k := range ReadErrorKinds {
		m.ReadErrors.WithLabelValues(clock, k)
	}
	for _, v := range []*prometheus.CounterVec{m.PunchesStored, m.Duplicates, m.UnknownUsers, m.TimeSyncs} {
		v.WithLabelValues(clock)
	}
	for _, v := range []string{"one_low", "mismatch"} {
		m.ChecksumVariants.WithLabelValues(clock, v)
	}
}

// forget drops the series of a clock removed from the config.
func (m *Metrics) forget(clock string) {
	l := prometheus.Labels{"clock": clock}
	for _, v := range []interface {
		DeletePartialMatch(prometheus.Labels) int
	}{m.Up, m.LastSuccess, m.LastContact, m.ReadInterval, m.ReadDuration, m.ReadErrors, m.Records, m.LogUsed,
		m.Skew, m.PunchesStored, m.Duplicates, m.UnknownUsers, m.LastPunch, m.TimeSyncs, m.ChecksumVariants} {
		v.DeletePartialMatch(l)
	}
}

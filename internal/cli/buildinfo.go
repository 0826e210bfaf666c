package cli

import (
	"runtime"
	"runtime/debug"

	"github.com/prometheus/client_golang/prometheus"
)

// build is what the binary knows of its own build: the version set with -ldflags, the commit it was
// built from (Go records vcs.revision when `go build` runs in a git work tree; "+dirty" when the
// tree had changes) and the Go version.
type build struct {
	Version, Revision, GoVersion string
}

func buildInfo() build {
	b := build{Version: Version, Revision: "unknown", GoVersion: runtime.Version()}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return b
	}
	modified := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			b.Revision = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	if modified && b.Revision != "unknown" {
		b.Revision += "+dirty"
	}
	if b.Version == "dev" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		b.Version = bi.Main.Version
	}
	return b
}

// newBuildInfo is kaoqin_build_info, always 1, its labels saying which build runs (Prometheus's
// own convention, as go_build_info and prometheus_build_info).
func newBuildInfo() prometheus.Collector {
	b := buildInfo()
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "kaoqin_build_info",
		Help:        "A metric with a constant 1 labelled by the version, the commit and the Go version kaoqin was built with.",
		ConstLabels: prometheus.Labels{"version": b.Version, "revision": b.Revision, "goversion": b.GoVersion}})
	g.Set(1)
	return g
}

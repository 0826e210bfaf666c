package cli

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/kaoqin/kaoqin/devices/zk/zkemu"
)

// alertRefs is what one alert rule reads: metric names, and the labels it joins or shows.
type alertRefs struct {
	alert   string
	metrics []string
	labels  []string
}

var (
	metricRef = regexp.MustCompile(`\bkaoqin_[a-z0-9_]+`)
	labelRef  = regexp.MustCompile(`\$labels\.([a-zA-Z_][a-zA-Z0-9_]*)`)
	joinRef   = regexp.MustCompile(`\b(?:on|by|ignoring|without|group_left|group_right)\s*\(([^)]*)\)`)
)

// alertRules reads configs/alerts.yml: each rule's metric names and the labels it uses.
func alertRules(t *testing.T) []alertRefs {
	t.Helper()
	data, err := os.ReadFile("../../configs/alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Groups []struct {
			Rules []struct {
				Alert       string            `yaml:"alert"`
				Expr        string            `yaml:"expr"`
				Annotations map[string]string `yaml:"annotations"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("configs/alerts.yml: %v", err)
	}
	var out []alertRefs
	for _, g := range doc.Groups {
		for _, r := range g.Rules {
			a := alertRefs{alert: r.Alert, metrics: sortedUniq(metricRef.FindAllString(r.Expr, -1))}
			var labels []string
			for _, m := range joinRef.FindAllStringSubmatch(r.Expr, -1) {
				for _, l := range strings.Split(m[1], ",") {
					if l = strings.TrimSpace(l); l != "" {
						labels = append(labels, l)
					}
				}
			}
			for _, text := range r.Annotations {
				for _, m := range labelRef.FindAllStringSubmatch(text, -1) {
					labels = append(labels, m[1])
				}
			}
			a.labels = sortedUniq(labels)
			if len(a.metrics) == 0 {
				t.Errorf("alert %s reads no kaoqin_ metric: %q", r.Alert, r.Expr)
			}
			out = append(out, a)
		}
	}
	if len(out) == 0 {
		t.Fatal("configs/alerts.yml has no alert rules")
	}
	return out
}

// promtoolSeries lists the metric names the promtool unit tests feed the rules.
func promtoolSeries(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile("../../ingest/testdata/alerts_test.yml")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Tests []struct {
			InputSeries []struct {
				Series string `yaml:"series"`
			} `yaml:"input_series"`
		} `yaml:"tests"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("ingest/testdata/alerts_test.yml: %v", err)
	}
	var names []string
	for _, tc := range doc.Tests {
		for _, s := range tc.InputSeries {
			name, _, _ := strings.Cut(s.Series, "{")
			names = append(names, strings.TrimSpace(name))
		}
	}
	return sortedUniq(names)
}

// scrapedSeries is one /metrics scrape: per metric name, its series' label sets and values.
type scrapedSeries map[string][]metricSample

type metricSample struct {
	labels map[string]string
	value  float64
}

var metricsLine = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)`)
var metricsLabel = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"`)

func scrapeSeries(t *testing.T, addr string) scrapedSeries {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET /metrics: %d %v", resp.StatusCode, err)
	}
	out := scrapedSeries{}
	for _, line := range strings.Split(string(body), "\n") {
		m := metricsLine.FindStringSubmatch(line)
		if m == nil || strings.HasPrefix(line, "#") {
			continue
		}
		v, err := strconv.ParseFloat(m[3], 64)
		if err != nil {
			t.Fatalf("/metrics line %q: %v", line, err)
		}
		s := metricSample{labels: map[string]string{}, value: v}
		for _, p := range metricsLabel.FindAllStringSubmatch(m[2], -1) {
			s.labels[p[1]] = p[2]
		}
		out[m[1]] = append(out[m[1]], s)
	}
	return out
}

// Every metric and label configs/alerts.yml reads, and every series its promtool tests feed it,
// is one the daemon exports: a renamed metric or label fails here instead of leaving an alert
// that can never fire. Counters an alert reads are exported at 0 from the start, so increase()
// sees the first error. Series that only exist after a first successful read (a last-success or
// last-punch time) must exist once the clock was read.
func TestAlertRulesReadExportedSeries(t *testing.T) {
	rules := alertRules(t)
	names := promtoolSeries(t)
	for _, r := range rules {
		names = append(names, r.metrics...)
	}
	names = sortedUniq(names)

	emu, err := zkemu.New(zkemu.Config{Location: shanghai})
	if err != nil {
		t.Fatal(err)
	}
	defer emu.Close()
	if err := emu.AddPunch("7", wallT("2026-07-01 08:01:00"), 1, 0); err != nil {
		t.Fatal(err)
	}
	za, err := emu.ListenTCP("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "kaoqin.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`database: {driver: sqlite, dsn: '%s'}
http: {listen: '127.0.0.1:0'}
clocks:
  - {name: hall, protocol: zk, transport: tcp, address: '%s', read: '@every 1s', timeout: 10s}
`, filepath.Join(dir, "k.db"), za)), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, errs := run(t, "migrate", "--config", cfg); code != 0 {
		t.Fatal(errs)
	}
	d := startDaemonEnv(t, kaoqinBinary(t), cfg)
	defer d.kill(t, syscall.SIGTERM)
	var addr string
	select {
	case addr = <-d.addr:
	case err := <-d.done:
		t.Fatalf("daemon exited: %v\n%s", err, d.log.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("daemon did not start:\n%s", d.log.String())
	}

	// From the start: every counter the rules read, at 0.
	first := scrapeSeries(t, addr)
	for _, name := range names {
		if !strings.HasSuffix(name, "_total") {
			continue
		}
		ss := first[name]
		if len(ss) == 0 {
			t.Errorf("counter %s (read by the alert rules) is not exported at the start", name)
		}
		for _, s := range ss {
			if s.value != 0 {
				t.Errorf("counter %s%v at the start: got %v, want 0", name, s.labels, s.value)
			}
		}
	}

	// After the first read: every name, and every label a rule joins on or shows.
	var got scrapedSeries
	var missing []string
	deadline := time.Now().Add(30 * time.Second)
	for {
		got, missing = scrapeSeries(t, addr), nil
		for _, name := range names {
			if len(got[name]) == 0 {
				missing = append(missing, name)
			}
		}
		if len(missing) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if len(missing) > 0 {
		t.Fatalf("series read by configs/alerts.yml or its promtool tests but not exported by the daemon: %v", missing)
	}
	for _, r := range rules {
		for _, l := range r.labels {
			if l == "instance" || l == "job" {
				continue // added by Prometheus to every series it scrapes
			}
			found := false
			for _, name := range r.metrics {
				for _, s := range got[name] {
					if _, ok := s.labels[l]; ok {
						found = true
					}
				}
			}
			if !found {
				t.Errorf("alert %s uses label %q, which none of its series %v carries", r.alert, l, r.metrics)
			}
		}
	}
}

func sortedUniq(xs []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, x := range xs {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	sort.Strings(out)
	return out
}

package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestExampleIsValid(t *testing.T) {
	c, err := Load("../../configs/kaoqin.example.yaml")
	if err != nil {
		t.Fatalf("example config: %v", err)
	}
	if got, want := len(c.Clocks), 4; got != want {
		t.Errorf("clocks: got %d, want %d", got, want)
	}
	if got := c.Clocks[2].Serial.Baud; got != 9600 {
		t.Errorf("defaulted baud: got %d, want 9600", got)
	}
	if got, want := c.Location().String(), "Asia/Shanghai"; got != want {
		t.Errorf("zone: got %s, want %s", got, want)
	}
}

func TestDefaults(t *testing.T) {
	c, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	if c.Database.Driver != "sqlite" || c.Database.DSN != "./data/kaoqin.db" {
		t.Errorf("database: got %+v, want sqlite ./data/kaoqin.db", c.Database)
	}
	if c.Schedule.Winter.PM.Start != "14:00" || c.Schedule.Summer.PM.SignOut != "17:40-18:10" {
		t.Errorf("schedule defaults differ from rules.md R1-R2: %+v", c.Schedule)
	}
	if c.Ingest.SkewThreshold.Std() != time.Minute {
		t.Errorf("skew threshold: got %v, want 1m", c.Ingest.SkewThreshold.Std())
	}
	// An empty file is the defaults too.
	c2, err := Parse("empty.yaml", nil)
	if err != nil || c2.TimeZone != "Asia/Shanghai" {
		t.Errorf("empty file: got %v %v, want defaults", c2, err)
	}
}

// Each invalid case and its exact message: file, line, key and the fix.
func TestInvalid(t *testing.T) {
	cases := map[string]string{
		"invalid-addresses.yaml":           `invalid-addresses.yaml:6: database.addresses[1]: "10.0.0.12" is not host:port; write it like 10.0.0.11:3306`,
		"invalid-addresses-sqlite.yaml":    `invalid-addresses-sqlite.yaml:4: database.addresses: several addresses are for a MySQL/MariaDB cluster; set driver: mysql or remove addresses`,
		"invalid-lease.yaml":               `invalid-lease.yaml:3: ingest.lease: 1s is out of range; use 3s to 5m (15s: a dead daemon's clocks are taken over within about 20 s)`,
		"invalid-notify-audience.yaml":     `invalid-notify-audience.yaml:5: notify.wecom[0].to[1]: unknown audience "boss"; use supervisor, center_leader, hr, window_head[:WINDOW], unit_leader[:UNIT], staff:ID or *`,
		"invalid-notify-smtp-plain.yaml":   `invalid-notify-smtp-plain.yaml:7: notify.smtp.tls: none with a username would send the password unencrypted; use starttls or tls`,
		"invalid-notify-time.yaml":         `invalid-notify-time.yaml:2: notify.not_signed_in_at[1]: "8点55" is not a time of day; write it as HH:MM, such as 08:55`,
		"invalid-notify-wecom-secret.yaml": `invalid-notify-wecom-secret.yaml:5: notify.wecom[0].secret: WeCom robots do not sign their requests; only dingtalk robots take a secret`,
		"invalid-cron.yaml":                `invalid-cron.yaml:5: clocks[0].read: bad cron spec "every minute": expected exactly 5 fields, found 2: [every minute]; use five fields such as "* * * * *" or "@every 1m"`,
		"invalid-driver.yaml":              `invalid-driver.yaml:2: database.driver: unknown driver "postgres"; use sqlite or mysql`,
		"invalid-duplicate-device-id.yaml": `invalid-duplicate-device-id.yaml:9: clocks[1].device_id: device id 1 is already used by clock "a" on bus /dev/ttyUSB0; every clock on a bus needs its own id`,
		"invalid-duration.yaml":            `invalid-duration.yaml:2: ingest.skew_threshold: "a minute" is not a duration; write it like 30s, 5m or 1h`,
		"invalid-hours.yaml":               `invalid-hours.yaml:3: schedule.winter.am.end: working hours end (08:30) before they start (12:00)`,
		"invalid-push-delay.yaml":          `invalid-push-delay.yaml:3: push.delay: 1.5s is out of range; use whole seconds from 1s to 1h (clocks poll every 3 to 8 s in realtime mode)`,
		"invalid-protocol.yaml":            `invalid-protocol.yaml:3: clocks[0].protocol: unknown protocol "hikvision"; use zk, zk-push or anviz`,
		"invalid-push-comm-key.yaml":       `invalid-push-comm-key.yaml:5: clocks[0].push_comm_key: only zk-push clocks send a push comm key; use comm_key for protocol zk`,
		"invalid-push-no-serial.yaml":      `invalid-push-no-serial.yaml:4: clocks[0].serial_number: a zk-push clock is recognised by its serial number; give it`,
		"invalid-push-no-listen.yaml":      `invalid-push-no-listen.yaml:6: clocks[1].protocol: zk-push clock "face" calls the server, but push.listen is empty, so nothing would receive it; set push.listen to the address the clocks reach, such as 0.0.0.0:8081`,
		"invalid-reports-group.yaml":       `invalid-reports-group.yaml:3: reports.group: no group "kaoqin-no-such-group" on this machine; create it (groupadd kaoqin-no-such-group) and add the daemon's user to it, or leave reports.group empty`,
		"invalid-season.yaml":              `invalid-season.yaml:3: schedule.summer_to: summer ends (05-01) before it starts (10-01); summer_from must come first in the year`,
		"invalid-serial-no-port.yaml":      `invalid-serial-no-port.yaml:2: clocks[0].serial.port: a serial clock needs its port, such as /dev/ttyUSB0`,
		"invalid-timezone.yaml":            `invalid-timezone.yaml:1: timezone: unknown time zone "Mars/Olympus"; use an IANA name such as Asia/Shanghai`,
		"invalid-type.yaml":                `invalid-type.yaml:2: database.max_open_conns: "many" is not a whole number`,
		"invalid-udp-anviz.yaml":           `invalid-udp-anviz.yaml:4: clocks[0].transport: "udp" does not carry protocol anviz; use serial or tcp`,
		"invalid-unknown-key.yaml":         `invalid-unknown-key.yaml:3: database.dns: unknown key; valid keys here are driver, dsn, max_open_conns, addresses`,
		"invalid-window-order.yaml":        `invalid-window-order.yaml:3: schedule.summer.am.sign_in: window 08:50-08:00 ends before it starts; write the earlier time first`,
		"invalid-window-overlap.yaml":      `invalid-window-overlap.yaml:3: schedule.winter.pm.sign_in: overlaps schedule.winter.am.sign_out; punch windows must not overlap and must follow each other in the day`,
		"invalid-yaml.yaml":                `invalid-yaml.yaml:2: not valid YAML: did not find expected key`,
	}
	files, _ := filepath.Glob("testdata/invalid-*.yaml")
	if len(files) != len(cases) {
		t.Errorf("testdata has %d invalid files, the table %d: every file needs its message", len(files), len(cases))
	}
	for name, want := range cases {
		t.Run(name, func(t *testing.T) {
			c, err := Load(filepath.Join("testdata", name))
			if err == nil {
				t.Fatalf("got config %v, want error %q", c, want)
			}
			got := strings.TrimPrefix(err.Error(), "testdata/")
			if got != want {
				t.Errorf("got  %s\nwant %s", got, want)
			}
		})
	}
}

func TestSecretNeverPrinted(t *testing.T) {
	c, err := Parse("k.yaml", []byte("clocks:\n  - {name: a, protocol: zk, address: '127.0.0.1:4370', comm_key: 424242}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Clocks[0].CommKey.Value != 424242 {
		t.Fatalf("comm key: got %d, want 424242", c.Clocks[0].CommKey.Value)
	}
	for _, s := range []string{c.Clocks[0].CommKey.String(), fmt.Sprintf("%v %+v", c.Clocks[0], c.Clocks[0])} {
		if strings.Contains(s, "424242") {
			t.Errorf("comm key printed: %s", s)
		}
	}
}

func TestMultipleProblemsAllReported(t *testing.T) {
	_, err := Parse("m.yaml", []byte("timezone: Nowhere/X\nclocks:\n  - {name: a, protocol: zk}\n  - {name: a, protocol: anviz, transport: serial, device_id: 0}\n"))
	ps, ok := err.(Problems)
	if !ok || len(ps) < 4 {
		t.Fatalf("got %v, want at least 4 problems", err)
	}
}

// Relative paths are taken from the config file's directory, whatever the working directory.
func TestPathsRelativeToFile(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name, yaml string
		dsn        string
		reports    string
		cert       string
	}{
		{"given", "database: {dsn: data/k.db}\nreports: {dir: out}\nhttp: {tls_cert: tls/c.pem, tls_key: tls/k.pem}\n",
			filepath.Join(dir, "data/k.db"), filepath.Join(dir, "out"), filepath.Join(dir, "tls/c.pem")},
		{"defaults", "timezone: Asia/Shanghai\n", filepath.Join(dir, "data/kaoqin.db"), filepath.Join(dir, "reports"), ""},
		{"absolute", "database: {dsn: /var/lib/kaoqin/kaoqin.db}\nreports: {dir: /srv/hr}\n", "/var/lib/kaoqin/kaoqin.db", "/srv/hr", ""},
		{"uri", "database: {dsn: 'file:k.db?mode=rwc'}\n", "file:" + filepath.Join(dir, "k.db") + "?mode=rwc", filepath.Join(dir, "reports"), ""},
		{"memory", "database: {dsn: ':memory:'}\n", ":memory:", filepath.Join(dir, "reports"), ""},
		{"mysql untouched", "database: {driver: mysql, dsn: 'k:pw@tcp(db:3306)/kaoqin'}\n", "k:pw@tcp(db:3306)/kaoqin", filepath.Join(dir, "reports"), ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(dir, "kaoqin.yaml")
			if err := os.WriteFile(path, []byte(c.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			cfg, err := Load(path)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Database.DSN != c.dsn || cfg.Reports.Dir != c.reports || cfg.HTTP.TLSCert != c.cert {
				t.Errorf("got dsn %q reports %q cert %q, want %q %q %q", cfg.Database.DSN, cfg.Reports.Dir, cfg.HTTP.TLSCert, c.dsn, c.reports, c.cert)
			}
		})
	}
}

// --config, then KAOQIN_CONFIG, then the system file, then the built-in defaults.
func TestResolveOrder(t *testing.T) {
	dir := t.TempDir()
	sys := filepath.Join(dir, "etc-kaoqin.yaml")
	old := SystemFile
	t.Cleanup(func() { SystemFile = old })
	SystemFile = sys
	cases := []struct {
		flag, env string
		sysExists bool
		file      string
		from      string
	}{
		{"a.yaml", "b.yaml", true, "a.yaml", "--config"},
		{"", "b.yaml", true, "b.yaml", "KAOQIN_CONFIG"},
		{"", "", true, sys, "default location"},
		{"", "", false, "", "no --config, KAOQIN_CONFIG or " + sys},
	}
	for _, c := range cases {
		t.Setenv(EnvVar, c.env)
		os.Remove(sys)
		if c.sysExists {
			if err := os.WriteFile(sys, nil, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		file, from := Resolve(c.flag)
		if file != c.file || from != c.from {
			t.Errorf("Resolve(%q) env %q sys %v: got %q (%s), want %q (%s)", c.flag, c.env, c.sysExists, file, from, c.file, c.from)
		}
	}
}

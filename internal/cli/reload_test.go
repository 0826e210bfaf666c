package cli

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"syscall"
	"testing"
	"time"

	"github.com/kaoqin/kaoqin/devices/zk/zkemu"
)

func scrape(t testing.TB, addr string) string {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func waitMetric(t *testing.T, addr string, re *regexp.Regexp, log *syncBuffer) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !re.MatchString(scrape(t, addr)) {
		if time.Now().After(deadline) {
			t.Fatalf("metrics never matched %v\n%s\nlog:\n%s", re, scrape(t, addr), log.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// SIGHUP re-reads the config: a clock added is read, a clock removed is dropped, and a bad config
// is rejected with the old one kept (and the failure exported).
func TestServeReloadsOnSIGHUP(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the daemon")
	}
	bin := kaoqinBinary(t)
	var addrs []string
	for i := 0; i < 2; i++ {
		c, err := zkemu.New(zkemu.Config{Location: shanghai})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.AddPunch("1", wallT("2026-07-06 08:00:00").Add(time.Duration(i)*time.Minute), 1, 0)
		a, _ := c.ListenTCP("127.0.0.1:0")
		addrs = append(addrs, a.String())
	}
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "kaoqin.yaml")
	head := fmt.Sprintf("database: {driver: sqlite, dsn: '%s'}\nhttp: {listen: '127.0.0.1:0'}\nclocks:\n", filepath.Join(dir, "k.db"))
	clock := func(name, addr string) string {
		return fmt.Sprintf("  - {name: %s, protocol: zk, address: '%s', read: '@every 1s'}\n", name, addr)
	}
	write := func(s string) {
		if err := os.WriteFile(cfgPath, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(head + clock("a", addrs[0]))
	if code, _, errs := run(t, "migrate", "--config", cfgPath); code != 0 {
		t.Fatal(errs)
	}
	d := startDaemon(t, bin, cfgPath)
	defer d.kill(t, syscall.SIGKILL)
	addr := <-d.addr
	waitMetric(t, addr, regexp.MustCompile(`kaoqin_clock_punches_stored_total\{clock="a"\} 1\n`), d.log)

	write(head + clock("a", addrs[0]) + clock("b", addrs[1]))
	d.cmd.Process.Signal(syscall.SIGHUP)
	waitMetric(t, addr, regexp.MustCompile(`kaoqin_clock_punches_stored_total\{clock="b"\} 1\n`), d.log)

	write(head + clock("b", addrs[1]) + "  - {name: c, protocol: hikvision}\n")
	d.cmd.Process.Signal(syscall.SIGHUP)
	waitMetric(t, addr, regexp.MustCompile(`kaoqin_config_last_reload_successful 0\n`), d.log)
	if m := scrape(t, addr); !regexp.MustCompile(`kaoqin_clock_up\{clock="a"\} 1`).MatchString(m) {
		t.Errorf("after a rejected reload clock a is gone; the old config must be kept:\n%s", m)
	}

	write(head + clock("b", addrs[1]))
	d.cmd.Process.Signal(syscall.SIGHUP)
	waitMetric(t, addr, regexp.MustCompile(`kaoqin_config_last_reload_successful 1\n`), d.log)
	if m := scrape(t, addr); regexp.MustCompile(`kaoqin_clock_up\{clock="a"\}`).MatchString(m) {
		t.Errorf("clock a removed from the config is still exported:\n%s", m)
	}
}

package cli

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kaoqin/kaoqin/devices/zk"
	"github.com/kaoqin/kaoqin/devices/zk/zkemu"
)

func TestPrintable(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"ZK0001", "ZK0001"},
		{"考勤机 三楼", "考勤机 三楼"},
		{"\x1b]0;owned\x07", `\x1b]0;owned\x07`},
		{"a\x1b[2Jb", `a\x1b[2Jb`},
		{"tab\tnl\ncr\r", `tab\x09nl\x0acr\x0d`},
		{"c1\u009b31m", `c1\u009b31m`},
		{"del\x7f", `del\x7f`},
		{"rlo\u202egnp.exe", `rlo\u202egnp.exe`},
		{`back\slash`, `back\x5cslash`},
		{"bad\xffutf8", `bad\xffutf8`},
		{"raw\x9b31m", `raw\x9b31m`},
	} {
		if got := printable(tc.in); got != tc.want {
			t.Errorf("printable(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestDevicesInfoHostileClock: a clock whose identity carries terminal escapes (retitle the
// window, clear the screen, C1 CSI, a direction override) is shown with them neutralised.
func TestDevicesInfoHostileClock(t *testing.T) {
	emu, err := zkemu.New(zkemu.Config{
		SerialNumber: "SN\x1b]0;owned\x07", DeviceName: "\x1b[2J\x1b[H门禁", Platform: "P\u009b31m", MAC: "00:17\u202e:61",
		Firmware: "Ver\r\n6.60", Location: shanghai})
	if err != nil {
		t.Fatal(err)
	}
	defer emu.Close()
	a, err := emu.ListenTCP("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	code, out, errs := run(t, "devices", "info", "--address", a.String())
	if code != 0 {
		t.Fatalf("info: %d\n%s%s", code, out, errs)
	}
	if regexp.MustCompile("[\x00-\x08\x0b-\x1f\x7f\u0080-\u009f\u202a-\u202e]").MatchString(out) {
		t.Errorf("control characters reached the terminal:\n%q", out)
	}
	for _, want := range []string{`SN\x1b]0;owned\x07`, `\x1b[2J\x1b[H门禁`, `P\u009b31m`, `00:17\u202e:61`, `Ver\x0d\x0a6.60`} {
		if !strings.Contains(out, want) {
			t.Errorf("info lacks %q:\n%s", want, out)
		}
	}
}

// TestDevicesAgainstFirmwareVariants: a clock that answers absent options with nothing and sends
// one-low checksums is identified; one whose log holds fewer records than it counts is not pulled.
func TestDevicesAgainstFirmwareVariants(t *testing.T) {
	emu, err := zkemu.New(zkemu.Config{ChecksumOneLow: true, AbsentEmpty: true, RecordCountOffset: 150,
		Options: map[string]string{"~DeviceName": ""}, Location: shanghai})
	if err != nil {
		t.Fatal(err)
	}
	defer emu.Close()
	for i := range 3 {
		emu.AddPunch("1", wallT("2026-07-06 08:00:00").Add(time.Duration(i)*time.Minute), 1, 0)
	}
	a, err := emu.ListenTCP("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	code, out, errs := run(t, "devices", "info", "--address", a.String())
	if code != 0 || !strings.Contains(out, "ZKEMU0000001") || !strings.Contains(out, "records        153 of") {
		t.Fatalf("info: %d\n%s%s", code, out, errs)
	}
	file := t.TempDir() + "/log.csv"
	code, out, errs = run(t, "devices", "pull", "--address", a.String(), "--out", file)
	if code != 1 || !strings.Contains(errs, "the clock counts 153 before the read and 153 after") {
		t.Errorf("pull: got %d %q %q, want 1 and both counts", code, out, errs)
	}
}

// TestSimZKPunchEvery: sim zk --punch-every sends live punches to a subscribed client, in the
// layouts given on the command line.
func TestSimZKPunchEvery(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errs syncBuffer
	done := make(chan int)
	go func() {
		done <- Run(ctx, []string{"sim", "zk", "--listen", "127.0.0.1:0", "--users", "2", "--record-size", "16",
			"--user-size", "28", "--event-size", "12", "--punch-every", "20ms"}, &out, &errs)
	}()
	m := waitFor(t, &out, regexp.MustCompile(`listening on tcp (\S+)\n`))
	dctx, dcancel := context.WithTimeout(ctx, 10*time.Second)
	defer dcancel()
	c, err := zk.Dial(dctx, zk.Options{Address: m[1]})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	got := make(chan zk.Record, 16)
	sctx, scancel := context.WithCancel(dctx)
	go c.Subscribe(sctx, func(r zk.Record) {
		select {
		case got <- r:
		default: // the test has what it needs
		}
	})
	select {
	case r := <-got:
		if r.UserID != "1" && r.UserID != "2" {
			t.Errorf("event for user %q, want 1 or 2", r.UserID)
		}
	case <-dctx.Done():
		t.Fatal("no live punch within 10 s")
	}
	scancel()
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("sim exit %d: %s", code, errs.String())
	}
}

package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kaoqin/kaoqin/devices/zkpush"
	"github.com/kaoqin/kaoqin/devices/zkpush/pushemu"
)

// kaoqin serve takes a PUSH clock on push.listen: the clock's punches are stored, an operator's
// command reaches it and its result is listed, and an unconfigured serial number is listed by
// devices unknown.
func TestServePushClock(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "kaoqin.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`database: {driver: sqlite, dsn: '%s'}
http: {listen: '127.0.0.1:0'}
push: {listen: '127.0.0.1:0'}
clocks:
  - {name: lobby, protocol: zk-push, serial_number: PUSH0001}
`, filepath.Join(dir, "k.db"))), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, errs := run(t, "migrate", "--config", cfg); code != 0 {
		t.Fatal(errs)
	}
	ctx, cancel := context.WithCancel(context.Background())
	logs := &syncBuffer{}
	done := make(chan int, 1)
	go func() { done <- Run(ctx, []string{"serve", "--config", cfg}, &syncBuffer{}, logs) }()
	defer func() { cancel(); <-done }()
	addr := waitFor(t, logs, regexp.MustCompile(`push listener serving zk-push clocks" push=(\S+)`))[1]

	emu := pushemu.New(pushemu.Config{Server: "http://" + addr, SN: "PUSH0001", Location: shanghai})
	for i := 0; i < 30; i++ {
		emu.Add(zkpush.Record{UserID: fmt.Sprint(i % 4), Time: wallT("2026-07-06 08:00:00").Add(time.Duration(i) * time.Minute), Verify: 1})
	}
	if err := emu.Handshake(ctx); err != nil {
		t.Fatal(err)
	}
	if n, err := emu.Upload(ctx); err != nil || n != 30 {
		t.Fatalf("upload: got %d %v, want 30", n, err)
	}
	s := openForTest(t, cfg)
	if n, _ := s.CountPunches(ctx, "lobby"); n != 30 {
		t.Errorf("stored: got %d, want 30", n)
	}

	if code, out, errs := run(t, "devices", "command", "--config", cfg, "lobby", "INFO"); code != 0 || !strings.Contains(out, "queued command 1 for lobby: INFO") {
		t.Errorf("devices command INFO: got %d %q %q", code, out, errs)
	}
	if code, _, errs := run(t, "devices", "command", "lobby", "backfill", "--from", "2026-07-06", "--config", cfg); code != 0 {
		t.Errorf("devices command backfill: got %d %q", code, errs)
	}
	if cmds, err := emu.Poll(ctx); err != nil || len(cmds) != 2 {
		t.Fatalf("poll: got %v %v, want INFO and the back-fill", cmds, err)
	}
	code, out, _ := run(t, "devices", "command", "--config", cfg, "lobby")
	if code != 0 || !strings.Contains(out, "SerialNumber=PUSH0001") ||
		!regexp.MustCompile(`done .* 30  DATA QUERY ATTLOG StartTime=2026-07-06 00:00:00 EndTime=2026-07-06 23:59:59`).MatchString(out) {
		t.Errorf("devices command list: got %d\n%s", code, out)
	}
	for _, bad := range [][]string{{"lobby", "FORMAT"}, {"lobby", "backfill"}, {"lobby", "INFO", "--from", "2026-07-06"},
		{"lobby", "backfill", "--from", "2026-07-06", "--to", "2026-07-01"}, {"nope", "INFO"}, {}} {
		if code, _, _ := run(t, append([]string{"devices", "command", "--config", cfg}, bad...)...); code != exitUsage {
			t.Errorf("devices command %v: got exit %d, want %d", bad, code, exitUsage)
		}
	}

	if err := pushemu.New(pushemu.Config{Server: "http://" + addr, SN: "STRANGER9"}).Handshake(ctx); err == nil {
		t.Error("unknown serial number: handshake accepted")
	}
	code, out, _ = run(t, "devices", "unknown", "--config", cfg)
	if code != 0 || !regexp.MustCompile(`STRANGER9\s+127\.0\.0\.1:\d+\s+1`).MatchString(out) {
		t.Errorf("devices unknown: got %d\n%s", code, out)
	}
}

// sim zk-push runs a clock that uploads its CSV punches to the daemon, in each firmware's manner.
func TestSimZKPush(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "kaoqin.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`database: {driver: sqlite, dsn: '%s'}
http: {listen: '127.0.0.1:0'}
push: {listen: '127.0.0.1:0'}
clocks:
  - {name: lobby, protocol: zk-push, serial_number: SIM1}
  - {name: old, protocol: zk-push, serial_number: SIM2}
  - {name: gate, protocol: zk-push, serial_number: SIM3}
`, filepath.Join(dir, "k.db"))), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, errs := run(t, "migrate", "--config", cfg); code != 0 {
		t.Fatal(errs)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	logs := &syncBuffer{}
	done := make(chan int, 1)
	go func() { done <- Run(ctx, []string{"serve", "--config", cfg}, &syncBuffer{}, logs) }()
	addr := waitFor(t, logs, regexp.MustCompile(`push listener serving zk-push clocks" push=(\S+)`))[1]
	punches := writeFile(t, "p.csv", "user_id,time,verify,state\n1,2026-07-06 08:00:00,15,0\n2,2026-07-06 08:01:00,1,1\n")
	s := openForTest(t, cfg)
	for _, m := range []struct {
		clock, sn string
		flags     []string
	}{
		{"lobby", "SIM1", nil},
		{"old", "SIM2", []string{"--aspx", "--fields", "5", "--multiline-results"}},
		{"gate", "SIM3", []string{"--access-control", "--fields", "10"}},
	} {
		simCtx, simCancel := context.WithCancel(ctx)
		simOut := &syncBuffer{}
		simDone := make(chan int, 1)
		go func() {
			simDone <- Run(simCtx, append([]string{"sim", "zk-push", "--config", cfg, "--server", "http://" + addr, "--sn", m.sn, "--punches", punches}, m.flags...), simOut, simOut)
		}()
		deadline := time.Now().Add(10 * time.Second)
		for {
			if n, _ := s.CountPunches(ctx, m.clock); n == 2 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("sim zk-push %v: punches not stored\n%s\n%s", m.flags, simOut.String(), logs.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
		simCancel()
		if code := <-simDone; code != 0 {
			t.Errorf("sim zk-push %v: exit %d\n%s", m.flags, code, simOut.String())
		}
		ps, err := s.Punches(ctx, m.clock, wallT("2026-07-06 00:00:00"), wallT("2026-07-07 00:00:00"))
		if err != nil || len(ps) != 2 || ps[0].Verify != 15 || ps[1].State != 1 || ps[0].Unread != "" {
			t.Errorf("sim zk-push %v: stored %+v %v, want verify and state as in the CSV", m.flags, ps, err)
		}
	}
	cancel()
	<-done
	if code, _, errs := run(t, "sim", "zk-push", "--server", "http://"+addr); code != exitUsage || !strings.Contains(errs, "--sn") {
		t.Errorf("sim zk-push without --sn: got %d %q", code, errs)
	}
	if code, _, errs := run(t, "sim", "zk-push", "--server", "http://"+addr, "--sn", "X", "--fields", "11"); code != exitUsage || !strings.Contains(errs, "--fields 11") {
		t.Errorf("sim zk-push --fields 11: got %d %q", code, errs)
	}
}

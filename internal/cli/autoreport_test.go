package cli

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kaoqin/kaoqin/attendance"
	"github.com/kaoqin/kaoqin/internal/store"
	"github.com/kaoqin/kaoqin/internal/store/storetest"
)

// On the 1st the daemon writes last month's report, keeping the earlier ones.
func TestMonthlyReportWritten(t *testing.T) {
	st := storetest.SQLite(t)
	ctx := context.Background()
	if _, err := st.ImportStaff(ctx, []store.RosterEntry{{Staff: store.Staff{StaffID: "1001", Name: "张三", Window: "婚姻登记", Unit: "民政局"}}}, "t"); err != nil {
		t.Fatal(err)
	}
	rules := attendance.DefaultRules()
	dir := t.TempDir()
	m := &monthlyReports{dir: dir, loc: storetest.Location, st: st, rules: &rules, log: slog.New(slog.DiscardHandler),
		now: func() time.Time { return time.Date(2026, 8, 1, 6, 0, 0, 0, storetest.Location) }, gid: -1}
	files, err := m.write(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 3 {
		t.Fatalf("files: got %v, want xlsx, csv and html", files)
	}
	for _, f := range files {
		if !strings.Contains(filepath.Base(f), "kaoqin-2026-07-made-20260801-0600.") {
			t.Errorf("file %s is not named after July 2026 and its making", f)
		}
		if fi, err := os.Stat(f); err != nil || fi.Size() == 0 {
			t.Errorf("file %s: %v", f, err)
		}
	}
	csv, _ := os.ReadFile(files[1])
	if !strings.Contains(string(csv), "张三") {
		t.Errorf("csv lacks the staff member:\n%s", csv)
	}
	// A second run (a rerun, or a second daemon) keeps the first files.
	m.now = func() time.Time { return time.Date(2026, 8, 1, 7, 0, 0, 0, storetest.Location) }
	if _, err := m.write(ctx); err != nil {
		t.Fatal(err)
	}
	all, _ := filepath.Glob(filepath.Join(dir, "kaoqin-2026-07-*"))
	if len(all) != 6 {
		t.Errorf("after a second run: got %d files, want 6 (earlier ones kept)", len(all))
	}
}

// Reports are readable by reports.group (HR's share) and nobody else: files 0640 and directory
// 0750, both of that group, whatever the daemon's umask.
func TestMonthlyReportGroup(t *testing.T) {
	st := storetest.SQLite(t)
	ctx := context.Background()
	rules := attendance.DefaultRules()
	// A group the test's user may give files to: a supplementary one when there is one (as root:
	// any), else its own.
	gid := os.Getgid()
	if os.Geteuid() == 0 {
		gid = 65534 // nogroup
	} else if gs, _ := os.Getgroups(); len(gs) > 1 {
		for _, g := range gs {
			if g != gid {
				gid = g
				break
			}
		}
	}
	for _, c := range []struct {
		name    string
		gid     int
		wantGID int
	}{{"own group", -1, os.Getegid()}, {"reports.group", gid, gid}} {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "reports")
			m := &monthlyReports{dir: dir, loc: storetest.Location, st: st, rules: &rules, log: slog.New(slog.DiscardHandler),
				now: func() time.Time { return time.Date(2026, 8, 1, 6, 0, 0, 0, storetest.Location) }, gid: c.gid}
			files, err := m.write(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range append([]string{dir}, files...) {
				fi, err := os.Stat(f)
				if err != nil {
					t.Fatal(err)
				}
				want := os.FileMode(0o640)
				if f == dir {
					want = 0o750
				}
				if got := fi.Mode().Perm(); got != want {
					t.Errorf("%s: mode %o, want %o", filepath.Base(f), got, want)
				}
				if got := int(fi.Sys().(*syscall.Stat_t).Gid); got != c.wantGID {
					t.Errorf("%s: group %d, want %d", filepath.Base(f), got, c.wantGID)
				}
			}
		})
	}
}

package cli

import (
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kaoqin/kaoqin/internal/csvio"
	"github.com/kaoqin/kaoqin/internal/store"
)

// TestEvidenceParity: the classify golden month (September 2026) reported from the files and,
// after importing the same files into the database and recomputing, from the database: the
// findings detail is the same row for row, evidence included (a slip's filing time and
// approvals, punches, patrols, failure reports), but for how each names its sources (file:line
// against the database's ids).
func TestEvidenceParity(t *testing.T) {
	ctx := context.Background()
	d := "testdata/classify/"
	dir := t.TempDir()
	cfg := filepath.Join(dir, "kaoqin.yaml")
	conf := "database: {driver: sqlite, dsn: '" + filepath.Join(dir, "k.db") + "'}\n" +
		"clocks:\n  - {name: hall, protocol: zk, address: '127.0.0.1:4370'}\n  - {name: annex, protocol: zk, address: '127.0.0.1:4371'}\n"
	if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"migrate", "--config", cfg}, {"import", "staff", "--config", cfg, d + "staff.csv"},
		{"import", "leave", "--config", cfg, d + "leave.csv"}, {"import", "patrol", "--config", cfg, d + "patrol.csv"},
		{"import", "failures", "--config", cfg, d + "failures.csv"}, {"import", "signins", "--config", cfg, d + "manual.csv"}} {
		if code, _, errs := run(t, args...); code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errs)
		}
	}
	// The punches as the clocks would give them: clock, the staff member's user id on it, time.
	st, err := store.Open(ctx, "sqlite", filepath.Join(dir, "k.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	tb, err := csvio.ReadFile(d+"staff.csv", csvio.StaffColumns...)
	if err != nil {
		t.Fatal(err)
	}
	staff, _ := csvio.ParseStaff(tb)
	userID := map[[2]string]string{}
	for _, s := range staff {
		for _, c := range s.Clocks {
			userID[[2]string{s.ID, c.Clock}] = c.UserID
		}
	}
	pt, err := csvio.ReadFile(d+"punches.csv", "staff_id", "time")
	if err != nil {
		t.Fatal(err)
	}
	punches, ps := csvio.ParsePunches(pt, func(string) bool { return true })
	if len(ps) > 0 {
		t.Fatal(ps)
	}
	var rows []store.Punch
	for _, p := range punches {
		rows = append(rows, store.Punch{Clock: p.Device, UserID: userID[[2]string{p.StaffID, p.Device}], Time: p.Time, StaffID: p.StaffID})
	}
	if _, err := st.InsertPunches(ctx, rows, nil); err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"hall", "annex"} {
		if err := st.TouchClockRead(ctx, c, time.Date(2026, 10, 1, 9, 0, 0, 0, time.UTC)); err != nil {
			t.Fatal(err)
		}
	}
	if code, _, errs := run(t, "recompute", "--from", "2026-09-01", "--to", "2026-09-30", "--config", cfg); code != 0 {
		t.Fatalf("recompute: %d %s", code, errs)
	}
	fromFiles, fromDB := filepath.Join(dir, "files.csv"), filepath.Join(dir, "db.csv")
	if code, _, errs := run(t, append([]string{"report", "month", "--month", "2026-09", "--format", "csv", "--out", filepath.Join(dir, "f.csv"),
		"--detail-out", fromFiles}, classifyFiles()...)...); code != 0 {
		t.Fatalf("report from files: %d %s", code, errs)
	}
	if code, _, errs := run(t, "report", "month", "--month", "2026-09", "--format", "csv", "--out", filepath.Join(dir, "d.csv"),
		"--detail-out", fromDB, "--config", cfg); code != 0 {
		t.Fatalf("report from the database: %d %s", code, errs)
	}
	refs := regexp.MustCompile(`［[^］]*］`)
	read := func(path string) [][]string {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		recs, err := csv.NewReader(f).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			for i := range r {
				if !strings.Contains(r[i], "［签") && !strings.Contains(r[i], "［重复") && !strings.Contains(r[i], "［窗口外") {
					r[i] = refs.ReplaceAllString(r[i], "［…］")
				} else {
					r[i] = regexp.MustCompile(`［(?:[^签重窗］][^］]*)］`).ReplaceAllString(r[i], "［…］")
				}
			}
		}
		return recs
	}
	a, b := read(fromFiles), read(fromDB)
	if len(a) != len(b) {
		t.Fatalf("detail rows: %d from the files, %d from the database", len(a), len(b))
	}
	if len(a) < 20 {
		t.Fatalf("only %d detail rows: the golden month has more findings", len(a))
	}
	head := a[0]
	for i := range a {
		for k := range a[i] {
			if a[i][k] != b[i][k] {
				t.Errorf("row %d (%s %s %s), %s:\n files    %q\n database %q", i, a[i][0], a[i][4], a[i][6], head[k], a[i][k], b[i][k])
			}
		}
	}
}

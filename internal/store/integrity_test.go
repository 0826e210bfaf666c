package store_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kaoqin/kaoqin/internal/store"
)

// migrated makes a SQLite database at path with the schema and enough punches to fill many pages.
func migrated(t *testing.T, path string, punches int) {
	t.Helper()
	s, err := store.Open(ctx, "sqlite", path, store.Options{SkipSchemaCheck: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.SyncClocks(ctx, []store.Clock{{Name: "hall", Protocol: "zk"}}); err != nil {
		t.Fatal(err)
	}
	ps := make([]store.Punch, punches)
	base := wall("2026-07-06 08:00:00")
	for i := range ps {
		ps[i] = store.Punch{Clock: "hall", UserID: fmt.Sprint(i % 300), Time: base.Add(time.Duration(i) * time.Minute)}
	}
	if _, err := s.InsertPunches(ctx, ps, nil); err != nil {
		t.Fatal(err)
	}
}

// The database holds password hashes and session tokens: created 0600, and so are its WAL and
// shared-memory files and a backup.
func TestSQLiteFileModes(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "k.db")
	migrated(t, path, 10)
	s, err := store.Open(ctx, "sqlite", path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Backup(ctx, filepath.Join(dir, "backup.db")); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm", filepath.Join(dir, "backup.db")} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Errorf("%s: %v", p, err)
			continue
		}
		if got := fi.Mode().Perm(); got != 0o600 {
			t.Errorf("%s: mode %o, want 600", filepath.Base(p), got)
		}
	}
	if err := s.Backup(ctx, filepath.Join(dir, "backup.db")); err == nil {
		t.Errorf("backup over an existing file: got nil, want an error")
	}
}

// A backup made while the database is open is a complete database at the same schema.
func TestBackupRestores(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "k.db")
	migrated(t, path, 500)
	s, err := store.Open(ctx, "sqlite", path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	backup := filepath.Join(dir, "b.db")
	if err := s.Backup(ctx, backup); err != nil {
		t.Fatal(err)
	}
	s.Close()
	b, err := store.Open(ctx, "sqlite", backup, store.Options{})
	if err != nil {
		t.Fatalf("open the backup: %v", err)
	}
	defer b.Close()
	if n, err := b.CountPunches(ctx, "hall"); err != nil || n != 500 {
		t.Errorf("punches in the backup: got %d, %v; want 500", n, err)
	}
	if err := b.QuickCheck(ctx); err != nil {
		t.Errorf("quick_check of the backup: %v", err)
	}
}

// A file damaged in the middle is refused at open, with what the check found and what to do.
func TestDamagedSQLiteRefused(t *testing.T) {
	cases := []struct {
		name   string
		damage func(b []byte, pageSize int) // b is the whole file
	}{
		{"middle pages overwritten", func(b []byte, ps int) {
			n := len(b) / ps
			for p := n / 3; p < n/3+3; p++ {
				for i := p * ps; i < (p+1)*ps; i++ {
					b[i] = byte(i*7 + 3)
				}
			}
		}},
		{"one leaf page near the end", func(b []byte, ps int) {
			p := len(b)/ps - 2
			for i := p*ps + 8; i < (p+1)*ps; i++ {
				b[i] = 0xff
			}
		}},
		{"page headers zeroed", func(b []byte, ps int) {
			n := len(b) / ps
			for p := 2; p < n; p += 2 {
				copy(b[p*ps:p*ps+12], make([]byte, 12))
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "k.db")
			migrated(t, path, 3000)
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(path + "-wal"); err == nil {
				t.Fatal("the WAL was not checkpointed at close; the damage would not be where the test puts it")
			}
			pageSize := int(b[16])<<8 | int(b[17])
			if pageSize == 1 {
				pageSize = 65536
			}
			if len(b)/pageSize < 20 {
				t.Fatalf("database has %d pages; the test needs more to damage its middle", len(b)/pageSize)
			}
			c.damage(b, pageSize)
			if err := os.WriteFile(path, b, 0o600); err != nil {
				t.Fatal(err)
			}
			s, err := store.Open(ctx, "sqlite", path, store.Options{})
			if err == nil {
				s.Close()
				t.Fatal("damaged database opened; want ErrDamaged")
			}
			if !errors.Is(err, store.ErrDamaged) {
				t.Fatalf("got %v, want ErrDamaged", err)
			}
			t.Log(err)
			for _, want := range []string{path, "restore the last backup"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("message %q does not say %q", err, want)
				}
			}
		})
	}
}

// The check is bounded in time: one cut short opens the database and says so.
func TestQuickCheckBounded(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k.db")
	migrated(t, path, 20000)
	s, err := store.Open(ctx, "sqlite", path, store.Options{QuickCheckTimeout: time.Nanosecond})
	if err != nil {
		t.Fatalf("open with a cut-short check: %v", err)
	}
	defer s.Close()
	if got := s.Checked(); !strings.Contains(got, "did not finish") {
		t.Errorf("Checked: got %q, want it to say the check did not finish", got)
	}
	s2, err := store.Open(ctx, "sqlite", path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if got := s2.Checked(); !strings.HasPrefix(got, "PRAGMA quick_check: ok") {
		t.Errorf("Checked: got %q, want ok", got)
	}
}

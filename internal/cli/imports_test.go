package cli

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/kaoqin/kaoqin/internal/config"
	"github.com/kaoqin/kaoqin/internal/store"
)

// withStaff makes a config (backend sqlite or mysql) with staff 1001 and 1002 on clock hall, and
// returns it with the store it names.
func withStaff(t *testing.T, backend string) (string, *store.Store) {
	t.Helper()
	cfgPath := tempConfig(t, backend)
	if code, _, errs := run(t, "migrate", "--config", cfgPath); code != 0 {
		t.Fatalf("migrate: %d %s", code, errs)
	}
	roster := writeFile(t, "staff.csv", "staff_id,name,window,unit,clock_user_ids\n1001,甲,民政,民政局,hall:1\n1002,乙,民政,民政局,hall:2\n")
	if code, _, errs := run(t, "import", "staff", "--config", cfgPath, roster); code != 0 {
		t.Fatalf("import staff: %d %s", code, errs)
	}
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	s, err := store.Open(context.Background(), cfg.Database.Driver, cfg.Database.DSN, store.Options{Location: cfg.Location()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return cfgPath, s
}

func backendsFor(t *testing.T, fn func(t *testing.T, backend string)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, "sqlite") })
	t.Run("mysql", func(t *testing.T) { fn(t, "mysql") })
}

func auditCount(t *testing.T, s *store.Store, entity string) int {
	t.Helper()
	log, err := s.AuditLog(context.Background(), 1000)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range log {
		if e.Entity == entity && e.Action == "add" {
			n++
		}
	}
	return n
}

func TestImportInputs(t *testing.T) {
	ctx := context.Background()
	july := func(s string) time.Time { t, _ := time.Parse(store.WallLayout, "2026-07-"+s); return t }
	tests := []struct {
		kind, good, bad string
		wantBad         []string // every FILE:LINE message, in order
		entity          string
		count           func(s *store.Store) int
	}{
		{"leave",
			"staff_id,type,start,end,filed_at,approvals\n1001,personal,2026-07-07 08:00:00,2026-07-07 12:00:00,2026-07-06 17:00:00,window_head;center_leader\n1002,sick,2026-07-08 08:00:00,2026-07-09 18:00:00,2026-07-08 08:00:00,phone_notice@2026-07-08 07:50:00;window_head;center_leader\n",
			"staff_id,type,start,end,filed_at,approvals\n1001,personal,2026-07-07 08:00:00,2026-07-07 12:00:00,2026-07-06 17:00:00,window_head\n9999,holiday,2026-07-07 08:00:00,2026-07-07 12:00:00,2026-07-06 17:00:00,window_head\n1002,sick,2026-07-08 25:00:00,2026-07-08 12:00:00,2026-07-08 08:00:00,blessing\n",
			[]string{`:3: unknown staff_id "9999": not in the staff file`, `:3: unknown leave type "holiday"`, `:4: start: `, `:4: approvals: `},
			"leave_slip", func(s *store.Store) int {
				l, _ := s.LeaveSlips(ctx, "", july("01 00:00:00"), july("31 00:00:00"))
				return len(l)
			}},
		{"patrol",
			"staff_id,from,to,observation\n1001,2026-07-07 10:00:00,2026-07-07 10:30:00,absent\n1002,2026-07-07 10:00:00,2026-07-07 10:05:00,present\n",
			"staff_id,from,to,observation\n1001,2026-07-07 10:00:00,2026-07-07 10:30:00,asleep\n1002,2026-07-07 11:00:00,2026-07-07 10:05:00,present\n,2026-07-07 10:00:00,2026-07-07 10:05:00,present\n",
			[]string{`:2: observation "asleep" is neither present nor absent`, `:3: to 2026-07-07 10:05:00 is before from`, `:4: staff_id is empty`},
			"patrol", func(s *store.Store) int {
				l, _ := s.Patrols(ctx, "", july("01 00:00:00"), july("31 00:00:00"))
				return len(l)
			}},
		{"failures",
			"staff_id,from,to,reported_at,clock\n1001,2026-07-07 08:00:00,2026-07-07 08:50:00,2026-07-07 09:00:00,\n*,2026-07-08 08:00:00,2026-07-08 08:50:00,2026-07-08 09:00:00,hall\n",
			"staff_id,from,to,reported_at,clock\n*,2026-07-08 08:00:00,2026-07-08 08:50:00,2026-07-08 09:00:00,lobby\n1003,2026-07-07 08:00:00,2026-07-07 08:50:00,yesterday,\n",
			[]string{`:2: unknown clock "lobby"`, `:3: unknown staff_id "1003"`, `:3: reported_at: `},
			"failure_report", func(s *store.Store) int {
				l, _ := s.FailureReports(ctx, "", july("01 00:00:00"), july("31 00:00:00"))
				return len(l)
			}},
		{"signins",
			"staff_id,time,reason,recorded_by\n1001,2026-07-07 08:25:00,finger not read,clerk-wang\n",
			"staff_id,time,reason,recorded_by\n1001,2026-07-07 08:25:00,,clerk-wang\n1002,2026-07-07,forgot,\n",
			[]string{`:2: reason is empty`, `:3: time: `, `:3: recorded_by is empty`},
			"manual_signin", func(s *store.Store) int {
				l, _ := s.ManualSignIns(ctx, "", july("01 00:00:00"), july("31 00:00:00"))
				return len(l)
			}},
	}
	for _, tt := range tests {
		t.Run(tt.kind, func(t *testing.T) {
			backendsFor(t, func(t *testing.T, backend string) {
				cfg, s := withStaff(t, backend)
				bad := writeFile(t, tt.kind+".csv", tt.bad)
				code, out, errs := run(t, "import", tt.kind, bad, "--config", cfg, "--actor", "clerk-wang")
				if code != 2 {
					t.Errorf("bad file: got exit %d (%q), want 2", code, out)
				}
				lines := strings.Split(strings.TrimSpace(errs), "\n")
				if len(lines) != len(tt.wantBad)+1 {
					t.Errorf("bad file: got %d lines of problems:\n%s\nwant %d problems and a summary", len(lines), errs, len(tt.wantBad))
				}
				for i, w := range tt.wantBad {
					if i >= len(lines) || !strings.HasPrefix(lines[i], bad+w[:strings.Index(w[1:], ":")+2]) || !strings.Contains(lines[i], w) {
						t.Errorf("bad file: problem %d got %q, want %s%s…", i, lines[min(i, len(lines)-1)], bad, w)
					}
				}
				if !strings.Contains(errs, "nothing was imported") {
					t.Errorf("bad file: stderr %q, want it to say nothing was imported", errs)
				}
				if n := tt.count(s); n != 0 {
					t.Errorf("bad file: %d rows stored, want 0", n)
				}
				if n := auditCount(t, s, tt.entity); n != 0 {
					t.Errorf("bad file: %d audit entries, want 0", n)
				}
				good := writeFile(t, tt.kind+".csv", tt.good)
				code, out, errs = run(t, "import", tt.kind, "--config", cfg, "--actor", "clerk-wang", good)
				want := strings.Count(tt.good, "\n") - 1
				if code != 0 || !strings.Contains(out, ": "+string(rune('0'+want))+" ") {
					t.Errorf("good file: got %d %q %q, want 0 and %d imported", code, out, errs, want)
				}
				if n := tt.count(s); n != want {
					t.Errorf("good file: %d rows stored, want %d", n, want)
				}
				if n := auditCount(t, s, tt.entity); n != want {
					t.Errorf("good file: %d audit entries, want %d", n, want)
				}
				ds, _ := s.DirtyDays(ctx)
				if len(ds) == 0 {
					t.Errorf("good file: no day marked for recomputation")
				}
			})
		})
	}
}

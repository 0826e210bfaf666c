package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kaoqin/kaoqin/internal/store"
	"github.com/kaoqin/kaoqin/internal/store/storetest"
)

// run runs the CLI in-process.
func run(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

// tempConfig writes a config using a fresh SQLite file (or the test MariaDB for backend mysql)
// with one configured zk clock, and returns its path.
func tempConfig(t *testing.T, backend string) string {
	t.Helper()
	dir := t.TempDir()
	db := "database: {driver: sqlite, dsn: '" + filepath.Join(dir, "k.db") + "'}\n"
	if backend == "mysql" {
		b := storetest.NewMySQLBackend(t)
		db = "database: {driver: mysql, dsn: '" + b.DSN + "'}\n"
	}
	cfg := db + "clocks:\n  - {name: hall, protocol: zk, address: '127.0.0.1:4370'}\n"
	path := filepath.Join(dir, "kaoqin.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// Usage is printed once, on stdout when asked for (-h, exit 0) and on stderr after a usage error
// (exit 2).
func TestUsageAndVersion(t *testing.T) {
	cases := []struct {
		args   []string
		code   int
		stdout string // in stdout, or "" for nothing on stdout
		stderr string // in stderr, or "" for nothing on stderr
	}{
		{nil, 2, "", "Commands:"},
		{[]string{"-h"}, 0, "Commands:", ""},
		{[]string{"version"}, 0, "kaoqin dev", ""},
		{[]string{"migrate", "-h"}, 0, "Usage: kaoqin migrate", ""},
		{[]string{"import", "staff", "-h"}, 0, "Usage: kaoqin import staff", ""},
		{[]string{"check-config", "-h"}, 0, "Usage: kaoqin check-config", ""},
		{[]string{"serve", "--help"}, 0, "Usage: kaoqin serve", ""},
		{[]string{"doctor", "-h"}, 0, "Usage: kaoqin doctor", ""},
		{[]string{"backup", "-h"}, 0, "Usage: kaoqin backup", ""},
		{[]string{"migrate", "--bogus"}, 2, "", "Usage: kaoqin migrate"},
		{[]string{"user", "add", "--nope"}, 2, "", "Usage: kaoqin user add"},
		{[]string{"classify", "-h"}, 0, "", ""},
	}
	for _, c := range cases {
		code, out, errs := run(t, c.args...)
		if code != c.code {
			t.Errorf("kaoqin %v: got exit %d, want %d", c.args, code, c.code)
		}
		for _, s := range []struct{ name, got, want string }{{"stdout", out, c.stdout}, {"stderr", errs, c.stderr}} {
			if s.want == "" && s.got != "" && c.args != nil && c.args[0] != "classify" {
				t.Errorf("kaoqin %v: got %s %q, want nothing there", c.args, s.name, s.got)
			}
			if !strings.Contains(s.got, s.want) {
				t.Errorf("kaoqin %v: got %s %q, want %q in it", c.args, s.name, s.got, s.want)
			}
		}
		if n := strings.Count(out+errs, "Usage:"); c.args != nil && c.args[0] != "classify" && c.args[0] != "version" && n != 1 {
			t.Errorf("kaoqin %v: usage printed %d times, want once:\n%s%s", c.args, n, out, errs)
		}
	}
	for _, args := range [][]string{{"frobnicate"}, {"import"}, {"import", "nothing"}, {"migrate", "--bogus"}} {
		if code, _, errs := run(t, args...); code != 2 || errs == "" {
			t.Errorf("kaoqin %v: got exit %d, stderr %q; want 2 with a message", args, code, errs)
		}
	}
}

func TestCheckConfig(t *testing.T) {
	code, out, errs := run(t, "check-config", "--config", "../../configs/kaoqin.example.yaml")
	if code != 0 || out != "ok\n" {
		t.Errorf("example: got %d %q %q, want 0 ok", code, out, errs)
	}
	code, out, errs = run(t, "check-config", "--config", "../config/testdata/invalid-protocol.yaml")
	want := `../config/testdata/invalid-protocol.yaml:3: clocks[0].protocol: unknown protocol "hikvision"; use zk, zk-push or anviz` + "\n"
	if code != 2 || out != "" || errs != want {
		t.Errorf("invalid: got %d %q %q, want 2 and %q", code, out, errs, want)
	}
	code, _, errs = run(t, "check-config", "--config", "does-not-exist.yaml")
	if code != 2 || !strings.Contains(errs, "does-not-exist.yaml: cannot read the config file") {
		t.Errorf("missing file: got %d %q", code, errs)
	}
}

func TestMigrateThenRefuseOldSchema(t *testing.T) {
	for _, backend := range []string{"sqlite", "mysql"} {
		t.Run(backend, func(t *testing.T) {
			cfg := tempConfig(t, backend)
			roster := writeFile(t, "staff.csv", "staff_id,name,window,unit\n1,A,W,U\n")
			code, _, errs := run(t, "import", "staff", "--config", cfg, roster)
			if code != 1 || !strings.Contains(errs, "run `kaoqin migrate`") {
				t.Fatalf("import before migrate: got %d %q, want 1 and advice to migrate", code, errs)
			}
			code, out, errs := run(t, "migrate", "--config", cfg)
			if code != 0 || !strings.HasPrefix(out, "applied ") {
				t.Fatalf("migrate: got %d %q %q", code, out, errs)
			}
			code, out, _ = run(t, "migrate", "--config", cfg)
			if code != 0 || !strings.HasPrefix(out, "applied 0 migrations") {
				t.Errorf("second migrate: got %d %q, want applied 0", code, out)
			}
		})
	}
}

func TestImportStaff(t *testing.T) {
	for _, backend := range []string{"sqlite", "mysql"} {
		t.Run(backend, func(t *testing.T) {
			cfg := tempConfig(t, backend)
			if code, _, errs := run(t, "migrate", "--config", cfg); code != 0 {
				t.Fatal(errs)
			}
			good := writeFile(t, "staff.csv", "\xEF\xBB\xBFstaff_id,name,window,unit,clock_user_ids\n"+
				"1001,张三,婚姻登记,民政局,hall:7\n1002,李四,社保窗口,人社局,\n")
			code, out, errs := run(t, "import", "staff", "--config", cfg, good)
			if code != 0 || !strings.Contains(out, "2 added") {
				t.Fatalf("good import: got %d %q %q", code, out, errs)
			}
			bad := writeFile(t, "bad.csv", "staff_id,name,window,unit,clock_user_ids\n"+
				"1003,王五,婚姻登记,民政局,\n"+ // fine on its own
				"1003,赵六,婚姻登记,民政局,\n"+ // duplicate id
				"1004,孙七,社保窗口,人社局,gate:9\n"+ // unknown clock
				"1005,周八\n") // missing columns
			code, out, errs = run(t, "import", "staff", "--config", cfg, bad)
			wantLines := []string{
				bad + `:3: staff_id "1003" is already on line 2`,
				bad + `:4: unknown clock "gate" in clock_user_ids; configure it under clocks or fix the name`,
				bad + `:5: has 2 fields, the header has 5`,
			}
			for _, w := range wantLines {
				if !strings.Contains(errs, w+"\n") {
					t.Errorf("bad import: stderr lacks %q:\n%s", w, errs)
				}
			}
			if code != 2 || out != "" {
				t.Errorf("bad import: got %d %q, want 2 and nothing on stdout", code, out)
			}
			// Nothing of the bad file was written: 1003 is not there, 1001 and 1002 are active.
			s := openForTest(t, cfg)
			all, err := s.ListStaff(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if len(all) != 2 || !all[0].Active || !all[1].Active {
				t.Errorf("after a bad import: got %v, want 1001 and 1002 unchanged", all)
			}
		})
	}
}

func openForTest(t *testing.T, cfgPath string) *store.Store {
	t.Helper()
	e := &env{stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}}
	f := e.flags("t", "t")
	*f.config = cfgPath
	cfg, _, ok := f.loadConfig()
	if !ok {
		t.Fatal("config")
	}
	s, _, ok := e.openStore(context.Background(), cfg, false)
	if !ok {
		t.Fatal(e.stderr)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

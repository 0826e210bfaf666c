package ingest

import (
	"context"
	"database/sql"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/kaoqin/kaoqin/devices/anviz/anvizemu"
	"github.com/kaoqin/kaoqin/devices/zk/zkemu"
	"github.com/kaoqin/kaoqin/internal/config"
	"github.com/kaoqin/kaoqin/internal/store/storetest"
)

// privateMariaDB is a MariaDB server this test owns, so it can stop and start it without
// disturbing the shared test server.
type privateMariaDB struct {
	dir, sock string
	cmd       *exec.Cmd
}

func newPrivateMariaDB(t *testing.T) *privateMariaDB {
	t.Helper()
	if os.Getenv(storetest.EnvMySQL) == "" {
		t.Skipf("database outage test skipped: it runs with the MariaDB tests (set %s; .ci/run does)", storetest.EnvMySQL)
	}
	for _, bin := range []string{"mariadbd", "mariadb-install-db"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("database outage test needs %s (apt-get install mariadb-server)", bin)
		}
	}
	dir, err := os.MkdirTemp("", "kaoqin-outage-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	m := &privateMariaDB{dir: dir, sock: filepath.Join(dir, "sock")}
	out, err := exec.Command("mariadb-install-db", "--no-defaults", "--user=root", "--datadir="+filepath.Join(dir, "data"),
		"--auth-root-authentication-method=normal", "--skip-test-db").CombinedOutput()
	if err != nil {
		t.Fatalf("mariadb-install-db: %v\n%s", err, out)
	}
	m.start(t)
	t.Cleanup(func() { m.stop(t) })
	db, err := sql.Open("mysql", "root@unix("+m.sock+")/")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("CREATE DATABASE kaoqin CHARACTER SET utf8mb4"); err != nil {
		t.Fatal(err)
	}
	return m
}

func (m *privateMariaDB) dsn() string { return "root@unix(" + m.sock + ")/kaoqin" }

func (m *privateMariaDB) start(t *testing.T) {
	t.Helper()
	m.cmd = exec.Command("mariadbd", "--no-defaults", "--user=root", "--datadir="+filepath.Join(m.dir, "data"),
		"--socket="+m.sock, "--skip-networking", "--pid-file="+filepath.Join(m.dir, "pid"),
		"--log-error="+filepath.Join(m.dir, "err.log"), "--innodb-buffer-pool-size=64M")
	if err := m.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		db, err := sql.Open("mysql", "root@unix("+m.sock+")/")
		if err == nil {
			err = db.Ping()
			db.Close()
		}
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(m.dir, "err.log"))
			t.Fatalf("mariadbd did not start: %v\n%s", err, log)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (m *privateMariaDB) stop(t *testing.T) {
	if m.cmd == nil || m.cmd.Process == nil {
		return
	}
	m.cmd.Process.Signal(syscall.SIGTERM)
	m.cmd.Wait()
	m.cmd = nil
}

// The database stopped for a while during ingest, then started: nothing lost, nothing twice.
// Meanwhile the clocks keep recording; nothing is advanced or cleared on them.
func TestDatabaseOutageLosesNothing(t *testing.T) {
	db := newPrivateMariaDB(t)
	st := storetest.Open(t, storetest.Backend{Name: "mysql", Driver: "mysql", DSN: db.dsn()})
	ctx := context.Background()

	zkc := newZK(t, zkemu.Config{}, 500)
	za, _ := zkc.ListenTCP("127.0.0.1:0")
	anv := newAnviz(t, anvizemu.Config{}, 3)
	addAnviz(t, anv, 3, 200, "2026-07-06")
	aa, err := anv.ListenTCP("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, st,
		config.Clock{Name: "zk", Protocol: "zk", Transport: "tcp", Address: za.String(), Timeout: config.Duration(5 * time.Second)},
		config.Clock{Name: "anviz", Protocol: "anviz", Transport: "tcp", Address: aa.String(), DeviceID: 3, RecordEpoch: "2000-01-02 00:00:00",
			Timeout: config.Duration(5 * time.Second)})
	for _, c := range []string{"zk", "anviz"} {
		if err := f.svc.ReadNow(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	cur, _ := st.GetCursor(ctx, "zk")

	db.stop(t)
	for i := 0; i < 40; i++ {
		zkc.AddPunch("100", wall("2026-07-07 08:00:00").Add(time.Duration(i)*time.Minute), 1, 0)
	}
	addAnviz(t, anv, 3, 60, "2026-07-07")
	for _, c := range []string{"zk", "anviz"} {
		if err := f.svc.ReadNow(ctx, c); err == nil {
			t.Fatalf("%s: read with the database down: got nil, want an error", c)
		} else if k := errorKind(err); k != "database" {
			t.Errorf("%s: error kind: got %s (%v), want database", c, k, err)
		}
	}
	if n := anv.NewCount(3); n != 60 {
		t.Errorf("anviz new marks while the database is down: got %d, want 60 (nothing cleared)", n)
	}
	if testutil.ToFloat64(f.m.StoreErrors) == 0 {
		t.Error("store write errors: got 0, want counted")
	}

	db.start(t)
	deadline := time.Now().Add(30 * time.Second)
	for _, c := range []string{"zk", "anviz"} {
		for {
			err := f.svc.ReadNow(ctx, c)
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: reads still failing after the database came back: %v", c, err)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	if got, w := stored(t, st, "zk"), zkRecords(zkc); !equal(got, w) {
		t.Errorf("zk after the outage: got %d stored, want %d", len(got), len(w))
	}
	if got, w := stored(t, st, "anviz"), anvizRecords(anv, 3); !equal(got, w) {
		t.Errorf("anviz after the outage: got %d stored, want %d", len(got), len(w))
	}
	if after, _ := st.GetCursor(ctx, "zk"); after.Position != cur.Position+40 {
		t.Errorf("zk cursor: got %d, want %d", after.Position, cur.Position+40)
	}
	if anv.NewCount(3) != 0 {
		t.Errorf("anviz marks after recovery: got %d, want 0", anv.NewCount(3))
	}
}

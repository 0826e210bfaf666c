// Package storetest gives tests fresh, migrated databases: SQLite always, and MariaDB/MySQL when
// KAOQIN_TEST_MYSQL_DSN is set (each test gets a database of its own, dropped afterwards).
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/kaoqin/kaoqin/internal/store"
)

// EnvMySQL names the variable holding a DSN of a MySQL-compatible server the tests may create
// databases on.
const EnvMySQL = "KAOQIN_TEST_MYSQL_DSN"

// EnvGalera names the variable holding the DSNs of the nodes of a Galera cluster, comma-separated
// (.ci/galera.sh dsns prints them): the "galera" variant of Each runs on them.
const EnvGalera = "KAOQIN_TEST_GALERA_DSNS"

// Location is the zone tests run the store in.
var Location = mustLoad("Asia/Shanghai")

func mustLoad(name string) *time.Location {
	l, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return l
}

// Backend is one database a test runs against.
type Backend struct {
	Name   string // "sqlite", "mysql" or "galera"
	Driver string
	DSN    string
	// Addresses are the cluster's nodes (galera only), the first one being DSN's.
	Addresses []string
}

// Each runs fn as a subtest against a fresh migrated SQLite database, and against a fresh MariaDB
// database when KAOQIN_TEST_MYSQL_DSN is set (otherwise that subtest is skipped, saying how to run it).
func Each(t *testing.T, fn func(t *testing.T, s *store.Store)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { fn(t, SQLite(t)) })
	t.Run("mysql", func(t *testing.T) { fn(t, MySQL(t)) })
	t.Run("galera", func(t *testing.T) { fn(t, Galera(t)) })
}

// Galera opens a fresh migrated database on the cluster of KAOQIN_TEST_GALERA_DSNS, through a
// store given every node's address, or skips the test.
func Galera(t testing.TB) *store.Store {
	t.Helper()
	bs := NewGaleraBackends(t)
	s := Open(t, bs[0])
	galeraPeers.Store(s, bs)
	t.Cleanup(func() { galeraPeers.Delete(s) })
	return s
}

var galeraPeers sync.Map // *store.Store → []Backend

// GaleraPeer is the backend of the database of s (opened by Galera) through node i of the cluster.
func GaleraPeer(t testing.TB, s *store.Store, i int) Backend {
	t.Helper()
	bs, ok := galeraPeers.Load(s)
	if !ok {
		t.Fatal("GaleraPeer: the store was not opened by storetest.Galera")
	}
	return bs.([]Backend)[i%len(bs.([]Backend))]
}

// NewGaleraBackends creates an empty database on the Galera cluster of KAOQIN_TEST_GALERA_DSNS
// (dropped when the test ends) and returns one backend per node: backend i prefers node i and
// moves to the others when it fails.
func NewGaleraBackends(t testing.TB) []Backend {
	t.Helper()
	env := os.Getenv(EnvGalera)
	if env == "" {
		t.Skipf("Galera tests skipped: set %s to the DSNs of a three-node cluster, comma-separated (.ci/galera.sh start DIR prints them; .ci/run does this)", EnvGalera)
	}
	var cfgs []*mysql.Config
	for _, d := range strings.Split(env, ",") {
		cfg, err := mysql.ParseDSN(strings.TrimSpace(d))
		if err != nil {
			t.Fatalf("%s: %v", EnvGalera, err)
		}
		cfgs = append(cfgs, cfg)
	}
	name := createDatabase(t, *cfgs[0])
	var out []Backend
	for i := range cfgs {
		var addrs []string
		for k := range cfgs {
			addrs = append(addrs, cfgs[(i+k)%len(cfgs)].Addr)
		}
		cfg := *cfgs[i]
		cfg.DBName = name
		out = append(out, Backend{Name: "galera", Driver: "mysql", DSN: cfg.FormatDSN(), Addresses: addrs})
	}
	return out
}

// createDatabase makes a database of a random name on the server of cfg, dropped when t ends.
func createDatabase(t testing.TB, cfg mysql.Config) string {
	t.Helper()
	var rnd [6]byte
	rand.Read(rnd[:])
	name := "kaoqin_t_" + hex.EncodeToString(rnd[:])
	cfg.DBName = ""
	db, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("CREATE DATABASE " + name + " CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("mysql", cfg.FormatDSN())
		if err == nil {
			db.Exec("DROP DATABASE IF EXISTS " + name)
			db.Close()
		}
	})
	return name
}

// SQLite opens a fresh migrated SQLite database in the test's temporary directory.
func SQLite(t testing.TB) *store.Store {
	t.Helper()
	b := Backend{Name: "sqlite", Driver: "sqlite", DSN: filepath.Join(t.TempDir(), "kaoqin.db")}
	return Open(t, b)
}

// MySQL opens a fresh migrated database on the server of KAOQIN_TEST_MYSQL_DSN, or skips the test.
func MySQL(t testing.TB) *store.Store {
	t.Helper()
	return Open(t, NewMySQLBackend(t))
}

// NewMySQLBackend creates an empty database on the test server and drops it when the test ends.
func NewMySQLBackend(t testing.TB) Backend {
	t.Helper()
	dsn := os.Getenv(EnvMySQL)
	if dsn == "" {
		t.Skipf("MariaDB tests skipped: set %s to a DSN such as root@unix(/tmp/mysqld.sock)/kaoqin_test (.ci/run does this)", EnvMySQL)
	}
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		t.Fatalf("%s: %v", EnvMySQL, err)
	}
	var rnd [6]byte
	rand.Read(rnd[:])
	name := "kaoqin_t_" + hex.EncodeToString(rnd[:])
	admin := *cfg
	admin.DBName = ""
	db, err := sql.Open("mysql", admin.FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("CREATE DATABASE " + name + " CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("mysql", admin.FormatDSN())
		if err == nil {
			db.Exec("DROP DATABASE IF EXISTS " + name)
			db.Close()
		}
	})
	cfg.DBName = name
	return Backend{Name: "mysql", Driver: "mysql", DSN: cfg.FormatDSN()}
}

// Open migrates and opens backend b, closing it when the test ends.
func Open(t testing.TB, b Backend) *store.Store {
	t.Helper()
	ctx := context.Background()
	s, err := store.Open(ctx, b.Driver, b.DSN, store.Options{Location: Location, SkipSchemaCheck: true, Addresses: b.Addresses})
	if err != nil {
		t.Fatalf("open %s: %v", b.Name, err)
	}
	if _, err := s.Migrate(ctx); err != nil {
		s.Close()
		t.Fatalf("migrate %s: %v", b.Name, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// ResultLines are the stored results of one day as comparable lines, without their computation
// time and finality (which move on with the clocks' reads): what the failover tests compare with a
// full recompute.
func ResultLines(t testing.TB, st *store.Store, day time.Time) []string {
	t.Helper()
	rs, err := st.Results(context.Background(), day, day, "")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range rs {
		out = append(out, fmt.Sprintf("%s %s %s %+v in=%s out=%s %s", r.StaffID, r.Day, r.Segment, r.Values, r.SignIn, r.SignOut, r.Evidence))
	}
	return out
}

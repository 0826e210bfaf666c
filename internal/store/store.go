// Package store owns every SQL statement of kaoqin: the schema and its migrations for SQLite and
// MySQL/MariaDB, and the reads and writes of punches, cursors, staff, leave, patrols, failure
// reports, results, month closings and the audit log. All state that matters lives here, so that
// several daemons can share one MySQL-compatible database.
//
// Times. Clocks record local wall-clock time with no zone, and so does everything else the
// rule book talks about. The project carries such a time as a time.Time in time.UTC whose fields
// are the wall clock's; the store writes those fields as 'YYYY-MM-DD HH:MM:SS' and reads them back
// the same, never converting through the process's or the server's zone. Instants (when a punch was
// received, when a row was written) are converted to the deployment's wall clock first.
package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jmoiron/sqlx"
	_ "modernc.org/sqlite"
)

// ErrNotFound is returned when a looked-up row does not exist.
var ErrNotFound = errors.New("not found")

// ErrOldSchema is returned by Open when the database needs `kaoqin migrate`.
var ErrOldSchema = errors.New("the database schema is older than this kaoqin; run `kaoqin migrate`")

// ErrNewSchema is returned when the database was migrated by a newer kaoqin.
var ErrNewSchema = errors.New("the database schema is newer than this kaoqin; upgrade kaoqin")

// ErrDamaged is returned by Open when a SQLite database fails its integrity check: the daemon must
// not write into it (restore it from a backup instead).
var ErrDamaged = errors.New("the database is damaged")

// DefaultQuickCheckTimeout bounds the integrity check Open runs on a SQLite file: a small file is
// checked whole in milliseconds; a large one is checked as far as this allows.
const DefaultQuickCheckTimeout = 5 * time.Second

//go:embed migrations
var migrations embed.FS

// Store is the database. It is safe for concurrent use.
type Store struct {
	// w takes every write; r serves reads. On SQLite w is one connection (SQLite has one writer),
	// r a small pool in WAL mode; on MySQL both are the same pool.
	w, r    *sqlx.DB
	dialect string
	loc     *time.Location
	now     func() time.Time
	// checked says how far Open's integrity check got, for `kaoqin doctor` and the start log.
	checked string

	// nodes is the connector over several MySQL addresses (nil with one DSN address);
	// stopWatch ends its watcher.
	nodes     *nodeConnector
	stopWatch context.CancelFunc
	identity  string
	log       *slog.Logger
	// retries counts the transactions run again after a conflict, by MySQL error number.
	retries sync.Map // uint16 → *atomic.Uint64
}

// Options configure Open.
type Options struct {
	// Location is the deployment's zone, used to turn instants into wall-clock times.
	Location *time.Location
	// MaxOpenConns bounds the pool (0: 1 writer + 4 readers for SQLite, 16 for MySQL).
	MaxOpenConns int
	// SkipSchemaCheck opens a database whatever its schema version (for `kaoqin migrate`).
	SkipSchemaCheck bool
	// QuickCheckTimeout bounds SQLite's PRAGMA quick_check at open (0: DefaultQuickCheckTimeout;
	// negative: no check). A check cut short by it opens the database and says so in Checked.
	QuickCheckTimeout time.Duration
	// Addresses are the host:port of several MySQL/MariaDB nodes (a Galera cluster) replacing the
	// DSN's address: the pool uses one ready node and moves to another when it fails.
	Addresses []string
	// Identity names this process in the leases it takes (Migrate's); host/pid by default.
	Identity string
	// Logger receives the moves between database nodes; discarded by default.
	Logger *slog.Logger
}

// DefaultIdentity is host/pid, the name a daemon holds leases under unless configured.
func DefaultIdentity() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "localhost"
	}
	return fmt.Sprintf("%s/%d", host, os.Getpid())
}

// Open connects to the database. driver is "sqlite" (dsn: a file path, or a "file:" URI) or "mysql"
// (dsn: a go-sql-driver DSN). Unless opts.SkipSchemaCheck, it fails with ErrOldSchema when the
// database needs migrating.
func Open(ctx context.Context, driver, dsn string, opts Options) (*Store, error) {
	s := &Store{dialect: driver, loc: opts.Location, now: time.Now, identity: opts.Identity, log: opts.Logger}
	if s.loc == nil {
		s.loc = time.UTC
	}
	if s.identity == "" {
		s.identity = DefaultIdentity()
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if len(opts.Addresses) > 0 && driver != "mysql" {
		return nil, fmt.Errorf("store: several database addresses need the mysql driver, not %q", driver)
	}
	var err error
	switch driver {
	case "sqlite":
		err = s.openSQLite(dsn, opts)
	case "mysql":
		err = s.openMySQL(dsn, opts)
	default:
		return nil, fmt.Errorf("store: unknown driver %q (want sqlite or mysql)", driver)
	}
	if err != nil {
		return nil, err
	}
	if err := s.w.PingContext(ctx); err != nil {
		s.Close()
		if driver == "sqlite" && isCorrupt(err) {
			return nil, damaged(sqlitePath(dsn), err)
		}
		return nil, fmt.Errorf("store: connect to %s: %w", driver, err)
	}
	if driver == "sqlite" && opts.QuickCheckTimeout >= 0 {
		if err := s.quickCheck(ctx, dsn, opts.QuickCheckTimeout); err != nil {
			s.Close()
			return nil, err
		}
	}
	if !opts.SkipSchemaCheck {
		if err := s.CheckSchema(ctx); err != nil {
			s.Close()
			return nil, err
		}
	}
	return s, nil
}

// sqlitePath is the file of a SQLite DSN ("" or ":memory:" for none).
func sqlitePath(dsn string) string {
	path := strings.TrimPrefix(dsn, "file:")
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	return path
}

func (s *Store) openSQLite(dsn string, opts Options) error {
	path := sqlitePath(dsn)
	if path != "" && path != ":memory:" {
		if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
			return fmt.Errorf("store: create the directory of %s: %w", path, err)
		}
		// The file holds password hashes and session tokens: create it 0600 before SQLite does
		// (SQLite would take 0644 less the umask, and gives its -wal and -shm files the mode of the
		// database file).
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		if err == nil {
			f.Close()
		} else if !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("store: create %s: %w", path, err)
		}
	}
	// _txlock=immediate takes the write lock at BEGIN, so two writers queue on busy_timeout
	// instead of failing with SQLITE_BUSY on upgrade.
	pragmas := "_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(1)&_txlock=immediate"
	full := "file:" + path
	if strings.Contains(dsn, "?") {
		full = dsn + "&" + pragmas
	} else {
		full += "?" + pragmas
	}
	w, err := sqlx.Open("sqlite", full)
	if err != nil {
		return fmt.Errorf("store: open sqlite %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxIdleTime(0)
	w.SetConnMaxLifetime(0)
	r, err := sqlx.Open("sqlite", full+"&_pragma=query_only(1)")
	if err != nil {
		w.Close()
		return fmt.Errorf("store: open sqlite %s: %w", path, err)
	}
	n := opts.MaxOpenConns
	if n <= 0 {
		n = 4
	}
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	s.w, s.r = w, r
	return nil
}

// quickCheck runs PRAGMA quick_check (the b-tree structure of every page, without the slower
// index-content comparison of integrity_check), bounded by timeout. A damaged file is refused with
// ErrDamaged and the check's first findings; a check cut short by the bound lets the file open.
func (s *Store) quickCheck(ctx context.Context, dsn string, timeout time.Duration) error {
	path := sqlitePath(dsn)
	if path == "" || path == ":memory:" {
		s.checked = "in-memory database, not checked"
		return nil
	}
	if timeout == 0 {
		timeout = DefaultQuickCheckTimeout
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start := time.Now()
	var found []string
	err := s.r.SelectContext(cctx, &found, "PRAGMA quick_check(3)")
	switch {
	case err == nil && len(found) == 1 && found[0] == "ok":
		s.checked = fmt.Sprintf("PRAGMA quick_check: ok (%s)", time.Since(start).Round(time.Millisecond))
		return nil
	case err == nil:
		return fmt.Errorf("%w: the SQLite file %s fails PRAGMA quick_check: %s; stop every kaoqin using it and restore the last backup (docs/operations.md, Backups)",
			ErrDamaged, path, findings(found))
	case cctx.Err() != nil && ctx.Err() == nil:
		s.checked = fmt.Sprintf("PRAGMA quick_check did not finish within %s (large file); run `kaoqin doctor` to check it whole", timeout)
		return nil
	case isCorrupt(err):
		return damaged(path, err)
	}
	return fmt.Errorf("store: check %s: %w", path, err)
}

func damaged(path string, err error) error {
	return fmt.Errorf("%w: the SQLite file %s cannot be read (%v); stop every kaoqin using it and restore the last backup (docs/operations.md, Backups)",
		ErrDamaged, path, err)
}

// isCorrupt tells SQLite's "malformed" (SQLITE_CORRUPT) and "not a database" (SQLITE_NOTADB).
func isCorrupt(err error) bool {
	m := err.Error()
	return strings.Contains(m, "malformed") || strings.Contains(m, "not a database") || strings.Contains(m, "SQLITE_CORRUPT") || strings.Contains(m, "SQLITE_NOTADB")
}

// Checked says how far the integrity check at open got ("" on MySQL, which checks itself).
func (s *Store) Checked() string { return s.checked }

// QuickCheck runs PRAGMA quick_check on a SQLite database without a time bound (for `kaoqin
// doctor`), returning ErrDamaged with its findings; on MySQL it does nothing.
func (s *Store) QuickCheck(ctx context.Context) error {
	if s.dialect != "sqlite" {
		return nil
	}
	var found []string
	if err := s.r.SelectContext(ctx, &found, "PRAGMA quick_check(3)"); err != nil {
		if isCorrupt(err) {
			return fmt.Errorf("%w: %v", ErrDamaged, err)
		}
		return err
	}
	if len(found) == 1 && found[0] == "ok" {
		return nil
	}
	return fmt.Errorf("%w: PRAGMA quick_check: %s", ErrDamaged, findings(found))
}

// findings puts quick_check's rows (one may hold several lines) on one line, for a log line.
func findings(rows []string) string {
	return strings.ReplaceAll(strings.Join(rows, "; "), "\n", "; ")
}

// Backup writes a consistent copy of a SQLite database to path with VACUUM INTO (an online
// backup: the daemon keeps running and writing; the copy is one transaction's view, compacted, and
// carries no -wal file). path must not exist; it is created 0600 like the database. MySQL is backed
// up with the server's tools (mariadb-dump --single-transaction), not here.
func (s *Store) Backup(ctx context.Context, path string) error {
	if s.dialect != "sqlite" {
		return fmt.Errorf("store: backup: %s databases are backed up with the server's tools (mariadb-dump --single-transaction, or mysqldump)", s.dialect)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("store: backup: %w", err)
	}
	f.Close()
	if _, err := s.w.ExecContext(ctx, "VACUUM INTO ?", path); err != nil {
		os.Remove(path)
		return fmt.Errorf("store: backup to %s: %w", path, err)
	}
	return nil
}

func (s *Store) openMySQL(dsn string, opts Options) error {
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		return fmt.Errorf("store: bad mysql dsn: %v", redactDSNError(err))
	}
	// Wall-clock times are read back field by field; loc=UTC keeps the driver from shifting them.
	cfg.ParseTime = true
	cfg.Loc = time.UTC
	if cfg.Params == nil {
		cfg.Params = map[string]string{}
	}
	cfg.Params["sql_mode"] = "'STRICT_ALL_TABLES,NO_ZERO_DATE,NO_ENGINE_SUBSTITUTION'"
	cfg.Collation = "utf8mb4_unicode_ci"
	var conn driver.Connector
	if len(opts.Addresses) > 0 {
		nc := newNodeConnector(*cfg, opts.Addresses)
		wctx, cancel := context.WithCancel(context.Background())
		s.nodes, s.stopWatch = nc, cancel
		go nc.watch(wctx, 2*time.Second, func(from, to, why string) {
			s.log.Warn("database node failed; moved to another", "from", from, "to", to, "why", why)
		})
		conn = nc
	} else if conn, err = mysql.NewConnector(cfg); err != nil {
		return fmt.Errorf("store: mysql: %w", err)
	}
	db := sqlx.NewDb(sql.OpenDB(conn), "mysql")
	n := opts.MaxOpenConns
	if n <= 0 {
		n = 16
	}
	db.SetMaxOpenConns(n)
	db.SetMaxIdleConns(n)
	db.SetConnMaxLifetime(30 * time.Minute)
	if s.nodes != nil {
		// A node that comes back is used again only by new connections; do not keep old ones long.
		db.SetConnMaxLifetime(5 * time.Minute)
	}
	s.w, s.r = db, db
	return nil
}

func redactDSNError(err error) string {
	// ParseDSN errors do not echo the password, but keep it that way if they ever change.
	return strings.ReplaceAll(err.Error(), "\n", " ")
}

// Close closes the pools.
func (s *Store) Close() error {
	if s.stopWatch != nil {
		s.stopWatch()
	}
	var err error
	if s.r != nil && s.r != s.w {
		err = s.r.Close()
	}
	if s.w != nil {
		if e := s.w.Close(); e != nil {
			err = e
		}
	}
	return err
}

// Dialect is "sqlite" or "mysql".
func (s *Store) Dialect() string { return s.dialect }

// Location is the deployment's zone.
func (s *Store) Location() *time.Location { return s.loc }

// Ping checks that the database answers (readiness).
func (s *Store) Ping(ctx context.Context) error {
	if err := s.w.PingContext(ctx); err != nil {
		return err
	}
	var one int
	return s.r.GetContext(ctx, &one, "SELECT 1")
}

// withTx runs fn in a write transaction, committing when fn returns nil. A transaction that
// fails on a conflict (a deadlock, a lock wait timeout, a Galera certification failure, a node
// that stopped being ready) was rolled back as a whole, so it is run again, a few times, after a
// short jittered pause, and counted (Retries); fn must therefore set whatever it reports afresh
// on each run.
func (s *Store) withTx(ctx context.Context, fn func(tx *sqlx.Tx) error) error {
	return s.retry(ctx, func() error { return s.txOnce(ctx, nil, fn) })
}

func (s *Store) txOnce(ctx context.Context, opts *sql.TxOptions, fn func(tx *sqlx.Tx) error) error {
	tx, err := s.w.BeginTxx(ctx, opts)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		// A connection lost during COMMIT leaves the outcome unknown: not retried as such.
		return fmt.Errorf("store: commit: %w", committing{err})
	}
	return nil
}

// committing marks an error of COMMIT itself.
type committing struct{ error }

func (c committing) Unwrap() error { return c.error }

// maxTxAttempts bounds the runs of one transaction.
const maxTxAttempts = 6

// retry runs once until it succeeds, fails for good, or failed maxTxAttempts times on conflicts.
func (s *Store) retry(ctx context.Context, once func() error) error {
	for attempt := 1; ; attempt++ {
		err := once()
		code, again := conflict(err)
		if !again || attempt >= maxTxAttempts || ctx.Err() != nil {
			return err
		}
		s.countRetry(code)
		// 5 ms doubling to 160 ms, each between half and one and a half of it.
		d := 5 * time.Millisecond << min(attempt-1, 5)
		t := time.NewTimer(time.Duration(float64(d) * (0.5 + rand.Float64())))
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
	}
}

// conflict tells whether err is worth running the transaction again, and its MySQL error number
// (0 for a connection that failed before COMMIT).
func conflict(err error) (uint16, bool) {
	if err == nil {
		return 0, false
	}
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		switch me.Number {
		case 1213, 1205, 1047:
			// A certification failure, which Galera reports as 1213, also rolls back the commit.
			return me.Number, true
		}
		return 0, false
	}
	var c committing
	if errors.As(err, &c) {
		return 0, false
	}
	if errors.Is(err, mysql.ErrInvalidConn) || errors.Is(err, driver.ErrBadConn) {
		return 0, true
	}
	return 0, false
}

func (s *Store) countRetry(code uint16) {
	v, _ := s.retries.LoadOrStore(code, new(atomic.Uint64))
	v.(*atomic.Uint64).Add(1)
}

// Retries returns how many transactions were run again, by cause: a MySQL error number ("1213"
// deadlock or certification conflict, "1205" lock wait timeout, "1047" node not ready) or "conn"
// (the connection failed before COMMIT).
func (s *Store) Retries() map[string]uint64 {
	out := map[string]uint64{}
	s.retries.Range(func(k, v any) bool {
		name := strconv.Itoa(int(k.(uint16)))
		if k.(uint16) == 0 {
			name = "conn"
		}
		out[name] = v.(*atomic.Uint64).Load()
		return true
	})
	return out
}

// Node is the address of the database node in use ("" with a single DSN address), and how many
// times the store moved to another node.
func (s *Store) Node() (string, uint64) {
	if s.nodes == nil {
		return "", 0
	}
	return s.nodes.current(), s.nodes.moves.Load()
}

// Identity is the name this store takes leases under.
func (s *Store) Identity() string { return s.identity }

// nowWall is the current instant as wall clock in the deployment's zone.
func (s *Store) nowWall() string { return WallString(Wall(s.now(), s.loc)) }

// --- migrations ---

type migration struct {
	version int
	name    string
	sql     string
}

func (s *Store) migrations() ([]migration, error) {
	dir := "migrations/" + s.dialect
	entries, err := fs.ReadDir(migrations, dir)
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".sql") {
			continue
		}
		v, err := strconv.Atoi(strings.SplitN(name, "_", 2)[0])
		if err != nil {
			return nil, fmt.Errorf("store: migration %s has no number", name)
		}
		b, err := fs.ReadFile(migrations, dir+"/"+name)
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{v, name, string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	return ms, nil
}

// SchemaVersion returns the applied and the latest known schema versions.
func (s *Store) SchemaVersion(ctx context.Context) (applied, latest int, err error) {
	ms, err := s.migrations()
	if err != nil {
		return 0, 0, err
	}
	latest = ms[len(ms)-1].version
	var v sql.NullInt64
	err = s.w.GetContext(ctx, &v, "SELECT MAX(version) FROM schema_migrations")
	if err != nil {
		// No table: a fresh database.
		if s.tableMissing(err) {
			return 0, latest, nil
		}
		return 0, latest, fmt.Errorf("store: read schema version: %w", err)
	}
	return int(v.Int64), latest, nil
}

func (s *Store) tableMissing(err error) bool {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return me.Number == 1146
	}
	return strings.Contains(err.Error(), "no such table")
}

// CheckSchema returns ErrOldSchema or ErrNewSchema when the database and this binary disagree.
func (s *Store) CheckSchema(ctx context.Context) error {
	applied, latest, err := s.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	switch {
	case applied < latest:
		return fmt.Errorf("%w (database at version %d, this kaoqin needs %d)", ErrOldSchema, applied, latest)
	case applied > latest:
		return fmt.Errorf("%w (database at version %d, this kaoqin knows %d)", ErrNewSchema, applied, latest)
	}
	return nil
}

// Migrate applies every migration not yet applied and returns how many it applied. On MySQL each
// file is one statement (DDL commits implicitly there), recorded as applied right after it runs.
func (s *Store) Migrate(ctx context.Context) (int, error) {
	_, err := s.w.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, name VARCHAR(200) NOT NULL, applied_at VARCHAR(19) NOT NULL)`)
	if err != nil {
		return 0, fmt.Errorf("store: create schema_migrations: %w", err)
	}
	// Daemons started together migrate one at a time, under a lease: MySQL's GET_LOCK would do on
	// one server, but Galera replicates no lock. The leases table is therefore made here, before
	// any migration (and again, idempotently, by the migration that documents it).
	ddl := leasesDDLSQLite
	if s.dialect == "mysql" {
		ddl = leasesDDLMySQL
	}
	if _, err := s.w.ExecContext(ctx, ddl); err != nil {
		return 0, fmt.Errorf("store: create leases: %w", err)
	}
	const migrateLease = "schema/migrate"
	var held Lease
	for {
		held, err = s.AcquireLease(ctx, migrateLease, s.identity, 2*time.Minute)
		if err == nil {
			break
		}
		if !errors.Is(err, ErrLeaseHeld) {
			return 0, err
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("store: waiting for another process to finish migrating: %w", ctx.Err())
		case <-time.After(250 * time.Millisecond):
		}
	}
	defer func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		s.ReleaseLease(rctx, held)
	}()
	applied, _, err := s.SchemaVersion(ctx)
	if err != nil {
		return 0, err
	}
	ms, err := s.migrations()
	if err != nil {
		return 0, err
	}
	if applied > ms[len(ms)-1].version {
		return 0, fmt.Errorf("%w (database at version %d)", ErrNewSchema, applied)
	}
	n := 0
	for _, m := range ms {
		if m.version <= applied {
			continue
		}
		err := s.withTx(ctx, func(tx *sqlx.Tx) error {
			if _, err := tx.ExecContext(ctx, m.sql); err != nil {
				return fmt.Errorf("store: migration %s: %w", m.name, err)
			}
			_, err := tx.ExecContext(ctx, s.rebind("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)"),
				m.version, m.name, s.nowWall())
			return err
		})
		if err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

func (s *Store) rebind(q string) string { return s.w.Rebind(q) }

// DSNForDisplay hides the password of a MySQL DSN.
func DSNForDisplay(driver, dsn string) string {
	if driver != "mysql" {
		return dsn
	}
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		return "(unparseable dsn)"
	}
	if cfg.Passwd != "" {
		cfg.Passwd = "******"
	}
	out := cfg.FormatDSN()
	if u, err := url.QueryUnescape(out); err == nil {
		out = u
	}
	return out
}

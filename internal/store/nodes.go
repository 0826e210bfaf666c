package store

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-sql-driver/mysql"
)

// Several database addresses. A Galera cluster (or any set of MySQL-compatible nodes that
// replicate each other) is given as a list of addresses: the pool connects to one node that
// answers and is ready (wsrep_ready ON on Galera; a server without wsrep is ready when it
// answers), keeps every connection on that node, and moves to the next ready node when it fails.
// Connections to a node left behind are dropped as they come back to the pool (driver.Validator),
// so the pool empties of them without closing a connection in use.

// nodeConnector is the driver.Connector of a pool over several nodes.
type nodeConnector struct {
	base  mysql.Config
	addrs []string

	mu      sync.Mutex
	cur     int           // index of the node new connections go to
	gen     atomic.Uint64 // incremented at each move; connections of an older generation are dropped
	moves   atomic.Uint64
	kick    chan struct{} // asks the watcher to check the current node now
	lastErr atomic.Value  // string: why the last node was left
}

func newNodeConnector(base mysql.Config, addrs []string) *nodeConnector {
	return &nodeConnector{base: base, addrs: addrs, kick: make(chan struct{}, 1)}
}

func (c *nodeConnector) Driver() driver.Driver { return mysql.MySQLDriver{} }

// current is the address new connections go to.
func (c *nodeConnector) current() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.addrs[c.cur]
}

// dial opens a connection to node i and checks that it is ready.
func (c *nodeConnector) dial(ctx context.Context, i int) (driver.Conn, error) {
	cfg := c.base
	cfg.Net, cfg.Addr = "tcp", c.addrs[i]
	if cfg.Timeout == 0 {
		cfg.Timeout = 3 * time.Second
	}
	conn, err := mysql.NewConnector(&cfg)
	if err != nil {
		return nil, err
	}
	dc, err := conn.Connect(ctx)
	if err != nil {
		return nil, err
	}
	galera, err := nodeReady(ctx, dc)
	if err != nil {
		dc.Close()
		return nil, err
	}
	if galera {
		// Causal reads: a node applies the others' commits a little later than they return, so
		// without this a daemon could read a lease, a schema version or a closing older than one
		// another daemon already committed through another node. Writes need no such wait: they
		// are certified against everything committed before them.
		if e, ok := dc.(driver.ExecerContext); ok {
			if _, err := e.ExecContext(ctx, "SET SESSION wsrep_sync_wait = 1", nil); err != nil {
				dc.Close()
				return nil, err
			}
		}
	}
	return dc, nil
}

// nodeReady returns nil when the server is ready for queries: wsrep_ready ON, or no wsrep at all;
// galera tells which.
func nodeReady(ctx context.Context, dc driver.Conn) (galera bool, err error) {
	q, ok := dc.(driver.QueryerContext)
	if !ok {
		return false, nil
	}
	rows, err := q.QueryContext(ctx, "SHOW STATUS LIKE 'wsrep_ready'", nil)
	if err != nil {
		return false, err
	}
	defer rows.Close()
	vals := make([]driver.Value, len(rows.Columns()))
	if err := rows.Next(vals); err != nil {
		if errors.Is(err, io.EOF) {
			return false, nil // not a Galera node
		}
		return false, err
	}
	v := fmt.Sprint(vals[len(vals)-1])
	if b, ok := vals[len(vals)-1].([]byte); ok {
		v = string(b)
	}
	if !strings.EqualFold(v, "ON") {
		return true, fmt.Errorf("node is not ready (wsrep_ready %s)", v)
	}
	return true, nil
}

// Connect opens a connection to the current node, or to the next ready one when it fails.
func (c *nodeConnector) Connect(ctx context.Context) (driver.Conn, error) {
	c.mu.Lock()
	start := c.cur
	c.mu.Unlock()
	var errs []error
	for k := range c.addrs {
		i := (start + k) % len(c.addrs)
		dc, err := c.dial(ctx, i)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", c.addrs[i], err))
			if ctx.Err() != nil {
				break
			}
			continue
		}
		if k > 0 {
			c.moveTo(start, i, errs[0].Error())
		}
		return &nodeConn{Conn: dc, c: c, gen: c.gen.Load()}, nil
	}
	return nil, fmt.Errorf("store: no database node ready: %w", errors.Join(errs...))
}

// moveTo makes node to current if node from still is; why is logged by the watcher's owner.
func (c *nodeConnector) moveTo(from, to int, why string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cur != from || from == to {
		return
	}
	c.cur = to
	c.gen.Add(1)
	c.moves.Add(1)
	c.lastErr.Store(why)
}

// watch checks the current node every interval (and at once when a connection saw it fail), and
// moves to another ready node when it is not ready.
func (c *nodeConnector) watch(ctx context.Context, every time.Duration, moved func(from, to, why string)) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-c.kick:
		}
		c.mu.Lock()
		cur := c.cur
		c.mu.Unlock()
		cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		dc, err := c.dial(cctx, cur)
		if err == nil {
			dc.Close()
			cancel()
			continue
		}
		why := fmt.Sprintf("%s: %v", c.addrs[cur], err)
		for k := 1; k < len(c.addrs); k++ {
			i := (cur + k) % len(c.addrs)
			if dc, err := c.dial(cctx, i); err == nil {
				dc.Close()
				c.moveTo(cur, i, why)
				if moved != nil {
					moved(c.addrs[cur], c.addrs[i], why)
				}
				break
			}
		}
		cancel()
	}
}

// failed tells the watcher that a connection to the current node failed.
func (c *nodeConnector) failed() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// nodeConn is a connection to one node; it reports failures to its connector and is not reused
// once the pool moved to another node.
type nodeConn struct {
	driver.Conn
	c   *nodeConnector
	gen uint64
}

// nodeDown tells whether err means the node itself is gone or not ready (not a query's fault).
func nodeDown(err error) bool {
	if err == nil {
		return false
	}
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		// 1047: WSREP has not yet prepared node for application use (non-primary component).
		return me.Number == 1047
	}
	var ne net.Error
	return errors.Is(err, driver.ErrBadConn) || errors.Is(err, mysql.ErrInvalidConn) || errors.As(err, &ne) || errors.Is(err, io.EOF)
}

func (n *nodeConn) check(err error) error {
	if nodeDown(err) {
		n.c.failed()
	}
	return err
}

func (n *nodeConn) IsValid() bool {
	if n.gen != n.c.gen.Load() {
		return false
	}
	if v, ok := n.Conn.(driver.Validator); ok {
		return v.IsValid()
	}
	return true
}

func (n *nodeConn) ResetSession(ctx context.Context) error {
	if n.gen != n.c.gen.Load() {
		return driver.ErrBadConn
	}
	if r, ok := n.Conn.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

func (n *nodeConn) Ping(ctx context.Context) error {
	if p, ok := n.Conn.(driver.Pinger); ok {
		return n.check(p.Ping(ctx))
	}
	return nil
}

func (n *nodeConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	if b, ok := n.Conn.(driver.ConnBeginTx); ok {
		tx, err := b.BeginTx(ctx, opts)
		return tx, n.check(err)
	}
	return nil, errors.New("store: driver cannot begin a transaction with options")
}

func (n *nodeConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	if p, ok := n.Conn.(driver.ConnPrepareContext); ok {
		st, err := p.PrepareContext(ctx, query)
		return st, n.check(err)
	}
	return n.Conn.Prepare(query)
}

func (n *nodeConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	if e, ok := n.Conn.(driver.ExecerContext); ok {
		r, err := e.ExecContext(ctx, query, args)
		return r, n.check(err)
	}
	return nil, driver.ErrSkip
}

func (n *nodeConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	if q, ok := n.Conn.(driver.QueryerContext); ok {
		r, err := q.QueryContext(ctx, query, args)
		return r, n.check(err)
	}
	return nil, driver.ErrSkip
}

func (n *nodeConn) CheckNamedValue(v *driver.NamedValue) error {
	if c, ok := n.Conn.(driver.NamedValueChecker); ok {
		return c.CheckNamedValue(v)
	}
	return driver.ErrSkip
}

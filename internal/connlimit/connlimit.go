// Package connlimit bounds the connections a server holds open: in total and
// per client address. It wraps a net.Listener; connections past a limit are
// closed as soon as they are accepted, so the file descriptors of a flood of
// idle connections cannot starve the clients already served. It also rides
// out accept errors such as "too many open files" by backing off instead of
// spinning, and reports them without filling the log.
//
// It knows nothing of HTTP: what a connection carries is the server's
// business.
package connlimit

import (
	"errors"
	"net"
	"sync"
	"time"
)

// Config sets the limits of a Listener.
type Config struct {
	// MaxConns is the most connections open at once; 0 means no limit.
	MaxConns int
	// MaxConnsPerAddr is the most connections open at once from one client
	// IP address; 0 means no limit.
	MaxConnsPerAddr int
	// OnRefused, when set, is told of each connection closed because a
	// limit was reached: its remote address and whether the per-address
	// limit (rather than the total) refused it. It must not block.
	OnRefused func(remote net.Addr, perAddr bool)
	// OnAcceptError, when set, is told of accept errors the Listener rides
	// out (such as running out of file descriptors): the first of a run of
	// failures at once, and then at most once per ReportEvery, with the
	// number of failures of the run so far. It must not block.
	OnAcceptError func(err error, failures int)
	// ReportEvery is how often a continuing run of accept errors is
	// reported; zero means every minute.
	ReportEvery time.Duration
	// Now is the clock of ReportEvery; nil means time.Now.
	Now func() time.Time

	// sleep waits between accept retries; tests replace it to count the
	// waits instead of sitting them out.
	sleep func(time.Duration)
}

// Backoff bounds of accept retries: the wait starts at minBackoff and doubles
// up to maxBackoff while accept keeps failing.
const (
	minBackoff = 5 * time.Millisecond
	maxBackoff = time.Second
)

// Listener is a net.Listener that enforces Config's limits. It is safe for
// concurrent use.
type Listener struct {
	net.Listener
	cfg Config

	mu     sync.Mutex
	open   int
	byAddr map[string]int
}

// New wraps inner with the limits of cfg.
func New(inner net.Listener, cfg Config) *Listener {
	if cfg.ReportEvery <= 0 {
		cfg.ReportEvery = time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.sleep == nil {
		cfg.sleep = time.Sleep
	}
	return &Listener{Listener: inner, cfg: cfg, byAddr: make(map[string]int)}
}

// Open is the number of connections open now.
func (l *Listener) Open() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.open
}

// Accept waits for the next connection within the limits. Connections over
// a limit are closed and never returned. Temporary accept errors are
// retried after a growing wait; Accept returns only errors that will not go
// away, such as the listener being closed.
func (l *Listener) Accept() (net.Conn, error) {
	var backoff time.Duration
	failures := 0
	var reported time.Time
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			if !temporary(err) {
				return nil, err
			}
			failures++
			if now := l.cfg.Now(); failures == 1 || now.Sub(reported) >= l.cfg.ReportEvery {
				reported = now
				if l.cfg.OnAcceptError != nil {
					l.cfg.OnAcceptError(err, failures)
				}
			}
			if backoff == 0 {
				backoff = minBackoff
			} else if backoff *= 2; backoff > maxBackoff {
				backoff = maxBackoff
			}
			l.cfg.sleep(backoff)
			continue
		}
		backoff, failures = 0, 0
		if lc, ok := l.admit(c); ok {
			return lc, nil
		}
	}
}

// admit counts c against the limits, or closes it when one is reached.
func (l *Listener) admit(c net.Conn) (net.Conn, bool) {
	addr := hostOf(c.RemoteAddr())
	l.mu.Lock()
	perAddr := l.cfg.MaxConnsPerAddr > 0 && l.byAddr[addr] >= l.cfg.MaxConnsPerAddr
	total := l.cfg.MaxConns > 0 && l.open >= l.cfg.MaxConns
	if perAddr || total {
		l.mu.Unlock()
		// Told before the close, so that a client that sees its
		// connection closed finds the refusal already counted.
		if l.cfg.OnRefused != nil {
			l.cfg.OnRefused(c.RemoteAddr(), perAddr)
		}
		_ = c.Close()
		return nil, false
	}
	l.open++
	l.byAddr[addr]++
	l.mu.Unlock()
	return &conn{Conn: c, l: l, addr: addr}, true
}

func (l *Listener) release(addr string) {
	l.mu.Lock()
	l.open--
	if l.byAddr[addr]--; l.byAddr[addr] <= 0 {
		delete(l.byAddr, addr)
	}
	l.mu.Unlock()
}

// temporary reports whether an accept error may go away by itself (out of
// file descriptors or buffers, a connection aborted before it was
// accepted).
func temporary(err error) bool {
	if errors.Is(err, net.ErrClosed) {
		return false
	}
	var t interface{ Temporary() bool }
	return errors.As(err, &t) && t.Temporary()
}

// hostOf is the IP address of a remote address, without its port.
func hostOf(a net.Addr) string {
	if a == nil {
		return ""
	}
	if tcp, ok := a.(*net.TCPAddr); ok {
		return tcp.IP.String()
	}
	host, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	return host
}

// conn is an admitted connection; closing it gives its place back.
type conn struct {
	net.Conn
	l        *Listener
	addr     string
	released sync.Once
}

func (c *conn) Close() error {
	err := c.Conn.Close()
	c.released.Do(func() { c.l.release(c.addr) })
	return err
}

// CloseWrite shuts down the writing side, when the connection supports it
// (TCP does): net/http uses it to let a client read an error answer before
// the connection closes.
func (c *conn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// Unwrap is the connection this one wraps.
func (c *conn) Unwrap() net.Conn { return c.Conn }

package connlimit

import (
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"
)

// serveEcho accepts on l until it is closed: each admitted connection gets
// "+" at once and then has its bytes echoed back.
func serveEcho(t *testing.T, l net.Listener) {
	t.Helper()
	var wg sync.WaitGroup
	t.Cleanup(func() { l.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				if _, err := c.Write([]byte("+")); err != nil {
					return
				}
				_, _ = io.Copy(c, c)
			}()
		}
	}()
}

func listen(t *testing.T, cfg Config) *Listener {
	t.Helper()
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := New(inner, cfg)
	serveEcho(t, l)
	return l
}

// dial connects from the local IP from (empty: any) and reports whether the
// server admitted the connection (it says "+") or closed it.
func dial(t *testing.T, l *Listener, from string) (net.Conn, bool) {
	t.Helper()
	d := net.Dialer{}
	if from != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(from)}
	}
	c, err := d.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatalf("dial from %q: %v", from, err)
	}
	t.Cleanup(func() { c.Close() })
	b := make([]byte, 1)
	if _, err := io.ReadFull(c, b); err != nil {
		c.Close()
		return nil, false
	}
	return c, true
}

// echoes checks that an admitted connection still works.
func echoes(t *testing.T, c net.Conn) {
	t.Helper()
	if _, err := c.Write([]byte("ping")); err != nil {
		t.Fatalf("write: %v", err)
	}
	b := make([]byte, 4)
	if _, err := io.ReadFull(c, b); err != nil || string(b) != "ping" {
		t.Fatalf("echo: %q, %v", b, err)
	}
}

func TestTotalLimitClosesNewConnectionsAndServesTheOthers(t *testing.T) {
	t.Parallel()
	const limit, extra = 200, 100
	var refusedMu sync.Mutex
	refused := 0
	l := listen(t, Config{MaxConns: limit, OnRefused: func(net.Addr, bool) {
		refusedMu.Lock()
		refused++
		refusedMu.Unlock()
	}})
	var admitted []net.Conn
	for i := 0; i < limit+extra; i++ {
		c, ok := dial(t, l, "")
		if ok {
			admitted = append(admitted, c)
		}
	}
	if len(admitted) != limit {
		t.Fatalf("admitted %d connections, want %d", len(admitted), limit)
	}
	refusedMu.Lock()
	if refused != extra {
		t.Errorf("OnRefused told of %d connections, want %d", refused, extra)
	}
	refusedMu.Unlock()
	for _, c := range admitted {
		echoes(t, c)
	}
	// A place given back is taken by the next client.
	admitted[0].Close()
	for {
		if c, ok := dial(t, l, ""); ok {
			echoes(t, c)
			break
		}
		// The server has not seen the close yet; the refused dial cost
		// nothing, try again.
	}
	if n := l.Open(); n != limit {
		t.Errorf("Open() = %d, want %d", n, limit)
	}
}

func TestPerAddressLimitLeavesOtherAddressesAlone(t *testing.T) {
	t.Parallel()
	probe, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Skipf("this system has no loopback address 127.0.0.2: %v", err)
	}
	probe.Close()
	const perAddr = 5
	var perAddrRefusals int
	var mu sync.Mutex
	l := listen(t, Config{MaxConnsPerAddr: perAddr, OnRefused: func(_ net.Addr, byAddr bool) {
		mu.Lock()
		if byAddr {
			perAddrRefusals++
		}
		mu.Unlock()
	}})
	var flood []net.Conn
	for i := 0; i < 3*perAddr; i++ {
		if c, ok := dial(t, l, "127.0.0.1"); ok {
			flood = append(flood, c)
		}
	}
	if len(flood) != perAddr {
		t.Fatalf("127.0.0.1 got %d connections, want %d", len(flood), perAddr)
	}
	for i := 0; i < perAddr; i++ {
		c, ok := dial(t, l, "127.0.0.2")
		if !ok {
			t.Fatalf("connection %d from 127.0.0.2 refused while 127.0.0.1 is at its limit", i+1)
		}
		echoes(t, c)
	}
	mu.Lock()
	defer mu.Unlock()
	if perAddrRefusals != 2*perAddr {
		t.Errorf("per-address refusals %d, want %d", perAddrRefusals, 2*perAddr)
	}
}

func TestClosingTwiceGivesThePlaceBackOnce(t *testing.T) {
	t.Parallel()
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := New(inner, Config{MaxConns: 2})
	defer l.Close()
	for i := 0; i < 2; i++ {
		go func() {
			if c, err := net.Dial("tcp", inner.Addr().String()); err == nil {
				t.Cleanup(func() { c.Close() })
			}
		}()
	}
	a, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	b, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	a.Close()
	a.Close()
	if n := l.Open(); n != 1 {
		t.Fatalf("Open() after closing one connection twice = %d, want 1", n)
	}
	b.Close()
	if n := l.Open(); n != 0 {
		t.Fatalf("Open() = %d, want 0", n)
	}
}

// failingListener fails Accept with err a number of times, then hands out
// conn. It stands in for a process out of file descriptors, which a test
// cannot cause without starving every other test of the process.
type failingListener struct {
	net.Listener
	mu       sync.Mutex
	failures int
	err      error
	conn     net.Conn
	calls    int
}

func (f *failingListener) Accept() (net.Conn, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.failures > 0 {
		f.failures--
		return nil, f.err
	}
	if f.conn == nil {
		return nil, net.ErrClosed
	}
	c := f.conn
	f.conn = nil
	return c, nil
}

func TestAcceptErrorsBackOffAndAreReportedSparingly(t *testing.T) {
	t.Parallel()
	server, client := net.Pipe()
	defer client.Close()
	emfile := &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", syscall.EMFILE)}
	inner := &failingListener{failures: 100, err: emfile, conn: server}
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	var waits []time.Duration
	var reports []int
	l := New(inner, Config{
		ReportEvery:   time.Minute,
		Now:           func() time.Time { return now },
		OnAcceptError: func(err error, failures int) { reports = append(reports, failures) },
	})
	l.cfg.sleep = func(d time.Duration) {
		waits = append(waits, d)
		now = now.Add(d) // the clock moves as the waits would
	}
	c, err := l.Accept()
	if err != nil {
		t.Fatalf("Accept after a run of EMFILE: %v", err)
	}
	c.Close()
	if inner.calls != 101 {
		t.Errorf("inner Accept called %d times, want 101", inner.calls)
	}
	if len(waits) != 100 {
		t.Fatalf("waited %d times, want once per failure", len(waits))
	}
	want := []time.Duration{5 * time.Millisecond, 10 * time.Millisecond, 20 * time.Millisecond, 40 * time.Millisecond}
	for i, w := range want {
		if waits[i] != w {
			t.Errorf("wait %d = %v, want %v", i+1, waits[i], w)
		}
	}
	if last := waits[len(waits)-1]; last != maxBackoff {
		t.Errorf("the waits grow to %v, want %v", last, maxBackoff)
	}
	// About 95 s of failures: the first, then one report a minute.
	if len(reports) != 2 || reports[0] != 1 {
		t.Errorf("reports at failures %v, want the first and one more a minute later", reports)
	}
	// A listener that is closed is not retried.
	if _, err := l.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Accept on a closed listener: %v, want net.ErrClosed", err)
	}
}

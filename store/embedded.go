package store

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
)

// embedded is a FerretDB server with its SQLite backend running in this
// process. Open starts it on a loopback port that only the store's client
// uses; ServeEmbedded starts it on an address of the caller's choosing.
type embedded struct {
	uri         string
	dir         string
	cancel      context.CancelFunc
	done        chan struct{}
	checkpoints *checkpointer
}

// embeddedAddr is where Open's embedded store listens: a free loopback port.
const embeddedAddr = "127.0.0.1:0"

// startEmbedded starts FerretDB on SQLite files under dir (created if
// missing), listening on a free loopback port, and returns once it accepts
// connections.
//
// turn, when not nil, waits for the write turn of the one process writing
// to the store: checkpoints then run in the background (checkpointer)
// instead of in commits. Without it SQLite checkpoints in commits.
func startEmbedded(dir string, logger *slog.Logger, turn func() (done func())) (*embedded, error) {
	return startEmbeddedOn(dir, embeddedAddr, logger, turn)
}

// ferretNew makes embedded stores of one process start one at a time:
// ferretdb.New sets a package-level variable of FerretDB's without a lock.
var ferretNew sync.Mutex

// startEmbeddedOn is startEmbedded listening on the TCP address addr.
func startEmbeddedOn(dir, addr string, logger *slog.Logger, turn func() (done func())) (*embedded, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("data dir %q: %w", dir, err)
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	if err := indexIDLookups(abs); err != nil {
		return nil, err
	}
	pragmas := syncPragmas
	if turn != nil {
		pragmas = walPragmas
	}
	sqliteURL := (&url.URL{Scheme: "file", Path: abs + "/", RawQuery: pragmas}).String()
	ferretNew.Lock()
	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: addr},
		Handler:   "sqlite",
		SQLiteURL: sqliteURL,
		Logger:    logger,
	})
	ferretNew.Unlock()
	if err != nil {
		return nil, fmt.Errorf("start embedded store in %s on %s: %w", abs, addr, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	e := &embedded{dir: abs, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(e.done)
		_ = f.Run(ctx)
	}()
	uriReady := make(chan string, 1)
	go func() { uriReady <- f.MongoDBURI() }()
	select {
	case e.uri = <-uriReady:
		if turn != nil {
			e.checkpoints = startCheckpointer(abs, turn, logger)
		}
	case <-e.done:
		return nil, fmt.Errorf("embedded store in %s stopped while starting", abs)
	case <-time.After(30 * time.Second):
		cancel()
		return nil, fmt.Errorf("embedded store in %s did not start within 30s", abs)
	}
	return e, nil
}

// stop shuts FerretDB down and waits until its SQLite files are closed.
func (e *embedded) stop() {
	e.cancel()
	<-e.done
	if e.checkpoints != nil {
		e.checkpoints.close()
	}
}

// ServeEmbedded runs the embedded store (the same SQLite files under dir and
// the same settings as Open uses) as a standalone MongoDB wire protocol
// server on the TCP address addr, until ctx ends; then it closes the files
// and returns nil. It logs one record at info level naming the address,
// URI and directory once it accepts connections; of FerretDB's own records
// only errors are passed on (at warning level it dumps every error reply it
// sends, such as a NotImplemented or a missing endSessions command).
//
// The server has no authentication: anyone who can reach addr can read and
// change all data, so addr should be a loopback address.
func ServeEmbedded(ctx context.Context, dir, addr string, logger *slog.Logger) error {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	ferretLogger := slog.New(minLevel{Handler: logger.Handler(), min: slog.LevelError})
	// Clients of this server write without a write turn: SQLite checkpoints
	// in commits, as by default.
	e, err := startEmbeddedOn(dir, addr, ferretLogger, nil)
	if err != nil {
		return err
	}
	defer e.stop()
	logger.InfoContext(ctx, "embedded store listening", "addr", uriHost(e.uri), "uri", e.uri, "dir", e.dir)
	select {
	case <-ctx.Done():
	case <-e.done:
		return fmt.Errorf("embedded store in %s stopped unexpectedly", e.dir)
	}
	return nil
}

// uriHost is the host:port of a mongodb:// URI.
func uriHost(uri string) string {
	u, err := url.Parse(uri)
	if err != nil {
		return uri
	}
	return u.Host
}

// minLevel is a slog.Handler that drops records below min.
type minLevel struct {
	slog.Handler
	min slog.Level
}

func (h minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.Handler.Enabled(ctx, l)
}

func (h minLevel) WithAttrs(attrs []slog.Attr) slog.Handler {
	return minLevel{Handler: h.Handler.WithAttrs(attrs), min: h.min}
}

func (h minLevel) WithGroup(name string) slog.Handler {
	return minLevel{Handler: h.Handler.WithGroup(name), min: h.min}
}

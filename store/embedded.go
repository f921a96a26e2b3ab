package store

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
)

// embedded is a FerretDB server with its SQLite backend running in this
// process, listening on a loopback port that only the store's client uses.
type embedded struct {
	uri    string
	dir    string
	cancel context.CancelFunc
	done   chan struct{}
}

// startEmbedded starts FerretDB on SQLite files under dir (created if
// missing) and returns once it accepts connections.
func startEmbedded(dir string, logger *slog.Logger) (*embedded, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("data dir %q: %w", dir, err)
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	// synchronous(full): a commit is on disk before FerretDB acknowledges it,
	// so an acknowledged event survives a crash of the machine, not only of
	// the process.
	sqliteURL := (&url.URL{Scheme: "file", Path: abs + "/", RawQuery: "_pragma=synchronous(full)"}).String()
	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: "127.0.0.1:0"},
		Handler:   "sqlite",
		SQLiteURL: sqliteURL,
		Logger:    logger,
	})
	if err != nil {
		return nil, fmt.Errorf("start embedded store in %s: %w", abs, err)
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
}

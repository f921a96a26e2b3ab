// Command ferretserver is a MongoDB-wire server for tests: FerretDB v1.24
// on SQLite files in a data directory, as a process of its own, so that a
// test can run the MongoDB store against it, kill it and start it again on
// the same address and files.
//
// It is test-only: no package of the gateway imports it or FerretDB, and
// the gateway's binary does not contain it. Tests build it with
//
//	go build -o BIN github.com/scwm-gateway/scwm-gateway/internal/ferretserver
//
// (internal/mongotest does, once per test binary).
//
//	ferretserver --data-dir DIR [--addr 127.0.0.1:0] [--exit-with-stdin]
//
// Once it accepts connections it prints one JSON line,
// {"message":"listening","addr":"127.0.0.1:PORT"}, on stderr. It stops
// cleanly on SIGTERM or SIGINT (and, with --exit-with-stdin, when its
// standard input reaches its end: when the test process that started it
// is gone), closing its SQLite files. Of FerretDB's own log only errors
// are printed, as JSON lines on stderr.
//
// It has no authentication: anyone who reaches the address can read and
// change everything. Give it a loopback address.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	if err := run(os.Args[1:], os.Stdin, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "ferretserver:", err)
		os.Exit(1)
	}
}

func run(args []string, stdin io.Reader, stderr io.Writer) error {
	fs := flag.NewFlagSet("ferretserver", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dataDir := fs.String("data-dir", "", "directory of the SQLite files (created if missing)")
	addr := fs.String("addr", "127.0.0.1:0", "TCP address to listen on")
	exitWithStdin := fs.Bool("exit-with-stdin", false, "stop when standard input reaches its end")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dataDir == "" {
		return errors.New("--data-dir is required")
	}
	dir, err := filepath.Abs(*dataDir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if *exitWithStdin {
		go func() {
			_, _ = io.Copy(io.Discard, stdin)
			stop()
		}()
	}

	// FerretDB runs SQLite in WAL mode. A commit is in the WAL, in the
	// operating system's cache, before it is answered: it survives a kill
	// of this process (which tests do), though not a power loss, which a
	// test server need not survive.
	sqliteURL := (&url.URL{Scheme: "file", Path: dir + "/", RawQuery: "_pragma=synchronous(normal)"}).String()
	logger := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: *addr},
		Handler:   "sqlite",
		SQLiteURL: sqliteURL,
		Logger:    logger,
	})
	if err != nil {
		return fmt.Errorf("start FerretDB on %s in %s: %w", *addr, dir, err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = f.Run(ctx)
	}()
	ready := make(chan string, 1)
	go func() { ready <- f.MongoDBURI() }()
	select {
	case uri := <-ready:
		u, err := url.Parse(uri)
		if err != nil {
			return err
		}
		line, _ := json.Marshal(map[string]string{"message": "listening", "addr": u.Host, "dir": dir})
		fmt.Fprintln(stderr, string(line))
	case <-done:
		return fmt.Errorf("FerretDB on %s stopped while starting", *addr)
	}
	<-done
	return nil
}

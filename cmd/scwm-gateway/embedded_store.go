package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"

	"github.com/rs/zerolog"

	"github.com/scwm-gateway/scwm-gateway/store"
)

// embeddedStore runs the embedded store (the SQLite files of --data-dir) as a
// standalone MongoDB wire protocol server on --addr until ctx ends (SIGTERM
// or SIGINT), so that mongosh can inspect the data and tests can run the
// store as a process of its own. It has no authentication.
func embeddedStore(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	fs := flag.NewFlagSet("embedded-store", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", envOr(getenv, "SCWM_EMBEDDED_STORE_ADDR", "127.0.0.1:27017"),
		"listen address of the MongoDB wire protocol, without authentication: keep it on loopback (env SCWM_EMBEDDED_STORE_ADDR)")
	dataDir := fs.String("data-dir", envOr(getenv, "SCWM_DATA_DIR", "./data"), "directory of the embedded store's files (env SCWM_DATA_DIR)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("embedded-store takes no arguments, got %q", fs.Args())
	}
	host, _, err := net.SplitHostPort(*addr)
	if err != nil {
		return fmt.Errorf("--addr %q must be host:port: %v", *addr, err)
	}
	tuneGC(getenv)
	log, err := newLogger(stderr, "auto", "info")
	if err != nil {
		return err
	}
	log = log.With().Str("component", "embedded-store").Logger()
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		log.Warn().Str("addr", *addr).Msg("listening beyond loopback: the embedded store has no authentication, anyone who reaches it can read and change all data")
	}
	if err := store.ServeEmbedded(ctx, *dataDir, *addr, slog.New(zerolog.NewSlogHandler(log))); err != nil {
		return err
	}
	log.Info().Msg("stopped")
	return nil
}

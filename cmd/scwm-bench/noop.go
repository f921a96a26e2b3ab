package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
)

// The no-op server is the ceiling the gateway's figures are a fraction of:
// the gateway's HTTP stack (Echo on net/http, with the server settings of
// `scwm-gateway serve` at their defaults and its garbage collector
// settings) answering POST /api/events with a small success envelope and
// doing nothing else. It runs as a process of its own, as the gateway
// does, so that it does not share the load generator's CPU accounting or
// scheduler; the bench starts it as `scwm-bench noop-server`.
//
// The settings are copied from cmd/scwm-gateway/serve.go, gc.go and
// config.go (the bench links no gateway package): keep them equal.
const (
	noopReadHeaderTimeout = 10 * time.Second
	noopBodyReadTimeout   = 10 * time.Second
	noopWriteTimeout      = 60 * time.Second
	noopIdleTimeout       = 30 * time.Second
	noopMaxHeaderBytes    = 64 << 10
	noopBodyLimit         = 1 << 20
	noopGCPercent         = 400
	noopGCMemoryLimit     = 192 << 20
)

// noopServer runs the no-op server on --addr until ctx ends. It logs one
// JSON line "listening" with its address on stderr, as the gateway does.
func noopServer(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	fs := flag.NewFlagSet("noop-server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:0", "listen address")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("noop-server takes no arguments, got %q", fs.Args())
	}
	if getenv("GOGC") == "" {
		debug.SetGCPercent(noopGCPercent)
	}
	if getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(noopGCMemoryLimit)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", *addr, err)
	}
	defer ln.Close()
	srv := &http.Server{
		Handler:           noopRoutes(),
		ReadHeaderTimeout: noopReadHeaderTimeout,
		ReadTimeout:       noopReadHeaderTimeout + noopBodyReadTimeout,
		WriteTimeout:      noopWriteTimeout,
		IdleTimeout:       noopIdleTimeout,
		MaxHeaderBytes:    noopMaxHeaderBytes,
	}
	line, _ := json.Marshal(map[string]string{"level": "info", "addr": ln.Addr().String(), "version": "noop", "message": "listening"})
	fmt.Fprintf(stderr, "%s\n", line)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(shutdown)
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// noopAnswer is the no-op server's answer: a success envelope shaped like
// the gateway's, with a fresh id so that the load generator's adds have an
// incident to read.
type noopAnswer struct {
	Header  noopHeader        `json:"header"`
	Payload map[string]string `json:"payload"`
}

type noopHeader struct {
	HeaderVersion    int    `json:"headerVersion"`
	EventName        string `json:"eventName"`
	OwnerID          string `json:"ownerId"`
	ProcessNetworkID string `json:"processNetworkId"`
	LicensePlate     string `json:"licensePlate"`
	ErrCode          string `json:"errCode"`
}

func noopRoutes() *echo.Echo {
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.Any("/api/events", func(c echo.Context) error {
		r := c.Request()
		// Read the whole body, as the gateway does before it answers.
		if _, err := io.Copy(io.Discard, http.MaxBytesReader(c.Response(), r.Body, noopBodyLimit)); err != nil {
			return c.JSON(http.StatusBadRequest, map[string]string{"error": err.Error()})
		}
		id := uuid.Must(uuid.NewV7()).String()
		return c.JSON(http.StatusOK, noopAnswer{
			Header: noopHeader{HeaderVersion: 1, EventName: "noop", OwnerID: seedOwner, ProcessNetworkID: seedNetwork,
				LicensePlate: id[:16], ErrCode: "200_OK"},
			Payload: map[string]string{"id": id},
		})
	})
	e.GET("/healthz", func(c echo.Context) error {
		return c.JSON(http.StatusOK, map[string]string{"status": "ok", "version": "noop"})
	})
	e.GET("/readyz", func(c echo.Context) error {
		return c.JSON(http.StatusOK, map[string]string{"status": "ready"})
	})
	return e
}

// selfBinary is the binary the bench runs as the no-op server: its own.
func selfBinary() (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("find the bench's own binary for the no-op server: %w", err)
	}
	return exe, nil
}

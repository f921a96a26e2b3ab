package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/rs/zerolog"

	"github.com/scwm-gateway/scwm-gateway/handlers"
	"github.com/scwm-gateway/scwm-gateway/store"
)

// serve runs the gateway until ctx ends, then stops accepting, finishes the
// requests in flight and closes the store.
func serve(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := parseServe(args, getenv, stderr)
	if err != nil {
		return err
	}
	tuneGC(getenv)
	logOut := stderr
	if cfg.logFormat == "json" || cfg.logFormat == "auto" && !isTerminal(stderr) {
		// Machine-read logs are written in batches; see bufferedLog.
		buffered := newBufferedLog(stderr)
		defer buffered.Close() // registered first, so it runs last: after "stopped"
		logOut = buffered
	}
	log, err := newLogger(logOut, cfg.logFormat, cfg.logLevel)
	if err != nil {
		return err
	}
	started := time.Now()

	// Listen before anything is created, so that a taken port stops the
	// start before a first-run client exists.
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.addr, err)
	}
	defer ln.Close()

	st, err := openStore(ctx, cfg.store, cfg.storeTimeout, log)
	if err != nil {
		return err
	}
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := st.Close(closeCtx); err != nil {
			log.Warn().Err(err).Msg("closing the store")
		}
		log.Info().Msg("stopped")
	}()

	first, err := prepareData(ctx, st, cfg.seed, cfg.store.dataDir, log)
	if err != nil {
		return err
	}

	gw, err := handlers.New(ctx, cfg.auth.apply(handlers.Config{
		Dataspaces:        cfg.dataspaces,
		BodyLimit:         cfg.bodyLimit,
		RequestTimeout:    cfg.requestTimeout,
		DirectoryRefresh:  cfg.directoryRefresh,
		Version:           version(),
		Logger:            log,
		IdempotencyTTL:    cfg.idempotencyTTL,
		RateLimit:         cfg.rateLimit,
		RateBurst:         cfg.rateBurst,
		AuthFailureLimit:  cfg.authFailureLimit,
		AuthFailureWindow: cfg.authWindow,
		AccessTokenTTL:    cfg.accessTokenTTL,
		RefreshTokenTTL:   cfg.refreshTokenTTL,
	}), st)
	if err != nil {
		return err
	}

	srv := &http.Server{
		Handler:           gw,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          nil,
	}
	runCtx, stopRun := context.WithCancel(context.Background())
	defer stopRun()
	go gw.Run(runCtx)

	if first != nil {
		printFirstRun(stdout, first, ln.Addr().String())
	}
	log.Info().
		Str("store", st.Describe()).
		Str("addr", ln.Addr().String()).
		Str("version", version()).
		Dur("startup", time.Since(started)).
		Msg("listening")

	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	select {
	case err := <-serveErr:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info().Msg("shutting down: finishing requests in flight")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		log.Warn().Err(err).Msg("requests still in flight at the shutdown timeout were cut off")
	}
	if err := <-serveErr; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}

// openStore opens the configured store; the embedded store's own log records
// go to the process log at warning level and above.
func openStore(ctx context.Context, f storeFlags, timeout time.Duration, log zerolog.Logger) (*store.Store, error) {
	return store.Open(ctx, store.Config{
		URI:              f.mongoURI,
		Database:         f.database,
		DataDir:          f.dataDir,
		OperationTimeout: timeout,
		Logger:           embeddedStoreLogger(log),
	})
}

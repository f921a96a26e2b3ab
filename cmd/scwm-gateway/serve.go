package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	stdlog "log"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/scwm-gateway/scwm-gateway/credentials"
	"github.com/scwm-gateway/scwm-gateway/handlers"
	"github.com/scwm-gateway/scwm-gateway/internal/connlimit"
	"github.com/scwm-gateway/scwm-gateway/internal/httpapi"
	"github.com/scwm-gateway/scwm-gateway/internal/malformedhttp"
	"github.com/scwm-gateway/scwm-gateway/internal/metrics"
	"github.com/scwm-gateway/scwm-gateway/internal/webhook"
	"github.com/scwm-gateway/scwm-gateway/store"
	"github.com/scwm-gateway/scwm-gateway/store/sqlite"
)

// serve runs the gateway until ctx ends, then stops accepting, finishes the
// requests in flight and closes the store.
func serve(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := parseServe(args, getenv, stderr)
	if err != nil {
		return err
	}
	tuneGC(getenv)
	if cfg.ephemeral && cfg.adminToken == "" {
		cfg.adminToken = credentials.NewSecret()
	}
	if cfg.ephemeral {
		dir, err := os.MkdirTemp("", "scwm-ephemeral-")
		if err != nil {
			return fmt.Errorf("--ephemeral: %w", err)
		}
		// Registered before the store opens, so it runs after the store
		// has closed.
		defer os.RemoveAll(dir)
		cfg.store.dataDir = dir
	}
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
	tcp, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.addr, err)
	}
	defer tcp.Close()
	var metricsTCP net.Listener
	if cfg.metricsAddr != "" {
		if metricsTCP, err = net.Listen("tcp", cfg.metricsAddr); err != nil {
			return fmt.Errorf("listen on --metrics-addr %s: %w", cfg.metricsAddr, err)
		}
		defer metricsTCP.Close()
	}

	measures := metrics.New(version())
	cfg.store.observeBatch = measures.GroupCommit
	st, err := openStore(ctx, cfg.store, cfg.storeTimeout, true)
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
	if imp, ok := st.(interface{ Imported() sqlite.LegacyImport }); ok && imp.Imported().Records > 0 {
		log.Info().Int64("records", imp.Imported().Records).Str("from", imp.Imported().From).
			Msg("imported the database of an earlier gateway (FerretDB era); its file is left as it was and may be deleted once this gateway serves what you expect")
	}

	first, err := prepareData(ctx, st, cfg.seed, cfg.store.dataDir, log)
	if err != nil {
		return err
	}
	var resetSeed *store.Seed
	if cfg.adminToken != "" {
		if resetSeed, err = resetSeedOf(cfg.seed, first); err != nil {
			return err
		}
		if resetSeed == nil {
			return errors.New("--admin-token: a reset needs a seed to apply again: give --seed (this store was not made by a first run whose credentials file is kept)")
		}
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

		BodyReadTimeout:      cfg.bodyReadTimeout,
		MaxBodyBytesInFlight: cfg.maxBodyBytesInFlight,
		Webhooks:             webhook.Config{Client: webhook.NewClient(cfg.webhookTimeout, cfg.webhookAllowPrivate, cfg.webhookAllowHTTP)},
		Metrics:              measures,
		MetricsElsewhere:     metricsTCP != nil,
		AdminToken:           cfg.adminToken,
		Journal:              cfg.journal,
		ResetSeed:            resetSeed,
	}), st)
	if err != nil {
		return err
	}

	api, err := httpapi.New(gw)
	if err != nil {
		return err
	}
	ln := listener(tcp, cfg, api, log)
	srv := &http.Server{
		Handler:           api,
		ReadHeaderTimeout: readHeaderTimeout,
		// Bodies have their own deadline (--body-read-timeout); this one
		// bounds what no handler reads, such as a body net/http drains.
		ReadTimeout:    readHeaderTimeout + cfg.bodyReadTimeout,
		WriteTimeout:   60 * time.Second,
		IdleTimeout:    cfg.idleTimeout,
		MaxHeaderBytes: 64 << 10,
		ErrorLog:       stdlog.New(serverLog{log}, "", 0),
	}
	// The background work (directory, key sweeper, webhook deliveries)
	// stops before the store closes.
	runCtx, stopRun := context.WithCancel(context.Background())
	runDone := make(chan struct{})
	go func() {
		defer close(runDone)
		gw.Run(runCtx)
	}()
	defer func() {
		stopRun()
		<-runDone
	}()

	var ready *readyLine
	if cfg.ephemeral {
		if ready, err = ephemeralLine(cfg, first, ln.Addr().String()); err != nil {
			return err
		}
	} else if first != nil {
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
	if metricsTCP != nil {
		metricsSrv := metricsServer(measures)
		go func() { _ = metricsSrv.Serve(metricsTCP) }()
		defer metricsSrv.Close()
		log.Info().Str("addr", metricsTCP.Addr().String()).Msg("serving metrics")
	}
	if ready != nil {
		// The listener is bound and the store open: a connection made
		// now is served.
		if err := json.NewEncoder(stdout).Encode(ready); err != nil {
			return fmt.Errorf("--ephemeral: print the ready line: %w", err)
		}
	}
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

// metricsServer serves GET /metrics alone, for --metrics-addr.
func metricsServer(m *metrics.Metrics) *http.Server {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	return &http.Server{Handler: mux, ReadHeaderTimeout: readHeaderTimeout, WriteTimeout: 60 * time.Second, IdleTimeout: time.Minute}
}

// readHeaderTimeout bounds the arrival of a request's line and header
// fields, and so how long a silent new connection is kept.
const readHeaderTimeout = 10 * time.Second

// listener is the gateway's listener over tcp: connections limited in
// total and per client address (connlimit), and net/http's plain-text
// answers to unparseable requests replaced by error envelopes
// (malformedhttp).
func listener(tcp net.Listener, cfg *serveConfig, api *httpapi.Server, log zerolog.Logger) net.Listener {
	limited := connlimit.New(tcp, connlimit.Config{
		MaxConns:        cfg.maxConns,
		MaxConnsPerAddr: cfg.maxConnsPerAddr,
		OnRefused: func(remote net.Addr, perAddr bool) {
			limit := "--max-connections"
			if perAddr {
				limit = "--max-connections-per-addr"
			}
			log.Debug().Str("remote", remote.String()).Str("limit", limit).Msg("connection refused: limit reached")
		},
		OnAcceptError: func(err error, failures int) {
			log.Warn().Err(err).Int("failures", failures).Msg("accepting connections fails; retrying with backoff")
		},
	})
	return malformedhttp.Listen(limited, api.AnswerMalformedHTTP)
}

// serverLog passes net/http's own messages (such as TLS handshake or
// hijack errors) to the process log.
type serverLog struct{ log zerolog.Logger }

func (s serverLog) Write(p []byte) (int, error) {
	s.log.Warn().Str("source", "net/http").Msg(strings.TrimSpace(string(p)))
	return len(p), nil
}

// readyLine is what --ephemeral prints on stdout once the gateway serves:
// where it is and the credentials of one API client, for a test harness.
type readyLine struct {
	URL              string `json:"url"`
	APIKey           string `json:"apiKey"`
	APISecret        string `json:"apiSecret"`
	OwnerID          string `json:"ownerId"`
	ProcessNetworkID string `json:"processNetworkId"`
	UserID           string `json:"userId"`
	Authorization    string `json:"authorization"`
	DataDir          string `json:"dataDir"`
	// AdminToken is the bearer token of POST /api/admin/reset.
	AdminToken string `json:"adminToken"`
}

// ephemeralLine is the ready line of an --ephemeral gateway: the client
// its first run created, or, with --seed, the seed's first client in the
// first network of its company.
func ephemeralLine(cfg *serveConfig, first *firstRun, addr string) (*readyLine, error) {
	line := &readyLine{URL: "http://" + reachable(addr), DataDir: cfg.store.dataDir, AdminToken: cfg.adminToken}
	switch {
	case cfg.seed != "":
		seed, err := loadSeed(cfg.seed)
		if err != nil {
			return nil, err
		}
		if len(seed.Clients) == 0 {
			return nil, fmt.Errorf("--ephemeral --seed %s: the seed has no API client to print", cfg.seed)
		}
		c := seed.Clients[0]
		line.APIKey, line.APISecret, line.OwnerID, line.UserID = c.APIKey, c.APISecret, c.CompanyID, c.UserID
		for _, n := range seed.Networks {
			if slices.Contains(n.Members, c.CompanyID) {
				line.ProcessNetworkID = n.ID
				break
			}
		}
	case first != nil:
		line.APIKey, line.APISecret, line.OwnerID, line.UserID = first.APIKey, first.APISecret, first.OwnerID, first.UserID
		line.ProcessNetworkID = first.ProcessNetworkID
	default:
		return nil, errors.New("--ephemeral: the new store has no client to print")
	}
	line.Authorization = basicAuthorization(line.APIKey, line.APISecret)
	return line, nil
}

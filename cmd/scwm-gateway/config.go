package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/scwm-gateway/scwm-gateway/internal/journal"
)

// storeFlags are the flags that say which store to open, shared by every
// command that touches data.
type storeFlags struct {
	mongoURI string
	database string
	dataDir  string
	// observeBatch is not a flag: serve sets it to count the embedded
	// store's group-commit batches in the metrics.
	observeBatch func(writes int)
}

func (s *storeFlags) register(fs *flag.FlagSet, getenv func(string) string) {
	fs.StringVar(&s.mongoURI, "mongo-uri", getenv("MONGODB_URI"), "MongoDB URI; empty runs the embedded store (env MONGODB_URI)")
	fs.StringVar(&s.database, "database", envOr(getenv, "SCWM_DATABASE", "scwm"), "database name (env SCWM_DATABASE)")
	fs.StringVar(&s.dataDir, "data-dir", envOr(getenv, "SCWM_DATA_DIR", "./data"), "directory of the embedded store's files (env SCWM_DATA_DIR)")
}

// serveConfig is the configuration of the serve command.
type serveConfig struct {
	store            storeFlags
	addr             string
	seed             string
	logFormat        string
	logLevel         string
	dataspaces       []string
	bodyLimit        int64
	storeTimeout     time.Duration
	requestTimeout   time.Duration
	directoryRefresh time.Duration
	shutdownTimeout  time.Duration
	idempotencyTTL   time.Duration
	accessTokenTTL   time.Duration
	refreshTokenTTL  time.Duration
	rateLimit        float64
	rateBurst        int
	authFailureLimit int
	authWindow       time.Duration
	auth             authFlags
	// Connection and body limits, see docs/operations.md.
	maxConns             int
	maxConnsPerAddr      int
	idleTimeout          time.Duration
	bodyReadTimeout      time.Duration
	maxBodyBytesInFlight int64
	// Webhook deliveries, see docs/webhooks.md.
	webhookAllowPrivate bool
	webhookAllowHTTP    bool
	webhookTimeout      time.Duration
	// ephemeral runs on a temporary store removed at exit, on a free
	// port unless --addr is given, and prints one JSON line once ready.
	ephemeral bool
	// metricsAddr, when set, is where GET /metrics is served instead of
	// the API's address.
	metricsAddr string
	// adminToken turns the admin routes (POST /api/admin/reset) on; an
	// --ephemeral gateway makes one when it is not given.
	adminToken string
	// journal bounds the request journal (docs/operations.md).
	journal journal.Config
}

// parseServe reads serve's flags; every flag defaults to its environment
// variable, and the environment to the documented default.
func parseServe(args []string, getenv func(string) string, stderr io.Writer) (*serveConfig, error) {
	var c serveConfig
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c.store.register(fs, getenv)
	fs.StringVar(&c.addr, "addr", envOr(getenv, "SCWM_ADDR", "127.0.0.1:8080"), "listen address (env SCWM_ADDR)")
	fs.StringVar(&c.seed, "seed", getenv("SCWM_SEED"), "seed file of companies, networks and clients, applied at every start (env SCWM_SEED)")
	fs.StringVar(&c.logFormat, "log-format", envOr(getenv, "SCWM_LOG_FORMAT", "auto"), "console, json, or auto: console on a terminal, JSON otherwise (env SCWM_LOG_FORMAT)")
	fs.StringVar(&c.logLevel, "log-level", envOr(getenv, "SCWM_LOG_LEVEL", "info"), "debug, info, warn or error (env SCWM_LOG_LEVEL)")
	dataspaces := fs.String("dataspaces", envOr(getenv, "SCWM_DATASPACES", "default"), "comma-separated dataspaces served (env SCWM_DATASPACES)")
	bodyLimit := fs.String("body-limit", envOr(getenv, "SCWM_BODY_LIMIT", "1048576"), "largest request body in bytes (env SCWM_BODY_LIMIT)")
	storeTimeout := fs.String("store-timeout", envOr(getenv, "SCWM_STORE_TIMEOUT", "5s"), "bound on each store operation (env SCWM_STORE_TIMEOUT)")
	requestTimeout := fs.String("request-timeout", envOr(getenv, "SCWM_REQUEST_TIMEOUT", "10s"), "bound on the work on one event (env SCWM_REQUEST_TIMEOUT)")
	refresh := fs.String("directory-refresh", envOr(getenv, "SCWM_DIRECTORY_REFRESH", "5s"), "how often API clients and networks are reloaded (env SCWM_DIRECTORY_REFRESH)")
	shutdown := fs.String("shutdown-timeout", envOr(getenv, "SCWM_SHUTDOWN_TIMEOUT", "30s"), "how long SIGTERM waits for in-flight requests (env SCWM_SHUTDOWN_TIMEOUT)")
	idemTTL := fs.String("idempotency-ttl", envOr(getenv, "SCWM_IDEMPOTENCY_TTL", "24h"), "how long idempotency keys are remembered (env SCWM_IDEMPOTENCY_TTL)")
	accessTTL := fs.String("access-token-ttl", envOr(getenv, "SCWM_ACCESS_TOKEN_TTL", "1h"), "lifetime of the REST API's OAuth access tokens (env SCWM_ACCESS_TOKEN_TTL)")
	refreshTTL := fs.String("refresh-token-ttl", envOr(getenv, "SCWM_REFRESH_TOKEN_TTL", "720h"), "lifetime of the REST API's OAuth refresh tokens (env SCWM_REFRESH_TOKEN_TTL)")
	rate := fs.String("rate-limit", envOr(getenv, "SCWM_RATE_LIMIT", "500"), "requests per second per API key; 0 disables (env SCWM_RATE_LIMIT)")
	burst := fs.String("rate-burst", envOr(getenv, "SCWM_RATE_BURST", "1000"), "burst of requests per API key above the rate (env SCWM_RATE_BURST)")
	authFailures := fs.String("auth-failure-limit", envOr(getenv, "SCWM_AUTH_FAILURE_LIMIT", "20"), "failed authentications of one apiKey, OAuth client or username from one address per window before that pair must wait; 0 disables (env SCWM_AUTH_FAILURE_LIMIT)")
	authWindow := fs.String("auth-failure-window", envOr(getenv, "SCWM_AUTH_FAILURE_WINDOW", "1m"), "the window of --auth-failure-limit (env SCWM_AUTH_FAILURE_WINDOW)")
	c.auth.register(fs, getenv)
	maxConns := fs.String("max-connections", envOr(getenv, "SCWM_MAX_CONNECTIONS", "4096"), "most client connections open at once; more are closed at once; keep it under the open-file limit (env SCWM_MAX_CONNECTIONS)")
	maxConnsPerAddr := fs.String("max-connections-per-addr", envOr(getenv, "SCWM_MAX_CONNECTIONS_PER_ADDR", "512"), "most connections open at once from one client IP address; raise it behind a proxy (env SCWM_MAX_CONNECTIONS_PER_ADDR)")
	idleTimeout := fs.String("idle-timeout", envOr(getenv, "SCWM_IDLE_TIMEOUT", "30s"), "how long an idle keep-alive connection stays open (env SCWM_IDLE_TIMEOUT)")
	bodyReadTimeout := fs.String("body-read-timeout", envOr(getenv, "SCWM_BODY_READ_TIMEOUT", "10s"), "how long a request body may take to arrive (env SCWM_BODY_READ_TIMEOUT)")
	bodyBytes := fs.String("max-body-bytes-in-flight", envOr(getenv, "SCWM_MAX_BODY_BYTES_IN_FLIGHT", "67108864"), "most bytes of request bodies being read at once, across all clients; more is answered 503 (env SCWM_MAX_BODY_BYTES_IN_FLIGHT)")
	fs.BoolVar(&c.webhookAllowPrivate, "webhook-allow-private", envOr(getenv, "SCWM_WEBHOOK_ALLOW_PRIVATE", "") == "true", "deliver webhooks to loopback, private and link-local addresses too, for test harnesses on one machine (env SCWM_WEBHOOK_ALLOW_PRIVATE=true)")
	fs.BoolVar(&c.webhookAllowHTTP, "webhook-allow-http", envOr(getenv, "SCWM_WEBHOOK_ALLOW_HTTP", "") == "true", "deliver webhooks to http:// endpoints too, not only https:// (env SCWM_WEBHOOK_ALLOW_HTTP=true)")
	fs.BoolVar(&c.ephemeral, "ephemeral", envOr(getenv, "SCWM_EPHEMERAL", "") == "true", "run on a temporary embedded store removed at exit, on a free loopback port unless --addr is given, and print one JSON line (url, apiKey, apiSecret, ownerId, processNetworkId) on stdout once ready, for test harnesses (env SCWM_EPHEMERAL=true)")
	fs.StringVar(&c.metricsAddr, "metrics-addr", getenv("SCWM_METRICS_ADDR"), "serve GET /metrics on this address of its own (say 127.0.0.1:9464) instead of the API's; empty serves it with the API (env SCWM_METRICS_ADDR)")
	fs.StringVar(&c.adminToken, "admin-token", getenv("SCWM_ADMIN_TOKEN"), "bearer token of POST /api/admin/reset, which empties the data and applies the seed again (for test harnesses); empty turns it off, except that --ephemeral makes one and prints it (env SCWM_ADMIN_TOKEN)")
	journalMode := fs.String("journal", envOr(getenv, "SCWM_JOURNAL", "bodies"), "the request journal: bodies (what each request was, how it was answered, and its bodies with secrets removed), meta (without the bodies) or off (env SCWM_JOURNAL)")
	journalRetention := fs.String("journal-retention", envOr(getenv, "SCWM_JOURNAL_RETENTION", "1h"), "how long the request journal keeps a request (env SCWM_JOURNAL_RETENTION)")
	journalEntries := fs.String("journal-max-entries", envOr(getenv, "SCWM_JOURNAL_MAX_ENTRIES", strconv.Itoa(journal.DefaultMaxEntries)), "most requests the journal keeps (env SCWM_JOURNAL_MAX_ENTRIES)")
	journalBytes := fs.String("journal-max-bytes", envOr(getenv, "SCWM_JOURNAL_MAX_BYTES", strconv.Itoa(journal.DefaultMaxBytes)), "most bytes the journal keeps, bodies included (env SCWM_JOURNAL_MAX_BYTES)")
	webhookTimeout := fs.String("webhook-timeout", envOr(getenv, "SCWM_WEBHOOK_TIMEOUT", "10s"), "how long one webhook delivery attempt may take, connection included (env SCWM_WEBHOOK_TIMEOUT)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if c.ephemeral {
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		if c.store.mongoURI != "" {
			return nil, errors.New("--ephemeral runs the embedded store: drop --mongo-uri (and MONGODB_URI)")
		}
		if set["data-dir"] {
			return nil, errors.New("--ephemeral makes its own data directory: drop --data-dir")
		}
		if !set["addr"] {
			c.addr = "127.0.0.1:0"
		}
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("serve takes no arguments, got %q", fs.Args())
	}
	problems := c.auth.parse()
	for _, d := range strings.Split(*dataspaces, ",") {
		if d = strings.TrimSpace(d); d != "" {
			c.dataspaces = append(c.dataspaces, d)
		}
	}
	if len(c.dataspaces) == 0 {
		problems = append(problems, "--dataspaces names no dataspace")
	}
	n, err := strconv.ParseInt(*bodyLimit, 10, 64)
	if err != nil || n < 1024 {
		problems = append(problems, fmt.Sprintf("--body-limit %q must be a number of bytes, at least 1024", *bodyLimit))
	}
	c.bodyLimit = n
	durations := []struct {
		name string
		raw  string
		dst  *time.Duration
	}{
		{"store-timeout", *storeTimeout, &c.storeTimeout},
		{"request-timeout", *requestTimeout, &c.requestTimeout},
		{"directory-refresh", *refresh, &c.directoryRefresh},
		{"shutdown-timeout", *shutdown, &c.shutdownTimeout},
		{"idempotency-ttl", *idemTTL, &c.idempotencyTTL},
		{"access-token-ttl", *accessTTL, &c.accessTokenTTL},
		{"refresh-token-ttl", *refreshTTL, &c.refreshTokenTTL},
		{"auth-failure-window", *authWindow, &c.authWindow},
		{"idle-timeout", *idleTimeout, &c.idleTimeout},
		{"body-read-timeout", *bodyReadTimeout, &c.bodyReadTimeout},
		{"webhook-timeout", *webhookTimeout, &c.webhookTimeout},
		{"journal-retention", *journalRetention, &c.journal.Retention},
	}
	for _, d := range durations {
		v, err := time.ParseDuration(d.raw)
		if err != nil || v <= 0 {
			problems = append(problems, fmt.Sprintf("--%s %q must be a positive duration such as 5s", d.name, d.raw))
		}
		*d.dst = v
	}
	if v, err := strconv.ParseFloat(*rate, 64); err != nil || v < 0 {
		problems = append(problems, fmt.Sprintf("--rate-limit %q must be a number of requests per second, 0 to disable", *rate))
	} else {
		c.rateLimit = v
	}
	if v, err := strconv.Atoi(*burst); err != nil || v < 1 {
		problems = append(problems, fmt.Sprintf("--rate-burst %q must be a whole number, at least 1", *burst))
	} else {
		c.rateBurst = v
	}
	if v, err := strconv.Atoi(*authFailures); err != nil || v < 0 {
		problems = append(problems, fmt.Sprintf("--auth-failure-limit %q must be a whole number, 0 to disable", *authFailures))
	} else {
		c.authFailureLimit = v
	}
	for _, n := range []struct {
		name string
		raw  string
		dst  *int
	}{{"max-connections", *maxConns, &c.maxConns}, {"max-connections-per-addr", *maxConnsPerAddr, &c.maxConnsPerAddr}} {
		if v, err := strconv.Atoi(n.raw); err != nil || v < 1 {
			problems = append(problems, fmt.Sprintf("--%s %q must be a whole number, at least 1", n.name, n.raw))
		} else {
			*n.dst = v
		}
	}
	if v, err := strconv.ParseInt(*bodyBytes, 10, 64); err != nil || v < c.bodyLimit {
		problems = append(problems, fmt.Sprintf("--max-body-bytes-in-flight %q must be a number of bytes, at least --body-limit", *bodyBytes))
	} else {
		c.maxBodyBytesInFlight = v
	}
	switch *journalMode {
	case "bodies":
	case "meta":
		c.journal.NoBodies = true
	case "off":
		c.journal.Disabled = true
	default:
		problems = append(problems, fmt.Sprintf("--journal %q must be bodies, meta or off", *journalMode))
	}
	for _, n := range []struct {
		name string
		raw  string
		dst  *int
	}{{"journal-max-entries", *journalEntries, &c.journal.MaxEntries}, {"journal-max-bytes", *journalBytes, &c.journal.MaxBytes}} {
		if v, err := strconv.Atoi(n.raw); err != nil || v < 1 {
			problems = append(problems, fmt.Sprintf("--%s %q must be a whole number, at least 1", n.name, n.raw))
		} else {
			*n.dst = v
		}
	}
	switch c.logFormat {
	case "auto", "console", "json":
	default:
		problems = append(problems, fmt.Sprintf("--log-format %q must be console, json or auto", c.logFormat))
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("%s", strings.Join(problems, "; "))
	}
	return &c, nil
}

func envOr(getenv func(string) string, name, def string) string {
	if v := getenv(name); v != "" {
		return v
	}
	return def
}

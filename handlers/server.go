package handlers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/rs/zerolog"

	"github.com/scwm-gateway/scwm-gateway/credentials"
	"github.com/scwm-gateway/scwm-gateway/envelope"
	"github.com/scwm-gateway/scwm-gateway/internal/idempotency"
	"github.com/scwm-gateway/scwm-gateway/internal/keylock"
	"github.com/scwm-gateway/scwm-gateway/internal/limits"
	"github.com/scwm-gateway/scwm-gateway/internal/oauth"
	"github.com/scwm-gateway/scwm-gateway/store"
)

// Config holds the deployment's choices the handlers need.
type Config struct {
	// Dataspaces served; a request naming another is a header error.
	Dataspaces []string
	// BodyLimit is the largest request body accepted, in bytes.
	BodyLimit int64
	// BodyReadTimeout bounds the time a request's body may take to arrive,
	// counted from when its handler starts; a body still arriving then is
	// refused (DefaultBodyReadTimeout when zero).
	BodyReadTimeout time.Duration
	// MaxBodyBytesInFlight caps the bytes of request bodies being read at
	// once across the gateway, each counted by its declared length
	// (BodyLimit for a body of unknown length) while it is read; a request
	// whose body does not fit is answered 503 (DefaultMaxBodyBytesInFlight
	// when zero, no cap when negative).
	MaxBodyBytesInFlight int64
	// RequestTimeout bounds the work on one event, store calls included.
	RequestTimeout time.Duration
	// DirectoryRefresh is how often clients and networks are reloaded.
	DirectoryRefresh time.Duration
	// Version is reported by /healthz.
	Version string
	Logger  zerolog.Logger

	// IdempotencyTTL is how long idempotency keys are remembered (at least
	// 24 hours by default).
	IdempotencyTTL time.Duration
	// RateLimit is the requests per second allowed per API key, in bursts
	// of RateBurst; 0 disables the limit.
	RateLimit float64
	RateBurst int
	// CompanyRateLimit is the requests per second allowed per company, all
	// its API keys and OAuth clients together, in bursts of
	// CompanyRateBurst; 0 disables the limit.
	CompanyRateLimit float64
	CompanyRateBurst int
	// TokenRateLimit is the token requests per second allowed per OAuth
	// client and per client address, in bursts of TokenRateBurst; zero
	// means RateLimit and RateBurst, a negative value disables the limit.
	TokenRateLimit float64
	TokenRateBurst int
	// AuthFailureLimit failed authentications of one identity (apiKey,
	// OAuth client, username) from one address within AuthFailureWindow
	// make that pair wait for the window's end; see internal/limits for the rest of
	// the throttle. 0 disables.
	AuthFailureLimit  int
	AuthFailureWindow time.Duration
	// MintRate is the API credentials a company may mint per second
	// (generate-apiKeyCredentials), in bursts of MintBurst
	// (DefaultMintRate, DefaultMintBurst when zero); MaxKeysPerCompany caps
	// a company's active API keys (DefaultMaxKeysPerCompany when zero).
	MintRate          float64
	MintBurst         int
	MaxKeysPerCompany int
	// PasswordChecks bounds the password checks (bcrypt) that run at once
	// (GOMAXPROCS when zero), and PasswordCheckQueue the password grants
	// that wait for one (4 per check when zero, -1 for none); a grant that
	// finds the queue full, or waits past the request timeout, is answered
	// 503 with Retry-After.
	PasswordChecks     int
	PasswordCheckQueue int
	// AccessTokenTTL and RefreshTokenTTL are the lifetimes of the OAuth
	// tokens of the REST surface (DefaultAccessTokenTTL,
	// DefaultRefreshTokenTTL when zero).
	AccessTokenTTL  time.Duration
	RefreshTokenTTL time.Duration

	// Now is the clock that rate limits, throttles, token expiry and
	// idempotency leases read; nil means time.Now. Tests pass a clock they
	// move by hand instead of sleeping.
	Now func() time.Time
	// PasswordCost is the bcrypt cost of the REST users' passwords, which
	// the check of an unknown user imitates; zero means
	// credentials.DefaultPasswordCost.
	PasswordCost int
}

// Defaults of Config's zero fields.
const (
	DefaultBodyLimit            = 1 << 20
	DefaultRequestTimeout       = 10 * time.Second
	DefaultMintRate             = 1.0 / 60
	DefaultMintBurst            = 10
	DefaultMaxKeysPerCompany    = 1000
	DefaultBodyReadTimeout      = 10 * time.Second
	DefaultMaxBodyBytesInFlight = 64 << 20
)

// Gateway is the whole HTTP application: routes, the event pipeline, the
// registry and the directory, over one Store.
type Gateway struct {
	cfg      Config
	store    Store
	dir      *Directory
	registry *Registry
	log      zerolog.Logger
	echo     *echo.Echo
	// incidentLocks makes changes of one incident take turns in this
	// process (see mutate).
	incidentLocks *keylock.Striped
	limits        *limits.Limits
	passwords     credentials.Passwords
	// oauth is the REST surface's authorization server.
	oauth *oauth.Server
	// mintLocks makes one company's credential mints take turns, so that
	// the cap on its keys holds (generate_credentials.go).
	mintLocks *keylock.Striped
	// bodies counts the bytes of bodies being read (Config.MaxBodyBytesInFlight).
	bodies *bodyBudget
	// keys claims and records idempotency keys.
	keys *idempotency.Keys
}

// now is the gateway's clock (Config.Now).
func (g *Gateway) now() time.Time { return g.cfg.Now() }

// New builds the gateway over st: it compiles the catalogue and loads the
// directory, so it fails early on a broken schema or an unreachable store.
func New(ctx context.Context, cfg Config, st Store) (*Gateway, error) {
	if len(cfg.Dataspaces) == 0 {
		cfg.Dataspaces = []string{"default"}
	}
	if cfg.BodyLimit <= 0 {
		cfg.BodyLimit = DefaultBodyLimit
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = DefaultRequestTimeout
	}
	if cfg.BodyReadTimeout <= 0 {
		cfg.BodyReadTimeout = DefaultBodyReadTimeout
	}
	if cfg.MaxBodyBytesInFlight == 0 {
		cfg.MaxBodyBytesInFlight = DefaultMaxBodyBytesInFlight
	}
	if cfg.IdempotencyTTL <= 0 {
		cfg.IdempotencyTTL = DefaultIdempotencyTTL
	}
	if cfg.AccessTokenTTL <= 0 {
		cfg.AccessTokenTTL = DefaultAccessTokenTTL
	}
	if cfg.RefreshTokenTTL <= 0 {
		cfg.RefreshTokenTTL = DefaultRefreshTokenTTL
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.AuthFailureWindow <= 0 {
		cfg.AuthFailureWindow = time.Minute
	}
	if cfg.TokenRateLimit == 0 {
		cfg.TokenRateLimit, cfg.TokenRateBurst = cfg.RateLimit, cfg.RateBurst
	}
	if cfg.MintRate <= 0 {
		cfg.MintRate = DefaultMintRate
	}
	if cfg.MintBurst <= 0 {
		cfg.MintBurst = DefaultMintBurst
	}
	if cfg.MaxKeysPerCompany <= 0 {
		cfg.MaxKeysPerCompany = DefaultMaxKeysPerCompany
	}
	g := &Gateway{
		cfg:   cfg,
		store: st,
		dir:   NewDirectory(st, cfg.DirectoryRefresh),
		log:   cfg.Logger,

		incidentLocks: keylock.New(1024),
		limits: limits.New(cfg.Now, limits.Config{
			PerKey:       limits.Rate{PerSecond: cfg.RateLimit, Burst: cfg.RateBurst},
			PerCompany:   limits.Rate{PerSecond: cfg.CompanyRateLimit, Burst: cfg.CompanyRateBurst},
			Token:        limits.Rate{PerSecond: cfg.TokenRateLimit, Burst: cfg.TokenRateBurst},
			Mint:         limits.Rate{PerSecond: cfg.MintRate, Burst: cfg.MintBurst},
			AuthFailures: cfg.AuthFailureLimit, AuthWindow: cfg.AuthFailureWindow,
		}),
		passwords: credentials.Passwords{Cost: cfg.PasswordCost},
		mintLocks: keylock.New(64),
		bodies:    newBodyBudget(cfg.MaxBodyBytesInFlight),
	}
	g.oauth = oauth.New(oauth.Config{Store: st, Limits: g.limits, Passwords: g.passwords, Now: cfg.Now,
		AccessTTL: cfg.AccessTokenTTL, RefreshTTL: cfg.RefreshTokenTTL,
		PasswordChecks: cfg.PasswordChecks, PasswordCheckQueue: cfg.PasswordCheckQueue})
	g.keys = &idempotency.Keys{Store: st, Now: cfg.Now, Lease: g.lease(), TTL: cfg.IdempotencyTTL, Log: cfg.Logger}
	reg, err := NewRegistry(g.catalogue())
	if err != nil {
		return nil, err
	}
	g.registry = reg
	if err := g.dir.Refresh(ctx); err != nil {
		return nil, fmt.Errorf("load clients and networks: %w", err)
	}
	g.echo = g.routes()
	return g, nil
}

// ServeHTTP serves every route of the gateway.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) { g.echo.ServeHTTP(w, r) }

// Run keeps the directory fresh and forgets expired idempotency keys until
// ctx ends.
func (g *Gateway) Run(ctx context.Context) {
	go g.runIdempotencySweeper(ctx, time.Minute)
	g.dir.Run(ctx, func(err error) {
		g.log.Warn().Err(err).Msg("directory refresh failed; keeping the previous view")
	})
}

// Registry is the event catalogue this gateway serves.
func (g *Gateway) Registry() *Registry { return g.registry }

// routes builds the router: every route of the gateway is here.
func (g *Gateway) routes() *echo.Echo {
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.HTTPErrorHandler = g.handleRouteError
	e.Use(g.recoverPanics)

	e.Any("/api/events", g.handleEvent)
	// The REST compatibility surface (oauth.go, rest.go).
	e.POST("/api/oauth/token", g.handleToken)
	e.POST("/api/oauth/revoke", g.handleRevoke)
	e.POST("/api/incident", g.handleRestCreate)
	e.POST("/api/v1/incident", g.handleRestCreate)
	e.GET("/api/v1/incident/:id", g.handleRestGet)
	e.PATCH("/api/v1/incident/:id", g.handleRestPatch)
	e.GET("/healthz", g.handleHealth)
	e.GET("/readyz", g.handleReady)
	return e
}

func (g *Gateway) handleHealth(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "ok", "version": g.cfg.Version})
}

func (g *Gateway) handleReady(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
	defer cancel()
	if err := g.store.Ready(ctx); err != nil {
		reason := store.UnavailableReason(err)
		if reason == "" {
			reason = "the store is not ready"
		}
		c.Response().Header().Set("Retry-After", "1")
		return c.JSON(http.StatusServiceUnavailable, map[string]string{"status": "store unavailable", "reason": reason})
	}
	return c.JSON(http.StatusOK, map[string]string{"status": "ready"})
}

// handleRouteError answers what the router could not route (unknown paths,
// and anything a handler returned instead of writing) with an error envelope,
// never Echo's default body.
func (g *Gateway) handleRouteError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	var he *echo.HTTPError
	kind := envelope.KindInternal
	msg := "unexpected error"
	if errors.As(err, &he) {
		switch he.Code {
		case http.StatusNotFound:
			kind = envelope.KindNotFound
			msg = fmt.Sprintf("no such endpoint: %s %s; SCWM events go to POST /api/events", c.Request().Method, c.Request().URL.Path)
		case http.StatusMethodNotAllowed:
			kind = envelope.KindMethodNotAllowed
			msg = fmt.Sprintf("method %s is not allowed on %s", c.Request().Method, c.Request().URL.Path)
		}
	}
	if kind == envelope.KindInternal {
		g.log.Error().Err(err).Str("path", c.Request().URL.Path).Msg("unhandled error")
	}
	plate := envelope.NewLicensePlate()
	writeEnvelope(c, envelope.Failure(nil, plate, &envelope.Error{Kind: kind, Message: msg}), kind.Status())
}

// recoverPanics answers a request whose handler panicked with a 500 in its
// route's format (an error envelope on /api/events, OAuth-style JSON
// elsewhere) and logs the panic, instead of letting net/http drop the
// connection and print to stderr. Handlers that hold an idempotency key
// release it themselves (handleEvent, rest), so that a retry is not kept
// waiting for a lease that no request holds.
func (g *Gateway) recoverPanics(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) (err error) {
		defer func() {
			p := recover()
			if p == nil {
				return
			}
			if p == http.ErrAbortHandler {
				panic(p) // net/http's own way to abort a response
			}
			plate := envelope.NewLicensePlate()
			g.log.Error().Str("licensePlate", plate).Str("path", c.Request().URL.Path).Interface("panic", p).Msg("handler panicked")
			if c.Response().Committed {
				return
			}
			msg := "unexpected error; quote licensePlate " + plate + " to support"
			if c.Request().URL.Path == "/api/events" {
				writeEnvelope(c, envelope.Failure(nil, plate, envelope.Errorf(envelope.KindInternal, "%s", msg)), http.StatusInternalServerError)
				return
			}
			c.Response().Header().Set("X-License-Plate", plate)
			err = c.JSON(http.StatusInternalServerError, map[string]string{"error": "server_error", "error_description": msg})
		}()
		return next(c)
	}
}

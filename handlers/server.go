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
	"github.com/scwm-gateway/scwm-gateway/internal/keylock"
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
	// AuthFailureLimit failed authentications from one address within
	// AuthFailureWindow make it wait for the window's end; 0 disables.
	AuthFailureLimit  int
	AuthFailureWindow time.Duration
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
	limits        *limits
	passwords     credentials.Passwords
	// bodies counts the bytes of bodies being read (Config.MaxBodyBytesInFlight).
	bodies *bodyBudget
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
	g := &Gateway{
		cfg:   cfg,
		store: st,
		dir:   NewDirectory(st, cfg.DirectoryRefresh),
		log:   cfg.Logger,

		incidentLocks: keylock.New(1024),
		limits:        newLimits(cfg.Now, cfg.RateLimit, cfg.RateBurst, cfg.AuthFailureLimit, cfg.AuthFailureWindow),
		passwords:     credentials.Passwords{Cost: cfg.PasswordCost},
		bodies:        newBodyBudget(cfg.MaxBodyBytesInFlight),
	}
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

	e.Any("/api/events", g.handleEvent)
	// The REST compatibility surface, SPEC §10 (oauth.go, rest.go).
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
	if err := g.store.Ping(ctx); err != nil {
		return c.JSON(http.StatusServiceUnavailable, map[string]string{"status": "store unavailable"})
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

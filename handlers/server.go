package handlers

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/scwm-gateway/scwm-gateway/credentials"
	"github.com/scwm-gateway/scwm-gateway/internal/idempotency"
	"github.com/scwm-gateway/scwm-gateway/internal/journal"
	"github.com/scwm-gateway/scwm-gateway/internal/keylock"
	"github.com/scwm-gateway/scwm-gateway/internal/limits"
	"github.com/scwm-gateway/scwm-gateway/internal/metrics"
	"github.com/scwm-gateway/scwm-gateway/internal/oauth"
	"github.com/scwm-gateway/scwm-gateway/internal/webhook"
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
	// tokens of the REST surface (oauth.DefaultAccessTokenTTL,
	// oauth.DefaultRefreshTokenTTL when zero).
	AccessTokenTTL  time.Duration
	RefreshTokenTTL time.Duration

	// Now is the clock that rate limits, throttles, token expiry and
	// idempotency leases read; nil means time.Now. Tests pass a clock they
	// move by hand instead of sleeping.
	Now func() time.Time
	// Webhooks configures the delivery of webhook subscriptions; the
	// gateway sets its Store, Networks, SharedKinds, Visible and, unless
	// set, Now and Log. A nil Client delivers to public https://
	// endpoints only, within webhook.DefaultTimeout.
	Webhooks webhook.Config
	// Journal bounds the request journal (journal.Config); its clock is
	// Now unless set.
	Journal journal.Config
	// Metrics is where the gateway counts what it does (GET /metrics);
	// nil gives the gateway metrics of its own. The embedded store's
	// group commit reports to it only when the store was opened with its
	// GroupCommit as sqlite.Config.ObserveBatch.
	Metrics *metrics.Metrics
	// AdminToken is the bearer token of the admin routes (POST
	// /api/admin/reset); empty turns them off.
	AdminToken string
	// ResetSeed is what a reset applies to the emptied store; nil leaves
	// it empty.
	ResetSeed *store.Seed
	// MetricsElsewhere says that the deployment serves Metrics on an
	// address of its own, so the API's listener does not.
	MetricsElsewhere bool
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
	// keys claims and records idempotency keys.
	keys *idempotency.Keys
	// hooks delivers the webhook subscriptions.
	hooks *webhook.Deliverer
	// journal is the record of recent requests.
	journal *journal.Journal
	// metrics counts what the gateway does.
	metrics *metrics.Metrics
	// rawStore is the store as given, for what the measured store does
	// not pass on (Reset). gate lets requests run together and a reset
	// alone: a request holds it shared (Hold), a reset exclusively, so a
	// reset waits for the requests in flight and later ones wait for it.
	rawStore Store
	gate     sync.RWMutex
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
		cfg.AccessTokenTTL = oauth.DefaultAccessTokenTTL
	}
	if cfg.RefreshTokenTTL <= 0 {
		cfg.RefreshTokenTTL = oauth.DefaultRefreshTokenTTL
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
	if cfg.Metrics == nil {
		cfg.Metrics = metrics.New("")
	}
	exclusive := false
	if ex, ok := st.(interface{ Exclusive() bool }); ok {
		exclusive = ex.Exclusive()
	}
	raw := st
	st = measuredStore{Store: st, m: cfg.Metrics}
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
			Refused: cfg.Metrics.Refused,
		}),
		passwords: credentials.Passwords{Cost: cfg.PasswordCost},
		mintLocks: keylock.New(64),
		metrics:   cfg.Metrics,
		rawStore:  raw,
	}
	g.oauth = oauth.New(oauth.Config{Store: st, Limits: g.limits, Passwords: g.passwords, Now: cfg.Now,
		AccessTTL: cfg.AccessTokenTTL, RefreshTTL: cfg.RefreshTokenTTL,
		PasswordChecks: cfg.PasswordChecks, PasswordCheckQueue: cfg.PasswordCheckQueue})
	if cfg.Journal.Now == nil {
		cfg.Journal.Now = cfg.Now
	}
	g.journal = journal.New(cfg.Journal)
	g.keys = &idempotency.Keys{Store: st, Now: cfg.Now, Lease: g.lease(), TTL: cfg.IdempotencyTTL, Log: cfg.Logger}
	wc := &g.cfg.Webhooks
	if wc.Client == nil {
		wc.Client = webhook.NewClient(0, false, false)
	}
	if wc.Now == nil {
		wc.Now = cfg.Now
	}
	wc.Log = cfg.Logger
	if exclusive && wc.Owner == "" {
		// One process at a time opens the store: a lease of a process
		// that died is the next one's at once, not after it runs out.
		wc.Owner = "the only gateway of this store"
	}
	wc.Store, wc.Networks, wc.SharedKinds, wc.Visible = st, g.dir.NetworksOf, sharedKinds, g.webhookVisible
	observe := wc.Observe
	wc.Observe = func(dl store.Delivery, a store.DeliveryAttempt) {
		g.countAttempt(dl, a)
		if observe != nil {
			observe(dl, a)
		}
	}
	g.hooks = webhook.New(*wc)
	cfg.Metrics.WatchBacklog(g.hooks.Backlog, cfg.Now)
	reg, err := NewRegistry(g.catalogue())
	if err != nil {
		return nil, err
	}
	g.registry = reg
	if err := g.dir.Refresh(ctx); err != nil {
		return nil, fmt.Errorf("load clients and networks: %w", err)
	}
	return g, nil
}

// Run keeps the directory fresh, forgets expired idempotency keys and
// delivers webhooks until ctx ends, and returns once all of it stopped.
func (g *Gateway) Run(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		g.runIdempotencySweeper(ctx, time.Minute)
	}()
	go func() {
		defer wg.Done()
		g.hooks.Run(ctx)
	}()
	g.dir.Run(ctx, func(err error) {
		g.log.Warn().Err(err).Msg("directory refresh failed; keeping the previous view")
	})
	wg.Wait()
}

// Registry is the event catalogue this gateway serves.
func (g *Gateway) Registry() *Registry { return g.registry }

// Config is the gateway's configuration, its defaults applied.
func (g *Gateway) Config() Config { return g.cfg }

// Metrics is where the gateway counts what it does.
func (g *Gateway) Metrics() *metrics.Metrics { return g.metrics }

// countAttempt counts a webhook delivery attempt by its outcome.
func (g *Gateway) countAttempt(dl store.Delivery, a store.DeliveryAttempt) {
	outcome := metrics.Delivered
	switch {
	case a.Status == 0:
		outcome = metrics.Unreachable
	case a.Status < 200 || a.Status > 299:
		outcome = metrics.Refused
	}
	g.metrics.DeliveryAttempt(outcome, dl.AttemptCount > 1, time.Duration(a.LatencyMs)*time.Millisecond)
}

// Journal is the record of the gateway's recent requests.
func (g *Gateway) Journal() *journal.Journal { return g.journal }

// Directory is the in-memory view of API clients and networks that
// authentication and authorization are decided from.
func (g *Gateway) Directory() *Directory { return g.dir }

// Limits are the rate limits and the failed-authentication throttle.
func (g *Gateway) Limits() *limits.Limits { return g.limits }

// OAuth is the REST surface's authorization server.
func (g *Gateway) OAuth() *oauth.Server { return g.oauth }

// Ready reports whether the store can take writes now (store.Store.Ready).
func (g *Gateway) Ready(ctx context.Context) error { return g.store.Ready(ctx) }

// FindUser loads the user of a user id (store.User.ID), the id that an
// object's user fields name (its creator, its assigned users), or
// store.ErrNotFound. It is a plain lookup: whether the caller may see the
// user is the caller's to decide.
func (g *Gateway) FindUser(ctx context.Context, id string) (*store.User, error) {
	return g.store.FindUserByID(ctx, id)
}

// CommentTarget finds the object a comment belongs to, by the comment's id
// alone: its id and processType, or store.ErrNotFound (also for an object
// of another dataspace). Like FindUser it is a plain lookup: whether the
// caller may see the comment is for the list-comments event to say.
func (g *Gateway) CommentTarget(ctx context.Context, dataspace, commentID string) (id, processType string, err error) {
	objectID, _, err := g.store.FindCommentByID(ctx, commentID)
	if err != nil {
		return "", "", err
	}
	inc, err := g.store.FindIncident(ctx, dataspace, objectID, 0)
	if err != nil {
		return "", "", err
	}
	return inc.ID, inc.ProcessType, nil
}

// NewCaller is the caller an API client authenticated as: its key, company
// and user, and the secret it presented, which seals the answers recorded
// for its idempotency keys (never stored).
func NewCaller(apiKey, companyID, userID, secret string) Caller {
	return Caller{APIKey: apiKey, CompanyID: companyID, UserID: userID, secret: secret}
}

// NewSessionCaller is the caller a user signed in as with a session token
// (an access token of the password grant, issued through OAuth client
// clientID): it acts for the user's company as the user's id. seal, when
// not empty, seals the answers recorded for its idempotency keys, as an
// API client's secret does.
func NewSessionCaller(clientID, companyID, userID, seal string) Caller {
	return Caller{APIKey: "oauth:" + clientID, CompanyID: companyID, UserID: userID, secret: seal, session: true}
}

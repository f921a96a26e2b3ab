// Package oauth is the OAuth 2.0 authorization server of the REST
// compatibility surface: the token endpoint's password and refresh_token
// grants (RFC 6749) with client authentication, token revocation
// (RFC 7009), and bearer tokens (RFC 6750). It decides; reading forms and
// headers off HTTP and writing answers is its caller's.
package oauth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"github.com/scwm-gateway/scwm-gateway/credentials"
	"github.com/scwm-gateway/scwm-gateway/envelope"
	"github.com/scwm-gateway/scwm-gateway/internal/limits"
	"github.com/scwm-gateway/scwm-gateway/store"
)

// Defaults of the token lifetimes.
const (
	DefaultAccessTokenTTL  = time.Hour
	DefaultRefreshTokenTTL = 30 * 24 * time.Hour
)

// Scope is the one scope the server grants: the incident API.
const Scope = "incident"

// Error is an error answer of RFC 6749 §5.2 (token endpoint) or RFC 6750
// §3.1 (bearer-protected routes).
type Error struct {
	Status      int
	Code        string
	Description string
	// Challenge, when set, is sent as WWW-Authenticate.
	Challenge string
	// RetryAfter, when set, is sent as Retry-After.
	RetryAfter time.Duration
}

func (e *Error) Error() string { return e.Code + ": " + e.Description }

// Throttled is the answer to an attempt the failed-authentication throttle
// stops, or to a request over a rate limit.
func Throttled(err error) *Error {
	oe := &Error{Status: http.StatusTooManyRequests, Code: "slow_down", Description: err.Error()}
	var ee *envelope.Error
	if errors.As(err, &ee) {
		oe.Description, oe.RetryAfter = ee.Message, ee.RetryAfter
	}
	return oe
}

// InvalidRequest is a request the server cannot read.
func InvalidRequest(format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Code: "invalid_request", Description: fmt.Sprintf(format, args...)}
}

func invalidClient(format string, args ...any) *Error {
	return &Error{Status: http.StatusUnauthorized, Code: "invalid_client", Description: fmt.Sprintf(format, args...),
		Challenge: `Basic realm="scwm-gateway"`}
}

func invalidGrant(format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Code: "invalid_grant", Description: fmt.Sprintf(format, args...)}
}

func invalidToken(format string, args ...any) *Error {
	desc := fmt.Sprintf(format, args...)
	return &Error{Status: http.StatusUnauthorized, Code: "invalid_token", Description: desc,
		Challenge: fmt.Sprintf(`Bearer realm="scwm-gateway", error="invalid_token", error_description=%q`, desc)}
}

// TokenResponse is a successful answer of the token endpoint, RFC 6749
// §5.1.
type TokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
	Scope        string `json:"scope"`
}

// Store is what the server keeps: users, OAuth clients and tokens.
type Store interface {
	FindUser(ctx context.Context, username string) (*store.User, error)
	FindOAuthClient(ctx context.Context, clientID string) (*store.OAuthClient, error)
	InsertToken(ctx context.Context, t store.Token) error
	FindToken(ctx context.Context, hash string) (*store.Token, error)
	RevokeToken(ctx context.Context, hash string) (bool, error)
}

// Config sets up a Server.
type Config struct {
	Store     Store
	Limits    *limits.Limits
	Passwords credentials.Passwords
	// Now is the clock token expiry reads.
	Now                   func() time.Time
	AccessTTL, RefreshTTL time.Duration
	// PasswordChecks bounds the password checks running at once (zero:
	// one per CPU); PasswordCheckQueue those waiting for a slot (zero: four
	// per slot; negative: none).
	PasswordChecks, PasswordCheckQueue int
}

// Server is the authorization server.
type Server struct {
	cfg  Config
	gate *passwordGate
}

// New returns the server of cfg.
func New(cfg Config) *Server {
	if cfg.AccessTTL <= 0 {
		cfg.AccessTTL = DefaultAccessTokenTTL
	}
	if cfg.RefreshTTL <= 0 {
		cfg.RefreshTTL = DefaultRefreshTokenTTL
	}
	return &Server{cfg: cfg, gate: newPasswordGate(cfg.PasswordChecks, cfg.PasswordCheckQueue)}
}

// ClientAuth is how a request authenticates its OAuth client: HTTP Basic
// (its two parts still form-encoded, RFC 6749 §2.3.1), or client_id and
// client_secret in the form. OtherAuthorization is set when the request
// has an Authorization header that is not Basic.
type ClientAuth struct {
	Basic              bool
	ID, Secret         string
	OtherAuthorization bool
}

// Token answers a token request with form from addr. It is rate-limited
// per address before anything else and per OAuth client once the client
// is authenticated; a password grant checks the password only when a
// password-check slot is free, and answers a user of another company, a
// disabled user, an unknown user and a wrong password alike. step is told
// what the request is doing, for the answer when its deadline passes. The
// client id is returned once known, for the log.
func (s *Server) Token(ctx context.Context, form url.Values, auth ClientAuth, addr string, step func(string)) (*TokenResponse, string, error) {
	lim := s.cfg.Limits
	step("authenticating the OAuth client")
	client, err := s.authenticateClient(ctx, form, auth, addr)
	if err != nil {
		return nil, "", err
	}
	if err := lim.AllowTokenGrant(client.ClientID); err != nil {
		return nil, client.ClientID, Throttled(err)
	}
	step("granting the tokens")
	switch grant := form.Get("grant_type"); grant {
	case "password":
		username, password := form.Get("username"), form.Get("password")
		if username == "" || password == "" {
			return nil, client.ClientID, InvalidRequest("the password grant needs username and password")
		}
		user, err := s.checkPassword(ctx, username, password, addr, client.CompanyID, step)
		if err != nil {
			return nil, client.ClientID, err
		}
		resp, err := s.issueTokens(ctx, client, user)
		return resp, client.ClientID, err
	case "refresh_token":
		value := form.Get("refresh_token")
		if value == "" {
			return nil, client.ClientID, InvalidRequest("the refresh_token grant needs refresh_token")
		}
		hash := credentials.HashSecret(value)
		t, err := s.cfg.Store.FindToken(ctx, hash)
		if errors.Is(err, store.ErrNotFound) {
			return nil, client.ClientID, invalidGrant("unknown refresh_token")
		}
		if err != nil {
			return nil, client.ClientID, err
		}
		switch {
		case t.Kind != store.RefreshToken:
			return nil, client.ClientID, invalidGrant("this is not a refresh token")
		case t.ClientID != client.ClientID:
			return nil, client.ClientID, invalidGrant("the refresh token was issued to another client")
		case t.Revoked:
			return nil, client.ClientID, invalidGrant("the refresh token was revoked or already used")
		case !s.cfg.Now().Before(t.ExpiresAt):
			return nil, client.ClientID, invalidGrant("the refresh token expired at %s", t.ExpiresAt.UTC().Format(time.RFC3339))
		}
		user, err := s.cfg.Store.FindUser(ctx, t.Username)
		if errors.Is(err, store.ErrNotFound) || (err == nil && (!user.MaySignIn(t.IssuedAt) || user.CompanyID != client.CompanyID)) {
			return nil, client.ClientID, invalidGrant("the user of this refresh token may no longer sign in")
		}
		if err != nil {
			return nil, client.ClientID, err
		}
		// Refresh tokens are used once: of two uses, one wins.
		won, err := s.cfg.Store.RevokeToken(ctx, hash)
		if err != nil {
			return nil, client.ClientID, err
		}
		if !won {
			return nil, client.ClientID, invalidGrant("the refresh token was revoked or already used")
		}
		resp, err := s.issueTokens(ctx, client, user)
		return resp, client.ClientID, err
	case "":
		return nil, client.ClientID, InvalidRequest("grant_type is missing; use password or refresh_token")
	default:
		return nil, client.ClientID, &Error{Status: http.StatusBadRequest, Code: "unsupported_grant_type",
			Description: fmt.Sprintf("grant_type %q is not supported; use password or refresh_token", grant)}
	}
}

// SignIn checks a user's password as the password grant checks it (the
// same throttle of failed sign-ins, the same bound on the checks running
// at once), for a surface that keeps its own session instead of issuing
// tokens; the user may be of any company. An unknown user, a disabled one
// and a wrong password are answered alike.
func (s *Server) SignIn(ctx context.Context, username, password, addr string) (*store.User, error) {
	if username == "" || password == "" {
		return nil, InvalidRequest("signing in needs username and password")
	}
	return s.checkPassword(ctx, username, password, addr, "", func(string) {})
}

// checkPassword checks username's password, sent from addr, under the
// failed-authentication throttle: the user must be enabled and, unless
// company is "", of that company.
func (s *Server) checkPassword(ctx context.Context, username, password, addr, company string, step func(string)) (*store.User, error) {
	lim := s.cfg.Limits
	identity := limits.UserIdentity(store.NormalizeUsername(username))
	if err := lim.AuthAllowed(identity, addr); err != nil {
		return nil, Throttled(err)
	}
	user, err := s.cfg.Store.FindUser(ctx, username)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	hash := ""
	if user != nil && !user.Disabled && (company == "" || user.CompanyID == company) {
		hash = user.PasswordHash
	}
	step("checking the password")
	release, err := s.gate.acquire(ctx)
	if err != nil {
		return nil, err
	}
	ok := s.cfg.Passwords.Verify(hash, password)
	release()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("checking the password: %w", err)
	}
	if !ok {
		lim.AuthFailed(identity, addr)
		return nil, invalidGrant("unknown username or wrong password")
	}
	lim.AuthSucceeded(identity, addr)
	return user, nil
}

// issueTokens mints and stores an access token and a refresh token.
func (s *Server) issueTokens(ctx context.Context, client *store.OAuthClient, user *store.User) (*TokenResponse, error) {
	now := s.cfg.Now()
	access, refresh := credentials.NewToken(), credentials.NewToken()
	for _, t := range []struct {
		value, kind string
		ttl         time.Duration
	}{{access, store.AccessToken, s.cfg.AccessTTL}, {refresh, store.RefreshToken, s.cfg.RefreshTTL}} {
		err := s.cfg.Store.InsertToken(ctx, store.Token{
			Hash: credentials.HashSecret(t.value), Kind: t.kind, ClientID: client.ClientID,
			Username: user.Username, CompanyID: user.CompanyID, Scope: Scope,
			IssuedAt: now, ExpiresAt: now.Add(t.ttl),
		})
		if err != nil {
			return nil, err
		}
	}
	return &TokenResponse{AccessToken: access, TokenType: "bearer", ExpiresIn: int64(s.cfg.AccessTTL / time.Second),
		RefreshToken: refresh, Scope: Scope}, nil
}

// Revoke revokes a token of the client authenticated by auth (RFC 7009):
// unknown tokens, and tokens of other clients, get the same success and are
// left alone. The client id is returned once known, for the log.
func (s *Server) Revoke(ctx context.Context, form url.Values, auth ClientAuth, addr string) (string, error) {
	client, err := s.authenticateClient(ctx, form, auth, addr)
	if err != nil {
		return "", err
	}
	value := form.Get("token")
	if value == "" {
		return client.ClientID, InvalidRequest("token is missing")
	}
	hash := credentials.HashSecret(value)
	t, err := s.cfg.Store.FindToken(ctx, hash)
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return client.ClientID, err
	case t.ClientID == client.ClientID:
		if _, err := s.cfg.Store.RevokeToken(ctx, hash); err != nil && !errors.Is(err, store.ErrNotFound) {
			return client.ClientID, err
		}
	}
	return client.ClientID, nil
}

// authenticateClient checks the client's id and secret: HTTP Basic, or
// client_id and client_secret in the form when there is no Authorization
// header. Failures are throttled per client id and address; requests that
// name no client are throttled by address alone.
func (s *Server) authenticateClient(ctx context.Context, form url.Values, auth ClientAuth, addr string) (*store.OAuthClient, error) {
	lim := s.cfg.Limits
	anonymous := func(e *Error) (*store.OAuthClient, error) {
		if err := lim.AuthAllowed("", addr); err != nil {
			return nil, Throttled(err)
		}
		lim.AuthFailed("", addr)
		return nil, e
	}
	var id, secret string
	switch {
	case auth.Basic:
		if form.Get("client_secret") != "" {
			return nil, InvalidRequest("send the client's credentials once: HTTP Basic or client_id and client_secret, not both")
		}
		id, secret = formDecoded(auth.ID), formDecoded(auth.Secret)
	case auth.OtherAuthorization:
		return anonymous(invalidClient("the Authorization header is not HTTP Basic; send Basic and base64 of clientId:clientSecret"))
	default:
		id, secret = form.Get("client_id"), form.Get("client_secret")
		if id == "" {
			return anonymous(invalidClient("client authentication is missing; send HTTP Basic with clientId:clientSecret"))
		}
	}
	identity := limits.OAuthClientIdentity(id)
	if err := lim.AuthAllowed(identity, addr); err != nil {
		return nil, Throttled(err)
	}
	client, err := s.cfg.Store.FindOAuthClient(ctx, id)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	hash := ""
	if client != nil && !client.Revoked {
		hash = client.SecretHash
	}
	if !credentials.Verify(hash, secret) {
		lim.AuthFailed(identity, addr)
		return nil, invalidClient("unknown client or wrong client secret")
	}
	lim.AuthSucceeded(identity, addr)
	return client, nil
}

// formDecoded undoes the form encoding RFC 6749 §2.3.1 asks of Basic
// credentials; a value that is not valid form encoding is taken as is.
func formDecoded(s string) string {
	if d, err := url.QueryUnescape(s); err == nil {
		return d
	}
	return s
}

// Principal is who a bearer token speaks for.
type Principal struct {
	ClientID, CompanyID, Username string
	// UserID is the user's id (store.User.ID), the one the caller acts as
	// and objects name it by.
	UserID string
}

// Bearer authenticates a request by the access token in its Authorization
// header value, sent from addr. A request without a token, or with one that
// does not exist, names no identity: such failures are throttled by
// address, and only such requests are refused, so a valid token always
// works.
func (s *Server) Bearer(ctx context.Context, authorization, addr string) (*Principal, error) {
	lim := s.cfg.Limits
	anonymous := func(e *Error) (*Principal, error) {
		if err := lim.AuthAllowed("", addr); err != nil {
			return nil, Throttled(err)
		}
		lim.AuthFailed("", addr)
		return nil, e
	}
	scheme, value, _ := strings.Cut(authorization, " ")
	value = strings.TrimSpace(value)
	switch {
	case authorization == "":
		if err := lim.AuthAllowed("", addr); err != nil {
			return nil, Throttled(err)
		}
		return nil, &Error{Status: http.StatusUnauthorized, Code: "invalid_token",
			Description: "no access token: send Authorization: Bearer <access_token> from POST /api/oauth/token",
			Challenge:   `Bearer realm="scwm-gateway"`}
	case !strings.EqualFold(scheme, "Bearer") || value == "":
		return anonymous(invalidToken("the Authorization header is not a bearer token; send Bearer <access_token>"))
	}
	t, err := s.cfg.Store.FindToken(ctx, credentials.HashSecret(value))
	if errors.Is(err, store.ErrNotFound) {
		return anonymous(invalidToken("unknown access token"))
	}
	if err != nil {
		return nil, err
	}
	switch {
	case t.Kind != store.AccessToken:
		return nil, invalidToken("a refresh token is not an access token; exchange it at POST /api/oauth/token")
	case t.Revoked:
		return nil, invalidToken("the access token was revoked")
	case !s.cfg.Now().Before(t.ExpiresAt):
		return nil, invalidToken("the access token expired at %s; get a new one with the refresh token", t.ExpiresAt.UTC().Format(time.RFC3339))
	}
	client, err := s.cfg.Store.FindOAuthClient(ctx, t.ClientID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && client.Revoked) {
		return nil, invalidToken("the client %q of this token was revoked", t.ClientID)
	}
	if err != nil {
		return nil, err
	}
	user, err := s.cfg.Store.FindUser(ctx, t.Username)
	if errors.Is(err, store.ErrNotFound) || (err == nil && (!user.MaySignIn(t.IssuedAt) || user.CompanyID != t.CompanyID)) {
		return nil, invalidToken("the user of this token may no longer sign in")
	}
	if err != nil {
		return nil, err
	}
	return &Principal{ClientID: t.ClientID, CompanyID: t.CompanyID, Username: t.Username, UserID: user.ID}, nil
}

// passwordGate bounds the password checks (bcrypt, deliberately slow) that
// run at once, so that sign-ins cannot take every core, and the grants that
// wait for a slot, so that a flood is refused at once instead of piling up.
type passwordGate struct {
	slots   chan struct{}
	waiting atomic.Int64
	queue   int64
}

func newPasswordGate(checks, queue int) *passwordGate {
	if checks <= 0 {
		checks = runtime.GOMAXPROCS(0)
	}
	switch {
	case queue == 0:
		queue = 4 * checks
	case queue < 0:
		queue = 0
	}
	return &passwordGate{slots: make(chan struct{}, checks), queue: int64(queue)}
}

// acquire waits for a slot, until ctx ends, unless the queue is full; it
// answers 503 with Retry-After when it gets none.
func (p *passwordGate) acquire(ctx context.Context) (release func(), err error) {
	release = func() { <-p.slots }
	select {
	case p.slots <- struct{}{}:
		return release, nil
	default:
	}
	busy := &Error{Status: http.StatusServiceUnavailable, Code: "temporarily_unavailable",
		Description: "too many sign-ins are being checked right now; retry after the Retry-After seconds", RetryAfter: time.Second}
	if p.waiting.Add(1) > p.queue {
		p.waiting.Add(-1)
		return nil, busy
	}
	defer p.waiting.Add(-1)
	select {
	case p.slots <- struct{}{}:
		return release, nil
	case <-ctx.Done():
		return nil, busy
	}
}

// HoldPasswordChecks takes every password-check slot until release is
// called; tests use it to see what a sign-in finds when all are busy.
func (s *Server) HoldPasswordChecks() (release func()) {
	n := cap(s.gate.slots)
	for range n {
		s.gate.slots <- struct{}{}
	}
	return func() {
		for range n {
			<-s.gate.slots
		}
	}
}

package handlers

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/scwm-gateway/scwm-gateway/credentials"
	"github.com/scwm-gateway/scwm-gateway/envelope"
	"github.com/scwm-gateway/scwm-gateway/internal/limits"
	"github.com/scwm-gateway/scwm-gateway/store"
)

// The OAuth 2.0 side of the REST compatibility surface: the token
// endpoint (RFC 6749: the password and refresh_token grants, client
// authentication by HTTP Basic), token revocation (RFC 7009), and bearer
// tokens on the REST routes (RFC 6750).

// Defaults of the token lifetimes.
const (
	DefaultAccessTokenTTL  = time.Hour
	DefaultRefreshTokenTTL = 30 * 24 * time.Hour
)

// tokenScope is the one scope the gateway grants: the incident API.
const tokenScope = "incident"

// oauthFormLimit bounds a token or revocation request's body.
const oauthFormLimit = 64 << 10

// oauthError is an error answer of RFC 6749 §5.2 (token endpoint) or RFC
// 6750 §3.1 (bearer-protected routes).
type oauthError struct {
	status      int
	code        string
	description string
	// challenge, when set, is sent as WWW-Authenticate.
	challenge string
	// retryAfter, when set, is sent as Retry-After.
	retryAfter time.Duration
}

// throttled is the answer to an attempt the failed-authentication throttle
// stops (limits.authAllowed), or to a request over a rate limit.
func throttled(err error) *oauthError {
	oe := &oauthError{status: http.StatusTooManyRequests, code: "slow_down", description: err.Error()}
	var ee *envelope.Error
	if errors.As(err, &ee) {
		oe.description, oe.retryAfter = ee.Message, ee.RetryAfter
	}
	return oe
}

func (e *oauthError) Error() string { return e.code + ": " + e.description }

func invalidRequest(format string, args ...any) *oauthError {
	return &oauthError{status: http.StatusBadRequest, code: "invalid_request", description: fmt.Sprintf(format, args...)}
}

func invalidClient(format string, args ...any) *oauthError {
	return &oauthError{status: http.StatusUnauthorized, code: "invalid_client", description: fmt.Sprintf(format, args...),
		challenge: `Basic realm="scwm-gateway"`}
}

func invalidGrant(format string, args ...any) *oauthError {
	return &oauthError{status: http.StatusBadRequest, code: "invalid_grant", description: fmt.Sprintf(format, args...)}
}

func invalidToken(format string, args ...any) *oauthError {
	desc := fmt.Sprintf(format, args...)
	return &oauthError{status: http.StatusUnauthorized, code: "invalid_token", description: desc,
		challenge: fmt.Sprintf(`Bearer realm="scwm-gateway", error="invalid_token", error_description=%q`, desc)}
}

// tokenResponse is a successful answer of the token endpoint, RFC 6749 §5.1.
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
	Scope        string `json:"scope"`
}

// handleToken is POST /api/oauth/token.
func (g *Gateway) handleToken(c echo.Context) error {
	start := time.Now()
	ctx, cancel := g.withDeadline(c)
	defer cancel()
	resp, clientID, err := g.token(ctx, c)
	noStore(c)
	if err != nil {
		return g.restFail(c, start, "token", clientID, "", err)
	}
	g.restLog(start, c, "token", http.StatusOK, clientID, "", nil)
	return c.JSON(http.StatusOK, resp)
}

// token answers a token request. It is rate-limited per address before
// anything else and per OAuth client once the client is authenticated; a
// password grant checks the password only when a password-check slot is
// free (passwordGate), and answers a user of another company, a disabled
// user, an unknown user and a wrong password alike.
func (g *Gateway) token(ctx context.Context, c echo.Context) (*tokenResponse, string, error) {
	source := clientAddress(c.Request())
	if err := g.limits.AllowTokenRequest(source); err != nil {
		return nil, "", throttled(err)
	}
	form, err := g.oauthForm(c)
	if err != nil {
		return nil, "", err
	}
	setStep(c, "authenticating the OAuth client")
	client, err := g.authenticateOAuthClient(ctx, c.Request(), form)
	if err != nil {
		return nil, "", err
	}
	if err := g.limits.AllowTokenGrant(client.ClientID); err != nil {
		return nil, client.ClientID, throttled(err)
	}
	setStep(c, "granting the tokens")
	switch grant := form.Get("grant_type"); grant {
	case "password":
		username, password := form.Get("username"), form.Get("password")
		if username == "" || password == "" {
			return nil, client.ClientID, invalidRequest("the password grant needs username and password")
		}
		identity := limits.UserIdentity(store.NormalizeUsername(username))
		if err := g.limits.AuthAllowed(identity, source); err != nil {
			return nil, client.ClientID, throttled(err)
		}
		user, err := g.store.FindUser(ctx, username)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, client.ClientID, err
		}
		hash := ""
		if user != nil && !user.Disabled && user.CompanyID == client.CompanyID {
			hash = user.PasswordHash
		}
		setStep(c, "checking the password")
		release, err := g.passwordChecks.acquire(ctx)
		if err != nil {
			return nil, client.ClientID, err
		}
		ok := g.passwords.Verify(hash, password)
		release()
		if err := timedOutWhile(ctx, "checking the password"); err != nil {
			return nil, client.ClientID, err
		}
		if !ok {
			g.limits.AuthFailed(identity, source)
			return nil, client.ClientID, invalidGrant("unknown username or wrong password")
		}
		g.limits.AuthSucceeded(identity, source)
		resp, err := g.issueTokens(ctx, client, user)
		return resp, client.ClientID, err
	case "refresh_token":
		value := form.Get("refresh_token")
		if value == "" {
			return nil, client.ClientID, invalidRequest("the refresh_token grant needs refresh_token")
		}
		hash := credentials.HashSecret(value)
		t, err := g.store.FindToken(ctx, hash)
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
		case !g.now().Before(t.ExpiresAt):
			return nil, client.ClientID, invalidGrant("the refresh token expired at %s", t.ExpiresAt.UTC().Format(time.RFC3339))
		}
		user, err := g.store.FindUser(ctx, t.Username)
		if errors.Is(err, store.ErrNotFound) || (err == nil && (!user.MaySignIn(t.IssuedAt) || user.CompanyID != client.CompanyID)) {
			return nil, client.ClientID, invalidGrant("the user of this refresh token may no longer sign in")
		}
		if err != nil {
			return nil, client.ClientID, err
		}
		// Refresh tokens are used once: of two uses, one wins.
		won, err := g.store.RevokeToken(ctx, hash)
		if err != nil {
			return nil, client.ClientID, err
		}
		if !won {
			return nil, client.ClientID, invalidGrant("the refresh token was revoked or already used")
		}
		resp, err := g.issueTokens(ctx, client, user)
		return resp, client.ClientID, err
	case "":
		return nil, client.ClientID, invalidRequest("grant_type is missing; use password or refresh_token")
	default:
		return nil, client.ClientID, &oauthError{status: http.StatusBadRequest, code: "unsupported_grant_type",
			description: fmt.Sprintf("grant_type %q is not supported; use password or refresh_token", grant)}
	}
}

// issueTokens mints and stores an access token and a refresh token.
func (g *Gateway) issueTokens(ctx context.Context, client *store.OAuthClient, user *store.User) (*tokenResponse, error) {
	now := g.now()
	access, refresh := credentials.NewToken(), credentials.NewToken()
	for _, t := range []struct {
		value, kind string
		ttl         time.Duration
	}{{access, store.AccessToken, g.cfg.AccessTokenTTL}, {refresh, store.RefreshToken, g.cfg.RefreshTokenTTL}} {
		err := g.store.InsertToken(ctx, store.Token{
			Hash: credentials.HashSecret(t.value), Kind: t.kind, ClientID: client.ClientID,
			Username: user.Username, CompanyID: user.CompanyID, Scope: tokenScope,
			IssuedAt: now, ExpiresAt: now.Add(t.ttl),
		})
		if err != nil {
			return nil, err
		}
	}
	return &tokenResponse{AccessToken: access, TokenType: "bearer", ExpiresIn: int64(g.cfg.AccessTokenTTL / time.Second),
		RefreshToken: refresh, Scope: tokenScope}, nil
}

// handleRevoke is POST /api/oauth/revoke (RFC 7009): a client revokes one
// of its tokens. Unknown tokens, and tokens of other clients, get the same
// 200 and are left alone.
func (g *Gateway) handleRevoke(c echo.Context) error {
	start := time.Now()
	ctx, cancel := g.withDeadline(c)
	defer cancel()
	noStore(c)
	form, err := g.oauthForm(c)
	if err != nil {
		return g.restFail(c, start, "revoke", "", "", err)
	}
	client, err := g.authenticateOAuthClient(ctx, c.Request(), form)
	if err != nil {
		return g.restFail(c, start, "revoke", "", "", err)
	}
	value := form.Get("token")
	if value == "" {
		return g.restFail(c, start, "revoke", client.ClientID, "", invalidRequest("token is missing"))
	}
	hash := credentials.HashSecret(value)
	t, err := g.store.FindToken(ctx, hash)
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return g.restFail(c, start, "revoke", client.ClientID, "", err)
	case t.ClientID == client.ClientID:
		if _, err := g.store.RevokeToken(ctx, hash); err != nil && !errors.Is(err, store.ErrNotFound) {
			return g.restFail(c, start, "revoke", client.ClientID, "", err)
		}
	}
	g.restLog(start, c, "revoke", http.StatusOK, client.ClientID, "", nil)
	return c.JSON(http.StatusOK, map[string]any{})
}

// oauthForm reads the form of a token or revocation request: url-encoded or
// multipart, parameters in the body only (RFC 6749 §3.2: credentials in the
// query string end up in logs).
func (g *Gateway) oauthForm(c echo.Context) (url.Values, error) {
	r := c.Request()
	if r.URL.RawQuery != "" {
		return nil, invalidRequest("send the parameters in the request body, not in the query string")
	}
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		mt = ""
	}
	if mt != "application/x-www-form-urlencoded" && mt != "multipart/form-data" {
		return nil, invalidRequest("Content-Type %q is not supported; send application/x-www-form-urlencoded or multipart/form-data", r.Header.Get("Content-Type"))
	}
	if r.ContentLength > oauthFormLimit {
		return nil, &oauthError{status: http.StatusRequestEntityTooLarge, code: "invalid_request",
			description: fmt.Sprintf("the form is larger than the limit of %d bytes", oauthFormLimit)}
	}
	// The client's credentials may be in the form, so it is read before
	// anyone is authenticated: small, under the body read timeout and
	// within the budget of body bytes being read.
	g.armBodyDeadline(c)
	raw, err := g.readWithin(c, oauthFormLimit, io.ReadAll)
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return nil, &oauthError{status: http.StatusRequestEntityTooLarge, code: "invalid_request",
			description: fmt.Sprintf("the form is larger than the limit of %d bytes", oauthFormLimit)}
	case errors.Is(err, errClientClosed):
		return nil, invalidRequest("the form ended before its Content-Length")
	case err != nil:
		return nil, restBodyError(err)
	}
	if mt == "application/x-www-form-urlencoded" {
		form, err := url.ParseQuery(string(raw))
		if err != nil {
			return nil, invalidRequest("the form could not be read: %v", err)
		}
		return form, nil
	}
	mf, err := multipart.NewReader(bytes.NewReader(raw), params["boundary"]).ReadForm(oauthFormLimit)
	if err != nil {
		return nil, invalidRequest("the multipart form could not be read: %v", err)
	}
	defer func() { _ = mf.RemoveAll() }()
	return url.Values(mf.Value), nil
}

// authenticateOAuthClient checks the client's id and secret: HTTP Basic
// (RFC 6749 §2.3.1, both parts form-encoded), or client_id and
// client_secret in the form when there is no Authorization header.
//
// Failures are throttled per client id and address (limits); requests that
// name no client are throttled by address alone.
func (g *Gateway) authenticateOAuthClient(ctx context.Context, r *http.Request, form url.Values) (*store.OAuthClient, error) {
	source := clientAddress(r)
	anonymous := func(e *oauthError) (*store.OAuthClient, error) {
		if err := g.limits.AuthAllowed("", source); err != nil {
			return nil, throttled(err)
		}
		g.limits.AuthFailed("", source)
		return nil, e
	}
	id, secret, basic := r.BasicAuth()
	switch {
	case basic:
		if form.Get("client_secret") != "" {
			return nil, invalidRequest("send the client's credentials once: HTTP Basic or client_id and client_secret, not both")
		}
		id, secret = formDecoded(id), formDecoded(secret)
	case r.Header.Get("Authorization") != "":
		return anonymous(invalidClient("the Authorization header is not HTTP Basic; send Basic and base64 of clientId:clientSecret"))
	default:
		id, secret = form.Get("client_id"), form.Get("client_secret")
		if id == "" {
			return anonymous(invalidClient("client authentication is missing; send HTTP Basic with clientId:clientSecret"))
		}
	}
	identity := limits.OAuthClientIdentity(id)
	if err := g.limits.AuthAllowed(identity, source); err != nil {
		return nil, throttled(err)
	}
	client, err := g.store.FindOAuthClient(ctx, id)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	hash := ""
	if client != nil && !client.Revoked {
		hash = client.SecretHash
	}
	if !credentials.Verify(hash, secret) {
		g.limits.AuthFailed(identity, source)
		return nil, invalidClient("unknown client or wrong client secret")
	}
	g.limits.AuthSucceeded(identity, source)
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

// restCaller is who calls a bearer-protected route.
type restCaller struct {
	Caller
	ClientID string
}

// bearer authenticates a REST request by its access token. A request
// without a token, or with one that does not exist, names no identity: such
// failures are throttled by address, and only such requests are refused
// (limits), so a valid token always works.
func (g *Gateway) bearer(ctx context.Context, r *http.Request) (*restCaller, error) {
	source := clientAddress(r)
	anonymous := func(e *oauthError) (*restCaller, error) {
		if err := g.limits.AuthAllowed("", source); err != nil {
			return nil, throttled(err)
		}
		g.limits.AuthFailed("", source)
		return nil, e
	}
	auth := r.Header.Get("Authorization")
	scheme, value, _ := strings.Cut(auth, " ")
	value = strings.TrimSpace(value)
	switch {
	case auth == "":
		if err := g.limits.AuthAllowed("", source); err != nil {
			return nil, throttled(err)
		}
		return nil, &oauthError{status: http.StatusUnauthorized, code: "invalid_token",
			description: "no access token: send Authorization: Bearer <access_token> from POST /api/oauth/token",
			challenge:   `Bearer realm="scwm-gateway"`}
	case !strings.EqualFold(scheme, "Bearer") || value == "":
		return anonymous(invalidToken("the Authorization header is not a bearer token; send Bearer <access_token>"))
	}
	t, err := g.store.FindToken(ctx, credentials.HashSecret(value))
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
	case !g.now().Before(t.ExpiresAt):
		return nil, invalidToken("the access token expired at %s; get a new one with the refresh token", t.ExpiresAt.UTC().Format(time.RFC3339))
	}
	client, err := g.store.FindOAuthClient(ctx, t.ClientID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && client.Revoked) {
		return nil, invalidToken("the client %q of this token was revoked", t.ClientID)
	}
	if err != nil {
		return nil, err
	}
	user, err := g.store.FindUser(ctx, t.Username)
	if errors.Is(err, store.ErrNotFound) || (err == nil && (!user.MaySignIn(t.IssuedAt) || user.CompanyID != t.CompanyID)) {
		return nil, invalidToken("the user of this token may no longer sign in")
	}
	if err != nil {
		return nil, err
	}
	return &restCaller{Caller: Caller{APIKey: "oauth:" + t.ClientID, CompanyID: t.CompanyID, UserID: t.Username}, ClientID: t.ClientID}, nil
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
	busy := &oauthError{status: http.StatusServiceUnavailable, code: "temporarily_unavailable",
		description: "too many sign-ins are being checked right now; retry after the Retry-After seconds", retryAfter: time.Second}
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

// noStore marks an answer that carries or concerns credentials as not to be
// cached (RFC 6749 §5.1).
func noStore(c echo.Context) {
	h := c.Response().Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
}

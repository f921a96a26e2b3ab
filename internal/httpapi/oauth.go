package httpapi

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
	"time"

	"github.com/labstack/echo/v4"

	"github.com/scwm-gateway/scwm-gateway/handlers"
	"github.com/scwm-gateway/scwm-gateway/internal/oauth"
)

// The HTTP side of the OAuth 2.0 authorization server (internal/oauth) of
// the REST compatibility surface: the token and revocation endpoints, and
// bearer tokens on the REST routes.

// Defaults of the token lifetimes.
const (
	DefaultAccessTokenTTL  = oauth.DefaultAccessTokenTTL
	DefaultRefreshTokenTTL = oauth.DefaultRefreshTokenTTL
)

// oauthFormLimit bounds a token or revocation request's body.
const oauthFormLimit = 64 << 10

// handleToken is POST /api/oauth/token.
func (s *Server) handleToken(c echo.Context) error {
	start := time.Now()
	ctx, cancel := s.withDeadline(c)
	defer cancel()
	resp, clientID, err := s.token(ctx, c)
	noStore(c)
	if err != nil {
		return s.restFail(c, start, "token", clientID, "", err)
	}
	s.restLog(start, c, "token", http.StatusOK, clientID, "", nil)
	return c.JSON(http.StatusOK, resp)
}

// token reads a token request off HTTP (rate-limited per address before
// its form is read) and hands it to the authorization server.
func (s *Server) token(ctx context.Context, c echo.Context) (*oauth.TokenResponse, string, error) {
	source := clientAddress(c.Request())
	if err := s.limits.AllowTokenRequest(source); err != nil {
		return nil, "", oauth.Throttled(err)
	}
	form, err := s.oauthForm(c)
	if err != nil {
		return nil, "", err
	}
	return s.oauth.Token(ctx, form, clientAuth(c.Request()), source, func(step string) { setStep(c, step) })
}

// clientAuth is how r authenticates its OAuth client.
func clientAuth(r *http.Request) oauth.ClientAuth {
	id, secret, basic := r.BasicAuth()
	return oauth.ClientAuth{Basic: basic, ID: id, Secret: secret, OtherAuthorization: !basic && r.Header.Get("Authorization") != ""}
}

// handleRevoke is POST /api/oauth/revoke (RFC 7009): a client revokes one
// of its tokens.
func (s *Server) handleRevoke(c echo.Context) error {
	start := time.Now()
	ctx, cancel := s.withDeadline(c)
	defer cancel()
	noStore(c)
	form, err := s.oauthForm(c)
	if err != nil {
		return s.restFail(c, start, "revoke", "", "", err)
	}
	clientID, err := s.oauth.Revoke(ctx, form, clientAuth(c.Request()), clientAddress(c.Request()))
	if err != nil {
		return s.restFail(c, start, "revoke", clientID, "", err)
	}
	s.restLog(start, c, "revoke", http.StatusOK, clientID, "", nil)
	return c.JSON(http.StatusOK, map[string]any{})
}

// oauthForm reads the form of a token or revocation request: url-encoded or
// multipart, parameters in the body only (RFC 6749 §3.2: credentials in the
// query string end up in logs).
func (s *Server) oauthForm(c echo.Context) (url.Values, error) {
	r := c.Request()
	if r.URL.RawQuery != "" {
		return nil, oauth.InvalidRequest("send the parameters in the request body, not in the query string")
	}
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		mt = ""
	}
	if mt != "application/x-www-form-urlencoded" && mt != "multipart/form-data" {
		return nil, oauth.InvalidRequest("Content-Type %q is not supported; send application/x-www-form-urlencoded or multipart/form-data", r.Header.Get("Content-Type"))
	}
	if r.ContentLength > oauthFormLimit {
		return nil, &oauth.Error{Status: http.StatusRequestEntityTooLarge, Code: "invalid_request",
			Description: fmt.Sprintf("the form is larger than the limit of %d bytes", oauthFormLimit)}
	}
	// The client's credentials may be in the form, so it is read before
	// anyone is authenticated: small, under the body read timeout and
	// within the budget of body bytes being read.
	s.armBodyDeadline(c)
	raw, err := s.readWithin(c, oauthFormLimit, io.ReadAll)
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return nil, &oauth.Error{Status: http.StatusRequestEntityTooLarge, Code: "invalid_request",
			Description: fmt.Sprintf("the form is larger than the limit of %d bytes", oauthFormLimit)}
	case errors.Is(err, errClientClosed):
		return nil, oauth.InvalidRequest("the form ended before its Content-Length")
	case err != nil:
		return nil, restBodyError(err)
	}
	noteBody(c, raw)
	if mt == "application/x-www-form-urlencoded" {
		form, err := url.ParseQuery(string(raw))
		if err != nil {
			return nil, oauth.InvalidRequest("the form could not be read: %v", err)
		}
		return form, nil
	}
	mf, err := multipart.NewReader(bytes.NewReader(raw), params["boundary"]).ReadForm(oauthFormLimit)
	if err != nil {
		return nil, oauth.InvalidRequest("the multipart form could not be read: %v", err)
	}
	defer func() { _ = mf.RemoveAll() }()
	return url.Values(mf.Value), nil
}

// restCaller is who calls a bearer-protected route.
type restCaller struct {
	handlers.Caller
	ClientID string
}

// bearer authenticates a request by its access token (oauth.Server's
// Bearer). The caller acts as the user's id, which objects then name it by
// (by default its username); seal, when not empty, seals the answers
// recorded for its idempotency keys (handlers.NewSessionCaller).
func (s *Server) bearer(ctx context.Context, r *http.Request, seal string) (*restCaller, error) {
	p, err := s.oauth.Bearer(ctx, r.Header.Get("Authorization"), clientAddress(r))
	if err != nil {
		return nil, err
	}
	return &restCaller{Caller: handlers.NewSessionCaller(p.ClientID, p.CompanyID, p.UserID, seal), ClientID: p.ClientID}, nil
}

// noStore marks an answer that carries or concerns credentials as not to be
// cached (RFC 6749 §5.1).
func noStore(c echo.Context) {
	h := c.Response().Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
}

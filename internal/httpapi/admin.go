package httpapi

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/scwm-gateway/scwm-gateway/envelope"
	"github.com/scwm-gateway/scwm-gateway/handlers"
	"github.com/scwm-gateway/scwm-gateway/internal/openapi"
)

// resetPath is the admin route that empties the data and applies the seed
// again.
const resetPath = "/api/admin/reset"

// adminIdentity is what the failed-authentication throttle counts admin
// attempts under.
const adminIdentity = "admin"

// adminError is an answer of the admin routes.
func adminError(c echo.Context, status int, code, msg string) error {
	factsOf(c).exception = code
	return c.JSON(status, map[string]string{"error": code, "message": msg})
}

// holdDuringReset runs each request while no reset does: a reset waits
// for the requests in flight, and requests that arrive during one wait for
// it (handlers.Gateway.Hold). The reset's own request is not held.
func (s *Server) holdDuringReset(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if c.Request().URL.Path == resetPath {
			return next(c)
		}
		release := s.core.Hold()
		defer release()
		return next(c)
	}
}

// handleReset empties the gateway's data and applies its seed again, for
// the caller that presents the deployment's admin token.
func (s *Server) handleReset(c echo.Context) error {
	if s.cfg.AdminToken == "" {
		return adminError(c, http.StatusNotFound, "NotFound", "this gateway has no admin token (--admin-token), so its admin routes are off")
	}
	addr := clientAddress(c.Request())
	if err := s.limits.AuthAllowed(adminIdentity, addr); err != nil {
		var ee *envelope.Error
		if errors.As(err, &ee) {
			retryAfter(c, ee.RetryAfter)
		}
		return adminError(c, http.StatusTooManyRequests, "RateLimitExceededException", err.Error())
	}
	token, ok := strings.CutPrefix(c.Request().Header.Get("Authorization"), "Bearer ")
	want, got := sha256.Sum256([]byte(s.cfg.AdminToken)), sha256.Sum256([]byte(token))
	if !ok || subtle.ConstantTimeCompare(want[:], got[:]) != 1 {
		s.limits.AuthFailed(adminIdentity, addr)
		c.Response().Header().Set("WWW-Authenticate", `Bearer realm="scwm-gateway admin"`)
		return adminError(c, http.StatusUnauthorized, "AuthenticationException", "send the gateway's admin token as Authorization: Bearer <token>")
	}
	s.limits.AuthSucceeded(adminIdentity, addr)
	held, err := s.core.Reset(c.Request().Context(), s.cfg.ResetSeed)
	switch {
	case errors.Is(err, handlers.ErrResetUnsupported):
		return adminError(c, http.StatusNotImplemented, "NotImplemented", err.Error())
	case err != nil:
		s.log.Error().Err(err).Msg("admin reset failed")
		return adminError(c, http.StatusInternalServerError, "InternalServerException", "the reset failed: "+err.Error())
	}
	s.log.Info().Dur("held", held).Msg("admin reset: the data is the seed's again")
	return c.JSON(http.StatusOK, map[string]any{"status": "reset", "heldMs": float64(held.Microseconds()) / 1000})
}

// opReset documents POST /api/admin/reset.
var opReset = &openapi.Operation{OperationID: "adminReset", Tags: []string{"operations"}, Summary: "Empty the data and apply the seed again",
	Description: "For test harnesses: every incident, comment, history entry, idempotency key, token, webhook subscription and delivery, " +
		"API client, user and master record is removed and the gateway's seed applied again, while no other request runs " +
		"(requests in flight finish first, requests arriving meanwhile wait). The journal of requests starts over. " +
		"Served only when the gateway has an admin token (--admin-token; --ephemeral makes one and prints it).",
	Security: []map[string][]string{{secBearer: {}}},
	Responses: map[string]*openapi.Response{
		"200": {Description: "The data is the seed's.", Content: jsonContent(openapi.Schema{"type": "object", "required": []string{"status"},
			"properties": map[string]any{"status": map[string]any{"const": "reset"}, "heldMs": map[string]any{"type": "number",
				"description": "How long requests were held."}}})},
		"401": {Description: "No admin token, or another one.", Content: jsonContent(adminErrorSchema)},
		"404": {Description: "The gateway has no admin token: the route is off.", Content: jsonContent(adminErrorSchema)},
		"429": {Description: "Too many failed attempts from this address.", Headers: map[string]*openapi.Header{"Retry-After": retryHeader}, Content: jsonContent(adminErrorSchema)},
		"501": {Description: "The store cannot be reset in place (MongoDB).", Content: jsonContent(adminErrorSchema)},
	}}

// adminErrorSchema is the body of the admin routes' errors.
var adminErrorSchema = openapi.Schema{"type": "object", "required": []string{"error", "message"},
	"properties": map[string]any{"error": map[string]any{"type": "string"}, "message": map[string]any{"type": "string"}}}

// Package httpapi is the gateway's HTTP surfaces over the application
// (handlers): the routes, the SCWM envelope API (POST /api/events), the
// ServiceOps-style REST API and its OAuth endpoints, health and readiness,
// and the reading of request bodies under their limits. Each surface is an
// adapter: it authenticates the caller, turns its wire format into a
// handlers.Request for Dispatch, and turns the result back into its wire
// format.
package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/rs/zerolog"

	"github.com/scwm-gateway/scwm-gateway/envelope"
	"github.com/scwm-gateway/scwm-gateway/handlers"
	"github.com/scwm-gateway/scwm-gateway/internal/graphql"
	"github.com/scwm-gateway/scwm-gateway/internal/limits"
	"github.com/scwm-gateway/scwm-gateway/internal/oauth"
	"github.com/scwm-gateway/scwm-gateway/internal/openapi"
	"github.com/scwm-gateway/scwm-gateway/internal/ui"
	"github.com/scwm-gateway/scwm-gateway/store"
)

// Server serves every HTTP route of a gateway.
type Server struct {
	core   *handlers.Gateway
	dir    *handlers.Directory
	limits *limits.Limits
	oauth  *oauth.Server
	cfg    handlers.Config
	log    zerolog.Logger
	echo   *echo.Echo
	// bodies counts the bytes of bodies being read (Config.MaxBodyBytesInFlight).
	bodies *bodyBudget
	// graphql executes the operations of POST /api/graphql.
	graphql *graphql.Service
	// api is every route as registered (operations.go), doc the OpenAPI
	// document built of them and docsHTML its reference page.
	api      []openapi.Route
	doc      *openapi.Document
	docsHTML []byte
	// eventNames and routePaths are the event and route label values of
	// the request metrics (metrics.go).
	eventNames, routePaths map[string]bool
}

// New builds the HTTP surfaces of core; it fails if the GraphQL schema
// cannot be built from the catalogue.
func New(core *handlers.Gateway) (*Server, error) {
	cfg := core.Config()
	gq, err := graphql.New(core, graphql.Limits{})
	if err != nil {
		return nil, err
	}
	s := &Server{core: core, dir: core.Directory(), limits: core.Limits(), oauth: core.OAuth(),
		cfg: cfg, log: cfg.Logger, bodies: newBodyBudget(cfg.MaxBodyBytesInFlight), graphql: gq}
	s.echo = s.routes()
	s.labelSets()
	if s.doc, err = s.apiDocument(); err != nil {
		return nil, err
	}
	if s.docsHTML, err = renderDocs("scwm-gateway", "The HTTP API of the gateway.", s.doc); err != nil {
		return nil, err
	}
	return s, nil
}

// ServeHTTP serves every route of the gateway.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.echo.ServeHTTP(w, r) }

// routes builds the router: every route of the gateway is here.
func (s *Server) routes() *echo.Echo {
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.HTTPErrorHandler = s.handleRouteError
	e.Use(s.measureRequests, s.recoverPanics, s.holdDuringReset, s.journalRequests)

	// Every route is registered through handle, handleAny or handlePage,
	// which record it for the API document (operations.go).
	s.handleAny(e, "/api/events", s.handleEvent, opEvents)
	s.handleAny(e, "/api/graphql", s.handleGraphQL, opGraphQL)
	// The REST compatibility surface (oauth.go, rest.go).
	s.handle(e, http.MethodPost, "/api/oauth/token", s.handleToken, opToken)
	s.handle(e, http.MethodPost, "/api/oauth/revoke", s.handleRevoke, opRevoke)
	s.handle(e, http.MethodPost, "/api/incident", s.handleRestCreate, opCreateLegacy)
	s.handle(e, http.MethodPost, "/api/v1/incident", s.handleRestCreate, opCreate)
	s.handle(e, http.MethodGet, "/api/v1/incident", s.handleRestList, opList)
	s.handle(e, http.MethodGet, "/api/v1/incident/:id", s.handleRestGet, opGet)
	s.handle(e, http.MethodGet, "/api/v1/search", s.handleSearch, opSearch)
	s.handle(e, http.MethodGet, "/api/v1/changes", s.handleChanges, opChanges)
	s.handle(e, http.MethodPatch, "/api/v1/incident/:id", s.handleRestPatch, opPatch)
	s.webhookRoutes(e)
	s.handle(e, http.MethodGet, "/healthz", s.handleHealth, opHealth)
	s.handle(e, http.MethodGet, "/readyz", s.handleReady, opReady)
	// The API document and its reference page (apidoc.go).
	s.handle(e, http.MethodGet, "/metrics", s.handleMetrics, opMetrics)
	s.handle(e, http.MethodPost, resetPath, s.handleReset, opReset)
	s.handle(e, http.MethodGet, "/openapi.json", s.handleOpenAPI, opOpenAPI)
	s.handlePage(e, http.MethodGet, "/docs/api", s.handleDocsPage, "the API reference page, rendered from /openapi.json")
	s.handlePage(e, http.MethodGet, "/docs/api.css", s.handleDocsCSS, "the stylesheet of the API reference page")
	// The web page to look inside (internal/ui).
	pages := echo.WrapHandler(ui.New(s.core, ui.Options{}))
	s.handlePages(e, "/ui", pages, "the web page to look inside")
	s.handlePages(e, "/ui/*", pages, "the web page to look inside")
	return e
}

func (s *Server) handleHealth(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "ok", "version": s.cfg.Version})
}

func (s *Server) handleReady(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
	defer cancel()
	if err := s.core.Ready(ctx); err != nil {
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
func (s *Server) handleRouteError(err error, c echo.Context) {
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
		s.log.Error().Err(err).Str("path", c.Request().URL.Path).Msg("unhandled error")
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
func (s *Server) recoverPanics(next echo.HandlerFunc) echo.HandlerFunc {
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
			s.log.Error().Str("licensePlate", plate).Str("path", c.Request().URL.Path).Interface("panic", p).Msg("handler panicked")
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

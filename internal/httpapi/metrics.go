package httpapi

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/scwm-gateway/scwm-gateway/internal/openapi"
)

// Event label values of answers that name no event of the catalogue.
const (
	// eventNone is an envelope answer to a request that named no event
	// (its body did not parse, or its credentials were refused first).
	eventNone = "none"
	// eventUnknown is an envelope answer to an event the gateway does not
	// serve: the name is the caller's, so it is not a label value.
	eventUnknown = "unknown"
	// routeUnmatched is an answer to a path no route serves.
	routeUnmatched = "unmatched"
)

// measureRequests counts every answer, of every surface, in the metrics
// once it is written: by surface, event (the eventName for the envelope
// API when the catalogue has it, the route elsewhere), status and
// exceptionName, with its latency.
func (s *Server) measureRequests(next echo.HandlerFunc) echo.HandlerFunc {
	m := s.core.Metrics()
	return func(c echo.Context) error {
		start := time.Now()
		if err := next(c); err != nil {
			c.Error(err)
		}
		f := factsOf(c)
		path := c.Request().URL.Path
		surface := surfaceOf(path)
		event := c.Path()
		switch {
		case surface == "events" && f.event == "":
			event = eventNone
		case surface == "events" && s.eventNames[f.event]:
			event = f.event
		case surface == "events":
			event = eventUnknown
		case !s.routePaths[event]:
			event = routeUnmatched
		}
		m.Request(surface, event, c.Response().Status, f.exception, time.Since(start))
		return nil
	}
}

// labelSets makes the sets of label values measureRequests takes as they
// are: the catalogue's event names and the routes' paths.
func (s *Server) labelSets() {
	s.eventNames, s.routePaths = map[string]bool{}, map[string]bool{}
	for _, ev := range s.core.Registry().Events() {
		s.eventNames[ev.Name.String()] = true
	}
	for _, r := range s.api {
		s.routePaths[r.Path] = true
	}
}

// handleMetrics serves the metrics in Prometheus's text format, unless
// the deployment serves them on an address of their own.
func (s *Server) handleMetrics(c echo.Context) error {
	if s.cfg.MetricsElsewhere {
		return c.JSON(http.StatusNotFound, map[string]string{"error": "NotFound",
			"message": "this gateway serves its metrics on a separate address (--metrics-addr), not on this one"})
	}
	s.core.Metrics().Handler().ServeHTTP(c.Response(), c.Request())
	return nil
}

// opMetrics documents GET /metrics.
var opMetrics = &openapi.Operation{OperationID: "metrics", Tags: []string{"operations"}, Summary: "Prometheus metrics",
	Description: "The gateway's metrics in Prometheus's text exposition format (OpenMetrics when the scraper asks for it): " +
		"requests by surface, event, status and exceptionName, latencies, store operations, group-commit batches, idempotency replays " +
		"and takeovers, limit refusals, webhook deliveries and their backlog, build info, and the Go runtime's and the process's collectors.",
	Responses: map[string]*openapi.Response{
		"200": {Description: "The metrics.", Content: map[string]openapi.MediaType{"text/plain": {Schema: openapi.Schema{"type": "string"}}}},
		"404": {Description: "The deployment serves its metrics on a separate address.", Content: jsonContent(openapi.Schema{"type": "object",
			"properties": map[string]any{"error": map[string]any{"type": "string"}, "message": map[string]any{"type": "string"}}})},
	}}

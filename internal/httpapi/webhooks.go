package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/scwm-gateway/scwm-gateway/envelope"
	"github.com/scwm-gateway/scwm-gateway/handlers"
)

// The webhook routes manage a company's subscriptions with the
// credentials of the search routes (an API key, a session token or a REST
// access token); a company sees and changes only its own.
func (s *Server) webhookRoutes(e *echo.Echo) {
	s.handle(e, http.MethodPost, "/api/v1/webhooks", s.handleCreateWebhook, opCreateWebhook)
	s.handle(e, http.MethodGet, "/api/v1/webhooks", s.handleListWebhooks, opListWebhooks)
	s.handle(e, http.MethodDelete, "/api/v1/webhooks/:id", s.handleDeleteWebhook, opDeleteWebhook)
	s.handle(e, http.MethodPost, "/api/v1/webhooks/:id/enable", s.handleEnableWebhook, opEnableWebhook)
	s.handle(e, http.MethodGet, "/api/v1/webhooks/:id/deliveries", s.handleDeliveries, opDeliveries)
	s.handle(e, http.MethodPost, "/api/v1/webhooks/:id/deliveries/:delivery/redeliver", s.handleRedeliver, opRedeliver)
}

// webhookRoute authenticates and rate-limits the caller, runs do with its
// company, and answers status with do's answer as JSON, or the REST
// API's error.
func (s *Server) webhookRoute(c echo.Context, route string, status int, do func(ctx context.Context, caller handlers.Caller, dataspace string) (any, error)) error {
	start := time.Now()
	ctx, cancel := s.withDeadline(c)
	defer cancel()
	plate := envelope.NewLicensePlate()
	setPlate(c, plate)
	setStep(c, "authenticating")
	caller, err := s.authenticate(ctx, c.Request())
	if err != nil {
		return s.restFail(c, start, route, "", "", err)
	}
	factsOf(c).caller = caller
	fail := func(err error) error { return s.restFail(c, start, route, caller.APIKey, caller.UserID, err) }
	if err := s.limits.Allow(caller.APIKey, caller.CompanyID); err != nil {
		return fail(err)
	}
	setStep(c, route)
	answer, err := do(ctx, caller, s.restDataspace())
	if err != nil {
		return fail(err)
	}
	s.restLog(start, c, route, status, caller.APIKey, caller.UserID, nil)
	if answer == nil {
		return c.NoContent(status)
	}
	body, err := json.Marshal(answer)
	if err != nil {
		return fail(err)
	}
	return c.Blob(status, echo.MIMEApplicationJSON, body)
}

// handleCreateWebhook is POST /api/v1/webhooks with {"url", "kinds",
// "events", "after"}: it answers 201 with the subscription and its
// secret, shown this once.
func (s *Server) handleCreateWebhook(c echo.Context) error {
	return s.webhookRoute(c, "create-webhook", http.StatusCreated, func(ctx context.Context, caller handlers.Caller, ds string) (any, error) {
		raw, err := s.restRead(c)
		if err != nil {
			return nil, err
		}
		var req handlers.WebhookRequest
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			return nil, &restError{status: http.StatusBadRequest, code: "invalid_request",
				description: "the body is not a subscription {\"url\", \"kinds\", \"events\", \"after\"}: " + err.Error()}
		}
		if dec.More() {
			return nil, &restError{status: http.StatusBadRequest, code: "invalid_request", description: "the body holds more than one JSON value"}
		}
		return s.core.CreateWebhook(ctx, caller, ds, req)
	})
}

// handleListWebhooks is GET /api/v1/webhooks: {"webhooks": [...]}.
func (s *Server) handleListWebhooks(c echo.Context) error {
	return s.webhookRoute(c, "list-webhooks", http.StatusOK, func(ctx context.Context, caller handlers.Caller, ds string) (any, error) {
		if err := noParams(c); err != nil {
			return nil, err
		}
		list, err := s.core.ListWebhooks(ctx, caller, ds)
		if err != nil {
			return nil, err
		}
		return map[string]any{"webhooks": list}, nil
	})
}

// handleDeleteWebhook is DELETE /api/v1/webhooks/{id}: 204.
func (s *Server) handleDeleteWebhook(c echo.Context) error {
	return s.webhookRoute(c, "delete-webhook", http.StatusNoContent, func(ctx context.Context, caller handlers.Caller, ds string) (any, error) {
		return nil, s.core.DeleteWebhook(ctx, caller, ds, c.Param("id"))
	})
}

// handleEnableWebhook is POST /api/v1/webhooks/{id}/enable: deliveries
// resume after the subscription was disabled.
func (s *Server) handleEnableWebhook(c echo.Context) error {
	return s.webhookRoute(c, "enable-webhook", http.StatusOK, func(ctx context.Context, caller handlers.Caller, ds string) (any, error) {
		return s.core.EnableWebhook(ctx, caller, ds, c.Param("id"))
	})
}

// handleDeliveries is GET /api/v1/webhooks/{id}/deliveries?limit=&cursor=:
// the delivery log, newest first, {"deliveries": [...], "next": cursor or
// null}.
func (s *Server) handleDeliveries(c echo.Context) error {
	return s.webhookRoute(c, "webhook-deliveries", http.StatusOK, func(ctx context.Context, caller handlers.Caller, ds string) (any, error) {
		q := c.QueryParams()
		var problems []fieldProblem
		for name, values := range q {
			switch {
			case name != "limit" && name != "cursor":
				problems = append(problems, fieldProblem{Field: name, Message: "is no parameter of this route; they are cursor, limit"})
			case len(values) != 1:
				problems = append(problems, fieldProblem{Field: name, Message: "is given more than once"})
			}
		}
		limit := 0
		if v := q.Get("limit"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				problems = append(problems, fieldProblem{Field: "limit", Message: "is not a whole number of at least 1"})
			}
			limit = n
		}
		if problems != nil {
			return nil, restValidation(problems)
		}
		return s.core.WebhookDeliveries(ctx, caller, ds, c.Param("id"), q.Get("cursor"), limit)
	})
}

// handleRedeliver is POST /api/v1/webhooks/{id}/deliveries/{deliveryId}/redeliver:
// 202 with the delivery, pending again.
func (s *Server) handleRedeliver(c echo.Context) error {
	return s.webhookRoute(c, "redeliver", http.StatusAccepted, func(ctx context.Context, caller handlers.Caller, ds string) (any, error) {
		return s.core.Redeliver(ctx, caller, ds, c.Param("id"), c.Param("delivery"))
	})
}

// noParams refuses query parameters on a route that takes none.
func noParams(c echo.Context) error {
	var problems []fieldProblem
	for name := range c.QueryParams() {
		problems = append(problems, fieldProblem{Field: name, Message: "is no parameter of this route, which takes none"})
	}
	if problems != nil {
		return restValidation(problems)
	}
	return nil
}

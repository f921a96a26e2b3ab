package handlers_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/scwm-gateway/scwm-gateway/handlers"
	gt "github.com/scwm-gateway/scwm-gateway/internal/gatewaytest"
)

func TestRateLimitPerAPIKey(t *testing.T) {
	t.Parallel()
	clock := gt.NewClock(time.Now())
	h := gt.Start(t, gt.Options{Clock: clock, Config: handlers.Config{RateLimit: 1, RateBurst: 3}})
	read := map[string]any{"id": "01a2080c-0000-7000-8000-000000000000"}
	for i := 0; i < 3; i++ {
		h.Send(t, gt.Acme, readIncident, read).MustFail(t, 404, "ObjectNotFoundException")
	}
	r := h.Send(t, gt.Acme, readIncident, read).MustFail(t, 429, "RateLimitExceededException")
	if s, err := strconv.Atoi(r.HTTP.Get("Retry-After")); err != nil || s < 1 {
		t.Fatalf("Retry-After %q", r.HTTP.Get("Retry-After"))
	}
	// Another key has its own budget.
	h.Send(t, gt.Other, readIncident, read).MustFail(t, 404, "ObjectNotFoundException")
	// The budget refills: a token a second.
	clock.Advance(999 * time.Millisecond)
	h.Send(t, gt.Acme, readIncident, read).MustFail(t, 429, "RateLimitExceededException")
	clock.Advance(time.Millisecond)
	h.Send(t, gt.Acme, readIncident, read).MustFail(t, 404, "ObjectNotFoundException")
}

func TestRepeatedFailedAuthenticationIsThrottled(t *testing.T) {
	t.Parallel()
	clock := gt.NewClock(time.Now())
	h := gt.Start(t, gt.Options{Clock: clock, Config: handlers.Config{AuthFailureLimit: 3, AuthFailureWindow: time.Second}})
	body := gt.Envelope(gt.Acme, addIncident, map[string]any{"aptBusinessObjectSummary": "x"})
	wrong := gt.Basic(gt.Client{APIKey: "acme-key", APISecret: "guess-0123456789"})
	for i := 0; i < 3; i++ {
		h.Post(t, body, wrong, nil).MustFail(t, 401, "AuthenticationException")
	}
	// Now even the right secret waits: guessing gets no answer either way.
	r := h.Post(t, body, gt.Basic(gt.Acme), nil).MustFail(t, 429, "RateLimitExceededException")
	if r.HTTP.Get("Retry-After") == "" {
		t.Fatal("no Retry-After")
	}
	clock.Advance(time.Second)
	h.Post(t, body, gt.Basic(gt.Acme), nil).MustOK(t)
}

package handlers_test

import (
	"fmt"
	"net/http"
	"net/url"
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

// Guessing one key's secret from one address stops that guessing, and
// nobody else: not another key on the same address, nor the key itself
// from another address.
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
	// Another company's key on the same address is not locked out, nor
	// is acme-key from another address.
	h.Send(t, gt.Other, addIncident, map[string]any{"aptBusinessObjectSummary": "x"}).MustOK(t)
	postFrom(t, h, fromAddress(t, "127.0.0.2"), body, gt.Basic(gt.Acme)).MustOK(t)
	clock.Advance(time.Second)
	h.Post(t, body, gt.Basic(gt.Acme), nil).MustOK(t)
}

// Guessing one key's secret from many addresses is stopped too, except
// from the addresses the key recently authenticated from; unknown keys are
// throttled exactly as known ones, so the throttle tells nothing about
// which exist.
func TestFailedAuthenticationOfOneKeyFromManyAddresses(t *testing.T) {
	t.Parallel()
	clock := gt.NewClock(time.Now())
	h := gt.Start(t, gt.Options{Clock: clock, Config: handlers.Config{AuthFailureLimit: 2, AuthFailureWindow: time.Minute}})
	body := gt.Envelope(gt.Acme, addIncident, map[string]any{"aptBusinessObjectSummary": "x"})
	home := fromAddress(t, "127.0.0.2")
	postFrom(t, h, home, body, gt.Basic(gt.Acme)).MustOK(t)
	// Two failures from each of ten addresses: twenty in all, ten times
	// the limit of one address.
	for _, key := range []string{"acme-key", "no-such-key"} {
		wrong := gt.Basic(gt.Client{APIKey: key, APISecret: "guess-0123456789"})
		for i := 10; i < 20; i++ {
			cl := fromAddress(t, fmt.Sprintf("127.0.0.%d", i))
			for range 2 {
				postFrom(t, h, cl, body, wrong).MustFail(t, 401, "AuthenticationException")
			}
		}
		// From a new address the key is refused, known or not.
		postFrom(t, h, fromAddress(t, "127.0.0.30"), body, wrong).MustFail(t, 429, "RateLimitExceededException")
	}
	postFrom(t, h, fromAddress(t, "127.0.0.31"), body, gt.Basic(gt.Acme)).MustFail(t, 429, "RateLimitExceededException")
	// Where it authenticated before, it still works; other keys work
	// everywhere.
	postFrom(t, h, home, body, gt.Basic(gt.Acme)).MustOK(t)
	postFrom(t, h, fromAddress(t, "127.0.0.31"), gt.Envelope(gt.Other, addIncident, map[string]any{"aptBusinessObjectSummary": "x"}), gt.Basic(gt.Other)).MustOK(t)
}

// Requests without credentials are counted by address and only such
// requests are refused: a valid client on that address goes on.
func TestFailuresWithoutCredentialsLockOutOnlySuch(t *testing.T) {
	t.Parallel()
	clock := gt.NewClock(time.Now())
	h := gt.Start(t, gt.Options{Seed: gt.RESTSeed(), Clock: clock, Config: handlers.Config{AuthFailureLimit: 2, AuthFailureWindow: time.Minute}})
	body := gt.Envelope(gt.Acme, addIncident, map[string]any{"aptBusinessObjectSummary": "x"})
	for range 2 {
		h.Post(t, body, "", nil).MustFail(t, 401, "AuthenticationException")
	}
	h.Post(t, body, "Basic !!!", nil).MustFail(t, 429, "RateLimitExceededException")
	h.Post(t, body, gt.Basic(gt.Acme), nil).MustOK(t)

	// On the REST API unknown bearer tokens count by address.
	clock.Advance(time.Minute)
	token, _ := login(t, h, gt.Tim)
	for range 2 {
		wantOAuthError(t, restJSON(t, h, http.MethodGet, "/api/v1/incident/x", "guessed-token", nil), 401, "invalid_token")
	}
	wantOAuthError(t, restJSON(t, h, http.MethodGet, "/api/v1/incident/x", "guessed-token", nil), 429, "slow_down")
	if a := restJSON(t, h, http.MethodGet, "/api/v1/incident/x", token, nil); a.Status != http.StatusNotFound {
		t.Fatalf("a valid token on the throttled address: %d %s", a.Status, a.Raw)
	}
}

// The same holds for OAuth clients and for usernames.
func TestFailedOAuthAuthenticationIsThrottledPerIdentity(t *testing.T) {
	t.Parallel()
	h := startREST(t, handlers.Config{AuthFailureLimit: 3, AuthFailureWindow: time.Minute})
	tim, sara := gt.Tim, gt.Sara
	other := fromAddress(t, "127.0.0.2")

	// A client's secret guessed from one address.
	for range 3 {
		wantOAuthError(t, tokenRequest(t, h, tim.ClientID, "wrong-secret-0123456789", passwordGrant(tim)), 401, "invalid_client")
	}
	wantOAuthError(t, tokenRequest(t, h, tim.ClientID, tim.ClientSecret, passwordGrant(tim)), 429, "slow_down")
	login(t, h, sara)
	if a := tokenFrom(t, h, other, tim.ClientID, tim.ClientSecret, passwordGrant(tim)); a.Status != 200 {
		t.Fatalf("the client from another address: %d %s", a.Status, a.Raw)
	}

	// A user's password guessed from one address, through a valid client.
	guess := url.Values{"grant_type": {"password"}, "username": {sara.Username}, "password": {"guess-password"}}
	for range 3 {
		wantOAuthError(t, tokenRequest(t, h, sara.ClientID, sara.ClientSecret, guess), 400, "invalid_grant")
	}
	wantOAuthError(t, tokenRequest(t, h, sara.ClientID, sara.ClientSecret, passwordGrant(sara)), 429, "slow_down")
	if a := tokenFrom(t, h, other, sara.ClientID, sara.ClientSecret, passwordGrant(sara)); a.Status != 200 {
		t.Fatalf("the user from another address: %d %s", a.Status, a.Raw)
	}
	if a := tokenRequest(t, h, gt.Oleg.ClientID, gt.Oleg.ClientSecret, passwordGrant(gt.Oleg)); a.Status != 200 {
		t.Fatalf("another user on the same address: %d %s", a.Status, a.Raw)
	}
}

package oauth

import (
	"context"
	"errors"
	"net/url"
	"testing"
	"time"

	"github.com/scwm-gateway/scwm-gateway/credentials"
	"github.com/scwm-gateway/scwm-gateway/internal/limits"
	"github.com/scwm-gateway/scwm-gateway/store"
	"github.com/scwm-gateway/scwm-gateway/store/sqlite"
)

// The server's grants, bearer check and revocation, without HTTP, on the
// real embedded store: a password grant gives tokens the bearer check
// accepts; a wrong password, a revoked token and an expired one are refused
// with their RFC codes.
func TestGrantsBearerAndRevocation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, sqlite.Config{DataDir: t.TempDir(), PasswordCost: credentials.MinPasswordCost})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close(context.Background()) })
	err = store.ApplySeed(ctx, st, st.Passwords(), &store.Seed{
		Companies:    []store.Company{{ID: "acme"}},
		Users:        []store.SeedUser{{Username: "tim@acme.example", Password: "tim-password-1", CompanyID: "acme"}},
		OAuthClients: []store.SeedOAuthClient{{ClientID: "acme-app", ClientSecret: "acme-app-secret-0123", CompanyID: "acme"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	clock := func() time.Time { return now }
	s := New(Config{Store: st, Limits: limits.New(clock, limits.Config{}), Passwords: credentials.Passwords{Cost: credentials.MinPasswordCost},
		Now: clock, AccessTTL: time.Minute})
	client := ClientAuth{Basic: true, ID: "acme-app", Secret: "acme-app-secret-0123"}
	grant := func(password string) (*TokenResponse, error) {
		resp, _, err := s.Token(ctx, url.Values{"grant_type": {"password"}, "username": {"tim@acme.example"}, "password": {password}},
			client, "127.0.0.1", func(string) {})
		return resp, err
	}
	code := func(err error) string {
		var e *Error
		if !errors.As(err, &e) {
			return "not an OAuth error: " + err.Error()
		}
		return e.Code
	}

	if _, err := grant("wrong-password"); err == nil || code(err) != "invalid_grant" {
		t.Fatalf("a wrong password: %v", err)
	}
	resp, err := grant("tim-password-1")
	if err != nil || resp.AccessToken == "" || resp.RefreshToken == "" || resp.ExpiresIn != 60 || resp.Scope != Scope {
		t.Fatalf("password grant: %+v, %v", resp, err)
	}
	p, err := s.Bearer(ctx, "Bearer "+resp.AccessToken, "127.0.0.1")
	if err != nil || p.CompanyID != "acme" || p.Username != "tim@acme.example" || p.ClientID != "acme-app" {
		t.Fatalf("bearer: %+v, %v", p, err)
	}
	if _, err := s.Bearer(ctx, "Bearer "+resp.RefreshToken, "127.0.0.1"); err == nil || code(err) != "invalid_token" {
		t.Fatalf("a refresh token as a bearer token: %v", err)
	}
	now = now.Add(time.Minute)
	if _, err := s.Bearer(ctx, "Bearer "+resp.AccessToken, "127.0.0.1"); err == nil || code(err) != "invalid_token" {
		t.Fatalf("an expired access token: %v", err)
	}
	fresh, err := grant("tim-password-1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Revoke(ctx, url.Values{"token": {fresh.AccessToken}}, client, "127.0.0.1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Bearer(ctx, "Bearer "+fresh.AccessToken, "127.0.0.1"); err == nil || code(err) != "invalid_token" {
		t.Fatalf("a revoked access token: %v", err)
	}
}

package main

import (
	"io"
	"strings"
	"testing"
)

// The authentication limits of serve come from flags, or from their
// environment variables, and bad values are refused by name.
func TestAuthLimitFlags(t *testing.T) {
	t.Parallel()
	env := map[string]string{"SCWM_COMPANY_RATE_LIMIT": "7", "SCWM_MINT_LIMIT": "36", "SCWM_PASSWORD_CHECK_QUEUE": "-1"}
	getenv := func(k string) string { return env[k] }
	c, err := parseServe([]string{"--token-rate-limit", "3", "--max-keys-per-company", "5", "--password-checks", "2"}, getenv, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	got := c.auth.apply(c.auth.parsed)
	if got.CompanyRateLimit != 7 || got.MintRate != 0.01 || got.PasswordCheckQueue != -1 ||
		got.TokenRateLimit != 3 || got.MaxKeysPerCompany != 5 || got.PasswordChecks != 2 || got.MintBurst != 10 {
		t.Fatalf("parsed %+v", got)
	}
	if c, err := parseServe([]string{"--token-rate-limit", "0"}, getenv, io.Discard); err != nil || c.auth.parsed.TokenRateLimit >= 0 {
		t.Fatalf("--token-rate-limit 0 does not disable the limit: %v", err)
	}
	_, err = parseServe([]string{"--mint-limit", "lots", "--password-checks", "-3"}, getenv, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "--mint-limit") || !strings.Contains(err.Error(), "--password-checks") {
		t.Fatalf("bad values: %v", err)
	}
}

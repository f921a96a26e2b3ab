package main

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// fakeGateway writes a script that answers `serve -h` with usage, as a
// gateway binary does, and `version` with a version.
func fakeGateway(t *testing.T, name, usage string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	script := "#!/bin/sh\nif [ \"$1\" = version ]; then echo 'scwm-gateway test'; exit 0; fi\ncat >&2 <<'EOF'\n" + usage + "\nEOF\nexit 2\n"
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// The bench turns off the rate limits each binary has, and passes no flag
// a binary lacks: a gateway from before the company rate limit refuses
// --company-rate-limit and would not start.
func TestLimitFlagsFollowTheBinary(t *testing.T) {
	t.Parallel()
	newer := fakeGateway(t, "newer", "  -addr string\n  -company-rate-limit string\n    \trequests per second per company\n  -rate-limit string")
	older := fakeGateway(t, "older", "  -addr string\n  -rate-limit string\n    \trequests per second per API key")
	bins, err := resolveBinaries(t.Context(), newer, older, t.TempDir(), func(string, ...any) {})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"--rate-limit", "0", "--company-rate-limit", "0"}; !slices.Equal(bins[0].limitFlags, want) {
		t.Errorf("flags for a gateway with a company rate limit: %q, want %q", bins[0].limitFlags, want)
	}
	if want := []string{"--rate-limit", "0"}; !slices.Equal(bins[1].limitFlags, want) {
		t.Errorf("flags for a gateway without one: %q, want %q", bins[1].limitFlags, want)
	}
	if bins[0].Version != "test" {
		t.Errorf("version %q, want test", bins[0].Version)
	}
}

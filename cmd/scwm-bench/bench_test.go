package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestBenchShortRun runs scwm-bench as a user does, with its defaults for
// what it starts (it builds the gateway of this checkout, starts it as the
// gateway and as the baseline store), on a short run, and checks that the
// JSON report holds every figure: a positive throughput and no error in
// every phase, a baseline, a ratio, the RSS.
func TestBenchShortRun(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds the gateway and starts it and a store as processes")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	started := time.Now()
	args := []string{"scwm-bench", "--clients", "4", "--duration", "1s", "--warmup", "300ms", "--json"}
	if err := run(ctx, args, os.Getenv, &stdout, &stderr); err != nil {
		t.Fatalf("scwm-bench: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	t.Logf("scwm-bench ran in %v", time.Since(started).Round(time.Millisecond))

	var rep struct {
		Machine struct {
			NumCPU         int    `json:"numCPU"`
			GatewayVersion string `json:"gatewayVersion"`
		} `json:"machine"`
		Phases []struct {
			Name       string                     `json:"name"`
			Throughput float64                    `json:"throughput"`
			Errors     int                        `json:"errors"`
			P50Ms      float64                    `json:"p50Ms"`
			MaxMs      float64                    `json:"maxMs"`
			Ratio      *float64                   `json:"ratio"`
			Kinds      map[string]json.RawMessage `json:"kinds"`
		} `json:"phases"`
		Baseline *struct {
			Throughput  float64 `json:"throughput"`
			Errors      int     `json:"errors"`
			Description string  `json:"description"`
		} `json:"baseline"`
		RSS *struct {
			PeakBytes int64 `json:"peakBytes"`
			RSSBytes  int64 `json:"rssBytes"`
		} `json:"gatewayRss"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("scwm-bench --json printed no JSON report (%v):\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	t.Logf("report:\n%s", stdout.String())

	if rep.Machine.NumCPU < 1 || rep.Machine.GatewayVersion == "" {
		t.Errorf("machine not described: %+v", rep.Machine)
	}
	names := map[string]bool{}
	for _, ph := range rep.Phases {
		names[ph.Name] = true
		if ph.Throughput <= 0 || ph.Errors != 0 {
			t.Errorf("phase %s: throughput %.1f, %d errors; want a positive throughput and no error", ph.Name, ph.Throughput, ph.Errors)
		}
		if ph.P50Ms <= 0 || ph.MaxMs < ph.P50Ms {
			t.Errorf("phase %s: p50 %.3f ms, max %.3f ms", ph.Name, ph.P50Ms, ph.MaxMs)
		}
		if ph.Ratio == nil || *ph.Ratio <= 0 {
			t.Errorf("phase %s: no ratio to the baseline", ph.Name)
		}
		if len(ph.Kinds) == 0 {
			t.Errorf("phase %s: no figures per kind", ph.Name)
		}
	}
	for _, want := range []string{"mix", "add-only", "read-only"} {
		if !names[want] {
			t.Errorf("no %s phase in a default run", want)
		}
	}
	if rep.Baseline == nil || rep.Baseline.Throughput <= 0 || rep.Baseline.Errors != 0 {
		t.Errorf("baseline: %+v; want a positive throughput and no error", rep.Baseline)
	}
	if rep.RSS == nil || rep.RSS.PeakBytes <= 0 || rep.RSS.RSSBytes <= 0 {
		t.Errorf("gateway RSS: %+v", rep.RSS)
	}
}

func TestBenchFlags(t *testing.T) {
	t.Parallel()
	phases := func(args ...string) []string {
		t.Helper()
		cfg, err := parseConfig(args, io.Discard)
		if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		var names []string
		for _, m := range cfg.mixes {
			names = append(names, m.name()+" "+m.String())
		}
		return names
	}
	for _, c := range []struct {
		args []string
		want []string
	}{
		{nil, []string{"mix add=60,edit=20,read=20", "add-only add=100", "read-only read=100"}},
		{[]string{"--phases=false"}, []string{"mix add=60,edit=20,read=20"}},
		{[]string{"--mix", "add=100"}, []string{"add-only add=100"}},
		{[]string{"--mix", "add=1,read=1"}, []string{"mix add=1,read=1"}},
		{[]string{"--mix", "add=100", "--phases"}, []string{"add-only add=100", "read-only read=100"}},
	} {
		if got := phases(c.args...); !slices.Equal(got, c.want) {
			t.Errorf("%v: phases %q, want %q", c.args, got, c.want)
		}
	}
	for _, args := range [][]string{
		{"--mix", "add=0"},
		{"--mix", "delete=10"},
		{"--mix", "add=ten"},
		{"--mix", "add=1,add=2"},
		{"--clients", "0"},
		{"--duration", "0s"},
		{"--pid", "1"},
		{"--baseline-uri", "mongodb://127.0.0.1"},
		{"--url", "http://127.0.0.1:8080"},
		{"--url", "ftp://x", "--api-key", "k", "--api-secret", "s", "--owner", "o", "--network", "n"},
		{"--url", "http://127.0.0.1:8080", "--api-key", "a,b", "--api-secret", "s", "--owner", "o", "--network", "n"},
		{"--url", "http://127.0.0.1:8080", "--api-key", "k", "--api-secret", "s", "--owner", "o", "--network", "n", "--gateway-bin", "/bin/gw"},
		{"--gateway-bin", ""},
		{"extra"},
	} {
		if _, err := parseConfig(args, io.Discard); err == nil {
			t.Errorf("%v: accepted", args)
		}
	}
	cfg, err := parseConfig([]string{"--url", "http://127.0.0.1:8080", "--api-key", "a,b", "--api-secret", "s1,s2", "--owner", "o", "--network", "n"}, io.Discard)
	if err != nil || cfg.url != "http://127.0.0.1:8080/api/events" || len(cfg.apiKeys) != 2 {
		t.Errorf("--url: %+v, %v", cfg, err)
	}
	if cfg, err := parseConfig([]string{"--gateway-bin", "/opt/scwm/scwm-gateway"}, io.Discard); err != nil || cfg.gatewayBin != "/opt/scwm/scwm-gateway" {
		t.Errorf("--gateway-bin: %+v, %v", cfg, err)
	}
}

// The processes the bench starts see the Go runtime's variables and JSON
// logs, and none of the caller's gateway settings: an SCWM_DATA_DIR or
// MONGODB_URI in the caller's shell must not point the measured gateway at
// another store.
func TestChildEnvironment(t *testing.T) {
	t.Parallel()
	caller := map[string]string{
		"PATH": "/usr/bin", "GOGC": "200", "SCWM_DATA_DIR": "/srv/scwm", "SCWM_LOG_FORMAT": "console",
		"MONGODB_URI": "mongodb://prod.example:27017", "AWS_SECRET_ACCESS_KEY": "secret",
	}
	got := childEnv(func(k string) string { return caller[k] })
	want := []string{"PATH=/usr/bin", "GOGC=200", "SCWM_LOG_FORMAT=json"}
	if !slices.Equal(got, want) {
		t.Errorf("child environment %q, want %q", got, want)
	}
}

// The bench reaches the gateway only over HTTP and its own processes: it
// links none of the gateway's packages, so it cannot build the gateway's
// stored documents or share its code paths.
func TestBenchLinksNoGatewayPackage(t *testing.T) {
	t.Parallel()
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	const module = "github.com/scwm-gateway/scwm-gateway/"
	for _, pkg := range strings.Fields(string(out)) {
		if rest, ok := strings.CutPrefix(pkg, module); ok && rest != "cmd/scwm-bench" && rest != "internal/redact" {
			t.Errorf("scwm-bench depends on %s", pkg)
		}
	}
}

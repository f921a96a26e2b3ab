package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMain lets the test binary serve as the no-op server: the bench
// starts its own binary with noop-server, and under go test that binary is
// this one.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "noop-server" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		err := noopServer(ctx, os.Args[2:], os.Getenv, os.Stderr)
		stop()
		if err != nil {
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestBenchShortRun runs scwm-bench as a user does, with its defaults for
// what it starts (it builds the gateway of this checkout and starts it,
// and the no-op server), on a short run of every phase, and checks that the
// JSON report holds every figure: a positive throughput and no error in
// every phase, the ceiling and the ratios to it, the targets, the RSS, and
// a baseline or the reason it was skipped.
func TestBenchShortRun(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds the gateway and starts it and the no-op server as processes")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	started := time.Now()
	args := []string{"scwm-bench", "--clients", "4", "--duration", "1s", "--warmup", "300ms", "--json",
		"--phases", "ceiling,mix,add,add-keyed,read,baseline"}
	if err := run(ctx, args, os.Getenv, &stdout, &stderr); err != nil {
		t.Fatalf("scwm-bench: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	t.Logf("scwm-bench ran in %v", time.Since(started).Round(time.Millisecond))

	type phase struct {
		Name         string                     `json:"name"`
		Throughput   float64                    `json:"throughput"`
		Errors       int                        `json:"errors"`
		P50Ms        float64                    `json:"p50Ms"`
		MaxMs        float64                    `json:"maxMs"`
		CeilingRatio *float64                   `json:"ratioToCeiling"`
		Kinds        map[string]json.RawMessage `json:"kinds"`
	}
	var rep struct {
		Machine struct {
			NumCPU int `json:"numCPU"`
		} `json:"machine"`
		Ceiling  []phase `json:"ceiling"`
		Gateways []struct {
			Label           string  `json:"label"`
			Version         string  `json:"version"`
			Phases          []phase `json:"phases"`
			Baseline        *phase  `json:"baseline"`
			BaselineSkipped string  `json:"baselineSkipped"`
			RSS             *struct {
				PeakBytes int64 `json:"peakBytes"`
				RSSBytes  int64 `json:"rssBytes"`
			} `json:"rss"`
		} `json:"gateways"`
		Targets []struct {
			Target  string     `json:"target"`
			Figures []*float64 `json:"figures"`
		} `json:"targets"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("scwm-bench --json printed no JSON report (%v):\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	t.Logf("report:\n%s", stdout.String())

	if rep.Machine.NumCPU < 1 || len(rep.Gateways) != 1 || rep.Gateways[0].Version == "" {
		t.Fatalf("machine or gateway not described: %+v %+v", rep.Machine, rep.Gateways)
	}
	g := rep.Gateways[0]
	check := func(ph phase) {
		if ph.Throughput <= 0 || ph.Errors != 0 {
			t.Errorf("phase %s: throughput %.1f, %d errors; want a positive throughput and no error", ph.Name, ph.Throughput, ph.Errors)
		}
		if ph.P50Ms <= 0 || ph.MaxMs < ph.P50Ms {
			t.Errorf("phase %s: p50 %.3f ms, max %.3f ms", ph.Name, ph.P50Ms, ph.MaxMs)
		}
		if len(ph.Kinds) == 0 {
			t.Errorf("phase %s: no figures per kind", ph.Name)
		}
	}
	var names []string
	for _, ph := range append(slices.Clone(rep.Ceiling), g.Phases...) {
		names = append(names, ph.Name)
		check(ph)
	}
	want := []string{"ceiling-add-only", "ceiling-read-only", "mix", "add-only", "add-keyed", "read-only"}
	if !slices.Equal(names, want) {
		t.Errorf("phases %q, want %q", names, want)
	}
	for _, ph := range g.Phases {
		if ph.Name != "mix" && (ph.CeilingRatio == nil || *ph.CeilingRatio <= 0) {
			t.Errorf("phase %s: no ratio to the ceiling", ph.Name)
		}
	}
	// Keyed adds take their turns among the plain ones, and the ceiling's
	// add load among both.
	progress := stderr.String()
	firstKeyed := strings.Index(progress, "phase add-keyed (add=100,keyed), round 1 of")
	lastPlain := strings.LastIndex(progress, "phase add-only (add=100), round")
	ceilingLate := strings.Index(progress, "phase ceiling-add-only (add=100), round 2 of")
	firstPlain := strings.Index(progress, "phase add-only (add=100), round 1 of")
	if firstKeyed < 0 || lastPlain < 0 || firstKeyed > lastPlain || ceilingLate < firstPlain {
		t.Errorf("the add phases did not take turns together with the ceiling's add load:\n%s", progress)
	}
	if g.Baseline == nil && g.BaselineSkipped == "" {
		t.Errorf("no baseline and no reason it was skipped")
	}
	if g.Baseline != nil {
		check(*g.Baseline)
	}
	if g.RSS == nil || g.RSS.PeakBytes <= 0 || g.RSS.RSSBytes <= 0 {
		t.Errorf("gateway RSS: %+v", g.RSS)
	}
	measured := 0
	for _, v := range rep.Targets {
		if len(v.Figures) != 1 {
			t.Errorf("target %q: %d figures for 1 gateway", v.Target, len(v.Figures))
		}
		if v.Figures[0] != nil {
			measured++
		}
	}
	if len(rep.Targets) != 5 || measured != 3 { // new/old needs --compare-bin
		t.Errorf("%d targets, %d measured; want 5, 3 of them measured without --compare-bin", len(rep.Targets), measured)
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
		for _, p := range cfg.phases {
			names = append(names, strings.TrimSpace(p.name+" "+p.mix.String()))
		}
		return names
	}
	for _, c := range []struct {
		args []string
		want []string
	}{
		{nil, []string{"ceiling", "mix add=60,edit=20,read=20", "add-only add=100", "add-keyed add=100,keyed", "read-only read=100"}},
		{[]string{"--phases", "add,read"}, []string{"add-only add=100", "read-only read=100"}},
		{[]string{"--phases", "read-only, edit ,baseline"}, []string{"read-only read=100", "edit-only edit=100", "baseline"}},
		{[]string{"--mix", "add=100"}, []string{"add-only add=100"}},
		{[]string{"--mix", "add=1,read=1"}, []string{"mix add=1,read=1"}},
		{[]string{"--mix", "add=1,read=1", "--phases", "mix,ceiling"}, []string{"mix add=1,read=1", "ceiling"}},
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
		{"--phases", "add,add-only"},
		{"--phases", "delete"},
		{"--phases", ","},
		{"--clients", "0"},
		{"--duration", "0s"},
		{"--rounds", "0"},
		{"--rounds", "100", "--duration", "1s"},
		{"--pid", "1"},
		{"--baseline-uri", "mongodb://127.0.0.1"},
		{"--url", "http://127.0.0.1:8080"},
		{"--url", "ftp://x", "--api-key", "k", "--api-secret", "s", "--owner", "o", "--network", "n"},
		{"--url", "http://127.0.0.1:8080", "--api-key", "a,b", "--api-secret", "s", "--owner", "o", "--network", "n"},
		{"--url", "http://127.0.0.1:8080", "--api-key", "k", "--api-secret", "s", "--owner", "o", "--network", "n", "--gateway-bin", "/bin/gw"},
		{"--url", "http://127.0.0.1:8080", "--api-key", "k", "--api-secret", "s", "--owner", "o", "--network", "n", "--compare-bin", "/bin/gw"},
		{"--gateway-bin", ""},
		{"--compare-bin", ""},
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
	if cfg, err := parseConfig([]string{"--gateway-bin", "/opt/scwm/scwm-gateway", "--compare-bin", "/opt/old"}, io.Discard); err != nil || cfg.gatewayBin != "/opt/scwm/scwm-gateway" || cfg.compareBin != "/opt/old" {
		t.Errorf("--gateway-bin, --compare-bin: %+v, %v", cfg, err)
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

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"time"
)

// run is the whole program: it parses args, runs the phases and the
// baseline, and prints the report to stdout; progress goes to stderr. getenv
// gives the environment the processes it starts may see (see childEnv). It
// fails when the gateway (or the baseline store it starts) cannot start,
// never because of a figure.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := parseConfig(args[1:], stderr)
	if err != nil {
		return err
	}
	progress := func(format string, a ...any) { fmt.Fprintf(stderr, "scwm-bench: "+format+"\n", a...) }
	tmp, err := os.MkdirTemp("", "scwm-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	rep := &report{
		Machine: machine{GOOS: runtime.GOOS, GOARCH: runtime.GOARCH, NumCPU: runtime.NumCPU(), GoVersion: runtime.Version()},
		Params: params{Clients: cfg.clients, WarmupS: cfg.warmup.Seconds(), DurationS: cfg.duration.Seconds(),
			Target: "self-started gateway (embedded store), log level info, --rate-limit 0 --company-rate-limit 0"},
	}
	for _, m := range cfg.mixes {
		rep.Params.Phases = append(rep.Params.Phases, m.name()+" ("+m.String()+")")
	}

	// The gateway: our own child, or the one at --url.
	env := childEnv(getenv)
	var gw *child
	pid := cfg.pid
	if cfg.url == "" {
		if cfg.gatewayBin == "" {
			progress("building the gateway: go build -o %s %s", filepath.Join(tmp, "scwm-gateway"), gatewayPackage)
			if cfg.gatewayBin, err = buildGateway(ctx, tmp); err != nil {
				return err
			}
		}
		seed := filepath.Join(tmp, "seed.json")
		if cfg.apiKeys, cfg.apiSecrets, err = writeSeed(seed, cfg.clients); err != nil {
			return err
		}
		progress("starting the gateway: %s serve (embedded store in %s)", cfg.gatewayBin, filepath.Join(tmp, "gateway"))
		gw, err = startChild(ctx, "gateway", cfg.gatewayBin, env, "listening",
			"serve", "--addr", "127.0.0.1:0", "--data-dir", filepath.Join(tmp, "gateway"), "--seed", seed, "--rate-limit", "0", "--company-rate-limit", "0")
		if err != nil {
			return fmt.Errorf("the gateway could not start: %w", err)
		}
		defer gw.stop()
		cfg.url = "http://" + gw.addr + "/api/events"
		pid = gw.cmd.Process.Pid
		progress("gateway pid %d listening on %s", pid, gw.addr)
	} else {
		rep.Params.Target = "running gateway at " + cfg.url
	}
	rep.Params.URL = cfg.url

	transport := &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        cfg.clients + 16,
		MaxIdleConnsPerHost: cfg.clients + 16,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	defer transport.CloseIdleConnections()
	hc := &http.Client{Transport: transport, Timeout: 30 * time.Second}
	if rep.Machine.GatewayVersion, err = gatewayVersion(ctx, hc, cfg.url); err != nil {
		if gw != nil {
			return fmt.Errorf("the gateway does not answer: %w", err)
		}
		return fmt.Errorf("the gateway at %s does not answer: %w", cfg.url, err)
	}

	workers := make([]*worker, cfg.clients)
	for i := range workers {
		workers[i] = newWorker(i, cfg, hc)
	}
	for _, m := range cfg.mixes {
		if ctx.Err() != nil {
			break
		}
		progress("phase %s (%s): warmup %v, measuring %v, %d clients", m.name(), m.String(), cfg.warmup, cfg.duration, cfg.clients)
		ph := runGatewayPhase(ctx, cfg, workers, m, pid)
		rep.Phases = append(rep.Phases, ph)
		progress("phase %s: %.1f req/s, %d errors", ph.Name, ph.Throughput, ph.Errors)
	}
	if pid > 0 {
		if rss, err := readRSS(pid); err == nil {
			rep.RSS = rss
		} else {
			rep.RSSSkipped = err.Error()
		}
	} else {
		rep.RSSSkipped = "no --pid given for the gateway at --url"
	}
	transport.CloseIdleConnections()
	if gw != nil {
		progress("stopping the gateway (SIGTERM)")
		if err := gw.stop(); err != nil {
			progress("the gateway did not stop cleanly: %v", err)
			rep.Notes = append(rep.Notes, "the gateway did not stop cleanly: "+err.Error())
		}
		rep.GatewayLog = gw.log.stats()
	}

	// The baseline: one InsertOne per request into the same kind of store.
	var baselineErr error
	if ctx.Err() == nil {
		var storeBin string
		if gw != nil {
			storeBin = cfg.gatewayBin
		}
		rep.Baseline, rep.BaselineSkipped, baselineErr = runBaseline(ctx, cfg, tmp, storeBin, env, progress)
	} else {
		rep.BaselineSkipped = "the run was interrupted"
		rep.Notes = append(rep.Notes, "the run was interrupted: the last phase's window is cut short and its requests in flight count as errors (canceled)")
	}
	if rep.Baseline != nil {
		for _, ph := range rep.Phases {
			if rep.Baseline.Throughput > 0 {
				r := ph.Throughput / rep.Baseline.Throughput
				ph.Ratio = &r
			}
		}
	}

	if cfg.jsonOut {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else {
		rep.print(stdout)
	}
	if ctx.Err() != nil {
		return fmt.Errorf("interrupted: %w", ctx.Err())
	}
	return baselineErr
}

// gatewayVersion asks the gateway's /healthz for its version; it is also how
// the bench knows the gateway answers before the first phase.
func gatewayVersion(ctx context.Context, hc *http.Client, eventsURL string) (string, error) {
	u, _ := url.Parse(eventsURL)
	u.Path, u.RawQuery = "/healthz", ""
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return "", err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var h struct {
		Version string `json:"version"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil || resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s answered %d (%v)", u, resp.StatusCode, err)
	}
	return h.Version, nil
}

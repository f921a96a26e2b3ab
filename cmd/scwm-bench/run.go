package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
)

const usage = `scwm-bench: measures scwm-gateway binaries over HTTP, as clients do

Usage:
  scwm-bench [flags]                 the load phases (--phases): ceiling, mix, add, add-keyed, read ...
  scwm-bench long-incident [flags]   one incident with many changes: change cost, history, disk per change
  scwm-bench big-store [flags]       a big store (--incidents) against a 10,000-incident one
  scwm-bench crash-retry [flags]     kill -9 with keyed requests in flight, restart, retry the keys
  scwm-bench expiry [flags]          a writer's latency while 100k keys and tokens expire

Every command takes --gateway-bin BIN (default: build ./cmd/scwm-gateway of this checkout) and
--compare-bin OLD (measure OLD the same way in the same run). Run 'scwm-bench COMMAND -h' for
the flags of each; docs/performance.md and docs/performance-store.md say what they measure.
`

// run is the whole program: it dispatches to a scenario, the no-op server,
// or the load phases. getenv gives the environment the processes it
// starts may see (see childEnv). It fails when a gateway cannot start or a
// scenario cannot carry out its steps, never because of a figure.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) > 1 {
		switch name := args[1]; name {
		case "noop-server":
			return noopServer(ctx, args[2:], getenv, stderr)
		case "help", "-h", "--help":
			fmt.Fprint(stdout, usage)
			return nil
		default:
			if sc := findScenario(name); sc != nil {
				return runScenario(ctx, sc, args[2:], getenv, stdout, stderr)
			}
		}
	}
	return runPhases(ctx, args[1:], getenv, stdout, stderr)
}

// endpoint is one server the load phases drive: a gateway, or the no-op
// server of the ceiling.
type endpoint struct {
	rep     *gatewayReport
	gw      *gateway // nil for --url and the no-op server
	acc     access
	hc      *http.Client
	workers []*worker
	pid     int
}

func newEndpoint(rep *gatewayReport, acc access, clients, pid int) *endpoint {
	e := &endpoint{rep: rep, acc: acc, hc: newHTTPClient(clients), pid: pid}
	e.workers = make([]*worker, clients)
	for i := range e.workers {
		e.workers[i] = newWorker(i, acc)
	}
	return e
}

// close closes the endpoint's connections: its workers' and its client's
// idle ones.
func (e *endpoint) close() {
	for _, w := range e.workers {
		w.close()
	}
	e.hc.CloseIdleConnections()
}

// runPhases runs the load phases on every gateway of the run (and the
// ceiling on the no-op server), phase by phase, and prints the report.
func runPhases(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := parseConfig(args, stderr)
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
		Params: params{Clients: cfg.clients, WarmupS: cfg.warmup.Seconds(), DurationS: cfg.duration.Seconds(), Rounds: cfg.rounds,
			Target: "self-started gateways (embedded store), log level info, --rate-limit 0 (and --company-rate-limit 0 where the binary has it)"},
	}
	for _, p := range cfg.phases {
		desc := p.name
		if p.mix != (mix{}) {
			desc += " (" + p.mix.String() + ")"
		}
		rep.Params.Phases = append(rep.Params.Phases, desc)
	}
	env := childEnv(getenv)

	// The gateways: our own children, or the one at --url.
	var gws []*endpoint
	if cfg.url == "" {
		bins, err := resolveBinaries(ctx, cfg.gatewayBin, cfg.compareBin, tmp, progress)
		if err != nil {
			return err
		}
		for _, b := range bins {
			dir := filepath.Join(tmp, b.Label)
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return err
			}
			seed, err := writeSeed(filepath.Join(dir, "seed.json"), cfg.clients, false)
			if err != nil {
				return err
			}
			g := &gateway{bin: b, dataDir: filepath.Join(dir, "gateway"), seed: seed, env: env}
			progress("starting gateway %s: %s serve (embedded store in %s)", b.Label, b.Path, g.dataDir)
			if _, err := g.start(ctx); err != nil {
				return fmt.Errorf("gateway %s could not start: %w", b.Label, err)
			}
			defer g.stop()
			progress("gateway %s: pid %d listening on %s", b.Label, g.pid(), g.addr)
			e := newEndpoint(&gatewayReport{Label: b.Label, Binary: b.Path}, g.access(), cfg.clients, g.pid())
			e.gw = g
			gws = append(gws, e)
		}
	} else {
		rep.Params.Target = "running gateway at " + cfg.url
		acc := access{url: cfg.url, owner: cfg.owner, network: cfg.network, keys: cfg.apiKeys, secrets: cfg.apiSecrets}
		gws = append(gws, newEndpoint(&gatewayReport{Label: "gateway", Binary: cfg.url}, acc, cfg.clients, cfg.pid))
	}
	rep.Params.URL = gws[0].acc.url
	for _, e := range gws {
		defer e.close()
		if e.rep.Version, err = healthVersion(ctx, e.hc, e.acc.url); err != nil {
			return fmt.Errorf("gateway %s does not answer: %w", e.rep.Label, err)
		}
		rep.Gateways = append(rep.Gateways, e.rep)
	}

	// The ceiling: the no-op server, a process of its own.
	var noop *endpoint
	if cfg.hasPhase(phaseCeiling) {
		self, err := selfBinary()
		if err != nil {
			return err
		}
		progress("starting the no-op server: %s noop-server", self)
		c, err := startChild(ctx, "no-op server", self, env, "listening", "noop-server", "--addr", "127.0.0.1:0")
		if err != nil {
			return fmt.Errorf("the no-op server could not start: %w", err)
		}
		defer c.stop()
		acc := access{url: "http://" + c.addr + "/api/events", owner: seedOwner, network: seedNetwork, keys: []string{"noop"}, secrets: []string{"noop"}}
		noop = newEndpoint(&gatewayReport{Label: "ceiling"}, acc, cfg.clients, c.cmd.Process.Pid)
		defer noop.close()
	}

	// A ceiling load takes its turns in the phase whose bodies it sends,
	// when the run has that phase, so that the two are measured alike;
	// otherwise it runs alone where the ceiling phase is listed.
	ceilingTurn := func(m mix) *turn {
		return &turn{label: "the no-op server", name: "ceiling-" + m.name(), workers: noop.workers, m: m, pid: noop.pid,
			done: func(ph *phaseReport) { rep.Ceiling = append(rep.Ceiling, ph) }}
	}
	joins := map[string]mix{} // phase name -> the ceiling load that joins it
	if noop != nil {
		for _, m := range []mix{ceilingAdd, ceilingRead} {
			if cfg.hasPhase(m.name()) {
				joins[m.name()] = m
			}
		}
	}
	// Keyed adds are compared with plain ones: when the run has both, they
	// take their turns together, where the first of them is listed.
	together := map[string]string{"add-only": "add-keyed", "add-keyed": "add-only"}
	ran := map[string]bool{}
	gatewayTurns := func(p phase) []*turn {
		var turns []*turn
		for _, e := range gws {
			turns = append(turns, &turn{label: "gateway " + e.rep.Label, name: p.name, workers: e.workers, m: p.mix, pid: e.pid,
				done: func(ph *phaseReport) { e.rep.Phases = append(e.rep.Phases, ph) }})
		}
		if m, ok := joins[p.name]; ok {
			turns = append(turns, ceilingTurn(m))
		}
		ran[p.name] = true
		return turns
	}
	for _, p := range cfg.phases {
		if ctx.Err() != nil {
			break
		}
		var turns []*turn
		switch {
		case p.name == phaseBaseline, ran[p.name]:
			continue // the baseline runs after the gateways stopped
		case p.name == phaseCeiling:
			for _, m := range []mix{ceilingAdd, ceilingRead} {
				if _, joined := joins[m.name()]; !joined {
					turns = append(turns, ceilingTurn(m))
				}
			}
		default:
			turns = gatewayTurns(p)
			if other, ok := together[p.name]; ok {
				if i := slices.IndexFunc(cfg.phases, func(q phase) bool { return q.name == other }); i >= 0 {
					turns = append(turns, gatewayTurns(cfg.phases[i])...)
				}
			}
		}
		runTurns(ctx, turns, cfg.warmup, cfg.duration, cfg.rounds, progress)
	}
	for _, e := range gws {
		if e.pid > 0 {
			if rss, err := readRSS(e.pid); err == nil {
				e.rep.RSS = rss
			} else {
				e.rep.RSSSkipped = err.Error()
			}
		} else {
			e.rep.RSSSkipped = "no --pid given for the gateway at --url"
		}
		e.close()
		if e.gw != nil {
			progress("stopping gateway %s (SIGTERM)", e.rep.Label)
			log := e.gw.proc.log
			if err := e.gw.stop(); err != nil {
				progress("gateway %s did not stop cleanly: %v", e.rep.Label, err)
				rep.Notes = append(rep.Notes, "gateway "+e.rep.Label+" did not stop cleanly: "+err.Error())
			}
			e.rep.Log = log.stats()
		}
	}

	// The baselines: one InsertOne per request into the same kind of store,
	// where the binary still has that store (embedded-store).
	var baselineErr error
	if cfg.hasPhase(phaseBaseline) {
		for _, e := range gws {
			if ctx.Err() != nil {
				e.rep.BaselineSkipped = "the run was interrupted"
				continue
			}
			storeBin := ""
			if e.gw != nil {
				storeBin = e.gw.bin.Path
				if !supportsCommand(ctx, storeBin, "embedded-store") {
					e.rep.BaselineSkipped = "n/a: the binary has no embedded-store command (no FerretDB store to insert into)"
					continue
				}
			}
			var err error
			e.rep.Baseline, e.rep.BaselineSkipped, err = runBaseline(ctx, cfg, filepath.Join(tmp, "baseline-"+e.rep.Label), storeBin, env, progress)
			if err != nil && baselineErr == nil {
				baselineErr = err
			}
		}
	}
	if ctx.Err() != nil {
		rep.Notes = append(rep.Notes, "the run was interrupted: the last phase's window is cut short and its requests in flight count as errors (canceled)")
	}
	rep.ratios()
	rep.Targets = phaseVerdicts(rep)

	if cfg.jsonOut {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
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

// ceilingFor is the ceiling phase whose request bodies a phase of mix m
// sends: add bodies for adds, read bodies for reads; none for a mix.
func ceilingFor(m string) string {
	switch {
	case strings.HasPrefix(m, "add"):
		return "ceiling-add-only"
	case m == "read-only":
		return "ceiling-read-only"
	}
	return ""
}

package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"
)

// A scenario is a subcommand that measures one target of issue 12 on each
// binary of the run (--gateway-bin, and --compare-bin in the same run) and
// prints its figures and its targets with PASS or MISS.
type scenario struct {
	name string
	help string
	run  func(h *harness) (*scenarioReport, error)
	// flags registers the scenario's own flags.
	flags func(fs *flag.FlagSet)
}

// scenarios lists the subcommands; main.go dispatches to them.
var scenarios = []*scenario{longIncidentScenario, bigStoreScenario, crashRetryScenario, expiryScenario, searchScenario, webhooksScenario}

func scenarioNames() []string {
	var names []string
	for _, s := range scenarios {
		names = append(names, s.name)
	}
	return names
}

func findScenario(name string) *scenario {
	i := slices.IndexFunc(scenarios, func(s *scenario) bool { return s.name == name })
	if i < 0 {
		return nil
	}
	return scenarios[i]
}

// harness is what a scenario runs with: the binaries, a temporary
// directory, the children's environment and the flags every scenario has.
type harness struct {
	ctx        context.Context
	tmp        string
	env        []string
	bins       []binary
	progress   func(string, ...any)
	clients    int
	fill       string
	importArgs string
}

// runScenario parses the scenario's flags, resolves the binaries, runs it
// and prints its report (JSON with --json).
func runScenario(ctx context.Context, sc *scenario, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("scwm-bench "+sc.name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "scwm-bench %s: %s\n\nFlags:\n", sc.name, sc.help)
		fs.PrintDefaults()
	}
	gatewayBin := fs.String("gateway-bin", "", "the scwm-gateway binary to measure; default: go build ./cmd/scwm-gateway of this checkout")
	compareBin := fs.String("compare-bin", "", "another scwm-gateway binary (an older one) measured the same way in the same run")
	clients := fs.Int("clients", 64, "concurrent clients of the loads (fills, add phases), each with its own API key")
	jsonOut := fs.Bool("json", false, "print the report as JSON")
	fill := fs.String("fill", modeAuto, "how datasets are put into a store: auto (import where the binary has `import`, else http), http, import")
	importArgs := fs.String("import-args", defaultImportArgs, "the import command's arguments: {dir} is the data directory, {file} the export stream (without {file} the stream goes to standard input)")
	sc.flags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%s takes no arguments, got %q", sc.name, fs.Args())
	}
	switch *fill {
	case modeAuto, modeHTTP, modeImport:
	default:
		return fmt.Errorf("--fill %q must be auto, http or import", *fill)
	}
	if *clients < 1 {
		return fmt.Errorf("--clients must be at least 1")
	}
	progress := func(format string, a ...any) {
		fmt.Fprintf(stderr, "scwm-bench %s: "+format+"\n", append([]any{sc.name}, a...)...)
	}
	tmp, err := os.MkdirTemp("", "scwm-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	bins, err := resolveBinaries(ctx, *gatewayBin, *compareBin, tmp, progress)
	if err != nil {
		return err
	}
	h := &harness{ctx: ctx, tmp: tmp, env: childEnv(getenv), bins: bins, progress: progress,
		clients: *clients, fill: *fill, importArgs: *importArgs}
	rep, err := sc.run(h)
	if rep != nil {
		rep.Scenario, rep.Binaries = sc.name, bins
		rep.Machine = machine{GOOS: runtime.GOOS, GOARCH: runtime.GOARCH, NumCPU: runtime.NumCPU(), GoVersion: runtime.Version()}
		if *jsonOut {
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			enc.SetEscapeHTML(false)
			if jerr := enc.Encode(rep); jerr != nil && err == nil {
				err = jerr
			}
		} else {
			rep.print(stdout)
		}
	}
	if err == nil && ctx.Err() != nil {
		err = fmt.Errorf("interrupted: %w", ctx.Err())
	}
	return err
}

// newGateway is a gateway of bin on a fresh data directory named name
// under the run's temporary directory, with a seed of the run's clients
// (and the REST user and OAuth client, withREST) and extra serve flags.
func (h *harness) newGateway(bin binary, name string, withREST bool, flags ...string) (*gateway, error) {
	dir := filepath.Join(h.tmp, bin.Label+"-"+name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	seed, err := writeSeed(filepath.Join(dir, "seed.json"), h.clients, withREST)
	if err != nil {
		return nil, err
	}
	return &gateway{bin: bin, dataDir: filepath.Join(dir, "data"), seed: seed, env: h.env, flags: flags}, nil
}

// scenarioReport is what a scenario measured: its figures, one column per
// binary, and its targets.
type scenarioReport struct {
	Scenario string         `json:"scenario"`
	Machine  machine        `json:"machine"`
	Binaries []binary       `json:"binaries"`
	Params   []string       `json:"params"`
	Rows     []figureRow    `json:"figures"`
	Verdicts []*verdict     `json:"targets"`
	Notes    []string       `json:"notes,omitempty"`
	Raw      map[string]any `json:"raw,omitempty"`
}

// row adds a figure line, one value per binary (formatted by the caller).
func (r *scenarioReport) row(name string, values ...string) {
	r.Rows = append(r.Rows, figureRow{Name: name, Values: values})
}

func (r *scenarioReport) print(out io.Writer) {
	m := r.Machine
	fmt.Fprintf(out, "scwm-bench %s: %s/%s, %d CPUs, %s\n", r.Scenario, m.GOOS, m.GOARCH, m.NumCPU, m.GoVersion)
	for _, b := range r.Binaries {
		fmt.Fprintf(out, "  %s: %s (version %s)\n", b.Label, b.Path, b.Version)
	}
	for _, p := range r.Params {
		fmt.Fprintf(out, "  %s\n", p)
	}
	fmt.Fprintln(out)
	printRows(out, r.Binaries, r.Rows)
	fmt.Fprintln(out)
	printVerdicts(out, r.Binaries, r.Verdicts)
	for _, n := range r.Notes {
		fmt.Fprintln(out, "note:", n)
	}
}

// per formats one value per binary with f, "-" where the binary has none.
func per[T any](vals []T, f func(T) string) []string {
	out := make([]string, len(vals))
	for i, v := range vals {
		out[i] = f(v)
	}
	return out
}

// msOf formats a duration in milliseconds.
func msOf(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000) }

// joinNotes drops empty notes.
func joinNotes(notes ...string) []string {
	var out []string
	for _, n := range notes {
		if strings.TrimSpace(n) != "" {
			out = append(out, n)
		}
	}
	return out
}

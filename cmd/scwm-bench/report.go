package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"text/tabwriter"
	"time"
)

type machine struct {
	GOOS      string `json:"goos"`
	GOARCH    string `json:"goarch"`
	NumCPU    int    `json:"numCPU"`
	GoVersion string `json:"goVersion"`
}

type params struct {
	Clients   int     `json:"clients"`
	WarmupS   float64 `json:"warmupSeconds"`
	DurationS float64 `json:"durationSeconds"`
	// Rounds is how many turns each phase's measured time is cut into.
	Rounds int      `json:"rounds"`
	Phases []string `json:"phases"`
	Target string   `json:"target"`
	URL    string   `json:"url"`
}

// report is everything one phase run measured: printed as tables, or as
// JSON with --json.
type report struct {
	Machine machine `json:"machine"`
	Params  params  `json:"params"`
	// Ceiling holds the no-op server's phases: ceiling-add-only and
	// ceiling-read-only.
	Ceiling  []*phaseReport   `json:"ceiling,omitempty"`
	Gateways []*gatewayReport `json:"gateways"`
	Targets  []*verdict       `json:"targets,omitempty"`
	Notes    []string         `json:"notes,omitempty"`
}

// gatewayReport is one gateway's figures: "new" (--gateway-bin), "old"
// (--compare-bin), or the one at --url.
type gatewayReport struct {
	Label           string         `json:"label"`
	Binary          string         `json:"binary"`
	Version         string         `json:"version"`
	Phases          []*phaseReport `json:"phases"`
	Baseline        *phaseReport   `json:"baseline,omitempty"`
	BaselineSkipped string         `json:"baselineSkipped,omitempty"`
	RSS             *rss           `json:"rss,omitempty"`
	RSSSkipped      string         `json:"rssSkipped,omitempty"`
	Log             *logStats      `json:"log,omitempty"`
}

func (g *gatewayReport) phase(name string) *phaseReport {
	for _, p := range g.Phases {
		if p.Name == name {
			return p
		}
	}
	return nil
}

func (r *report) ceiling(name string) *phaseReport {
	for _, p := range r.Ceiling {
		if p.Name == name {
			return p
		}
	}
	return nil
}

// ratios sets each phase's ratio to its gateway's baseline and to the
// ceiling of its request bodies.
func (r *report) ratios() {
	for _, g := range r.Gateways {
		for _, ph := range g.Phases {
			if g.Baseline != nil && g.Baseline.Throughput > 0 {
				v := ph.Throughput / g.Baseline.Throughput
				ph.Ratio = &v
			}
			if c := r.ceiling(ceilingFor(ph.Name)); c != nil && c.Throughput > 0 {
				v := ph.Throughput / c.Throughput
				ph.CeilingRatio = &v
			}
		}
	}
}

// phaseVerdicts are the targets of issue 12 that the phases measure, for
// each gateway of the run.
func phaseVerdicts(r *report) []*verdict {
	n := len(r.Gateways)
	bins := make([]binary, n)
	for i, g := range r.Gateways {
		bins[i] = binary{Label: g.Label}
	}
	throughput := func(g *gatewayReport, name string) (float64, bool) {
		if p := g.phase(name); p != nil && p.Throughput > 0 {
			return p.Throughput, true
		}
		return 0, false
	}
	var out []*verdict
	for _, t := range []struct {
		phase string
		want  float64
	}{{"add-only", 2}, {"read-only", 1.5}} {
		v := newVerdict(t.phase+" req/s: new / old (same run)", ">=", t.want, "x", n)
		for i := range n {
			v.missing(i, "this is the reference")
		}
		a, okA := throughput(r.Gateways[0], t.phase)
		switch {
		case n < 2:
			v.missing(0, "no --compare-bin")
		case !okA:
			v.missing(0, "phase not run")
		default:
			if b, okB := throughput(r.Gateways[1], t.phase); okB {
				v.set(0, ratio(a, b))
			} else {
				v.missing(0, "phase not run")
			}
		}
		out = append(out, v)
	}
	for _, t := range []struct {
		phase, ceiling string
		want           float64
	}{{"add-only", "ceiling-add-only", 0.3}, {"read-only", "ceiling-read-only", 0.6}} {
		v := newVerdict(t.phase+" req/s / the no-op ceiling", ">=", t.want, "x", n)
		c := r.ceiling(t.ceiling)
		for i, g := range r.Gateways {
			a, ok := throughput(g, t.phase)
			switch {
			case c == nil:
				v.missing(i, "no ceiling phase")
			case !ok:
				v.missing(i, "phase not run")
			default:
				v.set(i, ratio(a, c.Throughput))
			}
		}
		out = append(out, v)
	}
	v := newVerdict("add-keyed req/s / add-only req/s", ">=", 0.8, "x", n)
	for i, g := range r.Gateways {
		a, okA := throughput(g, "add-keyed")
		b, okB := throughput(g, "add-only")
		if okA && okB {
			v.set(i, ratio(a, b))
		} else {
			v.missing(i, "phase not run")
		}
	}
	return append(out, v)
}

func (r *report) print(out io.Writer) {
	m, p := r.Machine, r.Params
	fmt.Fprintf(out, "scwm-bench: %s/%s, %d CPUs, %s\n", m.GOOS, m.GOARCH, m.NumCPU, m.GoVersion)
	fmt.Fprintf(out, "  %s; %d clients (one API key each), warmup %v, measured %v per phase in %d turns\n",
		p.Target, p.Clients, time.Duration(p.WarmupS*float64(time.Second)), time.Duration(p.DurationS*float64(time.Second)), p.Rounds)
	for _, g := range r.Gateways {
		fmt.Fprintf(out, "  %s: %s (version %s)\n", g.Label, g.Binary, g.Version)
	}
	fmt.Fprintln(out)

	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "gateway\tphase\tkind\treq/s\tp50 ms\tp90 ms\tp99 ms\tmax ms\terrors\tvs ceiling\tvs baseline\t")
	row := func(gw, phase, kind string, s *stats, ceiling, baseline string) {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.1f\t%.2f\t%.2f\t%.2f\t%.2f\t%d\t%s\t%s\t\n", gw, phase, kind, s.Throughput, s.P50Ms, s.P90Ms, s.P99Ms, s.MaxMs, s.Errors, ceiling, baseline)
	}
	opt := func(v *float64) string {
		if v == nil {
			return "-"
		}
		return fmt.Sprintf("%.2f", *v)
	}
	for _, ph := range r.Ceiling {
		row("no-op", ph.Name, singleKind(ph), &ph.stats, "1.00", "-")
	}
	for _, g := range r.Gateways {
		for _, ph := range g.Phases {
			if len(ph.Kinds) == 1 {
				row(g.Label, ph.Name, singleKind(ph), &ph.stats, opt(ph.CeilingRatio), opt(ph.Ratio))
				continue
			}
			row(g.Label, ph.Name, "all", &ph.stats, opt(ph.CeilingRatio), opt(ph.Ratio))
			for _, k := range kinds {
				if s := ph.Kinds[k]; s != nil {
					row("", "", k, s, "", "")
				}
			}
		}
		if g.Baseline != nil {
			row(g.Label, "baseline", "insert", &g.Baseline.stats, "-", "1.00")
		}
	}
	tw.Flush()

	if len(r.Gateways) > 1 {
		fmt.Fprintln(out)
		tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
		head := "phase"
		for _, g := range r.Gateways {
			head += "\t" + g.Label + " req/s\t" + g.Label + " p99 ms"
		}
		fmt.Fprintln(tw, head+"\t"+r.Gateways[0].Label+" / "+r.Gateways[1].Label+"\t")
		for _, ph := range r.Gateways[0].Phases {
			line := ph.Name
			var figures []float64
			for _, g := range r.Gateways {
				if q := g.phase(ph.Name); q != nil {
					line += fmt.Sprintf("\t%.1f\t%.2f", q.Throughput, q.P99Ms)
					figures = append(figures, q.Throughput)
				} else {
					line += "\t-\t-"
				}
			}
			rs := "-"
			if len(figures) > 1 && figures[1] > 0 {
				rs = fmt.Sprintf("%.2fx", figures[0]/figures[1])
			}
			fmt.Fprintln(tw, line+"\t"+rs+"\t")
		}
		tw.Flush()
	}

	fmt.Fprintln(out)
	bins := make([]binary, len(r.Gateways))
	for i, g := range r.Gateways {
		bins[i] = binary{Label: g.Label}
	}
	printVerdicts(out, bins, r.Targets)
	fmt.Fprintln(out)

	for _, g := range r.Gateways {
		if g.Baseline != nil {
			fmt.Fprintf(out, "%s baseline: %s\n", g.Label, g.Baseline.Description)
		} else if g.BaselineSkipped != "" {
			fmt.Fprintf(out, "%s baseline: skipped (%s)\n", g.Label, g.BaselineSkipped)
		}
		if g.RSS != nil {
			fmt.Fprintf(out, "%s RSS (pid %d, with its embedded store): peak (VmHWM) %.1f MiB, at the end (VmRSS) %.1f MiB\n",
				g.Label, g.RSS.PID, float64(g.RSS.PeakBytes)/(1<<20), float64(g.RSS.RSSBytes)/(1<<20))
		} else {
			fmt.Fprintf(out, "%s RSS: not measured (%s)\n", g.Label, g.RSSSkipped)
		}
	}
	type named struct {
		server string
		ph     *phaseReport
	}
	var all []named
	for _, ph := range r.Ceiling {
		all = append(all, named{"no-op server", ph})
	}
	for _, g := range r.Gateways {
		for _, ph := range g.Phases {
			all = append(all, named{"gateway " + g.Label, ph})
		}
		if g.Baseline != nil {
			all = append(all, named{g.Label + " baseline store", g.Baseline})
		}
	}
	for _, n := range all {
		cpu := ""
		if n.ph.ServerCPU != nil {
			cpu = fmt.Sprintf("%s %.2f cores, ", n.server, *n.ph.ServerCPU)
		}
		fmt.Fprintf(out, "cpu during %s (%s): %sbench client %.2f cores\n", n.ph.Name, n.server, cpu, n.ph.BenchCPU)
	}
	for _, n := range all {
		ph := n.ph
		if ph.WarmupErrors > 0 {
			fmt.Fprintf(out, "%s %s: %d errors during the warmup (not counted)\n", n.server, ph.Name, ph.WarmupErrors)
		}
		if ph.Warnings > 0 {
			fmt.Fprintf(out, "%s %s: %d answers carried header.warnings\n", n.server, ph.Name, ph.Warnings)
		}
		for _, k := range slices.Sorted(maps.Keys(ph.ErrorKinds)) {
			fmt.Fprintf(out, "%s %s: %d x %s\n", n.server, ph.Name, ph.ErrorKinds[k], k)
		}
		for _, k := range slices.Sorted(maps.Keys(ph.ErrorSamples)) {
			if body := ph.ErrorSamples[k]; body != "" {
				fmt.Fprintf(out, "%s %s: first %s: %s\n", n.server, ph.Name, k, body)
			}
		}
	}
	for _, g := range r.Gateways {
		if l := g.Log; l != nil && (l.Errors > 0 || l.Warnings > 0) {
			fmt.Fprintf(out, "gateway %s log: %d lines, %d at warn, %d at error; last error: %s\n", g.Label, l.Lines, l.Warnings, l.Errors, l.LastError)
		}
	}
	for _, n := range r.Notes {
		fmt.Fprintln(out, "note:", n)
	}
}

// singleKind is the one kind of a phase of one kind.
func singleKind(ph *phaseReport) string {
	for k := range ph.Kinds {
		return k
	}
	return ""
}

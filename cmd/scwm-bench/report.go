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
	GOOS           string `json:"goos"`
	GOARCH         string `json:"goarch"`
	NumCPU         int    `json:"numCPU"`
	GoVersion      string `json:"goVersion"`
	GatewayVersion string `json:"gatewayVersion"`
}

type params struct {
	Clients   int      `json:"clients"`
	WarmupS   float64  `json:"warmupSeconds"`
	DurationS float64  `json:"durationSeconds"`
	Phases    []string `json:"phases"`
	Target    string   `json:"target"`
	URL       string   `json:"url"`
}

// report is everything one run measured: printed as a table, or as JSON
// with --json.
type report struct {
	Machine         machine        `json:"machine"`
	Params          params         `json:"params"`
	Phases          []*phaseReport `json:"phases"`
	Baseline        *phaseReport   `json:"baseline"`
	BaselineSkipped string         `json:"baselineSkipped,omitempty"`
	RSS             *rss           `json:"gatewayRss"`
	RSSSkipped      string         `json:"gatewayRssSkipped,omitempty"`
	GatewayLog      *logStats      `json:"gatewayLog,omitempty"`
	Notes           []string       `json:"notes,omitempty"`
}

func (r *report) print(out io.Writer) {
	m, p := r.Machine, r.Params
	fmt.Fprintf(out, "scwm-bench: %s/%s, %d CPUs, %s, gateway %s\n", m.GOOS, m.GOARCH, m.NumCPU, m.GoVersion, m.GatewayVersion)
	fmt.Fprintf(out, "  %s; %d clients (one API key each), warmup %v, measured %v per phase\n\n",
		p.Target, p.Clients, time.Duration(p.WarmupS*float64(time.Second)), time.Duration(p.DurationS*float64(time.Second)))

	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "phase\tkind\treq/s\tp50 ms\tp90 ms\tp99 ms\tmax ms\terrors\tratio vs baseline\t")
	row := func(phase, kind string, s *stats, ratio string) {
		fmt.Fprintf(tw, "%s\t%s\t%.1f\t%.2f\t%.2f\t%.2f\t%.2f\t%d\t%s\t\n", phase, kind, s.Throughput, s.P50Ms, s.P90Ms, s.P99Ms, s.MaxMs, s.Errors, ratio)
	}
	for _, ph := range r.Phases {
		ratio := "-"
		if ph.Ratio != nil {
			ratio = fmt.Sprintf("%.2f", *ph.Ratio)
		}
		if len(ph.Kinds) == 1 {
			for k := range ph.Kinds {
				row(ph.Name, k, &ph.stats, ratio)
			}
			continue
		}
		row(ph.Name, "all", &ph.stats, ratio)
		for _, k := range kinds {
			if s := ph.Kinds[k]; s != nil {
				row("", k, s, "")
			}
		}
	}
	if r.Baseline != nil {
		row("baseline", "insert", &r.Baseline.stats, "1.00")
	}
	tw.Flush()

	fmt.Fprintln(out)
	if r.Baseline != nil {
		fmt.Fprintf(out, "baseline: %s\n", r.Baseline.Description)
	} else {
		fmt.Fprintf(out, "baseline: skipped (%s)\n", r.BaselineSkipped)
	}
	if r.RSS != nil {
		fmt.Fprintf(out, "gateway RSS (pid %d, with its embedded store if any): peak (VmHWM) %.1f MiB, at the end (VmRSS) %.1f MiB\n",
			r.RSS.PID, float64(r.RSS.PeakBytes)/(1<<20), float64(r.RSS.RSSBytes)/(1<<20))
	} else {
		fmt.Fprintf(out, "gateway RSS: not measured (%s)\n", r.RSSSkipped)
	}
	all := append(slices.Clone(r.Phases), r.Baseline)
	for _, ph := range all {
		if ph == nil {
			continue
		}
		cpu := ""
		if ph.ServerCPU != nil {
			server := "gateway"
			if ph == r.Baseline {
				server = "store"
			}
			cpu = fmt.Sprintf("%s %.2f cores, ", server, *ph.ServerCPU)
		}
		fmt.Fprintf(out, "cpu during %s: %sbench client %.2f cores\n", ph.Name, cpu, ph.BenchCPU)
	}
	for _, ph := range all {
		if ph == nil {
			continue
		}
		if ph.WarmupErrors > 0 {
			fmt.Fprintf(out, "%s: %d errors during the warmup (not counted)\n", ph.Name, ph.WarmupErrors)
		}
		if ph.Warnings > 0 {
			fmt.Fprintf(out, "%s: %d answers carried header.warnings\n", ph.Name, ph.Warnings)
		}
		for _, k := range slices.Sorted(maps.Keys(ph.ErrorKinds)) {
			fmt.Fprintf(out, "%s: %d x %s\n", ph.Name, ph.ErrorKinds[k], k)
		}
		for _, k := range slices.Sorted(maps.Keys(ph.ErrorSamples)) {
			if body := ph.ErrorSamples[k]; body != "" {
				fmt.Fprintf(out, "%s: first %s: %s\n", ph.Name, k, body)
			}
		}
	}
	if l := r.GatewayLog; l != nil && (l.Errors > 0 || l.Warnings > 0) {
		fmt.Fprintf(out, "gateway log: %d lines, %d at warn, %d at error; last error: %s\n", l.Lines, l.Warnings, l.Errors, l.LastError)
	}
	for _, n := range r.Notes {
		fmt.Fprintln(out, "note:", n)
	}
}

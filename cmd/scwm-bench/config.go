package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The names the seed of a self-started gateway declares.
const (
	seedOwner       = "bench-co"
	seedOwnerName   = "Bench Co"
	seedPartner     = "bench-partner"
	seedPartnerName = "Bench Partner"
	seedNetwork     = "bench-net"
)

var kinds = []string{"add", "edit", "read"}

// mix is the weight of each kind of request; keyed adds carry a fresh
// Idempotency-Key each.
type mix struct {
	add, edit, read int
	keyed           bool
}

var defaultMix = mix{add: 60, edit: 20, read: 20}

func parseMix(s string) (mix, error) {
	var m mix
	seen := map[string]bool{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, val, ok := strings.Cut(part, "=")
		n, err := strconv.Atoi(strings.TrimSpace(val))
		if !ok || err != nil || n < 0 {
			return m, fmt.Errorf("--mix %q: %q must be kind=weight, weight a whole number", s, part)
		}
		name = strings.TrimSpace(name)
		if seen[name] {
			return m, fmt.Errorf("--mix %q names %s twice", s, name)
		}
		seen[name] = true
		switch name {
		case "add":
			m.add = n
		case "edit":
			m.edit = n
		case "read":
			m.read = n
		default:
			return m, fmt.Errorf("--mix %q: unknown kind %q (add, edit, read)", s, name)
		}
	}
	if m.add+m.edit+m.read == 0 {
		return m, fmt.Errorf("--mix %q has no positive weight", s)
	}
	return m, nil
}

func (m mix) String() string {
	var parts []string
	for _, k := range kinds {
		if w := m.weight(k); w > 0 {
			parts = append(parts, k+"="+strconv.Itoa(w))
		}
	}
	if m.keyed {
		parts = append(parts, "keyed")
	}
	return strings.Join(parts, ",")
}

func (m mix) weight(kind string) int {
	switch kind {
	case "add":
		return m.add
	case "edit":
		return m.edit
	case "read":
		return m.read
	}
	return 0
}

// name is the phase name of a mix: "add-only" for one kind, "mix" otherwise.
func (m mix) name() string {
	var only []string
	for _, k := range kinds {
		if m.weight(k) > 0 {
			only = append(only, k)
		}
	}
	switch {
	case m.keyed && len(only) == 1 && only[0] == "add":
		return "add-keyed"
	case len(only) == 1:
		return only[0] + "-only"
	}
	return "mix"
}

func (m mix) pick(r *mrand.Rand) string {
	n := r.IntN(m.add + m.edit + m.read)
	switch {
	case n < m.add:
		return "add"
	case n < m.add+m.edit:
		return "edit"
	}
	return "read"
}

// phase is one step of a run: a load of a mix against every gateway, the
// ceiling (the same loads against the no-op server), or the baseline.
type phase struct {
	name string
	mix  mix // of a gateway phase
}

// Phase names other than the mixes'.
const (
	phaseCeiling  = "ceiling"
	phaseBaseline = "baseline"
)

// The ceiling's two loads: add bodies and read bodies.
var (
	ceilingAdd  = mix{add: 100}
	ceilingRead = mix{read: 100}
)

// defaultPhases is what a run without --phases or --mix measures.
const defaultPhases = "ceiling,mix,add,add-keyed,read"

// parsePhases reads --phases: names separated by commas, each one of
// ceiling, mix (the --mix mix), add (add-only), add-keyed, edit (edit-only),
// read (read-only) and baseline, in the order they run (the baseline runs
// last, after the gateways stopped).
func parsePhases(s string, m mix) ([]phase, error) {
	var out []phase
	seen := map[string]bool{}
	for _, part := range strings.Split(s, ",") {
		name := strings.TrimSpace(part)
		if name == "" {
			continue
		}
		var p phase
		switch name {
		case phaseCeiling, phaseBaseline:
			p = phase{name: name}
		case "mix":
			p = phase{name: m.name(), mix: m}
		case "add", "add-only":
			p = phase{name: "add-only", mix: mix{add: 100}}
		case "add-keyed":
			p = phase{name: "add-keyed", mix: mix{add: 100, keyed: true}}
		case "edit", "edit-only":
			p = phase{name: "edit-only", mix: mix{edit: 100}}
		case "read", "read-only":
			p = phase{name: "read-only", mix: mix{read: 100}}
		default:
			return nil, fmt.Errorf("--phases %q: unknown phase %q (ceiling, mix, add, add-keyed, edit, read, baseline)", s, name)
		}
		if seen[p.name] {
			return nil, fmt.Errorf("--phases %q names %s twice", s, p.name)
		}
		seen[p.name] = true
		out = append(out, p)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("--phases %q names no phase", s)
	}
	return out, nil
}

// config is what the flags of a phase run ask for.
type config struct {
	clients     int
	duration    time.Duration
	warmup      time.Duration
	rounds      int // turns a phase is cut into (see runTurns)
	phases      []phase
	jsonOut     bool
	gatewayBin  string // the scwm-gateway binary to start; empty: build it
	compareBin  string // another gateway binary measured in the same run
	url         string // the events endpoint; empty: start a gateway
	apiKeys     []string
	apiSecrets  []string
	owner       string
	network     string
	pid         int
	baselineURI string
}

// hasPhase reports whether the run includes the phase of that name.
func (c *config) hasPhase(name string) bool {
	return slices.ContainsFunc(c.phases, func(p phase) bool { return p.name == name })
}

func parseConfig(args []string, stderr io.Writer) (*config, error) {
	c := &config{}
	fs := flag.NewFlagSet("scwm-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fmt.Fprintln(stderr, "\nFlags of a phase run:")
		fs.PrintDefaults()
	}
	fs.IntVar(&c.clients, "clients", 64, "concurrent clients, each with its own API key")
	fs.DurationVar(&c.duration, "duration", 8*time.Second, "measured time of each phase")
	fs.DurationVar(&c.warmup, "warmup", 2*time.Second, "unmeasured time before each phase's measurement")
	fs.IntVar(&c.rounds, "rounds", 4, "turns each phase's measured time is cut into: the servers of a phase take turns, in the order A B, B A, A B ..., so that a change in the machine's speed falls on all of them")
	mixFlag := fs.String("mix", defaultMix.String(), "request mix of the mix phase as kind=weight (add, edit, read); alone, without --phases, only that mix runs")
	phases := fs.String("phases", defaultPhases, "phases to run, in order: ceiling, mix, add, add-keyed, edit, read, baseline")
	fs.BoolVar(&c.jsonOut, "json", false, "print the figures as JSON")
	fs.StringVar(&c.gatewayBin, "gateway-bin", "", "the scwm-gateway binary to start (as serve, and as embedded-store for the baseline); default: go build ./cmd/scwm-gateway of this checkout into a temporary directory")
	fs.StringVar(&c.compareBin, "compare-bin", "", "another scwm-gateway binary (an older one) to run the same phases on, in the same run, for the new/old ratios")
	fs.StringVar(&c.url, "url", "", "a running gateway (http://host:port) instead of starting one")
	apiKey := fs.String("api-key", "", "with --url: API key, or a comma-separated list spread over the clients")
	apiSecret := fs.String("api-secret", "", "with --url: the API secret of each --api-key")
	fs.StringVar(&c.owner, "owner", "", "with --url: the ownerId (the API keys' company)")
	fs.StringVar(&c.network, "network", "", "with --url: the processNetworkId")
	fs.IntVar(&c.pid, "pid", 0, "with --url: the gateway's process id, for its RSS and CPU figures")
	fs.StringVar(&c.baselineURI, "baseline-uri", "", "with --url: mongodb:// URI of the store for the baseline; without it the baseline is skipped")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("scwm-bench takes no arguments here, got %q (scenarios: %s)", fs.Args(), strings.Join(scenarioNames(), ", "))
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })

	var problems []string
	if c.clients < 1 {
		problems = append(problems, "--clients must be at least 1")
	}
	if c.duration <= 0 {
		problems = append(problems, "--duration must be positive")
	}
	if c.warmup < 0 {
		problems = append(problems, "--warmup must not be negative")
	}
	if c.rounds < 1 {
		problems = append(problems, "--rounds must be at least 1")
	} else if c.duration/time.Duration(c.rounds) < 100*time.Millisecond {
		problems = append(problems, "--duration / --rounds must be at least 100ms")
	}
	m, err := parseMix(*mixFlag)
	if err != nil {
		problems = append(problems, err.Error())
	}
	list := *phases
	if given["mix"] && !given["phases"] {
		list = "mix"
	}
	if c.phases, err = parsePhases(list, m); err != nil {
		problems = append(problems, err.Error())
	}
	for _, f := range []string{"gateway-bin", "compare-bin"} {
		if given[f] && fs.Lookup(f).Value.String() == "" {
			problems = append(problems, "--"+f+" must name a binary")
		}
	}
	if c.url != "" {
		u, err := url.Parse(c.url)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			problems = append(problems, fmt.Sprintf("--url %q must be an http(s) URL", c.url))
		} else {
			if u.Path == "" || u.Path == "/" {
				u.Path = "/api/events"
			}
			c.url = u.String()
		}
		c.apiKeys, c.apiSecrets = splitList(*apiKey), splitList(*apiSecret)
		if len(c.apiKeys) == 0 || len(c.apiKeys) != len(c.apiSecrets) {
			problems = append(problems, "--url needs --api-key and --api-secret (lists of the same length)")
		}
		if c.owner == "" || c.network == "" {
			problems = append(problems, "--url needs --owner and --network")
		}
		for _, f := range []string{"gateway-bin", "compare-bin"} {
			if given[f] {
				problems = append(problems, "--"+f+" goes without --url (it starts a gateway)")
			}
		}
	} else {
		for _, f := range []string{"api-key", "api-secret", "owner", "network", "pid", "baseline-uri"} {
			if given[f] {
				problems = append(problems, "--"+f+" goes with --url")
			}
		}
		c.owner, c.network = seedOwner, seedNetwork
	}
	if len(problems) > 0 {
		return nil, errors.New(strings.Join(problems, "; "))
	}
	return c, nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

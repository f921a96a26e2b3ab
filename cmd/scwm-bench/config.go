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
	seedOwner   = "bench-co"
	seedPartner = "bench-partner"
	seedNetwork = "bench-net"
)

var kinds = []string{"add", "edit", "read"}

// mix is the weight of each kind of request.
type mix struct{ add, edit, read int }

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
	if len(only) == 1 {
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

// config is what the flags ask for.
type config struct {
	clients     int
	duration    time.Duration
	warmup      time.Duration
	mixes       []mix
	jsonOut     bool
	gatewayBin  string // the scwm-gateway binary to start; empty: build it
	url         string // the events endpoint; empty: start a gateway
	apiKeys     []string
	apiSecrets  []string
	owner       string
	network     string
	pid         int
	baselineURI string
}

func parseConfig(args []string, stderr io.Writer) (*config, error) {
	c := &config{}
	fs := flag.NewFlagSet("scwm-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&c.clients, "clients", 64, "concurrent clients, each with its own API key")
	fs.DurationVar(&c.duration, "duration", 20*time.Second, "measured time of each phase")
	fs.DurationVar(&c.warmup, "warmup", 3*time.Second, "unmeasured time before each phase's measurement")
	mixFlag := fs.String("mix", defaultMix.String(), "request mix as kind=weight (add, edit, read); add=100 is add-only")
	phases := fs.Bool("phases", true, "after the mix, also run an add-only and a read-only phase (default true unless --mix is given)")
	fs.BoolVar(&c.jsonOut, "json", false, "print the figures as JSON")
	fs.StringVar(&c.gatewayBin, "gateway-bin", "", "the scwm-gateway binary to start (as serve, and as embedded-store for the baseline); default: go build ./cmd/scwm-gateway of this checkout into a temporary directory")
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
		return nil, fmt.Errorf("scwm-bench takes no arguments, got %q", fs.Args())
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
	m, err := parseMix(*mixFlag)
	if err != nil {
		problems = append(problems, err.Error())
	}
	c.mixes = []mix{m}
	extra := *phases
	if given["mix"] && !given["phases"] {
		extra = false
	}
	if extra {
		for _, p := range []mix{{add: 100}, {read: 100}} {
			if !slices.Contains(c.mixes, p) {
				c.mixes = append(c.mixes, p)
			}
		}
	}
	if given["gateway-bin"] && c.gatewayBin == "" {
		problems = append(problems, "--gateway-bin must name a binary")
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
		if given["gateway-bin"] {
			problems = append(problems, "--gateway-bin goes without --url (it starts a gateway)")
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

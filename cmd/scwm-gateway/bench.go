package main

// bench: the gateway under N concurrent clients, and as the
// baseline one InsertOne per request straight into the same kind of store,
// in one run on one machine. See docs/performance.md.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/google/uuid"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/mongo/writeconcern"

	"github.com/scwm-gateway/scwm-gateway/envelope"
	"github.com/scwm-gateway/scwm-gateway/store"
)

const (
	benchAddEvent  = "agile-process-teams:add-incident:v5"
	benchEditEvent = "agile-process-teams:edit-incident:v5"
	benchReadEvent = "agile-process-teams:read-incident:v4"

	benchOwner   = "bench-co"
	benchPartner = "bench-partner"
	benchNetwork = "bench-net"

	// benchRing is how many of its own incidents a client remembers for
	// its edits and reads; benchOwnMin how many it creates before a phase
	// that edits or reads starts its warmup.
	benchRing   = 16
	benchOwnMin = 4

	// benchSamples is how many distinct errors a phase keeps a body of.
	benchSamples = 5

	benchChildStopWait = 10 * time.Second
	benchStartWait     = 60 * time.Second
	benchClockTicks    = 100 // USER_HZ: the unit of utime and stime in /proc/<pid>/stat on Linux
)

var benchKinds = []string{"add", "edit", "read"}

// benchMix is the weight of each kind of request.
type benchMix struct{ add, edit, read int }

var benchDefaultMix = benchMix{add: 60, edit: 20, read: 20}

func parseBenchMix(s string) (benchMix, error) {
	var m benchMix
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

func (m benchMix) String() string {
	var parts []string
	for _, k := range benchKinds {
		if w := m.weight(k); w > 0 {
			parts = append(parts, k+"="+strconv.Itoa(w))
		}
	}
	return strings.Join(parts, ",")
}

func (m benchMix) weight(kind string) int {
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
func (m benchMix) name() string {
	var only []string
	for _, k := range benchKinds {
		if m.weight(k) > 0 {
			only = append(only, k)
		}
	}
	if len(only) == 1 {
		return only[0] + "-only"
	}
	return "mix"
}

func (m benchMix) pick(r *mrand.Rand) string {
	n := r.IntN(m.add + m.edit + m.read)
	switch {
	case n < m.add:
		return "add"
	case n < m.add+m.edit:
		return "edit"
	}
	return "read"
}

// benchConfig is the configuration of the bench command.
type benchConfig struct {
	clients     int
	duration    time.Duration
	warmup      time.Duration
	mixes       []benchMix
	jsonOut     bool
	url         string // the events endpoint; empty: start a gateway
	apiKeys     []string
	apiSecrets  []string
	owner       string
	network     string
	pid         int
	baselineURI string
}

func parseBench(args []string, stderr io.Writer) (*benchConfig, error) {
	c := &benchConfig{}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&c.clients, "clients", 64, "concurrent clients, each with its own API key")
	fs.DurationVar(&c.duration, "duration", 20*time.Second, "measured time of each phase")
	fs.DurationVar(&c.warmup, "warmup", 3*time.Second, "unmeasured time before each phase's measurement")
	mix := fs.String("mix", benchDefaultMix.String(), "request mix as kind=weight (add, edit, read); add=100 is add-only")
	phases := fs.Bool("phases", true, "after the mix, also run an add-only and a read-only phase (default true unless --mix is given)")
	fs.BoolVar(&c.jsonOut, "json", false, "print the figures as JSON")
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
		return nil, fmt.Errorf("bench takes no arguments, got %q", fs.Args())
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
	m, err := parseBenchMix(*mix)
	if err != nil {
		problems = append(problems, err.Error())
	}
	c.mixes = []benchMix{m}
	extra := *phases
	if given["mix"] && !given["phases"] {
		extra = false
	}
	if extra {
		for _, p := range []benchMix{{add: 100}, {read: 100}} {
			if !slices.Contains(c.mixes, p) {
				c.mixes = append(c.mixes, p)
			}
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
	} else {
		for _, f := range []string{"api-key", "api-secret", "owner", "network", "pid", "baseline-uri"} {
			if given[f] {
				problems = append(problems, "--"+f+" goes with --url")
			}
		}
		c.owner, c.network = benchOwner, benchNetwork
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

// bench runs the benchmark and prints its report to stdout; progress goes to
// stderr. It fails when the gateway (or the baseline store it starts) cannot
// start, never because of a figure.
func bench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseBench(args, stderr)
	if err != nil {
		return err
	}
	progress := func(format string, a ...any) { fmt.Fprintf(stderr, "bench: "+format+"\n", a...) }
	tmp, err := os.MkdirTemp("", "scwm-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	rep := &benchReport{
		Machine: benchMachine{GOOS: runtime.GOOS, GOARCH: runtime.GOARCH, NumCPU: runtime.NumCPU(), GoVersion: runtime.Version()},
		Params: benchParams{Clients: cfg.clients, WarmupS: cfg.warmup.Seconds(), DurationS: cfg.duration.Seconds(),
			Target: "self-started gateway (embedded store), log level info, --rate-limit 0 --company-rate-limit 0"},
	}
	for _, m := range cfg.mixes {
		rep.Params.Phases = append(rep.Params.Phases, m.name()+" ("+m.String()+")")
	}

	// The gateway: our own child, or the one at --url.
	var gw *benchChild
	pid := cfg.pid
	if cfg.url == "" {
		self, err := os.Executable()
		if err != nil {
			return fmt.Errorf("find this binary to start the gateway: %w", err)
		}
		seed := filepath.Join(tmp, "seed.json")
		if cfg.apiKeys, cfg.apiSecrets, err = writeBenchSeed(seed, cfg.clients); err != nil {
			return err
		}
		progress("starting the gateway: %s serve (embedded store in %s)", self, filepath.Join(tmp, "gateway"))
		gw, err = startBenchChild(ctx, "gateway", self, "listening",
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
	if rep.Machine.GatewayVersion, err = benchGatewayVersion(ctx, hc, cfg.url); err != nil {
		if gw != nil {
			return fmt.Errorf("the gateway does not answer: %w", err)
		}
		return fmt.Errorf("the gateway at %s does not answer: %w", cfg.url, err)
	}

	workers := make([]*benchWorker, cfg.clients)
	for i := range workers {
		workers[i] = newBenchWorker(i, cfg, hc)
	}
	for _, m := range cfg.mixes {
		if ctx.Err() != nil {
			break
		}
		progress("phase %s (%s): warmup %v, measuring %v, %d clients", m.name(), m.String(), cfg.warmup, cfg.duration, cfg.clients)
		ph := runBenchGatewayPhase(ctx, cfg, workers, m, pid)
		rep.Phases = append(rep.Phases, ph)
		progress("phase %s: %.1f req/s, %d errors", ph.Name, ph.Throughput, ph.Errors)
	}
	if pid > 0 {
		if rss, err := readBenchRSS(pid); err == nil {
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
		rep.Baseline, rep.BaselineSkipped, baselineErr = runBenchBaseline(ctx, cfg, tmp, gw != nil, progress)
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

// writeBenchSeed writes a seed with bench-co, bench-partner, bench-net and
// one API client of bench-co per benchmark client.
func writeBenchSeed(path string, n int) (keys, secrets []string, err error) {
	type client struct {
		APIKey    string `json:"apiKey"`
		APISecret string `json:"apiSecret"`
		CompanyID string `json:"companyId"`
		UserID    string `json:"userId"`
	}
	seed := struct {
		Companies []map[string]string `json:"companies"`
		Networks  []map[string]any    `json:"networks"`
		Clients   []client            `json:"clients"`
	}{
		Companies: []map[string]string{{"id": benchOwner, "name": "Bench Co"}, {"id": benchPartner, "name": "Bench Partner"}},
		Networks:  []map[string]any{{"id": benchNetwork, "members": []string{benchOwner, benchPartner}}},
	}
	for i := range n {
		b := make([]byte, 16)
		if _, err := rand.Read(b); err != nil {
			return nil, nil, err
		}
		c := client{APIKey: fmt.Sprintf("bench-key-%04d", i), APISecret: hex.EncodeToString(b), CompanyID: benchOwner, UserID: fmt.Sprintf("bench-user-%04d", i)}
		seed.Clients = append(seed.Clients, c)
		keys, secrets = append(keys, c.APIKey), append(secrets, c.APISecret)
	}
	raw, err := json.MarshalIndent(seed, "", "  ")
	if err != nil {
		return nil, nil, err
	}
	return keys, secrets, os.WriteFile(path, raw, 0o600)
}

func benchGatewayVersion(ctx context.Context, hc *http.Client, eventsURL string) (string, error) {
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

// ---------------------------------------------------------------------------
// The load: N workers, warmup, measured window, statistics.

// benchOutcome is what one request came to.
type benchOutcome struct {
	kind     string
	ok       bool
	errKey   string // the kind of error, for counting: "add: HTTP 500 InternalServerException"
	body     string // the error's response body or message, for the samples
	warnings bool   // the answer carried header.warnings
}

// benchRecorder is one worker's record of one phase.
type benchRecorder struct {
	lat          map[string][]time.Duration
	errs         map[string]int
	samples      map[string]string
	warmupErrors int
	warnings     int
}

func newBenchRecorder() *benchRecorder {
	return &benchRecorder{lat: map[string][]time.Duration{}, errs: map[string]int{}, samples: map[string]string{}}
}

// fail counts an error of the measured window and keeps its body.
func (r *benchRecorder) fail(o benchOutcome) {
	r.errs[o.errKey]++
	r.sample(o)
}

// sample keeps the body of the first few distinct errors.
func (r *benchRecorder) sample(o benchOutcome) {
	if _, ok := r.samples[o.errKey]; !ok && len(r.samples) < benchSamples {
		r.samples[o.errKey] = o.body
	}
}

// runBenchLoad runs step on n workers: warmup, then the measured duration.
// A request counts when it completes inside the measured window; no request
// starts after it. It returns the workers' records and the window's length.
func runBenchLoad(ctx context.Context, n int, warmup, duration time.Duration, pid int,
	step func(ctx context.Context, w int) benchOutcome) ([]*benchRecorder, time.Duration, benchCPU) {
	recs := make([]*benchRecorder, n)
	start := time.Now()
	measureStart := start.Add(warmup)
	measureEnd := measureStart.Add(duration)
	var wg sync.WaitGroup
	for w := range n {
		recs[w] = newBenchRecorder()
		wg.Add(1)
		go func() {
			defer wg.Done()
			rec := recs[w]
			for ctx.Err() == nil && time.Now().Before(measureEnd) {
				t0 := time.Now()
				o := step(ctx, w)
				t1 := time.Now()
				if o.warnings {
					rec.warnings++
				}
				switch {
				case t1.Before(measureStart):
					if !o.ok {
						rec.warmupErrors++
						rec.sample(o)
					}
				case !t1.Before(measureEnd):
					// completed after the window: not counted
				case o.ok:
					rec.lat[o.kind] = append(rec.lat[o.kind], t1.Sub(t0))
				default:
					rec.fail(o)
				}
			}
		}()
	}
	// CPU time of the server and of this process over the measured window.
	var cpu benchCPU
	sleepUntil(ctx, measureStart)
	srv0, srvErr0 := readBenchCPU(pid)
	self0, _ := readBenchCPU(os.Getpid())
	sleepUntil(ctx, measureEnd)
	srv1, srvErr1 := readBenchCPU(pid)
	self1, _ := readBenchCPU(os.Getpid())
	window := duration
	if now := time.Now(); now.Before(measureEnd) { // interrupted
		window = max(now.Sub(measureStart), time.Millisecond)
	}
	if pid > 0 && srvErr0 == nil && srvErr1 == nil {
		v := (srv1 - srv0).Seconds() / window.Seconds()
		cpu.server = &v
	}
	cpu.bench = (self1 - self0).Seconds() / window.Seconds()
	wg.Wait()
	return recs, window, cpu
}

type benchCPU struct {
	server *float64
	bench  float64
}

func sleepUntil(ctx context.Context, t time.Time) {
	d := time.Until(t)
	if d <= 0 {
		return
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
	case <-timer.C:
	}
}

// benchStats are the figures of a set of requests.
type benchStats struct {
	OK         int     `json:"ok"`
	Errors     int     `json:"errors"`
	Throughput float64 `json:"throughput"`
	P50Ms      float64 `json:"p50Ms"`
	P90Ms      float64 `json:"p90Ms"`
	P99Ms      float64 `json:"p99Ms"`
	MaxMs      float64 `json:"maxMs"`
}

func benchStatsOf(lat []time.Duration, errs int, window time.Duration) *benchStats {
	slices.Sort(lat)
	s := &benchStats{OK: len(lat), Errors: errs, Throughput: float64(len(lat)) / window.Seconds()}
	if len(lat) > 0 {
		q := func(p float64) float64 { // nearest rank
			i := int(float64(len(lat))*p+0.999999) - 1
			return ms(lat[min(max(i, 0), len(lat)-1)])
		}
		s.P50Ms, s.P90Ms, s.P99Ms, s.MaxMs = q(0.50), q(0.90), q(0.99), ms(lat[len(lat)-1])
	}
	return s
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// benchPhaseReport is one phase's figures (or the baseline's).
type benchPhaseReport struct {
	Name        string  `json:"name"`
	Mix         string  `json:"mix,omitempty"`
	Description string  `json:"description,omitempty"`
	WindowS     float64 `json:"windowSeconds"`
	benchStats
	// Ratio is the phase's throughput over the baseline's.
	Ratio        *float64               `json:"ratio"`
	Kinds        map[string]*benchStats `json:"kinds,omitempty"`
	ErrorKinds   map[string]int         `json:"errorKinds,omitempty"`
	ErrorSamples map[string]string      `json:"errorSamples,omitempty"`
	WarmupErrors int                    `json:"warmupErrors"`
	Warnings     int                    `json:"responsesWithWarnings,omitempty"`
	// ServerCPU is the CPU time of the gateway (or baseline store) process
	// over the window, in cores; BenchCPU that of the load generator.
	ServerCPU *float64 `json:"serverCpuCores,omitempty"`
	BenchCPU  float64  `json:"benchCpuCores"`
}

func benchPhaseOf(name string, recs []*benchRecorder, window time.Duration, cpu benchCPU, kinds []string) *benchPhaseReport {
	ph := &benchPhaseReport{Name: name, WindowS: window.Seconds(), Kinds: map[string]*benchStats{},
		ErrorKinds: map[string]int{}, ErrorSamples: map[string]string{}, ServerCPU: cpu.server, BenchCPU: cpu.bench}
	var all []time.Duration
	errsByKind := map[string]int{}
	total := 0
	for _, r := range recs {
		for _, l := range r.lat {
			all = append(all, l...)
		}
		for key, n := range r.errs {
			ph.ErrorKinds[key] += n
			kind, _, _ := strings.Cut(key, ":")
			errsByKind[kind] += n
			total += n
		}
		for key, body := range r.samples {
			if _, ok := ph.ErrorSamples[key]; !ok && len(ph.ErrorSamples) < benchSamples {
				ph.ErrorSamples[key] = body
			}
		}
		ph.WarmupErrors += r.warmupErrors
		ph.Warnings += r.warnings
	}
	ph.benchStats = *benchStatsOf(all, total, window)
	for _, k := range kinds {
		var l []time.Duration
		for _, r := range recs {
			l = append(l, r.lat[k]...)
		}
		ph.Kinds[k] = benchStatsOf(l, errsByKind[k], window)
	}
	return ph
}

// ---------------------------------------------------------------------------
// The gateway workload.

// benchWorker is one client of the gateway: its own API key, its own
// incidents.
type benchWorker struct {
	id      int
	hc      *http.Client
	url     string
	auth    string
	rng     *mrand.Rand
	seq     int
	ids     []string // a ring of incidents this worker created
	next    int
	buf     bytes.Buffer
	body    []byte
	headers map[string][]byte // the request header JSON per kind
	addRest []byte            // the add payload after its summary
}

func newBenchWorker(i int, cfg *benchConfig, hc *http.Client) *benchWorker {
	w := &benchWorker{id: i, hc: hc, url: cfg.url,
		auth: basicAuthorization(cfg.apiKeys[i%len(cfg.apiKeys)], cfg.apiSecrets[i%len(cfg.apiSecrets)]),
		rng:  mrand.New(mrand.NewPCG(uint64(time.Now().UnixNano()), uint64(i))), headers: map[string][]byte{}}
	for kind, event := range map[string]string{"add": benchAddEvent, "edit": benchEditEvent, "read": benchReadEvent} {
		w.headers[kind], _ = json.Marshal(map[string]any{"headerVersion": 1, "eventName": event, "ownerId": cfg.owner,
			"processNetworkId": cfg.network, "appName": "agile-process-teams", "dataspace": "default"})
	}
	rest, _ := json.Marshal(benchAddPayload(i))
	w.addRest = rest[1:] // without its "{": the summary goes first
	return w
}

// benchAddPayload is an add-incident:v5 payload the size of the published
// sample, without aptBusinessObjectSummary.
func benchAddPayload(worker int) map[string]any {
	return map[string]any{
		"aptBusinessObjectDescription": "Shipment quarantined due to T1 reflecting incomplete data|SO 3027209239|PO 5201019344|" +
			"Transaminase enzyme, CDX-017 (ACS-4007466). EPCIS shows 48 pallets and receiving called out 50 received",
		"businessPriority": "HIGH",
		"incidentCategory": "Aggregate Shipment Error",
		"referenceIdentifiers": []any{
			map[string]any{"referenceTransactionType": "PO Number", "value": fmt.Sprintf("PO-%04d-123", worker)},
			map[string]any{"referenceTransactionType": "PO Number", "value": fmt.Sprintf("PO-%04d-345", worker)},
		},
		"impactedProducts":              []any{map[string]any{"productDetailId": "ea92a360-55ac-15eb-bb95-8bd76e7bd001", "impactedLots": "4"}},
		"responsibleEntity":             map[string]any{"partnerId": benchPartner, "toIdType": "companyLocationMasterData"},
		"resolutionDueDate":             int64(1681640075000),
		"responsiblePartyAtCompany":     fmt.Sprintf("bench-user-%04d", worker),
		"currentlyAssignedCompanyUsers": []any{"d5b2b867-fdeb-4b1c-a0d4-8aabf853c169", "a4bc6e7f-6436-4499-b453-270cdd052271"},
		"responsiblePartyAtPartner":     "13fb0cc6-771c-447a-a1bb-02513a235b24",
		"currentlyAssignedPartnerUsers": []any{"13fb0cc6-771c-447a-a1bb-02513a235b24", "ee532337-89d2-4f5f-b024-bfa070139b73"},
	}
}

var benchPriorities = []string{"HIGH", "MEDIUM", "LOW"}

// step sends one request of the kind the mix picks. A kind that needs an
// incident of the worker's own, when it has none, is an error.
func (w *benchWorker) step(ctx context.Context, m benchMix) benchOutcome {
	kind := m.pick(w.rng)
	w.seq++
	b := append(w.body[:0], `{"header":`...)
	b = append(b, w.headers[kind]...)
	switch kind {
	case "add":
		b = append(b, `,"payload":{"aptBusinessObjectSummary":"Bench incident `...)
		b = strconv.AppendInt(b, int64(w.id), 10)
		b = append(b, '-')
		b = strconv.AppendInt(b, int64(w.seq), 10)
		b = append(b, `: no EPCIS data for 1 package",`...)
		b = append(b, w.addRest[:len(w.addRest)-1]...) // without the payload's "}"
	default:
		if len(w.ids) == 0 {
			// Its adds failed; wait a little rather than spin on this.
			sleepUntil(ctx, time.Now().Add(10*time.Millisecond))
			return benchOutcome{kind: kind, errKey: kind + ": no incident of its own to " + kind + " (its adds failed)"}
		}
		id, _ := json.Marshal(w.ids[w.rng.IntN(len(w.ids))])
		b = append(b, `,"payload":{"id":`...)
		b = append(b, id...)
		if kind == "edit" {
			b = append(b, `,"businessPriority":"`...)
			b = append(b, benchPriorities[w.seq%len(benchPriorities)]...)
			b = append(b, `","aptBusinessObjectDescription":"Receiving counted 50 pallets, EPCIS shows 48 (edit `...)
			b = strconv.AppendInt(b, int64(w.seq), 10)
			b = append(b, `)"`...)
		}
	}
	b = append(b, "}}"...)
	w.body = b
	o := w.post(ctx, kind, b)
	if o.ok && kind == "add" {
		w.remember(o.body)
	}
	return o
}

func (w *benchWorker) remember(id string) {
	if len(w.ids) < benchRing {
		w.ids = append(w.ids, id)
		return
	}
	w.ids[w.next] = id
	w.next = (w.next + 1) % benchRing
}

// post sends body; an OK outcome of an add carries the new id in body.
func (w *benchWorker) post(ctx context.Context, kind string, body []byte) benchOutcome {
	o := benchOutcome{kind: kind}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(body))
	if err != nil {
		o.errKey, o.body = kind+": "+err.Error(), err.Error()
		return o
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", w.auth)
	resp, err := w.hc.Do(req)
	if err != nil {
		o.errKey, o.body = kind+": transport: "+benchErrClass(err), err.Error()
		return o
	}
	w.buf.Reset()
	_, err = w.buf.ReadFrom(resp.Body)
	resp.Body.Close()
	if err != nil {
		o.errKey, o.body = kind+": transport: reading the answer: "+benchErrClass(err), err.Error()
		return o
	}
	var env struct {
		Header struct {
			ErrCode       string `json:"errCode"`
			ExceptionName string `json:"exceptionName"`
			Warnings      any    `json:"warnings"`
		} `json:"header"`
		Payload struct {
			ID string `json:"id"`
		} `json:"payload"`
	}
	decodeErr := json.Unmarshal(w.buf.Bytes(), &env)
	o.warnings = env.Header.Warnings != nil
	switch {
	case decodeErr != nil:
		o.errKey = fmt.Sprintf("%s: HTTP %d, not an envelope", kind, resp.StatusCode)
	case resp.StatusCode != http.StatusOK || env.Header.ErrCode != "200_OK":
		o.errKey = fmt.Sprintf("%s: HTTP %d errCode %q %s", kind, resp.StatusCode, env.Header.ErrCode, env.Header.ExceptionName)
	case kind == "add" && env.Payload.ID == "":
		o.errKey = kind + ": 200_OK without payload.id"
	default:
		o.ok = true
		if kind == "add" {
			o.body = env.Payload.ID
		}
		return o
	}
	o.body = truncate(w.buf.String(), 600)
	return o
}

// benchErrClass names a transport error without the addresses and ports that
// make every message distinct.
func benchErrClass(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.Is(err, syscall.EPIPE):
		return "broken pipe"
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed (EOF)"
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		return "no local port available"
	}
	return truncate(err.Error(), 120)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// runBenchGatewayPhase runs one phase of mix m against the gateway. When the
// mix edits or reads, every worker first creates a few incidents of its own
// (part of the warmup, not measured).
func runBenchGatewayPhase(ctx context.Context, cfg *benchConfig, workers []*benchWorker, m benchMix, pid int) *benchPhaseReport {
	prefill := make([]*benchRecorder, len(workers))
	var wg sync.WaitGroup
	for i, w := range workers {
		prefill[i] = newBenchRecorder()
		if m.edit+m.read == 0 {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for try := 0; len(w.ids) < benchOwnMin && try < 3*benchOwnMin && ctx.Err() == nil; try++ {
				if o := w.step(ctx, benchMix{add: 1}); !o.ok {
					prefill[i].warmupErrors++
					prefill[i].sample(o)
				}
			}
		}()
	}
	wg.Wait()
	recs, window, cpu := runBenchLoad(ctx, len(workers), cfg.warmup, cfg.duration, pid,
		func(ctx context.Context, i int) benchOutcome { return workers[i].step(ctx, m) })
	recs = append(recs, prefill...) // their warmup errors and samples; they hold no latencies
	var kinds []string
	for _, k := range benchKinds {
		if m.weight(k) > 0 {
			kinds = append(kinds, k)
		}
	}
	ph := benchPhaseOf(m.name(), recs, window, cpu, kinds)
	ph.Mix = m.String()
	return ph
}

// ---------------------------------------------------------------------------
// The baseline.

// runBenchBaseline runs the baseline against a store it starts (startStore)
// or against --baseline-uri. It returns the figures, or why it was skipped,
// or the error that kept the store from starting.
func runBenchBaseline(ctx context.Context, cfg *benchConfig, tmp string, startStore bool, progress func(string, ...any)) (*benchPhaseReport, string, error) {
	uri, pid := cfg.baselineURI, 0
	desc := "one InsertOne per request"
	if uri == "" && !startStore {
		progress("baseline skipped: no --baseline-uri given with --url")
		return nil, "no --baseline-uri given with --url", nil
	}
	if uri == "" {
		self, err := os.Executable()
		if err != nil {
			return nil, "", err
		}
		var st *benchChild
		for try := 0; ; try++ { // a free port may be taken between the probe and the start
			addr, err := freeBenchAddr()
			if err != nil {
				return nil, "", err
			}
			progress("starting the baseline store: %s embedded-store --addr %s", self, addr)
			st, err = startBenchChild(ctx, "baseline store", self, "embedded store listening",
				"embedded-store", "--addr", addr, "--data-dir", filepath.Join(tmp, "baseline"))
			if err == nil {
				break
			}
			if try == 2 || ctx.Err() != nil {
				return nil, "", fmt.Errorf("the baseline store could not start: %w", err)
			}
		}
		defer func() {
			if err := st.stop(); err != nil {
				progress("the baseline store did not stop cleanly: %v", err)
			}
		}()
		uri, pid = "mongodb://"+st.addr+"/", st.cmd.Process.Pid
		desc += " (embedded-store: FerretDB on SQLite, synchronous=full, as the gateway's embedded store)"
	} else {
		desc += " (" + redactBenchURI(uri) + ", write concern majority, as the gateway on MongoDB)"
	}

	opts := options.Client().ApplyURI(uri).SetAppName("scwm-gateway-bench").
		SetMaxPoolSize(uint64(cfg.clients + 8)).SetTimeout(30 * time.Second).SetServerSelectionTimeout(10 * time.Second)
	if cfg.baselineURI != "" {
		opts.SetWriteConcern(writeconcern.Majority())
	}
	client, err := mongo.Connect(opts)
	if err != nil {
		return nil, "", fmt.Errorf("baseline: connect: %w", err)
	}
	defer client.Disconnect(context.Background())
	coll := client.Database("scwm_bench").Collection("baseline_" + strconv.FormatInt(time.Now().UnixNano(), 36))
	defer coll.Drop(context.Background())
	if err := client.Ping(ctx, nil); err != nil {
		return nil, "", fmt.Errorf("baseline: the store does not answer: %w", err)
	}
	progress("baseline, %s: warmup %v, measuring %v, %d clients", desc, cfg.warmup, cfg.duration, cfg.clients)
	docs := make([]*benchBaselineDoc, cfg.clients)
	for i := range docs {
		docs[i] = newBenchBaselineDoc(i)
	}
	recs, window, cpu := runBenchLoad(ctx, cfg.clients, cfg.warmup, cfg.duration, pid, func(ctx context.Context, i int) benchOutcome {
		doc := docs[i].next()
		o := benchOutcome{kind: "insert"}
		if _, err := coll.InsertOne(ctx, doc); err != nil {
			o.errKey, o.body = "insert: "+benchErrClass(err), err.Error()
			return o
		}
		o.ok = true
		return o
	})
	ph := benchPhaseOf("baseline", recs, window, cpu, nil)
	ph.Description = desc
	one := 1.0
	ph.Ratio = &one
	progress("baseline: %.1f inserts/s, %d errors", ph.Throughput, ph.Errors)
	return ph, "", nil
}

func redactBenchURI(uri string) string {
	u, err := url.Parse(uri)
	if err != nil {
		return "the --baseline-uri store"
	}
	if u.User != nil {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
		}
	}
	return u.String()
}

// benchBaselineDoc makes a worker's baseline documents: shaped like a stored
// incident (store.Incident: the metadata, data with the add payload's fields
// and those the gateway maintains, a first history entry).
type benchBaselineDoc struct {
	worker int
	seq    int64
	data   map[string]any
	fields []string
}

func newBenchBaselineDoc(worker int) *benchBaselineDoc {
	d := &benchBaselineDoc{worker: worker, data: benchAddPayload(worker)}
	d.data["aptBusinessObjectSummary"] = ""
	for k := range d.data {
		d.fields = append(d.fields, k)
	}
	slices.Sort(d.fields)
	return d
}

func (d *benchBaselineDoc) next() *store.Incident {
	d.seq++
	n := int64(d.worker)<<32 | d.seq
	now := time.Now().UnixMilli()
	id, err := uuid.NewV7()
	if err != nil {
		id = uuid.New()
	}
	d.data["aptBusinessObjectSummary"] = fmt.Sprintf("Bench incident %d-%d: no EPCIS data for 1 package", d.worker, d.seq)
	d.data["aptBusinessObjectId"] = "INC-" + strconv.FormatInt(n, 10)
	d.data["aptBusinessObjectIntegerIdentifier"] = n
	d.data["fkProcessNetworkId"] = benchNetwork
	d.data["isSubmittedToPartner"] = false
	d.data["dateSubmitted"] = nil
	d.data["incidentConclusion"] = nil
	d.data["followerId"] = []any{}
	user := fmt.Sprintf("bench-user-%04d", d.worker)
	return &store.Incident{
		ID: id.String(), Dataspace: "default", OwnerID: benchOwner, NetworkID: benchNetwork,
		ProcessType: "incident", SchemaVersion: 5, DataVersion: 1,
		CreatedByUserID: user, LastUpdatedBy: user, CreatedAt: now, LastUpdatedAt: now,
		CurrentBaseState: "New", Number: n, Data: d.data,
		Activities: []store.Activity{{LicensePlate: envelope.NewLicensePlate(), EventName: benchAddEvent, UserID: user,
			CompanyID: benchOwner, DateTime: now, DataVersion: 1, Fields: d.fields, StateTo: "New"}},
	}
}

func freeBenchAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// ---------------------------------------------------------------------------
// Child processes.

// benchChild is a child process of this binary: the gateway or the baseline
// store.
type benchChild struct {
	name    string
	cmd     *exec.Cmd
	log     *benchLog
	addr    string
	exited  chan struct{}
	waitErr error
	stopped bool
}

// startBenchChild runs bin with args, with JSON logs, and waits for the log
// line whose message is ready, whose addr it records.
func startBenchChild(ctx context.Context, name, bin, ready string, args ...string) (*benchChild, error) {
	c := &benchChild{name: name, cmd: exec.Command(bin, args...), log: newBenchLog(ready), exited: make(chan struct{})}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SCWM_") && !strings.HasPrefix(kv, "MONGODB_URI=") {
			c.cmd.Env = append(c.cmd.Env, kv)
		}
	}
	c.cmd.Env = append(c.cmd.Env, "SCWM_LOG_FORMAT=json")
	c.cmd.Stdout = io.Discard
	c.cmd.Stderr = c.log // exec drains the pipe for the child's whole life
	c.cmd.WaitDelay = 5 * time.Second
	if err := c.cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		c.waitErr = c.cmd.Wait()
		close(c.exited)
	}()
	timer := time.NewTimer(benchStartWait)
	defer timer.Stop()
	select {
	case c.addr = <-c.log.ready:
		return c, nil
	case <-c.exited:
		return nil, fmt.Errorf("%s exited before listening (%v):\n%s", name, c.waitErr, c.log.tail())
	case <-timer.C:
		c.stop()
		return nil, fmt.Errorf("%s did not log %q within %v:\n%s", name, ready, benchStartWait, c.log.tail())
	case <-ctx.Done():
		c.stop()
		return nil, ctx.Err()
	}
}

// stop sends SIGTERM and waits; after benchChildStopWait it kills. It
// reports an exit that was not clean.
func (c *benchChild) stop() error {
	if c.stopped {
		return nil
	}
	c.stopped = true
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	timer := time.NewTimer(benchChildStopWait)
	defer timer.Stop()
	select {
	case <-c.exited:
		if c.waitErr != nil {
			return fmt.Errorf("%s exited with %v:\n%s", c.name, c.waitErr, c.log.tail())
		}
		return nil
	case <-timer.C:
		_ = c.cmd.Process.Kill()
		<-c.exited
		return fmt.Errorf("%s did not stop within %v of SIGTERM and was killed", c.name, benchChildStopWait)
	}
}

// benchLog takes a child's standard error: it finds the ready line, counts
// the lines at warn and error level and keeps the last of them.
type benchLog struct {
	mu        sync.Mutex
	readyMsg  string
	ready     chan string
	found     bool
	partial   []byte
	last      []string // the last lines, any level
	lines     int
	warns     int
	errs      int
	lastError string
}

func newBenchLog(ready string) *benchLog {
	return &benchLog{readyMsg: ready, ready: make(chan string, 1)}
}

func (l *benchLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.partial = append(l.partial, p...)
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			break
		}
		l.line(l.partial[:i])
		l.partial = l.partial[i+1:]
	}
	if len(l.partial) == 0 {
		l.partial = nil // let the buffer go between writes
	}
	return len(p), nil
}

func (l *benchLog) line(line []byte) {
	l.lines++
	if len(l.last) == 20 {
		l.last = l.last[1:]
	}
	l.last = append(l.last, truncate(string(line), 1000))
	if !l.found && bytes.Contains(line, []byte(l.readyMsg)) {
		var e struct {
			Message string `json:"message"`
			Msg     string `json:"msg"`
			Addr    string `json:"addr"`
		}
		if json.Unmarshal(line, &e) == nil && (e.Message == l.readyMsg || e.Msg == l.readyMsg) && e.Addr != "" {
			l.found = true
			l.ready <- e.Addr
		}
	}
	switch {
	case bytes.Contains(line, []byte(`"level":"error"`)) || bytes.Contains(line, []byte(`"level":"fatal"`)):
		l.errs++
		l.lastError = truncate(string(line), 1000)
	case bytes.Contains(line, []byte(`"level":"warn"`)):
		l.warns++
	}
}

func (l *benchLog) tail() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.last, "\n")
}

// benchLogStats is what the gateway logged during the run.
type benchLogStats struct {
	Lines     int    `json:"lines"`
	Warnings  int    `json:"warnLines"`
	Errors    int    `json:"errorLines"`
	LastError string `json:"lastErrorLine,omitempty"`
}

func (l *benchLog) stats() *benchLogStats {
	l.mu.Lock()
	defer l.mu.Unlock()
	return &benchLogStats{Lines: l.lines, Warnings: l.warns, Errors: l.errs, LastError: l.lastError}
}

// ---------------------------------------------------------------------------
// /proc.

// benchRSS is the gateway's memory: peak (VmHWM) and current (VmRSS).
type benchRSS struct {
	PID       int   `json:"pid"`
	PeakBytes int64 `json:"peakBytes"`
	RSSBytes  int64 `json:"rssBytes"`
}

func readBenchRSS(pid int) (*benchRSS, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return nil, fmt.Errorf("read the gateway's RSS: %w", err)
	}
	defer f.Close()
	r := &benchRSS{PID: pid}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, val, ok := strings.Cut(sc.Text(), ":")
		if !ok || (name != "VmHWM" && name != "VmRSS") {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(val), " kB"), 10, 64)
		if err != nil {
			continue
		}
		if name == "VmHWM" {
			r.PeakBytes = kb << 10
		} else {
			r.RSSBytes = kb << 10
		}
	}
	if r.PeakBytes == 0 {
		return nil, fmt.Errorf("no VmHWM in /proc/%d/status", pid)
	}
	return r, nil
}

// readBenchCPU is the user and system CPU time process pid has used.
func readBenchCPU(pid int) (time.Duration, error) {
	if pid <= 0 {
		return 0, errors.New("no process")
	}
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	i := bytes.LastIndexByte(raw, ')')
	if i < 0 {
		return 0, errors.New("unexpected /proc stat")
	}
	f := strings.Fields(string(raw[i+1:]))
	if len(f) < 13 {
		return 0, errors.New("unexpected /proc stat")
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, errors.New("unexpected /proc stat")
	}
	return time.Duration(utime+stime) * time.Second / benchClockTicks, nil
}

// ---------------------------------------------------------------------------
// The report.

type benchMachine struct {
	GOOS           string `json:"goos"`
	GOARCH         string `json:"goarch"`
	NumCPU         int    `json:"numCPU"`
	GoVersion      string `json:"goVersion"`
	GatewayVersion string `json:"gatewayVersion"`
}

type benchParams struct {
	Clients   int      `json:"clients"`
	WarmupS   float64  `json:"warmupSeconds"`
	DurationS float64  `json:"durationSeconds"`
	Phases    []string `json:"phases"`
	Target    string   `json:"target"`
	URL       string   `json:"url"`
}

type benchReport struct {
	Machine         benchMachine        `json:"machine"`
	Params          benchParams         `json:"params"`
	Phases          []*benchPhaseReport `json:"phases"`
	Baseline        *benchPhaseReport   `json:"baseline"`
	BaselineSkipped string              `json:"baselineSkipped,omitempty"`
	RSS             *benchRSS           `json:"gatewayRss"`
	RSSSkipped      string              `json:"gatewayRssSkipped,omitempty"`
	GatewayLog      *benchLogStats      `json:"gatewayLog,omitempty"`
	Notes           []string            `json:"notes,omitempty"`
}

func (r *benchReport) print(out io.Writer) {
	m, p := r.Machine, r.Params
	fmt.Fprintf(out, "scwm-gateway bench: %s/%s, %d CPUs, %s, gateway %s\n", m.GOOS, m.GOARCH, m.NumCPU, m.GoVersion, m.GatewayVersion)
	fmt.Fprintf(out, "  %s; %d clients (one API key each), warmup %v, measured %v per phase\n\n",
		p.Target, p.Clients, time.Duration(p.WarmupS*float64(time.Second)), time.Duration(p.DurationS*float64(time.Second)))

	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "phase\tkind\treq/s\tp50 ms\tp90 ms\tp99 ms\tmax ms\terrors\tratio vs baseline\t")
	row := func(phase, kind string, s *benchStats, ratio string) {
		fmt.Fprintf(tw, "%s\t%s\t%.1f\t%.2f\t%.2f\t%.2f\t%.2f\t%d\t%s\t\n", phase, kind, s.Throughput, s.P50Ms, s.P90Ms, s.P99Ms, s.MaxMs, s.Errors, ratio)
	}
	for _, ph := range r.Phases {
		ratio := "-"
		if ph.Ratio != nil {
			ratio = fmt.Sprintf("%.2f", *ph.Ratio)
		}
		if len(ph.Kinds) == 1 {
			for k := range ph.Kinds {
				row(ph.Name, k, &ph.benchStats, ratio)
			}
			continue
		}
		row(ph.Name, "all", &ph.benchStats, ratio)
		for _, k := range benchKinds {
			if s := ph.Kinds[k]; s != nil {
				row("", k, s, "")
			}
		}
	}
	if r.Baseline != nil {
		row("baseline", "insert", &r.Baseline.benchStats, "1.00")
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

package main

// Durability of the real binary: a 200_OK means the write is
// committed, so `kill -9` at any moment loses no acknowledged event, and
// SIGTERM stops accepting, finishes the requests in flight and exits cleanly.
//
// These tests build cmd/scwm-gateway, run it as a child process on the
// embedded store and talk to it over HTTP as a client does. Every helper here
// is prefixed with "dur" so that it cannot collide with other test files of
// the package.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/scwm-gateway/scwm-gateway/internal/gatewaytest"
	"github.com/scwm-gateway/scwm-gateway/store"
	"github.com/scwm-gateway/scwm-gateway/store/sqlite"
)

const (
	durAddEvent  = "agile-process-teams:add-incident:v5"
	durEditEvent = "agile-process-teams:edit-incident:v5"
	durReadEvent = "agile-process-teams:read-incident:v4"

	// durSeedEnv, when set to a number, replaces the random seed of
	// TestKill9LosesNoAcknowledgedEvent (to replay a failing run's delays).
	durSeedEnv = "SCWM_DURABILITY_SEED"
)

// durClient is a seeded API client.
type durClient struct {
	apiKey, apiSecret, company, network string
}

var durClients = []durClient{
	{apiKey: "acme-key", apiSecret: "acme-secret-0123456789", company: "acme", network: "net-1"},
	{apiKey: "supplier-key", apiSecret: "supplier-secret-0123456789", company: "supplier-1", network: "net-1"},
}

const durSeed = `{
  "companies": [{"id": "acme", "name": "Acme Pharma"}, {"id": "supplier-1", "name": "Supplier One"}],
  "networks":  [{"id": "net-1", "members": ["acme", "supplier-1"]}],
  "clients":   [
    {"apiKey": "acme-key", "apiSecret": "acme-secret-0123456789", "companyId": "acme", "userId": "alice"},
    {"apiKey": "supplier-key", "apiSecret": "supplier-secret-0123456789", "companyId": "supplier-1", "userId": "sam"}
  ]
}`

// durBuild returns the gateway binary (gatewayBinary) and a seed file
// written for the test.
func durBuild(t *testing.T) (bin, seed string) {
	t.Helper()
	bin = gatewayBinary(t)
	seed = filepath.Join(t.TempDir(), "seed.json")
	writeFile(t, seed, durSeed)
	return bin, seed
}

// durEnviron is the test's environment without anything that would change
// which store the child opens or how it logs, plus JSON logs.
func durEnviron() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "SCWM_") || strings.HasPrefix(kv, "MONGODB_URI=") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "SCWM_LOG_FORMAT=json")
}

// durLog collects a child's standard error, line by line, and reports the
// address of its "listening" line. It is the child's Stderr, so exec drains
// the pipe for the whole life of the process and the child never blocks on
// its log.
type durLog struct {
	mu        sync.Mutex
	all       bytes.Buffer
	partial   []byte
	listening chan string
	found     bool
}

func newDurLog() *durLog { return &durLog{listening: make(chan string, 1)} }

func (l *durLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.all.Write(p)
	l.partial = append(l.partial, p...)
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			break
		}
		line := l.partial[:i]
		if !l.found {
			var entry struct {
				Message string `json:"message"`
				Addr    string `json:"addr"`
			}
			if json.Unmarshal(line, &entry) == nil && entry.Message == "listening" && entry.Addr != "" {
				l.found = true
				l.listening <- entry.Addr
			}
		}
		l.partial = l.partial[i+1:]
	}
	return len(p), nil
}

func (l *durLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.all.String()
}

// entries returns the log's JSON lines, decoded.
func (l *durLog) entries() []map[string]any {
	var out []map[string]any
	for _, line := range strings.Split(l.String(), "\n") {
		var e map[string]any
		if json.Unmarshal([]byte(line), &e) == nil {
			out = append(out, e)
		}
	}
	return out
}

// durProc is a gateway running as a child process.
type durProc struct {
	cmd     *exec.Cmd
	log     *durLog
	stdout  *syncBuffer
	addr    string
	exited  chan struct{} // closed once Wait has returned
	waitErr error
}

// durSpawn starts `scwm-gateway serve` on dataDir without waiting for it to
// listen. The process is killed when the test ends if it still runs.
func durSpawn(t *testing.T, bin, seed, dataDir string, extra ...string) *durProc {
	t.Helper()
	args := append([]string{"serve", "--addr", "127.0.0.1:0", "--data-dir", dataDir, "--seed", seed}, extra...)
	p := &durProc{cmd: exec.Command(bin, args...), log: newDurLog(), stdout: &syncBuffer{}, exited: make(chan struct{})}
	p.cmd.Env = durEnviron()
	p.cmd.Stdout = p.stdout
	p.cmd.Stderr = p.log
	p.cmd.WaitDelay = 5 * time.Second
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start the gateway: %v", err)
	}
	go func() {
		p.waitErr = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		if !p.hasExited() {
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
	})
	return p
}

// durStart starts the gateway and waits for its "listening" line.
func durStart(t *testing.T, bin, seed, dataDir string, extra ...string) *durProc {
	t.Helper()
	p := durSpawn(t, bin, seed, dataDir, extra...)
	if err := p.awaitListening(); err != nil {
		t.Fatal(err)
	}
	return p
}

// awaitListening waits for the "listening" line and sets addr; if the
// process exits first or takes more than 20s (then it is killed), the error
// says so and carries the log.
func (p *durProc) awaitListening() error {
	select {
	case p.addr = <-p.log.listening:
		return nil
	case <-p.exited:
		return fmt.Errorf("the gateway exited before listening (%v):\n%s", p.waitErr, p.log.String())
	case <-time.After(20 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
		return fmt.Errorf("the gateway did not log 'listening' within 20s:\n%s", p.log.String())
	}
}

func (p *durProc) hasExited() bool {
	select {
	case <-p.exited:
		return true
	default:
		return false
	}
}

// kill sends SIGKILL and waits for the process to be gone.
func (p *durProc) kill(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		t.Fatalf("kill: %v", err)
	}
	<-p.exited
}

// terminate sends SIGTERM and waits up to limit for the process to exit; it
// returns how long the exit took.
func (p *durProc) terminate(t *testing.T, limit time.Duration) time.Duration {
	t.Helper()
	sent := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM: %v", err)
	}
	return p.waitExit(t, sent, limit)
}

func (p *durProc) waitExit(t *testing.T, since time.Time, limit time.Duration) time.Duration {
	t.Helper()
	select {
	case <-p.exited:
	case <-time.After(limit):
		_ = p.cmd.Process.Kill()
		<-p.exited
		t.Fatalf("the gateway did not exit within %v of SIGTERM:\n%s", limit, p.log.String())
	}
	took := time.Since(since)
	if code := p.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("the gateway exited with %v (status %d) after SIGTERM, want status 0:\n%s", p.waitErr, code, p.log.String())
	}
	return took
}

// durHTTP sends envelopes to one gateway process over its own connections.
type durHTTP struct {
	url    string
	client *http.Client
}

func newDurHTTP(addr string, conns int) *durHTTP {
	tr := &http.Transport{
		Proxy:               nil,
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		IdleConnTimeout:     30 * time.Second,
		DisableCompression:  true,
	}
	return &durHTTP{url: "http://" + addr + "/api/events", client: &http.Client{Transport: tr}}
}

func (h *durHTTP) close() { h.client.CloseIdleConnections() }

// durEnvelope is a response envelope as a client decodes it.
type durEnvelope struct {
	Header struct {
		IsErr        bool   `json:"isErr"`
		ErrCode      string `json:"errCode"`
		ErrMsg       string `json:"errMsg"`
		LicensePlate string `json:"licensePlate"`
	} `json:"header"`
	Payload json.RawMessage `json:"payload"`
}

// durResult is what one request got.
type durResult struct {
	// transport is set when no HTTP response came back at all (connection
	// refused or reset, the process died before answering).
	transport error
	// status and raw are the HTTP status and the body, when a response came.
	status int
	raw    []byte
	// incomplete is set when a response came but its body could not be read
	// in full or is not a complete envelope.
	incomplete error
	env        durEnvelope
}

// ok reports whether the request was acknowledged: 200 and errCode 200_OK in
// a complete envelope.
func (r durResult) ok() bool {
	return r.transport == nil && r.incomplete == nil && r.status == http.StatusOK && !r.env.Header.IsErr && r.env.Header.ErrCode == "200_OK"
}

func (r durResult) String() string {
	switch {
	case r.transport != nil:
		return "no response: " + r.transport.Error()
	case r.incomplete != nil:
		return fmt.Sprintf("HTTP %d with an incomplete envelope (%v): %q", r.status, r.incomplete, r.raw)
	}
	return fmt.Sprintf("HTTP %d: %s", r.status, r.raw)
}

func (h *durHTTP) send(ctx context.Context, c durClient, event string, payload map[string]any) durResult {
	return h.sendWith(ctx, c, event, payload, "")
}

// sendWith sends with an Idempotency-Key header when key is not empty.
func (h *durHTTP) sendWith(ctx context.Context, c durClient, event string, payload map[string]any, key string) durResult {
	body, err := json.Marshal(map[string]any{
		"header": map[string]any{"headerVersion": 1, "eventName": event, "ownerId": c.company,
			"processNetworkId": c.network, "appName": "agile-process-teams", "dataspace": "default"},
		"payload": payload,
	})
	if err != nil {
		panic(err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.url, bytes.NewReader(body))
	if err != nil {
		panic(err)
	}
	req.SetBasicAuth(c.apiKey, c.apiSecret)
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	resp, err := h.client.Do(req)
	if err != nil {
		return durResult{transport: err}
	}
	defer resp.Body.Close()
	r := durResult{status: resp.StatusCode}
	r.raw, err = io.ReadAll(resp.Body)
	if err != nil {
		r.incomplete = fmt.Errorf("reading the body: %w", err)
		return r
	}
	if err := json.Unmarshal(r.raw, &r.env); err != nil {
		r.incomplete = err
	} else if r.env.Header.ErrCode == "" || r.env.Header.LicensePlate == "" {
		r.incomplete = errors.New("no errCode or licensePlate in the header")
	}
	return r
}

// durPayload decodes the payload of an acknowledged response.
func durPayload[T any](r durResult) (T, error) {
	var v T
	err := json.Unmarshal(r.env.Payload, &v)
	return v, err
}

// durAck is an acknowledged add.
type durAck struct {
	client  durClient
	summary string
	id      string
}

// durRecord is the part of a read-incident answer the tests check.
type durRecord struct {
	ID          string         `json:"id"`
	OwnerID     string         `json:"ownerId"`
	DataVersion int64          `json:"dataVersion"`
	Data        map[string]any `json:"data"`
}

// durReadAll reads every acknowledged add back through the API, from a few
// goroutines, and checks that each is there with its summary. It returns the
// records by id.
func durReadAll(t *testing.T, h *durHTTP, acks []durAck) map[string]durRecord {
	t.Helper()
	var (
		mu      sync.Mutex
		records = make(map[string]durRecord, len(acks))
		missing []string
		next    atomic.Int64
		wg      sync.WaitGroup
	)
	for range 8 {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(acks) {
					return
				}
				a := acks[i]
				r := h.send(t.Context(), a.client, durReadEvent, map[string]any{"id": a.id})
				var problem string
				var rec durRecord
				if !r.ok() {
					problem = r.String()
				} else if v, err := durPayload[durRecord](r); err != nil {
					problem = fmt.Sprintf("undecodable record %s: %v", r.raw, err)
				} else if rec = v; rec.ID != a.id || rec.OwnerID != a.client.company || rec.Data["aptBusinessObjectSummary"] != a.summary {
					problem = fmt.Sprintf("wrong record: %s", r.raw)
				}
				mu.Lock()
				if problem != "" {
					missing = append(missing, fmt.Sprintf("%s %q (owner %s): %s", a.id, a.summary, a.client.company, problem))
				} else {
					records[a.id] = rec
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(missing) > 0 {
		t.Errorf("%d of %d acknowledged adds are not readable after the restart; the first ones:\n%s",
			len(missing), len(acks), strings.Join(missing[:min(len(missing), 10)], "\n"))
	}
	return records
}

// durIncident is the history of the edits of one incident. Only one goroutine
// ever edits a given incident, one edit at a time, so its edits reach the
// store in the order of attempts.
type durIncident struct {
	attempts    []string // incidentCategory values, in the order sent
	lastAck     int      // index in attempts of the last acknowledged edit; -1 if none
	ackVersions []int64  // the dataVersion of each acknowledged edit, in order
}

// durWorker is one client goroutine of the kill -9 test. Its state outlives
// the rounds; between rounds only the test goroutine touches it.
type durWorker struct {
	n         int
	client    durClient
	adds      []durAck
	attempted map[string]bool // every summary sent, acknowledged or not
	edits     map[string]*durIncident

	// per round
	roundAdds, roundEdits int
	failedAt              time.Time // when the first request without a response failed
	failure               durResult
	unexpected            []string // complete answers other than 200_OK
}

// run sends adds and edits until ctx ends or a request gets no response (the
// gateway was killed).
func (w *durWorker) run(ctx context.Context, h *durHTTP, round int, rng *rand.Rand) {
	for n := 0; ctx.Err() == nil; n++ {
		var r durResult
		if len(w.adds) > 0 && rng.IntN(3) == 0 {
			target := w.adds[rng.IntN(len(w.adds))].id
			inc := w.edits[target]
			if inc == nil {
				inc = &durIncident{lastAck: -1}
				w.edits[target] = inc
			}
			value := fmt.Sprintf("c%d-r%d-e%d", w.n, round, n)
			inc.attempts = append(inc.attempts, value)
			r = h.send(ctx, w.client, durEditEvent, map[string]any{"id": target, "incidentCategory": value})
			if r.ok() {
				got, err := durPayload[struct {
					ID          string `json:"id"`
					DataVersion int64  `json:"dataVersion"`
				}](r)
				if err != nil || got.ID != target || got.DataVersion < 2 {
					w.unexpected = append(w.unexpected, fmt.Sprintf("edit of %s acknowledged with payload %s", target, r.env.Payload))
					continue
				}
				inc.lastAck = len(inc.attempts) - 1
				inc.ackVersions = append(inc.ackVersions, got.DataVersion)
				w.roundEdits++
				continue
			}
		} else {
			summary := fmt.Sprintf("c%d-r%d-%d", w.n, round, n)
			w.attempted[summary] = true
			r = h.send(ctx, w.client, durAddEvent, map[string]any{"aptBusinessObjectSummary": summary})
			if r.ok() {
				got, err := durPayload[struct {
					ID string `json:"id"`
				}](r)
				if err != nil || got.ID == "" {
					w.unexpected = append(w.unexpected, fmt.Sprintf("add %q acknowledged with payload %s", summary, r.env.Payload))
					continue
				}
				w.adds = append(w.adds, durAck{client: w.client, summary: summary, id: got.ID})
				w.roundAdds++
				continue
			}
		}
		if r.transport != nil || r.incomplete != nil {
			// No (complete) answer: the process is gone, or the round is
			// over. Either way the request was not acknowledged.
			w.failedAt, w.failure = time.Now(), r
			return
		}
		w.unexpected = append(w.unexpected, r.String())
	}
}

// durRandSeed returns the seed of this run: SCWM_DURABILITY_SEED if set, else
// the clock.
func durRandSeed(t *testing.T) uint64 {
	t.Helper()
	if s := os.Getenv(durSeedEnv); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("%s=%q: %v", durSeedEnv, s, err)
		}
		return v
	}
	return uint64(time.Now().UnixNano())
}

func TestKill9LosesNoAcknowledgedEvent(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds and kills the real binary; skipped with -short")
	}
	began := time.Now()
	seed := durRandSeed(t)
	t.Logf("seed %d (replay the same delays with %s=%d)", seed, durSeedEnv, seed)
	rng := rand.New(rand.NewPCG(seed, 0))

	bin, seedFile := durBuild(t)
	dataDir := t.TempDir()

	const rounds = 12
	const perCompany = 2
	var workers []*durWorker
	for i := range perCompany * len(durClients) {
		workers = append(workers, &durWorker{n: i, client: durClients[i%len(durClients)],
			attempted: map[string]bool{}, edits: map[string]*durIncident{}})
	}

	kills, startupKills := 0, 0
	for round := range rounds {
		// Now and then, a kill while the gateway starts (opening the store,
		// applying the seed): the next start must still find everything.
		if round > 0 && round%4 == 0 {
			p := durSpawn(t, bin, seedFile, dataDir)
			time.Sleep(time.Duration(rng.IntN(60)) * time.Millisecond)
			p.kill(t)
			startupKills++
			t.Logf("round %2d: killed the gateway while starting", round)
		}

		spawned := time.Now()
		p := durStart(t, bin, seedFile, dataDir)
		ready := time.Since(spawned)
		h := newDurHTTP(p.addr, len(workers))
		if round == 0 {
			// The first add creates the store's sequences collection; a
			// kill during that creation is TestKill9DuringFirstUse's
			// subject, so here it happens before the first kill.
			for _, w := range workers[:len(durClients)] {
				summary := fmt.Sprintf("c%d-warmup", w.n)
				w.attempted[summary] = true
				r := h.send(t.Context(), w.client, durAddEvent, map[string]any{"aptBusinessObjectSummary": summary})
				id, err := durPayload[struct {
					ID string `json:"id"`
				}](r)
				if !r.ok() || err != nil || id.ID == "" {
					t.Fatalf("first add: %s", r)
				}
				w.adds = append(w.adds, durAck{client: w.client, summary: summary, id: id.ID})
			}
		}
		ctx, cancel := context.WithCancel(t.Context())
		var wg sync.WaitGroup
		for _, w := range workers {
			w.roundAdds, w.roundEdits, w.failedAt, w.failure = 0, 0, time.Time{}, durResult{}
			wrng := rand.New(rand.NewPCG(seed, uint64(round*len(workers)+w.n+1)))
			wg.Go(func() { w.run(ctx, h, round, wrng) })
		}
		delay := time.Duration(50+rng.IntN(351)) * time.Millisecond
		time.Sleep(delay)
		if p.hasExited() {
			t.Fatalf("round %d: the gateway exited by itself (%v):\n%s", round, p.waitErr, p.log.String())
		}
		killAt := time.Now()
		p.kill(t)
		kills++
		cancel()
		wg.Wait()
		h.close()

		adds, edits := 0, 0
		for _, w := range workers {
			adds += w.roundAdds
			edits += w.roundEdits
			if !w.failedAt.IsZero() && w.failedAt.Before(killAt) {
				t.Errorf("round %d, client %d: a request failed while the gateway was running: %v", round, w.n, w.failure)
			}
			for _, u := range w.unexpected[:min(len(w.unexpected), 3)] {
				t.Errorf("round %d, client %d: unexpected answer: %s", round, w.n, u)
			}
			if len(w.unexpected) > 3 {
				t.Errorf("round %d, client %d: ... %d unexpected answers in all", round, w.n, len(w.unexpected))
			}
			w.unexpected = nil
		}
		t.Logf("round %2d: listening after %v, killed %v later; %d adds and %d edits acknowledged",
			round, ready.Round(time.Millisecond), delay, adds, edits)
	}

	// Everything acknowledged is there after the last kill.
	var acks []durAck
	editedIncidents, ackedEdits := 0, 0
	for _, w := range workers {
		acks = append(acks, w.adds...)
		for _, inc := range w.edits {
			editedIncidents++
			ackedEdits += len(inc.ackVersions)
		}
	}
	t.Logf("%d kills (%d while starting), %d adds and %d edits (of %d incidents) acknowledged in all",
		kills+startupKills, startupKills, len(acks), ackedEdits, editedIncidents)
	if len(acks) == 0 || ackedEdits == 0 {
		t.Fatalf("nothing to check: %d adds and %d edits acknowledged", len(acks), ackedEdits)
	}

	// The check reads every acknowledged incident as fast as it can: the
	// rate limits are not what it checks.
	p := durStart(t, bin, seedFile, dataDir, "--rate-limit", "0", "--company-rate-limit", "0")
	h := newDurHTTP(p.addr, 8)
	records := durReadAll(t, h, acks)
	h.close()
	badEdits := 0
	for _, w := range workers {
		for id, inc := range w.edits {
			rec, ok := records[id]
			if !ok {
				continue // reported by durReadAll
			}
			if problem := durCheckEdits(inc, rec); problem != "" {
				badEdits++
				if badEdits <= 10 {
					t.Errorf("incident %s (client %d): %s", id, w.n, problem)
				}
			}
		}
	}
	if badEdits > 10 {
		t.Errorf("... %d incidents with a lost or wrong edit in all", badEdits)
	}
	p.terminate(t, 30*time.Second)

	// Once: no acknowledged add was stored twice, and INC numbers are unique
	// per company.
	durCheckStoreOnce(t, dataDir, workers)
	t.Logf("took %v", time.Since(began).Round(time.Millisecond))
}

// durCheckEdits checks one incident's final record against its edits: the
// last acknowledged value stays unless a later attempted edit replaced it,
// and the dataVersion never goes back behind an acknowledged one.
func durCheckEdits(inc *durIncident, rec durRecord) string {
	for i := 1; i < len(inc.ackVersions); i++ {
		if inc.ackVersions[i] <= inc.ackVersions[i-1] {
			return fmt.Sprintf("acknowledged edits returned dataVersions %v: an acknowledged edit was lost across a kill", inc.ackVersions)
		}
	}
	if n := len(inc.ackVersions); n > 0 && rec.DataVersion < inc.ackVersions[n-1] {
		return fmt.Sprintf("dataVersion is %d, but an edit was acknowledged at dataVersion %d", rec.DataVersion, inc.ackVersions[n-1])
	}
	if limit := int64(1 + len(inc.attempts)); rec.DataVersion > limit {
		return fmt.Sprintf("dataVersion is %d after %d attempted edits", rec.DataVersion, len(inc.attempts))
	}
	got, present := rec.Data["incidentCategory"]
	from := max(inc.lastAck, 0)
	for _, v := range inc.attempts[from:] {
		if got == v {
			return ""
		}
	}
	if !present && inc.lastAck < 0 {
		return "" // no edit acknowledged and none committed
	}
	if inc.lastAck >= 0 {
		return fmt.Sprintf("incidentCategory is %v (present %v); the last acknowledged edit set %q and later attempts were %q",
			got, present, inc.attempts[inc.lastAck], inc.attempts[inc.lastAck+1:])
	}
	return fmt.Sprintf("incidentCategory is %v, which no edit sent (attempts %q)", got, inc.attempts)
}

// durCheckStoreOnce opens the stopped gateway's store directly and checks
// that every acknowledged add is stored exactly once, that nothing was stored
// that was never sent, and that INC numbers are unique per company.
func durCheckStoreOnce(t *testing.T, dataDir string, workers []*durWorker) {
	t.Helper()
	ctx := t.Context()
	st, err := sqlite.Open(ctx, sqlite.Config{DataDir: dataDir})
	if err != nil {
		t.Fatalf("open the store: %v", err)
	}
	defer func() {
		if err := st.Close(context.Background()); err != nil {
			t.Errorf("close the store: %v", err)
		}
	}()
	problems := 0
	report := func(format string, args ...any) {
		t.Helper()
		if problems++; problems <= 20 {
			t.Errorf(format, args...)
		}
	}
	defer func() {
		if problems > 20 {
			t.Errorf("... %d problems in the store in all", problems)
		}
	}()
	for _, c := range durClients {
		acked := map[string]string{} // summary -> id
		attempted := map[string]bool{}
		for _, w := range workers {
			if w.client != c {
				continue
			}
			for _, a := range w.adds {
				acked[a.summary] = a.id
			}
			for s := range w.attempted {
				attempted[s] = true
			}
		}
		var incs []*store.Incident
		for _, stored := range gatewaytest.StoredIncidents(t, st, "default", c.company) {
			inc, err := st.FindIncident(ctx, "default", stored.ID, 0)
			if err != nil {
				t.Fatalf("read incident %s of %s: %v", stored.ID, c.company, err)
			}
			incs = append(incs, inc)
		}
		summaries := map[string][]string{} // summary -> ids
		numbers := map[string][]string{}   // INC-n -> ids
		for _, inc := range incs {
			s, _ := inc.Data["aptBusinessObjectSummary"].(string)
			summaries[s] = append(summaries[s], inc.ID)
			n, _ := inc.Data["aptBusinessObjectId"].(string)
			numbers[n] = append(numbers[n], inc.ID)
			if !attempted[s] {
				report("%s: stored incident %s has summary %q, which no client sent", c.company, inc.ID, s)
			}
		}
		for s, id := range acked {
			switch ids := summaries[s]; {
			case len(ids) == 0:
				report("%s: acknowledged add %q (%s) is not in the store", c.company, s, id)
			case len(ids) > 1:
				report("%s: acknowledged add %q is stored %d times: %v", c.company, s, len(ids), ids)
			case ids[0] != id:
				report("%s: acknowledged add %q was answered with id %s but is stored as %s", c.company, s, id, ids[0])
			}
		}
		for s, ids := range summaries {
			if len(ids) > 1 && acked[s] == "" {
				report("%s: unacknowledged add %q is stored %d times: %v", c.company, s, len(ids), ids)
			}
		}
		for n, ids := range numbers {
			if n == "" || len(ids) > 1 {
				report("%s: aptBusinessObjectId %q is held by %d incidents: %v", c.company, n, len(ids), ids)
			}
		}
		t.Logf("%s: %d incidents stored, %d acknowledged, %d distinct INC numbers", c.company, len(incs), len(acked), len(numbers))
	}
}

func TestSigtermFinishesRequestsInFlight(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds and signals the real binary; skipped with -short")
	}
	began := time.Now()
	bin, seedFile := durBuild(t)
	dataDir := t.TempDir()
	// Generous timeouts: on a loaded machine, 40 clients adding at once
	// queue behind each company's INC sequence, and a request that passes
	// --request-timeout is answered 503. That is not what this test is
	// about; a 5xx here must come from the shutdown.
	const shutdownTimeout = 30 * time.Second
	p := durStart(t, bin, seedFile, dataDir, "--shutdown-timeout", shutdownTimeout.String(), "--request-timeout", "25s")

	const goroutines = 40
	h := newDurHTTP(p.addr, goroutines)
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()

	var (
		mu                sync.Mutex
		acks              []durAck
		bad               []string // responses that are not a complete 200_OK envelope
		earlyFailures     []string // requests without a response before SIGTERM
		signalled         atomic.Int64
		inFlight          atomic.Int64
		ackedAfterSignal  atomic.Int64
		failedAfterSignal atomic.Int64
		wg                sync.WaitGroup
	)
	for g := range goroutines {
		c := durClients[g%len(durClients)]
		wg.Go(func() {
			for n := 0; ctx.Err() == nil; n++ {
				summary := fmt.Sprintf("t%d-%d", g, n)
				inFlight.Add(1)
				r := h.send(ctx, c, durAddEvent, map[string]any{"aptBusinessObjectSummary": summary})
				inFlight.Add(-1)
				after := signalled.Load() != 0
				if r.transport != nil {
					if !after {
						mu.Lock()
						earlyFailures = append(earlyFailures, summary+": "+r.String())
						mu.Unlock()
					} else {
						failedAfterSignal.Add(1)
					}
					return // the listener is closed: this client is done
				}
				var id string
				if r.ok() {
					got, err := durPayload[struct {
						ID string `json:"id"`
					}](r)
					id = got.ID
					if err != nil || id == "" {
						r.incomplete = fmt.Errorf("no id in the payload (%v)", err)
					}
				}
				mu.Lock()
				if id != "" && r.ok() {
					acks = append(acks, durAck{client: c, summary: summary, id: id})
					if after {
						ackedAfterSignal.Add(1)
					}
				} else {
					bad = append(bad, fmt.Sprintf("%s (sent before SIGTERM: %v): %s", summary, !after, r))
				}
				mu.Unlock()
			}
		})
	}

	// Let the load build up, then SIGTERM with requests in flight.
	deadline := time.Now().Add(45 * time.Second)
	for {
		mu.Lock()
		n := len(acks)
		mu.Unlock()
		if n >= 2*goroutines {
			break
		}
		if time.Now().After(deadline) || p.hasExited() {
			t.Fatalf("only %d adds acknowledged in 45s under load:\n%s", n, p.log.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	mu.Lock()
	before := len(acks)
	mu.Unlock()
	pending := inFlight.Load()
	signalledAt := time.Now()
	signalled.Store(signalledAt.UnixNano())
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM: %v", err)
	}
	took := p.waitExit(t, signalledAt, shutdownTimeout+10*time.Second)
	cancel()
	wg.Wait()
	h.close()

	t.Logf("SIGTERM with %d requests in flight after %d acknowledged adds; the gateway exited %v later with %v",
		pending, before, took.Round(time.Millisecond), p.cmd.ProcessState)
	t.Logf("%d adds acknowledged in all, %d of them answered after SIGTERM; %d requests got no response after SIGTERM",
		len(acks), ackedAfterSignal.Load(), failedAfterSignal.Load())
	for _, e := range earlyFailures[:min(len(earlyFailures), 10)] {
		t.Errorf("a request got no response before SIGTERM: %s", e)
	}
	for _, b := range bad[:min(len(bad), 10)] {
		t.Errorf("not a complete 200_OK envelope: %s", b)
	}
	if len(bad) > 10 {
		t.Errorf("... %d bad responses in all", len(bad))
	}
	if ackedAfterSignal.Load() == 0 {
		t.Errorf("no request in flight at SIGTERM (%d pending) was answered: the gateway did not finish them", pending)
	}
	if took > shutdownTimeout {
		t.Errorf("the gateway took %v to exit, more than its shutdown timeout %v", took, shutdownTimeout)
	}

	// The shutdown lines, in order, and nothing cut off.
	shuttingDown, stopped, errorLines := -1, -1, 0
	for i, e := range p.log.entries() {
		msg, _ := e["message"].(string)
		switch {
		case strings.HasPrefix(msg, "shutting down") && shuttingDown < 0:
			shuttingDown = i
		case msg == "stopped":
			stopped = i
		case strings.Contains(msg, "cut off"):
			t.Errorf("requests were cut off at shutdown: %v", e)
		}
		if e["level"] == "error" {
			if errorLines++; errorLines <= 5 {
				t.Errorf("error logged: %v", e)
			}
		}
	}
	if errorLines > 5 {
		t.Errorf("... %d error lines in all", errorLines)
	}
	if shuttingDown < 0 || stopped < shuttingDown {
		t.Errorf("want a 'shutting down' line, then a 'stopped' line (at %d and %d); the log:\n%s", shuttingDown, stopped, p.log.String())
	}

	// Nothing acknowledged is lost.
	again := durStart(t, bin, seedFile, dataDir)
	h = newDurHTTP(again.addr, 8)
	durReadAll(t, h, acks)
	h.close()
	again.terminate(t, shutdownTimeout+10*time.Second)
	t.Logf("took %v", time.Since(began).Round(time.Millisecond))
}

// A kill -9 while the embedded store creates its files, tables and indexes
// (the first start on an empty data directory, the first add that creates
// the sequences collection, the first request with an Idempotency-Key that
// creates the idempotency collection) must leave a data directory the
// gateway still starts on and serves. Each try uses a fresh directory, kills
// the gateway either while it starts or right after its first add (with or
// without an Idempotency-Key) was sent, restarts it and sends an add without
// and one with an Idempotency-Key.
func TestKill9DuringFirstUseLeavesAWorkingStore(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds and kills the real binary; skipped with -short")
	}
	began := time.Now()
	seed := durRandSeed(t)
	t.Logf("seed %d (replay the same delays with %s=%d)", seed, durSeedEnv, seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	bin, seedFile := durBuild(t)
	acme := durClients[0]

	const tries = 20
	broken := 0
	for try := range tries {
		dir := t.TempDir()
		p := durSpawn(t, bin, seedFile, dir)
		var when string
		if try%2 == 0 {
			delay := time.Duration(rng.IntN(80)) * time.Millisecond
			time.Sleep(delay)
			when = fmt.Sprintf("%v after the first start began", delay)
		} else {
			if err := p.awaitListening(); err != nil {
				t.Fatal(err)
			}
			h := newDurHTTP(p.addr, 1)
			key, with := "", ""
			if try%4 == 3 {
				// The incidents and sequences exist; the kill aims at the
				// creation of the idempotency collection.
				if r := h.send(t.Context(), acme, durAddEvent, map[string]any{"aptBusinessObjectSummary": "plain"}); !r.ok() {
					t.Fatalf("try %d: first add: %s", try, r)
				}
				key, with = fmt.Sprintf("first-%d", try), " with an Idempotency-Key"
			}
			go h.sendWith(t.Context(), acme, durAddEvent, map[string]any{"aptBusinessObjectSummary": "first"}, key)
			delay := time.Duration(rng.IntN(30)) * time.Millisecond
			time.Sleep(delay)
			when = fmt.Sprintf("%v after the first add%s was sent", delay, with)
		}
		p.kill(t)

		again := durSpawn(t, bin, seedFile, dir)
		if err := again.awaitListening(); err != nil {
			broken++
			t.Errorf("try %d, killed %s: the gateway no longer starts on that data directory: %v", try, when, err)
			continue
		}
		h := newDurHTTP(again.addr, 1)
		for _, key := range []string{"", fmt.Sprintf("again-%d", try)} {
			r := h.sendWith(t.Context(), acme, durAddEvent, map[string]any{"aptBusinessObjectSummary": "after the kill"}, key)
			if !r.ok() {
				broken++
				t.Errorf("try %d, killed %s: after a restart an add (Idempotency-Key %q) gets %s\nthe restarted gateway's log:\n%s",
					try, when, key, r, again.log.String())
				break
			}
		}
		h.close()
		again.terminate(t, 30*time.Second)
	}
	t.Logf("%d of %d data directories unusable after a kill -9 during their first use; took %v",
		broken, tries, time.Since(began).Round(time.Millisecond))
}

package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scwm-gateway/scwm-gateway/internal/gatewaytest"
	"github.com/scwm-gateway/scwm-gateway/internal/mongotest"
)

// outageBound is how long any request may take while the store is down: not
// a performance figure but the promise that nothing hangs (--store-timeout is
// 1s and --request-timeout 3s here).
const outageBound = 5 * time.Second

// timedResponse is one answer of the gateway and how long it took.
type timedResponse struct {
	status  int
	header  http.Header
	env     map[string]any
	elapsed time.Duration
}

// outageClient gives up well after outageBound, so that a hang shows as a
// failed bound rather than a stuck test.
var outageClient = &http.Client{Timeout: 30 * time.Second}

// timedPost posts body with auth and, if not empty, an Idempotency-Key.
func timedPost(t *testing.T, url, auth, body string, idempotencyKey ...string) timedResponse {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Authorization", auth)
	req.Header.Set("Content-Type", "application/json")
	for _, k := range idempotencyKey {
		req.Header.Set("Idempotency-Key", k)
	}
	return timedDo(t, req, true)
}

func timedGet(t *testing.T, url string) timedResponse {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	return timedDo(t, req, false)
}

func timedDo(t *testing.T, req *http.Request, envelope bool) timedResponse {
	t.Helper()
	start := time.Now()
	resp, err := outageClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v after %v", req.Method, req.URL.Path, err, time.Since(start))
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := timedResponse{status: resp.StatusCode, header: resp.Header, elapsed: time.Since(start)}
	if envelope {
		if err := json.Unmarshal(raw, &r.env); err != nil {
			t.Fatalf("%s %s answered %d with no envelope: %s", req.Method, req.URL.Path, resp.StatusCode, raw)
		}
	}
	return r
}

func (r timedResponse) headerField(name string) string {
	h, _ := r.env["header"].(map[string]any)
	s, _ := h[name].(string)
	return s
}

func (r timedResponse) payloadField(name string) string {
	p, _ := r.env["payload"].(map[string]any)
	s, _ := p[name].(string)
	return s
}

// The store goes away under a running gateway on the MongoDB store
// (SIGKILL of the MongoDB-wire test server it reaches through MONGODB_URI)
// and comes back on the same address and files: every event meanwhile gets a prompt 503 envelope with
// Retry-After, /readyz says 503 and /healthz 200, authentication keeps
// working from the in-memory directory, and once the store is back the
// gateway serves again, old data included, without a restart.
func TestOutageStoreKilledAndRestarted(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("runs the store as a process")
	}
	dir := t.TempDir()
	st := mongotest.StartServerAt(t, gatewaytest.FreeLoopbackAddr(t), filepath.Join(dir, "store"))
	storeAddr := st.Addr()

	seed := filepath.Join(dir, "seed.json")
	writeFile(t, seed, `{
	  "companies": [{"id": "acme", "name": "Acme Pharma"}],
	  "networks":  [{"id": "net-1", "members": ["acme"]}],
	  "clients":   [{"apiKey": "acme-key", "apiSecret": "acme-secret-0123456789", "companyId": "acme", "userId": "alice"}]
	}`)
	env := map[string]string{
		"MONGODB_URI":            "mongodb://" + storeAddr + "/",
		"SCWM_ADDR":              "127.0.0.1:0",
		"SCWM_STORE_TIMEOUT":     "1s",
		"SCWM_REQUEST_TIMEOUT":   "3s",
		"SCWM_DIRECTORY_REFRESH": "200ms",
		"SCWM_LOG_FORMAT":        "json",
	}
	gw := startServe(t, env, "--seed", seed)
	if !strings.Contains(gw.stderr.String(), "MongoDB mongodb://"+storeAddr) {
		t.Fatalf("the gateway did not use MONGODB_URI:\n%s", gw.stderr.String())
	}
	base := "http://" + gw.addr
	events := base + "/api/events"
	auth := basicAuthorization("acme-key", "acme-secret-0123456789")
	add := func(summary string) string {
		return `{"header":{"headerVersion":1,"eventName":"agile-process-teams:add-incident:v5","ownerId":"acme","processNetworkId":"net-1","appName":"agile-process-teams","dataspace":"default"},"payload":{"aptBusinessObjectSummary":"` + summary + `"}}`
	}

	r := timedPost(t, events, auth, add("before the outage"))
	if r.status != 200 || r.payloadField("id") == "" {
		t.Fatalf("add before the outage: %d %v", r.status, r.env)
	}
	id := r.payloadField("id")
	if r := timedGet(t, base+"/readyz"); r.status != 200 {
		t.Fatalf("/readyz before the outage: %d", r.status)
	}

	// The store dies.
	st.Kill()
	killedAt := time.Now()

	expect503 := func(what string, r timedResponse) {
		t.Helper()
		if r.elapsed > outageBound {
			t.Errorf("%s during the outage took %v, more than %v", what, r.elapsed, outageBound)
		}
		if r.status != http.StatusServiceUnavailable || r.headerField("exceptionName") != "ServiceUnavailableException" ||
			r.headerField("errCode") != "503" {
			t.Errorf("%s during the outage: %d %v, want 503 ServiceUnavailableException\n%s", what, r.status, r.env, gw.stderr.String())
		}
		if r.status == http.StatusServiceUnavailable && r.header.Get("Retry-After") == "" {
			t.Errorf("%s during the outage: 503 without Retry-After", what)
		}
	}
	// Several rounds: the first meets the pool's now-dead connections, the
	// later ones a server the driver already knows to be down.
	for round := range 3 {
		r := timedPost(t, events, auth, add(fmt.Sprintf("during the outage %d", round)))
		expect503(fmt.Sprintf("round %d: add", round), r)
		t.Logf("round %d: add answered %d in %v", round, r.status, r.elapsed.Round(time.Millisecond))
		// An incident the gateway holds in its memory cache may still be
		// read (all its writes pass through this gateway); one it must ask
		// the store for gets the 503.
		r = timedPost(t, events, auth, readEnvelope("acme", "net-1", "01a20000-0000-7000-8000-00000000000"+fmt.Sprint(round)))
		expect503(fmt.Sprintf("round %d: read", round), r)
		t.Logf("round %d: read answered %d in %v", round, r.status, r.elapsed.Round(time.Millisecond))
		if t.Failed() {
			t.FailNow()
		}
	}
	// A write with an idempotency key: the claim of the key needs the store
	// too. The client keeps the key for its retry after the outage.
	retried := add("retried with its key")
	r = timedPost(t, events, auth, retried, "outage-key-1")
	expect503("add with an Idempotency-Key", r)
	// Authentication and authorization come from the in-memory directory:
	// their answers need no store and stay what they are.
	wrongSecret := basicAuthorization("acme-key", "not-the-secret-0123456789")
	if r := timedPost(t, events, wrongSecret, add("wrong secret")); r.status != 401 || r.elapsed > outageBound {
		t.Errorf("wrong secret during the outage: %d in %v, want 401", r.status, r.elapsed)
	}
	otherOwner := strings.Replace(add("other owner"), `"ownerId":"acme"`, `"ownerId":"someone-else"`, 1)
	if r := timedPost(t, events, auth, otherOwner); r.status != 403 || r.elapsed > outageBound {
		t.Errorf("foreign ownerId during the outage: %d in %v, want 403", r.status, r.elapsed)
	}
	r = timedGet(t, base+"/readyz")
	if r.status != 503 || r.elapsed > 3*time.Second {
		t.Errorf("/readyz during the outage: %d in %v, want 503 within 3s", r.status, r.elapsed)
	}
	t.Logf("/readyz answered %d in %v", r.status, r.elapsed.Round(time.Millisecond))
	if r := timedGet(t, base+"/healthz"); r.status != 200 || r.elapsed > outageBound {
		t.Errorf("/healthz during the outage: %d in %v, want 200", r.status, r.elapsed)
	}
	t.Logf("outage checks done %v after the kill", time.Since(killedAt).Round(time.Millisecond))
	if t.Failed() {
		t.FailNow()
	}

	// The store comes back on the same files and port; the gateway, not
	// restarted, must follow.
	if err := st.Restart(); err != nil {
		t.Fatalf("restart the store: %v", err)
	}
	restartedAt := time.Now()
	deadline := restartedAt.Add(20 * time.Second)
	for {
		r := timedGet(t, base+"/readyz")
		if r.status == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz still %d 20s after the store came back:\n%s", r.status, gw.stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("/readyz 200 again %v after the store restarted", time.Since(restartedAt).Round(time.Millisecond))
	for {
		r := timedPost(t, events, auth, add("after the outage"))
		if r.status == 200 {
			break
		}
		if r.status != 503 || time.Now().After(deadline) {
			t.Fatalf("add after the store came back: %d %v\n%s", r.status, r.env, gw.stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	r = timedPost(t, events, auth, readEnvelope("acme", "net-1", id))
	if r.status != 200 || r.payloadField("id") != id {
		t.Fatalf("the incident added before the outage, read after it: %d %v", r.status, r.env)
	}
	// The retry of the write that got a 503 goes through once, and only once.
	first := timedPost(t, events, auth, retried, "outage-key-1")
	replay := timedPost(t, events, auth, retried, "outage-key-1")
	if first.status != 200 || replay.status != 200 || first.payloadField("id") == "" ||
		replay.payloadField("id") != first.payloadField("id") || replay.header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("retries of the add that met the outage: %d %v, then %d %v (Idempotent-Replayed %q)",
			first.status, first.env, replay.status, replay.env, replay.header.Get("Idempotent-Replayed"))
	}
	t.Logf("serving again %v after the store restarted", time.Since(restartedAt).Round(time.Millisecond))

	gw.stop(t)
	if err := st.Stop(); err != nil {
		t.Fatalf("the store after the gateway stopped: %v", err)
	}
}

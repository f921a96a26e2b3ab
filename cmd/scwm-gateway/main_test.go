package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is an io.Writer that tests can read while the gateway writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// running is a gateway started through run, as `scwm-gateway serve` starts.
type running struct {
	addr   string
	stdout *syncBuffer
	stderr *syncBuffer
	cancel context.CancelFunc
	done   chan error
}

// startServe runs `scwm-gateway serve` in-process with env and waits for its
// "listening" log line.
func startServe(t *testing.T, env map[string]string, args ...string) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{stdout: &syncBuffer{}, stderr: &syncBuffer{}, cancel: cancel, done: make(chan error, 1)}
	getenv := func(k string) string { return env[k] }
	go func() {
		r.done <- run(ctx, append([]string{"scwm-gateway", "serve"}, args...), getenv, noStdin, r.stdout, r.stderr)
	}()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		for _, line := range strings.Split(r.stderr.String(), "\n") {
			var entry struct {
				Message string `json:"message"`
				Addr    string `json:"addr"`
			}
			if json.Unmarshal([]byte(line), &entry) == nil && entry.Message == "listening" {
				r.addr = entry.Addr
				t.Cleanup(func() { r.stop(t) })
				return r
			}
		}
		select {
		case err := <-r.done:
			t.Fatalf("serve exited before listening: %v\n%s", err, r.stderr.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
	cancel()
	t.Fatalf("serve did not log 'listening' within 20s:\n%s", r.stderr.String())
	return nil
}

// stop cancels the gateway's context, as SIGTERM does, and waits for run.
func (r *running) stop(t *testing.T) {
	t.Helper()
	if r.cancel == nil {
		return
	}
	r.cancel()
	r.cancel = nil
	select {
	case err := <-r.done:
		if err != nil {
			t.Errorf("serve returned %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Error("serve did not stop within 20s of its context ending")
	}
}

func post(t *testing.T, url, auth, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Authorization", auth)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var env map[string]any
	if err := json.Unmarshal(raw, &env); err != nil {
		t.Fatalf("not a JSON object: %s", raw)
	}
	return resp.StatusCode, env
}

func readEnvelope(owner, network, id string) string {
	b, _ := json.Marshal(map[string]any{
		"header": map[string]any{"headerVersion": 1, "eventName": "agile-process-teams:read-incident:v4",
			"ownerId": owner, "processNetworkId": network, "appName": "agile-process-teams", "dataspace": "default"},
		"payload": map[string]any{"id": id},
	})
	return string(b)
}

var (
	curlURL  = regexp.MustCompile(`curl -sS -X POST (\S+)`)
	curlAuth = regexp.MustCompile(`-H 'Authorization: ([^']+)'`)
	curlBody = regexp.MustCompile(`-d '([^']+)'`)
	bannerKV = regexp.MustCompile(`(?m)^  (ownerId|processNetworkId|apiKey|apiSecret) +(\S+)$`)
)

// The newcomer's path: a first start on an empty data directory prints
// credentials and a curl line; the curl line creates an incident; reading it
// back returns the record; a restart keeps it and prints no secret again.
func TestFirstRunPrintsWorkingCredentialsAndRestartKeepsData(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	env := map[string]string{"SCWM_DATA_DIR": dir, "SCWM_ADDR": "127.0.0.1:0"}
	gw := startServe(t, env)
	out := gw.stdout.String()

	kv := map[string]string{}
	for _, m := range bannerKV.FindAllStringSubmatch(out, -1) {
		kv[m[1]] = m[2]
	}
	if kv["ownerId"] == "" || kv["processNetworkId"] == "" || kv["apiKey"] == "" || kv["apiSecret"] == "" {
		t.Fatalf("first run did not print ownerId, processNetworkId, apiKey and apiSecret:\n%s", out)
	}
	url, auth, body := curlURL.FindStringSubmatch(out), curlAuth.FindStringSubmatch(out), curlBody.FindStringSubmatch(out)
	if url == nil || auth == nil || body == nil {
		t.Fatalf("no complete curl line in:\n%s", out)
	}
	if !strings.Contains(url[1], gw.addr) {
		t.Fatalf("curl line targets %s, gateway listens on %s", url[1], gw.addr)
	}
	if strings.Contains(gw.stderr.String(), kv["apiSecret"]) {
		t.Fatal("the apiSecret reached the log")
	}

	status, resp := post(t, url[1], auth[1], body[1])
	if status != 200 {
		t.Fatalf("the printed curl line got %d: %v", status, resp)
	}
	id := resp["payload"].(map[string]any)["id"].(string)
	status, resp = post(t, url[1], auth[1], readEnvelope(kv["ownerId"], kv["processNetworkId"], id))
	if status != 200 || resp["payload"].(map[string]any)["currentBaseState"] != "New" {
		t.Fatalf("read back: %d %v", status, resp)
	}
	gw.stop(t)

	again := startServe(t, env)
	if strings.Contains(again.stdout.String(), "apiSecret") {
		t.Fatalf("the second start printed credentials again:\n%s", again.stdout.String())
	}
	status, resp = post(t, "http://"+again.addr+"/api/events", auth[1], readEnvelope(kv["ownerId"], kv["processNetworkId"], id))
	if status != 200 || resp["payload"].(map[string]any)["id"] != id {
		t.Fatalf("after restart: %d %v", status, resp)
	}
}

func TestSeedFileAndClientsCommands(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	seed := dir + "/seed.json"
	writeFile(t, seed, `{
	  "companies": [{"id": "acme", "name": "Acme Pharma"}, {"id": "supplier-1", "name": "Supplier One"}],
	  "networks":  [{"id": "net-1", "members": ["acme", "supplier-1"]}],
	  "clients":   [{"apiKey": "acme-key", "apiSecret": "acme-secret-0123456789", "companyId": "acme", "userId": "alice"}],
	  "users":        [{"username": "tim@acme.com", "password": "pw-0123456789", "companyId": "acme", "name": "Tim"}],
	  "oauthClients": [{"clientId": "cid", "clientSecret": "csecret-0123456789", "companyId": "acme"}]
	}`)
	env := map[string]string{"SCWM_DATA_DIR": dir + "/data", "SCWM_ADDR": "127.0.0.1:0", "SCWM_DIRECTORY_REFRESH": "100ms"}
	gw := startServe(t, env, "--seed", seed)
	if strings.Contains(gw.stdout.String(), "apiSecret") {
		t.Fatal("a seeded gateway printed first-run credentials")
	}
	url := "http://" + gw.addr + "/api/events"
	seeded := basicAuthorization("acme-key", "acme-secret-0123456789")
	add := `{"header":{"headerVersion":1,"eventName":"agile-process-teams:add-incident:v5","ownerId":"acme","processNetworkId":"net-1","appName":"agile-process-teams","dataspace":"default"},"payload":{"aptBusinessObjectSummary":"seeded"}}`
	if status, resp := post(t, url, seeded, add); status != 200 {
		t.Fatalf("seeded client: %d %v", status, resp)
	}

	// clients create, against the same data directory while the gateway runs.
	var created struct {
		APIKey, APISecret, CompanyID, ProcessNetworkID, Authorization string
	}
	var stdout, stderr bytes.Buffer
	getenv := func(k string) string { return env[k] }
	err := run(context.Background(), []string{"scwm-gateway", "clients", "create", "--company", "acme", "--network", "net-1", "--user", "bob"}, getenv, noStdin, &stdout, &stderr)
	if err != nil {
		t.Fatalf("clients create: %v\n%s", err, stderr.String())
	}
	if err := json.Unmarshal(stdout.Bytes(), &created); err != nil || created.APIKey == "" || created.APISecret == "" {
		t.Fatalf("clients create printed %q (%v)", stdout.String(), err)
	}
	// The serving gateway hears of the new client at its next look at
	// the store's clients (every 100ms here).
	for deadline := time.Now().Add(5 * time.Second); ; {
		status, resp := post(t, url, created.Authorization, add)
		if status == 200 {
			break
		}
		if status != 401 || time.Now().After(deadline) {
			t.Fatalf("new client: %d %v", status, resp)
		}
		time.Sleep(20 * time.Millisecond)
	}

	stdout.Reset()
	if err := run(context.Background(), []string{"scwm-gateway", "clients", "revoke", "--api-key", created.APIKey}, getenv, noStdin, &stdout, &stderr); err != nil {
		t.Fatalf("clients revoke: %v\n%s", err, stderr.String())
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		status, _ := post(t, url, created.Authorization, add)
		if status == 401 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a revoked key still answered %d after 5s", status)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The seeded client is untouched by the revocation.
	if status, resp := post(t, url, seeded, add); status != 200 {
		t.Fatalf("seeded client after revoke: %d %v", status, resp)
	}
	if err := run(context.Background(), []string{"scwm-gateway", "clients", "revoke", "--api-key", "no-such-key"}, getenv, noStdin, &stdout, &stderr); err == nil {
		t.Fatal("revoking an unknown key succeeded")
	}

	// The REST surface: the seeded user and OAuth client get a token and
	// create an incident, as a client written from the seed document does.
	base := "http://" + gw.addr
	token := restToken(t, base, "cid", "csecret-0123456789", "tim@acme.com", "pw-0123456789")
	if status, resp := post(t, base+"/api/incident", "Bearer "+token, `{"subject":"over REST","requesterEmail":"tim@acme.com"}`); status != 200 || resp["name"] == nil {
		t.Fatalf("REST create by the seeded user: %d %v", status, resp)
	}

	// users create and oauth-clients create, then the same with them;
	// oauth-clients revoke stops the client's tokens.
	pwFile := dir + "/pw"
	writeFile(t, pwFile, "sara-password-1\n")
	stdout.Reset()
	if err := run(context.Background(), []string{"scwm-gateway", "users", "create", "--username", "Sara@Acme.com", "--company", "acme", "--password-file", pwFile}, getenv, noStdin, &stdout, &stderr); err != nil {
		t.Fatalf("users create: %v\n%s", err, stderr.String())
	}
	stdout.Reset()
	if err := run(context.Background(), []string{"scwm-gateway", "oauth-clients", "create", "--company", "acme"}, getenv, noStdin, &stdout, &stderr); err != nil {
		t.Fatalf("oauth-clients create: %v\n%s", err, stderr.String())
	}
	var oc struct{ ClientID, ClientSecret string }
	if err := json.Unmarshal(stdout.Bytes(), &oc); err != nil || oc.ClientID == "" || len(oc.ClientSecret) < 32 {
		t.Fatalf("oauth-clients create printed %q (%v)", stdout.String(), err)
	}
	token = restToken(t, base, oc.ClientID, oc.ClientSecret, "sara@acme.com", "sara-password-1")
	if status, resp := post(t, base+"/api/v1/incident", "Bearer "+token, `{"subject":"by a CLI user","requesterEmail":"sara@acme.com"}`); status != 200 {
		t.Fatalf("REST create by the CLI-made user: %d %v", status, resp)
	}
	if err := run(context.Background(), []string{"scwm-gateway", "oauth-clients", "revoke", "--client-id", oc.ClientID}, getenv, noStdin, &stdout, &stderr); err != nil {
		t.Fatalf("oauth-clients revoke: %v", err)
	}
	if status, resp := post(t, base+"/api/v1/incident", "Bearer "+token, `{"subject":"after revoke","requesterEmail":"sara@acme.com"}`); status != 401 {
		t.Fatalf("REST create with a revoked client's token: %d %v", status, resp)
	}
}

// restToken gets an access token with the password grant.
func restToken(t *testing.T, base, clientID, secret, username, password string) string {
	t.Helper()
	form := url.Values{"grant_type": {"password"}, "username": {username}, "password": {password}}
	req, _ := http.NewRequest(http.MethodPost, base+"/api/oauth/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(clientID, secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	token, _ := out["access_token"].(string)
	if resp.StatusCode != 200 || token == "" {
		t.Fatalf("token for %s: %d %v", username, resp.StatusCode, out)
	}
	return token
}

func TestBadConfigurationIsRefused(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"serve", "--body-limit", "ten"},
		{"serve", "--log-format", "xml"},
		{"serve", "--store-timeout", "-1s"},
		{"serve", "--seed", "/no/such/seed.json"},
		{"serve", "extra"},
		{"launch"},
		{"clients", "create"},
		{"users", "create", "--company", "acme"},
		{"oauth-clients", "create"},
		{"serve", "--access-token-ttl", "0s"},
	} {
		var stdout, stderr bytes.Buffer
		env := map[string]string{"SCWM_DATA_DIR": t.TempDir(), "SCWM_ADDR": "127.0.0.1:0"}
		err := run(context.Background(), append([]string{"scwm-gateway"}, args...), func(k string) string { return env[k] }, noStdin, &stdout, &stderr)
		if err == nil {
			t.Errorf("%v: accepted", args)
		}
	}
}

func TestVersion(t *testing.T) {
	t.Parallel()
	var stdout bytes.Buffer
	if err := run(context.Background(), []string{"scwm-gateway", "version"}, func(string) string { return "" }, noStdin, &stdout, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(stdout.String(), "scwm-gateway ") {
		t.Fatalf("version printed %q", stdout.String())
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// The load generator is not in the gateway's binary: `scwm-gateway bench`
// (with any flags) exits 1 with one line that points to the command that
// replaced it, and the usage no longer lists it.
func TestBenchPointsToItsOwnCommand(t *testing.T) {
	t.Parallel()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(gatewayBinary(t), "bench", "--clients", "0")
	cmd.Env = durEnviron()
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("scwm-gateway bench: %v, want exit status 1\nstderr:\n%s", err, stderr.String())
	}
	if lines := strings.Split(strings.TrimSuffix(stderr.String(), "\n"), "\n"); len(lines) != 1 || !strings.Contains(lines[0], "go run ./cmd/scwm-bench") {
		t.Errorf("scwm-gateway bench printed %q on stderr, want one line pointing to go run ./cmd/scwm-bench", stderr.String())
	}
	if stdout.Len() > 0 {
		t.Errorf("scwm-gateway bench printed %q on stdout", stdout.String())
	}

	stdout.Reset()
	if err := run(context.Background(), []string{"scwm-gateway", "help"}, func(string) string { return "" }, noStdin, &stdout, io.Discard); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(stdout.String(), "bench") {
		t.Errorf("the usage still lists bench:\n%s", stdout.String())
	}
}

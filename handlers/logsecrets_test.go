package handlers_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"

	gt "github.com/scwm-gateway/scwm-gateway/internal/gatewaytest"
)

// logBuffer collects the gateway's log lines; the server writes them from
// its own goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// No apiSecret, minted or sent, and no Authorization value reaches the log,
// whether the request succeeds or fails; every request gets exactly one log
// line with its license plate, event name, apiKey and status.
func TestLogsNameTheRequestButNoSecret(t *testing.T) {
	t.Parallel()
	var logs logBuffer
	h := gt.Start(t, gt.Options{Logs: &logs})

	wrong := gt.Client{APIKey: gt.Acme.APIKey, APISecret: "wrong-secret-4f9a1c7e2b"}
	unknown := gt.Client{APIKey: "nobody-key", APISecret: gt.Acme.APISecret}
	generate, _ := json.Marshal(map[string]any{
		"header": map[string]any{"headerVersion": 1, "eventName": "authorization-manager:generate-apiKeyCredentials:v1",
			"ownerId": "00000000-0000-0000-0000-000000000000", "appName": "authorization-manager", "dataspace": "default"},
		"payload": map[string]any{},
	})
	valid := gt.Envelope(gt.Acme, addIncident, map[string]any{"aptBusinessObjectSummary": "logged"})

	type sent struct {
		what          string
		plate         string
		eventName     string
		status        int
		apiKeys       []string // acceptable values of the line's apiKey
		authorization string
	}
	var requests []sent
	post := func(what string, body []byte, authorization string, apiKeys ...string) *gt.Response {
		t.Helper()
		r := h.Post(t, body, authorization, nil)
		var env struct {
			Header struct {
				EventName string `json:"eventName"`
			} `json:"header"`
		}
		if r.Status != http.StatusUnauthorized { // an unauthenticated request's body is not read
			_ = json.Unmarshal(body, &env)
		}
		requests = append(requests, sent{what: what, plate: r.Header.LicensePlate, eventName: env.Header.EventName,
			status: r.Status, apiKeys: apiKeys, authorization: authorization})
		return r
	}

	post("valid add", valid, gt.Basic(gt.Acme), gt.Acme.APIKey).MustOK(t)
	post("wrong secret", valid, gt.Basic(wrong), "", wrong.APIKey).MustFail(t, 401, "AuthenticationException")
	post("unknown apiKey", valid, gt.Basic(unknown), "", unknown.APIKey).MustFail(t, 401, "AuthenticationException")
	post("garbled Authorization", valid, "Basic !!!"+gt.Acme.APISecret, "").MustFail(t, 401, "AuthenticationException")
	post("Basic without a colon", valid, "Basic "+base64.StdEncoding.EncodeToString([]byte(gt.Acme.APISecret)), "").
		MustFail(t, 401, "AuthenticationException")
	post("Bearer token", valid, "Bearer "+gt.Acme.APISecret, "").MustFail(t, 401, "AuthenticationException")
	post("schema failure", gt.Envelope(gt.Acme, addIncident, map[string]any{"aptBusinessObjectSummary": 5}), gt.Basic(gt.Acme), gt.Acme.APIKey).
		MustFail(t, 400, "SchemaValidationException")
	post("malformed body", []byte(`{"header":`), gt.Basic(gt.Acme), "", gt.Acme.APIKey).MustFail(t, 400, "MalformedEnvelopeException")

	var minted struct {
		APIKey    string `json:"apiKey"`
		APISecret string `json:"apiSecret"`
	}
	post("generate credentials", generate, gt.Basic(gt.Acme), gt.Acme.APIKey).MustOK(t).Decode(t, &minted)
	if minted.APIKey == "" || minted.APISecret == "" {
		t.Fatalf("no credentials minted: %+v", minted)
	}
	mintedClient := gt.Client{APIKey: minted.APIKey, APISecret: minted.APISecret, CompanyID: "acme", NetworkID: "net-1"}
	post("add with minted credentials", gt.Envelope(mintedClient, addIncident, map[string]any{"aptBusinessObjectSummary": "minted"}),
		gt.Basic(mintedClient), minted.APIKey).MustOK(t)
	post("minted key, wrong secret", valid, gt.Basic(gt.Client{APIKey: minted.APIKey, APISecret: minted.APISecret + "x"}), "", minted.APIKey).
		MustFail(t, 401, "AuthenticationException")

	// The line of a request is written after its answer: stopping the
	// server waits for every request, so all lines are in.
	h.Stop()
	lines := map[string][]map[string]any{}
	for _, l := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line is not JSON: %v\n%s", err, l)
		}
		if m["message"] == "event" {
			plate, _ := m["licensePlate"].(string)
			lines[plate] = append(lines[plate], m)
		}
	}

	log := logs.String()
	secrets := map[string]string{
		"Acme's apiSecret":     gt.Acme.APISecret,
		"the wrong apiSecret":  wrong.APISecret,
		"the minted apiSecret": minted.APISecret,
		"a mistyped apiSecret": minted.APISecret + "x",
	}
	for _, r := range requests {
		secrets["the Authorization of "+r.what] = r.authorization
		if _, b64, ok := strings.Cut(r.authorization, " "); ok {
			secrets["the base64 of "+r.what] = b64
		}
	}
	for what, secret := range secrets {
		if secret != "" && strings.Contains(log, secret) {
			t.Errorf("the log contains %s (%q)", what, secret)
		}
	}

	if len(lines) != len(requests) {
		t.Errorf("%d requests, but %d license plates in the log's event lines", len(requests), len(lines))
	}
	for _, r := range requests {
		got := lines[r.plate]
		if len(got) != 1 {
			t.Errorf("%s (plate %s): %d log lines, want 1", r.what, r.plate, len(got))
			continue
		}
		m := got[0]
		if m["eventName"] != r.eventName {
			t.Errorf("%s: eventName %v, want %q", r.what, m["eventName"], r.eventName)
		}
		if status, _ := m["status"].(float64); int(status) != r.status {
			t.Errorf("%s: status %v, want %d", r.what, m["status"], r.status)
		}
		key, present := m["apiKey"].(string)
		if !present || !contains(r.apiKeys, key) {
			t.Errorf("%s: apiKey %v, want one of %q", r.what, m["apiKey"], r.apiKeys)
		}
	}
	if t.Failed() {
		t.Logf("log:\n%s", log)
	}
}

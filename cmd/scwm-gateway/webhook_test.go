package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// hookReceiver records the deliveries it gets; the first one it holds
// until released, so that the gateway can be killed while delivering it.
type hookReceiver struct {
	srv     *httptest.Server
	mu      sync.Mutex
	ids     map[string][]string // "<objectId>@v<version>" -> the webhook-ids it came with
	held    chan struct{}       // closed when the first delivery arrived
	release chan struct{}
	arrived chan struct{}
	once    sync.Once
}

func newHookReceiver(t *testing.T) *hookReceiver {
	rc := &hookReceiver{ids: map[string][]string{}, held: make(chan struct{}), release: make(chan struct{}), arrived: make(chan struct{}, 1)}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var p struct {
			ID   string `json:"id"`
			Data struct {
				ObjectID    string `json:"objectId"`
				DataVersion int64  `json:"dataVersion"`
			} `json:"data"`
		}
		_ = json.Unmarshal(body, &p)
		first := false
		rc.once.Do(func() { first = true })
		if first {
			close(rc.held)
			<-rc.release // the gateway dies meanwhile: this answer reaches no one
			w.WriteHeader(http.StatusOK)
			return
		}
		rc.mu.Lock()
		key := fmt.Sprintf("%s@v%d", p.Data.ObjectID, p.Data.DataVersion)
		rc.ids[key] = append(rc.ids[key], r.Header.Get("webhook-id"))
		rc.mu.Unlock()
		select {
		case rc.arrived <- struct{}{}:
		default:
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(func() {
		select {
		case <-rc.release:
		default:
			close(rc.release)
		}
		rc.srv.Close()
	})
	return rc
}

// A gateway killed with -9 while a delivery is in flight delivers every
// acknowledged change once restarted: the one in flight again, with the
// same id, and the rest; none is lost.
func TestKill9MidDeliveryLosesNoDelivery(t *testing.T) {
	t.Parallel()
	bin, seed := durBuild(t)
	dataDir := t.TempDir()
	flags := []string{"--webhook-allow-private", "--webhook-allow-http"}
	p := durStart(t, bin, seed, dataDir, flags...)
	rc := newHookReceiver(t)

	body, _ := json.Marshal(map[string]any{"url": rc.srv.URL + "/hook"})
	req, _ := http.NewRequest(http.MethodPost, "http://"+p.addr+"/api/v1/webhooks", bytes.NewReader(body))
	req.SetBasicAuth(durClients[0].apiKey, durClients[0].apiSecret)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("subscribe: %d %s", resp.StatusCode, raw)
	}

	h := newDurHTTP(p.addr, 4)
	acked := map[string]bool{}
	for i := range 20 {
		r := h.send(context.Background(), durClients[0], "agile-process-teams:add-incident:v5", map[string]any{"aptBusinessObjectSummary": fmt.Sprint("hooked ", i)})
		if !r.ok() {
			t.Fatalf("add %d: %s", i, r)
		}
		out, err := durPayload[struct{ ID string }](r)
		if err != nil {
			t.Fatal(err)
		}
		acked[out.ID+"@v1"] = true
	}
	h.close()
	select {
	case <-rc.held:
	case <-time.After(60 * time.Second):
		t.Fatal("no delivery arrived")
	}
	p.kill(t)
	close(rc.release)

	p = durStart(t, bin, seed, dataDir, flags...)
	defer p.terminate(t, 30*time.Second)
	deadline := time.After(60 * time.Second)
	for {
		rc.mu.Lock()
		missing := 0
		for key := range acked {
			if len(rc.ids[key]) == 0 {
				missing++
			}
		}
		rc.mu.Unlock()
		if missing == 0 {
			break
		}
		select {
		case <-rc.arrived:
		case <-deadline:
			t.Fatalf("%d of %d acknowledged changes were never delivered after the restart:\n%s", missing, len(acked), p.log.String())
		}
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	for key, ids := range rc.ids {
		if !acked[key] {
			t.Errorf("a delivery of %s, which was never acknowledged", key)
		}
		for _, id := range ids[1:] {
			if id != ids[0] {
				t.Errorf("%s came with the ids %q: a repeat must carry the first's id", key, ids)
			}
		}
	}
}

// The webhooks commands manage a company's subscriptions in the store
// they are given, with the API's rules: the secret once, the company's
// own only, a bad endpoint refused.
func TestWebhooksCommands(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	env := map[string]string{"SCWM_DATA_DIR": dir}
	out, err := cliRun(env, "webhooks", "create", "--company", "acme", "--url", "https://hooks.example/acme", "--kinds", "incident,change")
	if err != nil {
		t.Fatalf("webhooks create: %v", err)
	}
	var created struct{ ID, Secret string }
	if err := json.Unmarshal([]byte(out), &created); err != nil || created.ID == "" || created.Secret == "" {
		t.Fatalf("webhooks create printed %q (%v)", out, err)
	}
	out, err = cliRun(env, "webhooks", "list", "--company", "acme")
	if err != nil || !bytes.Contains([]byte(out), []byte(created.ID)) || bytes.Contains([]byte(out), []byte("whsec_")) {
		t.Fatalf("webhooks list: %q %v", out, err)
	}
	if out, err := cliRun(env, "webhooks", "list", "--company", "other-co"); err != nil || bytes.Contains([]byte(out), []byte(created.ID)) {
		t.Errorf("another company's list: %q %v", out, err)
	}
	if out, err := cliRun(env, "webhooks", "deliveries", "--company", "acme", "--id", created.ID); err != nil || !bytes.Contains([]byte(out), []byte(`"deliveries": []`)) {
		t.Errorf("webhooks deliveries: %q %v", out, err)
	}
	if _, err := cliRun(env, "webhooks", "delete", "--company", "other-co", "--id", created.ID); err == nil {
		t.Error("another company deleted the subscription")
	}
	if _, err := cliRun(env, "webhooks", "create", "--company", "acme", "--url", "http://127.0.0.1:9/x"); err == nil {
		t.Error("a loopback http:// endpoint was accepted without the flags that allow it")
	}
	if _, err := cliRun(env, "webhooks", "create", "--company", "acme", "--url", "http://127.0.0.1:9/x", "--webhook-allow-private", "--webhook-allow-http"); err != nil {
		t.Errorf("a loopback http:// endpoint with the flags: %v", err)
	}
	if _, err := cliRun(env, "webhooks", "delete", "--company", "acme", "--id", created.ID); err != nil {
		t.Errorf("webhooks delete: %v", err)
	}
	if _, err := cliRun(env, "webhooks", "enable", "--company", "acme", "--id", created.ID); err == nil {
		t.Error("a deleted subscription was enabled")
	}
}

package handlers_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"

	"github.com/scwm-gateway/scwm-gateway/handlers"
	gt "github.com/scwm-gateway/scwm-gateway/internal/gatewaytest"
)

// adminToken is the tests' admin token.
const adminToken = "admin-token-of-the-tests"

// resetConfig turns the admin reset on, back to the default seed.
func resetConfig() handlers.Config {
	return handlers.Config{AdminToken: adminToken, ResetSeed: gt.DefaultSeed()}
}

// postReset sends POST /api/admin/reset with an Authorization header (none
// when empty) and answers the status and the decoded body.
func postReset(t *testing.T, h *gt.Harness, authorization string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, h.URL+"/api/admin/reset", nil)
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var body map[string]any
	if err := json.Unmarshal(raw, &body); err != nil {
		t.Fatalf("POST /api/admin/reset answered %d, not JSON: %s", resp.StatusCode, raw)
	}
	return resp.StatusCode, body
}

// addNumbered adds an incident and answers its id and INC- number.
func addNumbered(t *testing.T, h *gt.Harness, c gt.Client) (id, number string) {
	t.Helper()
	var added struct{ ID string }
	h.Send(t, c, addIncident, map[string]any{"aptBusinessObjectSummary": "before or after a reset"}).MustOK(t).Decode(t, &added)
	var rec struct {
		Data struct {
			Number string `json:"aptBusinessObjectId"`
		} `json:"data"`
	}
	h.Send(t, c, readIncident, map[string]any{"id": added.ID}).MustOK(t).Decode(t, &rec)
	return added.ID, rec.Data.Number
}

// A reset empties the data and applies the seed again: what was added is
// gone (from the store, its cache and the search index), the seed's
// credentials work, numbering starts over and the journal is empty.
func TestResetEmptiesTheDataAndAppliesTheSeed(t *testing.T) {
	t.Parallel()
	h := gt.Start(t, gt.Options{Config: resetConfig()})
	id, number := addNumbered(t, h, gt.Acme)
	addNumbered(t, h, gt.Other)
	h.Send(t, gt.Acme, "agile-process-teams:add-comment-for-incident:v1", map[string]any{"processId": id, "processType": "incident",
		"aptCommentBox": map[string]any{"aptComment": map[string]any{"commentText": "gone soon", "visibilityType": "Public"}}}).MustOK(t)
	if got := search(t, h, gt.Acme, map[string]any{"q": "reset"}).Items; len(got) != 1 {
		t.Fatalf("search before the reset finds %d incidents", len(got))
	}

	if status, body := postReset(t, h, ""); status != http.StatusUnauthorized || body["error"] != "AuthenticationException" {
		t.Fatalf("a reset without the token: %d %v", status, body)
	}
	if status, _ := postReset(t, h, "Bearer not-"+adminToken); status != http.StatusUnauthorized {
		t.Fatalf("a reset with another token: %d", status)
	}
	h.Send(t, gt.Acme, readIncident, map[string]any{"id": id}).MustOK(t) // refused resets changed nothing

	status, body := postReset(t, h, "Bearer "+adminToken)
	if status != http.StatusOK || body["status"] != "reset" {
		t.Fatalf("the reset: %d %v", status, body)
	}
	if n := h.Gateway.Journal().Len(); n != 0 {
		t.Errorf("the journal keeps %d requests", n)
	}
	h.Send(t, gt.Acme, readIncident, map[string]any{"id": id}).MustFail(t, 404, "ObjectNotFoundException")
	if got := search(t, h, gt.Acme, map[string]any{"q": "reset"}).Items; len(got) != 0 {
		t.Errorf("search still finds %d incidents", len(got))
	}
	_, again := addNumbered(t, h, gt.Acme)
	if again != number {
		t.Errorf("the first incident after the reset is %s, the first before it was %s", again, number)
	}
}

// Without an admin token the route is off; on a store that cannot be
// emptied in place (MongoDB) a reset says so.
func TestResetOffWithoutATokenAndRefusedOnMongo(t *testing.T) {
	t.Parallel()
	off := gt.Start(t, gt.Options{})
	if status, _ := postReset(t, off, "Bearer "+adminToken); status != http.StatusNotFound {
		t.Errorf("a reset of a gateway without an admin token: %d", status)
	}
	mongo := gt.Start(t, gt.Options{ViaURI: true, Config: resetConfig()})
	addNumbered(t, mongo, gt.Acme)
	if status, body := postReset(t, mongo, "Bearer "+adminToken); status != http.StatusNotImplemented {
		t.Errorf("a reset on MongoDB: %d %v", status, body)
	}
}

// Resets while requests run: every request is answered as if the resets
// were not there (they wait), and what was answered before a reset began
// is gone once it ends, cache and all.
func TestResetWhileRequestsRun(t *testing.T) {
	t.Parallel()
	h := gt.Start(t, gt.Options{Config: resetConfig()})
	var mu sync.Mutex
	var done []string
	stop := make(chan struct{})
	var wg sync.WaitGroup
	failures := make(chan string, 100)
	progress := make(chan struct{}, 1)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				body := gt.Envelope(gt.Acme, addIncident, map[string]any{"aptBusinessObjectSummary": fmt.Sprintf("worker %d, add %d", w, i)})
				status, payload, err := post(h, body)
				if err != nil || status != http.StatusOK {
					failures <- fmt.Sprintf("add: %d %s %v", status, payload, err)
					return
				}
				var added struct {
					Payload struct{ ID string } `json:"payload"`
				}
				if err := json.Unmarshal(payload, &added); err != nil || added.Payload.ID == "" {
					failures <- fmt.Sprintf("add answered %s", payload)
					return
				}
				// Read it back at once: the read fills the store's cache.
				read := gt.Envelope(gt.Acme, readIncident, map[string]any{"id": added.Payload.ID})
				// A reset may come between the add and the read.
				if status, payload, err := post(h, read); err != nil || status != http.StatusOK && status != http.StatusNotFound {
					failures <- fmt.Sprintf("read: %d %s %v", status, payload, err)
					return
				}
				mu.Lock()
				done = append(done, added.Payload.ID)
				mu.Unlock()
				select {
				case progress <- struct{}{}:
				default:
				}
			}
		}()
	}
	for range 5 {
		// Wait for some adds to be answered, then reset.
		for {
			mu.Lock()
			n := len(done)
			mu.Unlock()
			if n >= 8 {
				break
			}
			select {
			case <-progress:
			case f := <-failures:
				close(stop)
				wg.Wait()
				t.Fatalf("a request during the resets: %s", f)
			}
		}
		mu.Lock()
		before := done
		done = nil
		mu.Unlock()
		if status, body := postReset(t, h, "Bearer "+adminToken); status != http.StatusOK {
			t.Fatalf("reset: %d %v", status, body)
		}
		for _, id := range before {
			h.Send(t, gt.Acme, readIncident, map[string]any{"id": id}).MustFail(t, 404, "ObjectNotFoundException")
		}
	}
	close(stop)
	wg.Wait()
	select {
	case f := <-failures:
		t.Fatalf("a request during the resets: %s", f)
	default:
	}
}

// post sends an envelope as acme from a goroutine of its own (no test
// helper: they stop the test, which only the test's goroutine may).
func post(h *gt.Harness, body []byte) (int, []byte, error) {
	req, _ := http.NewRequest(http.MethodPost, h.URL+"/api/events", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", gt.Basic(gt.Acme))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	return resp.StatusCode, raw, err
}

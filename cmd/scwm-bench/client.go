package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// The events the scenarios send besides the load's.
const (
	commentEvent = "agile-process-teams:add-comment-for-incident:v1"
	historyEvent = "agile-process-teams:get-activity-history-for-incident:v1"
)

// caller sends single events as one API client of the seed, for the
// scenarios (the loads use worker, which is built for speed).
type caller struct {
	hc             *http.Client
	url            string
	auth           string
	owner, network string
}

func newCaller(acc access, i int, hc *http.Client) *caller {
	return &caller{hc: hc, url: acc.url, auth: basicAuthorization(acc.keys[i%len(acc.keys)], acc.secrets[i%len(acc.secrets)]),
		owner: acc.owner, network: acc.network}
}

// answer is what the gateway answered to one event.
type answer struct {
	status    int
	errCode   string
	exception string
	payload   json.RawMessage
	warnings  []string
	replayed  bool // Idempotent-Replayed: true
	latency   time.Duration
	body      []byte
}

func (a *answer) ok() bool { return a.status == http.StatusOK && a.errCode == "200_OK" }

// String names the answer for error messages.
func (a *answer) String() string {
	return fmt.Sprintf("HTTP %d %s %s: %s", a.status, a.errCode, a.exception, truncate(string(a.body), 300))
}

// id is payload.id of the answer.
func (a *answer) id() string {
	var p struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(a.payload, &p)
	return p.ID
}

// envelopeOf is the body of event with payload.
func (c *caller) envelopeOf(event string, payload any) ([]byte, error) {
	return json.Marshal(map[string]any{
		"header": map[string]any{"headerVersion": 1, "eventName": event, "ownerId": c.owner,
			"processNetworkId": c.network, "appName": "agile-process-teams", "dataspace": "default"},
		"payload": payload,
	})
}

// send posts event with payload, with an Idempotency-Key when key is set. A
// transport failure is an error; every HTTP answer is an answer.
func (c *caller) send(ctx context.Context, event string, payload any, key string) (*answer, error) {
	body, err := c.envelopeOf(event, payload)
	if err != nil {
		return nil, err
	}
	return c.post(ctx, body, key)
}

// post sends an envelope as it is.
func (c *caller) post(ctx context.Context, body []byte, key string) (*answer, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", c.auth)
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	t0 := time.Now()
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	raw, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	a := &answer{status: resp.StatusCode, latency: time.Since(t0), body: raw, replayed: resp.Header.Get("Idempotent-Replayed") == "true"}
	var env struct {
		Header struct {
			ErrCode       string   `json:"errCode"`
			ExceptionName string   `json:"exceptionName"`
			Warnings      []string `json:"warnings"`
		} `json:"header"`
		Payload json.RawMessage `json:"payload"`
	}
	if json.Unmarshal(raw, &env) == nil {
		a.errCode, a.exception, a.warnings, a.payload = env.Header.ErrCode, env.Header.ExceptionName, env.Header.Warnings, env.Payload
	}
	return a, nil
}

// addBody is an add-incident payload of the bench's shape (addPayload) with
// the given summary.
func addBody(worker int, summary string) map[string]any {
	p := addPayload(worker)
	p["aptBusinessObjectSummary"] = summary
	return p
}

// editBody is the edit the load sends: the priority and the description.
func editBody(id string, seq int) map[string]any {
	return map[string]any{"id": id, "businessPriority": priorities[seq%len(priorities)],
		"aptBusinessObjectDescription": fmt.Sprintf("Receiving counted 50 pallets, EPCIS shows 48 (edit %d)", seq)}
}

// commentBody adds one comment of about the published sample's size.
func commentBody(id string, seq int) map[string]any {
	return map[string]any{"id": id, "processType": "incident", "aptCommentBox": map[string]any{
		"aptComment": []any{map[string]any{
			"commentText":    fmt.Sprintf("Attaching latest order documentation per Jens request (comment %d)", seq),
			"visibilityType": "public",
		}},
	}}
}

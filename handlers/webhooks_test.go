package handlers_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scwm-gateway/scwm-gateway/handlers"
	gt "github.com/scwm-gateway/scwm-gateway/internal/gatewaytest"
	"github.com/scwm-gateway/scwm-gateway/internal/webhook"
	"github.com/scwm-gateway/scwm-gateway/store"
)

// received is one request a test receiver got.
type received struct {
	ID      string
	Payload webhook.Payload
	// Verified is the signature check's outcome with the subscription's
	// secret.
	Verified error
}

// receiver is a webhook endpoint on loopback that records what it gets
// and answers as its answer function says (200 when unset).
type receiver struct {
	t   *testing.T
	srv *httptest.Server

	mu      sync.Mutex
	key     []byte
	got     []received
	answer  func(n int, w http.ResponseWriter)
	arrived chan struct{}
}

func newReceiver(t *testing.T) *receiver {
	rc := &receiver{t: t, arrived: make(chan struct{}, 1)}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		rc.mu.Lock()
		var p webhook.Payload
		_ = json.Unmarshal(body, &p)
		rec := received{ID: r.Header.Get("webhook-id"), Payload: p, Verified: webhook.Verify(rc.key, r.Header, body, time.Now(), 5*time.Minute)}
		rc.got = append(rc.got, rec)
		n, answer := len(rc.got), rc.answer
		rc.mu.Unlock()
		select {
		case rc.arrived <- struct{}{}:
		default:
		}
		if answer != nil {
			answer(n, w)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) setAnswer(f func(n int, w http.ResponseWriter)) {
	rc.mu.Lock()
	rc.answer = f
	rc.mu.Unlock()
}

// failUntilBack makes the receiver answer status (with body) until the
// function it returns is called, and 200 from then on.
func (rc *receiver) failUntilBack(status int, body string) (back func()) {
	var down atomic.Bool
	down.Store(true)
	rc.setAnswer(func(_ int, w http.ResponseWriter) {
		if down.Load() {
			w.WriteHeader(status)
			_, _ = io.WriteString(w, body)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	return func() { down.Store(false) }
}

func (rc *receiver) received() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return slices.Clone(rc.got)
}

// waitFor waits until what the receiver got satisfies done, or fails the
// test after a long bound (a bound on a hang, not a timing assumption).
func (rc *receiver) waitFor(t *testing.T, what string, done func([]received) bool) []received {
	t.Helper()
	deadline := time.After(60 * time.Second)
	for {
		if got := rc.received(); done(got) {
			return got
		}
		select {
		case <-rc.arrived:
		case <-deadline:
			t.Fatalf("waiting for %s; got %d deliveries: %+v", what, len(rc.received()), rc.received())
		}
	}
}

// hookConfig delivers to loopback over http, retrying after moments; the
// channel is told of every batch of deliveries recorded.
func hookConfig() (handlers.Config, chan struct{}) {
	recorded := make(chan struct{}, 1)
	return handlers.Config{Webhooks: webhook.Config{Client: webhook.NewClient(5*time.Second, true, true),
		RetryBase: time.Millisecond, RetryMax: 4 * time.Millisecond, Jitter: func(d time.Duration) time.Duration { return d },
		Recorded: func(store.DeliveryBatch) {
			select {
			case recorded <- struct{}{}:
			default:
			}
		}}}, recorded
}

// waitLog waits until a subscription's delivery log satisfies done, each
// look after a batch was recorded, or fails the test after a long bound.
func waitLog(t *testing.T, h *gt.Harness, recorded <-chan struct{}, c gt.Client, hookID string, done func([]loggedDelivery) bool) []loggedDelivery {
	t.Helper()
	deadline := time.After(60 * time.Second)
	for {
		log := deliveryLog(t, h, c, hookID)
		if done(log) {
			return log
		}
		select {
		case <-recorded:
		case <-deadline:
			t.Fatalf("waiting on the delivery log of %s: %+v", hookID, log)
		}
	}
}

// subscribe makes a subscription of c to rc over REST and gives rc its
// secret.
func subscribe(t *testing.T, h *gt.Harness, c gt.Client, rc *receiver, body map[string]any) string {
	t.Helper()
	if body == nil {
		body = map[string]any{}
	}
	body["url"] = rc.srv.URL + "/hook"
	a := hookRequest(t, h, http.MethodPost, "/api/v1/webhooks", gt.Basic(c), body)
	if a.Status != http.StatusCreated {
		t.Fatalf("subscribe: %d %s", a.Status, a.Raw)
	}
	key, err := webhook.ParseSecret(a.Body["secret"].(string))
	if err != nil {
		t.Fatalf("the secret answered does not parse: %v", err)
	}
	rc.mu.Lock()
	rc.key = key
	rc.mu.Unlock()
	return a.Body["id"].(string)
}

func hookRequest(t *testing.T, h *gt.Harness, method, path, auth string, body any) *restAnswer {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		raw, _ := json.Marshal(b)
		rd = bytes.NewReader(raw)
	}
	req, _ := http.NewRequest(method, h.URL+path, rd)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	a := &restAnswer{Status: resp.StatusCode, HTTP: resp.Header, Raw: string(raw)}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &a.Body); err != nil {
			t.Fatalf("%s %s: answer is not a JSON object: %d %s", method, path, resp.StatusCode, raw)
		}
	}
	return a
}

// lifeOf runs an incident through its life: add, edit, submit to the
// partner, a comment, close. It returns its id.
func lifeOf(t *testing.T, h *gt.Harness) string {
	t.Helper()
	id := addOne(t, h, gt.Acme, map[string]any{"aptBusinessObjectSummary": "hooked"})
	h.Send(t, gt.Acme, "agile-process-teams:edit-incident:v5", map[string]any{"id": id, "partnerCompany": map[string]any{"partnerId": "supplier-1"}}).MustOK(t)
	h.Send(t, gt.Acme, "agile-process-teams:submit-incident-to-partner:v1", map[string]any{"id": id}).MustOK(t)
	h.Send(t, gt.Acme, "agile-process-teams:add-comment-for-incident:v1", map[string]any{"processId": id, "processType": "incident",
		"aptCommentBox": map[string]any{"aptComment": map[string]any{"commentText": "hi", "visibilityType": "Public"}}}).MustOK(t)
	h.Send(t, gt.Acme, "agile-process-teams:close-incident:v1", map[string]any{"id": id}).MustOK(t)
	return id
}

func asChanges(got []received) []string {
	out := []string{}
	for _, r := range got {
		out = append(out, fmt.Sprintf("%s@v%d", strings.TrimPrefix(r.Payload.Type, "agile-process-teams:"), r.Payload.Data.DataVersion))
	}
	return out
}

// A subscriber receives every change of an incident's life, signed, once
// each, in order, with what the feed says of each change; the secret is
// shown once.
func TestWebhookDeliversEveryChangeSignedAsTheFeedHasIt(t *testing.T) {
	t.Parallel()
	cfg, recorded := hookConfig()
	h := gt.Start(t, gt.Options{Config: cfg})
	rc := newReceiver(t)
	hookID := subscribe(t, h, gt.Acme, rc, nil)
	id := lifeOf(t, h)

	got := rc.waitFor(t, "five deliveries", func(r []received) bool { return len(r) >= 5 })
	want := []string{"add-incident:v5@v1", "edit-incident:v5@v2", "submit-incident-to-partner:v1@v3", "add-comment-for-incident:v1@v4", "close-incident:v1@v5"}
	if !slices.Equal(asChanges(got), want) {
		t.Fatalf("delivered %q, want %q", asChanges(got), want)
	}
	var p feedPage
	h.Send(t, gt.Acme, listChanges, map[string]any{}).MustOK(t).Decode(t, &p)
	ids := map[string]bool{}
	for i, r := range got {
		if r.Verified != nil {
			t.Errorf("delivery %d does not verify: %v", i, r.Verified)
		}
		ch := p.Changes[i]
		d := r.Payload.Data
		if r.ID == "" || r.ID != r.Payload.ID || ids[r.ID] || d.ObjectID != id || d.Kind != "incident" || d.LicensePlate != ch.LicensePlate ||
			d.DataVersion != ch.DataVersion || r.Payload.Timestamp != time.UnixMilli(ch.At).UTC().Format(time.RFC3339Nano) {
			t.Errorf("delivery %d %+v does not match the feed's change %+v", i, r, ch)
		}
		ids[r.ID] = true
	}

	// The secret is not shown again; the log has every delivery, delivered.
	list := hookRequest(t, h, http.MethodGet, "/api/v1/webhooks", gt.Basic(gt.Acme), nil)
	if list.Status != 200 || strings.Contains(list.Raw, "whsec_") || !strings.Contains(list.Raw, hookID) {
		t.Fatalf("GET /api/v1/webhooks: %d %s", list.Status, list.Raw)
	}
	log := waitLog(t, h, recorded, gt.Acme, hookID, func(l []loggedDelivery) bool {
		return len(l) == 5 && !slices.ContainsFunc(l, func(d loggedDelivery) bool { return d.State != "delivered" })
	})
	if len(log) != 5 {
		t.Fatalf("the delivery log has %d deliveries: %+v", len(log), log)
	}
	for _, d := range log {
		if d.State != "delivered" || d.AttemptCount != 1 || d.Attempts[0].Status != http.StatusNoContent || !ids[d.ID] {
			t.Errorf("logged delivery %+v", d)
		}
	}
}

type loggedDelivery struct {
	ID           string `json:"id"`
	Seq          int64  `json:"seq"`
	ObjectID     string `json:"objectId"`
	DataVersion  int64  `json:"dataVersion"`
	State        string `json:"state"`
	AttemptCount int    `json:"attemptCount"`
	Attempts     []struct {
		Status    int    `json:"status"`
		LatencyMs int64  `json:"latencyMs"`
		Excerpt   string `json:"excerpt"`
		Error     string `json:"error"`
	} `json:"attempts"`
}

func deliveryLog(t *testing.T, h *gt.Harness, c gt.Client, hookID string) []loggedDelivery {
	t.Helper()
	a := hookRequest(t, h, http.MethodGet, "/api/v1/webhooks/"+hookID+"/deliveries?limit=200", gt.Basic(c), nil)
	if a.Status != 200 {
		t.Fatalf("GET deliveries: %d %s", a.Status, a.Raw)
	}
	var page struct{ Deliveries []loggedDelivery }
	if err := json.Unmarshal([]byte(a.Raw), &page); err != nil {
		t.Fatal(err)
	}
	return page.Deliveries
}

// A partner's subscription carries the changes of what was submitted to
// it, from its submission until its access ended, and nothing of another
// company's objects; a subscription of one kind and event carries only
// those.
func TestPartnerWebhookCarriesOnlyWhatThePartnerMaySee(t *testing.T) {
	t.Parallel()
	cfg, recorded := hookConfig()
	h := gt.Start(t, gt.Options{Config: cfg})
	partner, filtered := newReceiver(t), newReceiver(t)
	partnerHook := subscribe(t, h, gt.Supplier, partner, nil)
	filteredHook := subscribe(t, h, gt.Acme, filtered, map[string]any{"kinds": []string{"incident"}, "events": []string{"agile-process-teams:close-incident:v1"}})
	addOne(t, h, gt.Acme, map[string]any{"aptBusinessObjectSummary": "never the partner's"})
	id := lifeOf(t, h)
	h.Send(t, gt.Acme, "agile-process-teams:reopen-incident:v1", map[string]any{"id": id}).MustOK(t)
	// The partner has had everything up to the reopen before its access
	// ends (what is still due when it ends is dropped: see
	// TestWebhookDropsDeliveriesAfterAccessEnded).
	partner.waitFor(t, "the reopen", func(r []received) bool {
		return slices.ContainsFunc(r, func(x received) bool { return x.Payload.Data.ObjectID == id && x.Payload.Data.DataVersion == 6 })
	})
	h.Send(t, gt.Acme, "agile-process-teams:edit-incident:v5", map[string]any{"id": id, "partnerCompany": nil}).MustOK(t)
	h.Send(t, gt.Acme, "agile-process-teams:edit-incident:v5", map[string]any{"id": id, "aptBusinessObjectDescription": "after"}).MustOK(t)
	// A marker both subscriptions select, committed after everything
	// else: once its delivery is in a log, every change before it has
	// been considered (a subscription goes through the feed in order).
	marker := addOne(t, h, gt.Acme, map[string]any{"aptBusinessObjectSummary": "marker", "partnerCompany": map[string]any{"partnerId": "supplier-1"}})
	h.Send(t, gt.Acme, "agile-process-teams:submit-incident-to-partner:v1", map[string]any{"id": marker}).MustOK(t)
	h.Send(t, gt.Acme, "agile-process-teams:close-incident:v1", map[string]any{"id": marker}).MustOK(t)
	markerDone := func(l []loggedDelivery) bool {
		done := len(l) > 0
		for _, d := range l {
			done = done && d.State != "pending"
		}
		return done && l[0].ObjectID == marker && l[0].DataVersion == 3 // newest first: the marker's close
	}

	// The versions each object's deliveries were of, oldest first.
	perObject := func(log []loggedDelivery) map[string][]int64 {
		out := map[string][]int64{}
		for i := len(log) - 1; i >= 0; i-- {
			d := log[i]
			if d.State != "delivered" {
				t.Errorf("delivery %+v", d)
			}
			out[d.ObjectID] = append(out[d.ObjectID], d.DataVersion)
		}
		return out
	}
	got := perObject(waitLog(t, h, recorded, gt.Supplier, partnerHook, markerDone))
	if want := []int64{3, 4, 5, 6}; !slices.Equal(got[id], want) {
		t.Errorf("the partner's deliveries of the incident are versions %v, want %v (submit, comment, close, reopen)", got[id], want)
	}
	if len(got) != 2 || !slices.Equal(got[marker], []int64{2, 3}) {
		t.Errorf("the partner's deliveries by object: %v, want the incident's and the marker's submission and close only", got)
	}
	closes := perObject(waitLog(t, h, recorded, gt.Acme, filteredHook, markerDone))
	if len(closes) != 2 || !slices.Equal(closes[id], []int64{5}) || !slices.Equal(closes[marker], []int64{3}) {
		t.Errorf("the close-only subscription's deliveries by object: %v", closes)
	}
	for _, rc := range []*receiver{partner, filtered} {
		for _, r := range rc.received() {
			if r.Verified != nil || (r.Payload.Data.ObjectID != id && r.Payload.Data.ObjectID != marker) {
				t.Errorf("a delivery %+v", r)
			}
		}
	}
}

// An endpoint that is down gets everything once it is back, in order per
// object; every failed attempt is in the log with its status and the
// start of the answer.
func TestWebhookEndpointDownThenBackReceivesEverythingInOrder(t *testing.T) {
	t.Parallel()
	cfg, recorded := hookConfig()
	h := gt.Start(t, gt.Options{Config: cfg})
	rc := newReceiver(t)
	back := rc.failUntilBack(http.StatusServiceUnavailable, "down for maintenance")
	hookID := subscribe(t, h, gt.Acme, rc, nil)
	a := addOne(t, h, gt.Acme, map[string]any{"aptBusinessObjectSummary": "a"})
	b := addOne(t, h, gt.Acme, map[string]any{"aptBusinessObjectSummary": "b"})
	for i := range 3 {
		h.Send(t, gt.Acme, "agile-process-teams:edit-incident:v5", map[string]any{"id": a, "aptBusinessObjectDescription": fmt.Sprint("a", i)}).MustOK(t)
		h.Send(t, gt.Acme, "agile-process-teams:edit-incident:v5", map[string]any{"id": b, "aptBusinessObjectDescription": fmt.Sprint("b", i)}).MustOK(t)
	}
	// Several failed attempts of the first deliveries of each object.
	rc.waitFor(t, "failed attempts", func(r []received) bool { return len(r) >= 6 })
	back()

	delivered := func(r []received) map[string][]int64 {
		// what each object got after the endpoint came back, counted once
		// per id, in arrival order
		seen := map[string]bool{}
		out := map[string][]int64{}
		for _, x := range r {
			if !seen[x.ID] {
				seen[x.ID] = true
				out[x.Payload.Data.ObjectID] = append(out[x.Payload.Data.ObjectID], x.Payload.Data.DataVersion)
			}
		}
		return out
	}
	got := rc.waitFor(t, "everything", func(r []received) bool {
		d := delivered(r)
		return len(d[a]) == 4 && len(d[b]) == 4
	})
	// In order per object: every attempt of an object's version came
	// after every attempt of its versions before.
	last := map[string]int64{}
	for _, x := range got {
		o, v := x.Payload.Data.ObjectID, x.Payload.Data.DataVersion
		if v < last[o] {
			t.Fatalf("object %s: version %d was sent after version %d: %q", o, v, last[o], asChanges(got))
		}
		last[o] = v
	}
	log := waitLog(t, h, recorded, gt.Acme, hookID, func(l []loggedDelivery) bool {
		return len(l) == 8 && !slices.ContainsFunc(l, func(d loggedDelivery) bool { return d.State != "delivered" })
	})
	failed := 0
	for _, d := range log {
		if d.State != "delivered" {
			t.Errorf("delivery %+v is not delivered", d)
		}
		for _, at := range d.Attempts {
			if at.Status == http.StatusServiceUnavailable {
				failed++
				if at.Excerpt != "down for maintenance" {
					t.Errorf("a failed attempt's excerpt %q", at.Excerpt)
				}
			}
		}
	}
	if failed < 6 {
		t.Errorf("the log shows %d failed attempts, want at least 6: %+v", failed, log)
	}
}

// A receiver that redirects, times out or answers a huge body is retried
// or refused without harm: a redirect is not followed, a timeout is an
// attempt that failed, a huge body is read no further than the excerpt.
func TestWebhookHostileReceivers(t *testing.T) {
	t.Parallel()
	cfg, recorded := hookConfig()
	cfg.Webhooks.Client = webhook.NewClient(2*time.Second, true, true)
	h := gt.Start(t, gt.Options{Config: cfg})
	elsewhere := newReceiver(t)
	rc := newReceiver(t)
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	huge := bytes.Repeat([]byte("x"), 10<<20)
	rc.setAnswer(func(n int, w http.ResponseWriter) {
		switch n {
		case 1:
			http.Redirect(w, &http.Request{}, elsewhere.srv.URL, http.StatusFound)
		case 2:
			<-release // past the client's timeout
		case 3:
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write(huge)
		default:
			w.WriteHeader(http.StatusOK)
		}
	})
	hookID := subscribe(t, h, gt.Acme, rc, nil)
	addOne(t, h, gt.Acme, map[string]any{"aptBusinessObjectSummary": "one"})
	rc.waitFor(t, "three attempts", func(r []received) bool { return len(r) >= 3 })
	log := waitLog(t, h, recorded, gt.Acme, hookID, func(l []loggedDelivery) bool { return len(l) == 1 && l[0].State == "delivered" })
	if len(log) != 1 || log[0].State != "delivered" || len(log[0].Attempts) != 3 {
		t.Fatalf("the log: %+v", log)
	}
	at := log[0].Attempts
	if at[0].Status != http.StatusFound || at[1].Status != 0 || at[1].Error == "" || at[2].Status != 200 || len(at[2].Excerpt) != webhook.DefaultMaxExcerpt {
		t.Errorf("attempts: %+v", at)
	}
	if n := len(elsewhere.received()); n != 0 {
		t.Errorf("the redirect was followed %d times", n)
	}
}

// A delivery that has failed for the whole retry window fails, and its
// subscription is disabled with the reason in the list; enabled again, it
// delivers what came since, and the failed delivery is redelivered on
// request with its id.
func TestWebhookDisabledAfterTheRetryWindowThenEnabledAndRedelivered(t *testing.T) {
	t.Parallel()
	clock := gt.NewClock(time.Now())
	cfg, recorded := hookConfig()
	cfg.Webhooks.RetryWindow = time.Hour
	h := gt.Start(t, gt.Options{Config: cfg, Clock: clock})
	rc := newReceiver(t)
	back := rc.failUntilBack(http.StatusInternalServerError, "")
	hookID := subscribe(t, h, gt.Acme, rc, nil)
	id := addOne(t, h, gt.Acme, map[string]any{"aptBusinessObjectSummary": "doomed"})
	rc.waitFor(t, "the first attempt", func(r []received) bool { return len(r) >= 1 })
	clock.Advance(time.Hour + time.Minute)

	var hook map[string]any
	waitLog(t, h, recorded, gt.Acme, hookID, func(l []loggedDelivery) bool {
		list := hookRequest(t, h, http.MethodGet, "/api/v1/webhooks", gt.Basic(gt.Acme), nil)
		hooks, _ := list.Body["webhooks"].([]any)
		if len(hooks) == 1 {
			hook = hooks[0].(map[string]any)
		}
		return len(l) == 1 && l[0].State == "failed" && hook["enabled"] == false
	})
	if reason, _ := hook["disabledReason"].(string); !strings.Contains(reason, "HTTP 500") || hook["disabledAt"] == nil {
		t.Errorf("the disabled subscription: %+v", hook)
	}
	failedID := deliveryLog(t, h, gt.Acme, hookID)[0].ID

	// Disabled, it sends nothing; the change waits in the feed.
	h.Send(t, gt.Acme, "agile-process-teams:edit-incident:v5", map[string]any{"id": id, "aptBusinessObjectDescription": "while disabled"}).MustOK(t)
	back()
	if a := hookRequest(t, h, http.MethodPost, "/api/v1/webhooks/"+hookID+"/enable", gt.Basic(gt.Acme), nil); a.Status != 200 || a.Body["enabled"] != true {
		t.Fatalf("enable: %d %s", a.Status, a.Raw)
	}
	got := rc.waitFor(t, "the edit", func(r []received) bool { return len(r) > 0 && r[len(r)-1].Payload.Data.DataVersion == 2 })
	for _, r := range got[:len(got)-1] {
		if r.Payload.Data.DataVersion != 1 {
			t.Errorf("before the edit the receiver got %q", asChanges(got))
		}
	}
	a := hookRequest(t, h, http.MethodPost, "/api/v1/webhooks/"+hookID+"/deliveries/"+failedID+"/redeliver", gt.Basic(gt.Acme), nil)
	if a.Status != http.StatusAccepted || a.Body["state"] != "pending" {
		t.Fatalf("redeliver: %d %s", a.Status, a.Raw)
	}
	rc.waitFor(t, "the redelivery", func(r []received) bool { return r[len(r)-1].ID == failedID })
	log := waitLog(t, h, recorded, gt.Acme, hookID, func(l []loggedDelivery) bool {
		return len(l) == 2 && l[0].State == "delivered" && l[1].State == "delivered"
	})
	if log[1].ID != failedID || log[1].Attempts[len(log[1].Attempts)-1].Status != 200 {
		t.Errorf("the redelivered delivery's log: %+v", log[1])
	}
}

// A delivery that became due after the subscriber's access to the object
// ended is dropped, never sent, and the log says why.
func TestWebhookDropsDeliveriesAfterAccessEnded(t *testing.T) {
	t.Parallel()
	cfg, recorded := hookConfig()
	h := gt.Start(t, gt.Options{Config: cfg})
	rc := newReceiver(t)
	back := rc.failUntilBack(http.StatusServiceUnavailable, "")
	hookID := subscribe(t, h, gt.Supplier, rc, nil)
	id := addOne(t, h, gt.Acme, map[string]any{"aptBusinessObjectSummary": "submitted, then taken back", "partnerCompany": map[string]any{"partnerId": "supplier-1"}})
	h.Send(t, gt.Acme, "agile-process-teams:submit-incident-to-partner:v1", map[string]any{"id": id}).MustOK(t)
	rc.waitFor(t, "a failed attempt", func(r []received) bool { return len(r) >= 1 })
	h.Send(t, gt.Acme, "agile-process-teams:edit-incident:v5", map[string]any{"id": id, "partnerCompany": nil}).MustOK(t)
	back()
	log := waitLog(t, h, recorded, gt.Supplier, hookID, func(l []loggedDelivery) bool { return len(l) == 1 && l[0].State == "dropped" })
	if last := log[0].Attempts[len(log[0].Attempts)-1]; !strings.Contains(last.Error, "no longer see") {
		t.Errorf("the dropped delivery's last attempt: %+v", last)
	}
	for _, r := range rc.received() {
		if r.Payload.Data.ObjectID != id || r.Payload.Data.DataVersion != 2 {
			t.Errorf("the former partner received %+v", r)
		}
	}
}

// Subscriptions refuse what could not or must not be delivered to, and
// each company sees and changes only its own.
func TestWebhookSubscriptionsRefuseBadInputAndOtherCompanies(t *testing.T) {
	t.Parallel()
	h := gt.Start(t, gt.Options{}) // the defaults: https:// and public addresses only
	post := func(auth string, body any) *restAnswer {
		return hookRequest(t, h, http.MethodPost, "/api/v1/webhooks", auth, body)
	}
	acme := gt.Basic(gt.Acme)
	for _, c := range []struct {
		body any
		want string
	}{
		{map[string]any{"url": "http://hooks.example/x"}, "is not https://"},
		{map[string]any{"url": "https://127.0.0.1/x"}, "loopback, private"},
		{map[string]any{"url": "https://[::1]:8443/x"}, "loopback, private"},
		{map[string]any{"url": "https://169.254.169.254/latest/meta-data"}, "loopback, private"},
		{map[string]any{"url": "https://10.1.2.3/x"}, "loopback, private"},
		{map[string]any{"url": "https://localhost/x"}, "localhost"},
		{map[string]any{"url": "https://user:pw@hooks.example/x"}, "credentials"},
		{map[string]any{"url": "/relative"}, "absolute"},
		{map[string]any{}, "is required"},
		{map[string]any{"url": "https://hooks.example/" + strings.Repeat("a", 3000)}, "longer"},
		{map[string]any{"url": "https://hooks.example/x", "kinds": []string{"nope"}}, "no kind"},
		{map[string]any{"url": "https://hooks.example/x", "events": []string{"agile-process-teams:read-incident:v4"}}, "changes an object"},
		{map[string]any{"url": "https://hooks.example/x", "events": []string{"not an event"}}, "not an event name"},
		{map[string]any{"url": "https://hooks.example/x", "after": "nope"}, "not a cursor"},
		{map[string]any{"url": "https://hooks.example/x", "secret": "mine"}, "unknown field"},
		{`{"url": "https://hooks.example/x"`, "not a subscription"},
		{`{"url": "https://hooks.example/x"} {}`, "more than one"},
	} {
		a := post(acme, c.body)
		if a.Status != http.StatusBadRequest || !strings.Contains(a.Raw, c.want) {
			t.Errorf("POST %v: %d %s, want 400 saying %q", c.body, a.Status, a.Raw, c.want)
		}
	}
	if a := post("", map[string]any{"url": "https://hooks.example/x"}); a.Status != http.StatusUnauthorized {
		t.Errorf("without credentials: %d %s", a.Status, a.Raw)
	}
	if a := post("Basic "+"bm9wZTpub3Bl", map[string]any{"url": "https://hooks.example/x"}); a.Status != http.StatusUnauthorized {
		t.Errorf("with a wrong key: %d %s", a.Status, a.Raw)
	}

	a := post(acme, map[string]any{"url": "https://hooks.example/acme", "kinds": []string{"INCIDENT", "change"}})
	if a.Status != http.StatusCreated || !strings.HasPrefix(fmt.Sprint(a.Body["secret"]), "whsec_") {
		t.Fatalf("a good subscription: %d %s", a.Status, a.Raw)
	}
	id := a.Body["id"].(string)
	// Another company: the same not-found for its own routes as for ids
	// that do not exist; its list is empty.
	other := gt.Basic(gt.Other)
	for _, c := range []struct{ method, path string }{
		{http.MethodDelete, "/api/v1/webhooks/" + id},
		{http.MethodGet, "/api/v1/webhooks/" + id + "/deliveries"},
		{http.MethodPost, "/api/v1/webhooks/" + id + "/enable"},
		{http.MethodPost, "/api/v1/webhooks/" + id + "/deliveries/msg_x/redeliver"},
	} {
		a := hookRequest(t, h, c.method, c.path, other, nil)
		b := hookRequest(t, h, c.method, strings.Replace(c.path, id, "wh_nope", 1), other, nil)
		if a.Status != http.StatusNotFound || b.Status != http.StatusNotFound || strings.Contains(a.Raw, "acme") {
			t.Errorf("%s %s by another company: %d %s; of no subscription: %d", c.method, c.path, a.Status, a.Raw, b.Status)
		}
	}
	if a := hookRequest(t, h, http.MethodGet, "/api/v1/webhooks", other, nil); a.Status != 200 || strings.Contains(a.Raw, id) {
		t.Errorf("another company's list: %d %s", a.Status, a.Raw)
	}
	if a := hookRequest(t, h, http.MethodGet, "/api/v1/webhooks/"+id+"/deliveries?limit=0", acme, nil); a.Status != 400 {
		t.Errorf("limit=0: %d %s", a.Status, a.Raw)
	}
	if a := hookRequest(t, h, http.MethodGet, "/api/v1/webhooks/"+id+"/deliveries?since=1", acme, nil); a.Status != 400 {
		t.Errorf("an unknown parameter: %d %s", a.Status, a.Raw)
	}
	if a := hookRequest(t, h, http.MethodPost, "/api/v1/webhooks/"+id+"/deliveries/msg_nope/redeliver", acme, nil); a.Status != 404 {
		t.Errorf("redeliver of no delivery: %d %s", a.Status, a.Raw)
	}

	// A company's subscriptions are bounded.
	for i := 1; i < handlers.MaxWebhooksPerCompany; i++ {
		if a := post(acme, map[string]any{"url": fmt.Sprintf("https://hooks.example/%d", i)}); a.Status != http.StatusCreated {
			t.Fatalf("subscription %d: %d %s", i, a.Status, a.Raw)
		}
	}
	if a := post(acme, map[string]any{"url": "https://hooks.example/one-too-many"}); a.Status != http.StatusTooManyRequests {
		t.Errorf("one subscription too many: %d %s", a.Status, a.Raw)
	}
	if a := hookRequest(t, h, http.MethodDelete, "/api/v1/webhooks/"+id, acme, nil); a.Status != http.StatusNoContent {
		t.Errorf("delete: %d %s", a.Status, a.Raw)
	}
	if a := hookRequest(t, h, http.MethodDelete, "/api/v1/webhooks/"+id, acme, nil); a.Status != http.StatusNotFound {
		t.Errorf("delete twice: %d %s", a.Status, a.Raw)
	}
}

// A receiver that never answers holds its deliveries, never the API: with
// every attempt hanging, adds and reads keep being answered.
func TestASlowReceiverNeverHoldsTheAPI(t *testing.T) {
	t.Parallel()
	cfg, _ := hookConfig()
	cfg.Webhooks.Client = webhook.NewClient(time.Minute, true, true)
	cfg.RequestTimeout = 30 * time.Second
	h := gt.Start(t, gt.Options{Config: cfg})
	rc := newReceiver(t)
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	rc.setAnswer(func(int, http.ResponseWriter) { <-release })
	subscribe(t, h, gt.Acme, rc, nil)
	first := addOne(t, h, gt.Acme, map[string]any{"aptBusinessObjectSummary": "held"})
	rc.waitFor(t, "a hanging attempt", func(r []received) bool { return len(r) >= 1 })
	for i := range 50 {
		id := addOne(t, h, gt.Acme, map[string]any{"aptBusinessObjectSummary": fmt.Sprint("while held ", i)})
		readOne(t, h, gt.Acme, id)
	}
	readOne(t, h, gt.Acme, first)
}

package handlers_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scwm-gateway/scwm-gateway/handlers"
	gt "github.com/scwm-gateway/scwm-gateway/internal/gatewaytest"
	"github.com/scwm-gateway/scwm-gateway/store"
)

func withKey(key string) map[string]string { return map[string]string{"Idempotency-Key": key} }

// countIncidents counts acme's incidents straight in the store.
func countIncidents(t *testing.T, h *gt.Harness) int {
	t.Helper()
	return len(gt.StoredIncidents(t, h.Store, "default", "acme"))
}

func TestIdempotentRetryReplaysTheFirstAnswer(t *testing.T) {
	t.Parallel()
	h := gt.Start(t, gt.Options{})
	body := gt.Envelope(gt.Acme, addIncident, map[string]any{"aptBusinessObjectSummary": "retried"})
	first := h.Post(t, body, gt.Basic(gt.Acme), withKey("k-1")).MustOK(t)
	if first.HTTP.Get("Idempotent-Replayed") != "" {
		t.Fatal("the first answer says it was replayed")
	}
	again := h.Post(t, body, gt.Basic(gt.Acme), withKey("k-1")).MustOK(t)
	if again.HTTP.Get("Idempotent-Replayed") != "true" || again.Header.LicensePlate != first.Header.LicensePlate ||
		string(again.Body) != string(first.Body) || again.HTTP.Get("X-License-Plate") != first.Header.LicensePlate {
		t.Fatalf("retry answered\n%s (replayed=%q)\nfirst was\n%s", again.Body, again.HTTP.Get("Idempotent-Replayed"), first.Body)
	}
	if n := countIncidents(t, h); n != 1 {
		t.Fatalf("%d incidents after a retry, want 1", n)
	}
	// header.idempotencyKey is the same key.
	var env map[string]any
	_ = jsonUnmarshal(body, &env)
	env["header"].(map[string]any)["idempotencyKey"] = "k-1"
	viaEnvelope := h.Post(t, jsonMarshal(env), gt.Basic(gt.Acme), nil).MustOK(t)
	if viaEnvelope.Header.LicensePlate != first.Header.LicensePlate {
		t.Fatal("header.idempotencyKey is not the same key as the Idempotency-Key header")
	}
	// The same key with a different request is refused and changes nothing.
	other := gt.Envelope(gt.Acme, addIncident, map[string]any{"aptBusinessObjectSummary": "something else"})
	h.Post(t, other, gt.Basic(gt.Acme), withKey("k-1")).MustFail(t, 422, "IdempotencyKeyReuseException")
	// Keys are per company: another company's k-1 is its own.
	h.Post(t, gt.Envelope(gt.Other, addIncident, map[string]any{"aptBusinessObjectSummary": "theirs"}), gt.Basic(gt.Other), withKey("k-1")).MustOK(t)
	// Two different keys in one request are an error.
	h.Post(t, jsonMarshal(env), gt.Basic(gt.Acme), withKey("k-2")).MustFail(t, 400, "HeaderValidationException")
	if n := countIncidents(t, h); n != 1 {
		t.Fatalf("%d incidents, want 1", n)
	}
}

// Every state-changing event is idempotent, not only add.
func TestEveryChangeIsIdempotent(t *testing.T) {
	t.Parallel()
	h := gt.Start(t, gt.Options{})
	id := addOne(t, h, gt.Acme, map[string]any{"aptBusinessObjectSummary": "x", "partnerCompany": map[string]any{"partnerId": "supplier-1"}})
	steps := []struct {
		event   string
		payload map[string]any
	}{
		{"agile-process-teams:edit-incident:v5", map[string]any{"id": id, "incidentCategory": "a"}},
		{addComment, map[string]any{"id": id, "processType": "incident", "aptCommentBox": map[string]any{"aptComment": map[string]any{"commentText": "once"}}}},
		{toggleFollow, map[string]any{"id": id, "processType": "incident"}},
		{"agile-process-teams:submit-incident-to-partner:v1", map[string]any{"id": id}},
		{"agile-process-teams:close-incident:v1", map[string]any{"id": id, "resolutionType": "RESOLVED"}},
		{"agile-process-teams:reopen-incident:v1", map[string]any{"id": id}},
		{"agile-process-teams:copy-incident:v3", map[string]any{"id": id, "aptBusinessObjectSummary": "copy"}},
	}
	for i, s := range steps {
		body := gt.Envelope(gt.Acme, s.event, s.payload)
		key := map[string]string{"Idempotency-Key": "step-" + s.event}
		first := h.Post(t, body, gt.Basic(gt.Acme), key).MustOK(t)
		again := h.Post(t, body, gt.Basic(gt.Acme), key).MustOK(t)
		if again.Header.LicensePlate != first.Header.LicensePlate || string(again.Body) != string(first.Body) {
			t.Fatalf("step %d %s: retry answered differently:\n%s\n%s", i, s.event, first.Body, again.Body)
		}
	}
	// One version per step, not two: the retries changed nothing.
	if rec := readOne(t, h, gt.Acme, id); rec.DataVersion != 7 {
		t.Fatalf("dataVersion %d after 6 changes each sent twice, want 7", rec.DataVersion)
	}
	if n := countIncidents(t, h); n != 2 {
		t.Fatalf("%d incidents, want the original and one copy", n)
	}
}

// Retries that arrive while the first request is still running wait for its
// answer instead of running again.
func TestConcurrentRetriesRunOnce(t *testing.T) {
	t.Parallel()
	h := gt.Start(t, gt.Options{})
	body := gt.Envelope(gt.Acme, addIncident, map[string]any{"aptBusinessObjectSummary": "stampede"})
	const n = 12
	plates := make([]string, n)
	replayed := int32(0)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			r := h.Post(t, body, gt.Basic(gt.Acme), withKey("same"))
			if r.Status != 200 {
				t.Errorf("attempt %d: %s", i, r.Body)
				return
			}
			plates[i] = r.Header.LicensePlate
			if r.HTTP.Get("Idempotent-Replayed") == "true" {
				atomic.AddInt32(&replayed, 1)
			}
		}(i)
	}
	wg.Wait()
	for _, p := range plates {
		if p != plates[0] {
			t.Fatalf("attempts answered with different plates: %v", plates)
		}
	}
	if replayed != n-1 {
		t.Fatalf("%d answers were replays, want %d", replayed, n-1)
	}
	if c := countIncidents(t, h); c != 1 {
		t.Fatalf("%d incidents from %d attempts with one key, want 1", c, n)
	}
}

func TestIdempotencySurvivesARestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	h := gt.Start(t, gt.Options{DataDir: dir})
	body := gt.Envelope(gt.Acme, addIncident, map[string]any{"aptBusinessObjectSummary": "before the restart"})
	first := h.Post(t, body, gt.Basic(gt.Acme), withKey("restart")).MustOK(t)
	h.Stop()
	h2 := gt.Start(t, gt.Options{DataDir: dir})
	again := h2.Post(t, body, gt.Basic(gt.Acme), withKey("restart")).MustOK(t)
	if again.HTTP.Get("Idempotent-Replayed") != "true" || again.Header.LicensePlate != first.Header.LicensePlate {
		t.Fatalf("after a restart the retry was not replayed: %s", again.Body)
	}
	if n := countIncidents(t, h2); n != 1 {
		t.Fatalf("%d incidents, want 1", n)
	}
}

func TestIdempotencyKeysExpire(t *testing.T) {
	t.Parallel()
	clock := gt.NewClock(time.Now())
	h := gt.Start(t, gt.Options{Clock: clock, Config: handlers.Config{IdempotencyTTL: time.Hour}})
	h.Post(t, gt.Envelope(gt.Acme, addIncident, map[string]any{"aptBusinessObjectSummary": "a"}), gt.Basic(gt.Acme), withKey("short")).MustOK(t)
	clock.Advance(time.Hour + time.Millisecond)
	if _, err := h.Store.ExpireIdempotencyKeys(context.Background(), clock.Now()); err != nil {
		t.Fatal(err)
	}
	// Forgotten: the key may now carry another request.
	h.Post(t, gt.Envelope(gt.Acme, addIncident, map[string]any{"aptBusinessObjectSummary": "b"}), gt.Basic(gt.Acme), withKey("short")).MustOK(t)
	h.Post(t, gt.Envelope(gt.Acme, addIncident, map[string]any{"aptBusinessObjectSummary": "c"}), gt.Basic(gt.Acme), withKey("other")).MustOK(t)
	clock.Advance(time.Hour + time.Millisecond)
	// The embedded store has no TTL index: the sweeper's call removes them.
	n, err := h.Store.ExpireIdempotencyKeys(context.Background(), clock.Now())
	if err != nil || n != 2 {
		t.Fatalf("expired %d keys (%v), want 2", n, err)
	}
}

// crashingStore stands in for a gateway that dies at the worst moment. The
// real store cannot be made to fail exactly between a change and the
// recording of its answer, so these faults are injected here.
type crashingStore struct {
	handlers.Store
	failFinish atomic.Bool // the answer of an idempotent request is never recorded
	failInsert atomic.Bool // the next insert fails as if the network dropped
	// finishFailed, when set, is told of each answer not recorded: the
	// answer reaches the client before the gateway tries to record it, so
	// a test waits for this before it lets records be written again.
	finishFailed chan struct{}
}

func (s *crashingStore) FinishIdempotencyKey(ctx context.Context, key, plate string, status int, body []byte) error {
	if s.failFinish.Load() {
		if s.finishFailed != nil {
			s.finishFailed <- struct{}{}
		}
		return errors.New("crashed before recording the answer")
	}
	return s.Store.FinishIdempotencyKey(ctx, key, plate, status, body)
}

// crashAfterAnswer makes the next answer of an idempotent request go
// unrecorded, as if the gateway died right after sending it, and returns
// a wait for that moment; after it, answers are recorded again.
func (s *crashingStore) crashAfterAnswer() (wait func()) {
	s.finishFailed = make(chan struct{}, 1)
	s.failFinish.Store(true)
	return func() {
		<-s.finishFailed
		s.failFinish.Store(false)
	}
}

func (s *crashingStore) ReleaseIdempotencyLease(ctx context.Context, key, plate string) error {
	if s.failFinish.Load() {
		return errors.New("crashed before releasing the key")
	}
	return s.Store.ReleaseIdempotencyLease(ctx, key, plate)
}

func (s *crashingStore) InsertIncident(ctx context.Context, inc *store.Incident) error {
	if s.failInsert.CompareAndSwap(true, false) {
		// What the driver returns when the store does not answer in time:
		// the write may or may not have been applied.
		return fmt.Errorf("insert incident: %w", context.DeadlineExceeded)
	}
	return s.Store.InsertIncident(ctx, inc)
}

// A request that stored its change and died before recording its answer:
// the retry waits out the lease, finds the change by its license plate, and
// answers with the same id and plate instead of adding a second incident.
func TestRetryAfterACrashFindsTheChange(t *testing.T) {
	t.Parallel()
	cs := &crashingStore{}
	clock := gt.NewClock(time.Now())
	h := gt.Start(t, gt.Options{Clock: clock,
		Config:    handlers.Config{RequestTimeout: 2 * time.Second},
		WrapStore: func(s handlers.Store) handlers.Store { cs.Store = s; return cs },
	})
	crashed := cs.crashAfterAnswer()
	body := gt.Envelope(gt.Acme, addIncident, map[string]any{"aptBusinessObjectSummary": "crash"})
	first := h.Post(t, body, gt.Basic(gt.Acme), withKey("crash")).MustOK(t)
	crashed()
	// While the first request's lease holds, a retry waits for it and,
	// at its own timeout, is told 503 with Retry-After.
	wait := h.Post(t, body, gt.Basic(gt.Acme), withKey("crash")).MustFail(t, 503, "ServiceUnavailableException")
	if wait.HTTP.Get("Retry-After") == "" {
		t.Fatal("503 without Retry-After")
	}
	// Once the lease has run out (the request timeout, half of it again
	// and a second), the retry takes the key over.
	clock.Advance(2*time.Second + time.Second + time.Second + time.Millisecond)
	again := h.Post(t, body, gt.Basic(gt.Acme), withKey("crash")).MustOK(t)
	var a, b struct{ ID string }
	first.Decode(t, &a)
	again.Decode(t, &b)
	if a.ID != b.ID || again.Header.LicensePlate != first.Header.LicensePlate {
		t.Fatalf("retry after a crash answered %s, first answer was %s", again.Body, first.Body)
	}
	if n := countIncidents(t, h); n != 1 {
		t.Fatalf("%d incidents, want 1", n)
	}
	// From now on the rebuilt answer is recorded and replayed.
	third := h.Post(t, body, gt.Basic(gt.Acme), withKey("crash")).MustOK(t)
	if third.HTTP.Get("Idempotent-Replayed") != "true" || string(third.Body) != string(again.Body) {
		t.Fatalf("third attempt: %s", third.Body)
	}
}

// A request whose write failed in a way that may or may not have landed
// (here it did not): the retry takes the key over at once, finds no change
// under the plate, and runs the request under the first request's plate.
func TestRetryAfterAFailedWriteRunsAgain(t *testing.T) {
	t.Parallel()
	cs := &crashingStore{}
	h := gt.Start(t, gt.Options{WrapStore: func(s handlers.Store) handlers.Store { cs.Store = s; return cs }})
	cs.failInsert.Store(true)
	body := gt.Envelope(gt.Acme, addIncident, map[string]any{"aptBusinessObjectSummary": "flaky network"})
	first := h.Post(t, body, gt.Basic(gt.Acme), withKey("flaky")).MustFail(t, 503, "ServiceUnavailableException")
	again := h.Post(t, body, gt.Basic(gt.Acme), withKey("flaky")).MustOK(t)
	if again.Header.LicensePlate != first.Header.LicensePlate {
		t.Fatalf("the retry ran under plate %s, the first request had %s", again.Header.LicensePlate, first.Header.LicensePlate)
	}
	if n := countIncidents(t, h); n != 1 {
		t.Fatalf("%d incidents, want 1", n)
	}
}

package handlers_test

import (
	"bytes"
	"io"
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"

	gt "github.com/scwm-gateway/scwm-gateway/internal/gatewaytest"
)

// benchmarkEvents sends one event per iteration, body(i) for the i-th, from
// 16 goroutines per core, through the real HTTP stack and the embedded
// store: the whole dispatch path a client pays for.
func benchmarkEvents(b *testing.B, h *gt.Harness, body func(i int64) []byte) {
	benchmarkKeyedEvents(b, h, body, false)
}

// benchmarkKeyedEvents is benchmarkEvents, each request with a fresh
// Idempotency-Key when keyed is set.
func benchmarkKeyedEvents(b *testing.B, h *gt.Harness, body func(i int64) []byte, keyed bool) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
	auth := gt.Basic(gt.Acme)
	var n atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			req, _ := http.NewRequest(http.MethodPost, h.URL+"/api/events", bytes.NewReader(body(i)))
			req.Header.Set("Content-Type", "application/json")
			if keyed {
				req.Header.Set("Idempotency-Key", "bench-"+strconv.FormatInt(i, 10))
			}
			req.Header.Set("Authorization", auth)
			resp, err := client.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body) // so the connection is reused
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Fatalf("status %d", resp.StatusCode)
			}
		}
	})
}

func BenchmarkDispatchAdd(b *testing.B) {
	h := gt.Start(b, gt.Options{})
	payload := gt.Envelope(gt.Acme, addIncident, map[string]any{
		"aptBusinessObjectSummary": "bench", "businessPriority": "HIGH",
		"referenceIdentifiers": []any{map[string]any{"referenceTransactionType": "PO", "value": "PO-1"}},
	})
	benchmarkEvents(b, h, func(int64) []byte { return payload })
}

// BenchmarkDispatchAddKeyed is BenchmarkDispatchAdd with a fresh
// Idempotency-Key on every add: what a key costs.
func BenchmarkDispatchAddKeyed(b *testing.B) {
	h := gt.Start(b, gt.Options{})
	payload := gt.Envelope(gt.Acme, addIncident, map[string]any{
		"aptBusinessObjectSummary": "bench", "businessPriority": "HIGH",
		"referenceIdentifiers": []any{map[string]any{"referenceTransactionType": "PO", "value": "PO-1"}},
	})
	benchmarkKeyedEvents(b, h, func(int64) []byte { return payload }, true)
}

func BenchmarkDispatchRead(b *testing.B) {
	h := gt.Start(b, gt.Options{})
	payload := gt.Envelope(gt.Acme, readIncident, map[string]any{"id": addOneB(b, h)})
	benchmarkEvents(b, h, func(int64) []byte { return payload })
}

// BenchmarkDispatchEdit edits 64 incidents round-robin.
func BenchmarkDispatchEdit(b *testing.B) {
	h := gt.Start(b, gt.Options{})
	ids := make([]string, 64)
	for i := range ids {
		ids[i] = addOneB(b, h)
	}
	benchmarkEvents(b, h, func(i int64) []byte {
		return gt.Envelope(gt.Acme, "agile-process-teams:edit-incident:v5",
			map[string]any{"id": ids[i%int64(len(ids))], "incidentCategory": "c" + strconv.FormatInt(i, 10)})
	})
}

func addOneB(b *testing.B, h *gt.Harness) string {
	r := h.Send(b, gt.Acme, addIncident, map[string]any{"aptBusinessObjectSummary": "bench"}).MustOK(b)
	var out struct{ ID string }
	r.Decode(b, &out)
	return out.ID
}

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

// benchmarkEvent sends one event per iteration, from as many goroutines as
// GOMAXPROCS × -cpu allows, through the real HTTP stack and the embedded
// store: the whole dispatch path a client pays for.
func benchmarkEvent(b *testing.B, body func(i int) []byte) *gt.Harness {
	h := gt.Start(b, gt.Options{})
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
	auth := gt.Basic(gt.Acme)
	b.ReportAllocs()
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			req, _ := http.NewRequest(http.MethodPost, h.URL+"/api/events", bytes.NewReader(body(i)))
			req.Header.Set("Content-Type", "application/json")
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
			i++
		}
	})
	return h
}

func BenchmarkDispatchAdd(b *testing.B) {
	payload := gt.Envelope(gt.Acme, addIncident, map[string]any{
		"aptBusinessObjectSummary": "bench", "businessPriority": "HIGH",
		"referenceIdentifiers": []any{map[string]any{"referenceTransactionType": "PO", "value": "PO-1"}},
	})
	h := benchmarkEvent(b, func(int) []byte { return payload })
	st := h.Store.Stats()
	if st.InsertBatches > 0 {
		b.ReportMetric(float64(st.InsertedIncidents)/float64(st.InsertBatches), "docs/commit")
	}
}

func BenchmarkDispatchRead(b *testing.B) {
	h := gt.Start(b, gt.Options{})
	id := addOneB(b, h)
	payload := gt.Envelope(gt.Acme, readIncident, map[string]any{"id": id})
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
	auth := gt.Basic(gt.Acme)
	b.ReportAllocs()
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, _ := http.NewRequest(http.MethodPost, h.URL+"/api/events", bytes.NewReader(payload))
			req.Header.Set("Content-Type", "application/json")
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

func addOneB(b *testing.B, h *gt.Harness) string {
	r := h.Send(b, gt.Acme, addIncident, map[string]any{"aptBusinessObjectSummary": "bench"}).MustOK(b)
	var out struct{ ID string }
	r.Decode(b, &out)
	return out.ID
}

// BenchmarkDispatchEdit edits 64 incidents round-robin.
func BenchmarkDispatchEdit(b *testing.B) {
	h := gt.Start(b, gt.Options{})
	ids := make([]string, 64)
	for i := range ids {
		ids[i] = addOneB(b, h)
	}
	var n atomic.Int64
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
	auth := gt.Basic(gt.Acme)
	b.ReportAllocs()
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			body := gt.Envelope(gt.Acme, "agile-process-teams:edit-incident:v5",
				map[string]any{"id": ids[i%int64(len(ids))], "incidentCategory": "c" + strconv.FormatInt(i, 10)})
			req, _ := http.NewRequest(http.MethodPost, h.URL+"/api/events", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", auth)
			resp, err := client.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Fatalf("status %d", resp.StatusCode)
			}
		}
	})
}

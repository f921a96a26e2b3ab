package sqlite_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/scwm-gateway/scwm-gateway/envelope"
	"github.com/scwm-gateway/scwm-gateway/store"
	"github.com/scwm-gateway/scwm-gateway/store/sqlite"
)

func openBench(b *testing.B) *sqlite.Store {
	b.Helper()
	st, err := sqlite.Open(context.Background(), sqlite.Config{DataDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close(context.Background()) })
	return st
}

// benchIncident is an incident as the gateway adds one: a time-ordered
// UUIDv7 id and a time-ordered license plate, so that the B-trees they key
// see the inserts an add makes.
func benchIncident(n int64) *store.Incident {
	return &store.Incident{ID: uuid.Must(uuid.NewV7()).String(), Dataspace: "default", OwnerID: "acme", NetworkID: "net-1", ProcessType: "incident",
		SchemaVersion: 5, DataVersion: 1, Number: n, CurrentBaseState: "New",
		Data:       map[string]any{"aptBusinessObjectSummary": "a summary of the incident", "aptBusinessObjectDescription": "a description of some length to be realistic", "incidentCategory": "Quality", "nested": map[string]any{"a": int64(1), "b": []any{"x", "y"}}},
		Activities: []store.Activity{{LicensePlate: envelope.NewLicensePlate(), EventName: "add-incident", UserID: "u", CompanyID: "acme"}}}
}

// Concurrent adds share commits (the writer's group commit).
func BenchmarkInsertIncidentParallel(b *testing.B) {
	st := openBench(b)
	var n atomic.Int64
	b.SetParallelism(32)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := st.InsertIncident(context.Background(), benchIncident(n.Add(1))); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	batches, writes := st.Stats()
	b.ReportMetric(float64(writes)/float64(max(batches, 1)), "writes/commit")
}

// Reads of incidents that are not cached decode them from the database.
func BenchmarkFindIncidentUncached(b *testing.B) {
	st, err := sqlite.Open(context.Background(), sqlite.Config{DataDir: b.TempDir(), CacheBytes: -1})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close(context.Background())
	ids := make([]string, 1000)
	for i := range ids {
		inc := benchIncident(int64(i))
		ids[i] = inc.ID
		if err := st.InsertIncident(context.Background(), inc); err != nil {
			b.Fatal(err)
		}
	}
	var n atomic.Int64
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := st.FindIncident(context.Background(), "default", ids[n.Add(1)%int64(len(ids))], 0); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// Concurrent adds, each under an idempotency claim recorded with it, and
// its answer recorded after: what a key costs the store.
func BenchmarkInsertIncidentKeyedParallel(b *testing.B) {
	st := openBench(b)
	var n atomic.Int64
	b.SetParallelism(32)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			now := time.Now()
			rec := &store.IdempotencyRecord{Key: uuid.NewString(), RequestHash: "h", LicensePlate: fmt.Sprint("plate-", i),
				Dataspace: "default", State: store.IdempotencyPending, LeaseUntil: now.Add(time.Minute), CreatedAt: now, ExpiresAt: now.Add(24 * time.Hour)}
			ctx := context.Background()
			if _, err := st.ClaimIdempotencyKey(ctx, rec); err != nil {
				b.Error(err)
				return
			}
			if err := st.InsertIncident(store.WithClaim(ctx, rec.Key, rec.LicensePlate), benchIncident(i)); err != nil {
				b.Error(err)
				return
			}
			if err := st.FinishIdempotencyKey(ctx, rec.Key, rec.LicensePlate, 200, []byte(`{"header":{},"payload":{"id":"x"}}`)); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	batches, writes := st.Stats()
	b.ReportMetric(float64(writes)/float64(max(batches, 1)), "writes/commit")
}

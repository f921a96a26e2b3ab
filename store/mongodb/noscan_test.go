package mongodb

import (
	"regexp"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/mongo/readconcern"

	"github.com/scwm-gateway/scwm-gateway/store"
)

// No operation of the store scans a collection: with the database
// profiler recording every operation, a workload of every kind of query
// leaves no COLLSCAN plan. It needs a MongoDB server (MONGODB_URI): the
// profiler is MongoDB's, and FerretDB plans queries its own way.
func TestNoQueryScansACollection(t *testing.T) {
	t.Parallel()
	db := testDB(t)
	if db.FerretDB {
		t.Skip("needs MongoDB's database profiler: set MONGODB_URI to a MongoDB server (FerretDB v1.24 has no profiler and does not plan queries by index)")
	}
	s := openStore(t, db)
	ctx := bg(t)
	if err := s.db.RunCommand(ctx, bson.D{{Key: "profile", Value: 2}}).Err(); err != nil {
		t.Skipf("the server does not profile this database (a mongos does not): %v", err)
	}
	fill(t, s)
	inc := mustFind(t, s, "i1")
	crashAt(s, stepCommitted)
	_ = s.WriteChange(ctx, change(inc, 3, "crashed"))
	s.crashAfter = nil
	ageCommits(t, s, "i1")
	for _, id := range []string{"w1", "w2"} {
		w := &store.Webhook{ID: id, Dataspace: "default", CompanyID: "acme", URL: "https://hooks.example/" + id, CreatedAt: 1}
		if err := s.InsertWebhook(ctx, w); err != nil {
			t.Fatal(err)
		}
		if _, err := s.LeaseWebhook(ctx, id, "gw", 0, 1000); err != nil {
			t.Fatal(err)
		}
		if err := s.RecordDeliveries(ctx, store.DeliveryBatch{WebhookID: id, Owner: "gw", From: 0, To: 2, Deliveries: []store.Delivery{
			{ID: id + "-1", WebhookID: id, Seq: 1, At: 10, State: store.DeliveryDelivered},
			{ID: id + "-2", WebhookID: id, Seq: 2, At: 20, State: store.DeliveryPending},
		}}); err != nil {
			t.Fatal(err)
		}
	}
	steps := []func() error{
		func() error {
			_, err := s.FindIncident(ctx, "default", "i1", store.WithComments|store.WithActivities)
			return err
		},
		func() error { _, err := s.ListComments(ctx, "i2", 0, 10); return err },
		func() error { _, err := s.ListActivities(ctx, "i2", 0, 10); return err },
		func() error { _, err := s.FindComment(ctx, "i2", "c1"); return err },
		func() error { _, _, err := s.FindCommentByID(ctx, "c1"); return err },
		func() error { _, err := s.FindChildren(ctx, "default", "i1"); return err },
		func() error { _, err := s.FindEffect(ctx, "default", "plate-i2-2-a"); return err },
		func() error { _, err := s.FindEffect(ctx, "default", "p"); return err },
		func() error { _, err := s.FindUserByID(ctx, "bob@example.com"); return err },
		func() error { _, err := s.FindUserByID(ctx, "nobody"); return err },
		func() error { return s.RevokeClient(ctx, "k1") },
		func() error { _, err := s.CountClients(ctx); return err },
		func() error { _, err := s.ExpireIdempotencyKeys(ctx, time.Now().Add(48*time.Hour)); return err },
		func() error { _, err := s.ExpireTokens(ctx, time.Now().Add(48*time.Hour)); return err },
		func() error { _, err := s.RollForward(ctx); return err },
		func() error { return s.Export(ctx, func(store.Record) error { return nil }) },
		func() error {
			_, err := s.SearchIncidents(ctx, store.SearchQuery{Dataspace: "default", Company: "acme", Networks: []string{"net-1"},
				SharedKinds: []string{"taskTemplate"}, States: []string{"New"}, Limit: 10})
			return err
		},
		func() error {
			_, err := s.SearchIncidents(ctx, store.SearchQuery{Dataspace: "default", Company: "acme", SortByCreated: true, Words: []string{"x"}, Limit: 10})
			return err
		},
		func() error {
			_, err := s.ListFeed(ctx, store.FeedQuery{Dataspace: "default", Company: "acme", Networks: []string{"net-1"}, SharedKinds: []string{"taskTemplate"}, Limit: 10})
			return err
		},
		func() error { _, err := s.FindWebhook(ctx, "w1"); return err },
		func() error { _, err := s.ListWebhooks(ctx, "default", "acme"); return err },
		func() error { _, err := s.ListWebhooks(ctx, "", ""); return err },
		func() error { return s.SetWebhookDisabled(ctx, "w1", 5, "x") },
		func() error { _, err := s.LeaseWebhook(ctx, "w1", "gw", 1, 2000); return err },
		func() error {
			return s.RecordDeliveries(ctx, store.DeliveryBatch{WebhookID: "w1", Owner: "gw", From: 2, To: 2, Deliveries: []store.Delivery{
				{ID: "w1-2", WebhookID: "w1", Seq: 2, At: 20, State: store.DeliveryDelivered}}})
		},
		func() error {
			_, err := s.ListDeliveries(ctx, store.DeliveryQuery{WebhookID: "w1", Limit: 10})
			return err
		},
		func() error {
			_, err := s.ListDeliveries(ctx, store.DeliveryQuery{WebhookID: "w1", Before: 2, Limit: 10})
			return err
		},
		func() error {
			_, err := s.ListDeliveries(ctx, store.DeliveryQuery{WebhookID: "w1", Pending: true, Limit: 10})
			return err
		},
		func() error { _, err := s.FindDelivery(ctx, "w1", "w1-1"); return err },
		func() error { return s.RedeliverDelivery(ctx, "w1", "w1-1", 30) },
		func() error { _, err := s.PruneDeliveries(ctx, 100); return err },
		func() error { return s.DeleteWebhook(ctx, "w2") },
	}
	for i, step := range steps {
		if err := step(); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	if err := s.db.RunCommand(ctx, bson.D{{Key: "profile", Value: 0}}).Err(); err != nil {
		t.Fatal(err)
	}
	// The profile is not replicated: read it as this server has it.
	profile := s.db.Collection("system.profile", options.Collection().SetReadConcern(readconcern.Local()))
	cur, err := profile.Find(ctx, bson.M{
		"ns":          bson.M{"$regex": "^" + regexp.QuoteMeta(db.Name) + `\.`, "$ne": db.Name + ".system.profile"},
		"planSummary": bson.M{"$regex": "COLLSCAN"},
	})
	if err != nil {
		t.Fatal(err)
	}
	var scans []bson.M
	if err := cur.All(ctx, &scans); err != nil {
		t.Fatal(err)
	}
	for _, sc := range scans {
		t.Errorf("a collection scan: %v on %v: %v", sc["op"], sc["ns"], sc["command"])
	}
}

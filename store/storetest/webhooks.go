package storetest

import (
	"context"
	"fmt"
	"testing"

	"github.com/scwm-gateway/scwm-gateway/store"
)

func sampleWebhook(id, company string, created int64) *store.Webhook {
	return &store.Webhook{ID: id, Dataspace: ds, CompanyID: company, URL: "https://hooks.example/" + id,
		Secret: "whsec_c2VjcmV0", Kinds: []string{"incident"}, Events: []string{}, CreatedAt: created}
}

func sampleDelivery(webhook string, seq int64, object string) store.Delivery {
	return store.Delivery{ID: fmt.Sprintf("msg_%s_%d", webhook, seq), WebhookID: webhook, Seq: seq, ObjectID: object,
		Kind: "incident", DataVersion: seq, EventName: "agile-process-teams:edit-incident:v1", LicensePlate: "plate",
		At: 1000 + seq, State: store.DeliveryPending, NextAttemptAt: 2000 + seq, Attempts: []store.DeliveryAttempt{}}
}

// testWebhooks: subscriptions are stored, found, listed per company and
// dataspace in creation order, disabled and enabled with their reason,
// and deleted with their deliveries.
func testWebhooks(t *testing.T, s *suite) {
	st := s.fresh(t)
	ctx := context.Background()
	w1, w2, other := sampleWebhook("w1", "acme", 10), sampleWebhook("w2", "acme", 20), sampleWebhook("w3", "globex", 15)
	w2.Kinds, w2.Events = []string{}, []string{"agile-process-teams:add-incident:v1"}
	otherSpace := sampleWebhook("w4", "acme", 5)
	otherSpace.Dataspace = "other"
	for _, w := range []*store.Webhook{w2, w1, other, otherSpace} {
		must(t, st.InsertWebhook(ctx, w), "InsertWebhook "+w.ID)
	}
	wantErr(t, st.InsertWebhook(ctx, sampleWebhook("w1", "acme", 30)), store.ErrDuplicate, "InsertWebhook with a taken id")

	got, err := st.FindWebhook(ctx, "w2")
	must(t, err, "FindWebhook")
	equal(t, "found webhook", got, w2)
	_, err = st.FindWebhook(ctx, "nope")
	wantErr(t, err, store.ErrNotFound, "FindWebhook of no webhook")

	list, err := st.ListWebhooks(ctx, ds, "acme")
	must(t, err, "ListWebhooks")
	equal(t, "acme's webhooks", ids(list), []string{"w1", "w2"})
	all, err := st.ListWebhooks(ctx, "", "")
	must(t, err, "ListWebhooks of all")
	equal(t, "every webhook", ids(all), []string{"w1", "w2", "w3", "w4"})

	must(t, st.SetWebhookDisabled(ctx, "w1", 99, "the endpoint failed for 72h"), "disable")
	got, err = st.FindWebhook(ctx, "w1")
	must(t, err, "FindWebhook")
	equal(t, "disabled", []any{got.DisabledAt, got.DisabledReason}, []any{int64(99), "the endpoint failed for 72h"})
	must(t, st.SetWebhookDisabled(ctx, "w1", 0, ""), "enable")
	got, err = st.FindWebhook(ctx, "w1")
	must(t, err, "FindWebhook")
	equal(t, "enabled", []any{got.DisabledAt, got.DisabledReason}, []any{int64(0), ""})
	wantErr(t, st.SetWebhookDisabled(ctx, "nope", 1, "x"), store.ErrNotFound, "disable no webhook")

	held, err := st.LeaseWebhook(ctx, "w1", "gw-a", 100, 200)
	must(t, err, "LeaseWebhook")
	must(t, st.RecordDeliveries(ctx, store.DeliveryBatch{WebhookID: "w1", Owner: "gw-a", From: 0, To: 5,
		Deliveries: []store.Delivery{sampleDelivery("w1", 5, "a1")}}), "RecordDeliveries")
	if !held {
		t.Fatal("a free lease was not given")
	}
	must(t, st.DeleteWebhook(ctx, "w1"), "DeleteWebhook")
	_, err = st.FindWebhook(ctx, "w1")
	wantErr(t, err, store.ErrNotFound, "FindWebhook after delete")
	ds, err := st.ListDeliveries(ctx, store.DeliveryQuery{WebhookID: "w1", Limit: 10})
	must(t, err, "ListDeliveries after delete")
	equal(t, "deliveries of a deleted webhook", len(ds), 0)
	wantErr(t, st.DeleteWebhook(ctx, "w1"), store.ErrNotFound, "DeleteWebhook twice")
}

func ids(list []store.Webhook) []string {
	out := []string{}
	for _, w := range list {
		out = append(out, w.ID)
	}
	return out
}

// testWebhookLease: one gateway at a time holds a subscription's lease; it
// renews its own, another takes it only once it has run out; and only the
// holder, from the cursor where it is, records deliveries.
func testWebhookLease(t *testing.T, s *suite) {
	st := s.fresh(t)
	ctx := context.Background()
	must(t, st.InsertWebhook(ctx, sampleWebhook("w1", "acme", 1)), "InsertWebhook")
	lease := func(owner string, now, until int64, want bool) {
		t.Helper()
		held, err := st.LeaseWebhook(ctx, "w1", owner, now, until)
		must(t, err, "LeaseWebhook")
		if held != want {
			t.Fatalf("LeaseWebhook(%s, now %d): held %v, want %v", owner, now, held, want)
		}
	}
	lease("gw-a", 100, 200, true)
	lease("gw-b", 150, 250, false) // gw-a's runs until 200
	lease("gw-a", 180, 300, true)  // renewed
	lease("gw-b", 250, 350, false)
	wantErr(t, st.RecordDeliveries(ctx, store.DeliveryBatch{WebhookID: "w1", Owner: "gw-b", From: 0, To: 3}), store.ErrConflict,
		"RecordDeliveries without the lease")
	must(t, st.RecordDeliveries(ctx, store.DeliveryBatch{WebhookID: "w1", Owner: "gw-a", From: 0, To: 3,
		Deliveries: []store.Delivery{sampleDelivery("w1", 2, "a1")}}), "RecordDeliveries of the holder")
	lease("gw-b", 301, 400, true) // gw-a's ran out
	wantErr(t, st.RecordDeliveries(ctx, store.DeliveryBatch{WebhookID: "w1", Owner: "gw-a", From: 3, To: 4,
		Deliveries: []store.Delivery{sampleDelivery("w1", 4, "a1")}}), store.ErrConflict, "RecordDeliveries after the lease ran out")
	wantErr(t, st.RecordDeliveries(ctx, store.DeliveryBatch{WebhookID: "w1", Owner: "gw-b", From: 0, To: 4}), store.ErrConflict,
		"RecordDeliveries from a cursor that moved")
	w, err := st.FindWebhook(ctx, "w1")
	must(t, err, "FindWebhook")
	equal(t, "cursor and lease", []any{w.Cursor, w.LeaseOwner, w.LeaseUntil}, []any{int64(3), "gw-b", int64(400)})
	list, err := st.ListDeliveries(ctx, store.DeliveryQuery{WebhookID: "w1", Limit: 10})
	must(t, err, "ListDeliveries")
	equal(t, "deliveries of refused batches are not written", len(list), 1)
}

// testWebhookDeliveries: deliveries are recorded with their attempts and
// updated by id; listed newest first in pages, or only the pending ones
// oldest first; redelivered; and pruned once finished and old.
func testWebhookDeliveries(t *testing.T, s *suite) {
	st := s.fresh(t)
	ctx := context.Background()
	for _, id := range []string{"w1", "w2"} {
		must(t, st.InsertWebhook(ctx, sampleWebhook(id, "acme", 1)), "InsertWebhook")
		held, err := st.LeaseWebhook(ctx, id, "gw", 0, 1000)
		must(t, err, "LeaseWebhook")
		if !held {
			t.Fatal("lease not given")
		}
	}
	var batch []store.Delivery
	for seq := int64(1); seq <= 5; seq++ {
		batch = append(batch, sampleDelivery("w1", seq, fmt.Sprintf("a%d", seq%2)))
	}
	batch[0].State = store.DeliveryDelivered
	batch[0].AddAttempt(store.DeliveryAttempt{At: 1500, Status: 204, LatencyMs: 3, Excerpt: "ok"})
	batch[2].AddAttempt(store.DeliveryAttempt{At: 1600, Status: 0, LatencyMs: 5000, Error: "timeout"})
	must(t, st.RecordDeliveries(ctx, store.DeliveryBatch{WebhookID: "w1", Owner: "gw", From: 0, To: 5, Deliveries: batch}), "record")
	must(t, st.RecordDeliveries(ctx, store.DeliveryBatch{WebhookID: "w2", Owner: "gw", From: 0, To: 1,
		Deliveries: []store.Delivery{sampleDelivery("w2", 1, "a1")}}), "record w2")

	got, err := st.FindDelivery(ctx, "w1", batch[0].ID)
	must(t, err, "FindDelivery")
	equal(t, "found delivery", *got, batch[0])
	_, err = st.FindDelivery(ctx, "w2", batch[0].ID)
	wantErr(t, err, store.ErrNotFound, "FindDelivery under another webhook")

	seqs := func(q store.DeliveryQuery) []int64 {
		t.Helper()
		list, err := st.ListDeliveries(ctx, q)
		must(t, err, "ListDeliveries")
		out := []int64{}
		for _, d := range list {
			if d.WebhookID != q.WebhookID {
				t.Fatalf("ListDeliveries of %s gave one of %s", q.WebhookID, d.WebhookID)
			}
			out = append(out, d.Seq)
		}
		return out
	}
	equal(t, "newest first", seqs(store.DeliveryQuery{WebhookID: "w1", Limit: 3}), []int64{5, 4, 3})
	equal(t, "next page", seqs(store.DeliveryQuery{WebhookID: "w1", Before: 3, Limit: 3}), []int64{2, 1})
	equal(t, "pending, oldest first", seqs(store.DeliveryQuery{WebhookID: "w1", Pending: true, Limit: 10}), []int64{2, 3, 4, 5})
	equal(t, "pending, bounded", seqs(store.DeliveryQuery{WebhookID: "w1", Pending: true, Limit: 2}), []int64{2, 3})

	// An update by id: seq 3 delivered on its second attempt.
	d3 := batch[2]
	d3.State = store.DeliveryDelivered
	d3.AddAttempt(store.DeliveryAttempt{At: 1700, Status: 200, LatencyMs: 2})
	must(t, st.RecordDeliveries(ctx, store.DeliveryBatch{WebhookID: "w1", Owner: "gw", From: 5, To: 5, Deliveries: []store.Delivery{d3}}), "update")
	got, err = st.FindDelivery(ctx, "w1", d3.ID)
	must(t, err, "FindDelivery")
	equal(t, "updated delivery", *got, d3)
	equal(t, "pending after the update", seqs(store.DeliveryQuery{WebhookID: "w1", Pending: true, Limit: 10}), []int64{2, 4, 5})

	must(t, st.RedeliverDelivery(ctx, "w1", batch[0].ID, 4242), "RedeliverDelivery")
	got, err = st.FindDelivery(ctx, "w1", batch[0].ID)
	must(t, err, "FindDelivery")
	equal(t, "redelivered", []any{got.State, got.NextAttemptAt, got.AttemptCount, len(got.Attempts)},
		[]any{store.DeliveryPending, int64(4242), 1, 1})
	wantErr(t, st.RedeliverDelivery(ctx, "w2", batch[0].ID, 1), store.ErrNotFound, "RedeliverDelivery under another webhook")

	// Pruning: only finished deliveries of changes before the time (seq
	// 3, delivered, at 1003); pending ones stay whatever their age.
	n, err := st.PruneDeliveries(ctx, 1004)
	must(t, err, "PruneDeliveries")
	equal(t, "pruned", n, int64(1))
	equal(t, "left after pruning", seqs(store.DeliveryQuery{WebhookID: "w1", Limit: 10}), []int64{5, 4, 2, 1})
}

// testWebhookAttemptLog: a delivery's log keeps its latest attempts and
// counts them all.
func testWebhookAttemptLog(t *testing.T, s *suite) {
	st := s.fresh(t)
	ctx := context.Background()
	must(t, st.InsertWebhook(ctx, sampleWebhook("w1", "acme", 1)), "InsertWebhook")
	if _, err := st.LeaseWebhook(ctx, "w1", "gw", 0, 1000); err != nil {
		t.Fatal(err)
	}
	d := sampleDelivery("w1", 1, "a1")
	for i := range store.MaxDeliveryAttempts + 5 {
		d.AddAttempt(store.DeliveryAttempt{At: int64(i + 1), Status: 500, Excerpt: "<html>oops</html>"})
	}
	must(t, st.RecordDeliveries(ctx, store.DeliveryBatch{WebhookID: "w1", Owner: "gw", From: 0, To: 1, Deliveries: []store.Delivery{d}}), "record")
	got, err := st.FindDelivery(ctx, "w1", d.ID)
	must(t, err, "FindDelivery")
	equal(t, "attempts kept", []any{got.AttemptCount, len(got.Attempts), got.Attempts[0].At, got.FirstAttemptAt},
		[]any{store.MaxDeliveryAttempts + 5, store.MaxDeliveryAttempts, int64(6), int64(1)})
}

package mongodb

import (
	"errors"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/scwm-gateway/scwm-gateway/store"
)

// A batch of deliveries cut short after its deliveries are written leaves
// the cursor where it was, so nothing is lost: the deliveries are there,
// and the deliverer's next try of the same batch (the same changes, the
// same ids) records it and moves the cursor.
func TestRecordDeliveriesCutShort(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := bg(t)
	if err := s.InsertWebhook(ctx, &store.Webhook{ID: "w1", Dataspace: "default", CompanyID: "acme", URL: "https://hooks.example/w1"}); err != nil {
		t.Fatal(err)
	}
	if held, err := s.LeaseWebhook(ctx, "w1", "gw", 0, 1000); err != nil || !held {
		t.Fatalf("lease: %v %v", held, err)
	}
	batch := store.DeliveryBatch{WebhookID: "w1", Owner: "gw", From: 0, To: 7, Deliveries: []store.Delivery{
		{ID: "msg_1", WebhookID: "w1", Seq: 3, ObjectID: "i1", State: store.DeliveryPending, NextAttemptAt: 5},
		{ID: "msg_2", WebhookID: "w1", Seq: 7, ObjectID: "i2", State: store.DeliveryPending, NextAttemptAt: 5},
	}}
	crashAt(s, stepDeliveries)
	if err := s.RecordDeliveries(ctx, batch); !errors.Is(err, errCrash) {
		t.Fatalf("RecordDeliveries: %v, want the crash", err)
	}
	s.crashAfter = nil
	w, err := s.FindWebhook(ctx, "w1")
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "cursor after the crash", w.Cursor, int64(0))
	list, err := s.ListDeliveries(ctx, store.DeliveryQuery{WebhookID: "w1", Pending: true, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "deliveries after the crash", len(list), 2)

	if err := s.RecordDeliveries(ctx, batch); err != nil {
		t.Fatalf("RecordDeliveries again: %v", err)
	}
	if w, err = s.FindWebhook(ctx, "w1"); err != nil {
		t.Fatal(err)
	}
	equal(t, "cursor after the second try", w.Cursor, int64(7))
	if list, err = s.ListDeliveries(ctx, store.DeliveryQuery{WebhookID: "w1", Limit: 10}); err != nil {
		t.Fatal(err)
	}
	equal(t, "deliveries after the second try", len(list), 2)
}

// A delete of a subscription cut short after the subscription is gone is
// finished by the next delete, which answers ErrNotFound and removes the
// deliveries left.
func TestDeleteWebhookFinishesAnEarlierDelete(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := bg(t)
	if err := s.InsertWebhook(ctx, &store.Webhook{ID: "w1", Dataspace: "default", CompanyID: "acme"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.LeaseWebhook(ctx, "w1", "gw", 0, 1000); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordDeliveries(ctx, store.DeliveryBatch{WebhookID: "w1", Owner: "gw", From: 0, To: 1, Deliveries: []store.Delivery{
		{ID: "msg_1", WebhookID: "w1", Seq: 1, State: store.DeliveryPending}}}); err != nil {
		t.Fatal(err)
	}
	// The first delete removed the subscription only.
	if _, err := s.webhooks.DeleteOne(ctx, bson.M{"_id": "w1"}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteWebhook(ctx, "w1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("DeleteWebhook: %v, want ErrNotFound", err)
	}
	n, err := s.deliveries.CountDocuments(ctx, bson.M{"webhookId": "w1"})
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "deliveries left", n, int64(0))
}

// A subscription deleted while a batch of its deliveries is being written
// keeps no deliveries: the batch, refused when it would move the cursor,
// deletes those it wrote after the delete had deleted the others.
func TestDeleteWebhookDuringABatch(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := bg(t)
	if err := s.InsertWebhook(ctx, &store.Webhook{ID: "w1", Dataspace: "default", CompanyID: "acme"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.LeaseWebhook(ctx, "w1", "gw", 0, 1000); err != nil {
		t.Fatal(err)
	}
	// The delete comes between the batch's check and its deliveries: when
	// they are written, the subscription is gone and the delete's sweep of
	// its deliveries is over.
	s.crashAfter = func(step string) error {
		if step == stepDeliveries {
			_, err := s.webhooks.DeleteOne(ctx, bson.M{"_id": "w1"})
			return err
		}
		return nil
	}
	err := s.RecordDeliveries(ctx, store.DeliveryBatch{WebhookID: "w1", Owner: "gw", From: 0, To: 1, Deliveries: []store.Delivery{
		{ID: "msg_1", WebhookID: "w1", Seq: 1, State: store.DeliveryPending}}})
	s.crashAfter = nil
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("RecordDeliveries: %v, want ErrConflict", err)
	}
	n, err := s.deliveries.CountDocuments(ctx, bson.M{"webhookId": "w1"})
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "deliveries left", n, int64(0))
}

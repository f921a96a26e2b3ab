package mongodb

import (
	"context"
	"errors"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/scwm-gateway/scwm-gateway/store"
)

// Webhook subscriptions and their deliveries are two collections:
//
//   - webhooks: one document per subscription, _id its id, with its cursor
//     in the change feed and the lease of the gateway that delivers for it;
//   - webhook_deliveries: one document per delivery, _id its id (the
//     webhook-id receivers deduplicate on), with webhookId and seq, and the
//     log of its latest attempts (store.MaxDeliveryAttempts) inside it.
//
// The lease and the cursor are kept by conditions the server checks on
// the subscription's document; a batch of deliveries is recorded without
// a transaction, in the order RecordDeliveries gives.
const (
	idxWebhookCompany   = "dataspace_companyId_createdAt" // webhooks: ListWebhooks of a company
	idxDeliverySeq      = "webhookId_seq"                 // webhook_deliveries: ListDeliveries, DeleteWebhook's cascade
	idxDeliveryPending  = "webhookId_state_seq"           // webhook_deliveries: ListDeliveries of the pending ones
	idxDeliveryFinished = "state_at"                      // webhook_deliveries: PruneDeliveries
)

// stepDeliveries is the step of RecordDeliveries, named for crashAfter,
// after which the deliveries are written and the cursor is not yet moved.
const stepDeliveries = "deliveries"

// webhookIndexes are the indexes the subscriptions and deliveries are read
// on besides _id.
func (s *Store) webhookIndexes() []index {
	return []index{
		// A company's subscriptions in a dataspace, oldest first; the id
		// orders those created at once.
		{coll: s.webhooks, name: idxWebhookCompany, keys: []string{"dataspace", "companyId", "createdAt", "_id"}},
		// A subscription's deliveries by seq, in either direction.
		{coll: s.deliveries, name: idxDeliverySeq, keys: []string{"webhookId", "seq"}},
		// A subscription's pending deliveries by seq, which the deliverer
		// polls: the state before the seq, so that the pending ones are one
		// range of the index.
		{coll: s.deliveries, name: idxDeliveryPending, keys: []string{"webhookId", "state", "seq"}},
		// The deliveries of every subscription by state and time: the
		// finished ones committed before a time are the ranges either side
		// of the pending ones.
		{coll: s.deliveries, name: idxDeliveryFinished, keys: []string{"state", "at"}},
	}
}

// webhookDoc is a subscription as stored.
type webhookDoc struct {
	ID             string   `bson:"_id"`
	Dataspace      string   `bson:"dataspace"`
	CompanyID      string   `bson:"companyId"`
	URL            string   `bson:"url"`
	Secret         string   `bson:"secret"`
	Kinds          []string `bson:"kinds"`
	Events         []string `bson:"events"`
	CreatedAt      int64    `bson:"createdAt"`
	Cursor         int64    `bson:"cursor"`
	DisabledAt     int64    `bson:"disabledAt"`
	DisabledReason string   `bson:"disabledReason"`
	LeaseOwner     string   `bson:"leaseOwner"`
	LeaseUntil     int64    `bson:"leaseUntil"`
}

func newWebhookDoc(w *store.Webhook) webhookDoc {
	return webhookDoc{ID: w.ID, Dataspace: w.Dataspace, CompanyID: w.CompanyID, URL: w.URL, Secret: w.Secret,
		Kinds: nonNil(w.Kinds), Events: nonNil(w.Events), CreatedAt: w.CreatedAt, Cursor: w.Cursor,
		DisabledAt: w.DisabledAt, DisabledReason: w.DisabledReason, LeaseOwner: w.LeaseOwner, LeaseUntil: w.LeaseUntil}
}

func (d *webhookDoc) webhook() store.Webhook {
	return store.Webhook{ID: d.ID, Dataspace: d.Dataspace, CompanyID: d.CompanyID, URL: d.URL, Secret: d.Secret,
		Kinds: nonNil(d.Kinds), Events: nonNil(d.Events), CreatedAt: d.CreatedAt, Cursor: d.Cursor,
		DisabledAt: d.DisabledAt, DisabledReason: d.DisabledReason, LeaseOwner: d.LeaseOwner, LeaseUntil: d.LeaseUntil}
}

// nonNil is list, or an empty list for nil: a subscription's kinds and
// events are always a list, stored and loaded, empty selecting all.
func nonNil(list []string) []string {
	if list == nil {
		return []string{}
	}
	return list
}

// deliveryDoc is a delivery as stored.
type deliveryDoc struct {
	ID             string       `bson:"_id"`
	WebhookID      string       `bson:"webhookId"`
	Seq            int64        `bson:"seq"`
	ObjectID       string       `bson:"objectId"`
	Kind           string       `bson:"kind"`
	DataVersion    int64        `bson:"dataVersion"`
	EventName      string       `bson:"eventName"`
	LicensePlate   string       `bson:"licensePlate"`
	At             int64        `bson:"at"`
	State          string       `bson:"state"`
	FirstAttemptAt int64        `bson:"firstAttemptAt"`
	NextAttemptAt  int64        `bson:"nextAttemptAt"`
	AttemptCount   int          `bson:"attemptCount"`
	Attempts       []attemptDoc `bson:"attempts"`
}

// attemptDoc is an attempt of a delivery as its log stores it.
type attemptDoc struct {
	At        int64  `bson:"at"`
	Status    int    `bson:"status"`
	LatencyMs int64  `bson:"latencyMs"`
	Excerpt   string `bson:"excerpt,omitempty"`
	Error     string `bson:"error,omitempty"`
}

// attemptDocs is the stored form of a log; nil stays nil.
func attemptDocs(log []store.DeliveryAttempt) []attemptDoc {
	if log == nil {
		return nil
	}
	out := make([]attemptDoc, len(log))
	for i, a := range log {
		out[i] = attemptDoc(a)
	}
	return out
}

func (d *deliveryDoc) delivery() store.Delivery {
	var log []store.DeliveryAttempt
	if d.Attempts != nil {
		log = make([]store.DeliveryAttempt, len(d.Attempts))
		for i, a := range d.Attempts {
			log[i] = store.DeliveryAttempt(a)
		}
	}
	return store.Delivery{ID: d.ID, WebhookID: d.WebhookID, Seq: d.Seq, ObjectID: d.ObjectID, Kind: d.Kind,
		DataVersion: d.DataVersion, EventName: d.EventName, LicensePlate: d.LicensePlate, At: d.At, State: d.State,
		FirstAttemptAt: d.FirstAttemptAt, NextAttemptAt: d.NextAttemptAt, AttemptCount: d.AttemptCount, Attempts: log}
}

// InsertWebhook stores a new subscription; ErrDuplicate if its id is
// taken.
func (s *Store) InsertWebhook(ctx context.Context, w *store.Webhook) error {
	ctx, cancel := s.operation(ctx)
	defer cancel()
	_, err := s.webhooks.InsertOne(ctx, newWebhookDoc(w))
	return wrap("insert webhook", err)
}

// FindWebhook loads a subscription by its id, or ErrNotFound.
func (s *Store) FindWebhook(ctx context.Context, id string) (*store.Webhook, error) {
	ctx, cancel := s.operation(ctx)
	defer cancel()
	var d webhookDoc
	if err := s.webhooks.FindOne(ctx, bson.M{"_id": id}).Decode(&d); err != nil {
		return nil, wrap("find webhook", err)
	}
	w := d.webhook()
	return &w, nil
}

// ListWebhooks lists the subscriptions of a company in a dataspace, oldest
// first, on their index; with an empty dataspace, every subscription by
// id, on the _id index (for the deliverer).
func (s *Store) ListWebhooks(ctx context.Context, dataspace, companyID string) ([]store.Webhook, error) {
	ctx, cancel := s.operation(ctx)
	defer cancel()
	filter := bson.D{{Key: "dataspace", Value: dataspace}, {Key: "companyId", Value: companyID}}
	o := options.Find().SetSort(bson.D{{Key: "createdAt", Value: 1}, {Key: "_id", Value: 1}}).SetHint(idxWebhookCompany)
	if dataspace == "" {
		filter, o = bson.D{}, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetHint(idxID)
	}
	cur, err := s.webhooks.Find(ctx, filter, o)
	if err != nil {
		return nil, wrap("list webhooks", err)
	}
	var docs []webhookDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, wrap("list webhooks", err)
	}
	var out []store.Webhook
	for i := range docs {
		out = append(out, docs[i].webhook())
	}
	return out, nil
}

// DeleteWebhook removes a subscription and then its deliveries;
// ErrNotFound if there is none. The subscription goes first: from then on
// a batch of its deliverer is refused before it writes anything, and one
// already under way finds the subscription gone when it would move the
// cursor and deletes the deliveries it wrote (RecordDeliveries). Its
// deliveries are deleted also when it is gone already, so that a delete
// interrupted between the two is finished by the next.
func (s *Store) DeleteWebhook(ctx context.Context, id string) error {
	ctx, cancel := s.operation(ctx)
	defer cancel()
	res, err := s.webhooks.DeleteOne(ctx, bson.M{"_id": id})
	if err != nil {
		return wrap("delete webhook", err)
	}
	if _, err := s.sweep(ctx, s.deliveries, bson.M{"webhookId": id}, idxDeliverySeq); err != nil {
		return wrap("delete the deliveries of webhook "+id, err)
	}
	if res.DeletedCount == 0 {
		return wrap("delete webhook", mongo.ErrNoDocuments)
	}
	return nil
}

// SetWebhookDisabled disables a subscription at a time (milliseconds) for
// a reason, or, with at 0, enables it again; ErrNotFound if there is none.
func (s *Store) SetWebhookDisabled(ctx context.Context, id string, at int64, reason string) error {
	ctx, cancel := s.operation(ctx)
	defer cancel()
	return s.updateExisting(ctx, s.webhooks, id, bson.M{"disabledAt": at, "disabledReason": reason}, "disable webhook")
}

// LeaseWebhook gives owner the right to deliver for a subscription until
// a time (milliseconds), when the lease is free, run out by now, or
// already owner's; it reports whether owner holds it. The condition is
// the update's filter, checked by the server: of gateways leasing a free
// lease at once, one gets it (on MongoDB; FerretDB does not apply a
// conditional update atomically).
func (s *Store) LeaseWebhook(ctx context.Context, id, owner string, now, until int64) (bool, error) {
	ctx, cancel := s.operation(ctx)
	defer cancel()
	res, err := s.webhooks.UpdateOne(ctx,
		bson.M{"_id": id, "$or": bson.A{
			bson.M{"leaseOwner": owner}, bson.M{"leaseOwner": ""}, bson.M{"leaseUntil": bson.M{"$lt": now}},
		}},
		bson.M{"$set": bson.M{"leaseOwner": owner, "leaseUntil": until}})
	if err != nil {
		return false, wrap("lease webhook", err)
	}
	return res.MatchedCount == 1, nil
}

// RecordDeliveries writes a batch of deliveries and moves the
// subscription's cursor from b.From to b.To: ErrConflict, with nothing
// written, when owner does not hold the lease or the cursor is not at
// b.From as the batch arrives (a lease lost while the batch is written:
// below).
//
// There is no transaction, so the order is what keeps it:
//
//   - the check: the subscription's document must have the cursor at
//     b.From and the lease b.Owner's, or the batch is refused before
//     anything is written;
//   - the deliveries: each is upserted by its id; a new one is inserted
//     whole, and of one that exists only what a delivery's attempts change
//     (state, attempt times, count and log) is set, as on the embedded
//     store;
//   - the move: the cursor goes to b.To by an update on the same condition
//     as the check, checked by the server. When it matches nothing the
//     batch is refused; if that is because the subscription was deleted
//     meanwhile, the deliveries its delete may have missed are deleted too.
//
// The deliveries go before the move because a batch cut short (a dead
// gateway, a timeout) must lose nothing: with the deliveries written and
// the cursor left at b.From, the deliverer reads the same changes again
// and derives the same ids, so its next batch upserts the same deliveries
// (at worst one is sent again, which its receiver deduplicates by id). The
// other order would leave the cursor past changes whose deliveries were
// never written, and nothing would deliver them. The check keeps a batch
// that is refused from writing anything; a batch whose owner loses the
// lease between the check and the move (paused for longer than its lease)
// has written deliveries of changes the next holder delivers too, and is
// refused at the move. No order avoids that race without a transaction:
// in the other one the late deliveries would land all the same.
func (s *Store) RecordDeliveries(ctx context.Context, b store.DeliveryBatch) error {
	ctx, cancel := s.operation(ctx)
	defer cancel()
	at := bson.M{"_id": b.WebhookID, "cursor": b.From, "leaseOwner": b.Owner}
	err := s.webhooks.FindOne(ctx, at, options.FindOne().SetProjection(bson.M{"_id": 1})).Err()
	switch {
	case errors.Is(err, mongo.ErrNoDocuments):
		return store.Wrap("record deliveries", store.ErrConflict)
	case err != nil:
		return wrap("record deliveries", err)
	}
	if len(b.Deliveries) > 0 {
		models := make([]mongo.WriteModel, len(b.Deliveries))
		for i, d := range b.Deliveries {
			models[i] = mongo.NewUpdateOneModel().SetFilter(bson.M{"_id": d.ID}).SetUpsert(true).SetUpdate(bson.M{
				"$set": bson.M{"state": d.State, "firstAttemptAt": d.FirstAttemptAt, "nextAttemptAt": d.NextAttemptAt,
					"attemptCount": d.AttemptCount, "attempts": attemptDocs(d.Attempts)},
				"$setOnInsert": bson.M{"webhookId": b.WebhookID, "seq": d.Seq, "objectId": d.ObjectID, "kind": d.Kind,
					"dataVersion": d.DataVersion, "eventName": d.EventName, "licensePlate": d.LicensePlate, "at": d.At},
			})
		}
		if _, err := s.deliveries.BulkWrite(ctx, models); err != nil {
			return wrap("record deliveries", err)
		}
	}
	if err := s.crashed(stepDeliveries); err != nil {
		return err
	}
	res, err := s.webhooks.UpdateOne(ctx, at, bson.M{"$set": bson.M{"cursor": b.To}})
	if err != nil {
		return wrap("record deliveries", err)
	}
	if res.MatchedCount == 0 {
		// A subscription deleted while the batch was written: the
		// delete's sweep of its deliveries may have come before these.
		if err := s.webhooks.FindOne(ctx, bson.M{"_id": b.WebhookID}).Err(); errors.Is(err, mongo.ErrNoDocuments) {
			if _, err := s.sweep(ctx, s.deliveries, bson.M{"webhookId": b.WebhookID}, idxDeliverySeq); err != nil {
				return wrap("delete the deliveries of deleted webhook "+b.WebhookID, err)
			}
		}
		return store.Wrap("record deliveries", store.ErrConflict)
	}
	return nil
}

// ListDeliveries lists deliveries of a subscription (store.DeliveryQuery):
// the pending ones oldest first on their index, or all of them newest
// first, below q.Before when it is set, on the seq index.
func (s *Store) ListDeliveries(ctx context.Context, q store.DeliveryQuery) ([]store.Delivery, error) {
	ctx, cancel := s.operation(ctx)
	defer cancel()
	if q.Limit <= 0 {
		return nil, nil
	}
	filter := bson.D{{Key: "webhookId", Value: q.WebhookID}}
	o := options.Find().SetLimit(int64(q.Limit))
	switch {
	case q.Pending:
		filter = append(filter, bson.E{Key: "state", Value: store.DeliveryPending})
		o.SetSort(bson.D{{Key: "seq", Value: 1}}).SetHint(idxDeliveryPending)
	default:
		if q.Before > 0 {
			filter = append(filter, bson.E{Key: "seq", Value: bson.M{"$lt": q.Before}})
		}
		o.SetSort(bson.D{{Key: "seq", Value: -1}}).SetHint(idxDeliverySeq)
	}
	cur, err := s.deliveries.Find(ctx, filter, o)
	if err != nil {
		return nil, wrap("list deliveries", err)
	}
	var docs []deliveryDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, wrap("list deliveries", err)
	}
	var out []store.Delivery
	for i := range docs {
		out = append(out, docs[i].delivery())
	}
	return out, nil
}

// FindDelivery loads a delivery of a subscription, or ErrNotFound (also
// when the delivery is another subscription's).
func (s *Store) FindDelivery(ctx context.Context, webhookID, id string) (*store.Delivery, error) {
	ctx, cancel := s.operation(ctx)
	defer cancel()
	var doc deliveryDoc
	if err := s.deliveries.FindOne(ctx, bson.M{"_id": id, "webhookId": webhookID}).Decode(&doc); err != nil {
		return nil, wrap("find delivery", err)
	}
	d := doc.delivery()
	return &d, nil
}

// RedeliverDelivery makes a delivery pending again, due at now
// (milliseconds), keeping its id and log; ErrNotFound if the subscription
// has no such delivery.
func (s *Store) RedeliverDelivery(ctx context.Context, webhookID, id string, now int64) error {
	ctx, cancel := s.operation(ctx)
	defer cancel()
	res, err := s.deliveries.UpdateOne(ctx, bson.M{"_id": id, "webhookId": webhookID},
		bson.M{"$set": bson.M{"state": store.DeliveryPending, "nextAttemptAt": now}})
	if err != nil {
		return wrap("redeliver", err)
	}
	if res.MatchedCount == 0 {
		return wrap("redeliver", mongo.ErrNoDocuments)
	}
	return nil
}

// PruneDeliveries deletes the finished deliveries (not pending) of changes
// committed before a time (milliseconds), a batch at a time, and reports
// how many. Each delete repeats the condition, so a delivery redelivered
// since it was found stays.
func (s *Store) PruneDeliveries(ctx context.Context, before int64) (int64, error) {
	ctx, cancel := s.operation(ctx)
	defer cancel()
	finished := bson.M{"state": bson.M{"$ne": store.DeliveryPending}, "at": bson.M{"$lt": before}}
	n, err := s.sweep(ctx, s.deliveries, finished, idxDeliveryFinished)
	return n, wrap("prune deliveries", err)
}

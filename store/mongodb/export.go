package mongodb

import (
	"context"
	"errors"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/scwm-gateway/scwm-gateway/store"
)

// Export calls emit with every record the store holds, kinds in the order
// of the store.Kind constants, each kind in _id order. Changes committed
// and not applied are completed first (RollForward), so that the history
// and the incidents agree. The clients' revision counter is not a record
// (Import counts its own change instead).
//
// Export is not bounded by the operation timeout as a whole, since a large
// store takes longer; it stops at ctx's end.
func (s *Store) Export(ctx context.Context, emit func(store.Record) error) error {
	if _, err := s.RollForward(ctx); err != nil {
		return store.Wrap("export", err)
	}
	type kind struct {
		name string
		coll *mongo.Collection
		// record decodes the current document into a record.
		record func(cur *mongo.Cursor) (store.Record, bool, error)
	}
	plain := func(name string, newValue func() any) func(*mongo.Cursor) (store.Record, bool, error) {
		return func(cur *mongo.Cursor) (store.Record, bool, error) {
			v := newValue()
			if err := cur.Decode(v); err != nil {
				return store.Record{}, false, err
			}
			return store.Record{Kind: name, Value: v}, true, nil
		}
	}
	kinds := []kind{
		{store.KindCompany, s.companies, plain(store.KindCompany, func() any { return &store.Company{} })},
		{store.KindNetwork, s.networks, plain(store.KindNetwork, func() any { return &store.Network{} })},
		{store.KindClient, s.clients, plain(store.KindClient, func() any { return &store.Client{} })},
		{store.KindSequence, s.sequences, func(cur *mongo.Cursor) (store.Record, bool, error) {
			var d sequenceDoc
			if err := cur.Decode(&d); err != nil {
				return store.Record{}, false, err
			}
			if d.Key == clientsRevisionKey {
				return store.Record{}, false, nil
			}
			return store.Record{Kind: store.KindSequence, Value: &store.Sequence{Key: d.Key, Value: d.Seq}}, true, nil
		}},
		{store.KindUser, s.users, func(cur *mongo.Cursor) (store.Record, bool, error) {
			var u store.User
			if err := cur.Decode(&u); err != nil {
				return store.Record{}, false, err
			}
			u = u.WithDefaults()
			return store.Record{Kind: store.KindUser, Value: &u}, true, nil
		}},
		{store.KindOAuthClient, s.oauthClients, plain(store.KindOAuthClient, func() any { return &store.OAuthClient{} })},
		{store.KindToken, s.tokens, plain(store.KindToken, func() any { return &store.Token{} })},
		{store.KindIncident, s.incidents, func(cur *mongo.Cursor) (store.Record, bool, error) {
			var d incidentDoc
			if err := cur.Decode(&d); err != nil {
				return store.Record{}, false, err
			}
			normalizeIncident(&d.Incident)
			return store.Record{Kind: store.KindIncident, Value: &d.Incident}, true, nil
		}},
		{store.KindComment, s.comments, func(cur *mongo.Cursor) (store.Record, bool, error) {
			var d commentDoc
			if err := cur.Decode(&d); err != nil {
				return store.Record{}, false, err
			}
			normalizeComment(&d.Comment)
			return store.Record{Kind: store.KindComment, IncidentID: d.IncidentID, Value: &d.Comment}, true, nil
		}},
		{store.KindActivity, s.activities, func(cur *mongo.Cursor) (store.Record, bool, error) {
			var d activityDoc
			if err := cur.Decode(&d); err != nil {
				return store.Record{}, false, err
			}
			normalizeActivity(&d.Activity)
			return store.Record{Kind: store.KindActivity, IncidentID: d.IncidentID, Value: &d.Activity}, true, nil
		}},
		{store.KindIdempotency, s.idempotency, plain(store.KindIdempotency, func() any { return &store.IdempotencyRecord{} })},
	}
	for _, k := range kinds {
		cur, err := k.coll.Find(ctx, bson.M{}, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetHint(idxID))
		if err != nil {
			return wrap("export "+k.coll.Name(), err)
		}
		for cur.Next(ctx) {
			rec, ok, err := k.record(cur)
			if err != nil {
				_ = cur.Close(ctx)
				return wrap("export "+k.coll.Name(), err)
			}
			if !ok {
				continue
			}
			if err := emit(rec); err != nil {
				_ = cur.Close(ctx)
				return err
			}
		}
		err = cur.Err()
		_ = cur.Close(ctx)
		if err != nil {
			return wrap("export "+k.coll.Name(), err)
		}
	}
	return nil
}

// importBatchSize is how many documents one write of Import carries.
const importBatchSize = 500

// Import writes records as they are: a record whose key is held already
// replaces the stored one, so importing the same records again changes
// nothing. Comments and history entries are stored as applied (an
// imported comment counts as written before any change). Importing
// clients counts as one change of the clients (ClientsRevision).
//
// Import is not bounded by the operation timeout as a whole; each of its
// batches is.
func (s *Store) Import(ctx context.Context, records []store.Record) error {
	type doc struct {
		filter bson.M // the _id, and the rest of the shard key
		doc    any
	}
	writes := map[*mongo.Collection][]doc{}
	var order []*mongo.Collection
	put := func(coll *mongo.Collection, filter bson.M, d any) {
		if _, ok := writes[coll]; !ok {
			order = append(order, coll)
		}
		writes[coll] = append(writes[coll], doc{filter, d})
	}
	byID := func(id string) bson.M { return bson.M{"_id": id} }
	clients := false
	for i, r := range records {
		switch v := deref(r.Value).(type) {
		case store.Company:
			put(s.companies, byID(v.ID), v)
		case store.Network:
			if v.Members == nil {
				v.Members = []string{}
			}
			put(s.networks, byID(v.ID), v)
		case store.Client:
			put(s.clients, byID(v.APIKey), v)
			clients = true
		case store.Sequence:
			put(s.sequences, byID(v.Key), sequenceDoc{Key: v.Key, Seq: v.Value})
		case store.User:
			// A user of an export without ids gets its defaults.
			v = v.WithDefaults()
			put(s.users, byID(v.Username), v)
		case store.OAuthClient:
			put(s.oauthClients, byID(v.ClientID), v)
		case store.Token:
			put(s.tokens, byID(v.Hash), v)
		case store.Incident:
			put(s.incidents, byID(v.ID), newIncidentDoc(&v))
		case store.Comment:
			if r.IncidentID == "" {
				return fmt.Errorf("import: record %d: a comment without incidentId", i)
			}
			k := commentKey(r.IncidentID, v.ID)
			put(s.comments, bson.M{"_id": k, "incidentId": r.IncidentID, "position": v.Position}, commentDoc{Key: k, IncidentID: r.IncidentID, Comment: v})
		case store.Activity:
			if r.IncidentID == "" {
				return fmt.Errorf("import: record %d: a history entry without incidentId", i)
			}
			k := activityKey(r.IncidentID, v.DataVersion)
			put(s.activities, activityFilter(r.IncidentID, v.DataVersion), activityDoc{Key: k, IncidentID: r.IncidentID, Activity: v})
		case store.IdempotencyRecord:
			put(s.idempotency, byID(v.Key), v)
		default:
			return fmt.Errorf("import: record %d: kind %q holds a %T", i, r.Kind, r.Value)
		}
	}
	for _, coll := range order {
		docs := writes[coll]
		for len(docs) > 0 {
			n := min(len(docs), importBatchSize)
			filters, batch := make([]bson.M, n), make([]any, n)
			for i, d := range docs[:n] {
				filters[i], batch[i] = d.filter, d.doc
			}
			if err := s.importBatch(ctx, coll, filters, batch); err != nil {
				return wrap("import into "+coll.Name(), err)
			}
			docs = docs[n:]
		}
	}
	if clients {
		ctx, cancel := s.operation(ctx)
		defer cancel()
		return s.clientsChanged(ctx)
	}
	return nil
}

// importBatch writes one batch of Import's documents, within the
// operation timeout: inserted, all at once, and those whose _id is held
// already then replace the stored ones. An import into an empty store (the
// usual one) is so one insert per batch.
func (s *Store) importBatch(ctx context.Context, coll *mongo.Collection, filters []bson.M, docs []any) error {
	ctx, cancel := s.operation(ctx)
	defer cancel()
	_, err := coll.InsertMany(ctx, docs, options.InsertMany().SetOrdered(false))
	if err == nil {
		return nil
	}
	var bwe mongo.BulkWriteException
	if !errors.As(err, &bwe) || bwe.WriteConcernError != nil {
		return err
	}
	var replace []mongo.WriteModel
	for _, we := range bwe.WriteErrors {
		if !mongo.IsDuplicateKeyError(mongo.WriteException{WriteErrors: []mongo.WriteError{we.WriteError}}) || we.Index >= len(docs) {
			return err
		}
		replace = append(replace, mongo.NewReplaceOneModel().
			SetFilter(filters[we.Index]).SetReplacement(docs[we.Index]).SetUpsert(true))
	}
	_, err = coll.BulkWrite(ctx, replace, options.BulkWrite().SetOrdered(false))
	return err
}

// deref is the record value a pointer points to (store.DecodeRecord gives
// pointers), or the value itself; nil for a nil pointer.
func deref(v any) any {
	switch p := v.(type) {
	case *store.Company:
		return value(p)
	case *store.Network:
		return value(p)
	case *store.Client:
		return value(p)
	case *store.Sequence:
		return value(p)
	case *store.User:
		return value(p)
	case *store.OAuthClient:
		return value(p)
	case *store.Token:
		return value(p)
	case *store.Incident:
		return value(p)
	case *store.Comment:
		return value(p)
	case *store.Activity:
		return value(p)
	case *store.IdempotencyRecord:
		return value(p)
	}
	return v
}

func value[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

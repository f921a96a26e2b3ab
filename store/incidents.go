package store

import (
	"context"
	"encoding/json"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// Incident is an incident document as stored. Its data holds every accepted
// payload field together with the fields the gateway maintains.
type Incident struct {
	ID               string `bson:"_id"`
	Dataspace        string `bson:"dataspace"`
	OwnerID          string `bson:"ownerId"`
	NetworkID        string `bson:"networkId"`
	ProcessType      string `bson:"processType"`
	SchemaVersion    int    `bson:"schemaVersion"`
	DataVersion      int64  `bson:"dataVersion"`
	CreatedByUserID  string `bson:"createdByUserId"`
	LastUpdatedBy    string `bson:"lastUpdatedByUserId"`
	CreatedAt        int64  `bson:"creationDateTime"`
	LastUpdatedAt    int64  `bson:"lastUpdatedDateTime"`
	CurrentBaseState string `bson:"currentBaseState"`
	// Number is the per-company sequence number behind "INC-<n>".
	Number int64          `bson:"number"`
	Data   map[string]any `bson:"data"`
}

// InsertIncident stores a new incident.
func (s *Store) InsertIncident(ctx context.Context, inc *Incident) error {
	_, err := s.incidents.InsertOne(ctx, inc)
	return wrap("insert incident", err)
}

// FindIncident returns the incident with this id in this dataspace, or
// ErrNotFound. Whether the caller may see it is the caller's decision.
func (s *Store) FindIncident(ctx context.Context, dataspace, id string) (*Incident, error) {
	var inc Incident
	err := s.incidents.FindOne(ctx, bson.M{"_id": id, "dataspace": dataspace}).Decode(&inc)
	if err != nil {
		return nil, wrap("find incident", err)
	}
	return &inc, nil
}

// NextSequence atomically increments and returns the named counter of a
// company in a dataspace, starting at 1. A number handed out is never handed
// out again, even if the write that wanted it fails afterwards (the sequence
// may have gaps, never repeats).
func (s *Store) NextSequence(ctx context.Context, dataspace, ownerID, name string) (int64, error) {
	// The key is a JSON array so that no choice of names can collide.
	key, _ := json.Marshal([]string{name, dataspace, ownerID})
	var doc struct {
		Seq int64 `bson:"seq"`
	}
	defer s.locks.lock("sequences", string(key))()
	var err error
	// Two first calls may both try to create the counter; the loser of that
	// race gets a duplicate key error and simply increments the winner's.
	for attempt := 0; attempt < 3; attempt++ {
		err = s.sequences.FindOneAndUpdate(ctx,
			bson.M{"_id": string(key)},
			bson.M{"$inc": bson.M{"seq": int64(1)}},
			options.FindOneAndUpdate().SetUpsert(true).SetReturnDocument(options.After),
		).Decode(&doc)
		if !mongo.IsDuplicateKeyError(err) {
			break
		}
	}
	if err != nil {
		return 0, wrap("next sequence", err)
	}
	return doc.Seq, nil
}

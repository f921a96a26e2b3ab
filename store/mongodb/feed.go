package mongodb

import (
	"context"
	"errors"
	"sort"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/scwm-gateway/scwm-gateway/store"
)

// The change feed on MongoDB. A change's entry is part of its history
// entry, so it is committed by the insert that commits the change (see
// WriteChange). Its seq comes from a counter taken just before that
// insert: several gateways commit at once, so a smaller seq may be
// committed after a greater one, or never (a gateway that dies between
// the two). A reader must not pass a seq that may still come: an entry is
// listed only once feedHorizon has passed since its seq was taken. A
// write takes at most the store's operation timeout from its seq to its
// commit (the driver bounds the insert on the server too), and any seq
// smaller than an entry's was taken before that entry's, so by then every
// smaller seq is committed or never will be.
const (
	idxFeedOwner   = "feed_dataspace_ownerId_seq"
	idxFeedPartner = "feed_dataspace_partnerId_seq"
	idxFeedNetwork = "feed_dataspace_networkId_processType_seq"
	feedCounter    = "feed"
)

// feedDoc is a change's feed entry as its history entry holds it.
type feedDoc struct {
	Seq         int64  `bson:"seq"`
	Dataspace   string `bson:"dataspace"`
	ProcessType string `bson:"processType"`
	OwnerID     string `bson:"ownerId"`
	PartnerID   string `bson:"partnerId"`
	NetworkID   string `bson:"networkId"`
	// TakenAt is when the seq was taken (epoch milliseconds, after it
	// was), the time the horizon runs from.
	TakenAt int64 `bson:"takenAt"`
}

// feedIndexes are the indexes ListFeed reads: the history entries with a
// feed entry, by the ways a company sees objects, in seq order.
func (s *Store) feedIndexes() []index {
	return []index{
		{coll: s.activities, name: idxFeedOwner, keys: []string{"feed.dataspace", "feed.ownerId", "feed.seq"}, sparse: true},
		{coll: s.activities, name: idxFeedPartner, keys: []string{"feed.dataspace", "feed.partnerId", "feed.seq"}, sparse: true},
		{coll: s.activities, name: idxFeedNetwork, keys: []string{"feed.dataspace", "feed.networkId", "feed.processType", "feed.seq"}, sparse: true},
	}
}

// feedEntry takes the seq of a change about to be committed.
func (s *Store) feedEntry(ctx context.Context, inc *store.Incident, _ store.Activity) (*feedDoc, error) {
	seq, err := s.reserve(ctx, feedCounter, 1)
	if err != nil {
		return nil, err
	}
	return &feedDoc{Seq: seq, Dataspace: inc.Dataspace, ProcessType: inc.ProcessType, OwnerID: inc.OwnerID,
		PartnerID: inc.PartnerID, NetworkID: inc.NetworkID, TakenAt: time.Now().UnixMilli()}, nil
}

// feedClockSkew is how far the clocks of the gateways sharing a database
// may differ, for the feed's horizon.
const feedClockSkew = 5 * time.Second

// ListFeed lists the changes q's company may see after q.After, oldest
// first, at most q.Limit, of those whose horizon has passed: one read of
// an index per way the company sees objects, merged by seq.
func (s *Store) ListFeed(ctx context.Context, q store.FeedQuery) ([]store.FeedEntry, error) {
	ctx, cancel := s.operation(ctx)
	defer cancel()
	if q.Limit <= 0 {
		return nil, nil
	}
	type branch struct {
		filter bson.D
		index  string
	}
	branches := []branch{
		{bson.D{{Key: "feed.ownerId", Value: q.Company}}, idxFeedOwner},
		{bson.D{{Key: "feed.partnerId", Value: q.Company}}, idxFeedPartner},
	}
	for _, n := range q.Networks {
		for _, k := range q.SharedKinds {
			branches = append(branches, branch{bson.D{{Key: "feed.networkId", Value: n}, {Key: "feed.processType", Value: k}}, idxFeedNetwork})
		}
	}
	horizon := time.Now().Add(-s.feedHorizon).UnixMilli()
	seen := map[int64]bool{}
	var out []store.FeedEntry
	for _, b := range branches {
		filter := append(bson.D{{Key: "feed.dataspace", Value: q.Dataspace}}, b.filter...)
		filter = append(filter, bson.E{Key: "feed.seq", Value: bson.M{"$gt": q.After}})
		cur, err := s.activities.Find(ctx, filter, options.Find().SetHint(b.index).SetSort(bson.D{{Key: "feed.seq", Value: 1}}).
			SetLimit(int64(q.Limit)).SetProjection(bson.M{"pending": 0}))
		if err != nil {
			return nil, wrap("list feed", err)
		}
		var docs []activityDoc
		if err := cur.All(ctx, &docs); err != nil {
			return nil, wrap("list feed", err)
		}
		for _, d := range docs {
			f := d.Feed
			if f == nil || seen[f.Seq] {
				continue
			}
			seen[f.Seq] = true
			out = append(out, store.FeedEntry{Seq: f.Seq, Dataspace: f.Dataspace, ObjectID: d.IncidentID, Kind: f.ProcessType,
				OwnerID: f.OwnerID, PartnerID: f.PartnerID, NetworkID: f.NetworkID, DataVersion: d.DataVersion,
				EventName: d.EventName, LicensePlate: d.LicensePlate, At: f.TakenAt})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Seq < out[j].Seq })
	// Nothing past the first entry still inside the horizon: a smaller
	// seq than the next may yet be committed.
	for i, e := range out {
		if e.At > horizon {
			out = out[:i]
			break
		}
	}
	if len(out) > q.Limit {
		out = out[:q.Limit]
	}
	return out, nil
}

// FeedHead is the latest seq taken for the feed, 0 for none. A change
// whose seq was taken but is not committed yet counts as before it: it
// was under way when the head was read.
func (s *Store) FeedHead(ctx context.Context) (int64, error) {
	ctx, cancel := s.operation(ctx)
	defer cancel()
	var doc sequenceDoc
	err := s.sequences.FindOne(ctx, bson.M{"_id": feedCounter}).Decode(&doc)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return 0, nil
	}
	if err != nil {
		return 0, wrap("feed head", err)
	}
	return doc.Seq, nil
}

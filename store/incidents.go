package store

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/scwm-gateway/scwm-gateway/internal/jsonvalue"
)

// Incident is one version of an incident: its metadata, its data (every
// accepted payload field with the fields the gateway maintains) and its
// comments. Activities is its history, filled only when asked for
// (WithActivities).
//
// Incidents are stored as versions (see versionDoc): a change never updates
// a stored document, it inserts the next version.
type Incident struct {
	ID               string `bson:"incidentId" json:"incidentId"`
	Dataspace        string `bson:"dataspace" json:"dataspace"`
	OwnerID          string `bson:"ownerId" json:"ownerId"`
	NetworkID        string `bson:"networkId" json:"networkId"`
	ProcessType      string `bson:"processType" json:"processType"`
	SchemaVersion    int    `bson:"schemaVersion" json:"schemaVersion"`
	DataVersion      int64  `bson:"dataVersion" json:"dataVersion"`
	CreatedByUserID  string `bson:"createdByUserId" json:"createdByUserId"`
	LastUpdatedBy    string `bson:"lastUpdatedByUserId" json:"lastUpdatedByUserId"`
	CreatedAt        int64  `bson:"creationDateTime" json:"creationDateTime"`
	LastUpdatedAt    int64  `bson:"lastUpdatedDateTime" json:"lastUpdatedDateTime"`
	CurrentBaseState string `bson:"currentBaseState" json:"currentBaseState"`
	// Number is the per-company sequence number behind "INC-<n>".
	Number int64 `bson:"number" json:"number"`
	// PartnerID is the partner company the incident was submitted to; empty
	// until it is submitted.
	PartnerID string         `bson:"partnerId" json:"partnerId"`
	Data      map[string]any `bson:"data,omitempty" json:"data,omitempty"`
	Comments  []Comment      `bson:"comments,omitempty" json:"comments,omitempty"`

	Activities []Activity `bson:"-" json:"-"`
}

// versionDoc is how an incident is stored: one document per version, in the
// incident_versions collection, each the whole incident as that version left
// it together with the history entry of the event that made it. Version 1 is
// written by the add; every later event inserts version n+1 under the _id
// "<incident id>/<n+1>".
//
// Writing versions rather than updating one document is what lets changes
// be grouped: FerretDB commits each update in a transaction of its own
// (which holds its single writer while the document is decoded and encoded
// whole), while inserts of any kind share one InsertMany (see
// groupInserter). It also makes every change a compare-and-set on any store:
// the _id of version n+1 can be written once, so of two changes of version n
// one wins and the other sees a duplicate key. The history is the versions'
// entries, so an incident's document does not grow with its history.
//
// On FerretDB a version is stored in a compact form, see compactVersion.
type versionDoc struct {
	Key      string `bson:"_id" json:"-"`
	Incident `bson:",inline"`
	Activity Activity `bson:"activity" json:"activity"`
	// LicensePlate is the activity's, where FindEffect looks for it.
	LicensePlate string `bson:"licensePlate" json:"licensePlate"`

	// JSON holds the version as JSON text in the compact form; decoded
	// reads it into the fields above.
	JSON string `bson:"json,omitempty" json:"-"`
}

// newVersionDoc is version inc.DataVersion of an incident, made by the
// event of activity.
func newVersionDoc(inc *Incident, activity Activity) *versionDoc {
	doc := &versionDoc{Key: versionKey(inc.ID, inc.DataVersion), Incident: *inc, Activity: activity, LicensePlate: activity.LicensePlate}
	doc.Activities = nil
	doc.Activity.DataVersion = inc.DataVersion
	return doc
}

// compactVersion is a version as written to FerretDB: the fields its
// queries name (_id for every lookup, dataspace and ownerId to list a
// company's incidents by, licensePlate for FindEffect) and those a person
// looks for first, with the whole version as JSON text. FerretDB v1.24
// turns every stored document into JSON with a schema of each nested
// value's type, inside its single writer's transaction, and decodes it the
// same way; the payload's nesting, then the number of fields, made that the
// largest part of a write. A string is one value, so the writer's share of
// an add shrinks (docs/storage.md). FerretDB filters all but {_id} by
// decoding every document anyway, so its queries lose nothing. On MongoDB
// versions stay documents, for whoever queries them there; decoded reads
// either form, so data copied between the two stays readable.
type compactVersion struct {
	Key          string `bson:"_id"`
	IncidentID   string `bson:"incidentId"`
	DataVersion  int64  `bson:"dataVersion"`
	Dataspace    string `bson:"dataspace"`
	OwnerID      string `bson:"ownerId"`
	LicensePlate string `bson:"licensePlate"`
	JSON         string `bson:"json"`
}

func compact(doc *versionDoc) (*compactVersion, error) {
	text, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("encode version %s: %w", doc.Key, err)
	}
	return &compactVersion{Key: doc.Key, IncidentID: doc.ID, DataVersion: doc.DataVersion, Dataspace: doc.Dataspace,
		OwnerID: doc.OwnerID, LicensePlate: doc.LicensePlate, JSON: string(text)}, nil
}

// insertVersion writes one version, in the form its store keeps.
func (s *Store) insertVersion(ctx context.Context, doc *versionDoc) error {
	if !s.ferret {
		return s.versionInserts.insert(ctx, doc)
	}
	c, err := compact(doc)
	if err != nil {
		return err
	}
	return s.versionInserts.insert(ctx, c)
}

// versionKey is the _id of version v of an incident.
func versionKey(id string, v int64) string {
	return id + "/" + strconv.FormatInt(v, 10)
}

// Comment is a comment on an incident, with its attachments' metadata.
type Comment struct {
	ID             string           `bson:"id" json:"id"`
	CommentText    string           `bson:"commentText" json:"commentText"`
	VisibilityType string           `bson:"visibilityType" json:"visibilityType"`
	Attachments    []map[string]any `bson:"attachments" json:"attachments"`
	CompanyID      string           `bson:"companyId" json:"companyId"`
	CreatedBy      string           `bson:"createdByUserId" json:"createdByUserId"`
	CreatedAt      int64            `bson:"creationDateTime" json:"creationDateTime"`
	UpdatedBy      string           `bson:"lastUpdatedByUserId" json:"lastUpdatedByUserId"`
	UpdatedAt      int64            `bson:"lastUpdatedDateTime" json:"lastUpdatedDateTime"`
	LicensePlate   string           `bson:"licensePlate" json:"licensePlate"`
}

// Activity is one entry of an incident's history: the event that changed it
// and what changed.
type Activity struct {
	LicensePlate string   `bson:"licensePlate" json:"licensePlate"`
	EventName    string   `bson:"eventName" json:"eventName"`
	UserID       string   `bson:"userId" json:"userId"`
	CompanyID    string   `bson:"companyId" json:"companyId"`
	DateTime     int64    `bson:"dateTime" json:"dateTime"`
	DataVersion  int64    `bson:"dataVersion" json:"dataVersion"`
	Fields       []string `bson:"fields,omitempty" json:"fields,omitempty"`
	StateFrom    string   `bson:"stateFrom,omitempty" json:"stateFrom,omitempty"`
	StateTo      string   `bson:"stateTo,omitempty" json:"stateTo,omitempty"`
	CommentIDs   []string `bson:"commentIds,omitempty" json:"commentIds,omitempty"`
	// Detail keeps what the change removed or recorded, such as the
	// conclusion a reopen cleared.
	Detail map[string]any `bson:"detail,omitempty" json:"detail,omitempty"`
}

// ErrConflict is returned when a version to be written was written
// meanwhile: the change was planned from a version that is no longer the
// latest.
var ErrConflict = errors.New("the incident changed meanwhile")

// InsertIncident stores a new incident as its version inc.DataVersion (1),
// with its first history entry, inc.Activities[0].
// Concurrent inserts are committed together (see groupInserter).
func (s *Store) InsertIncident(ctx context.Context, inc *Incident) error {
	ctx, cancel := s.operation(ctx)
	defer cancel()
	if len(inc.Activities) != 1 {
		return fmt.Errorf("insert incident %s: %d history entries, want the one of its creation", inc.ID, len(inc.Activities))
	}
	doc := newVersionDoc(inc, inc.Activities[0])
	if err := s.insertVersion(ctx, doc); err != nil {
		return wrap("insert incident", err)
	}
	if s.cache != nil {
		cached := doc.Incident
		cached.Data = jsonvalue.Copy(inc.Data).(map[string]any)
		cached.Comments = slices.Clone(inc.Comments)
		s.cache.added(&cached)
	}
	return nil
}

// Include is what FindIncident loads besides the record: none, one or both
// of WithComments and WithActivities, joined with |.
type Include uint8

// What FindIncident can load besides the record.
const (
	WithComments   Include = 1 << iota // the comments
	WithActivities                     // the activity history
)

// FindIncident returns the latest version of the incident with this id in
// this dataspace, or ErrNotFound. with selects whether comments and
// activities are returned too. Whether the caller may see the incident is
// the caller's decision.
//
// Callers must not modify the Data or Comments of what it returns: they may
// be shared with the cache.
func (s *Store) FindIncident(ctx context.Context, dataspace, id string, with Include) (*Incident, error) {
	cached, hit, gen := s.cache.get(id)
	inc := &cached
	if !hit || with&WithActivities != 0 {
		// A cached incident costs no store operation; the rest does.
		var cancel context.CancelFunc
		ctx, cancel = s.operation(ctx)
		defer cancel()
	}
	if !hit {
		doc, err := s.latestVersion(ctx, id)
		if err != nil {
			return nil, wrap("find incident", err)
		}
		inc = &doc.Incident
		s.cache.put(inc, gen)
	}
	if inc.Dataspace != dataspace {
		return nil, fmt.Errorf("find incident: %w", ErrNotFound)
	}
	if with&WithComments == 0 {
		inc.Comments = nil
	}
	if with&WithActivities != 0 {
		history, err := s.history(ctx, id, inc.DataVersion)
		if err != nil {
			return nil, wrap("find incident history", err)
		}
		inc.Activities = history
	}
	return inc, nil
}

// latestVersion loads the newest version of an incident, or
// mongo.ErrNoDocuments.
//
// MongoDB finds it by the (incidentId, dataVersion) index. FerretDB v1.24
// looks documents up by index only for a filter of exactly {_id} and scans
// the whole collection for any other, so there the versions are probed by
// _id: versions are numbered 1..n without gaps (each is written as its
// predecessor's successor), so doubling steps from 1 and then halving
// between the last version found and the first missing one finds n in
// about 2*log2(n) lookups. One process owns a FerretDB and changes an
// incident under its lock, so n does not move while it is probed; the
// cache spares most lookups anyway.
func (s *Store) latestVersion(ctx context.Context, id string) (*versionDoc, error) {
	if !s.ferret {
		var doc versionDoc
		err := s.versions.FindOne(ctx, bson.M{"incidentId": id},
			options.FindOne().SetSort(bson.D{{Key: "dataVersion", Value: -1}})).Decode(&doc)
		if err != nil {
			return nil, err
		}
		return decoded(&doc)
	}
	var found *versionDoc
	probe := func(v int64) (bool, error) {
		var doc versionDoc
		err := s.versions.FindOne(ctx, bson.M{"_id": versionKey(id, v)}).Decode(&doc)
		if errors.Is(err, mongo.ErrNoDocuments) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		found = &doc
		return true, nil
	}
	ok, err := probe(1)
	if err != nil || !ok {
		return nil, cmp.Or(err, mongo.ErrNoDocuments)
	}
	// lo exists; hi, once known (> 0), does not.
	lo, hi, step := int64(1), int64(0), int64(1)
	for hi == 0 {
		if ok, err = probe(lo + step); err != nil {
			return nil, err
		}
		if ok {
			lo, step = lo+step, 2*step
		} else {
			hi = lo + step
		}
	}
	last := found // the version lo
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		if ok, err = probe(mid); err != nil {
			return nil, err
		}
		if ok {
			lo, last = mid, found
		} else {
			hi = mid
		}
	}
	return decoded(last)
}

// decoded turns a version as read into plain Go values: the compact form
// (see compactVersion) decoded from its JSON text, and BSON arrays made
// slices. Numbers come out as BSON gives them either way: int64 when whole,
// float64 otherwise.
func decoded(doc *versionDoc) (*versionDoc, error) {
	if doc.JSON != "" {
		key := doc.Key
		if err := unmarshalText(doc.JSON, doc); err != nil {
			return nil, fmt.Errorf("decode version %s: %w", key, err)
		}
		doc.Key, doc.JSON = key, ""
	}
	doc.Data = jsonvalue.Plain(doc.Data).(map[string]any)
	for i := range doc.Comments {
		for j, a := range doc.Comments[i].Attachments {
			doc.Comments[i].Attachments[j] = jsonvalue.Plain(a).(map[string]any)
		}
	}
	if doc.Activity.Detail != nil {
		doc.Activity.Detail = jsonvalue.Plain(doc.Activity.Detail).(map[string]any)
	}
	return doc, nil
}

// unmarshalText decodes JSON text into v, numbers kept as json.Number for
// jsonvalue.Plain to convert.
func unmarshalText(text string, v any) error {
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	return dec.Decode(v)
}

// history returns the history entries of versions 1..n of an incident,
// oldest first. On FerretDB each version is looked up by _id (see
// latestVersion), a few at a time.
func (s *Store) history(ctx context.Context, id string, n int64) ([]Activity, error) {
	if !s.ferret {
		cur, err := s.versions.Find(ctx, bson.M{"incidentId": id, "dataVersion": bson.M{"$lte": n}},
			options.Find().SetProjection(bson.M{"activity": 1, "json": 1}).SetSort(bson.D{{Key: "dataVersion", Value: 1}}))
		if err != nil {
			return nil, err
		}
		var docs []versionDoc
		if err := cur.All(ctx, &docs); err != nil {
			return nil, err
		}
		out := make([]Activity, len(docs))
		for i := range docs {
			doc, err := decoded(&docs[i])
			if err != nil {
				return nil, err
			}
			out[i] = doc.Activity
		}
		return out, nil
	}
	only := options.FindOne().SetProjection(bson.M{"activity": 1, "json": 1})
	out := make([]Activity, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	next := make(chan int64)
	for range min(n, historyLookups) {
		wg.Go(func() {
			for v := range next {
				var doc versionDoc
				err := s.versions.FindOne(ctx, bson.M{"_id": versionKey(id, v)}, only).Decode(&doc)
				if err == nil {
					_, err = decoded(&doc)
				}
				out[v-1], errs[v-1] = doc.Activity, err
			}
		})
	}
	for v := int64(1); v <= n; v++ {
		next <- v
	}
	close(next)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}

// historyLookups is how many versions history looks up at once on FerretDB.
const historyLookups = 4

// IncidentVersions is the collection the incident versions are stored in,
// one document a version (see versionDoc), for tests that check what was
// written without going through the store's reads. The gateway does not
// use it.
func (s *Store) IncidentVersions() *mongo.Collection { return s.versions }

// WriteVersion stores next, planned from the incident's latest version,
// as its following version (next.DataVersion, at least 2) with its history
// entry. The store applies no rule of the domain: it writes the version it
// is given. The write is one insert of the version's _id, so of two writers
// of one version exactly one wins; the other gets ErrConflict (another
// change, here or on another gateway sharing the store, came first) and
// plans again from the newer version.
//
// Callers must not modify next's Data or Comments afterwards: the cache
// keeps a copy of its own.
func (s *Store) WriteVersion(ctx context.Context, next *Incident, activity Activity) error {
	ctx, cancel := s.operation(ctx)
	defer cancel()
	if next.DataVersion < 2 {
		return fmt.Errorf("write version %d of incident %s: a change writes version 2 or later", next.DataVersion, next.ID)
	}
	doc := newVersionDoc(next, activity)
	// Reads in flight may have fetched the old version: they must not
	// cache it. The new one is known, so it is cached once written.
	s.cache.changed(next.ID)
	err := s.insertVersion(ctx, doc)
	switch {
	case err == nil:
		cached := *next
		cached.Data = jsonvalue.Copy(next.Data).(map[string]any)
		cached.Comments = slices.Clone(next.Comments)
		cached.Activities = nil
		s.cache.added(&cached)
		return nil
	case mongo.IsDuplicateKeyError(err):
		return fmt.Errorf("write version %d of incident %s: it was written meanwhile: %w", next.DataVersion, next.ID, ErrConflict)
	}
	return wrap("write incident version", err)
}

// NextSequence returns the next number of the named counter of a company in
// a dataspace, starting at 1. A number handed out is never handed out again,
// by this or any other gateway instance; numbers may have gaps.
//
// Numbers are reserved in blocks: one atomic $inc reserves a block, and the
// block's numbers are handed out from memory. The block size adapts to the
// rate: 1 when numbers are drawn seldom (so a restart loses none), doubling
// up to maxSequenceBlock while they are drawn faster than a refill every
// sequenceBurst, so that a burst of adds does not queue on one counter.
// Numbers of a block not handed out before a restart are skipped.
func (s *Store) NextSequence(ctx context.Context, dataspace, ownerID, name string) (int64, error) {
	ctx, cancel := s.operation(ctx)
	defer cancel()
	// The key is a JSON array so that no choice of names can collide.
	raw, _ := json.Marshal([]string{name, dataspace, ownerID})
	key := string(raw)
	s.seqMu.Lock()
	b := s.seqBlocks[key]
	if b == nil {
		b = &sequenceBlock{turn: make(chan struct{}, 1)}
		s.seqBlocks[key] = b
	}
	s.seqMu.Unlock()

	select {
	case b.turn <- struct{}{}:
		defer func() { <-b.turn }()
	case <-ctx.Done():
		return 0, fmt.Errorf("next sequence: %w: %w", ErrBusy, ctx.Err())
	}
	if b.next > 0 && b.next <= b.end {
		n := b.next
		b.next++
		return n, nil
	}
	size := int64(1)
	if time.Since(b.refilled) < sequenceBurst {
		size = min(2*b.size, maxSequenceBlock)
	}
	end, err := s.reserveSequence(ctx, key, size)
	if err != nil {
		return 0, err
	}
	b.size, b.refilled = size, time.Now()
	b.next, b.end = end-size+2, end
	return end - size + 1, nil
}

// Block sizes of NextSequence.
const (
	maxSequenceBlock = 256
	sequenceBurst    = 250 * time.Millisecond
)

// sequenceBlock is the part of a counter this process has reserved.
type sequenceBlock struct {
	// turn is held (its one slot filled) while the block is used or
	// refilled, so that waiters can give up at their deadline.
	turn      chan struct{}
	next, end int64 // numbers next..end are reserved and unused
	size      int64
	refilled  time.Time
}

// reserveSequence atomically adds size to the counter and returns its new
// value: the numbers value-size+1..value are this caller's.
//
// Callers hold the key's sequenceBlock turn, so within this process only one
// reservation of a counter runs at a time (which is what the embedded store
// needs, see docLocks).
func (s *Store) reserveSequence(ctx context.Context, key string, size int64) (int64, error) {
	done, err := s.writeTurnContext(ctx)
	if err != nil {
		return 0, err
	}
	defer done()
	var doc struct {
		Seq int64 `bson:"seq"`
	}
	// Two first calls may both try to create the counter; the loser of that
	// race gets a duplicate key error and simply increments the winner's.
	for attempt := 0; attempt < 3; attempt++ {
		err = s.sequences.FindOneAndUpdate(ctx,
			bson.M{"_id": key},
			bson.M{"$inc": bson.M{"seq": size}},
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

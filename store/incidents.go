package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// Incident is an incident document as stored: its metadata, its data (every
// accepted payload field with the fields the gateway maintains), and, in the
// same document so that every change is one atomic write, its comments and
// its activity history.
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
	Number int64 `bson:"number"`
	// PartnerID is the partner company the incident was submitted to; empty
	// until it is submitted.
	PartnerID string         `bson:"partnerId"`
	Data      map[string]any `bson:"data"`

	Comments   []Comment  `bson:"comments,omitempty"`
	Activities []Activity `bson:"activities,omitempty"`
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

// ErrConflict is returned when a conditional change finds the incident no
// longer in the state the condition names.
var ErrConflict = errors.New("condition not met")

// InsertIncident stores a new incident.
// Concurrent inserts are committed together (see groupInserter).
func (s *Store) InsertIncident(ctx context.Context, inc *Incident) error {
	if err := s.incidentInserts.insert(ctx, inc); err != nil {
		return wrap("insert incident", err)
	}
	if s.cache != nil {
		cached := *inc
		cached.Comments, cached.Activities = nil, nil
		cached.Data = storedCopy(inc.Data).(map[string]any)
		s.cache.added(&cached)
	}
	return nil
}

// What FindIncident loads besides the record.
const (
	WithComments   = 1 << iota // the comments
	WithActivities             // the activity history
)

// FindIncident returns the incident with this id in this dataspace, or
// ErrNotFound. with selects whether comments and activities are loaded too.
// Whether the caller may see the incident is the caller's decision.
//
// Callers must not modify the Data of what it returns: it may be shared with
// the cache.
func (s *Store) FindIncident(ctx context.Context, dataspace, id string, with int) (*Incident, error) {
	var gen uint64
	if with == 0 {
		var cached Incident
		var hit bool
		if cached, hit, gen = s.cache.get(id); hit {
			if cached.Dataspace != dataspace {
				return nil, fmt.Errorf("find incident: %w", ErrNotFound)
			}
			return &cached, nil
		}
	}
	projection := bson.M{}
	if with&WithComments == 0 {
		projection["comments"] = 0
	}
	if with&WithActivities == 0 {
		projection["activities"] = 0
	}
	opts := options.FindOne()
	if len(projection) > 0 {
		opts.SetProjection(projection)
	}
	var inc Incident
	// By _id alone: FerretDB v1.24 turns only a filter of exactly {_id}
	// into an indexed lookup and scans the whole collection for any other.
	err := s.incidents.FindOne(ctx, bson.M{"_id": id}, opts).Decode(&inc)
	if err != nil {
		return nil, wrap("find incident", err)
	}
	if inc.Dataspace != dataspace {
		return nil, fmt.Errorf("find incident: %w", ErrNotFound)
	}
	inc.Data = plain(inc.Data).(map[string]any)
	for i := range inc.Comments {
		for j, a := range inc.Comments[i].Attachments {
			inc.Comments[i].Attachments[j] = plain(a).(map[string]any)
		}
	}
	for i := range inc.Activities {
		if inc.Activities[i].Detail != nil {
			inc.Activities[i].Detail = plain(inc.Activities[i].Detail).(map[string]any)
		}
	}
	if with == 0 {
		s.cache.put(&inc, gen)
	}
	return &inc, nil
}

// plain turns decoded BSON into plain Go JSON values: arrays come out of the
// driver as bson.A, and callers should not need to know that type.
func plain(v any) any {
	switch v := v.(type) {
	case map[string]any:
		if v == nil {
			return map[string]any{}
		}
		for k, e := range v {
			v[k] = plain(e)
		}
		return v
	case bson.A:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = plain(e)
		}
		return out
	case []any:
		for i, e := range v {
			v[i] = plain(e)
		}
		return v
	}
	return v
}

// ListIncidents returns the incidents a company owns in a dataspace, without
// comments and history, oldest first. It serves operators and tests; no
// event lists incidents.
func (s *Store) ListIncidents(ctx context.Context, dataspace, ownerID string) ([]Incident, error) {
	cur, err := s.incidents.Find(ctx, bson.M{"dataspace": dataspace, "ownerId": ownerID},
		options.Find().SetProjection(bson.M{"comments": 0, "activities": 0}).SetSort(bson.M{"_id": 1}))
	if err != nil {
		return nil, wrap("list incidents", err)
	}
	var out []Incident
	if err := cur.All(ctx, &out); err != nil {
		return nil, wrap("list incidents", err)
	}
	for i := range out {
		out[i].Data = plain(out[i].Data).(map[string]any)
	}
	return out, nil
}

// Change is one change of an incident: conditions it must meet at the moment
// of the write, and what it sets. Applied as one atomic single-document
// update, with dataVersion +1, the last-updated fields and the activity
// entry.
type Change struct {
	// IfStates, when set, requires currentBaseState to be one of them.
	IfStates []string
	// IfDataVersion, when positive, requires dataVersion to equal it.
	IfDataVersion int64
	// IfNotSubmitted requires the incident not to be submitted yet.
	IfNotSubmitted bool

	// Set maps field paths ("data.x.y", "currentBaseState") to values.
	Set map[string]any
	// AddToSet and Pull add a value to, or remove it from, an array field.
	AddToSet map[string]any
	Pull     map[string]any
	// AddComments are appended to the comments.
	AddComments []Comment
	// ReplaceComments, when not nil, replaces all comments (comment edits;
	// use with IfDataVersion).
	ReplaceComments []Comment

	UserID   string
	DateTime int64
	Activity Activity
}

// ChangeIncident applies ch to the incident as one atomic write and returns
// the new dataVersion. If the incident does not meet ch's conditions it
// returns ErrConflict; if it does not exist, ErrNotFound.
func (s *Store) ChangeIncident(ctx context.Context, dataspace, id string, ch Change) (int64, error) {
	defer s.locks.lock(s.incidents.Name(), id)()
	filter := bson.M{"_id": id, "dataspace": dataspace}
	if len(ch.IfStates) > 0 {
		filter["currentBaseState"] = bson.M{"$in": ch.IfStates}
	}
	if ch.IfDataVersion > 0 {
		filter["dataVersion"] = ch.IfDataVersion
	}
	if ch.IfNotSubmitted {
		filter["partnerId"] = ""
	}
	set := bson.M{"lastUpdatedByUserId": ch.UserID, "lastUpdatedDateTime": ch.DateTime}
	for k, v := range ch.Set {
		set[k] = v
	}
	if ch.ReplaceComments != nil {
		set["comments"] = ch.ReplaceComments
	}
	update := bson.M{"$set": set, "$inc": bson.M{"dataVersion": int64(1)}}
	push := bson.M{"activities": ch.Activity}
	if len(ch.AddComments) > 0 {
		push["comments"] = bson.M{"$each": ch.AddComments}
	}
	update["$push"] = push
	if len(ch.AddToSet) > 0 {
		update["$addToSet"] = ch.AddToSet
	}
	if len(ch.Pull) > 0 {
		update["$pull"] = ch.Pull
	}
	if s.ferret {
		return s.changeUnderLock(ctx, dataspace, id, ch, update)
	}
	if ch.IfDataVersion > 0 {
		// The new version is known: a plain update, no document sent back.
		res, err := s.incidents.UpdateOne(ctx, filter, update)
		if err != nil {
			return 0, wrap("change incident", err)
		}
		if res.MatchedCount == 0 {
			return 0, s.whyNoMatch(ctx, dataspace, id)
		}
		return ch.IfDataVersion + 1, nil
	}
	var after struct {
		DataVersion int64 `bson:"dataVersion"`
	}
	opts := options.FindOneAndUpdate().SetReturnDocument(options.After)
	if !s.ferret {
		// FerretDB v1.24 answers NotImplemented to a findAndModify
		// projection; MongoDB then returns only the version.
		opts.SetProjection(bson.M{"dataVersion": 1})
	}
	err := s.incidents.FindOneAndUpdate(ctx, filter, update, opts).Decode(&after)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return 0, s.whyNoMatch(ctx, dataspace, id)
	}
	if err != nil {
		return 0, wrap("change incident", err)
	}
	return after.DataVersion, nil
}

// changeUnderLock is ChangeIncident on FerretDB, with the document's lock
// held: the conditions are checked on the document as read, and the update
// names the document by _id alone, the only filter FerretDB v1.24 looks up
// by index rather than by scanning the collection. The lock makes the read
// and the write one step (one process owns a FerretDB).
func (s *Store) changeUnderLock(ctx context.Context, dataspace, id string, ch Change, update bson.M) (int64, error) {
	cur, err := s.FindIncident(ctx, dataspace, id, 0)
	if err != nil {
		return 0, err
	}
	switch {
	case len(ch.IfStates) > 0 && !slices.Contains(ch.IfStates, cur.CurrentBaseState),
		ch.IfDataVersion > 0 && cur.DataVersion != ch.IfDataVersion,
		ch.IfNotSubmitted && cur.PartnerID != "":
		return 0, fmt.Errorf("change incident %s: %w", id, ErrConflict)
	}
	done := s.writeTurn()
	_, err = s.incidents.UpdateOne(ctx, bson.M{"_id": id}, update)
	done()
	// Reads in flight may have fetched the old document: they must not
	// cache it. The new one is known, so it is cached at once.
	s.cache.changed(id)
	if err != nil {
		return 0, wrap("change incident", err)
	}
	if next, ok := applied(cur, ch); ok {
		s.cache.added(next)
	}
	return cur.DataVersion + 1, nil
}

// applied is the incident as a change leaves it, computed in memory for
// the cache. It handles what ChangeIncident's callers send: values set at
// paths, and values added to or pulled from an array; anything else (or a
// path through a value that is not an object) makes it give up, and the
// incident is read from the store next time.
func applied(cur *Incident, ch Change) (*Incident, bool) {
	next := *cur
	next.Data = storedCopy(cur.Data).(map[string]any)
	next.DataVersion++
	next.LastUpdatedBy, next.LastUpdatedAt = ch.UserID, ch.DateTime
	for path, v := range ch.Set {
		switch {
		case path == "currentBaseState":
			next.CurrentBaseState, _ = v.(string)
		case path == "partnerId":
			next.PartnerID, _ = v.(string)
		case strings.HasPrefix(path, "data."):
			if !setPath(next.Data, strings.Split(path[len("data."):], "."), storedCopy(v)) {
				return nil, false
			}
		default:
			return nil, false
		}
	}
	for path, v := range ch.AddToSet {
		list, ok := arrayAt(next.Data, path)
		if !ok {
			return nil, false
		}
		if !slices.Contains(list, v) {
			list = append(list, v)
		}
		next.Data[path[len("data."):]] = list
	}
	for path, v := range ch.Pull {
		list, ok := arrayAt(next.Data, path)
		if !ok {
			return nil, false
		}
		next.Data[path[len("data."):]] = slices.DeleteFunc(list, func(e any) bool { return e == v })
	}
	return &next, true
}

// setPath sets v at keys below m, creating objects on the way; false if a
// value on the way is not an object.
func setPath(m map[string]any, keys []string, v any) bool {
	for _, k := range keys[:len(keys)-1] {
		child, ok := m[k]
		if !ok || child == nil {
			nm := map[string]any{}
			m[k] = nm
			m = nm
			continue
		}
		if m, ok = child.(map[string]any); !ok {
			return false
		}
	}
	m[keys[len(keys)-1]] = v
	return true
}

// arrayAt reads the array at a top-level "data.<field>" path.
func arrayAt(data map[string]any, path string) ([]any, bool) {
	field, ok := strings.CutPrefix(path, "data.")
	if !ok || strings.Contains(field, ".") {
		return nil, false
	}
	switch v := data[field].(type) {
	case nil:
		return []any{}, true
	case []any:
		return v, true
	}
	return nil, false
}

// whyNoMatch tells a missing incident (ErrNotFound) from one that no longer
// meets a change's conditions (ErrConflict).
func (s *Store) whyNoMatch(ctx context.Context, dataspace, id string) error {
	if _, err := s.FindIncident(ctx, dataspace, id, 0); err != nil {
		return err
	}
	return fmt.Errorf("change incident %s: %w", id, ErrConflict)
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
	// The key is a JSON array so that no choice of names can collide.
	raw, _ := json.Marshal([]string{name, dataspace, ownerID})
	key := string(raw)
	s.seqMu.Lock()
	b := s.seqBlocks[key]
	if b == nil {
		b = &sequenceBlock{}
		s.seqBlocks[key] = b
	}
	s.seqMu.Unlock()

	b.mu.Lock()
	defer b.mu.Unlock()
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
	mu        sync.Mutex
	next, end int64 // numbers next..end are reserved and unused
	size      int64
	refilled  time.Time
}

// reserveSequence atomically adds size to the counter and returns its new
// value: the numbers value-size+1..value are this caller's.
//
// Callers hold the key's sequenceBlock lock, so within this process only one
// reservation of a counter runs at a time (which is what the embedded store
// needs, see docLocks).
func (s *Store) reserveSequence(ctx context.Context, key string, size int64) (int64, error) {
	defer s.writeTurn()()
	var doc struct {
		Seq int64 `bson:"seq"`
	}
	var err error
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

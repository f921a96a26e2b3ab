package mongodb

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/scwm-gateway/scwm-gateway/store"
)

// An incident is three kinds of document (docs/storage-mongodb.md):
//
//   - incidents: its current state, _id the incident id;
//   - comments: one per comment, _id commentKey(incident, comment), with
//     writtenBy, the version of the change that last wrote it;
//   - activities: one per history entry, _id activityKey(incident,
//     version), unique: the insert of entry n is the commit point of the
//     change that makes version n. Until the change is applied the entry
//     carries all of it (pending), so that whoever meets it can finish it.
//
// Every filter of a comment or history entry names its incident (and the
// rest of the shard key docs/storage-mongodb.md recommends), so that on a
// sharded cluster it reaches one shard, and an upsert has the shard key it
// needs there.

// incidentDoc is an incident's state as stored.
type incidentDoc struct {
	Key            string `bson:"_id"`
	store.Incident `bson:",inline"`
	// Words are the words of the summary and description that search
	// matches (store.SearchWords), on the multikey search index.
	Words []string `bson:"searchWords"`
}

// newIncidentDoc is the stored form of inc, with its search words.
func newIncidentDoc(inc *store.Incident) incidentDoc {
	return incidentDoc{Key: inc.ID, Incident: *inc, Words: searchWords(inc)}
}

// searchWords are the words of an object that the search index holds, at
// most store.MaxIndexedWords of them; never nil, so that every document
// written has the field.
func searchWords(inc *store.Incident) []string {
	words := store.SearchWords(store.SearchText(inc))
	if len(words) > store.MaxIndexedWords {
		words = words[:store.MaxIndexedWords]
	}
	if words == nil {
		words = []string{}
	}
	return words
}

// commentDoc is a comment as stored.
type commentDoc struct {
	Key        string `bson:"_id"`
	IncidentID string `bson:"incidentId"`
	// WrittenBy is the DataVersion of the change that last wrote the
	// comment (0 when imported): a change writes a comment only over one
	// an older change wrote, so a late repeat of a change never undoes a
	// newer one.
	WrittenBy     int64 `bson:"writtenBy"`
	store.Comment `bson:",inline"`
}

// addedBy is the version of the change that added the comment, read from
// its position (store.CommentPosition).
func (c *commentDoc) addedBy() int64 { return c.Position >> 20 }

// activityDoc is a history entry as stored.
type activityDoc struct {
	Key            string `bson:"_id"`
	IncidentID     string `bson:"incidentId"`
	store.Activity `bson:",inline"`
	// Pending is the change of this entry while it is not yet applied to
	// the comments and the incident; PendingAt is when it was committed,
	// epoch milliseconds.
	Pending   *pendingChange `bson:"pending,omitempty"`
	PendingAt int64          `bson:"pendingAt,omitempty"`
	// Feed is the change's entry of the change feed (feed.go); entries
	// written before the feed, or imported, have none.
	Feed *feedDoc `bson:"feed,omitempty"`
}

// pendingChange is everything a committed change still has to write.
type pendingChange struct {
	// Create marks the change that creates the incident (InsertIncident).
	Create bool `bson:"create"`
	// Incident is the state the change leaves.
	Incident incidentDoc `bson:"incident"`
	// Comments are the comments it adds or replaces, as they are to be
	// stored.
	Comments []commentDoc `bson:"comments"`
}

// commentKey is the _id of a comment: a JSON array, so that no incident
// and comment ids can give the key of another pair.
func commentKey(incidentID, commentID string) string {
	k, _ := json.Marshal([]string{incidentID, commentID})
	return string(k)
}

// activityKey is the _id of version v's history entry of an incident.
func activityKey(incidentID string, v int64) string {
	return incidentID + "/" + strconv.FormatInt(v, 10)
}

// activityFilter selects version v's history entry of an incident. It
// names the incident and version besides the _id, so that on a sharded
// cluster (shard key incidentId, dataVersion) it goes to one shard.
func activityFilter(incidentID string, v int64) bson.M {
	return bson.M{"_id": activityKey(incidentID, v), "incidentId": incidentID, "dataVersion": v}
}

// The steps of a write of an incident, named for crashAfter.
const (
	stepCommitted = "committed" // the history entry is inserted
	stepComments  = "comments"  // the comments are written
	stepIncident  = "incident"  // the incident is written
)

// readAttempts bounds how often a read starts over when it met a comment
// that a newer change replaced while it read.
const readAttempts = 5

// InsertIncident stores a new incident with its comments (Position
// store.CommentPosition(1, i)) and its one history entry; ErrDuplicate if
// the id is taken. The entry is inserted first, carrying the whole
// incident: once it is in, the incident exists, and it is complete once
// its comments and state are written, by this call or by whoever meets the
// entry first (RollForward).
func (s *Store) InsertIncident(ctx context.Context, inc *store.Incident) error {
	ctx, cancel := s.operation(ctx)
	defer cancel()
	if len(inc.Activities) != 1 {
		return fmt.Errorf("insert incident %s: %d history entries, want the one of its creation", inc.ID, len(inc.Activities))
	}
	if inc.DataVersion < 1 {
		return fmt.Errorf("insert incident %s: dataVersion %d, want 1 or more", inc.ID, inc.DataVersion)
	}
	seen := map[string]bool{}
	for _, c := range inc.Comments {
		if seen[c.ID] {
			return fmt.Errorf("insert incident %s: comment %s twice: %w", inc.ID, c.ID, store.ErrDuplicate)
		}
		seen[c.ID] = true
	}
	// An incident in the store without its first entry can only have been
	// imported that way; it is taken all the same.
	err := s.incidents.FindOne(ctx, bson.M{"_id": inc.ID}, options.FindOne().SetProjection(bson.M{"_id": 1})).Err()
	switch {
	case err == nil:
		return fmt.Errorf("insert incident %s: %w", inc.ID, store.ErrDuplicate)
	case !errors.Is(err, mongo.ErrNoDocuments):
		return wrap("insert incident", err)
	}
	v := inc.DataVersion
	p := &pendingChange{Create: true, Incident: newIncidentDoc(inc)}
	for i, c := range inc.Comments {
		c.Position = store.CommentPosition(1, i)
		p.Comments = append(p.Comments, commentDoc{Key: commentKey(inc.ID, c.ID), IncidentID: inc.ID, WrittenBy: v, Comment: c})
	}
	act := inc.Activities[0]
	act.DataVersion = v
	err = s.commit(ctx, inc.ID, act, p)
	if errors.Is(err, store.ErrDuplicate) {
		return fmt.Errorf("insert incident %s: %w", inc.ID, store.ErrDuplicate)
	}
	return store.Wrap("insert incident", err)
}

// WriteChange writes a change planned from version ch.Incident.DataVersion-1
// (see store.Change), or answers ErrConflict and writes nothing if the
// incident is not at that version any more, ErrNotFound if there is no
// such incident.
//
// The history entry of the new version is inserted first, carrying the
// whole change: its _id is the version's, so of several writers of one
// version exactly one gets it in, and that insert commits the change. Then
// the comments are written, then the incident (on condition that it is
// still at the version before), then the entry's payload is dropped. A
// writer that dies after the commit leaves an entry that the next writer,
// FindEffect, a reader that meets it, or the next start completes
// (RollForward); every step can be repeated. An error after the commit
// point leaves the change committed: it is completed so.
func (s *Store) WriteChange(ctx context.Context, ch store.Change) error {
	ctx, cancel := s.operation(ctx)
	defer cancel()
	inc := ch.Incident
	if inc == nil || inc.DataVersion < 2 {
		return errors.New("write change: the change must leave the incident at dataVersion 2 or later")
	}
	v := inc.DataVersion
	what := fmt.Sprintf("write version %d of incident %s", v, inc.ID)
	cur, err := s.incidentVersion(ctx, inc.ID)
	if err != nil {
		return store.Wrap(what, err)
	}
	if cur < v-1 {
		// The change of version cur+1 may be committed and not yet
		// applied (it is the only one that can be): then the incident is
		// at cur+1, and that change is completed first.
		if _, err := s.rollForward(ctx, inc.ID, cur+1); err != nil {
			return store.Wrap(what, err)
		}
		if cur, err = s.incidentVersion(ctx, inc.ID); err != nil {
			return store.Wrap(what, err)
		}
	}
	if cur != v-1 {
		return fmt.Errorf("%s: the incident is at version %d: %w", what, cur, store.ErrConflict)
	}
	p := &pendingChange{Incident: newIncidentDoc(inc)}
	if err := s.planComments(ctx, p, ch, what); err != nil {
		return err
	}
	act := ch.Activity
	act.DataVersion = v
	err = s.commit(ctx, inc.ID, act, p)
	if errors.Is(err, store.ErrDuplicate) {
		return fmt.Errorf("%s: it was written meanwhile: %w", what, store.ErrConflict)
	}
	return store.Wrap(what, err)
}

// planComments checks the change's comments against the stored ones (a
// replaced comment must exist, an added one must not) and adds them to p
// as they are to be stored: an added one at its new position, a replaced
// one at the position it has. The incident is at the version before the
// change, so every comment up to that version is written, and no other
// change can write one before this one is committed.
func (s *Store) planComments(ctx context.Context, p *pendingChange, ch store.Change, what string) error {
	id, v := ch.Incident.ID, ch.Incident.DataVersion
	keys := []string{}
	named := map[string]bool{}
	for _, c := range append(append([]store.Comment{}, ch.AddComments...), ch.ReplaceComments...) {
		if named[c.ID] {
			return fmt.Errorf("%s: comment %s is written twice: %w", what, c.ID, store.ErrDuplicate)
		}
		named[c.ID] = true
		keys = append(keys, commentKey(id, c.ID))
	}
	if len(keys) == 0 {
		return nil
	}
	cur, err := s.comments.Find(ctx, bson.M{"incidentId": id, "_id": bson.M{"$in": keys}}, options.Find().SetProjection(bson.M{"_id": 1, "position": 1}))
	if err != nil {
		return wrap(what, err)
	}
	var stored []commentDoc
	if err := cur.All(ctx, &stored); err != nil {
		return wrap(what, err)
	}
	position := map[string]int64{}
	for _, c := range stored {
		position[c.Key] = c.Position
	}
	for i, c := range ch.AddComments {
		k := commentKey(id, c.ID)
		if _, ok := position[k]; ok {
			return fmt.Errorf("%s: comment %s exists: %w", what, c.ID, store.ErrDuplicate)
		}
		c.Position = store.CommentPosition(v, i)
		p.Comments = append(p.Comments, commentDoc{Key: k, IncidentID: id, WrittenBy: v, Comment: c})
	}
	for _, c := range ch.ReplaceComments {
		k := commentKey(id, c.ID)
		pos, ok := position[k]
		if !ok {
			return fmt.Errorf("%s: replace comment %s: %w", what, c.ID, store.ErrNotFound)
		}
		c.Position = pos
		p.Comments = append(p.Comments, commentDoc{Key: k, IncidentID: id, WrittenBy: v, Comment: c})
	}
	return nil
}

// commit inserts the history entry act of incident id with the pending
// change p, and applies p. ErrDuplicate means the entry's version was
// taken; the change there is completed first, if it is pending, so that
// the caller finds it applied when it reads again.
func (s *Store) commit(ctx context.Context, id string, act store.Activity, p *pendingChange) error {
	feed, err := s.feedEntry(ctx, &p.Incident.Incident, act)
	if err != nil {
		return err
	}
	doc := activityDoc{Key: activityKey(id, act.DataVersion), IncidentID: id, Activity: act, Pending: p, PendingAt: time.Now().UnixMilli(), Feed: feed}
	if _, err := s.activities.InsertOne(ctx, doc); err != nil {
		if mongo.IsDuplicateKeyError(err) {
			// The answer is the conflict. Completing the change met here
			// spares the caller, who reads again next, a read of the
			// version before; if that fails, whoever meets the change next
			// completes it.
			_, _ = s.rollForward(ctx, id, act.DataVersion)
		}
		return wrap("commit", err)
	}
	if err := s.crashed(stepCommitted); err != nil {
		return err
	}
	return s.apply(ctx, &doc)
}

// crashed is the test hook: the error crashAfter gives for step, if set.
func (s *Store) crashed(step string) error {
	if s.crashAfter == nil {
		return nil
	}
	return s.crashAfter(step)
}

// apply writes a committed change: its comments, the incident, and then
// drops the payload from its history entry. Each step may have been done
// already, by an earlier attempt or another gateway, and is then a no-op:
// a comment is written only over one an older change wrote, and the
// incident only while it is at the version before.
func (s *Store) apply(ctx context.Context, a *activityDoc) error {
	p, v := a.Pending, a.DataVersion
	if len(p.Comments) > 0 {
		models := make([]mongo.WriteModel, len(p.Comments))
		for i := range p.Comments {
			c := &p.Comments[i]
			models[i] = mongo.NewReplaceOneModel().
				SetFilter(bson.M{"_id": c.Key, "incidentId": c.IncidentID, "position": c.Position, "writtenBy": bson.M{"$lt": v}}).
				SetReplacement(c).SetUpsert(true)
		}
		// A comment that a change of this version or a newer one wrote
		// matches no filter, so the upsert meets its _id: a duplicate key,
		// which is the step done.
		_, err := s.comments.BulkWrite(ctx, models, options.BulkWrite().SetOrdered(false))
		if err := onlyDuplicates(err); err != nil {
			return wrap("write the comments", err)
		}
	}
	if err := s.crashed(stepComments); err != nil {
		return err
	}
	if p.Create {
		_, err := s.incidents.InsertOne(ctx, p.Incident)
		if err != nil && !mongo.IsDuplicateKeyError(err) {
			return wrap("write the incident", err)
		}
	} else {
		res, err := s.incidents.ReplaceOne(ctx, bson.M{"_id": a.IncidentID, "dataVersion": v - 1}, p.Incident)
		if err != nil {
			return wrap("write the incident", err)
		}
		if res.MatchedCount == 0 {
			cur, err := s.incidentVersion(ctx, a.IncidentID)
			if err != nil {
				return store.Wrap("write the incident", err)
			}
			if cur < v {
				return fmt.Errorf("write the incident: version %d of incident %s is committed but the incident is at %d", v, a.IncidentID, cur)
			}
		}
	}
	if err := s.crashed(stepIncident); err != nil {
		return err
	}
	_, err := s.activities.UpdateOne(ctx, activityFilter(a.IncidentID, v), bson.M{"$unset": bson.M{"pending": "", "pendingAt": ""}})
	return wrap("complete the history entry", err)
}

// onlyDuplicates is err less its duplicate key write errors: nil if those
// were all.
func onlyDuplicates(err error) error {
	var bwe mongo.BulkWriteException
	if err == nil || !errors.As(err, &bwe) || bwe.WriteConcernError != nil {
		return err
	}
	for _, we := range bwe.WriteErrors {
		if !mongo.IsDuplicateKeyError(mongo.WriteException{WriteErrors: []mongo.WriteError{we.WriteError}}) {
			return err
		}
	}
	return nil
}

// rollForward completes the change of version v of an incident if it is
// committed and pending, and reports whether that version's history entry
// exists.
func (s *Store) rollForward(ctx context.Context, id string, v int64) (bool, error) {
	var a activityDoc
	err := s.activities.FindOne(ctx, activityFilter(id, v)).Decode(&a)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return false, nil
	}
	if err != nil {
		return false, wrap("read a history entry", err)
	}
	if a.Pending == nil {
		return true, nil
	}
	return true, store.Wrap(fmt.Sprintf("complete version %d of incident %s", v, id), s.apply(ctx, &a))
}

// RollForward completes every change that is committed but not applied,
// such as those of a gateway that died in a write, and reports how many it
// completed. Open runs it; the changes it finds are also completed by
// whoever meets them first (WriteChange, FindEffect, and the reads of
// comments and history). Completing a change whose writer still runs is
// harmless: every step can be repeated.
func (s *Store) RollForward(ctx context.Context) (int, error) {
	ctx, cancel := s.operation(ctx)
	defer cancel()
	cur, err := s.activities.Find(ctx, bson.M{"pendingAt": bson.M{"$gt": 0}}, options.Find().SetHint(idxActivityPending))
	if err != nil {
		return 0, wrap("find pending changes", err)
	}
	defer cur.Close(ctx)
	n := 0
	for cur.Next(ctx) {
		var a activityDoc
		if err := cur.Decode(&a); err != nil {
			return n, wrap("read a pending change", err)
		}
		if a.Pending == nil {
			continue
		}
		if err := s.apply(ctx, &a); err != nil {
			return n, store.Wrap(fmt.Sprintf("complete version %d of incident %s", a.DataVersion, a.IncidentID), err)
		}
		n++
	}
	return n, wrap("find pending changes", cur.Err())
}

// incidentVersion is the DataVersion of the stored incident, or
// ErrNotFound.
func (s *Store) incidentVersion(ctx context.Context, id string) (int64, error) {
	var doc struct {
		DataVersion int64 `bson:"dataVersion"`
	}
	err := s.incidents.FindOne(ctx, bson.M{"_id": id}, options.FindOne().SetProjection(bson.M{"dataVersion": 1})).Decode(&doc)
	if err != nil {
		return 0, wrap("read the incident's version", err)
	}
	return doc.DataVersion, nil
}

// FindIncident loads an incident as its latest applied change left it, or
// ErrNotFound (also when it is in another dataspace); with selects its
// comments and history too.
//
// The incident is read first, then its comments and history, and what a
// newer change wrote meanwhile is left out: its history entry, the
// comments it added. A comment it replaced cannot be shown as it was, so
// then that change is completed and the read starts over.
func (s *Store) FindIncident(ctx context.Context, dataspace, id string, with store.Include) (*store.Incident, error) {
	ctx, cancel := s.operation(ctx)
	defer cancel()
	for range readAttempts {
		var doc incidentDoc
		if err := s.incidents.FindOne(ctx, bson.M{"_id": id}).Decode(&doc); err != nil {
			return nil, wrap("find incident", err)
		}
		if doc.Dataspace != dataspace {
			return nil, fmt.Errorf("find incident: %w", store.ErrNotFound)
		}
		inc := &doc.Incident
		normalizeIncident(inc)
		v := inc.DataVersion
		// The history and the comments are read at once, both after the
		// incident.
		var history []activityDoc
		var historyErr error
		var reading sync.WaitGroup
		if with&store.WithActivities != 0 {
			reading.Go(func() { history, historyErr = s.historyDocs(ctx, id, 0, 0) })
		}
		var comments []store.Comment
		var stale bool
		var err error
		if with&store.WithComments != 0 {
			comments, stale, err = s.commentsAfter(ctx, id, 0, 0, v)
		}
		reading.Wait()
		switch {
		case err != nil:
			return nil, store.Wrap("find incident comments", err)
		case historyErr != nil:
			return nil, store.Wrap("find incident history", historyErr)
		case stale:
			if _, err := s.rollForward(ctx, id, v+1); err != nil {
				return nil, store.Wrap("find incident", err)
			}
			continue
		}
		inc.Comments = comments
		if with&store.WithActivities != 0 {
			acts, moved, err := s.visibleHistory(ctx, history, v)
			if err != nil {
				return nil, store.Wrap("find incident history", err)
			}
			if moved {
				continue
			}
			inc.Activities = acts
		}
		return inc, nil
	}
	return nil, store.Unavailable("the incident kept changing while it was read", fmt.Errorf("find incident %s", id))
}

// commentsAfter lists up to limit (0: all) comments of an incident at
// version v whose position is after after. Comments a newer change added
// are left out; stale reports one that a newer change replaced, which
// cannot be shown as it was at v.
func (s *Store) commentsAfter(ctx context.Context, id string, after int64, limit int, v int64) (out []store.Comment, stale bool, err error) {
	o := options.Find().SetSort(bson.D{{Key: "position", Value: 1}}).SetHint(idxCommentPosition)
	if limit > 0 {
		o.SetLimit(int64(limit))
	}
	cur, err := s.comments.Find(ctx, bson.M{"incidentId": id, "position": bson.M{"$gt": after}}, o)
	if err != nil {
		return nil, false, wrap("list comments", err)
	}
	var docs []commentDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, false, wrap("list comments", err)
	}
	for i := range docs {
		c := &docs[i]
		if c.WrittenBy > v {
			if c.addedBy() > v {
				continue // added by a newer change: not there at v
			}
			return nil, true, nil
		}
		normalizeComment(&c.Comment)
		out = append(out, c.Comment)
	}
	return out, false, nil
}

// historyDocs lists up to limit (0: all) history entries of an incident
// with a DataVersion after after, oldest first, as stored: the last may
// belong to a change not yet applied.
func (s *Store) historyDocs(ctx context.Context, id string, after int64, limit int) ([]activityDoc, error) {
	o := options.Find().SetSort(bson.D{{Key: "dataVersion", Value: 1}}).SetHint(idxActivityVersion)
	if limit > 0 {
		o.SetLimit(int64(limit))
	}
	cur, err := s.activities.Find(ctx, bson.M{"incidentId": id, "dataVersion": bson.M{"$gt": after}}, o)
	if err != nil {
		return nil, wrap("list history", err)
	}
	var docs []activityDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, wrap("list history", err)
	}
	return docs, nil
}

// abandoned reports whether a pending change was committed longer than
// the operation timeout ago: its writer's operation has ended by then, so
// it is not coming back to finish.
func (s *Store) abandoned(a *activityDoc) bool {
	return time.Since(time.UnixMilli(a.PendingAt)) > s.timeout
}

// FindComment loads one comment of an incident as the incident's latest
// applied change left it, or ErrNotFound.
func (s *Store) FindComment(ctx context.Context, incidentID, commentID string) (*store.Comment, error) {
	ctx, cancel := s.operation(ctx)
	defer cancel()
	for range readAttempts {
		v, err := s.incidentVersion(ctx, incidentID)
		if err != nil {
			return nil, store.Wrap("find comment", err)
		}
		var c commentDoc
		if err := s.comments.FindOne(ctx, bson.M{"_id": commentKey(incidentID, commentID), "incidentId": incidentID}).Decode(&c); err != nil {
			return nil, wrap("find comment", err)
		}
		if c.WrittenBy > v {
			if c.addedBy() > v {
				return nil, fmt.Errorf("find comment: %w", store.ErrNotFound)
			}
			if _, err := s.rollForward(ctx, incidentID, v+1); err != nil {
				return nil, store.Wrap("find comment", err)
			}
			continue
		}
		normalizeComment(&c.Comment)
		return &c.Comment, nil
	}
	return nil, store.Unavailable("the incident kept changing while it was read", fmt.Errorf("find comment %s of incident %s", commentID, incidentID))
}

// FindChildren lists the objects whose ParentID is parentID in the
// dataspace, oldest first (by creation time, then id), as FindIncident
// without comments or history gives them: one query on idxIncidentParent.
// It gives the oldest store.MaxChildren and leaves out any beyond them; an
// unknown parent has none.
func (s *Store) FindChildren(ctx context.Context, dataspace, parentID string) ([]*store.Incident, error) {
	ctx, cancel := s.operation(ctx)
	defer cancel()
	if parentID == noParent {
		return nil, nil
	}
	// The partial filter, repeated, lets MongoDB use the index.
	filter := bson.M{"dataspace": dataspace, "parentId": bson.M{"$eq": parentID, "$gt": noParent}}
	o := options.Find().SetSort(bson.D{{Key: "creationDateTime", Value: 1}, {Key: "incidentId", Value: 1}}).
		SetHint(idxIncidentParent).SetLimit(store.MaxChildren)
	cur, err := s.incidents.Find(ctx, filter, o)
	if err != nil {
		return nil, wrap("find children", err)
	}
	var docs []incidentDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, wrap("find children", err)
	}
	out := make([]*store.Incident, len(docs))
	for i := range docs {
		inc := &docs[i].Incident
		normalizeIncident(inc)
		out[i] = inc
	}
	return out, nil
}

// FindCommentByID finds a comment by its id alone, with the id of the
// object it is on, or ErrNotFound: the object is found on idxCommentID,
// and the comment is then read as FindComment reads it. Should several
// objects have a comment of that id, it is the one of the object whose id
// sorts first.
func (s *Store) FindCommentByID(ctx context.Context, commentID string) (string, *store.Comment, error) {
	id, err := s.commentOwner(ctx, commentID)
	if err != nil {
		return "", nil, err
	}
	c, err := s.FindComment(ctx, id, commentID)
	if err != nil {
		return "", nil, err
	}
	return id, c, nil
}

// commentOwner is the id of the object a comment is on.
func (s *Store) commentOwner(ctx context.Context, commentID string) (string, error) {
	ctx, cancel := s.operation(ctx)
	defer cancel()
	var doc struct {
		IncidentID string `bson:"incidentId"`
	}
	o := options.FindOne().SetHint(idxCommentID).SetProjection(bson.M{"incidentId": 1}).SetSort(bson.D{{Key: "incidentId", Value: 1}})
	if err := s.comments.FindOne(ctx, bson.M{"id": commentID}, o).Decode(&doc); err != nil {
		return "", wrap("find comment", err)
	}
	return doc.IncidentID, nil
}

// ListComments lists up to limit comments of an incident whose Position is
// greater than after, in Position order, as the incident's latest applied
// change left them; none for an incident that does not exist.
func (s *Store) ListComments(ctx context.Context, incidentID string, after int64, limit int) ([]store.Comment, error) {
	ctx, cancel := s.operation(ctx)
	defer cancel()
	if limit <= 0 {
		return nil, nil
	}
	for range readAttempts {
		v, err := s.incidentVersion(ctx, incidentID)
		if errors.Is(err, store.ErrNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, store.Wrap("list comments", err)
		}
		out, stale, err := s.commentsAfter(ctx, incidentID, after, limit, v)
		if err != nil {
			return nil, err
		}
		if !stale {
			return out, nil
		}
		if _, err := s.rollForward(ctx, incidentID, v+1); err != nil {
			return nil, store.Wrap("list comments", err)
		}
	}
	return nil, store.Unavailable("the incident kept changing while it was read", fmt.Errorf("list comments of incident %s", incidentID))
}

// ListActivities lists up to limit history entries of an incident whose
// DataVersion is greater than after, oldest first, as far as its changes
// are applied (see visibleHistory).
func (s *Store) ListActivities(ctx context.Context, incidentID string, after int64, limit int) ([]store.Activity, error) {
	ctx, cancel := s.operation(ctx)
	defer cancel()
	if limit <= 0 {
		return nil, nil
	}
	for range readAttempts {
		docs, err := s.historyDocs(ctx, incidentID, after, limit)
		if err != nil {
			return nil, err
		}
		// Only an entry that is pending can be newer than the incident;
		// the incident is read only then.
		v := int64(-1)
		for i := range docs {
			if docs[i].Pending != nil {
				if v, err = s.incidentVersion(ctx, incidentID); err != nil {
					return nil, store.Wrap("list history", err)
				}
				break
			}
		}
		if v < 0 {
			out := make([]store.Activity, len(docs))
			for i := range docs {
				normalizeActivity(&docs[i].Activity)
				out[i] = docs[i].Activity
			}
			return out, nil
		}
		out, moved, err := s.visibleHistory(ctx, docs, v)
		if err != nil {
			return nil, store.Wrap("list history", err)
		}
		if !moved {
			return out, nil
		}
	}
	return nil, store.Unavailable("the incident kept changing while it was read", fmt.Errorf("list history of incident %s", incidentID))
}

// visibleHistory is the part of docs, history entries oldest first, that
// an incident at version v has: an entry of a newer version belongs to a
// change committed and not yet applied, and is left out. Such a change
// whose writer is surely gone (abandoned) is completed, and moved then
// says the incident is newer than v; a pending entry up to v (its change
// applied, the entry not yet cleared) is cleared on the way.
func (s *Store) visibleHistory(ctx context.Context, docs []activityDoc, v int64) (out []store.Activity, moved bool, err error) {
	out = make([]store.Activity, 0, len(docs))
	for i := range docs {
		a := &docs[i]
		if a.Pending != nil && s.abandoned(a) {
			if err := s.apply(ctx, a); err != nil {
				return nil, false, err
			}
		}
		if a.DataVersion > v {
			return out, a.Pending != nil && s.abandoned(a), nil
		}
		normalizeActivity(&a.Activity)
		out = append(out, a.Activity)
	}
	return out, false, nil
}

// FindEffect finds what the request with this license plate changed: the
// history entry it wrote, with its incident as it is now, if the incident
// is in dataspace; else the API client it created; else ErrNotFound. A
// change it committed and did not apply (the request died) is completed
// first.
func (s *Store) FindEffect(ctx context.Context, dataspace, plate string) (*store.Effect, error) {
	ctx, cancel := s.operation(ctx)
	defer cancel()
	cur, err := s.activities.Find(ctx, bson.M{"licensePlate": plate}, options.Find().SetHint(idxActivityPlate))
	if err != nil {
		return nil, wrap("find effect", err)
	}
	var acts []activityDoc
	if err := cur.All(ctx, &acts); err != nil {
		return nil, wrap("find effect", err)
	}
	for i := range acts {
		a := &acts[i]
		if a.Pending != nil {
			if err := s.apply(ctx, a); err != nil {
				return nil, store.Wrap("find effect", err)
			}
		}
		var doc incidentDoc
		err := s.incidents.FindOne(ctx, bson.M{"_id": a.IncidentID}).Decode(&doc)
		if errors.Is(err, mongo.ErrNoDocuments) {
			continue
		}
		if err != nil {
			return nil, wrap("find effect", err)
		}
		if doc.Dataspace != dataspace {
			continue
		}
		normalizeIncident(&doc.Incident)
		normalizeActivity(&a.Activity)
		return &store.Effect{Incident: &doc.Incident, Activity: a.Activity}, nil
	}
	var c store.Client
	err = s.clients.FindOne(ctx, bson.M{"licensePlate": plate}, options.FindOne().SetHint(idxClientPlate)).Decode(&c)
	if err != nil {
		return nil, wrap("find effect", err)
	}
	return &store.Effect{Client: &c}, nil
}

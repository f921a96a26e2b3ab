package mongodb

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/scwm-gateway/scwm-gateway/store"
)

// bg is a context for a test's store calls.
func bg(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// newIncident is incident id at version 1 with one comment, as an add
// would store it.
func newIncident(id string) *store.Incident {
	return &store.Incident{
		ID: id, Dataspace: "default", OwnerID: "acme", NetworkID: "net-1", ProcessType: "incident",
		SchemaVersion: 5, DataVersion: 1, CreatedByUserID: "alice", LastUpdatedBy: "alice",
		CreatedAt: 1700000000000, LastUpdatedAt: 1700000000000, CurrentBaseState: "New", Number: 7,
		Data: map[string]any{"aptBusinessObjectSummary": "first", "n": int64(1), "list": []any{"x", map[string]any{"y": 2.5}}},
		Comments: []store.Comment{{ID: "c1", CommentText: "first comment", VisibilityType: "Public",
			Attachments: []map[string]any{{"name": "a.pdf", "size": int64(3)}}, CompanyID: "acme", CreatedBy: "alice"}},
		Activities: []store.Activity{{LicensePlate: "plate-" + id + "-1", EventName: "add-incident", UserID: "alice", CompanyID: "acme", DateTime: 1700000000000}},
	}
}

// change is the change of inc to version v: a new summary, one comment
// added and comment c1 replaced.
func change(inc *store.Incident, v int64, who string) store.Change {
	next := *inc
	next.Comments, next.Activities = nil, nil
	next.DataVersion = v
	next.Data = map[string]any{"aptBusinessObjectSummary": fmt.Sprintf("version %d by %s", v, who)}
	return store.Change{
		Incident:        &next,
		AddComments:     []store.Comment{{ID: fmt.Sprintf("c-%d-%s", v, who), CommentText: "added by " + who}},
		ReplaceComments: []store.Comment{{ID: "c1", CommentText: fmt.Sprintf("c1 as of version %d by %s", v, who)}},
		Activity:        store.Activity{LicensePlate: fmt.Sprintf("plate-%s-%d-%s", inc.ID, v, who), EventName: "edit-incident", UserID: who},
	}
}

// mustFind loads an incident with its comments and history.
func mustFind(t *testing.T, s *Store, id string) *store.Incident {
	t.Helper()
	inc, err := s.FindIncident(bg(t), "default", id, store.WithComments|store.WithActivities)
	if err != nil {
		t.Fatalf("find incident %s: %v", id, err)
	}
	return inc
}

// checkAt checks that the incident is consistently at version v as ch (or
// the add, for v 1) left it: state, comments and history agree.
func checkAt(t *testing.T, s *Store, id string, v int64, ch *store.Change) {
	t.Helper()
	inc := mustFind(t, s, id)
	if inc.DataVersion != v {
		t.Fatalf("incident %s at version %d, want %d", id, inc.DataVersion, v)
	}
	if len(inc.Activities) != int(v) {
		t.Fatalf("incident %s at version %d has %d history entries", id, v, len(inc.Activities))
	}
	for i, a := range inc.Activities {
		if a.DataVersion != int64(i+1) {
			t.Fatalf("history entry %d has dataVersion %d", i, a.DataVersion)
		}
	}
	if ch == nil {
		return
	}
	if got, want := inc.Data["aptBusinessObjectSummary"], ch.Incident.Data["aptBusinessObjectSummary"]; got != want {
		t.Fatalf("summary %v, want %v", got, want)
	}
	if got := inc.Activities[v-1].LicensePlate; got != ch.Activity.LicensePlate {
		t.Fatalf("last history entry has plate %s, want %s", got, ch.Activity.LicensePlate)
	}
	byID := map[string]store.Comment{}
	for _, c := range inc.Comments {
		byID[c.ID] = c
	}
	for _, c := range ch.ReplaceComments {
		if byID[c.ID].CommentText != c.CommentText {
			t.Fatalf("comment %s reads %q, want %q", c.ID, byID[c.ID].CommentText, c.CommentText)
		}
	}
	for _, c := range ch.AddComments {
		if _, ok := byID[c.ID]; !ok {
			t.Fatalf("comment %s missing: %+v", c.ID, inc.Comments)
		}
	}
}

// errCrash stops a write where the test hook says (Store.crashAfter).
var errCrash = errors.New("simulated crash")

// crashAt makes s's writes (of incidents, of deliveries) stop after step.
func crashAt(s *Store, step string) {
	s.crashAfter = func(got string) error {
		if got == step {
			return errCrash
		}
		return nil
	}
}

// ageCommits moves the commit time of incident id's pending changes an
// hour back, as if their writer had died long ago.
func ageCommits(t *testing.T, s *Store, id string) {
	t.Helper()
	_, err := s.activities.UpdateMany(bg(t), bson.M{"incidentId": id, "pendingAt": bson.M{"$gt": 0}},
		bson.M{"$set": bson.M{"pendingAt": time.Now().Add(-time.Hour).UnixMilli()}})
	if err != nil {
		t.Fatal(err)
	}
}

// pending counts the incident's history entries whose change is not
// applied.
func pending(t *testing.T, s *Store, id string) int64 {
	t.Helper()
	n, err := s.activities.CountDocuments(bg(t), bson.M{"incidentId": id, "pending": bson.M{"$exists": true}})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func equal(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s:\n got %#v\nwant %#v", what, got, want)
	}
}

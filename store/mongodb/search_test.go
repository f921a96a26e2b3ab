package mongodb

import (
	"strings"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/scwm-gateway/scwm-gateway/store"
	"github.com/scwm-gateway/scwm-gateway/store/storetest"
)

// Objects an earlier gateway wrote have no search words: the first Open
// of a gateway with search gives them theirs, once, so that search finds
// them by their text; a later Open reads nothing (the marker says so).
func TestOpenGivesEarlierObjectsTheirSearchWords(t *testing.T) {
	t.Parallel()
	db := testDB(t)
	s := openStore(t, db)
	ctx := bg(t)
	if _, err := s.sequences.DeleteOne(ctx, bson.M{"_id": searchWordsBackfill}); err != nil {
		t.Fatal(err)
	}
	old := bson.M{"_id": "old-1", "incidentId": "old-1", "dataspace": "default", "ownerId": "acme", "networkId": "net-1",
		"processType": "incident", "dataVersion": int64(1), "currentBaseState": "New", "creationDateTime": int64(1), "lastUpdatedDateTime": int64(1),
		"data": bson.M{"aptBusinessObjectSummary": "Crushed pallet"}}
	if _, err := s.incidents.InsertOne(ctx, old); err != nil {
		t.Fatal(err)
	}
	q := store.SearchQuery{Dataspace: "default", Company: "acme", Words: []string{"pallet"}, Limit: 10}
	if found, err := s.SearchIncidents(ctx, q); err != nil || len(found) != 0 {
		t.Fatalf("before the backfill: %v %v", found, err)
	}
	again := openStore(t, db)
	found, err := again.SearchIncidents(ctx, q)
	if err != nil || len(found) != 1 || found[0].ID != "old-1" {
		t.Fatalf("after Open: %v %v", found, err)
	}
	// Once marked, Open leaves objects without words alone.
	if _, err := again.incidents.InsertOne(ctx, bson.M{"_id": "old-2", "incidentId": "old-2", "dataspace": "default", "ownerId": "acme",
		"data": bson.M{"aptBusinessObjectSummary": "Crushed box"}}); err != nil {
		t.Fatal(err)
	}
	third := openStore(t, db)
	var raw bson.M
	if err := third.incidents.FindOne(ctx, bson.M{"_id": "old-2"}).Decode(&raw); err != nil {
		t.Fatal(err)
	}
	if _, has := raw["searchWords"]; has {
		t.Errorf("a later Open backfilled again: %v", raw)
	}
}

// The search cases of the contract, with every text search taking the
// way of words that match many objects: the branch's index in order, the
// words a filter on it, which the contract's few objects would otherwise
// never take.
func TestSearchScanningForWords(t *testing.T) {
	t.Parallel()
	skip := map[string]string{}
	for _, name := range storetest.Cases() {
		if !strings.HasPrefix(name, "Search") {
			skip[name] = "not a search case"
		}
	}
	storetest.RunWith(t, func(t *testing.T) storetest.Store {
		s := openStore(t, testDB(t))
		s.wordsIndexBelow = 0
		return s
	}, storetest.Options{Skip: skip})
}

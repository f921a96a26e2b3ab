package mongodb

import (
	"testing"
	"time"

	"github.com/scwm-gateway/scwm-gateway/store"
)

// A feed entry is listed only once the horizon has passed since its seq
// was taken: until then a smaller seq, taken by another gateway, may still
// be committed, and a reader that went past it would miss it.
func TestFeedHoldsBackEntriesInsideTheHorizon(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := bg(t)
	inc := &store.Incident{ID: "h1", Dataspace: "default", OwnerID: "acme", NetworkID: "net-1", ProcessType: "incident", DataVersion: 1,
		CurrentBaseState: "New", Data: map[string]any{"aptBusinessObjectSummary": "held"},
		Activities: []store.Activity{{LicensePlate: "plate-h1", EventName: "add"}}}
	if err := s.InsertIncident(ctx, inc); err != nil {
		t.Fatal(err)
	}
	q := store.FeedQuery{Dataspace: "default", Company: "acme", Limit: 10}
	s.feedHorizon = time.Hour
	if got, err := s.ListFeed(ctx, q); err != nil || len(got) != 0 {
		t.Fatalf("inside the horizon: %+v %v", got, err)
	}
	s.feedHorizon = 0
	if got, err := s.ListFeed(ctx, q); err != nil || len(got) != 1 || got[0].ObjectID != "h1" || got[0].LicensePlate != "plate-h1" {
		t.Fatalf("past the horizon: %+v %v", got, err)
	}
	if want := 2*s.timeout + feedClockSkew; openHorizon(t) != want {
		t.Errorf("a store opens with the horizon %v, want %v", openHorizon(t), want)
	}
}

// openHorizon is the horizon a store opens with.
func openHorizon(t *testing.T) time.Duration {
	t.Helper()
	db := testDB(t)
	s, err := Open(bg(t), Config{URI: db.URI, Database: db.Name, OperationTimeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(bg(t))
	return s.feedHorizon
}

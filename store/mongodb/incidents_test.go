package mongodb

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/scwm-gateway/scwm-gateway/store"
)

func TestIncidentRoundTrip(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := bg(t)
	inc := newIncident("i1")
	if err := s.InsertIncident(ctx, inc); err != nil {
		t.Fatal(err)
	}
	got, err := s.FindIncident(ctx, "default", "i1", 0)
	if err != nil {
		t.Fatal(err)
	}
	want := *inc
	want.Comments, want.Activities = nil, nil
	equal(t, "the incident", *got, want)

	got = mustFind(t, s, "i1")
	wantComment := inc.Comments[0]
	wantComment.Position = store.CommentPosition(1, 0)
	equal(t, "the comments", got.Comments, []store.Comment{wantComment})
	wantActivity := inc.Activities[0]
	wantActivity.DataVersion = 1
	equal(t, "the history", got.Activities, []store.Activity{wantActivity})

	if _, err := s.FindIncident(ctx, "other", "i1", 0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("another dataspace: %v, want ErrNotFound", err)
	}
	if _, err := s.FindIncident(ctx, "default", "nope", 0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a missing incident: %v, want ErrNotFound", err)
	}
	if err := s.InsertIncident(ctx, newIncident("i1")); !errors.Is(err, store.ErrDuplicate) {
		t.Fatalf("insert again: %v, want ErrDuplicate", err)
	}
	two := newIncident("i2")
	two.Activities = append(two.Activities, two.Activities[0])
	if err := s.InsertIncident(ctx, two); err == nil {
		t.Fatal("insert with two history entries: no error")
	}
}

func TestWriteChange(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := bg(t)
	inc := newIncident("i1")
	if err := s.InsertIncident(ctx, inc); err != nil {
		t.Fatal(err)
	}
	ch2 := change(inc, 2, "a")
	if err := s.WriteChange(ctx, ch2); err != nil {
		t.Fatal(err)
	}
	checkAt(t, s, "i1", 2, &ch2)
	got := mustFind(t, s, "i1")
	if got.Comments[0].ID != "c1" || got.Comments[0].Position != store.CommentPosition(1, 0) {
		t.Fatalf("the replaced comment moved: %+v", got.Comments[0])
	}
	if got.Comments[1].Position != store.CommentPosition(2, 0) {
		t.Fatalf("the added comment is at %d", got.Comments[1].Position)
	}

	// Planned from version 1 again: a conflict, nothing written.
	if err := s.WriteChange(ctx, change(inc, 2, "b")); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("a second version 2: %v, want ErrConflict", err)
	}
	if err := s.WriteChange(ctx, change(inc, 4, "b")); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("version 4 on version 2: %v, want ErrConflict", err)
	}
	checkAt(t, s, "i1", 2, &ch2)

	missing := change(newIncident("nope"), 2, "a")
	if err := s.WriteChange(ctx, missing); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a missing incident: %v, want ErrNotFound", err)
	}
	if err := s.WriteChange(ctx, change(inc, 1, "a")); err == nil {
		t.Fatal("a change to version 1: no error")
	}

	// A replace of a missing comment and an add of a taken id are refused
	// whole.
	bad := change(got, 3, "a")
	bad.ReplaceComments = append(bad.ReplaceComments, store.Comment{ID: "ghost"})
	if err := s.WriteChange(ctx, bad); err == nil || errors.Is(err, store.ErrConflict) {
		t.Fatalf("replacing a missing comment: %v", err)
	}
	bad = change(got, 3, "a")
	bad.AddComments = append(bad.AddComments, store.Comment{ID: ch2.AddComments[0].ID})
	if err := s.WriteChange(ctx, bad); !errors.Is(err, store.ErrDuplicate) {
		t.Fatalf("adding a taken comment id: %v, want ErrDuplicate", err)
	}
	checkAt(t, s, "i1", 2, &ch2)
	ch3 := change(got, 3, "a")
	if err := s.WriteChange(ctx, ch3); err != nil {
		t.Fatal(err)
	}
	checkAt(t, s, "i1", 3, &ch3)

	cs, err := s.ListComments(ctx, "i1", store.CommentPosition(1, 0), 1)
	if err != nil || len(cs) != 1 || cs[0].ID != ch2.AddComments[0].ID {
		t.Fatalf("ListComments after the first, 1: %+v %v", cs, err)
	}
	as, err := s.ListActivities(ctx, "i1", 1, 10)
	if err != nil || len(as) != 2 || as[0].DataVersion != 2 || as[1].DataVersion != 3 {
		t.Fatalf("ListActivities after 1: %+v %v", as, err)
	}
	c, err := s.FindComment(ctx, "i1", "c1")
	if err != nil || c.CommentText != ch3.ReplaceComments[0].CommentText {
		t.Fatalf("FindComment: %+v %v", c, err)
	}
	if _, err := s.FindComment(ctx, "i1", "ghost"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("FindComment of a missing comment: %v", err)
	}
	eff, err := s.FindEffect(ctx, "default", ch2.Activity.LicensePlate)
	if err != nil || eff.Incident.DataVersion != 3 || eff.Activity.DataVersion != 2 {
		t.Fatalf("FindEffect: %+v %v", eff, err)
	}
	if _, err := s.FindEffect(ctx, "other", ch2.Activity.LicensePlate); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("FindEffect in another dataspace: %v", err)
	}
}

// Several gateways write the same version of one incident at once: exactly
// one wins, the others are told of the conflict, and the incident is
// consistently the winner's.
func TestOneWriterWinsEachVersion(t *testing.T) {
	t.Parallel()
	db := testDB(t)
	stores := gateways(t, db, 6)
	ctx := bg(t)
	inc := newIncident("i1")
	if err := stores[0].InsertIncident(ctx, inc); err != nil {
		t.Fatal(err)
	}
	for v := int64(2); v <= 4; v++ {
		base := mustFind(t, stores[0], "i1")
		errs := make([]error, len(stores))
		changes := make([]store.Change, len(stores))
		var wg sync.WaitGroup
		for i, s := range stores {
			changes[i] = change(base, v, fmt.Sprint("gw", i))
			wg.Go(func() { errs[i] = s.WriteChange(ctx, changes[i]) })
		}
		wg.Wait()
		winner := -1
		for i, err := range errs {
			switch {
			case err == nil && winner >= 0:
				t.Fatalf("version %d: gateways %d and %d both won", v, winner, i)
			case err == nil:
				winner = i
			case !errors.Is(err, store.ErrConflict):
				t.Fatalf("version %d, gateway %d: %v, want nil or ErrConflict", v, i, err)
			}
		}
		if winner < 0 {
			t.Fatalf("version %d: nobody won: %v", v, errs)
		}
		for _, s := range stores {
			checkAt(t, s, "i1", v, &changes[winner])
		}
	}
}

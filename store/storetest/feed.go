package storetest

import (
	"context"
	"fmt"
	"testing"

	"github.com/scwm-gateway/scwm-gateway/store"
)

// acmeFeed is the feed query of acme, in net-1 and net-2, where templates
// are shared with the network.
func acmeFeed(after int64) store.FeedQuery {
	return store.FeedQuery{Dataspace: ds, Company: "acme", Networks: []string{"net-1", "net-2"},
		SharedKinds: []string{"taskTemplate"}, After: after, Limit: 100}
}

// feedOf lists the whole feed of q, a page of size at a time, each entry
// as "<object>@v<version>".
func feedOf(t *testing.T, st Store, q store.FeedQuery, size int) []string {
	t.Helper()
	q.Limit = size
	out := []string{}
	for range 1000 {
		page, err := st.ListFeed(context.Background(), q)
		must(t, err, "ListFeed")
		for _, e := range page {
			if e.Seq <= q.After {
				t.Fatalf("ListFeed after %d gave seq %d", q.After, e.Seq)
			}
			q.After = e.Seq
			out = append(out, fmt.Sprintf("%s@v%d", e.ObjectID, e.DataVersion))
		}
		if len(page) < size {
			return out
		}
	}
	t.Fatal("the feed does not end")
	return nil
}

// testFeed: a company's feed holds the changes of what it owns, what it
// is the partner of and the templates of its networks, once each, in
// commit order, with what each change was; not another company's, nor
// another dataspace's, nor a partner's after its access ended.
func testFeed(t *testing.T, s *suite) {
	st := s.fresh(t)
	searchWorld(t, st)
	ctx := context.Background()
	// a2 is globex's partner object: its change that ends the partner's
	// access is not in globex's feed, the ones before are.
	a2, err := st.FindIncident(ctx, ds, "a2", 0)
	must(t, err, "find a2")
	ch := nextChange(a2, 2, nil)
	ch.Incident.PartnerID = ""
	must(t, st.WriteChange(ctx, ch), "end globex's access to a2")
	ch = nextChange(ch.Incident, 3, nil)
	must(t, st.WriteChange(ctx, ch), "edit a2 again")

	equal(t, "acme's feed", feedOf(t, st, acmeFeed(0), 100), []string{"a1@v1", "a2@v1", "a3@v1", "a4@v1", "g1@v1", "g2@v1", "a2@v2", "a2@v3"})
	equal(t, "acme's feed, a page of 3 at a time", feedOf(t, st, acmeFeed(0), 3), []string{"a1@v1", "a2@v1", "a3@v1", "a4@v1", "g1@v1", "g2@v1", "a2@v2", "a2@v3"})
	globex := store.FeedQuery{Dataspace: ds, Company: "globex", Networks: []string{"net-1"}, SharedKinds: []string{"taskTemplate"}}
	equal(t, "globex's feed", feedOf(t, st, globex, 10), []string{"a2@v1", "g1@v1", "g2@v1", "g3@v1", "g4@v1"})
	other := store.FeedQuery{Dataspace: "elsewhere", Company: "acme"}
	equal(t, "acme's feed of another dataspace", feedOf(t, st, other, 10), []string{"x1@v1"})

	page, err := st.ListFeed(ctx, acmeFeed(0))
	must(t, err, "ListFeed")
	e := page[len(page)-1]
	want := store.FeedEntry{Seq: e.Seq, Dataspace: ds, ObjectID: "a2", Kind: "incident", OwnerID: "acme", PartnerID: "", NetworkID: "net-1",
		DataVersion: 3, EventName: "editIncident", LicensePlate: "plate-a2-v3", At: e.At}
	equal(t, "the last entry", e, want)
	if e.At <= 0 {
		t.Errorf("the last entry has no time: %+v", e)
	}
	// After the last, nothing; a change later is after it.
	equal(t, "after the last", feedOf(t, st, acmeFeed(e.Seq), 10), []string{})
	ch = nextChange(ch.Incident, 4, nil)
	must(t, st.WriteChange(ctx, ch), "edit a2 once more")
	equal(t, "after the last, once more", feedOf(t, st, acmeFeed(e.Seq), 10), []string{"a2@v4"})
	// A refused change is not in the feed.
	wantErr(t, st.WriteChange(ctx, ch), store.ErrConflict, "the same version again")
	equal(t, "after a refused change", feedOf(t, st, acmeFeed(e.Seq), 10), []string{"a2@v4"})
}

// testFeedAcrossHandles: the feed is the data's, read through another
// handle (a restart).
func testFeedAcrossHandles(t *testing.T, s *suite) {
	open := s.dataset(t)
	first := open()
	ctx := context.Background()
	insertIncident(t, first, searchObject("r1", "acme", "", "net-1", "incident", "New", "", "restart", 1, 1, 1))
	before := feedOf(t, first, acmeFeed(0), 10)
	if !s.opts.Simultaneous {
		must(t, first.Close(ctx), "Close")
	}
	second := open()
	equal(t, "the feed through a second handle", feedOf(t, second, acmeFeed(0), 10), before)
}

// testFeedConcurrentWriters: changes written through several handles at
// once (gateways sharing a database) are each in the feed once, in an
// order every reader agrees on, and a reader that follows the feed as
// they are written sees a beginning of that order: it left none out.
func testFeedConcurrentWriters(t *testing.T, s *suite) {
	open := s.dataset(t)
	if !s.opts.Simultaneous {
		t.Skip("the store's handles of one dataset cannot be open at once (Options.Simultaneous)")
	}
	first, second := open(), open()
	ctx := context.Background()
	insertIncident(t, first, searchObject("r1", "acme", "", "net-1", "incident", "New", "", "restart", 1, 1, 1))
	stores := []Store{first, second}
	const writers = 16
	// A reader follows the feed while the writers write.
	done := make(chan struct{})
	followed := make(chan []string)
	go func() {
		var seen []string
		var after int64
		for {
			select {
			case <-done:
				followed <- seen
				return
			default:
			}
			page, err := second.ListFeed(ctx, store.FeedQuery{Dataspace: ds, Company: "acme", After: after, Limit: 5})
			if err != nil {
				t.Error(err)
				followed <- seen
				return
			}
			for _, e := range page {
				after = e.Seq
				seen = append(seen, fmt.Sprintf("%s@v%d", e.ObjectID, e.DataVersion))
			}
		}
	}()
	race(writers, func(i int) {
		id := fmt.Sprintf("w%d", i)
		if err := stores[i%2].InsertIncident(ctx, searchObject(id, "acme", "", "net-1", "incident", "New", "", "writer", int64(10+i), 1, 1)); err != nil {
			t.Error(err)
		}
	})
	close(done)
	seen := <-followed
	// The whole feed is every change once, and what the follower saw is a
	// beginning of it.
	page, err := first.ListFeed(ctx, store.FeedQuery{Dataspace: ds, Company: "acme", Limit: 100})
	must(t, err, "ListFeed")
	all := []string{}
	for _, e := range page {
		all = append(all, fmt.Sprintf("%s@v%d", e.ObjectID, e.DataVersion))
	}
	if len(all) != writers+1 {
		t.Fatalf("the feed has %d entries, want %d: %v", len(all), writers+1, all)
	}
	for i, e := range seen {
		if i >= len(all) || all[i] != e {
			t.Fatalf("the follower saw %v, not a beginning of the feed %v", seen, all)
		}
	}
	equal(t, "the rest after what the follower saw", feedOf(t, second, store.FeedQuery{Dataspace: ds, Company: "acme", After: seqAt(t, first, len(seen))}, 100), all[len(seen):])
}

// seqAt is the seq of the n-th entry (1-based) of acme's whole feed; 0
// for n = 0.
func seqAt(t *testing.T, st Store, n int) int64 {
	t.Helper()
	if n == 0 {
		return 0
	}
	page, err := st.ListFeed(context.Background(), store.FeedQuery{Dataspace: ds, Company: "acme", Limit: n})
	must(t, err, "ListFeed")
	return page[n-1].Seq
}

package storetest

import (
	"context"
	"testing"

	"github.com/scwm-gateway/scwm-gateway/store"
)

// searchObject is an object for the search cases: its owner, partner,
// network, kind, state, priority, number, text and times (base+n).
func searchObject(id, owner, partner, network, kind, state, priority, summary string, number, created, updated int64) *store.Incident {
	inc := sampleIncident(id)
	inc.OwnerID, inc.PartnerID, inc.NetworkID, inc.ProcessType, inc.CurrentBaseState = owner, partner, network, kind, state
	inc.Number = number
	inc.CreatedAt, inc.LastUpdatedAt = base+created, base+updated
	inc.Data = map[string]any{"aptBusinessObjectSummary": summary, "aptBusinessObjectDescription": "Details of " + id}
	if priority != "" {
		inc.Data["businessPriority"] = priority
	}
	inc.Comments = nil
	inc.Activities[0].CommentIDs = nil
	return inc
}

// searchWorld is what acme may and may not find: its own objects, one
// submitted to it by globex, a template of globex in a network acme is
// in, and objects it may not see.
func searchWorld(t *testing.T, st Store) {
	t.Helper()
	ctx := context.Background()
	for _, inc := range []*store.Incident{
		searchObject("a1", "acme", "", "net-1", "incident", "New", "HIGH", "Label misprint on carton", 1, 10, 50),
		searchObject("a2", "acme", "globex", "net-1", "incident", "Closed", "LOW", "Temperature excursion Café", 2, 20, 40),
		searchObject("a3", "acme", "", "net-2", "change", "New", "HIGH", "Change the label supplier", 1, 30, 30),
		searchObject("a4", "acme", "", "net-1", "incident", "New", "MEDIUM", "Missing EPCIS data", 3, 40, 40),
		searchObject("g1", "globex", "acme", "net-1", "incident", "UnderInvestigation", "HIGH", "Labels smudged", 9, 15, 60),
		searchObject("g2", "globex", "", "net-1", "taskTemplate", "Active", "", "Monthly label audit", 1, 5, 5),
		searchObject("g3", "globex", "", "net-1", "incident", "New", "HIGH", "Label secret of globex", 10, 25, 70),
		searchObject("g4", "globex", "", "net-9", "taskTemplate", "Active", "", "Label template elsewhere", 2, 6, 6),
	} {
		must(t, st.InsertIncident(ctx, inc), "insert "+inc.ID)
	}
	other := searchObject("x1", "acme", "", "net-1", "incident", "New", "HIGH", "Label in another dataspace", 4, 90, 90)
	other.Dataspace = "elsewhere"
	must(t, st.InsertIncident(ctx, other), "insert x1")
}

// acmeSearch is a query of acme's, in net-1 and net-2, where templates are
// shared with the network.
func acmeSearch() store.SearchQuery {
	return store.SearchQuery{Dataspace: ds, Company: "acme", Networks: []string{"net-1", "net-2"},
		SharedKinds: []string{"taskTemplate"}, Limit: 100}
}

func searchIDs(t *testing.T, st Store, q store.SearchQuery) []string {
	t.Helper()
	found, err := st.SearchIncidents(context.Background(), q)
	must(t, err, "SearchIncidents")
	ids := []string{}
	for _, inc := range found {
		ids = append(ids, inc.ID)
	}
	return ids
}

func testSearch(t *testing.T, s *suite) {
	st := s.fresh(t)
	searchWorld(t, st)
	with := func(f func(q *store.SearchQuery)) store.SearchQuery {
		q := acmeSearch()
		f(&q)
		return q
	}
	cases := []struct {
		name string
		q    store.SearchQuery
		want []string
	}{
		{"everything acme may see, last updated first", acmeSearch(), []string{"g1", "a1", "a4", "a2", "a3", "g2"}},
		{"oldest update first", with(func(q *store.SearchQuery) { q.Ascending = true }), []string{"g2", "a3", "a2", "a4", "a1", "g1"}},
		{"newest first by creation", with(func(q *store.SearchQuery) { q.SortByCreated = true }), []string{"a4", "a3", "a2", "g1", "a1", "g2"}},
		{"by kind", with(func(q *store.SearchQuery) { q.Kinds = []string{"change", "taskTemplate"} }), []string{"a3", "g2"}},
		{"by state", with(func(q *store.SearchQuery) { q.States = []string{"New", "UnderInvestigation"} }), []string{"g1", "a1", "a4", "a3"}},
		{"by owner", with(func(q *store.SearchQuery) { q.OwnerID = "globex" }), []string{"g1", "g2"}},
		{"by partner", with(func(q *store.SearchQuery) { q.PartnerID = "globex" }), []string{"a2"}},
		{"submitted to acme", with(func(q *store.SearchQuery) { q.PartnerID = "acme" }), []string{"g1"}},
		{"by network", with(func(q *store.SearchQuery) { q.NetworkID = "net-2" }), []string{"a3"}},
		{"by priority", with(func(q *store.SearchQuery) { q.Priority = "HIGH" }), []string{"g1", "a1", "a3"}},
		{"created from", with(func(q *store.SearchQuery) { q.CreatedFrom = base + 20 }), []string{"a4", "a2", "a3"}},
		{"created up to", with(func(q *store.SearchQuery) { q.CreatedTo = base + 15 }), []string{"g1", "a1", "g2"}},
		{"updated between", with(func(q *store.SearchQuery) { q.UpdatedFrom, q.UpdatedTo = base+30, base+50 }), []string{"a1", "a4", "a2", "a3"}},
		{"by number", with(func(q *store.SearchQuery) { q.Number, q.Kinds = 1, []string{"incident"} }), []string{"a1"}},
		{"a word", with(func(q *store.SearchQuery) { q.Words = []string{"label"} }), []string{"g1", "a1", "a3", "g2"}},
		{"the start of a word", with(func(q *store.SearchQuery) { q.Words = []string{"temp"} }), []string{"a2"}},
		{"without diacritics", with(func(q *store.SearchQuery) { q.Words = []string{"cafe"} }), []string{"a2"}},
		{"every word", with(func(q *store.SearchQuery) { q.Words = []string{"label", "carton"} }), []string{"a1"}},
		{"a word of the description", with(func(q *store.SearchQuery) { q.Words = []string{"details", "a4"} }), []string{"a4"}},
		{"a word and filters", with(func(q *store.SearchQuery) { q.Words, q.States = []string{"label"}, []string{"New"} }), []string{"a1", "a3"}},
		{"no such word", with(func(q *store.SearchQuery) { q.Words = []string{"zebra"} }), []string{}},
		{"another company's", store.SearchQuery{Dataspace: ds, Company: "initech", Networks: []string{"net-3"}, SharedKinds: []string{"taskTemplate"}, Limit: 10}, []string{}},
		{"another dataspace", with(func(q *store.SearchQuery) { q.Dataspace = "elsewhere" }), []string{"x1"}},
	}
	for _, tc := range cases {
		equal(t, tc.name, searchIDs(t, st, tc.q), tc.want)
	}
}

// testSearchPages pages through a search two at a time while objects
// change: every object that does not change is seen exactly once, in
// order, and a changed one comes back in its new place.
func testSearchPages(t *testing.T, s *suite) {
	st := s.fresh(t)
	searchWorld(t, st)
	ctx := context.Background()
	var seen []string
	q := acmeSearch()
	q.Limit = 2
	for page := 0; page < 10; page++ {
		found, err := st.SearchIncidents(ctx, q)
		must(t, err, "SearchIncidents")
		for _, inc := range found {
			seen = append(seen, inc.ID)
		}
		if page == 0 {
			// a3, not yet read, is edited to the top: the pages that
			// follow do not see it again; a1, already read, the same.
			a3, err := st.FindIncident(ctx, ds, "a3", 0)
			must(t, err, "find a3")
			ch := nextChange(a3, 2, nil)
			ch.Incident.LastUpdatedAt = base + 100
			must(t, st.WriteChange(ctx, ch), "edit a3")
		}
		if len(found) < q.Limit {
			break
		}
		last := found[len(found)-1]
		q.After = &store.SearchCursor{Value: q.SortValue(last), ID: last.ID}
	}
	equal(t, "pages", seen, []string{"g1", "a1", "a4", "a2", "g2"})
	equal(t, "a new search", searchIDs(t, st, acmeSearch()), []string{"a3", "g1", "a1", "a4", "a2", "g2"})
}

// testSearchText follows the text of an object through its edits.
func testSearchText(t *testing.T, s *suite) {
	st := s.fresh(t)
	ctx := context.Background()
	inc := searchObject("t1", "acme", "", "net-1", "incident", "New", "", "Broken seal", 1, 1, 1)
	must(t, st.InsertIncident(ctx, inc), "insert")
	words := func(w ...string) []string {
		q := acmeSearch()
		q.Words = w
		return searchIDs(t, st, q)
	}
	equal(t, "before the edit", words("seal"), []string{"t1"})
	ch := nextChange(stateOf(inc), 2, map[string]any{"aptBusinessObjectSummary": "Torn label"})
	must(t, st.WriteChange(ctx, ch), "edit the summary")
	equal(t, "the old word", words("seal"), []string{})
	equal(t, "the new word", words("torn"), []string{"t1"})
	ch = nextChange(stateOf(ch.Incident), 3, map[string]any{"other": "field"})
	must(t, st.WriteChange(ctx, ch), "edit another field")
	equal(t, "an edit that leaves the text", words("torn", "label"), []string{"t1"})
}

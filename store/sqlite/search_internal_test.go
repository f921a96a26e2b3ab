package sqlite

import (
	"context"
	"strings"
	"testing"

	"github.com/scwm-gateway/scwm-gateway/store"
	"github.com/scwm-gateway/scwm-gateway/store/storetest"
)

// The search cases of the contract, with every text search taking the
// way of words that match many objects: the branch read in order and each
// text matched here (scanBranch), which the contract's few objects would
// otherwise never take.
func TestSearchScanningForWords(t *testing.T) {
	t.Parallel()
	skip := map[string]string{}
	for _, name := range storetest.Cases() {
		if !strings.HasPrefix(name, "Search") {
			skip[name] = "not a search case"
		}
	}
	storetest.RunWith(t, func(t *testing.T) storetest.Store {
		s, err := Open(t.Context(), Config{DataDir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		s.textDrivenBelow = 0
		t.Cleanup(func() { _ = s.Close(context.Background()) })
		return s
	}, storetest.Options{Skip: skip})
}

// No search reads the incidents or the feed whole: every query of every
// branch is planned on an index (or, for words, the text index).
func TestSearchAndFeedQueriesUseIndexes(t *testing.T) {
	t.Parallel()
	s, err := Open(t.Context(), Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	base := store.SearchQuery{Dataspace: "default", Company: "acme", Networks: []string{"net-1"}, SharedKinds: []string{"taskTemplate"}, Limit: 25}
	variants := map[string]func(q *store.SearchQuery){
		"no filter":   func(*store.SearchQuery) {},
		"by creation": func(q *store.SearchQuery) { q.SortByCreated, q.Ascending = true, true },
		"filters":     func(q *store.SearchQuery) { q.States, q.Priority, q.UpdatedFrom = []string{"New"}, "HIGH", 5 },
		"a number":    func(q *store.SearchQuery) { q.Number, q.Kinds = 7, []string{"incident", "taskTemplate"} },
		"a cursor":    func(q *store.SearchQuery) { q.After = &store.SearchCursor{Value: 9, ID: "x"} },
	}
	var queries []string
	var argsOf [][]any
	for _, f := range variants {
		q := base
		f(&q)
		for _, b := range searchBranches(q) {
			for _, fromText := range []bool{false, true} {
				if fromText {
					q.Words = []string{"label"}
				}
				text, args := searchSQL(q, b, fromText)
				queries, argsOf = append(queries, text), append(argsOf, args)
			}
			q.Words = nil
		}
	}
	queries = append(queries, "SELECT seq FROM feed WHERE dataspace = ? AND owner_id = ? AND seq > ? ORDER BY seq LIMIT ?",
		"SELECT seq FROM feed WHERE dataspace = ? AND partner_id = ? AND partner_id <> '' AND seq > ? ORDER BY seq LIMIT ?",
		"SELECT seq FROM feed WHERE dataspace = ? AND network_id = ? AND process_type = ? AND seq > ? ORDER BY seq LIMIT ?")
	argsOf = append(argsOf, []any{"d", "a", 0, 1}, []any{"d", "a", 0, 1}, []any{"d", "n", "k", 0, 1})
	for i, q := range queries {
		rows, err := s.reads.QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+q, argsOf[i]...)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			if (strings.HasPrefix(detail, "SCAN incidents") || strings.HasPrefix(detail, "SCAN feed")) &&
				!strings.Contains(detail, "USING") {
				t.Errorf("%s\n  is planned with %q", q, detail)
			}
		}
		rows.Close()
	}
}

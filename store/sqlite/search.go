package sqlite

import (
	"context"
	"strings"

	"github.com/scwm-gateway/scwm-gateway/store"
)

// SearchIncidents finds the objects q selects, in its order, at most
// q.Limit of them. Each visibility branch (owned, partnered, shared with
// the company's networks) is one range read of its index in the sort
// order, filtered and stopped at the limit; the branches are merged here.
func (s *Store) SearchIncidents(ctx context.Context, q store.SearchQuery) ([]*store.Incident, error) {
	ctx, cancel := s.operation(ctx)
	defer cancel()
	if q.Limit <= 0 {
		return nil, nil
	}
	var found []*store.Incident
	seen := map[string]bool{}
	fromText := false
	if len(q.Words) > 0 {
		// A few matches are read from the text index and sorted; many are
		// met sooner in the order of the branch's index (scanBranch).
		// The count is of the words as whole words: the text index reads a
		// word's matches as it goes and stops at the limit, where a prefix
		// would have it gather every match of every word it starts first.
		var n int
		row, err := s.queryRow(ctx, "SELECT count(*) FROM (SELECT rowid FROM incident_text WHERE incident_text MATCH ? LIMIT ?)", wholeWords(q.Words), s.textDrivenBelow)
		if err == nil {
			err = row.Scan(&n)
		}
		if err != nil {
			return nil, store.Wrap("search", s.classify(err))
		}
		fromText = n < s.textDrivenBelow
	}
	for _, b := range searchBranches(q) {
		var page []*store.Incident
		var err error
		if len(q.Words) > 0 && !fromText {
			page, err = s.scanBranch(ctx, q, b)
		} else {
			page, err = s.readBranch(ctx, q, b, fromText)
		}
		if err != nil {
			return nil, store.Wrap("search", s.classify(err))
		}
		for _, inc := range page {
			if !seen[inc.ID] {
				seen[inc.ID] = true
				found = append(found, inc)
			}
		}
	}
	q.Sort(found)
	if len(found) > q.Limit {
		found = found[:q.Limit]
	}
	return found, nil
}

// readBranch runs the query of one branch.
func (s *Store) readBranch(ctx context.Context, q store.SearchQuery, b searchBranch, fromText bool) ([]*store.Incident, error) {
	sqlText, args := searchSQL(q, b, fromText)
	rows, err := s.query(ctx, sqlText, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*store.Incident
	for rows.Next() {
		inc, err := scanIncident(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, inc)
	}
	return out, rows.Err()
}

// Scanning a branch for words that match many objects: rows are read in
// the branch's order scanBatch at a time and their text matched here,
// until the page is full or scanRows rows have been read; a branch whose
// matches are that sparse is read from the text index after all.
const (
	scanBatch = 200
	scanRows  = 20000
)

// scanBranch finds a branch's objects whose text has q's words by
// reading the branch in order and matching each text (store.MatchesWords,
// the rules of the text index).
func (s *Store) scanBranch(ctx context.Context, q store.SearchQuery, b searchBranch) ([]*store.Incident, error) {
	plain := q
	plain.Words = nil
	// The first batch is about a page: many matches fill it at once.
	plain.Limit = q.Limit + q.Limit/2
	var out []*store.Incident
	for read := 0; read < scanRows; {
		batch, err := s.readBranch(ctx, plain, b, false)
		if err != nil {
			return nil, err
		}
		for _, inc := range batch {
			if store.MatchesWords(store.SearchText(inc), q.Words) {
				out = append(out, inc)
				if len(out) == q.Limit {
					return out, nil
				}
			}
		}
		if len(batch) < plain.Limit {
			return out, nil
		}
		read += len(batch)
		plain.Limit = scanBatch
		last := batch[len(batch)-1]
		plain.After = &store.SearchCursor{Value: plain.SortValue(last), ID: last.ID}
	}
	return s.readBranch(ctx, q, b, true)
}

// searchBranch is one way a company sees objects, and the index that
// serves it.
type searchBranch struct {
	where string
	args  []any
	// index serves the branch in the sort order, number by business
	// number.
	index, number string
}

// searchBranches are the branches q's company sees objects by, less those
// its filters rule out.
func searchBranches(q store.SearchQuery) []searchBranch {
	suffix := "_updated"
	if q.SortByCreated {
		suffix = "_created"
	}
	var out []searchBranch
	if q.OwnerID == "" || q.OwnerID == q.Company {
		out = append(out, searchBranch{where: "owner_id = ?", args: []any{q.Company}, index: "incidents_owner" + suffix, number: "incidents_owner"})
	}
	if q.PartnerID == "" || q.PartnerID == q.Company {
		out = append(out, searchBranch{where: "partner_id = ? AND partner_id <> ''", args: []any{q.Company}, index: "incidents_partner" + suffix, number: "incidents_partner_number"})
	}
	shared := q.SharedKindsAsked()
	// One branch per network and shared kind: each is a range of the
	// index in the sort order, however many objects of other kinds the
	// network holds.
	for _, n := range q.Networks {
		if q.NetworkID != "" && q.NetworkID != n {
			continue
		}
		for _, k := range shared {
			out = append(out, searchBranch{where: "network_id = ? AND process_type = ?", args: []any{n, k}, index: "incidents_network" + suffix, number: "incidents_network_number"})
		}
	}
	return out
}

// textDrivenBelow is how many matches of a search's words are few enough
// to read them all from the text index and sort them.
const textDrivenBelow = 2000

// matchExpr is the full-text query of words: each the start of a word.
func matchExpr(words []string) string {
	terms := make([]string, len(words))
	for i, w := range words {
		terms[i] = `"` + strings.ReplaceAll(w, `"`, `""`) + `"*`
	}
	return strings.Join(terms, " AND ")
}

// wholeWords is the full-text query of words as whole words.
func wholeWords(words []string) string {
	terms := make([]string, len(words))
	for i, w := range words {
		terms[i] = `"` + strings.ReplaceAll(w, `"`, `""`) + `"`
	}
	return strings.Join(terms, " AND ")
}

// searchSQL is the query of one branch; with words, fromText must be set:
// the query starts from the text index's matches of the words.
func searchSQL(q store.SearchQuery, b searchBranch, fromText bool) (string, []any) {
	col := "last_updated_at"
	if q.SortByCreated {
		col = "created_at"
	}
	where := []string{"dataspace = ?", b.where}
	args := append([]any{q.Dataspace}, b.args...)
	in := func(column string, values []string) {
		if len(values) == 0 {
			return
		}
		where = append(where, column+" IN ("+placeholders(len(values))+")")
		for _, v := range values {
			args = append(args, v)
		}
	}
	eq := func(column, value string) {
		if value != "" {
			where = append(where, column+" = ?")
			args = append(args, value)
		}
	}
	bound := func(column, op string, v int64) {
		if v != 0 {
			where = append(where, column+" "+op+" ?")
			args = append(args, v)
		}
	}
	in("process_type", q.Kinds)
	in("state", q.States)
	eq("owner_id", q.OwnerID)
	eq("partner_id", q.PartnerID)
	eq("network_id", q.NetworkID)
	eq("json_extract(data, '$.businessPriority')", q.Priority)
	bound("created_at", ">=", q.CreatedFrom)
	bound("created_at", "<=", q.CreatedTo)
	bound("last_updated_at", ">=", q.UpdatedFrom)
	bound("last_updated_at", "<=", q.UpdatedTo)
	if q.Number > 0 {
		where = append(where, "number = ?")
		args = append(args, q.Number)
	}
	from := "incidents INDEXED BY " + b.index
	switch {
	case len(q.Words) > 0 && fromText:
		from = "incident_text JOIN incidents ON incidents.rowid = incident_text.rowid"
		where = append(where, "incident_text MATCH ?")
		args = append(args, matchExpr(q.Words))
	case q.Number > 0:
		from = "incidents INDEXED BY " + b.number
	}
	order := "DESC"
	cmp := "<"
	if q.Ascending {
		order, cmp = "ASC", ">"
	}
	if q.After != nil {
		where = append(where, "("+col+", id) "+cmp+" (?, ?)")
		args = append(args, q.After.Value, q.After.ID)
	}
	args = append(args, q.Limit)
	// The branch's index gives the rows in order, so the read stops at the
	// limit; a business number or words are more selective than any
	// order, and the read starts from their index.
	return "SELECT " + incidentColumns + " FROM " + from + " WHERE " + strings.Join(where, " AND ") +
		" ORDER BY " + col + " " + order + ", id " + order + " LIMIT ?", args
}

// placeholders are n comma-separated "?".
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?,", n), ",")
}

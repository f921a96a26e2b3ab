package sqlite

import (
	"context"
	"sort"
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
	for _, b := range searchBranches(q) {
		sqlText, args := searchSQL(q, b)
		rows, err := s.query(ctx, sqlText, args...)
		if err != nil {
			return nil, store.Wrap("search", s.classify(err))
		}
		for rows.Next() {
			inc, err := scanIncident(rows)
			if err != nil {
				rows.Close()
				return nil, store.Wrap("search", s.classify(err))
			}
			if !seen[inc.ID] {
				seen[inc.ID] = true
				found = append(found, inc)
			}
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, store.Wrap("search", s.classify(err))
		}
	}
	sortSearch(q, found)
	if len(found) > q.Limit {
		found = found[:q.Limit]
	}
	return found, nil
}

// sortSearch puts objects in the query's order: by its sort value, then
// id, both in its direction.
func sortSearch(q store.SearchQuery, list []*store.Incident) {
	sort.Slice(list, func(i, j int) bool {
		a, b := list[i], list[j]
		va, vb := q.SortValue(a), q.SortValue(b)
		if va != vb {
			return (va < vb) == q.Ascending
		}
		return (a.ID < b.ID) == q.Ascending
	})
}

// searchBranch is one way a company sees objects, and the index that
// serves it.
type searchBranch struct {
	where string
	args  []any
	index string
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
		out = append(out, searchBranch{where: "owner_id = ?", args: []any{q.Company}, index: "incidents_owner" + suffix})
	}
	if q.PartnerID == "" || q.PartnerID == q.Company {
		out = append(out, searchBranch{where: "partner_id = ? AND partner_id <> ''", args: []any{q.Company}, index: "incidents_partner" + suffix})
	}
	shared := q.SharedKinds
	if len(q.Kinds) > 0 {
		shared = intersect(shared, q.Kinds)
	}
	for _, n := range q.Networks {
		if len(shared) == 0 || (q.NetworkID != "" && q.NetworkID != n) {
			continue
		}
		args := []any{n}
		for _, k := range shared {
			args = append(args, k)
		}
		out = append(out, searchBranch{where: "network_id = ? AND process_type IN (" + placeholders(len(shared)) + ")", args: args, index: "incidents_network" + suffix})
	}
	return out
}

// searchSQL is the query of one branch.
func searchSQL(q store.SearchQuery, b searchBranch) (string, []any) {
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
	if len(q.Words) > 0 {
		terms := make([]string, len(q.Words))
		for i, w := range q.Words {
			terms[i] = `"` + strings.ReplaceAll(w, `"`, `""`) + `"*`
		}
		where = append(where, "rowid IN (SELECT rowid FROM incident_text WHERE incident_text MATCH ?)")
		args = append(args, strings.Join(terms, " AND "))
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
	// limit. A text or number filter is more selective than any order:
	// the planner then starts from the full-text index or the number's.
	indexed := " INDEXED BY " + b.index
	if len(q.Words) > 0 || q.Number > 0 {
		indexed = ""
	}
	return "SELECT " + incidentColumns + " FROM incidents" + indexed + " WHERE " + strings.Join(where, " AND ") +
		" ORDER BY " + col + " " + order + ", id " + order + " LIMIT ?", args
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?,", n), ",")
}

func intersect(a, b []string) []string {
	var out []string
	for _, x := range a {
		for _, y := range b {
			if x == y {
				out = append(out, x)
				break
			}
		}
	}
	return out
}

package handlers

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/scwm-gateway/scwm-gateway/internal/schema"
	"github.com/scwm-gateway/scwm-gateway/store"
)

// Search pages: the default and the most objects of one page.
const (
	defaultSearchLimit = 25
	maxSearchLimit     = 100
)

// search answers search-process: the objects the caller may see (owned,
// submitted to it, or of a kind shared with the members of its network)
// that the payload's filters select, a page at a time. It acts in the
// call's network, or, for a call that names none (the REST API's search),
// in every network of the caller's company. Each object found is checked
// as a read checks it (roleOf), so search never shows what a read would
// not.
func (g *Gateway) search(ctx context.Context, call *Call) (any, error) {
	q, err := g.searchQuery(call)
	if err != nil {
		return nil, err
	}
	limit := q.Limit
	q.Limit = limit + 1 // one more says whether there is a next page
	found, err := g.store.SearchIncidents(ctx, q)
	if err != nil {
		return nil, err
	}
	page := &SearchPage{Items: []*record{}}
	for i, inc := range found {
		if i == limit {
			next := encodeCursor(q, found[limit-1])
			page.Next = &next
			break
		}
		k, ok := lookupKind(inc.ProcessType)
		if !ok || g.roleOf(inc, call, k) == roleNone {
			continue
		}
		page.Items = append(page.Items, newRecord(inc, call.Caller.CompanyID))
		page.Objects = append(page.Objects, inc)
	}
	return page, nil
}

// SearchPage is the answer of search-process: the records found, and the
// cursor of the next page (null on the last).
type SearchPage struct {
	Items []*record `json:"items"`
	Next  *string   `json:"next"`
	// Objects are the objects of Items, for a surface that renders them
	// its own way (the REST API's incidents).
	Objects []*store.Incident `json:"-"`
}

// searchQuery turns the payload into the store's query.
func (g *Gateway) searchQuery(call *Call) (store.SearchQuery, error) {
	p := call.Payload
	company := call.Caller.CompanyID
	q := store.SearchQuery{Dataspace: call.Dataspace, Company: company, Limit: limitField(p, defaultSearchLimit), SharedKinds: sharedKinds,
		OwnerID: stringField(p, "ownerId"), PartnerID: stringField(p, "partnerId"),
		Priority: stringField(p, "businessPriority"),
		Kinds:    stringList(p["processType"]), States: stringList(p["currentBaseState"]),
		SortByCreated: stringField(p, "sort") == "creationDateTime", Ascending: stringField(p, "order") == "asc"}
	network := stringField(p, "processNetworkId")
	switch {
	case call.NetworkID != "" && network != "" && network != call.NetworkID:
		return q, schema.Invalid([]string{fmt.Sprintf("$.processNetworkId: %q is not the header's processNetworkId %q; a search acts in the header's network", network, call.NetworkID)})
	case call.NetworkID != "":
		network = call.NetworkID
	}
	if network != "" {
		q.NetworkID = network
		if g.dir.IsMember(network, company) {
			q.Networks = []string{network}
		}
	} else {
		q.Networks = g.dir.NetworksOf(company)
	}
	var problems []string
	bound := func(field string, exclusive int64) int64 {
		v, ok := epochField(p, field)
		if !ok {
			return 0
		}
		return v + exclusive
	}
	q.CreatedFrom, q.CreatedTo = bound("createdAfter", 1), bound("createdBefore", -1)
	q.UpdatedFrom, q.UpdatedTo = bound("updatedAfter", 1), bound("updatedBefore", -1)
	if id := stringField(p, "aptBusinessObjectId"); id != "" {
		prefix, digits, _ := strings.Cut(id, "-")
		n, _ := strconv.ParseInt(digits, 10, 64)
		var numbered []string
		for _, k := range kinds {
			if strings.EqualFold(k.Number, prefix+"-") && (len(q.Kinds) == 0 || slices.Contains(q.Kinds, k.Name)) {
				numbered = append(numbered, k.Name)
			}
		}
		if len(numbered) == 0 {
			problems = append(problems, fmt.Sprintf("$.aptBusinessObjectId: no kind numbers its objects %s- (among the processTypes asked for)", strings.ToUpper(prefix)))
		}
		q.Number, q.Kinds = n, numbered
		if n == 0 {
			problems = append(problems, "$.aptBusinessObjectId: numbers start at 1")
		}
	}
	if text := stringField(p, "q"); text != "" {
		q.Words = store.SearchWords(text)
		if len(q.Words) > store.MaxSearchWords {
			problems = append(problems, fmt.Sprintf("$.q: %d words; at most %d are matched", len(q.Words), store.MaxSearchWords))
		}
		if len(q.Words) == 0 {
			problems = append(problems, "$.q: has no letters or digits to match")
		}
	}
	if c := stringField(p, "cursor"); c != "" {
		after, err := decodeCursor(c, q)
		if err != nil {
			problems = append(problems, "$.cursor: "+err.Error())
		}
		q.After = after
	}
	if len(problems) > 0 {
		return q, schema.Invalid(problems)
	}
	return q, nil
}

// limitField reads a page's limit (the schema bounds it), or def when none
// is sent.
func limitField(p map[string]any, def int) int {
	if n, ok := p["limit"].(json.Number); ok {
		if v, err := n.Int64(); err == nil {
			return int(v)
		}
	}
	return def
}

// epochField reads a time of the payload: milliseconds as a number or a
// string of digits (the schema allows both).
func epochField(p map[string]any, field string) (int64, bool) {
	switch v := p[field].(type) {
	case json.Number:
		n, err := v.Int64()
		return n, err == nil
	case string:
		n, err := strconv.ParseInt(v, 10, 64)
		return n, err == nil
	}
	return 0, false
}

// stringList reads a field that is one string or a list of them.
// Each value is kept once: a list sent with repeats asks no more of the
// store.
func stringList(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		out := make([]string, 0, len(x))
		for _, item := range x {
			if s, ok := item.(string); ok {
				out = append(out, s)
			}
		}
		slices.Sort(out)
		return slices.Compact(out)
	}
	return nil
}

// searchCursor is what a cursor holds: the position of the last object of
// a page, and the order it is a position in.
type searchCursor struct {
	Value int64  `json:"v"`
	ID    string `json:"i"`
	Sort  string `json:"s"`
}

// cursorOrder names a query's order.
func cursorOrder(q store.SearchQuery) string {
	order := "lastUpdatedDateTime"
	if q.SortByCreated {
		order = "creationDateTime"
	}
	if q.Ascending {
		return order + ":asc"
	}
	return order + ":desc"
}

// encodeCursor is the opaque cursor after inc in q's order.
func encodeCursor(q store.SearchQuery, inc *store.Incident) string {
	b, _ := json.Marshal(searchCursor{Value: q.SortValue(inc), ID: inc.ID, Sort: cursorOrder(q)})
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeCursor reads a cursor of the same order as q.
func decodeCursor(text string, q store.SearchQuery) (*store.SearchCursor, error) {
	raw, err := base64.RawURLEncoding.DecodeString(text)
	var c searchCursor
	if err == nil {
		err = json.Unmarshal(raw, &c)
	}
	if err != nil || c.ID == "" {
		return nil, errors.New("is not a cursor this gateway gave")
	}
	if c.Sort != cursorOrder(q) {
		return nil, fmt.Errorf("is a cursor of the order %s; this search is in %s", c.Sort, cursorOrder(q))
	}
	return &store.SearchCursor{Value: c.Value, ID: c.ID}, nil
}

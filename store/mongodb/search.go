package mongodb

import (
	"context"
	"errors"
	"regexp"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/scwm-gateway/scwm-gateway/store"
)

// The indexes of search (SearchIncidents): the objects of a dataspace by
// owner, partner and network, each in both sort orders, and by the words
// of their text.
const (
	idxOwnerUpdated     = "dataspace_ownerId_lastUpdatedDateTime"
	idxOwnerCreated     = "dataspace_ownerId_creationDateTime"
	idxPartnerUpdated   = "dataspace_partnerId_lastUpdatedDateTime"
	idxPartnerCreated   = "dataspace_partnerId_creationDateTime"
	idxNetworkUpdated   = "dataspace_networkId_processType_lastUpdatedDateTime"
	idxNetworkCreated   = "dataspace_networkId_processType_creationDateTime"
	idxSearchWords      = "dataspace_searchWords"
	searchWordsBackfill = "meta:searchWords"
)

// searchIndexes are the indexes search reads.
func (s *Store) searchIndexes() []index {
	partner := bson.D{{Key: "partnerId", Value: bson.M{"$gt": ""}}}
	return []index{
		{coll: s.incidents, name: idxOwnerUpdated, keys: []string{"dataspace", "ownerId", "lastUpdatedDateTime", "incidentId"}},
		{coll: s.incidents, name: idxOwnerCreated, keys: []string{"dataspace", "ownerId", "creationDateTime", "incidentId"}},
		{coll: s.incidents, name: idxPartnerUpdated, keys: []string{"dataspace", "partnerId", "lastUpdatedDateTime", "incidentId"}, partial: partner},
		{coll: s.incidents, name: idxPartnerCreated, keys: []string{"dataspace", "partnerId", "creationDateTime", "incidentId"}, partial: partner},
		{coll: s.incidents, name: idxNetworkUpdated, keys: []string{"dataspace", "networkId", "processType", "lastUpdatedDateTime", "incidentId"}},
		{coll: s.incidents, name: idxNetworkCreated, keys: []string{"dataspace", "networkId", "processType", "creationDateTime", "incidentId"}},
		{coll: s.incidents, name: idxSearchWords, keys: []string{"dataspace", "searchWords"}},
	}
}

// SearchIncidents finds the objects q selects, in its order, at most
// q.Limit of them: one find per visibility branch on the branch's index
// (or, with words, on the words' index), merged here.
func (s *Store) SearchIncidents(ctx context.Context, q store.SearchQuery) ([]*store.Incident, error) {
	ctx, cancel := s.operation(ctx)
	defer cancel()
	if q.Limit <= 0 {
		return nil, nil
	}
	sortField := "lastUpdatedDateTime"
	if q.SortByCreated {
		sortField = "creationDateTime"
	}
	dir := -1
	if q.Ascending {
		dir = 1
	}
	var found []*store.Incident
	seen := map[string]bool{}
	fromWords := false
	if len(q.Words) > 0 {
		// A few matches are found on the words' index and sorted; many are
		// met sooner in the order of the branch's index, filtered.
		n, err := s.incidents.CountDocuments(ctx, searchFilter(store.SearchQuery{Dataspace: q.Dataspace, Words: q.Words}, nil, sortField),
			options.Count().SetHint(idxSearchWords).SetLimit(max(s.wordsIndexBelow, 1)))
		if err != nil {
			return nil, wrap("search", err)
		}
		fromWords = n < s.wordsIndexBelow
	}
	for _, b := range s.searchBranches(q) {
		filter := searchFilter(q, b.filter, sortField)
		hint := b.index
		if fromWords {
			hint = idxSearchWords
		}
		o := options.Find().SetSort(bson.D{{Key: sortField, Value: dir}, {Key: "incidentId", Value: dir}}).
			SetHint(hint).SetLimit(int64(q.Limit))
		cur, err := s.incidents.Find(ctx, filter, o)
		if err != nil {
			return nil, wrap("search", err)
		}
		var docs []incidentDoc
		if err := cur.All(ctx, &docs); err != nil {
			return nil, wrap("search", err)
		}
		for i := range docs {
			inc := &docs[i].Incident
			if seen[inc.ID] {
				continue
			}
			seen[inc.ID] = true
			normalizeIncident(inc)
			found = append(found, inc)
		}
	}
	q.Sort(found)
	if len(found) > q.Limit {
		found = found[:q.Limit]
	}
	return found, nil
}

// wordsIndexBelow is how many matches of a search's words are few enough
// to find them on the words' index and sort them.
const wordsIndexBelow = 2000

// searchBranch is one way a company sees objects and its index.
type searchBranch struct {
	filter bson.D
	index  string
}

func (s *Store) searchBranches(q store.SearchQuery) []searchBranch {
	owner, partner, network := idxOwnerUpdated, idxPartnerUpdated, idxNetworkUpdated
	if q.SortByCreated {
		owner, partner, network = idxOwnerCreated, idxPartnerCreated, idxNetworkCreated
	}
	var out []searchBranch
	if q.OwnerID == "" || q.OwnerID == q.Company {
		out = append(out, searchBranch{filter: bson.D{{Key: "ownerId", Value: q.Company}}, index: owner})
	}
	if q.PartnerID == "" || q.PartnerID == q.Company {
		// The bound, repeated, lets MongoDB use the partial index.
		out = append(out, searchBranch{filter: bson.D{{Key: "partnerId", Value: bson.M{"$eq": q.Company, "$gt": ""}}}, index: partner})
	}
	shared := q.SharedKindsAsked()
	for _, n := range q.Networks {
		if q.NetworkID != "" && q.NetworkID != n {
			continue
		}
		for _, k := range shared {
			out = append(out, searchBranch{filter: bson.D{{Key: "networkId", Value: n}, {Key: "processType", Value: k}}, index: network})
		}
	}
	return out
}

// searchFilter is the filter of one branch with q's filters.
func searchFilter(q store.SearchQuery, branch bson.D, sortField string) bson.D {
	f := bson.D{{Key: "dataspace", Value: q.Dataspace}}
	and := bson.A{}
	if branch != nil {
		and = append(and, branch)
	}
	add := func(key string, v any) { and = append(and, bson.D{{Key: key, Value: v}}) }
	if len(q.Kinds) > 0 {
		add("processType", bson.M{"$in": q.Kinds})
	}
	if len(q.States) > 0 {
		add("currentBaseState", bson.M{"$in": q.States})
	}
	for key, v := range map[string]string{"ownerId": q.OwnerID, "partnerId": q.PartnerID, "networkId": q.NetworkID, "data.businessPriority": q.Priority} {
		if v != "" {
			add(key, v)
		}
	}
	rng := func(key string, from, to int64) {
		r := bson.M{}
		if from != 0 {
			r["$gte"] = from
		}
		if to != 0 {
			r["$lte"] = to
		}
		if len(r) > 0 {
			add(key, r)
		}
	}
	rng("creationDateTime", q.CreatedFrom, q.CreatedTo)
	rng("lastUpdatedDateTime", q.UpdatedFrom, q.UpdatedTo)
	if q.Number > 0 {
		add("number", q.Number)
	}
	for _, w := range q.Words {
		add("searchWords", bson.M{"$regex": "^" + regexp.QuoteMeta(w)})
	}
	if a := q.After; a != nil {
		cmp := "$lt"
		if q.Ascending {
			cmp = "$gt"
		}
		and = append(and, bson.D{{Key: "$or", Value: bson.A{
			bson.D{{Key: sortField, Value: bson.M{cmp: a.Value}}},
			bson.D{{Key: sortField, Value: a.Value}, {Key: "incidentId", Value: bson.M{cmp: a.ID}}},
		}}})
	}
	if len(and) == 0 {
		return f
	}
	return append(f, bson.E{Key: "$and", Value: and})
}

// backfillSearchWords gives the objects written before search their
// search words, once per database: a marker in the sequences collection
// says it is done, so that later starts read nothing. It reads the
// objects without the field on the _id index (they are in no index of
// the field); several gateways starting at once do the same work.
func (s *Store) backfillSearchWords(ctx context.Context) error {
	ctx, cancel := s.operation(ctx)
	defer cancel()
	err := s.sequences.FindOne(ctx, bson.M{"_id": searchWordsBackfill}).Err()
	switch {
	case err == nil:
		return nil
	case !errors.Is(err, mongo.ErrNoDocuments):
		return wrap("find the search words marker", err)
	}
	cur, err := s.incidents.Find(ctx, bson.M{"searchWords": bson.M{"$exists": false}}, options.Find().SetHint(idxID))
	if err != nil {
		return wrap("find the objects without search words", err)
	}
	defer cur.Close(ctx)
	for cur.Next(ctx) {
		var d incidentDoc
		if err := cur.Decode(&d); err != nil {
			return wrap("read an object without search words", err)
		}
		normalizeIncident(&d.Incident)
		_, err := s.incidents.UpdateOne(ctx, bson.M{"_id": d.Key, "searchWords": bson.M{"$exists": false}},
			bson.M{"$set": bson.M{"searchWords": searchWords(&d.Incident)}})
		if err != nil {
			return wrap("give "+d.Key+" its search words", err)
		}
	}
	if err := cur.Err(); err != nil {
		return wrap("read the objects without search words", err)
	}
	_, err = s.sequences.UpdateOne(ctx, bson.M{"_id": searchWordsBackfill}, bson.M{"$set": bson.M{"done": true}}, options.UpdateOne().SetUpsert(true))
	return wrap("mark the search words done", err)
}

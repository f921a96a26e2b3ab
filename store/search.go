package store

import (
	"slices"
	"sort"
	"strings"
	"unicode"

	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"
)

// SearchQuery selects the objects of one dataspace that a company may find:
// those it owns, those whose partner it is, and the objects of the kinds
// shared with a network's members (SharedKinds) in its networks (Networks),
// narrowed by the filters that are set. Every store serves each branch of
// that visibility from an index ordered by the sort key, and the filters
// on the rows the index yields; no query reads a collection whole.
type SearchQuery struct {
	Dataspace string
	// Company is the company searching.
	Company string
	// Networks are the company's networks, and SharedKinds the process
	// types every member of an object's network may see.
	Networks, SharedKinds []string

	// The filters; an empty one does not filter.
	Kinds     []string // processType is one of them
	States    []string // currentBaseState is one of them
	OwnerID   string
	PartnerID string
	NetworkID string
	// Priority matches data.businessPriority.
	Priority string
	// CreatedFrom/CreatedTo and UpdatedFrom/UpdatedTo bound the creation
	// and last update times (milliseconds since the epoch, inclusive);
	// zero is unbounded.
	CreatedFrom, CreatedTo, UpdatedFrom, UpdatedTo int64
	// Number, when above zero, matches the business number (17 of
	// INC-17); the Kinds filter then says which kinds have the prefix.
	Number int64
	// Words each match the start of a word of the summary or the
	// description (SearchWords of the text), without regard to case or
	// diacritics.
	Words []string

	// SortByCreated sorts by creation time instead of last update;
	// Ascending sorts oldest first. Ties are broken by id, in the same
	// direction.
	SortByCreated, Ascending bool
	// After, when set, continues after the object with this sort value
	// and id (the last of the previous page).
	After *SearchCursor
	// Limit bounds the objects returned.
	Limit int
}

// SearchCursor is the position of an object in a search's order.
type SearchCursor struct {
	Value int64
	ID    string
}

// SortValue is an object's value of the query's sort key.
func (q *SearchQuery) SortValue(inc *Incident) int64 {
	if q.SortByCreated {
		return inc.CreatedAt
	}
	return inc.LastUpdatedAt
}

// Past reports whether an object at (value, id) comes after the cursor in
// the query's order.
func (q *SearchQuery) Past(value int64, id string) bool {
	a := q.After
	if a == nil {
		return true
	}
	if q.Ascending {
		return value > a.Value || (value == a.Value && id > a.ID)
	}
	return value < a.Value || (value == a.Value && id < a.ID)
}

// Sort puts objects in the query's order: by its sort value, then id, both
// in its direction.
func (q *SearchQuery) Sort(list []*Incident) {
	sort.Slice(list, func(i, j int) bool {
		a, b := list[i], list[j]
		va, vb := q.SortValue(a), q.SortValue(b)
		if va != vb {
			return (va < vb) == q.Ascending
		}
		return (a.ID < b.ID) == q.Ascending
	})
}

// SharedKindsAsked are the shared kinds the query's kind filter leaves.
func (q *SearchQuery) SharedKindsAsked() []string {
	if len(q.Kinds) == 0 {
		return q.SharedKinds
	}
	var out []string
	for _, k := range q.SharedKinds {
		if slices.Contains(q.Kinds, k) {
			out = append(out, k)
		}
	}
	return out
}

// MaxSearchWords bounds the words of a text search, and MaxIndexedWords
// the distinct words a store that keeps them itself indexes of one
// object's summary and description.
const (
	MaxSearchWords  = 8
	MaxIndexedWords = 2000
)

// SearchWords are the words of text as search matches them: runs of
// letters and digits, in lower case, without diacritics ("Café-Crème 2"
// is "cafe", "creme", "2"), each distinct word once, in order.
func SearchWords(text string) []string {
	// A transformer keeps state: each call has its own.
	fold := transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), norm.NFC)
	folded, _, err := transform.String(fold, text)
	if err != nil {
		folded = text
	}
	seen := map[string]bool{}
	var out []string
	for _, w := range strings.FieldsFunc(folded, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
		w = strings.ToLower(w)
		if !seen[w] {
			seen[w] = true
			out = append(out, w)
		}
	}
	return out
}

// SearchText is the text of an object that search matches words in: its
// summary and its description.
func SearchText(inc *Incident) string {
	summary, _ := inc.Data["aptBusinessObjectSummary"].(string)
	description, _ := inc.Data["aptBusinessObjectDescription"].(string)
	return summary + "\n" + description
}

// MatchesWords reports whether every word is the start of a word of text
// (both as SearchWords gives them): what a store's text index is asked.
func MatchesWords(text string, words []string) bool {
	have := SearchWords(text)
	for _, w := range words {
		found := false
		for _, h := range have {
			if strings.HasPrefix(h, w) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

package handlers

import (
	"reflect"
	"testing"

	"github.com/scwm-gateway/scwm-gateway/store"
)

// The next version of an incident is planned without HTTP or a store:
// paths set nested objects, arrays take and lose members once, the version
// and the last update move on, comments are left to the store (records of
// their own), and the version it was planned from is left as it was.
func TestNextVersionAppliesAChange(t *testing.T) {
	t.Parallel()
	cur := &store.Incident{ID: "i", DataVersion: 3, CurrentBaseState: "New",
		Data:     map[string]any{"a": map[string]any{"b": int64(1)}, "followerId": []any{"alice"}, "flat": "x"},
		Comments: []store.Comment{{ID: "c1"}}}
	next, err := nextVersion(cur, versionChange{
		Set:      map[string]any{"data.a.c": "new", "data.deep.er": int64(2), "currentBaseState": "UnderInvestigation", "partnerId": "p"},
		AddToSet: map[string]any{"data.followerId": "bob"}, Pull: map[string]any{"data.tags": "none"},
		AddComments: []store.Comment{{ID: "c2"}}, UserID: "u", DateTime: 42,
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"a": map[string]any{"b": int64(1), "c": "new"}, "deep": map[string]any{"er": int64(2)},
		"followerId": []any{"alice", "bob"}, "flat": "x", "tags": []any{}}
	if !reflect.DeepEqual(next.Data, want) || next.DataVersion != 4 || next.CurrentBaseState != "UnderInvestigation" ||
		next.PartnerID != "p" || next.LastUpdatedBy != "u" || next.LastUpdatedAt != 42 || next.Comments != nil {
		t.Fatalf("next version: %+v", next)
	}
	if cur.DataVersion != 3 || len(cur.Data["a"].(map[string]any)) != 1 || len(cur.Data["followerId"].([]any)) != 1 || len(cur.Comments) != 1 {
		t.Fatalf("the version it was planned from changed: %+v", cur)
	}
	edit := versionChange{AddToSet: map[string]any{"data.followerId": "bob"},
		Pull: map[string]any{"data.followerId": "alice"}, ReplaceComments: []store.Comment{{ID: "only"}}}
	again, err := nextVersion(next, edit)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(again.Data["followerId"], []any{"bob"}) {
		t.Fatalf("second version: followers %v", again.Data["followerId"])
	}
	if ch := storeChange(again, edit); ch.Incident != again || len(ch.ReplaceComments) != 1 || ch.ReplaceComments[0].ID != "only" {
		t.Fatalf("the store's change: %+v", ch)
	}
}

// A change that cannot be applied is refused whole.
func TestNextVersionRefusesWhatItCannotApply(t *testing.T) {
	t.Parallel()
	cur := &store.Incident{ID: "i", DataVersion: 1, Data: map[string]any{"flat": "x", "list": []any{}}}
	for name, ch := range map[string]versionChange{
		"a path through a string":      {Set: map[string]any{"data.flat.x": 1}},
		"a field a change cannot set":  {Set: map[string]any{"ownerId": "other"}},
		"a state that is no string":    {Set: map[string]any{"currentBaseState": 1}},
		"an array op on a string":      {AddToSet: map[string]any{"data.flat": "y"}},
		"an array op on a nested path": {Pull: map[string]any{"data.a.b": "y"}},
	} {
		if _, err := nextVersion(cur, ch); err == nil {
			t.Errorf("%s: applied", name)
		}
	}
}

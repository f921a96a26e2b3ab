package storetest

import (
	"fmt"
	"math"
	"testing"

	"github.com/scwm-gateway/scwm-gateway/internal/jsonvalue"
	"github.com/scwm-gateway/scwm-gateway/store"
)

// ds is the dataspace of the fixtures.
const ds = "default"

// sampleData is incident data with every kind of value a payload holds,
// in the form the gateway keeps it (jsonvalue): whole numbers as int64,
// others as float64. Arrays directly inside arrays have a case of their
// own (NestedArrays), as some test servers refuse them.
func sampleData() map[string]any {
	return map[string]any{
		"title":       "Pallet damaged in transit",
		"unicode":     "Grüße, 東京 ✓ \"quoted\" \\ <tag> &",
		"empty":       "",
		"count":       int64(42),
		"negative":    int64(-7),
		"zero":        int64(0),
		"beyond53":    int64(1<<53 + 1), // lost by a float64
		"max":         int64(math.MaxInt64),
		"min":         int64(math.MinInt64),
		"ratio":       1.5,
		"small":       -0.000125,
		"large":       1.25e300,
		"yes":         true,
		"no":          false,
		"none":        nil,
		"list":        []any{int64(1), 2.5, "three", true, nil, map[string]any{"five": int64(5), "six": []any{int64(6)}}},
		"emptyList":   []any{},
		"emptyObject": map[string]any{},
		"nested": map[string]any{
			"level": int64(1),
			"deeper": map[string]any{
				"level": int64(2),
				"items": []any{map[string]any{"sku": "A-1", "qty": int64(3), "weight": 0.75}},
			},
		},
	}
}

// sampleComment is a comment as a change adds it (Position unset).
func sampleComment(id string, n int64) store.Comment {
	return store.Comment{
		ID:             id,
		CommentText:    "comment " + id,
		VisibilityType: "PUBLIC",
		Attachments: []map[string]any{
			{"fileName": id + ".pdf", "size": int64(1024 * n), "ratio": 0.5, "meta": map[string]any{"pages": int64(3), "tags": []any{"a", "b"}}},
		},
		CompanyID:    "acme",
		CreatedBy:    "alice",
		CreatedAt:    base + n,
		UpdatedBy:    "alice",
		UpdatedAt:    base + n,
		LicensePlate: "plate-comment-" + id,
	}
}

// sampleIncident is a new incident as an add makes it: at DataVersion 1,
// with two comments and its history entry (plate "plate-add-<id>").
func sampleIncident(id string) *store.Incident {
	return &store.Incident{
		ID:               id,
		Dataspace:        ds,
		OwnerID:          "acme",
		NetworkID:        "net-1",
		ProcessType:      "incident",
		SchemaVersion:    3,
		DataVersion:      1,
		CreatedByUserID:  "alice",
		LastUpdatedBy:    "alice",
		CreatedAt:        base,
		LastUpdatedAt:    base,
		CurrentBaseState: "Draft",
		Number:           7,
		Data:             sampleData(),
		Comments:         []store.Comment{sampleComment(id+"-c1", 1), sampleComment(id+"-c2", 2)},
		Activities: []store.Activity{{
			LicensePlate: "plate-add-" + id,
			EventName:    "addIncident",
			UserID:       "alice",
			CompanyID:    "acme",
			DateTime:     base,
			DataVersion:  0, // the store sets it
			Fields:       []string{"title", "count"},
			StateTo:      "Draft",
			CommentIDs:   []string{id + "-c1", id + "-c2"},
			Detail:       map[string]any{"n": int64(1), "f": 0.5, "s": "x", "l": []any{"a", int64(2)}, "o": map[string]any{"k": nil}},
		}},
	}
}

// stateOf is inc as FindIncident gives it without comments or history.
func stateOf(inc *store.Incident) *store.Incident {
	c := *inc
	c.Comments, c.Activities = nil, nil
	if inc.Data != nil {
		c.Data = jsonvalue.Copy(inc.Data).(map[string]any)
	}
	return &c
}

// stored is what a store keeps of a new incident: its comments with their
// positions and its history entry at version 1.
func stored(inc *store.Incident) ([]store.Comment, []store.Activity) {
	var comments []store.Comment
	for i, c := range inc.Comments {
		c.Position = store.CommentPosition(inc.DataVersion, i)
		comments = append(comments, c)
	}
	a := inc.Activities[0]
	a.DataVersion = inc.DataVersion
	return comments, []store.Activity{a}
}

// nextChange is a change of prev to version v: new data (with "step" and
// what extra sets), a new state and history entry under plate
// "plate-<id>-v<v>"; no comments.
func nextChange(prev *store.Incident, v int64, extra map[string]any) store.Change {
	next := stateOf(prev)
	next.DataVersion = v
	next.LastUpdatedBy = "bob"
	next.LastUpdatedAt = prev.LastUpdatedAt + 1000
	next.Data["step"] = v
	for k, val := range extra {
		if val == nil {
			delete(next.Data, k)
		} else {
			next.Data[k] = val
		}
	}
	return store.Change{
		Incident: next,
		Activity: store.Activity{
			LicensePlate: fmt.Sprintf("plate-%s-v%d", prev.ID, v),
			EventName:    "editIncident",
			UserID:       "bob",
			CompanyID:    "acme",
			DateTime:     next.LastUpdatedAt,
			DataVersion:  v,
			Fields:       []string{"step"},
		},
	}
}

func insertIncident(t *testing.T, st Store, inc *store.Incident) {
	t.Helper()
	must(t, st.InsertIncident(t.Context(), inc), "InsertIncident "+inc.ID)
}

func findIncident(t *testing.T, st Store, id string, with store.Include) *store.Incident {
	t.Helper()
	inc, err := st.FindIncident(t.Context(), ds, id, with)
	must(t, err, "FindIncident "+id)
	return inc
}

// history is an incident as the store holds it, for comparing with what
// it gives.
type history struct {
	state      *store.Incident
	comments   []store.Comment
	activities []store.Activity
}

// newHistory is what a store holds after inserting inc.
func newHistory(inc *store.Incident) *history {
	comments, activities := stored(inc)
	return &history{state: stateOf(inc), comments: comments, activities: activities}
}

// apply is h after ch is written.
func (h *history) apply(ch store.Change) {
	v := ch.Incident.DataVersion
	h.state = stateOf(ch.Incident)
	for _, r := range ch.ReplaceComments {
		for i := range h.comments {
			if h.comments[i].ID == r.ID {
				r.Position = h.comments[i].Position
				h.comments[i] = r
			}
		}
	}
	for i, c := range ch.AddComments {
		c.Position = store.CommentPosition(v, i)
		h.comments = append(h.comments, c)
	}
	a := ch.Activity
	a.DataVersion = v
	h.activities = append(h.activities, a)
}

// check compares what st gives of the incident with h.
func (h *history) check(t *testing.T, st Store, when string) {
	t.Helper()
	got := findIncident(t, st, h.state.ID, store.WithComments|store.WithActivities)
	equal(t, when+": comments", got.Comments, h.comments)
	equal(t, when+": history", got.Activities, h.activities)
	got.Comments, got.Activities = nil, nil
	equal(t, when+": incident", got, h.state)
	comments, err := st.ListComments(t.Context(), h.state.ID, 0, 1000)
	must(t, err, "ListComments")
	equal(t, when+": ListComments", comments, h.comments)
	activities, err := st.ListActivities(t.Context(), h.state.ID, 0, 1000)
	must(t, err, "ListActivities")
	equal(t, when+": ListActivities", activities, h.activities)
}

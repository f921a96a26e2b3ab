package handlers

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/scwm-gateway/scwm-gateway/internal/jsonvalue"
	"github.com/scwm-gateway/scwm-gateway/store"
)

// versionChange is what one event changes in an incident, applied to the
// version it was planned from to give the next version (nextVersion).
type versionChange struct {
	// Set maps field paths ("data.x.y", "currentBaseState", "partnerId") to
	// values.
	Set map[string]any
	// AddToSet and Pull add a value to, or remove it from, an array field
	// ("data.<field>").
	AddToSet map[string]any
	Pull     map[string]any
	// AddComments are added after the incident's comments.
	AddComments []store.Comment
	// ReplaceComments replace the incident's comments of the same ids
	// (comment edits).
	ReplaceComments []store.Comment

	UserID   string
	DateTime int64
	Activity store.Activity
}

// nextVersion is the incident's record as ch leaves it: the version after
// cur (comments are records of their own, written beside it, see
// storeChange). It fails for a change it cannot apply (a path through a
// value that is not an object, an array operation on a value that is not an
// array), and nothing is written then. cur is left as it is.
func nextVersion(cur *store.Incident, ch versionChange) (*store.Incident, error) {
	next := *cur
	next.Data = jsonvalue.Copy(cur.Data).(map[string]any)
	next.Activities, next.Comments = nil, nil
	next.DataVersion++
	next.LastUpdatedBy, next.LastUpdatedAt = ch.UserID, ch.DateTime
	// Paths in order, so that a change applies the same way every time.
	for _, path := range slices.Sorted(maps.Keys(ch.Set)) {
		v := ch.Set[path]
		switch {
		case path == "currentBaseState":
			state, ok := v.(string)
			if !ok {
				return nil, fmt.Errorf("currentBaseState: %T is not a string", v)
			}
			next.CurrentBaseState = state
		case path == "partnerId":
			partner, ok := v.(string)
			if !ok {
				return nil, fmt.Errorf("partnerId: %T is not a string", v)
			}
			next.PartnerID = partner
		case strings.HasPrefix(path, "data."):
			if !setPath(next.Data, strings.Split(path[len("data."):], "."), jsonvalue.Copy(v)) {
				return nil, fmt.Errorf("%s: a value on the path is not an object", path)
			}
		default:
			return nil, fmt.Errorf("%s: not a field a change can set", path)
		}
	}
	for _, path := range slices.Sorted(maps.Keys(ch.AddToSet)) {
		v := ch.AddToSet[path]
		list, ok := arrayAt(next.Data, path)
		if !ok {
			return nil, fmt.Errorf("%s: not an array", path)
		}
		if !slices.Contains(list, v) {
			list = append(slices.Clip(list), v)
		}
		next.Data[path[len("data."):]] = list
	}
	for _, path := range slices.Sorted(maps.Keys(ch.Pull)) {
		v := ch.Pull[path]
		list, ok := arrayAt(next.Data, path)
		if !ok {
			return nil, fmt.Errorf("%s: not an array", path)
		}
		next.Data[path[len("data."):]] = slices.DeleteFunc(slices.Clone(list), func(e any) bool { return e == v })
	}
	return &next, nil
}

// storeChange is the change the store writes for ch: next, the record
// nextVersion made, with the comments ch adds and replaces and its history
// entry.
func storeChange(next *store.Incident, ch versionChange) store.Change {
	return store.Change{Incident: next, AddComments: ch.AddComments, ReplaceComments: ch.ReplaceComments, Activity: ch.Activity}
}

// setPath sets v at keys below m, creating objects on the way; false if a
// value on the way is not an object.
func setPath(m map[string]any, keys []string, v any) bool {
	for _, k := range keys[:len(keys)-1] {
		child, ok := m[k]
		if !ok || child == nil {
			nm := map[string]any{}
			m[k] = nm
			m = nm
			continue
		}
		if m, ok = child.(map[string]any); !ok {
			return false
		}
	}
	m[keys[len(keys)-1]] = v
	return true
}

// arrayAt reads the array at a top-level "data.<field>" path.
func arrayAt(data map[string]any, path string) ([]any, bool) {
	field, ok := strings.CutPrefix(path, "data.")
	if !ok || strings.Contains(field, ".") {
		return nil, false
	}
	switch v := data[field].(type) {
	case nil:
		return []any{}, true
	case []any:
		return v, true
	}
	return nil, false
}

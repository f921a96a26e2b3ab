package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"math/big"
	"math/rand/v2"
	"slices"
	"sort"
	"time"

	"github.com/google/uuid"

	"github.com/scwm-gateway/scwm-gateway/envelope"
	"github.com/scwm-gateway/scwm-gateway/internal/jsonvalue"
	"github.com/scwm-gateway/scwm-gateway/internal/schema"
	"github.com/scwm-gateway/scwm-gateway/store"
)

// controlFields steer an event rather than being the object's data; they
// are never merged into data. taskId and templateId name the parent or the
// template an add is made from; the gateway records them itself.
var controlFields = map[string]bool{
	"id": true, "processId": true, "processType": true, "dataVersion": true, "newBaseState": true,
	"aptCommentBox": true, "commentAndAttachments": true, "taskId": true, "templateId": true,
}

// change collects one event's effect on an existing incident before it is
// written as one atomic update.
type change struct {
	versionChange
	inc  *store.Incident
	call *Call
}

// newChange starts a change of inc by call, recorded in the history under
// the call's license plate.
func newChange(call *Call, inc *store.Incident) *change {
	ch := &change{inc: inc, call: call}
	ch.Set = map[string]any{}
	ch.UserID = call.Caller.UserID
	ch.DateTime = call.Now.UnixMilli()
	ch.Activity = newActivity(call)
	return ch
}

func newActivity(call *Call) store.Activity {
	a := store.Activity{
		LicensePlate: call.LicensePlate,
		EventName:    call.EventName(),
		UserID:       call.Caller.UserID,
		CompanyID:    call.Caller.CompanyID,
		DateTime:     call.Now.UnixMilli(),
	}
	if len(call.Detail) > 0 {
		a.Detail = maps.Clone(call.Detail)
	}
	return a
}

// setData sets one data field and records it as changed.
func (ch *change) setData(field string, v any) {
	ch.Set["data."+field] = v
	ch.Activity.Fields = append(ch.Activity.Fields, field)
}

// detail records a fact about the change in its history entry's detail.
func (ch *change) detail(key string, v any) {
	if ch.Activity.Detail == nil {
		ch.Activity.Detail = map[string]any{}
	}
	ch.Activity.Detail[key] = v
}

// addComments adds comments to the change and names them in its history
// entry.
func (ch *change) addComments(comments []store.Comment) {
	ch.AddComments = comments
	ch.Activity.CommentIDs = commentIDs(comments)
}

// changedAnswer is the payload of edit, close, reopen and submit: the id
// and the new dataVersion.
func changedAnswer(inc *store.Incident, err error) (any, error) {
	if err != nil {
		return nil, err
	}
	return map[string]any{"id": inc.ID, "dataVersion": inc.DataVersion}, nil
}

// setState moves the incident to state.
func (ch *change) setState(state string) {
	if state == "" {
		return
	}
	if state == ch.inc.CurrentBaseState {
		return
	}
	ch.Set["currentBaseState"] = state
	ch.Activity.StateFrom, ch.Activity.StateTo = ch.inc.CurrentBaseState, state
}

// mergeData merges payload fields into data: nested objects by path, so
// that an edit changes only what it sends; arrays and scalars replaced.
func (ch *change) mergeData(fields map[string]any) {
	mergeInto("data", fields, ch.inc.Data, ch.Set, &ch.Activity.Fields)
}

func mergeInto(prefix string, patch map[string]any, current map[string]any, set map[string]any, changed *[]string) {
	for _, k := range slices.Sorted(maps.Keys(patch)) {
		path := prefix + "." + k
		v := patch[k]
		obj, isObj := v.(map[string]any)
		cur, curIsObj := asMap(current[k])
		switch {
		case isObj && curIsObj && len(obj) > 0:
			mergeInto(path, obj, cur, set, changed)
		case isObj && curIsObj:
			// An empty object merges nothing into an existing one.
		default:
			if was, present := current[k]; present && sameValue(was, v) {
				continue // already so: not a change
			}
			set[path] = v
			*changed = append(*changed, path[len("data."):])
		}
	}
}

// empty reports whether the change would write nothing but a new version:
// no field, state, partner or comment changes.
func (ch *change) empty() bool {
	return len(ch.Set) == 0 && len(ch.AddToSet) == 0 && len(ch.Pull) == 0 &&
		len(ch.AddComments) == 0 && ch.ReplaceComments == nil
}

// unchangedWarning is the warning of a change that found everything it
// sent already so, and wrote no new version.
func unchangedWarning(inc *store.Incident) string {
	return fmt.Sprintf("nothing changed: %s %s already has every value sent; no new version was written (dataVersion %d)",
		IncidentName(inc), inc.ID, inc.DataVersion)
}

// sameValue reports whether a payload value (in jsonvalue.Copy's form) equals
// a stored one: numbers by value (the store may read 1.0 back as 1),
// objects and arrays member by member.
func sameValue(stored, sent any) bool {
	switch s := sent.(type) {
	case map[string]any:
		m, ok := stored.(map[string]any)
		if !ok || len(m) != len(s) {
			return false
		}
		for k, e := range s {
			if was, present := m[k]; !present || !sameValue(was, e) {
				return false
			}
		}
		return true
	case []any:
		a, ok := stored.([]any)
		if !ok || len(a) != len(s) {
			return false
		}
		for i := range s {
			if !sameValue(a[i], s[i]) {
				return false
			}
		}
		return true
	case int64, float64:
		x, okx := exactNumber(stored)
		y, oky := exactNumber(s)
		return okx && oky && x.Cmp(y) == 0
	case string, bool, nil:
		return stored == sent
	}
	return false
}

// exactNumber is a stored or decoded number as an exact rational.
func exactNumber(v any) (*big.Rat, bool) {
	switch v := v.(type) {
	case int64:
		return new(big.Rat).SetInt64(v), true
	case int32:
		return new(big.Rat).SetInt64(int64(v)), true
	case int:
		return new(big.Rat).SetInt64(int64(v)), true
	case float64:
		if math.IsInf(v, 0) || math.IsNaN(v) {
			return nil, false
		}
		return new(big.Rat).SetFloat64(v), true
	}
	return nil, false
}

// planFunc decides, from the incident as it is now and what the caller is
// to it, what an event changes. Its errors are final answers; a nil change
// means there is nothing to write.
type planFunc func(inc *store.Incident, r role) (*change, error)

// maxPlanAttempts bounds how often an event is planned again because other
// changes of the same incident kept coming first.
const maxPlanAttempts = 100

// mutate loads the incident the caller names, plans the event's change from
// it and writes the change on condition that the incident is still at the
// dataVersion it was planned from. If another change came first, it loads
// and plans again: so every change is applied to the state it was decided
// on, and the history numbers versions without gaps. When the payload names
// a dataVersion, that version is the condition and a mismatch is final (409).
//
// Within this process, changes of one object take turns (g.incidentLocks),
// so they queue instead of racing; the condition still guards against other
// gateway instances sharing a MongoDB. A change of a child (a sub-task)
// also holds its parent's turn, so that a rule between the two (a task
// does not close while a sub-task is open) is decided on what both are.
func (g *Gateway) mutate(ctx context.Context, call *Call, k *kind, id string, with store.Include, plan planFunc) (*store.Incident, bool, error) {
	lock := func() (func(), error) { return g.incidentLocks.LockContext(ctx, id) }
	if k.Parent != "" {
		if child, err := g.store.FindIncident(ctx, call.Dataspace, id, 0); err == nil && child.ParentID != "" {
			lock = func() (func(), error) { return g.incidentLocks.LockAll(ctx, id, child.ParentID) }
		}
	}
	unlock, err := lock()
	if err != nil {
		return nil, false, fmt.Errorf("wait for the other changes of %s %s: %w: %w", k.Name, id, store.ErrBusy, err)
	}
	defer unlock()
	sent, pinned, err := payloadVersion(call.Payload)
	if err != nil {
		return nil, false, err
	}
	for attempt := 1; ; attempt++ {
		inc, r, err := g.findVisible(ctx, call, k, id, with)
		if err != nil {
			return nil, false, err
		}
		ch, err := plan(inc, r)
		if err != nil {
			return inc, false, err
		}
		// The condition holds for a change that writes nothing too: a
		// client that sent a stale version must learn that it is stale.
		if pinned && sent != inc.DataVersion {
			return nil, false, staleVersion(sent, inc.DataVersion)
		}
		if ch == nil {
			call.Incident = inc
			return inc, false, nil
		}
		sort.Strings(ch.Activity.Fields)
		ch.Activity.DataVersion = inc.DataVersion + 1
		next, err := nextVersion(inc, ch.versionChange)
		if err != nil {
			return nil, false, fmt.Errorf("change incident %s: %w", inc.ID, err)
		}
		err = g.store.WriteChange(ctx, storeChange(next, ch.versionChange))
		switch {
		case err == nil:
			call.Incident = next
			return next, true, nil
		case !errors.Is(err, store.ErrConflict):
			return nil, false, err
		case pinned:
			now, ferr := g.store.FindIncident(ctx, call.Dataspace, inc.ID, 0)
			if ferr != nil {
				return nil, false, ferr
			}
			return nil, false, staleVersion(sent, now.DataVersion)
		case attempt >= maxPlanAttempts:
			return nil, false, envelope.Errorf(envelope.KindConcurrentModification,
				"%s %s kept changing while this request ran; retry it", IncidentName(inc), inc.ID)
		}
		// Another change came first: plan again from what it left, after a
		// short random pause so that racing requests spread out.
		time.Sleep(time.Duration(rand.IntN(500*attempt)) * time.Microsecond)
	}
}

// mutateShared is mutate for the shared operations, which name the kind in
// the event or in the payload's processType, and the object as id or
// processId.
func (g *Gateway) mutateShared(ctx context.Context, call *Call, fixed *kind, with store.Include, plan func(*kind) planFunc) (*store.Incident, bool, error) {
	k, err := sharedKind(call, fixed)
	if err != nil {
		return nil, false, err
	}
	return g.mutate(ctx, call, k, incidentID(call.Payload), with, plan(k))
}

func staleVersion(sent, current int64) error {
	return envelope.Errorf(envelope.KindConcurrentModification,
		"dataVersion %d is not current: the incident is at dataVersion %d; read it again and retry", sent, current)
}

// payloadData returns the payload fields that are data of an object of
// kind k, converted for the store: control fields are left out, and system
// fields are dropped with a warning.
func payloadData(call *Call, k *kind, skip ...string) map[string]any {
	systemFields := k.systemFields()
	// Room for the fields the gateway adds, so that adding them does not
	// grow the map.
	data := make(map[string]any, len(call.Payload)+len(systemFields)+1)
	for k, v := range call.Payload {
		if !controlFields[k] {
			data[k] = jsonvalue.Copy(v)
		}
	}
	for _, f := range skip {
		delete(data, f)
	}
	for _, f := range systemFields {
		if _, sent := data[f]; sent {
			delete(data, f)
			call.Warnings = append(call.Warnings, "$."+f+": is maintained by the gateway; the value sent was ignored")
		}
	}
	return data
}

// commentsFrom turns the comment boxes of a payload (aptCommentBox, one box
// or an array of boxes, and commentAndAttachments) into comments. Each
// aptComment (an object or an array) becomes a comment; a box's
// addAttachment goes with its first comment, or with a comment without text
// when the box has none.
func commentsFrom(call *Call) []store.Comment {
	var out []store.Comment
	for _, key := range []string{"aptCommentBox", "commentAndAttachments"} {
		for _, box := range objects(call.Payload[key]) {
			first := len(out)
			for _, c := range objects(box["aptComment"]) {
				out = append(out, newComment(call, c))
			}
			attachments := newAttachments(box["addAttachment"])
			if len(attachments) == 0 {
				continue
			}
			if first == len(out) {
				out = append(out, newComment(call, map[string]any{}))
			}
			out[first].Attachments = append(out[first].Attachments, attachments...)
		}
	}
	return out
}

func newComment(call *Call, c map[string]any) store.Comment {
	text, _ := c["commentText"].(string)
	vis, _ := c["visibilityType"].(string)
	if vis == "" {
		vis = "Public"
	}
	now := call.Now.UnixMilli()
	return store.Comment{
		ID:             newID(),
		CommentText:    text,
		VisibilityType: vis,
		Attachments:    []map[string]any{},
		CompanyID:      call.Caller.CompanyID,
		CreatedBy:      call.Caller.UserID,
		CreatedAt:      now,
		UpdatedBy:      call.Caller.UserID,
		UpdatedAt:      now,
		LicensePlate:   call.LicensePlate,
	}
}

// newAttachments keeps each attachment's metadata as sent and gives it an id.
func newAttachments(v any) []map[string]any {
	var out []map[string]any
	for _, a := range objects(v) {
		m := jsonvalue.Copy(a).(map[string]any)
		m["id"] = newID()
		out = append(out, m)
	}
	return out
}

func commentIDs(cs []store.Comment) []string {
	ids := make([]string, len(cs))
	for i, c := range cs {
		ids[i] = c.ID
	}
	return ids
}

// objects reads a value that is an object or an array of objects.
func objects(v any) []map[string]any {
	switch v := v.(type) {
	case map[string]any:
		return []map[string]any{v}
	case []any:
		var out []map[string]any
		for _, e := range v {
			if m, ok := e.(map[string]any); ok {
				out = append(out, m)
			}
		}
		return out
	}
	return nil
}

// asMap reads an object of decoded JSON or of stored data (the store
// decodes documents as map[string]any).
func asMap(v any) (map[string]any, bool) {
	m, ok := v.(map[string]any)
	return m, ok
}

// newID returns a fresh time-ordered UUIDv7.
func newID() string {
	return uuid.Must(uuid.NewV7()).String()
}

// payloadVersion reads payload.dataVersion, the version a conditional
// change is based on: pinned is false when it is absent. Any spelling of a
// whole number from 1 to the largest int64 is that version (1, 1.0, 1e0 and
// 10E-1 are all version 1); anything else is a SchemaValidationException,
// never a change made without its condition.
func payloadVersion(p map[string]any) (version int64, pinned bool, err error) {
	v, sent := p["dataVersion"]
	if !sent {
		return 0, false, nil
	}
	if n, ok := v.(json.Number); ok {
		if version, ok := envelope.WholeNumber(n); ok && version >= 1 {
			return version, true, nil
		}
	}
	return 0, false, schema.Invalid([]string{fmt.Sprintf("$.dataVersion: %s is not a dataVersion; %s", jsonvalue.Text(v), envelope.DataVersionRule)})
}

// envelope.DataVersionRule says what a dataVersion is, for error messages.

// stringField reads a string payload field.
func stringField(p map[string]any, name string) string {
	s, _ := p[name].(string)
	return s
}

// incidentID reads the incident id of a payload: id, or processId in the
// shared operations.
func incidentID(p map[string]any) string {
	if id := stringField(p, "id"); id != "" {
		return id
	}
	return stringField(p, "processId")
}

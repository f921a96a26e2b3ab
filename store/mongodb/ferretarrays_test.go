package mongodb

import (
	"context"

	"github.com/scwm-gateway/scwm-gateway/store"
	"github.com/scwm-gateway/scwm-gateway/store/storetest"
)

// FerretDB v1.24 refuses documents with an array directly inside an array
// ("nested arrays are not supported"); MongoDB stores them. The contract's
// incident data has one, so on FerretDB the contract runs through
// nestedArrays: a wrapper that stores each array found directly inside
// another as an object {nestedArrayKey: [...]} and turns it back when
// reading. Everything else reaches the store as it is, so the contract
// still checks the store's every step there; only the storing of nested
// arrays itself is checked on MongoDB alone (MONGODB_URI).
type nestedArrays struct {
	*Store
}

var _ storetest.Store = nestedArrays{}

// nestedArrayKey marks an object that stands for a nested array.
const nestedArrayKey = "ferretdb-test-nested-array"

// wrapValue is v with every array directly inside an array wrapped;
// inArray says v is an element of an array. It copies what it changes.
func wrapValue(v any, inArray bool) any {
	switch v := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(v))
		for k, e := range v {
			m[k] = wrapValue(e, false)
		}
		return m
	case []any:
		a := make([]any, len(v))
		for i, e := range v {
			a[i] = wrapValue(e, true)
		}
		if inArray {
			return map[string]any{nestedArrayKey: a}
		}
		return a
	}
	return v
}

// unwrapValue undoes wrapValue.
func unwrapValue(v any) any {
	switch v := v.(type) {
	case map[string]any:
		if inner, ok := v[nestedArrayKey]; ok && len(v) == 1 {
			return unwrapValue(inner)
		}
		for k, e := range v {
			v[k] = unwrapValue(e)
		}
		return v
	case []any:
		for i, e := range v {
			v[i] = unwrapValue(e)
		}
		return v
	}
	return v
}

func wrapMap(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	return wrapValue(m, false).(map[string]any)
}

func unwrapMap(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	return unwrapValue(m).(map[string]any)
}

func wrapComments(cs []store.Comment) []store.Comment {
	if cs == nil {
		return nil
	}
	out := make([]store.Comment, len(cs))
	for i, c := range cs {
		out[i] = c
		if c.Attachments != nil {
			out[i].Attachments = make([]map[string]any, len(c.Attachments))
			for j, a := range c.Attachments {
				out[i].Attachments[j] = wrapMap(a)
			}
		}
	}
	return out
}

func unwrapComment(c *store.Comment) {
	for j, a := range c.Attachments {
		c.Attachments[j] = unwrapMap(a)
	}
}

func wrapActivity(a store.Activity) store.Activity {
	a.Detail = wrapMap(a.Detail)
	return a
}

func wrapIncident(inc *store.Incident) *store.Incident {
	if inc == nil {
		return nil
	}
	w := *inc
	w.Data = wrapMap(inc.Data)
	w.Comments = wrapComments(inc.Comments)
	if inc.Activities != nil {
		w.Activities = make([]store.Activity, len(inc.Activities))
		for i, a := range inc.Activities {
			w.Activities[i] = wrapActivity(a)
		}
	}
	return &w
}

func unwrapIncident(inc *store.Incident) {
	if inc == nil {
		return
	}
	inc.Data = unwrapMap(inc.Data)
	for i := range inc.Comments {
		unwrapComment(&inc.Comments[i])
	}
	for i := range inc.Activities {
		inc.Activities[i].Detail = unwrapMap(inc.Activities[i].Detail)
	}
}

func (n nestedArrays) InsertIncident(ctx context.Context, inc *store.Incident) error {
	return n.Store.InsertIncident(ctx, wrapIncident(inc))
}

func (n nestedArrays) WriteChange(ctx context.Context, ch store.Change) error {
	ch.Incident = wrapIncident(ch.Incident)
	ch.AddComments = wrapComments(ch.AddComments)
	ch.ReplaceComments = wrapComments(ch.ReplaceComments)
	ch.Activity = wrapActivity(ch.Activity)
	return n.Store.WriteChange(ctx, ch)
}

func (n nestedArrays) FindIncident(ctx context.Context, dataspace, id string, with store.Include) (*store.Incident, error) {
	inc, err := n.Store.FindIncident(ctx, dataspace, id, with)
	unwrapIncident(inc)
	return inc, err
}

func (n nestedArrays) FindComment(ctx context.Context, incidentID, commentID string) (*store.Comment, error) {
	c, err := n.Store.FindComment(ctx, incidentID, commentID)
	if c != nil {
		unwrapComment(c)
	}
	return c, err
}

func (n nestedArrays) ListComments(ctx context.Context, incidentID string, after int64, limit int) ([]store.Comment, error) {
	cs, err := n.Store.ListComments(ctx, incidentID, after, limit)
	for i := range cs {
		unwrapComment(&cs[i])
	}
	return cs, err
}

func (n nestedArrays) ListActivities(ctx context.Context, incidentID string, after int64, limit int) ([]store.Activity, error) {
	as, err := n.Store.ListActivities(ctx, incidentID, after, limit)
	for i := range as {
		as[i].Detail = unwrapMap(as[i].Detail)
	}
	return as, err
}

func (n nestedArrays) FindEffect(ctx context.Context, dataspace, plate string) (*store.Effect, error) {
	e, err := n.Store.FindEffect(ctx, dataspace, plate)
	if e != nil {
		unwrapIncident(e.Incident)
		e.Activity.Detail = unwrapMap(e.Activity.Detail)
	}
	return e, err
}

func (n nestedArrays) Export(ctx context.Context, emit func(store.Record) error) error {
	return n.Store.Export(ctx, func(r store.Record) error {
		switch v := r.Value.(type) {
		case *store.Incident:
			unwrapIncident(v)
		case *store.Comment:
			unwrapComment(v)
		case *store.Activity:
			v.Detail = unwrapMap(v.Detail)
		}
		return emit(r)
	})
}

func (n nestedArrays) Import(ctx context.Context, records []store.Record) error {
	out := make([]store.Record, len(records))
	for i, r := range records {
		out[i] = r
		switch v := deref(r.Value).(type) {
		case store.Incident:
			out[i].Value = wrapIncident(&v)
		case store.Comment:
			out[i].Value = &wrapComments([]store.Comment{v})[0]
		case store.Activity:
			a := wrapActivity(v)
			out[i].Value = &a
		}
	}
	return n.Store.Import(ctx, out)
}

package handlers

import (
	"maps"
	"slices"

	"github.com/scwm-gateway/scwm-gateway/envelope"
	"github.com/scwm-gateway/scwm-gateway/internal/schema"
)

// KindSpec is what a surface that serves objects by kind (GraphQL's
// genericGetObject) needs to know of one kind of the catalogue: the events
// that read it and its comments, and the shape of its data, built from
// the schemas of every served version of the events that write the data,
// plus the fields the gateway keeps itself. The surface's types come from
// it, so that they cannot drift from the payload schemas.
type KindSpec struct {
	// Name is the processType ("directSupplierIncident").
	Name string
	// Read is the newest version of the kind's read event; the zero name
	// for a kind without one (sub-task templates are read with their
	// template).
	Read envelope.EventName
	// ListComments lists an object's comments, with the payload
	// {"id", "processType": Name}.
	ListComments envelope.EventName
	// Child is the kind of the objects that belong to an object of this
	// kind ("subTask" for "task"), ListChildren the event that lists them
	// (payload {"id"}); both zero for a kind without children.
	Child        string
	ListChildren envelope.EventName
	// Data is the shape of the object's data.
	Data *schema.Shape
}

// dataVerbs are the verbs whose payloads become the object's data.
var dataVerbs = []verb{verbAdd, verbEdit, verbClose}

// KindSpecs describes every kind of the catalogue, in the catalogue's
// order.
func (g *Gateway) KindSpecs() []KindSpec {
	out := make([]KindSpec, 0, len(kinds))
	for _, k := range kinds {
		spec := KindSpec{Name: k.Name, ListComments: envelope.EventName{App: appAPT, Action: "list-comments-for-process", Version: 1}}
		if v := k.latest(verbRead); v > 0 {
			spec.Read = envelope.EventName{App: appAPT, Action: k.action(verbRead), Version: v}
		}
		if v := k.latest(verbList); v > 0 && k.Child != "" {
			spec.Child, spec.ListChildren = k.Child, envelope.EventName{App: appAPT, Action: k.action(verbList), Version: v}
		}
		var data *schema.Shape
		for _, v := range dataVerbs {
			for _, version := range k.Versions[v] {
				ev, err := g.registry.Lookup(envelope.EventName{App: appAPT, Action: k.action(v), Version: version})
				if err != nil {
					continue
				}
				sh := ev.schema.Shape()
				if v == verbClose {
					sh = withoutFields(sh, k.ConclusionFields...)
				}
				data = schema.Merge(data, withoutFields(sh, controlNames...))
			}
		}
		spec.Data = schema.Merge(data, k.systemShape(g))
		out = append(out, spec)
	}
	return out
}

// controlNames are the payload fields that say what to do rather than
// what the data holds (controlFields).
var controlNames = slices.Collect(maps.Keys(controlFields))

// withoutFields is sh without the named properties.
func withoutFields(sh *schema.Shape, names ...string) *schema.Shape {
	if sh == nil || sh.Properties == nil {
		return sh
	}
	out := &schema.Shape{Kind: sh.Kind, Properties: maps.Clone(sh.Properties), Items: sh.Items}
	for _, name := range names {
		delete(out.Properties, name)
	}
	return out
}

// systemShape is the shape of the data fields the gateway keeps for the
// kind (listSystemFields); the conclusion has the shapes its close event's
// schema gives its fields, and the date it was closed.
func (k *kind) systemShape(g *Gateway) *schema.Shape {
	str := &schema.Shape{Kind: schema.ShapeString}
	integer := &schema.Shape{Kind: schema.ShapeInteger}
	props := map[string]*schema.Shape{
		"aptBusinessObjectId":                str,
		"aptBusinessObjectIntegerIdentifier": integer,
		"fkProcessNetworkId":                 str,
		"followerId":                         {Kind: schema.ShapeArray, Items: str},
	}
	if k.Partner == partnerBySubmission || k.isIncident() {
		props["dateSubmitted"] = integer
	}
	if k.ParentField != "" {
		props[k.ParentField] = str
	}
	for _, f := range k.Kept {
		props[f] = str
	}
	if _, ok := props["isAddRemoveSubtaskAllowed"]; ok {
		props["isAddRemoveSubtaskAllowed"] = &schema.Shape{Kind: schema.ShapeBoolean}
	}
	if k.Conclusion != "" {
		conclusion := &schema.Shape{Kind: schema.ShapeObject, Properties: map[string]*schema.Shape{"dateClosed": integer}}
		for _, version := range k.Versions[verbClose] {
			ev, err := g.registry.Lookup(envelope.EventName{App: appAPT, Action: k.action(verbClose), Version: version})
			if err != nil {
				continue
			}
			sh := ev.schema.Shape()
			for _, f := range k.ConclusionFields {
				if p, ok := sh.Properties[f]; ok {
					conclusion.Properties[f] = schema.Merge(conclusion.Properties[f], p)
				}
			}
		}
		for _, f := range k.ConclusionFields {
			if conclusion.Properties[f] == nil {
				conclusion.Properties[f] = &schema.Shape{Kind: schema.ShapeAny}
			}
		}
		props[k.Conclusion] = conclusion
	}
	return &schema.Shape{Kind: schema.ShapeObject, Properties: props}
}

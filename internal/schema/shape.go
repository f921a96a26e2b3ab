package schema

import (
	"maps"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// ShapeKind is the JSON type a Shape describes; ShapeAny is a value of
// more than one type, or of any.
type ShapeKind int

// The kinds of Shape.
const (
	ShapeAny ShapeKind = iota
	ShapeString
	ShapeInteger
	ShapeNumber
	ShapeBoolean
	ShapeObject
	ShapeArray
)

// Shape is what a payload schema says of the values it accepts, reduced
// to their structure: the JSON type, an object's properties and an array's
// items. Other surfaces (GraphQL's types) are built from it, so that they
// cannot drift from the schemas that validate the payloads.
type Shape struct {
	Kind ShapeKind
	// Properties are an object's known properties; nil for an object of
	// any properties.
	Properties map[string]*Shape
	// Items is the shape of an array's items; nil for items of any shape.
	Items *Shape
}

// Shape is the shape of the payloads p validates.
func (p *Payload) Shape() *Shape {
	return shapeOf(p.compiled, map[*jsonschema.Schema]bool{})
}

// shapeOf reduces s: a $ref is followed, the alternatives of anyOf and
// oneOf and the parts of allOf are merged, and an enum takes the type of
// its values. seen stops a recursive schema.
func shapeOf(s *jsonschema.Schema, seen map[*jsonschema.Schema]bool) *Shape {
	if s == nil || seen[s] {
		return &Shape{Kind: ShapeAny}
	}
	seen[s] = true
	defer delete(seen, s)
	var out *Shape
	add := func(sh *Shape) { out = Merge(out, sh) }
	if s.Ref != nil {
		add(shapeOf(s.Ref, seen))
	}
	for _, sub := range s.AllOf {
		add(shapeOf(sub, seen))
	}
	for _, alts := range [][]*jsonschema.Schema{s.AnyOf, s.OneOf} {
		var alt *Shape
		for _, sub := range alts {
			alt = Merge(alt, shapeOf(sub, seen))
		}
		if alt != nil {
			add(alt)
		}
	}
	if own := ownShape(s, seen); own != nil {
		add(own)
	}
	if out == nil {
		return &Shape{Kind: ShapeAny}
	}
	return out
}

// ownShape is what s says by its own keywords, nil when it says nothing
// of the type.
func ownShape(s *jsonschema.Schema, seen map[*jsonschema.Schema]bool) *Shape {
	kind, known := ShapeAny, false
	if s.Types != nil {
		for _, t := range s.Types.ToStrings() {
			if t == "null" {
				continue // a null is no value: the field is absent
			}
			k := typeKinds[t]
			if known && k != kind {
				kind = mergeKinds(kind, k)
			} else {
				kind = k
			}
			known = true
		}
	}
	if s.Enum != nil && !known {
		for _, v := range s.Enum.Values {
			k := ShapeAny
			switch v.(type) {
			case string:
				k = ShapeString
			case bool:
				k = ShapeBoolean
			}
			if known && k != kind {
				k = mergeKinds(kind, k)
			}
			kind, known = k, true
		}
	}
	if len(s.Properties) > 0 && !known {
		kind, known = ShapeObject, true
	}
	if !known {
		return nil
	}
	out := &Shape{Kind: kind}
	switch kind {
	case ShapeObject:
		if len(s.Properties) > 0 {
			out.Properties = make(map[string]*Shape, len(s.Properties))
			for name, ps := range s.Properties {
				out.Properties[name] = shapeOf(ps, seen)
			}
		}
	case ShapeArray:
		if s.Items2020 != nil {
			out.Items = shapeOf(s.Items2020, seen)
		}
	}
	return out
}

var typeKinds = map[string]ShapeKind{
	"string": ShapeString, "integer": ShapeInteger, "number": ShapeNumber,
	"boolean": ShapeBoolean, "object": ShapeObject, "array": ShapeArray,
}

// mergeKinds is the kind of a value that is of kind a or of kind b: an
// integer or a number is a number; anything else mixed is ShapeAny.
func mergeKinds(a, b ShapeKind) ShapeKind {
	switch {
	case a == b:
		return a
	case (a == ShapeInteger && b == ShapeNumber) || (a == ShapeNumber && b == ShapeInteger):
		return ShapeNumber
	}
	return ShapeAny
}

func scalar(k ShapeKind) bool {
	return k == ShapeString || k == ShapeInteger || k == ShapeNumber || k == ShapeBoolean
}

// Merge is the shape of a value that has shape a or shape b (the same
// field in two schemas, or two alternatives of one): objects merge their
// properties, arrays their items; a nil shape is no constraint yet.
func Merge(a, b *Shape) *Shape {
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	}
	// One value or a list of them (the samples send both) is a list.
	if a.Kind == ShapeArray && b.Kind != ShapeArray {
		a, b = b, a
	}
	if b.Kind == ShapeArray && a.Kind != ShapeArray && a.Kind != ShapeAny && b.Items != nil {
		if items := Merge(a, b.Items); items.Kind != ShapeAny {
			return &Shape{Kind: ShapeArray, Items: items}
		}
	}
	// An object or a scalar (the samples send a reference as an object or
	// as its id) is the object: what it knows is its properties.
	if b.Kind == ShapeObject && b.Properties != nil && scalar(a.Kind) {
		a, b = b, a
	}
	if a.Kind == ShapeObject && a.Properties != nil && scalar(b.Kind) {
		return a
	}
	kind := mergeKinds(a.Kind, b.Kind)
	out := &Shape{Kind: kind}
	switch kind {
	case ShapeObject:
		if a.Properties == nil && b.Properties == nil {
			return out
		}
		out.Properties = maps.Clone(a.Properties)
		if out.Properties == nil {
			out.Properties = map[string]*Shape{}
		}
		for name, sh := range b.Properties {
			out.Properties[name] = Merge(out.Properties[name], sh)
		}
	case ShapeArray:
		if a.Items != nil && b.Items != nil {
			out.Items = Merge(a.Items, b.Items)
		}
	}
	return out
}

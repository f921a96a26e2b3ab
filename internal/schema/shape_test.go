package schema

import (
	"slices"
	"testing"
)

func TestMergeRules(t *testing.T) {
	t.Parallel()
	str := &Shape{Kind: ShapeString}
	integer := &Shape{Kind: ShapeInteger}
	object := &Shape{Kind: ShapeObject, Properties: map[string]*Shape{"value": str}}
	cases := []struct {
		name string
		a, b *Shape
		want string
	}{
		{"the same kind", str, str, "string"},
		{"an integer or a number", integer, &Shape{Kind: ShapeNumber}, "number"},
		{"a string or an integer", str, integer, "any"},
		{"one value or a list of them", object, &Shape{Kind: ShapeArray, Items: object}, "[{value:string}]"},
		{"a list or one value", &Shape{Kind: ShapeArray, Items: str}, str, "[string]"},
		{"an object or its id", str, object, "{value:string}"},
		{"objects merge their properties", object, &Shape{Kind: ShapeObject, Properties: map[string]*Shape{"type": integer}}, "{type:integer,value:string}"},
		{"nothing yet", nil, object, "{value:string}"},
	}
	for _, tc := range cases {
		if got := describe(Merge(tc.a, tc.b)); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
}

func TestShapeOfAnEventSchema(t *testing.T) {
	t.Parallel()
	set, err := NewSet()
	if err != nil {
		t.Fatal(err)
	}
	p, err := set.Load("add-incident.v5.json")
	if err != nil {
		t.Fatal(err)
	}
	sh := p.Shape()
	for field, want := range map[string]string{
		"aptBusinessObjectSummary":      "string",
		"businessPriority":              "string", // an enum
		"createdByPartner":              "boolean",
		"resolutionDueDate":             "any", // milliseconds or a string of digits
		"partnerCompany":                "{partnerId:string,toIdType:string}",
		"currentlyAssignedCompanyUsers": "[string]",
	} {
		if got := describe(sh.Properties[field]); got != want {
			t.Errorf("%s: %s, want %s", field, got, want)
		}
	}
}

// describe writes a shape compactly, properties sorted.
func describe(sh *Shape) string {
	if sh == nil {
		return "nil"
	}
	switch sh.Kind {
	case ShapeString:
		return "string"
	case ShapeInteger:
		return "integer"
	case ShapeNumber:
		return "number"
	case ShapeBoolean:
		return "boolean"
	case ShapeArray:
		return "[" + describe(sh.Items) + "]"
	case ShapeObject:
		names := make([]string, 0, len(sh.Properties))
		for n := range sh.Properties {
			names = append(names, n)
		}
		slices.Sort(names)
		out := "{"
		for i, n := range names {
			if i > 0 {
				out += ","
			}
			out += n + ":" + describe(sh.Properties[n])
		}
		return out + "}"
	}
	return "any"
}

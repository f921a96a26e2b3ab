package graphql

import (
	"context"

	"github.com/99designs/gqlgen/graphql/introspection"
	"github.com/vektah/gqlparser/v2/ast"
)

// The values of introspection (__schema, __type) are gqlgen's
// introspection types, made objects for the executor; each field is
// computed only when selected, so that the recursion of __Type ends where
// the query's does.

func schemaObj(s *ast.Schema) *obj {
	in := introspection.WrapSchema(s)
	return &obj{typ: "__Schema", resolve: func(_ context.Context, name string, _ map[string]any) (any, error) {
		switch name {
		case "description":
			return in.Description(), nil
		case "types":
			types := in.Types()
			out := make([]any, len(types))
			for i := range types {
				out[i] = typeObj(&types[i])
			}
			return out, nil
		case "queryType":
			return typeObj(in.QueryType()), nil
		case "mutationType":
			return typeObj(in.MutationType()), nil
		case "subscriptionType":
			return typeObj(in.SubscriptionType()), nil
		case "directives":
			ds := in.Directives()
			out := make([]any, len(ds))
			for i := range ds {
				out[i] = directiveObj(&ds[i])
			}
			return out, nil
		}
		return nil, nil
	}}
}

func typeObj(t *introspection.Type) any {
	if t == nil {
		return nil
	}
	return &obj{typ: "__Type", resolve: func(_ context.Context, name string, args map[string]any) (any, error) {
		deprecated, _ := args["includeDeprecated"].(bool)
		switch name {
		case "kind":
			return t.Kind(), nil
		case "name":
			return t.Name(), nil
		case "description":
			return t.Description(), nil
		case "specifiedByURL":
			return t.SpecifiedByURL(), nil
		case "isOneOf":
			return t.IsOneOf(), nil
		case "ofType":
			return typeObj(t.OfType()), nil
		case "fields":
			if t.Kind() != "OBJECT" && t.Kind() != "INTERFACE" {
				return nil, nil
			}
			fs := t.Fields(deprecated)
			out := make([]any, len(fs))
			for i := range fs {
				out[i] = fieldObj(&fs[i])
			}
			return out, nil
		case "inputFields":
			if t.Kind() != "INPUT_OBJECT" {
				return nil, nil
			}
			return inputValues(t.VisibleInputFields(deprecated)), nil
		case "interfaces":
			if t.Kind() != "OBJECT" && t.Kind() != "INTERFACE" {
				return nil, nil
			}
			return typeList(t.Interfaces()), nil
		case "possibleTypes":
			if t.Kind() != "UNION" && t.Kind() != "INTERFACE" {
				return nil, nil
			}
			return typeList(t.PossibleTypes()), nil
		case "enumValues":
			if t.Kind() != "ENUM" {
				return nil, nil
			}
			vs := t.EnumValues(deprecated)
			out := make([]any, len(vs))
			for i := range vs {
				v := &vs[i]
				out[i] = &obj{typ: "__EnumValue", fields: map[string]any{
					"name": v.Name, "description": v.Description(), "isDeprecated": v.IsDeprecated(), "deprecationReason": v.DeprecationReason(),
				}}
			}
			return out, nil
		}
		return nil, nil
	}}
}

func typeList(ts []introspection.Type) []any {
	out := make([]any, len(ts))
	for i := range ts {
		out[i] = typeObj(&ts[i])
	}
	return out
}

func fieldObj(f *introspection.Field) any {
	return &obj{typ: "__Field", fields: map[string]any{
		"name": f.Name, "description": f.Description(), "isDeprecated": f.IsDeprecated(), "deprecationReason": f.DeprecationReason(),
	}, resolve: func(_ context.Context, name string, args map[string]any) (any, error) {
		switch name {
		case "type":
			return typeObj(f.Type), nil
		case "args":
			deprecated, _ := args["includeDeprecated"].(bool)
			return inputValues(f.VisibleArgs(deprecated)), nil
		}
		return nil, nil
	}}
}

func inputValues(vs []introspection.InputValue) []any {
	out := make([]any, len(vs))
	for i := range vs {
		v := &vs[i]
		out[i] = &obj{typ: "__InputValue", fields: map[string]any{
			"name": v.Name, "description": v.Description(), "defaultValue": v.DefaultValue,
			"isDeprecated": v.IsDeprecated(), "deprecationReason": v.DeprecationReason(),
		}, resolve: func(context.Context, string, map[string]any) (any, error) { return typeObj(v.Type), nil }}
	}
	return out
}

func directiveObj(d *introspection.Directive) any {
	locations := make([]any, len(d.Locations))
	for i, l := range d.Locations {
		locations[i] = l
	}
	return &obj{typ: "__Directive", fields: map[string]any{
		"name": d.Name, "description": d.Description(), "locations": locations, "isRepeatable": d.IsRepeatable,
	}, resolve: func(_ context.Context, name string, args map[string]any) (any, error) {
		deprecated, _ := args["includeDeprecated"].(bool)
		return inputValues(d.VisibleArgs(deprecated)), nil
	}}
}

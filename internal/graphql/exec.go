package graphql

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"

	gql "github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/scwm-gateway/scwm-gateway/internal/jsonvalue"
)

// obj is a value of an object type: the fields known when it is made, and
// a resolver for the others (relations, introspection), called only for
// the fields a query selects.
type obj struct {
	typ     string
	fields  map[string]any
	resolve func(ctx context.Context, name string, args map[string]any) (any, error)
}

// executable is the schema as gqlgen's executor runs it: gqlgen parses,
// validates, computes complexity and runs the extensions; Exec runs the
// validated operation over the gateway (run).
type executable struct {
	svc *Service
}

func (e *executable) Schema() *ast.Schema { return e.svc.schema }

// Complexity prices the fields that do work: an action or a read costs
// what a request to /api/events costs, a relation a store read.
func (e *executable) Complexity(_ context.Context, _, field string, child int, _ map[string]any) (int, bool) {
	switch {
	case field == "genericActionCall" || field == "genericGetObject":
		return costCall + child, true
	case field == productRelation || slices.Contains(relations, field):
		return costRelation + child, true
	}
	return 0, false
}

// The complexity of the fields that do work; every other field costs one.
const (
	costCall     = 10
	costRelation = 5
)

// Exec runs the operation of the context once.
func (e *executable) Exec(ctx context.Context) gql.ResponseHandler {
	done := false
	return func(ctx context.Context) *gql.Response {
		if done {
			return nil
		}
		done = true
		r := &run{svc: e.svc, op: gql.GetOperationContext(ctx), req: requestOf(ctx)}
		data := r.operation(ctx)
		return &gql.Response{Data: data, Errors: r.errs}
	}
}

// run is the execution of one operation.
type run struct {
	svc  *Service
	op   *gql.OperationContext
	req  *Request
	errs gqlerror.List
	// calls counts the actions and reads run (admit).
	calls int
}

// operation executes the root selection set: a query's and a mutation's
// fields alike one after another, in order, as a mutation's must be.
func (r *run) operation(ctx context.Context) json.RawMessage {
	root := r.svc.schema.Query
	if r.op.Operation.Operation == ast.Mutation {
		root = r.svc.schema.Mutation
	}
	rootObj := &obj{typ: root.Name, resolve: func(ctx context.Context, name string, args map[string]any) (any, error) {
		return r.rootField(ctx, name, args)
	}}
	out, ok := r.selection(ctx, rootObj, r.op.Operation.SelectionSet, nil, nil)
	if !ok {
		return json.RawMessage("null")
	}
	return out
}

// selection writes the fields sel selects of v, an object of the
// composite type (object or union) the field declares; ok is false when a
// non-null field is null, which makes v null.
func (r *run) selection(ctx context.Context, v any, sel ast.SelectionSet, b []byte, path ast.Path) ([]byte, bool) {
	o, ok := v.(*obj)
	if !ok {
		return append(b, "null"...), true
	}
	fields := gql.CollectFields(r.op, sel, r.svc.satisfies[o.typ])
	start := len(b)
	b = append(b, '{')
	for i, f := range fields {
		if i > 0 {
			b = append(b, ',')
		}
		b = jsonvalue.AppendMarshalledString(b, f.Alias)
		b = append(b, ':')
		fpath := append(path[:len(path):len(path)], ast.PathName(f.Alias))
		if f.Name == "__typename" {
			b = jsonvalue.AppendMarshalledString(b, o.typ)
			continue
		}
		def := r.svc.schema.Types[o.typ].Fields.ForName(f.Name)
		if def == nil {
			r.fail(fpath, errors.New("no field "+f.Name+" on "+o.typ))
			b = append(b, "null"...)
			continue
		}
		val, err := r.field(ctx, o, f, def)
		if err != nil {
			r.fail(fpath, err)
			val = nil
		}
		var fine bool
		b, fine = r.complete(ctx, def.Type, val, f.Selections, b, fpath, err != nil)
		if !fine {
			return append(b[:start], "null"...), false
		}
	}
	return append(b, '}'), true
}

// field is the value of f on o.
func (r *run) field(ctx context.Context, o *obj, f gql.CollectedField, def *ast.FieldDefinition) (any, error) {
	if v, ok := o.fields[f.Name]; ok {
		return v, nil
	}
	if o.resolve == nil {
		return nil, nil
	}
	return o.resolve(ctx, f.Name, f.ArgumentMap(r.op.Variables))
}

// complete writes v as a value of type t; failed says that the field's
// resolver already reported an error, so that a null in a non-null place
// is not reported twice. ok is false for a null in a non-null place.
func (r *run) complete(ctx context.Context, t *ast.Type, v any, sel ast.SelectionSet, b []byte, path ast.Path, failed bool) ([]byte, bool) {
	if isNull(v) {
		if t.NonNull {
			if !failed {
				r.fail(path, errors.New("the field is non-null but has no value"))
			}
			return b, false
		}
		return append(b, "null"...), true
	}
	if t.Elem != nil {
		list, ok := v.([]any)
		if !ok {
			list = []any{v} // one value where the schema allows several
		}
		start := len(b)
		b = append(b, '[')
		for i, item := range list {
			if i > 0 {
				b = append(b, ',')
			}
			var ok bool
			b, ok = r.complete(ctx, t.Elem, item, sel, b, append(path[:len(path):len(path)], ast.PathIndex(i)), false)
			if !ok {
				if t.NonNull {
					return b[:start], false
				}
				return append(b[:start], "null"...), true
			}
		}
		return append(b, ']'), true
	}
	def := r.svc.schema.Types[t.NamedType]
	switch {
	case def == nil:
		return append(b, "null"...), true
	case def.Kind == ast.Scalar || def.Kind == ast.Enum:
		return appendScalar(b, t.NamedType, v), true
	}
	if m, ok := v.(map[string]any); ok {
		v = &obj{typ: t.NamedType, fields: m}
	}
	start := len(b)
	b, ok := r.selection(ctx, v, sel, b, path)
	if !ok && t.NonNull {
		return b[:start], false
	}
	return b, true
}

func isNull(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case *obj:
		return x == nil
	case *string:
		return x == nil
	}
	return false
}

// appendScalar writes v as the scalar type named. Stored data is what
// payloads sent, which the schemas allow in several forms: a value of
// another JSON type is written as the type's nearest value rather than
// refused (a number for a String is its text; a numeric string for a Long
// is its number), and one that has none is null.
func appendScalar(b []byte, typ string, v any) []byte {
	if p, ok := v.(*string); ok {
		v = *p
	}
	switch typ {
	case "String", "ID":
		switch x := v.(type) {
		case string:
			return jsonvalue.AppendMarshalledString(b, x)
		case json.Number:
			return jsonvalue.AppendMarshalledString(b, x.String())
		case bool:
			return jsonvalue.AppendMarshalledString(b, strconv.FormatBool(x))
		case int:
			return jsonvalue.AppendMarshalledString(b, strconv.Itoa(x))
		case int64:
			return jsonvalue.AppendMarshalledString(b, strconv.FormatInt(x, 10))
		}
		text, err := json.Marshal(v)
		if err != nil {
			return append(b, "null"...)
		}
		return jsonvalue.AppendMarshalledString(b, string(text))
	case "Long", "Int":
		switch x := v.(type) {
		case json.Number:
			if n, err := x.Int64(); err == nil {
				return strconv.AppendInt(b, n, 10)
			}
		case string:
			if n, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64); err == nil {
				return strconv.AppendInt(b, n, 10)
			}
		case int:
			return strconv.AppendInt(b, int64(x), 10)
		case int64:
			return strconv.AppendInt(b, x, 10)
		}
		return append(b, "null"...)
	case "Float":
		switch x := v.(type) {
		case json.Number:
			if f, err := x.Float64(); err == nil {
				return strconv.AppendFloat(b, f, 'g', -1, 64)
			}
		case string:
			if f, err := strconv.ParseFloat(strings.TrimSpace(x), 64); err == nil {
				return strconv.AppendFloat(b, f, 'g', -1, 64)
			}
		case int64:
			return strconv.AppendInt(b, x, 10)
		}
		return append(b, "null"...)
	case "Boolean":
		switch x := v.(type) {
		case bool:
			return strconv.AppendBool(b, x)
		case string:
			if t, err := strconv.ParseBool(x); err == nil {
				return strconv.AppendBool(b, t)
			}
		}
		return append(b, "null"...)
	}
	// JSON, and the enums of introspection (written as strings).
	text, err := json.Marshal(v)
	if err != nil {
		return append(b, "null"...)
	}
	return append(b, text...)
}

// fail records the error of the field at path.
func (r *run) fail(path ast.Path, err error) {
	r.errs = append(r.errs, toGraphQLError(err, path))
}

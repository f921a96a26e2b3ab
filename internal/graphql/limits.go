package graphql

import (
	"context"
	"fmt"

	gql "github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/introspection"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/scwm-gateway/scwm-gateway/envelope"
)

// shapeLimit refuses, before anything runs, an operation that nests
// deeper than MaxDepth (fragments expanded) or calls more than MaxActions
// actions and reads: gqlgen's complexity limit prices width, this bounds
// depth and the work of aliases, so that no part of a refused operation
// is executed.
type shapeLimit struct {
	limits Limits
}

var _ interface {
	gql.OperationContextMutator
	gql.HandlerExtension
} = shapeLimit{}

func (shapeLimit) ExtensionName() string { return "ShapeLimit" }

func (shapeLimit) Validate(gql.ExecutableSchema) error { return nil }

func (l shapeLimit) MutateOperationContext(_ context.Context, op *gql.OperationContext) *gqlerror.Error {
	w := &shapeWalk{max: l.limits.MaxDepth}
	w.walk(op.Operation.SelectionSet, 1)
	switch {
	case w.tooDeep:
		return limitError("the query nests deeper than %d levels", l.limits.MaxDepth)
	case w.nodes > maxNodes:
		return limitError("the query selects more than %d fields, fragments expanded", maxNodes)
	case w.actions > l.limits.MaxActions:
		return limitError("the query calls genericActionCall and genericGetObject %d times; at most %d are allowed in one request", w.actions, l.limits.MaxActions)
	}
	return nil
}

func limitError(format string, args ...any) *gqlerror.Error {
	msg := fmt.Sprintf(format, args...)
	return &gqlerror.Error{Message: msg, Extensions: map[string]any{
		"exceptionName": envelope.KindMalformedEnvelope.ExceptionName(),
		"errCode":       "400",
		"errMsg":        msg,
	}}
}

// maxNodes bounds the fields of an operation with its fragments expanded:
// fragments that spread others several times grow exponentially.
const maxNodes = 20000

// shapeWalk measures an operation; fragments are walked where they are
// spread (validation has refused cycles), and the walk stops at maxNodes.
type shapeWalk struct {
	max     int
	tooDeep bool
	actions int
	nodes   int
}

func (w *shapeWalk) walk(set ast.SelectionSet, depth int) {
	if depth > w.max {
		w.tooDeep = true
		return
	}
	for _, sel := range set {
		if w.tooDeep || w.nodes > maxNodes {
			return
		}
		w.nodes++
		switch s := sel.(type) {
		case *ast.Field:
			if depth == 1 && (s.Name == "genericActionCall" || s.Name == "genericGetObject") {
				w.actions++
			}
			if len(s.SelectionSet) > 0 {
				w.walk(s.SelectionSet, depth+1)
			}
		case *ast.InlineFragment:
			w.walk(s.SelectionSet, depth)
		case *ast.FragmentSpread:
			if s.Definition != nil {
				w.walk(s.Definition.SelectionSet, depth)
			}
		}
	}
}

// wrapType is the introspection type of a named type, nil if none.
func wrapType(s *ast.Schema, name string) *introspection.Type {
	return introspection.WrapTypeFromDef(s, s.Types[name])
}

// Package graphql is the gateway's GraphQL API, the way TraceLink's own
// scripts talk to Agile Process Teams: genericActionCall runs any action of
// the catalogue through the same dispatch as POST /api/events, and
// genericGetObject reads an object of any kind with its relations. The
// schema is built at start-up from the catalogue's payload schemas, so the
// GraphQL types cannot drift from what the envelope events accept. gqlgen's
// executor parses, validates, prices and introspects; this package runs
// the operation over the gateway.
package graphql

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	gql "github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/executor"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/scwm-gateway/scwm-gateway/envelope"
	"github.com/scwm-gateway/scwm-gateway/handlers"
)

// Limits bound what one operation may ask for; a field that is zero takes
// its value from DefaultLimits.
type Limits struct {
	// MaxDepth bounds how deeply selections nest, fragments expanded.
	MaxDepth int
	// MaxComplexity bounds the operation's price (executable.Complexity).
	MaxComplexity int
	// MaxActions bounds the genericActionCall and genericGetObject fields
	// of one operation (aliases make many of one field).
	MaxActions int
	// MaxTokens bounds the tokens the parser reads of a query.
	MaxTokens int
}

// DefaultLimits are generous for TraceLink's scripts, whose deepest read
// nests 9 levels and prices under 200.
var DefaultLimits = Limits{MaxDepth: 20, MaxComplexity: 2000, MaxActions: 20, MaxTokens: 20000}

func (l Limits) withDefaults() Limits {
	fill := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	fill(&l.MaxDepth, DefaultLimits.MaxDepth)
	fill(&l.MaxComplexity, DefaultLimits.MaxComplexity)
	fill(&l.MaxActions, DefaultLimits.MaxActions)
	fill(&l.MaxTokens, DefaultLimits.MaxTokens)
	return l
}

// Service executes GraphQL operations over a gateway.
type Service struct {
	core   *handlers.Gateway
	specs  []handlers.KindSpec
	sdl    string
	schema *ast.Schema
	exec   *executor.Executor
	limits Limits
	// satisfies lists, per object type, the type and the unions that hold
	// it: the type conditions its fragments may name.
	satisfies map[string][]string
	// actions maps an action's GraphQL name, in lower case, to its
	// events by version, newest last.
	actions map[string][]envelope.EventName
}

// New builds the schema from core's catalogue and the executor. It fails
// if two events would have the same GraphQL action name.
func New(core *handlers.Gateway, limits Limits) (*Service, error) {
	s := &Service{core: core, specs: core.KindSpecs(), limits: limits.withDefaults(), actions: map[string][]envelope.EventName{}}
	for _, ev := range core.Registry().Events() {
		key := actionKey(ev.Name.Action)
		if list := s.actions[key]; len(list) > 0 && (list[0].App != ev.Name.App || list[0].Action != ev.Name.Action) {
			return nil, fmt.Errorf("graphql: events %s and %s have the same action name %s", list[0], ev.Name, ActionName(ev.Name))
		}
		s.actions[key] = append(s.actions[key], ev.Name) // Events is sorted by version
	}
	s.sdl = buildSDL(s.specs)
	schema, err := gqlparser.LoadSchema(&ast.Source{Name: "scwm-gateway.graphql", Input: s.sdl})
	if err != nil {
		return nil, fmt.Errorf("graphql: the generated schema does not load: %w", err)
	}
	s.schema = schema
	s.satisfies = map[string][]string{}
	for name, def := range schema.Types {
		list := []string{name}
		for _, u := range schema.GetImplements(def) {
			list = append(list, u.Name)
		}
		s.satisfies[name] = list
	}
	s.exec = executor.New(&executable{svc: s})
	s.exec.Use(extension.Introspection{})
	// The shape is measured first: it bounds the cost of pricing too.
	s.exec.Use(shapeLimit{limits: s.limits})
	s.exec.Use(extension.FixedComplexityLimit(s.limits.MaxComplexity))
	s.exec.SetQueryCache(lru.New[*ast.QueryDocument](256))
	s.exec.SetParserTokenLimit(s.limits.MaxTokens)
	s.exec.SetErrorPresenter(presentError)
	s.exec.SetRecoverFunc(func(ctx context.Context, p any) error {
		log := core.Config().Logger
		log.Error().Interface("panic", p).Msg("graphql resolver panicked")
		return envelope.Errorf(envelope.KindInternal, "unexpected error")
	})
	return s, nil
}

// SDL is the schema in the GraphQL schema language.
func (s *Service) SDL() string { return s.sdl }

// ActionName is the GraphQL name of an event's action, as TraceLink's
// scripts write it: its hyphens removed and its first letter capitalised
// (add-incident is Addincident).
func ActionName(name envelope.EventName) string {
	a := strings.ReplaceAll(name.Action, "-", "")
	if a == "" {
		return ""
	}
	return strings.ToUpper(a[:1]) + a[1:]
}

// actionKey is the key of an action in Service.actions: names match
// without regard to case or hyphens.
func actionKey(action string) string { return strings.ToLower(strings.ReplaceAll(action, "-", "")) }

// Request is one GraphQL request of an authenticated caller, with what its
// headers say of where it acts.
type Request struct {
	Caller handlers.Caller
	// OwnerID is the company the operation acts for (the companyId header),
	// NetworkID its process network (processNetworkId) and Dataspace its
	// dataspace, as the header of an envelope says them.
	OwnerID, NetworkID, Dataspace string
	Query, OperationName          string
	Variables                     map[string]any
	// Admit, when set, is asked before each action or read of the
	// operation after the first (the surface admitted the request itself
	// under its rate limits): an operation of several calls spends as much
	// of the caller's budget as that many envelopes. Its error fails the
	// call.
	Admit func() error
}

type requestKey struct{}

func requestOf(ctx context.Context) *Request {
	r, _ := ctx.Value(requestKey{}).(*Request)
	return r
}

// Execute runs one operation and returns its response: data and errors,
// each error carrying the exceptionName an envelope would get.
func (s *Service) Execute(ctx context.Context, req *Request) *gql.Response {
	ctx = context.WithValue(ctx, requestKey{}, req)
	ctx = gql.StartOperationTrace(ctx)
	params := &gql.RawParams{Query: req.Query, OperationName: req.OperationName, Variables: req.Variables}
	opCtx, errs := s.exec.CreateOperationContext(ctx, params)
	if errs != nil {
		return s.exec.DispatchError(gql.WithOperationContext(ctx, opCtx), errs)
	}
	handler, ctx := s.exec.DispatchOperation(ctx, opCtx)
	resp := handler(ctx)
	if resp == nil {
		resp = &gql.Response{Errors: gqlerror.List{toGraphQLError(envelope.Errorf(envelope.KindServiceUnavailable, "the request was cancelled"), nil)}}
	}
	return resp
}

// ErrorResponse is the response to a request that was refused before it
// was executed (authentication, the body), in GraphQL's format.
func ErrorResponse(err *envelope.Error, plate string) *gql.Response {
	return &gql.Response{Errors: gqlerror.List{toGraphQLError(&actionError{err: err, plate: plate}, nil)}}
}

// rootField resolves a field of Query or Mutation.
func (r *run) rootField(ctx context.Context, name string, args map[string]any) (any, error) {
	switch name {
	case "genericActionCall":
		action, _ := args["action"].(string)
		return r.actionCall(ctx, action, args["payload"])
	case "genericGetObject":
		typ, _ := args["type"].(string)
		id, _ := args["id"].(string)
		return r.getObject(ctx, typ, id)
	case "__schema":
		if r.op.DisableIntrospection {
			return nil, errors.New("introspection is disabled")
		}
		return schemaObj(r.svc.schema), nil
	case "__type":
		n, _ := args["name"].(string)
		return typeObj(wrapType(r.svc.schema, n)), nil
	}
	return nil, nil
}

// admit charges one more call of the operation to the caller's budget.
func (r *run) admit(plate string) error {
	r.calls++
	if r.calls == 1 || r.req.Admit == nil {
		return nil
	}
	if err := r.req.Admit(); err != nil {
		var ee *envelope.Error
		if !errors.As(err, &ee) {
			ee = envelope.Errorf(envelope.KindInternal, "%s", err.Error())
		}
		return &actionError{err: ee, plate: plate}
	}
	return nil
}

// actionError is the failure of a dispatched request, with its plate.
type actionError struct {
	err   *envelope.Error
	plate string
}

func (e *actionError) Error() string { return e.err.Message }

// event finds the event of an action name: "Addincident", or with a
// version, "Adddirectsupplierincident:v2"; a payload's eventVersion picks
// the version too.
func (s *Service) event(action string, payload map[string]any) (envelope.EventName, *envelope.Error) {
	name, version, _ := strings.Cut(action, ":")
	list := s.actions[actionKey(strings.TrimSpace(name))]
	if len(list) == 0 {
		return envelope.EventName{}, envelope.Errorf(envelope.KindUnsupportedEvent,
			"action %q is not in the catalogue; actions are the event's action without hyphens, first letter capitalised (Addincident, Getcompanybyidentifier); see docs/graphql.md", action)
	}
	if v, ok := payload["eventVersion"]; ok {
		delete(payload, "eventVersion")
		version = strings.TrimSpace(fmt.Sprint(v))
	}
	ev := list[len(list)-1]
	if version != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(strings.ToLower(version), "v"))
		if err != nil {
			return envelope.EventName{}, envelope.Errorf(envelope.KindUnsupportedEvent, "version %q of action %s is not a number", version, name)
		}
		ev.Version = n // Dispatch answers a version that is not served
	}
	return ev, nil
}

// actionCall runs genericActionCall: the payload, decoded as an envelope's
// is, dispatched as the event of the action, each call with its own
// license plate.
func (r *run) actionCall(ctx context.Context, action string, raw any) (any, error) {
	plate := envelope.NewLicensePlate()
	if err := r.admit(plate); err != nil {
		return nil, err
	}
	payload, perr := payloadOf(raw)
	if perr != nil {
		return nil, &actionError{err: perr, plate: plate}
	}
	name, eerr := r.svc.event(action, payload)
	if eerr != nil {
		return nil, &actionError{err: eerr, plate: plate}
	}
	res, err := r.dispatch(ctx, name, payload, plate)
	if err != nil {
		return nil, err
	}
	text, merr := json.Marshal(res.Payload)
	if merr != nil {
		return nil, &actionError{err: envelope.Errorf(envelope.KindInternal, "the answer could not be encoded"), plate: res.LicensePlate}
	}
	warnings := make([]any, len(res.Warnings))
	for i, w := range res.Warnings {
		warnings[i] = w
	}
	return &obj{typ: "ActionResult", fields: map[string]any{"result": string(text), "licensePlate": res.LicensePlate, "warnings": warnings}}, nil
}

// dispatch sends one event through the gateway's dispatch, as the request's
// caller, where its headers say; a failure is an actionError.
func (r *run) dispatch(ctx context.Context, name envelope.EventName, payload map[string]any, plate string) (*handlers.Result, error) {
	req := r.req
	network := ""
	if name.App == "agile-process-teams" {
		network = req.NetworkID
	}
	res := r.svc.core.Dispatch(ctx, &handlers.Request{Caller: req.Caller, Event: name, OwnerID: req.OwnerID, NetworkID: network,
		Dataspace: req.Dataspace, OwnCompany: name.App == "authorization-manager" && req.OwnerID == envelope.OwnCompany,
		Payload: payload, LicensePlate: plate})
	if res.Err != nil {
		return nil, &actionError{err: r.svc.core.Failure(ctx, res.Err, res.Step, res.LicensePlate), plate: res.LicensePlate}
	}
	return res, nil
}

// payloadOf is the payload argument as /api/events would decode it: a JSON
// object within the envelope's limits, numbers as json.Number.
func payloadOf(raw any) (map[string]any, *envelope.Error) {
	if _, ok := raw.(map[string]any); !ok {
		return nil, envelope.Errorf(envelope.KindSchemaValidation, "payload must be a JSON object, found %s", envelope.JSONKind(raw))
	}
	text, err := json.Marshal(raw)
	if err != nil {
		return nil, envelope.Errorf(envelope.KindSchemaValidation, "payload could not be read: %v", err)
	}
	obj, err := envelope.DecodeObject(text, envelope.DefaultLimits)
	if err != nil {
		var ee *envelope.Error
		if errors.As(err, &ee) {
			return nil, &envelope.Error{Kind: envelope.KindSchemaValidation, Message: "payload: " + ee.Message}
		}
		return nil, envelope.Errorf(envelope.KindSchemaValidation, "payload: %v", err)
	}
	return obj, nil
}

// toGraphQLError is err as a GraphQL error at path, with the extensions
// an envelope's response header would carry: exceptionName, errCode,
// errMsg and, for a dispatched request, licensePlate.
func toGraphQLError(err error, path ast.Path) *gqlerror.Error {
	var ge *gqlerror.Error
	if errors.As(err, &ge) {
		if path != nil && ge.Path == nil {
			ge.Path = path
		}
		return ge
	}
	var ae *actionError
	var ee *envelope.Error
	plate := ""
	switch {
	case errors.As(err, &ae):
		ee, plate = ae.err, ae.plate
	case errors.As(err, &ee):
	default:
		ee = envelope.Errorf(envelope.KindInternal, "%s", err.Error())
	}
	ext := map[string]any{
		"exceptionName": ee.Kind.ExceptionName(),
		"errCode":       strconv.Itoa(ee.Kind.Status()),
		"errMsg":        ee.Message,
	}
	if plate != "" {
		ext["licensePlate"] = plate
	}
	return &gqlerror.Error{Message: ee.Message, Path: path, Extensions: ext}
}

// presentError gives every error the extensions of toGraphQLError: those
// of gqlgen (the query does not parse or validate, or is too complex) are
// MalformedEnvelopeException, as a body that is not a valid envelope is.
func presentError(ctx context.Context, err error) *gqlerror.Error {
	ge := gql.DefaultErrorPresenter(ctx, err)
	if _, ok := ge.Extensions["exceptionName"]; ok {
		return ge
	}
	var ae *actionError
	var ee *envelope.Error
	if errors.As(err, &ae) || errors.As(err, &ee) {
		return toGraphQLError(err, ge.Path)
	}
	if ge.Extensions == nil {
		ge.Extensions = map[string]any{}
	}
	ge.Extensions["exceptionName"] = envelope.KindMalformedEnvelope.ExceptionName()
	ge.Extensions["errCode"] = strconv.Itoa(envelope.KindMalformedEnvelope.Status())
	ge.Extensions["errMsg"] = ge.Message
	return ge
}

// supportedTypes lists the types genericGetObject reads.
func (s *Service) supportedTypes() string {
	var names []string
	for _, spec := range s.specs {
		if spec.Read.Action != "" {
			names = append(names, typeName(spec.Name))
		}
	}
	names = append(names, "AptComment")
	sort.Strings(names)
	return strings.Join(names, ", ")
}

package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	gql "github.com/99designs/gqlgen/graphql"
	"github.com/labstack/echo/v4"

	"github.com/scwm-gateway/scwm-gateway/envelope"
	"github.com/scwm-gateway/scwm-gateway/internal/graphql"
)

// handleGraphQL is POST /api/graphql, the way TraceLink's GraphQL scripts
// talk: the caller authenticates as on /api/events (Basic API key, or a
// session token), and the headers companyId, processNetworkId and
// Dataspace say what the envelope header's ownerId, processNetworkId and
// dataspace say. Every answer is a GraphQL response; a request refused
// before it runs (authentication, size, rate) has the status /api/events
// would give, with the error in GraphQL's format.
func (s *Server) handleGraphQL(c echo.Context) error {
	start := time.Now()
	plate := envelope.NewLicensePlate()
	r := c.Request()
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.RequestTimeout)
	defer cancel()
	resp, caller, err := s.graphQL(ctx, c)
	status := http.StatusOK
	if err != nil {
		perr := s.core.Failure(ctx, err, "reading the GraphQL request", plate)
		status = perr.Kind.Status()
		switch {
		case perr.Kind == envelope.KindAuthentication:
			c.Response().Header().Set("WWW-Authenticate", `Basic realm="scwm-gateway"`)
		case perr.Kind == envelope.KindMethodNotAllowed:
			c.Response().Header().Set("Allow", http.MethodPost)
		}
		retryAfter(c, perr.RetryAfter)
		resp = graphql.ErrorResponse(perr, plate)
	}
	if len(resp.Errors) > 0 {
		factsOf(c).exception, _ = resp.Errors[0].Extensions["exceptionName"].(string)
	}
	body, merr := json.Marshal(resp)
	if merr != nil {
		status, body = http.StatusOK, []byte(`{"errors":[{"message":"the response could not be encoded","extensions":{"exceptionName":"InternalServerException"}}]}`)
	}
	h := c.Response().Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-License-Plate", plate)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	c.Response().WriteHeader(status)
	_, _ = c.Response().Write(body)
	s.log.Info().Str("licensePlate", plate).Str("surface", "graphql").Str("apiKey", caller).
		Int("status", status).Int("errors", len(resp.Errors)).Dur("latency", time.Since(start)).Msg("graphql")
	return nil
}

// graphQL reads, authenticates and executes one request; an error refuses
// the request as a whole.
func (s *Server) graphQL(ctx context.Context, c echo.Context) (*gql.Response, string, error) {
	r := c.Request()
	if r.Method != http.MethodPost {
		return nil, "", envelope.Errorf(envelope.KindMethodNotAllowed, "method %s is not allowed on /api/graphql; send GraphQL requests with POST", r.Method)
	}
	s.armBodyDeadline(c)
	if err := checkMediaType(r.Header.Get("Content-Type")); err != nil {
		return nil, "", err
	}
	if r.ContentLength > s.cfg.BodyLimit {
		return nil, "", envelope.Errorf(envelope.KindPayloadTooLarge, "the body is larger than the limit of %d bytes", s.cfg.BodyLimit)
	}
	caller, err := s.authenticate(ctx, r)
	if err != nil {
		return nil, "", err
	}
	factsOf(c).caller = caller
	if err := s.limits.Allow(caller.APIKey, caller.CompanyID); err != nil {
		return nil, caller.APIKey, err
	}
	body, err := s.readBody(c)
	if err != nil {
		return nil, caller.APIKey, err
	}
	if b := bytes.TrimSpace(body); len(b) > 0 && b[0] == '[' {
		return nil, caller.APIKey, envelope.Errorf(envelope.KindMalformedEnvelope,
			"batched requests (a JSON array of operations) are not supported; send one operation per request")
	}
	fields, err := envelope.DecodeObject(body, envelope.DefaultLimits)
	if err != nil {
		return nil, caller.APIKey, err
	}
	req, err := s.graphQLRequest(r, fields)
	if err != nil {
		return nil, caller.APIKey, err
	}
	req.Caller = caller
	req.Admit = func() error { return s.limits.Allow(caller.APIKey, caller.CompanyID) }
	if req.OwnerID == "" {
		req.OwnerID = caller.CompanyID
	}
	if req.NetworkID == "" {
		req.NetworkID, _ = s.dir.DefaultNetwork(caller.CompanyID)
	}
	return s.graphql.Execute(ctx, req), caller.APIKey, nil
}

// graphQLRequest is the request of a body's fields (query, operationName,
// variables) and the headers.
func (s *Server) graphQLRequest(r *http.Request, fields map[string]any) (*graphql.Request, error) {
	var problems, headerProblems []string
	req := &graphql.Request{}
	var ok bool
	if req.Query, ok = fields["query"].(string); !ok || strings.TrimSpace(req.Query) == "" {
		problems = append(problems, "query: a GraphQL document (string) is required")
	}
	switch v := fields["operationName"].(type) {
	case nil:
	case string:
		req.OperationName = v
	default:
		problems = append(problems, "operationName: "+envelope.JSONKind(v)+" found, string expected")
	}
	switch v := fields["variables"].(type) {
	case nil:
	case map[string]any:
		req.Variables = plainNumbers(v).(map[string]any)
	default:
		problems = append(problems, "variables: "+envelope.JSONKind(v)+" found, object expected")
	}
	header := func(name string) string {
		v := strings.TrimSpace(r.Header.Get(name))
		if len(v) > envelope.MaxHeaderFieldLen {
			headerProblems = append(headerProblems, name+": longer than "+strconv.Itoa(envelope.MaxHeaderFieldLen)+" bytes")
			return ""
		}
		return v
	}
	req.OwnerID, req.NetworkID, req.Dataspace = header("companyId"), header("processNetworkId"), header("Dataspace")
	switch {
	case req.Dataspace == "":
		req.Dataspace = s.cfg.Dataspaces[0]
	case !slices.Contains(s.cfg.Dataspaces, req.Dataspace):
		headerProblems = append(headerProblems, "Dataspace: "+strconv.Quote(req.Dataspace)+" is not served; served: "+strings.Join(s.cfg.Dataspaces, ", "))
	}
	if len(problems) > 0 {
		return nil, envelope.Errorf(envelope.KindMalformedEnvelope, "the body must be a GraphQL request: %s", strings.Join(problems, "; "))
	}
	if len(headerProblems) > 0 {
		return nil, envelope.Errorf(envelope.KindHeaderValidation, "%s", strings.Join(headerProblems, "; "))
	}
	return req, nil
}

// plainNumbers turns the json.Number values of decoded variables into
// int64 or float64, the numbers GraphQL's variable coercion knows: a
// json.Number is a string to it, and would pass as a String.
func plainNumbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		if n, err := x.Int64(); err == nil {
			return n
		}
		f, _ := x.Float64()
		return f
	case map[string]any:
		for k, item := range x {
			x[k] = plainNumbers(item)
		}
	case []any:
		for i, item := range x {
			x[i] = plainNumbers(item)
		}
	}
	return v
}

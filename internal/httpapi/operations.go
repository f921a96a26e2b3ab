package httpapi

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/scwm-gateway/scwm-gateway/internal/openapi"
)

// How routes stay documented: every route is registered with handle (or
// handleAny), which adds it to the router and records its OpenAPI
// operation; GET /openapi.json and the reference page at GET /docs/api are
// built from those records, and a test fails when a route the router
// serves is missing from them. A new route is registered as
//
//	s.handle(e, http.MethodGet, "/api/v1/thing/:id", s.handleThing, &openapi.Operation{...})
//
// and a route that is no API operation (an HTML page, an endpoint for
// machines such as metrics) as
//
//	s.handlePage(e, http.MethodGet, "/ui", s.handleUI, "the web UI")

// handle registers h for method and path, and op as its operation in the
// API document.
func (s *Server) handle(e *echo.Echo, method, path string, h echo.HandlerFunc, op *openapi.Operation) {
	e.Add(method, path, h)
	s.api = append(s.api, openapi.Route{Method: method, Path: path, Operation: op})
}

// handlePage registers h for method and path as a route that is not part
// of the API document; what says what it serves.
func (s *Server) handlePage(e *echo.Echo, method, path string, h echo.HandlerFunc, what string) {
	e.Add(method, path, h)
	s.api = append(s.api, openapi.Route{Method: method, Path: path, NotAPI: what})
}

// handlePages registers h for every method on path as pages that are not
// part of the API document (h answers the methods it does not serve).
func (s *Server) handlePages(e *echo.Echo, path string, h echo.HandlerFunc, what string) {
	for _, r := range e.Any(path, h) {
		s.api = append(s.api, openapi.Route{Method: r.Method, Path: path, NotAPI: what})
	}
}

// handleAny registers h for every method Echo routes on path: op documents
// POST, and the other methods are recorded as answering 405.
func (s *Server) handleAny(e *echo.Echo, path string, h echo.HandlerFunc, op *openapi.Operation) {
	for _, r := range e.Any(path, h) {
		if r.Method == http.MethodPost {
			s.api = append(s.api, openapi.Route{Method: r.Method, Path: path, Operation: op})
			continue
		}
		s.api = append(s.api, openapi.Route{Method: r.Method, Path: path, NotAPI: "answers 405 Method Not Allowed; only POST is served"})
	}
}

// Security schemes of the document.
const (
	secBasic  = "apiKey"
	secBearer = "bearerToken"
	secOAuth  = "oauth2"
)

// securitySchemes are the document's security schemes.
var securitySchemes = map[string]any{
	secBasic: map[string]any{"type": "http", "scheme": "basic",
		"description": "An API key: HTTP Basic with apiKey as the user name and apiSecret as the password."},
	secBearer: map[string]any{"type": "http", "scheme": "bearer",
		"description": "An access token of the password grant (POST /api/oauth/token), also called a session token."},
	secOAuth: map[string]any{"type": "oauth2", "description": "The OAuth 2.0 password grant of the REST API; the client authenticates with HTTP Basic (client_id:client_secret) or client_id and client_secret in the form.",
		"flows": map[string]any{"password": map[string]any{"tokenUrl": "/api/oauth/token", "refreshUrl": "/api/oauth/token", "scopes": map[string]any{}}}},
}

func ref(name string) openapi.Schema { return openapi.Schema{"$ref": "#/components/schemas/" + name} }

func security(names ...string) []map[string][]string {
	out := make([]map[string][]string, len(names))
	for i, n := range names {
		out[i] = map[string][]string{n: {}}
	}
	return out
}

func jsonContent(s openapi.Schema) map[string]openapi.MediaType {
	return map[string]openapi.MediaType{"application/json": {Schema: s}}
}

func jsonBody(desc string, s openapi.Schema) *openapi.RequestBody {
	return &openapi.RequestBody{Description: desc, Required: true, Content: jsonContent(s)}
}

var (
	plateHeader = &openapi.Header{Description: "Identifies the request in the logs and history; quote it to support.", Schema: openapi.Schema{"type": "string"}}
	retryHeader = &openapi.Header{Description: "Seconds to wait before trying again.", Schema: openapi.Schema{"type": "string"}}
)

// restResponses are an operation's answers of the REST side: ok for its
// status and the OAuth-style JSON errors.
func restResponses(status, desc string, body openapi.Schema) map[string]*openapi.Response {
	ok := &openapi.Response{Description: desc, Headers: map[string]*openapi.Header{"X-License-Plate": plateHeader}}
	if body != nil {
		ok.Content = jsonContent(body)
	}
	errResp := func(desc string) *openapi.Response {
		return &openapi.Response{Description: desc, Content: jsonContent(ref("RestError"))}
	}
	return map[string]*openapi.Response{
		status:    ok,
		"400":     errResp("The request is invalid: error names the problem, errors lists the rejected fields."),
		"401":     errResp("The credentials are missing or refused."),
		"404":     errResp("No such object for the caller."),
		"429":     {Description: "Too many requests.", Headers: map[string]*openapi.Header{"Retry-After": retryHeader}, Content: jsonContent(ref("RestError"))},
		"503":     {Description: "The store is unavailable.", Headers: map[string]*openapi.Header{"Retry-After": retryHeader}, Content: jsonContent(ref("RestError"))},
		"default": errResp("Any other error, in the same format."),
	}
}

// formBody is the body of the OAuth endpoints: the form of schema, url-encoded
// or multipart. The gateway reads the text fields with reserved characters
// sent as they are or percent-encoded (a user name is an e-mail address),
// which the encoding says with allowReserved; without it a validator
// refuses the @ of a user name however it was sent.
func formBody(schema string, text ...string) *openapi.RequestBody {
	enc := map[string]openapi.Encoding{}
	for _, name := range text {
		enc[name] = openapi.Encoding{AllowReserved: true}
	}
	return &openapi.RequestBody{Required: true, Content: map[string]openapi.MediaType{
		"application/x-www-form-urlencoded": {Schema: ref(schema), Encoding: enc},
		"multipart/form-data":               {Schema: ref(schema)}}}
}

func pathID(name, desc string) openapi.Parameter {
	return openapi.Parameter{Name: name, In: "path", Required: true, Description: desc, Schema: openapi.Schema{"type": "string"}}
}

func query(name, desc string, s openapi.Schema) openapi.Parameter {
	return openapi.Parameter{Name: name, In: "query", Description: desc, Schema: s}
}

var idempotencyKey = openapi.Parameter{Name: "Idempotency-Key", In: "header",
	Description: "Makes a retried write happen once: a retry with the same key and body gets the first answer again (Idempotent-Replayed: true).",
	Schema:      openapi.Schema{"type": "string", "maxLength": 256}}

// searchQuery are the query parameters of the search routes (searchParams).
var searchQuery = []openapi.Parameter{
	query("kind", "Process types, comma-separated.", openapi.Schema{"type": "string"}),
	query("state", "Base states, comma-separated.", openapi.Schema{"type": "string"}),
	query("owner", "Owner company.", openapi.Schema{"type": "string"}),
	query("partner", "Partner company.", openapi.Schema{"type": "string"}),
	query("network", "One process network instead of all of the caller's.", openapi.Schema{"type": "string"}),
	query("priority", "Business priority.", openapi.Schema{"type": "string"}),
	query("createdAfter", "Created after this time (epoch milliseconds or RFC 3339).", openapi.Schema{"type": "string"}),
	query("createdBefore", "Created before this time.", openapi.Schema{"type": "string"}),
	query("updatedAfter", "Updated after this time.", openapi.Schema{"type": "string"}),
	query("updatedBefore", "Updated before this time.", openapi.Schema{"type": "string"}),
	query("id", "Business object id.", openapi.Schema{"type": "string"}),
	query("q", "Full-text query.", openapi.Schema{"type": "string"}),
	query("sort", "Field to sort by.", openapi.Schema{"type": "string"}),
	query("order", "asc or desc.", openapi.Schema{"type": "string"}),
	query("limit", "Page size.", openapi.Schema{"type": "string", "pattern": "^[0-9]{1,6}$"}),
	query("cursor", "The next cursor of the previous page.", openapi.Schema{"type": "string"}),
}

var searchSecurity = security(secBasic, secBearer)

// The operations of the routes, by route.
var (
	opEvents = &openapi.Operation{OperationID: "postEvent", Tags: []string{"envelope"},
		Summary: "Send an SCWM event",
		Description: "Every SCWM event goes here as an envelope {\"header\", \"payload\"}: header.eventName picks the event, whose payload schema is listed in " +
			openapi.EventsExtension + " and under components/schemas (payload.<action>.v<N>). Errors are envelopes too, with header.isErr, errCode, errMsg and exceptionName.",
		Security:    security(secBasic, secBearer),
		Parameters:  []openapi.Parameter{idempotencyKey},
		RequestBody: jsonBody("The request envelope.", ref("EnvelopeRequest")),
		Responses: map[string]*openapi.Response{
			"200":     {Description: "The response envelope of the event.", Headers: map[string]*openapi.Header{"X-License-Plate": plateHeader}, Content: jsonContent(ref("EnvelopeResponse"))},
			"default": {Description: "An error envelope: header.isErr is true, the status is header.errCode.", Headers: map[string]*openapi.Header{"X-License-Plate": plateHeader}, Content: jsonContent(ref("EnvelopeResponse"))},
		}}
	opGraphQL = &openapi.Operation{OperationID: "postGraphQL", Tags: []string{"graphql"},
		Summary:     "Run a GraphQL operation",
		Description: "Authenticates as POST /api/events does; the companyId, processNetworkId and Dataspace headers say where the operation acts.",
		Security:    security(secBasic, secBearer),
		Parameters: []openapi.Parameter{
			{Name: "companyId", In: "header", Description: "The company acted for (default: the caller's).", Schema: openapi.Schema{"type": "string"}},
			{Name: "processNetworkId", In: "header", Description: "The process network (default: the company's first).", Schema: openapi.Schema{"type": "string"}},
			{Name: "Dataspace", In: "header", Description: "The dataspace (default: the first served).", Schema: openapi.Schema{"type": "string"}},
		},
		RequestBody: jsonBody("One GraphQL operation.", ref("GraphQLRequest")),
		Responses: map[string]*openapi.Response{
			"200":     {Description: "A GraphQL response.", Content: jsonContent(ref("GraphQLResponse"))},
			"default": {Description: "The request was refused before it ran; the error is in GraphQL's format.", Content: jsonContent(ref("GraphQLResponse"))},
		}}
	opToken = &openapi.Operation{OperationID: "getToken", Tags: []string{"oauth"},
		Summary:     "Get an access token (OAuth 2.0 password or refresh_token grant)",
		Description: "The client authenticates with HTTP Basic client_id:client_secret or with client_id and client_secret in the form. Parameters go in the body, never in the query string.",
		RequestBody: formBody("TokenRequest", "username", "password", "refresh_token", "client_id", "client_secret", "scope"),
		Responses:   restResponses("200", "The tokens.", ref("TokenResponse"))}
	opRevoke = &openapi.Operation{OperationID: "revokeToken", Tags: []string{"oauth"},
		Summary:     "Revoke a token (RFC 7009)",
		Description: "The client authenticates as on the token endpoint.",
		RequestBody: formBody("RevokeRequest", "token", "client_id", "client_secret"),
		Responses:   restResponses("200", "Revoked (also when the token was unknown).", openapi.Schema{"type": "object"})}
	opCreateLegacy = restCreateOp("createIncidentLegacy", "Create an incident (the path of older ServiceOps clients)")
	opCreate       = restCreateOp("createIncident", "Create an incident")
	opList         = &openapi.Operation{OperationID: "listIncidents", Tags: []string{"rest"},
		Summary:    "List incidents",
		Security:   searchSecurity,
		Parameters: searchQuery,
		Responses:  restResponses("200", "A page of incidents.", ref("IncidentPage"))}
	opGet = &openapi.Operation{OperationID: "getIncident", Tags: []string{"rest"},
		Summary:    "Read an incident",
		Security:   security(secBearer),
		Parameters: []openapi.Parameter{pathID("id", "The incident's id.")},
		Responses:  restResponses("200", "The incident.", ref("Incident"))}
	opPatch = &openapi.Operation{OperationID: "updateIncident", Tags: []string{"rest"},
		Summary:     "Change an incident",
		Description: "A JSON merge patch of the fields sent, optionally pinned to a dataVersion (409 if the incident changed since).",
		Security:    security(secBearer),
		Parameters:  []openapi.Parameter{pathID("id", "The incident's id."), idempotencyKey},
		RequestBody: jsonBody("The fields to change.", ref("IncidentPatch")),
		Responses:   restResponses("200", "The incident as changed.", ref("Incident"))}
	opSearch = &openapi.Operation{OperationID: "search", Tags: []string{"rest"},
		Summary:    "Search the processes of the caller's company",
		Security:   searchSecurity,
		Parameters: searchQuery,
		Responses:  restResponses("200", "A page of records: {\"items\", \"next\"}.", ref("SearchPage"))}
	opChanges = &openapi.Operation{OperationID: "listChanges", Tags: []string{"rest"},
		Summary:  "Read the change feed",
		Security: searchSecurity,
		Parameters: []openapi.Parameter{
			query("after", "The next cursor of the previous call.", openapi.Schema{"type": "string"}),
			query("limit", "Page size.", openapi.Schema{"type": "string", "pattern": "^[0-9]{1,6}$"}),
		},
		Responses: restResponses("200", "{\"changes\", \"next\"}: next is the cursor to send as after next time.", ref("FeedPage"))}
	opCreateWebhook = &openapi.Operation{OperationID: "createWebhook", Tags: []string{"webhooks"},
		Summary: "Subscribe to changes", Security: searchSecurity,
		RequestBody: jsonBody("The subscription.", ref("WebhookRequest")),
		Responses:   restResponses("201", "The subscription, with its secret shown this once.", ref("Webhook"))}
	opListWebhooks = &openapi.Operation{OperationID: "listWebhooks", Tags: []string{"webhooks"},
		Summary: "List the company's subscriptions", Security: searchSecurity,
		Responses: restResponses("200", "{\"webhooks\": [...]}.", ref("WebhookList"))}
	opDeleteWebhook = &openapi.Operation{OperationID: "deleteWebhook", Tags: []string{"webhooks"},
		Summary: "Delete a subscription", Security: searchSecurity,
		Parameters: []openapi.Parameter{pathID("id", "The subscription's id.")},
		Responses:  restResponses("204", "Deleted.", nil)}
	opEnableWebhook = &openapi.Operation{OperationID: "enableWebhook", Tags: []string{"webhooks"},
		Summary: "Resume deliveries of a disabled subscription", Security: searchSecurity,
		Parameters: []openapi.Parameter{pathID("id", "The subscription's id.")},
		Responses:  restResponses("200", "The subscription.", ref("Webhook"))}
	opDeliveries = &openapi.Operation{OperationID: "listDeliveries", Tags: []string{"webhooks"},
		Summary: "Read a subscription's delivery log, newest first", Security: searchSecurity,
		Parameters: []openapi.Parameter{pathID("id", "The subscription's id."),
			query("limit", "Page size, at least 1.", openapi.Schema{"type": "string", "pattern": "^[1-9][0-9]*$"}),
			query("cursor", "The next cursor of the previous page.", openapi.Schema{"type": "string"})},
		Responses: restResponses("200", "{\"deliveries\", \"next\"}: next is the cursor of the next page, null on the last.", ref("DeliveryPage"))}
	opRedeliver = &openapi.Operation{OperationID: "redeliver", Tags: []string{"webhooks"},
		Summary: "Deliver again", Security: searchSecurity,
		Parameters: []openapi.Parameter{pathID("id", "The subscription's id."), pathID("delivery", "The delivery's id.")},
		Responses:  restResponses("202", "The delivery, pending again.", ref("Delivery"))}
	opHealth = &openapi.Operation{OperationID: "health", Tags: []string{"operations"}, Summary: "Liveness",
		Responses: map[string]*openapi.Response{"200": {Description: "The gateway runs.", Content: jsonContent(openapi.Schema{"type": "object",
			"required": []string{"status"}, "properties": map[string]any{"status": map[string]any{"const": "ok"}, "version": map[string]any{"type": "string"}}})}}}
	opReady = &openapi.Operation{OperationID: "ready", Tags: []string{"operations"}, Summary: "Readiness: the store answers",
		Responses: map[string]*openapi.Response{
			"200": {Description: "Ready.", Content: jsonContent(openapi.Schema{"type": "object", "properties": map[string]any{"status": map[string]any{"const": "ready"}}})},
			"503": {Description: "The store is not ready.", Headers: map[string]*openapi.Header{"Retry-After": retryHeader},
				Content: jsonContent(openapi.Schema{"type": "object", "properties": map[string]any{"status": map[string]any{"type": "string"}, "reason": map[string]any{"type": "string"}}})},
		}}
	opOpenAPI = &openapi.Operation{OperationID: "openapi", Tags: []string{"operations"}, Summary: "This document",
		Responses: map[string]*openapi.Response{"200": {Description: "The OpenAPI 3.1 document of every route.", Content: jsonContent(openapi.Schema{"type": "object"})}}}
)

func restCreateOp(id, summary string) *openapi.Operation {
	return &openapi.Operation{OperationID: id, Tags: []string{"rest"}, Summary: summary,
		Description: "An add-incident:v5 of the fields sent, in the caller's company's default network.",
		Security:    security(secBearer),
		Parameters:  []openapi.Parameter{idempotencyKey},
		RequestBody: jsonBody("The new incident.", ref("IncidentInput")),
		Responses:   restResponses("200", "The incident created.", ref("Incident"))}
}

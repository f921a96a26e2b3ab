package httpapi

import (
	"encoding/json"
	"html/template"
	"net/http"
	"sort"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/scwm-gateway/scwm-gateway/internal/openapi"
)

// The API document (GET /openapi.json) and its reference page (GET
// /docs/api), built from the routes as registered (operations.go) and the
// event catalogue's embedded payload schemas.

// apiDocument builds the document of the routes registered so far.
func (s *Server) apiDocument() (*openapi.Document, error) {
	events := s.core.Registry().Events()
	evs := make([]openapi.Event, len(events))
	for i, ev := range events {
		evs[i] = openapi.Event{Name: ev.Name.String(), Help: ev.Help, SchemaFile: ev.Schema}
	}
	components := sharedSchemas()
	components["EnvelopeRequest"] = envelopeRequestSchema(evs)
	return openapi.Build(openapi.Info{Title: "scwm-gateway", Version: s.cfg.Version,
		Description: "The SCWM envelope API (POST /api/events), the REST API with its OAuth 2.0 token endpoint, GraphQL, and the operations endpoints."},
		s.api, evs, components, securitySchemes)
}

// envelopeRequestSchema is the request envelope: a header and, by
// header.eventName, the payload its event's schema validates.
func envelopeRequestSchema(events []openapi.Event) openapi.Schema {
	oneOf := make([]any, len(events))
	for i, ev := range events {
		oneOf[i] = map[string]any{"title": ev.Name, "properties": map[string]any{
			"header":  map[string]any{"properties": map[string]any{"eventName": map[string]any{"const": ev.Name}}},
			"payload": ref(openapi.PayloadSchemaName(ev.SchemaFile)),
		}}
	}
	return openapi.Schema{"type": "object", "required": []string{"header", "payload"},
		"properties": map[string]any{"header": ref("EnvelopeHeader"), "payload": map[string]any{"type": "object"}},
		"oneOf":      oneOf}
}

func str(desc string) map[string]any { return map[string]any{"type": "string", "description": desc} }

// sharedSchemas are the hand-written schemas of the wire formats that are
// not event payloads.
func sharedSchemas() map[string]openapi.Schema {
	nullable := func(t string) map[string]any { return map[string]any{"type": []string{t, "null"}} }
	anyValue := map[string]any{}
	restFieldsSchema := map[string]any{
		"impact":      map[string]any{"type": "string", "enum": restImpacts},
		"urgency":     map[string]any{"type": "string", "enum": restPriorities},
		"priority":    map[string]any{"type": "string", "enum": restPriorities},
		"tags":        map[string]any{"type": "array", "items": map[string]any{"type": "string"}},
		"subject":     map[string]any{"type": "string", "minLength": 1},
		"description": map[string]any{"type": "string"},
		// oneOf rather than "type": ["string", "number"], which says the same
		// but which oapi-codegen cannot turn into a Go type.
		"category":                map[string]any{"oneOf": []any{map[string]any{"type": "string"}, map[string]any{"type": "number"}}},
		"fieldValueDetails":       map[string]any{"type": "object", "additionalProperties": map[string]any{"type": "object"}},
		"customFieldValueDetails": map[string]any{"type": "object", "additionalProperties": map[string]any{"type": "object"}},
		"requesterEmail":          map[string]any{"type": "string", "format": "email"},
		"requesterName":           map[string]any{"type": "string"},
	}
	patch := map[string]any{"dataVersion": map[string]any{"type": "integer", "minimum": 1}}
	for k, v := range restFieldsSchema {
		patch[k] = v
	}
	incident := map[string]any{}
	for _, k := range []string{"id", "name", "subject", "description", "statusName", "ownerId", "processNetworkId", "createdBy", "updatedBy"} {
		incident[k] = map[string]any{"type": "string"}
	}
	for _, k := range []string{"dataVersion", "createdTime", "updatedTime"} {
		incident[k] = map[string]any{"type": "integer"}
	}
	for _, k := range []string{"impact", "urgency", "priority", "category", "requesterEmail", "requesterName"} {
		incident[k] = nullable("string")
	}
	incident["tags"] = map[string]any{"type": "array", "items": map[string]any{"type": "string"}}
	incident["fieldValueDetails"] = nullable("object")
	searchRecord := map[string]any{"data": map[string]any{"type": "object", "description": "The object's data, as its kind's schema has it."}}
	for _, k := range []string{"id", "objectType", "schemaId", "ownerId", "contextualOwnerId", "createdByUserId", "lastUpdatedByUserId", "currentBaseState"} {
		searchRecord[k] = map[string]any{"type": "string"}
	}
	for _, k := range []string{"schemaVersion", "dataVersion", "creationDateTime", "lastUpdatedDateTime"} {
		searchRecord[k] = map[string]any{"type": "integer"}
	}
	return map[string]openapi.Schema{
		"EnvelopeHeader": {"type": "object", "required": []string{"headerVersion", "eventName", "ownerId", "appName", "dataspace"},
			"properties": map[string]any{
				"headerVersion":    map[string]any{"const": 1},
				"eventName":        map[string]any{"type": "string", "pattern": "^[A-Za-z0-9_-]+:[A-Za-z0-9_-]+:v[1-9][0-9]*$", "description": "<app>:<action>:v<N>"},
				"ownerId":          str("The company acted for."),
				"appName":          str("The app of the event."),
				"dataspace":        str("A dataspace this gateway serves."),
				"processNetworkId": str("The process network; required for agile-process-teams events."),
				"idempotencyKey":   str("As the Idempotency-Key HTTP header."),
			}},
		"EnvelopeResponse": {"type": "object", "required": []string{"header", "payload"}, "properties": map[string]any{
			"header": map[string]any{"type": "object", "required": []string{"headerVersion", "isErr", "errCode", "licensePlate"}, "properties": map[string]any{
				"headerVersion": map[string]any{"type": "integer"},
				"eventName":     str("The request's event name with -response appended to its action."),
				"ownerId":       str(""),
				"isErr":         map[string]any{"type": "boolean"},
				"errCode":       str("200 on success, else the HTTP status."),
				"licensePlate":  str("Identifies the request."),
				"errMsg":        str("What went wrong."),
				"exceptionName": str("The SCWM exception, such as SchemaValidationException."),
				"warnings":      map[string]any{"type": "array", "items": map[string]any{"type": "string"}},
			}},
			"payload": map[string]any{"description": "The event's answer; null on errors."},
		}},
		"RestError": {"type": "object", "required": []string{"error"}, "properties": map[string]any{
			"error":             str("An OAuth error code (invalid_request, invalid_grant, invalid_token...), validation_failed, or the SCWM exceptionName."),
			"error_description": str("What went wrong."),
			"errors": map[string]any{"type": "array", "items": map[string]any{"type": "object", "required": []string{"field", "message"},
				"properties": map[string]any{"field": map[string]any{"type": "string"}, "message": map[string]any{"type": "string"}}}},
		}},
		"TokenRequest": {"type": "object", "required": []string{"grant_type"}, "properties": map[string]any{
			"grant_type":    map[string]any{"type": "string", "enum": []string{"password", "refresh_token"}},
			"username":      str("For the password grant."),
			"password":      str("For the password grant."),
			"refresh_token": str("For the refresh_token grant."),
			"client_id":     str("When the client does not use HTTP Basic."),
			"client_secret": str("When the client does not use HTTP Basic."),
			"scope":         str(""),
		}},
		"RevokeRequest": {"type": "object", "required": []string{"token"}, "properties": map[string]any{
			"token": str("The access or refresh token."), "token_type_hint": map[string]any{"type": "string", "enum": []string{"access_token", "refresh_token"}},
			"client_id": str(""), "client_secret": str(""),
		}},
		"TokenResponse": {"type": "object", "required": []string{"access_token", "token_type", "expires_in"}, "properties": map[string]any{
			"access_token": map[string]any{"type": "string"}, "token_type": map[string]any{"type": "string"},
			"expires_in": map[string]any{"type": "integer"}, "refresh_token": map[string]any{"type": "string"}, "scope": map[string]any{"type": "string"},
		}},
		"IncidentInput": {"type": "object", "required": restRequired, "properties": restFieldsSchema, "additionalProperties": false},
		"IncidentPatch": {"type": "object", "properties": patch, "additionalProperties": false},
		"Incident":      {"type": "object", "required": []string{"id", "name", "statusName", "dataVersion"}, "properties": incident},
		"IncidentPage": {"type": "object", "properties": map[string]any{
			"items": map[string]any{"type": "array", "items": ref("Incident")}, "next": nullable("string")}},
		"SearchPage": {"type": "object", "required": []string{"items", "next"}, "properties": map[string]any{
			"items": map[string]any{"type": "array", "items": ref("SearchRecord")}, "next": nullable("string")}},
		"SearchRecord": {"type": "object", "description": "A business object as search-process answers it: its metadata and data.",
			"required": []string{"id", "objectType", "dataVersion", "ownerId", "currentBaseState", "data"}, "properties": searchRecord},
		"FeedPage": {"type": "object", "required": []string{"changes", "next"}, "properties": map[string]any{
			"changes": map[string]any{"type": "array", "items": ref("FeedChange")}, "next": map[string]any{"type": "string"}}},
		"FeedChange": {"type": "object", "required": []string{"objectId", "kind", "dataVersion", "eventName", "licensePlate", "at", "cursor"},
			"properties": map[string]any{
				"objectId": str("The object changed."), "kind": str("Its process type."), "dataVersion": map[string]any{"type": "integer"},
				"eventName": str("The event that changed it."), "licensePlate": str("The changing request's."),
				"at":     map[string]any{"type": "integer", "description": "When the change was committed, milliseconds since the epoch."},
				"cursor": str("The position right after this change."),
			}},
		"WebhookRequest": {"type": "object", "required": []string{"url"}, "additionalProperties": false, "properties": map[string]any{
			"url": str("Where deliveries are POSTed."), "kinds": map[string]any{"type": "array", "items": map[string]any{"type": "string"}},
			"events": map[string]any{"type": "array", "items": map[string]any{"type": "string"}}, "after": str("A change feed cursor to start after."),
		}},
		"Webhook": {"type": "object", "description": "A subscription.", "required": []string{"id", "url", "createdAt", "enabled"},
			"properties": map[string]any{
				"id": str(""), "url": str("Where deliveries are POSTed."),
				"kinds":          map[string]any{"type": []string{"array", "null"}, "items": map[string]any{"type": "string"}, "description": "The kinds selected; empty or null for all."},
				"events":         map[string]any{"type": []string{"array", "null"}, "items": map[string]any{"type": "string"}, "description": "The events selected; empty or null for all."},
				"createdAt":      str("RFC 3339."),
				"enabled":        map[string]any{"type": "boolean"},
				"disabledAt":     str("RFC 3339, while disabled."),
				"disabledReason": str("Why deliveries stopped."),
				"secret":         str("Signs the deliveries; only in the answer that created the subscription."),
			}},
		"WebhookList": {"type": "object", "required": []string{"webhooks"}, "properties": map[string]any{
			"webhooks": map[string]any{"type": []string{"array", "null"}, "items": ref("Webhook")}}},
		"Delivery": {"type": "object", "description": "One change delivered to a subscription, with its attempts.",
			"required": []string{"id", "webhookId", "objectId", "state"}, "properties": map[string]any{
				"id": str(""), "webhookId": str(""), "seq": map[string]any{"type": "integer"}, "objectId": str(""), "kind": str(""),
				"dataVersion": map[string]any{"type": "integer"}, "eventName": str(""), "licensePlate": str("The changing request's."),
				"at":    map[string]any{"type": "integer", "description": "When the change was committed, milliseconds since the epoch."},
				"state": str("pending, delivered, failed or dropped."), "firstAttemptAt": map[string]any{"type": "integer"}, "nextAttemptAt": map[string]any{"type": "integer"},
				"attemptCount": map[string]any{"type": "integer"},
				"attempts": map[string]any{"type": []string{"array", "null"}, "items": map[string]any{"type": "object", "properties": map[string]any{
					"at": map[string]any{"type": "integer"}, "status": map[string]any{"type": "integer", "description": "The receiver's status; 0 when it did not answer."},
					"latencyMs": map[string]any{"type": "integer"}, "excerpt": str("The start of the answer."), "error": str("What went wrong."),
				}}},
			}},
		"DeliveryPage": {"type": "object", "required": []string{"deliveries", "next"}, "properties": map[string]any{
			"deliveries": map[string]any{"type": []string{"array", "null"}, "items": ref("Delivery")}, "next": nullable("string")}},
		"GraphQLRequest":  {"type": "object", "required": []string{"query"}, "properties": map[string]any{"query": map[string]any{"type": "string"}, "operationName": map[string]any{"type": "string"}, "variables": map[string]any{"type": "object"}}},
		"GraphQLResponse": {"type": "object", "properties": map[string]any{"data": anyValue, "errors": map[string]any{"type": "array", "items": map[string]any{"type": "object"}}}},
	}
}

// handleOpenAPI is GET /openapi.json.
func (s *Server) handleOpenAPI(c echo.Context) error {
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, s.doc.JSON)
}

// docsPolicy lets the reference page load its stylesheet and nothing else.
const docsPolicy = "default-src 'none'; style-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// handleDocsPage is GET /docs/api: the reference page.
func (s *Server) handleDocsPage(c echo.Context) error {
	c.Response().Header().Set("Content-Security-Policy", docsPolicy)
	return c.HTMLBlob(http.StatusOK, s.docsHTML)
}

// handleDocsCSS is GET /docs/api.css, the page's stylesheet.
func (s *Server) handleDocsCSS(c echo.Context) error {
	return c.Blob(http.StatusOK, "text/css; charset=utf-8", []byte(docsCSS))
}

const docsCSS = `body{font-family:system-ui,sans-serif;max-width:72rem;margin:2rem auto;padding:0 1rem;color:#222}
h2{border-bottom:1px solid #ccc}section.op{margin:1.5rem 0}code.method{font-weight:bold;text-transform:uppercase}
pre{background:#f5f5f5;padding:.5rem;overflow:auto;max-height:24rem}table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:.2rem .5rem;text-align:left}`

// docsOp is one operation as the page shows it.
type docsOp struct {
	Method, Path string
	*openapi.Operation
	Request   string
	Responses []docsResponse
}

type docsResponse struct{ Status, Description, Schema string }

type docsEvent struct{ Name, Help, SchemaName, Schema string }

var docsTemplate = template.Must(template.New("docs").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}} API reference</title>
<link rel="stylesheet" href="/docs/api.css"></head><body>
<h1>{{.Title}} API reference</h1>
<p>{{.Description}} The machine-readable document is <a href="/openapi.json">/openapi.json</a> (OpenAPI 3.1).</p>
<h2>Operations</h2>
<ul>{{range .Ops}}<li><a href="#{{.OperationID}}"><code>{{.Method}} {{.Path}}</code></a> {{.Summary}}</li>{{end}}</ul>
{{range .Ops}}<section class="op" id="{{.OperationID}}"><h3><code class="method">{{.Method}}</code> <code>{{.Path}}</code></h3>
<p>{{.Summary}}</p>{{if .Description}}<p>{{.Description}}</p>{{end}}
{{if .Security}}<p>Authentication: {{range $i, $s := .Security}}{{if $i}} or {{end}}{{range $k, $v := $s}}{{$k}}{{end}}{{end}}</p>{{end}}
{{if .Parameters}}<table><tr><th>Parameter</th><th>In</th><th>Required</th><th>Description</th></tr>
{{range .Parameters}}<tr><td><code>{{.Name}}</code></td><td>{{.In}}</td><td>{{if .Required}}yes{{else}}no{{end}}</td><td>{{.Description}}</td></tr>{{end}}</table>{{end}}
{{if .Request}}<h4>Request body</h4><pre>{{.Request}}</pre>{{end}}
<h4>Responses</h4>{{range .Responses}}<p><b>{{.Status}}</b> {{.Description}}</p>{{if .Schema}}<pre>{{.Schema}}</pre>{{end}}{{end}}
</section>{{end}}
<h2>Envelope events</h2>
<p>POST /api/events takes these events; header.eventName names one, and its payload must satisfy the schema shown.</p>
{{range .Events}}<section class="op" id="{{.Name}}"><h3><code>{{.Name}}</code></h3><p>{{.Help}}</p><p>Schema <code>{{.SchemaName}}</code>:</p><pre>{{.Schema}}</pre></section>{{end}}
<h2>Shared schemas</h2>
{{range .Shared}}<section id="schema-{{.Name}}"><h3><code>{{.Name}}</code></h3><pre>{{.Schema}}</pre></section>{{end}}
</body></html>
`))

// renderDocs renders the reference page of doc.
func renderDocs(title, description string, doc *openapi.Document) ([]byte, error) {
	pretty := func(v any) string {
		if v == nil {
			return ""
		}
		b, _ := json.MarshalIndent(v, "", "  ")
		return string(b)
	}
	var ops []docsOp
	for _, r := range doc.Routes {
		if r.Operation == nil {
			continue
		}
		op := docsOp{Method: r.Method, Path: r.OpenAPIPath(), Operation: r.Operation}
		if rb := r.Operation.RequestBody; rb != nil {
			var parts []string
			for mt, m := range rb.Content {
				parts = append(parts, mt+": "+pretty(m.Schema))
			}
			sort.Strings(parts)
			op.Request = strings.Join(parts, "\n")
		}
		for status, resp := range r.Operation.Responses {
			dr := docsResponse{Status: status, Description: resp.Description}
			if m, ok := resp.Content["application/json"]; ok {
				dr.Schema = pretty(m.Schema)
			}
			op.Responses = append(op.Responses, dr)
		}
		sort.Slice(op.Responses, func(i, j int) bool { return op.Responses[i].Status < op.Responses[j].Status })
		ops = append(ops, op)
	}
	var events []docsEvent
	for _, ev := range doc.Events {
		name := openapi.PayloadSchemaName(ev.SchemaFile)
		events = append(events, docsEvent{Name: ev.Name, Help: ev.Help, SchemaName: name, Schema: pretty(doc.Schemas[name])})
	}
	type shared struct{ Name, Schema string }
	var sharedList []shared
	for name, sch := range doc.Schemas {
		if !strings.HasPrefix(name, "payload.") {
			sharedList = append(sharedList, shared{name, pretty(sch)})
		}
	}
	sort.Slice(sharedList, func(i, j int) bool { return sharedList[i].Name < sharedList[j].Name })
	var b strings.Builder
	err := docsTemplate.Execute(&b, map[string]any{"Title": title, "Description": description, "Ops": ops, "Events": events, "Shared": sharedList})
	return []byte(b.String()), err
}

// Document is the API document, with the routes it was built from.
func (s *Server) Document() *openapi.Document { return s.doc }

// RouterRoutes lists what the router serves, as "METHOD path", for the
// test that every route is declared.
func (s *Server) RouterRoutes() []string {
	var out []string
	for _, r := range s.echo.Routes() {
		out = append(out, r.Method+" "+r.Path)
	}
	return out
}

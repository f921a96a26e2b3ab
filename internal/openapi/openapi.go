// Package openapi builds the gateway's OpenAPI 3.1 document: the routes
// declare their operations (Route), the event catalogue gives the payload
// schemas (Event), and Build puts them into one document whose schemas are
// the very JSON Schemas the gateway validates payloads with.
package openapi

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/scwm-gateway/scwm-gateway/internal/schema"
)

// Schema is a JSON Schema (draft 2020-12, the dialect of OpenAPI 3.1).
type Schema = map[string]any

// Route is one route of the router and what it is in the document. Every
// route the router serves is a Route; a Route without an Operation (NotAPI
// set) is served but is no API operation, such as an HTML page.
type Route struct {
	// Method is the HTTP method; Path is the router's path (":id" for a
	// path parameter).
	Method, Path string
	// Operation describes the route in the document; nil when NotAPI is set.
	Operation *Operation
	// NotAPI, when set, says what the route serves instead of an API operation.
	NotAPI string
}

// OpenAPIPath is the route's path in the document's form ("{id}").
func (r Route) OpenAPIPath() string {
	parts := strings.Split(r.Path, "/")
	for i, p := range parts {
		if strings.HasPrefix(p, ":") {
			parts[i] = "{" + p[1:] + "}"
		}
	}
	return strings.Join(parts, "/")
}

// Operation is an OpenAPI Operation Object.
type Operation struct {
	OperationID string   `json:"operationId"`
	Summary     string   `json:"summary,omitempty"`
	Description string   `json:"description,omitempty"`
	Tags        []string `json:"tags,omitempty"`
	// Security lists the schemes any one of which the route accepts
	// (names of SecuritySchemes); empty for an open route.
	Security    []map[string][]string `json:"security,omitempty"`
	Parameters  []Parameter           `json:"parameters,omitempty"`
	RequestBody *RequestBody          `json:"requestBody,omitempty"`
	Responses   map[string]*Response  `json:"responses"`
}

// Parameter is an OpenAPI Parameter Object.
type Parameter struct {
	Name        string `json:"name"`
	In          string `json:"in"`
	Description string `json:"description,omitempty"`
	Required    bool   `json:"required,omitempty"`
	Schema      Schema `json:"schema"`
}

// RequestBody is an OpenAPI Request Body Object.
type RequestBody struct {
	Description string               `json:"description,omitempty"`
	Required    bool                 `json:"required,omitempty"`
	Content     map[string]MediaType `json:"content"`
}

// MediaType is an OpenAPI Media Type Object.
type MediaType struct {
	Schema Schema `json:"schema"`
	// Encoding says how the properties of a form body are encoded, by
	// property name.
	Encoding map[string]Encoding `json:"encoding,omitempty"`
}

// Encoding is an OpenAPI Encoding Object.
type Encoding struct {
	// AllowReserved says a form value may carry the characters RFC 3986
	// reserves (such as the @ of a user name) as they are.
	AllowReserved bool `json:"allowReserved,omitempty"`
}

// Response is an OpenAPI Response Object.
type Response struct {
	Description string               `json:"description"`
	Headers     map[string]*Header   `json:"headers,omitempty"`
	Content     map[string]MediaType `json:"content,omitempty"`
}

// Header is an OpenAPI Header Object.
type Header struct {
	Description string `json:"description,omitempty"`
	Schema      Schema `json:"schema"`
}

// Event is one event of the catalogue, as the document lists it.
type Event struct {
	// Name is the full event name, such as agile-process-teams:add-incident:v5.
	Name string
	Help string
	// SchemaFile is its payload's schema file (internal/schema).
	SchemaFile string
}

// PayloadSchemaName is the name under components/schemas of the payload
// schema of a schema file.
func PayloadSchemaName(file string) string { return "payload." + strings.TrimSuffix(file, ".json") }

// EventsExtension is the extension of POST /api/events that lists the
// events: name, help and the $ref of their payload schema.
const EventsExtension = "x-scwm-events"

// Info is what the document says of the API as a whole.
type Info struct {
	Title, Version, Description string
}

// Document is the OpenAPI document, ready to serve; Routes and Events are
// what it was built from, for pages rendered from it.
type Document struct {
	JSON   []byte
	Routes []Route
	Events []Event
	// Schemas are components/schemas.
	Schemas map[string]Schema
}

// Build makes the document of routes, with the payload schemas of events
// and the shared schemas (components) under components/schemas. Two routes
// with the same method and path, or an operationId used twice, fail.
func Build(info Info, routes []Route, events []Event, components map[string]Schema, securitySchemes map[string]any) (*Document, error) {
	schemas, err := payloadSchemas(events)
	if err != nil {
		return nil, err
	}
	for k, v := range components {
		schemas[k] = v
	}
	paths := map[string]map[string]any{}
	ids := map[string]bool{}
	for _, r := range routes {
		if r.Operation == nil {
			if r.NotAPI == "" {
				return nil, fmt.Errorf("route %s %s has neither an operation nor a NotAPI reason", r.Method, r.Path)
			}
			continue
		}
		p := r.OpenAPIPath()
		item := paths[p]
		if item == nil {
			item = map[string]any{}
			paths[p] = item
		}
		m := strings.ToLower(r.Method)
		if _, dup := item[m]; dup {
			return nil, fmt.Errorf("route %s %s declared twice", r.Method, r.Path)
		}
		if ids[r.Operation.OperationID] {
			return nil, fmt.Errorf("operationId %s used twice", r.Operation.OperationID)
		}
		ids[r.Operation.OperationID] = true
		item[m] = r.Operation
	}
	if len(events) > 0 {
		if item, ok := paths["/api/events"]; ok {
			if op, ok := item["post"].(*Operation); ok {
				list := make([]map[string]any, len(events))
				for i, ev := range events {
					list[i] = map[string]any{"eventName": ev.Name, "help": ev.Help,
						"payload": map[string]any{"$ref": "#/components/schemas/" + PayloadSchemaName(ev.SchemaFile)}}
				}
				item["post"] = withExtension{op, list}
			}
		}
	}
	doc := map[string]any{
		"openapi":           "3.1.0",
		"jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
		"info":              map[string]any{"title": info.Title, "version": info.Version, "description": info.Description},
		"paths":             paths,
		"components":        map[string]any{"schemas": schemas, "securitySchemes": securitySchemes},
	}
	raw, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, err
	}
	return &Document{JSON: raw, Routes: routes, Events: events, Schemas: schemas}, nil
}

// withExtension is the events operation with the EventsExtension list.
type withExtension struct {
	*Operation
	events []map[string]any
}

func (w withExtension) MarshalJSON() ([]byte, error) {
	raw, err := json.Marshal(w.Operation)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	m[EventsExtension] = w.events
	return json.Marshal(m)
}

// payloadSchemas are the embedded schemas as components: each event's
// payload schema under PayloadSchemaName, the shared definitions of
// defs.json under "defs.<name>", their $refs rewritten to point inside the
// document and their $schema dropped (the document's dialect is theirs).
func payloadSchemas(events []Event) (map[string]Schema, error) {
	out := map[string]Schema{}
	raw, err := schema.Source("defs.json")
	if err != nil {
		return nil, err
	}
	var defs struct {
		Defs map[string]any `json:"$defs"`
	}
	if err := json.Unmarshal(raw, &defs); err != nil {
		return nil, fmt.Errorf("defs.json: %w", err)
	}
	for name, d := range defs.Defs {
		s, ok := rewriteRefs(d).(map[string]any)
		if !ok {
			return nil, fmt.Errorf("defs.json: $defs/%s is not an object", name)
		}
		out["defs."+name] = s
	}
	files := map[string]bool{}
	for _, ev := range events {
		files[ev.SchemaFile] = true
	}
	names := make([]string, 0, len(files))
	for f := range files {
		names = append(names, f)
	}
	sort.Strings(names)
	for _, f := range names {
		raw, err := schema.Source(f)
		if err != nil {
			return nil, err
		}
		var s map[string]any
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		delete(s, "$schema")
		out[PayloadSchemaName(f)] = rewriteRefs(s).(map[string]any)
	}
	return out, nil
}

// rewriteRefs points the $refs of an embedded schema ("defs.json#/$defs/x"
// from an event's file, "#/$defs/x" inside defs.json) at the components.
func rewriteRefs(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, item := range x {
			if ref, ok := item.(string); ok && k == "$ref" {
				ref = strings.TrimPrefix(ref, "defs.json")
				if name, ok := strings.CutPrefix(ref, "#/$defs/"); ok {
					x[k] = "#/components/schemas/defs." + name
				}
				continue
			}
			x[k] = rewriteRefs(item)
		}
	case []any:
		for i, item := range x {
			x[i] = rewriteRefs(item)
		}
	}
	return v
}

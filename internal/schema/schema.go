// Package schema validates event payloads against the gateway's embedded JSON
// Schemas (one per event, draft 2020-12) and says what is wrong in the
// protocol's words: every problem at once, with its JSON path, enum values
// put into their canonical case, and warnings for fields a schema does not
// know. It knows the schema files, not the catalogue of events.
package schema

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"maps"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/scwm-gateway/scwm-gateway/envelope"
)

// files holds one JSON Schema (draft 2020-12) per event, plus defs.json
// with the definitions they share. They validate payloads and document the
// events, so the two cannot drift apart.
//
//go:embed schemas
var files embed.FS

// base is the URL under which the embedded files are registered with
// the compiler, so that "$ref": "defs.json#/$defs/x" resolves.
const base = "file:///scwm-gateway/schemas/"

// Set compiles embedded schemas on demand, sharing one compiler so that
// defs.json is compiled once.
type Set struct {
	compiler *jsonschema.Compiler
}

// NewSet registers every embedded schema with one compiler; it fails on a
// file that is not JSON.
func NewSet() (*Set, error) {
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	err := fs.WalkDir(files, "schemas", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || path.Ext(p) != ".json" {
			return err
		}
		raw, err := files.ReadFile(p)
		if err != nil {
			return err
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
		if err != nil {
			return fmt.Errorf("schema %s: %w", p, err)
		}
		return c.AddResource(base+strings.TrimPrefix(p, "schemas/"), doc)
	})
	if err != nil {
		return nil, err
	}
	return &Set{compiler: c}, nil
}

// Load compiles the schema of one file (an event's, such as
// "add-incident.v5.json").
func (s *Set) Load(file string) (*Payload, error) {
	compiled, err := s.compiler.Compile(base + file)
	if err != nil {
		return nil, fmt.Errorf("compile schema %s: %w", file, err)
	}
	return &Payload{file: file, compiled: compiled, quick: quickCompile(compiled), shapes: newShapes()}, nil
}

// Source returns the text of an embedded schema file, for the docs.
func Source(file string) ([]byte, error) {
	return files.ReadFile("schemas/" + file)
}

// Names lists the embedded schema files, defs.json included.
func Names() ([]string, error) {
	entries, err := fs.ReadDir(files, "schemas")
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		if !e.IsDir() {
			names = append(names, e.Name())
		}
	}
	return names, nil
}

// Payload validates the payload of one event.
type Payload struct {
	file     string
	compiled *jsonschema.Schema
	// quick proves most valid payloads valid at a fraction of the
	// library's cost; nil when the schema uses a keyword it does not
	// assert.
	quick  *quickNode
	shapes *shapes
}

// Check validates payload in place: it puts enum values into their canonical
// case (enums match without regard to case), then reports every problem in
// one SchemaValidationException, or returns warnings for fields the schema
// does not know (they are kept as sent).
func (p *Payload) Check(payload map[string]any) ([]string, *envelope.Error) {
	var problems []string
	keepable := keepable(payload)
	if !keepable {
		problems = forbiddenKeys(payload, "$", nil)
	}
	w := &schemaWalker{shapes: p.shapes}
	if p.shapes.walk(p.compiled, payload) {
		// A field the schema does not know: walk again, in order and
		// with paths, for the warnings.
		w.walk(p.compiled, payload, "$")
	}
	var invalid []string
	if !keepable || p.quick == nil || !p.quick.valid(payload, 0) {
		if err := p.compiled.Validate(any(payload)); err != nil {
			invalid = describeValidation(err, payload)
		}
	}
	if keepable && invalid == nil {
		return capList(w.warnings, "warnings"), nil
	}
	// A value the schema already refuses needs no second problem.
	for _, big := range inexactIntegers(payload, "$", nil) {
		if !slices.ContainsFunc(invalid, func(s string) bool { return strings.HasPrefix(s, problemPath(big)+": ") }) {
			problems = append(problems, big)
		}
	}
	problems = append(problems, invalid...)
	if len(problems) > 0 {
		return nil, Invalid(capList(dedupe(problems), "problems"))
	}
	return capList(w.warnings, "warnings"), nil
}

// maxListed bounds the problems and warnings one answer lists, so that a
// payload with thousands of bad items gets a short answer.
const maxListed = 100

// capList keeps the first maxListed entries and says how many more there
// were.
func capList(list []string, what string) []string {
	if len(list) <= maxListed {
		return list
	}
	return append(list[:maxListed:maxListed], fmt.Sprintf("... and %d more %s", len(list)-maxListed, what))
}

// Invalid builds the SchemaValidationException whose errMsg is the JSON
// object {"validation-failed": [...]}, one entry per problem.
func Invalid(problems []string) *envelope.Error {
	return envelope.SchemaValidation(problems)
}

func dedupe(list []string) []string {
	seen := make(map[string]bool, len(list))
	out := list[:0]
	for _, s := range list {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// Unkeepable lists the problems of a value that the store could not keep
// as sent: keys that start with "$" or contain "." or NUL (MongoDB reads
// them as operators or paths) and integers beyond 64 bits. at is the JSON
// path of v ("" for none).
func Unkeepable(v any, at string) []string {
	return inexactIntegers(v, at, forbiddenKeys(v, at, nil))
}

// forbiddenKeys names keys that start with '$' or contain '.': MongoDB reads
// them as operators or paths, and the embedded store refuses them, so they are
// refused before they reach the store.
func forbiddenKeys(v any, at string, out []string) []string {
	switch v := v.(type) {
	case map[string]any:
		for _, k := range slices.Sorted(maps.Keys(v)) {
			p := envelope.PathChild(at, k)
			switch {
			case strings.HasPrefix(k, "$"):
				out = append(out, p+": field names must not start with '$'")
			case strings.Contains(k, "."):
				out = append(out, p+": field names must not contain '.'")
			case k == "":
				out = append(out, p+": field names must not be empty")
			case strings.ContainsRune(k, 0):
				out = append(out, p+": field names must not contain NUL (\\u0000)")
			}
			out = forbiddenKeys(v[k], p, out)
		}
	case []any:
		for i, e := range v {
			out = forbiddenKeys(e, at+"["+strconv.Itoa(i)+"]", out)
		}
	}
	return out
}

// keepable reports whether v has none of the problems forbiddenKeys and
// inexactIntegers name, without building a path: the common case, for
// which neither needs to run.
func keepable(v any) bool {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			if k == "" || k[0] == '$' || strings.ContainsRune(k, '.') || strings.ContainsRune(k, 0) || !keepable(e) {
				return false
			}
		}
	case []any:
		for _, e := range v {
			if !keepable(e) {
				return false
			}
		}
	case json.Number:
		if _, err := v.Int64(); err != nil && !strings.ContainsAny(v.String(), ".eE") {
			return false
		}
	}
	return true
}

// inexactIntegers names the integers written without a fraction or an
// exponent that int64 cannot hold: stored as a float they would lose
// digits, so they are refused instead of kept differently from how they
// were sent.
func inexactIntegers(v any, at string, out []string) []string {
	switch v := v.(type) {
	case map[string]any:
		for _, k := range slices.Sorted(maps.Keys(v)) {
			out = inexactIntegers(v[k], envelope.PathChild(at, k), out)
		}
	case []any:
		for i, e := range v {
			out = inexactIntegers(e, at+"["+strconv.Itoa(i)+"]", out)
		}
	case json.Number:
		if _, err := v.Int64(); err != nil && !strings.ContainsAny(v.String(), ".eE") {
			out = append(out, fmt.Sprintf("%s: integer %s does not fit 64 bits (-9223372036854775808 to 9223372036854775807); send it as a string to keep every digit", at, v))
		}
	}
	return out
}

// problemPath is the JSON path a problem line starts with.
func problemPath(problem string) string {
	path, _, _ := strings.Cut(problem, ": ")
	return path
}

// schemaWalker walks a payload alongside its compiled schema, in key order
// and with paths, to find fields the schema does not know; it puts enum
// values into their canonical case on the way, as shapes.walk does. What
// applies to each value comes from the same shapes.
type schemaWalker struct {
	shapes   *shapes
	warnings []string
}

// walk visits v at path under schema s.
func (w *schemaWalker) walk(s *jsonschema.Schema, v any, at string) {
	switch v := v.(type) {
	case map[string]any:
		sh := w.shapes.of(s, v)
		for _, k := range slices.Sorted(maps.Keys(v)) {
			ps, ok := sh.known[k]
			if !ok {
				if sh.closed {
					w.warnings = append(w.warnings, unknownField(envelope.PathChild(at, k), k, sh.known))
				}
				continue
			}
			if str, ok := v[k].(string); ok {
				if canon, ok := w.shapes.canonical(ps, str); ok {
					v[k] = canon
				}
				continue
			}
			w.walk(ps, v[k], envelope.PathChild(at, k))
		}
	case []any:
		items := w.shapes.of(s, v).items
		if items == nil {
			return
		}
		for i, e := range v {
			if str, ok := e.(string); ok {
				if canon, ok := w.shapes.canonical(items, str); ok {
					v[i] = canon
				}
				continue
			}
			w.walk(items, e, at+"["+strconv.Itoa(i)+"]")
		}
	}
}

// applicable lists s and the subschemas that apply to v through $ref, allOf,
// and those anyOf/oneOf branches whose type admits v.
func applicable(s *jsonschema.Schema, v any, out []*jsonschema.Schema) []*jsonschema.Schema {
	if s == nil || len(out) > 64 {
		return out
	}
	out = append(out, s)
	out = applicable(s.Ref, v, out)
	for _, a := range s.AllOf {
		out = applicable(a, v, out)
	}
	for _, branches := range [][]*jsonschema.Schema{s.AnyOf, s.OneOf} {
		for _, a := range branches {
			if admits(a, v) {
				out = applicable(a, v, out)
			}
		}
	}
	return out
}

// admits reports whether the type keyword of s (following $ref) allows v.
func admits(s *jsonschema.Schema, v any) bool {
	for depth := 0; s != nil && depth < 16; depth++ {
		if s.Types != nil && !s.Types.IsEmpty() {
			kind := schemaKind(v)
			for _, t := range s.Types.ToStrings() {
				if t == kind || t == "number" && kind == "integer" {
					return true
				}
			}
			return false
		}
		s = s.Ref
	}
	return true
}

// schemaKind names the JSON Schema type of a decoded payload value: its
// envelope.JSONKind, except that a number written as an integer that fits
// int64 is an "integer", as the schemas' type keywords distinguish them.
func schemaKind(v any) string {
	if n, ok := v.(json.Number); ok {
		if _, err := n.Int64(); err == nil {
			return "integer"
		}
	}
	return envelope.JSONKind(v)
}

// maxSuggestedLen is the longest unknown name a suggestion is looked for:
// the edit distance costs time in proportion to the name's length.
const maxSuggestedLen = 64

// unknownField is the warning for a field no schema names, with the closest
// known name when one is near.
func unknownField(at, name string, known map[string]*jsonschema.Schema) string {
	if len(name) > maxSuggestedLen {
		return at + ": unknown field"
	}
	best, bestDist := "", 1<<30
	for k := range known {
		d := editDistance(strings.ToLower(name), strings.ToLower(k))
		if d < bestDist || d == bestDist && k < best {
			best, bestDist = k, d
		}
	}
	if best != "" && (bestDist <= 2 || bestDist*4 <= len(name)) {
		return fmt.Sprintf("%s: unknown field (did you mean %s?)", at, best)
	}
	return at + ": unknown field"
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

var englishPrinter = message.NewPrinter(language.English)

// describeValidation flattens a jsonschema validation error into one
// "<JSON path>: <plain reason>" line per problem.
func describeValidation(err error, payload any) []string {
	ve, ok := err.(*jsonschema.ValidationError)
	if !ok {
		return []string{"$: " + err.Error()}
	}
	var out []string
	collectProblems(ve, payload, &out)
	return out
}

func collectProblems(ve *jsonschema.ValidationError, payload any, out *[]string) {
	at := instancePath(payload, ve.InstanceLocation)
	switch k := ve.ErrorKind.(type) {
	case *kind.Required:
		for _, m := range k.Missing {
			*out = append(*out, envelope.PathChild(at, m)+": is missing but it is required")
		}
		return
	case *kind.Type:
		// The payload, not the library, says whether a number is whole.
		got := schemaKind(valueAt(payload, ve.InstanceLocation))
		*out = append(*out, fmt.Sprintf("%s: %s found, %s expected", at, got, strings.Join(k.Want, " or ")))
		return
	case *kind.Enum:
		vals := make([]string, len(k.Want))
		for i, w := range k.Want {
			vals[i] = fmt.Sprint(w)
		}
		*out = append(*out, fmt.Sprintf("%s: does not have a value in the enumeration [%s]", at, strings.Join(vals, ", ")))
		return
	case *kind.MinLength:
		if k.Want == 1 {
			*out = append(*out, at+": must not be empty")
		} else {
			*out = append(*out, fmt.Sprintf("%s: must be at least %d characters long", at, k.Want))
		}
		return
	case *kind.MaxLength:
		*out = append(*out, fmt.Sprintf("%s: must be at most %d characters long", at, k.Want))
		return
	case *kind.Minimum:
		// The number as sent and the bound exactly: the library's own
		// message rounds both to a few digits.
		*out = append(*out, fmt.Sprintf("%s: is %v, at least %s allowed", at, valueAt(payload, ve.InstanceLocation), k.Want.RatString()))
		return
	case *kind.Maximum:
		*out = append(*out, fmt.Sprintf("%s: is %v, at most %s allowed", at, valueAt(payload, ve.InstanceLocation), k.Want.RatString()))
		return
	case *kind.AnyOf, *kind.OneOf:
		// A value of the wrong type fails every branch on its type; say so
		// once. Otherwise report the branches that got past the type check.
		var typeOnly []string
		var deeper []*jsonschema.ValidationError
		for _, c := range ve.Causes {
			if t, ok := leafType(c, len(ve.InstanceLocation)); ok {
				typeOnly = append(typeOnly, t...)
			} else {
				deeper = append(deeper, c)
			}
		}
		if len(deeper) == 0 && len(typeOnly) > 0 {
			got := schemaKind(valueAt(payload, ve.InstanceLocation))
			*out = append(*out, fmt.Sprintf("%s: %s found, %s expected", at, got, strings.Join(dedupe(typeOnly), " or ")))
			return
		}
		for _, c := range deeper {
			collectProblems(c, payload, out)
		}
		return
	}
	if len(ve.Causes) == 0 {
		*out = append(*out, at+": "+ve.ErrorKind.LocalizedString(englishPrinter))
		return
	}
	for _, c := range ve.Causes {
		collectProblems(c, payload, out)
	}
}

// leafType reports whether a branch failed only on the type of the value
// itself (at depth, the length of its instance location), and the types it
// wanted.
func leafType(ve *jsonschema.ValidationError, depth int) ([]string, bool) {
	if len(ve.InstanceLocation) != depth {
		return nil, false
	}
	if t, ok := ve.ErrorKind.(*kind.Type); ok {
		return t.Want, true
	}
	if len(ve.Causes) == 1 {
		switch ve.ErrorKind.(type) {
		case *kind.Group, *kind.Reference, *kind.Schema:
			return leafType(ve.Causes[0], depth)
		}
	}
	return nil, false
}

// instancePath renders an instance location as a JSON path, telling array
// indexes from object keys by looking at the payload.
func instancePath(payload any, loc []string) string {
	at := "$"
	cur := payload
	for _, tok := range loc {
		switch c := cur.(type) {
		case []any:
			at += "[" + tok + "]"
			if i, err := strconv.Atoi(tok); err == nil && i >= 0 && i < len(c) {
				cur = c[i]
			} else {
				cur = nil
			}
		case map[string]any:
			at = envelope.PathChild(at, tok)
			cur = c[tok]
		default:
			at = envelope.PathChild(at, tok)
			cur = nil
		}
	}
	return at
}

func valueAt(payload any, loc []string) any {
	cur := payload
	for _, tok := range loc {
		switch c := cur.(type) {
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(c) {
				return nil
			}
			cur = c[i]
		case map[string]any:
			cur = c[tok]
		default:
			return nil
		}
	}
	return cur
}

// shapes holds, per subschema and kind of value, what the walk needs of the
// subschemas that apply (applicable): it depends on the value only through
// its kind, and working it out again for every value of every payload is
// most of a walk's cost. One Payload's shapes are bounded by its schema's
// subschemas times the kinds of JSON value.
type shapes struct {
	mu   sync.RWMutex
	byOf map[shapeKey]*shape
}

type shapeKey struct {
	s    *jsonschema.Schema
	kind string
}

// shape is what applies to a value of one kind under one subschema.
type shape struct {
	// enums are the string values of the applicable enums, for strings.
	enums []string
	// known are the named properties, for objects; closed says that a
	// field not among them is unknown.
	known  map[string]*jsonschema.Schema
	closed bool
	// items is the schema of every item, for arrays.
	items *jsonschema.Schema
}

func newShapes() *shapes { return &shapes{byOf: map[shapeKey]*shape{}} }

func (c *shapes) of(s *jsonschema.Schema, v any) *shape {
	key := shapeKey{s, schemaKind(v)}
	c.mu.RLock()
	sh, ok := c.byOf[key]
	c.mu.RUnlock()
	if ok {
		return sh
	}
	sh = &shape{known: map[string]*jsonschema.Schema{}}
	open, constrained := false, false
	for _, a := range applicable(s, v, nil) {
		if a.Enum != nil {
			for _, want := range a.Enum.Values {
				if ws, ok := want.(string); ok {
					sh.enums = append(sh.enums, ws)
				}
			}
		}
		for name, ps := range a.Properties {
			sh.known[name] = ps
			constrained = true
		}
		if a.AdditionalProperties != nil || len(a.PatternProperties) > 0 {
			open = true
		}
		if a.Items2020 != nil {
			sh.items = a.Items2020
		}
	}
	sh.closed = constrained && !open
	c.mu.Lock()
	c.byOf[key] = sh
	c.mu.Unlock()
	return sh
}

// walk puts enum values into their canonical case and reports whether v
// has a field the schema does not know, without paths, order or warnings;
// the caller walks again with schemaWalker to say where.
func (c *shapes) walk(s *jsonschema.Schema, v any) (unknown bool) {
	switch v := v.(type) {
	case map[string]any:
		sh := c.of(s, v)
		for k, e := range v {
			ps, ok := sh.known[k]
			if !ok {
				unknown = unknown || sh.closed
				continue
			}
			if str, ok := e.(string); ok {
				if canon, ok := c.canonical(ps, str); ok {
					v[k] = canon
				}
				continue
			}
			unknown = c.walk(ps, e) || unknown
		}
	case []any:
		items := c.of(s, v).items
		if items == nil {
			return false
		}
		for i, e := range v {
			if str, ok := e.(string); ok {
				if canon, ok := c.canonical(items, str); ok {
					v[i] = canon
				}
				continue
			}
			unknown = c.walk(items, e) || unknown
		}
	}
	return unknown
}

// canonical is the first enum value of s other than str that str matches
// without regard to case.
func (c *shapes) canonical(s *jsonschema.Schema, str string) (string, bool) {
	for _, want := range c.of(s, str).enums {
		if want != str && strings.EqualFold(want, str) {
			return want, true
		}
	}
	return "", false
}

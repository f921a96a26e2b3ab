package schema

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"path"
	"strconv"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/scwm-gateway/scwm-gateway/envelope"
)

// eventSchemas loads every embedded event schema.
func eventSchemas(t testing.TB) map[string]*Payload {
	t.Helper()
	set, names := embeddedSet(t)
	out := map[string]*Payload{}
	for _, name := range names {
		if path.Ext(name) != ".json" || name == "defs.json" {
			continue
		}
		p, err := set.Load(name)
		if err != nil {
			t.Fatal(err)
		}
		out[name] = p
	}
	return out
}

// readableNumbers reports whether every number in v is a plain int64
// literal, the only numbers the quick check reads itself.
func readableNumbers(v any) bool {
	switch v := v.(type) {
	case map[string]any:
		for _, e := range v {
			if !readableNumbers(e) {
				return false
			}
		}
	case []any:
		for _, e := range v {
			if !readableNumbers(e) {
				return false
			}
		}
	case json.Number:
		_, err := strconv.ParseInt(string(v), 10, 64)
		return err == nil
	}
	return true
}

// compareQuick fails t when the quick check proves valid a value the
// library refuses, or leaves to the library a valid value whose numbers it
// can read (then it would save nothing). It reports the library's verdict.
func compareQuick(t *testing.T, name string, p *Payload, v any) bool {
	t.Helper()
	libValid := p.compiled.Validate(v) == nil
	quickValid := p.quick.valid(v, 0)
	text, _ := json.Marshal(v)
	if quickValid && !libValid {
		t.Fatalf("%s: the quick check proves valid what the library refuses: %s\nlibrary: %v", name, text, p.compiled.Validate(v))
	}
	if libValid && !quickValid && readableNumbers(v) {
		t.Fatalf("%s: the quick check does not prove valid a valid payload whose numbers it reads: %s", name, text)
	}
	return libValid
}

func TestQuickCheckCoversEverySchema(t *testing.T) {
	t.Parallel()
	for name, p := range eventSchemas(t) {
		if p.quick == nil {
			t.Errorf("%s: the quick check does not support a keyword of this schema, so every payload pays for the library; extend quickNode", name)
		}
	}
}

// TestQuickCheckAgreesWithLibrary generates payloads from each schema, most
// of them valid and the rest broken in one place of the kinds a client
// breaks them (a wrong type, a string too long or empty, a missing required
// field, a value outside an enum or a bound, a fraction or an exponent), and
// compares the quick check's verdict with the library's on each.
func TestQuickCheckAgreesWithLibrary(t *testing.T) {
	t.Parallel()
	schemas := eventSchemas(t)
	for name, p := range schemas {
		if p.quick == nil {
			continue
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			g := &payloadGen{r: rand.New(rand.NewPCG(1, uint64(len(name))))}
			valid, invalid := 0, 0
			// Break one of the subschemas the last value visited.
			visited := 1
			for i := range 2000 {
				g.breakAt = -1
				if i%2 == 1 {
					g.breakAt = g.r.IntN(visited)
				}
				g.visited = 0
				v := g.value(p.compiled, 0)
				visited = max(g.visited, 1)
				if compareQuick(t, name, p, v) {
					valid++
				} else {
					invalid++
				}
			}
			// The comparison means something only if both verdicts
			// came up often.
			if valid < 200 || invalid < 200 {
				t.Fatalf("generated %d valid and %d invalid payloads; want at least 200 of each", valid, invalid)
			}
		})
	}
}

// payloadGen writes random values for a schema; breakAt picks the visited
// subschema (in visiting order) at which the value is broken, or none when
// negative.
type payloadGen struct {
	r       *rand.Rand
	breakAt int
	visited int
}

// applicableAll is s with what it reaches through $ref and allOf, and one
// anyOf branch chosen at random: the subschemas a generated value must
// satisfy together.
func (g *payloadGen) applicableAll(s *jsonschema.Schema, out []*jsonschema.Schema) []*jsonschema.Schema {
	if s == nil {
		return out
	}
	out = append(out, s)
	out = g.applicableAll(s.Ref, out)
	for _, a := range s.AllOf {
		out = g.applicableAll(a, out)
	}
	if len(s.AnyOf) > 0 {
		out = g.applicableAll(s.AnyOf[g.r.IntN(len(s.AnyOf))], out)
	}
	return out
}

func (g *payloadGen) value(s *jsonschema.Schema, depth int) any {
	all := g.applicableAll(s, nil)
	broken := g.visited == g.breakAt
	g.visited++
	var types []string
	var enum []any
	minLen, maxLen := -1, -1
	var minimum, maximum *int64
	props := map[string]*jsonschema.Schema{}
	var required []string
	var items *jsonschema.Schema
	for _, a := range all {
		if a.Types != nil && !a.Types.IsEmpty() {
			types = a.Types.ToStrings()
		}
		if a.Enum != nil {
			enum = a.Enum.Values
		}
		if a.MinLength != nil {
			minLen = *a.MinLength
		}
		if a.MaxLength != nil {
			maxLen = *a.MaxLength
		}
		if a.Minimum != nil {
			m, _ := ratInt64(a.Minimum)
			minimum = &m
		}
		if a.Maximum != nil {
			m, _ := ratInt64(a.Maximum)
			maximum = &m
		}
		for k, ps := range a.Properties {
			props[k] = ps
		}
		required = append(required, a.Required...)
		if a.Items2020 != nil {
			items = a.Items2020
		}
	}
	if broken {
		return g.broken(enum, minLen, maxLen, minimum, maximum, required, props, items, depth)
	}
	if enum != nil {
		return enum[g.r.IntN(len(enum))]
	}
	t := "object"
	switch {
	case len(types) > 0:
		t = types[g.r.IntN(len(types))]
	case len(props) == 0 && items == nil:
		t = []string{"string", "integer", "boolean", "null"}[g.r.IntN(4)]
	case items != nil:
		t = "array"
	}
	switch t {
	case "null":
		return nil
	case "boolean":
		return g.r.IntN(2) == 0
	case "string":
		n := g.r.IntN(12)
		if minLen > n {
			n = minLen
		}
		if maxLen >= 0 && n > maxLen {
			n = maxLen
		}
		return g.text(n)
	case "integer", "number":
		lo, hi := int64(-1000), int64(1_800_000_000_000)
		if minimum != nil {
			lo = *minimum
		}
		if maximum != nil {
			hi = *maximum
		}
		if g.r.IntN(8) == 0 {
			return json.Number(strconv.FormatInt(hi, 10))
		}
		n := lo + g.r.Int64N(min(hi-lo, 1<<40)+1)
		if t == "number" && g.r.IntN(2) == 0 {
			return json.Number(strconv.FormatInt(n, 10) + ".25")
		}
		return json.Number(strconv.FormatInt(n, 10))
	case "array":
		out := []any{}
		if depth < 6 && items != nil {
			for range g.r.IntN(3) {
				out = append(out, g.value(items, depth+1))
			}
		}
		return out
	}
	obj := map[string]any{}
	for _, k := range required {
		obj[k] = g.value(props[k], depth+1)
	}
	if depth < 6 {
		for k, ps := range props {
			if g.r.IntN(3) == 0 {
				obj[k] = g.value(ps, depth+1)
			}
		}
	}
	if g.r.IntN(6) == 0 {
		obj["notInTheSchema"] = "x"
	}
	return obj
}

// text is n characters, some of them beyond ASCII, so that lengths count
// runes and not bytes.
func (g *payloadGen) text(n int) string {
	var b strings.Builder
	for range n {
		switch g.r.IntN(6) {
		case 0:
			b.WriteRune('é')
		case 1:
			b.WriteRune('漢')
		case 2:
			b.WriteRune('😀')
		default:
			b.WriteByte(byte('a' + g.r.IntN(26)))
		}
	}
	return b.String()
}

// broken is a value that breaks one of the constraints given, or one of
// another type.
func (g *payloadGen) broken(enum []any, minLen, maxLen int, minimum, maximum *int64, required []string, props map[string]*jsonschema.Schema, items *jsonschema.Schema, depth int) any {
	var choices []func() any
	choices = append(choices,
		func() any { return nil },
		func() any { return true },
		func() any { return "x" },
		func() any { return json.Number("7") },
		func() any { return json.Number("1.5") },
		func() any { return json.Number("1e3") },
		func() any { return json.Number("2.0") },
		func() any { return []any{"x"} },
		func() any { return map[string]any{"x": json.Number("1")} },
	)
	if enum != nil {
		choices = append(choices, func() any {
			e := fmt.Sprint(enum[g.r.IntN(len(enum))])
			return e + "x"
		})
	}
	if maxLen >= 0 {
		choices = append(choices,
			func() any { return g.text(maxLen + 1) },
			func() any { return strings.Repeat("漢", maxLen) })
	}
	if minLen > 0 {
		choices = append(choices, func() any { return g.text(minLen - 1) })
	}
	if minimum != nil && *minimum > -1<<62 {
		choices = append(choices, func() any { return json.Number(strconv.FormatInt(*minimum-1, 10)) })
	}
	if maximum != nil && *maximum < 1<<62 {
		choices = append(choices, func() any { return json.Number(strconv.FormatInt(*maximum+1, 10)) })
	}
	if len(required) > 0 {
		choices = append(choices, func() any {
			obj := map[string]any{}
			for k, ps := range props {
				if k != required[0] && g.r.IntN(2) == 0 && depth < 6 {
					obj[k] = g.value(ps, depth+1)
				}
			}
			return obj
		})
	}
	if items != nil && depth < 6 {
		choices = append(choices, func() any { return []any{g.value(items, depth+1), []any{}} })
	}
	return choices[g.r.IntN(len(choices))]()
}

// FuzzQuickCheck: on any payload the envelope parser accepts, the quick
// check never proves valid what the library refuses, and proves valid every
// valid payload whose numbers it reads.
//
//	go test ./internal/schema -run '^$' -fuzz '^FuzzQuickCheck$' -fuzztime 60s
func FuzzQuickCheck(f *testing.F) {
	schemas := eventSchemas(f)
	for _, s := range []string{
		`{}`, `{"aptBusinessObjectSummary":"x"}`, `{"aptBusinessObjectSummary":""}`,
		`{"id":"x","dataVersion":1,"businessPriority":"HIGH"}`, `{"id":"x","dataVersion":0}`,
		`{"impactedProducts":[{"productDetailId":"p","impactedLots":[]}]}`, `{"aptCommentBox":[{"aptComment":null}]}`,
		`{"aptCommentBox":{"aptComment":[{"commentText":"t","visibilityType":"Public"}]}}`,
		`{"incidentImpact":{"financialImpact":1.5,"impactedDepartments":["a"]}}`,
		`{"referenceIdentifiers":[{"referenceTransactionType":"INVOICE_NUMBER","value":"1"},"x"]}`,
		`{"responsibleEntity":{"partnerId":null},"resolutionDueDate":1e3}`,
	} {
		f.Add([]byte(s))
	}
	names := make([]string, 0, len(schemas))
	for name := range schemas {
		names = append(names, name)
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		req, err := envelope.ParseRequest([]byte(`{"header":{},"payload":` + string(payload) + `}`))
		if err != nil || !keepable(req.Payload) {
			return // the gateway refuses it before, or instead of, the quick check
		}
		for _, name := range names {
			if p := schemas[name]; p.quick != nil {
				compareQuick(t, name, p, any(req.Payload))
			}
		}
	})
}

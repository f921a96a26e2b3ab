package schema

import (
	"encoding/json"
	"math/big"
	"slices"
	"strconv"
	"unicode/utf8"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// quickNode is one compiled subschema in the form the quick check reads: the
// assertions of the keywords the gateway's schemas use, with their operands
// converted once (bounds as int64, enums as strings, types as a bit set).
//
// The quick check proves a payload valid; it never explains a failure. A
// payload it cannot prove valid goes to the library, which says what is
// wrong in full, so every answer a client sees about an invalid payload is
// the library's. A subschema with a keyword it does not know makes the whole
// schema unsupported (quickCompile answers nil), so it can be wrong only by
// proving valid a value the library refuses, which its tests look for.
type quickNode struct {
	// always is set for the boolean schemas: true accepts everything,
	// false nothing.
	always, never bool

	types quickTypes // zero: any type

	hasEnum bool
	enum    []string

	minLength, maxLength int // -1: no bound
	// pattern, when set, is the regular expression a string must match.
	pattern jsonschema.Regexp

	hasMin, hasMax bool
	min, max       int64

	required   []string
	properties map[string]*quickNode
	items      *quickNode

	ref   *quickNode
	allOf []*quickNode
	anyOf []*quickNode
}

// quickTypes is a set of JSON Schema types.
type quickTypes uint8

const (
	quickNull quickTypes = 1 << iota
	quickBoolean
	quickString
	quickInteger
	quickNumber
	quickArray
	quickObject
)

var quickTypeNames = map[string]quickTypes{
	"null": quickNull, "boolean": quickBoolean, "string": quickString, "integer": quickInteger,
	"number": quickNumber, "array": quickArray, "object": quickObject,
}

// quickCompile converts a compiled schema and everything it reaches, or
// answers nil when any of it uses a keyword the quick check does not assert
// (the payload then always goes to the library).
func quickCompile(s *jsonschema.Schema) *quickNode {
	c := quickCompiler{done: map[*jsonschema.Schema]*quickNode{}}
	n := c.node(s)
	if c.unsupported {
		return nil
	}
	return n
}

type quickCompiler struct {
	done        map[*jsonschema.Schema]*quickNode
	unsupported bool
}

func (c *quickCompiler) node(s *jsonschema.Schema) *quickNode {
	if s == nil {
		return nil
	}
	if n, ok := c.done[s]; ok {
		return n
	}
	n := &quickNode{minLength: -1, maxLength: -1}
	c.done[s] = n
	if s.Bool != nil {
		n.always, n.never = *s.Bool, !*s.Bool
		return n
	}
	if !quickSupported(s) {
		c.unsupported = true
		return n
	}
	if s.Types != nil {
		for _, t := range s.Types.ToStrings() {
			n.types |= quickTypeNames[t]
		}
	}
	if s.Enum != nil {
		n.hasEnum = true
		for _, v := range s.Enum.Values {
			str, ok := v.(string)
			if !ok {
				c.unsupported = true
				return n
			}
			n.enum = append(n.enum, str)
		}
	}
	if s.MinLength != nil {
		n.minLength = *s.MinLength
	}
	if s.MaxLength != nil {
		n.maxLength = *s.MaxLength
	}
	n.pattern = s.Pattern
	var ok bool
	if s.Minimum != nil {
		if n.min, ok = ratInt64(s.Minimum); !ok {
			c.unsupported = true
		}
		n.hasMin = true
	}
	if s.Maximum != nil {
		if n.max, ok = ratInt64(s.Maximum); !ok {
			c.unsupported = true
		}
		n.hasMax = true
	}
	n.required = s.Required
	if len(s.Properties) > 0 {
		n.properties = make(map[string]*quickNode, len(s.Properties))
		for name, ps := range s.Properties {
			n.properties[name] = c.node(ps)
		}
	}
	n.items = c.node(s.Items2020)
	n.ref = c.node(s.Ref)
	for _, a := range s.AllOf {
		n.allOf = append(n.allOf, c.node(a))
	}
	for _, a := range s.AnyOf {
		n.anyOf = append(n.anyOf, c.node(a))
	}
	return n
}

// quickSupported reports whether s asserts nothing beyond what quickNode
// holds. Annotations (title, description, $comment, default, examples, ...)
// and identifiers assert nothing and are allowed.
func quickSupported(s *jsonschema.Schema) bool {
	return s.RecursiveRef == nil && s.DynamicRef == nil && s.Const == nil && s.Not == nil &&
		len(s.OneOf) == 0 && s.If == nil && s.Then == nil && s.Else == nil && s.Format == nil &&
		s.MaxProperties == nil && s.MinProperties == nil && s.PropertyNames == nil &&
		len(s.PatternProperties) == 0 && s.AdditionalProperties == nil && len(s.Dependencies) == 0 &&
		len(s.DependentRequired) == 0 && len(s.DependentSchemas) == 0 && s.UnevaluatedProperties == nil &&
		s.MinItems == nil && s.MaxItems == nil && !s.UniqueItems && s.Contains == nil &&
		s.MinContains == nil && s.MaxContains == nil && s.Items == nil && s.AdditionalItems == nil &&
		len(s.PrefixItems) == 0 && s.UnevaluatedItems == nil &&
		s.ContentEncoding == nil && s.ContentMediaType == nil && s.ContentSchema == nil &&
		s.ExclusiveMaximum == nil && s.ExclusiveMinimum == nil && s.MultipleOf == nil &&
		len(s.Extensions) == 0
}

// ratInt64 is r as an int64, when it is a whole number that fits one.
func ratInt64(r *big.Rat) (int64, bool) {
	if !r.IsInt() || !r.Num().IsInt64() {
		return 0, false
	}
	return r.Num().Int64(), true
}

// maxQuickDepth bounds the quick check's recursion; a deeper payload goes
// to the library (the envelope's nesting limit keeps payloads far shallower).
const maxQuickDepth = 64

// valid reports whether v is valid under n, as far as the quick check can
// prove: false means "not proven", and the library decides.
func (n *quickNode) valid(v any, depth int) bool {
	if n == nil || n.always {
		return true
	}
	if n.never || depth > maxQuickDepth {
		return false
	}
	// An integer written as a plain int64 literal is the only number whose
	// kind and value the quick check reads itself; any other number (a
	// fraction, an exponent, one beyond 64 bits) goes to the library, which
	// decides with exact rationals.
	var kind quickTypes
	var num int64
	switch v := v.(type) {
	case nil:
		kind = quickNull
	case bool:
		kind = quickBoolean
	case string:
		kind = quickString
	case json.Number:
		i, err := strconv.ParseInt(string(v), 10, 64)
		if err != nil {
			if n.types&quickNumber == 0 || n.hasMin || n.hasMax || n.hasEnum || n.ref != nil || len(n.allOf) > 0 || len(n.anyOf) > 0 {
				return false
			}
			// A number the quick check cannot read, under a schema that
			// takes any number without bound and has no subschema that
			// could say more.
			return true
		}
		kind, num = quickInteger, i
	case []any:
		kind = quickArray
	case map[string]any:
		kind = quickObject
	default:
		return false
	}
	if n.types != 0 && n.types&kind == 0 && !(kind == quickInteger && n.types&quickNumber != 0) {
		return false
	}
	if n.hasEnum {
		str, ok := v.(string)
		if !ok || !slices.Contains(n.enum, str) {
			return false
		}
	}
	switch kind {
	case quickString:
		// A string has at most one rune per byte and at least one per four
		// bytes, which settles most bounds without counting (minLength
		// is -1 when absent).
		str := v.(string)
		if n.minLength > len(str) {
			return false
		}
		if n.pattern != nil && !n.pattern.MatchString(str) {
			return false
		}
		if n.minLength > (len(str)+3)/4 || n.maxLength >= 0 && len(str) > n.maxLength {
			runes := utf8.RuneCountInString(str)
			if runes < n.minLength || n.maxLength >= 0 && runes > n.maxLength {
				return false
			}
		}
	case quickInteger:
		if n.hasMin && num < n.min || n.hasMax && num > n.max {
			return false
		}
	case quickObject:
		obj := v.(map[string]any)
		for _, name := range n.required {
			if _, ok := obj[name]; !ok {
				return false
			}
		}
		if n.properties != nil {
			for name, e := range obj {
				if ps, ok := n.properties[name]; ok && !ps.valid(e, depth+1) {
					return false
				}
			}
		}
	case quickArray:
		if n.items != nil {
			for _, e := range v.([]any) {
				if !n.items.valid(e, depth+1) {
					return false
				}
			}
		}
	}
	if n.ref != nil && !n.ref.valid(v, depth+1) {
		return false
	}
	for _, a := range n.allOf {
		if !a.valid(v, depth+1) {
			return false
		}
	}
	if len(n.anyOf) > 0 {
		for _, a := range n.anyOf {
			if a.valid(v, depth+1) {
				return true
			}
		}
		return false
	}
	return true
}

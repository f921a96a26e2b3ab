// Package jsonvalue owns the one form in which the gateway keeps JSON-like
// data: objects as map[string]any, arrays as []any, whole numbers as int64
// and other numbers as float64, with strings, booleans and nil as they are.
// Payloads decoded with json.Number and documents read through the MongoDB
// driver (whose arrays are bson.A) are turned into that form here, so that
// what is written, what is cached and what is read back compare equal.
//
// It knows nothing of envelopes, incidents or stores.
package jsonvalue

import (
	"encoding/json"
	"math"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// Copy returns a deep copy of v in the kept form. It shares no map or slice
// with v, so the caller may keep the copy while v changes, or the reverse.
func Copy(v any) any { return kept(v, true) }

// Plain turns v into the kept form in place, reusing its maps and slices,
// and returns it (a changed value where v itself is not in the kept form,
// such as a number or a bson.A). It is for data nobody else holds, such as
// a document just decoded.
func Plain(v any) any { return kept(v, false) }

// kept converts v into the kept form, into fresh maps and slices when
// fresh is set and into v's own otherwise.
func kept(v any, fresh bool) any {
	switch v := v.(type) {
	case map[string]any:
		out := v
		if fresh || v == nil {
			out = make(map[string]any, len(v))
		}
		for k, e := range v {
			out[k] = kept(e, fresh)
		}
		return out
	case bson.A:
		return keptArray(v, fresh)
	case []any:
		return keptArray(v, fresh)
	case json.Number:
		return number(v)
	}
	return v
}

func keptArray(v []any, fresh bool) []any {
	out := v
	if fresh {
		out = make([]any, len(v))
	}
	for i, e := range v {
		out[i] = kept(e, fresh)
	}
	return out
}

// number is a JSON number literal in the kept form: int64 when it is an
// integer that fits, float64 otherwise, and the literal itself for the
// rare number beyond float64 (so that it is stored rather than refused).
func number(n json.Number) any {
	if i, err := n.Int64(); err == nil {
		return i
	}
	if f, err := n.Float64(); err == nil && !math.IsInf(f, 0) {
		return f
	}
	return n.String()
}

// Text is v as compact JSON, for messages that quote a value as it was
// sent.
func Text(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

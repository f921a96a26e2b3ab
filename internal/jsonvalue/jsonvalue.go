// Package jsonvalue owns the one form in which the gateway keeps JSON-like
// data: objects as map[string]any, arrays as []any, whole numbers as int64
// and other numbers as float64, with strings, booleans and nil as they are.
// Payloads decoded with json.Number and documents read through the MongoDB
// driver (whose arrays are bson.A) are turned into that form here, so that
// what is written, what is cached and what is read back compare equal. JSON
// text is read (Decode, DecodeKept) and written (AppendJSON) here too,
// without reflection, as encoding/json reads and writes it.
//
// It knows nothing of envelopes, incidents or stores.
package jsonvalue

import (
	"bytes"
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"sync"

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

// Buffer is an encoding buffer from a pool shared by callers that keep only
// a copy of what they encode (a string, a hash), so that each encoding
// does not grow a fresh buffer step by step. Release gives it back.
type Buffer struct{ B []byte }

var buffers = sync.Pool{New: func() any { return &Buffer{B: make([]byte, 0, 4096)} }}

// maxPooled is the largest buffer Release keeps: one grown by a rare,
// large value is left to the garbage collector.
const maxPooled = 64 << 10

// GetBuffer returns an empty Buffer.
func GetBuffer() *Buffer {
	b := buffers.Get().(*Buffer)
	b.B = b.B[:0]
	return b
}

// Release gives b back to the pool; b must not be used after.
func (b *Buffer) Release() {
	if b.B != nil && cap(b.B) <= maxPooled {
		buffers.Put(b)
	}
}

// AppendJSON appends v's JSON text to dst, as an encoding/json Encoder with
// HTML escaping off writes it (object keys in sorted order), without
// reflection for the kept form and json.Number; values of other types,
// and strings that need escaping, are encoded by encoding/json itself, so
// the text is always what it would write.
func AppendJSON(dst []byte, v any) ([]byte, error) { return appendJSON(dst, v, false) }

// AppendMarshalled is AppendJSON with HTML escaping on: what json.Marshal
// writes.
func AppendMarshalled(dst []byte, v any) ([]byte, error) { return appendJSON(dst, v, true) }

func appendJSON(dst []byte, v any, html bool) ([]byte, error) {
	switch v := v.(type) {
	case map[string]any:
		if v == nil {
			return append(dst, "null"...), nil
		}
		// Most objects have few keys: sort them in an array on the stack.
		var few [32]string
		keys := few[:0]
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		dst = append(dst, '{')
		for i, k := range keys {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendString(dst, k, html)
			dst = append(dst, ':')
			var err error
			if dst, err = appendJSON(dst, v[k], html); err != nil {
				return nil, err
			}
		}
		return append(dst, '}'), nil
	case []any:
		if v == nil {
			return append(dst, "null"...), nil
		}
		dst = append(dst, '[')
		for i, e := range v {
			if i > 0 {
				dst = append(dst, ',')
			}
			var err error
			if dst, err = appendJSON(dst, e, html); err != nil {
				return nil, err
			}
		}
		return append(dst, ']'), nil
	case string:
		return appendString(dst, v, html), nil
	case int64:
		return strconv.AppendInt(dst, v, 10), nil
	case bool:
		return strconv.AppendBool(dst, v), nil
	case nil:
		return append(dst, "null"...), nil
	case json.Number:
		if wholeNumber(string(v)) {
			return append(dst, v...), nil
		}
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(html)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return append(dst, bytes.TrimSuffix(b.Bytes(), []byte("\n"))...), nil
}

// wholeNumber reports whether s is a JSON integer literal, which
// encoding/json writes as it is.
func wholeNumber(s string) bool {
	if s != "" && s[0] == '-' {
		s = s[1:]
	}
	if s == "" || s[0] == '0' && len(s) > 1 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// appendString appends s quoted: as it is when no byte of it needs an
// escape (printable ASCII other than '"' and '\', and, with html, other
// than '<', '>' and '&'), by encoding/json otherwise.
func appendString(dst []byte, s string, html bool) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= 0x80 || html && (c == '<' || c == '>' || c == '&') {
			b, _ := appendJSON(nil, struct{ S string }{s}, html) // encoding/json's escapes
			return append(dst, b[len(`{"S":`):len(b)-1]...)
		}
	}
	dst = append(dst, '"')
	dst = append(dst, s...)
	return append(dst, '"')
}

// AppendMarshalledString appends s quoted as json.Marshal quotes it.
func AppendMarshalledString(dst []byte, s string) []byte { return appendString(dst, s, true) }

// AppendEscapedText appends compact JSON text with the escapes json.Marshal
// adds when it copies text (a json.RawMessage): '<', '>' and '&', and the
// line and paragraph separators U+2028 and U+2029, each as \uXXXX. It
// leaves the text as it is otherwise, so it is for text already compact.
func AppendEscapedText(dst, text []byte) []byte {
	const hex = "0123456789abcdef"
	start := 0
	for i := 0; i < len(text); i++ {
		switch c := text[i]; {
		case c == '<' || c == '>' || c == '&':
			dst = append(append(dst, text[start:i]...), '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			start = i + 1
		case c == 0xE2 && i+2 < len(text) && text[i+1] == 0x80 && text[i+2]&^1 == 0xA8:
			dst = append(append(dst, text[start:i]...), '\\', 'u', '2', '0', '2', hex[text[i+2]&0xF])
			i += 2
			start = i + 1
		}
	}
	return append(dst, text[start:]...)
}

package jsonvalue

import (
	"encoding/json"
	"errors"
	"io"
	"strings"
	"unicode/utf8"
)

// Decode parses text into the values an encoding/json Decoder with
// UseNumber gives (objects as map[string]any, arrays as []any, numbers as
// json.Number, strings, booleans and nil), without reflection: the
// decoder's own way costs several times as much. ok is false for text that
// is not exactly one well-formed JSON value, and for the rare text it
// leaves to encoding/json (strings with escapes or bytes that are not
// UTF-8); the caller then decodes it with encoding/json, which also says
// what is wrong. Its recursion follows the text's nesting, so the depth of
// text from outside must be bounded first.
func Decode(text []byte) (v any, ok bool) { return decode(text, false) }

// DecodeKept is Decode with every value in the kept form (Plain of what
// Decode gives): the way back from text this package wrote (AppendJSON).
func DecodeKept(text []byte) (v any, ok bool) { return decode(text, true) }

func decode(text []byte, kept bool) (v any, ok bool) {
	d := jsonDecoder{b: text, kept: kept}
	d.space()
	if v, ok = d.value(); !ok {
		return nil, false
	}
	d.space()
	return v, d.i == len(d.b)
}

type jsonDecoder struct {
	b []byte
	i int
	// kept selects the kept form for numbers (int64 or float64, see
	// number) instead of json.Number.
	kept bool
}

func (d *jsonDecoder) space() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

func (d *jsonDecoder) value() (any, bool) {
	if d.i >= len(d.b) {
		return nil, false
	}
	switch c := d.b[d.i]; {
	case c == '{':
		return d.object()
	case c == '[':
		return d.array()
	case c == '"':
		s, ok := d.text()
		return s, ok
	case c == '-' || c >= '0' && c <= '9':
		return d.number()
	case c == 't':
		return true, d.literal("true")
	case c == 'f':
		return false, d.literal("false")
	case c == 'n':
		return nil, d.literal("null")
	}
	return nil, false
}

func (d *jsonDecoder) literal(word string) bool {
	if len(d.b)-d.i < len(word) || string(d.b[d.i:d.i+len(word)]) != word {
		return false
	}
	d.i += len(word)
	return true
}

func (d *jsonDecoder) object() (any, bool) {
	m := map[string]any{}
	ok := d.elements('}', func() bool {
		if d.i >= len(d.b) || d.b[d.i] != '"' {
			return false
		}
		k, ok := d.text()
		if !ok {
			return false
		}
		d.space()
		if d.i >= len(d.b) || d.b[d.i] != ':' {
			return false
		}
		d.i++
		d.space()
		v, ok := d.value()
		m[k] = v // a later duplicate wins, as in encoding/json
		return ok
	})
	return m, ok
}

func (d *jsonDecoder) array() (any, bool) {
	a := []any{}
	ok := d.elements(']', func() bool {
		v, ok := d.value()
		a = append(a, v)
		return ok
	})
	return a, ok
}

// elements reads the members of an object or the elements of an array,
// from its opening bracket to close, each with element, which starts at
// the member's first byte.
func (d *jsonDecoder) elements(close byte, element func() bool) bool {
	d.i++ // the opening bracket
	d.space()
	if d.i < len(d.b) && d.b[d.i] == close {
		d.i++
		return true
	}
	for {
		d.space()
		if !element() {
			return false
		}
		d.space()
		if d.i >= len(d.b) {
			return false
		}
		switch d.b[d.i] {
		case ',':
			d.i++
		case close:
			d.i++
			return true
		default:
			return false
		}
	}
}

// text reads a string without escapes whose bytes are UTF-8; any other
// string is left to encoding/json (ok false).
func (d *jsonDecoder) text() (string, bool) {
	start := d.i + 1
	ascii := true
	for j := start; j < len(d.b); j++ {
		switch c := d.b[j]; {
		case c == '"':
			raw := d.b[start:j]
			if !ascii && !utf8.Valid(raw) {
				return "", false
			}
			d.i = j + 1
			return string(raw), true
		case c == '\\' || c < 0x20:
			return "", false
		case c >= 0x80:
			ascii = false
		}
	}
	return "", false
}

// number reads a number by JSON's grammar: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
func (d *jsonDecoder) number() (any, bool) {
	start := d.i
	if d.b[d.i] == '-' {
		d.i++
	}
	switch {
	case d.i < len(d.b) && d.b[d.i] == '0':
		d.i++
	case d.digits() == 0:
		return nil, false
	}
	if d.i < len(d.b) && d.b[d.i] == '.' {
		d.i++
		if d.digits() == 0 {
			return nil, false
		}
	}
	if d.i < len(d.b) && (d.b[d.i] == 'e' || d.b[d.i] == 'E') {
		d.i++
		if d.i < len(d.b) && (d.b[d.i] == '+' || d.b[d.i] == '-') {
			d.i++
		}
		if d.digits() == 0 {
			return nil, false
		}
	}
	if d.kept {
		return number(json.Number(d.b[start:d.i])), true
	}
	return json.Number(d.b[start:d.i]), true
}

func (d *jsonDecoder) digits() int {
	n := 0
	for d.i < len(d.b) && d.b[d.i] >= '0' && d.b[d.i] <= '9' {
		d.i++
		n++
	}
	return n
}

// DecodeObject decodes the text of a JSON object into the kept form: with
// DecodeKept, or with encoding/json for the text DecodeKept leaves to it.
// null decodes as an empty object.
func DecodeObject(text string) (map[string]any, error) {
	if v, ok := DecodeKept([]byte(text)); ok {
		if m, ok := v.(map[string]any); ok {
			return m, nil
		}
	}
	var m map[string]any
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("data after the JSON object")
	}
	if m == nil {
		return map[string]any{}, nil
	}
	return Plain(m).(map[string]any), nil
}

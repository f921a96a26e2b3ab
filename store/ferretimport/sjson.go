package ferretimport

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// FerretDB v1.24 keeps each document of its SQLite backend as one JSON
// object, "SJSON": the document's fields as plain JSON, plus a "$s" field
// holding the schema that gives each value its BSON type, which plain JSON
// cannot carry (a long, an int and a double are all JSON numbers, a date is
// a number of milliseconds, binary data is base64 text):
//
//	{"$s": {"p": {"_id": {"t": "string"}, "n": {"t": "long"}}, "$k": ["_id", "n"]},
//	 "_id": "a", "n": 1}
//
// "p" maps each field to its element schema, "$k" keeps the fields' order.
// An element's "t" is one of the type names below; an object has its own
// "$s", an array one element schema per item in "i", binary data its
// subtype in "s", a regular expression its options in "o". A JSON null is
// null whatever the schema says.

// sjsonSchema is the schema of one document.
type sjsonSchema struct {
	Properties map[string]*sjsonElem `json:"p"`
	Keys       []string              `json:"$k"`
}

// sjsonElem is the schema of one value.
type sjsonElem struct {
	Type    string       `json:"t"`
	Schema  *sjsonSchema `json:"$s"`
	Items   []*sjsonElem `json:"i"`
	Subtype *int         `json:"s"`
	Options *string      `json:"o"`
}

// decodeSJSON decodes one stored document into Go values: objects as
// map[string]any, arrays as []any, long and int as int64, double as
// float64, date as a time.Time in UTC, binary data as []byte, objectId as
// its hex string (as the FerretDB-era gateway read it), timestamp as
// int64, regular expressions as "/pattern/options", null as nil.
func decodeSJSON(raw []byte) (map[string]any, error) {
	fields, err := objectFields(raw)
	if err != nil {
		return nil, err
	}
	rawSchema, ok := fields["$s"]
	if !ok {
		return nil, errors.New("no $s schema")
	}
	delete(fields, "$s")
	var sch sjsonSchema
	dec := json.NewDecoder(bytes.NewReader(rawSchema))
	dec.DisallowUnknownFields() // as FerretDB reads it: another field is another format
	if err := dec.Decode(&sch); err != nil {
		return nil, fmt.Errorf("$s schema: %w", err)
	}
	return decodeObject(fields, &sch, "")
}

// objectFields splits a JSON object into its fields, refusing anything else
// and any text after it.
func objectFields(raw []byte) (map[string]json.RawMessage, error) {
	var fields map[string]json.RawMessage
	if err := strictUnmarshal(raw, &fields); err != nil {
		return nil, err
	}
	if fields == nil {
		return nil, errors.New("not a JSON object")
	}
	return fields, nil
}

// strictUnmarshal is json.Unmarshal, which refuses any text after the
// value.
func strictUnmarshal(raw []byte, v any) error { return json.Unmarshal(raw, v) }

func decodeObject(fields map[string]json.RawMessage, sch *sjsonSchema, path string) (map[string]any, error) {
	if len(sch.Keys) != len(fields) {
		return nil, fmt.Errorf("%s: the schema names %d fields, the document has %d", pathOr(path), len(sch.Keys), len(fields))
	}
	out := make(map[string]any, len(fields))
	for _, k := range sch.Keys {
		raw, ok := fields[k]
		if !ok {
			return nil, fmt.Errorf("%s: field %q of the schema is missing", pathOr(path), k)
		}
		v, err := decodeValue(raw, sch.Properties[k], join(path, k))
		if err != nil {
			return nil, err
		}
		out[k] = v
	}
	return out, nil
}

func decodeValue(raw json.RawMessage, el *sjsonElem, path string) (any, error) {
	if string(raw) == "null" {
		return nil, nil
	}
	if el == nil {
		return nil, fmt.Errorf("%s: no schema", path)
	}
	bad := func(err error) (any, error) {
		return nil, fmt.Errorf("%s: not a valid %s: %w", path, el.Type, err)
	}
	switch el.Type {
	case "object":
		if el.Schema == nil {
			return nil, fmt.Errorf("%s: object without a schema", path)
		}
		fields, err := objectFields(raw)
		if err != nil {
			return bad(err)
		}
		return decodeObject(fields, el.Schema, path)
	case "array":
		var items []json.RawMessage
		if err := strictUnmarshal(raw, &items); err != nil {
			return bad(err)
		}
		if len(items) != len(el.Items) {
			return nil, fmt.Errorf("%s: the schema has %d items, the array %d", path, len(el.Items), len(items))
		}
		out := make([]any, len(items))
		for i, item := range items {
			v, err := decodeValue(item, el.Items[i], path+"."+strconv.Itoa(i))
			if err != nil {
				return nil, err
			}
			out[i] = v
		}
		return out, nil
	case "double":
		f, err := strconv.ParseFloat(string(raw), 64)
		if err != nil {
			return bad(err)
		}
		return f, nil
	case "long", "int":
		n, err := strconv.ParseInt(string(raw), 10, 64)
		if err != nil {
			return bad(err)
		}
		return n, nil
	case "timestamp":
		n, err := strconv.ParseUint(string(raw), 10, 64)
		if err != nil {
			return bad(err)
		}
		return int64(n), nil
	case "string":
		var s string
		if err := strictUnmarshal(raw, &s); err != nil {
			return bad(err)
		}
		return s, nil
	case "bool":
		var b bool
		if err := strictUnmarshal(raw, &b); err != nil {
			return bad(err)
		}
		return b, nil
	case "date":
		ms, err := strconv.ParseInt(string(raw), 10, 64)
		if err != nil {
			return bad(err)
		}
		return msTime(ms), nil
	case "binData":
		var s string
		if err := strictUnmarshal(raw, &s); err != nil {
			return bad(err)
		}
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return bad(err)
		}
		return b, nil
	case "objectId":
		var s string
		if err := strictUnmarshal(raw, &s); err != nil {
			return bad(err)
		}
		if b, err := hex.DecodeString(s); err != nil || len(b) != 12 {
			return bad(fmt.Errorf("%q is not 12 bytes in hex", s))
		}
		return s, nil
	case "regex":
		var s string
		if err := strictUnmarshal(raw, &s); err != nil {
			return bad(err)
		}
		opts := ""
		if el.Options != nil {
			opts = *el.Options
		}
		return "/" + s + "/" + opts, nil
	case "null":
		return nil, fmt.Errorf("%s: null in the schema, %.40s in the document", path, raw)
	}
	return nil, fmt.Errorf("%s: unknown type %q in the schema", path, el.Type)
}

// zeroDateMillis is the zero time.Time as a BSON date: what the old
// gateway stored for a time it never set (a user never disabled).
var zeroDateMillis = time.Time{}.UnixMilli()

// msTime is a BSON date as a time.Time in UTC; the zero time.Time stays
// the zero time.Time, so that IsZero and == both hold.
func msTime(ms int64) time.Time {
	if ms == zeroDateMillis {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

func join(path, k string) string {
	if path == "" {
		return k
	}
	return path + "." + k
}

func pathOr(path string) string {
	if path == "" {
		return "the document"
	}
	return path
}

func base64String(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

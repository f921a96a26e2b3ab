package ferretimport

import (
	"fmt"
	"math"
	"time"
)

// fields reads typed fields out of a decoded document (decodeSJSON),
// keeping the first type mismatch as its error: a missing field or a null
// reads as the zero value, as the old gateway's BSON decoding had it.
type fields struct {
	m     map[string]any
	where string
	err   error
}

func (f *fields) fail(key string, v any, want string) {
	if f.err == nil {
		f.err = fmt.Errorf("%s: field %q is %s, want %s", f.where, key, describe(v), want)
	}
}

func describe(v any) string {
	switch v.(type) {
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case string:
		return "a string"
	case int64:
		return "an integer"
	case float64:
		return "a double"
	case bool:
		return "a boolean"
	case time.Time:
		return "a date"
	case []byte:
		return "binary data"
	}
	return fmt.Sprintf("%T", v)
}

func (f *fields) str(key string) string {
	switch v := f.m[key].(type) {
	case nil:
		return ""
	case string:
		return v
	default:
		f.fail(key, v, "a string")
		return ""
	}
}

// int64 reads a whole number: a long or int, or a double with no fraction
// (as BSON decoding into an int64 accepts).
func (f *fields) int64(key string) int64 {
	n, ok := toInt64(f.m[key])
	if !ok {
		f.fail(key, f.m[key], "an integer")
	}
	return n
}

func toInt64(v any) (int64, bool) {
	switch v := v.(type) {
	case nil:
		return 0, true
	case int64:
		return v, true
	case float64:
		if v == math.Trunc(v) && v >= math.MinInt64 && v < math.MaxInt64 {
			return int64(v), true
		}
	}
	return 0, false
}

func (f *fields) int(key string) int {
	n := f.int64(key)
	if n != int64(int(n)) {
		f.fail(key, f.m[key], "an int")
	}
	return int(n)
}

func (f *fields) bool(key string) bool {
	switch v := f.m[key].(type) {
	case nil:
		return false
	case bool:
		return v
	default:
		f.fail(key, v, "a boolean")
		return false
	}
}

func (f *fields) time(key string) time.Time {
	switch v := f.m[key].(type) {
	case nil:
		return time.Time{}
	case time.Time:
		return v
	default:
		f.fail(key, v, "a date")
		return time.Time{}
	}
}

func (f *fields) bytes(key string) []byte {
	switch v := f.m[key].(type) {
	case nil:
		return nil
	case []byte:
		return v
	default:
		f.fail(key, v, "binary data")
		return nil
	}
}

func (f *fields) strings(key string) []string {
	switch v := f.m[key].(type) {
	case nil:
		return nil
	case []any:
		out := make([]string, len(v))
		for i, e := range v {
			s, ok := e.(string)
			if !ok {
				f.fail(key, v, "an array of strings")
				return nil
			}
			out[i] = s
		}
		return out
	default:
		f.fail(key, v, "an array of strings")
		return nil
	}
}

// object reads a free-form object, in the form the gateway keeps JSON data
// in (plain).
func (f *fields) object(key string) map[string]any {
	switch v := f.m[key].(type) {
	case nil:
		return nil
	case map[string]any:
		return plain(v).(map[string]any)
	default:
		f.fail(key, v, "an object")
		return nil
	}
}

// objects reads an array of objects.
func (f *fields) objects(key string) []map[string]any {
	switch v := f.m[key].(type) {
	case nil:
		return nil
	case []any:
		out := make([]map[string]any, len(v))
		for i, e := range v {
			m, ok := e.(map[string]any)
			if !ok {
				f.fail(key, v, "an array of objects")
				return nil
			}
			out[i] = m
		}
		return out
	default:
		f.fail(key, v, "an array of objects")
		return nil
	}
}

// sub reads an object as fields of its own.
func (f *fields) sub(key string) *fields {
	sub := &fields{where: f.where + " " + key}
	switch v := f.m[key].(type) {
	case nil:
	case map[string]any:
		sub.m = v
	default:
		f.fail(key, v, "an object")
	}
	return sub
}

// plain turns decoded values into the form the gateway keeps JSON data in
// (internal/jsonvalue): objects, arrays, int64, float64, strings, booleans
// and nil. What JSON has no value for, and no payload can have made, is
// written as the gateway writes such values elsewhere: a date as epoch
// milliseconds, binary data as its bytes' base64 text.
func plain(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			v[k] = plain(e)
		}
		return v
	case []any:
		for i, e := range v {
			v[i] = plain(e)
		}
		return v
	case time.Time:
		return v.UnixMilli()
	case []byte:
		return base64String(v)
	}
	return v
}

package ferretimport

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestDecodeSJSON(t *testing.T) {
	t.Parallel()
	doc := `{"$s":{"p":{"_id":{"t":"string"},"l":{"t":"long"},"i":{"t":"int"},"d":{"t":"double"},"w":{"t":"double"},
		"at":{"t":"date"},"zero":{"t":"date"},"b":{"t":"binData","s":0},"o":{"t":"objectId"},"t":{"t":"bool"},"n":{"t":"null"},
		"ts":{"t":"timestamp"},"re":{"t":"regex","o":"i"},
		"obj":{"t":"object","$s":{"p":{"x":{"t":"long"},"e":{"t":"object","$s":{}}},"$k":["x","e"]}},
		"arr":{"t":"array","i":[{"t":"int"},{"t":"string"},{"t":"array","i":[]}]}},
		"$k":["_id","l","i","d","w","at","zero","b","o","t","n","ts","re","obj","arr"]},
		"_id":"a","l":9007199254740993,"i":-7,"d":2.5,"w":3,"at":1741064767123,"zero":-62135596800000,"b":"AAEC/w==",
		"o":"0123456789abcdef01234567","t":true,"n":null,"ts":42,"re":"^a","obj":{"x":1,"e":{}},"arr":[1,"two",[]]}`
	got, err := decodeSJSON([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"_id": "a", "l": int64(9007199254740993), "i": int64(-7), "d": 2.5, "w": 3.0,
		"at": time.UnixMilli(1741064767123).UTC(), "zero": time.Time{}, "b": []byte{0, 1, 2, 255},
		"o": "0123456789abcdef01234567", "t": true, "n": nil, "ts": int64(42), "re": "/^a/i",
		"obj": map[string]any{"x": int64(1), "e": map[string]any{}},
		"arr": []any{int64(1), "two", []any{}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("decoded\n %#v\nwant\n %#v", got, want)
	}
	if got["at"].(time.Time).Location() != time.UTC {
		t.Error("a date is not in UTC")
	}
}

func TestDecodeSJSONRefuses(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ doc, want string }{
		{`[]`, "cannot unmarshal array"},
		{`{"_id":"a"}`, "no $s schema"},
		{`{"$s":{"p":{},"$k":[]},"_id":"a"}`, "the schema names 0 fields, the document has 1"},
		{`{"$s":{"p":{"a":{"t":"string"}},"$k":["b"]},"a":"x"}`, `field "b" of the schema is missing`},
		{`{"$s":{"p":{},"$k":["a"]},"a":"x"}`, "a: no schema"},
		{`{"$s":{"p":{"a":{"t":"long"}},"$k":["a"]},"a":1.5}`, "a: not a valid long"},
		{`{"$s":{"p":{"a":{"t":"int"}},"$k":["a"]},"a":"1"}`, "a: not a valid int"},
		{`{"$s":{"p":{"a":{"t":"double"}},"$k":["a"]},"a":"x"}`, "a: not a valid double"},
		{`{"$s":{"p":{"a":{"t":"date"}},"$k":["a"]},"a":true}`, "a: not a valid date"},
		{`{"$s":{"p":{"a":{"t":"binData","s":0}},"$k":["a"]},"a":"!!"}`, "a: not a valid binData"},
		{`{"$s":{"p":{"a":{"t":"objectId"}},"$k":["a"]},"a":"abc"}`, "a: not a valid objectId"},
		{`{"$s":{"p":{"a":{"t":"bool"}},"$k":["a"]},"a":1}`, "a: not a valid bool"},
		{`{"$s":{"p":{"a":{"t":"string"}},"$k":["a"]},"a":1}`, "a: not a valid string"},
		{`{"$s":{"p":{"a":{"t":"null"}},"$k":["a"]},"a":1}`, "a: null in the schema"},
		{`{"$s":{"p":{"a":{"t":"decimal"}},"$k":["a"]},"a":1}`, `a: unknown type "decimal"`},
		{`{"$s":{"p":{"a":{"t":"object"}},"$k":["a"]},"a":{}}`, "a: object without a schema"},
		{`{"$s":{"p":{"a":{"t":"object","$s":{}}},"$k":["a"]},"a":[]}`, "a: not a valid object"},
		{`{"$s":{"p":{"a":{"t":"array","i":[]}},"$k":["a"]},"a":[1]}`, "a: the schema has 0 items, the array 1"},
		{`{"$s":{"p":{"a":{"t":"array","i":[{"t":"long"}]}},"$k":["a"]},"a":["x"]}`, "a.0: not a valid long"},
		{`{"$s":{"p":{"a":{"t":"object","$s":{"p":{"b":{"t":"bool"}},"$k":["b"]}}},"$k":["a"]},"a":{"b":"x"}}`, "a.b: not a valid bool"},
		{`{"$s":{"p":{},"$k":[]}} {}`, "after top-level value"},
		{`{"$s":{"p":{},"$k":[],"extra":1}}`, "$s schema"},
		{`{"$s":`, "unexpected end of JSON input"},
	} {
		_, err := decodeSJSON([]byte(c.doc))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one saying %q", c.doc, err, c.want)
		}
	}
}

// FuzzDecodeSJSON checks that no stored text makes the decoder panic.
func FuzzDecodeSJSON(f *testing.F) {
	f.Add(`{"$s":{"p":{"_id":{"t":"string"},"a":{"t":"array","i":[{"t":"object","$s":{"p":{"x":{"t":"date"}},"$k":["x"]}}]}},"$k":["_id","a"]},"_id":"k","a":[{"x":5}]}`)
	f.Add(`{"$s":{"p":{"b":{"t":"binData"}},"$k":["b"]},"b":"AA=="}`)
	f.Add(`{"$s":{"p":{"a":{"t":"array"}},"$k":["a"]},"a":[null,1]}`)
	f.Fuzz(func(t *testing.T, doc string) {
		_, _ = decodeSJSON([]byte(doc))
	})
}

package envelope

import (
	"os"
	"path/filepath"
	"testing"
)

// decodeJSON decodes what encoding/json decodes, the same, and leaves to
// it what it does not: every published sample and the texts at JSON's
// edges.
func TestDecodeJSONIsEncodingJSON(t *testing.T) {
	t.Parallel()
	samples, err := filepath.Glob(filepath.Join("..", "examples", "scwm-samples", "*", "*.json"))
	if err != nil || len(samples) == 0 {
		t.Fatalf("no samples (%v)", err)
	}
	decoded := 0
	for _, p := range samples {
		body, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		checkDecodeJSON(t, body)
		if _, ok := decodeJSON(body); ok {
			decoded++
		}
	}
	if decoded < len(samples)/2 {
		t.Errorf("decodeJSON decoded %d of %d samples itself: the fast path is not taken", decoded, len(samples))
	}
	for _, text := range []string{
		`{}`, `[]`, ` {"a" : [ 1 , -0 , 0.5 , 1e3 , -1.5E-2 , true , false , null , "x" ] } `, `"caf\u00e9"`, "\"caf\u00e9\"",
		`{"a":1,"a":2}`, `{"a":{"b":{"c":[[],[{}]]}}}`, `0`, `-`, `01`, `1.`, `.5`, `1e`, `1e+`, `+1`, `--1`, `tru`, `nul`, `falsey`,
		`{"a":1,}`, `[1,]`, `{"a" 1}`, `{,}`, `[1 2]`, `{"a":1} x`, `{"a":1}{}`, "\"tab\there\"", "\"\x01\"", `"\ud800"`, `"a\"b"`,
		"\"\xff\"", `{"k\u0000":1}`, "", " ", `{"a":"b"`, `[`, `"`,
	} {
		checkDecodeJSON(t, []byte(text))
	}
	for _, text := range []string{`{"a":1}`, `[1,"x",{"b":null}]`, ` 12.5e-3 `} {
		if _, ok := decodeJSON([]byte(text)); !ok {
			t.Errorf("decodeJSON left %s to encoding/json", text)
		}
	}
	for _, text := range []string{`01`, `1.`, `{"a":1,}`, `[1 2]`, `{"a":1} x`, "\"\x01\"", `"a\"b"`} {
		if _, ok := decodeJSON([]byte(text)); ok {
			t.Errorf("decodeJSON decoded %q itself", text)
		}
	}
}

package envelope

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"
	"unicode/utf8"
)

// fuzzLimits are small enough for the fuzzer to cross every limit often.
var fuzzLimits = Limits{MaxDepth: 5, MaxStringLen: 24, MaxArrayLen: 4, MaxKeys: 8, MaxNumberLen: 12}

// FuzzParseRequest: no body panics ParseRequest; it answers a Request with
// object header and payload, or a MalformedEnvelope error. Under small limits,
// what is accepted is within them, and what is within them (checked on the
// decoded value, independently of the byte scan) is accepted.
//
//	go test ./envelope -run '^$' -fuzz '^FuzzParseRequest$' -fuzztime 60s
func FuzzParseRequest(f *testing.F) {
	root := filepath.Join("..", "examples", "scwm-samples")
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		raw, err := os.ReadFile(p)
		if err == nil {
			f.Add(raw)
		}
		return err
	})
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{
		``, `null`, `[]`, `"x"`, `{}`, `{"header":{},"payload":{}}`, `{"header":{},"payload":{}} {}`,
		`{"header":{"a":1,"a":2},"payload":{}}`, `{"header":{"\u0061":1,"a":2},"payload":{}}`, `{"header":{"a":1,"\u0061":2},"payload":{}}`,
		`{"header":{},"payload":{"n":1e999999,"m":-1e-999999,"z":0e99999}}`,
		`{"header":{},"payload":{"a":[[[[[[[[[[]]]]]]]]]]}}`, `{"header":{},"payload":{"a":[1,2,3,4,5,6]}}`,
		`{"header":{},"payload":{"s":"0123456789012345678901234567890","\ud800":"\"\\"}}`,
		`{"header":[],"payload":"x"}`, `{"header":{}`, "{\"header\":{},\"payload\":{\"s\":\"\xff\"}}",
		"{\"header\":{},\"payload\":{\"s\":\"a\x00b\"}}", `[[[[[[[[[[[[[[[[[[[[`, `]]]]`, `{"a":"\`,
		// At fuzzLimits and one past them.
		`{"header":{},"payload":{"a":[[[]]]}}`, `{"header":{},"payload":{"a":[[[[]]]]}}`,
		`{"header":{},"payload":{"a":[1,2,3,4]}}`, `{"header":{},"payload":{"a":[1,2,3,4,5]}}`,
		`{"header":{},"payload":{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7}}`,
		`{"header":{},"payload":{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7,"h":8}}`,
		`{"header":{},"payload":{"s":"012345678901234567890123"}}`, `{"header":{},"payload":{"s":"0123456789012345678901234"}}`,
		`{"header":{},"payload":{"n":123456789012,"m":1234567890123}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		checkDecodeJSON(t, body)
		req, err := ParseRequest(body)
		checkParseOutcome(t, body, req, err)

		small, serr := ParseRequestLimits(body, fuzzLimits)
		checkParseOutcome(t, body, small, serr)
		if serr == nil {
			if err != nil {
				t.Fatalf("accepted under small limits, refused under the default ones: %v", err)
			}
			if problem := exceeds(body, fuzzLimits); problem != "" {
				t.Fatalf("accepted, but %s", problem)
			}
		} else if err == nil && exceeds(body, fuzzLimits) == "" {
			t.Fatalf("refused %v, but the body is within the limits", serr)
		}
	})
}

func checkParseOutcome(t *testing.T, body []byte, req *Request, err error) {
	t.Helper()
	if req == nil {
		t.Fatalf("nil Request (error %v)", err)
	}
	if err != nil {
		var e *Error
		if !errors.As(err, &e) || e.Kind != KindMalformedEnvelope || e.Message == "" {
			t.Fatalf("error %v (%T) is not a MalformedEnvelope error", err, err)
		}
		return
	}
	if req.rawHeader == nil || req.Payload == nil {
		t.Fatalf("accepted without header or payload object: %+v", req)
	}
	if !json.Valid(body) {
		t.Fatalf("accepted a body that is not JSON")
	}
}

// exceeds checks body against l token by token, independently of
// checkLimits, and says how it exceeds them ("" if it does not).
func exceeds(body []byte, l Limits) string {
	if !utf8.Valid(body) {
		return "it is not UTF-8"
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	type frame struct {
		object  bool
		wantKey bool
		n       int
		keys    map[string]bool
	}
	var stack []*frame
	for {
		from := dec.InputOffset() // where the previous token ended
		tok, err := dec.Token()
		if err == io.EOF {
			return ""
		}
		if err != nil {
			return "" // not JSON: nothing to compare with
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		isKey := top != nil && top.object && top.wantKey
		if top != nil {
			switch {
			case tok == json.Delim('}') || tok == json.Delim(']'):
			case top.object && top.wantKey:
				top.n++
				top.wantKey = false
			case top.object:
				top.wantKey = true
			default:
				top.n++
			}
		}
		switch v := tok.(type) {
		case json.Delim:
			switch v {
			case '{', '[':
				stack = append(stack, &frame{object: v == '{', wantKey: true, keys: map[string]bool{}})
				if len(stack) > l.MaxDepth {
					return "it nests " + strconv.Itoa(len(stack)) + " deep"
				}
			default:
				if top.object && top.n > l.MaxKeys || !top.object && top.n > l.MaxArrayLen {
					return "a container has " + strconv.Itoa(top.n) + " entries"
				}
				stack = stack[:len(stack)-1]
				if len(stack) > 0 && stack[len(stack)-1].object {
					stack[len(stack)-1].wantKey = true
				}
			}
		case string:
			// Strings are limited as sent: from the opening quote, the
			// first after the previous token, to the end of this one.
			if n := dec.InputOffset() - int64(bytes.IndexByte(body[from:], '"')) - from - 2; n > int64(l.MaxStringLen) {
				return strconv.Quote(v) + " is " + strconv.FormatInt(n, 10) + " bytes long as sent"
			}
			if isKey {
				if top.keys[v] {
					return "key " + strconv.Quote(v) + " is repeated"
				}
				top.keys[v] = true
			}
		case json.Number:
			if len(v) > l.MaxNumberLen {
				return "number " + string(v) + " is too long"
			}
			f, err := strconv.ParseFloat(string(v), 64)
			if err != nil {
				return "number " + string(v) + " does not fit a float64"
			}
			if f == 0 && bytes.ContainsAny(mantissa([]byte(v)), "123456789") {
				return "number " + string(v) + " underflows"
			}
		}
	}
}

// checkDecodeJSON checks decodeJSON against encoding/json on body: what it
// decodes, encoding/json decodes to the same value; what it leaves,
// ParseRequest leaves to encoding/json. (Bodies past the limits are not
// given to it; a deep one would only cost recursion here.)
func checkDecodeJSON(t *testing.T, body []byte) {
	t.Helper()
	if checkLimits(body, Limits{}.withDefaults()) != nil {
		return
	}
	got, ok := decodeJSON(body)
	if !ok {
		return
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var want any
	if err := dec.Decode(&want); err != nil {
		t.Fatalf("decodeJSON decoded %q, which encoding/json refuses: %v", body, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		t.Fatalf("decodeJSON decoded %q, which has data after its value", body)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("decodeJSON(%q) = %#v, encoding/json gives %#v", body, got, want)
	}
}

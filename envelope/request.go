package envelope

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
)

// RequestHeader is the header of a request envelope, as sent.
type RequestHeader struct {
	HeaderVersion    int
	EventName        string
	OwnerID          string
	ProcessNetworkID string
	AppName          string
	Dataspace        string
	// IdempotencyKey is header.idempotencyKey, an alternative to the
	// Idempotency-Key HTTP header.
	IdempotencyKey string
}

// Request is a request envelope that passed the structural checks: the body is
// one JSON object whose header and payload are objects. Its header fields are
// not yet validated; see Validate.
type Request struct {
	Header RequestHeader
	// Event is the parsed header.eventName; its zero value means the name was
	// missing or could not be parsed.
	Event EventName
	// Payload is the payload object, numbers kept as json.Number.
	Payload map[string]any

	rawHeader map[string]any
}

// Limits bound the shape of a request body, so that no body within the size
// limit can make parsing, validation or storage expensive. A field that is
// zero or negative takes its value from DefaultLimits.
type Limits struct {
	// MaxDepth bounds how deeply objects and arrays nest; the envelope
	// {"header": {...}, "payload": {...}} is 2 deep.
	MaxDepth int
	// MaxStringLen bounds the bytes of any one string, object keys included,
	// counted as sent between the quotes (an escape such as \u00e9 counts
	// its 6 bytes).
	MaxStringLen int
	// MaxArrayLen bounds the elements of any one array.
	MaxArrayLen int
	// MaxKeys bounds the members of any one object.
	MaxKeys int
	// MaxNumberLen bounds the bytes of any one number literal.
	MaxNumberLen int
}

// DefaultLimits are the limits ParseRequest enforces. The published SCWM
// samples nest 7 deep, and their longest string is 190 bytes, longest array
// 2 elements, largest object 30 members and longest number 13 digits.
var DefaultLimits = Limits{
	MaxDepth:     32,
	MaxStringLen: 64 << 10,
	MaxArrayLen:  10000,
	MaxKeys:      10000,
	MaxNumberLen: 64,
}

// withDefaults fills the unset fields of l from DefaultLimits.
func (l Limits) withDefaults() Limits {
	fill := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	fill(&l.MaxDepth, DefaultLimits.MaxDepth)
	fill(&l.MaxStringLen, DefaultLimits.MaxStringLen)
	fill(&l.MaxArrayLen, DefaultLimits.MaxArrayLen)
	fill(&l.MaxKeys, DefaultLimits.MaxKeys)
	fill(&l.MaxNumberLen, DefaultLimits.MaxNumberLen)
	return l
}

// ParseRequest checks that body is a single JSON object with an object
// `header` and an object `payload` and decodes it, within DefaultLimits. Its
// error, always of kind KindMalformedEnvelope, says what is wrong and, for
// broken JSON, where (line and column, both counted from 1). Even when it
// fails it returns what it could read of the header, so that the error
// envelope can echo the event name and owner.
func ParseRequest(body []byte) (*Request, error) {
	return ParseRequestLimits(body, DefaultLimits)
}

// ParseRequestLimits is ParseRequest within the limits l. Before anything is
// decoded, one scan of the body refuses, as KindMalformedEnvelope with the
// JSON path where it happens: text that is not UTF-8, nesting deeper than
// l.MaxDepth, a string, array, object or number over its limit, a key that
// appears twice in one object, and a number that does not fit a 64-bit
// float. A body that is not JSON at all is left to the decoder, which says
// where it broke.
func ParseRequestLimits(body []byte, l Limits) (*Request, error) {
	if looksLikeForm(body) {
		return &Request{}, Errorf(KindMalformedEnvelope,
			"body is not JSON: this looks like form data (%s): send the envelope as JSON (json= in requests, not data=)", formPreview(body))
	}
	if err := checkUTF8(body, l.withDefaults()); err != nil {
		return &Request{}, err
	}
	if err := checkLimits(body, l.withDefaults()); err != nil {
		return &Request{}, err
	}
	root, ok := decodeJSON(body)
	if !ok {
		var err error
		if root, err = decodeWithEncodingJSON(body); err != nil {
			return &Request{}, err
		}
	}
	obj, ok := root.(map[string]any)
	if !ok {
		return &Request{}, Errorf(KindMalformedEnvelope,
			"the body must be a JSON object with an object \"header\" and an object \"payload\"; found a JSON %s", JSONKind(root))
	}
	req := &Request{}
	var problems []string
	switch h := obj["header"].(type) {
	case map[string]any:
		req.rawHeader = h
		req.readHeader()
	case nil:
		if _, present := obj["header"]; present {
			problems = append(problems, "\"header\" must be an object, found null")
		} else {
			problems = append(problems, "\"header\" is missing")
		}
	default:
		problems = append(problems, fmt.Sprintf("\"header\" must be an object, found %s", JSONKind(h)))
	}
	switch p := obj["payload"].(type) {
	case map[string]any:
		req.Payload = p
	case nil:
		if _, present := obj["payload"]; present {
			problems = append(problems, "\"payload\" must be an object, found null")
		} else {
			problems = append(problems, "\"payload\" is missing")
		}
	default:
		problems = append(problems, fmt.Sprintf("\"payload\" must be an object, found %s", JSONKind(p)))
	}
	if len(problems) > 0 {
		return req, Errorf(KindMalformedEnvelope, "the body must be a JSON object with an object \"header\" and an object \"payload\": %s", strings.Join(problems, "; "))
	}
	return req, nil
}

// DecodeObject decodes body, which must be one JSON object, within the
// limits l and with the refusals of ParseRequestLimits (text that is not
// UTF-8, nesting, sizes, duplicate keys), numbers kept as json.Number: for
// surfaces whose bodies are not envelopes (GraphQL's) but must cost no more
// to read. Its error is of kind KindMalformedEnvelope.
func DecodeObject(body []byte, l Limits) (map[string]any, error) {
	l = l.withDefaults()
	if err := checkUTF8(body, l); err != nil {
		return nil, err
	}
	if err := checkLimits(body, l); err != nil {
		return nil, err
	}
	root, ok := decodeJSON(body)
	if !ok {
		var err error
		if root, err = decodeWithEncodingJSON(body); err != nil {
			return nil, err
		}
	}
	obj, ok := root.(map[string]any)
	if !ok {
		return nil, Errorf(KindMalformedEnvelope, "the body must be a JSON object; found a JSON %s", JSONKind(root))
	}
	return obj, nil
}

// readHeader copies the well-typed header fields out of the raw header, so
// that even an invalid request can be answered with its event name and owner.
func (r *Request) readHeader() {
	h := &r.Header
	h.EventName, _ = r.rawHeader["eventName"].(string)
	h.OwnerID, _ = r.rawHeader["ownerId"].(string)
	h.ProcessNetworkID, _ = r.rawHeader["processNetworkId"].(string)
	h.AppName, _ = r.rawHeader["appName"].(string)
	h.Dataspace, _ = r.rawHeader["dataspace"].(string)
	h.IdempotencyKey, _ = r.rawHeader["idempotencyKey"].(string)
	if n, ok := r.rawHeader["headerVersion"].(json.Number); ok {
		if v, err := n.Int64(); err == nil && v >= 0 && v < 1<<31 {
			h.HeaderVersion = int(v)
		}
	}
	if ev, err := ParseEventName(h.EventName); err == nil {
		r.Event = ev
	}
}

// HeaderRules are the deployment's choices that header validation needs.
type HeaderRules struct {
	// Dataspaces are the dataspace names this deployment serves.
	Dataspaces []string
	// NetworkScopedApps are the apps whose events must name a
	// processNetworkId.
	NetworkScopedApps []string
}

// MaxHeaderFieldLen bounds every string field of the header.
const MaxHeaderFieldLen = 256

// Validate checks every header field and reports all problems at once in one
// KindHeaderValidation error, each naming its field.
func (r *Request) Validate(rules HeaderRules) error {
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

	switch v, present := r.rawHeader["headerVersion"]; {
	case !present:
		add("headerVersion: is missing but it is required")
	default:
		n, ok := v.(json.Number)
		if !ok {
			add("headerVersion: %s found, integer 1 expected", JSONKind(v))
		} else if n.String() != "1" {
			add("headerVersion: %s is not supported, 1 expected", n.String())
		}
	}
	str := func(name string, required bool) (string, bool) {
		v, present := r.rawHeader[name]
		if !present || v == nil {
			if required {
				add("%s: is missing but it is required", name)
			}
			return "", false
		}
		s, ok := v.(string)
		switch {
		case !ok:
			add("%s: %s found, string expected", name, JSONKind(v))
			return "", false
		case required && strings.TrimSpace(s) == "":
			add("%s: must not be empty", name)
			return "", false
		case len(s) > MaxHeaderFieldLen:
			add("%s: is %d bytes long, at most %d allowed", name, len(s), MaxHeaderFieldLen)
			return "", false
		}
		return s, true
	}
	if name, ok := str("eventName", true); ok {
		if _, err := ParseEventName(name); err != nil {
			add("eventName: %v", err)
		}
	}
	str("ownerId", true)
	str("appName", true)
	if ds, ok := str("dataspace", true); ok && !contains(rules.Dataspaces, ds) {
		add("dataspace: %q is not served here; use one of [%s]", ds, strings.Join(rules.Dataspaces, ", "))
	}
	networkRequired := contains(rules.NetworkScopedApps, r.Event.App)
	str("processNetworkId", networkRequired)
	str("idempotencyKey", false)

	if len(problems) == 0 {
		return nil
	}
	sort.Strings(problems)
	return Errorf(KindHeaderValidation, "invalid header: %s", strings.Join(problems, "; "))
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// syntaxError turns a JSON decoding error into a MalformedEnvelope error that
// points at the line and column.
// decodeWithEncodingJSON decodes body with encoding/json: the bodies
// decodeJSON leaves to it, and the errors, which it words.
func decodeWithEncodingJSON(body []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var root any
	if err := dec.Decode(&root); err != nil {
		return nil, syntaxError(body, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		off := dec.InputOffset()
		line, col := position(body, off)
		return nil, Errorf(KindMalformedEnvelope,
			"body is not valid JSON: unexpected data after the top-level object at line %d, column %d", line, col)
	}
	return root, nil
}

func syntaxError(body []byte, err error) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return Errorf(KindMalformedEnvelope, "the body is empty; send a JSON object with an object \"header\" and an object \"payload\"")
	}
	var se *json.SyntaxError
	offset := int64(len(body))
	msg := err.Error()
	switch {
	case errors.As(err, &se):
		offset = se.Offset
		if offset > 0 && offset <= int64(len(body)) {
			offset-- // the decoder counts past the offending byte
		}
		msg = strings.TrimPrefix(se.Error(), "json: ")
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		msg = "unexpected end of input (a closing '}' or ']' may be missing)"
	}
	line, col := position(body, offset)
	return Errorf(KindMalformedEnvelope, "body is not valid JSON: %s at line %d, column %d", msg, line, col)
}

// position converts a byte offset into a 1-based line and column (in bytes).
func position(body []byte, offset int64) (line, col int) {
	if offset > int64(len(body)) {
		offset = int64(len(body))
	}
	before := body[:offset]
	line = bytes.Count(before, []byte{'\n'}) + 1
	col = int(offset) - bytes.LastIndexByte(before, '\n')
	return line, col
}

// JSONKind names the JSON type of a decoded value as error messages name
// it: null, boolean, number, string, array or object.
func JSONKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case json.Number, float64, int64:
		return "number"
	case string:
		return "string"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

// formField is how a form-encoded body starts: a field name and "=".
var formField = regexp.MustCompile(`^[A-Za-z0-9_.~%+-]+=`)

// looksLikeForm reports whether body is form-encoded rather than JSON, as
// Python requests sends a dict passed as data= instead of json=.
func looksLikeForm(body []byte) bool {
	return formField.Match(body)
}

// formPreview is the start of a form body, for the error message.
func formPreview(body []byte) string {
	const max = 40
	if len(body) > max {
		return string(body[:max]) + "..."
	}
	return string(body)
}

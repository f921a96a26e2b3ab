package handlers_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/scwm-gateway/scwm-gateway/envelope"
	gt "github.com/scwm-gateway/scwm-gateway/internal/gatewaytest"
)

// hostileHeader is a valid add-incident header for gt.Acme, as JSON text.
const hostileHeader = `{"headerVersion":1,"eventName":"agile-process-teams:add-incident:v5","ownerId":"acme","processNetworkId":"net-1","appName":"agile-process-teams","dataspace":"default"}`

// withPayload is an add-incident envelope for gt.Acme around a payload given
// as JSON text.
func withPayload(payload string) string {
	return `{"header":` + hostileHeader + `,"payload":` + payload + `}`
}

// Hostile bodies get a 400 error envelope that names what is wrong and
// where, through the real HTTP stack; none is a 500, none drops the
// connection, nothing is stored, and the gateway keeps serving.
func TestHostileInputGetsAnErrorEnvelope(t *testing.T) {
	t.Parallel()
	h := gt.Start(t, gt.Options{})
	summary := `"aptBusinessObjectSummary":"hostile"`
	elements := func(n int, elem string) string {
		return "[" + strings.TrimSuffix(strings.Repeat(elem+",", n), ",") + "]"
	}
	members := func(n int) string {
		var b strings.Builder
		b.WriteString("{" + summary)
		for i := range n - 1 {
			fmt.Fprintf(&b, `,"f%05d":0`, i)
		}
		return b.String() + "}"
	}
	// Deeper than the JSON decoder's own limit of 10000, within the 1 MiB
	// body limit.
	abyss := strings.Repeat("[", 500000) + strings.Repeat("]", 500000)
	badUTF8 := withPayload("{\"aptBusinessObjectSummary\":\"caf\xe9 au lait\"}")
	rawNUL := withPayload("{\"aptBusinessObjectSummary\":\"a\x00b\"}")

	cases := []struct {
		name      string
		body      string
		exception string
		errMsg    []string // substrings errMsg must contain
	}{
		{name: "nested 40 deep", body: withPayload(`{` + summary + `,"a":` + strings.Repeat("[", 38) + strings.Repeat("]", 38) + `}`),
			errMsg: []string{"$.payload.a" + strings.Repeat("[0]", 30) + ": objects and arrays nested 33 deep, at most 32 allowed"}},
		{name: "nested 500000 deep", body: withPayload(`{` + summary + `,"a":` + abyss + `}`),
			errMsg: []string{"objects and arrays nested 33 deep, at most 32 allowed"}},
		{name: "body nested 500000 deep from its first byte", body: abyss,
			errMsg: []string{"$" + strings.Repeat("[0]", 32) + ": objects and arrays nested 33 deep, at most 32 allowed"}},
		{name: "string over 64 KiB", body: withPayload(`{"aptBusinessObjectSummary":"` + strings.Repeat("x", 65537) + `"}`),
			errMsg: []string{"$.payload.aptBusinessObjectSummary: string is 65537 bytes long, at most 65536 allowed"}},
		{name: "header string over 64 KiB", body: strings.Replace(withPayload(`{`+summary+`}`), `"ownerId":"acme"`, `"ownerId":"`+strings.Repeat("a", 70000)+`"`, 1),
			errMsg: []string{"$.header.ownerId: string is 70000 bytes long, at most 65536 allowed"}},
		{name: "key over 64 KiB", body: withPayload(`{` + summary + `,"` + strings.Repeat("k", 65537) + `":1}`),
			errMsg: []string{`$.payload["kkkk`, `..."]: key is 65537 bytes long, at most 65536 allowed`}},
		{name: "array of 20000 elements", body: withPayload(`{` + summary + `,"referenceIdentifiers":` + elements(20000, "{}") + `}`),
			errMsg: []string{"$.payload.referenceIdentifiers: array has 20000 elements, at most 10000 allowed"}},
		{name: "object of 10001 members", body: withPayload(members(10001)),
			errMsg: []string{"$.payload: object has 10001 members, at most 10000 allowed"}},
		// JSON text must be UTF-8; the decoder would quietly store U+FFFD.
		{name: "invalid UTF-8 in a string", body: badUTF8,
			errMsg: []string{fmt.Sprintf("body is not valid UTF-8 at line 1, column %d", strings.IndexByte(badUTF8, 0xe9)+1)}},
		{name: "UTF-16 body", body: "\xff\xfe{\x00}\x00",
			errMsg: []string{"body is not valid UTF-8 at line 1, column 1"}},
		// A raw NUL is a control character: not allowed in a JSON string.
		{name: "raw NUL byte in a string", body: rawNUL,
			errMsg: []string{fmt.Sprintf(`body is not valid JSON: invalid character '\x00' in string literal at line 1, column %d`, strings.IndexByte(rawNUL, 0)+1)}},
		{name: "raw NUL byte between tokens", body: withPayload("{\x00" + summary + "}"),
			errMsg: []string{`body is not valid JSON: invalid character '\x00' looking for beginning of object key string`}},
		// The schema library checks numbers as exact rationals: 1e999999
		// would cost it a million-digit power of ten, and the store a
		// string where a number was sent.
		{name: "huge number in a schema field", body: withPayload(`{` + summary + `,"resolutionDueDate":1e999999}`),
			errMsg: []string{"$.payload.resolutionDueDate: number 1e999999 is too large; numbers must fit a 64-bit float"}},
		{name: "huge number in an unknown field", body: withPayload(`{` + summary + `,"extra":[-1E+999999]}`),
			errMsg: []string{"$.payload.extra[0]: number -1E+999999 is too large"}},
		{name: "number too close to zero", body: withPayload(`{` + summary + `,"resolutionDueDate":1e-999999}`),
			errMsg: []string{"$.payload.resolutionDueDate: number 1e-999999 is too close to zero"}},
		{name: "number literal of 100 digits", body: withPayload(`{` + summary + `,"resolutionDueDate":1` + strings.Repeat("0", 99) + `}`),
			errMsg: []string{"$.payload.resolutionDueDate: number is 100 bytes long, at most 64 allowed"}},
		// Duplicate keys are refused: encoding/json keeps the last, a proxy
		// or log reader might take the first.
		{name: "duplicate ownerId in the header", body: strings.Replace(withPayload(`{`+summary+`}`), `"ownerId":"acme"`, `"ownerId":"acme","ownerId":"other-co"`, 1),
			errMsg: []string{"$.header.ownerId: the key appears twice in one object"}},
		{name: "duplicate eventName spelled with an escape", body: strings.Replace(withPayload(`{`+summary+`}`), `"ownerId"`, `"eventN\u0061me":"agile-process-teams:close-incident:v1","ownerId"`, 1),
			errMsg: []string{"$.header.eventName: the key appears twice in one object"}},
		{name: "duplicate header", body: `{"header":` + hostileHeader + `,"payload":{` + summary + `},"header":{}}`,
			errMsg: []string{"$.header: the key appears twice in one object"}},
		{name: "duplicate key in the payload", body: withPayload(`{` + summary + `,"businessPriority":"LOW",` + summary + `}`),
			errMsg: []string{"$.payload.aptBusinessObjectSummary: the key appears twice in one object"}},
		{name: "body is null", body: `null`,
			errMsg: []string{"the body must be a JSON object with an object \"header\" and an object \"payload\"; found a JSON null"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := h.Post(t, []byte(tc.body), gt.Basic(gt.Acme), nil).MustFail(t, 400, "MalformedEnvelopeException")
			for _, want := range tc.errMsg {
				if !strings.Contains(r.Header.ErrMsg, want) {
					t.Errorf("errMsg %.400q does not contain %q", r.Header.ErrMsg, want)
				}
			}
			if len(r.Header.ErrMsg) > 1024 {
				t.Errorf("errMsg is %d bytes long; it should name the problem, not echo the input", len(r.Header.ErrMsg))
			}
		})
	}

	// Nothing reached the store, and the gateway still serves: the first
	// valid add is INC-1.
	rec := readOne(t, h, gt.Acme, addOne(t, h, gt.Acme, map[string]any{"aptBusinessObjectSummary": "after the hostile input"}))
	if rec.Data["aptBusinessObjectId"] != "INC-1" {
		t.Fatalf("hostile input stored something: the first good incident is %v", rec.Data["aptBusinessObjectId"])
	}
}

// Within the limits, unusual but valid JSON is accepted and stored as sent:
// an escaped NUL is a character like any other in a string value, the
// largest string and number literals pass, and a key repeated in different
// objects is no duplicate.
func TestUnusualButValidInputIsStoredAsSent(t *testing.T) {
	t.Parallel()
	h := gt.Start(t, gt.Options{})
	long := strings.Repeat("y", 65536)
	body := withPayload(`{"aptBusinessObjectSummary":"a\u0000b","aptBusinessObjectDescription":"` + long + `",` +
		`"resolutionDueDate":1681640075000,"financialImpact":1.7976931348623157e308,` +
		`"impactedProducts":[{"productDetailId":"P-1"},{"productDetailId":"P-2"}]}`)
	r := h.Post(t, []byte(body), gt.Basic(gt.Acme), nil).MustOK(t)
	var added struct{ ID string }
	r.Decode(t, &added)
	rec := readOne(t, h, gt.Acme, added.ID)
	if rec.Data["aptBusinessObjectSummary"] != "a\x00b" || rec.Data["aptBusinessObjectDescription"] != long {
		t.Fatalf("strings not stored as sent: summary %q, description of %d bytes",
			rec.Data["aptBusinessObjectSummary"], len(fmt.Sprint(rec.Data["aptBusinessObjectDescription"])))
	}
}

// A payload key containing NUL cannot be stored (BSON field names end at
// NUL): it must be refused like keys starting with '$' or containing '.',
// not reach the store and come back as a 500.
func TestNULInPayloadKeyIsRefused(t *testing.T) {
	t.Parallel()
	h := gt.Start(t, gt.Options{})
	for _, payload := range []string{
		`{"aptBusinessObjectSummary":"x","k\u0000ey":1}`,
		`{"aptBusinessObjectSummary":"x","impactedProducts":[{"productDetailId":"P-1","\u0000":1}]}`,
	} {
		h.Post(t, []byte(withPayload(payload)), gt.Basic(gt.Acme), nil).MustFail(t, 400, "SchemaValidationException")
	}
}

// A body larger than Content-Length says: the gateway reads what
// Content-Length announces (HTTP framing), so the envelope it sees is cut
// short and answered 400 in an envelope. The rest of the bytes are not a
// request; net/http, before any handler, answers them as a bad request and
// closes the connection. The gateway keeps serving.
func TestContentLengthSmallerThanTheBody(t *testing.T) {
	t.Parallel()
	h := gt.Start(t, gt.Options{})
	u, err := url.Parse(h.URL)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.DialTimeout("tcp", u.Host, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))

	body := withPayload(`{"aptBusinessObjectSummary":"` + strings.Repeat("z", 10<<20) + `"}`)
	const announced = 120
	head := "POST /api/events HTTP/1.1\r\nHost: " + u.Host + "\r\nContent-Type: application/json\r\n" +
		"Authorization: " + gt.Basic(gt.Acme) + "\r\nContent-Length: " + fmt.Sprint(announced) + "\r\n\r\n"
	go func() {
		// The server stops reading; this write fails when the test closes
		// the connection, which is fine.
		_, _ = io.Copy(conn, io.MultiReader(strings.NewReader(head), strings.NewReader(body)))
	}()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer to the request: %v", err)
	}
	raw, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("answer cut short: %v", err)
	}
	var env struct {
		Header  envelope.ResponseHeader `json:"header"`
		Payload json.RawMessage         `json:"payload"`
	}
	if err := json.Unmarshal(raw, &env); err != nil {
		t.Fatalf("answer %d is not an envelope: %v\n%s", resp.StatusCode, err, raw)
	}
	if resp.StatusCode != 400 || env.Header.ExceptionName != "MalformedEnvelopeException" ||
		!strings.Contains(env.Header.ErrMsg, fmt.Sprintf("unexpected end of input (a closing '}' or ']' may be missing) at line 1, column %d", announced+1)) {
		t.Fatalf("answer %d: %s", resp.StatusCode, raw)
	}
	conn.Close()

	addOne(t, h, gt.Acme, map[string]any{"aptBusinessObjectSummary": "after the lying Content-Length"})
}

// A 10 MB body sent without Content-Length (chunked) is cut at the body
// limit and answered 413 in an envelope; so is one that announces its size.
func TestTenMegabyteBodiesAreTooLarge(t *testing.T) {
	t.Parallel()
	h := gt.Start(t, gt.Options{})
	body := []byte(withPayload(`{"aptBusinessObjectSummary":"` + strings.Repeat("z", 10<<20) + `"}`))
	for _, chunked := range []bool{true, false} {
		req, err := http.NewRequest(http.MethodPost, h.URL+"/api/events", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if chunked {
			req.Body = io.NopCloser(bytes.NewReader(body)) // hides the length
			req.ContentLength = -1
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", gt.Basic(gt.Acme))
		r := h.Do(t, req).MustFail(t, 413, "PayloadTooLargeException")
		if !strings.Contains(r.Header.ErrMsg, "1048576") {
			t.Errorf("chunked=%v: errMsg %q does not name the limit", chunked, r.Header.ErrMsg)
		}
	}
	addOne(t, h, gt.Acme, map[string]any{"aptBusinessObjectSummary": "after 10 MB bodies"})
}

package handlers_test

import (
	"net/http"
	"strings"
	"testing"

	gt "github.com/scwm-gateway/scwm-gateway/internal/gatewaytest"
)

// Every class of bad input gets the SCWM error envelope: the right status and
// exceptionName, a license plate, payload null, and an errMsg that says what
// is wrong. Nothing bad reaches the store.
func TestBadInputGetsAnErrorEnvelope(t *testing.T) {
	t.Parallel()
	h := gt.Start(t, gt.Options{})
	auth := gt.Basic(gt.Acme)
	valid := gt.Envelope(gt.Acme, addIncident, map[string]any{"aptBusinessObjectSummary": "x"})
	header := `{"headerVersion":1,"eventName":"` + addIncident + `","ownerId":"acme","processNetworkId":"net-1","appName":"agile-process-teams","dataspace":"default"}`

	cases := []struct {
		name      string
		body      string
		auth      string
		headers   map[string]string
		status    int
		exception string
		errMsg    []string // substrings errMsg must contain
		eventName string   // the response's eventName, "" when unreadable
	}{
		{name: "not JSON", body: "hello", auth: auth, status: 400, exception: "MalformedEnvelopeException",
			errMsg: []string{"not valid JSON", "line 1, column 1"}},
		{name: "broken JSON points at line and column", body: "{\n  \"header\": {,\n}", auth: auth, status: 400,
			exception: "MalformedEnvelopeException", errMsg: []string{"line 2, column 14"}},
		{name: "truncated JSON", body: "{\"header\": {}", auth: auth, status: 400,
			exception: "MalformedEnvelopeException", errMsg: []string{"unexpected end of input", "line 1, column 14"}},
		{name: "empty body", body: "", auth: auth, status: 400, exception: "MalformedEnvelopeException", errMsg: []string{"empty"}},
		{name: "trailing data", body: string(valid) + " {}", auth: auth, status: 400,
			exception: "MalformedEnvelopeException", errMsg: []string{"after the top-level object"}},
		{name: "JSON array", body: `[1,2]`, auth: auth, status: 400, exception: "MalformedEnvelopeException",
			errMsg: []string{"found a JSON array"}},
		{name: "JSON scalar", body: `"envelope"`, auth: auth, status: 400, exception: "MalformedEnvelopeException",
			errMsg: []string{"found a JSON string"}},
		{name: "header missing", body: `{"payload":{}}`, auth: auth, status: 400, exception: "MalformedEnvelopeException",
			errMsg: []string{`"header" is missing`}},
		{name: "payload missing", body: `{"header":` + header + `}`, auth: auth, status: 400,
			exception: "MalformedEnvelopeException", errMsg: []string{`"payload" is missing`},
			eventName: "agile-process-teams:add-incident-response:v5"},
		{name: "header and payload not objects", body: `{"header":[],"payload":"x"}`, auth: auth, status: 400,
			exception: "MalformedEnvelopeException", errMsg: []string{`"header" must be an object, found array`, `"payload" must be an object, found string`}},
		{name: "header fields of the wrong type, all named", auth: auth, status: 400, exception: "HeaderValidationException",
			body: `{"header":{"headerVersion":"1","eventName":5,"ownerId":true,"processNetworkId":[],"appName":null,"dataspace":{}},"payload":{}}`,
			errMsg: []string{"headerVersion: string found, integer 1 expected", "eventName: number found, string expected",
				"ownerId: boolean found, string expected", "processNetworkId: array found, string expected",
				"appName: is missing but it is required", "dataspace: object found, string expected"}},
		{name: "header fields missing, all named", auth: auth, status: 400, exception: "HeaderValidationException",
			body:      `{"header":{"eventName":"agile-process-teams:add-incident:v5"},"payload":{}}`,
			errMsg:    []string{"headerVersion: is missing", "ownerId: is missing", "appName: is missing", "dataspace: is missing", "processNetworkId: is missing"},
			eventName: "agile-process-teams:add-incident-response:v5"},
		{name: "malformed event name", auth: auth, status: 400, exception: "HeaderValidationException",
			body:   strings.Replace(string(valid), addIncident, "add-incident", 1),
			errMsg: []string{"eventName: must have the form <app>:<action>:v<N>"}},
		{name: "header version 2", auth: auth, status: 400, exception: "HeaderValidationException",
			body:   strings.Replace(string(valid), `"headerVersion":1`, `"headerVersion":2`, 1),
			errMsg: []string{"headerVersion: 2 is not supported"}, eventName: "agile-process-teams:add-incident-response:v5"},
		{name: "unknown dataspace", auth: auth, status: 400, exception: "HeaderValidationException",
			body:   strings.Replace(string(valid), `"dataspace":"default"`, `"dataspace":"staging"`, 1),
			errMsg: []string{`dataspace: "staging" is not served here`}, eventName: "agile-process-teams:add-incident-response:v5"},
		{name: "wrong Content-Type", body: string(valid), auth: auth, headers: map[string]string{"Content-Type": "text/plain"},
			status: 415, exception: "UnsupportedMediaTypeException", errMsg: []string{"application/json"}},
		{name: "form-encoded body", body: "header=x", auth: auth, headers: map[string]string{"Content-Type": "application/x-www-form-urlencoded"},
			status: 415, exception: "UnsupportedMediaTypeException", errMsg: []string{"application/json"}},
		{name: "missing Content-Type", body: string(valid), auth: auth, headers: map[string]string{"Content-Type": ""},
			status: 415, exception: "UnsupportedMediaTypeException", errMsg: []string{"missing"}},
		{name: "missing Authorization", body: string(valid), auth: "", status: 401, exception: "AuthenticationException",
			errMsg: []string{"missing"}},
		{name: "garbled Authorization", body: string(valid), auth: "Basic !!!not-base64", status: 401,
			exception: "AuthenticationException", errMsg: []string{"not valid HTTP Basic"}},
		{name: "a Bearer that is no session token", body: string(valid), auth: "Bearer abc", status: 401,
			exception: "AuthenticationException", errMsg: []string{"session token was refused", "HTTP Basic"}},
		{name: "neither Basic nor Bearer", body: string(valid), auth: "Digest abc", status: 401,
			exception: "AuthenticationException", errMsg: []string{"not valid HTTP Basic"}},
		{name: "wrong secret", body: string(valid), auth: gt.Basic(gt.Client{APIKey: "acme-key", APISecret: "wrong-secret-0123456789"}),
			status: 401, exception: "AuthenticationException", errMsg: []string{"unknown apiKey or wrong apiSecret"}},
		{name: "unknown apiKey", body: string(valid), auth: gt.Basic(gt.Client{APIKey: "nobody", APISecret: "acme-secret-0123456789"}),
			status: 401, exception: "AuthenticationException", errMsg: []string{"unknown apiKey or wrong apiSecret"}},
		{name: "unknown event", auth: auth, status: 400, exception: "UnsupportedEventException",
			body:   strings.Replace(string(valid), addIncident, "agile-process-teams:launch-rocket:v1", 1),
			errMsg: []string{"agile-process-teams:launch-rocket:v1 is not supported"}, eventName: "agile-process-teams:launch-rocket-response:v1"},
		{name: "unknown version lists the supported ones", auth: auth, status: 400, exception: "UnsupportedEventException",
			body:      strings.Replace(string(valid), addIncident, "agile-process-teams:add-incident:v4", 1),
			errMsg:    []string{"version v4 of agile-process-teams:add-incident is not supported; supported: agile-process-teams:add-incident:v5"},
			eventName: "agile-process-teams:add-incident-response:v4"},
		{name: "body over 1 MiB", auth: auth, status: 413, exception: "PayloadTooLargeException", errMsg: []string{"1048576"},
			body: `{"header":` + header + `,"payload":{"aptBusinessObjectSummary":"` + strings.Repeat("x", 1<<20) + `"}}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := h.Post(t, []byte(tc.body), tc.auth, tc.headers).MustFail(t, tc.status, tc.exception)
			for _, want := range tc.errMsg {
				if !strings.Contains(r.Header.ErrMsg, want) {
					t.Errorf("errMsg %q does not contain %q", r.Header.ErrMsg, want)
				}
			}
			// An unauthenticated request's body is never read, so its
			// answer cannot echo the eventName.
			if r.Header.EventName != tc.eventName {
				t.Errorf("eventName %q, want %q", r.Header.EventName, tc.eventName)
			}
			if tc.status == 401 && r.HTTP.Get("WWW-Authenticate") != `Basic realm="scwm-gateway"` {
				t.Errorf("WWW-Authenticate = %q", r.HTTP.Get("WWW-Authenticate"))
			}
		})
	}

	// None of it reached the store: the first valid add is still INC-1.
	rec := readOne(t, h, gt.Acme, addOne(t, h, gt.Acme, map[string]any{"aptBusinessObjectSummary": "after the bad input"}))
	if rec.Data["aptBusinessObjectId"] != "INC-1" {
		t.Fatalf("bad input consumed sequence numbers or stored incidents: first good one is %v", rec.Data["aptBusinessObjectId"])
	}
}

// The two published samples that are not valid JSON are answered with a
// MalformedEnvelope error that points at where the parser gave up.
func TestPublishedInvalidSamplesPointAtTheLine(t *testing.T) {
	t.Parallel()
	h := gt.Start(t, gt.Options{})
	for _, rel := range []string{
		"indirectSupplierIncident/readIndSupIncPayloadTemplate.json",
		"internalManufacturingIncident/readIntMfgIncPayloadTemplate.json",
	} {
		r := h.Post(t, loadSample(t, rel, gt.Acme), gt.Basic(gt.Acme), nil).MustFail(t, 400, "MalformedEnvelopeException")
		if !strings.Contains(r.Header.ErrMsg, "line 11, column 1") {
			t.Errorf("%s: errMsg %q does not point at line 11, column 1", rel, r.Header.ErrMsg)
		}
	}
}

func TestOtherPathsAndMethods(t *testing.T) {
	t.Parallel()
	h := gt.Start(t, gt.Options{})
	for _, tc := range []struct {
		method, path string
		status       int
		exception    string
	}{
		{"GET", "/api/events", 405, "MethodNotAllowedException"},
		{"PUT", "/api/events", 405, "MethodNotAllowedException"},
		{"DELETE", "/api/events", 405, "MethodNotAllowedException"},
		{"POST", "/api/nothing-here", 404, "NotFoundException"},
		{"GET", "/api/v2/incident", 404, "NotFoundException"},
		{"GET", "/", 404, "NotFoundException"},
	} {
		req, _ := http.NewRequest(tc.method, h.URL+tc.path, nil)
		r := h.Do(t, req).MustFail(t, tc.status, tc.exception)
		if tc.status == 405 && r.HTTP.Get("Allow") != "POST" {
			t.Errorf("%s %s: Allow = %q, want POST", tc.method, tc.path, r.HTTP.Get("Allow"))
		}
	}
}

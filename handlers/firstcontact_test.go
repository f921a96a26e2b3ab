package handlers_test

import (
	"net/url"
	"strings"
	"testing"

	gt "github.com/scwm-gateway/scwm-gateway/internal/gatewaytest"
)

// The published Python snippets pass the envelope as data=, which Python
// requests form-encodes (the header and payload keys become fields): with
// Content-Type: application/json kept, the answer is 400 saying the body is
// form data and what to change; with requests' own form Content-Type, 415
// says the same.
func TestFormEncodedEnvelopeSaysWhatToChange(t *testing.T) {
	t.Parallel()
	h := gt.Start(t, gt.Options{})
	// What requests.post(url, headers=..., data={"header": {...}, "payload": {...}}) sends.
	form := url.Values{"header": {"headerVersion", "eventName", "ownerId"}, "payload": {"aptBusinessObjectSummary"}}.Encode()
	r := h.Post(t, []byte(form), gt.Basic(gt.Acme), nil).MustFail(t, 400, "MalformedEnvelopeException")
	if !strings.Contains(r.Header.ErrMsg, "looks like form data") || !strings.Contains(r.Header.ErrMsg, "json=") {
		t.Fatalf("a form-encoded envelope was answered %q", r.Header.ErrMsg)
	}
	r = h.Post(t, []byte(form), gt.Basic(gt.Acme), map[string]string{"Content-Type": "application/x-www-form-urlencoded"}).
		MustFail(t, 415, "UnsupportedMediaTypeException")
	if !strings.Contains(r.Header.ErrMsg, "form data") || !strings.Contains(r.Header.ErrMsg, "json=") {
		t.Fatalf("a form Content-Type was answered %q", r.Header.ErrMsg)
	}
}

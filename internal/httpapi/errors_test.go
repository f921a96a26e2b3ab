package httpapi

import (
	"testing"

	"github.com/scwm-gateway/scwm-gateway/envelope"
)

// The REST API words a failure's kind as OAuth does where RFC 6749 has a
// word for it, and as the SCWM exceptionName otherwise, so the same failure
// is the same kind on both APIs.
func TestRESTErrorCodes(t *testing.T) {
	t.Parallel()
	for kind, want := range map[envelope.Kind]string{
		envelope.KindObjectNotFound:         "ObjectNotFoundException",
		envelope.KindConcurrentModification: "ConcurrentModificationException",
		envelope.KindServiceUnavailable:     "temporarily_unavailable",
		envelope.KindAuthorization:          "AuthorizationException",
		envelope.KindInternal:               "server_error",
	} {
		if got := restErrorCode(kind); got != want {
			t.Errorf("%v: REST code %s, want %s", kind, got, want)
		}
	}
}

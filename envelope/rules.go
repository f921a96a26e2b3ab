package envelope

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"unicode/utf8"

	"github.com/scwm-gateway/scwm-gateway/internal/jsonvalue"
)

// OwnCompany is the ownerId that means "the caller's own company" in the
// events of the authorization-manager app.
const OwnCompany = "00000000-0000-0000-0000-000000000000"

// ActsForOwnCompany reports whether the request names the caller's own
// company rather than a company id: an authorization-manager event with
// ownerId OwnCompany.
func (r *Request) ActsForOwnCompany() bool {
	return r.Event.App == "authorization-manager" && r.Header.OwnerID == OwnCompany
}

// MaxIdempotencyKeyLen bounds an idempotency key, in bytes.
const MaxIdempotencyKeyLen = 255

// IdempotencyKey is the request's idempotency key: the Idempotency-Key HTTP
// header's value (fromHTTP) or header.idempotencyKey; both may be sent if
// they agree. A key that is not UTF-8 or is too long is a header error.
func (r *Request) IdempotencyKey(fromHTTP string) (string, error) {
	fromEnvelope := r.Header.IdempotencyKey
	switch {
	case !utf8.ValidString(fromHTTP):
		return "", Errorf(KindHeaderValidation, "invalid header: Idempotency-Key: is not valid UTF-8; send a key of printable characters, such as a UUID")
	case len(fromHTTP) > MaxIdempotencyKeyLen:
		return "", Errorf(KindHeaderValidation, "invalid header: Idempotency-Key: is %d bytes long, at most %d allowed", len(fromHTTP), MaxIdempotencyKeyLen)
	case fromHTTP != "" && fromEnvelope != "" && fromHTTP != fromEnvelope:
		return "", Errorf(KindHeaderValidation, "invalid header: idempotencyKey: differs from the Idempotency-Key HTTP header; send one, or the same in both")
	case fromHTTP != "":
		return fromHTTP, nil
	}
	return fromEnvelope, nil
}

// Hash identifies what a request asks for, so that an idempotency key
// reused for a different request is told apart from a retry: the event,
// where it acts, and the payload as sent (json.Marshal sorts keys and keeps
// numbers as written).
func (r *Request) Hash() string {
	buf := jsonvalue.GetBuffer()
	defer buf.Release()
	buf.B, _ = jsonvalue.AppendMarshalled(buf.B, r.Payload) // json.Marshal's text, as keys recorded before were hashed
	h := sha256.New()
	for _, part := range []string{r.Header.EventName, r.Header.Dataspace, r.Header.ProcessNetworkID, r.Header.OwnerID} {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	h.Write(buf.B)
	return hex.EncodeToString(h.Sum(nil))
}

// SchemaValidation is the SchemaValidationException of a payload with these
// problems: its errMsg is the JSON object {"validation-failed": [...]},
// one "<JSON path>: <reason>" entry per problem.
func SchemaValidation(problems []string) *Error {
	msg, _ := json.Marshal(map[string][]string{"validation-failed": problems})
	return &Error{Kind: KindSchemaValidation, Message: string(msg)}
}

// ValidationProblems are the problems of a SchemaValidationException, read
// back from its errMsg; ok is false for any other error or errMsg.
func (e *Error) ValidationProblems() (problems []string, ok bool) {
	if e == nil || e.Kind != KindSchemaValidation {
		return nil, false
	}
	var msg struct {
		Problems []string `json:"validation-failed"`
	}
	if err := json.Unmarshal([]byte(e.Message), &msg); err != nil || msg.Problems == nil {
		return nil, false
	}
	return msg.Problems, true
}

package envelope

import (
	"fmt"
	"net/http"
	"time"
)

// Kind classifies a failure the way the SCWM protocol reports it. Each kind
// has one HTTP status and one exceptionName; the table is the protocol's, listed in docs/protocol.md.
type Kind int

// The error kinds of the protocol.
const (
	KindInternal Kind = iota
	KindMalformedEnvelope
	KindHeaderValidation
	KindSchemaValidation
	KindUnsupportedEvent
	KindAuthentication
	KindAuthorization
	KindObjectNotFound
	KindInvalidStateTransition
	KindConcurrentModification
	KindIdempotencyKeyReuse
	KindPayloadTooLarge
	KindUnsupportedMediaType
	KindRateLimitExceeded
	KindServiceUnavailable
	KindNotFound
	KindMethodNotAllowed
)

var kinds = map[Kind]struct {
	status    int
	exception string
}{
	KindInternal:               {http.StatusInternalServerError, "InternalServerException"},
	KindMalformedEnvelope:      {http.StatusBadRequest, "MalformedEnvelopeException"},
	KindHeaderValidation:       {http.StatusBadRequest, "HeaderValidationException"},
	KindSchemaValidation:       {http.StatusBadRequest, "SchemaValidationException"},
	KindUnsupportedEvent:       {http.StatusBadRequest, "UnsupportedEventException"},
	KindAuthentication:         {http.StatusUnauthorized, "AuthenticationException"},
	KindAuthorization:          {http.StatusForbidden, "AuthorizationException"},
	KindObjectNotFound:         {http.StatusNotFound, "ObjectNotFoundException"},
	KindInvalidStateTransition: {http.StatusConflict, "InvalidStateTransitionException"},
	KindConcurrentModification: {http.StatusConflict, "ConcurrentModificationException"},
	KindIdempotencyKeyReuse:    {http.StatusUnprocessableEntity, "IdempotencyKeyReuseException"},
	KindPayloadTooLarge:        {http.StatusRequestEntityTooLarge, "PayloadTooLargeException"},
	KindUnsupportedMediaType:   {http.StatusUnsupportedMediaType, "UnsupportedMediaTypeException"},
	KindRateLimitExceeded:      {http.StatusTooManyRequests, "RateLimitExceededException"},
	KindServiceUnavailable:     {http.StatusServiceUnavailable, "ServiceUnavailableException"},
	KindNotFound:               {http.StatusNotFound, "NotFoundException"},
	KindMethodNotAllowed:       {http.StatusMethodNotAllowed, "MethodNotAllowedException"},
}

// Status is the HTTP status this kind of failure is answered with.
func (k Kind) Status() int {
	if v, ok := kinds[k]; ok {
		return v.status
	}
	return http.StatusInternalServerError
}

// ExceptionName is the response header's exceptionName for this kind.
func (k Kind) ExceptionName() string {
	if v, ok := kinds[k]; ok {
		return v.exception
	}
	return kinds[KindInternal].exception
}

// Error is a protocol failure: what kind it is and the message the caller
// reads in errMsg. Handlers return it; one place turns it into an envelope.
type Error struct {
	Kind    Kind
	Message string
	// RetryAfter, when positive, is sent as the Retry-After header.
	RetryAfter time.Duration
}

func (e *Error) Error() string { return e.Kind.ExceptionName() + ": " + e.Message }

// Errorf builds an Error of the given kind with a formatted message.
func Errorf(kind Kind, format string, args ...any) *Error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

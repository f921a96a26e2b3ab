package httpapi

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/scwm-gateway/scwm-gateway/envelope"
	"github.com/scwm-gateway/scwm-gateway/internal/malformedhttp"
)

// AnswerMalformedHTTP is the answer to a request net/http refused before
// any route saw it (see malformedhttp): an error envelope with net/http's
// status. Pass it to malformedhttp.Listen.
func (s *Server) AnswerMalformedHTTP(r malformedhttp.Rejection) (http.Header, []byte) {
	kind := envelope.KindMalformedEnvelope
	var msg string
	switch r.Status {
	case http.StatusRequestHeaderFieldsTooLarge:
		kind = envelope.KindHeaderValidation
		msg = "the request's HTTP header fields are larger than the gateway accepts; send fewer or shorter ones"
	case http.StatusNotImplemented:
		msg = "the request's Transfer-Encoding is not supported; send the body with Content-Length or chunked"
	default:
		msg = fmt.Sprintf("the request is not valid HTTP/1.1 (%s): check the request line, that every header is name: value without control characters such as NUL, and that Content-Length is one decimal number", r.Reason)
	}
	plate := envelope.NewLicensePlate()
	resp := envelope.Failure(nil, plate, &envelope.Error{Kind: kind, Message: msg})
	resp.Header.ErrCode = strconv.Itoa(r.Status)
	_, body := encodeEnvelope(resp, r.Status)
	remote := ""
	if r.Remote != nil {
		remote = r.Remote.String()
	}
	s.log.Info().Str("licensePlate", plate).Int("status", r.Status).Str("errCode", resp.Header.ErrCode).
		Str("remote", remote).Str("reason", r.Reason).Msg("malformed HTTP request")
	return http.Header{"Content-Type": {"application/json"}, "X-License-Plate": {plate}}, body
}

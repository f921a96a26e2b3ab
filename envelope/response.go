package envelope

import (
	"encoding/json"
	"strconv"

	"github.com/scwm-gateway/scwm-gateway/internal/jsonvalue"
)

// ResponseHeader is the header of every answer of the events endpoint.
type ResponseHeader struct {
	HeaderVersion int `json:"headerVersion"`
	// EventName is the request's event name with -response appended to the
	// action; empty (and omitted) when the request's name could not be read.
	EventName     string `json:"eventName,omitempty"`
	OwnerID       string `json:"ownerId,omitempty"`
	IsErr         bool   `json:"isErr"`
	ErrCode       string `json:"errCode"`
	LicensePlate  string `json:"licensePlate"`
	ErrMsg        string `json:"errMsg,omitempty"`
	ExceptionName string `json:"exceptionName,omitempty"`
	// Warnings name accepted but suspicious parts of the request, such as
	// unknown payload fields.
	Warnings []string `json:"warnings,omitempty"`
}

// Response is a response envelope. Payload is null on errors.
type Response struct {
	Header  ResponseHeader `json:"header"`
	Payload any            `json:"payload"`
}

// TextPayload is a payload that writes its own JSON text, byte for byte
// what json.Marshal writes of it, for payloads that hold text already
// encoded (an incident's stored data), which json.Marshal would check and
// copy again.
type TextPayload interface {
	AppendJSON(dst []byte) ([]byte, error)
}

// Marshal is json.Marshal(r): the header written field by field, and a
// TextPayload by itself.
func (r *Response) Marshal() ([]byte, error) {
	b := make([]byte, 0, 2048)
	b = append(b, `{"header":`...)
	b = r.Header.appendJSON(b)
	b = append(b, `,"payload":`...)
	var err error
	if tp, ok := r.Payload.(TextPayload); ok {
		b, err = tp.AppendJSON(b)
	} else {
		var payload []byte
		payload, err = json.Marshal(r.Payload)
		b = append(b, payload...)
	}
	if err != nil {
		return nil, err
	}
	return append(b, '}'), nil
}

// appendJSON appends the header as json.Marshal writes it, field by field.
func (h *ResponseHeader) appendJSON(b []byte) []byte {
	str := jsonvalue.AppendMarshalledString
	b = append(b, `{"headerVersion":`...)
	b = strconv.AppendInt(b, int64(h.HeaderVersion), 10)
	if h.EventName != "" {
		b = str(append(b, `,"eventName":`...), h.EventName)
	}
	if h.OwnerID != "" {
		b = str(append(b, `,"ownerId":`...), h.OwnerID)
	}
	b = strconv.AppendBool(append(b, `,"isErr":`...), h.IsErr)
	b = str(append(b, `,"errCode":`...), h.ErrCode)
	b = str(append(b, `,"licensePlate":`...), h.LicensePlate)
	if h.ErrMsg != "" {
		b = str(append(b, `,"errMsg":`...), h.ErrMsg)
	}
	if h.ExceptionName != "" {
		b = str(append(b, `,"exceptionName":`...), h.ExceptionName)
	}
	if len(h.Warnings) > 0 {
		b = append(b, `,"warnings":[`...)
		for i, w := range h.Warnings {
			if i > 0 {
				b = append(b, ',')
			}
			b = str(b, w)
		}
		b = append(b, ']')
	}
	return append(b, '}')
}

// OKCode is the errCode of every successful answer.
const OKCode = "200_OK"

// Success builds the answer to a request that succeeded.
func Success(req *Request, plate string, payload any, warnings []string) *Response {
	return &Response{
		Header: ResponseHeader{
			HeaderVersion: 1,
			EventName:     responseName(req),
			OwnerID:       ownerOf(req),
			ErrCode:       OKCode,
			LicensePlate:  plate,
			Warnings:      warnings,
		},
		Payload: payload,
	}
}

// Failure builds the answer to a request that failed with err. req may be nil
// or partly read; what it holds of the header is echoed.
func Failure(req *Request, plate string, err *Error) *Response {
	return &Response{
		Header: ResponseHeader{
			HeaderVersion: 1,
			EventName:     responseName(req),
			OwnerID:       ownerOf(req),
			IsErr:         true,
			ErrCode:       statusCode(err.Kind.Status()),
			LicensePlate:  plate,
			ErrMsg:        err.Message,
			ExceptionName: err.Kind.ExceptionName(),
		},
	}
}

func responseName(req *Request) string {
	if req == nil || req.Event.App == "" {
		return ""
	}
	return req.Event.Response()
}

func ownerOf(req *Request) string {
	if req == nil {
		return ""
	}
	return req.Header.OwnerID
}

func statusCode(status int) string {
	const digits = "0123456789"
	if status < 100 || status > 999 {
		status = 500
	}
	return string([]byte{digits[status/100], digits[status/10%10], digits[status%10]})
}

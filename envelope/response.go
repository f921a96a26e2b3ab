package envelope

import "encoding/json"

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

// Marshal is json.Marshal(r), with a TextPayload written by itself.
func (r *Response) Marshal() ([]byte, error) {
	tp, ok := r.Payload.(TextPayload)
	if !ok {
		return json.Marshal(r)
	}
	header, err := json.Marshal(r.Header)
	if err != nil {
		return nil, err
	}
	b := make([]byte, 0, len(header)+1024)
	b = append(b, `{"header":`...)
	b = append(b, header...)
	b = append(b, `,"payload":`...)
	if b, err = tp.AppendJSON(b); err != nil {
		return nil, err
	}
	return append(b, '}'), nil
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

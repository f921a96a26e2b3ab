package httpapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"mime"
	"net/http"
	"net/mail"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/scwm-gateway/scwm-gateway/envelope"
	"github.com/scwm-gateway/scwm-gateway/handlers"
	"github.com/scwm-gateway/scwm-gateway/internal/jsonvalue"
	"github.com/scwm-gateway/scwm-gateway/internal/oauth"
	"github.com/scwm-gateway/scwm-gateway/internal/schema"
	"github.com/scwm-gateway/scwm-gateway/store"
)

// The incident routes of the REST compatibility surface, for
// clients written against the ServiceOps incident API: a bearer token from
// /api/oauth/token, JSON in and out. They create, read and change the same
// incidents as the envelope API (process type incident), through the same
// handlers, history and guarantees.

// restField is one field of the REST incident: how it is checked, and
// where it lives in the incident's data.
type restField struct {
	name string
	// dataKey is its key in the incident's data.
	dataKey string
	// allowed, when set, are its values (compared without regard to case,
	// stored in this case).
	allowed []string
	check   func(v any) (any, error)
}

var (
	restImpacts    = []string{"LOW", "ONUSER", "ONDEPARTMENT", "ONBUSINESS"}
	restPriorities = []string{"LOW", "MEDIUM", "HIGH", "URGENT"}
)

// restFields are the fields of the seed document, in its order.
var restFields = []restField{
	{name: "impact", dataKey: "impact", allowed: restImpacts},
	{name: "urgency", dataKey: "urgency", allowed: restPriorities},
	{name: "priority", dataKey: "priority", allowed: restPriorities},
	{name: "tags", dataKey: "tags", check: checkTags},
	{name: "subject", dataKey: "aptBusinessObjectSummary", check: checkSubject},
	{name: "description", dataKey: "aptBusinessObjectDescription", check: checkText},
	{name: "category", dataKey: "category", check: checkCategory},
	{name: "fieldValueDetails", dataKey: "fieldValueDetails", check: checkFieldValues},
	{name: "customFieldValueDetails", dataKey: "fieldValueDetails", check: checkFieldValues},
	{name: "requesterEmail", dataKey: "requesterEmail", check: checkEmail},
	{name: "requesterName", dataKey: "requesterName", check: checkText},
}

// restRequired are the fields a new incident needs.
var restRequired = []string{"subject", "requesterEmail"}

// restPriorityToBusiness maps the REST priority onto the SCWM
// businessPriority, whose highest value is HIGH.
var restPriorityToBusiness = map[string]string{"LOW": "LOW", "MEDIUM": "MEDIUM", "HIGH": "HIGH", "URGENT": "HIGH"}

// restFieldsByName indexes restFields; restFieldList names them, for
// messages.
var (
	restFieldsByName = func() map[string]restField {
		m := make(map[string]restField, len(restFields))
		for _, f := range restFields {
			m[f.name] = f
		}
		return m
	}()
	restFieldList = func() string {
		names := make([]string, len(restFields))
		for i, f := range restFields {
			names[i] = f.name
		}
		return strings.Join(names, ", ")
	}()
)

func checkSubject(v any) (any, error) {
	s, ok := v.(string)
	if !ok {
		return nil, fmt.Errorf("must be a string")
	}
	if strings.TrimSpace(s) == "" {
		return nil, fmt.Errorf("must not be empty")
	}
	return s, nil
}

func checkText(v any) (any, error) {
	s, ok := v.(string)
	if !ok {
		return nil, fmt.Errorf("must be a string")
	}
	return s, nil
}

func checkEmail(v any) (any, error) {
	s, ok := v.(string)
	if !ok {
		return nil, fmt.Errorf("must be a string")
	}
	addr, err := mail.ParseAddress(s)
	if err != nil || addr.Address != strings.TrimSpace(s) {
		return nil, fmt.Errorf("must be an e-mail address such as tim@example.com; got %q", s)
	}
	return addr.Address, nil
}

func checkTags(v any) (any, error) {
	list, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("must be an array of strings, such as [\"rest\"]")
	}
	for i, e := range list {
		if _, ok := e.(string); !ok {
			return nil, fmt.Errorf("[%d] must be a string", i)
		}
	}
	return list, nil
}

// checkCategory accepts the category as a name or a number (the seed's
// example is 5) and keeps it as a string.
func checkCategory(v any) (any, error) {
	switch v := v.(type) {
	case string:
		return v, nil
	case json.Number:
		return v.String(), nil
	}
	return nil, fmt.Errorf("must be a string or a number")
}

// checkFieldValues accepts the custom field values: an object of field id
// to an object such as {"type": 1, "stringValue": "Open"}.
func checkFieldValues(v any) (any, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("must be an object of field id to value, such as {\"1\": {\"type\": 1, \"stringValue\": \"Open\"}}")
	}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if _, ok := m[k].(map[string]any); !ok {
			return nil, fmt.Errorf("[%q] must be an object such as {\"type\": 1, \"stringValue\": \"Open\"}", k)
		}
	}
	// Keys the store would read as operators or paths, and integers it
	// cannot keep exactly, are refused rather than stored otherwise than
	// sent.
	if problems := schema.Unkeepable(m, ""); len(problems) > 0 {
		return nil, errors.New(strings.Join(problems, "; "))
	}
	return jsonvalue.Copy(m), nil
}

// fieldProblem is one rejected field.
type fieldProblem struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// restError is an error answer of the REST routes.
type restError struct {
	status      int
	code        string
	description string
	problems    []fieldProblem
}

func (e *restError) Error() string { return e.code + ": " + e.description }

func restValidation(problems []fieldProblem) *restError {
	msgs := make([]string, len(problems))
	for i, p := range problems {
		msgs[i] = p.Field + " " + p.Message
	}
	return &restError{status: http.StatusBadRequest, code: "validation_failed", description: strings.Join(msgs, "; "), problems: problems}
}

// restInput checks a REST incident body and returns the incident data it
// sets, in SCWM names, and the dataVersion it is pinned to (0: none).
// creating requires the fields of restRequired.
func restInput(body map[string]any, creating bool) (map[string]any, int64, error) {
	var problems []fieldProblem
	data := map[string]any{}
	var version int64
	if _, a := body["fieldValueDetails"]; a {
		if _, b := body["customFieldValueDetails"]; b {
			problems = append(problems, fieldProblem{"customFieldValueDetails", "and fieldValueDetails are the same field; send one of them"})
		}
	}
	for _, name := range slices.Sorted(maps.Keys(body)) {
		v := body[name]
		if name == "dataVersion" && !creating {
			n, _ := v.(json.Number)
			i, whole := envelope.WholeNumber(n)
			if !whole || i < 1 {
				problems = append(problems, fieldProblem{name, fmt.Sprintf("%s is not a dataVersion; %s", jsonvalue.Text(v), envelope.DataVersionRule)})
				continue
			}
			version = i
			continue
		}
		f, known := restFieldsByName[name]
		if !known {
			problems = append(problems, fieldProblem{name, "is not a field of the incident; the fields are " + restFieldList})
			continue
		}
		if v == nil {
			if slices.Contains(restRequired, name) {
				problems = append(problems, fieldProblem{name, "must not be null"})
			}
			continue
		}
		if f.allowed != nil {
			s, _ := v.(string)
			i := slices.IndexFunc(f.allowed, func(a string) bool { return strings.EqualFold(a, s) })
			if i < 0 {
				problems = append(problems, fieldProblem{name, fmt.Sprintf("must be one of %s; got %s", strings.Join(f.allowed, ", "), jsonvalue.Text(v))})
				continue
			}
			data[f.dataKey] = f.allowed[i]
			if name == "priority" {
				data["businessPriority"] = restPriorityToBusiness[f.allowed[i]]
			}
			continue
		}
		checked, err := f.check(v)
		if err != nil {
			problems = append(problems, fieldProblem{name, err.Error()})
			continue
		}
		data[f.dataKey] = checked
	}
	if creating {
		for _, name := range restRequired {
			if _, ok := body[name]; !ok {
				problems = append(problems, fieldProblem{name, "is required"})
			}
		}
	}
	if len(problems) > 0 {
		return nil, 0, restValidation(problems)
	}
	return data, version, nil
}

// restIncident is an incident as the REST routes answer it.
type restIncident struct {
	ID                string         `json:"id"`
	Name              string         `json:"name"`
	Subject           string         `json:"subject"`
	Description       string         `json:"description"`
	Impact            any            `json:"impact"`
	Urgency           any            `json:"urgency"`
	Priority          any            `json:"priority"`
	Tags              any            `json:"tags"`
	Category          any            `json:"category"`
	FieldValueDetails any            `json:"fieldValueDetails"`
	RequesterEmail    any            `json:"requesterEmail"`
	RequesterName     any            `json:"requesterName"`
	StatusName        string         `json:"statusName"`
	DataVersion       int64          `json:"dataVersion"`
	OwnerID           string         `json:"ownerId"`
	ProcessNetworkID  string         `json:"processNetworkId"`
	CreatedBy         string         `json:"createdBy"`
	CreatedTime       int64          `json:"createdTime"`
	UpdatedBy         string         `json:"updatedBy"`
	UpdatedTime       int64          `json:"updatedTime"`
	Data              map[string]any `json:"-"`
}

func newRestIncident(inc *store.Incident) *restIncident {
	d := handlers.DataOf(inc)
	text := func(k string) string { s, _ := d[k].(string); return s }
	tags := d["tags"]
	if tags == nil {
		tags = []any{}
	}
	return &restIncident{
		ID: inc.ID, Name: handlers.IncidentName(inc),
		Subject: text("aptBusinessObjectSummary"), Description: text("aptBusinessObjectDescription"),
		Impact: d["impact"], Urgency: d["urgency"], Priority: d["priority"], Tags: tags,
		Category: d["category"], FieldValueDetails: d["fieldValueDetails"],
		RequesterEmail: d["requesterEmail"], RequesterName: d["requesterName"],
		StatusName: inc.CurrentBaseState, DataVersion: inc.DataVersion,
		OwnerID: inc.OwnerID, ProcessNetworkID: inc.NetworkID,
		CreatedBy: inc.CreatedByUserID, CreatedTime: inc.CreatedAt,
		UpdatedBy: inc.LastUpdatedBy, UpdatedTime: inc.LastUpdatedAt,
	}
}

// The catalogue events the REST routes are.
var (
	restAddEvent  = envelope.EventName{App: aptApp, Action: "add-incident", Version: 5}
	restReadEvent = envelope.EventName{App: aptApp, Action: "read-incident", Version: 4}
	restEditEvent = envelope.EventName{App: aptApp, Action: "edit-incident", Version: 5}
)

// restDataspace is where the REST routes keep incidents, since their
// requests name no dataspace: "default" when it is served, otherwise the
// first dataspace served (Config.Dataspaces), so that REST incidents are
// always ones the envelope API can reach.
func (s *Server) restDataspace() string {
	if slices.Contains(s.cfg.Dataspaces, "default") {
		return "default"
	}
	return s.cfg.Dataspaces[0]
}

// handleRestCreate is POST /api/incident and POST /api/v1/incident: an
// add-incident:v5 of the fields sent, in the caller's company's default
// network (the first network listing it).
func (s *Server) handleRestCreate(c echo.Context) error {
	return s.rest(c, "create", true, func(rc *restCaller, body map[string]any) (*handlers.Request, error) {
		data, _, err := restInput(body, true)
		if err != nil {
			return nil, err
		}
		network, ok := s.dir.DefaultNetwork(rc.CompanyID)
		if !ok {
			return nil, &restError{status: http.StatusConflict, code: "no_network",
				description: fmt.Sprintf("company %q belongs to no process network to create incidents in", rc.CompanyID)}
		}
		return &handlers.Request{Event: restAddEvent, NetworkID: network, Payload: data}, nil
	})
}

// handleRestGet is GET /api/v1/incident/{id}: a read-incident:v4 in the
// incident's own network.
func (s *Server) handleRestGet(c echo.Context) error {
	return s.rest(c, "read", false, func(_ *restCaller, _ map[string]any) (*handlers.Request, error) {
		return &handlers.Request{Event: restReadEvent, Payload: map[string]any{"id": c.Param("id")}}, nil
	})
}

// handleRestPatch is PATCH /api/v1/incident/{id}: an edit-incident:v5 of
// the fields sent (JSON merge patch: objects merged, anything else set),
// optionally pinned to a dataVersion, in the incident's own network.
func (s *Server) handleRestPatch(c echo.Context) error {
	return s.rest(c, "update", true, func(_ *restCaller, body map[string]any) (*handlers.Request, error) {
		data, version, err := restInput(body, false)
		if err != nil {
			return nil, err
		}
		data["id"] = c.Param("id")
		if version > 0 {
			data["dataVersion"] = json.Number(strconv.FormatInt(version, 10))
		}
		return &handlers.Request{Event: restEditEvent, Payload: data}, nil
	})
}

// restRead reads a request body within the gateway's body limit.
func (s *Server) restRead(c echo.Context) ([]byte, error) {
	r := c.Request()
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "application/json" {
		return nil, &restError{status: http.StatusUnsupportedMediaType, code: "unsupported_media_type",
			description: fmt.Sprintf("Content-Type %q is not supported; send the incident as application/json", r.Header.Get("Content-Type"))}
	}
	raw, err := s.readBody(c)
	if err != nil {
		return nil, restBodyError(err)
	}
	return raw, nil
}

// restBodyError is a body read error (readBody, readWithin) in the REST
// surface's JSON.
func restBodyError(err error) error {
	var ee *envelope.Error
	switch {
	case !errors.As(err, &ee):
		return err
	case ee.Kind == envelope.KindServiceUnavailable:
		return &oauth.Error{Status: http.StatusServiceUnavailable, Code: "temporarily_unavailable",
			Description: ee.Message, RetryAfter: ee.RetryAfter}
	}
	return &restError{status: ee.Kind.Status(), code: "invalid_request", description: ee.Message}
}

// restBody parses a JSON object body within the gateway's JSON shape
// limits, numbers kept as json.Number.
func restBody(c echo.Context, raw []byte) (map[string]any, error) {
	if err := envelope.CheckJSONLimits(raw); err != nil {
		return nil, &restError{status: http.StatusBadRequest, code: "invalid_request", description: err.Error()}
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var body map[string]any
	if err := dec.Decode(&body); err != nil || body == nil {
		return nil, &restError{status: http.StatusBadRequest, code: "invalid_request", description: "the body must be one JSON object"}
	}
	if dec.More() {
		return nil, &restError{status: http.StatusBadRequest, code: "invalid_request", description: "the body must be one JSON object, with nothing after it"}
	}
	return body, nil
}

// canonicalBody is the JSON of a request body in one spelling, for the
// idempotency hash: a retry whose client serialized the same content again
// (other whitespace, key order or escapes) is the same request. Numbers keep
// the digits they were written with. A body that is not JSON within the
// limits stays as it is; its request fails the same way every time.
func canonicalBody(raw []byte) []byte {
	if envelope.CheckJSONLimits(raw) != nil {
		return raw
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil || dec.More() {
		return raw
	}
	canonical, err := json.Marshal(v)
	if err != nil {
		return raw
	}
	return canonical
}

// rest runs one REST route as the catalogue event build makes of its body:
// bearer authentication, the rate limit, for a write the body and its
// Idempotency-Key, then Dispatch (the same lookup, authorization, schema,
// idempotency and handler as the envelope API's), and the answer: the
// incident the event created, changed or read as REST JSON, or an error as
// JSON, and the log line.
//
// A write with an Idempotency-Key is carried out once: the key belongs to
// the OAuth client and user that sent it, a retry is told from another
// request by the route and the body's JSON content, a retry gets the
// first answer again (with Idempotent-Replayed: true), and a retry after
// the first request died gets the answer rebuilt from the version it
// wrote, found by its license plate.
func (s *Server) rest(c echo.Context, route string, write bool, build func(rc *restCaller, body map[string]any) (*handlers.Request, error)) error {
	start := time.Now()
	client := c.Request().Context() // ends when the client hangs up
	ctx, cancel := s.withDeadline(c)
	defer cancel()
	if write {
		s.armBodyDeadline(c)
	}
	// The token is checked before a byte of the body is read.
	setStep(c, "checking the access token")
	rc, err := s.bearer(ctx, c.Request(), "")
	if err != nil {
		return s.restFail(c, start, route, "", "", err)
	}
	factsOf(c).caller = rc.Caller
	var res *handlers.Result // what Dispatch did, once it ran
	defer func() {
		if p := recover(); p != nil {
			// The key's lease ends at once, so that a retry takes it
			// over and finds out whether the change was made; the
			// panic goes on to recoverPanics, which answers.
			if res != nil {
				s.core.Finish(res, http.StatusInternalServerError, nil)
			}
			panic(p)
		}
	}()
	fail := func(err error) error {
		if errors.Is(err, context.Canceled) && client.Err() != nil {
			// Nobody is left to answer: log it as such, and give the
			// key back (any 5xx does) for the client's retry.
			if res != nil {
				s.core.Finish(res, http.StatusInternalServerError, nil)
			}
			s.restLog(start, c, route, statusClientClosed, rc.ClientID, rc.UserID, errClientClosed)
			return nil
		}
		status, body := s.errorAnswer(c, err)
		s.restLog(start, c, route, status, rc.ClientID, rc.UserID, err)
		return s.sendAndRecord(c, res, status, body)
	}
	if err := s.limits.Allow(rc.APIKey, rc.CompanyID); err != nil {
		return fail(err)
	}
	plate := envelope.NewLicensePlate()
	setPlate(c, plate)
	var body map[string]any
	key, hash := "", ""
	if write {
		setStep(c, "reading the body")
		raw, err := s.restRead(c)
		if errors.Is(err, errClientClosed) {
			s.restLog(start, c, route, statusClientClosed, rc.ClientID, rc.UserID, err)
			return nil
		} else if err != nil {
			return fail(err)
		}
		key = c.Request().Header.Get("Idempotency-Key")
		switch {
		case len(key) > envelope.MaxIdempotencyKeyLen:
			return fail(&restError{status: http.StatusBadRequest, code: "invalid_request",
				description: fmt.Sprintf("Idempotency-Key is %d bytes long, at most %d allowed", len(key), envelope.MaxIdempotencyKeyLen)})
		case !utf8.ValidString(key):
			return fail(&restError{status: http.StatusBadRequest, code: "invalid_request",
				description: "Idempotency-Key is not valid UTF-8; send a key of printable characters, such as a UUID"})
		}
		if body, err = restBody(c, raw); err != nil {
			return fail(err)
		}
		if key != "" {
			hash = restHash(c, rc, canonicalBody(raw))
		}
	}
	req, err := build(rc, body)
	if err != nil {
		return fail(err)
	}
	req.Caller, req.OwnerID, req.Dataspace, req.LicensePlate = rc.Caller, rc.CompanyID, s.restDataspace(), plate
	req.IdempotencyKey, req.Hash = key, hash
	req.Payload = restPayload(req.Payload)
	req.Detail = map[string]any{"api": c.Request().Method + " " + c.Path(), "clientId": rc.ClientID}
	setStep(c, "handling "+c.Request().Method+" "+c.Path())
	res = s.core.Dispatch(ctx, req)
	setPlate(c, res.LicensePlate)
	switch {
	case res.Replay != nil:
		c.Response().Header().Set("Idempotent-Replayed", "true")
		s.restLog(start, c, route, res.Replay.Status, rc.ClientID, rc.UserID, nil)
		return c.Blob(res.Replay.Status, echo.MIMEApplicationJSON, res.Replay.Body)
	case res.Err != nil:
		setStep(c, res.Step)
		return fail(res.Err)
	case res.Incident == nil:
		return fail(fmt.Errorf("%s named no incident to answer with", req.Event))
	}
	answer, err := json.Marshal(newRestIncident(res.Incident))
	if err != nil {
		return fail(err)
	}
	s.restLog(start, c, route, http.StatusOK, rc.ClientID, rc.UserID, nil)
	return s.sendAndRecord(c, res, http.StatusOK, answer)
}

// restPayload is a REST route's payload as a surface decodes one from JSON
// (numbers as json.Number), which the schema check and the handlers take.
func restPayload(p map[string]any) map[string]any {
	raw, err := json.Marshal(p)
	if err != nil {
		return p
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var out map[string]any
	if dec.Decode(&out) != nil {
		return p
	}
	return out
}

// restHash tells a REST retry from another request under the same key:
// the route, the incident it names, the caller's company, and the body's
// JSON content in one spelling.
func restHash(c echo.Context, rc *restCaller, canonical []byte) string {
	h := sha256.New()
	for _, part := range []string{"rest", c.Request().Method, c.Path(), c.Param("id"), rc.CompanyID} {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	h.Write(canonical)
	return hex.EncodeToString(h.Sum(nil))
}

// sendAndRecord sends a REST answer and flushes it to the client, then
// records it for the idempotency key res holds, if any: the record's write
// does not delay the answer.
func (s *Server) sendAndRecord(c echo.Context, res *handlers.Result, status int, body []byte) error {
	// With its length known, the answer is complete for the client once
	// flushed, before this handler returns.
	c.Response().Header().Set("Content-Length", strconv.Itoa(len(body)))
	err := c.Blob(status, echo.MIMEApplicationJSON, body)
	if res != nil && res.HoldsKey() {
		c.Response().Flush()
		s.core.Finish(res, status, body)
	}
	return err
}

// restFail answers err as JSON (see errorAnswer) and logs the request.
func (s *Server) restFail(c echo.Context, start time.Time, route, clientID, user string, err error) error {
	status, body := s.errorAnswer(c, err)
	s.restLog(start, c, route, status, clientID, user, err)
	return c.Blob(status, echo.MIMEApplicationJSON, body)
}

// errorAnswer turns err into a REST error answer: OAuth errors as RFC
// 6749/6750 say, field problems with the fields, SCWM errors with their
// status and message, and anything else as 500 (or 503 when the store is
// unavailable). It sets the answer's headers (WWW-Authenticate,
// Retry-After) and returns its status and body.
func (s *Server) errorAnswer(c echo.Context, err error) (int, []byte) {
	body := map[string]any{}
	var status int
	var oe *oauth.Error
	var re *restError
	switch {
	case errors.As(err, &oe):
		status = oe.Status
		body["error"], body["error_description"] = oe.Code, oe.Description
		if oe.Challenge != "" {
			c.Response().Header().Set("WWW-Authenticate", oe.Challenge)
		}
		retryAfter(c, oe.RetryAfter)
	case errors.As(err, &re):
		status = re.status
		body["error"], body["error_description"] = re.code, re.description
		if re.problems != nil {
			body["errors"] = re.problems
		}
	default:
		step, _ := c.Get(restStepKey).(string)
		plate, _ := c.Get(restPlateKey).(string)
		f := s.core.Failure(c.Request().Context(), err, step, plate)
		status = f.Kind.Status()
		body["error"], body["error_description"] = restErrorCode(f.Kind), f.Message
		retryAfter(c, f.RetryAfter)
	}
	factsOf(c).exception, _ = body["error"].(string)
	b, _ := json.Marshal(body)
	return status, b
}

// setPlate is the license plate of a REST request: in its context, for the
// message of an internal error, and in its answer's X-License-Plate, so
// that a client can quote it and find it in the activity history and the
// request journal.
func setPlate(c echo.Context, plate string) {
	c.Set(restPlateKey, plate)
	c.Response().Header().Set("X-License-Plate", plate)
}

// restErrorCode is the REST error code of a failure's kind: OAuth's words
// where RFC 6749 has them, the SCWM exceptionName otherwise.
func restErrorCode(k envelope.Kind) string {
	switch k {
	case envelope.KindServiceUnavailable:
		return "temporarily_unavailable"
	case envelope.KindInternal:
		return "server_error"
	}
	return k.ExceptionName()
}

// restPlateKey names, in the Echo context of a REST request, its license
// plate, for the message of an internal error.
const restPlateKey = "scwm.plate"

// restStepKey names, in the Echo context of a REST or OAuth request, what
// the request is doing (see setStep), for the answer when it times out.
const restStepKey = "scwm.step"

// setStep records what a REST or OAuth request is doing now.
func setStep(c echo.Context, step string) { c.Set(restStepKey, step) }

// withDeadline bounds the request by the request timeout and makes the
// bounded context the request's own, so that errorAnswer can tell the
// request's deadline from the store's.
func (s *Server) withDeadline(c echo.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(c.Request().Context(), s.cfg.RequestTimeout)
	c.SetRequest(c.Request().WithContext(ctx))
	return ctx, cancel
}

// retryAfter sets Retry-After, in whole seconds rounded up, when d > 0.
func retryAfter(c echo.Context, d time.Duration) {
	if d > 0 {
		c.Response().Header().Set("Retry-After", strconv.Itoa(int((d+time.Second-1)/time.Second)))
	}
}

// restLog writes the one log line of a REST request; tokens, passwords and
// secrets never appear in it.
func (s *Server) restLog(start time.Time, c echo.Context, route string, status int, clientID, user string, err error) {
	ev := s.log.Info()
	if status >= 500 {
		ev = s.log.Error()
	}
	ev = ev.Str("api", "rest").Str("route", route).Str("method", c.Request().Method).Str("path", c.Path()).
		Int("status", status).Dur("duration", time.Since(start))
	if clientID != "" {
		ev = ev.Str("clientId", clientID)
	}
	if user != "" {
		ev = ev.Str("userId", user)
	}
	if err != nil {
		ev = ev.Str("error", err.Error())
	}
	ev.Msg("rest request")
}

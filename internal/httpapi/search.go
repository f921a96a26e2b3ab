package httpapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/scwm-gateway/scwm-gateway/envelope"
	"github.com/scwm-gateway/scwm-gateway/handlers"
)

// The catalogue events the search and feed routes are.
var (
	restSearchEvent = envelope.EventName{App: aptApp, Action: "search-process", Version: 1}
	restFeedEvent   = envelope.EventName{App: aptApp, Action: "list-changes", Version: 1}
)

// searchParams maps the query parameters of the search routes onto the
// fields of search-process's payload; lists are comma-separated.
var searchParams = map[string]string{
	"kind": "processType", "state": "currentBaseState", "owner": "ownerId", "partner": "partnerId",
	"network": "processNetworkId", "priority": "businessPriority",
	"createdAfter": "createdAfter", "createdBefore": "createdBefore", "updatedAfter": "updatedAfter", "updatedBefore": "updatedBefore",
	"id": "aptBusinessObjectId", "q": "q", "sort": "sort", "order": "order", "limit": "limit", "cursor": "cursor",
}

// listParams are the parameters that take a comma-separated list.
var listParams = map[string]bool{"kind": true, "state": true}

// handleSearch is GET /api/v1/search: search-process over every network
// of the caller's company (or the one network= names), with the
// credentials of the envelope API (HTTP Basic API key, or a session token)
// or a REST access token. It answers {"items": [...records...], "next":
// "<cursor>" or null}.
func (s *Server) handleSearch(c echo.Context) error {
	return s.listRoute(c, restSearchEvent, searchParams, nil, func(answer any) (any, bool) {
		page, ok := answer.(*handlers.SearchPage)
		return page, ok
	})
}

// feedParams are the query parameters of GET /api/v1/changes.
var feedParams = map[string]string{"after": "after", "limit": "limit"}

// handleChanges is GET /api/v1/changes?after=<cursor>&limit=: the change
// feed (list-changes) over every network of the caller's company, with
// the credentials of handleSearch. It answers {"changes": [...], "next":
// "<cursor>"}; next is the cursor to send as after next time, also when
// there was no change.
func (s *Server) handleChanges(c echo.Context) error {
	return s.listRoute(c, restFeedEvent, feedParams, nil, func(answer any) (any, bool) {
		page, ok := answer.(*handlers.FeedPage)
		return page, ok
	})
}

// handleRestList is GET /api/v1/incident: the REST API's list of
// incidents, search-process of kind incident unless kind= says otherwise,
// each item the incident as GET /api/v1/incident/{id} answers it.
func (s *Server) handleRestList(c echo.Context) error {
	return s.listRoute(c, restSearchEvent, searchParams, map[string]any{"processType": "incident"}, func(answer any) (any, bool) {
		page, ok := answer.(*handlers.SearchPage)
		if !ok {
			return nil, false
		}
		items := make([]*restIncident, len(page.Objects))
		for i, inc := range page.Objects {
			items[i] = newRestIncident(inc)
		}
		return map[string]any{"items": items, "next": page.Next}, true
	})
}

// listRoute authenticates, reads the query parameters (params maps them
// to payload fields) into a payload over defaults, dispatches event and
// answers with the JSON of render's view of the answer, or an error in
// the REST API's JSON.
func (s *Server) listRoute(c echo.Context, event envelope.EventName, params map[string]string, defaults map[string]any, render func(any) (any, bool)) error {
	start := time.Now()
	ctx, cancel := s.withDeadline(c)
	defer cancel()
	plate := envelope.NewLicensePlate()
	setPlate(c, plate)
	route := event.Action
	setStep(c, "authenticating")
	caller, err := s.authenticate(ctx, c.Request())
	if err != nil {
		return s.restFail(c, start, route, "", "", err)
	}
	factsOf(c).caller = caller
	fail := func(err error) error { return s.restFail(c, start, route, caller.APIKey, caller.UserID, err) }
	if err := s.limits.Allow(caller.APIKey, caller.CompanyID); err != nil {
		return fail(err)
	}
	payload, err := queryPayload(c.QueryParams(), params, defaults)
	if err != nil {
		return fail(err)
	}
	setStep(c, "searching")
	res := s.core.Dispatch(ctx, &handlers.Request{Caller: caller, Event: event, OwnerID: caller.CompanyID,
		Dataspace: s.restDataspace(), Payload: restPayload(payload), LicensePlate: plate})
	if res.Err != nil {
		setStep(c, res.Step)
		return fail(res.Err)
	}
	view, ok := render(res.Payload)
	if !ok {
		return fail(fmt.Errorf("%s answered %T", event, res.Payload))
	}
	body, err := json.Marshal(view)
	if err != nil {
		return fail(err)
	}
	c.Response().Header().Set("X-License-Plate", plate)
	s.restLog(start, c, route, http.StatusOK, caller.APIKey, caller.UserID, nil)
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, body)
}

// queryPayload is the payload of the query parameters: each known one
// once, lists split at commas, limit a number; an unknown parameter is
// refused, so that a misspelt filter does not silently match everything.
func queryPayload(params map[string][]string, known map[string]string, defaults map[string]any) (map[string]any, error) {
	payload := map[string]any{}
	for k, v := range defaults {
		payload[k] = v
	}
	var problems []fieldProblem
	names := make([]string, 0, len(params))
	for name := range params {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		values := params[name]
		field, ok := known[name]
		switch {
		case !ok:
			problems = append(problems, fieldProblem{Field: name, Message: "is no parameter of this route; they are " + strings.Join(paramNames(known), ", ")})
			continue
		case len(values) != 1:
			problems = append(problems, fieldProblem{Field: name, Message: "is given more than once"})
			continue
		}
		v := values[0]
		switch {
		case listParams[name]:
			list := []any{}
			for _, item := range strings.Split(v, ",") {
				if item = strings.TrimSpace(item); item != "" {
					list = append(list, item)
				}
			}
			payload[field] = list
		case name == "limit":
			if v == "" || strings.Trim(v, "0123456789") != "" || len(v) > 6 {
				problems = append(problems, fieldProblem{Field: name, Message: "must be a whole number"})
				continue
			}
			payload[field] = json.Number(v)
		default:
			payload[field] = v
		}
	}
	if len(problems) > 0 {
		return nil, restValidation(problems)
	}
	return payload, nil
}

func paramNames(known map[string]string) []string {
	names := make([]string, 0, len(known))
	for n := range known {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

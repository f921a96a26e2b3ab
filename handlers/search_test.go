package handlers_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	gt "github.com/scwm-gateway/scwm-gateway/internal/gatewaytest"
)

const searchProcess = "agile-process-teams:search-process:v1"

// searchStart is the clock's time at the first write of searchWorld.
var searchStart = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

// searchPage is a page of search-process as a client reads it.
type searchPage struct {
	Items []struct {
		ID               string         `json:"id"`
		ObjectType       string         `json:"objectType"`
		OwnerID          string         `json:"ownerId"`
		CurrentBaseState string         `json:"currentBaseState"`
		Data             map[string]any `json:"data"`
	} `json:"items"`
	Next *string `json:"next"`
}

func (p searchPage) summaries() []string {
	out := []string{}
	for _, it := range p.Items {
		s, _ := it.Data["aptBusinessObjectSummary"].(string)
		out = append(out, s)
	}
	return out
}

func search(t *testing.T, h *gt.Harness, c gt.Client, payload map[string]any) searchPage {
	t.Helper()
	var p searchPage
	h.Send(t, c, searchProcess, payload).MustOK(t).Decode(t, &p)
	return p
}

// searchWorld: acme's incidents a (HIGH), b (submitted to supplier-1),
// c (closed), and a change; the clock moves a minute between writes, so
// that the order by last update is the order of these writes.
func searchWorld(t *testing.T) (*gt.Harness, map[string]string, *gt.Clock) {
	t.Helper()
	clock := gt.NewClock(searchStart)
	h := gt.Start(t, gt.Options{Seed: gt.RESTSeed(), Clock: clock})
	ids := map[string]string{}
	for _, inc := range []struct{ name, summary, priority string }{
		{"a", "Label misprint on carton", "HIGH"},
		{"b", "Temperature excursion in transit", "LOW"},
		{"c", "Missing EPCIS data", "MEDIUM"},
	} {
		ids[inc.name] = addOne(t, h, gt.Acme, map[string]any{"aptBusinessObjectSummary": inc.summary, "businessPriority": inc.priority})
		clock.Advance(time.Minute)
	}
	h.Send(t, gt.Acme, "agile-process-teams:edit-incident:v5", map[string]any{"id": ids["b"], "partnerCompany": map[string]any{"partnerId": "supplier-1"}}).MustOK(t)
	clock.Advance(time.Minute)
	h.Send(t, gt.Acme, "agile-process-teams:submit-incident-to-partner:v1", map[string]any{"id": ids["b"]}).MustOK(t)
	clock.Advance(time.Minute)
	h.Send(t, gt.Acme, "agile-process-teams:close-incident:v1", map[string]any{"id": ids["c"], "resolutionType": "Fixed"}).MustOK(t)
	clock.Advance(time.Minute)
	var change struct{ ID string }
	h.Send(t, gt.Acme, "agile-process-teams:add-change:v3", map[string]any{"aptBusinessObjectSummary": "Change the label supplier"}).MustOK(t).Decode(t, &change)
	ids["change"] = change.ID
	clock.Advance(time.Minute)
	return h, ids, clock
}

func TestSearchFindsWhatTheCallerMaySee(t *testing.T) {
	t.Parallel()
	h, _, _ := searchWorld(t)
	cases := []struct {
		name    string
		who     gt.Client
		payload map[string]any
		want    []string
	}{
		{"the owner, last updated first", gt.Acme, map[string]any{},
			[]string{"Change the label supplier", "Missing EPCIS data", "Temperature excursion in transit", "Label misprint on carton"}},
		{"oldest first by creation", gt.Acme, map[string]any{"sort": "creationDateTime", "order": "ASC"},
			[]string{"Label misprint on carton", "Temperature excursion in transit", "Missing EPCIS data", "Change the label supplier"}},
		{"the partner sees what was submitted to it", gt.Supplier, map[string]any{}, []string{"Temperature excursion in transit"}},
		{"another company sees nothing", gt.Other, map[string]any{}, []string{}},
		{"by kind", gt.Acme, map[string]any{"processType": "change"}, []string{"Change the label supplier"}},
		{"by state", gt.Acme, map[string]any{"currentBaseState": []any{"Closed"}}, []string{"Missing EPCIS data"}},
		{"by priority, in any case", gt.Acme, map[string]any{"businessPriority": "high"}, []string{"Label misprint on carton"}},
		{"by partner", gt.Acme, map[string]any{"partnerId": "supplier-1"}, []string{"Temperature excursion in transit"}},
		{"by number", gt.Acme, map[string]any{"aptBusinessObjectId": "INC-2"}, []string{"Temperature excursion in transit"}},
		{"by number of another kind", gt.Acme, map[string]any{"aptBusinessObjectId": "CHG-1"}, []string{"Change the label supplier"}},
		{"by words", gt.Acme, map[string]any{"q": "LABEL"}, []string{"Change the label supplier", "Label misprint on carton"}},
		{"by the start of words", gt.Acme, map[string]any{"q": "temp trans"}, []string{"Temperature excursion in transit"}},
		{"updated after", gt.Acme, map[string]any{"updatedAfter": json.Number(strconv.FormatInt(searchStart.UnixMilli(), 10))},
			[]string{"Change the label supplier", "Missing EPCIS data", "Temperature excursion in transit"}},
		{"a partner filtering by owner", gt.Supplier, map[string]any{"ownerId": "acme", "q": "excursion"}, []string{"Temperature excursion in transit"}},
		{"a partner's words do not find what it may not see", gt.Supplier, map[string]any{"q": "label"}, []string{}},
	}
	for _, tc := range cases {
		if got := search(t, h, tc.who, tc.payload).summaries(); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
	// Once the partner's access ends, it finds the incident no more.
	b := search(t, h, gt.Acme, map[string]any{"aptBusinessObjectId": "INC-2"}).Items[0].ID
	h.Send(t, gt.Acme, "agile-process-teams:edit-incident:v5", map[string]any{"id": b, "partnerCompany": nil}).MustOK(t)
	if got := search(t, h, gt.Supplier, map[string]any{}).summaries(); len(got) != 0 {
		t.Errorf("after the partner's access ended it finds %q", got)
	}
}

func TestSearchPagesWithACursor(t *testing.T) {
	t.Parallel()
	h, ids, _ := searchWorld(t)
	var seen []string
	payload := map[string]any{"limit": json.Number("1")}
	for i := 0; i < 10; i++ {
		p := search(t, h, gt.Acme, payload)
		seen = append(seen, p.summaries()...)
		if i == 0 {
			// An object not yet read changes: the pages that follow do
			// not show it a second time.
			h.Send(t, gt.Acme, "agile-process-teams:edit-incident:v5", map[string]any{"id": ids["a"], "aptBusinessObjectDescription": "moved"}).MustOK(t)
		}
		if p.Next == nil {
			break
		}
		payload["cursor"] = *p.Next
	}
	want := []string{"Change the label supplier", "Missing EPCIS data", "Temperature excursion in transit"}
	if !slices.Equal(seen, want) {
		t.Errorf("pages %q, want %q", seen, want)
	}
	// A cursor of another order, or one that is no cursor, is refused.
	first := search(t, h, gt.Acme, map[string]any{"limit": json.Number("1")})
	h.Send(t, gt.Acme, searchProcess, map[string]any{"cursor": *first.Next, "order": "asc"}).MustFail(t, 400, "SchemaValidationException")
	h.Send(t, gt.Acme, searchProcess, map[string]any{"cursor": "bm90IGEgY3Vyc29y"}).MustFail(t, 400, "SchemaValidationException")
}

func TestSearchRefusesWhatItCannotAnswer(t *testing.T) {
	t.Parallel()
	h, _, _ := searchWorld(t)
	for name, payload := range map[string]map[string]any{
		"an unknown number prefix": {"aptBusinessObjectId": "XYZ-1"},
		"a number of 0":            {"aptBusinessObjectId": "INC-0"},
		"a limit over 100":         {"limit": json.Number("101")},
		"no words in q":            {"q": "?!"},
		"too many words":           {"q": "a b c d e f g h i"},
		"an unknown kind":          {"processType": "spaceship"},
		"another network":          {"processNetworkId": "net-2"},
	} {
		if r := h.Send(t, gt.Acme, searchProcess, payload); r.Status != 400 || r.Header.ErrCode != "400" {
			t.Errorf("%s: %d %s", name, r.Status, r.Body)
		}
	}
}

func restSearch(t *testing.T, h *gt.Harness, path, auth string) *restAnswer {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, h.URL+path, nil)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	return restDo(t, req)
}

func TestSearchOverREST(t *testing.T) {
	t.Parallel()
	h, ids, _ := searchWorld(t)
	token, _ := login(t, h, gt.Tim)
	summaries := func(a *restAnswer, field string) []string {
		out := []string{}
		items, _ := a.Body["items"].([]any)
		for _, it := range items {
			m, _ := it.(map[string]any)
			if data, ok := m["data"].(map[string]any); ok {
				m = data
			}
			s, _ := m[field].(string)
			out = append(out, s)
		}
		return out
	}
	// With an API key, and with a REST token: the same objects.
	for _, auth := range []string{gt.Basic(gt.Acme), "Bearer " + token} {
		a := restSearch(t, h, "/api/v1/search?kind=incident&state=New,UnderInvestigation&q=label", auth)
		if a.Status != 200 || !slices.Equal(summaries(a, "aptBusinessObjectSummary"), []string{"Label misprint on carton"}) || a.Body["next"] != nil {
			t.Errorf("search with %s: %d %s", strings.Fields(auth)[0], a.Status, a.Raw)
		}
	}
	// The partner's view, paged.
	a := restSearch(t, h, "/api/v1/search?limit=1", gt.Basic(gt.Supplier))
	if a.Status != 200 || !slices.Equal(summaries(a, "aptBusinessObjectSummary"), []string{"Temperature excursion in transit"}) {
		t.Errorf("the partner's search: %d %s", a.Status, a.Raw)
	}
	// The ServiceOps-style list: incidents as GET /api/v1/incident/{id} answers them.
	a = restSearch(t, h, "/api/v1/incident?limit=2", "Bearer "+token)
	if a.Status != 200 || !slices.Equal(summaries(a, "subject"), []string{"Missing EPCIS data", "Temperature excursion in transit"}) || a.Body["next"] == nil {
		t.Errorf("GET /api/v1/incident: %d %s", a.Status, a.Raw)
	}
	next := url.QueryEscape(a.Body["next"].(string))
	a = restSearch(t, h, "/api/v1/incident?limit=2&cursor="+next, "Bearer "+token)
	if got := summaries(a, "subject"); !slices.Equal(got, []string{"Label misprint on carton"}) || a.Body["next"] != nil {
		t.Errorf("the second page: %q %s", got, a.Raw)
	}
	one := restSearch(t, h, "/api/v1/incident?id=INC-1", "Bearer "+token)
	if items, _ := one.Body["items"].([]any); len(items) != 1 || items[0].(map[string]any)["id"] != ids["a"] {
		t.Errorf("GET /api/v1/incident?id=INC-1: %s", one.Raw)
	}
	// What a client gets wrong is a 400 naming it; no credentials a 401.
	for path, status := range map[string]int{
		"/api/v1/search?stat=New":          400,
		"/api/v1/search?limit=ten":         400,
		"/api/v1/search?limit=1&limit=2":   400,
		"/api/v1/search?id=XYZ-1":          400,
		"/api/v1/search?updatedAfter=soon": 400,
	} {
		if a := restSearch(t, h, path, gt.Basic(gt.Acme)); a.Status != status || a.Body["error"] == nil {
			t.Errorf("%s: %d %s", path, a.Status, a.Raw)
		}
	}
	if a := restSearch(t, h, "/api/v1/search", ""); a.Status != 401 {
		t.Errorf("no credentials: %d %s", a.Status, a.Raw)
	}
	if a := restSearch(t, h, "/api/v1/search", gt.Basic(gt.Other)); a.Status != 200 || len(a.Body["items"].([]any)) != 0 {
		t.Errorf("another company: %d %s", a.Status, a.Raw)
	}
}

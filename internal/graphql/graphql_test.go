package graphql_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/99designs/gqlgen/graphql/introspection"

	"github.com/scwm-gateway/scwm-gateway/envelope"
	"github.com/scwm-gateway/scwm-gateway/handlers"
	gt "github.com/scwm-gateway/scwm-gateway/internal/gatewaytest"
	"github.com/scwm-gateway/scwm-gateway/internal/graphql"
	"github.com/scwm-gateway/scwm-gateway/store"
)

// seed is the REST seed with master data and users named as the API
// clients' users, so that every relation has something to lead to.
func seed() *store.Seed {
	s := gt.RESTSeed()
	s.Companies[0].MasterData = &store.CompanyMasterData{BusinessName: "Acme Pharma",
		Identifiers: []store.Identifier{{Type: "GLN", Value: "0614141000005"}},
		Address:     &store.Address{Address1: "1 Main St", City: "Boston", Country: "US"},
		Products: []store.ProductMasterData{{ID: "aspirin-100", Name: "Aspirin 100 mg", Strength: "100 mg",
			ItemCodes: []store.Identifier{{Type: "US_NDC532", Value: "12345-678-90"}}}}}
	s.Companies[1].MasterData = &store.CompanyMasterData{BusinessName: "Supplier One",
		Identifiers: []store.Identifier{{Type: "GLN", Value: "7612345000008"}},
		Locations: []store.LocationMasterData{{ID: "supplier-dc", BusinessName: "Supplier DC", LocationType: "Distribution",
			Address: &store.Address{City: "Basel", Country: "CH"}}}}
	s.Companies[2].MasterData = &store.CompanyMasterData{BusinessName: "Other Co",
		Products: []store.ProductMasterData{{ID: "other-pill", Name: "Other pill"}}}
	s.Users = append(s.Users,
		store.SeedUser{Username: "alice@acme.example", ID: "alice", Password: "alice-password-1", CompanyID: "acme", Name: "Alice Archer"},
		store.SeedUser{Username: "sam@supplier.example", ID: "sam", Password: "sam-password-1", CompanyID: "supplier-1", Name: "Sam Smith"},
		store.SeedUser{Username: "olga@other.example", ID: "olga", Password: "olga-password-1", CompanyID: "other-co", Name: "Olga Orlova"})
	return s
}

func start(t *testing.T) *gt.Harness {
	t.Helper()
	return gt.Start(t, gt.Options{Seed: seed()})
}

// answer is a GraphQL response as a client reads it.
type answer struct {
	Status int
	Raw    []byte
	Data   map[string]json.RawMessage `json:"data"`
	Errors []struct {
		Message    string         `json:"message"`
		Path       []any          `json:"path"`
		Extensions map[string]any `json:"extensions"`
	} `json:"errors"`
}

// exception is the exceptionName of the first error, "" without errors.
func (a *answer) exception() string {
	if len(a.Errors) == 0 {
		return ""
	}
	s, _ := a.Errors[0].Extensions["exceptionName"].(string)
	return s
}

// post sends a raw body to /api/graphql.
func post(t *testing.T, h *gt.Harness, auth string, headers map[string]string, body []byte) *answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, h.URL+"/api/graphql", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	return do(t, req)
}

func do(t *testing.T, req *http.Request) *answer {
	t.Helper()
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	a := &answer{Status: resp.StatusCode, Raw: raw}
	if err := json.Unmarshal(raw, a); err != nil {
		t.Fatalf("answer %d is not a GraphQL response: %v\n%s", resp.StatusCode, err, raw)
	}
	if resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("Content-Type %q", resp.Header.Get("Content-Type"))
	}
	return a
}

// query sends query with variables as client c, with the headers
// TraceLink's scripts send.
func query(t *testing.T, h *gt.Harness, c gt.Client, q string, vars map[string]any) *answer {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": q, "variables": vars})
	return post(t, h, gt.Basic(c), map[string]string{"Dataspace": "default", "companyId": c.CompanyID, "processNetworkId": c.NetworkID}, body)
}

const actionQuery = `mutation Act($action: String!, $payload: JSON!) { genericActionCall(action: $action, payload: $payload) { result licensePlate warnings } }`

// act calls an action and returns its decoded result, failing the test
// on an error.
func act(t *testing.T, h *gt.Harness, c gt.Client, action string, payload map[string]any) (map[string]any, string) {
	t.Helper()
	a := query(t, h, c, actionQuery, map[string]any{"action": action, "payload": payload})
	if len(a.Errors) > 0 || a.Status != http.StatusOK {
		t.Fatalf("%s: %d %s", action, a.Status, a.Raw)
	}
	var res struct {
		Result       string `json:"result"`
		LicensePlate string `json:"licensePlate"`
	}
	if err := json.Unmarshal(a.Data["genericActionCall"], &res); err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal([]byte(res.Result), &out); err != nil {
		t.Fatalf("result %q is not JSON: %v", res.Result, err)
	}
	return out, res.LicensePlate
}

const readQuery = `query Read($type: String!, $id: String!) { genericGetObject(type: $type, id: $id) { ... on ALL_RETURNS { ... on Incident {
  id currentBaseState dataVersion
  data { aptBusinessObjectId aptBusinessObjectSummary businessPriority incidentType resolutionDueDate referenceIdentifiers { value referenceTransactionType } incidentConclusion { dateClosed resolutionType closingStatement } }
  aptBusinessObjectContainsComment { to { ... on AptComment { id data { commentText visibilityType } } } }
  aptBusinessObjectCompanyAssignedUser { to { ... on User { id data { givenName surname email } } } }
  aptBusinessObjectPartnerOwnerUser { to { ... on User { id data { givenName surname email } } } }
  aptBusinessObjectAssignedToCompanyPartnerMasterData { to { __typename ... on PartnerMasterData { id data { businessMasterDataCommon { businessName } } } } }
  aptBusinessObjectPrimaryPartnerLocationMasterData { to { ... on PartnerLocationMasterData { id data { businessMasterDataCommon { businessName businessAddress { city country } } } } } }
  issueRelatedToImpactedProductDetail { impactedLots to { ... on ProductMasterData { id data { productItemInformation { productName strength } } } } }
  aptBusinessObjectBelongsToProcessNetwork { to { ... on ProcessNetwork { id } } }
} } } }`

// read reads an incident with its relations as client c.
func read(t *testing.T, h *gt.Harness, c gt.Client, id string) (map[string]any, *answer) {
	t.Helper()
	a := query(t, h, c, readQuery, map[string]any{"type": "Incident", "id": id})
	var obj map[string]any
	if raw := a.Data["genericGetObject"]; raw != nil {
		if err := json.Unmarshal(raw, &obj); err != nil {
			t.Fatal(err)
		}
	}
	return obj, a
}

// path digs into decoded JSON: keys of objects, indexes of arrays.
func path(v any, steps ...any) any {
	for _, s := range steps {
		switch k := s.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			l, _ := v.([]any)
			if k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

// sharedIncident is an incident of acme submitted to supplier-1, naming
// users of both, a product, the partner's location, and one public and one
// internal comment.
func sharedIncident(t *testing.T, h *gt.Harness) string {
	t.Helper()
	out, _ := act(t, h, gt.Acme, "Addincident", map[string]any{
		"aptBusinessObjectSummary": "Label misprint", "businessPriority": "high", "incidentType": "LABEL_COMPLIANCE_ERROR",
		"resolutionDueDate": "1736613281000", "isSubmittedToPartner": true, "partnerCompany": map[string]any{"partnerId": "supplier-1"},
		"responsibleEntity":             map[string]any{"partnerId": "supplier-dc"},
		"currentlyAssignedCompanyUsers": []any{"alice", "olga", "nobody"}, "responsiblePartyAtPartner": "sam",
		"impactedProducts":     []any{map[string]any{"productDetailId": "aspirin-100", "impactedLots": "L-1"}, map[string]any{"productDetailId": "other-pill"}},
		"referenceIdentifiers": []any{map[string]any{"referenceTransactionType": "PO", "value": "4711"}, "just-a-string"},
		"aptCommentBox": []any{
			map[string]any{"aptComment": map[string]any{"commentText": "for everyone", "visibilityType": "Public"}},
			map[string]any{"aptComment": map[string]any{"commentText": "acme only", "visibilityType": "Internal"}},
		},
	})
	id, _ := out["id"].(string)
	if id == "" {
		t.Fatalf("add answered %v", out)
	}
	return id
}

func TestGetObjectResolvesDataAndRelations(t *testing.T) {
	t.Parallel()
	h := start(t)
	id := sharedIncident(t, h)
	obj, a := read(t, h, gt.Acme, id)
	if len(a.Errors) > 0 {
		t.Fatalf("read: %s", a.Raw)
	}
	want := map[string]any{
		"id": id, "currentBaseState": "New",
		"data.aptBusinessObjectSummary": "Label misprint", "data.businessPriority": "HIGH", "data.incidentType": "LABEL_COMPLIANCE_ERROR",
		"data.resolutionDueDate":                                 "1736613281000",
		"data.referenceIdentifiers.0.value":                      "4711",
		"data.referenceIdentifiers.1":                            nil, // a string where the schema's object is: no fields to show
		"aptBusinessObjectContainsComment.0.to.data.commentText": "for everyone",
		"aptBusinessObjectContainsComment.1.to.data.commentText": "acme only",
		// olga is of another company and nobody is no user: neither is shown.
		"aptBusinessObjectCompanyAssignedUser.0.to.id":                                                              "alice",
		"aptBusinessObjectCompanyAssignedUser.0.to.data.givenName":                                                  "Alice",
		"aptBusinessObjectCompanyAssignedUser.0.to.data.surname":                                                    "Archer",
		"aptBusinessObjectCompanyAssignedUser.0.to.data.email":                                                      "alice@acme.example",
		"aptBusinessObjectCompanyAssignedUser.1":                                                                    nil,
		"aptBusinessObjectPartnerOwnerUser.0.to.data.surname":                                                       "Smith",
		"aptBusinessObjectPartnerOwnerUser.0.to.data.email":                                                         nil, // another company's address is not shown
		"aptBusinessObjectAssignedToCompanyPartnerMasterData.0.to.__typename":                                       "PartnerMasterData",
		"aptBusinessObjectAssignedToCompanyPartnerMasterData.0.to.data.businessMasterDataCommon.businessName":       "Supplier One",
		"aptBusinessObjectPrimaryPartnerLocationMasterData.0.to.data.businessMasterDataCommon.businessAddress.city": "Basel",
		"issueRelatedToImpactedProductDetail.0.impactedLots":                                                        "L-1",
		"issueRelatedToImpactedProductDetail.0.to.data.productItemInformation.productName":                          "Aspirin 100 mg",
		"issueRelatedToImpactedProductDetail.1.to":                                                                  nil, // other-co's product: not visible to acme
		"aptBusinessObjectBelongsToProcessNetwork.0.to.id":                                                          "net-1",
	}
	for p, w := range want {
		if got := path(obj, steps(p)...); fmt.Sprint(got) != fmt.Sprint(w) && !(w == nil && got == nil) {
			t.Errorf("%s = %v, want %v", p, got, w)
		}
	}
	if n := len(path(obj, "aptBusinessObjectContainsComment").([]any)); n != 2 {
		t.Errorf("the owner sees %d comments, want 2", n)
	}
	if v, ok := path(obj, "dataVersion").(float64); !ok || v != 1 {
		t.Errorf("dataVersion = %v, want the number 1", path(obj, "dataVersion"))
	}
}

// steps splits "a.0.b" into keys and indexes.
func steps(p string) []any {
	var out []any
	for _, s := range strings.Split(p, ".") {
		var n int
		if _, err := fmt.Sscanf(s, "%d", &n); err == nil && fmt.Sprint(n) == s {
			out = append(out, n)
		} else {
			out = append(out, s)
		}
	}
	return out
}

func TestGetObjectKeepsVisibility(t *testing.T) {
	t.Parallel()
	h := start(t)
	id := sharedIncident(t, h)

	// The partner sees the incident, its public comment only, and its own
	// user's e-mail address.
	obj, a := read(t, h, gt.Supplier, id)
	if len(a.Errors) > 0 {
		t.Fatalf("partner read: %s", a.Raw)
	}
	comments := path(obj, "aptBusinessObjectContainsComment").([]any)
	if len(comments) != 1 || path(comments, 0, "to", "data", "commentText") != "for everyone" {
		t.Errorf("the partner sees comments %v, want only the public one", comments)
	}
	if got := path(obj, "aptBusinessObjectPartnerOwnerUser", 0, "to", "data", "email"); got != "sam@supplier.example" {
		t.Errorf("the partner's own user's email = %v", got)
	}
	if got := path(obj, "aptBusinessObjectCompanyAssignedUser", 0, "to", "data", "email"); got != nil {
		t.Errorf("the partner sees the owner's user's email %v", got)
	}

	// A company that is no party to it gets null and the read's error,
	// exactly as for an id that does not exist.
	for _, probe := range []string{id, "00000000-0000-0000-0000-00000000beef"} {
		obj, a := read(t, h, gt.Other, probe)
		if obj != nil || a.exception() != "ObjectNotFoundException" || a.Status != http.StatusOK {
			t.Fatalf("outsider read of %s: %d %s", probe, a.Status, a.Raw)
		}
		if a.Errors[0].Extensions["licensePlate"] == "" || a.Errors[0].Extensions["errCode"] != "404" {
			t.Errorf("the error has no plate or errCode: %v", a.Errors[0].Extensions)
		}
		if strings.Contains(string(a.Raw), "Label misprint") {
			t.Errorf("the outsider's answer holds the incident's data: %s", a.Raw)
		}
	}

	// And the outsider may not act as acme through the companyId header.
	body, _ := json.Marshal(map[string]any{"query": readQuery, "variables": map[string]any{"type": "Incident", "id": id}})
	a = post(t, h, gt.Basic(gt.Other), map[string]string{"companyId": "acme", "processNetworkId": "net-1"}, body)
	if a.exception() != "AuthorizationException" || strings.Contains(string(a.Raw), "Label misprint") {
		t.Errorf("acting as another company: %s", a.Raw)
	}
}

func TestActionCallIsTheEnvelopeDispatch(t *testing.T) {
	t.Parallel()
	h := start(t)
	id := sharedIncident(t, h)

	// An edit through GraphQL is in the activity history with its plate,
	// and the envelope read sees what it wrote.
	edited, plate := act(t, h, gt.Acme, "Editincident", map[string]any{"id": id, "aptBusinessObjectDescription": "edited over GraphQL"})
	if edited["id"] != id || plate == "" {
		t.Fatalf("edit answered %v, plate %q", edited, plate)
	}
	history, _ := act(t, h, gt.Acme, "Getactivityhistoryforincident", map[string]any{"processId": id, "processType": "incident"})
	if !strings.Contains(fmt.Sprint(history), plate) {
		t.Errorf("the history %v lacks the edit's plate %s", history, plate)
	}
	rec := h.Send(t, gt.Acme, "agile-process-teams:read-incident:v4", map[string]any{"id": id}).MustOK(t)
	if !strings.Contains(string(rec.Payload), "edited over GraphQL") {
		t.Errorf("the envelope read does not see the edit: %s", rec.Payload)
	}

	// A payload that fails its schema fails as the envelope's does.
	a := query(t, h, gt.Acme, actionQuery, map[string]any{"action": "Editincident", "payload": map[string]any{"id": id, "businessPriority": "URGENT"}})
	env := h.Send(t, gt.Acme, "agile-process-teams:edit-incident:v5", map[string]any{"id": id, "businessPriority": "URGENT"})
	if a.exception() != "SchemaValidationException" || env.Header.ErrCode != "400" || a.Errors[0].Message != env.Header.ErrMsg {
		t.Errorf("GraphQL %s\nenvelope %s", a.Raw, env.Body)
	}
	if string(a.Data["genericActionCall"]) != "null" {
		t.Errorf("a failed action has data %s", a.Data["genericActionCall"])
	}

	// A version is chosen with eventVersion or a suffix; one that is not
	// served is the envelope's UnsupportedEventException.
	out, _ := act(t, h, gt.Acme, "Adddirectsupplierincident:v2", map[string]any{"aptBusinessObjectSummary": "older version"})
	if out["id"] == nil {
		t.Errorf("add v2: %v", out)
	}
	a = query(t, h, gt.Acme, actionQuery, map[string]any{"action": "Addincident", "payload": map[string]any{"aptBusinessObjectSummary": "x", "eventVersion": 99}})
	if a.exception() != "UnsupportedEventException" || !strings.Contains(a.Errors[0].Message, "v99") {
		t.Errorf("eventVersion 99: %s", a.Raw)
	}

	// Literals and variables inside a literal payload are both read.
	a = query(t, h, gt.Acme, `query($gln: String!) { genericActionCall(action: "Getcompanybyidentifier", payload: {regulatoryCompanyIdentifierValue: $gln, regulatoryCompanyIdentifierType: "GLN"}) { result } }`,
		map[string]any{"gln": "7612345000008"})
	if len(a.Errors) > 0 || !strings.Contains(string(a.Data["genericActionCall"]), "Supplier One") {
		t.Errorf("partner by Getcompanybyidentifier: %s", a.Raw)
	}
}

func TestEveryEventHasItsActionName(t *testing.T) {
	t.Parallel()
	h := start(t)
	for _, ev := range h.Gateway.Registry().Events() {
		name := graphql.ActionName(ev.Name)
		if name == "" || strings.ContainsAny(name, "-:") || name[:1] != strings.ToUpper(name[:1]) {
			t.Errorf("%s: action name %q", ev.Name, name)
		}
		// An empty payload reaches the event: its own schema (or handler)
		// answers, never "unknown action".
		a := query(t, h, gt.Other, actionQuery, map[string]any{"action": fmt.Sprintf("%s:v%d", name, ev.Name.Version), "payload": map[string]any{}})
		if a.exception() == "UnsupportedEventException" || a.Status != http.StatusOK {
			t.Errorf("%s as %s: %d %s", ev.Name, name, a.Status, a.Raw)
		}
	}
	for _, name := range []string{"Addincident", "Getcompanybyidentifier", "Listcommentsforincident", "Getactivityhistoryforincident", "GenerateapiKeyCredentials", "Addsubtasktotask", "Editdirectsupplierincident", "Addcommentforchange"} {
		a := query(t, h, gt.Other, actionQuery, map[string]any{"action": name, "payload": map[string]any{}})
		if a.exception() == "UnsupportedEventException" {
			t.Errorf("the scripts' action %s is unknown: %s", name, a.Raw)
		}
	}
}

func TestIntrospectionWithTheStandardQuery(t *testing.T) {
	t.Parallel()
	h := start(t)
	a := query(t, h, gt.Acme, introspection.NewQuery(introspection.QueryOptions{}), nil)
	if len(a.Errors) > 0 {
		t.Fatalf("introspection: %s", a.Raw)
	}
	var s struct {
		QueryType    struct{ Name string } `json:"queryType"`
		MutationType struct{ Name string } `json:"mutationType"`
		Types        []struct {
			Name          string
			Kind          string
			Fields        []struct{ Name string }
			PossibleTypes []struct{ Name string }
		}
	}
	if err := json.Unmarshal(a.Data["__schema"], &s); err != nil {
		t.Fatal(err)
	}
	if s.QueryType.Name != "Query" || s.MutationType.Name != "Mutation" {
		t.Errorf("root types %+v %+v", s.QueryType, s.MutationType)
	}
	types := map[string][]string{}
	for _, ty := range s.Types {
		for _, f := range ty.Fields {
			types[ty.Name] = append(types[ty.Name], f.Name)
		}
		for _, p := range ty.PossibleTypes {
			types[ty.Name] = append(types[ty.Name], p.Name)
		}
	}
	for _, kind := range []string{"Incident", "DirectSupplierIncident", "IndirectSupplierIncident", "ExternalManufacturingIncident",
		"InternalManufacturingIncident", "ComplianceException", "Change", "DocumentReview", "Task", "SubTask", "TaskTemplate", "SubTaskTemplate", "AptComment"} {
		if !slices.Contains(types["ALL_RETURNS"], kind) {
			t.Errorf("ALL_RETURNS lacks %s", kind)
		}
	}
	if !slices.Contains(types["Query"], "genericActionCall") || !slices.Contains(types["Mutation"], "genericActionCall") {
		t.Errorf("Query %v, Mutation %v", types["Query"], types["Mutation"])
	}
}

// The data types come from the payload schemas: every property of every
// served version of an event that writes an object's data is a field.
func TestDataTypesFollowThePayloadSchemas(t *testing.T) {
	t.Parallel()
	h := start(t)
	for _, spec := range h.Gateway.KindSpecs() {
		typ := strings.ToUpper(spec.Name[:1]) + spec.Name[1:] + "Data"
		a := query(t, h, gt.Acme, `query($n: String!) { __type(name: $n) { fields { name } } }`, map[string]any{"n": typ})
		var ty struct{ Fields []struct{ Name string } }
		if err := json.Unmarshal(a.Data["__type"], &ty); err != nil || len(ty.Fields) == 0 {
			t.Fatalf("%s: %s", typ, a.Raw)
		}
		var fields []string
		for _, f := range ty.Fields {
			fields = append(fields, f.Name)
		}
		for prop := range spec.Data.Properties {
			if !slices.Contains(fields, prop) {
				t.Errorf("%s lacks %s", typ, prop)
			}
		}
		for _, f := range []string{"aptBusinessObjectId", "aptBusinessObjectSummary"} {
			if !slices.Contains(fields, f) && spec.Name != "subTask" && spec.Name != "subTaskTemplate" && spec.Name != "taskTemplate" {
				t.Errorf("%s lacks %s", typ, f)
			}
		}
	}
}

func TestSessionTokenMintsAKeyOverGraphQL(t *testing.T) {
	t.Parallel()
	h := start(t)
	form := url.Values{"grant_type": {"password"}, "username": {gt.Tim.Username}, "password": {gt.Tim.Password}}
	req, _ := http.NewRequest(http.MethodPost, h.URL+"/api/oauth/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(gt.Tim.ClientID, gt.Tim.ClientSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	if tok.AccessToken == "" {
		t.Fatalf("login: %d", resp.StatusCode)
	}
	body, _ := json.Marshal(map[string]any{"query": actionQuery, "variables": map[string]any{"action": "GenerateapiKeyCredentials", "payload": map[string]any{}}})
	a := post(t, h, "Bearer "+tok.AccessToken, map[string]string{"companyId": envelope.OwnCompany, "appName": "user-admin"}, body)
	var res struct{ Result string }
	_ = json.Unmarshal(a.Data["genericActionCall"], &res)
	var minted struct{ APIKey, APISecret string }
	if err := json.Unmarshal([]byte(res.Result), &minted); err != nil || minted.APIKey == "" {
		t.Fatalf("mint: %s", a.Raw)
	}
	key := gt.Client{APIKey: minted.APIKey, APISecret: minted.APISecret, CompanyID: "acme", NetworkID: "net-1"}
	out, _ := act(t, h, key, "Addincident", map[string]any{"aptBusinessObjectSummary": "with a minted key"})
	if out["id"] == nil {
		t.Errorf("the minted key: %v", out)
	}
}

func TestBadInputIsAGraphQLErrorWithTheEnvelopesException(t *testing.T) {
	t.Parallel()
	h := start(t)
	auth := gt.Basic(gt.Acme)
	deep := "query { genericGetObject(type: \"Incident\", id: \"x\") { ... on Incident { data { " + strings.Repeat("incidentImpact { ", 30) + "x" + strings.Repeat(" }", 30) + " } } } }"
	var aliases strings.Builder
	aliases.WriteString("mutation {")
	for i := 0; i < 25; i++ {
		fmt.Fprintf(&aliases, " a%d: genericActionCall(action: \"Addincident\", payload: {aptBusinessObjectSummary: \"x\"}) { result }", i)
	}
	aliases.WriteString(" }")
	// Each fragment spreads the next twice: 2^18 fields once expanded.
	var bomb strings.Builder
	bomb.WriteString("query { genericGetObject(type: \"Incident\", id: \"x\") { ...F0 } }\n")
	for i := 0; i < 18; i++ {
		fmt.Fprintf(&bomb, "fragment F%d on ALL_RETURNS { ...F%d ... on Incident { id } ...F%d }\n", i, i+1, i+1)
	}
	bomb.WriteString("fragment F18 on ALL_RETURNS { __typename }\n")
	wide := "query { genericGetObject(type: \"Incident\", id: \"x\") { ... on Incident { " + strings.Repeat("aptBusinessObjectContainsComment { to { __typename } } ", 500) + " } } }"
	gql := func(q string, vars any) []byte {
		b, _ := json.Marshal(map[string]any{"query": q, "variables": vars})
		return b
	}
	cases := []struct {
		name, auth string
		body       []byte
		status     int
		exception  string
	}{
		{"not JSON", auth, []byte(`{"query": `), 400, "MalformedEnvelopeException"},
		{"not GraphQL", auth, gql("query { genericActionCall(", nil), 200, "MalformedEnvelopeException"},
		{"unknown field", auth, gql("query { nothing }", nil), 200, "MalformedEnvelopeException"},
		{"no query", auth, []byte(`{"variables": {}}`), 400, "MalformedEnvelopeException"},
		{"variables not an object", auth, []byte(`{"query": "query { __typename }", "variables": [1]}`), 400, "MalformedEnvelopeException"},
		{"unknown operation", auth, []byte(`{"query": "query A { __typename }", "operationName": "B"}`), 200, "MalformedEnvelopeException"},
		{"unknown action", auth, gql(actionQuery, map[string]any{"action": "Launchrocket", "payload": map[string]any{}}), 200, "UnsupportedEventException"},
		{"payload not an object", auth, gql(actionQuery, map[string]any{"action": "Addincident", "payload": []any{1}}), 200, "SchemaValidationException"},
		{"payload fails its schema", auth, gql(actionQuery, map[string]any{"action": "Addincident", "payload": map[string]any{}}), 200, "SchemaValidationException"},
		{"unknown type", auth, gql(readQuery, map[string]any{"type": "Spaceship", "id": "x"}), 200, "UnsupportedEventException"},
		{"a variable of the wrong type", auth, gql(readQuery, map[string]any{"type": 7, "id": "x"}), 200, "MalformedEnvelopeException"},
		{"too deep", auth, gql(deep, nil), 200, "MalformedEnvelopeException"},
		{"too many actions", auth, gql(aliases.String(), nil), 200, "MalformedEnvelopeException"},
		{"a fragment bomb", auth, gql(bomb.String(), nil), 200, "MalformedEnvelopeException"},
		{"too complex", auth, gql(wide, nil), 200, "MalformedEnvelopeException"},
		{"too many tokens", auth, gql("query { "+strings.Repeat("a ", 30000)+"}", nil), 200, "MalformedEnvelopeException"},
		{"huge variables", auth, gql(readQuery, map[string]any{"type": "Incident", "id": strings.Repeat("x", 2<<20)}), 413, "PayloadTooLargeException"},
		{"nested variables", auth, []byte(`{"query": "query { __typename }", "variables": {"v": ` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}}`), 400, "MalformedEnvelopeException"},
		{"batching", auth, []byte(`[{"query": "query { __typename }"}, {"query": "query { __typename }"}]`), 400, "MalformedEnvelopeException"},
		{"no credentials", "", gql("query { __typename }", nil), 401, "AuthenticationException"},
		{"wrong secret", "Basic " + base64.StdEncoding.EncodeToString([]byte("acme-key:wrong")), gql("query { __typename }", nil), 401, "AuthenticationException"},
		{"a token that is no token", "Bearer not-a-token", gql("query { __typename }", nil), 401, "AuthenticationException"},
	}
	for _, tc := range cases {
		a := post(t, h, tc.auth, nil, tc.body)
		if a.Status != tc.status || a.exception() != tc.exception {
			t.Errorf("%s: %d %s, want %d %s", tc.name, a.Status, trim(a.Raw), tc.status, tc.exception)
		}
	}
	// None of the refused actions ran.
	if got := gt.StoredIncidents(t, h.Store, "default", "acme"); len(got) != 0 {
		t.Errorf("refused operations stored %d incidents", len(got))
	}

	req, _ := http.NewRequest(http.MethodGet, h.URL+"/api/graphql?query=%7B__typename%7D", nil)
	req.Header.Set("Authorization", auth)
	if a := do(t, req); a.Status != http.StatusMethodNotAllowed || a.exception() != "MethodNotAllowedException" {
		t.Errorf("GET: %d %s", a.Status, a.Raw)
	}
	req, _ = http.NewRequest(http.MethodPost, h.URL+"/api/graphql", strings.NewReader("query { __typename }"))
	req.Header.Set("Authorization", auth)
	req.Header.Set("Content-Type", "application/graphql")
	if a := do(t, req); a.Status != http.StatusUnsupportedMediaType || a.exception() != "UnsupportedMediaTypeException" {
		t.Errorf("application/graphql: %d %s", a.Status, a.Raw)
	}
}

func trim(b []byte) string {
	if len(b) > 400 {
		return string(b[:400]) + "..."
	}
	return string(b)
}

// An operation of several calls spends the caller's rate budget as that
// many envelopes would: aliases do not multiply it.
func TestEveryCallOfAnOperationIsRateLimited(t *testing.T) {
	t.Parallel()
	clock := gt.NewClock(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC))
	h := gt.Start(t, gt.Options{Seed: seed(), Clock: clock, Config: handlers.Config{RateLimit: 1, RateBurst: 3}})
	var q strings.Builder
	q.WriteString("mutation {")
	for i := 0; i < 5; i++ {
		fmt.Fprintf(&q, " a%d: genericActionCall(action: \"Addincident\", payload: {aptBusinessObjectSummary: \"n%d\"}) { result }", i, i)
	}
	q.WriteString(" }")
	a := query(t, h, gt.Acme, q.String(), nil)
	var limited []string
	for _, e := range a.Errors {
		if e.Extensions["exceptionName"] != "RateLimitExceededException" {
			t.Errorf("error %v", e)
		}
		limited = append(limited, fmt.Sprint(e.Path...))
	}
	if !slices.Equal(limited, []string{"a3", "a4"}) {
		t.Errorf("limited calls %v, want a3 and a4: %s", limited, a.Raw)
	}
	if got := len(gt.StoredIncidents(t, h.Store, "default", "acme")); got != 3 {
		t.Errorf("%d incidents stored, want the 3 the budget allowed", got)
	}
	// The budget is spent: the next request is refused whole.
	if a := query(t, h, gt.Acme, "query { __typename }", nil); a.Status != http.StatusTooManyRequests || a.exception() != "RateLimitExceededException" {
		t.Errorf("next request: %d %s", a.Status, a.Raw)
	}
}

func TestGetObjectReadsACommentItsCallerMaySee(t *testing.T) {
	t.Parallel()
	h := start(t)
	id := sharedIncident(t, h)
	obj, _ := read(t, h, gt.Acme, id)
	public := path(obj, "aptBusinessObjectContainsComment", 0, "to", "id").(string)
	internal := path(obj, "aptBusinessObjectContainsComment", 1, "to", "id").(string)
	const q = `query($id: String!) { genericGetObject(type: "AptComment", id: $id) { ... on AptComment { id data { commentText visibilityType } } } }`
	cases := []struct {
		who     gt.Client
		id      string
		visible string // the text seen, "" for not found
	}{
		{gt.Acme, internal, "acme only"},
		{gt.Supplier, public, "for everyone"},
		{gt.Supplier, internal, ""}, // hidden from the partner
		{gt.Other, public, ""},      // no party to the incident
		{gt.Acme, "00000000-0000-0000-0000-00000000beef", ""},
	}
	for _, tc := range cases {
		a := query(t, h, tc.who, q, map[string]any{"id": tc.id})
		got := ""
		var c map[string]any
		if json.Unmarshal(a.Data["genericGetObject"], &c) == nil && c != nil {
			got, _ = path(c, "data", "commentText").(string)
		}
		if got != tc.visible {
			t.Errorf("%s reading %s: %q, want %q: %s", tc.who.CompanyID, tc.id, got, tc.visible, a.Raw)
		}
		if tc.visible == "" && (a.exception() != "ObjectNotFoundException" || strings.Contains(string(a.Raw), id)) {
			t.Errorf("%s reading %s: want a not-found that does not name the incident: %s", tc.who.CompanyID, tc.id, a.Raw)
		}
	}
}

// Search is an action of the catalogue like any other: Searchprocess.
func TestSearchOverGraphQL(t *testing.T) {
	t.Parallel()
	h := start(t)
	id := sharedIncident(t, h)
	for _, tc := range []struct {
		who  gt.Client
		want int
	}{{gt.Acme, 1}, {gt.Supplier, 1}, {gt.Other, 0}} {
		page, _ := act(t, h, tc.who, "Searchprocess", map[string]any{"q": "misprint"})
		items, _ := page["items"].([]any)
		if len(items) != tc.want || (tc.want == 1 && path(items, 0, "id") != id) {
			t.Errorf("%s searching: %v", tc.who.CompanyID, page)
		}
	}
}

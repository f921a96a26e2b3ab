//go:build ferretfixture

// This file regenerates testdata/ferretdb-era.tar.gz and testdata/expected.json
// by running the FerretDB-era gateway; see testdata/README.md.

package ferretimport_test

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/scwm-gateway/scwm-gateway/store"
)

var oldGateway = flag.String("oldgw", "", "the FerretDB-era gateway binary, built from git tag ferretdb-era")

const samplesDir = "../../examples/scwm-samples"

// Basic credentials of the seed's API clients.
var (
	acmeAuth     = [2]string{"acme-key", "acme-secret-0123456789"}
	supplierAuth = [2]string{"supplier-key", "supplier-secret-0123456789"}
	otherAuth    = [2]string{"other-key", "other-secret-0123456789"}
)

// TestGenerateFixture builds the FerretDB-era dataset through the old
// gateway's API and CLI and writes it, with what it holds, to testdata/.
func TestGenerateFixture(t *testing.T) {
	if *oldGateway == "" {
		t.Fatal("-oldgw is required: the binary built from git tag ferretdb-era")
	}
	work := t.TempDir()
	data := filepath.Join(work, "data")
	seed, err := filepath.Abs("testdata/seed.json")
	if err != nil {
		t.Fatal(err)
	}
	gw := startOld(t, "listening", "serve", "--seed", seed, "--data-dir", data, "--addr", "127.0.0.1:0",
		"--dataspaces", "default,qa", "--rate-limit", "0", "--company-rate-limit", "0")
	f := &gen{t: t, url: "http://" + gw.addr, hc: &http.Client{Timeout: 30 * time.Second}}
	f.events()
	f.rest()
	f.collect()
	gw.stop(t)

	f.cli(data)
	ws := startOld(t, "embedded store listening", "embedded-store", "--data-dir", data, "--addr", "127.0.0.1:0")
	f.wire(ws.addr)
	ws.stop(t)

	entries, err := os.ReadDir(data)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if !slices.Equal(names, []string{"scwm.sqlite"}) {
		t.Fatalf("the stopped gateway left %v, want only scwm.sqlite", names)
	}
	writeTarGz(t, "testdata/ferretdb-era.tar.gz", data)
	out, err := json.MarshalIndent(f.exp, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("testdata/expected.json", append(out, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
}

// expected is testdata/expected.json: what the fixture holds. The
// incidents are as the old gateway's API answered at the end (read,
// list-comments, get-activity-history); the other records as the old
// store's FerretDB served them over the MongoDB wire protocol.
type expected struct {
	Database     string                    `json:"database"`
	Companies    []store.Company           `json:"companies"`
	Networks     []store.Network           `json:"networks"`
	Clients      []store.Client            `json:"clients"`
	Sequences    []store.Sequence          `json:"sequences"`
	Users        []store.User              `json:"users"`
	OAuthClients []store.OAuthClient       `json:"oauthClients"`
	Tokens       []store.Token             `json:"tokens"`
	Idempotency  []store.IdempotencyRecord `json:"idempotency"`
	Incidents    []*expIncident            `json:"incidents"`
	// Facts names what the steps made: keys of minted and revoked clients
	// and the like, for the tests' own checks.
	Facts map[string]string `json:"facts"`
}

type expIncident struct {
	ID          string `json:"id"`
	Step        string `json:"step"`
	ProcessType string `json:"processType"`
	Dataspace   string `json:"dataspace"`
	OwnerID     string `json:"ownerId"`
	NetworkID   string `json:"networkId"`
	PartnerID   string `json:"partnerId"`
	// Inline is set for the incident written in MongoDB's form (fields
	// inline, no json text), through the wire protocol.
	Inline bool `json:"inline,omitempty"`
	// Record is the read event's answer payload.
	Record json.RawMessage `json:"record"`
	// Comments are list-comments' answer (as the owner), each with the
	// version that added it and its place among that version's new ones.
	Comments []expComment `json:"comments"`
	// Activities are get-activity-history's answer.
	Activities json.RawMessage `json:"activities"`

	auth [2]string
	read string // the read event
}

type expComment struct {
	Comment json.RawMessage `json:"comment"`
	AddedIn int64           `json:"addedIn"`
	Index   int             `json:"index"`
}

type gen struct {
	t   *testing.T
	url string
	hc  *http.Client
	exp expected
}

type answer struct {
	status  int
	header  map[string]any
	payload map[string]any
	raw     json.RawMessage // the payload as sent
	http    http.Header
}

func (a *answer) plate() string { s, _ := a.header["licensePlate"].(string); return s }

func (f *gen) post(auth [2]string, env map[string]any, headers map[string]string) *answer {
	f.t.Helper()
	body, _ := json.Marshal(env)
	req, _ := http.NewRequest(http.MethodPost, f.url+"/api/events", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.SetBasicAuth(auth[0], auth[1])
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	return f.do(req)
}

func (f *gen) do(req *http.Request) *answer {
	f.t.Helper()
	resp, err := f.hc.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var env struct {
		Header  map[string]any  `json:"header"`
		Payload json.RawMessage `json:"payload"`
	}
	a := &answer{status: resp.StatusCode, http: resp.Header}
	if err := json.Unmarshal(raw, &env); err == nil && env.Header != nil {
		a.header, a.raw = env.Header, env.Payload
		_ = json.Unmarshal(env.Payload, &a.payload)
	} else {
		a.raw = raw
		_ = json.Unmarshal(raw, &a.payload)
	}
	return a
}

// must sends an envelope that has to succeed.
func (f *gen) must(what string, auth [2]string, env map[string]any, headers map[string]string) *answer {
	f.t.Helper()
	a := f.post(auth, env, headers)
	if a.status != http.StatusOK {
		f.t.Fatalf("%s: HTTP %d %v %s", what, a.status, a.header, a.raw)
	}
	return a
}

// envelope is an envelope of event for owner in network.
func envelope(event, owner, network, dataspace string, payload map[string]any) map[string]any {
	app := strings.SplitN(event, ":", 2)[0]
	return map[string]any{
		"header": map[string]any{"headerVersion": 1, "eventName": event, "ownerId": owner,
			"processNetworkId": network, "appName": app, "dataspace": dataspace},
		"payload": payload,
	}
}

// sample is the payload and event name of a published sample, its
// placeholders replaced.
func (f *gen) sample(pt, file string, subs map[string]string) (string, map[string]any) {
	f.t.Helper()
	raw, err := os.ReadFile(filepath.Join(samplesDir, pt, file))
	if err != nil {
		f.t.Fatal(err)
	}
	text := string(raw)
	for k, v := range subs {
		q, _ := json.Marshal(v)
		text = strings.ReplaceAll(text, `"`+k+`"`, string(q))
	}
	var env struct {
		Header struct {
			EventName string `json:"eventName"`
		} `json:"header"`
		Payload map[string]any `json:"payload"`
	}
	if err := json.Unmarshal([]byte(text), &env); err != nil {
		f.t.Fatalf("sample %s/%s: %v", pt, file, err)
	}
	return env.Header.EventName, env.Payload
}

var ownerSubs = map[string]string{"YOUR_OWNER_ID": "acme", "YOUR_PROCESS_NETWORK_ID": "net-1", "PARTNER_COMPANY_ID": "supplier-1"}

func with(subs map[string]string, kv ...string) map[string]string {
	out := map[string]string{}
	for k, v := range subs {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

const apt = "agile-process-teams:"

// incident is one incident of the dataset, as the steps made it.
type incident struct {
	exp     *expIncident
	version int64
}

func (f *gen) add(step, pt, readEvent string, auth [2]string, owner, network, dataspace, event string, payload map[string]any, headers map[string]string) *incident {
	f.t.Helper()
	a := f.must(step+": add", auth, envelope(event, owner, network, dataspace, payload), headers)
	id, _ := a.payload["id"].(string)
	if id == "" {
		f.t.Fatalf("%s: add answered no id: %s", step, a.raw)
	}
	e := &expIncident{ID: id, Step: step, ProcessType: pt, Dataspace: dataspace, OwnerID: owner, NetworkID: network, auth: auth, read: readEvent}
	f.exp.Incidents = append(f.exp.Incidents, e)
	return &incident{exp: e, version: 1}
}

// change sends a change of inc and checks that it wrote the next version.
func (f *gen) change(inc *incident, what string, auth [2]string, owner, event string, payload map[string]any) *answer {
	f.t.Helper()
	a := f.must(inc.exp.Step+": "+what, auth, envelope(event, owner, inc.exp.NetworkID, inc.exp.Dataspace, payload), nil)
	v, ok := a.payload["dataVersion"].(float64)
	if !ok || int64(v) != inc.version+1 {
		f.t.Fatalf("%s: %s answered dataVersion %v after %d: %s", inc.exp.Step, what, a.payload["dataVersion"], inc.version, a.raw)
	}
	inc.version++
	return a
}

func (f *gen) comment(inc *incident, auth [2]string, owner string, comments ...map[string]any) *answer {
	f.t.Helper()
	list := make([]any, len(comments))
	for i, c := range comments {
		list[i] = c
	}
	return f.change(inc, "add-comment", auth, owner, apt+"add-comment-for-incident:v1", map[string]any{
		"processId": inc.exp.ID, "processType": inc.exp.ProcessType, "aptCommentBox": map[string]any{"aptComment": list}})
}

func text(s, vis string) map[string]any {
	return map[string]any{"commentText": s, "visibilityType": vis}
}

// events makes the incidents through the envelope API.
func (f *gen) events() {
	f.exp.Database = "scwm"
	f.exp.Facts = map[string]string{}

	// An incident through its whole life: added with an Idempotency-Key
	// (and retried), edited, commented on twice in one event, a comment
	// edited, followed, closed, reopened, commented again.
	event, payload := f.sample("incident", "addIncidentPayloadTemplate.json", ownerSubs)
	payload["aptCommentBox"] = map[string]any{"aptComment": []any{text("Opened from the warehouse report", "Public")}}
	key := map[string]string{"Idempotency-Key": "fixture-add-incident-1"}
	life := f.add("life", "incident", apt+"read-incident:v4", acmeAuth, "acme", "net-1", "default", event, payload, key)
	again := f.must("life: add retried", acmeAuth, envelope(event, "acme", "net-1", "default", payload), key)
	if again.http.Get("Idempotent-Replayed") != "true" || again.payload["id"] != life.exp.ID {
		f.t.Fatalf("the retried add was not replayed: %v %s", again.http, again.raw)
	}
	f.exp.Facts["idempotencyKey"] = "fixture-add-incident-1"
	f.exp.Facts["idempotencyPlate"] = again.plate()
	event, payload = f.sample("incident", "editIncidentPayloadTemplate.json", ownerSubs)
	payload["id"] = life.exp.ID
	payload["aptBusinessObjectSummary"] = "Kendall Pharma | 48 of 50 pallets in EPCIS"
	delete(payload, "responsibleEntity") // the sample names a partner outside the network
	f.change(life, "edit", acmeAuth, "acme", event, payload)
	a := f.comment(life, acmeAuth, "acme", text("Pallets counted again: 48", "Public"), text("Internal: ask the carrier", "Internal"))
	firstID, _ := a.payload["id"].(string)
	f.change(life, "edit-comment", acmeAuth, "acme", apt+"edit-comment-for-incident:v1", map[string]any{
		"commentId": firstID, "processType": "incident", "id": life.exp.ID,
		"aptCommentBox": map[string]any{"aptComment": text("Pallets counted again: 48 (edited)", "Public")}})
	f.change(life, "toggle-follow", acmeAuth, "acme", apt+"toggle-user-follows-incident:v1", map[string]any{"id": life.exp.ID, "processType": "incident", "follow": true})
	event, payload = f.sample("incident", "closeIncidentPayloadTemplate.json", with(ownerSubs, "INCIDENT_ID", life.exp.ID))
	f.change(life, "close", acmeAuth, "acme", event, payload)
	event, payload = f.sample("incident", "reopenIncidentPayloadTemplate.json", with(ownerSubs, "INCIDENT_ID", life.exp.ID))
	f.change(life, "reopen", acmeAuth, "acme", event, payload)
	f.comment(life, acmeAuth, "acme", text("Reopened: two more pallets found", "Public"))

	// A direct supplier incident, submitted by its add: the partner
	// comments and answers, the owner moves it on and closes it.
	subs := with(ownerSubs, "LOCATION_ID", "loc-7")
	event, payload = f.sample("directSupplierIncident", "addDirSupIncidentPayloadTemplate.json", subs)
	dir := f.add("direct-supplier", "directSupplierIncident", apt+"read-directSupplierIncident:v4", acmeAuth, "acme", "net-1", "default", event, payload, nil)
	dir.exp.PartnerID = "supplier-1"
	f.comment(dir, supplierAuth, "supplier-1", text("Supplier here: shipment located", "Public"))
	event, payload = f.sample("directSupplierIncident", "editDirSupIncInitRespPayloadTemplate.json", with(ownerSubs, "YOUR_OWNER_ID", "supplier-1", "ITEM_ID", dir.exp.ID))
	f.change(dir, "partner response", supplierAuth, "supplier-1", event, payload)
	event, payload = f.sample("directSupplierIncident", "editDirSupIncBaseStatePayloadTemplate.json", with(ownerSubs, "ITEM_ID", dir.exp.ID))
	f.change(dir, "edit base state", acmeAuth, "acme", event, payload)
	event, payload = f.sample("directSupplierIncident", "closeDirSupIncidentPayloadTemplate.json", with(ownerSubs, "ITEM_ID", dir.exp.ID, "INCIDENT_ID", dir.exp.ID))
	f.change(dir, "close", acmeAuth, "acme", event, payload)

	// An indirect supplier incident added unsubmitted, then submitted.
	event, payload = f.sample("indirectSupplierIncident", "addIndSupIncMinFieldsPayloadTemplate.json", ownerSubs)
	payload["partnerCompany"] = map[string]any{"partnerId": "supplier-1", "toIdType": "companyMasterData"}
	ind := f.add("indirect-submit", "indirectSupplierIncident", apt+"read-indirectSupplierIncident:v4", acmeAuth, "acme", "net-1", "default", event, payload, nil)
	event, payload = f.sample("indirectSupplierIncident", "submitIndSupIncPartnerPayloadTemplate.json", with(ownerSubs, "ITEM_ID", ind.exp.ID, "INCIDENT_ID", ind.exp.ID))
	f.change(ind, "submit", acmeAuth, "acme", event, payload)
	ind.exp.PartnerID = "supplier-1"

	// An external manufacturing incident, edited, and its copy.
	event, payload = f.sample("externalManufacturingIncident", "addExtMfgIncidentPayloadTemplate.json", subs)
	ext := f.add("external", "externalManufacturingIncident", apt+"read-externalManufacturingIncident:v4", acmeAuth, "acme", "net-1", "default", event, payload, nil)
	ext.exp.PartnerID = "supplier-1"
	event, payload = f.sample("externalManufacturingIncident", "editExtMfgIncBaseStatePayloadTemplate.json", with(ownerSubs, "ITEM_ID", ext.exp.ID))
	f.change(ext, "edit base state", acmeAuth, "acme", event, payload)
	event, payload = f.sample("externalManufacturingIncident", "copyExtMfgIncidentPayloadTemplate.json", with(ownerSubs, "ITEM_ID", ext.exp.ID, "INCIDENT_ID", ext.exp.ID))
	a = f.must("external: copy", acmeAuth, envelope(event, "acme", "net-1", "default", payload), nil)
	copyID, _ := a.payload["id"].(string)
	if copyID == "" || copyID == ext.exp.ID {
		f.t.Fatalf("copy answered %s", a.raw)
	}
	f.exp.Incidents = append(f.exp.Incidents, &expIncident{ID: copyID, Step: "external-copy", ProcessType: "externalManufacturingIncident",
		Dataspace: "default", OwnerID: "acme", NetworkID: "net-1", auth: acmeAuth, read: apt + "read-externalManufacturingIncident:v4"})

	// An internal manufacturing incident, commented on.
	event, payload = f.sample("internalManufacturingIncident", "addIntMfgIncMinFieldsPayloadTemplate.json", ownerSubs)
	in := f.add("internal", "internalManufacturingIncident", apt+"read-internalManufacturingIncident:v4", acmeAuth, "acme", "net-1", "default", event, payload, nil)
	f.comment(in, acmeAuth, "acme", text("Line 3 stopped", "Internal"))

	// Another company's incident, and one in the qa dataspace.
	f.add("other-company", "incident", apt+"read-incident:v4", otherAuth, "other-co", "net-2", "default", apt+"add-incident:v5",
		map[string]any{"aptBusinessObjectSummary": "Other Co's incident", "businessPriority": "LOW"}, nil)
	qa := f.add("qa-dataspace", "incident", apt+"read-incident:v4", acmeAuth, "acme", "net-1", "qa", apt+"add-incident:v5",
		map[string]any{"aptBusinessObjectSummary": "An incident of the qa dataspace", "businessPriority": "MEDIUM"}, nil)
	f.comment(qa, acmeAuth, "acme", text("qa comment", "Public"))

	// A client minted by acme-key, and one minted by that one.
	mint := func(auth [2]string) [2]string {
		a := f.must("mint", auth, envelope("authorization-manager:generate-apiKeyCredentials:v1", "acme", "", "default", map[string]any{}), nil)
		k, _ := a.payload["apiKey"].(string)
		s, _ := a.payload["apiSecret"].(string)
		if k == "" || s == "" {
			f.t.Fatalf("mint answered %s", a.raw)
		}
		return [2]string{k, s}
	}
	minted := mint(acmeAuth)
	grandchild := mint(minted)
	f.exp.Facts["mintedKey"] = minted[0]
	f.exp.Facts["mintedByMintedKey"] = grandchild[0]
}

// rest makes an incident over the REST surface and its tokens: a password
// grant, a refresh, a revocation.
func (f *gen) rest() {
	form := func(path string, v url.Values) map[string]any {
		req, _ := http.NewRequest(http.MethodPost, f.url+path, strings.NewReader(v.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth("acme-app", "acme-app-secret-0123")
		a := f.do(req)
		if a.status != http.StatusOK {
			f.t.Fatalf("%s: HTTP %d %s", path, a.status, a.raw)
		}
		return a.payload
	}
	tok := form("/api/oauth/token", url.Values{"grant_type": {"password"}, "username": {"tim@acme.com"}, "password": {"tim-password-1"}})
	refreshed := form("/api/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok["refresh_token"].(string)}})
	access, _ := refreshed["access_token"].(string)
	json1 := func(method, path string, body map[string]any) *answer {
		raw, _ := json.Marshal(body)
		req, _ := http.NewRequest(method, f.url+path, bytes.NewReader(raw))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+access)
		a := f.do(req)
		if a.status != http.StatusOK && a.status != http.StatusCreated {
			f.t.Fatalf("%s %s: HTTP %d %s", method, path, a.status, a.raw)
		}
		return a
	}
	created := json1(http.MethodPost, "/api/incident", map[string]any{"impact": "ONUSER", "urgency": "HIGH", "priority": "URGENT",
		"tags": []any{"rest"}, "subject": "Test Subject", "description": "Test Description", "category": 5,
		"fieldValueDetails": map[string]any{"1": map[string]any{"type": 1, "stringValue": "Open"}},
		"requesterEmail":    "tim@acme.com", "requesterName": "Tim"})
	id, _ := created.payload["id"].(string)
	if id == "" {
		f.t.Fatalf("REST create answered %s", created.raw)
	}
	json1(http.MethodPatch, "/api/v1/incident/"+id, map[string]any{"subject": "Test Subject, patched"})
	f.exp.Incidents = append(f.exp.Incidents, &expIncident{ID: id, Step: "rest", ProcessType: "incident", Dataspace: "default",
		OwnerID: "acme", NetworkID: "net-1", auth: acmeAuth, read: apt + "read-incident:v4"})
	form("/api/oauth/revoke", url.Values{"token": {access}})
}

// collect reads every incident back: its record, comments and history.
func (f *gen) collect() {
	for _, e := range f.exp.Incidents {
		owner, network := e.OwnerID, e.NetworkID
		r := f.must(e.Step+": read", e.auth, envelope(e.read, owner, network, e.Dataspace, map[string]any{"id": e.ID}), nil)
		e.Record = r.raw
		c := f.must(e.Step+": list-comments", e.auth, envelope(apt+"list-comments-for-incident:v1", owner, network, e.Dataspace,
			map[string]any{"id": e.ID, "processType": e.ProcessType}), nil)
		h := f.must(e.Step+": history", e.auth, envelope(apt+"get-activity-history-for-incident:v1", owner, network, e.Dataspace,
			map[string]any{"id": e.ID, "processType": e.ProcessType}), nil)
		var hist struct {
			Activities []store.Activity `json:"activities"`
		}
		var list struct {
			Comments []json.RawMessage `json:"comments"`
		}
		var raw struct {
			Activities json.RawMessage `json:"activities"`
		}
		if err := json.Unmarshal(h.raw, &hist); err != nil {
			f.t.Fatal(err)
		}
		_ = json.Unmarshal(h.raw, &raw)
		_ = json.Unmarshal(c.raw, &list)
		e.Activities = raw.Activities
		// Where each comment was added: the activities of the events that
		// add comments list them in order.
		added := map[string][2]int64{}
		for _, a := range hist.Activities {
			if strings.Contains(a.EventName, "edit-comment") {
				continue
			}
			for i, id := range a.CommentIDs {
				if _, seen := added[id]; !seen {
					added[id] = [2]int64{a.DataVersion, int64(i)}
				}
			}
		}
		for _, cm := range list.Comments {
			var c store.Comment
			_ = json.Unmarshal(cm, &c)
			at, ok := added[c.ID]
			if !ok {
				f.t.Fatalf("%s: comment %s is in no activity", e.Step, c.ID)
			}
			e.Comments = append(e.Comments, expComment{Comment: cm, AddedIn: at[0], Index: int(at[1])})
		}
	}
}

// cli changes clients, users and OAuth clients with the old CLI, the
// gateway stopped.
func (f *gen) cli(data string) {
	run := func(stdin string, args ...string) string {
		cmd := exec.Command(*oldGateway, append(args, "--data-dir", data)...)
		cmd.Stdin = strings.NewReader(stdin)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil {
			f.t.Fatalf("%v: %v: %s", args, err, errb.String())
		}
		return out.String()
	}
	var made struct {
		APIKey   string `json:"apiKey"`
		ClientID string `json:"clientId"`
	}
	if err := json.Unmarshal([]byte(run("", "clients", "create", "--company", "other-co", "--network", "net-2", "--user", "ops")), &made); err != nil {
		f.t.Fatal(err)
	}
	f.exp.Facts["cliClientKey"] = made.APIKey
	run("", "clients", "revoke", "--api-key", f.exp.Facts["mintedKey"])
	run("ann-password-1\n", "users", "create", "--username", "Ann@Acme.com", "--company", "acme", "--name", "Ann")
	run("", "users", "disable", "--username", "ann@acme.com")
	f.exp.Facts["disabledUser"] = "ann@acme.com"
	if err := json.Unmarshal([]byte(run("", "oauth-clients", "create", "--company", "supplier-1", "--client-id", "supplier-app")), &made); err != nil {
		f.t.Fatal(err)
	}
	run("", "oauth-clients", "revoke", "--client-id", "supplier-app")
	f.exp.Facts["revokedOAuthClient"] = "supplier-app"
}

// inlineID is the incident written in MongoDB's form.
const inlineID = "01900000-0000-7000-8000-00000000f00d"

// wire writes an incident in the form MongoDB keeps versions in (what a
// copy of MongoDB data into the embedded store holds), then reads every
// other collection back as the old store's FerretDB serves it.
func (f *gen) wire(addr string) {
	ctx := context.Background()
	cl, err := mongo.Connect(options.Client().ApplyURI("mongodb://" + addr + "/").
		SetBSONOptions(&options.BSONOptions{DefaultDocumentMap: true, ObjectIDAsHexString: true}))
	if err != nil {
		f.t.Fatal(err)
	}
	defer cl.Disconnect(ctx)
	db := cl.Database("scwm")

	created := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC).UnixMilli()
	c1 := bson.D{{Key: "id", Value: "01900000-0000-7000-8000-0000000c0001"}, {Key: "commentText", Value: "Written by MongoDB"},
		{Key: "visibilityType", Value: "Public"},
		{Key: "attachments", Value: bson.A{bson.D{{Key: "id", Value: "att-1"}, {Key: "fileName", Value: "a.pdf"}, {Key: "fileSize", Value: "3mb"}, {Key: "visibilityType", Value: "Public"}}}},
		{Key: "companyId", Value: "acme"}, {Key: "createdByUserId", Value: "alice"}, {Key: "creationDateTime", Value: created},
		{Key: "lastUpdatedByUserId", Value: "alice"}, {Key: "lastUpdatedDateTime", Value: created}, {Key: "licensePlate", Value: "inlinePlate00001"}}
	c2 := bson.D{{Key: "id", Value: "01900000-0000-7000-8000-0000000c0002"}, {Key: "commentText", Value: "Second, in version 2"},
		{Key: "visibilityType", Value: "Public"}, {Key: "attachments", Value: bson.A{}},
		{Key: "companyId", Value: "acme"}, {Key: "createdByUserId", Value: "alice"}, {Key: "creationDateTime", Value: created + 1000},
		{Key: "lastUpdatedByUserId", Value: "alice"}, {Key: "lastUpdatedDateTime", Value: created + 1000}, {Key: "licensePlate", Value: "inlinePlate00002"}}
	c3 := slices.Clone(c2)
	c3[0].Value, c3[1].Value = "01900000-0000-7000-8000-0000000c0003", "Third, in version 2"
	data := func(summary string) bson.D {
		return bson.D{{Key: "aptBusinessObjectId", Value: "INC-900"}, {Key: "aptBusinessObjectIntegerIdentifier", Value: int64(900)},
			{Key: "aptBusinessObjectSummary", Value: summary}, {Key: "ratio", Value: 2.5}, {Key: "wholeDouble", Value: 3.0},
			{Key: "small", Value: int32(7)}, {Key: "big", Value: int64(1) << 53},
			{Key: "list", Value: bson.A{int32(1), "two", 3.25, nil, true}},
			{Key: "nested", Value: bson.D{{Key: "deep", Value: bson.D{{Key: "deeper", Value: bson.A{}}}}}},
			{Key: "dateSubmitted", Value: nil}, {Key: "followerId", Value: bson.A{}}, {Key: "isSubmittedToPartner", Value: false}}
	}
	version := func(v int64, summary string, comments bson.A, activity bson.D) bson.D {
		plate := fmt.Sprintf("inlinePlate%05d", v)
		return bson.D{{Key: "_id", Value: fmt.Sprintf("%s/%d", inlineID, v)},
			{Key: "incidentId", Value: inlineID}, {Key: "dataspace", Value: "default"}, {Key: "ownerId", Value: "acme"},
			{Key: "networkId", Value: "net-1"}, {Key: "processType", Value: "incident"}, {Key: "schemaVersion", Value: int32(5)},
			{Key: "dataVersion", Value: v}, {Key: "createdByUserId", Value: "alice"}, {Key: "lastUpdatedByUserId", Value: "alice"},
			{Key: "creationDateTime", Value: created}, {Key: "lastUpdatedDateTime", Value: created + (v-1)*1000},
			{Key: "currentBaseState", Value: "New"}, {Key: "number", Value: int64(900)}, {Key: "partnerId", Value: ""},
			{Key: "data", Value: data(summary)}, {Key: "comments", Value: comments},
			{Key: "activity", Value: append(bson.D{{Key: "licensePlate", Value: plate}}, activity...)},
			{Key: "licensePlate", Value: plate}}
	}
	v1 := version(1, "Written by MongoDB", bson.A{c1}, bson.D{{Key: "eventName", Value: apt + "add-incident:v5"},
		{Key: "userId", Value: "alice"}, {Key: "companyId", Value: "acme"}, {Key: "dateTime", Value: created}, {Key: "dataVersion", Value: int64(1)},
		{Key: "fields", Value: bson.A{"aptBusinessObjectSummary"}}, {Key: "stateTo", Value: "New"}, {Key: "commentIds", Value: bson.A{c1[0].Value}}})
	v2 := version(2, "Written by MongoDB, commented", bson.A{c1, c2, c3}, bson.D{{Key: "eventName", Value: apt + "add-comment-for-incident:v1"},
		{Key: "userId", Value: "alice"}, {Key: "companyId", Value: "acme"}, {Key: "dateTime", Value: created + 1000}, {Key: "dataVersion", Value: int64(2)},
		{Key: "commentIds", Value: bson.A{c2[0].Value, c3[0].Value}},
		{Key: "detail", Value: bson.D{{Key: "note", Value: "kept"}, {Key: "weight", Value: 1.5}, {Key: "count", Value: int32(2)}}}})
	if _, err := db.Collection("incident_versions").InsertMany(ctx, []any{v2, v1}); err != nil {
		f.t.Fatal(err)
	}
	// What the old gateway's API would have answered for it.
	ext := func(v any) json.RawMessage {
		b, err := bson.MarshalExtJSON(v, false, false)
		if err != nil {
			f.t.Fatal(err)
		}
		return b
	}
	record := bson.D{{Key: "id", Value: inlineID}, {Key: "objectType", Value: apt + "incident"}, {Key: "schemaVersion", Value: int32(5)},
		{Key: "dataVersion", Value: int64(2)}, {Key: "ownerId", Value: "acme"}, {Key: "createdByUserId", Value: "alice"},
		{Key: "lastUpdatedByUserId", Value: "alice"}, {Key: "creationDateTime", Value: created},
		{Key: "lastUpdatedDateTime", Value: created + 1000}, {Key: "currentBaseState", Value: "New"},
		{Key: "data", Value: data("Written by MongoDB, commented")}}
	acts := ext(bson.D{{Key: "a", Value: bson.A{field(v1, "activity"), field(v2, "activity")}}})
	var wrapped struct {
		A json.RawMessage `json:"a"`
	}
	_ = json.Unmarshal(acts, &wrapped)
	f.exp.Incidents = append(f.exp.Incidents, &expIncident{ID: inlineID, Step: "inline", ProcessType: "incident", Dataspace: "default",
		OwnerID: "acme", NetworkID: "net-1", Inline: true, Record: ext(record), Activities: wrapped.A,
		Comments: []expComment{{Comment: ext(c1), AddedIn: 1, Index: 0}, {Comment: ext(c2), AddedIn: 2, Index: 0}, {Comment: ext(c3), AddedIn: 2, Index: 1}}})

	all := func(name string, out any) {
		cur, err := db.Collection(name).Find(ctx, bson.D{}, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}))
		if err != nil {
			f.t.Fatal(err)
		}
		if err := cur.All(ctx, out); err != nil {
			f.t.Fatalf("%s: %v", name, err)
		}
	}
	all("companies", &f.exp.Companies)
	all("networks", &f.exp.Networks)
	all("clients", &f.exp.Clients)
	var seqs []struct {
		Key string `bson:"_id"`
		Seq int64  `bson:"seq"`
	}
	all("sequences", &seqs)
	for _, s := range seqs {
		f.exp.Sequences = append(f.exp.Sequences, store.Sequence{Key: s.Key, Value: s.Seq})
	}
	all("users", &f.exp.Users)
	all("oauth_clients", &f.exp.OAuthClients)
	all("oauth_tokens", &f.exp.Tokens)
	all("idempotency", &f.exp.Idempotency)
	for _, r := range f.exp.Idempotency {
		if len(r.Body) == 0 {
			f.t.Fatalf("idempotency record %s has no body", r.Key)
		}
	}
}

// field is the value of key in d.
func field(d bson.D, key string) any {
	for _, e := range d {
		if e.Key == key {
			return e.Value
		}
	}
	return nil
}

// oldProcess is a running FerretDB-era gateway command.
type oldProcess struct {
	cmd  *exec.Cmd
	addr string
	done chan error
}

// startOld runs the old binary and waits for the log line named ready,
// whose addr field is where it listens.
func startOld(t *testing.T, ready string, args ...string) *oldProcess {
	t.Helper()
	cmd := exec.Command(*oldGateway, args...)
	cmd.Env = append(os.Environ(), "SCWM_LOG_FORMAT=json")
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &oldProcess{cmd: cmd, done: make(chan error, 1)}
	go func() { p.done <- cmd.Wait(); pw.Close() }()
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		sent := false
		for sc.Scan() {
			var line struct {
				Message string `json:"message"`
				Addr    string `json:"addr"`
			}
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Message == ready && !sent {
				addr <- line.Addr
				sent = true
			}
			if line.Message != "event" {
				fmt.Fprintln(os.Stderr, "old:", sc.Text())
			}
		}
	}()
	select {
	case p.addr = <-addr:
	case err := <-p.done:
		t.Fatalf("%v exited before it was ready: %v", args, err)
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("%v was not ready within 60s", args)
	}
	return p
}

// stop ends the process with SIGTERM, as an operator stops the gateway.
func (p *oldProcess) stop(t *testing.T) {
	t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		if err != nil {
			t.Fatalf("old gateway exited with %v", err)
		}
	case <-time.After(60 * time.Second):
		_ = p.cmd.Process.Kill()
		t.Fatal("old gateway did not stop within 60s")
	}
}

// writeTarGz packs the files of dir as data/<name>, with fixed times and
// modes so that the archive depends on the contents only.
func writeTarGz(t *testing.T, file, dir string) {
	t.Helper()
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	tw := tar.NewWriter(zw)
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		hdr := &tar.Header{Name: "data/" + e.Name(), Mode: 0o600, Size: int64(len(b)), ModTime: time.Unix(0, 0), Typeflag: tar.TypeReg}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

package handlers_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	gt "github.com/scwm-gateway/scwm-gateway/internal/gatewaytest"
)

// processType mirrors the catalogue's process types as a client spells the events.
type processType struct {
	name, noun, readEvent string
	copyV, closeV         int
	hasPartner            bool
	prefix                string
}

var processTypes = []processType{
	{"incident", "incident", "agile-process-teams:read-incident:v4", 3, 1, true, "incident"},
	{"directSupplierIncident", "direct-supplier-incident", "agile-process-teams:read-directSupplierIncident:v4", 2, 2, true, "directSupplier"},
	{"indirectSupplierIncident", "indirect-supplier-incident", "agile-process-teams:read-indirectSupplierIncident:v4", 2, 2, true, "indirectSupplier"},
	{"externalManufacturingIncident", "external-manufacturing-incident", "agile-process-teams:read-externalManufacturingIncident:v4", 1, 2, true, "externalManufacturing"},
	{"internalManufacturingIncident", "internal-manufacturing-incident", "agile-process-teams:read-internalManufacturingIncident:v4", 1, 2, false, "internalManufacturing"},
}

func (pt processType) add() string {
	v := 3
	if pt.name == "incident" {
		v = 5
	}
	return fmt.Sprintf("agile-process-teams:add-%s:v%d", pt.noun, v)
}
func (pt processType) edit() string {
	v := 3
	if pt.name == "incident" {
		v = 5
	}
	return fmt.Sprintf("agile-process-teams:edit-%s:v%d", pt.noun, v)
}
func (pt processType) copy() string {
	return fmt.Sprintf("agile-process-teams:copy-%s:v%d", pt.noun, pt.copyV)
}
func (pt processType) close() string {
	return fmt.Sprintf("agile-process-teams:close-%s:v%d", pt.noun, pt.closeV)
}
func (pt processType) reopen() string {
	return fmt.Sprintf("agile-process-teams:reopen-%s:v1", pt.noun)
}
func (pt processType) submit() string {
	return fmt.Sprintf("agile-process-teams:submit-%s-to-partner:v1", pt.noun)
}

const (
	addComment   = "agile-process-teams:add-comment-for-incident:v1"
	editComment  = "agile-process-teams:edit-comment-for-incident:v1"
	listComments = "agile-process-teams:list-comments-for-incident:v1"
	toggleFollow = "agile-process-teams:toggle-user-follows-incident:v1"
	history      = "agile-process-teams:get-activity-history-for-incident:v1"
)

type idVersion struct {
	ID          string `json:"id"`
	DataVersion int64  `json:"dataVersion"`
}

// step sends an event that must succeed and remembers its license plate.
func step(t *testing.T, h *gt.Harness, c gt.Client, event string, payload map[string]any, plates *[]string) idVersion {
	t.Helper()
	r := h.Send(t, c, event, payload).MustOK(t)
	if plates != nil {
		*plates = append(*plates, r.Header.LicensePlate)
	}
	var out idVersion
	r.Decode(t, &out)
	return out
}

func read(t *testing.T, h *gt.Harness, c gt.Client, pt processType, id string) incidentRecord {
	t.Helper()
	var rec incidentRecord
	h.Send(t, c, pt.readEvent, map[string]any{"id": id}).MustOK(t).Decode(t, &rec)
	return rec
}

// The whole life of an incident, for every process type: add, edit (base
// state, partner and impact, responses), submit, the partner reads,
// comments and responds, close, reopen, copy; the history shows every step
// with its license plate.
//
// It runs against the embedded store and against the same store reached
// through a MongoDB URI, the MONGODB_URI code path.
func TestWholeLifeOfEveryProcessType(t *testing.T) {
	t.Parallel()
	for _, viaURI := range []bool{false, true} {
		t.Run(map[bool]string{false: "embedded", true: "uri"}[viaURI], func(t *testing.T) {
			wholeLife(t, gt.Start(t, gt.Options{ViaURI: viaURI}))
		})
	}
}

func wholeLife(t *testing.T, h *gt.Harness) {
	for _, pt := range processTypes {
		t.Run(pt.name, func(t *testing.T) {
			var plates []string
			added := step(t, h, gt.Acme, pt.add(), map[string]any{
				"aptBusinessObjectSummary": "Missing shipment",
				"partnerCompany":           map[string]any{"partnerId": "supplier-1", "toIdType": "companyMasterData"},
				pt.prefix + "Impact":       map[string]any{"businessImpact": "big", "businessPriority": "high"},
				"referenceIdentifiers":     []any{map[string]any{"referenceTransactionType": "PO", "value": "PO-1"}},
				"aptCommentBox":            map[string]any{"aptComment": map[string]any{"commentText": "created", "visibilityType": "Public"}},
			}, &plates)
			id := added.ID
			rec := read(t, h, gt.Acme, pt, id)
			if rec.CurrentBaseState != "New" || rec.DataVersion != 1 || rec.ObjectType != "agile-process-teams:"+pt.name {
				t.Fatalf("after add: %+v", rec)
			}
			if p := rec.Data[pt.prefix+"Impact"].(map[string]any)["businessPriority"]; p != "HIGH" {
				t.Fatalf("nested enum stored as %v", p)
			}

			v := step(t, h, gt.Acme, pt.edit(), map[string]any{"id": id, "newBaseState": "UnderInvestigation"}, &plates)
			if v.DataVersion != 2 || read(t, h, gt.Acme, pt, id).CurrentBaseState != "UnderInvestigation" {
				t.Fatalf("base-state edit: %+v", v)
			}
			// Nested objects merge by path; arrays are replaced.
			step(t, h, gt.Acme, pt.edit(), map[string]any{
				"id":                   id,
				pt.prefix + "Impact":   map[string]any{"financialImpact": 1000},
				"referenceIdentifiers": []any{map[string]any{"referenceTransactionType": "ASN", "value": "A-9"}},
			}, &plates)
			rec = read(t, h, gt.Acme, pt, id)
			impact := rec.Data[pt.prefix+"Impact"].(map[string]any)
			if impact["businessImpact"] != "big" || impact["financialImpact"] != 1000.0 {
				t.Fatalf("impact not merged by path: %v", impact)
			}
			if refs := rec.Data["referenceIdentifiers"].([]any); len(refs) != 1 || refs[0].(map[string]any)["value"] != "A-9" {
				t.Fatalf("array not replaced: %v", refs)
			}

			if pt.hasPartner {
				// Before submit the partner cannot see it.
				h.Send(t, gt.Supplier, pt.readEvent, map[string]any{"id": id}).MustFail(t, 404, "ObjectNotFoundException")
				step(t, h, gt.Acme, pt.submit(), map[string]any{"id": id}, &plates)
				h.Send(t, gt.Acme, pt.submit(), map[string]any{"id": id}).MustFail(t, 409, "InvalidStateTransitionException")
				prec := read(t, h, gt.Supplier, pt, id)
				if prec.ContextualOwnerID != "supplier-1" || prec.OwnerID != "acme" || prec.Data["isSubmittedToPartner"] != true {
					t.Fatalf("partner read: %+v", prec)
				}
				// The partner responds, comments, and may do nothing else.
				step(t, h, gt.Supplier, pt.edit(), map[string]any{
					"id": id, pt.prefix + "Response": map[string]any{"initialResponseInformation": "on it"}, "submitInitialResponse": true,
				}, &plates)
				step(t, h, gt.Supplier, addComment, map[string]any{"processId": id, "processType": pt.name,
					"aptCommentBox": map[string]any{"aptComment": []any{map[string]any{"commentText": "partner here", "visibilityType": "public"}}}}, &plates)
				r := h.Send(t, gt.Supplier, pt.edit(), map[string]any{"id": id, "aptBusinessObjectSummary": "hijack"}).MustFail(t, 403, "AuthorizationException")
				if !strings.Contains(r.Header.ErrMsg, "aptBusinessObjectSummary") {
					t.Fatalf("403 does not name the refused field: %s", r.Header.ErrMsg)
				}
				h.Send(t, gt.Supplier, pt.close(), map[string]any{"id": id}).MustFail(t, 403, "AuthorizationException")
				rec = read(t, h, gt.Acme, pt, id)
				if rec.Data[pt.prefix+"Response"].(map[string]any)["initialResponseInformation"] != "on it" || rec.Data["submitInitialResponse"] != true {
					t.Fatalf("partner response not stored: %v", rec.Data)
				}
			} else {
				h.Send(t, gt.Acme, "agile-process-teams:submit-"+pt.noun+"-to-partner:v1", map[string]any{"id": id}).
					MustFail(t, 400, "UnsupportedEventException")
			}

			step(t, h, gt.Acme, pt.close(), map[string]any{
				"id": id, "resolutionType": "RESOLVED", "isReoccuring": false, "closingStatement": "done",
				"aptCommentBox": []any{map[string]any{"aptComment": map[string]any{"commentText": "closing", "visibilityType": "Internal"}}},
			}, &plates)
			rec = read(t, h, gt.Acme, pt, id)
			conclusion, _ := rec.Data["incidentConclusion"].(map[string]any)
			if rec.CurrentBaseState != "Closed" || conclusion["resolutionType"] != "RESOLVED" || conclusion["dateClosed"] == nil {
				t.Fatalf("after close: %s %v", rec.CurrentBaseState, conclusion)
			}
			r := h.Send(t, gt.Acme, pt.edit(), map[string]any{"id": id, "aptBusinessObjectDescription": "x"}).MustFail(t, 409, "InvalidStateTransitionException")
			if !strings.Contains(r.Header.ErrMsg, "reopen") {
				t.Fatalf("409 does not say to reopen: %s", r.Header.ErrMsg)
			}
			h.Send(t, gt.Acme, pt.close(), map[string]any{"id": id}).MustFail(t, 409, "InvalidStateTransitionException")
			h.Send(t, gt.Acme, pt.copy(), map[string]any{"id": id, "aptBusinessObjectSummary": "c"}).MustFail(t, 409, "InvalidStateTransitionException")
			// Comments are allowed in every state.
			step(t, h, gt.Acme, addComment, map[string]any{"id": id, "processType": strings.ToUpper(pt.name),
				"aptCommentBox": map[string]any{"aptComment": map[string]any{"commentText": "closed but talking"}}}, &plates)

			step(t, h, gt.Acme, pt.reopen(), map[string]any{"id": id}, &plates)
			rec = read(t, h, gt.Acme, pt, id)
			if rec.CurrentBaseState != "UnderInvestigation" || rec.Data["incidentConclusion"] != nil {
				t.Fatalf("after reopen: %s %v", rec.CurrentBaseState, rec.Data["incidentConclusion"])
			}
			h.Send(t, gt.Acme, pt.reopen(), map[string]any{"id": id}).MustFail(t, 409, "InvalidStateTransitionException")

			cp := step(t, h, gt.Acme, pt.copy(), map[string]any{"id": id, "aptBusinessObjectSummary": "the copy",
				"copyImpactInfo": true, "copyReferenceIds": false}, nil)
			crec := read(t, h, gt.Acme, pt, cp.ID)
			if crec.CurrentBaseState != "New" || crec.Data["aptBusinessObjectSummary"] != "the copy" ||
				crec.Data[pt.prefix+"Impact"] == nil || crec.Data["referenceIdentifiers"] != nil ||
				crec.Data[pt.prefix+"Response"] != nil || crec.Data["isSubmittedToPartner"] != false {
				t.Fatalf("copy: %+v", crec.Data)
			}

			var hist struct {
				ID         string `json:"id"`
				Activities []struct {
					LicensePlate string   `json:"licensePlate"`
					EventName    string   `json:"eventName"`
					UserID       string   `json:"userId"`
					CompanyID    string   `json:"companyId"`
					DateTime     int64    `json:"dateTime"`
					Fields       []string `json:"fields"`
					StateFrom    string   `json:"stateFrom"`
					StateTo      string   `json:"stateTo"`
					DataVersion  int64    `json:"dataVersion"`
				} `json:"activities"`
			}
			h.Send(t, gt.Acme, history, map[string]any{"id": id, "processType": pt.name}).MustOK(t).Decode(t, &hist)
			if len(hist.Activities) != len(plates) {
				t.Fatalf("history has %d entries, %d changes were made", len(hist.Activities), len(plates))
			}
			for i, a := range hist.Activities {
				if a.LicensePlate != plates[i] || a.DataVersion != int64(i+1) || a.DateTime == 0 || a.UserID == "" {
					t.Fatalf("history entry %d: %+v, want plate %s and dataVersion %d", i, a, plates[i], i+1)
				}
			}
			if first := hist.Activities[0]; first.StateTo != "New" || first.EventName != pt.add() || first.CompanyID != "acme" {
				t.Fatalf("first entry: %+v", first)
			}
			if second := hist.Activities[1]; second.StateFrom != "New" || second.StateTo != "UnderInvestigation" {
				t.Fatalf("base-state entry: %+v", second)
			}
			if last := hist.Activities[len(hist.Activities)-1]; last.StateFrom != "Closed" || last.StateTo != "UnderInvestigation" {
				t.Fatalf("reopen entry: %+v", last)
			}
			if pt.hasPartner {
				h.Send(t, gt.Supplier, history, map[string]any{"id": id, "processType": pt.name}).MustFail(t, 403, "AuthorizationException")
			}
		})
	}
}

type comment struct {
	ID             string           `json:"id"`
	CommentText    string           `json:"commentText"`
	VisibilityType string           `json:"visibilityType"`
	CompanyID      string           `json:"companyId"`
	Attachments    []map[string]any `json:"attachments"`
}

func listFor(t *testing.T, h *gt.Harness, c gt.Client, id string) []comment {
	t.Helper()
	var out struct {
		ID       string    `json:"id"`
		Comments []comment `json:"comments"`
	}
	h.Send(t, c, listComments, map[string]any{"id": id, "processType": "incident"}).MustOK(t).Decode(t, &out)
	return out.Comments
}

func TestCommentsVisibilityAndEdits(t *testing.T) {
	t.Parallel()
	h := gt.Start(t, gt.Options{})
	id := step(t, h, gt.Acme, addIncident, map[string]any{"aptBusinessObjectSummary": "x",
		"responsibleEntity": map[string]any{"partnerId": "supplier-1"}, "isSubmittedToPartner": true}, nil).ID

	pub := step(t, h, gt.Acme, addComment, map[string]any{"processId": id, "processType": "incident",
		"aptCommentBox": map[string]any{
			"aptComment":    []any{map[string]any{"commentText": "for everyone", "visibilityType": "public"}},
			"addAttachment": []any{map[string]any{"fileName": "order.pdf", "fileSize": "3mb", "visibilityType": "Public", "requestIdentifier": "R1"}},
		}}, nil).ID
	for _, vis := range []string{"Internal", "InternalOnly", "ownerOnly"} {
		step(t, h, gt.Acme, addComment, map[string]any{"processId": id, "processType": "incident",
			"aptCommentBox": map[string]any{"aptComment": map[string]any{"commentText": "secret " + vis, "visibilityType": vis}}}, nil)
	}
	if got := listFor(t, h, gt.Acme, id); len(got) != 4 {
		t.Fatalf("owner sees %d comments, want 4", len(got))
	}
	partnerView := listFor(t, h, gt.Supplier, id)
	if len(partnerView) != 1 || partnerView[0].CommentText != "for everyone" || len(partnerView[0].Attachments) != 1 {
		t.Fatalf("partner sees %+v", partnerView)
	}
	attID, _ := partnerView[0].Attachments[0]["id"].(string)
	if attID == "" || partnerView[0].Attachments[0]["fileName"] != "order.pdf" {
		t.Fatalf("attachment metadata: %v", partnerView[0].Attachments[0])
	}

	// Only the author's company edits a comment.
	h.Send(t, gt.Supplier, editComment, map[string]any{"commentId": pub, "id": id, "processType": "incident",
		"aptCommentBox": map[string]any{"aptComment": map[string]any{"commentText": "mine now"}}}).MustFail(t, 403, "AuthorizationException")
	step(t, h, gt.Acme, editComment, map[string]any{"commentId": pub, "id": id, "processType": "incident",
		"aptCommentBox": map[string]any{"aptComment": map[string]any{"commentText": "corrected"}, "removeAttachment": []any{attID}}}, nil)
	got := listFor(t, h, gt.Supplier, id)
	if got[0].CommentText != "corrected" || len(got[0].Attachments) != 0 {
		t.Fatalf("after edit: %+v", got[0])
	}
	h.Send(t, gt.Acme, editComment, map[string]any{"commentId": "no-such", "id": id, "processType": "incident",
		"aptCommentBox": map[string]any{"aptComment": map[string]any{"commentText": "x"}}}).MustFail(t, 404, "ObjectNotFoundException")
	// Another company learns nothing.
	h.Send(t, gt.Other, listComments, map[string]any{"id": id, "processType": "incident"}).MustFail(t, 404, "ObjectNotFoundException")
}

func TestFollowToggles(t *testing.T) {
	t.Parallel()
	h := gt.Start(t, gt.Options{})
	id := addOne(t, h, gt.Acme, map[string]any{"aptBusinessObjectSummary": "x"})
	follow := func(payload map[string]any) bool {
		var out struct {
			Following bool `json:"following"`
		}
		h.Send(t, gt.Acme, toggleFollow, payload).MustOK(t).Decode(t, &out)
		return out.Following
	}
	if !follow(map[string]any{"id": id, "processType": "incident", "follow": true}) {
		t.Fatal("follow:true did not follow")
	}
	if !follow(map[string]any{"id": id, "processType": "incident", "follow": true}) {
		t.Fatal("follow:true twice unfollowed")
	}
	if followers := readOne(t, h, gt.Acme, id).Data["followerId"].([]any); len(followers) != 1 || followers[0] != "alice" {
		t.Fatalf("followerId: %v", followers)
	}
	if follow(map[string]any{"id": id, "processType": "incident"}) {
		t.Fatal("toggle did not unfollow")
	}
	if followers := readOne(t, h, gt.Acme, id).Data["followerId"].([]any); len(followers) != 0 {
		t.Fatalf("followerId after unfollow: %v", followers)
	}
}

func TestSubmitNeedsAPartnerInTheNetwork(t *testing.T) {
	t.Parallel()
	h := gt.Start(t, gt.Options{})
	noPartner := addOne(t, h, gt.Acme, map[string]any{"aptBusinessObjectSummary": "x"})
	r := h.Send(t, gt.Acme, "agile-process-teams:submit-incident-to-partner:v1", map[string]any{"id": noPartner}).MustFail(t, 409, "InvalidStateTransitionException")
	if !strings.Contains(r.Header.ErrMsg, "partnerCompany.partnerId") {
		t.Fatalf("errMsg: %s", r.Header.ErrMsg)
	}
	outsider := addOne(t, h, gt.Acme, map[string]any{"aptBusinessObjectSummary": "x", "partnerCompany": map[string]any{"partnerId": "other-co"}})
	h.Send(t, gt.Acme, "agile-process-teams:submit-incident-to-partner:v1", map[string]any{"id": outsider}).MustFail(t, 409, "InvalidStateTransitionException")
	h.Send(t, gt.Acme, addIncident, map[string]any{"aptBusinessObjectSummary": "x", "isSubmittedToPartner": true,
		"partnerCompany": map[string]any{"partnerId": "other-co"}}).MustFail(t, 409, "InvalidStateTransitionException")
	// other-co never sees any of it.
	h.Send(t, gt.Other, readIncident, map[string]any{"id": outsider}).MustFail(t, 404, "ObjectNotFoundException")
}

func TestDataVersionMakesWritesConditional(t *testing.T) {
	t.Parallel()
	h := gt.Start(t, gt.Options{})
	id := addOne(t, h, gt.Acme, map[string]any{"aptBusinessObjectSummary": "x"})
	step(t, h, gt.Acme, "agile-process-teams:edit-incident:v5", map[string]any{"id": id, "dataVersion": 1, "incidentCategory": "a"}, nil)
	r := h.Send(t, gt.Acme, "agile-process-teams:edit-incident:v5", map[string]any{"id": id, "dataVersion": 1, "incidentCategory": "b"}).
		MustFail(t, 409, "ConcurrentModificationException")
	if !strings.Contains(r.Header.ErrMsg, "dataVersion 2") {
		t.Fatalf("errMsg does not state the current version: %s", r.Header.ErrMsg)
	}
	if got := readOne(t, h, gt.Acme, id).Data["incidentCategory"]; got != "a" {
		t.Fatalf("a stale write changed the incident: %v", got)
	}
}

func TestGenerateCredentials(t *testing.T) {
	t.Parallel()
	h := gt.Start(t, gt.Options{})
	body, _ := json.Marshal(map[string]any{
		"header": map[string]any{"headerVersion": 1, "eventName": "authorization-manager:generate-apiKeyCredentials:v1",
			"ownerId": "00000000-0000-0000-0000-000000000000", "appName": "authorization-manager", "dataspace": "default"},
		"payload": map[string]any{},
	})
	var creds struct {
		APIKey    string `json:"apiKey"`
		APISecret string `json:"apiSecret"`
		CompanyID string `json:"companyId"`
	}
	h.Post(t, body, gt.Basic(gt.Acme), nil).MustOK(t).Decode(t, &creds)
	if creds.CompanyID != "acme" || creds.APIKey == "" || creds.APISecret == "" {
		t.Fatalf("credentials: %+v", creds)
	}
	minted := gt.Client{APIKey: creds.APIKey, APISecret: creds.APISecret, CompanyID: "acme", NetworkID: "net-1"}
	addOne(t, h, minted, map[string]any{"aptBusinessObjectSummary": "with minted credentials"})
	// Acting for another company is still refused.
	bad := strings.Replace(string(body), "00000000-0000-0000-0000-000000000000", "other-co", 1)
	h.Post(t, []byte(bad), gt.Basic(gt.Acme), nil).MustFail(t, 403, "AuthorizationException")
}

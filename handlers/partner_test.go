package handlers_test

import (
	"net/http"
	"strings"
	"testing"

	gt "github.com/scwm-gateway/scwm-gateway/internal/gatewaytest"
	"github.com/scwm-gateway/scwm-gateway/store"
)

// supplier2 is a second supplier of acme in net-1, for hand-overs.
var supplier2 = gt.Client{APIKey: "supplier2-key", APISecret: "supplier2-secret-0123456789", CompanyID: "supplier-2", NetworkID: "net-1", UserID: "suzy"}

// withSecondSupplier adds supplier-2 to net-1 in seed.
func withSecondSupplier(seed *store.Seed) *store.Seed {
	seed.Companies = append(seed.Companies, store.Company{ID: "supplier-2", Name: "Supplier Two"})
	for i := range seed.Networks {
		if seed.Networks[i].ID == "net-1" {
			seed.Networks[i].Members = append(seed.Networks[i].Members, "supplier-2")
		}
	}
	seed.Clients = append(seed.Clients, store.SeedClient{APIKey: supplier2.APIKey, APISecret: supplier2.APISecret, CompanyID: supplier2.CompanyID, UserID: supplier2.UserID})
	return seed
}

// activity is a history entry as a client decodes it.
type activity struct {
	EventName   string         `json:"eventName"`
	UserID      string         `json:"userId"`
	CompanyID   string         `json:"companyId"`
	DateTime    int64          `json:"dateTime"`
	DataVersion int64          `json:"dataVersion"`
	Detail      map[string]any `json:"detail"`
}

func activities(t *testing.T, h *gt.Harness, pt processType, id string) []activity {
	t.Helper()
	var hist struct {
		Activities []activity `json:"activities"`
	}
	h.Send(t, gt.Acme, history, map[string]any{"id": id, "processType": pt.name}).MustOK(t).Decode(t, &hist)
	return hist.Activities
}

// mustSee checks that c can read the incident, as its partner, with the
// description given; mustNotSee that it gets the 404 of an unknown id.
func mustSee(t *testing.T, h *gt.Harness, c gt.Client, pt processType, id, description string) {
	t.Helper()
	rec := read(t, h, c, pt, id)
	if rec.ContextualOwnerID != c.CompanyID || rec.Data["aptBusinessObjectDescription"] != description {
		t.Fatalf("%s reads %+v", c.CompanyID, rec)
	}
}

func mustNotSee(t *testing.T, h *gt.Harness, c gt.Client, pt processType, id string) {
	t.Helper()
	h.Send(t, c, pt.readEvent, map[string]any{"id": id}).MustFail(t, http.StatusNotFound, "ObjectNotFoundException")
	h.Send(t, c, listComments, map[string]any{"id": id, "processType": pt.name}).MustFail(t, http.StatusNotFound, "ObjectNotFoundException")
	h.Send(t, c, pt.edit(), map[string]any{"id": id, pt.prefix + "Response": map[string]any{"initialResponseInformation": "still here"}}).
		MustFail(t, http.StatusNotFound, "ObjectNotFoundException")
}

func warned(r *gt.Response, parts ...string) bool {
	all := strings.Join(r.Header.Warnings, " ")
	for _, p := range parts {
		if !strings.Contains(all, p) {
			return false
		}
	}
	return true
}

// The owner hands a submitted incident to another partner by changing
// partnerCompany.partnerId (or by submitting it to the other partner), and
// takes it away by clearing the partner: the old partner loses access in
// the same write, the new one gains it, and the history says who had
// access from when.
func TestThePartnerCanBeChangedAfterSubmit(t *testing.T) {
	t.Parallel()
	h := gt.Start(t, gt.Options{Seed: withSecondSupplier(gt.DefaultSeed())})
	for _, pt := range processTypes {
		if !pt.hasPartner {
			continue
		}
		t.Run(pt.name, func(t *testing.T) {
			id := step(t, h, gt.Acme, pt.add(), map[string]any{"aptBusinessObjectSummary": "hand-over",
				"aptBusinessObjectDescription": "public so far",
				"partnerCompany":               map[string]any{"partnerId": "supplier-1", "toIdType": "companyMasterData"}}, nil).ID
			step(t, h, gt.Acme, pt.submit(), map[string]any{"id": id}, nil)
			mustSee(t, h, gt.Supplier, pt, id, "public so far")
			mustNotSee(t, h, supplier2, pt, id)

			// Re-sending the same partner, as the published edit samples do,
			// changes nothing about access.
			r := h.Send(t, gt.Acme, pt.edit(), map[string]any{"id": id, "partnerCompany": map[string]any{"partnerId": "supplier-1"}}).MustOK(t)
			if warned(r, "partner company") {
				t.Fatalf("re-sending the partner warned of a hand-over: %v", r.Header.Warnings)
			}

			// The edit that names supplier-2 hands the incident over.
			r = h.Send(t, gt.Acme, pt.edit(), map[string]any{"id": id, "aptBusinessObjectDescription": "confidential for supplier-2",
				"partnerCompany": map[string]any{"partnerId": "supplier-2"}}).MustOK(t)
			if !warned(r, `"supplier-1"`, `"supplier-2"`, "no longer") {
				t.Fatalf("the hand-over was not told: %v", r.Header.Warnings)
			}
			mustNotSee(t, h, gt.Supplier, pt, id)
			mustSee(t, h, supplier2, pt, id, "confidential for supplier-2")
			if rec := read(t, h, gt.Acme, pt, id); rec.Data["isSubmittedToPartner"] != true {
				t.Fatalf("after the hand-over: %v", rec.Data)
			}
			e := h.Send(t, gt.Acme, pt.submit(), map[string]any{"id": id}).MustFail(t, http.StatusConflict, "InvalidStateTransitionException")
			if !strings.Contains(e.Header.ErrMsg, `"supplier-2"`) {
				t.Fatalf("the 409 of a second submit does not name the partner: %s", e.Header.ErrMsg)
			}

			// A partner the incident cannot go to is refused, and nothing changes.
			for _, bad := range []string{"other-co", "acme", "no-such-company"} {
				h.Send(t, gt.Acme, pt.edit(), map[string]any{"id": id, "partnerCompany": map[string]any{"partnerId": bad}}).
					MustFail(t, http.StatusConflict, "InvalidStateTransitionException")
			}
			mustSee(t, h, supplier2, pt, id, "confidential for supplier-2")

			// Clearing the partner takes access away.
			r = h.Send(t, gt.Acme, pt.edit(), map[string]any{"id": id, "partnerCompany": map[string]any{"partnerId": nil}}).MustOK(t)
			if !warned(r, `"supplier-2"`, "no longer has access") {
				t.Fatalf("clearing the partner was not told: %v", r.Header.Warnings)
			}
			mustNotSee(t, h, supplier2, pt, id)
			mustNotSee(t, h, gt.Supplier, pt, id)
			if rec := read(t, h, gt.Acme, pt, id); rec.Data["isSubmittedToPartner"] != false {
				t.Fatalf("after clearing the partner: %v", rec.Data)
			}

			// Submit names the partner itself, and hands over a submitted incident.
			step(t, h, gt.Acme, pt.submit(), map[string]any{"id": id, "partnerCompany": map[string]any{"partnerId": "supplier-1"}}, nil)
			mustSee(t, h, gt.Supplier, pt, id, "confidential for supplier-2")
			step(t, h, gt.Acme, pt.submit(), map[string]any{"id": id, "partnerCompany": map[string]any{"partnerId": "supplier-2"}}, nil)
			mustNotSee(t, h, gt.Supplier, pt, id)
			mustSee(t, h, supplier2, pt, id, "confidential for supplier-2")

			// partnerCompany: null and an empty partnerId clear it too.
			step(t, h, gt.Acme, pt.edit(), map[string]any{"id": id, "partnerCompany": nil}, nil)
			mustNotSee(t, h, supplier2, pt, id)
			step(t, h, gt.Acme, pt.submit(), map[string]any{"id": id, "partnerCompany": map[string]any{"partnerId": "supplier-2"}}, nil)
			step(t, h, gt.Acme, pt.edit(), map[string]any{"id": id, "partnerCompany": map[string]any{"partnerId": ""}}, nil)
			mustNotSee(t, h, supplier2, pt, id)

			// The history says who had access from when, and who decided it.
			type grant struct{ event, from, to string }
			var got []grant
			for _, a := range activities(t, h, pt, id) {
				from, _ := a.Detail["partnerFrom"].(string)
				to, hasTo := a.Detail["partnerTo"].(string)
				if submitted, ok := a.Detail["partnerId"].(string); ok {
					to, hasTo = submitted, true
				}
				if !hasTo {
					continue
				}
				if a.UserID != "alice" || a.CompanyID != "acme" || a.DateTime == 0 {
					t.Fatalf("hand-over entry without who and when: %+v", a)
				}
				got = append(got, grant{strings.SplitN(a.EventName, ":", 3)[1][:4], from, to})
			}
			want := []grant{{"subm", "", "supplier-1"}, {"edit", "supplier-1", "supplier-2"}, {"edit", "supplier-2", ""},
				{"subm", "", "supplier-1"}, {"subm", "supplier-1", "supplier-2"}, {"edit", "supplier-2", ""},
				{"subm", "", "supplier-2"}, {"edit", "supplier-2", ""}}
			if len(got) != len(want) {
				t.Fatalf("access history %v, want %v", got, want)
			}
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("access history %v, want %v", got, want)
				}
			}
		})
	}
}

// The incident type names its partner in responsibleEntity in the
// published samples: changing it there hands the incident over too.
func TestResponsibleEntityChangeHandsTheIncidentOver(t *testing.T) {
	t.Parallel()
	h := gt.Start(t, gt.Options{Seed: withSecondSupplier(gt.DefaultSeed())})
	pt := processTypes[0]
	id := step(t, h, gt.Acme, pt.add(), map[string]any{"aptBusinessObjectSummary": "x", "aptBusinessObjectDescription": "d",
		"responsibleEntity": map[string]any{"partnerId": "supplier-1", "toIdType": "companyLocationMasterData"}, "isSubmittedToPartner": true}, nil).ID
	mustSee(t, h, gt.Supplier, pt, id, "d")
	step(t, h, gt.Acme, pt.edit(), map[string]any{"id": id, "responsibleEntity": map[string]any{"partnerId": "supplier-2"}}, nil)
	mustNotSee(t, h, gt.Supplier, pt, id)
	mustSee(t, h, supplier2, pt, id, "d")
	// A partner may not change who the partner is.
	h.Send(t, supplier2, pt.edit(), map[string]any{"id": id, "responsibleEntity": map[string]any{"partnerId": "supplier-1"}}).
		MustFail(t, http.StatusForbidden, "AuthorizationException")
	mustSee(t, h, supplier2, pt, id, "d")
}

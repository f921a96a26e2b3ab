package handlers

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/scwm-gateway/scwm-gateway/envelope"
	"github.com/scwm-gateway/scwm-gateway/internal/jsonvalue"
	"github.com/scwm-gateway/scwm-gateway/store"
)

// Base states of an incident.
const (
	stateNew                = "New"
	stateUnderInvestigation = "UnderInvestigation"
	stateClosed             = "Closed"
)

// role is what a caller is to an incident.
type role int

const (
	// roleNone: the caller may not learn the incident exists.
	roleNone role = iota
	// roleOwner: the incident's company.
	roleOwner
	// rolePartner: the company it was submitted to.
	rolePartner
)

// roleOf decides what the caller is to inc in the call's network, for an
// event of process type pt. A call that names no network (a surface without
// one, such as the REST routes; the envelope API always names one) acts in
// the incident's own network, if the caller's company belongs to it.
func (g *Gateway) roleOf(inc *store.Incident, call *Call, pt processType) role {
	if inc.ProcessType != pt.Name {
		return roleNone
	}
	if call.NetworkID == "" {
		if !g.dir.IsMember(inc.NetworkID, call.Caller.CompanyID) {
			return roleNone
		}
	} else if inc.NetworkID != call.NetworkID {
		return roleNone
	}
	switch company := call.Caller.CompanyID; {
	case inc.OwnerID == company:
		return roleOwner
	case inc.PartnerID != "" && inc.PartnerID == company:
		return rolePartner
	}
	return roleNone
}

// findVisible loads an incident of type pt that the caller may see in the
// header's dataspace and network, and says what the caller is to it.
// Anything the caller may not see is the same 404, so that ids leak nothing.
func (g *Gateway) findVisible(ctx context.Context, call *Call, pt processType, id string, with store.Include) (*store.Incident, role, error) {
	inc, err := g.store.FindIncident(ctx, call.Dataspace, id, with)
	if errors.Is(err, store.ErrNotFound) {
		return nil, roleNone, notVisible(call, pt, id)
	}
	if err != nil {
		return nil, roleNone, err
	}
	r := g.roleOf(inc, call, pt)
	if r == roleNone {
		return nil, roleNone, notVisible(call, pt, id)
	}
	return inc, r, nil
}

// notVisible is the answer for an incident the caller may not see, the
// same whether it exists or not.
func notVisible(call *Call, pt processType, id string) error {
	if call.NetworkID == "" {
		return envelope.Errorf(envelope.KindObjectNotFound, "no %s with id %q is visible to company %q", pt.Name, id, call.OwnerID)
	}
	return envelope.Errorf(envelope.KindObjectNotFound,
		"no %s with id %q is visible to company %q in process network %q", pt.Name, id, call.OwnerID, call.NetworkID)
}

// ownerOnly refuses partners an action only the owner may take.
func ownerOnly(r role, action string) error {
	if r == rolePartner {
		return envelope.Errorf(envelope.KindAuthorization,
			"a partner company may read this incident, list and add comments and edit the partner response; it may not %s", action)
	}
	return nil
}

// mustBeOpen answers 409 when the incident is Closed.
func mustBeOpen(inc *store.Incident, action string) error {
	if inc.CurrentBaseState == stateClosed {
		return envelope.Errorf(envelope.KindInvalidStateTransition,
			"%s %s is Closed; reopen it first to %s", IncidentName(inc), inc.ID, action)
	}
	return nil
}

// IncidentName is how messages name an incident: its INC-<n>.
func IncidentName(inc *store.Incident) string {
	if n, ok := DataOf(inc)["aptBusinessObjectId"].(string); ok {
		return n
	}
	return "incident"
}

// DataOf is an incident's data decoded: its Data, or its text decoded
// where the store gave the text alone (store.DataAsText). Data the text
// does not decode to is nil.
func DataOf(inc *store.Incident) map[string]any {
	if inc.Data != nil {
		return inc.Data
	}
	data, err := jsonvalue.DecodeObject(inc.DataText())
	if err != nil {
		return nil
	}
	return data
}

// isPublic reports whether a comment or attachment with this visibilityType
// may be seen by the other company of the incident.
func isPublic(visibility string) bool {
	return visibility == "" || strings.EqualFold(visibility, "Public")
}

// partnerFields are the data fields that name the partner company, in the
// order partnerOf reads them.
var partnerFields = []string{"partnerCompany", "responsibleEntity"}

// partnerOf returns the partner company an incident's data names.
func partnerOf(data map[string]any) string {
	for _, f := range partnerFields {
		if m, ok := asMap(data[f]); ok {
			if id, ok := m["partnerId"].(string); ok && id != "" {
				return id
			}
		}
	}
	return ""
}

// checkPartner checks that a submission can go to the partner data names:
// one is named, it is not the owner, and it belongs to the network.
func (g *Gateway) checkPartner(pt processType, data map[string]any, owner, network string) (string, error) {
	partner := partnerOf(data)
	return partner, g.checkSubmission(pt, partner, owner, network)
}

// checkSubmission checks that an incident of type pt can be submitted to
// partner (see checkPartner).
func (g *Gateway) checkSubmission(pt processType, partner, owner, network string) error {
	if !pt.hasPartner() {
		return envelope.Errorf(envelope.KindInvalidStateTransition, "a %s has no partner company and cannot be submitted", pt.Name)
	}
	if partner == "" {
		return envelope.Errorf(envelope.KindInvalidStateTransition,
			"no partner company is named; set partnerCompany.partnerId (or responsibleEntity.partnerId) before submitting")
	}
	return g.checkPartnerID(partner, owner, network)
}

// checkPartnerID checks that partner may be given an incident of owner in
// network: it is not the owner, and it belongs to the network.
func (g *Gateway) checkPartnerID(partner, owner, network string) error {
	switch {
	case partner == owner:
		return envelope.Errorf(envelope.KindInvalidStateTransition, "the partner company %q is the owner itself", partner)
	case !g.dir.IsMember(network, partner):
		return envelope.Errorf(envelope.KindInvalidStateTransition,
			"partner company %q is not a member of process network %q", partner, network)
	}
	return nil
}

// partnerFieldsOf picks the fields that name the partner out of a
// payload's data.
func partnerFieldsOf(data map[string]any) map[string]any {
	out := map[string]any{}
	for _, f := range partnerFields {
		if v, sent := data[f]; sent {
			out[f] = v
		}
	}
	return out
}

// partnerAfter is the partner company the data will name once patch is
// merged into it (objects by member, as an edit merges them).
func partnerAfter(data, patch map[string]any) string {
	merged := make(map[string]any, len(partnerFields))
	for _, f := range partnerFields {
		sent, isSent := patch[f]
		if !isSent {
			merged[f] = data[f]
			continue
		}
		obj, sentObj := asMap(sent)
		cur, curObj := asMap(data[f])
		if !sentObj || !curObj {
			merged[f] = sent
			continue
		}
		m := make(map[string]any, len(cur)+len(obj))
		for k, v := range cur {
			m[k] = v
		}
		for k, v := range obj {
			m[k] = v
		}
		merged[f] = m
	}
	return partnerOf(merged)
}

// followPartner keeps the company that may see a submitted incident the
// one its data names. When a change of a submitted incident names another
// partner, the change hands the incident over in the same write: the new
// partner can read it at once and the old one no longer can. When it names
// none, the old partner's access ends and the incident is no longer
// submitted. The history entry records the hand-over in
// detail.partnerFrom and detail.partnerTo. It returns the warning that
// tells the owner what happened ("" if nothing did); a partner that cannot
// be given the incident is a 409 and nothing is written.
func (g *Gateway) followPartner(ch *change, patch map[string]any) (string, error) {
	inc := ch.inc
	if inc.PartnerID == "" {
		return "", nil // not submitted: the partner named gets access at submit
	}
	next := partnerAfter(inc.Data, patch)
	if next == inc.PartnerID {
		return "", nil
	}
	from := inc.PartnerID
	ch.detail("partnerFrom", from)
	ch.detail("partnerTo", next)
	ch.Set["partnerId"] = next
	if next == "" {
		ch.setData("isSubmittedToPartner", false)
		ch.setData("dateSubmitted", nil)
		return fmt.Sprintf("partner company %q no longer has access to %s: it names no partner now, so it is no longer submitted; name a partner and submit it again to share it",
			from, IncidentName(inc)), nil
	}
	if err := g.checkPartnerID(next, inc.OwnerID, inc.NetworkID); err != nil {
		return "", err
	}
	ch.setData("dateSubmitted", ch.call.Now.UnixMilli())
	return fmt.Sprintf("%s was submitted to partner company %q and is now submitted to %q: %q can read it from now on and %q no longer can",
		IncidentName(inc), from, next, next, from), nil
}

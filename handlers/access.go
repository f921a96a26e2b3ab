package handlers

import (
	"context"
	"errors"
	"strings"

	"github.com/scwm-gateway/scwm-gateway/envelope"
	"github.com/scwm-gateway/scwm-gateway/store"
)

// Base states of an incident.
const (
	stateNew                = "New"
	stateUnderInvestigation = "UnderInvestigation"
	stateClosed             = "Closed"
)

// openStates are the states in which an incident can be edited, copied from,
// submitted and closed.
var openStates = []string{stateNew, stateUnderInvestigation}

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

// roleOf decides what the caller is to inc in the header's network, for an
// event of process type pt.
func roleOf(inc *store.Incident, call *Call, pt processType) role {
	if inc.ProcessType != pt.Name || inc.NetworkID != call.Request.Header.ProcessNetworkID {
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
func (g *Gateway) findVisible(ctx context.Context, call *Call, pt processType, id string, with int) (*store.Incident, role, error) {
	h := call.Request.Header
	notFound := envelope.Errorf(envelope.KindObjectNotFound,
		"no %s with id %q is visible to company %q in process network %q", pt.Name, id, h.OwnerID, h.ProcessNetworkID)
	inc, err := g.store.FindIncident(ctx, h.Dataspace, id, with)
	if errors.Is(err, store.ErrNotFound) {
		return nil, roleNone, notFound
	}
	if err != nil {
		return nil, roleNone, err
	}
	r := roleOf(inc, call, pt)
	if r == roleNone {
		return nil, roleNone, notFound
	}
	return inc, r, nil
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
			"%s %s is Closed; reopen it first to %s", incidentName(inc), inc.ID, action)
	}
	return nil
}

// incidentName is how messages name an incident: its INC-<n>.
func incidentName(inc *store.Incident) string {
	if n, ok := inc.Data["aptBusinessObjectId"].(string); ok {
		return n
	}
	return "incident"
}

// isPublic reports whether a comment or attachment with this visibilityType
// may be seen by the other company of the incident.
func isPublic(visibility string) bool {
	return visibility == "" || strings.EqualFold(visibility, "Public")
}

// partnerOf returns the partner company an incident's data names.
func partnerOf(data map[string]any) string {
	for _, f := range []string{"partnerCompany", "responsibleEntity"} {
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
	if !pt.hasPartner() {
		return "", envelope.Errorf(envelope.KindInvalidStateTransition, "a %s has no partner company and cannot be submitted", pt.Name)
	}
	partner := partnerOf(data)
	switch {
	case partner == "":
		return "", envelope.Errorf(envelope.KindInvalidStateTransition,
			"no partner company is named; set partnerCompany.partnerId (or responsibleEntity.partnerId) before submitting")
	case partner == owner:
		return "", envelope.Errorf(envelope.KindInvalidStateTransition, "the partner company %q is the owner itself", partner)
	case !g.dir.IsMember(network, partner):
		return "", envelope.Errorf(envelope.KindInvalidStateTransition,
			"partner company %q is not a member of process network %q", partner, network)
	}
	return partner, nil
}

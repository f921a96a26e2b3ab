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

// role is what a caller is to an incident.
type role int

const (
	// roleNone: the caller may not learn the incident exists.
	roleNone role = iota
	// roleOwner: the incident's company.
	roleOwner
	// rolePartner: the company it was submitted to.
	rolePartner
	// roleMember: another member of the network of an object shared with
	// its network (a template).
	roleMember
)

// roleOf decides what the caller is to inc in the call's network, for an
// event on kind k. A call that names no network (a surface without
// one, such as the REST routes; the envelope API always names one) acts in
// the incident's own network, if the caller's company belongs to it.
func (g *Gateway) roleOf(inc *store.Incident, call *Call, k *kind) role {
	if inc.ProcessType != k.Name {
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
	case k.SharedWithNetwork && g.dir.IsMember(inc.NetworkID, company):
		return roleMember
	}
	return roleNone
}

// findVisible loads an object of kind k that the caller may see in the
// header's dataspace and network, and says what the caller is to it.
// Anything the caller may not see is the same 404, so that ids leak nothing.
// A child is visible only while its parent exists: the children of a
// parent whose creation died half-way belong to nothing (createFamily).
func (g *Gateway) findVisible(ctx context.Context, call *Call, k *kind, id string, with store.Include) (*store.Incident, role, error) {
	inc, err := g.store.FindIncident(ctx, call.Dataspace, id, with)
	if errors.Is(err, store.ErrNotFound) {
		return nil, roleNone, notVisible(call, k, id)
	}
	if err != nil {
		return nil, roleNone, err
	}
	r := g.roleOf(inc, call, k)
	if r == roleNone {
		return nil, roleNone, notVisible(call, k, id)
	}
	if k.Parent != "" {
		if _, err := g.store.FindIncident(ctx, call.Dataspace, inc.ParentID, 0); errors.Is(err, store.ErrNotFound) {
			return nil, roleNone, notVisible(call, k, id)
		} else if err != nil {
			return nil, roleNone, err
		}
	}
	return inc, r, nil
}

// notVisible is the answer for an object the caller may not see, the
// same whether it exists or not.
func notVisible(call *Call, k *kind, id string) error {
	if call.NetworkID == "" {
		return envelope.Errorf(envelope.KindObjectNotFound, "no %s with id %q is visible to company %q", k.Name, id, call.OwnerID)
	}
	return envelope.Errorf(envelope.KindObjectNotFound,
		"no %s with id %q is visible to company %q in process network %q", k.Name, id, call.OwnerID, call.NetworkID)
}

// ownerOnly refuses partners and network members an action only the
// owner may take.
func ownerOnly(k *kind, r role, action string) error {
	switch r {
	case rolePartner:
		if len(k.PartnerEdits) > 0 && strings.HasSuffix(k.PartnerEdits[0], "Response") {
			return envelope.Errorf(envelope.KindAuthorization,
				"a partner company may read this %s, list and add comments and edit the partner response; it may not %s", k.Label, action)
		}
		if len(k.PartnerEdits) == 0 {
			return envelope.Errorf(envelope.KindAuthorization,
				"a partner company may read this %s, list and add comments; it may not %s", k.Label, action)
		}
		return envelope.Errorf(envelope.KindAuthorization,
			"a partner company may read this %s, list and add comments and edit %s; it may not %s", k.Label, strings.Join(k.PartnerEdits, ", "), action)
	case roleMember:
		return envelope.Errorf(envelope.KindAuthorization,
			"this %s belongs to another company of the network; a member may read it and make tasks from it, but may not %s", k.Label, action)
	}
	return nil
}

// mustBeOpen answers 409 when the object is Closed or Removed.
func mustBeOpen(k *kind, inc *store.Incident, action string) error {
	switch inc.CurrentBaseState {
	case "":
	case k.States.Closed:
		return envelope.Errorf(envelope.KindInvalidStateTransition,
			"%s %s is Closed; reopen it first to %s", IncidentName(inc), inc.ID, action)
	case k.States.Removed:
		return removedError(k, inc)
	}
	return nil
}

// removedError is the answer for a change of a removed object.
func removedError(k *kind, inc *store.Incident) error {
	return envelope.Errorf(envelope.KindInvalidStateTransition,
		"%s %s was removed; a removed %s cannot change (its history stays readable)", IncidentName(inc), inc.ID, k.Label)
}

// IncidentName is how messages name an object: its business id, such as
// INC-<n>.
func IncidentName(inc *store.Incident) string {
	if n, ok := DataOf(inc)["aptBusinessObjectId"].(string); ok {
		return n
	}
	if k, ok := lookupKind(inc.ProcessType); ok {
		return k.Label
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
func (g *Gateway) checkPartner(k *kind, data map[string]any, owner, network string) (string, error) {
	partner := partnerOf(data)
	return partner, g.checkSubmission(k, partner, owner, network)
}

// checkSubmission checks that an object of kind k can be submitted to
// partner (see checkPartner).
func (g *Gateway) checkSubmission(k *kind, partner, owner, network string) error {
	if k.Partner != partnerBySubmission {
		return envelope.Errorf(envelope.KindInvalidStateTransition, "a %s has no partner company and cannot be submitted", k.Name)
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

// follow keeps the partner of an object the one its data names after a
// change, by the kind's partner rule (followPartner, followVisibility).
func (g *Gateway) follow(k *kind, ch *change, patch map[string]any) (string, error) {
	if k.Partner == partnerByVisibility {
		return g.followVisibility(ch, patch)
	}
	return g.followPartner(ch, patch)
}

// followVisibility shares an object of a kind shared by visibility with the
// partner its data names while isVisible is true, in the same write as the
// change that makes it so: the partner named can read it from then on, a
// partner no longer named (or isVisible false) no longer can. The history
// entry records the change in detail.partnerFrom and detail.partnerTo.
func (g *Gateway) followVisibility(ch *change, patch map[string]any) (string, error) {
	inc := ch.inc
	visible, _ := inc.Data["isVisible"].(bool)
	if v, sent := patch["isVisible"]; sent {
		visible, _ = v.(bool)
	}
	next := ""
	if visible {
		next = partnerAfter(inc.Data, patch)
	}
	if next == inc.PartnerID {
		return "", nil
	}
	if next != "" {
		if err := g.checkPartnerID(next, inc.OwnerID, inc.NetworkID); err != nil {
			return "", err
		}
	}
	from := inc.PartnerID
	ch.detail("partnerFrom", from)
	ch.detail("partnerTo", next)
	ch.Set["partnerId"] = next
	switch {
	case next == "":
		return fmt.Sprintf("partner company %q no longer has access to %s: it is not visible to a partner now", from, IncidentName(inc)), nil
	case from == "":
		return fmt.Sprintf("%s is visible to partner company %q from now on", IncidentName(inc), next), nil
	}
	return fmt.Sprintf("%s was visible to partner company %q and is now visible to %q instead", IncidentName(inc), from, next), nil
}

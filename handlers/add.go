package handlers

import (
	"context"
	"maps"
	"slices"
	"strconv"

	"github.com/scwm-gateway/scwm-gateway/store"
)

// addObject creates an object of kind k in its initial state, with the
// comments of its comment box, shared with its partner at once when the
// kind's partner rule says so (isSubmittedToPartner, or isVisible).
func (g *Gateway) addObject(k *kind) HandlerFunc {
	return func(ctx context.Context, call *Call) (any, error) {
		inc, err := g.createObject(ctx, call, k, payloadData(call, k), nil, nil, call.Event.Version)
		if err != nil {
			return nil, err
		}
		return map[string]any{"id": inc.ID}, nil
	}
}

// createFamily creates an object of kind k holding data, and the children
// described by children (each the data of one child of kind k.Child), as
// separate inserts under the call's license plate: the children first, the
// parent last. Until the parent is in, the children belong to no object
// anyone can see (findVisible asks for their parent), so a request that
// dies half-way leaves nothing visible, and its retry finds no effect and
// runs again (rebuildAnswer).
func (g *Gateway) createFamily(ctx context.Context, call *Call, k *kind, data, detail map[string]any, children []map[string]any) (*store.Incident, error) {
	if len(children) == 0 {
		return g.createObject(ctx, call, k, data, detail, nil, k.latest(verbAdd))
	}
	parent := &store.Incident{ID: newID(), OwnerID: call.OwnerID, NetworkID: call.NetworkID, ProcessType: k.Name}
	child := kindNamed(k.Child)
	ids := make([]string, 0, len(children))
	for _, cd := range children {
		c, err := g.createObject(ctx, call, child, cd, nil, parent, child.latest(verbAdd))
		if err != nil {
			return nil, err
		}
		ids = append(ids, c.ID)
	}
	if detail == nil {
		detail = map[string]any{}
	}
	detail["childIds"] = ids
	return g.createWithID(ctx, call, k, parent.ID, data, detail, nil, k.latest(verbAdd))
}

// createObject stores a new object of kind k holding data, as one insert
// that carries its comments and its first history entry. detail, if any,
// is recorded in that entry (copy names its source there); parent is the
// object it belongs to, for a kind with a parent; schemaVersion is the
// version of the add event it is made by.
func (g *Gateway) createObject(ctx context.Context, call *Call, k *kind, data, detail map[string]any, parent *store.Incident, schemaVersion int) (*store.Incident, error) {
	return g.createWithID(ctx, call, k, newID(), data, detail, parent, schemaVersion)
}

func (g *Gateway) createWithID(ctx context.Context, call *Call, k *kind, id string, data, detail map[string]any, parent *store.Incident, schemaVersion int) (*store.Incident, error) {
	// A child belongs to its parent's company and network, whoever adds it.
	owner, network := call.OwnerID, call.NetworkID
	if parent != nil {
		owner, network = parent.OwnerID, parent.NetworkID
	}
	partner, err := g.partnerAtAdd(k, data, owner, network)
	if err != nil {
		return nil, err
	}
	n, err := g.store.NextSequence(ctx, call.Dataspace, owner, k.Sequence)
	if err != nil {
		return nil, err
	}
	now := call.Now.UnixMilli()
	fields := slices.AppendSeq(make([]string, 0, len(data)), maps.Keys(data))
	slices.Sort(fields)
	data["aptBusinessObjectId"] = k.Number + strconv.FormatInt(n, 10)
	data["aptBusinessObjectIntegerIdentifier"] = n
	data["fkProcessNetworkId"] = network
	if k.Partner == partnerBySubmission || k.isIncident() {
		submitted := partner != ""
		data["isSubmittedToPartner"] = submitted
		data["dateSubmitted"] = nil
		if submitted {
			data["dateSubmitted"] = now
		}
	}
	if k.Conclusion != "" {
		data[k.Conclusion] = nil
	}
	parentID := ""
	if parent != nil {
		parentID = parent.ID
		data[k.ParentField] = parent.ID
	}
	data["followerId"] = []any{}

	comments := commentsFrom(call)
	activity := newActivity(call)
	activity.DataVersion = 1
	activity.Fields = fields
	activity.StateTo = k.States.Initial
	activity.CommentIDs = commentIDs(comments)
	if len(detail) > 0 {
		if activity.Detail == nil {
			activity.Detail = map[string]any{}
		}
		maps.Copy(activity.Detail, detail)
	}
	inc := &store.Incident{
		ID:               id,
		Dataspace:        call.Dataspace,
		OwnerID:          owner,
		NetworkID:        network,
		ProcessType:      k.Name,
		SchemaVersion:    schemaVersion,
		DataVersion:      1,
		CreatedByUserID:  call.Caller.UserID,
		LastUpdatedBy:    call.Caller.UserID,
		CreatedAt:        now,
		LastUpdatedAt:    now,
		CurrentBaseState: k.States.Initial,
		Number:           n,
		PartnerID:        partner,
		ParentID:         parentID,
		Data:             data,
		Comments:         comments,
		Activities:       []store.Activity{activity},
	}
	if err := g.store.InsertIncident(ctx, inc); err != nil {
		return nil, err
	}
	call.Incident = inc
	return inc, nil
}

// partnerAtAdd is the partner company a new object is shared with at once:
// the one its data names when isSubmittedToPartner (or, for a kind shared
// by visibility, isVisible) is true; "" when it is not shared.
func (g *Gateway) partnerAtAdd(k *kind, data map[string]any, owner, network string) (string, error) {
	switch k.Partner {
	case partnerBySubmission:
		if submit, _ := data["isSubmittedToPartner"].(bool); submit {
			return g.checkPartner(k, data, owner, network)
		}
	case partnerByVisibility:
		if visible, _ := data["isVisible"].(bool); visible {
			if partner := partnerOf(data); partner != "" {
				return partner, g.checkPartnerID(partner, owner, network)
			}
		}
	default:
		if submit, _ := data["isSubmittedToPartner"].(bool); submit {
			// Refused as before: the kind has no partner.
			return g.checkPartner(k, data, owner, network)
		}
	}
	return "", nil
}

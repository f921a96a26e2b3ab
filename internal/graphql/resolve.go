package graphql

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"

	"github.com/scwm-gateway/scwm-gateway/envelope"
	"github.com/scwm-gateway/scwm-gateway/handlers"
	"github.com/scwm-gateway/scwm-gateway/internal/jsonvalue"
	"github.com/scwm-gateway/scwm-gateway/store"
)

// getObject runs genericGetObject: the kind's read event, dispatched as
// the caller (so that what the caller may not see is the read's
// ObjectNotFoundException), made an object of the kind's type whose
// relations are resolved when selected.
func (r *run) getObject(ctx context.Context, typ, id string) (any, error) {
	plate := envelope.NewLicensePlate()
	if err := r.admit(plate); err != nil {
		return nil, err
	}
	if strings.EqualFold(typ, "AptComment") {
		return r.getComment(ctx, id, plate)
	}
	spec, ok := kindOfType(r.svc.specs, typ)
	if !ok || spec.Read.Action == "" {
		return nil, &actionError{plate: plate, err: envelope.Errorf(envelope.KindUnsupportedEvent,
			"type %q cannot be read with genericGetObject; types: %s", typ, r.svc.supportedTypes())}
	}
	res, err := r.dispatch(ctx, spec.Read, map[string]any{"id": id}, plate)
	if err != nil {
		return nil, err
	}
	return r.objectOf(spec, res.Payload, res.Incident), nil
}

// getComment reads one comment by its id: the comments of its object the
// caller may see, listed as the caller (list-comments-for-process), hold
// it, or it is not found, with the same answer whether the comment does
// not exist, belongs to an object the caller may not see or is hidden
// from the caller.
func (r *run) getComment(ctx context.Context, id, plate string) (any, error) {
	notFound := &actionError{plate: plate, err: envelope.Errorf(envelope.KindObjectNotFound,
		"no comment with id %q is visible to company %q", id, r.req.Caller.CompanyID)}
	objectID, processType, err := r.svc.core.CommentTarget(ctx, r.req.Dataspace, id)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, notFound
		}
		return nil, &actionError{plate: plate, err: r.svc.core.Failure(ctx, err, "finding the comment", plate)}
	}
	spec, ok := kindOfType(r.svc.specs, typeName(processType))
	if !ok {
		return nil, notFound
	}
	res, err := r.dispatch(ctx, spec.ListComments, map[string]any{"id": objectID, "processType": spec.Name}, plate)
	if err != nil {
		var ae *actionError
		if errors.As(err, &ae) && ae.err.Kind == envelope.KindObjectNotFound {
			return nil, notFound
		}
		return nil, err
	}
	answer, _ := jsonValue(res.Payload).(map[string]any)
	list, _ := answer["comments"].([]any)
	for _, c := range list {
		if comment, ok := c.(map[string]any); ok && comment["id"] == id {
			return &obj{typ: "AptComment", fields: map[string]any{"id": id, "data": comment}}, nil
		}
	}
	return nil, notFound
}

// objectOf is the object of a record (the answer of a read or a list
// event) of kind spec; inc, when known, is the stored object, which
// names its partner for the relations.
func (r *run) objectOf(spec handlers.KindSpec, record any, inc *store.Incident) *obj {
	m, _ := jsonValue(record).(map[string]any)
	if m == nil {
		m = map[string]any{}
	}
	data, _ := m["data"].(map[string]any)
	o := &obj{typ: typeName(spec.Name), fields: m}
	partner := ""
	if inc != nil {
		partner = inc.PartnerID
	}
	owner, _ := m["ownerId"].(string)
	id, _ := m["id"].(string)
	o.resolve = func(ctx context.Context, name string, _ map[string]any) (any, error) {
		rel := relation{run: r, spec: spec, id: id, owner: owner, partner: partner, data: data}
		return rel.resolve(ctx, name)
	}
	return o
}

// relation resolves the relations of one object.
type relation struct {
	run            *run
	spec           handlers.KindSpec
	id             string
	owner, partner string
	data           map[string]any
}

// resolve is the list of edges of the relation name. Each is resolved
// from the object's data, through the same checks as the events that
// read what it leads to: comments and sub-tasks are listed by their list
// events, users are shown when they belong to the object's owner or
// partner, and master data when the caller may see it.
func (rel relation) resolve(ctx context.Context, name string) (any, error) {
	switch name {
	case "aptBusinessObjectContainsComment", "aptBusinessObjectContainsAttachment":
		return rel.comments(ctx, name == "aptBusinessObjectContainsAttachment")
	case "aptBusinessObjectContainsSubTask":
		return rel.children(ctx)
	case "aptBusinessObjectBelongsToProcessNetwork":
		network, _ := rel.data["fkProcessNetworkId"].(string)
		if network == "" {
			return []any{}, nil
		}
		return []any{edge(&obj{typ: "ProcessNetwork", fields: map[string]any{"id": network}})}, nil
	case "aptBusinessObjectCompanyAssignedUser":
		return rel.users(ctx, rel.owner, ids(rel.data["currentlyAssignedCompanyUsers"])), nil
	case "aptBusinessObjectPartnerAssignedUser":
		return rel.users(ctx, rel.partner, ids(rel.data["currentlyAssignedPartnerUsers"])), nil
	case "aptBusinessObjectCompanyOwnerUser":
		return rel.users(ctx, rel.owner, ids(rel.data["responsiblePartyAtCompany"])), nil
	case "aptBusinessObjectPartnerOwnerUser":
		return rel.users(ctx, rel.partner, ids(rel.data["responsiblePartyAtPartner"])), nil
	case "aptBusinessObjectAssignedToCompanyPartnerMasterData":
		id := partnerID(rel.data["partnerCompany"])
		if id == "" {
			id = rel.partner
		}
		return rel.masterData(id, ""), nil
	case "aptBusinessObjectPrimaryPartnerLocationMasterData":
		id := partnerID(rel.data["responsibleEntity"])
		if loc, ok := rel.data["aptBusinessObjectImpactsLocationMasterData"].(map[string]any); ok && id == "" {
			id, _ = loc["partnerLocationId"].(string)
		}
		return rel.masterData(id, "PartnerLocationMasterData"), nil
	case productRelation:
		return rel.products(), nil
	}
	return nil, nil
}

func edge(to any) any { return &obj{typ: "Edge", fields: map[string]any{"to": to}} }

// comments lists the object's comments (or their attachments) the caller
// may see, with the list-comments event.
func (rel relation) comments(ctx context.Context, attachments bool) (any, error) {
	res, err := rel.run.dispatch(ctx, rel.spec.ListComments, map[string]any{"id": rel.id, "processType": rel.spec.Name}, envelope.NewLicensePlate())
	if err != nil {
		return nil, err
	}
	answer, _ := jsonValue(res.Payload).(map[string]any)
	list, _ := answer["comments"].([]any)
	out := []any{}
	for _, c := range list {
		comment, ok := c.(map[string]any)
		if !ok {
			continue
		}
		id, _ := comment["id"].(string)
		if !attachments {
			out = append(out, edge(&obj{typ: "AptComment", fields: map[string]any{"id": id, "data": comment}}))
			continue
		}
		atts, _ := comment["attachments"].([]any)
		for _, a := range atts {
			att, ok := a.(map[string]any)
			if !ok {
				continue
			}
			data := map[string]any{"commentId": id}
			for k, v := range att {
				data[k] = v
			}
			out = append(out, edge(&obj{typ: "AptAttachment", fields: map[string]any{"id": att["id"], "data": data}}))
		}
	}
	return out, nil
}

// children lists the sub-tasks (or sub-task templates) the caller may see.
func (rel relation) children(ctx context.Context) (any, error) {
	if rel.spec.Child == "" {
		return []any{}, nil
	}
	child, ok := kindOfType(rel.run.svc.specs, typeName(rel.spec.Child))
	if !ok {
		return []any{}, nil
	}
	res, err := rel.run.dispatch(ctx, rel.spec.ListChildren, map[string]any{"id": rel.id}, envelope.NewLicensePlate())
	if err != nil {
		return nil, err
	}
	answer, _ := jsonValue(res.Payload).(map[string]any)
	list, _ := answer["subTasks"].([]any)
	out := []any{}
	for _, c := range list {
		out = append(out, edge(rel.run.objectOf(child, c, nil)))
	}
	return out, nil
}

// users are the named users of company; a user of another company (or
// none) is left out, so that an object cannot be made to reveal the names
// of users who are no party to it. Only the caller's own company sees a
// user's e-mail address.
func (rel relation) users(ctx context.Context, company string, list []string) []any {
	out := []any{}
	if company == "" {
		return out
	}
	caller := rel.run.req.Caller.CompanyID
	for _, id := range list {
		u, err := rel.run.svc.core.FindUser(ctx, id)
		if err != nil || u == nil || u.CompanyID != company {
			continue
		}
		data := map[string]any{"givenName": u.GivenName, "surname": u.Surname, "companyId": u.CompanyID}
		if u.CompanyID == caller {
			data["email"] = u.Username
		}
		out = append(out, edge(&obj{typ: "User", fields: map[string]any{"id": u.ID, "data": data}}))
	}
	return out
}

// masterData is the edge to the master data with id the caller may see,
// if any (and, when want is set, only if it is of that type).
func (rel relation) masterData(id, want string) []any {
	if id == "" {
		return []any{}
	}
	rec, ok := rel.run.svc.core.MasterDataByID(rel.run.req.Caller.CompanyID, id)
	if !ok {
		return []any{}
	}
	o := masterObj(rec)
	if o == nil || (want != "" && o.typ != want) {
		return []any{}
	}
	return []any{edge(o)}
}

// products are the edges to the products the object's impactedProducts
// names, each with its impacted lots; a product the caller may not see
// has no to.
func (rel relation) products() []any {
	var items []any
	switch v := rel.data["impactedProducts"].(type) {
	case []any:
		items = v
	case nil:
	default:
		items = []any{v}
	}
	out := []any{}
	caller := rel.run.req.Caller.CompanyID
	for _, item := range items {
		var id string
		var lots any
		switch p := item.(type) {
		case string:
			id = p
		case map[string]any:
			id, _ = p["productDetailId"].(string)
			lots = p["impactedLots"]
		}
		var to any
		if rec, ok := rel.run.svc.core.MasterDataByID(caller, id); ok && id != "" {
			if o := masterObj(rec); o != nil && o.typ == "ProductMasterData" {
				to = o
			}
		}
		out = append(out, &obj{typ: "ImpactedProductEdge", fields: map[string]any{"to": to, "impactedLots": lots}})
	}
	return out
}

// masterObj is a master-data record as its GraphQL type; a product is
// given the shape of TraceLink's product master data.
func masterObj(rec map[string]any) *obj {
	objectType, _ := rec["objectType"].(string)
	_, kind, _ := strings.Cut(objectType, ":")
	typ := typeName(kind)
	switch typ {
	case "CompanyMasterData", "CompanyLocationMasterData", "PartnerMasterData", "PartnerLocationMasterData":
		m, _ := jsonValue(rec).(map[string]any)
		return &obj{typ: typ, fields: m}
	case "ProductMasterData":
		m, _ := jsonValue(rec).(map[string]any)
		data, _ := m["data"].(map[string]any)
		codes := []any{}
		derived := []string{}
		itemCodes, _ := data["itemCodes"].([]any)
		for _, c := range itemCodes {
			code, _ := c.(map[string]any)
			t, _ := code["type"].(string)
			v, _ := code["value"].(string)
			codes = append(codes, map[string]any{"regulatoryItemCodeType": t, "regulatoryItemCodeValue": v})
			derived = append(derived, t+":"+v)
		}
		product := map[string]any{
			"productItemInformation": map[string]any{
				"productName": data["productName"], "packSize": data["packageSize"],
				"strength": data["strength"], "dosageForm": data["dosageForm"],
			},
			"packagingInformation": []any{},
			"regulatoryItemCodes":  []any{map[string]any{"regulatoryItemCode": codes}},
			"packagingInformationAndRegulatoryItemCodesDerivedField": strings.Join(derived, ", "),
			"description":  data["description"],
			"manufacturer": data["manufacturer"],
		}
		return &obj{typ: typ, fields: map[string]any{"id": m["id"], "ownerId": m["ownerId"], "data": product}}
	}
	return nil
}

// ids are the user ids of a field that holds one or a list.
func ids(v any) []string {
	switch x := v.(type) {
	case string:
		if x != "" {
			return []string{x}
		}
	case []any:
		out := make([]string, 0, len(x))
		for _, item := range x {
			if s, ok := item.(string); ok && s != "" {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// partnerID is the partnerId of a partner reference ({"partnerId": ...}).
func partnerID(v any) string {
	ref, _ := v.(map[string]any)
	id, _ := ref["partnerId"].(string)
	return id
}

// jsonValue is v as decoded JSON (maps, slices, json.Number), the form
// the executor walks: answers of events are Go values of several types.
func jsonValue(v any) any {
	text, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	if out, ok := jsonvalue.Decode(text); ok {
		return out
	}
	dec := json.NewDecoder(bytes.NewReader(text))
	dec.UseNumber()
	var out any
	if dec.Decode(&out) != nil {
		return nil
	}
	return out
}

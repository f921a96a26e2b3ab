package handlers

import (
	"context"
)

// copyGroup is a group of incident fields that one copy* flag selects.
type copyGroup struct {
	Flag string
	// Fields are copied for every process type; Objects are the type's own
	// objects, named by the type's prefix (Prefix+"Impact", ...).
	Fields  []string
	Objects []string
}

// copyGroups is the copy table, the same for every process type;
// a type's own objects come in through its prefix. docs/copy-groups.md shows
// it per type and a test keeps the two in step.
var copyGroups = []copyGroup{
	{Flag: "copyGeneralInfo", Fields: []string{
		"aptBusinessObjectDescription", "incidentCategory", "deviationType",
		"responsiblePartyAtCompany", "responsibleDepartmentAtCompany", "currentlyAssignedCompanyUsers",
		"resolutionDueDate", "isEscalated", "originatingLocation",
		"serviceType", "serviceSubtype", "serviceProblem",
	}},
	{Flag: "copyPartnerInfo", Fields: []string{
		"partnerCompany", "responsibleEntity", "partnerLocationId", "indirectPartnerLocationId",
		"responsiblePartyAtPartner", "responsibleDepartmentAtPartner", "currentlyAssignedPartnerUsers",
	}},
	{Flag: "copyMaterialInfo", Fields: []string{"materialType", "materialSubtype", "materialProblem"},
		Objects: []string{"MaterialInformation"}},
	{Flag: "copyImpactInfo", Fields: []string{
		"businessPriority", "impactedProducts", "potentiallyImpactedProducts",
		"impactedLocations", "potentiallyImpactedLocations", "impactedLocation",
	}, Objects: []string{"Impact"}},
	{Flag: "copyReferenceIds", Fields: []string{"referenceIdentifiers"}},
	{Flag: "copyRelatedProcesses", Fields: []string{"relatedProcesses"}},
}

// fields lists the data fields a group copies for process type pt.
func (cg copyGroup) fields(pt processType) []string {
	out := append([]string(nil), cg.Fields...)
	for _, o := range cg.Objects {
		out = append(out, pt.Prefix+o)
	}
	return out
}

// copyIncident creates a new incident, in state New, from an open one the
// caller owns: the summary comes from the payload, and the field groups
// whose copy* flags are true come from the source. Comments, history,
// responses, the conclusion and the submission are never copied.
func (g *Gateway) copyIncident(pt processType) HandlerFunc {
	return func(ctx context.Context, call *Call) (any, error) {
		src, r, err := g.findVisible(ctx, call, pt, stringField(call.Payload, "id"), 0)
		if err != nil {
			return nil, err
		}
		if err := ownerOnly(r, "copy it"); err != nil {
			return nil, err
		}
		if err := mustBeOpen(src, "copy from it"); err != nil {
			return nil, err
		}
		data := map[string]any{}
		var groups []string
		for _, cg := range copyGroups {
			if on, _ := call.Payload[cg.Flag].(bool); !on {
				continue
			}
			groups = append(groups, cg.Flag)
			for _, f := range cg.fields(pt) {
				if v, ok := src.Data[f]; ok {
					data[f] = v
				}
			}
		}
		// What the copy payload itself says wins over the source.
		for k, v := range payloadData(call) {
			if !isCopyFlag(k) {
				data[k] = v
			}
		}
		inc, err := g.createIncident(ctx, call, pt, data, map[string]any{"copiedFrom": src.ID, "copiedGroups": groups})
		if err != nil {
			return nil, err
		}
		return map[string]any{"id": inc.ID}, nil
	}
}

func isCopyFlag(name string) bool {
	for _, cg := range copyGroups {
		if cg.Flag == name {
			return true
		}
	}
	return false
}

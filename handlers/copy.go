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

// incidentCopyGroups is the copy table of the incident family, the same for
// every incident type; a type's own objects come in through its prefix.
// docs/copy-groups.md shows every kind's table and a test keeps the two in
// step.
var incidentCopyGroups = []copyGroup{
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

// changeCopyGroups is the copy table of change requests.
var changeCopyGroups = []copyGroup{
	{Flag: "copyGeneralInfo", Fields: []string{
		"aptBusinessObjectDescription", "changeType", "implementationDueDate", "implementationTeam",
		"responsiblePartyAtCompany", "responsibleDepartmentAtCompany", "currentlyAssignedCompanyUsers",
		"initiatingCompany", "subjectMatterExpert",
	}},
	{Flag: "copyPartnerInfo", Fields: []string{
		"partnerCompany", "responsiblePartyAtPartner", "responsibleDepartmentAtPartner", "currentlyAssignedPartnerUsers",
	}},
	{Flag: "copyImpactInfo", Fields: []string{"businessPriority", "changeImpact", "productId", "impactedLocation"}},
	{Flag: "copyReferenceIds", Fields: []string{"referenceIdentifiers"}},
	{Flag: "copyRelatedProcesses", Fields: []string{"relatedProcesses"}},
}

// taskCopyGroups is the copy table of tasks; copySubTasks copies the
// sub-tasks (kind.CopyChildren).
var taskCopyGroups = []copyGroup{
	{Flag: "copyGeneralInfo", Fields: []string{
		"aptBusinessObjectDescription", "businessPriority", "completionDueDate", "isVisible",
		"responsiblePartyAtCompany", "responsibleDepartmentAtCompany", "currentlyAssignedCompanyUsers",
	}},
	{Flag: "copyReferenceIds", Fields: []string{"referenceIdentifiers"}},
	{Flag: "copyRelatedProcesses", Fields: []string{"relatedProcesses"}},
}

// templateCopyGroups is the copy table of task templates; copySubTasks
// copies the sub-task templates.
var templateCopyGroups = []copyGroup{
	{Flag: "copyGeneralInfo", Fields: []string{
		"aptBusinessObjectDescription", "isTemplateModifiableByMember", "isAddRemoveSubtaskAllowed",
		"completionRequiredWithinDays", "businessPriority", "responsiblePartyAtCompany",
		"responsibleDepartmentAtCompany", "currentlyAssignedCompanyUsers", "referenceIdentifiers", "relatedProcesses",
	}},
}

// fields lists the data fields a group copies for kind k.
func (cg copyGroup) fields(k *kind) []string {
	out := append([]string(nil), cg.Fields...)
	for _, o := range cg.Objects {
		out = append(out, k.Prefix+o)
	}
	return out
}

// copyObject creates a new object of kind k, in its initial state, from an
// open one the caller owns: the summary (or a template's name) comes from
// the payload, and the field groups whose copy* flags are true come from
// the source; for a kind with children, the CopyChildren flag copies the
// children that are not removed, in their initial state. Comments,
// history, responses, the conclusion and the submission are never copied.
func (g *Gateway) copyObject(k *kind) HandlerFunc {
	return func(ctx context.Context, call *Call) (any, error) {
		src, r, err := g.findVisible(ctx, call, k, stringField(call.Payload, "id"), 0)
		if err != nil {
			return nil, err
		}
		if err := ownerOnly(k, r, "copy it"); err != nil {
			return nil, err
		}
		if err := mustBeOpen(k, src, "copy from it"); err != nil {
			return nil, err
		}
		data := map[string]any{}
		var groups []string
		for _, cg := range k.CopyGroups {
			if on, _ := call.Payload[cg.Flag].(bool); !on {
				continue
			}
			groups = append(groups, cg.Flag)
			for _, f := range cg.fields(k) {
				if v, ok := src.Data[f]; ok {
					data[f] = v
				}
			}
		}
		// What the copy payload itself says wins over the source.
		for f, v := range payloadData(call, k) {
			if !k.isCopyFlag(f) {
				data[f] = v
			}
		}
		var children []map[string]any
		if on, _ := call.Payload[k.CopyChildren].(bool); on && k.Child != "" {
			groups = append(groups, k.CopyChildren)
			if children, err = g.childrenToCopy(ctx, call, k, src); err != nil {
				return nil, err
			}
		}
		inc, err := g.createFamily(ctx, call, k, data, map[string]any{"copiedFrom": src.ID, "copiedGroups": groups}, children)
		if err != nil {
			return nil, err
		}
		return map[string]any{"id": inc.ID}, nil
	}
}

// isCopyFlag reports whether a payload field is one of the kind's copy
// flags rather than data.
func (k *kind) isCopyFlag(name string) bool {
	if name == k.CopyChildren && k.Child != "" {
		return true
	}
	for _, cg := range k.CopyGroups {
		if cg.Flag == name {
			return true
		}
	}
	return false
}

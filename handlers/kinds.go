package handlers

import (
	"slices"
	"strconv"
	"strings"
)

// verb is what an event does to an object of a kind.
type verb string

// The verbs of the catalogue.
const (
	verbAdd    verb = "add"
	verbEdit   verb = "edit"
	verbCopy   verb = "copy"
	verbClose  verb = "close"
	verbReopen verb = "reopen"
	verbSubmit verb = "submit"
	verbRemove verb = "remove"
	verbRead   verb = "read"
	// verbList lists the children of a parent kind.
	verbList verb = "list"
)

// verbOrder is the order the catalogue and the docs list a kind's events in.
var verbOrder = []verb{verbAdd, verbEdit, verbCopy, verbClose, verbReopen, verbSubmit, verbRemove, verbRead, verbList}

// partnerRule says how an object of a kind comes to be shared with a
// partner company.
type partnerRule int

const (
	// partnerNone: never shared with another company.
	partnerNone partnerRule = iota
	// partnerBySubmission: isSubmittedToPartner at add, or the submit
	// event, shares it with the partner its data names.
	partnerBySubmission
	// partnerByVisibility: isVisible true with a partner named shares it,
	// at add or in any edit; isVisible false ends the sharing.
	partnerByVisibility
)

// states are the base states of a kind and how its events move between
// them.
type states struct {
	// Initial is the state an add or a copy creates.
	Initial string
	// Edit lists the states an edit's newBaseState may name, from any
	// open state.
	Edit []string
	// Closed is the state close moves to; "" for a kind that does not close.
	Closed string
	// Reopened is the state reopen moves a Closed object to.
	Reopened string
	// Removed is the state remove moves to; "" for a kind that is not
	// removed.
	Removed string
}

// kind describes one kind of process object by data: how its events are
// named and at which versions they are served, its states and transitions,
// its number, the fields the gateway keeps in its data, how it is shared
// with partners, what a copy takes, and its parent or children. The
// catalogue, the handlers and docs/events.md, lifecycle.md and
// copy-groups.md all read this table; adding a kind is an entry here plus
// the schemas of its events.
type kind struct {
	// Name is the processType, as in objectType "agile-process-teams:<Name>".
	Name string
	// Label is how messages name an object of the kind.
	Label string
	// Noun names the kind in its event actions: "add-<Noun>".
	Noun string
	// ReadNoun names the kind in its read event: "read-<ReadNoun>".
	ReadNoun string
	// Actions names the events whose action does not follow
	// "<verb>-<Noun>" (submit is "submit-<Noun>-to-partner").
	Actions map[verb]string
	// Versions are the versions of each verb's event that are served.
	Versions map[verb][]int
	// Prefix names the kind's own data objects: <Prefix>Response, and for
	// incidents <Prefix>Impact and <Prefix>MaterialInformation.
	Prefix string
	// Number starts the kind's business id, "INC-" in "INC-17"; Sequence
	// names the per-company counter behind it (kinds may share one).
	Number, Sequence string
	States           states
	// Conclusion is the data field close records its conclusion in, made
	// of ConclusionFields; "" for a kind that does not close.
	Conclusion       string
	ConclusionFields []string
	Partner          partnerRule
	// PartnerEdits are the fields a partner may edit, besides comments.
	PartnerEdits []string
	// PartnerCloses lets the partner close the object (a sub-task the
	// partner works).
	PartnerCloses bool
	// SharedWithNetwork lets every member of the object's network read it
	// (a template, from which any member makes tasks).
	SharedWithNetwork bool
	// CopyGroups are the field groups a copy's flags select.
	CopyGroups []copyGroup
	// Parent is the kind of the object this kind belongs to; ParentField
	// names it in the add payload and in the data ("taskId").
	Parent, ParentField string
	// Child is the kind of the objects that belong to this kind; CopyChildren
	// names the copy flag that copies them.
	Child, CopyChildren string
	// Kept are more data fields the gateway keeps for the kind (what a
	// task was made from).
	Kept []string

	system []string
}

// Incident states.
const (
	stateNew                = "New"
	stateUnderInvestigation = "UnderInvestigation"
	stateClosed             = "Closed"
)

var incidentStates = states{Initial: stateNew, Edit: []string{stateUnderInvestigation}, Closed: stateClosed, Reopened: stateUnderInvestigation}

// incidentConclusion is the close record of the incident family.
var incidentConclusion = []string{"resolutionType", "isReoccuring", "finalRootCause", "closingStatement"}

// closing is the close record of the other kinds.
var closing = []string{"resolutionType", "closingStatement"}

// incidentKind is an entry of the incident family: the five incident types
// and compliance exceptions share its states, conclusion, copy groups and
// partner rules.
func incidentKind(name, label, noun, readNoun, prefix string, add, edit, copyV, closeV, reopen, submit int, read ...int) *kind {
	k := &kind{
		Name: name, Label: label, Noun: noun, ReadNoun: readNoun, Prefix: prefix,
		Number: "INC-", Sequence: "incident",
		States:     incidentStates,
		Conclusion: "incidentConclusion", ConclusionFields: incidentConclusion,
		Versions: map[verb][]int{verbAdd: {add}, verbEdit: {edit}, verbClose: {closeV}, verbReopen: {reopen}, verbRead: read},
		Partner:  partnerBySubmission,
	}
	if copyV > 0 {
		k.Versions[verbCopy] = []int{copyV}
		k.CopyGroups = incidentCopyGroups
	}
	if submit > 0 {
		k.Versions[verbSubmit] = []int{submit}
		k.PartnerEdits = []string{prefix + "Response", "submitInitialResponse", "submitFinalResponse"}
	} else {
		k.Partner = partnerNone
	}
	return k
}

// kinds is the catalogue's table of kinds.
var kinds = []*kind{
	incidentKind("incident", "incident", "incident", "incident", "incident", 5, 5, 3, 1, 1, 1, 4),
	withVersion(incidentKind("directSupplierIncident", "incident", "direct-supplier-incident", "directSupplierIncident", "directSupplier", 3, 3, 2, 2, 1, 1, 3, 4), verbAdd, 2),
	incidentKind("indirectSupplierIncident", "incident", "indirect-supplier-incident", "indirectSupplierIncident", "indirectSupplier", 3, 3, 2, 2, 1, 1, 4),
	incidentKind("externalManufacturingIncident", "incident", "external-manufacturing-incident", "externalManufacturingIncident", "externalManufacturing", 3, 3, 1, 2, 1, 1, 4),
	incidentKind("internalManufacturingIncident", "incident", "internal-manufacturing-incident", "internalManufacturingIncident", "internalManufacturing", 3, 3, 1, 2, 1, 0, 4),
	withNumber(incidentKind("complianceException", "compliance exception", "compliance-exception", "complianceException", "complianceException", 1, 1, 0, 1, 1, 1, 1), "CE-", "complianceException"),
	{
		Name: "change", Label: "change request", Noun: "change", ReadNoun: "change", Prefix: "change",
		Number: "CHG-", Sequence: "change",
		Versions:   map[verb][]int{verbAdd: {3}, verbEdit: {3}, verbCopy: {2, 3}, verbClose: {2, 3}, verbReopen: {1, 3}, verbRead: {3}},
		States:     states{Initial: stateNew, Edit: []string{"UnderEvaluation", "InImplementation"}, Closed: stateClosed, Reopened: "UnderEvaluation"},
		Conclusion: "changeConclusion", ConclusionFields: closing,
		Partner:      partnerByVisibility,
		PartnerEdits: []string{"responsiblePartyAtPartner", "responsibleDepartmentAtPartner", "currentlyAssignedPartnerUsers"},
		CopyGroups:   changeCopyGroups,
	},
	{
		Name: "documentReview", Label: "document review", Noun: "document-review", ReadNoun: "documentReview", Prefix: "documentReview",
		Number: "DR-", Sequence: "documentReview",
		Versions:   map[verb][]int{verbAdd: {1}, verbEdit: {1}, verbClose: {1}, verbReopen: {1}, verbSubmit: {1}, verbRead: {1}},
		States:     states{Initial: stateNew, Edit: []string{"UnderReview"}, Closed: stateClosed, Reopened: "UnderReview"},
		Conclusion: "documentReviewConclusion", ConclusionFields: closing,
		Partner:      partnerBySubmission,
		PartnerEdits: []string{"documentReviewResponse", "responsiblePartyAtPartner", "currentlyAssignedPartnerUsers"},
	},
	{
		Name: "task", Label: "task", Noun: "task", ReadNoun: "task", Prefix: "task",
		Number: "TASK-", Sequence: "task",
		Versions:   map[verb][]int{verbAdd: {2}, verbEdit: {3}, verbCopy: {1}, verbClose: {1}, verbReopen: {1}, verbRead: {3}, verbList: {1}},
		Actions:    map[verb]string{verbList: "list-sub-task-for-task"},
		States:     states{Initial: stateNew, Edit: []string{"InProgress"}, Closed: stateClosed, Reopened: "InProgress"},
		Conclusion: "taskConclusion", ConclusionFields: closing,
		CopyGroups: taskCopyGroups,
		Kept:       []string{"templateId", "isAddRemoveSubtaskAllowed"},
		Child:      "subTask", CopyChildren: "copySubTasks",
	},
	{
		Name: "subTask", Label: "sub-task", Noun: "sub-task", ReadNoun: "subTask", Prefix: "subTask",
		Number: "SUB-", Sequence: "subTask",
		Versions: map[verb][]int{verbAdd: {2}, verbEdit: {3}, verbClose: {1}, verbReopen: {1}, verbSubmit: {1}, verbRemove: {1}, verbRead: {1}},
		Actions: map[verb]string{
			verbAdd: "add-sub-task-to-task", verbEdit: "edit-sub-task-on-task", verbRemove: "remove-sub-task-from-task",
		},
		States:     states{Initial: stateNew, Edit: []string{"InProgress"}, Closed: stateClosed, Reopened: "InProgress", Removed: "Removed"},
		Conclusion: "subTaskConclusion", ConclusionFields: closing,
		Partner:       partnerBySubmission,
		PartnerEdits:  []string{"newBaseState", "subTaskResponse", "responsiblePartyAtPartner", "responsibleDepartmentAtPartner", "currentlyAssignedPartnerUsers"},
		PartnerCloses: true,
		Parent:        "task", ParentField: "taskId",
		Kept: []string{"subTaskTemplateId"},
	},
	{
		Name: "taskTemplate", Label: "task template", Noun: "task-template", ReadNoun: "taskTemplate", Prefix: "taskTemplate",
		Number: "TMPL-", Sequence: "taskTemplate",
		Versions:          map[verb][]int{verbAdd: {1}, verbEdit: {3}, verbCopy: {1}, verbRead: {1}, verbList: {1}},
		Actions:           map[verb]string{verbList: "list-sub-task-for-template"},
		States:            states{Initial: "Active"},
		SharedWithNetwork: true,
		CopyGroups:        templateCopyGroups,
		Child:             "subTaskTemplate", CopyChildren: "copySubTasks",
	},
	{
		Name: "subTaskTemplate", Label: "sub-task template", Noun: "sub-task-template", ReadNoun: "subTaskTemplate", Prefix: "subTaskTemplate",
		Number: "STMPL-", Sequence: "subTaskTemplate",
		Versions: map[verb][]int{verbAdd: {2}, verbEdit: {3}, verbRemove: {1}},
		Actions: map[verb]string{
			verbAdd: "add-sub-task-to-template", verbEdit: "edit-sub-task-on-template", verbRemove: "remove-sub-task-from-template",
		},
		States:            states{Initial: "Active", Removed: "Removed"},
		SharedWithNetwork: true,
		Parent:            "taskTemplate", ParentField: "templateId",
	},
}

// withVersion serves one more version of a verb's event (an older one
// that clients still send).
func withVersion(k *kind, v verb, version int) *kind {
	k.Versions[v] = append(k.Versions[v], version)
	slices.Sort(k.Versions[v])
	return k
}

// withNumber gives a kind its own business-id prefix and counter.
func withNumber(k *kind, number, sequence string) *kind {
	k.Number, k.Sequence = number, sequence
	return k
}

// objectType is the record's objectType.
func (k *kind) objectType() string { return appAPT + ":" + k.Name }

// isIncident reports whether the kind is of the incident family.
func (k *kind) isIncident() bool { return k.Conclusion == "incidentConclusion" }

// action is the action of the kind's event for verb v: "edit" gives
// "edit-direct-supplier-incident".
func (k *kind) action(v verb) string {
	if a, ok := k.Actions[v]; ok {
		return a
	}
	switch v {
	case verbSubmit:
		return "submit-" + k.Noun + "-to-partner"
	case verbRead:
		return "read-" + k.ReadNoun
	}
	return string(v) + "-" + k.Noun
}

// latest is the newest version served of verb's event, 0 if none.
func (k *kind) latest(v verb) int {
	if vs := k.Versions[v]; len(vs) > 0 {
		return vs[len(vs)-1]
	}
	return 0
}

// sharedKinds are the kinds whose objects every member of their network
// sees (SharedWithNetwork), for search and the feed.
var sharedKinds []string

func init() {
	for _, k := range kinds {
		k.system = k.listSystemFields()
		if k.SharedWithNetwork {
			sharedKinds = append(sharedKinds, k.Name)
		}
	}
}

// systemFields are the data fields the gateway maintains for the kind; a
// payload cannot set them, and a value sent for one is dropped with a
// warning.
func (k *kind) systemFields() []string { return k.system }

func (k *kind) listSystemFields() []string {
	f := []string{"aptBusinessObjectId", "aptBusinessObjectIntegerIdentifier", "fkProcessNetworkId"}
	if k.Partner == partnerBySubmission || k.isIncident() {
		f = append(f, "dateSubmitted")
	}
	if k.Conclusion != "" {
		f = append(f, k.Conclusion)
	}
	if k.ParentField != "" {
		f = append(f, k.ParentField)
	}
	f = append(f, k.Kept...)
	return append(f, "followerId")
}

// isOpen reports whether state is one an object of the kind can change in.
func (k *kind) isOpen(state string) bool {
	return state != k.States.Closed && state != k.States.Removed
}

// lookupKind finds a kind by processType, without regard to case.
func lookupKind(name string) (*kind, bool) {
	for _, k := range kinds {
		if strings.EqualFold(k.Name, name) {
			return k, true
		}
	}
	return nil, false
}

// kindNamed is lookupKind for names of the table itself.
func kindNamed(name string) *kind {
	k, ok := lookupKind(name)
	if !ok {
		panic("no kind " + name)
	}
	return k
}

// schemaFile names the embedded schema of an action at a version.
func schemaFile(action string, version int) string {
	return action + ".v" + strconv.Itoa(version) + ".json"
}

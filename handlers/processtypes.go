package handlers

import (
	"strconv"
	"strings"
)

// processType describes one incident process type: how its events are named,
// at which versions they are served, and the names of its type-specific
// field groups.
type processType struct {
	// Name is the processType, as in objectType "agile-process-teams:<Name>".
	Name string
	// Noun names the type in add/edit/copy/close/reopen/submit events.
	Noun string
	// ReadNoun names the type in read events.
	ReadNoun string
	// Prefix starts the names of the type's own objects: <Prefix>Response,
	// <Prefix>Impact, <Prefix>MaterialInformation.
	Prefix string
	// Versions of each action; Submit 0 means the type has no partner.
	Add, Edit, Copy, Close, Reopen, Submit int
	Read                                   []int
}

// processTypes are the incident process types served.
var processTypes = []processType{
	{Name: "incident", Noun: "incident", ReadNoun: "incident", Prefix: "incident",
		Add: 5, Edit: 5, Copy: 3, Close: 1, Reopen: 1, Submit: 1, Read: []int{4}},
	{Name: "directSupplierIncident", Noun: "direct-supplier-incident", ReadNoun: "directSupplierIncident", Prefix: "directSupplier",
		Add: 3, Edit: 3, Copy: 2, Close: 2, Reopen: 1, Submit: 1, Read: []int{3, 4}},
	{Name: "indirectSupplierIncident", Noun: "indirect-supplier-incident", ReadNoun: "indirectSupplierIncident", Prefix: "indirectSupplier",
		Add: 3, Edit: 3, Copy: 2, Close: 2, Reopen: 1, Submit: 1, Read: []int{4}},
	{Name: "externalManufacturingIncident", Noun: "external-manufacturing-incident", ReadNoun: "externalManufacturingIncident", Prefix: "externalManufacturing",
		Add: 3, Edit: 3, Copy: 1, Close: 2, Reopen: 1, Submit: 1, Read: []int{4}},
	{Name: "internalManufacturingIncident", Noun: "internal-manufacturing-incident", ReadNoun: "internalManufacturingIncident", Prefix: "internalManufacturing",
		Add: 3, Edit: 3, Copy: 1, Close: 2, Reopen: 1, Submit: 0, Read: []int{4}},
}

// objectType is the record's objectType.
func (pt processType) objectType() string { return appAPT + ":" + pt.Name }

// hasPartner reports whether incidents of this type can be submitted to a
// partner company.
func (pt processType) hasPartner() bool { return pt.Submit > 0 }

// responseField is the object a partner answers in.
func (pt processType) responseField() string { return pt.Prefix + "Response" }

// eventAction is the action of an event on this type: "edit" gives
// "edit-direct-supplier-incident".
func (pt processType) eventAction(verb string) string { return verb + "-" + pt.Noun }

// schemaFile names the embedded schema of an action at a version.
func schemaFile(action string, version int) string {
	return action + ".v" + strconv.Itoa(version) + ".json"
}

// lookupProcessType finds a process type by name, without regard to case.
func lookupProcessType(name string) (processType, bool) {
	for _, pt := range processTypes {
		if strings.EqualFold(pt.Name, name) {
			return pt, true
		}
	}
	return processType{}, false
}

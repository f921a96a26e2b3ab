package handlers

import (
	"strconv"
	"strings"
)

// processType describes one incident process type: how its events are named
// and at which versions they are served.
type processType struct {
	// Name is the processType, as in objectType "agile-process-teams:<Name>".
	Name string
	// Noun names the type in add/edit/copy/close/reopen/submit events.
	Noun string
	// ReadNoun names the type in read events.
	ReadNoun     string
	AddVersion   int
	ReadVersions []int
}

// processTypes are the incident process types served, SPEC §4.
var processTypes = []processType{
	{Name: "incident", Noun: "incident", ReadNoun: "incident", AddVersion: 5, ReadVersions: []int{4}},
}

// objectType is the record's objectType.
func (pt processType) objectType() string { return appAPT + ":" + pt.Name }

// schemaFile names the embedded schema of an action at a version.
func (pt processType) schemaFile(action string, version int) string {
	return action + "-" + pt.Noun + ".v" + strconv.Itoa(version) + ".json"
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

package handlers

import "github.com/scwm-gateway/scwm-gateway/envelope"

// appAPT is the app of every incident event.
const appAPT = "agile-process-teams"

// catalogue lists every event the gateway serves. It is the only list: the
// registry, the docs and the supported-versions answers are built from it.
func (g *Gateway) catalogue() []*Event {
	var events []*Event
	for _, pt := range processTypes {
		events = append(events,
			&Event{
				Name:   envelope.EventName{App: appAPT, Action: "add-" + pt.Noun, Version: pt.AddVersion},
				Schema: pt.schemaFile("add", pt.AddVersion),
				Help:   "Creates a " + pt.Name + " in state New and returns its id.",
				Handle: g.addIncident(pt),
			},
		)
		for _, v := range pt.ReadVersions {
			events = append(events, &Event{
				Name:   envelope.EventName{App: appAPT, Action: "read-" + pt.ReadNoun, Version: v},
				Schema: "read-incident.v4.json",
				Help:   "Returns the " + pt.Name + " record with the given id.",
				Handle: g.readIncident(pt),
			})
		}
	}
	return events
}

package handlers

import (
	"github.com/scwm-gateway/scwm-gateway/envelope"
	"github.com/scwm-gateway/scwm-gateway/store"
)

// The apps whose events the gateway serves.
const (
	appAPT  = "agile-process-teams"
	appAuth = "authorization-manager"
)

// recoverFunc rebuilds an answer from a request's effect (idempotency.go).
type recoverFunc = func(*store.Effect) (any, []string)

// catalogue lists every event the gateway serves. It is the only list: the
// registry, docs/events.md and the supported-versions answers come from it.
// add lists an event that changes something, with how to rebuild its answer;
// read lists one that changes nothing.
func (g *Gateway) catalogue() []*Event {
	var events []*Event
	event := func(app, action string, version int, help string, h HandlerFunc) *Event {
		ev := &Event{
			Name:   envelope.EventName{App: app, Action: action, Version: version},
			Schema: schemaFile(action, version),
			Help:   help,
			Handle: h,
		}
		events = append(events, ev)
		return ev
	}
	add := func(app, action string, version int, help string, h HandlerFunc, rebuild recoverFunc) {
		event(app, action, version, help, h).Recover = rebuild
	}
	read := func(app, action string, version int, help string, h HandlerFunc) {
		event(app, action, version, help, h).ReadOnly = true
	}
	for _, pt := range processTypes {
		add(appAPT, pt.eventAction("add"), pt.Add,
			"Creates a "+pt.Name+" in state New (submitting it when isSubmittedToPartner is true) and returns its id.", g.addIncident(pt), recoverCreated)
		add(appAPT, pt.eventAction("edit"), pt.Edit,
			"Changes the fields it sends (objects merged, arrays replaced), moves New to UnderInvestigation with newBaseState, and adds the comments of aptCommentBox.", g.editIncident(pt), recoverChanged)
		add(appAPT, pt.eventAction("copy"), pt.Copy,
			"Creates a new "+pt.Name+" in state New with the given summary and the field groups its copy* flags select.", g.copyIncident(pt), recoverCreated)
		add(appAPT, pt.eventAction("close"), pt.Close,
			"Closes an open "+pt.Name+", recording incidentConclusion.", g.closeIncident(pt), recoverChanged)
		add(appAPT, pt.eventAction("reopen"), pt.Reopen,
			"Reopens a Closed "+pt.Name+" into UnderInvestigation, clearing incidentConclusion (the history keeps it).", g.reopenIncident(pt), recoverChanged)
		if pt.hasPartner() {
			add(appAPT, "submit-"+pt.Noun+"-to-partner", pt.Submit,
				"Submits an open "+pt.Name+" to its partner company, which can then read it, comment and respond.", g.submitIncident(pt), recoverChanged)
		}
		for _, v := range pt.Read {
			read(appAPT, "read-"+pt.ReadNoun, v, "Returns the "+pt.Name+" record with the given id.", g.readIncident(pt))
		}
	}
	add(appAPT, "add-comment-for-incident", 1, "Adds the comments of aptCommentBox (with attachment metadata) to an incident of any process type.", g.addComment, recoverComment)
	add(appAPT, "edit-comment-for-incident", 1, "Changes a comment of the caller's company: text, visibility, attachments added or removed.", g.editComment, recoverComment)
	read(appAPT, "list-comments-for-incident", 1, "Lists the comments of an incident that the caller may see.", g.listComments)
	add(appAPT, "toggle-user-follows-incident", 1, "Makes the calling user follow or unfollow an incident (follow: true/false, or toggles).", g.toggleFollow, recoverFollow)
	read(appAPT, "get-activity-history-for-incident", 1, "Returns every change of an incident, oldest first, each with its license plate.", g.activityHistory)
	add(appAuth, "generate-apiKeyCredentials", 1, "Mints a new apiKey/apiSecret pair for the caller's own company.", g.generateCredentials, recoverCredentials)
	return events
}

package handlers

import "github.com/scwm-gateway/scwm-gateway/envelope"

// The apps whose events the gateway serves.
const (
	appAPT  = "agile-process-teams"
	appAuth = "authorization-manager"
)

// catalogue lists every event the gateway serves. It is the only list: the
// registry, docs/events.md and the supported-versions answers come from it.
func (g *Gateway) catalogue() []*Event {
	var events []*Event
	add := func(app, action string, version int, help string, h HandlerFunc) {
		events = append(events, &Event{
			Name:   envelope.EventName{App: app, Action: action, Version: version},
			Schema: schemaFile(action, version),
			Help:   help,
			Handle: h,
		})
	}
	for _, pt := range processTypes {
		add(appAPT, pt.eventAction("add"), pt.Add,
			"Creates a "+pt.Name+" in state New (submitting it when isSubmittedToPartner is true) and returns its id.", g.addIncident(pt))
		add(appAPT, pt.eventAction("edit"), pt.Edit,
			"Changes the fields it sends (objects merged, arrays replaced), moves New to UnderInvestigation with newBaseState, and adds the comments of aptCommentBox.", g.editIncident(pt))
		add(appAPT, pt.eventAction("copy"), pt.Copy,
			"Creates a new "+pt.Name+" in state New with the given summary and the field groups its copy* flags select.", g.copyIncident(pt))
		add(appAPT, pt.eventAction("close"), pt.Close,
			"Closes an open "+pt.Name+", recording incidentConclusion.", g.closeIncident(pt))
		add(appAPT, pt.eventAction("reopen"), pt.Reopen,
			"Reopens a Closed "+pt.Name+" into UnderInvestigation, clearing incidentConclusion (the history keeps it).", g.reopenIncident(pt))
		if pt.hasPartner() {
			add(appAPT, "submit-"+pt.Noun+"-to-partner", pt.Submit,
				"Submits an open "+pt.Name+" to its partner company, which can then read it, comment and respond.", g.submitIncident(pt))
		}
		for _, v := range pt.Read {
			add(appAPT, "read-"+pt.ReadNoun, v, "Returns the "+pt.Name+" record with the given id.", g.readIncident(pt))
		}
	}
	add(appAPT, "add-comment-for-incident", 1, "Adds the comments of aptCommentBox (with attachment metadata) to an incident of any process type.", g.addComment)
	add(appAPT, "edit-comment-for-incident", 1, "Changes a comment of the caller's company: text, visibility, attachments added or removed.", g.editComment)
	add(appAPT, "list-comments-for-incident", 1, "Lists the comments of an incident that the caller may see.", g.listComments)
	add(appAPT, "toggle-user-follows-incident", 1, "Makes the calling user follow or unfollow an incident (follow: true/false, or toggles).", g.toggleFollow)
	add(appAPT, "get-activity-history-for-incident", 1, "Returns every change of an incident, oldest first, each with its license plate.", g.activityHistory)
	add(appAuth, "generate-apiKeyCredentials", 1, "Mints a new apiKey/apiSecret pair for the caller's own company.", g.generateCredentials)
	return events
}

package handlers

import (
	"strings"

	"github.com/scwm-gateway/scwm-gateway/envelope"
	"github.com/scwm-gateway/scwm-gateway/store"
)

// The apps whose events the gateway serves.
const (
	appAPT        = "agile-process-teams"
	appAuth       = "authorization-manager"
	appMasterData = "masterdata-manager"
)

// recoverFunc rebuilds an answer from a request's effect (idempotency.go).
type recoverFunc = func(*store.Effect) (any, []string)

// sharedNouns name the families of shared events (comments, follow,
// history): the -for-incident and -for-process ones act on any kind the
// payload's processType names, the others on their own kind.
var sharedNouns = []struct{ noun, kind string }{
	{"incident", ""}, {"process", ""}, {"change", "change"}, {"document-review", "documentReview"},
}

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
	for _, k := range kinds {
		for _, v := range verbOrder {
			for _, version := range k.Versions[v] {
				h, help, rebuild := g.kindEvent(k, v)
				if rebuild == nil {
					read(appAPT, k.action(v), version, help, h)
					continue
				}
				add(appAPT, k.action(v), version, help, h, rebuild)
				// An add or copy of a kind with children may create them
				// too, under the same license plate.
				events[len(events)-1].CreatesFamily = k.Child != "" && (v == verbAdd || v == verbCopy)
			}
		}
	}
	for _, s := range sharedNouns {
		var fixed *kind
		target := "an object of the kind processType names"
		if s.kind != "" {
			fixed = kindNamed(s.kind)
			target = "a " + fixed.Label
		} else if s.noun == "incident" {
			target = "an incident (or an object of any other kind processType names)"
		}
		add(appAPT, "add-comment-for-"+s.noun, 1, "Adds the comments of aptCommentBox (with attachment metadata) to "+target+".", g.addComment(fixed), recoverComment)
		add(appAPT, "edit-comment-for-"+s.noun, 1, "Changes a comment of the caller's company on "+target+": text, visibility, attachments added or removed.", g.editComment(fixed), recoverComment)
		read(appAPT, "list-comments-for-"+s.noun, 1, "Lists the comments of "+target+" that the caller may see.", g.listComments(fixed))
		add(appAPT, "toggle-user-follows-"+s.noun, 1, "Makes the calling user follow or unfollow "+target+" (follow: true/false, or toggles).", g.toggleFollow(fixed), recoverFollow)
		read(appAPT, "get-activity-history-for-"+s.noun, 1, "Returns every change of "+target+", oldest first, each with its license plate.", g.activityHistory(fixed))
	}
	read(appAPT, "search-process", 1, "Finds the objects the caller may see (owned, submitted to it, or shared with its network) in the header's network: by kind, state, owner, partner, priority, creation and update time, aptBusinessObjectId and words of the summary and description; sorted, a page at a time ({items, next}).", g.search)
	read(appAPT, "list-changes", 1, "The change feed: every change of an object the caller may see, in commit order, after the cursor it keeps ({changes, next}); none missed, none twice.", g.listChanges)
	read(appMasterData, "get-company-by-regulatory-identifier", 1, "Returns the company master data with the given regulatory identifier, if the caller may see it.", g.companyByIdentifier(masterCompany, "regulatoryCompanyIdentifier"))
	read(appMasterData, "get-company-by-identifier", 1, "Returns the master data with the given identifier of the caller's own company or, failing that, of a partner (company or location) it may see (TraceLink's GraphQL Getcompanybyidentifier, which its scripts use for both).", g.companyByIdentifier(masterCompanyOrPartner, "regulatoryCompanyIdentifierValue"))
	read(appMasterData, "get-partner-by-regulatory-identifier", 1, "Returns the partner (company or location) master data with the given regulatory identifier, if the caller may see it.", g.companyByIdentifier(masterPartner, "regulatoryCompanyIdentifier"))
	read(appMasterData, "get-product-by-itemcode", 1, "Returns the product master data with the given item code, if the caller may see it.", g.productByItemCode)
	add(appAuth, "generate-apiKeyCredentials", 1, "Mints a new apiKey/apiSecret pair for the caller's own company.", g.generateCredentials, recoverCredentials)
	return events
}

// kindEvent is the handler, help text and answer rebuilder of kind k's
// event for verb v; a nil rebuilder marks an event that changes nothing.
func (g *Gateway) kindEvent(k *kind, v verb) (HandlerFunc, string, recoverFunc) {
	a := articled(k.Label)
	switch v {
	case verbAdd:
		switch {
		case k.Parent != "":
			p := kindNamed(k.Parent)
			return g.addChild(k), "Adds " + a + " to the " + p.Label + " " + k.ParentField + " names, in state " + k.States.Initial + shareNote(k) + ", and returns its id.", recoverCreated
		case k.Name == "task":
			return g.addTask(k), "Creates a task in state New and returns its id; with templateId, the template's fields fill what the payload leaves out, completionRequiredWithinDays sets completionDueDate, and the template's sub-tasks are created with it.", recoverCreated
		}
		return g.addObject(k), "Creates " + a + " in state " + k.States.Initial + shareNote(k) + " and returns its id.", recoverCreated
	case verbEdit:
		help := "Changes the fields it sends (objects merged, arrays replaced)"
		if len(k.States.Edit) > 0 {
			help += ", moves it to " + strings.Join(k.States.Edit, " or ") + " with newBaseState"
		}
		if k.Partner == partnerByVisibility {
			help += ", shares it with its partner while isVisible is true"
		}
		return g.editObject(k), help + ", and adds the comments of aptCommentBox.", recoverChanged
	case verbCopy:
		help := "Creates a new " + k.Label + " in state " + k.States.Initial + " with the given name and the field groups its copy* flags select"
		if k.Child != "" {
			help += "; " + k.CopyChildren + " copies its " + kindNamed(k.Child).Label + "s"
		}
		return g.copyObject(k), help + ".", recoverCreated
	case verbClose:
		help := "Closes an open " + k.Label + ", recording " + k.Conclusion
		if k.Child != "" {
			help += "; refused while one of its " + kindNamed(k.Child).Label + "s is open"
		}
		return g.closeObject(k), help + ".", recoverChanged
	case verbReopen:
		return g.reopenObject(k), "Reopens a Closed " + k.Label + " into " + k.States.Reopened + ", clearing " + k.Conclusion + " (the history keeps it).", recoverChanged
	case verbSubmit:
		return g.submitObject(k), "Submits an open " + k.Label + " to its partner company, which can then read it, comment and respond.", recoverChanged
	case verbRemove:
		return g.removeChild(k), "Removes " + a + " from its " + kindNamed(k.Parent).Label + " (state Removed; its history stays readable); refused while the " + kindNamed(k.Parent).Label + " is Closed or its template forbids it.", recoverChanged
	case verbRead:
		return g.readObject(k), "Returns the " + k.Name + " record with the given id.", nil
	case verbList:
		return g.listChildren(k), "Lists the " + kindNamed(k.Child).Label + "s of the " + k.Label + " with the given id that the caller may see.", nil
	}
	panic("no event for verb " + string(v))
}

// shareNote says how an add shares an object of kind k with its partner.
func shareNote(k *kind) string {
	switch k.Partner {
	case partnerBySubmission:
		return " (submitting it when isSubmittedToPartner is true)"
	case partnerByVisibility:
		return " (shared with its partner when isVisible is true)"
	}
	return ""
}

package handlers

import (
	"context"
	"sort"
	"strings"

	"github.com/scwm-gateway/scwm-gateway/envelope"
	"github.com/scwm-gateway/scwm-gateway/store"
)

// editIncident changes an open incident: the fields it sends (objects merged
// by path, arrays replaced), the base state (newBaseState UnderInvestigation
// from New), the partner-response submission flags, and the comments of its
// comment box, as one atomic write. The partner company may edit only its
// response object and flags. Naming another partner in a submitted incident
// hands it over (followPartner).
func (g *Gateway) editIncident(pt processType) HandlerFunc {
	return func(ctx context.Context, call *Call) (any, error) {
		if _, sent := call.Payload["isSubmittedToPartner"]; sent {
			call.Warnings = append(call.Warnings, "$.isSubmittedToPartner: an edit does not submit; use submit-"+pt.Noun+"-to-partner")
		}
		data := payloadData(call, "isSubmittedToPartner")
		for _, flag := range []string{"submitInitialResponse", "submitFinalResponse"} {
			if on, _ := data[flag].(bool); on {
				// The date a response was submitted, next to the flag.
				data["date"+strings.ToUpper(flag[:1])+flag[1:]] = call.Now.UnixMilli()
			}
		}
		comments := commentsFrom(call)
		partnerNote := ""
		inc, wrote, err := g.mutate(ctx, call, pt, stringField(call.Payload, "id"), 0, func(inc *store.Incident, r role) (*change, error) {
			if r == rolePartner {
				if err := partnerMayEdit(pt, call.Payload); err != nil {
					return nil, err
				}
			}
			if err := mustBeOpen(inc, "edit it"); err != nil {
				return nil, err
			}
			ch := newChange(call, inc)
			ch.mergeData(data)
			var err error
			if partnerNote, err = g.followPartner(ch, data); err != nil {
				return nil, err
			}
			if state := stringField(call.Payload, "newBaseState"); state != "" {
				ch.setState(state)
			}
			ch.addComments(comments)
			if ch.empty() {
				return nil, nil // everything sent is already so: no new version
			}
			return ch, nil
		})
		switch {
		case err == nil && !wrote:
			call.Warnings = append(call.Warnings, unchangedWarning(inc))
		case err == nil && partnerNote != "":
			call.Warnings = append(call.Warnings, partnerNote)
		}
		return changedAnswer(inc, err)
	}
}

// partnerMayEdit allows a partner only its response object, the response
// submission flags and comments.
func partnerMayEdit(pt processType, payload map[string]any) error {
	allowed := map[string]bool{
		"id": true, "dataVersion": true, "aptCommentBox": true, "commentAndAttachments": true,
		pt.responseField(): true, "submitInitialResponse": true, "submitFinalResponse": true,
	}
	var refused []string
	for k := range payload {
		if !allowed[k] {
			refused = append(refused, k)
		}
	}
	if len(refused) == 0 {
		return nil
	}
	sort.Strings(refused)
	return envelope.Errorf(envelope.KindAuthorization,
		"a partner company may edit only %s, submitInitialResponse, submitFinalResponse and comments; refused: %s",
		pt.responseField(), strings.Join(refused, ", "))
}

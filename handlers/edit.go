package handlers

import (
	"context"
	"slices"
	"sort"
	"strings"

	"github.com/scwm-gateway/scwm-gateway/envelope"
	"github.com/scwm-gateway/scwm-gateway/store"
)

// editObject changes an open object of kind k: the fields it sends
// (objects merged by path, arrays replaced), the base state (newBaseState,
// one of the kind's edit states), the partner-response submission flags,
// and the comments of its comment box, as one atomic write. A partner
// company may edit only the kind's PartnerEdits and comments. Naming
// another partner in a shared object hands it over (followPartner); for a
// kind shared by visibility, isVisible shares it or ends the sharing.
// A member of a template's network edits it only when the template is
// modifiable by members.
func (g *Gateway) editObject(k *kind) HandlerFunc {
	return func(ctx context.Context, call *Call) (any, error) {
		var data map[string]any
		if k.Partner == partnerByVisibility {
			data = payloadData(call, k)
		} else {
			if _, sent := call.Payload["isSubmittedToPartner"]; sent {
				call.Warnings = append(call.Warnings, "$.isSubmittedToPartner: an edit does not submit; use "+k.action(verbSubmit))
			}
			data = payloadData(call, k, "isSubmittedToPartner")
		}
		for _, flag := range []string{"submitInitialResponse", "submitFinalResponse"} {
			if on, _ := data[flag].(bool); on {
				// The date a response was submitted, next to the flag.
				data["date"+strings.ToUpper(flag[:1])+flag[1:]] = call.Now.UnixMilli()
			}
		}
		comments := commentsFrom(call)
		state := stringField(call.Payload, "newBaseState")
		partnerNote := ""
		inc, wrote, err := g.mutate(ctx, call, k, stringField(call.Payload, "id"), 0, func(inc *store.Incident, r role) (*change, error) {
			switch r {
			case rolePartner:
				if err := partnerMayEdit(k, call.Payload); err != nil {
					return nil, err
				}
			case roleMember:
				if err := g.memberMayModify(ctx, call, k, inc); err != nil {
					return nil, err
				}
			}
			if err := mustBeOpen(k, inc, "edit it"); err != nil {
				return nil, err
			}
			if state != "" && !slices.Contains(k.States.Edit, state) {
				// The schemas' enums refuse other states first; this guards
				// a schema that would let one through.
				return nil, envelope.Errorf(envelope.KindInvalidStateTransition,
					"an edit of a %s moves it only to %s, not %q", k.Name, strings.Join(k.States.Edit, " or "), state)
			}
			ch := newChange(call, inc)
			ch.mergeData(data)
			var err error
			if k.Partner == partnerByVisibility {
				partnerNote, err = g.followVisibility(ch, data)
			} else {
				partnerNote, err = g.followPartner(ch, data)
			}
			if err != nil {
				return nil, err
			}
			ch.setState(state)
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

// partnerMayEdit allows a partner only the kind's PartnerEdits, and
// comments.
func partnerMayEdit(k *kind, payload map[string]any) error {
	allowed := map[string]bool{"id": true, "dataVersion": true, "aptCommentBox": true, "commentAndAttachments": true}
	for _, f := range k.PartnerEdits {
		allowed[f] = true
	}
	var refused []string
	for f := range payload {
		if !allowed[f] {
			refused = append(refused, f)
		}
	}
	if len(refused) == 0 {
		return nil
	}
	sort.Strings(refused)
	return envelope.Errorf(envelope.KindAuthorization,
		"a partner company may edit only %s and comments; refused: %s",
		strings.Join(k.PartnerEdits, ", "), strings.Join(refused, ", "))
}

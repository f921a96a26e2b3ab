package handlers

import (
	"context"
	"errors"

	"github.com/scwm-gateway/scwm-gateway/envelope"
	"github.com/scwm-gateway/scwm-gateway/internal/schema"
	"github.com/scwm-gateway/scwm-gateway/store"
)

// sharedProcessType reads the processType a shared operation names, matched
// without regard to case.
func sharedProcessType(call *Call) (processType, error) {
	name := stringField(call.Payload, "processType")
	pt, ok := lookupProcessType(name)
	if !ok {
		// The schema's enum refuses unknown types first; this is a guard.
		return processType{}, schema.Invalid([]string{"$.processType: unknown process type " + name})
	}
	return pt, nil
}

// sharedTarget loads the incident a read-only shared operation names.
func (g *Gateway) sharedTarget(ctx context.Context, call *Call, with store.Include) (*store.Incident, role, error) {
	pt, err := sharedProcessType(call)
	if err != nil {
		return nil, roleNone, err
	}
	return g.findVisible(ctx, call, pt, incidentID(call.Payload), with)
}

// addComment adds the comments of the payload's comment box to an incident,
// in any state, for its owner or its partner. It answers the (first) new
// comment's id.
func (g *Gateway) addComment(ctx context.Context, call *Call) (any, error) {
	comments := commentsFrom(call)
	if len(comments) == 0 {
		return nil, schema.Invalid([]string{"$.aptCommentBox: holds no aptComment and no addAttachment"})
	}
	inc, _, err := g.mutateShared(ctx, call, 0, func(inc *store.Incident, _ role) (*change, error) {
		ch := newChange(call, inc)
		ch.addComments(comments)
		return ch, nil
	})
	if err != nil {
		return nil, err
	}
	return commentAnswer(inc.ID, commentIDs(comments), inc.DataVersion), nil
}

// commentAnswer is the payload of add-comment and edit-comment.
func commentAnswer(incidentID string, ids []string, version int64) map[string]any {
	out := map[string]any{"id": ids[0], "processId": incidentID, "dataVersion": version}
	if len(ids) > 1 {
		out["commentIds"] = ids
	}
	return out
}

// editComment changes a comment of the caller's company: its text and
// visibility (aptComment), attachments added (addAttachment) and removed
// (removeAttachment, by attachment id).
func (g *Gateway) editComment(ctx context.Context, call *Call) (any, error) {
	commentID := stringField(call.Payload, "commentId")
	box, _ := asMap(call.Payload["aptCommentBox"])
	added := newAttachments(box["addAttachment"])
	remove := map[string]bool{}
	if list, ok := box["removeAttachment"].([]any); ok {
		for _, id := range list {
			if s, ok := id.(string); ok {
				remove[s] = true
			}
		}
	}
	inc, _, err := g.mutateShared(ctx, call, 0, func(inc *store.Incident, _ role) (*change, error) {
		found, err := g.store.FindComment(ctx, inc.ID, commentID)
		if errors.Is(err, store.ErrNotFound) || (err == nil && found.CompanyID != call.Caller.CompanyID && !isPublic(found.VisibilityType)) {
			return nil, envelope.Errorf(envelope.KindObjectNotFound, "no comment with id %q is visible to you on incident %s", commentID, inc.ID)
		}
		if err != nil {
			return nil, err
		}
		if owner := found.CompanyID; owner != call.Caller.CompanyID {
			return nil, envelope.Errorf(envelope.KindAuthorization, "comment %s belongs to company %q; only its company may edit it", commentID, owner)
		}
		c := *found
		for _, upd := range objects(box["aptComment"]) {
			if t, ok := upd["commentText"].(string); ok {
				c.CommentText = t
			}
			if vis, ok := upd["visibilityType"].(string); ok {
				c.VisibilityType = vis
			}
		}
		kept := []map[string]any{}
		for _, a := range c.Attachments {
			if id, _ := a["id"].(string); !remove[id] {
				kept = append(kept, a)
			}
		}
		c.Attachments = append(kept, added...)
		c.UpdatedBy, c.UpdatedAt = call.Caller.UserID, call.Now.UnixMilli()

		ch := newChange(call, inc)
		// The comment was read after the incident; mutate writes it only
		// if the incident is still at the version it was read at, so the
		// comment read is the one this change edits.
		ch.ReplaceComments = []store.Comment{c}
		ch.Activity.CommentIDs = []string{commentID}
		return ch, nil
	})
	if err != nil {
		return nil, err
	}
	return commentAnswer(inc.ID, []string{commentID}, inc.DataVersion), nil
}

// listComments lists the comments of an incident that the caller may see:
// public ones, and its own company's whatever their visibility. Attachments
// are filtered the same way.
func (g *Gateway) listComments(ctx context.Context, call *Call) (any, error) {
	inc, _, err := g.sharedTarget(ctx, call, store.WithComments)
	if err != nil {
		return nil, err
	}
	company := call.Caller.CompanyID
	visible := []wireComment{}
	for _, c := range inc.Comments {
		if c.CompanyID != company && !isPublic(c.VisibilityType) {
			continue
		}
		atts := []map[string]any{}
		for _, a := range c.Attachments {
			vis, _ := a["visibilityType"].(string)
			if c.CompanyID == company || isPublic(vis) {
				atts = append(atts, a)
			}
		}
		c.Attachments = atts
		visible = append(visible, newWireComment(c))
	}
	return map[string]any{"id": inc.ID, "comments": visible}, nil
}

package handlers

import (
	"context"
	"errors"

	"github.com/scwm-gateway/scwm-gateway/envelope"
	"github.com/scwm-gateway/scwm-gateway/store"
)

// sharedTarget resolves the incident a shared operation names: its
// processType (matched without regard to case) and its id or processId.
func (g *Gateway) sharedTarget(ctx context.Context, call *Call, with int) (*store.Incident, role, error) {
	pt, ok := lookupProcessType(stringField(call.Payload, "processType"))
	if !ok {
		// The schema's enum already refuses unknown types; this is a guard.
		return nil, roleNone, envelope.Errorf(envelope.KindSchemaValidation, "unknown processType %q", stringField(call.Payload, "processType"))
	}
	return g.findVisible(ctx, call, pt, incidentID(call.Payload), with)
}

// addComment adds the comments of the payload's comment box to an incident,
// in any state, for its owner or its partner. It answers the (first) new
// comment's id.
func (g *Gateway) addComment(ctx context.Context, call *Call) (any, error) {
	inc, _, err := g.sharedTarget(ctx, call, 0)
	if err != nil {
		return nil, err
	}
	comments := commentsFrom(call)
	if len(comments) == 0 {
		return nil, schemaError([]string{"$.aptCommentBox: holds no aptComment and no addAttachment"})
	}
	ch := newChange(call, inc)
	ch.AddComments = comments
	ch.Activity.CommentIDs = commentIDs(comments)
	v, err := g.commit(ctx, ch, "comment on it")
	if err != nil {
		return nil, err
	}
	out := map[string]any{"id": comments[0].ID, "processId": inc.ID, "dataVersion": v}
	if len(comments) > 1 {
		out["commentIds"] = commentIDs(comments)
	}
	return out, nil
}

// maxCommentEditAttempts bounds the retries of a comment edit that raced
// another change of the same incident.
const maxCommentEditAttempts = 5

// editComment changes a comment of the caller's company: its text and
// visibility (aptComment), attachments added (addAttachment) and removed
// (removeAttachment, by attachment id).
func (g *Gateway) editComment(ctx context.Context, call *Call) (any, error) {
	commentID := stringField(call.Payload, "commentId")
	for attempt := 1; ; attempt++ {
		inc, _, err := g.sharedTarget(ctx, call, store.WithComments)
		if err != nil {
			return nil, err
		}
		idx := -1
		for i, c := range inc.Comments {
			if c.ID == commentID && (c.CompanyID == call.Caller.CompanyID || isPublic(c.VisibilityType)) {
				idx = i
			}
		}
		if idx < 0 {
			return nil, envelope.Errorf(envelope.KindObjectNotFound, "no comment with id %q is visible to you on incident %s", commentID, inc.ID)
		}
		if inc.Comments[idx].CompanyID != call.Caller.CompanyID {
			return nil, envelope.Errorf(envelope.KindAuthorization, "comment %s belongs to company %q; only its company may edit it", commentID, inc.Comments[idx].CompanyID)
		}
		comments := append([]store.Comment(nil), inc.Comments...)
		c := comments[idx]
		box, _ := asMap(call.Payload["aptCommentBox"])
		for _, upd := range objects(box["aptComment"]) {
			if t, ok := upd["commentText"].(string); ok {
				c.CommentText = t
			}
			if v, ok := upd["visibilityType"].(string); ok {
				c.VisibilityType = v
			}
		}
		remove := map[string]bool{}
		if list, ok := box["removeAttachment"].([]any); ok {
			for _, id := range list {
				if s, ok := id.(string); ok {
					remove[s] = true
				}
			}
		}
		kept := []map[string]any{}
		for _, a := range c.Attachments {
			if id, _ := a["id"].(string); !remove[id] {
				kept = append(kept, a)
			}
		}
		c.Attachments = append(kept, newAttachments(box["addAttachment"])...)
		c.UpdatedBy, c.UpdatedAt = call.Caller.UserID, call.Now.UnixMilli()
		comments[idx] = c

		ch := newChange(call, inc)
		ch.ReplaceComments = comments
		ch.Activity.CommentIDs = []string{commentID}
		sent := ch.IfDataVersion
		if sent == 0 {
			// Replacing the whole comment list is safe only against the
			// version it was read from.
			ch.IfDataVersion = inc.DataVersion
		}
		v, err := g.commit(ctx, ch, "edit the comment")
		var perr *envelope.Error
		if sent == 0 && attempt < maxCommentEditAttempts && errors.As(err, &perr) && perr.Kind == envelope.KindConcurrentModification {
			continue // another change came first; read again and reapply
		}
		if err != nil {
			return nil, err
		}
		return map[string]any{"id": commentID, "processId": inc.ID, "dataVersion": v}, nil
	}
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
	visible := []store.Comment{}
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
		visible = append(visible, c)
	}
	return map[string]any{"id": inc.ID, "comments": visible}, nil
}

package handlers

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/scwm-gateway/scwm-gateway/envelope"
	"github.com/scwm-gateway/scwm-gateway/internal/schema"
	"github.com/scwm-gateway/scwm-gateway/store"
)

// sharedKind is the kind a shared operation acts on: the kind its event
// names (fixed: add-comment-for-change acts on changes), or, for the events
// of every kind (-for-incident, -for-process), the payload's processType,
// matched without regard to case. A processType that disagrees with the
// event's kind is answered with a warning: TraceLink's own scripts send
// such pairs.
func sharedKind(call *Call, fixed *kind) (*kind, error) {
	name := stringField(call.Payload, "processType")
	if fixed != nil {
		if name != "" && !strings.EqualFold(name, fixed.Name) {
			call.Warnings = append(call.Warnings, fmt.Sprintf("$.processType: %q is not the kind %s acts on; it acted on the %s named by id", name, call.Event.Action, fixed.Name))
		}
		return fixed, nil
	}
	k, ok := lookupKind(name)
	if !ok {
		// The schema's enum refuses unknown kinds first; this is a guard.
		return nil, schema.Invalid([]string{"$.processType: unknown process type " + name})
	}
	return k, nil
}

// sharedTarget loads the object a read-only shared operation names.
func (g *Gateway) sharedTarget(ctx context.Context, call *Call, fixed *kind, with store.Include) (*store.Incident, *kind, role, error) {
	k, err := sharedKind(call, fixed)
	if err != nil {
		return nil, nil, roleNone, err
	}
	inc, r, err := g.findVisible(ctx, call, k, incidentID(call.Payload), with)
	return inc, k, r, err
}

// addComment adds the comments of the payload's comment box to an object,
// in any state, for its owner, its partner or (on a template) a member of
// its network. It answers the (first) new comment's id.
func (g *Gateway) addComment(fixed *kind) HandlerFunc {
	return func(ctx context.Context, call *Call) (any, error) {
		comments := commentsFrom(call)
		if len(comments) == 0 {
			return nil, schema.Invalid([]string{"$.aptCommentBox: holds no aptComment and no addAttachment"})
		}
		inc, _, err := g.mutateShared(ctx, call, fixed, 0, func(*kind) planFunc {
			return func(inc *store.Incident, _ role) (*change, error) {
				ch := newChange(call, inc)
				ch.addComments(comments)
				return ch, nil
			}
		})
		if err != nil {
			return nil, err
		}
		return commentAnswer(inc.ID, commentIDs(comments), inc.DataVersion), nil
	}
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
// (removeAttachment, by attachment id). The comment is commentId; without
// one, processId (or id) names the comment, as TraceLink's change sample
// sends it. An object the payload does not name is the comment's own.
func (g *Gateway) editComment(fixed *kind) HandlerFunc {
	return func(ctx context.Context, call *Call) (any, error) {
		return g.editCommentOf(ctx, call, fixed)
	}
}

func (g *Gateway) editCommentOf(ctx context.Context, call *Call, fixed *kind) (any, error) {
	commentID := stringField(call.Payload, "commentId")
	objectID := incidentID(call.Payload)
	if commentID == "" {
		commentID, objectID = objectID, ""
	}
	if objectID == "" {
		owner, _, err := g.store.FindCommentByID(ctx, commentID)
		switch {
		case errors.Is(err, store.ErrNotFound):
			return nil, envelope.Errorf(envelope.KindObjectNotFound, "no comment with id %q is visible to company %q", commentID, call.OwnerID)
		case err != nil:
			return nil, err
		}
		objectID = owner
	}
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
	k, err := sharedKind(call, fixed)
	if err != nil {
		return nil, err
	}
	inc, _, err := g.mutate(ctx, call, k, objectID, 0, func(inc *store.Incident, _ role) (*change, error) {
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

// listComments lists the comments of an object that the caller may see:
// public ones, and its own company's whatever their visibility. Attachments
// are filtered the same way.
func (g *Gateway) listComments(fixed *kind) HandlerFunc {
	return func(ctx context.Context, call *Call) (any, error) {
		return g.listCommentsOf(ctx, call, fixed)
	}
}

func (g *Gateway) listCommentsOf(ctx context.Context, call *Call, fixed *kind) (any, error) {
	inc, _, _, err := g.sharedTarget(ctx, call, fixed, store.WithComments)
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

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

// dayMillis is a day in epoch milliseconds, for completionRequiredWithinDays.
const dayMillis = 24 * 60 * 60 * 1000

// templateTaskFields are the fields a task made from a template takes from
// it where the add payload leaves them out.
var templateTaskFields = []string{
	"aptBusinessObjectDescription", "businessPriority", "responsiblePartyAtCompany",
	"responsibleDepartmentAtCompany", "currentlyAssignedCompanyUsers", "referenceIdentifiers", "relatedProcesses",
}

// templateSubTaskFields are the fields a sub-task made from a sub-task
// template takes from it.
var templateSubTaskFields = []string{
	"subTaskName", "subTaskType", "businessPriority", "aptBusinessObjectDescription", "partnerCompany",
	"responsiblePartyAtPartner", "responsibleDepartmentAtPartner", "responsiblePartyAtCompany",
	"responsibleDepartmentAtCompany", "currentlyAssignedCompanyUsers", "currentlyAssignedPartnerUsers",
	"referenceIdentifiers", "relatedProcesses",
}

// addTask creates a task; with templateId, from that template: the
// template's fields fill what the payload leaves out, its
// completionRequiredWithinDays sets completionDueDate (unless the payload
// sets it), its isAddRemoveSubtaskAllowed is kept with the task, and each
// of its sub-task templates becomes a sub-task of the new task, due its own
// completionRequiredWithinDays from now.
func (g *Gateway) addTask(k *kind) HandlerFunc {
	templates := kindNamed("taskTemplate")
	return func(ctx context.Context, call *Call) (any, error) {
		data := payloadData(call, k)
		templateID := stringField(call.Payload, "templateId")
		var children []map[string]any
		var detail map[string]any
		if templateID != "" {
			tmpl, _, err := g.findVisible(ctx, call, templates, templateID, 0)
			if isNotFound(err) {
				return nil, schema.Invalid([]string{"$.templateId: " + err.(*envelope.Error).Message})
			}
			if err != nil {
				return nil, err
			}
			now := call.Now.UnixMilli()
			for _, f := range templateTaskFields {
				if _, sent := data[f]; !sent {
					if v, ok := tmpl.Data[f]; ok {
						data[f] = v
					}
				}
			}
			if days, ok := wholeDays(tmpl.Data["completionRequiredWithinDays"]); ok {
				if _, sent := data["completionDueDate"]; !sent {
					data["completionDueDate"] = now + days*dayMillis
				}
			}
			data["templateId"] = tmpl.ID
			allowed, isSet := tmpl.Data["isAddRemoveSubtaskAllowed"].(bool)
			data["isAddRemoveSubtaskAllowed"] = allowed || !isSet
			subs, err := g.openChildren(ctx, call, templates, tmpl)
			if err != nil {
				return nil, err
			}
			for _, sub := range subs {
				cd := map[string]any{"subTaskTemplateId": sub.ID}
				for _, f := range templateSubTaskFields {
					if v, ok := sub.Data[f]; ok {
						cd[f] = v
					}
				}
				if days, ok := wholeDays(sub.Data["completionRequiredWithinDays"]); ok {
					cd["subTaskDueDate"] = now + days*dayMillis
				}
				children = append(children, cd)
			}
			detail = map[string]any{"templateId": tmpl.ID}
		}
		inc, err := g.createFamily(ctx, call, k, data, detail, children)
		if err != nil {
			return nil, err
		}
		return map[string]any{"id": inc.ID}, nil
	}
}

// wholeDays reads completionRequiredWithinDays as stored.
func wholeDays(v any) (int64, bool) {
	switch n := v.(type) {
	case int64:
		return n, n >= 0
	case int32:
		return int64(n), n >= 0
	case int:
		return int64(n), n >= 0
	case float64:
		if n >= 0 && n == float64(int64(n)) {
			return int64(n), true
		}
	}
	return 0, false
}

// addChild adds an object of kind k (a sub-task, a sub-task template) to
// the parent its ParentField names, which the caller must own (or, for a
// template modifiable by members, be a member of its network) and which
// must be open; a task made from a template that forbids it takes no new
// sub-tasks. The parent's turn is held while the child is created, so the
// parent cannot close meanwhile.
func (g *Gateway) addChild(k *kind) HandlerFunc {
	pk := kindNamed(k.Parent)
	return func(ctx context.Context, call *Call) (any, error) {
		parentID := stringField(call.Payload, k.ParentField)
		unlock, err := g.incidentLocks.LockContext(ctx, parentID)
		if err != nil {
			return nil, fmt.Errorf("wait for the other changes of %s %s: %w: %w", pk.Name, parentID, store.ErrBusy, err)
		}
		defer unlock()
		parent, r, err := g.findVisible(ctx, call, pk, parentID, 0)
		if err != nil {
			return nil, err
		}
		if err := g.mayChangeFamily(ctx, call, pk, parent, r, "add "+articled(k.Label)+" to it"); err != nil {
			return nil, err
		}
		if err := mustBeOpen(pk, parent, "add "+articled(k.Label)+" to it"); err != nil {
			return nil, err
		}
		if err := addRemoveAllowed(pk, parent, "added to"); err != nil {
			return nil, err
		}
		siblings, err := g.store.FindChildren(ctx, call.Dataspace, parent.ID)
		if err != nil {
			return nil, err
		}
		if len(siblings) >= store.MaxChildren {
			return nil, envelope.Errorf(envelope.KindInvalidStateTransition,
				"%s %s has %d %ss, the most one may have (removed ones count too: their history stays), so start another %s",
				IncidentName(parent), parent.ID, len(siblings), k.Label, pk.Label)
		}
		inc, err := g.createObject(ctx, call, k, payloadData(call, k), nil, parent, call.Event.Version)
		if err != nil {
			return nil, err
		}
		return map[string]any{"id": inc.ID}, nil
	}
}

// removeChild removes an object of kind k from its parent: it moves to the
// Removed state (its history stays readable, lists leave it out). The
// parent must be open, and a task made from a template that forbids it
// keeps its sub-tasks.
func (g *Gateway) removeChild(k *kind) HandlerFunc {
	pk := kindNamed(k.Parent)
	return func(ctx context.Context, call *Call) (any, error) {
		inc, _, err := g.mutate(ctx, call, k, stringField(call.Payload, "id"), 0, func(inc *store.Incident, r role) (*change, error) {
			parent, err := g.store.FindIncident(ctx, call.Dataspace, inc.ParentID, 0)
			if err != nil {
				return nil, err
			}
			if r == rolePartner {
				return nil, ownerOnly(k, r, "remove it")
			}
			if err := g.mayChangeFamily(ctx, call, pk, parent, r, "remove it"); err != nil {
				return nil, err
			}
			if inc.CurrentBaseState == k.States.Removed {
				return nil, envelope.Errorf(envelope.KindInvalidStateTransition, "%s %s was removed already", IncidentName(inc), inc.ID)
			}
			if !pk.isOpen(parent.CurrentBaseState) {
				return nil, envelope.Errorf(envelope.KindInvalidStateTransition,
					"%s %s is %s: %ss cannot be removed from a %s %s; reopen it first",
					IncidentName(parent), parent.ID, parent.CurrentBaseState, k.Label, parent.CurrentBaseState, pk.Label)
			}
			if err := addRemoveAllowed(pk, parent, "removed from"); err != nil {
				return nil, err
			}
			ch := newChange(call, inc)
			ch.setState(k.States.Removed)
			return ch, nil
		})
		return changedAnswer(inc, err)
	}
}

// listChildren lists the children of an object of parent kind k that the
// caller may see, oldest first, without removed ones. A partner that may
// not see the task itself still lists the sub-tasks submitted to it; a
// caller that may see none of them gets the same 404 as for a task that
// does not exist.
func (g *Gateway) listChildren(k *kind) HandlerFunc {
	ck := kindNamed(k.Child)
	return func(ctx context.Context, call *Call) (any, error) {
		id := incidentID(call.Payload)
		if id == "" {
			id = stringField(call.Payload, kindNamed(k.Child).ParentField)
		}
		parent, _, err := g.findVisible(ctx, call, k, id, 0)
		partnerOnly := false
		if isNotFound(err) {
			// Perhaps a partner of one of its children.
			raw, ferr := g.store.FindIncident(ctx, call.Dataspace, id, 0)
			if ferr != nil || raw.ProcessType != k.Name {
				return nil, err
			}
			parent, partnerOnly = raw, true
		} else if err != nil {
			return nil, err
		}
		children, ferr := g.store.FindChildren(ctx, call.Dataspace, parent.ID)
		if ferr != nil {
			return nil, ferr
		}
		list := []*record{}
		for _, c := range children {
			if c.CurrentBaseState == ck.States.Removed {
				continue
			}
			switch r := g.roleOf(c, call, ck); {
			case r == roleNone, partnerOnly && r != rolePartner:
				continue
			}
			list = append(list, newRecord(c, call.Caller.CompanyID))
		}
		if partnerOnly && len(list) == 0 {
			return nil, err
		}
		return map[string]any{"id": parent.ID, "subTasks": list}, nil
	}
}

// openChildren are the children of parent (of kind k) that are not
// removed.
func (g *Gateway) openChildren(ctx context.Context, call *Call, k *kind, parent *store.Incident) ([]*store.Incident, error) {
	children, err := g.store.FindChildren(ctx, call.Dataspace, parent.ID)
	if err != nil {
		return nil, err
	}
	ck := kindNamed(k.Child)
	kept := children[:0]
	for _, c := range children {
		if c.CurrentBaseState != ck.States.Removed {
			kept = append(kept, c)
		}
	}
	return kept, nil
}

// childrenToCopy is the data of the children a copy of src (of kind k)
// takes: each child that is not removed, with its fields but not what the
// gateway keeps, its response, its conclusion or its submission.
func (g *Gateway) childrenToCopy(ctx context.Context, call *Call, k *kind, src *store.Incident) ([]map[string]any, error) {
	children, err := g.openChildren(ctx, call, k, src)
	if err != nil {
		return nil, err
	}
	ck := kindNamed(k.Child)
	skip := map[string]bool{"isSubmittedToPartner": true, ck.Prefix + "Response": true}
	for _, f := range ck.systemFields() {
		skip[f] = true
	}
	out := make([]map[string]any, 0, len(children))
	for _, c := range children {
		cd := map[string]any{}
		for f, v := range c.Data {
			if !skip[f] {
				cd[f] = v
			}
		}
		out = append(out, cd)
	}
	return out, nil
}

// closeGuard refuses to close an object of a kind with children while one
// of them is open: a task is done when its sub-tasks are (close or remove
// them first). The caller holds the object's turn, which every change of a
// child holds too (mutate), so no child reopens while the close is decided.
func (g *Gateway) closeGuard(ctx context.Context, call *Call, k *kind, inc *store.Incident) error {
	if k.Child == "" {
		return nil
	}
	children, err := g.store.FindChildren(ctx, call.Dataspace, inc.ID)
	if err != nil {
		return err
	}
	ck := kindNamed(k.Child)
	var open []string
	for _, c := range children {
		if ck.isOpen(c.CurrentBaseState) {
			open = append(open, IncidentName(c)+" ("+c.CurrentBaseState+")")
		}
	}
	if len(open) == 0 {
		return nil
	}
	return envelope.Errorf(envelope.KindInvalidStateTransition,
		"%s %s cannot close while %ss are open: %s; close or remove them first (a %s closes only when all of its %ss are Closed or Removed)",
		IncidentName(inc), inc.ID, ck.Label, strings.Join(open, ", "), k.Label, ck.Label)
}

// parentMustBeOpen refuses to reopen a child whose parent is Closed.
func (g *Gateway) parentMustBeOpen(ctx context.Context, call *Call, k *kind, inc *store.Incident, action string) error {
	if k.Parent == "" {
		return nil
	}
	pk := kindNamed(k.Parent)
	parent, err := g.store.FindIncident(ctx, call.Dataspace, inc.ParentID, 0)
	if err != nil {
		return err
	}
	if !pk.isOpen(parent.CurrentBaseState) {
		return envelope.Errorf(envelope.KindInvalidStateTransition,
			"%s %s belongs to %s %s, which is %s; reopen the %s first to %s", IncidentName(inc), inc.ID, pk.Label, IncidentName(parent), parent.CurrentBaseState, pk.Label, action)
	}
	return nil
}

// mayChangeFamily decides whether the caller, with role r to parent (of
// kind pk), may add or remove its children: its owner may; a member of a
// template's network may when the template is modifiable by members.
func (g *Gateway) mayChangeFamily(ctx context.Context, call *Call, pk *kind, parent *store.Incident, r role, action string) error {
	if r == roleMember {
		return g.memberMayModify(ctx, call, pk, parent)
	}
	return ownerOnly(pk, r, action)
}

// memberMayModify lets a member of a template's network change the template
// (or one of its sub-task templates) only when isTemplateModifiableByMember
// is true.
func (g *Gateway) memberMayModify(ctx context.Context, call *Call, k *kind, inc *store.Incident) error {
	tmpl := inc
	if k.Parent != "" {
		parent, err := g.store.FindIncident(ctx, call.Dataspace, inc.ParentID, 0)
		if err != nil {
			return err
		}
		tmpl = parent
	}
	if modifiable, _ := tmpl.Data["isTemplateModifiableByMember"].(bool); modifiable {
		return nil
	}
	return envelope.Errorf(envelope.KindAuthorization,
		"task template %s belongs to company %q and is not modifiable by members of its network (isTemplateModifiableByMember is false); members may read it and make tasks from it",
		IncidentName(tmpl), tmpl.OwnerID)
}

// addRemoveAllowed refuses to add sub-tasks to, or remove them from, a task
// made from a template whose isAddRemoveSubtaskAllowed is false.
func addRemoveAllowed(pk *kind, parent *store.Incident, how string) error {
	if pk.Name != "task" {
		return nil
	}
	if allowed, isSet := parent.Data["isAddRemoveSubtaskAllowed"].(bool); !isSet || allowed {
		return nil
	}
	return envelope.Errorf(envelope.KindInvalidStateTransition,
		"%s %s was made from a task template that does not allow sub-tasks to be added or removed (isAddRemoveSubtaskAllowed is false); sub-tasks cannot be %s it",
		IncidentName(parent), parent.ID, how)
}

// isNotFound reports whether err is the 404 of an object the caller may not
// see.
func isNotFound(err error) bool {
	var e *envelope.Error
	return errors.As(err, &e) && e.Kind == envelope.KindObjectNotFound
}

// articled puts "a" or "an" before a label.
func articled(label string) string {
	if label != "" && strings.IndexByte("aeiou", label[0]) >= 0 {
		return "an " + label
	}
	return "a " + label
}

// upperFirst capitalises the first letter of a field name.
func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

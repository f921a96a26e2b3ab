package storetest

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/scwm-gateway/scwm-gateway/store"
)

// childOf is a sub-task of parent, created at base+n, without comments.
func childOf(id, parent string, n int64) *store.Incident {
	inc := sampleIncident(id)
	inc.ProcessType = "subTask"
	inc.ParentID = parent
	inc.CreatedAt = base + n
	inc.LastUpdatedAt = base + n
	inc.Comments = nil
	inc.Activities[0].CommentIDs = nil
	return inc
}

// children is FindChildren of parent, each checked to have its data and
// no comments or history, with its comments and history cleared.
func children(t *testing.T, st Store, dataspace, parent string) []*store.Incident {
	t.Helper()
	got, err := st.FindChildren(t.Context(), dataspace, parent)
	must(t, err, "FindChildren "+parent)
	for _, c := range got {
		if c.Data == nil {
			t.Errorf("FindChildren(%s) gave %s without its data", parent, c.ID)
		}
		if c.Comments != nil || c.Activities != nil {
			t.Errorf("FindChildren(%s) gave %s with %d comments and %d history entries, want neither", parent, c.ID, len(c.Comments), len(c.Activities))
		}
	}
	return got
}

// childIDs are the ids of FindChildren of parent, in its order.
func childIDs(t *testing.T, st Store, dataspace, parent string) []string {
	t.Helper()
	ids := []string{}
	for _, c := range children(t, st, dataspace, parent) {
		if c.ParentID != parent {
			t.Errorf("FindChildren(%s) gave %s of parent %q", parent, c.ID, c.ParentID)
		}
		ids = append(ids, c.ID)
	}
	return ids
}

func testFindChildren(t *testing.T, s *suite) {
	st := s.fresh(t)
	ctx := t.Context()
	insertIncident(t, st, sampleIncident("task-1"))
	insertIncident(t, st, sampleIncident("task-2"))
	// Inserted out of creation order: the oldest comes first all the
	// same, and of two made at once the one whose id sorts first.
	subB := childOf("sub-b", "task-1", 20)
	subB.Comments = []store.Comment{sampleComment("sub-b-c1", 1)}
	subB.Activities[0].CommentIDs = []string{"sub-b-c1"}
	for _, c := range []*store.Incident{childOf("sub-z", "task-1", 30), subB, childOf("sub-q", "task-1", 10),
		childOf("sub-y", "task-1", 30), childOf("sub-c", "task-2", 5)} {
		insertIncident(t, st, c)
	}
	// The same parent id in another dataspace.
	other := childOf("sub-x", "task-1", 1)
	other.Dataspace = "elsewhere"
	insertIncident(t, st, other)

	equal(t, "children of task-1", children(t, st, ds, "task-1"), []*store.Incident{
		stateOf(childOf("sub-q", "task-1", 10)), stateOf(subB),
		stateOf(childOf("sub-y", "task-1", 30)), stateOf(childOf("sub-z", "task-1", 30)),
	})
	equal(t, "children of task-2", childIDs(t, st, ds, "task-2"), []string{"sub-c"})
	equal(t, "children of task-1 in another dataspace", childIDs(t, st, "elsewhere", "task-1"), []string{"sub-x"})
	equal(t, "children of task-2 in another dataspace", childIDs(t, st, "elsewhere", "task-2"), []string{})
	equal(t, "children of an unknown parent", childIDs(t, st, ds, "no-such-task"), []string{})
	equal(t, "children of a child", childIDs(t, st, ds, "sub-q"), []string{})
	equal(t, "children of no parent", childIDs(t, st, ds, ""), []string{})

	// The parent id is kept by every read and through a change, whose
	// Incident carries it; FindChildren then gives the changed child.
	if p := findIncident(t, st, "task-1", 0).ParentID; p != "" {
		t.Errorf("a top-level object has ParentID %q", p)
	}
	for _, with := range []store.Include{0, store.WithComments | store.WithActivities, store.DataAsText} {
		equal(t, fmt.Sprintf("ParentID of FindIncident with %b", with), findIncident(t, st, "sub-b", with).ParentID, "task-1")
	}
	ch := nextChange(stateOf(childOf("sub-q", "task-1", 10)), 2, map[string]any{"state": "InProgress"})
	ch.Incident.CurrentBaseState = "InProgress"
	must(t, st.WriteChange(ctx, ch), "WriteChange of a child")
	equal(t, "child after WriteChange", findIncident(t, st, "sub-q", 0), ch.Incident)
	e, err := st.FindEffect(ctx, ds, ch.Activity.LicensePlate)
	must(t, err, "FindEffect of the child's change")
	if e.Incident == nil || e.Incident.ParentID != "task-1" {
		t.Errorf("FindEffect of the child's change gave %+v, want the child of task-1", e.Incident)
	}
	got := children(t, st, ds, "task-1")
	if len(got) != 4 {
		t.Fatalf("FindChildren after a change of a child gave %d, want 4", len(got))
	}
	equal(t, "first child after its change", got[0], ch.Incident)
}

// testFindChildrenBound gives a parent one child more than MaxChildren:
// FindChildren gives the oldest MaxChildren, in order, and leaves out the
// newest.
func testFindChildrenBound(t *testing.T, s *suite) {
	st := s.fresh(t)
	records := make([]store.Record, 0, store.MaxChildren+1)
	// Ids sort the other way round from creation times, so that an order
	// by id alone shows.
	for i := range store.MaxChildren + 1 {
		c := stateOf(childOf(fmt.Sprintf("sub-%05d", store.MaxChildren-i), "task-1", int64(i)))
		c.Data = map[string]any{"n": int64(i)}
		records = append(records, store.Record{Kind: store.KindIncident, Value: c})
	}
	must(t, st.Import(t.Context(), records), "Import the children")
	got := children(t, st, ds, "task-1")
	if len(got) != store.MaxChildren {
		t.Fatalf("FindChildren of a parent of %d children gave %d, want MaxChildren (%d)", store.MaxChildren+1, len(got), store.MaxChildren)
	}
	for i, c := range got {
		if want := fmt.Sprintf("sub-%05d", store.MaxChildren-i); c.ID != want {
			t.Fatalf("child %d of FindChildren is %s, want %s (oldest first)", i, c.ID, want)
		}
	}
}

func testFindCommentByID(t *testing.T, s *suite) {
	st := s.fresh(t)
	ctx := t.Context()
	insertIncident(t, st, sampleIncident("inc-1"))
	insertIncident(t, st, sampleIncident("inc-2"))
	sub := sampleIncident("sub-1")
	sub.ParentID = "inc-1"
	insertIncident(t, st, sub)

	found := func(what, commentID, wantOwner string, want store.Comment) {
		t.Helper()
		owner, c, err := st.FindCommentByID(ctx, commentID)
		if !wantErr(t, err, nil, "FindCommentByID "+what) {
			return
		}
		equal(t, "the object of the comment "+what, owner, wantOwner)
		equal(t, "the comment "+what, c, &want)
	}
	inc2 := newHistory(sampleIncident("inc-2"))
	found("of an insert", "inc-2-c2", "inc-2", inc2.comments[1])
	found("of a child", "sub-1-c1", "sub-1", newHistory(sub).comments[0])

	// A comment a change adds, and one it replaces, as they are now.
	ch := nextChange(inc2.state, 2, nil)
	ch.AddComments = []store.Comment{sampleComment("inc-2-v2", 3)}
	edited := sampleComment("inc-2-c1", 1)
	edited.CommentText = "edited"
	edited.UpdatedAt = base + 10
	ch.ReplaceComments = []store.Comment{edited}
	must(t, st.WriteChange(ctx, ch), "WriteChange adding and replacing comments")
	inc2.apply(ch)
	found("added by a change", "inc-2-v2", "inc-2", inc2.comments[2])
	found("replaced by a change", "inc-2-c1", "inc-2", inc2.comments[0])
	equal(t, "the replaced comment's text", inc2.comments[0].CommentText, "edited")

	for _, id := range []string{"missing", "inc-2", ""} {
		owner, c, err := st.FindCommentByID(ctx, id)
		if wantErr(t, err, store.ErrNotFound, fmt.Sprintf("FindCommentByID(%q)", id)) && (owner != "" || c != nil) {
			t.Errorf("FindCommentByID(%q) gave %q, %+v with its error", id, owner, c)
		}
	}
}

// masterCompany is a company with every part of master data.
func masterCompany() store.Company {
	return store.Company{ID: "acme", Name: "Acme", MasterData: &store.CompanyMasterData{
		BusinessName: "Acme Pharma",
		Identifiers:  []store.Identifier{{Type: "GLN", Value: "0614141000005"}, {Type: "DUNS", Value: "150483782"}},
		Address: &store.Address{Address1: "1 Main St", Address2: "Suite 2", HouseNumber: "1", City: "Boston", District: "Suffolk",
			Village: "Back Bay", Township: "T1", State: "MA", PostalCode: "02116", Country: "US"},
		Locations: []store.LocationMasterData{{ID: "plant-1", BusinessName: "Plant 1", LocationType: "Internal",
			Identifiers: []store.Identifier{{Type: "SGLN", Value: "0614141.00001.0"}}, Address: &store.Address{City: "Lowell", Country: "US"}}},
		Products: []store.ProductMasterData{{ID: "p-1", Name: "Aspirin", Description: "Pain reliever", DosageForm: "Tablet",
			Strength: "81 mg", PackageSize: "100", ItemCodes: []store.Identifier{{Type: "GTIN", Value: "00312345678906"}, {Type: "US_NDC532", Value: "12345-678-90"}}}},
	}}
}

func testCompanyMasterData(t *testing.T, s *suite) {
	st := s.fresh(t)
	ctx := t.Context()
	c := masterCompany()
	must(t, st.PutCompany(ctx, c), "PutCompany with master data")
	equal(t, "Companies with master data", companies(t, st), []store.Company{masterCompany()})

	// Put as stored writes nothing: the export is the same line for line.
	before := exportLines(t, st)
	must(t, st.PutCompany(ctx, masterCompany()), "PutCompany as stored")
	sameLines(t, "export after the same PutCompany", exportLines(t, st), before)
	// Empty lists are no master data of their own.
	bare := store.Company{ID: "bare", Name: "Bare", MasterData: &store.CompanyMasterData{BusinessName: "Bare Inc.",
		Identifiers: []store.Identifier{}, Locations: []store.LocationMasterData{}, Products: []store.ProductMasterData{}}}
	must(t, st.PutCompany(ctx, bare), "PutCompany with empty lists")
	before = exportLines(t, st)
	must(t, st.PutCompany(ctx, bare), "PutCompany with empty lists as stored")
	sameLines(t, "export after the same PutCompany with empty lists", exportLines(t, st), before)
	equal(t, "Companies with empty lists", companies(t, st)[1], store.Company{ID: "bare", Name: "Bare",
		MasterData: &store.CompanyMasterData{BusinessName: "Bare Inc."}})

	// A change of the master data alone is written; EnsureCompany keeps it.
	c.MasterData.Products[0].ItemCodes[0].Value = "00312345678913"
	must(t, st.PutCompany(ctx, c), "PutCompany with changed master data")
	must(t, st.EnsureCompany(ctx, "acme"), "EnsureCompany of a company with master data")
	equal(t, "Companies after the change", companies(t, st)[0], c)
	c.MasterData = nil
	must(t, st.PutCompany(ctx, c), "PutCompany without master data")
	equal(t, "Companies after removing it", companies(t, st)[0], c)
}

// testCatalogueExport moves children, comments and master data through an
// export and an import into another store, where the catalogue's lookups
// find them.
func testCatalogueExport(t *testing.T, s *suite) {
	src := s.fresh(t)
	ctx := t.Context()
	must(t, src.PutCompany(ctx, masterCompany()), "PutCompany")
	insertIncident(t, src, sampleIncident("task-1"))
	insertIncident(t, src, childOf("sub-2", "task-1", 2))
	insertIncident(t, src, childOf("sub-1", "task-1", 1))
	var buf bytes.Buffer
	_, err := store.ExportNDJSON(ctx, &buf, src)
	must(t, err, "ExportNDJSON")
	dst := s.fresh(t)
	_, err = store.ImportNDJSON(ctx, &buf, dst)
	must(t, err, "ImportNDJSON")
	equal(t, "imported companies", companies(t, dst), []store.Company{masterCompany()})
	equal(t, "imported children", children(t, dst, ds, "task-1"),
		[]*store.Incident{stateOf(childOf("sub-1", "task-1", 1)), stateOf(childOf("sub-2", "task-1", 2))})
	equal(t, "imported child", findIncident(t, dst, "sub-1", 0), stateOf(childOf("sub-1", "task-1", 1)))
	if p := findIncident(t, dst, "task-1", 0).ParentID; p != "" {
		t.Errorf("imported top-level object has ParentID %q", p)
	}
	owner, c, err := dst.FindCommentByID(ctx, "task-1-c2")
	must(t, err, "FindCommentByID after import")
	equal(t, "the imported comment's object", owner, "task-1")
	equal(t, "the imported comment", c, &newHistory(sampleIncident("task-1")).comments[1])
}

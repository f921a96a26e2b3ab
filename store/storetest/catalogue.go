package storetest

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/scwm-gateway/scwm-gateway/store"
)

// childOf is a sub-task of parent, created at base+n.
func childOf(id, parent string, n int64) *store.Incident {
	inc := sampleIncident(id)
	inc.ProcessType = "subTask"
	inc.ParentID = parent
	inc.CreatedAt = base + n
	inc.Comments = nil
	inc.Activities[0].CommentIDs = nil
	return inc
}

func childIDs(t *testing.T, st Store, dataspace, parent string) []string {
	t.Helper()
	children, err := st.FindChildren(t.Context(), dataspace, parent)
	must(t, err, "FindChildren "+parent)
	ids := []string{}
	for _, c := range children {
		if c.Data == nil {
			t.Errorf("FindChildren gave %s without its data", c.ID)
		}
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
	// Inserted out of creation order: the oldest comes first all the same.
	insertIncident(t, st, childOf("sub-b", "task-1", 20))
	insertIncident(t, st, childOf("sub-a", "task-1", 10))
	insertIncident(t, st, childOf("sub-c", "task-2", 5))
	other := childOf("sub-x", "task-1", 1)
	other.Dataspace = "elsewhere"
	insertIncident(t, st, other)

	equal(t, "children of task-1", childIDs(t, st, ds, "task-1"), []string{"sub-a", "sub-b"})
	equal(t, "children of task-2", childIDs(t, st, ds, "task-2"), []string{"sub-c"})
	equal(t, "children of task-1 in another dataspace", childIDs(t, st, "elsewhere", "task-1"), []string{"sub-x"})
	equal(t, "children of an unknown parent", childIDs(t, st, ds, "no-such-task"), []string{})
	equal(t, "children of no parent", childIDs(t, st, ds, ""), []string{})

	// The parent id is kept through a change, and a change of a child is
	// what FindChildren then gives.
	equal(t, "ParentID of FindIncident", findIncident(t, st, "sub-a", 0).ParentID, "task-1")
	ch := nextChange(stateOf(childOf("sub-a", "task-1", 10)), 2, map[string]any{"state": "InProgress"})
	ch.Incident.CurrentBaseState = "InProgress"
	must(t, st.WriteChange(ctx, ch), "WriteChange of a child")
	got := findIncident(t, st, "sub-a", 0)
	equal(t, "ParentID after WriteChange", got.ParentID, "task-1")
	children, err := st.FindChildren(ctx, ds, "task-1")
	must(t, err, "FindChildren")
	if len(children) != 2 || children[0].CurrentBaseState != "InProgress" || children[0].DataVersion != 2 {
		t.Errorf("FindChildren after a change of the first child: %+v", children[0])
	}
	if p := findIncident(t, st, "task-1", 0).ParentID; p != "" {
		t.Errorf("an object of its own has ParentID %q", p)
	}
}

func testFindCommentByID(t *testing.T, s *suite) {
	st := s.fresh(t)
	ctx := t.Context()
	insertIncident(t, st, sampleIncident("inc-1"))
	insertIncident(t, st, sampleIncident("inc-2"))
	owner, c, err := st.FindCommentByID(ctx, "inc-2-c1")
	must(t, err, "FindCommentByID")
	equal(t, "the comment's object", owner, "inc-2")
	equal(t, "the comment", c.CommentText, sampleComment("inc-2-c1", 1).CommentText)

	// A replaced comment is found as it is now.
	prev := stateOf(sampleIncident("inc-2"))
	ch := nextChange(prev, 2, nil)
	edited := sampleComment("inc-2-c1", 1)
	edited.CommentText = "edited"
	ch.ReplaceComments = []store.Comment{edited}
	must(t, st.WriteChange(ctx, ch), "WriteChange replacing a comment")
	_, c, err = st.FindCommentByID(ctx, "inc-2-c1")
	must(t, err, "FindCommentByID after the edit")
	equal(t, "the edited comment", c.CommentText, "edited")

	_, _, err = st.FindCommentByID(ctx, "missing")
	wantErr(t, err, store.ErrNotFound, "FindCommentByID of a missing comment")
}

// masterCompany is a company with every part of master data.
func masterCompany() store.Company {
	return store.Company{ID: "acme", Name: "Acme", MasterData: &store.CompanyMasterData{
		BusinessName: "Acme Pharma",
		Identifiers:  []store.Identifier{{Type: "GLN", Value: "0614141000005"}},
		Address:      &store.Address{Address1: "1 Main St", City: "Boston", Country: "US"},
		Locations: []store.LocationMasterData{{ID: "plant-1", BusinessName: "Plant 1", LocationType: "Internal",
			Identifiers: []store.Identifier{{Type: "SGLN", Value: "0614141000012"}}, Address: &store.Address{City: "Lowell"}}},
		Products: []store.ProductMasterData{{ID: "p-1", Name: "Aspirin", ItemCodes: []store.Identifier{{Type: "GTIN", Value: "00312345678906"}}}},
	}}
}

func testCompanyMasterData(t *testing.T, s *suite) {
	st := s.fresh(t)
	ctx := t.Context()
	c := masterCompany()
	must(t, st.PutCompany(ctx, c), "PutCompany with master data")
	equal(t, "Companies with master data", companies(t, st), []store.Company{c})
	// Put as stored writes nothing: the export is the same line for line.
	before := exportLines(t, st)
	must(t, st.PutCompany(ctx, masterCompany()), "PutCompany as stored")
	sameLines(t, "export after the same PutCompany", exportLines(t, st), before)

	c.MasterData.BusinessName = "Acme Pharma Inc."
	must(t, st.PutCompany(ctx, c), "PutCompany with changed master data")
	equal(t, "Companies after the change", companies(t, st)[0].MasterData.BusinessName, "Acme Pharma Inc.")
	c.MasterData = nil
	must(t, st.PutCompany(ctx, c), "PutCompany without master data")
	equal(t, "Companies after removing it", companies(t, st), []store.Company{c})
}

// testCatalogueExport moves a child and master data through an export and
// an import into another store.
func testCatalogueExport(t *testing.T, s *suite) {
	src := s.fresh(t)
	ctx := t.Context()
	must(t, src.PutCompany(ctx, masterCompany()), "PutCompany")
	insertIncident(t, src, sampleIncident("task-1"))
	insertIncident(t, src, childOf("sub-1", "task-1", 1))
	var buf bytes.Buffer
	_, err := store.ExportNDJSON(ctx, &buf, src)
	must(t, err, "ExportNDJSON")
	dst := s.fresh(t)
	_, err = store.ImportNDJSON(ctx, &buf, dst)
	must(t, err, "ImportNDJSON")
	equal(t, "imported companies", companies(t, dst), []store.Company{masterCompany()})
	equal(t, "imported children", childIDs(t, dst, ds, "task-1"), []string{"sub-1"})
	if p := findIncident(t, dst, "sub-1", 0).ParentID; p != "task-1" {
		t.Errorf("imported ParentID %q", p)
	}
	_, _, err = dst.FindCommentByID(ctx, "task-1-c1")
	must(t, err, fmt.Sprintf("FindCommentByID after import (%s)", "task-1-c1"))
}

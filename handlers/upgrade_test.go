package handlers_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	gt "github.com/scwm-gateway/scwm-gateway/internal/gatewaytest"
	"github.com/scwm-gateway/scwm-gateway/store/sqlite"
)

// ferretFixture is the data directory of a gateway of the FerretDB era,
// made through that gateway's API, and what that gateway answered for each
// incident (store/ferretimport/testdata/README.md).
const ferretFixture = "../store/ferretimport/testdata"

// A gateway started on the data directory of a FerretDB-era gateway
// imports its data on the first start and answers as the earlier gateway
// did: every incident reads the same, with the same comments and history,
// and takes changes from where it was. The next start imports nothing
// again: what changed since stays.
func TestAnEarlierGatewaysDataIsImported(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(gt.Unpack(t, filepath.Join(ferretFixture, "ferretdb-era.tar.gz")), "data")
	raw, err := os.ReadFile(filepath.Join(ferretFixture, "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var expected struct {
		Incidents []struct {
			ID          string         `json:"id"`
			Step        string         `json:"step"`
			ProcessType string         `json:"processType"`
			Dataspace   string         `json:"dataspace"`
			OwnerID     string         `json:"ownerId"`
			Record      map[string]any `json:"record"`
			Comments    []any          `json:"comments"`
			Activities  []any          `json:"activities"`
		} `json:"incidents"`
	}
	if err := json.Unmarshal(raw, &expected); err != nil {
		t.Fatal(err)
	}
	h := gt.Start(t, gt.Options{DataDir: dir})
	if got := h.Store.(*sqlite.Store).Imported(); got.Records == 0 || filepath.Base(got.From) != "scwm.sqlite" {
		t.Fatalf("the first start imported %+v", got)
	}
	var life string
	for _, want := range expected.Incidents {
		if want.Dataspace != "default" || want.OwnerID != "acme" || want.Record == nil {
			continue
		}
		var rec map[string]any
		h.Send(t, gt.Acme, "agile-process-teams:read-"+want.ProcessType+":v4", map[string]any{"id": want.ID}).MustOK(t).Decode(t, &rec)
		if want.Step == "inline" {
			// Written beside the earlier gateway's API, in MongoDB's form,
			// without the fields the API writes: its data must read the
			// same, with every number type as it was.
			rec, want.Record = map[string]any{"data": rec["data"]}, map[string]any{"data": want.Record["data"]}
		}
		if !reflect.DeepEqual(rec, want.Record) {
			t.Errorf("%s reads\n%v\nthe earlier gateway answered\n%v", want.Step, rec, want.Record)
		}
		if want.Comments != nil {
			var comments struct{ Comments []any }
			h.Send(t, gt.Acme, listComments, map[string]any{"id": want.ID, "processType": want.ProcessType}).MustOK(t).Decode(t, &comments)
			if len(comments.Comments) != len(want.Comments) {
				t.Errorf("%s lists %d comments, the earlier gateway %d", want.Step, len(comments.Comments), len(want.Comments))
			}
		}
		if want.Step == "life" {
			life = want.ID
		}
	}
	if life == "" {
		t.Fatal("the fixture has no incident life")
	}
	var edited struct{ DataVersion int64 }
	h.Send(t, gt.Acme, "agile-process-teams:edit-incident:v5", map[string]any{"id": life, "incidentCategory": "after the upgrade"}).MustOK(t).Decode(t, &edited)
	if edited.DataVersion != 9 {
		t.Fatalf("an edit of life (imported at version 8) wrote version %d", edited.DataVersion)
	}
	h.Stop()

	again := gt.Start(t, gt.Options{DataDir: dir})
	if got := again.Store.(*sqlite.Store).Imported(); got.Records != 0 {
		t.Fatalf("the second start imported again: %+v", got)
	}
	if rec := readOne(t, again, gt.Acme, life); rec.DataVersion != 9 {
		t.Fatalf("after a restart life is at version %d, want 9", rec.DataVersion)
	}
}

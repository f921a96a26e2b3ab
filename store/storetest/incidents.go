package storetest

import (
	"errors"
	"fmt"
	"testing"

	"github.com/scwm-gateway/scwm-gateway/internal/jsonvalue"
	"github.com/scwm-gateway/scwm-gateway/store"
)

func testInsertFindIncident(t *testing.T, s *suite) {
	st := s.fresh(t)
	insertIncident(t, st, sampleIncident("inc-1"))
	want := sampleIncident("inc-1")
	comments, activities := stored(want)

	for _, with := range []store.Include{0, store.WithComments, store.WithActivities, store.WithComments | store.WithActivities,
		store.DataAsText, store.DataAsText | store.WithComments} {
		what := fmt.Sprintf("FindIncident with %b", with)
		got := findIncident(t, st, "inc-1", with)
		if with&store.DataAsText != 0 && got.Data == nil {
			// The store gave the data as its text: it is the text of the
			// data written.
			data, err := jsonvalue.DecodeObject(got.DataText())
			if err != nil || got.DataText() == "" {
				t.Fatalf("%s: no Data, and its text %q does not decode (%v)", what, got.DataText(), err)
			}
			got.Data = data
		} else if got.Data == nil {
			t.Fatalf("%s: no Data", what)
		}
		wantComments, wantActivities := []store.Comment(nil), []store.Activity(nil)
		if with&store.WithComments != 0 {
			wantComments = comments
		}
		if with&store.WithActivities != 0 {
			wantActivities = activities
		}
		equal(t, what+": comments", got.Comments, wantComments)
		equal(t, what+": history", got.Activities, wantActivities)
		got.Comments, got.Activities = nil, nil
		equal(t, what+": incident", got, stateOf(want))
	}

	// An incident without comments or data.
	bare := sampleIncident("inc-2")
	bare.Comments, bare.Data = nil, nil
	insertIncident(t, st, bare)
	got := findIncident(t, st, "inc-2", store.WithComments|store.WithActivities)
	if len(got.Comments) != 0 {
		t.Errorf("comments of an incident without any: %+v", got.Comments)
	}
	_, wantActivities := stored(sampleIncident("inc-2"))
	equal(t, "history of an incident without comments", got.Activities, wantActivities)
	got.Comments, got.Activities = nil, nil
	equal(t, "incident without comments or data", got, stateOf(bare))
}

func testInsertIncidentNeedsOneActivity(t *testing.T, s *suite) {
	st := s.fresh(t)
	ctx := t.Context()
	none := sampleIncident("inc-none")
	none.Activities = nil
	wantSomeErr(t, st.InsertIncident(ctx, none), "InsertIncident without a history entry")
	two := sampleIncident("inc-two")
	two.Activities = append(two.Activities, two.Activities[0])
	two.Activities[1].LicensePlate = "plate-second"
	wantSomeErr(t, st.InsertIncident(ctx, two), "InsertIncident with two history entries")
	for _, id := range []string{"inc-none", "inc-two"} {
		_, err := st.FindIncident(ctx, ds, id, 0)
		wantErr(t, err, store.ErrNotFound, "FindIncident of a refused insert "+id)
		_, err = st.FindComment(ctx, id, id+"-c1")
		wantErr(t, err, store.ErrNotFound, "FindComment of a refused insert "+id)
	}
	for _, plate := range []string{"plate-add-inc-two", "plate-second"} {
		_, err := st.FindEffect(ctx, ds, plate)
		wantErr(t, err, store.ErrNotFound, "FindEffect of a refused insert's plate "+plate)
	}
}

func testIncidentDataspace(t *testing.T, s *suite) {
	st := s.fresh(t)
	ctx := t.Context()
	insertIncident(t, st, sampleIncident("inc-1"))
	_, err := st.FindIncident(ctx, "staging", "inc-1", store.WithComments|store.WithActivities)
	wantErr(t, err, store.ErrNotFound, "FindIncident in another dataspace")
	_, err = st.FindIncident(ctx, ds, "inc-missing", 0)
	wantErr(t, err, store.ErrNotFound, "FindIncident of a missing incident")

	staged := sampleIncident("inc-s")
	staged.Dataspace = "staging"
	insertIncident(t, st, staged)
	got, err := st.FindIncident(ctx, "staging", "inc-s", 0)
	must(t, err, "FindIncident in its dataspace")
	equal(t, "incident of another dataspace", got, stateOf(staged))
	_, err = st.FindIncident(ctx, ds, "inc-s", 0)
	wantErr(t, err, store.ErrNotFound, "FindIncident of a staging incident in the default dataspace")
}

func testInsertIncidentDuplicate(t *testing.T, s *suite) {
	st := s.fresh(t)
	ctx := t.Context()
	insertIncident(t, st, sampleIncident("inc-1"))
	h := newHistory(sampleIncident("inc-1"))

	dup := sampleIncident("inc-1")
	dup.Data = map[string]any{"title": "second"}
	dup.Comments = []store.Comment{sampleComment("dup-c", 9)}
	dup.Activities[0].LicensePlate = "plate-dup"
	wantErr(t, st.InsertIncident(ctx, dup), store.ErrDuplicate, "InsertIncident of a taken id")

	// Incident ids are unique across dataspaces: comments and history are
	// found by incident id alone.
	other := sampleIncident("inc-1")
	other.Dataspace = "staging"
	other.Comments = []store.Comment{sampleComment("other-c", 9)}
	other.Activities[0].LicensePlate = "plate-other"
	wantErr(t, st.InsertIncident(ctx, other), store.ErrDuplicate, "InsertIncident of a taken id in another dataspace")

	h.check(t, st, "after duplicate inserts")
	for _, c := range []string{"dup-c", "other-c"} {
		_, err := st.FindComment(ctx, "inc-1", c)
		wantErr(t, err, store.ErrNotFound, "FindComment of a refused insert's comment "+c)
	}
	for _, plate := range []string{"plate-dup", "plate-other"} {
		for _, space := range []string{ds, "staging"} {
			_, err := st.FindEffect(ctx, space, plate)
			wantErr(t, err, store.ErrNotFound, "FindEffect of a refused insert's plate "+plate+" in "+space)
		}
	}
	_, err := st.FindIncident(ctx, "staging", "inc-1", 0)
	wantErr(t, err, store.ErrNotFound, "FindIncident of the refused insert in another dataspace")
}

func testWriteChangeVersions(t *testing.T, s *suite) {
	st := s.fresh(t)
	ctx := t.Context()
	inc := sampleIncident("inc-1")
	insertIncident(t, st, inc)
	h := newHistory(sampleIncident("inc-1"))
	h.check(t, st, "at version 1")

	write := func(ch store.Change) {
		t.Helper()
		must(t, st.WriteChange(ctx, ch), fmt.Sprintf("WriteChange to version %d", ch.Incident.DataVersion))
		h.apply(ch)
		h.check(t, st, fmt.Sprintf("at version %d", ch.Incident.DataVersion))
	}

	// 2: two comments; the state's own Comments and Activities are
	// ignored, and the entry's DataVersion is the incident's.
	ch := nextChange(h.state, 2, map[string]any{"added": []any{"x", int64(1)}})
	ch.AddComments = []store.Comment{sampleComment("v2-a", 3), sampleComment("v2-b", 4)}
	ch.Incident.Comments = []store.Comment{sampleComment("ignored", 5)}
	ch.Incident.Activities = []store.Activity{{LicensePlate: "plate-ignored"}}
	ch.Activity.DataVersion = 0
	ch.Activity.CommentIDs = []string{"v2-a", "v2-b"}
	write(ch)
	if _, err := st.FindComment(ctx, "inc-1", "ignored"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("FindComment of a comment in the change's Incident.Comments: %v, want ErrNotFound", err)
	}

	// 3: an edit of a comment of the add, and one more.
	ch = nextChange(h.state, 3, nil)
	edited := sampleComment("inc-1-c1", 1)
	edited.CommentText, edited.UpdatedBy, edited.UpdatedAt = "edited", "bob", base+3000
	edited.Attachments = nil
	ch.ReplaceComments = []store.Comment{edited}
	ch.AddComments = []store.Comment{sampleComment("v3-a", 6)}
	write(ch)

	// 4: no comments; a new base state and partner.
	ch = nextChange(h.state, 4, nil)
	ch.Incident.CurrentBaseState, ch.Incident.PartnerID = "Submitted", "globex"
	ch.Activity.StateFrom, ch.Activity.StateTo = "Draft", "Submitted"
	ch.Activity.Detail = map[string]any{"partner": "globex", "n": int64(4), "f": 4.5}
	write(ch)

	// 5: an edit of a comment of a change, and two more.
	ch = nextChange(h.state, 5, nil)
	edited = sampleComment("v2-b", 4)
	edited.CommentText = "edited again"
	ch.ReplaceComments = []store.Comment{edited}
	ch.AddComments = []store.Comment{sampleComment("v5-a", 7), sampleComment("v5-b", 8)}
	write(ch)

	// 6: the state is replaced, not merged: fields the change drops are gone.
	ch = nextChange(h.state, 6, map[string]any{"added": nil, "nested": nil, "title": "retitled"})
	ch.Incident.PartnerID = ""
	write(ch)
	got := findIncident(t, st, "inc-1", 0)
	for _, k := range []string{"added", "nested"} {
		if v, ok := got.Data[k]; ok {
			t.Errorf("data[%q] = %v after a change that dropped it", k, v)
		}
	}
}

// refused checks that a change st refused left nothing behind: its plate
// and its added comments are unknown.
func refused(t *testing.T, st Store, ch store.Change, what string) {
	t.Helper()
	ctx := t.Context()
	if _, err := st.FindEffect(ctx, ds, ch.Activity.LicensePlate); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("%s: FindEffect of its plate: %v, want ErrNotFound", what, err)
	}
	for _, c := range ch.AddComments {
		if _, err := st.FindComment(ctx, ch.Incident.ID, c.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s: FindComment of its comment %s: %v, want ErrNotFound", what, c.ID, err)
		}
	}
}

func testWriteChangeRefused(t *testing.T, s *suite) {
	st := s.fresh(t)
	ctx := t.Context()
	insertIncident(t, st, sampleIncident("inc-1"))
	h := newHistory(sampleIncident("inc-1"))

	withComment := func(ch store.Change, id string) store.Change {
		ch.AddComments = []store.Comment{sampleComment(id, 5)}
		return ch
	}
	ahead := withComment(nextChange(h.state, 3, nil), "ahead-c")
	wantErr(t, st.WriteChange(ctx, ahead), store.ErrConflict, "WriteChange to version 3 of an incident at 1")
	refused(t, st, ahead, "a change skipping a version")
	for _, v := range []int64{1, 0, -1} {
		ch := withComment(nextChange(h.state, v, nil), fmt.Sprintf("low-c%d", v+1))
		ch.Activity.LicensePlate = fmt.Sprintf("plate-low-%d", v+1)
		wantSomeErr(t, st.WriteChange(ctx, ch), fmt.Sprintf("WriteChange to version %d", v))
		refused(t, st, ch, fmt.Sprintf("a change to version %d", v))
	}
	missing := withComment(nextChange(h.state, 2, nil), "missing-c")
	missing.Incident.ID = "inc-missing"
	wantErr(t, st.WriteChange(ctx, missing), store.ErrNotFound, "WriteChange of a missing incident")
	refused(t, st, missing, "a change of a missing incident")
	h.check(t, st, "after refused changes")

	first := withComment(nextChange(h.state, 2, map[string]any{"writer": "first"}), "first-c")
	must(t, st.WriteChange(ctx, first), "WriteChange to version 2")
	h.apply(first)
	second := withComment(nextChange(newHistory(sampleIncident("inc-1")).state, 2, map[string]any{"writer": "second"}), "second-c")
	second.Activity.LicensePlate = "plate-second"
	wantErr(t, st.WriteChange(ctx, second), store.ErrConflict, "a second WriteChange to version 2")
	refused(t, st, second, "a second change to version 2")
	h.check(t, st, "after a conflict")
}

func testWriteChangeConcurrent(t *testing.T, s *suite) {
	st := s.fresh(t)
	ctx := t.Context()
	insertIncident(t, st, sampleIncident("inc-1"))
	h := newHistory(sampleIncident("inc-1"))

	const writers = 50
	changes := make([]store.Change, writers)
	for i := range changes {
		ch := nextChange(h.state, 2, map[string]any{"writer": int64(i)})
		ch.Activity.LicensePlate = fmt.Sprintf("plate-writer-%d", i)
		ch.AddComments = []store.Comment{sampleComment(fmt.Sprintf("writer-%d-c", i), int64(i))}
		edited := sampleComment("inc-1-c1", 1)
		edited.CommentText = fmt.Sprintf("edited by writer %d", i)
		ch.ReplaceComments = []store.Comment{edited}
		changes[i] = ch
	}
	errs := make([]error, writers)
	race(writers, func(i int) { errs[i] = st.WriteChange(ctx, changes[i]) })

	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Errorf("writers %d and %d both wrote version 2", winner, i)
		case err == nil:
			winner = i
		case !errors.Is(err, store.ErrConflict):
			t.Errorf("writer %d: %v, want ErrConflict", i, err)
		}
	}
	if winner < 0 {
		t.Fatalf("no writer of version 2 won: %s", describeErrs(errs))
	}
	h.apply(changes[winner])
	h.check(t, st, fmt.Sprintf("after %d writers raced (writer %d won)", writers, winner))
	for i, ch := range changes {
		if i != winner {
			refused(t, st, ch, fmt.Sprintf("losing writer %d", i))
		}
	}
}

func testReplaceComments(t *testing.T, s *suite) {
	st := s.fresh(t)
	ctx := t.Context()
	insertIncident(t, st, sampleIncident("inc-1"))
	insertIncident(t, st, sampleIncident("inc-2"))
	h := newHistory(sampleIncident("inc-1"))
	other := newHistory(sampleIncident("inc-2"))

	ch := nextChange(h.state, 2, nil)
	edited := sampleComment("inc-1-c1", 1)
	edited.CommentText, edited.UpdatedBy, edited.UpdatedAt = "edited text", "bob", base+5000
	edited.Attachments = append(edited.Attachments, map[string]any{"fileName": "more.png", "size": int64(7)})
	edited.Position = 12345 // the store keeps the stored one
	ch.ReplaceComments = []store.Comment{edited}
	ch.AddComments = []store.Comment{sampleComment("v2-c", 3)}
	must(t, st.WriteChange(ctx, ch), "WriteChange replacing a comment")
	h.apply(ch)
	h.check(t, st, "after an edit")
	got, err := st.FindComment(ctx, "inc-1", "inc-1-c1")
	must(t, err, "FindComment of the edited comment")
	want := edited
	want.Position = store.CommentPosition(1, 0)
	equal(t, "edited comment", got, &want)

	// A replace of a comment the incident does not have refuses the whole
	// change; the comment of another incident is not it.
	for _, missingID := range []string{"inc-1-missing", "inc-2-c1"} {
		bad := nextChange(h.state, 3, nil)
		keep := sampleComment("inc-1-c2", 2)
		keep.CommentText = "must not be written"
		ghost := sampleComment(missingID, 9)
		ghost.CommentText = "ghost"
		bad.ReplaceComments = []store.Comment{keep, ghost}
		bad.AddComments = []store.Comment{sampleComment("bad-c", 4)}
		wantSomeErr(t, st.WriteChange(ctx, bad), "WriteChange replacing "+missingID)
		refused(t, st, bad, "a change replacing "+missingID)
		h.check(t, st, "after a refused replace of "+missingID)
		other.check(t, st, "the other incident after a refused replace of "+missingID)
		if _, err := st.FindComment(ctx, "inc-1", missingID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("FindComment(inc-1, %s) after the refused replace: %v, want ErrNotFound", missingID, err)
		}
	}

	// The refused changes did not take version 3.
	ch = nextChange(h.state, 3, nil)
	ch.AddComments = []store.Comment{sampleComment("v3-c", 5)}
	must(t, st.WriteChange(ctx, ch), "WriteChange to version 3 after refused ones")
	h.apply(ch)
	h.check(t, st, "at version 3")
}

// withComments writes changes 2..len(adds)+1 to the incident of h, the
// change to version i+2 adding adds[i] comments.
func withComments(t *testing.T, st Store, h *history, adds []int) {
	t.Helper()
	for i, n := range adds {
		v := int64(i + 2)
		ch := nextChange(h.state, v, nil)
		for j := range n {
			ch.AddComments = append(ch.AddComments, sampleComment(fmt.Sprintf("%s-v%d-%d", h.state.ID, v, j), v))
		}
		must(t, st.WriteChange(t.Context(), ch), fmt.Sprintf("WriteChange to version %d", v))
		h.apply(ch)
	}
}

func testListComments(t *testing.T, s *suite) {
	st := s.fresh(t)
	ctx := t.Context()
	insertIncident(t, st, sampleIncident("inc-1"))
	insertIncident(t, st, sampleIncident("inc-2"))
	h := newHistory(sampleIncident("inc-1"))
	other := newHistory(sampleIncident("inc-2"))
	withComments(t, st, h, []int{2, 0, 3, 1})
	withComments(t, st, other, []int{1, 1})
	all := h.comments
	if len(all) != 8 {
		t.Fatalf("fixture: %d comments, want 8", len(all))
	}
	list := func(after int64, limit int) []store.Comment {
		t.Helper()
		cs, err := st.ListComments(ctx, "inc-1", after, limit)
		must(t, err, fmt.Sprintf("ListComments after %d limit %d", after, limit))
		return cs
	}
	equal(t, "ListComments of all", list(0, 100), all)
	equal(t, "ListComments limit 3", list(0, 3), all[:3])
	equal(t, "ListComments limit 1", list(0, 1), all[:1])
	equal(t, "ListComments after the third (excluded)", list(all[2].Position, 2), all[3:5])
	equal(t, "ListComments just before the third", list(all[2].Position-1, 1), all[2:3])
	equal(t, "ListComments limit exactly the rest", list(all[4].Position, 3), all[5:])
	equal(t, "ListComments after the last", list(all[7].Position, 10), []store.Comment(nil))

	var paged []store.Comment
	after := int64(0)
	for page := 0; ; page++ {
		if page > len(all) {
			t.Fatal("paging ListComments does not end")
		}
		cs := list(after, 3)
		if len(cs) == 0 {
			break
		}
		if len(cs) > 3 {
			t.Fatalf("ListComments limit 3 gave %d", len(cs))
		}
		paged = append(paged, cs...)
		after = cs[len(cs)-1].Position
	}
	equal(t, "ListComments paged by 3", paged, all)

	cs, err := st.ListComments(ctx, "inc-missing", 0, 10)
	must(t, err, "ListComments of a missing incident")
	if len(cs) != 0 {
		t.Errorf("ListComments of a missing incident: %+v", cs)
	}
}

func testListActivities(t *testing.T, s *suite) {
	st := s.fresh(t)
	ctx := t.Context()
	insertIncident(t, st, sampleIncident("inc-1"))
	insertIncident(t, st, sampleIncident("inc-2"))
	h := newHistory(sampleIncident("inc-1"))
	other := newHistory(sampleIncident("inc-2"))
	withComments(t, st, h, []int{0, 1, 0, 0})
	withComments(t, st, other, []int{0, 0})
	all := h.activities
	if len(all) != 5 {
		t.Fatalf("fixture: %d history entries, want 5", len(all))
	}
	list := func(after int64, limit int) []store.Activity {
		t.Helper()
		as, err := st.ListActivities(ctx, "inc-1", after, limit)
		must(t, err, fmt.Sprintf("ListActivities after %d limit %d", after, limit))
		return as
	}
	equal(t, "ListActivities of all", list(0, 100), all)
	equal(t, "ListActivities limit 2", list(0, 2), all[:2])
	equal(t, "ListActivities after 2 limit 2", list(2, 2), all[2:4])
	equal(t, "ListActivities after 4", list(4, 10), all[4:])
	equal(t, "ListActivities after 5", list(5, 10), []store.Activity(nil))
	equal(t, "ListActivities of the other incident", func() []store.Activity {
		as, err := st.ListActivities(ctx, "inc-2", 0, 10)
		must(t, err, "ListActivities inc-2")
		return as
	}(), other.activities)
}

func testFindComment(t *testing.T, s *suite) {
	st := s.fresh(t)
	ctx := t.Context()
	insertIncident(t, st, sampleIncident("inc-1"))
	insertIncident(t, st, sampleIncident("inc-2"))
	h := newHistory(sampleIncident("inc-1"))
	withComments(t, st, h, []int{1})
	for _, want := range h.comments {
		got, err := st.FindComment(ctx, "inc-1", want.ID)
		must(t, err, "FindComment "+want.ID)
		equal(t, "FindComment "+want.ID, got, &want)
	}
	_, err := st.FindComment(ctx, "inc-2", "inc-1-c1")
	wantErr(t, err, store.ErrNotFound, "FindComment of another incident's comment")
	_, err = st.FindComment(ctx, "inc-1", "missing")
	wantErr(t, err, store.ErrNotFound, "FindComment of a missing comment")
	_, err = st.FindComment(ctx, "inc-missing", "inc-1-c1")
	wantErr(t, err, store.ErrNotFound, "FindComment of a missing incident")
}

func testFindEffect(t *testing.T, s *suite) {
	st := s.fresh(t)
	ctx := t.Context()
	insertIncident(t, st, sampleIncident("inc-1"))
	h := newHistory(sampleIncident("inc-1"))
	withComments(t, st, h, []int{1, 0})
	client := store.Client{APIKey: "minted", SecretHash: "h", CompanyID: "acme", UserID: "u", CreatedAt: base, LicensePlate: "plate-client", MintedBy: "root"}
	must(t, st.InsertClient(ctx, client), "InsertClient")
	must(t, st.InsertClient(ctx, store.Client{APIKey: "plain", SecretHash: "h", CompanyID: "acme", UserID: "u"}), "InsertClient")

	// Each entry of the history names the incident as it is now.
	for _, a := range h.activities {
		e, err := st.FindEffect(ctx, ds, a.LicensePlate)
		must(t, err, "FindEffect "+a.LicensePlate)
		if e.Client != nil {
			t.Errorf("FindEffect %s gave a client: %+v", a.LicensePlate, e.Client)
		}
		equal(t, "FindEffect "+a.LicensePlate+": history entry", e.Activity, a)
		if e.Incident == nil {
			t.Errorf("FindEffect %s gave no incident", a.LicensePlate)
			continue
		}
		inc := *e.Incident
		inc.Comments, inc.Activities = nil, nil
		equal(t, "FindEffect "+a.LicensePlate+": incident", &inc, h.state)
		_, err = st.FindEffect(ctx, "staging", a.LicensePlate)
		wantErr(t, err, store.ErrNotFound, "FindEffect "+a.LicensePlate+" in another dataspace")
	}

	e, err := st.FindEffect(ctx, ds, "plate-client")
	must(t, err, "FindEffect of a client's plate")
	if e.Incident != nil {
		t.Errorf("FindEffect of a client's plate gave an incident: %+v", e.Incident)
	}
	equal(t, "FindEffect of a client's plate: client", e.Client, &client)

	_, err = st.FindEffect(ctx, ds, "plate-unknown")
	wantErr(t, err, store.ErrNotFound, "FindEffect of an unknown plate")
	// A comment's plate is no history entry.
	_, err = st.FindEffect(ctx, ds, h.comments[0].LicensePlate)
	wantErr(t, err, store.ErrNotFound, "FindEffect of a comment's plate")
}

// Whole numbers come back as int64 however they were written, also a
// float64 that is whole (a payload's 2.0), and from every path: the
// store's memory, its disk after a restart, a change. Other numbers, and
// whole ones beyond int64, come back as float64.
func testWholeNumbers(t *testing.T, s *suite) {
	var st Store
	var reopen func() Store
	if s.opts.Dataset != nil {
		reopen = s.opts.Dataset(t)
		st = reopen()
	} else {
		st = s.fresh(t)
	}
	ctx := t.Context()
	inc := sampleIncident("inc-1")
	inc.Data = map[string]any{
		"two": float64(2), "negThree": float64(-3), "zero": float64(0), "half": 0.5, "huge": 1e20,
		"list": []any{float64(4), 4.5}, "obj": map[string]any{"five": float64(5)},
	}
	inc.Comments = []store.Comment{sampleComment("c1", 1)}
	inc.Comments[0].Attachments = []map[string]any{{"size": float64(6), "ratio": 0.25}}
	inc.Activities[0].Detail = map[string]any{"seven": float64(7), "f": 7.5}
	insertIncident(t, st, inc)

	ch := nextChange(stateOf(inc), 2, map[string]any{"eight": float64(8)})
	added := sampleComment("c2", 2)
	added.Attachments = []map[string]any{{"nine": float64(9)}}
	ch.AddComments = []store.Comment{added}
	ch.Activity.Detail = map[string]any{"ten": float64(10)}
	must(t, st.WriteChange(ctx, ch), "WriteChange")

	wantData := map[string]any{
		"two": int64(2), "negThree": int64(-3), "zero": int64(0), "half": 0.5, "huge": 1e20,
		"list": []any{int64(4), 4.5}, "obj": map[string]any{"five": int64(5)}, "step": int64(2), "eight": int64(8),
	}
	check := func(st Store, when string) {
		t.Helper()
		got := findIncident(t, st, "inc-1", store.WithComments|store.WithActivities)
		equal(t, when+": data", got.Data, wantData)
		if len(got.Comments) == 2 {
			equal(t, when+": attachments of the add's comment", got.Comments[0].Attachments, []map[string]any{{"size": int64(6), "ratio": 0.25}})
			equal(t, when+": attachments of the change's comment", got.Comments[1].Attachments, []map[string]any{{"nine": int64(9)}})
		} else {
			t.Errorf("%s: %d comments, want 2", when, len(got.Comments))
		}
		if len(got.Activities) == 2 {
			equal(t, when+": detail of the add", got.Activities[0].Detail, map[string]any{"seven": int64(7), "f": 7.5})
			equal(t, when+": detail of the change", got.Activities[1].Detail, map[string]any{"ten": int64(10)})
		} else {
			t.Errorf("%s: %d history entries, want 2", when, len(got.Activities))
		}
		e, err := st.FindEffect(ctx, ds, ch.Activity.LicensePlate)
		must(t, err, "FindEffect")
		equal(t, when+": data of FindEffect", e.Incident.Data, wantData)
	}
	check(st, "through the handle that wrote")
	if reopen != nil {
		if !s.opts.Simultaneous {
			must(t, st.Close(ctx), "Close")
		}
		check(reopen(), "through another handle")
	}
}

// Writes that run at once succeed or fail each on its own: a refused one
// (a duplicate, a replace of a missing comment) takes none of the others
// with it, and leaves nothing of itself.
func testIndependentWrites(t *testing.T, s *suite) {
	st := s.fresh(t)
	ctx := t.Context()
	must(t, st.InsertClient(ctx, store.Client{APIKey: "taken", SecretHash: "h", CompanyID: "acme", UserID: "u", CreatedAt: base}), "InsertClient")
	const rounds = 8
	histories := make([]*history, 2*rounds)
	for i := range histories {
		id := fmt.Sprintf("inc-%d", i)
		insertIncident(t, st, sampleIncident(id))
		histories[i] = newHistory(sampleIncident(id))
	}
	good := func(r int) store.Change {
		ch := nextChange(histories[r].state, 2, nil)
		ch.AddComments = []store.Comment{sampleComment(fmt.Sprintf("good-%d", r), 1)}
		return ch
	}
	bad := func(r int) store.Change {
		ch := nextChange(histories[rounds+r].state, 2, nil)
		ch.AddComments = []store.Comment{sampleComment(fmt.Sprintf("bad-%d", r), 1)}
		ch.ReplaceComments = []store.Comment{sampleComment("missing", 1)}
		return ch
	}
	errs := make([]error, 5*rounds)
	race(len(errs), func(i int) {
		r := i / 5
		switch i % 5 {
		case 0:
			errs[i] = st.InsertClient(ctx, store.Client{APIKey: fmt.Sprintf("new-%d", r), SecretHash: "h", CompanyID: "acme", UserID: "u", CreatedAt: base})
		case 1:
			errs[i] = st.InsertClient(ctx, store.Client{APIKey: "taken", SecretHash: "other", CompanyID: "globex", UserID: "x"})
		case 2:
			errs[i] = st.WriteChange(ctx, good(r))
		case 3:
			errs[i] = st.WriteChange(ctx, bad(r))
		case 4:
			rec := claim(fmt.Sprintf("key-%d", r), fmt.Sprintf("plate-key-%d", r))
			_, errs[i] = st.ClaimIdempotencyKey(ctx, &rec)
		}
	})
	for i, err := range errs {
		r := i / 5
		switch i % 5 {
		case 0:
			must(t, err, fmt.Sprintf("InsertClient new-%d among refused writes", r))
			equal(t, fmt.Sprintf("client new-%d", r), findClient(t, st, fmt.Sprintf("new-%d", r)),
				store.Client{APIKey: fmt.Sprintf("new-%d", r), SecretHash: "h", CompanyID: "acme", UserID: "u", CreatedAt: base})
		case 1:
			wantErr(t, err, store.ErrDuplicate, "InsertClient of a taken key among other writes")
		case 2:
			must(t, err, fmt.Sprintf("WriteChange of inc-%d among refused writes", r))
			histories[r].apply(good(r))
		case 3:
			wantSomeErr(t, err, fmt.Sprintf("WriteChange replacing a missing comment of inc-%d", rounds+r))
			refused(t, st, bad(r), fmt.Sprintf("the change replacing a missing comment of inc-%d", rounds+r))
		case 4:
			must(t, err, fmt.Sprintf("ClaimIdempotencyKey key-%d among refused writes", r))
			rec := claim(fmt.Sprintf("key-%d", r), fmt.Sprintf("plate-key-%d", r))
			equal(t, fmt.Sprintf("record of key-%d", r), findKey(t, st, rec.Key), rec)
		}
	}
	for _, h := range histories {
		h.check(t, st, h.state.ID+" after the writes")
	}
	equal(t, "the taken client", findClient(t, st, "taken"), store.Client{APIKey: "taken", SecretHash: "h", CompanyID: "acme", UserID: "u", CreatedAt: base})
}

// Arrays directly inside arrays (a payload's matrix) are stored and come
// back as they were, in data, attachments and history details.
func testNestedArrays(t *testing.T, s *suite) {
	var st Store
	var reopen func() Store
	if s.opts.Dataset != nil {
		reopen = s.opts.Dataset(t)
		st = reopen()
	} else {
		st = s.fresh(t)
	}
	matrix := func() []any {
		return []any{[]any{int64(1), 2.5}, []any{}, []any{[]any{"deep", nil}, map[string]any{"in": []any{[]any{true}}}}}
	}
	inc := sampleIncident("inc-1")
	inc.Data["matrix"] = matrix()
	inc.Comments[0].Attachments = []map[string]any{{"pages": matrix()}}
	inc.Activities[0].Detail = map[string]any{"cells": matrix()}
	insertIncident(t, st, inc)
	h := newHistory(inc)
	ch := nextChange(h.state, 2, map[string]any{"grid": []any{matrix(), matrix()}})
	added := sampleComment("c-added", 3)
	added.Attachments = []map[string]any{{"rows": matrix()}}
	ch.AddComments = []store.Comment{added}
	ch.Activity.Detail = map[string]any{"before": matrix()}
	must(t, st.WriteChange(t.Context(), ch), "WriteChange")
	h.apply(ch)
	h.check(t, st, "through the handle that wrote")
	if reopen != nil {
		if !s.opts.Simultaneous {
			must(t, st.Close(t.Context()), "Close")
		}
		h.check(t, reopen(), "through another handle")
	}
}

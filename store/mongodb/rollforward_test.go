package mongodb

import (
	"errors"
	"testing"

	"github.com/scwm-gateway/scwm-gateway/internal/mongotest"
	"github.com/scwm-gateway/scwm-gateway/store"
)

// The steps a write of an incident can die after.
var crashSteps = []string{stepCommitted, stepComments, stepIncident}

// A gateway dies after each step of a change; another gateway completes
// the change when it meets it, in each of the ways it can meet it.
func TestRollForwardAfterACrash(t *testing.T) {
	t.Parallel()
	type trigger struct {
		name string
		// meet makes other meet the half-written change ch of incident
		// i1 (at version 1, ch writing 2).
		meet func(t *testing.T, other *Store, db mongotest.Database, ch store.Change)
	}
	triggers := []trigger{
		{"the next writer of the version", func(t *testing.T, other *Store, db mongotest.Database, ch store.Change) {
			again := change(newIncident("i1"), 2, "late")
			if err := other.WriteChange(bg(t), again); !errors.Is(err, store.ErrConflict) {
				t.Fatalf("second writer of version 2: %v, want ErrConflict", err)
			}
		}},
		{"a writer of the next version", func(t *testing.T, other *Store, db mongotest.Database, ch store.Change) {
			// Planned from version 2 as the crashed writer left it (the
			// plate told its client).
			if err := other.WriteChange(bg(t), change(ch.Incident, 3, "next")); err != nil {
				t.Fatalf("writer of version 3: %v", err)
			}
		}},
		{"FindEffect", func(t *testing.T, other *Store, db mongotest.Database, ch store.Change) {
			eff, err := other.FindEffect(bg(t), "default", ch.Activity.LicensePlate)
			if err != nil {
				t.Fatal(err)
			}
			if eff.Incident.DataVersion != 2 || eff.Activity.DataVersion != 2 {
				t.Fatalf("effect: incident at %d, entry %d", eff.Incident.DataVersion, eff.Activity.DataVersion)
			}
		}},
		{"a history read, long after", func(t *testing.T, other *Store, db mongotest.Database, ch store.Change) {
			ageCommits(t, other, "i1")
			if _, err := other.ListActivities(bg(t), "i1", 0, 10); err != nil {
				t.Fatal(err)
			}
		}},
		{"an incident read with history, long after", func(t *testing.T, other *Store, db mongotest.Database, ch store.Change) {
			ageCommits(t, other, "i1")
			if inc := mustFind(t, other, "i1"); inc.DataVersion != 2 {
				t.Fatalf("read at version %d, want 2", inc.DataVersion)
			}
		}},
		{"RollForward", func(t *testing.T, other *Store, db mongotest.Database, ch store.Change) {
			if n, err := other.RollForward(bg(t)); err != nil || n != 1 {
				t.Fatalf("RollForward: %d, %v; want 1 change", n, err)
			}
		}},
		{"the next start", func(t *testing.T, other *Store, db mongotest.Database, ch store.Change) {
			openStore(t, db)
		}},
	}
	for _, step := range crashSteps {
		for _, tr := range triggers {
			t.Run(step+"/"+tr.name, func(t *testing.T) {
				t.Parallel()
				db := testDB(t)
				crashing, other := openStore(t, db), openStore(t, db)
				inc := newIncident("i1")
				if err := crashing.InsertIncident(bg(t), inc); err != nil {
					t.Fatal(err)
				}
				crashAt(crashing, step)
				ch := change(inc, 2, "crashed")
				if err := crashing.WriteChange(bg(t), ch); !errors.Is(err, errCrash) {
					t.Fatalf("the crashing write: %v", err)
				}
				if pending(t, other, "i1") != 1 {
					t.Fatal("no pending change after the crash")
				}
				tr.meet(t, other, db, ch)
				want := int64(2)
				if tr.name == "a writer of the next version" {
					want = 3
				}
				inc2 := mustFind(t, other, "i1")
				if inc2.DataVersion != want {
					t.Fatalf("incident at version %d, want %d", inc2.DataVersion, want)
				}
				if want == 2 {
					checkAt(t, other, "i1", 2, &ch)
				}
				// A change that died after writing the incident is applied;
				// only its entry still says pending, which nothing reads
				// as unapplied. The next RollForward clears it.
				if n := pending(t, other, "i1"); n != 0 && step != stepIncident {
					t.Fatalf("%d changes still pending", n)
				}
				if _, err := other.RollForward(bg(t)); err != nil {
					t.Fatal(err)
				}
				if n := pending(t, other, "i1"); n != 0 {
					t.Fatalf("%d changes still pending after RollForward", n)
				}
			})
		}
	}
}

// A read that meets a change committed a moment ago, whose writer may
// still be at it, shows the incident before the change, consistently.
func TestReadsDuringAChangeShowTheVersionBefore(t *testing.T) {
	t.Parallel()
	db := testDB(t)
	writer, reader := openStore(t, db), openStore(t, db)
	inc := newIncident("i1")
	if err := writer.InsertIncident(bg(t), inc); err != nil {
		t.Fatal(err)
	}
	// Committed only: the comments are not written yet.
	crashAt(writer, stepCommitted)
	ch := change(inc, 2, "w")
	if err := writer.WriteChange(bg(t), ch); !errors.Is(err, errCrash) {
		t.Fatal(err)
	}
	checkAt(t, reader, "i1", 1, nil)
	if as, err := reader.ListActivities(bg(t), "i1", 0, 10); err != nil || len(as) != 1 {
		t.Fatalf("history during the change: %+v %v", as, err)
	}
	if cs, err := reader.ListComments(bg(t), "i1", 0, 10); err != nil || len(cs) != 1 || cs[0].CommentText != "first comment" {
		t.Fatalf("comments during the change: %+v %v", cs, err)
	}
	if pending(t, reader, "i1") != 1 {
		t.Fatal("a read completed a change its writer may still be writing")
	}

}

// A change dies with its comments written (one added, c1 replaced) but not
// the incident: a read of the comments leaves the added one out, and, as
// the replaced one cannot be shown as it was, completes the change, in
// each of the reads that list comments.
func TestReadsMeetingAReplacedCommentCompleteTheChange(t *testing.T) {
	t.Parallel()
	for name, read := range map[string]func(t *testing.T, s *Store, ch store.Change){
		"FindIncident": func(t *testing.T, s *Store, ch store.Change) {
			inc, err := s.FindIncident(bg(t), "default", "i1", store.WithComments)
			if err != nil || inc.DataVersion != 2 || len(inc.Comments) != 2 || inc.Comments[0].CommentText != ch.ReplaceComments[0].CommentText {
				t.Fatalf("FindIncident: %+v %v", inc, err)
			}
		},
		"ListComments": func(t *testing.T, s *Store, ch store.Change) {
			cs, err := s.ListComments(bg(t), "i1", 0, 10)
			if err != nil || len(cs) != 2 || cs[0].CommentText != ch.ReplaceComments[0].CommentText {
				t.Fatalf("ListComments: %+v %v", cs, err)
			}
		},
		"FindComment": func(t *testing.T, s *Store, ch store.Change) {
			if _, err := s.FindComment(bg(t), "i1", ch.AddComments[0].ID); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("FindComment of a comment of the pending change: %v, want ErrNotFound", err)
			}
			c, err := s.FindComment(bg(t), "i1", "c1")
			if err != nil || c.CommentText != ch.ReplaceComments[0].CommentText {
				t.Fatalf("FindComment of the replaced comment: %+v %v", c, err)
			}
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			db := testDB(t)
			writer, reader := openStore(t, db), openStore(t, db)
			inc := newIncident("i1")
			if err := writer.InsertIncident(bg(t), inc); err != nil {
				t.Fatal(err)
			}
			crashAt(writer, stepComments)
			ch := change(inc, 2, "w")
			if err := writer.WriteChange(bg(t), ch); !errors.Is(err, errCrash) {
				t.Fatal(err)
			}
			read(t, reader, ch)
			checkAt(t, reader, "i1", 2, &ch)
		})
	}
}

// An add dies after its commit: the incident is not there until another
// gateway meets it, and the id stays taken.
func TestInsertIncidentCrashes(t *testing.T) {
	t.Parallel()
	for _, step := range crashSteps {
		t.Run(step, func(t *testing.T) {
			t.Parallel()
			db := testDB(t)
			crashing, other := openStore(t, db), openStore(t, db)
			crashAt(crashing, step)
			inc := newIncident("i1")
			if err := crashing.InsertIncident(bg(t), inc); !errors.Is(err, errCrash) {
				t.Fatal(err)
			}
			_, err := other.FindIncident(bg(t), "default", "i1", 0)
			if step == stepIncident {
				if err != nil {
					t.Fatalf("the incident was written: %v", err)
				}
			} else if !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("an incident whose add is not applied: %v, want ErrNotFound", err)
			}
			if err := other.InsertIncident(bg(t), newIncident("i1")); !errors.Is(err, store.ErrDuplicate) {
				t.Fatalf("a second add of the id: %v, want ErrDuplicate", err)
			}
			checkAt(t, other, "i1", 1, nil)
			if got := mustFind(t, other, "i1"); got.Comments[0].CommentText != "first comment" {
				t.Fatalf("comments: %+v", got.Comments)
			}
			if _, err := other.RollForward(bg(t)); err != nil {
				t.Fatal(err)
			}
			if pending(t, other, "i1") != 0 {
				t.Fatal("still pending")
			}
		})
	}
}

// A change applied twice (its writer and a gateway that met it), or late
// (after a newer change), leaves the newer state.
func TestApplyingAChangeAgainChangesNothing(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	inc := newIncident("i1")
	if err := s.InsertIncident(bg(t), inc); err != nil {
		t.Fatal(err)
	}
	ch2 := change(inc, 2, "a")
	if err := s.WriteChange(bg(t), ch2); err != nil {
		t.Fatal(err)
	}
	var a2 activityDoc
	// The entry as it was committed, payload and all.
	p := &pendingChange{Incident: incidentDoc{Key: "i1", Incident: *ch2.Incident}}
	if err := s.planComments(bg(t), p, ch2, "test"); !errors.Is(err, store.ErrDuplicate) {
		t.Fatalf("planning version 2 again: %v", err)
	}
	p.Comments = nil
	for i, c := range ch2.AddComments {
		c.Position = store.CommentPosition(2, i)
		p.Comments = append(p.Comments, commentDoc{Key: commentKey("i1", c.ID), IncidentID: "i1", WrittenBy: 2, Comment: c})
	}
	for _, c := range ch2.ReplaceComments {
		c.Position = store.CommentPosition(1, 0)
		p.Comments = append(p.Comments, commentDoc{Key: commentKey("i1", c.ID), IncidentID: "i1", WrittenBy: 2, Comment: c})
	}
	a2 = activityDoc{Key: activityKey("i1", 2), IncidentID: "i1", Activity: ch2.Activity, Pending: p}
	a2.DataVersion = 2
	if err := s.apply(bg(t), &a2); err != nil {
		t.Fatalf("applying version 2 again: %v", err)
	}
	checkAt(t, s, "i1", 2, &ch2)

	ch3 := change(ch2.Incident, 3, "b")
	if err := s.WriteChange(bg(t), ch3); err != nil {
		t.Fatal(err)
	}
	if err := s.apply(bg(t), &a2); err != nil {
		t.Fatalf("applying version 2 after version 3: %v", err)
	}
	checkAt(t, s, "i1", 3, &ch3)
}

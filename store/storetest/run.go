package storetest

import (
	"sort"
	"testing"
)

// Options adapts Run to what a store's test can offer.
type Options struct {
	// Dataset, if set, makes a fresh, empty dataset for one case and
	// returns a function that opens a handle on it; each call opens
	// another handle on the same data (the test closes them in
	// t.Cleanup; a case may close one itself first). The cases that need
	// a second handle on the same data are skipped without it.
	Dataset func(t *testing.T) (open func() Store)
	// Simultaneous says that two handles of a Dataset may be open at
	// once (several gateways on one database). Without it a case closes
	// one handle before it opens the next, as a restart does.
	Simultaneous bool
	// Skip names cases (see Cases) the store cannot show, each with the
	// reason, such as a limit of the test server it runs against. A name
	// that is no case fails the run, so that a renamed case is not
	// skipped silently.
	Skip map[string]string
}

// Run runs the contract against the store open makes. open makes a
// fresh, empty store for each case and closes it in t.Cleanup; since a
// case may close its store itself (to see how a closed store answers),
// closing it again must not panic. Every case runs in parallel with the
// others.
func Run(t *testing.T, open func(t *testing.T) Store) {
	RunWith(t, open, Options{})
}

// RunWith is Run with options.
func RunWith(t *testing.T, open func(t *testing.T) Store, opts Options) {
	known := map[string]bool{}
	for _, c := range cases {
		known[c.name] = true
	}
	for name := range opts.Skip {
		if !known[name] {
			t.Errorf("storetest: Options.Skip names %q, which is no case (see storetest.Cases)", name)
		}
	}
	s := &suite{open: open, opts: opts}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if reason, ok := opts.Skip[c.name]; ok {
				t.Skip(reason)
			}
			c.run(t, s)
		})
	}
}

// Cases lists the names of the contract's cases, for Options.Skip.
func Cases() []string {
	names := make([]string, len(cases))
	for i, c := range cases {
		names[i] = c.name
	}
	sort.Strings(names)
	return names
}

// suite is what the cases share: how to open stores.
type suite struct {
	open func(t *testing.T) Store
	opts Options
}

// fresh opens a fresh, empty store for the case.
func (s *suite) fresh(t *testing.T) Store {
	t.Helper()
	return s.open(t)
}

// dataset returns the opener of a fresh dataset, or skips the case if
// the store's test offers none.
func (s *suite) dataset(t *testing.T) func() Store {
	t.Helper()
	if s.opts.Dataset == nil {
		t.Skip("the store's test opens no second handle on one dataset (Options.Dataset)")
	}
	return s.opts.Dataset(t)
}

type testCase struct {
	name string
	run  func(t *testing.T, s *suite)
}

// cases is the contract, grouped as the store's methods are.
var cases = []testCase{
	{"Health", testHealth},

	{"Companies", testCompanies},
	{"Networks", testNetworks},
	{"InsertClient", testInsertClient},
	{"PutClient", testPutClient},
	{"RevokeClientCascade", testRevokeClientCascade},
	{"ClientsRevision", testClientsRevision},

	{"Sequence", testSequence},
	{"SequenceConcurrent", testSequenceConcurrent},

	{"InsertFindIncident", testInsertFindIncident},
	{"InsertIncidentNeedsOneActivity", testInsertIncidentNeedsOneActivity},
	{"IncidentDataspace", testIncidentDataspace},
	{"InsertIncidentDuplicate", testInsertIncidentDuplicate},
	{"WriteChangeVersions", testWriteChangeVersions},
	{"WriteChangeRefused", testWriteChangeRefused},
	{"WriteChangeConcurrent", testWriteChangeConcurrent},
	{"ReplaceComments", testReplaceComments},
	{"ListComments", testListComments},
	{"ListActivities", testListActivities},
	{"FindComment", testFindComment},
	{"FindEffect", testFindEffect},
	{"WholeNumbers", testWholeNumbers},
	{"NestedArrays", testNestedArrays},
	{"IndependentWrites", testIndependentWrites},
	{"FindChildren", testFindChildren},
	{"FindChildrenBound", testFindChildrenBound},
	{"FindCommentByID", testFindCommentByID},
	{"Search", testSearch},
	{"SearchPages", testSearchPages},
	{"SearchText", testSearchText},
	{"Feed", testFeed},
	{"FeedAcrossHandles", testFeedAcrossHandles},
	{"FeedConcurrentWriters", testFeedConcurrentWriters},
	{"Webhooks", testWebhooks},
	{"WebhookLease", testWebhookLease},
	{"WebhookDeliveries", testWebhookDeliveries},
	{"WebhookAttemptLog", testWebhookAttemptLog},
	{"CompanyMasterData", testCompanyMasterData},
	{"CatalogueExport", testCatalogueExport},

	{"ClaimIdempotencyKey", testClaimIdempotencyKey},
	{"FinishIdempotencyKey", testFinishIdempotencyKey},
	{"ReleaseIdempotencyLease", testReleaseIdempotencyLease},
	{"TakeOverIdempotencyKey", testTakeOverIdempotencyKey},
	{"TakeOverConcurrent", testTakeOverConcurrent},
	{"ExpireIdempotencyKeys", testExpireIdempotencyKeys},
	{"TimePrecision", testTimePrecision},

	{"Users", testUsers},
	{"UserIDs", testUserIDs},
	{"OAuthClients", testOAuthClients},
	{"Tokens", testTokens},
	{"RevokeTokenConcurrent", testRevokeTokenConcurrent},
	{"ExpireTokens", testExpireTokens},

	{"ApplySeed", testApplySeed},
	{"ExportImport", testExportImport},

	{"ClosedStore", testClosedStore},
	{"ExpiredContext", testExpiredContext},

	{"SecondHandleSequence", testSecondHandleSequence},
	{"SecondHandleSeesData", testSecondHandleSeesData},
	{"SecondHandleRaces", testSecondHandleRaces},
}

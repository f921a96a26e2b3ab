package main

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"time"

	"github.com/google/uuid"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/mongo/writeconcern"

	"github.com/scwm-gateway/scwm-gateway/internal/redact"
)

// runBaseline runs the baseline: one InsertOne per request, against the
// embedded store it starts with storeBin (the gateway binary's
// embedded-store command) or against --baseline-uri. With neither it is
// skipped. It returns the figures, or why it was skipped, or the error that
// kept the store from starting.
func runBaseline(ctx context.Context, cfg *config, tmp, storeBin string, env []string, progress func(string, ...any)) (*phaseReport, string, error) {
	uri, pid := cfg.baselineURI, 0
	desc := "one InsertOne per request"
	if uri == "" && storeBin == "" {
		progress("baseline skipped: no --baseline-uri given with --url")
		return nil, "no --baseline-uri given with --url", nil
	}
	if uri == "" {
		var st *child
		for try := 0; ; try++ { // a free port may be taken between the probe and the start
			addr, err := freeAddr()
			if err != nil {
				return nil, "", err
			}
			progress("starting the baseline store: %s embedded-store --addr %s", storeBin, addr)
			st, err = startChild(ctx, "baseline store", storeBin, env, "embedded store listening",
				"embedded-store", "--addr", addr, "--data-dir", filepath.Join(tmp, "baseline"))
			if err == nil {
				break
			}
			if try == 2 || ctx.Err() != nil {
				return nil, "", fmt.Errorf("the baseline store could not start: %w", err)
			}
		}
		defer func() {
			if err := st.stop(); err != nil {
				progress("the baseline store did not stop cleanly: %v", err)
			}
		}()
		uri, pid = "mongodb://"+st.addr+"/", st.cmd.Process.Pid
		desc += " (embedded-store: FerretDB on SQLite, synchronous=full, as the gateway's embedded store)"
	} else {
		desc += " (" + redact.URI(uri) + ", write concern majority, as the gateway on MongoDB)"
	}

	opts := options.Client().ApplyURI(uri).SetAppName("scwm-bench").
		SetMaxPoolSize(uint64(cfg.clients + 8)).SetTimeout(30 * time.Second).SetServerSelectionTimeout(10 * time.Second)
	if cfg.baselineURI != "" {
		opts.SetWriteConcern(writeconcern.Majority())
	}
	client, err := mongo.Connect(opts)
	if err != nil {
		return nil, "", fmt.Errorf("baseline: connect: %w", err)
	}
	defer client.Disconnect(context.Background())
	coll := client.Database("scwm_bench").Collection("baseline_" + strconv.FormatInt(time.Now().UnixNano(), 36))
	defer coll.Drop(context.Background())
	if err := client.Ping(ctx, nil); err != nil {
		return nil, "", fmt.Errorf("baseline: the store does not answer: %w", err)
	}
	progress("baseline, %s: warmup %v, measuring %v, %d clients", desc, cfg.warmup, cfg.duration, cfg.clients)
	docs := make([]*baselineDocs, cfg.clients)
	for i := range docs {
		docs[i] = newBaselineDocs(i)
	}
	recs, window, cpu := runLoad(ctx, cfg.clients, cfg.warmup, cfg.duration, pid, func(ctx context.Context, i int) outcome {
		doc := docs[i].next()
		o := outcome{kind: "insert"}
		if _, err := coll.InsertOne(ctx, doc); err != nil {
			o.errKey, o.body = "insert: "+errClass(err), err.Error()
			return o
		}
		o.ok = true
		return o
	})
	ph := phaseOf("baseline", recs, window, cpu, nil)
	ph.Description = desc
	one := 1.0
	ph.Ratio = &one
	progress("baseline: %.1f inserts/s, %d errors", ph.Throughput, ph.Errors)
	return ph, "", nil
}

// baselineDoc is what the baseline inserts: a document the size and shape of
// an incident, metadata and data with the add payload's fields and those the
// gateway maintains. It is the bench's own fixed shape, not the gateway's
// stored form (which the gateway is free to change), so that the baseline
// stays the same from one version of the gateway to the next.
type baselineDoc struct {
	ID               string         `bson:"incidentId"`
	Dataspace        string         `bson:"dataspace"`
	OwnerID          string         `bson:"ownerId"`
	NetworkID        string         `bson:"networkId"`
	ProcessType      string         `bson:"processType"`
	SchemaVersion    int            `bson:"schemaVersion"`
	DataVersion      int64          `bson:"dataVersion"`
	CreatedByUserID  string         `bson:"createdByUserId"`
	LastUpdatedBy    string         `bson:"lastUpdatedByUserId"`
	CreatedAt        int64          `bson:"creationDateTime"`
	LastUpdatedAt    int64          `bson:"lastUpdatedDateTime"`
	CurrentBaseState string         `bson:"currentBaseState"`
	Number           int64          `bson:"number"`
	PartnerID        string         `bson:"partnerId"`
	Data             map[string]any `bson:"data"`
}

// baselineDocs makes one worker's baseline documents.
type baselineDocs struct {
	worker int
	seq    int64
	data   map[string]any
}

func newBaselineDocs(worker int) *baselineDocs {
	d := &baselineDocs{worker: worker, data: addPayload(worker)}
	d.data["aptBusinessObjectSummary"] = ""
	return d
}

func (d *baselineDocs) next() *baselineDoc {
	d.seq++
	n := int64(d.worker)<<32 | d.seq
	now := time.Now().UnixMilli()
	id, err := uuid.NewV7()
	if err != nil {
		id = uuid.New()
	}
	d.data["aptBusinessObjectSummary"] = fmt.Sprintf("Bench incident %d-%d: no EPCIS data for 1 package", d.worker, d.seq)
	d.data["aptBusinessObjectId"] = "INC-" + strconv.FormatInt(n, 10)
	d.data["aptBusinessObjectIntegerIdentifier"] = n
	d.data["fkProcessNetworkId"] = seedNetwork
	d.data["isSubmittedToPartner"] = false
	d.data["dateSubmitted"] = nil
	d.data["incidentConclusion"] = nil
	d.data["followerId"] = []any{}
	user := userID(d.worker)
	return &baselineDoc{
		ID: id.String(), Dataspace: "default", OwnerID: seedOwner, NetworkID: seedNetwork,
		ProcessType: "incident", SchemaVersion: 5, DataVersion: 1,
		CreatedByUserID: user, LastUpdatedBy: user, CreatedAt: now, LastUpdatedAt: now,
		CurrentBaseState: "New", Number: n, Data: d.data,
	}
}

// freeAddr is a loopback address with a port free at the time of the call.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// The events the gateway workload sends.
const (
	addEvent  = "agile-process-teams:add-incident:v5"
	editEvent = "agile-process-teams:edit-incident:v5"
	readEvent = "agile-process-teams:read-incident:v4"
)

const (
	// ownRing is how many of its own incidents a client remembers for its
	// edits and reads; ownMin how many it creates before a phase that edits
	// or reads starts its warmup.
	ownRing = 16
	ownMin  = 4
)

// worker is one client of the gateway: its own API key, its own incidents,
// its own connection.
type worker struct {
	id      int
	conn    *rawConn
	auth    string
	rng     *mrand.Rand
	seq     int
	ids     []string // a ring of incidents this worker created
	next    int
	buf     bytes.Buffer
	body    []byte
	headers map[string][]byte // the request header JSON per kind
	lines   []string          // the request's header lines, reused
	addRest []byte            // the add payload after its summary
}

// access is how the workers reach one gateway: its events URL, the
// header's owner and network, and the API keys spread over the workers.
type access struct {
	url, owner, network string
	keys, secrets       []string
}

func newWorker(i int, acc access) *worker {
	key, secret := acc.keys[i%len(acc.keys)], acc.secrets[i%len(acc.secrets)]
	w := &worker{id: i, conn: newRawConn(acc.url, requestTimeout),
		auth: basicAuthorization(key, secret),
		rng:  mrand.New(mrand.NewPCG(uint64(time.Now().UnixNano()), uint64(i))), headers: map[string][]byte{}}
	for kind, event := range map[string]string{"add": addEvent, "edit": editEvent, "read": readEvent} {
		w.headers[kind], _ = json.Marshal(map[string]any{"headerVersion": 1, "eventName": event, "ownerId": acc.owner,
			"processNetworkId": acc.network, "appName": "agile-process-teams", "dataspace": "default"})
	}
	rest, _ := json.Marshal(addPayload(i))
	w.addRest = rest[1:] // without its "{": the summary goes first
	return w
}

// addPayload is an add-incident:v5 payload the size of the published
// sample, without aptBusinessObjectSummary.
func addPayload(worker int) map[string]any {
	return map[string]any{
		"aptBusinessObjectDescription": "Shipment quarantined due to T1 reflecting incomplete data|SO 3027209239|PO 5201019344|" +
			"Transaminase enzyme, CDX-017 (ACS-4007466). EPCIS shows 48 pallets and receiving called out 50 received",
		"businessPriority": "HIGH",
		"incidentCategory": "Aggregate Shipment Error",
		"referenceIdentifiers": []any{
			map[string]any{"referenceTransactionType": "PO Number", "value": fmt.Sprintf("PO-%04d-123", worker)},
			map[string]any{"referenceTransactionType": "PO Number", "value": fmt.Sprintf("PO-%04d-345", worker)},
		},
		"impactedProducts":              []any{map[string]any{"productDetailId": "ea92a360-55ac-15eb-bb95-8bd76e7bd001", "impactedLots": "4"}},
		"responsibleEntity":             map[string]any{"partnerId": seedPartner, "toIdType": "companyLocationMasterData"},
		"resolutionDueDate":             int64(1681640075000),
		"responsiblePartyAtCompany":     userID(worker),
		"currentlyAssignedCompanyUsers": []any{"d5b2b867-fdeb-4b1c-a0d4-8aabf853c169", "a4bc6e7f-6436-4499-b453-270cdd052271"},
		"responsiblePartyAtPartner":     "13fb0cc6-771c-447a-a1bb-02513a235b24",
		"currentlyAssignedPartnerUsers": []any{"13fb0cc6-771c-447a-a1bb-02513a235b24", "ee532337-89d2-4f5f-b024-bfa070139b73"},
	}
}

// basicAuthorization is the Authorization header of an API key.
func basicAuthorization(apiKey, apiSecret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(apiKey+":"+apiSecret))
}

// userID is the user of worker's API key in the seed.
func userID(worker int) string { return fmt.Sprintf("bench-user-%04d", worker) }

var priorities = []string{"HIGH", "MEDIUM", "LOW"}

// step sends one request of the kind the mix picks; an add of a keyed mix
// carries a fresh Idempotency-Key. A kind that needs an incident of the
// worker's own, when it has none, is an error.
func (w *worker) step(ctx context.Context, m mix) outcome {
	kind := m.pick(w.rng)
	w.seq++
	key := ""
	if kind == "add" && m.keyed {
		key = fmt.Sprintf("bench-%d-%016x%016x", w.id, w.rng.Uint64(), w.rng.Uint64())
	}
	b := append(w.body[:0], `{"header":`...)
	b = append(b, w.headers[kind]...)
	switch kind {
	case "add":
		b = append(b, `,"payload":{"aptBusinessObjectSummary":"Bench incident `...)
		b = strconv.AppendInt(b, int64(w.id), 10)
		b = append(b, '-')
		b = strconv.AppendInt(b, int64(w.seq), 10)
		b = append(b, `: no EPCIS data for 1 package",`...)
		b = append(b, w.addRest[:len(w.addRest)-1]...) // without the payload's "}"
	default:
		if len(w.ids) == 0 {
			// Its adds failed; wait a little rather than spin on this.
			sleepUntil(ctx, time.Now().Add(10*time.Millisecond))
			return outcome{kind: kind, errKey: kind + ": no incident of its own to " + kind + " (its adds failed)"}
		}
		id, _ := json.Marshal(w.ids[w.rng.IntN(len(w.ids))])
		b = append(b, `,"payload":{"id":`...)
		b = append(b, id...)
		if kind == "edit" {
			b = append(b, `,"businessPriority":"`...)
			b = append(b, priorities[w.seq%len(priorities)]...)
			b = append(b, `","aptBusinessObjectDescription":"Receiving counted 50 pallets, EPCIS shows 48 (edit `...)
			b = strconv.AppendInt(b, int64(w.seq), 10)
			b = append(b, `)"`...)
		}
	}
	b = append(b, "}}"...)
	w.body = b
	o := w.post(ctx, kind, key, b)
	if o.ok && kind == "add" {
		w.remember(o.body)
	}
	return o
}

// close closes the worker's connection.
func (w *worker) close() { w.conn.close() }

func (w *worker) remember(id string) {
	if len(w.ids) < ownRing {
		w.ids = append(w.ids, id)
		return
	}
	w.ids[w.next] = id
	w.next = (w.next + 1) % ownRing
}

// post sends body, with an Idempotency-Key when key is set; an OK outcome
// of an add carries the new id in body.
func (w *worker) post(ctx context.Context, kind, key string, body []byte) outcome {
	o := outcome{kind: kind}
	w.lines = append(w.lines[:0], "Authorization: "+w.auth)
	if key != "" {
		w.lines = append(w.lines, "Idempotency-Key: "+key)
	}
	resp, err := w.conn.post(ctx, w.lines, body, &w.buf)
	if err != nil {
		o.errKey, o.body = kind+": transport: "+errClass(err), err.Error()
		return o
	}
	env, isEnvelope := readAnswer(w.buf.Bytes())
	o.warnings = env.warnings
	switch {
	case !isEnvelope:
		o.errKey = fmt.Sprintf("%s: HTTP %d, not an envelope", kind, resp.status)
	case resp.status != http.StatusOK || env.errCode != "200_OK":
		o.errKey = fmt.Sprintf("%s: HTTP %d errCode %q %s", kind, resp.status, env.errCode, env.exception)
	case kind == "add" && env.id == "":
		o.errKey = kind + ": 200_OK without payload.id"
	default:
		o.ok = true
		if kind == "add" {
			o.body = env.id
		}
		return o
	}
	o.body = truncate(w.buf.String(), 600)
	return o
}

// errClass names a transport error without the addresses and ports that
// make every message distinct.
func errClass(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.Is(err, syscall.EPIPE):
		return "broken pipe"
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed (EOF)"
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		return "no local port available"
	}
	return truncate(err.Error(), 120)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// prefill has every worker create a few incidents of its own when mix m
// edits or reads (part of the warmup, not measured); the recorders it
// returns hold the warmup errors of that, and no latencies.
func prefill(ctx context.Context, workers []*worker, m mix) []*recorder {
	recs := make([]*recorder, len(workers))
	var wg sync.WaitGroup
	for i, w := range workers {
		recs[i] = newRecorder()
		if m.edit+m.read == 0 {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for try := 0; len(w.ids) < ownMin && try < 3*ownMin && ctx.Err() == nil; try++ {
				if o := w.step(ctx, mix{add: 1}); !o.ok {
					recs[i].warmupErrors++
					recs[i].sample(o)
				}
			}
		}()
	}
	wg.Wait()
	return recs
}

package main

import (
	"bufio"
	"crypto/sha256"
	"encoding/base64"
	be "encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/google/uuid"
)

// The bench fills a store fast by writing a dataset in the gateway's export
// format (store.ExportNDJSON: a header line, then one record a line, kinds
// in their export order) for `scwm-gateway import`. The records mirror the
// JSON of the store's records (store/records.go, store/export.go); the bench
// links no gateway package, so they are written here.

// streamFormat and streamVersion are the export stream's header.
const (
	streamFormat  = "scwm-gateway-export"
	streamVersion = 1
)

// ndjsonWriter writes one export stream.
type ndjsonWriter struct {
	bw  *bufio.Writer
	enc *json.Encoder
	n   int64
}

func newNDJSONWriter(w io.Writer) (*ndjsonWriter, error) {
	bw := bufio.NewWriterSize(w, 1<<16)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(map[string]any{"format": streamFormat, "version": streamVersion}); err != nil {
		return nil, err
	}
	return &ndjsonWriter{bw: bw, enc: enc}, nil
}

// record writes one record of kind (of incident incidentID, for comments
// and history entries).
func (w *ndjsonWriter) record(kind, incidentID string, v any) error {
	w.n++
	return w.enc.Encode(struct {
		Kind       string `json:"kind"`
		IncidentID string `json:"incidentId,omitempty"`
		Value      any    `json:"value"`
	}{kind, incidentID, v})
}

func (w *ndjsonWriter) flush() error { return w.bw.Flush() }

// The records of the stream, as the store's JSON spells them.
type (
	exportCompany struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	}
	exportNetwork struct {
		ID       string   `json:"id"`
		Members  []string `json:"members"`
		Position int      `json:"position"`
	}
	exportSequence struct {
		Key   string `json:"key"`
		Value int64  `json:"value"`
	}
	exportIncident struct {
		ID               string         `json:"incidentId"`
		Dataspace        string         `json:"dataspace"`
		OwnerID          string         `json:"ownerId"`
		NetworkID        string         `json:"networkId"`
		ProcessType      string         `json:"processType"`
		SchemaVersion    int            `json:"schemaVersion"`
		DataVersion      int64          `json:"dataVersion"`
		CreatedByUserID  string         `json:"createdByUserId"`
		LastUpdatedBy    string         `json:"lastUpdatedByUserId"`
		CreatedAt        int64          `json:"creationDateTime"`
		LastUpdatedAt    int64          `json:"lastUpdatedDateTime"`
		CurrentBaseState string         `json:"currentBaseState"`
		Number           int64          `json:"number"`
		PartnerID        string         `json:"partnerId"`
		Data             map[string]any `json:"data,omitempty"`
	}
	exportActivity struct {
		LicensePlate string   `json:"licensePlate"`
		EventName    string   `json:"eventName"`
		UserID       string   `json:"userId"`
		CompanyID    string   `json:"companyId"`
		DateTime     int64    `json:"dateTime"`
		DataVersion  int64    `json:"dataVersion"`
		Fields       []string `json:"fields,omitempty"`
		StateTo      string   `json:"stateTo,omitempty"`
	}
	exportToken struct {
		Hash      string    `json:"hash"`
		Kind      string    `json:"kind"`
		ClientID  string    `json:"clientId"`
		Username  string    `json:"username"`
		CompanyID string    `json:"companyId"`
		Scope     string    `json:"scope"`
		IssuedAt  time.Time `json:"issuedAt"`
		ExpiresAt time.Time `json:"expiresAt"`
		Revoked   bool      `json:"revoked"`
	}
	exportIdempotency struct {
		Key          string    `json:"key"`
		RequestHash  string    `json:"requestHash"`
		LicensePlate string    `json:"licensePlate"`
		Dataspace    string    `json:"dataspace"`
		State        string    `json:"state"`
		Status       int       `json:"status"`
		Body         []byte    `json:"body"`
		LeaseUntil   time.Time `json:"leaseUntil"`
		CreatedAt    time.Time `json:"createdAt"`
		ExpiresAt    time.Time `json:"expiresAt"`
	}
)

// writeDirectory writes the companies and the network the seed declares,
// exactly as the seed does, so that applying the seed after the import
// writes nothing new.
func writeDirectory(w *ndjsonWriter) error {
	for _, c := range []exportCompany{{seedOwner, seedOwnerName}, {seedPartner, seedPartnerName}} {
		if err := w.record("company", "", c); err != nil {
			return err
		}
	}
	return w.record("network", "", exportNetwork{ID: seedNetwork, Members: []string{seedOwner, seedPartner}, Position: 0})
}

// sequenceKey is the key of bench-co's incident counter in the default
// dataspace (store.SequenceKey).
func sequenceKey() string {
	raw, _ := json.Marshal([]string{"incident", "default", seedOwner})
	return string(raw)
}

// splitmix is a fixed mixing of i, for the ids and plates of generated
// records: the same i always gives the same record.
func splitmix(i uint64) uint64 {
	z := i + 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// genID is the id of generated incident i: a UUIDv7 (as the gateway makes)
// whose time is base plus i/16 milliseconds, so that ids sort as they were
// made, with bits from i that make each one distinct.
func genID(base time.Time, i int) string {
	var u uuid.UUID
	ms := uint64(base.UnixMilli()) + uint64(i/16)
	be.BigEndian.PutUint64(u[0:8], ms<<16)
	r := splitmix(uint64(i))
	be.BigEndian.PutUint64(u[8:16], r)
	u[6] = 0x70 | byte(i>>8)&0x0f // version 7, then 12 bits of i
	u[7] = byte(i)
	u[8] = 0x80 | u[8]&0x3f // RFC 9562 variant
	return u.String()
}

// plateEncoding is the license plates' alphabet (envelope.NewLicensePlate).
var plateEncoding = base64.NewEncoding("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz~").WithPadding(base64.NoPadding)

// genPlate is a license plate of generated record i of a stream: 48 bits
// of millisecond time, then 48 bits of i and salt, so distinct for each
// (i, salt) below 2^40.
func genPlate(base time.Time, i int, salt uint8) string {
	var b [12]byte
	be.BigEndian.PutUint64(b[:8], uint64(base.UnixMilli())<<16)
	v := uint64(salt)<<40 | uint64(i)&(1<<40-1)
	b[6], b[7], b[8], b[9], b[10], b[11] = byte(v>>40), byte(v>>32), byte(v>>24), byte(v>>16), byte(v>>8), byte(v)
	return plateEncoding.EncodeToString(b[:])
}

// genIncidents writes n incidents of bench-co, each as the gateway's add
// would leave it (data of the bench's add payload, INC-1..INC-n, state
// New, version 1), then their history entries, and the counter at n.
// Their ids are genID(base, i).
func genIncidents(w *ndjsonWriter, n, clients int, base time.Time) error {
	if err := writeDirectory(w); err != nil {
		return err
	}
	if err := w.record("sequence", "", exportSequence{Key: sequenceKey(), Value: int64(n)}); err != nil {
		return err
	}
	payloads := make([]map[string]any, clients)
	fields := make([][]string, clients)
	for c := range clients {
		payloads[c] = addPayload(c)
		payloads[c]["aptBusinessObjectSummary"] = ""
		fields[c] = slices.Sorted(maps.Keys(payloads[c]))
	}
	for i := range n {
		c := i % clients
		at := base.UnixMilli() + int64(i/16)
		data := maps.Clone(payloads[c])
		num := int64(i + 1)
		data["aptBusinessObjectSummary"] = "Bench incident " + strconv.Itoa(c) + "-" + strconv.Itoa(i) + ": no EPCIS data for 1 package"
		data["aptBusinessObjectId"] = "INC-" + strconv.FormatInt(num, 10)
		data["aptBusinessObjectIntegerIdentifier"] = num
		data["fkProcessNetworkId"] = seedNetwork
		data["isSubmittedToPartner"] = false
		data["dateSubmitted"] = nil
		data["incidentConclusion"] = nil
		data["followerId"] = []any{}
		user := userID(c)
		err := w.record("incident", "", exportIncident{
			ID: genID(base, i), Dataspace: "default", OwnerID: seedOwner, NetworkID: seedNetwork,
			ProcessType: "incident", SchemaVersion: 5, DataVersion: 1, CreatedByUserID: user, LastUpdatedBy: user,
			CreatedAt: at, LastUpdatedAt: at, CurrentBaseState: "New", Number: num, Data: data,
		})
		if err != nil {
			return err
		}
	}
	for i := range n {
		c := i % clients
		err := w.record("activity", genID(base, i), exportActivity{
			LicensePlate: genPlate(base, i, 1), EventName: addEvent, UserID: userID(c), CompanyID: seedOwner,
			DateTime: base.UnixMilli() + int64(i/16), DataVersion: 1, Fields: fields[c], StateTo: "New",
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// idempotencyKeyID is the stored key of an Idempotency-Key of bench-co's
// first API client (store.IdempotencyKeyID).
func idempotencyKeyID(key string) string {
	raw, _ := json.Marshal([]string{seedOwner, apiKeyOf(0), userID(0), key})
	return string(raw)
}

// hashHex is the SHA-256 of s in hex, prefixed as the gateway's secret
// hashes are.
func hashHex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// genExpiring writes tokens OAuth tokens of the seed's REST user and keys
// answered idempotency keys of bench-co's first API client, all expiring
// at expires.
func genExpiring(w *ndjsonWriter, keys, tokens int, now, expires time.Time) error {
	if err := writeDirectory(w); err != nil {
		return err
	}
	for i := range tokens {
		kind := "access"
		if i%2 == 1 {
			kind = "refresh"
		}
		err := w.record("token", "", exportToken{
			Hash: hashHex(fmt.Sprintf("bench-token-%d", i)), Kind: kind, ClientID: seedOAuthClient, Username: seedUsername,
			CompanyID: seedOwner, Scope: "incident", IssuedAt: now.Add(-time.Minute), ExpiresAt: expires,
		})
		if err != nil {
			return err
		}
	}
	body := []byte(`{"header":{"errCode":"200_OK"},"payload":{"id":"00000000-0000-7000-8000-000000000000"}}`)
	for i := range keys {
		err := w.record("idempotency", "", exportIdempotency{
			Key: idempotencyKeyID(fmt.Sprintf("bench-expiring-%d", i)), RequestHash: hashHex(strconv.Itoa(i)),
			LicensePlate: genPlate(now, i, 2), Dataspace: "default", State: "done", Status: 200, Body: body,
			LeaseUntil: now.Add(-time.Minute), CreatedAt: now.Add(-time.Minute), ExpiresAt: expires,
		})
		if err != nil {
			return err
		}
	}
	return nil
}

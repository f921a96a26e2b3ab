package store

import (
	"encoding/json"
	"reflect"
	"strings"
	"time"
	"unsafe"
)

// Company is a tenant: every incident, client and sequence belongs to one.
type Company struct {
	ID   string `bson:"_id" json:"id"`
	Name string `bson:"name" json:"name"`
	// MasterData is what the seed declares of the company for the
	// master-data queries; nil when it declares none.
	MasterData *CompanyMasterData `bson:"masterData,omitempty" json:"masterData,omitempty"`
}

// Network is a process network: the companies that work on processes
// together.
type Network struct {
	ID      string   `bson:"_id" json:"id"`
	Members []string `bson:"members" json:"members"`
	// Position orders networks as the seed lists them: a company's default
	// network is the first one that lists it.
	Position int `bson:"position" json:"position"`
}

// Client is an API client: an apiKey and the hash of its apiSecret, acting
// for one company as one user.
type Client struct {
	APIKey     string `bson:"_id" json:"apiKey"`
	SecretHash string `bson:"secretHash" json:"secretHash"`
	CompanyID  string `bson:"companyId" json:"companyId"`
	UserID     string `bson:"userId" json:"userId"`
	CreatedAt  int64  `bson:"createdAt" json:"createdAt"`
	// RevokedAt is the epoch millisecond of revocation; 0 while active.
	RevokedAt int64 `bson:"revokedAt" json:"revokedAt"`
	// LicensePlate is the plate of the request that created the client, if
	// an event did.
	LicensePlate string `bson:"licensePlate,omitempty" json:"licensePlate,omitempty"`
	// MintedBy is the apiKey of the client that minted this one, if an
	// event did: revoking that client revokes this one too.
	MintedBy string `bson:"mintedBy,omitempty" json:"mintedBy,omitempty"`
}

// Active reports whether the client may still authenticate.
func (c *Client) Active() bool { return c.RevokedAt == 0 }

// Incident is a process object as its latest change left it (an incident,
// or any other kind of the catalogue: a change request, a task, a sub-task,
// a template): its metadata, its data (every accepted payload field with
// the fields the gateway maintains), and, when asked for (Include), its
// comments and its history.
type Incident struct {
	ID               string `bson:"incidentId" json:"incidentId"`
	Dataspace        string `bson:"dataspace" json:"dataspace"`
	OwnerID          string `bson:"ownerId" json:"ownerId"`
	NetworkID        string `bson:"networkId" json:"networkId"`
	ProcessType      string `bson:"processType" json:"processType"`
	SchemaVersion    int    `bson:"schemaVersion" json:"schemaVersion"`
	DataVersion      int64  `bson:"dataVersion" json:"dataVersion"`
	CreatedByUserID  string `bson:"createdByUserId" json:"createdByUserId"`
	LastUpdatedBy    string `bson:"lastUpdatedByUserId" json:"lastUpdatedByUserId"`
	CreatedAt        int64  `bson:"creationDateTime" json:"creationDateTime"`
	LastUpdatedAt    int64  `bson:"lastUpdatedDateTime" json:"lastUpdatedDateTime"`
	CurrentBaseState string `bson:"currentBaseState" json:"currentBaseState"`
	// Number is the per-company sequence number behind "INC-<n>".
	Number int64 `bson:"number" json:"number"`
	// PartnerID is the partner company the incident was submitted to; empty
	// until it is submitted.
	PartnerID string `bson:"partnerId" json:"partnerId"`
	// ParentID is the object this one belongs to (a sub-task's task, a
	// sub-task template's template); empty for a top-level object. It is
	// set at the insert and never changes: a change's Incident carries it
	// as it was. FindChildren finds an object's children by it.
	ParentID string         `bson:"parentId" json:"parentId,omitempty"`
	Data     map[string]any `bson:"data,omitempty" json:"data,omitempty"`

	// Comments are the incident's comments in the order they were added,
	// loaded only WithComments; on InsertIncident, the comments the add
	// makes.
	Comments []Comment `bson:"-" json:"-"`
	// Activities is the history, oldest first, loaded only WithActivities;
	// on InsertIncident, the one entry of the add.
	Activities []Activity `bson:"-" json:"-"`

	// dataText is the JSON text of Data as the store keeps it, when the
	// store has it at hand (SetDataText); dataOf and dataLen tie it to the
	// map it is the text of.
	dataText string
	dataOf   unsafe.Pointer
	dataLen  int
}

// SetDataText records text as the JSON text of the incident's Data, as the
// store keeps it (compact, keys in order), so that a reader may send it
// without encoding Data again (DataText).
func (inc *Incident) SetDataText(text string) {
	inc.dataText, inc.dataOf, inc.dataLen = text, mapIdentity(inc.Data), len(inc.Data)
}

// DataText is the text SetDataText recorded, or "" when there is none or
// Data is no longer the map it is the text of (a change replaces Data
// with a copy).
func (inc *Incident) DataText() string {
	if inc.dataText == "" || inc.dataOf != mapIdentity(inc.Data) || inc.dataLen != len(inc.Data) {
		return ""
	}
	return inc.dataText
}

// DataTextBytes is the memory the recorded text takes, for a cache's
// accounting.
func (inc *Incident) DataTextBytes() int { return len(inc.dataText) }

func mapIdentity(m map[string]any) unsafe.Pointer {
	if m == nil {
		return nil
	}
	return reflect.ValueOf(m).UnsafePointer()
}

// Include is what FindIncident loads besides the record: none, one or both
// of WithComments and WithActivities, joined with |, and DataAsText.
type Include uint8

// What FindIncident can load besides the record, and how.
const (
	WithComments   Include = 1 << iota // the comments
	WithActivities                     // the activity history
	// DataAsText lets FindIncident leave Data nil and give the data as
	// the store keeps its text (Incident.DataText), for a caller that
	// only sends it on: a store that keeps the text then decodes
	// nothing. A store that does not keeps filling Data.
	DataAsText
)

// Comment is a comment on an incident, with its attachments' metadata.
type Comment struct {
	ID             string           `bson:"id" json:"id"`
	CommentText    string           `bson:"commentText" json:"commentText"`
	VisibilityType string           `bson:"visibilityType" json:"visibilityType"`
	Attachments    []map[string]any `bson:"attachments" json:"attachments"`
	CompanyID      string           `bson:"companyId" json:"companyId"`
	CreatedBy      string           `bson:"createdByUserId" json:"createdByUserId"`
	CreatedAt      int64            `bson:"creationDateTime" json:"creationDateTime"`
	UpdatedBy      string           `bson:"lastUpdatedByUserId" json:"lastUpdatedByUserId"`
	UpdatedAt      int64            `bson:"lastUpdatedDateTime" json:"lastUpdatedDateTime"`
	LicensePlate   string           `bson:"licensePlate" json:"licensePlate"`
	// Position orders an incident's comments as they were added; the store
	// sets it when the comment is added (CommentPosition) and keeps it when
	// the comment is replaced.
	Position int64 `bson:"position" json:"position"`
}

// CommentPosition is the Position of the i-th comment added by the change
// that wrote dataVersion: comments sort by the change that added them, then
// by their place in it. It is the same on every store, so a dataset moved
// between stores lists its comments in the same order.
func CommentPosition(dataVersion int64, i int) int64 {
	return dataVersion<<20 | int64(i)
}

// Activity is one entry of an incident's history: the event that changed it
// and what changed.
type Activity struct {
	LicensePlate string   `bson:"licensePlate" json:"licensePlate"`
	EventName    string   `bson:"eventName" json:"eventName"`
	UserID       string   `bson:"userId" json:"userId"`
	CompanyID    string   `bson:"companyId" json:"companyId"`
	DateTime     int64    `bson:"dateTime" json:"dateTime"`
	DataVersion  int64    `bson:"dataVersion" json:"dataVersion"`
	Fields       []string `bson:"fields,omitempty" json:"fields,omitempty"`
	StateFrom    string   `bson:"stateFrom,omitempty" json:"stateFrom,omitempty"`
	StateTo      string   `bson:"stateTo,omitempty" json:"stateTo,omitempty"`
	CommentIDs   []string `bson:"commentIds,omitempty" json:"commentIds,omitempty"`
	// Detail keeps what the change removed or recorded, such as the
	// conclusion a reopen cleared.
	Detail map[string]any `bson:"detail,omitempty" json:"detail,omitempty"`
}

// Change is one change of an incident, planned by the caller from the
// incident at version Incident.DataVersion-1: the state it leaves, the
// comments it adds or replaces, and its history entry. A store writes all
// of it or none of it, and only if the incident is still at the version the
// change was planned from; otherwise it answers ErrConflict and writes
// nothing.
type Change struct {
	// Incident is the state the change leaves, at its new DataVersion (2
	// or more); its Comments and Activities are ignored. A change never
	// changes an object's dataspace, owner, network, kind, number, parent
	// or creation (a store may keep them as they are).
	Incident *Incident
	// AddComments are new comments, added after the existing ones.
	AddComments []Comment
	// ReplaceComments replace existing comments of the same ID (an edit).
	ReplaceComments []Comment
	// Activity is the change's history entry; its DataVersion is the
	// incident's new one.
	Activity Activity
}

// Effect is what a request with a given license plate changed, found from
// the plate alone, for answering a retry of a request that died after its
// change was written but before its answer was recorded.
type Effect struct {
	Incident *Incident // the incident the request created or changed, as it is now
	Activity Activity  // the request's history entry
	Client   *Client   // or the API client it created
}

// Idempotency record states.
const (
	IdempotencyPending = "pending" // the first request is running, or died
	IdempotencyDone    = "done"    // the response is recorded
)

// IdempotencyRecord remembers one idempotency key of one caller: which
// request claimed it, under which license plate, and, once it is answered,
// the answer, so that a retry gets the same one.
type IdempotencyRecord struct {
	// Key is the caller (company, API client, user) and the caller's key
	// (IdempotencyKeyID).
	Key          string `bson:"_id" json:"key"`
	RequestHash  string `bson:"requestHash" json:"requestHash"`
	LicensePlate string `bson:"licensePlate" json:"licensePlate"`
	Dataspace    string `bson:"dataspace" json:"dataspace"`
	State        string `bson:"state" json:"state"`
	Status       int    `bson:"status" json:"status"`
	// Body is the recorded answer; the gateway seals the answers of callers
	// that authenticate with a secret, so that only they can read them.
	Body []byte `bson:"body" json:"body"`
	// LeaseUntil is when a pending record may be taken over: by then the
	// request that claimed it has finished or died.
	LeaseUntil time.Time `bson:"leaseUntil" json:"leaseUntil"`
	CreatedAt  time.Time `bson:"createdAt" json:"createdAt"`
	// ExpiresAt is when the key is forgotten.
	ExpiresAt time.Time `bson:"expiresAt" json:"expiresAt"`
}

// IdempotencyKeyID is the Key of one caller's key. A key belongs to the
// caller that sent it (its company, API client and user), so that two
// callers who pick the same key never see each other's answers. The key
// must be valid UTF-8: the encoding would make every invalid byte the same.
func IdempotencyKeyID(companyID, client, user, key string) string {
	id, _ := json.Marshal([]string{companyID, client, user, key})
	return string(id)
}

// User is a person who signs in to the REST compatibility surface with a
// username and password (the OAuth password grant), acting for a company,
// and whom process objects name by user id (their creator, their assigned
// users).
type User struct {
	// Username is kept in lower case (NormalizeUsername): usernames are
	// e-mail addresses, compared without regard to case.
	Username string `bson:"_id" json:"username"`
	// ID is the user id that process objects name (createdByUserId, the
	// assigned users), and the one a bearer caller acts as; unique among
	// users. It is the username when none is given (WithDefaults).
	ID           string `bson:"userId" json:"userId"`
	PasswordHash string `bson:"passwordHash" json:"passwordHash"`
	CompanyID    string `bson:"companyId" json:"companyId"`
	Name         string `bson:"name" json:"name"`
	// GivenName and Surname are the parts of the user's name; when neither
	// is given, they are Name split at its first space (WithDefaults).
	GivenName string `bson:"givenName" json:"givenName"`
	Surname   string `bson:"surname" json:"surname"`
	Disabled  bool   `bson:"disabled" json:"disabled"`
	// DisabledAt is when the user was last disabled: tokens issued until
	// then stay dead after the user is enabled again.
	DisabledAt time.Time `bson:"disabledAt" json:"disabledAt"`
}

// MaySignIn reports whether a token issued to the user at issuedAt is
// still good as far as the user goes: the user is enabled and was not
// disabled since.
func (u *User) MaySignIn(issuedAt time.Time) bool {
	return !u.Disabled && issuedAt.After(u.DisabledAt)
}

// NormalizeUsername is the form a username is stored and looked up in.
func NormalizeUsername(username string) string {
	return strings.ToLower(strings.TrimSpace(username))
}

// WithDefaults is the user as the stores keep it: the username normalized
// (NormalizeUsername); the id trimmed, and the normalized username when
// empty; the given name and surname trimmed, and, when both are empty,
// Name split at its first space (SplitName). Users written before users
// had ids and name parts read back so too.
func (u User) WithDefaults() User {
	u.Username = NormalizeUsername(u.Username)
	u.ID = strings.TrimSpace(u.ID)
	if u.ID == "" {
		u.ID = u.Username
	}
	u.GivenName, u.Surname = strings.TrimSpace(u.GivenName), strings.TrimSpace(u.Surname)
	if u.GivenName == "" && u.Surname == "" {
		u.GivenName, u.Surname = SplitName(u.Name)
	}
	return u
}

// SplitName splits a full name at its first space: the given name is what
// comes before it, the surname the rest ("Mary Ann Smith" is "Mary" and
// "Ann Smith"); a name without a space is all given name.
func SplitName(name string) (givenName, surname string) {
	givenName, surname, _ = strings.Cut(strings.TrimSpace(name), " ")
	return givenName, strings.TrimSpace(surname)
}

// OAuthClient is an application allowed to ask for tokens on behalf of the
// users of its company (the ServiceOps "API client").
type OAuthClient struct {
	ClientID   string `bson:"_id" json:"clientId"`
	SecretHash string `bson:"secretHash" json:"secretHash"`
	CompanyID  string `bson:"companyId" json:"companyId"`
	Revoked    bool   `bson:"revoked" json:"revoked"`
}

// Token kinds.
const (
	AccessToken  = "access"
	RefreshToken = "refresh"
)

// Token is an access or refresh token as stored: under the hash of its
// value, so that the store never holds a usable token.
type Token struct {
	Hash      string    `bson:"_id" json:"hash"`
	Kind      string    `bson:"kind" json:"kind"`
	ClientID  string    `bson:"clientId" json:"clientId"`
	Username  string    `bson:"username" json:"username"`
	CompanyID string    `bson:"companyId" json:"companyId"`
	Scope     string    `bson:"scope" json:"scope"`
	IssuedAt  time.Time `bson:"issuedAt" json:"issuedAt"`
	ExpiresAt time.Time `bson:"expiresAt" json:"expiresAt"`
	Revoked   bool      `bson:"revoked" json:"revoked"`
}

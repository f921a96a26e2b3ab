package store

// FeedEntry is one change of the change feed: which object it changed,
// to which version, by which event and request, when, and whom the object
// was visible to once changed (its owner, partner, network and kind).
type FeedEntry struct {
	// Seq orders the feed: a later commit has a greater Seq.
	Seq         int64  `json:"seq"`
	Dataspace   string `json:"dataspace"`
	ObjectID    string `json:"objectId"`
	Kind        string `json:"kind"`
	OwnerID     string `json:"ownerId"`
	PartnerID   string `json:"partnerId"`
	NetworkID   string `json:"networkId"`
	DataVersion int64  `json:"dataVersion"`
	EventName   string `json:"eventName"`
	// LicensePlate is the request's, as the activity history has it.
	LicensePlate string `json:"licensePlate"`
	// At is when the change was committed, in milliseconds since the
	// epoch (the writing gateway's clock).
	At int64 `json:"at"`
}

// NewFeedEntry is the entry of a change that leaves inc in the state it
// has, with its history entry a.
func NewFeedEntry(inc *Incident, a Activity) FeedEntry {
	return FeedEntry{Dataspace: inc.Dataspace, ObjectID: inc.ID, Kind: inc.ProcessType, OwnerID: inc.OwnerID,
		PartnerID: inc.PartnerID, NetworkID: inc.NetworkID, DataVersion: inc.DataVersion,
		EventName: a.EventName, LicensePlate: a.LicensePlate}
}

// FeedQuery selects the changes a company may see, after a position of
// the feed: those of the objects it owned, was the partner of, or could
// see as a member of their network (SharedKinds in Networks) once they
// were made.
type FeedQuery struct {
	Dataspace             string
	Company               string
	Networks, SharedKinds []string
	// After is the Seq of the last change already seen; 0 is the start.
	After int64
	Limit int
}

// Visible reports whether the change e is one q's company may see.
func (q *FeedQuery) Visible(e *FeedEntry) bool {
	if e.Dataspace != q.Dataspace {
		return false
	}
	if e.OwnerID == q.Company || (e.PartnerID != "" && e.PartnerID == q.Company) {
		return true
	}
	for _, k := range q.SharedKinds {
		if k == e.Kind {
			for _, n := range q.Networks {
				if n == e.NetworkID {
					return true
				}
			}
		}
	}
	return false
}

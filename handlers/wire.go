package handlers

import "github.com/scwm-gateway/scwm-gateway/store"

// The answers' forms of what the store keeps: each surface's answers are
// built from these, so that the stored shape can change without changing
// an API.

// wireComment is a comment as list-comments answers it.
type wireComment struct {
	ID             string           `json:"id"`
	CommentText    string           `json:"commentText"`
	VisibilityType string           `json:"visibilityType"`
	Attachments    []map[string]any `json:"attachments"`
	CompanyID      string           `json:"companyId"`
	CreatedBy      string           `json:"createdByUserId"`
	CreatedAt      int64            `json:"creationDateTime"`
	UpdatedBy      string           `json:"lastUpdatedByUserId"`
	UpdatedAt      int64            `json:"lastUpdatedDateTime"`
	LicensePlate   string           `json:"licensePlate"`
}

func newWireComment(c store.Comment) wireComment {
	return wireComment{ID: c.ID, CommentText: c.CommentText, VisibilityType: c.VisibilityType, Attachments: c.Attachments,
		CompanyID: c.CompanyID, CreatedBy: c.CreatedBy, CreatedAt: c.CreatedAt, UpdatedBy: c.UpdatedBy, UpdatedAt: c.UpdatedAt,
		LicensePlate: c.LicensePlate}
}

// wireActivity is an entry of the activity history as
// get-activity-history answers it.
type wireActivity struct {
	LicensePlate string         `json:"licensePlate"`
	EventName    string         `json:"eventName"`
	UserID       string         `json:"userId"`
	CompanyID    string         `json:"companyId"`
	DateTime     int64          `json:"dateTime"`
	DataVersion  int64          `json:"dataVersion"`
	Fields       []string       `json:"fields,omitempty"`
	StateFrom    string         `json:"stateFrom,omitempty"`
	StateTo      string         `json:"stateTo,omitempty"`
	CommentIDs   []string       `json:"commentIds,omitempty"`
	Detail       map[string]any `json:"detail,omitempty"`
}

func newWireActivity(a store.Activity) wireActivity {
	return wireActivity{LicensePlate: a.LicensePlate, EventName: a.EventName, UserID: a.UserID, CompanyID: a.CompanyID,
		DateTime: a.DateTime, DataVersion: a.DataVersion, Fields: a.Fields, StateFrom: a.StateFrom, StateTo: a.StateTo,
		CommentIDs: a.CommentIDs, Detail: a.Detail}
}

package mongodb

import (
	"math"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/scwm-gateway/scwm-gateway/store"
)

// The free-form values of the records (an incident's data, a comment's
// attachments, a history entry's detail) are read back in the form the
// gateway keeps JSON in (internal/jsonvalue): objects as map[string]any,
// arrays as []any, whole numbers as int64 (also a double that is whole,
// such as a payload's 2.0, if int64 holds it), other numbers as float64.
// The driver gives arrays as bson.A and a number written as a 32-bit
// integer (by another client) as int32.

func normalizeIncident(inc *store.Incident) {
	if inc.Data != nil {
		inc.Data = normalized(inc.Data).(map[string]any)
	}
}

func normalizeComment(c *store.Comment) {
	for i, a := range c.Attachments {
		c.Attachments[i] = normalized(a).(map[string]any)
	}
}

func normalizeActivity(a *store.Activity) {
	if a.Detail != nil {
		a.Detail = normalized(a.Detail).(map[string]any)
	}
}

// normalized converts v in place and returns it.
func normalized(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			v[k] = normalized(e)
		}
		return v
	case bson.M:
		return normalized(map[string]any(v))
	case bson.D:
		m := make(map[string]any, len(v))
		for _, e := range v {
			m[e.Key] = normalized(e.Value)
		}
		return m
	case bson.A:
		return normalized([]any(v))
	case []any:
		for i, e := range v {
			v[i] = normalized(e)
		}
		return v
	case int32:
		return int64(v)
	case float64:
		if v == math.Trunc(v) && v >= -(1<<63) && v < 1<<63 {
			return int64(v)
		}
	}
	return v
}

package envelope

import "github.com/scwm-gateway/scwm-gateway/internal/jsonvalue"

// decodeJSON parses a body without reflection (jsonvalue.Decode): the
// values an encoding/json Decoder with UseNumber gives, or ok false for the
// caller to decode with encoding/json, which also says what is wrong. The
// depth of body must be bounded first (checkLimits).
func decodeJSON(body []byte) (v any, ok bool) { return jsonvalue.Decode(body) }

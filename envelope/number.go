package envelope

import (
	"encoding/json"
	"strconv"
	"strings"
)

// DataVersionRule says what a dataVersion is, for the messages that refuse
// one.
const DataVersionRule = "send the incident's dataVersion as read, a whole number from 1 to 9223372036854775807"

// WholeNumber reads a JSON number literal as an int64 when its value is a
// whole number in int64's range, however it is written: 1, 1.0, 1e0, 10E-1
// and 0.1e1 are all 1. It works on the literal's digits, so that no
// rounding can make 9223372036854775808 or 1.0000000000000000001 whole.
func WholeNumber(n json.Number) (int64, bool) {
	s := string(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	mant, exp := s, 0
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		mant = s[:i]
		e, err := strconv.Atoi(s[i+1:])
		if err != nil || e > 1000 || e < -1000 {
			return 0, false // out of range, or a fraction, whatever the mantissa
		}
		exp = e
	}
	digits := mant
	if i := strings.IndexByte(mant, '.'); i >= 0 {
		digits = mant[:i] + mant[i+1:]
		exp -= len(mant) - i - 1
	}
	if digits == "" || strings.Trim(digits, "0123456789") != "" {
		return 0, false
	}
	digits = strings.TrimLeft(digits, "0")
	for len(digits) > 0 && digits[len(digits)-1] == '0' {
		digits = digits[:len(digits)-1]
		exp++
	}
	if digits == "" {
		return 0, true // zero, however written
	}
	if exp < 0 || len(digits)+exp > 19 {
		return 0, false // a fraction, or more than int64's 19 digits
	}
	if neg {
		digits = "-" + digits
	}
	v, err := strconv.ParseInt(digits+strings.Repeat("0", exp), 10, 64)
	return v, err == nil
}

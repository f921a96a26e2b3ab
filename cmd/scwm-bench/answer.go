package main

import (
	"bytes"
	"encoding/json"
)

// answerFields is what the load checks of a gateway answer: the header's
// errCode and exceptionName, whether it carries warnings, and payload.id.
type answerFields struct {
	errCode, exception string
	warnings           bool
	id                 string
}

// readAnswer reads answerFields from an answer without decoding the rest
// of it: a read's answer is mostly the record, which the load does not
// look at, and decoding it all would cost the load generator more CPU than
// the gateway spends answering. ok is false when body is not one JSON
// object (the skipped values are checked for their structure, not for
// every detail of their text, such as a number's digits).
func readAnswer(body []byte) (f answerFields, ok bool) {
	s := &answerScanner{b: body}
	ok = s.object(func(key string) bool {
		switch key {
		case "header":
			if !s.peek('{') {
				return s.skip()
			}
			return s.object(func(key string) bool {
				switch key {
				case "errCode":
					return s.stringOrSkip(&f.errCode)
				case "exceptionName":
					return s.stringOrSkip(&f.exception)
				case "warnings":
					f.warnings = !s.peekLiteral("null")
				}
				return s.skip()
			})
		case "payload":
			if !s.peek('{') {
				return s.skip()
			}
			return s.object(func(key string) bool {
				if key == "id" {
					return s.stringOrSkip(&f.id)
				}
				return s.skip()
			})
		}
		return s.skip()
	})
	s.space()
	return f, ok && s.i == len(s.b)
}

// answerScanner walks JSON text.
type answerScanner struct {
	b     []byte
	i     int
	depth int
}

// maxAnswerDepth bounds the nesting the scanner follows.
const maxAnswerDepth = 512

func (s *answerScanner) space() {
	for s.i < len(s.b) && (s.b[s.i] == ' ' || s.b[s.i] == '\t' || s.b[s.i] == '\n' || s.b[s.i] == '\r') {
		s.i++
	}
}

// peek reports whether the next value starts with c.
func (s *answerScanner) peek(c byte) bool {
	s.space()
	return s.i < len(s.b) && s.b[s.i] == c
}

// peekLiteral reports whether the next value is lit.
func (s *answerScanner) peekLiteral(lit string) bool {
	s.space()
	return len(s.b)-s.i >= len(lit) && string(s.b[s.i:s.i+len(lit)]) == lit
}

// object walks an object, calling member with each key once the scanner
// stands before its value; member must consume the value.
func (s *answerScanner) object(member func(key string) bool) bool {
	if !s.peek('{') {
		return false
	}
	s.i++
	if s.peek('}') {
		s.i++
		return true
	}
	for {
		var key string
		if !s.peek('"') || !s.str(&key) || !s.peek(':') {
			return false
		}
		s.i++
		if !member(key) {
			return false
		}
		switch {
		case s.peek(','):
			s.i++
		case s.peek('}'):
			s.i++
			return true
		default:
			return false
		}
	}
}

// stringOrSkip reads a string value into dst, or skips a value of another
// kind.
func (s *answerScanner) stringOrSkip(dst *string) bool {
	if s.peek('"') {
		return s.str(dst)
	}
	return s.skip()
}

// str reads the string at the scanner into dst.
func (s *answerScanner) str(dst *string) bool {
	start := s.i
	escaped, ok := s.skipString()
	switch {
	case !ok:
		return false
	case escaped:
		return json.Unmarshal(s.b[start:s.i], dst) == nil
	}
	*dst = string(s.b[start+1 : s.i-1])
	return true
}

// skipString passes over the string at the scanner, and says whether it
// has escapes.
func (s *answerScanner) skipString() (escaped, ok bool) {
	s.i++
	for {
		end := bytes.IndexByte(s.b[s.i:], '"')
		if end < 0 {
			return escaped, false
		}
		slash := bytes.IndexByte(s.b[s.i:s.i+end], '\\')
		if slash < 0 {
			s.i += end + 1
			return escaped, true
		}
		// Pass the escape and what it escapes, then look again.
		escaped = true
		s.i += slash + 2
		if s.i > len(s.b) {
			return escaped, false
		}
	}
}

// skip passes over one value.
func (s *answerScanner) skip() bool {
	s.space()
	if s.i >= len(s.b) {
		return false
	}
	c := s.b[s.i]
	switch c {
	case '"':
		_, ok := s.skipString()
		return ok
	case '{', '[':
		if s.depth >= maxAnswerDepth {
			return false
		}
		s.depth++
		ok := s.skipContainer(c)
		s.depth--
		return ok
	}
	start := s.i
	for s.i < len(s.b) {
		c := s.b[s.i]
		if c == ',' || c == '}' || c == ']' || c == ' ' || c == '\t' || c == '\n' || c == '\r' {
			break
		}
		s.i++
	}
	return s.i > start
}

// skipContainer passes over the object or array at the scanner (open is
// its first byte).
func (s *answerScanner) skipContainer(open byte) bool {
	closing := byte(']')
	if open == '{' {
		closing = '}'
	}
	s.i++
	if s.peek(closing) {
		s.i++
		return true
	}
	for {
		if open == '{' {
			if !s.peek('"') {
				return false
			}
			if _, ok := s.skipString(); !ok || !s.peek(':') {
				return false
			}
			s.i++
		}
		if !s.skip() {
			return false
		}
		switch {
		case s.peek(','):
			s.i++
		case s.peek(closing):
			s.i++
			return true
		default:
			return false
		}
	}
}

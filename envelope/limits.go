package envelope

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"sync"
	"unicode/utf8"
)

// checkUTF8 refuses a body that is not UTF-8 (RFC 8259 §8.1), pointing at the
// first bad byte. The decoder would otherwise replace such bytes with U+FFFD
// and store something the client never sent.
//
// A bad byte inside a string is reported with the JSON path of the string
// (or, for a key, of its object), so that the client learns which field
// holds it; checkLimits, which walks the strings anyway, finds it, and
// reports any limit it meets first.
func checkUTF8(body []byte, l Limits) *Error {
	if utf8.Valid(body) {
		return nil
	}
	s := newLimitScanner(body, l)
	defer s.release()
	s.checkText = true
	if err := s.scan(); err != nil {
		return err
	}
	line, col := position(body, int64(firstInvalidUTF8(body)))
	return Errorf(KindMalformedEnvelope, "body is not valid UTF-8 at line %d, column %d; send JSON as UTF-8", line, col)
}

// firstInvalidUTF8 is the offset of the first byte of b that is not UTF-8.
func firstInvalidUTF8(b []byte) int {
	off := 0
	for off < len(b) {
		r, size := utf8.DecodeRune(b[off:])
		if r == utf8.RuneError && size <= 1 {
			break
		}
		off += size
	}
	return off
}

// badText reports the string body[start:end] (quotes included) if it is
// not UTF-8, naming it by path (see checkUTF8).
func (s *limitScanner) badText(start, end int, path string) *Error {
	raw := s.body[start+1 : end-1]
	if utf8.Valid(raw) {
		return nil
	}
	line, col := position(s.body, int64(start+1+firstInvalidUTF8(raw)))
	return Errorf(KindMalformedEnvelope, "%s: body is not valid UTF-8 at line %d, column %d; send JSON as UTF-8", path, line, col)
}

// checkLimits scans body once, without decoding it, and reports the first
// place where it exceeds l (see ParseRequestLimits). It reads broken JSON
// without complaint as far as it can make sense of it: the decoder says where
// JSON breaks; checkLimits only makes sure the decoder and everything after
// it never see a body too deep or too large in any one place.
//
// An array or object with too many entries is reported when it closes, so
// that the message can say how many it has; meanwhile other violations are
// not looked for. If it never closes, the body is broken JSON and the decoder
// reports that instead.
func checkLimits(body []byte, l Limits) *Error {
	s := newLimitScanner(body, l)
	defer s.release()
	return s.scan()
}

// scanners keeps limit scanners between requests: their stacks are most of
// what reading an envelope allocates.
var scanners = sync.Pool{New: func() any { return new(limitScanner) }}

// maxPooledEntries bounds the stacks a pooled scanner keeps, so that one
// large body does not hold its memory for good.
const maxPooledEntries = 1024

func newLimitScanner(body []byte, l Limits) *limitScanner {
	s := scanners.Get().(*limitScanner)
	frames, keys := s.frames[:0], s.keys[:0]
	if frames == nil {
		frames, keys = make([]jsonFrame, 0, 16), make([]keyRef, 0, 64)
	}
	*s = limitScanner{body: body, l: l, over: -1, frames: frames, keys: keys}
	return s
}

// release gives the scanner back to the pool; it must not be used after.
func (s *limitScanner) release() {
	if cap(s.frames) > maxPooledEntries || cap(s.keys) > maxPooledEntries {
		return
	}
	clear(s.frames[:cap(s.frames)]) // the frames' key indexes
	*s = limitScanner{frames: s.frames[:0], keys: s.keys[:0]}
	scanners.Put(s)
}

// limitScanner walks the bytes of a JSON text keeping a stack of the objects
// and arrays it is in, and for each where it is (the current key or index),
// so that a violation can be named by its JSON path.
type limitScanner struct {
	body []byte
	l    Limits
	// frames are the open containers, outermost first, as deep as
	// l.MaxDepth; depth counts deeper ones too (only while over >= 0).
	frames []jsonFrame
	depth  int
	// keys holds the keys seen so far in each open object with few keys, in
	// the order of frames; see jsonFrame.keysFrom.
	keys []keyRef
	// over is the index in frames of an array or object with too many
	// entries, -1 if none.
	over int
	// checkText makes it refuse strings that are not UTF-8 (checkUTF8).
	checkText bool
}

// jsonFrame is one open object or array.
type jsonFrame struct {
	array bool
	// want: the next string of an object is a key; the next token of an
	// array starts an element.
	want bool
	// count is the number of members or elements begun so far.
	count int
	// key is the key of the current member of an object.
	key keyRef
	// keysFrom is where this object's keys start in limitScanner.keys; once
	// it has more than linearKeys of them they move to index.
	keysFrom int
	index    map[string]struct{}
}

// keyRef is an object key: the raw bytes between its quotes.
type keyRef struct {
	start, end int
	escaped    bool // contains a backslash, so its raw bytes are not its name
	// fingerprint tells most different keys apart cheaply: the length and
	// three of the bytes of a key without escapes; 0 when unknown.
	fingerprint uint64
}

func newKeyRef(body []byte, start, end int, escaped bool) keyRef {
	k := keyRef{start: start, end: end, escaped: escaped}
	if n := end - start; !escaped && n > 0 {
		k.fingerprint = uint64(n)<<24 | uint64(body[start])<<16 | uint64(body[start+n/2])<<8 | uint64(body[end-1])
	}
	return k
}

// linearKeys is how many keys of one object are compared one by one for
// duplicates before they move into a map.
const linearKeys = 32

func (s *limitScanner) scan() *Error {
	b := s.body
	for i := 0; i < len(b); {
		c := b[i]
		if c <= ' ' {
			i++ // whitespace; other control bytes are the decoder's to report
			continue
		}
		switch c {
		case ':':
			i++
		case ',':
			if f := s.top(); f != nil {
				f.want = true
			}
			i++
		case '"':
			end, escaped := stringEnd(b, i)
			if end < 0 {
				return nil // unterminated: the decoder says where
			}
			if err := s.str(i, end, escaped); err != nil || s.depth == 0 {
				return err // depth 0: the top-level value was this string
			}
			i = end
		case '{', '[':
			if err := s.open(c == '['); err != nil {
				return err
			}
			i++
		case '}', ']':
			done, err := s.close()
			if err != nil || done {
				return err // done: anything after the top-level value is the decoder's to report
			}
			i++
		default:
			j := i + 1
			for j < len(b) && !isJSONDelimiter(b[j]) {
				j++
			}
			if err := s.scalar(b[i:j]); err != nil || s.depth == 0 {
				return err // depth 0: the top-level value was this scalar
			}
			i = j
		}
	}
	return nil
}

// top is the innermost open container, nil at the top level or while deeper
// than the frames kept.
func (s *limitScanner) top() *jsonFrame {
	if len(s.frames) == 0 || s.depth != len(s.frames) {
		return nil
	}
	return &s.frames[len(s.frames)-1]
}

// element notes that a value begins; in an array it is a new element.
func (s *limitScanner) element() {
	f := s.top()
	if f == nil || !f.array || !f.want {
		return
	}
	f.want = false
	f.count++
	if f.count > s.l.MaxArrayLen && s.over < 0 {
		s.over = len(s.frames) - 1
	}
}

func (s *limitScanner) open(array bool) *Error {
	s.element()
	s.depth++
	if s.depth > s.l.MaxDepth {
		if s.over >= 0 {
			return nil // counting the entries of s.over; nothing deeper matters
		}
		return Errorf(KindMalformedEnvelope, "%s: objects and arrays nested %d deep, at most %d allowed",
			s.path(len(s.frames)), s.depth, s.l.MaxDepth)
	}
	if s.depth == len(s.frames)+1 {
		s.frames = append(s.frames, jsonFrame{array: array, want: true, keysFrom: len(s.keys)})
	}
	return nil
}

// close ends the innermost container; done means the top-level value ended.
func (s *limitScanner) close() (done bool, err *Error) {
	if s.depth == 0 {
		return true, nil // a stray closer: broken JSON
	}
	if s.depth == len(s.frames) {
		k := len(s.frames) - 1
		if s.over == k {
			return true, s.tooMany(k)
		}
		s.keys = s.keys[:s.frames[k].keysFrom]
		s.frames = s.frames[:k]
	}
	s.depth--
	return s.depth == 0, nil
}

// tooMany reports the container at frames[k], which has more entries than
// allowed.
func (s *limitScanner) tooMany(k int) *Error {
	f := s.frames[k]
	if f.array {
		return Errorf(KindMalformedEnvelope, "%s: array has %d elements, at most %d allowed", s.path(k), f.count, s.l.MaxArrayLen)
	}
	return Errorf(KindMalformedEnvelope, "%s: object has %d members, at most %d allowed", s.path(k), f.count, s.l.MaxKeys)
}

// str handles the string body[start:end], quotes included: a key or a value.
func (s *limitScanner) str(start, end int, escaped bool) *Error {
	n := end - start - 2
	if f := s.top(); f != nil && !f.array && f.want {
		if s.checkText && s.over < 0 {
			if err := s.badText(start, end, s.path(len(s.frames)-1)+" (a key)"); err != nil {
				return err
			}
		}
		return s.key(f, newKeyRef(s.body, start+1, end-1, escaped))
	}
	s.element()
	if s.checkText && s.over < 0 {
		if err := s.badText(start, end, s.path(len(s.frames))); err != nil {
			return err
		}
	}
	if s.over >= 0 || n <= s.l.MaxStringLen {
		return nil
	}
	return Errorf(KindMalformedEnvelope, "%s: string is %d bytes long, at most %d allowed", s.path(len(s.frames)), n, s.l.MaxStringLen)
}

// key handles the key k of a new member of the innermost object f.
func (s *limitScanner) key(f *jsonFrame, k keyRef) *Error {
	f.want = false
	f.count++
	f.key = k
	if f.count > s.l.MaxKeys && s.over < 0 {
		s.over = len(s.frames) - 1
	}
	if s.over >= 0 {
		return nil
	}
	if n := k.end - k.start; n > s.l.MaxStringLen {
		return Errorf(KindMalformedEnvelope, "%s: key is %d bytes long, at most %d allowed", s.path(len(s.frames)), n, s.l.MaxStringLen)
	}
	if s.repeated(f, k) {
		return Errorf(KindMalformedEnvelope, "%s: the key appears twice in one object; each key may appear only once", s.path(len(s.frames)))
	}
	return nil
}

// repeated records k among the keys of f and reports whether f already had
// it. Keys are compared by the names they decode to.
func (s *limitScanner) repeated(f *jsonFrame, k keyRef) bool {
	if f.index != nil {
		name := s.keyName(k)
		if _, dup := f.index[name]; dup {
			return true
		}
		f.index[name] = struct{}{}
		return false
	}
	for _, p := range s.keys[f.keysFrom:] {
		if p.fingerprint != k.fingerprint && p.fingerprint != 0 && k.fingerprint != 0 {
			continue
		}
		if s.sameKey(p, k) {
			return true
		}
	}
	s.keys = append(s.keys, k)
	if n := len(s.keys) - f.keysFrom; n > linearKeys {
		f.index = make(map[string]struct{}, 2*n)
		for _, p := range s.keys[f.keysFrom:] {
			f.index[s.keyName(p)] = struct{}{}
		}
		s.keys = s.keys[:f.keysFrom]
	}
	return false
}

func (s *limitScanner) sameKey(a, b keyRef) bool {
	if !a.escaped && !b.escaped {
		return bytes.Equal(s.body[a.start:a.end], s.body[b.start:b.end])
	}
	return s.keyName(a) == s.keyName(b)
}

// keyName decodes a key the way the decoder will.
func (s *limitScanner) keyName(k keyRef) string {
	raw := s.body[k.start:k.end]
	if k.escaped {
		var name string
		if err := json.Unmarshal(s.body[k.start-1:k.end+1], &name); err == nil {
			return name
		}
	}
	return string(raw)
}

// scalar handles a token that is neither a string nor a container: a number,
// true, false, null, or something broken that the decoder will report.
func (s *limitScanner) scalar(tok []byte) *Error {
	s.element()
	if s.over >= 0 || !isJSONNumber(tok) {
		return nil
	}
	if len(tok) > s.l.MaxNumberLen {
		return Errorf(KindMalformedEnvelope, "%s: number is %d bytes long, at most %d allowed", s.path(len(s.frames)), len(tok), s.l.MaxNumberLen)
	}
	// Without an exponent a number needs over 300 digits to leave the range.
	if !bytes.ContainsAny(tok, "eE") && len(tok) < 300 {
		return nil
	}
	f, err := strconv.ParseFloat(string(tok), 64)
	switch {
	case errors.Is(err, strconv.ErrRange):
		return Errorf(KindMalformedEnvelope, "%s: number %s is too large; numbers must fit a 64-bit float (at most about 1.8e308 in magnitude)",
			s.path(len(s.frames)), tok)
	case err == nil && f == 0 && bytes.ContainsAny(mantissa(tok), "123456789"):
		return Errorf(KindMalformedEnvelope, "%s: number %s is too close to zero; a non-zero number must fit a 64-bit float (at least about 4.9e-324 in magnitude)",
			s.path(len(s.frames)), tok)
	}
	return nil
}

// mantissa is a number literal without its exponent.
func mantissa(tok []byte) []byte {
	if e := bytes.IndexAny(tok, "eE"); e >= 0 {
		return tok[:e]
	}
	return tok
}

// path renders where the scanner is, as a JSON path from the envelope's
// root, through the first k open containers: "$.payload.items[3]".
func (s *limitScanner) path(k int) string {
	p := "$"
	for _, f := range s.frames[:k] {
		if f.array {
			p += "[" + strconv.Itoa(f.count-1) + "]"
		} else {
			p = PathChild(p, s.keyName(f.key))
		}
	}
	return p
}

// maxPathKey is how much of a key a path shows; longer keys are cut.
const maxPathKey = 64

// PathChild appends an object key to a JSON path as error messages and
// warnings spell it: $.a.b, with keys that are not plain identifiers quoted
// ($["a.b"]) and keys over 64 bytes cut.
func PathChild(at, key string) string {
	if len(key) > maxPathKey {
		cut := maxPathKey
		for cut > 0 && !utf8.RuneStart(key[cut]) {
			cut--
		}
		key = key[:cut] + "..."
	}
	plain := key != ""
	for i := 0; i < len(key) && plain; i++ {
		c := key[i]
		plain = c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9'
	}
	if plain {
		return at + "." + key
	}
	q, _ := json.Marshal(key)
	return at + "[" + string(q) + "]"
}

// stringEnd returns the offset just past the string that starts with the
// quote at body[start], and whether it contains escapes; -1 if it does not
// end.
func stringEnd(body []byte, start int) (end int, escaped bool) {
	q := -1 // the next quote at or after i, once found
	for i := start + 1; i < len(body); {
		if q < i {
			j := bytes.IndexByte(body[i:], '"')
			if j < 0 {
				return -1, escaped
			}
			q = i + j
		}
		j := bytes.IndexByte(body[i:q], '\\')
		if j < 0 {
			return q + 1, escaped
		}
		escaped = true
		i += j + 2 // the backslash and the byte it escapes
	}
	return -1, escaped
}

// isJSONDelimiter reports whether c ends a scalar token.
func isJSONDelimiter(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\r', ',', ':', '{', '}', '[', ']', '"':
		return true
	}
	return false
}

// isJSONNumber reports whether tok is a number as RFC 8259 spells it:
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func isJSONNumber(tok []byte) bool {
	i := 0
	digits := func() bool {
		from := i
		for i < len(tok) && tok[i] >= '0' && tok[i] <= '9' {
			i++
		}
		return i > from
	}
	if i < len(tok) && tok[i] == '-' {
		i++
	}
	switch {
	case i < len(tok) && tok[i] == '0':
		i++
	case !digits():
		return false
	}
	if i < len(tok) && tok[i] == '.' {
		i++
		if !digits() {
			return false
		}
	}
	if i < len(tok) && (tok[i] == 'e' || tok[i] == 'E') {
		i++
		if i < len(tok) && (tok[i] == '+' || tok[i] == '-') {
			i++
		}
		if !digits() {
			return false
		}
	}
	return i == len(tok)
}

// CheckJSONLimits checks any JSON body against DefaultLimits, for the routes
// that take JSON other than an envelope. The error names the JSON path of
// the first violation; broken JSON is left to the decoder.
//
// Text that is not UTF-8 is refused too, naming the string that holds it:
// the decoder would store U+FFFD in its place.
func CheckJSONLimits(body []byte) error {
	if e := checkUTF8(body, DefaultLimits); e != nil {
		return errors.New(e.Message)
	}
	if e := checkLimits(body, DefaultLimits); e != nil {
		return errors.New(e.Message)
	}
	return nil
}

package journal

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/url"
	"strings"
	"unicode/utf8"
)

// Redacted is what a secret's value becomes in a journal body.
const Redacted = "[redacted]"

// secretWords mark the names whose values are secrets: a JSON member or a
// form field whose name holds one of them (in any case) is redacted.
var secretWords = []string{"secret", "password", "passwd", "token", "authorization", "apikeycredential", "credential"}

// isSecretName tells whether a member or field of that name holds a secret.
func isSecretName(name string) bool {
	n := strings.ToLower(name)
	for _, w := range secretWords {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}

// mayHoldSecret tells whether body may name a secret at all: a body that
// holds none of the words is kept as it is, without parsing it. It reads
// the body once, comparing words only where one of them may start.
func mayHoldSecret(body []byte) bool {
	for i, c := range body {
		for _, w := range secretStarts[c] {
			if hasPrefixFold(body[i:], w) {
				return true
			}
		}
	}
	return false
}

// secretStarts lists, by a byte, the secret words that start with it in
// either case.
var secretStarts = func() (starts [256][]string) {
	for _, w := range secretWords {
		starts[w[0]] = append(starts[w[0]], w)
		starts[w[0]-'a'+'A'] = append(starts[w[0]-'a'+'A'], w)
	}
	return starts
}()

// hasPrefixFold tells whether s starts with the lower-case ASCII word,
// in any case.
func hasPrefixFold(s []byte, word string) bool {
	if len(s) < len(word) {
		return false
	}
	for k := range len(word) {
		if s[k]|0x20 != word[k] {
			return false
		}
	}
	return true
}

// Clean is body as the journal may keep it: every secret removed, cut to
// max bytes. A JSON body keeps its shape with the values of secret members
// replaced by Redacted, and a form its fields likewise; a body the journal
// cannot read (another media type, or JSON it cannot parse up to its end)
// is kept only if it names no secret at all, and replaced by a note
// otherwise. A JSON body already cut (a response captured up to a bound)
// is cleaned up to where it was cut.
func Clean(body []byte, contentType string, max int) (out []byte, truncated bool) {
	if len(body) == 0 {
		return nil, false
	}
	if mayHoldSecret(body) {
		mt, _, _ := mime.ParseMediaType(contentType)
		switch {
		case mt == "application/x-www-form-urlencoded":
			body = cleanForm(body)
		case mt == "application/json" || mt == "" || strings.HasSuffix(mt, "+json"):
			body = cleanJSON(body)
		default:
			body = []byte("(not kept: a " + mt + " body that may hold a secret)")
		}
	}
	return cut(body, max)
}

// cut shortens b to at most max bytes, at a character boundary.
func cut(b []byte, max int) ([]byte, bool) {
	if len(b) <= max {
		return b, false
	}
	n := max
	for n > 0 && !utf8.RuneStart(b[n]) {
		n--
	}
	return b[:n], true
}

// cleanForm redacts the secret fields of a url-encoded form.
func cleanForm(body []byte) []byte {
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return []byte("(not kept: a form that could not be read may hold a secret)")
	}
	for name, values := range form {
		if isSecretName(name) {
			for i := range values {
				values[i] = Redacted
			}
		}
	}
	return []byte(form.Encode())
}

// cleanJSON rewrites a JSON text with the values of its secret members
// replaced, token by token, so that a text cut short is cleaned up to the
// cut; what does not parse is not kept.
func cleanJSON(body []byte) []byte {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var out bytes.Buffer
	w := &jsonWriter{out: &out}
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return out.Bytes()
		}
		if err != nil {
			var se *json.SyntaxError
			if errors.As(err, &se) || errors.Is(err, io.ErrUnexpectedEOF) {
				if out.Len() == 0 {
					return []byte("(not kept: a body that is not JSON may hold a secret)")
				}
				out.WriteString(" (cut here)")
				return out.Bytes()
			}
			return []byte("(not kept: a body that is not JSON may hold a secret)")
		}
		w.token(tok)
		if w.redactNext {
			w.redactNext = false
			value, err := dec.Token()
			if err != nil || !skipValue(dec, value) {
				out.WriteString(" (cut here)")
				return out.Bytes()
			}
		}
	}
}

// skipValue consumes the rest of the value that started with tok (whose
// place the writer already filled with Redacted); false if the text ended
// first.
func skipValue(dec *json.Decoder, tok json.Token) bool {
	d, ok := tok.(json.Delim)
	if !ok || (d != '{' && d != '[') {
		return true
	}
	for depth := 1; depth > 0; {
		t, err := dec.Token()
		if err != nil {
			return false
		}
		if d, ok := t.(json.Delim); ok {
			if d == '{' || d == '[' {
				depth++
			} else {
				depth--
			}
		}
	}
	return true
}

// jsonWriter writes the tokens of a JSON text back as compact JSON,
// putting Redacted in place of the value of each secret member.
type jsonWriter struct {
	out *bytes.Buffer
	// stack holds, per open container, whether it is an object, and
	// whether its next string is a member name.
	stack []frame
	// redactNext asks the caller to skip the value that comes next: the
	// writer put Redacted in its place.
	redactNext bool
}

type frame struct {
	object, wantKey, first bool
}

func (w *jsonWriter) token(tok json.Token) {
	var top *frame
	if n := len(w.stack); n > 0 {
		top = &w.stack[n-1]
	}
	if d, ok := tok.(json.Delim); ok && (d == '}' || d == ']') {
		w.out.WriteByte(byte(d))
		w.stack = w.stack[:len(w.stack)-1]
		return
	}
	if top != nil {
		switch {
		case top.object && top.wantKey:
			if !top.first {
				w.out.WriteByte(',')
			}
			top.first = false
			key, _ := tok.(string)
			k, _ := json.Marshal(key)
			w.out.Write(k)
			w.out.WriteByte(':')
			top.wantKey = false
			if isSecretName(key) {
				// The value is the caller's to skip; the member is done.
				w.out.WriteString(`"` + Redacted + `"`)
				top.wantKey, w.redactNext = true, true
			}
			return
		case top.object:
			top.wantKey = true
		default:
			if !top.first {
				w.out.WriteByte(',')
			}
			top.first = false
		}
	}
	switch v := tok.(type) {
	case json.Delim:
		w.out.WriteByte(byte(v))
		w.stack = append(w.stack, frame{object: v == '{', wantKey: v == '{', first: true})
	case string:
		b, _ := json.Marshal(v)
		w.out.Write(b)
	case json.Number:
		w.out.WriteString(v.String())
	case bool:
		if v {
			w.out.WriteString("true")
		} else {
			w.out.WriteString("false")
		}
	case nil:
		w.out.WriteString("null")
	}
}

package otaxml

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/beevik/etree"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"
)

// Namespaces of the envelopes keyrack reads and writes.
const (
	nsSOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
	nsSOAP12 = "http://www.w3.org/2003/05/soap-envelope"
	nsWSA    = "http://www.w3.org/2005/08/addressing"
	nsWSSE   = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
	nsHTNGA  = "http://htng.org/PWSWG/2007/02/AsyncHeaders"
	// passwordText is the WS-Security UsernameToken profile's clear-text
	// password type.
	passwordText = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText"
)

// maxDepth is the deepest element nesting Parse accepts; real OTA messages
// in a SOAP envelope stay below 25.
const maxDepth = 64

// ReadBody reads a request or answer body: gunzipped when contentEncoding is
// "gzip", at most max bytes after decompression (an *Error of TypeProtocol
// beyond that).
func ReadBody(r io.Reader, contentEncoding string, max int64) ([]byte, error) {
	switch strings.ToLower(strings.TrimSpace(contentEncoding)) {
	case "", "identity":
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(r)
		if err != nil {
			return nil, Errorf(TypeProtocol, 0, "body is not gzip although Content-Encoding says so: %v", err)
		}
		defer zr.Close()
		r = zr
	default:
		return nil, Errorf(TypeProtocol, 0, "Content-Encoding %q is not supported: send identity or gzip", contentEncoding)
	}
	// Reading one byte past the cap tells a body of exactly max bytes from a
	// longer one; the cap applies after decompression, so a gzip bomb stops
	// at max+1 bytes.
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		if errors.Is(err, gzip.ErrChecksum) || errors.Is(err, gzip.ErrHeader) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, Errorf(TypeProtocol, 0, "gzip body is corrupt: %v", err)
		}
		return nil, fmt.Errorf("read body: %w", err)
	}
	if int64(len(b)) > max {
		e := Errorf(TypeProtocol, 0, "body is larger than %d bytes (after decompression): split the message", max)
		e.cause = ErrTooLarge
		return nil, e
	}
	return b, nil
}

// ReadMessage is ReadBody for a message a channel sends keyrack (a pushed
// request, a polled queue's answer), with h its HTTP header: the body is read
// as Content-Encoding says, and as UTF-8 when Content-Type names another
// charset keyrack reads (InMediaCharset).
func ReadMessage(r io.Reader, h http.Header, max int64) ([]byte, error) {
	b, err := ReadBody(r, h.Get("Content-Encoding"), max)
	if err != nil {
		return nil, err
	}
	return InMediaCharset(withoutBOM(b), h.Get("Content-Type")), nil
}

// withoutBOM is body without a byte order mark: the UTF-8 one (which
// Windows and .NET systems write) dropped, a UTF-16 body (which every XML
// processor must read, XML 1.0 §4.3.3, and which starts with its mark)
// decoded into UTF-8, its declaration then saying UTF-8. Any other body is
// returned as it is.
func withoutBOM(body []byte) []byte {
	switch {
	case bytes.HasPrefix(body, []byte("\xef\xbb\xbf")):
		return body[3:]
	case bytes.HasPrefix(body, []byte("\xff\xfe")), bytes.HasPrefix(body, []byte("\xfe\xff")):
		// The mark says the byte order, and is dropped.
		out, err := unicode.UTF16(unicode.BigEndian, unicode.ExpectBOM).NewDecoder().Bytes(body)
		if err != nil {
			return body
		}
		return declareUTF8(out)
	}
	return body
}

// InMediaCharset is body in UTF-8 when it is not UTF-8 and contentType's
// charset names ISO-8859-1 or windows-1252: the media type's charset is
// authoritative over the XML declaration (RFC 7303), and a sender may give
// it there only (a body with no declaration, or one without an encoding).
// The declaration, if it names an encoding, then says UTF-8. A body that is
// UTF-8 already is left as it is, whatever the header says (a server
// adding charset=utf-8 to a body declaring Latin-1 is read as the body
// declares), and so is one the charset does not decode.
func InMediaCharset(body []byte, contentType string) []byte {
	if utf8.Valid(body) {
		return body
	}
	_, params, err := mime.ParseMediaType(contentType)
	if err != nil || params["charset"] == "" {
		return body
	}
	return decodeAs(body, params["charset"])
}

// decodeAs is body decoded from charset into UTF-8, its XML declaration
// (if it names an encoding) saying UTF-8; body itself when charset is not
// one keyrack reads or does not give UTF-8.
func decodeAs(body []byte, charset string) []byte {
	r, err := charsetReader(charset, bytes.NewReader(body))
	if err != nil {
		return body
	}
	out, err := io.ReadAll(r)
	if err != nil || !utf8.Valid(out) {
		return body
	}
	return declareUTF8(out)
}

// declareUTF8 is a body decoded into UTF-8 with its XML declaration, if it
// names an encoding, saying UTF-8.
func declareUTF8(out []byte) []byte {
	if m := xmlDeclEncoding.FindSubmatchIndex(out); m != nil {
		out = append(append(append([]byte{}, out[:m[2]]...), "UTF-8"...), out[m[3]:]...)
	}
	return out
}

// charsetReader lets bodies declare ISO-8859-1 or windows-1252 (and their
// usual aliases) besides UTF-8. Windows-1252 is read as itself, not as
// Latin-1: its bytes 0x80–0x9F are letters and signs (Š Ž € ’ –) in the
// names Windows systems send, where Latin-1 has control characters.
func charsetReader(charset string, input io.Reader) (io.Reader, error) {
	switch strings.ToLower(strings.TrimSpace(charset)) {
	case "utf-8", "utf8", "us-ascii", "ascii":
		return input, nil
	case "iso-8859-1", "iso8859-1", "iso_8859-1", "latin1", "latin-1", "l1":
		return charmap.ISO8859_1.NewDecoder().Reader(input), nil
	case "windows-1252", "cp1252":
		return charmap.Windows1252.NewDecoder().Reader(input), nil
	}
	return nil, fmt.Errorf("encoding %q is not supported: send UTF-8, ISO-8859-1 or windows-1252", charset)
}

// readTree parses body into an element tree, in one pass: it refuses any
// DOCTYPE (and so every entity trick) and any other directive, nesting deeper
// than maxDepth (etree stops reading there), text outside the root element
// and more than one root, and reports XML that is not well-formed.
// (encoding/xml expands no entity a DTD declares, so the tree is checked once
// read.)
func readTree(body []byte) (*etree.Element, *Error) {
	body = withoutBOM(body)
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, Errorf(TypeProtocol, 0, "empty body: expected an OTA XML message")
	}
	doc := etree.NewDocument()
	doc.ReadSettings = etree.ReadSettings{CharsetReader: charsetReader, MaxDepth: maxDepth}
	if err := doc.ReadFromBytes(body); err != nil {
		switch {
		case errors.Is(err, etree.ErrMaxDepth):
			return nil, Errorf(TypeProtocol, 0, "elements are nested deeper than %d levels", maxDepth)
		case hasDoctype(body):
			// A DTD's entities are undefined to the parser: say why.
			return nil, doctypeRefused()
		}
		return nil, Errorf(TypeProtocol, 0, "not well-formed XML: %v", err)
	}
	roots := 0
	for _, t := range doc.Child {
		switch t := t.(type) {
		case *etree.Element:
			roots++
		case *etree.CharData:
			if strings.TrimSpace(t.Data) != "" {
				return nil, Errorf(TypeProtocol, 0, "text outside the root element: not an XML document")
			}
		}
	}
	if roots != 1 {
		return nil, Errorf(TypeProtocol, 0, "expected one root element, found %d", roots)
	}
	if err := refuseDirectives(&doc.Element); err != nil {
		return nil, err
	}
	return doc.Root(), nil
}

// refuseDirectives refuses any directive (<!DOCTYPE …>, <!ENTITY …>, …) in
// e or below it; the recursion is at most maxDepth deep.
func refuseDirectives(e *etree.Element) *Error {
	for _, t := range e.Child {
		switch t := t.(type) {
		case *etree.Directive:
			if strings.HasPrefix(strings.ToUpper(strings.TrimSpace(t.Data)), "DOCTYPE") {
				return doctypeRefused()
			}
			return Errorf(TypeProtocol, 0, "XML directive <!%.20s…> is refused", t.Data)
		case *etree.Element:
			if err := refuseDirectives(t); err != nil {
				return err
			}
		}
	}
	return nil
}

// hasDoctype reports a DOCTYPE declaration in b.
func hasDoctype(b []byte) bool {
	return bytes.Contains(bytes.ToUpper(b), []byte("<!DOCTYPE"))
}

func doctypeRefused() *Error {
	return Errorf(TypeProtocol, 0, "DOCTYPE declarations are refused: send the message without a DTD")
}

// child is e's first child element with local name tag, in any namespace.
func child(e *etree.Element, tag string) *etree.Element {
	if e == nil {
		return nil
	}
	for _, c := range e.ChildElements() {
		if c.Tag == tag {
			return c
		}
	}
	return nil
}

// path follows local names from e; nil when any step is missing.
func path(e *etree.Element, tags ...string) *etree.Element {
	for _, t := range tags {
		e = child(e, t)
	}
	return e
}

// children are e's child elements with local name tag.
func children(e *etree.Element, tag string) []*etree.Element {
	if e == nil {
		return nil
	}
	var out []*etree.Element
	for _, c := range e.ChildElements() {
		if c.Tag == tag {
			out = append(out, c)
		}
	}
	return out
}

// attr is e's unprefixed attribute name, trimmed ("" when e is nil).
func attr(e *etree.Element, name string) string {
	if e == nil {
		return ""
	}
	for _, a := range e.Attr {
		if a.Key == name && a.Space == "" {
			return strings.TrimSpace(a.Value)
		}
	}
	return ""
}

// text is the character data directly inside e (CDATA included, comments
// skipped), trimmed.
func text(e *etree.Element) string {
	if e == nil {
		return ""
	}
	var b strings.Builder
	for _, t := range e.Child {
		if cd, ok := t.(*etree.CharData); ok {
			b.WriteString(cd.Data)
		}
	}
	return strings.TrimSpace(b.String())
}

// isOTA reports whether e is in the OTA namespace or none.
func isOTA(e *etree.Element) bool {
	ns := e.NamespaceURI()
	return ns == NS || ns == ""
}

// clip keeps s to n runes (schema string lengths, error excerpts).
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n])
}

// MarshalText writes the envelope as ParseEnvelope reads it.
func (e Envelope) MarshalText() ([]byte, error) { return []byte(e.String()), nil }

var xmlDeclEncoding = regexp.MustCompile(`^\s*<\?xml[^>]*?\sencoding\s*=\s*["']([A-Za-z0-9._-]+)["']`)

// AsUTF8 is body as UTF-8 text, for keeping the message as it was sent: a
// body in ISO-8859-1 or windows-1252 (as its XML declaration says) is
// decoded, since stored text must be UTF-8 and its letters would otherwise
// become U+FFFD, and its declaration then says UTF-8, so that the kept text
// reads back as it was meant. Anything else is returned unchanged.
func AsUTF8(body []byte) []byte {
	if utf8.Valid(body) {
		return body
	}
	m := xmlDeclEncoding.FindSubmatch(body)
	if m == nil {
		return body
	}
	return decodeAs(body, string(m[1]))
}

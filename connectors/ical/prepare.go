package ical

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Errors Parse returns for a body that must not be read as a calendar. An
// importer must keep the events of its last good fetch on any of them:
// "no events" from a broken fetch is not "everything was cancelled".
var (
	// ErrEmpty is an empty or whitespace-only body (Booking.com has served
	// one for an empty calendar, but so does a failing server).
	ErrEmpty = errors.New("ical: empty body, not a calendar")
	// ErrNotCalendar is a body that does not start with BEGIN:VCALENDAR:
	// an HTML error page answered with 200, JSON, a login page.
	ErrNotCalendar = errors.New("ical: not an iCalendar feed")
	// ErrTruncated is a calendar without its END:VCALENDAR: the download
	// stopped early, so events may be missing.
	ErrTruncated = errors.New("ical: truncated calendar (no END:VCALENDAR)")
)

// maxDepth bounds component nesting; real feeds need 3
// (VCALENDAR > VEVENT > VALARM).
const maxDepth = 8

// maxParams bounds the parameter part of a content line, in bytes.
const maxParams = 2048

// prepare turns a fetched body into text go-ical decodes without failing
// or panicking on the quirks real feeds have: it strips a BOM, converts
// UTF-16 and ISO-8859-1, accepts CRLF, LF or bare CR, unfolds, drops
// malformed content lines and repairs a missing END of a nested
// component. It refuses what is not a calendar or is cut short.
func prepare(body []byte, warn func(string, ...any)) (string, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return "", ErrEmpty
	}
	text := decodeCharset(body, warn)
	text = strings.ReplaceAll(text, "\r\n", "\n")
	text = strings.ReplaceAll(text, "\r", "\n")

	lines := unfold(text)
	first := ""
	for _, l := range lines {
		if strings.TrimSpace(l) != "" {
			first = strings.TrimSpace(l)
			break
		}
	}
	if name, value, _ := splitBeginEnd(first); name != "BEGIN" || value != "VCALENDAR" {
		return "", fmt.Errorf("%w: %s", ErrNotCalendar, describeStart(first))
	}

	var out strings.Builder
	out.Grow(len(text))
	var stack []string
	dropped, repaired := 0, 0
	trailing := false
	for _, l := range lines {
		if strings.TrimSpace(l) == "" {
			continue
		}
		if name, value, ok := splitBeginEnd(l); ok {
			switch name {
			case "BEGIN":
				if len(stack) == 0 && value != "VCALENDAR" {
					trailing = true
					continue
				}
				if len(stack) >= maxDepth {
					return "", fmt.Errorf("ical: components nested more than %d deep", maxDepth)
				}
				stack = append(stack, value)
				out.WriteString("BEGIN:" + value + "\n")
			case "END":
				i := len(stack) - 1
				for i >= 0 && stack[i] != value {
					i--
				}
				if i < 0 {
					if len(stack) == 0 {
						trailing = true
					} else {
						dropped++
					}
					continue
				}
				for j := len(stack) - 1; j > i; j-- {
					out.WriteString("END:" + stack[j] + "\n")
					repaired++
				}
				stack = stack[:i]
				out.WriteString("END:" + value + "\n")
			}
			continue
		}
		if len(stack) == 0 {
			trailing = true
			continue
		}
		if !validContentLine(l) || isBeginEnd(l) {
			dropped++
			continue
		}
		out.WriteString(l)
		out.WriteByte('\n')
	}
	if len(stack) > 0 {
		return "", ErrTruncated
	}
	if dropped > 0 {
		warn("%d malformed line(s) ignored", dropped)
	}
	if repaired > 0 {
		warn("%d component(s) without their END line closed", repaired)
	}
	if trailing {
		warn("content after END:VCALENDAR ignored")
	}
	return out.String(), nil
}

// decodeCharset returns the body as UTF-8 text. RFC 5545 says UTF-8, but
// older exporters write ISO-8859-1 and a few Windows tools UTF-16.
func decodeCharset(b []byte, warn func(string, ...any)) string {
	switch {
	case bytes.HasPrefix(b, []byte{0xEF, 0xBB, 0xBF}):
		b = b[3:]
	case len(b) >= 2 && (b[0] == 0xFF && b[1] == 0xFE || b[0] == 0xFE && b[1] == 0xFF):
		big := b[0] == 0xFE
		b = b[2:]
		u := make([]uint16, len(b)/2)
		for i := range u {
			if big {
				u[i] = uint16(b[2*i])<<8 | uint16(b[2*i+1])
			} else {
				u[i] = uint16(b[2*i+1])<<8 | uint16(b[2*i])
			}
		}
		return string(utf16.Decode(u))
	}
	if utf8.Valid(b) {
		return string(b)
	}
	// Unfolding is defined on octets (RFC 5545 §3.1): an exporter that
	// folds inside a UTF-8 character gives valid UTF-8 once unfolded.
	if u := unfoldBytes(b); utf8.Valid(u) {
		return string(u)
	}
	warn("body is not UTF-8: read as ISO-8859-1")
	r := make([]rune, len(b))
	for i, c := range b {
		r[i] = rune(c)
	}
	return string(r)
}

// unfoldBytes removes every fold (a line break, CRLF, LF or CR, followed
// by a space or a tab) from b.
func unfoldBytes(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		if c := b[i]; c == '\r' || c == '\n' {
			j := i + 1
			if c == '\r' && j < len(b) && b[j] == '\n' {
				j++
			}
			if j < len(b) && (b[j] == ' ' || b[j] == '\t') {
				i = j
				continue
			}
		}
		out = append(out, b[i])
	}
	return out
}

// unfold joins folded lines (a line break followed by a space or a tab).
// A broken fold that lost its leading space becomes a line of its own, which
// validContentLine then usually drops.
func unfold(text string) []string {
	phys := strings.Split(text, "\n")
	out := make([]string, 0, len(phys))
	// A builder per logical line: a feed of a million continuation lines
	// must not cost a million copies of a growing string.
	var cur strings.Builder
	started := false
	for _, l := range phys {
		if len(l) > 0 && (l[0] == ' ' || l[0] == '\t') && started {
			cur.WriteString(l[1:])
			continue
		}
		if started {
			out = append(out, cur.String())
			cur.Reset()
		}
		cur.WriteString(l)
		started = true
	}
	if started {
		out = append(out, cur.String())
	}
	return out
}

// splitBeginEnd recognises BEGIN:x and END:x lines, tolerating case and
// surrounding spaces, and returns the upper-cased name and value.
func splitBeginEnd(l string) (name, value string, ok bool) {
	i := strings.IndexByte(l, ':')
	if i < 0 {
		return "", "", false
	}
	name = strings.ToUpper(strings.TrimSpace(l[:i]))
	if name != "BEGIN" && name != "END" {
		return "", "", false
	}
	value = strings.ToUpper(strings.TrimSpace(l[i+1:]))
	if value == "" || !isName(value) {
		return "", "", false
	}
	return name, value, true
}

// isBeginEnd reports whether l is a BEGIN or END line that splitBeginEnd
// did not accept (BEGIN with parameters or a junk value): passing one to
// go-ical would open a component that never closes.
func isBeginEnd(l string) bool {
	i := strings.IndexAny(l, ";:")
	if i < 0 {
		return false
	}
	n := strings.ToUpper(strings.TrimSpace(l[:i]))
	return n == "BEGIN" || n == "END"
}

// isName reports whether s is an iana-token or x-name (letters, digits,
// dashes; underscores tolerated).
func isName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// validContentLine checks a line against the content-line grammar go-ical
// decodes (name *(";" param) ":" value), so that the decoder neither fails
// on a whole feed for one bad line nor panics (it does on a parameter
// value that is not followed by ';', ',' or ':').
func validContentLine(l string) bool {
	i := strings.IndexAny(l, ";:")
	if i <= 0 || !isName(l[:i]) {
		return false
	}
	s := l[i:]
	if colon := strings.IndexByte(s, ':'); colon > maxParams || colon < 0 && len(s) > maxParams {
		// go-ical builds parameter values a byte at a time (quadratic);
		// no real feed has kilobytes of parameters.
		return false
	}
	for len(s) > 0 && s[0] == ';' {
		s = s[1:]
		eq := strings.IndexByte(s, '=')
		if eq <= 0 || !isName(s[:eq]) {
			return false
		}
		s = s[eq+1:]
		for {
			if len(s) > 0 && s[0] == '"' {
				end := strings.IndexByte(s[1:], '"')
				if end < 0 {
					return false
				}
				s = s[end+2:]
			} else {
				end := strings.IndexAny(s, "\";,:")
				if end < 0 || s[end] == '"' {
					return false
				}
				s = s[end:]
			}
			if len(s) == 0 {
				return false
			}
			if s[0] == ',' {
				s = s[1:]
				continue
			}
			if s[0] != ';' && s[0] != ':' {
				return false
			}
			break
		}
	}
	return len(s) > 0 && s[0] == ':'
}

// describeStart says what a body that is not a calendar looks like, for the
// error an operator reads.
func describeStart(first string) string {
	snippet := first
	if len(snippet) > 40 {
		snippet = snippet[:40]
		for len(snippet) > 0 && !utf8.ValidString(snippet) {
			snippet = snippet[:len(snippet)-1]
		}
		snippet += "…"
	}
	lower := strings.ToLower(first)
	switch {
	case strings.HasPrefix(lower, "<!doctype html") || strings.HasPrefix(lower, "<html") || strings.Contains(lower, "<head") || strings.Contains(lower, "<body"):
		return fmt.Sprintf("got an HTML page (%q)", snippet)
	case strings.HasPrefix(lower, "<"):
		return fmt.Sprintf("got markup (%q)", snippet)
	case strings.HasPrefix(lower, "{") || strings.HasPrefix(lower, "["):
		return fmt.Sprintf("got JSON (%q)", snippet)
	default:
		return fmt.Sprintf("it starts with %q", snippet)
	}
}

package ical

import (
	"strings"
	"unicode/utf8"
)

// EscapeText escapes a TEXT value (RFC 5545 §3.3.11): backslash, semicolon,
// comma and newline. Carriage returns are dropped, since a bare CR would
// break the content line.
func EscapeText(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch r {
		case '\\', ';', ',':
			b.WriteByte('\\')
			b.WriteRune(r)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// unescapeText undoes the escapes that are valid and keeps anything else as
// it came: feeds write `\:` or a lone trailing backslash, and a platform's
// bad escaping must not cost us the event (go-ical's Text() fails on them).
// Unescaped commas stay, so "-//HomeAway.com, Inc.//EN" is read whole.
func unescapeText(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 == len(s) {
			b.WriteByte(c)
			continue
		}
		switch n := s[i+1]; n {
		case '\\', ';', ',':
			b.WriteByte(n)
			i++
		case 'n', 'N':
			b.WriteByte('\n')
			i++
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// FoldLine returns one content line folded at 75 octets (RFC 5545 §3.1),
// continuation lines starting with a space, each line ended by CRLF. It
// never splits a UTF-8 sequence, so every physical line stays valid UTF-8.
func FoldLine(line string) string {
	const limit = 75
	if len(line) <= limit {
		return line + "\r\n"
	}
	var b strings.Builder
	b.Grow(len(line) + len(line)/70*3 + 2)
	room := limit // octets allowed on the current physical line
	for len(line) > 0 {
		if len(line) <= room {
			b.WriteString(line)
			break
		}
		cut := room
		for cut > 0 && !utf8.RuneStart(line[cut]) {
			cut--
		}
		if cut == 0 { // not reachable with valid UTF-8; keep progress anyway
			cut = room
		}
		b.WriteString(line[:cut])
		b.WriteString("\r\n ")
		line = line[cut:]
		room = limit - 1 // the leading space counts
	}
	b.WriteString("\r\n")
	return b.String()
}

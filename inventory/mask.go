package inventory

import (
	"bytes"
	"encoding/json"
	"slices"
	"strconv"
	"unicode"
	"unicode/utf8"
)

// Card data masking (PCI DSS): every raw booking payload (OTA XML, JSON from a
// PMS, iCal, log lines) goes through MaskCardData before it is stored or
// logged. Credentials a sender puts in the payload (a WS-Security Password,
// a POS MessagePassword, a JSON "password" or "…secret") are masked with
// the secrets below: keyrack keeps channels' secrets as hashes or sealed,
// and a stored message must not give them away.
//
// Two passes run over the bytes; neither parses the document, so a payload
// that is truncated, malformed or a mix of formats (XML inside a JSON string,
// JSON inside CDATA, a log line quoting either) is still masked.
//
//  1. Named values. A value whose name says it is card data is masked
//     whatever it looks like. Names are compared case-insensitively with
//     '_', '-', '.' and a single space between two words ignored, and an XML
//     namespace prefix dropped:
//     - card numbers: CardNumber / card_number / cardNumber (and any name
//     ending in "cardnumber", "cardnum" or "cardno", except loyalty,
//     membership, ID and key cards and names starting with "masked"), PAN,
//     PrimaryAccountNumber, cc_number: every letter and digit becomes 'X',
//     except that the last 4 digits stay visible when the value is at least
//     12 characters long;
//     - secrets, replaced by "***": card security codes (SeriesCode, CVV, CVV2,
//     CVC, CVC2, CVN, CSC, SecurityCode, CardSecurityCode, security_code,
//     series_code, ...), magnetic stripe data (Track1, Track2, Track3,
//     TrackData, MagneticStripe), 3-D Secure values (CAVV,
//     AuthenticationValue, XID, UCAF, AAV) and credentials (any name ending
//     in password, passwd or secret).
//     The value is found where the syntax puts it: an XML attribute
//     (Name="v", Name='v', or Name=\"v\" inside a JSON string); an element's
//     text and CDATA sections, and the text of a PlainText child
//     (<CardNumber><PlainText>v</PlainText></CardNumber>, same for
//     SeriesCode); a JSON field ("name": "v", "name": 1234 — a bare number
//     becomes a string so the JSON stays valid —, or every string and number
//     inside "name": {...} / [...]); a plain-text "name: v" / "name=v" (query
//     strings, log lines, YAML). Surrounding white space is kept.
//  2. Primary account numbers anywhere. A run of 13 to 19 digits, either
//     unbroken or in groups separated by single spaces or dashes, that passes
//     the Luhn check keeps its last 4 digits and has every other digit
//     replaced by 'X' (separators kept). The run must not touch another digit
//     (so longer numbers are left alone), and a grouped run must look like a
//     printed card number: a first group of exactly 4 digits, then groups of
//     3 to 6 digits (4-4-4-4, 4-4-4-4-3, 4-6-5, 4-6-4, 4-3-3-3, ...), so
//     dates (2026-11-22), phone numbers and lists of room numbers are not
//     taken for card numbers. A run of several groups is tried window by
//     window, so a card number next to a date or a phone number is still
//     found. In a JSON document (an object or an array) a masked bare
//     number is turned into a string.
//
// Only bytes inside values change; markup, names, quotes and separators are
// untouched, so a well-formed XML or JSON document stays well-formed. A
// masked card number keeps its length (except that an XML entity or a JSON
// escape in a named card number becomes a single X, and a masked bare JSON
// number gains its two quotes); only "***" replacements otherwise change a
// value's length. Masking is idempotent: MaskCardData(MaskCardData(x)) equals
// MaskCardData(x).
//
// Everything is a linear scan (no regular expressions, no backtracking);
// the look-ahead done for one name is bounded, so the cost stays linear in the
// size of the payload.

// MaskCardString is MaskCardData for strings.
func MaskCardString(s string) string {
	return string(MaskCardData([]byte(s)))
}

// MaskAndCut is s with card data masked, and cut to at most max bytes (and
// a note saying so) when longer. Masking comes first: a card number a cut
// splits is no longer one masking recognises. A cut that would end in digits
// drops them, with the groups they continue ("4111 1111 11"): they may be
// the first digits of a number that was not a card number only because of
// what came after it. The cut never splits a UTF-8 character.
func MaskAndCut(s string, max int) string {
	masked := MaskCardString(s)
	if len(masked) <= max {
		return masked
	}
	end := max
	for end > 0 && !utf8.RuneStart(masked[end]) {
		end--
	}
	for end > 0 && maskIsDigit(masked[end-1]) {
		end--
		if end > 1 && maskIsDigit(masked[end-1]) {
			continue
		}
		if end > 1 && (masked[end-1] == ' ' || masked[end-1] == '-') && maskIsDigit(masked[end-2]) {
			end--
		}
	}
	return masked[:end] + "\n[… cut: the message had " + strconv.Itoa(len(s)) + " bytes]"
}

// MaskCardData returns a copy of raw with card numbers, card security codes,
// magnetic stripe data and 3-D Secure cryptograms masked; raw itself is not
// modified. A nil raw gives nil. See the comment at the top of mask.go for the
// exact rules.
func MaskCardData(raw []byte) []byte {
	if raw == nil {
		return nil
	}
	out := maskCardDataOnce(raw)
	if bytes.Equal(out, raw) {
		return out // nothing to mask: a fixed point
	}
	// On well-formed input one round is a fixed point already; on broken
	// input a mask can change how the bytes around it read (a quote or an
	// entity closing differently). Going on until nothing changes makes
	// MaskCardData idempotent, which stored payloads rely on (masking twice
	// must not change what was stored).
	for range maskMaxRounds {
		next := maskCardDataOnce(out)
		if bytes.Equal(next, out) {
			break
		}
		out = next
	}
	return out
}

// maskCardDataOnce runs both passes once; it returns a new slice.
func maskCardDataOnce(raw []byte) []byte {
	out := maskNamedCardValues(raw)
	// Masking a window of a digit run can leave the visible last 4 digits next
	// to digits that were never part of a window; re-run the (cheap) PAN pass
	// until nothing changes.
	for range maskMaxPANPasses {
		next, changed := maskCardNumberRuns(out)
		if !changed {
			break
		}
		out = next
	}
	return out
}

// cardMaskClass is what a named value holds.
type cardMaskClass uint8

const (
	cardMaskNone   cardMaskClass = iota
	cardMaskPAN                  // card number: X all but the last 4 digits
	cardMaskSecret               // security code, track data, 3-D Secure value: ***
)

const (
	maskMaxNameLen   = 64       // longer identifiers are never card field names
	maskMaxValueLen  = 8 << 10  // longest quoted or unquoted value that is masked
	maskMaxScanBytes = 64 << 10 // look-ahead for an element's content or a JSON object
	maskMaxScanTags  = 32       // tags visited while looking at an element's content
	maskMaxPANPasses = 3
	maskMaxRounds    = 3
	maskMinPANDigits = 13
	maskMaxPANDigits = 19
	maskKeepDigits   = 4
	maskKeepMinLen   = 12 // a named card number shows its last 4 digits only from this length on
)

var maskSecret = []byte("***")

var (
	// Names (normalized: lower case, no '_', '-', '.' or ' ') of card numbers.
	maskPANNames    = []string{"pan", "primaryaccountnumber", "ccnumber", "ccnum", "ccno", "ccnr"}
	maskPANSuffixes = []string{"cardnumber", "cardnum", "cardno", "cardnr"}
	// Card numbers that are not payment cards.
	maskPANNotPrefixes = []string{"loyalty", "membership", "member", "frequentflyer", "id", "identity", "national", "key", "roomkey"}
	// Names of secrets.
	maskSecretNames    = []string{"cvn", "cvn2", "csc", "xid", "ucaf", "aav", "threedsxid", "threedsecurexid", "3dsxid", "tdsxid"}
	maskSecretSuffixes = []string{
		"cvv", "cvv2", "cvc", "cvc2", "seriescode", "securitycode", "cardverificationcode", "verificationvalue",
		"track1", "track2", "track3", "trackdata", "track1data", "track2data", "track3data", "magneticstripe", "magstripe",
		"cavv", "authenticationvalue",
		// Credentials a sender puts in the payload (WS-Security's Password,
		// the POS RequestorID's MessagePassword, a JSON "secret"): kept, they
		// would let whoever reads a stored message act as the channel.
		"password", "passwd", "secret",
	}
	// Second words of two-word plain-text names ("card number", "security code").
	maskTailWords = []string{"number", "num", "no", "nr", "code", "value", "stripe", "data"}
)

// maskClassify says what the value of the identifier name holds.
func maskClassify(name ...[]byte) cardMaskClass {
	var buf [maskMaxNameLen]byte
	n := 0
	for _, part := range name {
		for _, c := range part {
			switch {
			case c == '_' || c == '-' || c == '.' || c == ' ':
				continue
			case 'A' <= c && c <= 'Z':
				c += 'a' - 'A'
			}
			if n == len(buf) {
				return cardMaskNone
			}
			buf[n] = c
			n++
		}
	}
	if n < 3 || !maskNameEnds.has(buf[n-2], buf[n-1]) {
		return cardMaskNone
	}
	s := string(buf[:n]) // does not escape: compared only
	if slices.Contains(maskPANNames, s) {
		return cardMaskPAN
	}
	for _, suf := range maskPANSuffixes {
		if len(s) >= len(suf) && s[len(s)-len(suf):] == suf {
			prefix := s[:len(s)-len(suf)]
			if slices.Contains(maskPANNotPrefixes, prefix) || len(prefix) >= 6 && prefix[:6] == "masked" {
				return cardMaskNone
			}
			return cardMaskPAN
		}
	}
	if slices.Contains(maskSecretNames, s) {
		return cardMaskSecret
	}
	for _, suf := range maskSecretSuffixes {
		if len(s) >= len(suf) && s[len(s)-len(suf):] == suf {
			return cardMaskSecret
		}
	}
	return cardMaskNone
}

// maskNameEnds holds the last two bytes of every card field name and
// suffix: a quick rejection of most identifiers.
var maskNameEnds = func() (set maskBytePairs) {
	for _, list := range [][]string{maskPANNames, maskPANSuffixes, maskSecretNames, maskSecretSuffixes} {
		for _, name := range list {
			set.add(name[len(name)-2], name[len(name)-1])
		}
	}
	return set
}()

// maskBytePairs is a set of byte pairs.
type maskBytePairs [1 << 16 / 64]uint64

func (s *maskBytePairs) add(a, b byte) {
	i := uint(a)<<8 | uint(b)
	s[i/64] |= 1 << (i % 64)
}

func (s *maskBytePairs) has(a, b byte) bool {
	i := uint(a)<<8 | uint(b)
	return s[i/64]&(1<<(i%64)) != 0
}

func maskIsTailWord(w []byte) bool {
	for _, t := range maskTailWords {
		if len(w) == len(t) && bytes.EqualFold(w, []byte(t)) {
			return true
		}
	}
	return false
}

func maskIsNameByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-' || c == '.'
}

func maskIsDigit(c byte) bool { return '0' <= c && c <= '9' }

func maskIsHex(b []byte) bool {
	for _, c := range b {
		if !maskIsDigit(c) && !('a' <= c && c <= 'f') && !('A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

func maskIsSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// maskEdit replaces src[start:end] with repl.
type maskEdit struct {
	start, end int
	repl       []byte
}

// namedMasker is the state of the named-values pass over src.
type namedMasker struct {
	src   []byte
	edits []maskEdit
}

// maskNamedCardValues is pass 1: it masks the values of card fields. It always
// returns a new slice.
func maskNamedCardValues(src []byte) []byte {
	m := namedMasker{src: src}
	prevStart, prevEnd := -1, -1
	for i := 0; i < len(src); {
		if !maskIsNameByte(src[i]) {
			i++
			continue
		}
		start := i
		for i < len(src) && maskIsNameByte(src[i]) {
			i++
		}
		end := i
		if end-start > maskMaxNameLen {
			prevStart = -1
			continue
		}
		nameStart := start
		class := maskClassify(src[start:end])
		if class == cardMaskNone && prevStart >= 0 && prevEnd == start-1 && src[prevEnd] == ' ' && maskIsTailWord(src[start:end]) {
			if class = maskClassify(src[prevStart:prevEnd], src[start:end]); class != cardMaskNone {
				nameStart = prevStart
			}
		}
		prevStart, prevEnd = start, end
		if class != cardMaskNone {
			if next := m.maskAfterName(nameStart, end, class); next > i {
				i = next
				prevStart = -1
			}
		}
	}
	return m.apply()
}

// apply returns a copy of src with the edits applied; an edit overlapping an
// earlier (or, at the same start, longer) one is dropped.
func (m *namedMasker) apply() []byte {
	if len(m.edits) == 0 {
		return bytes.Clone(m.src)
	}
	slices.SortStableFunc(m.edits, func(a, b maskEdit) int {
		if a.start != b.start {
			return a.start - b.start
		}
		return b.end - a.end
	})
	out := make([]byte, 0, len(m.src)+8)
	last := 0
	for _, e := range m.edits {
		if e.start < last {
			continue
		}
		out = append(out, m.src[last:e.start]...)
		out = append(out, e.repl...)
		last = e.end
	}
	return append(out, m.src[last:]...)
}

func (m *namedMasker) add(start, end int, repl []byte) {
	if !bytes.Equal(m.src[start:end], repl) {
		m.edits = append(m.edits, maskEdit{start, end, repl})
	}
}

func (m *namedMasker) skipSpace(p int) int {
	for p < len(m.src) && maskIsSpace(m.src[p]) {
		p++
	}
	return p
}

// quoteAt returns the quote delimiter starting at p: ", ' or a quote escaped
// by backslashes (\" inside a JSON string), or nil.
func (m *namedMasker) quoteAt(p int) []byte {
	q := p
	for q < len(m.src) && m.src[q] == '\\' && q-p < 7 {
		q++
	}
	if q < len(m.src) && (m.src[q] == '"' || m.src[q] == '\'') {
		return m.src[p : q+1]
	}
	return nil
}

// closeQuote returns the index of the delimiter closing a value that starts
// at p, or -1. With escapes, a backslash escapes the next character (JSON);
// without, the value ends at the first delimiter and cannot hold '<' (XML).
func (m *namedMasker) closeQuote(p int, delim []byte, escapes bool) int {
	src := m.src
	limit := min(len(src), p+maskMaxValueLen)
	k := len(delim) - 1 // backslashes in the delimiter
	quote := delim[k]
	for i := p; i < limit; i++ {
		c := src[i]
		switch {
		case c == '<' && !escapes && k == 0:
			return -1
		case k == 0 && escapes && c == '\\':
			i++
		case c == quote:
			b := 0 // backslashes right before the quote
			for j := i - 1; j >= p && src[j] == '\\'; j-- {
				b++
			}
			switch {
			case k == 0 && (!escapes || b%2 == 0),
				k == 1 && b%4 == 1,
				k > 1 && b == k:
				return i - k
			}
		}
	}
	return -1
}

// maskAfterName masks the value that follows the card field name
// src[start:end], if any, and returns where scanning may resume (end if the
// value's content may hold more names to look at).
func (m *namedMasker) maskAfterName(start, end int, class cardMaskClass) int {
	src := m.src
	// An XML start tag <Name or <ns:Name; an end tag has nothing to mask.
	pre := start
	if pre > 1 && src[pre-1] == ':' && maskIsNameByte(src[pre-2]) {
		pre--
		for pre > 0 && maskIsNameByte(src[pre-1]) {
			pre--
		}
	}
	if pre > 0 && src[pre-1] == '<' {
		if end == len(src) || maskIsSpace(src[end]) || src[end] == '>' || src[end] == '/' {
			m.maskElement(end, class)
		}
		return end
	}
	if pre > 1 && src[pre-1] == '/' && src[pre-2] == '<' {
		return end
	}

	// A quoted name: a JSON (or Python, or JSON-in-JSON) key.
	p := end
	var keyQuote []byte
	if start > 0 && (src[start-1] == '"' || src[start-1] == '\'') {
		q := start - 1
		for q > 0 && src[q-1] == '\\' && start-1-q < 7 {
			q--
		}
		if d := src[q:start]; bytes.HasPrefix(src[end:], d) {
			keyQuote = d
			p = end + len(d)
		}
	}
	p = m.skipSpace(p)
	if p >= len(src) || src[p] != ':' && src[p] != '=' {
		return end
	}
	sep := src[p]
	p = m.skipSpace(p + 1)
	if p >= len(src) {
		return end
	}

	if delim := m.quoteAt(p); delim != nil {
		escapes := sep == ':' || len(delim) > 1
		vs := p + len(delim)
		ve := m.closeQuote(vs, delim, escapes)
		if ve < 0 {
			return end
		}
		m.maskText(vs, ve, class)
		return ve + len(delim)
	}
	c := src[p]
	if keyQuote != nil && sep == ':' {
		switch {
		case (c == '{' || c == '[') && len(keyQuote) == 1 && keyQuote[0] == '"':
			return m.maskJSONNested(p, class)
		case c == '-' || maskIsDigit(c):
			if te := m.numberEnd(p); te > p {
				m.add(p, te, m.quotedNumber(src[p:te], keyQuote, class))
				return te
			}
		}
		return end
	}
	if keyQuote == nil {
		return m.maskPlainValue(p, class, end)
	}
	return end
}

// numberEnd returns the end of the JSON number starting at p, or -1 if what
// starts at p is not a number followed by the end of a JSON value.
func (m *namedMasker) numberEnd(p int) int {
	for p < len(m.src) && (maskIsDigit(m.src[p]) || bytes.IndexByte([]byte("+-.eE"), m.src[p]) >= 0) {
		p++
	}
	if p < len(m.src) && !maskIsSpace(m.src[p]) && bytes.IndexByte([]byte(",}]"), m.src[p]) < 0 {
		return -1
	}
	return p
}

// quotedNumber masks a bare JSON number and makes it a string.
func (m *namedMasker) quotedNumber(num, quote []byte, class cardMaskClass) []byte {
	out := slices.Clone(quote)
	if class == cardMaskSecret {
		out = append(out, maskSecret...)
	} else {
		out = append(out, maskPANValue(num)...)
	}
	return append(out, quote...)
}

// maskPlainValue masks an unquoted value after "name:" or "name=" (plain
// text, query strings): digits with single space or dash separators for a
// card number, a token holding a digit for a secret.
func (m *namedMasker) maskPlainValue(p int, class cardMaskClass, resume int) int {
	src := m.src
	e := p
	switch class {
	case cardMaskPAN:
		if !maskIsDigit(src[p]) {
			return resume
		}
		digits := 0
		for e < len(src) {
			g := e
			for g < len(src) && maskIsDigit(src[g]) {
				g++
			}
			if e > p && digits+g-e > maskMaxPANDigits {
				e-- // leave the separator and the next group alone
				break
			}
			digits += g - e
			e = g
			if e+1 < len(src) && (src[e] == ' ' || src[e] == '-') && maskIsDigit(src[e+1]) {
				e++
				continue
			}
			break
		}
	case cardMaskSecret:
		hasDigit := false
		for e < len(src) && e-p < maskMaxValueLen {
			c := src[e]
			if !maskIsNameByte(c) && c != '+' && c != '/' && c != '=' && c != '%' {
				break
			}
			hasDigit = hasDigit || maskIsDigit(c)
			e++
		}
		for e > p && src[e-1] == '.' {
			e--
		}
		if !hasDigit {
			return resume
		}
	}
	if e == p {
		return resume
	}
	m.maskText(p, e, class)
	return e
}

// maskText masks the value src[vs:ve], leaving surrounding white space (and
// JSON-escaped white space) alone. A value holding a bare double quote is
// left alone: it is not a value but a mis-read of the document's structure.
func (m *namedMasker) maskText(vs, ve int, class cardMaskClass) {
	src := m.src
	for vs < ve {
		if maskIsSpace(src[vs]) {
			vs++
		} else if vs+1 < ve && src[vs] == '\\' && (src[vs+1] == 'n' || src[vs+1] == 'r' || src[vs+1] == 't') {
			vs += 2
		} else {
			break
		}
	}
	for ve > vs {
		if maskIsSpace(src[ve-1]) {
			ve--
		} else if ve-2 >= vs && src[ve-2] == '\\' && (src[ve-1] == 'n' || src[ve-1] == 'r' || src[ve-1] == 't') {
			ve -= 2
		} else {
			break
		}
	}
	if vs == ve {
		return
	}
	for i := vs; i < ve; i++ {
		if src[i] == '\\' {
			i++
		} else if src[i] == '"' {
			return
		}
	}
	if class == cardMaskSecret {
		m.add(vs, ve, maskSecret)
	} else {
		m.add(vs, ve, maskPANValue(src[vs:ve]))
	}
}

// maskPANValue masks a named card number: every letter and digit (and every
// XML entity, '&' or JSON escape) becomes 'X', except the last 4 digits when the
// value has at least 12 characters; other characters (separators) stay.
func maskPANValue(v []byte) []byte {
	type unit struct {
		start, end int
		digit      bool
		mask       bool
	}
	var units []unit
	for i := 0; i < len(v); {
		u := unit{start: i}
		c := v[i]
		switch {
		case c == '&':
			// Up to 12 characters (counted in runes, so that masking
			// cannot turn a non-entity into one) and a ';'.
			j := i + 1
			for runes := 0; j < len(v) && runes < 12 && !maskIsSpace(v[j]) && bytes.IndexByte([]byte(";&<>\"'"), v[j]) < 0; runes++ {
				_, size := utf8.DecodeRune(v[j:])
				j += size
			}
			if j < len(v) && j > i+1 && v[j] == ';' {
				u.end = j + 1
			} else {
				u.end = i + 1 // a bare '&' is masked too, so no entity can appear
			}
			u.mask = true
		case c == '\\' && i+1 < len(v):
			_, size := utf8.DecodeRune(v[i+1:])
			u.end, u.mask = i+1+size, true
			if v[i+1] == 'u' && i+6 <= len(v) && maskIsHex(v[i+2:i+6]) {
				u.end = i + 6
			}
		case maskIsDigit(c):
			u.end, u.digit, u.mask = i+1, true, true
		}
		if u.end == 0 {
			r, size := utf8.DecodeRune(v[i:])
			u.end, u.mask = i+size, unicode.IsLetter(r) || unicode.IsDigit(r)
		}
		units = append(units, u)
		i = u.end
	}
	if len(units) >= maskKeepMinLen {
		kept := 0
		for i := len(units) - 1; i >= 0 && kept < maskKeepDigits; i-- {
			if units[i].digit {
				units[i].mask = false
				kept++
			}
		}
	}
	out := make([]byte, 0, len(v))
	for _, u := range units {
		if u.mask {
			out = append(out, 'X')
		} else {
			out = append(out, v[u.start:u.end]...)
		}
	}
	return out
}

// tagEnd returns the index of the '>' ending the tag whose name ends at p
// (quotes respected), or -1.
func (m *namedMasker) tagEnd(p, limit int) int {
	var quote byte
	for ; p < limit; p++ {
		c := m.src[p]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '>':
			return p
		case c == '<':
			return -1
		}
	}
	return -1
}

// maskElement masks the content of the element whose start tag name ends at
// p: its text and CDATA sections, and those of PlainText children; other
// children are skipped (the scan for names looks at them on its own).
func (m *namedMasker) maskElement(p int, class cardMaskClass) {
	src := m.src
	limit := min(len(src), p+maskMaxScanBytes)
	gt := m.tagEnd(p, limit)
	if gt < 0 || src[gt-1] == '/' {
		return
	}
	tags := 0
	m.maskContent(gt+1, limit, class, true, &tags)
}

// maskContent masks element content starting at p up to its end tag.
func (m *namedMasker) maskContent(p, limit int, class cardMaskClass, children bool, tags *int) int {
	src := m.src
	for p < limit {
		lt := bytes.IndexByte(src[p:limit], '<')
		if lt < 0 {
			return -1 // no end tag in sight: do not guess where the value ends
		}
		lt += p
		m.maskText(p, lt, class)
		p = lt
		rest := src[p:limit]
		switch {
		case bytes.HasPrefix(rest, []byte("<!--")):
			e := bytes.Index(rest, []byte("-->"))
			if e < 0 {
				return -1
			}
			p += e + 3
		case bytes.HasPrefix(rest, []byte("<![CDATA[")):
			e := bytes.Index(rest, []byte("]]>"))
			if e < 0 {
				return -1
			}
			m.maskText(p+9, p+e, class)
			p += e + 3
		case bytes.HasPrefix(rest, []byte("<?")):
			e := bytes.Index(rest, []byte("?>"))
			if e < 0 {
				return -1
			}
			p += e + 2
		case bytes.HasPrefix(rest, []byte("</")):
			return p
		default:
			*tags++
			if !children || *tags > maskMaxScanTags {
				return -1
			}
			ns := p + 1
			ne := ns
			for ne < limit && (maskIsNameByte(src[ne]) || src[ne] == ':') {
				ne++
			}
			if ne == ns {
				return -1
			}
			local := src[ns:ne]
			if i := bytes.LastIndexByte(local, ':'); i >= 0 {
				local = local[i+1:]
			}
			gt := m.tagEnd(ne, limit)
			if gt < 0 {
				return -1
			}
			p = gt + 1
			if src[gt-1] == '/' {
				continue
			}
			var end int
			if bytes.EqualFold(local, []byte("PlainText")) {
				end = m.maskContent(p, limit, class, false, tags)
			} else {
				end = m.skipContent(p, limit, tags)
			}
			if end < 0 {
				return -1
			}
			gt = m.tagEnd(end+2, limit)
			if gt < 0 {
				return -1
			}
			p = gt + 1
		}
	}
	return -1
}

// skipContent returns the index of the end tag closing the element whose
// content starts at p, or -1.
func (m *namedMasker) skipContent(p, limit int, tags *int) int {
	src := m.src
	depth := 0
	for p < limit {
		lt := bytes.IndexByte(src[p:limit], '<')
		if lt < 0 {
			return -1
		}
		p += lt
		rest := src[p:limit]
		if len(rest) < 2 {
			return -1
		}
		var e int
		switch {
		case bytes.HasPrefix(rest, []byte("<!--")):
			e = bytes.Index(rest, []byte("-->")) + 3
		case bytes.HasPrefix(rest, []byte("<![CDATA[")):
			e = bytes.Index(rest, []byte("]]>")) + 3
		case bytes.HasPrefix(rest, []byte("<?")) || bytes.HasPrefix(rest, []byte("<!")):
			e = bytes.IndexByte(rest, '>') + 1
		default:
			*tags++
			if *tags > maskMaxScanTags {
				return -1
			}
			closing := rest[1] == '/'
			if closing && depth == 0 {
				return p
			}
			e = m.tagEnd(p+1, limit) - p + 1
			if e <= 0 {
				return -1
			}
			switch {
			case closing:
				depth--
			case src[p+e-2] != '/':
				depth++
			}
		}
		if e <= 2 {
			return -1
		}
		p += e
	}
	return -1
}

// maskJSONNested masks every string and number value (not the keys) of the
// JSON object or array starting at p and returns its end.
func (m *namedMasker) maskJSONNested(p int, class cardMaskClass) int {
	src := m.src
	limit := min(len(src), p+maskMaxScanBytes)
	quote := []byte{'"'}
	depth := 0
	edits := len(m.edits)
	defer func() {
		if depth != 0 { // not closed: not JSON after all, undo
			m.edits = m.edits[:edits]
		}
	}()
	for i := p; i < limit; {
		c := src[i]
		switch {
		case c == '{' || c == '[':
			depth++
			i++
		case c == '}' || c == ']':
			depth--
			i++
			if depth == 0 {
				return i
			}
		case c == '"':
			e := m.closeQuote(i+1, quote, true)
			if e < 0 {
				depth = -1
				return p
			}
			if k := m.skipSpace(e + 1); k >= len(src) || src[k] != ':' {
				m.maskText(i+1, e, class)
			}
			i = e + 1
		case c == '-' || maskIsDigit(c):
			e := m.numberEnd(i)
			if e < 0 { // not a number: skip what looked like one
				for i++; i < limit && maskIsDigit(src[i]); i++ {
				}
				continue
			}
			m.add(i, e, m.quotedNumber(src[i:e], quote, class))
			i = e
		default:
			i++
		}
	}
	return p
}

// cardRunScanner is the state of the card-number pass.
type cardRunScanner struct {
	groups [][2]int // digit groups of the current run
	mask   []bool   // per digit of the run: replace with X
}

// maskCardNumberRuns is pass 2: it masks Luhn-valid card numbers anywhere. It
// returns src itself when nothing was masked.
func maskCardNumberRuns(src []byte) ([]byte, bool) {
	var s cardRunScanner
	var out []byte
	last := 0
	// Track JSON strings so that a masked bare number can be quoted.
	maybeJSON := false
	if t := bytes.TrimLeft(src, " \t\r\n\ufeff"); len(t) > 0 && (t[0] == '{' || t[0] == '[') {
		maybeJSON = true
	}
	validJSON := -1 // unknown
	inString := false
	for i := 0; i < len(src); {
		c := src[i]
		if maybeJSON && c == '"' {
			inString = !inString
			i++
			continue
		}
		if maybeJSON && inString && c == '\\' {
			i++
			if i < len(src) && !maskIsDigit(src[i]) {
				i++
			}
			continue
		}
		if !maskIsDigit(c) {
			i++
			continue
		}
		runEnd := s.scanRun(src, i)
		if !s.findWindows(src) {
			i = runEnd
			continue
		}
		tokStart, tokEnd := i, runEnd
		quote := false
		if maybeJSON && !inString {
			if validJSON < 0 {
				validJSON = 0
				if json.Valid(src) {
					validJSON = 1
				}
			}
			if quote = validJSON == 1; quote {
				if tokStart > last && src[tokStart-1] == '-' {
					tokStart--
				}
				for tokEnd < len(src) && (maskIsDigit(src[tokEnd]) || bytes.IndexByte([]byte("+-.eE"), src[tokEnd]) >= 0) {
					tokEnd++
				}
			}
		}
		out = append(out, src[last:tokStart]...)
		if quote {
			out = append(out, '"')
		}
		out = append(out, src[tokStart:i]...)
		d := 0
		for _, g := range s.groups {
			if g[0] > i {
				out = append(out, src[g[0]-1]) // separator
			}
			for k := g[0]; k < g[1]; k++ {
				if s.mask[d] {
					out = append(out, 'X')
				} else {
					out = append(out, src[k])
				}
				d++
			}
		}
		out = append(out, src[runEnd:tokEnd]...)
		if quote {
			out = append(out, '"')
		}
		last = tokEnd
		i = tokEnd
	}
	if out == nil {
		return src, false
	}
	return append(out, src[last:]...), true
}

// scanRun records the digit groups of the run starting at i (groups separated
// by a single space or dash) and returns the run's end.
func (s *cardRunScanner) scanRun(src []byte, i int) int {
	s.groups = s.groups[:0]
	for {
		g := i
		for i < len(src) && maskIsDigit(src[i]) {
			i++
		}
		s.groups = append(s.groups, [2]int{g, i})
		if i+1 < len(src) && (src[i] == ' ' || src[i] == '-') && maskIsDigit(src[i+1]) {
			i++
			continue
		}
		return i
	}
}

// findWindows marks the digits to mask in the current run: for every window
// of whole groups holding 13 to 19 digits, shaped like a card number and
// passing the Luhn check, all but its last 4 digits. It reports whether any
// digit is to be masked.
func (s *cardRunScanner) findWindows(src []byte) bool {
	total := 0
	for _, g := range s.groups {
		total += g[1] - g[0]
	}
	if total < maskMinPANDigits {
		return false
	}
	s.mask = slices.Grow(s.mask[:0], total)[:total]
	clear(s.mask)
	found := false
	first := 0 // index of the first digit of group a
	for a, ga := range s.groups {
		n := 0
		for b := a; b < len(s.groups); b++ {
			gb := s.groups[b]
			size := gb[1] - gb[0]
			if b > a && (size < 3 || size > 6) {
				break // also covers middle groups: they were a window's last group before
			}
			n += size
			if n > maskMaxPANDigits || b > a && ga[1]-ga[0] != 4 {
				break
			}
			if n >= maskMinPANDigits && s.luhn(src, a, b) {
				for k := first; k < first+n-maskKeepDigits; k++ {
					s.mask[k] = true
				}
				found = true
			}
		}
		first += ga[1] - ga[0]
	}
	return found
}

// luhn checks the digits of groups a..b.
func (s *cardRunScanner) luhn(src []byte, a, b int) bool {
	sum, double := 0, false
	for g := b; g >= a; g-- {
		for k := s.groups[g][1] - 1; k >= s.groups[g][0]; k-- {
			d := int(src[k] - '0')
			if double {
				d *= 2
				if d > 9 {
					d -= 9
				}
			}
			sum += d
			double = !double
		}
	}
	return sum%10 == 0
}

package ical

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/keyrack/keyrack/inventory"
)

// Some exporters fold by octets and split a UTF-8 character across the
// fold (RFC 5545 §3.1 says they should not, but unfolding is defined on
// octets, so joining the halves gives the character back). A guest's name
// folded that way must come out whole, and the rest of the feed with it.
func TestAFeedFoldedInsideAUTF8CharacterKeepsItsNames(t *testing.T) {
	name := "Ζωή Παπαδοπούλου – José Müller"
	line := "SUMMARY:" + name
	// Fold at 20 octets, even in the middle of a character.
	var folded strings.Builder
	for len(line) > 20 {
		folded.WriteString(line[:20] + "\r\n ")
		line = line[20:]
	}
	folded.WriteString(line)
	if utf8.ValidString(strings.ReplaceAll(folded.String(), "\r\n ", "")) != true {
		t.Fatal("the unfolded line must be valid UTF-8")
	}
	body := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//octet folder//EN\r\n" +
		"BEGIN:VEVENT\r\nUID:a@x\r\nDTSTART;VALUE=DATE:20261201\r\nDTEND;VALUE=DATE:20261203\r\n" +
		folded.String() + "\r\nEND:VEVENT\r\n" +
		"BEGIN:VEVENT\r\nUID:b@x\r\nDTSTART;VALUE=DATE:20261210\r\nDTEND;VALUE=DATE:20261212\r\nSUMMARY:Ağaoğlu Şükrü\r\nEND:VEVENT\r\n" +
		"END:VCALENDAR\r\n"
	feed, err := Parse([]byte(body), ParseOptions{From: inventory.MustDate("2026-01-01"), To: inventory.MustDate("2027-01-01")})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, e := range feed.Events {
		got[e.UID] = e.Summary
	}
	if got["a@x"] != name {
		t.Errorf("folded summary read as %q, want %q (warnings: %q)", got["a@x"], name, feed.Warnings)
	}
	if got["b@x"] != "Ağaoğlu Şükrü" {
		t.Errorf("the other event's summary read as %q, want %q", got["b@x"], "Ağaoğlu Şükrü")
	}
}

// The export folds every line at 75 octets without splitting a character,
// whatever the script of the calendar's name.
func TestTheExportNeverSplitsACharacterInAnyScript(t *testing.T) {
	for _, name := range []string{
		strings.Repeat("Ζωή ", 40),
		strings.Repeat("محمد ", 40),
		strings.Repeat("中文房间", 40),
		strings.Repeat("👨‍👩‍👧 ", 30),
		strings.Repeat("Jose\u0301 ", 50),
	} {
		body := Export{Name: name}.Encode(nil)
		for _, l := range strings.Split(strings.TrimSuffix(string(body), "\r\n"), "\r\n") {
			if len(l) > 75 || !utf8.ValidString(l) {
				t.Fatalf("line %q: %d octets, valid UTF-8 %v", l, len(l), utf8.ValidString(l))
			}
		}
		feed, err := Parse(body, ParseOptions{})
		if err != nil {
			t.Fatal(err)
		}
		_ = feed
		if !strings.Contains(strings.ReplaceAll(string(body), "\r\n ", ""), "X-WR-CALNAME:"+EscapeText(name)) {
			t.Errorf("name %q not whole after unfolding", name)
		}
	}
}

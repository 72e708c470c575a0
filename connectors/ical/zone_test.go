package ical

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseZoneFallbacks(t *testing.T) {
	body := []byte(strings.Join([]string{
		"BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:x",
		// A monthly "DST rule" is not something zones do: fixed offsets.
		"BEGIN:VTIMEZONE", "TZID:Odd", "BEGIN:STANDARD", "DTSTART:19700101T000000",
		"RRULE:FREQ=MONTHLY", "TZOFFSETFROM:-0300", "TZOFFSETTO:-0300", "END:STANDARD", "END:VTIMEZONE",
		"BEGIN:VEVENT", "UID:odd", "DTSTART;TZID=Odd:20260310T220000", "DTEND;TZID=Odd:20260312T220000", "END:VEVENT",
		// go-ical's own encoder writes TZID=Local: read as the property's zone.
		"BEGIN:VEVENT", "UID:local", "DTSTART;TZID=Local:20260410T150000", "DTEND;TZID=Local:20260412T110000", "END:VEVENT",
		// A Windows name in any case.
		"BEGIN:VEVENT", "UID:tokyo", "DTSTART;TZID=tokyo standard time:20260501T080000", "DTEND;TZID=Tokyo Standard Time:20260503T080000", "END:VEVENT",
		"END:VCALENDAR", ""}, "\r\n"))
	feed, err := Parse(body, ParseOptions{Location: time.UTC})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"local 2026-04-10→2026-04-12",
		"odd 2026-03-11→2026-03-13", // 22:00 at −03:00 is 01:00 UTC the next day
		"tokyo 2026-04-30→2026-05-02",
	}
	if got := nights(feed.Events); !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	if !strings.Contains(strings.Join(feed.Warnings, "\n"), `"Odd": its daylight-saving rule could not be read`) {
		t.Errorf("no warning about the unreadable rule: %q", feed.Warnings)
	}
}

func TestLoadGoZoneMozillaPrefix(t *testing.T) {
	for _, id := range []string{"Europe/Paris", "/mozilla.org/20050126_1/Europe/Paris", "/softwarestudio.org/Olson_20011030_5/Europe/Paris"} {
		if loc := loadGoZone(id); loc == nil || loc.String() != "Europe/Paris" {
			t.Errorf("%s → %v", id, loc)
		}
	}
	for _, id := range []string{"", "Local", "../../etc/passwd", "Custom/Zone"} {
		if loc := loadGoZone(id); loc != nil {
			t.Errorf("%s loaded as %v", id, loc)
		}
	}
}

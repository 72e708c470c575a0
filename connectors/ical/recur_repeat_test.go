package ical

import (
	"slices"
	"strings"
	"testing"

	"github.com/keyrack/keyrack/inventory"
)

// A recurring event that a feed holds twice — two calendars concatenated
// that both have it, as some exporters write — is one series: each of its
// stays is one event. The second copy used to be read as its first
// instance alone, under the bare UID: that stay came out twice (two
// bookings of one night on a one-unit listing, an overbooking incident
// that is not one).
func TestARecurringEventRepeatedInTheFeedIsOneSeries(t *testing.T) {
	series := []string{"BEGIN:VEVENT", "UID:owner", "SUMMARY:Owner stay",
		"DTSTART;VALUE=DATE:20261002", "DTEND;VALUE=DATE:20261004", "RRULE:FREQ=WEEKLY;COUNT=3", "END:VEVENT"}
	var lines []string
	for range 2 {
		lines = append(lines, "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:x")
		lines = append(lines, series...)
		lines = append(lines, "END:VCALENDAR")
	}
	feed, err := Parse([]byte(strings.Join(lines, "\r\n")+"\r\n"), ParseOptions{Location: mustZone(t, "Europe/Paris"),
		From: inventory.MustDate("2026-09-01"), To: inventory.MustDate("2026-12-31")})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"owner/20261002 2026-10-02→2026-10-04",
		"owner/20261009 2026-10-09→2026-10-11",
		"owner/20261016 2026-10-16→2026-10-18",
	}
	if got := nights(feed.Events); !slices.Equal(got, want) {
		t.Errorf("got %q, want %q (warnings %q)", got, want, feed.Warnings)
	}
}

// A cancelled event sharing its UID with a live recurring one (a producer
// that keeps what it cancelled) cancels only itself: the series is still
// expanded whole. Its later stays used to be lost — nights left for sale
// while the calendar says they are taken.
func TestACancelledEventDoesNotCutAnotherSeriesOfItsUIDToItsFirstStay(t *testing.T) {
	body := strings.Join([]string{"BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:x",
		"BEGIN:VEVENT", "UID:owner", "STATUS:CANCELLED", "DTSTART;VALUE=DATE:20260920", "DTEND;VALUE=DATE:20260922", "END:VEVENT",
		"BEGIN:VEVENT", "UID:owner", "SUMMARY:Owner stay",
		"DTSTART;VALUE=DATE:20261002", "DTEND;VALUE=DATE:20261004", "RRULE:FREQ=WEEKLY;COUNT=3", "END:VEVENT",
		"END:VCALENDAR", ""}, "\r\n")
	feed, err := Parse([]byte(body), ParseOptions{Location: mustZone(t, "Europe/Paris"),
		From: inventory.MustDate("2026-09-01"), To: inventory.MustDate("2026-12-31")})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"owner/20261002 2026-10-02→2026-10-04",
		"owner/20261009 2026-10-09→2026-10-11",
		"owner/20261016 2026-10-16→2026-10-18",
	}
	if got := nights(feed.Events); !slices.Equal(got, want) {
		t.Errorf("got %q, want %q (warnings %q)", got, want, feed.Warnings)
	}
}

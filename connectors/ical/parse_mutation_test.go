package ical

import (
	"slices"
	"strings"
	"testing"

	"github.com/keyrack/keyrack/inventory"
)

// A block longer than any stay that touches the window only at its edges:
// one ending on its first day, or starting the day after its last, has no
// night in it and takes none — not an event of no night, which no booking
// can hold — and one ending the day after the window's first day takes
// that one night.
func TestALongBlockAtTheWindowsEdgesTakesOnlyTheNightsInIt(t *testing.T) {
	from := inventory.MustDate("2026-11-01")
	to := from.AddDays(400)
	event := func(uid string, arr, dep inventory.Date) string {
		return "BEGIN:VEVENT\r\nUID:" + uid + "\r\nDTSTART;VALUE=DATE:" + strings.ReplaceAll(arr.String(), "-", "") +
			"\r\nDTEND;VALUE=DATE:" + strings.ReplaceAll(dep.String(), "-", "") + "\r\nSUMMARY:Blocked\r\nEND:VEVENT\r\n"
	}
	body := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Vrbo//EN\r\n" +
		event("ends-on-from@vrbo.example", from.AddDays(-2000), from) +
		event("starts-after-to@vrbo.example", to.AddDays(1), to.AddDays(2000)) +
		event("one-night@vrbo.example", from.AddDays(-2000), from.AddDays(1)) +
		event("last-night@vrbo.example", to, to.AddDays(2000)) +
		"END:VCALENDAR\r\n"
	feed, err := Parse([]byte(body), ParseOptions{From: from, To: to})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"last-night@vrbo.example " + to.String() + "→" + to.AddDays(1).String(),
		"one-night@vrbo.example " + from.String() + "→" + from.AddDays(1).String(),
	}
	if got := nights(feed.Events); !slices.Equal(got, want) {
		t.Errorf("events %q, want %q (warnings %q)", got, want, feed.Warnings)
	}
}

package ical

import (
	"fmt"
	"strings"
	"testing"

	"github.com/keyrack/keyrack/inventory"
)

// hostileFeeds are bodies of up to a few MiB shaped to make a naive parser
// slow (quadratic copies, rule iterations, zone expansions). Parse must get
// through each without hanging; go test's timeout is the judge.
func hostileFeeds() map[string][]byte {
	head := "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:x\n"
	tail := "END:VCALENDAR\n"
	feeds := map[string][]byte{}
	feeds["million continuation lines"] = []byte(head + "BEGIN:VEVENT\nUID:u\nDESCRIPTION:x\n" + strings.Repeat(" x\n", 1<<20) + "END:VEVENT\n" + tail)
	feeds["huge parameter"] = []byte(head + "BEGIN:VEVENT\nUID:u\nDTSTART;X-A=" + strings.Repeat("a", 1<<20) + ":20260101\nEND:VEVENT\n" + tail)
	var b strings.Builder
	b.WriteString(head)
	for i := range 2000 {
		fmt.Fprintf(&b, "BEGIN:VEVENT\nUID:r%d\nDTSTART;VALUE=DATE:20260101\nDTEND;VALUE=DATE:20260102\nRRULE:FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30\nEND:VEVENT\n", i)
	}
	b.WriteString(tail)
	feeds["impossible daily rules"] = []byte(b.String())
	b.Reset()
	b.WriteString(head)
	for i := range 2000 {
		fmt.Fprintf(&b, "BEGIN:VEVENT\nUID:d%d\nDTSTART:20000101T000000Z\nDTEND:20000101T010000Z\nRRULE:FREQ=DAILY;BYHOUR=1,2,3,4,5,6,7,8,9,10,11,12;BYMINUTE=1,2,3,4,5,6,7,8,9,10\nEND:VEVENT\n", i)
	}
	b.WriteString(tail)
	feeds["dense rules since 2000"] = []byte(b.String())
	b.Reset()
	b.WriteString(head)
	for i := range 500 {
		fmt.Fprintf(&b, "BEGIN:VTIMEZONE\nTZID:Z%d\nBEGIN:STANDARD\nDTSTART:00010101T000000\nRRULE:FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30\nTZOFFSETFROM:+0100\nTZOFFSETTO:+0100\nEND:STANDARD\nBEGIN:DAYLIGHT\nDTSTART:00010101T000000\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\nTZOFFSETFROM:+0100\nTZOFFSETTO:+0200\nEND:DAYLIGHT\nEND:VTIMEZONE\n", i)
		fmt.Fprintf(&b, "BEGIN:VEVENT\nUID:z%d\nDTSTART;TZID=Z%d:20260101T150000\nDTEND;TZID=Z%d:20260103T110000\nEND:VEVENT\n", i, i, i)
	}
	b.WriteString(tail)
	feeds["many zones from year 1"] = []byte(b.String())
	b.Reset()
	b.WriteString(head)
	for range 20000 {
		b.WriteString("BEGIN:VEVENT\nUID:same\nDTSTART;VALUE=DATE:20260101\nDTEND;VALUE=DATE:20260105\nEND:VEVENT\n")
		b.WriteString("BEGIN:VEVENT\nUID:same\nDTSTART;VALUE=DATE:20260301\nDTEND;VALUE=DATE:20260302\nEND:VEVENT\n")
	}
	b.WriteString(tail)
	feeds["one UID 40000 times"] = []byte(b.String())
	feeds["deep nesting"] = []byte(head + strings.Repeat("BEGIN:X\n", 100000) + tail)
	return feeds
}

func TestParseSurvivesHostileFeeds(t *testing.T) {
	if testing.Short() {
		t.Skip("hostile feeds take seconds (the recurrence budget)")
	}
	opt := ParseOptions{From: inventory.MustDate("2026-01-01"), To: inventory.MustDate("2027-01-01")}
	for name, body := range hostileFeeds() {
		t.Run(name, func(t *testing.T) {
			feed, err := Parse(body, opt)
			if err != nil {
				t.Logf("error: %v", err)
			}
			if len(feed.Warnings) > maxWarnings+1 {
				t.Errorf("%d warnings, want at most %d", len(feed.Warnings), maxWarnings+1)
			}
		})
	}
}

package ical

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/keyrack/keyrack/inventory"
)

func mustZone(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("load zone %s: %v", name, err)
	}
	return loc
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// nights renders events as "uid arrival→departure" for comparisons.
func nights(events []inventory.CalendarEvent) []string {
	out := make([]string, len(events))
	for i, e := range events {
		out[i] = fmt.Sprintf("%s %s→%s", e.UID, e.Arrival, e.Departure)
	}
	slices.Sort(out)
	return out
}

func TestParseRealWorldFeeds(t *testing.T) {
	paris := mustZone(t, "Europe/Paris")
	from, to := inventory.MustDate("2026-01-01"), inventory.MustDate("2027-06-30")
	tests := []struct {
		file     string
		loc      *time.Location
		prodID   string
		want     []string
		summary  map[string]string // uid → summary, for the ones that matter
		warnings []string          // substrings that must appear among the warnings
	}{
		{
			file:   "airbnb.ics",
			prodID: "-//Airbnb Inc//Hosting Calendar 1.0//EN",
			want: []string{
				"1418fb94e984-0a1b2c3d4e5f60718293a4b5c6d7e8f9@airbnb.com 2026-12-05→2026-12-09",
				"1418fb94e984-1b2c3d4e5f60718293a4b5c6d7e8f90a@airbnb.com 2026-12-09→2026-12-11",
				"7f3a6c9e0b1d-5e8f2a4c6b0d9e1f3a5c7e9b0d2f4a6c@airbnb.com 2026-11-27→2026-12-01",
			},
			summary: map[string]string{"7f3a6c9e0b1d-5e8f2a4c6b0d9e1f3a5c7e9b0d2f4a6c@airbnb.com": "Airbnb (Not available)"},
		},
		{
			file:   "booking.ics",
			prodID: `-//admin.booking.com\, b.v.//NONSGML v1.0//EN`,
			want: []string{
				"8f14e45fceea167a5a36dedd4bea2543@booking.com 2026-12-12→2026-12-15",
				"c9f0f895fb98ab9159f51fd0297e236d@booking.com 2026-12-24→2027-01-02",
			},
			summary: map[string]string{"8f14e45fceea167a5a36dedd4bea2543@booking.com": "CLOSED - Not available"},
		},
		{
			file:   "vrbo.ics",
			prodID: "-//HomeAway.com, Inc.//EN",
			want: []string{
				"3b7f2c9e-4a1d-4e8b-9c6f-0d2e5a8b1c4f 2026-12-03→2026-12-06",
				"9a0c1e3f-5b7d-4f2a-8c6e-1b3d5f7a9c0e 2026-12-18→2026-12-20",
			},
			summary: map[string]string{"3b7f2c9e-4a1d-4e8b-9c6f-0d2e5a8b1c4f": "Reserved - Jean, Marie"},
		},
		{
			file:   "google.ics",
			prodID: "-//Google Inc//Google Calendar 70.9054//EN",
			want: []string{
				"ooo@google.com 2026-08-20→2026-08-23",
				"weekend-stay@google.com/20261017 2026-10-17→2026-10-19",
				"weekend-stay@google.com/20261024 2026-10-24→2026-10-26",
				"weekend-stay@google.com/20261031 2026-10-31→2026-11-02",
				"weekly-block@google.com/20260704 2026-07-04→2026-07-05",
				"weekly-block@google.com/20260711 2026-07-12→2026-07-14",
				"weekly-block@google.com/20260725 2026-07-25→2026-07-26",
				"weekly-block@google.com/20260801 2026-08-01→2026-08-02",
			},
			summary:  map[string]string{"weekly-block@google.com/20260711": "Owner's weekend (moved)"},
			warnings: []string{`"free@google.com" is marked TRANSPARENT`},
		},
		{
			file:   "icloud.ics",
			prodID: "-//Apple Inc.//macOS 15.1//EN",
			want: []string{
				"4F1E2D3C-B4A5-4697-8877-665544332211 2026-06-10→2026-06-14",
				"A1B2C3D4-E5F6-4789-9ABC-DEF012345678 2026-06-20→2026-06-22",
			},
			summary: map[string]string{"4F1E2D3C-B4A5-4697-8877-665544332211": "Direct booking – Müller"},
		},
		{
			file:   "airbnb_legacy.ics",
			prodID: "-//Airbnb Inc//Hosting Calendar 0.8.8//EN",
			want: []string{
				"-3f6a9c1e2b7d-4c5e6f708192@airbnb.com 2026-03-12→2026-03-15",
				"-8b2e4f0a1c3d-5d6e7f809102@airbnb.com 2026-03-29→2026-04-02",
			},
			summary: map[string]string{"-3f6a9c1e2b7d-4c5e6f708192@airbnb.com": "Jean Dupont (HMXYZ12345)"},
		},
		{
			// Read for a property in Paris, the Windows zone's own nights.
			file:   "windows_zone.ics",
			prodID: "-//Microsoft Corporation//Outlook 16.0 MIMEDIR//EN",
			want: []string{
				"040000008200E00074C5B7101A82E0080000000010E3B0A2F1C1DC01000000000000000010000000A1B2C3D4E5F60718293A4B5C6D7E8F9 2026-05-01→2026-05-04",
				"outlook-2@example.com 2026-06-01→2026-06-03",
				"outlook-3@example.com 2026-07-01→2026-07-03",
			},
			summary: map[string]string{"outlook-2@example.com": "Gäste"},
		},
		{
			// For a property on UTC, 00:30 in Paris is 22:30 the day
			// before: proof the Windows name was read as Europe/Paris.
			// The midnight-to-midnight event is an all-day one in Paris
			// and keeps its days: it used to move to April 30 → May 3
			// here, which freed the last night the owner blocked.
			file:   "windows_zone.ics",
			loc:    time.UTC,
			prodID: "-//Microsoft Corporation//Outlook 16.0 MIMEDIR//EN",
			want: []string{
				"040000008200E00074C5B7101A82E0080000000010E3B0A2F1C1DC01000000000000000010000000A1B2C3D4E5F60718293A4B5C6D7E8F9 2026-05-01→2026-05-04",
				"outlook-2@example.com 2026-06-01→2026-06-03",
				"outlook-3@example.com 2026-06-30→2026-07-02",
			},
		},
		{
			// Custom/Zone is +05:30 all year; Custom/DST is +01:00/+02:00
			// with European rules, known only from its VTIMEZONE.
			file:   "custom_zone.ics",
			loc:    time.UTC,
			prodID: "-//Example Corp//Custom PMS 2.1//EN",
			want: []string{
				"custom-1@pms.example 2026-03-09→2026-03-11",
				"custom-summer@pms.example 2026-07-09→2026-07-11",
				"custom-unknown@pms.example 2026-02-10→2026-02-12",
				"custom-winter@pms.example 2026-01-10→2026-01-12",
			},
			warnings: []string{`unknown time zone "Nowhere/Atlantis"`},
		},
		{
			file:   "broken_events.ics",
			prodID: "-//Example//Broken events//EN",
			want: []string{
				"date-no-end@example.com 2026-05-20→2026-05-21",
				"duration@example.com 2026-06-01→2026-06-04",
				"nouid-af767f694892c5a2072a@keyrack 2026-06-10→2026-06-12",
				"repeat@example.com 2026-08-01→2026-08-03",
				"stay@smoobu.example 2026-07-01→2026-07-05",
				"stay@smoobu.example/20260705 2026-07-05→2026-07-06",
				"too-long@example.com 2026-01-01→2027-07-01", // ten years: the nights of the window
			},
			summary: map[string]string{"stay@smoobu.example": "Anna"},
			warnings: []string{
				`"inverted@example.com" ends before it starts`,
				`"zero@example.com" (2026-05-12) takes no night`,
				`"datetime-no-end@example.com" (2026-05-15) takes no night`,
				`"too-long@example.com" lasts 3652 nights (2026-01-01 → 2036-01-01), more than a stay can: its nights from 2026-01-01 to 2027-07-01 are taken`,
				`"no-start@example.com" has no DTSTART`,
				`"bad-date@example.com": DTSTART: cannot read date "2026-07-01"`,
				`has no UID`,
				`UID "stay@smoobu.example" appears 3 times`,
			},
		},
		{
			file:   "quirks_latin1_cr.ics",
			prodID: "-//Old PMS//Réservations//FR",
			want: []string{
				"quirk-1@oldpms.example 2026-09-01→2026-09-04",
				"quirk-2@oldpms.example 2026-09-10→2026-09-12",
			},
			summary:  map[string]string{"quirk-1@oldpms.example": `Réservée - Hélène\: suite`},
			warnings: []string{"ISO-8859-1", "malformed line", "after END:VCALENDAR"},
		},
		{
			file:   "empty_calendar.ics",
			prodID: `-//admin.booking.com\, b.v.//NONSGML v1.0//EN`,
			want:   []string{},
		},
	}
	for _, tt := range tests {
		name := tt.file
		if tt.loc != nil {
			name += "/" + tt.loc.String()
		}
		t.Run(name, func(t *testing.T) {
			loc := tt.loc
			if loc == nil {
				loc = paris
			}
			feed, err := Parse(readTestdata(t, tt.file), ParseOptions{Location: loc, From: from, To: to})
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if feed.ProdID != tt.prodID {
				t.Errorf("ProdID = %q, want %q", feed.ProdID, tt.prodID)
			}
			if got := nights(feed.Events); !slices.Equal(got, tt.want) {
				t.Errorf("events:\n got %q\nwant %q\nwarnings: %q", got, tt.want, feed.Warnings)
			}
			for uid, want := range tt.summary {
				found := false
				for _, e := range feed.Events {
					if e.UID == uid {
						found = true
						if e.Summary != want {
							t.Errorf("summary of %s = %q, want %q", uid, e.Summary, want)
						}
					}
				}
				if !found {
					t.Errorf("no event %s", uid)
				}
			}
			all := strings.Join(feed.Warnings, "\n")
			for _, w := range tt.warnings {
				if !strings.Contains(all, w) {
					t.Errorf("no warning containing %q in:\n%s", w, all)
				}
			}
			if len(tt.warnings) == 0 && len(feed.Warnings) > 0 && tt.file != "google.ics" {
				t.Errorf("unexpected warnings: %q", feed.Warnings)
			}
		})
	}
}

func TestParseRefusesWhatIsNotAWholeCalendar(t *testing.T) {
	tests := []struct {
		file string
		want error
	}{
		{"fail_empty.ics", ErrEmpty},
		{"fail_whitespace.ics", ErrEmpty},
		{"fail_html.html", ErrNotCalendar},
		{"fail_html_bare.html", ErrNotCalendar},
		{"fail_json.json", ErrNotCalendar},
		{"fail_truncated.ics", ErrTruncated},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			feed, err := Parse(readTestdata(t, tt.file), ParseOptions{})
			if !errors.Is(err, tt.want) {
				t.Fatalf("Parse error = %v, want %v", err, tt.want)
			}
			if len(feed.Events) != 0 {
				t.Errorf("events returned with the error: %v", feed.Events)
			}
		})
	}
	// A second calendar cut short is a truncated fetch too.
	if _, err := Parse([]byte("BEGIN:VCALENDAR\nEND:VEVENT\nEND:VCALENDAR\nBEGIN:VCALENDAR\n"), ParseOptions{}); err == nil {
		t.Error("a second, unterminated calendar was accepted")
	}
	if _, err := Parse([]byte("BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:x\nEND:VCALENDAR\n"), ParseOptions{}); err != nil {
		t.Errorf("a VEVENT without its END is closed, not refused: %v", err)
	}
}

func TestParseSyntheticUIDIsStable(t *testing.T) {
	body := readTestdata(t, "broken_events.ics")
	a, err := Parse(body, ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Parse(body, ParseOptions{Location: mustZone(t, "America/New_York")})
	if err != nil {
		t.Fatal(err)
	}
	uid := func(f Feed) string {
		for _, e := range f.Events {
			if strings.HasPrefix(e.UID, "nouid-") {
				return e.UID
			}
		}
		return ""
	}
	if uid(a) == "" || uid(a) != uid(b) {
		t.Errorf("synthetic UIDs %q and %q, want equal and non-empty", uid(a), uid(b))
	}
}

func TestParseDateTimeNights(t *testing.T) {
	paris := mustZone(t, "Europe/Paris")
	cal := func(start, end string) []byte {
		return []byte("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:u\r\n" +
			"DTSTART;TZID=Europe/Paris:" + start + "\r\nDTEND;TZID=Europe/Paris:" + end + "\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
	}
	tests := []struct {
		name, start, end string
		want             []string
	}{
		{"a stay from 15:00 to 11:00 takes the nights in between", "20260310T150000", "20260312T110000", []string{"u 2026-03-10→2026-03-12"}},
		{"midnight to midnight is the one night it starts on", "20260310T000000", "20260311T000000", []string{"u 2026-03-10→2026-03-11"}},
		{"a day-time event takes no night", "20260310T100000", "20260310T180000", []string{}},
		{"an evening into the next morning takes that night", "20260310T200000", "20260311T020000", []string{"u 2026-03-10→2026-03-11"}},
		{"midnight to midnight across the DST change", "20260329T000000", "20260330T000000", []string{"u 2026-03-29→2026-03-30"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			feed, err := Parse(cal(tt.start, tt.end), ParseOptions{Location: paris})
			if err != nil {
				t.Fatal(err)
			}
			if got := nights(feed.Events); !slices.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestParseRecurrenceLimits(t *testing.T) {
	body := []byte("BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:x\n" +
		"BEGIN:VEVENT\nUID:daily\nDTSTART;VALUE=DATE:20200101\nDTEND;VALUE=DATE:20200102\nRRULE:FREQ=DAILY\nEND:VEVENT\n" +
		"BEGIN:VEVENT\nUID:hourly\nDTSTART:20260101T000000Z\nDTEND:20260101T010000Z\nRRULE:FREQ=SECONDLY\nEND:VEVENT\n" +
		"BEGIN:VEVENT\nUID:never\nDTSTART;VALUE=DATE:20260101\nDTEND;VALUE=DATE:20260102\nRRULE:FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30\nEND:VEVENT\n" +
		"BEGIN:VEVENT\nUID:easter\nDTSTART;VALUE=DATE:20260101\nDTEND;VALUE=DATE:20260102\nRRULE:FREQ=YEARLY;BYEASTER=-1000\nEND:VEVENT\n" +
		"BEGIN:VEVENT\nUID:nth\nDTSTART;VALUE=DATE:20260103\nDTEND;VALUE=DATE:20260104\nRRULE:FREQ=MONTHLY;BYDAY=-6SU\nEND:VEVENT\n" +
		"BEGIN:VEVENT\nUID:year1\nDTSTART:00010101T000000Z\nDTEND:00010102T000000Z\nRRULE:FREQ=DAILY\nEND:VEVENT\n" +
		"BEGIN:VEVENT\nUID:rdate\nDTSTART;VALUE=DATE:20260105\nDTEND;VALUE=DATE:20260107\nRDATE;VALUE=DATE:20260110,20260120\nRDATE;VALUE=PERIOD:20260201T150000Z/P2D\nEND:VEVENT\n" +
		"END:VCALENDAR\n")
	from, to := inventory.MustDate("2026-01-01"), inventory.MustDate("2026-01-31")
	feed, err := Parse(body, ParseOptions{From: from, To: to})
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, e := range feed.Events {
		count[strings.SplitN(e.UID, "/", 2)[0]]++
	}
	// Daily since 2020: only the nights of the window (the one ending on
	// From does not take a night inside it).
	if count["daily"] != 31 {
		t.Errorf("daily occurrences in January = %d, want 31", count["daily"])
	}
	// rrule-go panics on BYEASTER=-1000 and on a -6th Sunday of the month,
	// and reads year 1 (Go's zero time) as "now": such rules are refused,
	// the first two keeping their first instance.
	if count["hourly"] != 0 || count["never"] != 0 || count["easter"] != 1 || count["nth"] != 1 || count["year1"] != 0 {
		t.Errorf("sub-daily or impossible rules produced events: %v", count)
	}
	if got := nights(filter(feed.Events, "rdate")); !slices.Equal(got, []string{
		"rdate/20260105 2026-01-05→2026-01-07",
		"rdate/20260110 2026-01-10→2026-01-12",
		"rdate/20260120 2026-01-20→2026-01-22",
	}) {
		t.Errorf("rdate occurrences %q", got)
	}
}

func filter(events []inventory.CalendarEvent, prefix string) []inventory.CalendarEvent {
	var out []inventory.CalendarEvent
	for _, e := range events {
		if strings.HasPrefix(e.UID, prefix) {
			out = append(out, e)
		}
	}
	return out
}

func TestWindowsZonesAllLoad(t *testing.T) {
	for win, iana := range windowsZones {
		if _, err := time.LoadLocation(iana); err != nil {
			t.Errorf("%s → %s: %v", win, iana, err)
		}
	}
}

func TestParseRecurringStayExceptions(t *testing.T) {
	body := []byte(strings.Join([]string{
		"BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:x",
		"BEGIN:VEVENT", "UID:weekend", "SUMMARY:Weekend guests",
		"DTSTART;TZID=Europe/Paris:20261010T150000", "DTEND;TZID=Europe/Paris:20261012T110000",
		"RRULE:FREQ=WEEKLY;UNTIL=20261107T140000Z",
		// Excluded in the event's zone, across the DST change.
		"EXDATE;TZID=Europe/Paris:20261024T150000",
		"END:VEVENT",
		// Cancelled by an override named in UTC (15:00 CET is 14:00Z).
		"BEGIN:VEVENT", "UID:weekend", "RECURRENCE-ID:20261031T140000Z", "STATUS:CANCELLED",
		"DTSTART;TZID=Europe/Paris:20261031T150000", "DTEND;TZID=Europe/Paris:20261102T110000", "END:VEVENT",
		// Moved by a day, keeping the occurrence's UID.
		"BEGIN:VEVENT", "UID:weekend", "RECURRENCE-ID;TZID=Europe/Paris:20261017T150000", "SUMMARY:Late guests",
		"DTSTART;TZID=Europe/Paris:20261018T150000", "DTEND;TZID=Europe/Paris:20261020T110000", "END:VEVENT",
		"END:VCALENDAR", ""}, "\r\n"))
	feed, err := Parse(body, ParseOptions{Location: mustZone(t, "Europe/Paris"),
		From: inventory.MustDate("2026-09-01"), To: inventory.MustDate("2026-12-31")})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"weekend/20261010 2026-10-10→2026-10-12",
		"weekend/20261017 2026-10-18→2026-10-20",
		"weekend/20261107 2026-11-07→2026-11-09", // UNTIL 14:00Z is 15:00 CET: included
	}
	if got := nights(feed.Events); !slices.Equal(got, want) {
		t.Errorf("got %q, want %q (warnings %q)", got, want, feed.Warnings)
	}
}

// Events Parse saw but could not read are named, so that the importer
// keeps their bookings instead of taking them for cancelled; an event read
// as taking no night is not among them.
func TestParseNamesTheEventsItCouldNotRead(t *testing.T) {
	feed, err := Parse(readTestdata(t, "broken_events.ics"), ParseOptions{Location: mustZone(t, "Europe/Paris")})
	if err != nil {
		t.Fatal(err)
	}
	got := slices.Sorted(slices.Values(feed.Unreadable))
	want := []string{"bad-date@example.com", "inverted@example.com", "no-start@example.com"}
	if !slices.Equal(got, want) {
		t.Errorf("Unreadable = %q, want %q", got, want)
	}

	// An Airbnb booking whose DTEND arrives in a form keyrack cannot read.
	body := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Airbnb Inc//Hosting Calendar 1.0//EN\r\n" +
		"BEGIN:VEVENT\r\nDTSTAMP:20261130T000000Z\r\nDTSTART;VALUE=DATE:20270610\r\nDTEND;VALUE=DATE:2027-06-12\r\n" +
		"SUMMARY:Reserved\r\nUID:HM-1@airbnb.com\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
	feed, err = Parse([]byte(body), ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(feed.Events) != 0 || !slices.Equal(feed.Unreadable, []string{"HM-1@airbnb.com"}) || len(feed.Warnings) == 0 {
		t.Errorf("events %v, unreadable %q, warnings %q", feed.Events, feed.Unreadable, feed.Warnings)
	}
}

// Google writes some all-day "Out of office" events as midnight to
// midnight in the owner's zone: they take the owner's calendar days in any
// property's zone, as a DATE event would, and no night moves.
func TestAnAllDayEventWrittenAsMidnightToMidnightKeepsItsDaysInAnyZone(t *testing.T) {
	for _, c := range []struct{ start, end, loc string }{
		{"DTSTART;TZID=Europe/Berlin:20270601T000000", "DTEND;TZID=Europe/Berlin:20270603T000000", "Europe/Lisbon"},
		{"DTSTART;TZID=Europe/Berlin:20270601T000000", "DTEND;TZID=Europe/Berlin:20270603T000000", "America/New_York"},
		{"DTSTART:20270601T000000Z", "DTEND:20270603T000000Z", "America/New_York"},
	} {
		body := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Google Inc//Google Calendar 70.9054//EN\r\n" +
			"BEGIN:VEVENT\r\nUID:ooo@google.com\r\nDTSTAMP:20270101T000000Z\r\n" + c.start + "\r\n" + c.end + "\r\n" +
			"SUMMARY:Out of office\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
		feed, err := Parse([]byte(body), ParseOptions{Location: mustZone(t, c.loc)})
		if err != nil {
			t.Fatal(err)
		}
		if got := nights(feed.Events); !slices.Equal(got, []string{"ooo@google.com 2027-06-01→2027-06-03"}) {
			t.Errorf("%s for a property in %s: %q", c.start, c.loc, got)
		}
	}
}

// An owner's block "until 2099" is more than any stay, but the feed says
// the nights are taken: they are blocked over the window keyrack imports,
// and a block wholly outside it takes nothing.
func TestABlockLongerThanAnyStayTakesTheNightsOfTheWindow(t *testing.T) {
	body := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Vrbo//EN\r\n" +
		"BEGIN:VEVENT\r\nUID:closed@vrbo.example\r\nDTSTART;VALUE=DATE:20200101\r\nDTEND;VALUE=DATE:20990101\r\nSUMMARY:Blocked\r\nEND:VEVENT\r\n" +
		"BEGIN:VEVENT\r\nUID:old@vrbo.example\r\nDTSTART;VALUE=DATE:20000101\r\nDTEND;VALUE=DATE:20100101\r\nSUMMARY:Blocked\r\nEND:VEVENT\r\n" +
		"END:VCALENDAR\r\n"
	from := inventory.MustDate("2026-11-01")
	to := from.AddDays(400)
	feed, err := Parse([]byte(body), ParseOptions{From: from, To: to})
	if err != nil {
		t.Fatal(err)
	}
	if got := nights(feed.Events); !slices.Equal(got, []string{"closed@vrbo.example 2026-11-01→2027-12-07"}) {
		t.Errorf("events %q, warnings %q", got, feed.Warnings)
	}
	if len(feed.Unreadable) != 0 || len(feed.Warnings) != 2 {
		t.Errorf("unreadable %q, warnings %q", feed.Unreadable, feed.Warnings)
	}
}

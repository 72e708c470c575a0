package ical

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/keyrack/keyrack/inventory"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

func dates(s ...string) []inventory.Date {
	out := make([]inventory.Date, len(s))
	for i, v := range s {
		out[i] = inventory.MustDate(v)
	}
	return out
}

func TestRangesMergeConsecutiveNights(t *testing.T) {
	got := Ranges(dates("2026-12-10", "2026-12-05", "2026-12-06", "2026-12-06", "2026-12-07", "2026-12-11", "2026-12-20"))
	want := []Range{
		{inventory.MustDate("2026-12-05"), inventory.MustDate("2026-12-08")},
		{inventory.MustDate("2026-12-10"), inventory.MustDate("2026-12-12")},
		{inventory.MustDate("2026-12-20"), inventory.MustDate("2026-12-21")},
	}
	if !slices.Equal(got, want) {
		t.Errorf("Ranges = %v, want %v", got, want)
	}
	if Ranges(nil) != nil {
		t.Error("Ranges(nil) is not empty")
	}
}

var stamp = time.Date(2026, 11, 30, 3, 15, 0, 0, time.UTC)

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file:\n%s", name, got)
	}
}

func TestExportGolden(t *testing.T) {
	e := Export{Name: "Chambre Double, vue mer; étage 2", UIDPrefix: "dbl-", UIDDomain: "hotel-du-lac.keyrack", Stamp: stamp}
	body := e.Encode(dates("2026-12-24", "2026-12-25", "2026-12-26", "2026-12-31", "2027-01-01"))
	golden(t, "export_rooms.golden.ics", body)
	if !bytes.Equal(body, e.Encode(dates("2027-01-01", "2026-12-31", "2026-12-26", "2026-12-25", "2026-12-24", "2026-12-25"))) {
		t.Error("the same nights in another order give other bytes")
	}
	if ETag(body) != ETag(bytes.Clone(body)) || !strings.HasPrefix(ETag(body), `"`) {
		t.Errorf("ETag %s is not a stable quoted tag", ETag(body))
	}
}

func TestExportEmptyCalendarIsValid(t *testing.T) {
	body := Export{Stamp: stamp}.Encode(nil)
	golden(t, "export_empty.golden.ics", body)
	feed, err := Parse(body, ParseOptions{})
	if err != nil {
		t.Fatalf("our own empty calendar does not parse: %v", err)
	}
	if len(feed.Events) != 0 {
		t.Errorf("events in an empty export: %v", feed.Events)
	}
}

func TestExportFoldsAndEscapes(t *testing.T) {
	name := strings.Repeat("Chambre « Vue sur le lac », ", 6) + `back\slash; newline` + "\n" + "end"
	body := Export{Name: name, Summary: "Fermé, désolé", Stamp: stamp}.Encode(dates("2026-05-01"))
	for _, line := range strings.Split(strings.TrimSuffix(string(body), "\r\n"), "\r\n") {
		if len(line) > 75 {
			t.Errorf("line of %d octets: %q", len(line), line)
		}
		if !utf8.ValidString(line) {
			t.Errorf("fold split a UTF-8 sequence: %q", line)
		}
		if strings.ContainsAny(line, "\r\n") {
			t.Errorf("bare line break inside %q", line)
		}
	}
	if bytes.Contains(bytes.ReplaceAll(body, []byte("\r\n"), nil), []byte("\n")) {
		t.Error("LF without CR")
	}
	unfolded := strings.ReplaceAll(string(body), "\r\n ", "")
	if !strings.Contains(unfolded, `X-WR-CALNAME:`+strings.Repeat(`Chambre « Vue sur le lac »\, `, 6)+`back\\slash\; newline\nend`+"\r\n") {
		t.Errorf("name not escaped as expected:\n%s", unfolded)
	}
	if !strings.Contains(unfolded, `SUMMARY:Fermé\, désolé`) {
		t.Errorf("summary not escaped:\n%s", unfolded)
	}
}

func TestFoldLineNeverSplitsRunes(t *testing.T) {
	for n := 60; n < 200; n++ {
		s := "X:" + strings.Repeat("é", n) + strings.Repeat("a", n%3)
		folded := FoldLine(s)
		for _, l := range strings.Split(strings.TrimSuffix(folded, "\r\n"), "\r\n") {
			if len(l) > 75 || !utf8.ValidString(l) {
				t.Fatalf("bad physical line %q", l)
			}
		}
		if strings.ReplaceAll(strings.TrimSuffix(folded, "\r\n"), "\r\n ", "") != s {
			t.Fatalf("unfolding does not give back %q", s)
		}
	}
}

func TestExportRoundTrip(t *testing.T) {
	nights := dates("2026-03-28", "2026-03-29", "2026-03-30", "2026-10-24", "2026-10-25", "2026-10-26", "2027-02-28")
	body := Export{UIDPrefix: "r1-", Stamp: stamp}.Encode(nights)
	// Any property zone: DATE values must not move.
	for _, zone := range []string{"UTC", "Pacific/Kiritimati", "Pacific/Pago_Pago", "Europe/Paris"} {
		feed, err := Parse(body, ParseOptions{Location: mustZone(t, zone)})
		if err != nil {
			t.Fatal(err)
		}
		var got []inventory.Date
		for _, e := range feed.Events {
			got = append(got, inventory.Nights(e.Arrival, e.Departure)...)
			if e.Summary != "Not available" {
				t.Errorf("summary %q", e.Summary)
			}
		}
		if !slices.Equal(got, nights) {
			t.Errorf("%s: nights back %v, want %v", zone, got, nights)
		}
		if len(feed.Warnings) > 0 {
			t.Errorf("warnings on our own export: %q", feed.Warnings)
		}
	}
}

// pythonWithICalendar finds a python3 that can import icalendar (Debian's
// python3-icalendar), an independent parser of what we export.
func pythonWithICalendar(t *testing.T) string {
	t.Helper()
	cands := []string{"/usr/bin/python3"}
	if p, err := exec.LookPath("python3"); err == nil {
		cands = append(cands, p)
	}
	for _, p := range cands {
		if exec.Command(p, "-c", "import icalendar").Run() == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("CI: no python3 with the icalendar module (install python3-icalendar)")
	}
	t.Skip("no python3 with the icalendar module (apt install python3-icalendar)")
	return ""
}

const pyRead = `
import sys, json, icalendar
cal = icalendar.Calendar.from_ical(open(sys.argv[1], 'rb').read())
out = {'name': str(cal.get('X-WR-CALNAME', '')), 'events': []}
for ev in cal.walk('VEVENT'):
    out['events'].append({'uid': str(ev['UID']), 'start': ev['DTSTART'].dt.isoformat(),
        'end': ev['DTEND'].dt.isoformat(), 'summary': str(ev['SUMMARY'])})
print(json.dumps(out))
`

func TestExportReadByPythonICalendar(t *testing.T) {
	py := pythonWithICalendar(t)
	name := "Suite « Lac », étage 2; " + strings.Repeat("très longue description ", 5)
	nights := dates("2026-12-24", "2026-12-25", "2026-12-31", "2027-01-01", "2027-01-02")
	body := Export{Name: name, UIDPrefix: "suite-", Summary: "Indisponible, désolé", Stamp: stamp}.Encode(nights)
	path := filepath.Join(t.TempDir(), "export.ics")
	if err := os.WriteFile(path, body, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(py, "-c", pyRead, path).Output()
	if err != nil {
		t.Fatalf("python icalendar rejected our export: %v\n%s", err, out)
	}
	var got struct {
		Name   string
		Events []struct{ UID, Start, End, Summary string }
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if got.Name != name {
		t.Errorf("name read back as %q, want %q", got.Name, name)
	}
	var want []string
	for _, r := range Ranges(nights) {
		want = append(want, "suite-"+dateValue(r.Start)+"@keyrack "+r.Start.String()+" "+r.End.String()+" Indisponible, désolé")
	}
	var have []string
	for _, e := range got.Events {
		have = append(have, e.UID+" "+e.Start+" "+e.End+" "+e.Summary)
	}
	if !slices.Equal(have, want) {
		t.Errorf("python read\n%q\nwant\n%q", have, want)
	}
}

// A run that began before From is written from From on under the UID of
// its first night; a run that ended before From is not written.
func TestExportNamesARunInProgressAfterItsFirstNight(t *testing.T) {
	e := Export{UIDPrefix: "dbl-", From: inventory.MustDate("2027-03-03")}
	body := string(e.Encode(dates("2027-02-20", "2027-03-01", "2027-03-02", "2027-03-03", "2027-03-04", "2027-03-06")))
	for _, want := range []string{
		"UID:dbl-20270301@keyrack\r\nDTSTAMP:19700101T000000Z\r\nDTSTART;VALUE=DATE:20270303\r\nDTEND;VALUE=DATE:20270305\r\n",
		"UID:dbl-20270306@keyrack\r\nDTSTAMP:19700101T000000Z\r\nDTSTART;VALUE=DATE:20270306\r\nDTEND;VALUE=DATE:20270307\r\n",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("no %q in:\n%s", want, body)
		}
	}
	if n := strings.Count(body, "BEGIN:VEVENT"); n != 2 {
		t.Errorf("%d events, want 2 (the run of 20 February ended before From):\n%s", n, body)
	}
}

// With a horizon, every night from it to HorizonEnd is one more event, whose
// UID does not move with it from day to day; without one, none.
func TestTheNightsBeyondTheHorizonAreOneEventUnderAStableUID(t *testing.T) {
	nights := []inventory.Date{inventory.MustDate("2027-03-01")}
	for _, today := range []inventory.Date{inventory.MustDate("2027-02-01"), inventory.MustDate("2027-02-02")} {
		e := Export{UIDPrefix: "p-dbl-", From: today, Horizon: today.AddDays(30), HorizonEnd: today.AddDays(30 + 1098)}
		body := string(e.Encode(nights))
		want := "UID:p-dbl-beyond-horizon@keyrack\r\nDTSTAMP:19700101T000000Z\r\nDTSTART;VALUE=DATE:" +
			dateValue(today.AddDays(30)) + "\r\nDTEND;VALUE=DATE:" + dateValue(today.AddDays(1128)) + "\r\n"
		if !strings.Contains(body, want) {
			t.Errorf("%s: no beyond-horizon event %q in\n%s", today, want, body)
		}
	}
	if body := string((Export{}).Encode(nights)); strings.Contains(body, "beyond-horizon") {
		t.Errorf("an export without a horizon blocks beyond it:\n%s", body)
	}
}

package otaxml

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/keyrack/keyrack/inventory"
)

// stamp matches every date/time layout seen from partners: a date, then
// optionally a time with or without seconds and a fraction of any length
// (even a lone dot), then optionally a zone: Z, UTC/GMT, ±h, ±hh, ±hhmm or
// ±hh:mm.
var stamp = regexp.MustCompile(`^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?(?:\.(\d*))?)?\s*(Z|UTC|GMT|[+-]\d{1,2}(?::?\d{2})?)?$`)

// parseTime reads an OTA timestamp tolerantly (year 0000 is not an
// xs:dateTime year and is refused). A time without a zone is
// read as UTC; a date alone is midnight UTC.
func parseTime(s string) (time.Time, error) {
	m := stamp.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return time.Time{}, fmt.Errorf("date-time %q: want YYYY-MM-DDThh:mm:ss[.fff][zone]", s)
	}
	num := func(i int) int { n, _ := strconv.Atoi(m[i]); return n }
	y, mo, d := num(1), num(2), num(3)
	h, mi, sec := num(4), num(5), num(6)
	if y == 0 || mo < 1 || mo > 12 || d < 1 || d > daysIn(y, mo) || h > 24 || mi > 59 || sec > 60 ||
		(h == 24 && (mi != 0 || sec != 0)) {
		return time.Time{}, fmt.Errorf("date-time %q is not a real date and time", s)
	}
	if sec == 60 { // a leap second: read as the next second
		sec = 59
	}
	nsec := 0
	if f := m[7]; f != "" {
		if len(f) > 9 {
			f = f[:9]
		}
		nsec, _ = strconv.Atoi(f + strings.Repeat("0", 9-len(f)))
	}
	loc := time.UTC
	if z := m[8]; z != "" && z != "Z" && z != "UTC" && z != "GMT" {
		sign := 1
		if z[0] == '-' {
			sign = -1
		}
		z = strings.ReplaceAll(z[1:], ":", "")
		var zh, zm int
		switch len(z) {
		case 1, 2:
			zh, _ = strconv.Atoi(z)
		case 3, 4:
			zh, _ = strconv.Atoi(z[:len(z)-2])
			zm, _ = strconv.Atoi(z[len(z)-2:])
		}
		if zh > 14 || zm > 59 {
			return time.Time{}, fmt.Errorf("date-time %q: time zone offset out of range", s)
		}
		loc = time.FixedZone("", sign*(zh*3600+zm*60))
	}
	return time.Date(y, time.Month(mo), d, h, mi, sec, nsec, loc), nil
}

// hasZone says whether the timestamp s (one parseTime reads) names its time
// zone.
func hasZone(s string) bool {
	m := stamp.FindStringSubmatch(strings.TrimSpace(s))
	return m != nil && m[8] != ""
}

// parseDate reads a hotel-local calendar date: YYYY-MM-DD, or the date part
// of a date-time as written (never converted through a time zone) — the
// next day for 24:00, which xs:dateTime allows for the end of a day: a
// TimeSpan End of 2026-12-05T24:00:00 departs on the 6th.
func parseDate(s string) (inventory.Date, error) {
	m := stamp.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return inventory.Date{}, fmt.Errorf("date %q: want YYYY-MM-DD", s)
	}
	if _, err := parseTime(s); err != nil {
		return inventory.Date{}, err
	}
	y, _ := strconv.Atoi(m[1])
	mo, _ := strconv.Atoi(m[2])
	d, _ := strconv.Atoi(m[3])
	date := inventory.NewDate(y, time.Month(mo), d)
	if m[4] == "24" {
		date = date.AddDays(1)
	}
	return date, nil
}

func daysIn(y, m int) int {
	return time.Date(y, time.Month(m)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// durationDays reads the whole-day xs:duration of a TimeSpan (P3D, P3N as
// some partners write nights, P1W).
var durationRE = regexp.MustCompile(`^P(\d{1,4})([DNW])$`)

func durationDays(s string) (int, bool) {
	m := durationRE.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return 0, false
	}
	n, _ := strconv.Atoi(m[1])
	if m[2] == "W" {
		n *= 7
	}
	return n, true
}

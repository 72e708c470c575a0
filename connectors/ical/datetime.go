package ical

import (
	"fmt"
	"strings"
	"time"

	goical "github.com/emersion/go-ical"

	"github.com/keyrack/keyrack/inventory"
)

// moment is a DATE or DATE-TIME value as written: its wall-clock reading
// and the zone that reading is in. A DATE is a civil date and never goes
// through a zone (ical.md §3 pitfall 7).
type moment struct {
	wall time.Time // naive: fields as written, location UTC
	date bool
	zone zone
}

// instant is the moment a DATE-TIME stands for (a DATE: its naive midnight).
func (m moment) instant() time.Time {
	if m.date {
		return m.wall
	}
	return m.zone.instant(m.wall)
}

// night is the property's calendar day the moment falls on.
func (m moment) night(loc *time.Location) inventory.Date {
	if m.date {
		return civil(m.wall)
	}
	return inventory.LocalDate(m.instant(), loc)
}

// atMidnight reports a DATE-TIME at 00:00:00 in its own zone.
func (m moment) atMidnight() bool {
	h, mi, sec := m.wall.Clock()
	return !m.date && h == 0 && mi == 0 && sec == 0
}

func civil(t time.Time) inventory.Date {
	y, mo, d := t.Date()
	return inventory.NewDate(y, mo, d)
}

// parseWall reads DATE (YYYYMMDD) or DATE-TIME (YYYYMMDDTHHMMSS[Z]) into a
// naive time; utc reports a trailing Z. A VALUE=DATE that carries a time
// is read as its date, which is what its producer meant.
func parseWall(v, valueType string) (w time.Time, utc bool, ok bool) {
	v = strings.ToUpper(strings.TrimSpace(v))
	isDate := strings.EqualFold(valueType, "DATE")
	if isDate && len(v) > 8 {
		v = v[:8]
	}
	if len(v) == 8 {
		t, err := time.Parse("20060102", v)
		return t, false, err == nil
	}
	if strings.HasSuffix(v, "Z") {
		utc = true
		v = v[:len(v)-1]
	}
	var layout string
	switch len(v) {
	case 15:
		layout = "20060102T150405"
	case 13: // seconds left out by a few exporters
		layout = "20060102T1504"
	default:
		return time.Time{}, false, false
	}
	t, err := time.Parse(layout, v)
	return t, utc, err == nil
}

// isDateValue reports whether a value is a DATE rather than a DATE-TIME.
func isDateValue(v, valueType string) bool {
	return strings.EqualFold(valueType, "DATE") || len(strings.TrimSpace(v)) == 8
}

// Years outside this range are refused in event dates.
const (
	minYear = 1900
	maxYear = 2200
)

// moment reads one DATE or DATE-TIME value of prop (prop may list several,
// comma-separated, for EXDATE and RDATE: pass the single value in v).
func (z *zones) moment(prop *goical.Prop, v string) (moment, error) {
	vt := prop.Params.Get(goical.ParamValue)
	w, utc, ok := parseWall(v, vt)
	if !ok {
		return moment{}, fmt.Errorf("%s: cannot read date %q", prop.Name, v)
	}
	if y := w.Year(); y < minYear || y > maxYear {
		// No stay is that far away; such dates are garbage, and year 1 is
		// Go's zero time, which rrule-go reads as "now".
		return moment{}, fmt.Errorf("%s: date %q out of range", prop.Name, v)
	}
	if isDateValue(v, vt) {
		return moment{wall: w, date: true}, nil
	}
	m := moment{wall: w}
	if utc {
		m.zone = zone{loc: time.UTC}
	} else {
		m.zone = z.lookup(prop.Params.Get(goical.PropTimezoneID))
	}
	return m, nil
}

// duration is a DURATION value kept as nominal days plus exact seconds, so
// that P1D stays one calendar day across a DST change.
type duration struct {
	days int
	secs int64
}

// add returns m moved by d, in m's own wall clock.
func (d duration) add(m moment) moment {
	m.wall = m.wall.AddDate(0, 0, d.days).Add(time.Duration(d.secs) * time.Second)
	if m.date && d.secs != 0 {
		m.wall = time.Date(m.wall.Year(), m.wall.Month(), m.wall.Day(), 0, 0, 0, 0, time.UTC)
	}
	return m
}

// parseDuration reads an RFC 5545 DURATION ([+-]P nW | nD [T nH nM nS]),
// refusing absurd sizes rather than overflowing.
func parseDuration(s string) (duration, error) {
	orig := s
	s = strings.ToUpper(strings.TrimSpace(s))
	neg := false
	if strings.HasPrefix(s, "-") || strings.HasPrefix(s, "+") {
		neg = s[0] == '-'
		s = s[1:]
	}
	if !strings.HasPrefix(s, "P") || len(s) == 1 {
		return duration{}, fmt.Errorf("duration %q: want P…", orig)
	}
	s = s[1:]
	var d duration
	inTime := false
	for len(s) > 0 {
		if s[0] == 'T' {
			inTime = true
			s = s[1:]
			continue
		}
		i := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == 0 || i == len(s) || i > 6 {
			return duration{}, fmt.Errorf("duration %q: bad number", orig)
		}
		n := 0
		for _, c := range s[:i] {
			n = n*10 + int(c-'0')
		}
		unit := s[i]
		s = s[i+1:]
		switch {
		case !inTime && unit == 'W':
			d.days += 7 * n
		case !inTime && unit == 'D':
			d.days += n
		case inTime && unit == 'H':
			d.secs += int64(n) * 3600
		case inTime && unit == 'M':
			d.secs += int64(n) * 60
		case inTime && unit == 'S':
			d.secs += int64(n)
		default:
			return duration{}, fmt.Errorf("duration %q: unexpected %q", orig, unit)
		}
	}
	if d.days > 100000 || d.secs > 100000*86400 {
		return duration{}, fmt.Errorf("duration %q: too long", orig)
	}
	if neg {
		d.days, d.secs = -d.days, -d.secs
	}
	return d, nil
}

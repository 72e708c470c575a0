package inventory

import (
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
)

// Date is a night on a property's own calendar: a civil date with no time and
// no zone. Nights are never converted through UTC, so a Date keeps its day
// whatever the server's, the database session's or the guest's zone is.
type Date struct {
	days int32 // days since 1970-01-01
}

// NewDate returns the civil date y-m-d (normalised like time.Date).
func NewDate(y int, m time.Month, d int) Date {
	t := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	return Date{days: int32(t.Unix() / 86400)}
}

// ParseDate reads an ISO 8601 calendar date (2026-11-22).
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return Date{}, fmt.Errorf("date %q: want YYYY-MM-DD", s)
	}
	return NewDate(t.Year(), t.Month(), t.Day()), nil
}

// MustDate is ParseDate for literals in tests and fixtures; it panics on a bad date.
func MustDate(s string) Date {
	d, err := ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

// LocalDate is the date that instant t falls on in loc — the property's
// calendar day, e.g. the night a check-in at t belongs to.
func LocalDate(t time.Time, loc *time.Location) Date {
	y, m, d := t.In(loc).Date()
	return NewDate(y, m, d)
}

// Today is the current date in loc.
func Today(loc *time.Location) Date { return LocalDate(time.Now(), loc) }

// Tonight is the first night on sale at t in loc when a night is sold
// until soldUntil past the midnight that ends it: t's date, or the date
// before while the local clock reads earlier than soldUntil. The clock is
// the wall clock, as PostgreSQL's (now() AT TIME ZONE zone) - interval
// reads it (TonightSQL), so both agree on days the clocks change.
func Tonight(t time.Time, loc *time.Location, soldUntil time.Duration) Date {
	w := t.In(loc)
	wall := time.Date(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), w.Second(), w.Nanosecond(), time.UTC)
	y, m, d := wall.Add(-soldUntil).Date()
	return NewDate(y, m, d)
}

// Clock is a time of day as a duration after midnight, written HH:MM.
func Clock(d time.Duration) string {
	return fmt.Sprintf("%02d:%02d", int(d/time.Hour), int(d%time.Hour/time.Minute))
}

// ParseClock reads a time of day written HH:MM (00:00–24:00) as the
// duration after midnight.
func ParseClock(s string) (time.Duration, error) {
	digit := func(i int) int {
		if c := s[i]; c >= '0' && c <= '9' {
			return int(c - '0')
		}
		return -1000
	}
	if len(s) != 5 || s[2] != ':' {
		return 0, fmt.Errorf("%q is not a time of day written HH:MM", s)
	}
	h, m := digit(0)*10+digit(1), digit(3)*10+digit(4)
	if h < 0 || m < 0 || m > 59 || h*60+m > 24*60 {
		return 0, fmt.Errorf("%q is not a time of day written HH:MM", s)
	}
	return time.Duration(h)*time.Hour + time.Duration(m)*time.Minute, nil
}

// TonightSQL is Tonight in SQL, now, for the properties row aliased p in
// the statement.
const TonightSQL = "((now() AT TIME ZONE p.time_zone) - p.night_sold_until_minutes * interval '1 minute')::date"

func (d Date) utc() time.Time { return time.Unix(int64(d.days)*86400, 0).UTC() }

// Year, Month and Day of the date.
func (d Date) Year() int         { return d.utc().Year() }
func (d Date) Month() time.Month { return d.utc().Month() }
func (d Date) Day() int          { return d.utc().Day() }

// AddDays returns the date n days later (earlier when n < 0).
func (d Date) AddDays(n int) Date { return Date{days: d.days + int32(n)} }

// Sub is the number of nights from e to d.
func (d Date) Sub(e Date) int { return int(d.days - e.days) }

// Before, After and Equal compare dates.
func (d Date) Before(e Date) bool { return d.days < e.days }
func (d Date) After(e Date) bool  { return d.days > e.days }

// IsZero reports whether d is the zero Date (1970-01-01 is used as "unset").
func (d Date) IsZero() bool { return d.days == 0 }

func (d Date) String() string { return d.utc().Format(time.DateOnly) }

// MarshalText writes the date as YYYY-MM-DD.
func (d Date) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText reads YYYY-MM-DD.
func (d *Date) UnmarshalText(b []byte) error {
	v, err := ParseDate(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// ScanDate lets pgx scan a PostgreSQL date into a Date without a zone conversion.
func (d *Date) ScanDate(v pgtype.Date) error {
	if !v.Valid {
		*d = Date{}
		return nil
	}
	if v.InfinityModifier != pgtype.Finite {
		return fmt.Errorf("infinite date")
	}
	y, m, day := v.Time.Date()
	*d = NewDate(y, m, day)
	return nil
}

// DateValue lets pgx send a Date as a PostgreSQL date.
func (d Date) DateValue() (pgtype.Date, error) {
	return pgtype.Date{Time: d.utc(), Valid: true}, nil
}

// Nights lists the nights of the stay [from, to): arrival up to the night before departure.
func Nights(from, to Date) []Date {
	if !from.Before(to) {
		return nil
	}
	out := make([]Date, 0, to.Sub(from))
	for n := from; n.Before(to); n = n.AddDays(1) {
		out = append(out, n)
	}
	return out
}

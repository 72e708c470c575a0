package inventory

import (
	"fmt"
	"strings"
	"time"
)

// Weekdays is a set of days of the week, to change only some nights of a
// range ("close every Saturday of March"). The zero value is every day.
type Weekdays uint8

// allWeekdays has a bit for each of the seven days.
const allWeekdays Weekdays = 1<<7 - 1

// WeekdaysOf is the set of the days given.
func WeekdaysOf(days ...time.Weekday) Weekdays {
	var w Weekdays
	for _, d := range days {
		w |= 1 << d
	}
	return w
}

// Has says whether the set holds day d (every set does when it is empty).
func (w Weekdays) Has(d time.Weekday) bool { return w.Every() || w&(1<<d) != 0 }

// Every says whether the set holds every day of the week.
func (w Weekdays) Every() bool { return w == 0 || w&allWeekdays == allWeekdays }

// weekOrder is Monday first, as hotels' calendars are read.
var weekOrder = [...]time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday, time.Sunday}

// Days lists the set's days, Monday first.
func (w Weekdays) Days() []time.Weekday {
	var out []time.Weekday
	for _, d := range weekOrder {
		if w.Has(d) {
			out = append(out, d)
		}
	}
	return out
}

// String is the days' short names, Monday first ("Fri, Sat"); "every day"
// for the whole week.
func (w Weekdays) String() string {
	if w.Every() {
		return "every day"
	}
	var names []string
	for _, d := range w.Days() {
		names = append(names, d.String()[:3])
	}
	return strings.Join(names, ", ")
}

// ParseWeekdays reads days of the week separated by commas: English names,
// whole or their first three letters, in any case ("sat,sun", "Friday").
// An empty string is every day.
func ParseWeekdays(s string) (Weekdays, error) {
	var w Weekdays
	if strings.TrimSpace(s) == "" {
		return 0, nil
	}
	for _, part := range strings.Split(s, ",") {
		d, ok := weekdayNamed(strings.TrimSpace(part))
		if !ok {
			return 0, Errorf(EINVALID, "%.20q is not a day of the week: give mon, tue, wed, thu, fri, sat or sun, separated by commas", strings.TrimSpace(part))
		}
		w |= 1 << d
	}
	return w, nil
}

func weekdayNamed(s string) (time.Weekday, bool) {
	s = strings.ToLower(s)
	for _, d := range weekOrder {
		name := strings.ToLower(d.String())
		if s == name || s == name[:3] {
			return d, true
		}
	}
	return 0, false
}

// Weekday is the day of the week of the night.
func (d Date) Weekday() time.Weekday { return d.utc().Weekday() }

// Selected lists the nights of r on one of its Days, in order.
func (r NightRange) Selected() []Date {
	var out []Date
	for _, d := range Nights(r.From, r.To) {
		if r.Days.Has(d.Weekday()) {
			out = append(out, d)
		}
	}
	return out
}

// checkDays refuses a range in which no night falls on one of its Days.
func (r NightRange) checkDays() error {
	if r.Days.Every() || len(r.Selected()) > 0 {
		return nil
	}
	return Errorf(EINVALID, "no night from %s to %s falls on %s", r.From, r.To.AddDays(-1), r.Days)
}

// Trimmed is r from its first selected night to the night after its last:
// the nights an edit of r changes, or r itself when none is selected.
func (r NightRange) Trimmed() NightRange {
	sel := r.Selected()
	if len(sel) == 0 {
		return r
	}
	r.From, r.To = sel[0], sel[len(sel)-1].AddDays(1)
	return r
}

// describe names the range for the audit log: "pool DBL 2027-03-01..2027-04-01",
// and the days when not every day ("…, Sat, Sun only").
func (r NightRange) describe() string {
	s := fmt.Sprintf("pool %s %s..%s", r.Pool, r.From, r.To)
	if !r.Days.Every() {
		s += ", " + r.Days.String() + " only"
	}
	return s
}

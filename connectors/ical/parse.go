package ical

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	goical "github.com/emersion/go-ical"

	"github.com/keyrack/keyrack/inventory"
)

// ParseOptions says how to read a feed's times.
type ParseOptions struct {
	// Location is the property's zone: DATE-TIME values become the nights of
	// this calendar, and floating times are read in it. nil means UTC.
	Location *time.Location
	// From and To bound the nights recurring events are expanded over
	// (both included). A zero From is 30 days before today in Location, a
	// zero To is From plus 400 days. Events that do not recur are returned
	// whatever their dates: the importer decides what is past.
	From, To inventory.Date
	// IncludeTransparent keeps TRANSP:TRANSPARENT events, which by default
	// are skipped because the producer marked them as not taking the time.
	// Google Calendar writes all-day events as TRANSPARENT unless the user
	// chose "busy", so a host blocking dates there may need this.
	IncludeTransparent bool
}

// Feed is what a calendar said.
type Feed struct {
	ProdID string
	// Events are the nights each event takes, one per UID (see Parse).
	Events []inventory.CalendarEvent
	// Warnings are the things Parse skipped or guessed, for the operator.
	Warnings []string
	// Unreadable are the UIDs of events the calendar has but Parse could
	// not read whole: dates it cannot read, an end before the start, a
	// recurrence it could not expand. The
	// platform did not drop them, so an importer keeps what it had for
	// them (and for their occurrences, <UID>/…) rather than cancel.
	Unreadable []string
}

// Limits that keep a hostile or broken feed from costing much.
const (
	maxWarnings     = 100
	maxOccurrences  = 1000            // per recurring event, inside the horizon
	maxRuleSteps    = 100000          // rrule iterations per recurring event
	maxStayNights   = 3*365 + 1       // keyrack refuses longer stays
	expansionBudget = 2 * time.Second // all recurrences of one Parse
	defaultPastDays = 30
	defaultHorizon  = 400
)

// Parse reads an availability feed into the nights its events take.
//
// It returns an error, never an empty Feed, for a body that is not a whole
// calendar: empty (ErrEmpty), anything not starting with BEGIN:VCALENDAR
// (ErrNotCalendar: HTML, JSON), a calendar without END:VCALENDAR
// (ErrTruncated), or one go-ical cannot decode. A calendar with no events
// is a valid empty feed.
//
// The rules, each chosen so that a night is blocked when the feed says
// someone is there:
//   - DATE values are civil dates; DTEND is the checkout day (exclusive).
//   - A DATE-TIME event takes the nights from the day it starts up to the
//     night before the day it ends, days read in Location: 15:00 on the
//     10th to 11:00 on the 12th is nights 10 and 11; 10:00 to 18:00 on one
//     day is no night.
//   - Except an event from midnight to midnight in its own zone: that is
//     how some producers write all-day events (Google's "Out of office"),
//     so it takes its calendar days as a DATE event would, whatever
//     Location: 00:00 on the 1st to 00:00 on the 3rd in Berlin is nights 1
//     and 2 for a property in Lisbon too.
//   - Without DTEND: DURATION if present, else one night for a DATE, and no
//     night (ignored) for a DATE-TIME.
//   - Events that take no night or end before they start are ignored with
//     a warning. An event longer than about three years (a block "until
//     2099") takes the nights it has in [From, To], with a warning.
//   - STATUS:CANCELLED events are skipped; TRANSP:TRANSPARENT ones too,
//     with a warning, unless IncludeTransparent.
//   - An event without UID gets a stable one from its dates and summary.
//   - RRULE, RDATE and EXDATE are expanded within [From, To]; occurrence
//     UIDs are <UID>/<YYYYMMDD of the occurrence start in the event's own
//     zone>, and a RECURRENCE-ID override replaces its occurrence and keeps
//     its UID, even when it moves the dates.
//   - Several events with the same UID (Smoobu writes each stay three
//     times): events whose nights overlap are merged into their union, so
//     no night is lost or counted twice; separate runs keep the UID for the
//     longest and get <UID>/<YYYYMMDD of arrival> for the others, with a
//     warning. Exact repeats are dropped silently.
func Parse(body []byte, opt ParseOptions) (feed Feed, err error) {
	p := &parser{loc: opt.Location, opt: opt}
	if p.loc == nil {
		p.loc = time.UTC
	}
	if p.opt.From.IsZero() {
		p.opt.From = inventory.Today(p.loc).AddDays(-defaultPastDays)
	}
	if p.opt.To.IsZero() {
		p.opt.To = p.opt.From.AddDays(defaultHorizon)
	}
	text, err := prepare(body, p.warnf)
	if err != nil {
		return Feed{}, err
	}
	cals, err := decode(text)
	if err != nil {
		return Feed{}, err
	}
	if len(cals) == 0 {
		return Feed{}, ErrNotCalendar
	}
	defer func() {
		// Last line of defence for the libraries underneath: a feed must
		// never take the poller down.
		if r := recover(); r != nil {
			feed, err = Feed{}, fmt.Errorf("%w: %v", errPanic, r)
		}
	}()
	if v := cals[0].Props.Get(goical.PropProductID); v != nil {
		feed.ProdID = strings.TrimSpace(unescapeText(v.Value))
	}
	p.zones = newZones(p.loc, cals, p.warnf)
	var comps []*goical.Component
	for _, cal := range cals {
		for _, c := range cal.Children {
			if c.Name == goical.CompEvent {
				comps = append(comps, c)
			}
		}
	}
	p.events(comps)
	feed.Events = p.dedupe(p.out)
	feed.Warnings = p.warnings
	feed.Unreadable = p.unread
	if p.dropped > 0 {
		feed.Warnings = append(feed.Warnings, fmt.Sprintf("… and %d more warnings", p.dropped))
	}
	return feed, nil
}

// errPanic marks a panic recovered in Parse: a bug to fix (FuzzParse
// fails on it), reported to the caller as a feed that cannot be read.
var errPanic = errors.New("ical: cannot read calendar (internal error)")

// decode runs go-ical over prepared text, which may hold several
// VCALENDARs (some exporters concatenate them).
func decode(text string) (cals []*goical.Calendar, err error) {
	defer func() {
		if r := recover(); r != nil {
			cals, err = nil, fmt.Errorf("%w in the decoder: %v", errPanic, r)
		}
	}()
	dec := goical.NewDecoder(strings.NewReader(text))
	for {
		cal, err := dec.Decode()
		if errors.Is(err, io.EOF) {
			return cals, nil
		}
		if err != nil {
			return nil, fmt.Errorf("ical: cannot decode calendar: %w", err)
		}
		cals = append(cals, cal)
	}
}

type parser struct {
	loc      *time.Location
	opt      ParseOptions
	zones    *zones
	out      []inventory.CalendarEvent
	warnings []string
	dropped  int
	unread   []string      // UIDs of events not read whole, see Feed.Unreadable
	spent    time.Duration // on recurrence expansion
}

func (p *parser) warnf(format string, args ...any) {
	if len(p.warnings) >= maxWarnings {
		p.dropped++
		return
	}
	p.warnings = append(p.warnings, fmt.Sprintf(format, args...))
}

// unreadable notes that the event uid could not be read whole.
func (p *parser) unreadable(uid string) {
	if uid != "" && !slices.Contains(p.unread, uid) {
		p.unread = append(p.unread, uid)
	}
}

// vevent is one VEVENT as read, before its nights are known.
type vevent struct {
	c       *goical.Component
	uid     string
	summary string
	recurID *goical.Prop
}

func (p *parser) events(comps []*goical.Component) {
	var masters []*vevent
	overrides := map[string][]*vevent{}
	for _, c := range comps {
		ev := &vevent{c: c, uid: text(c, goical.PropUID), summary: text(c, goical.PropSummary)}
		ev.recurID = c.Props.Get(goical.PropRecurrenceID)
		if ev.recurID != nil && ev.uid != "" {
			overrides[ev.uid] = append(overrides[ev.uid], ev)
			continue
		}
		masters = append(masters, ev)
	}
	used := map[string]bool{} // UIDs whose overrides a master consumed
	for _, ev := range masters {
		if isCancelled(ev.c) || p.transparent(ev) {
			used[ev.uid] = true
			continue
		}
		start, end, ok := p.span(ev)
		if !ok {
			continue
		}
		if ev.uid == "" {
			ev.uid = syntheticUID(ev)
			p.warnf("event %q (%s) has no UID: using %s", ev.summary, start.night(p.loc), ev.uid)
		}
		if recurs(ev.c) {
			// Every copy of a series is expanded, with its UID's
			// overrides: a repeated one gives the same occurrences, which
			// dedupe drops, where read as one stay it counted its first
			// stay twice; and a cancelled event under the same UID
			// cancels itself, not the series' later stays.
			used[ev.uid] = true
			p.recurrence(ev, start, end, overrides[ev.uid])
			continue
		}
		p.add(ev.uid, ev.summary, start, end)
	}
	for _, uid := range slices.Sorted(maps.Keys(overrides)) {
		ovs := overrides[uid]
		if used[uid] {
			continue
		}
		// Overrides whose master is missing are still real stays.
		for _, ov := range ovs {
			if isCancelled(ov.c) || p.transparent(ov) {
				continue
			}
			start, end, ok := p.span(ov)
			if !ok {
				continue
			}
			rid, err := p.zones.moment(ov.recurID, ov.recurID.Value)
			if err != nil {
				p.warnf("event %q: %v", uid, err)
				continue
			}
			p.add(uid+"/"+dateValue(civil(toWall(rid, rid))), ov.summary, start, end)
		}
	}
	// Same feed, same order: by arrival, then UID.
	slices.SortStableFunc(p.out, func(a, b inventory.CalendarEvent) int {
		if c := a.Arrival.Sub(b.Arrival); c != 0 {
			return c
		}
		return strings.Compare(a.UID, b.UID)
	})
}

// span reads an event's start and end (DTEND, else DURATION, else one
// night for a DATE and nothing for a DATE-TIME).
func (p *parser) span(ev *vevent) (start, end moment, ok bool) {
	name := ev.uid
	if name == "" {
		name = ev.summary
	}
	sp := ev.c.Props.Get(goical.PropDateTimeStart)
	if sp == nil {
		p.warnf("event %q has no DTSTART: ignored", name)
		p.unreadable(ev.uid)
		return start, end, false
	}
	start, err := p.zones.moment(sp, sp.Value)
	if err != nil {
		p.warnf("event %q: %v: ignored", name, err)
		p.unreadable(ev.uid)
		return start, end, false
	}
	if ep := ev.c.Props.Get(goical.PropDateTimeEnd); ep != nil {
		end, err = p.zones.moment(ep, ep.Value)
		if err != nil {
			p.warnf("event %q: %v: ignored", name, err)
			p.unreadable(ev.uid)
			return start, end, false
		}
		return start, end, true
	}
	if dp := ev.c.Props.Get(goical.PropDuration); dp != nil {
		d, err := parseDuration(dp.Value)
		if err != nil {
			p.warnf("event %q: %v: ignored", name, err)
			p.unreadable(ev.uid)
			return start, end, false
		}
		return start, d.add(start), true
	}
	if start.date {
		return start, duration{days: 1}.add(start), true
	}
	return start, start, true
}

// add records an event's nights after the checks every event gets.
func (p *parser) add(uid, summary string, start, end moment) {
	arr, dep := start.night(p.loc), end.night(p.loc)
	if start.atMidnight() && end.atMidnight() {
		arr, dep = civil(start.wall), civil(end.wall)
	}
	switch {
	case !arr.Before(dep):
		if arr == dep {
			p.warnf("event %q (%s) takes no night: ignored", uid, arr)
		} else {
			p.warnf("event %q ends before it starts (%s → %s): ignored", uid, arr, dep)
			p.unreadable(uid)
		}
		return
	case dep.Sub(arr) > maxStayNights:
		// A block "until further notice" (an owner closing the listing
		// until 2099): the feed says the nights are taken, so they are
		// blocked — those of the window keyrack imports, which moves on
		// with the days.
		from, to := maxDate(arr, p.opt.From), minDate(dep, p.opt.To.AddDays(1))
		if !from.Before(to) {
			p.warnf("event %q lasts %d nights (%s → %s), none of them from %s to %s: ignored", uid, dep.Sub(arr), arr, dep, p.opt.From, p.opt.To)
			return
		}
		p.warnf("event %q lasts %d nights (%s → %s), more than a stay can: its nights from %s to %s are taken",
			uid, dep.Sub(arr), arr, dep, from, to)
		arr, dep = from, to
	}
	p.out = append(p.out, inventory.CalendarEvent{UID: uid, Arrival: arr, Departure: dep, Summary: summary})
}

func (p *parser) transparent(ev *vevent) bool {
	if p.opt.IncludeTransparent || !strings.EqualFold(text(ev.c, goical.PropTransparency), "TRANSPARENT") {
		return false
	}
	p.warnf("event %q is marked TRANSPARENT (free time): ignored", ev.uid)
	return true
}

func isCancelled(c *goical.Component) bool {
	return strings.EqualFold(text(c, goical.PropStatus), "CANCELLED")
}

func recurs(c *goical.Component) bool {
	return c.Props.Get(goical.PropRecurrenceRule) != nil || c.Props.Get(goical.PropRecurrenceDates) != nil
}

// text reads a TEXT property from its raw value, unescaping only valid
// escapes: go-ical's Text() cuts at unescaped commas and fails on `\:`.
func text(c *goical.Component, name string) string {
	if p := c.Props.Get(name); p != nil {
		return strings.TrimSpace(unescapeText(p.Value))
	}
	return ""
}

// syntheticUID names an event that has none by what it says, so the same
// event gets the same UID on every fetch.
func syntheticUID(ev *vevent) string {
	h := sha256.New()
	for _, name := range []string{goical.PropDateTimeStart, goical.PropDateTimeEnd, goical.PropDuration} {
		if p := ev.c.Props.Get(name); p != nil {
			fmt.Fprintf(h, "%s;%s=%s\n", name, p.Params.Get(goical.PropTimezoneID), strings.TrimSpace(p.Value))
		}
	}
	fmt.Fprintf(h, "SUMMARY=%s\n", ev.summary)
	return "nouid-" + hex.EncodeToString(h.Sum(nil)[:10]) + "@keyrack"
}

// dedupe applies the same-UID rule documented on Parse.
func (p *parser) dedupe(events []inventory.CalendarEvent) []inventory.CalendarEvent {
	byUID := map[string][]int{}
	var order []string
	for i, e := range events {
		if _, seen := byUID[e.UID]; !seen {
			order = append(order, e.UID)
		}
		byUID[e.UID] = append(byUID[e.UID], i)
	}
	taken := map[string]bool{}
	for _, uid := range order {
		taken[uid] = true
	}
	out := make([]inventory.CalendarEvent, 0, len(events))
	for _, uid := range order {
		idx := byUID[uid]
		if len(idx) == 1 {
			out = append(out, events[idx[0]])
			continue
		}
		group := make([]inventory.CalendarEvent, len(idx))
		for i, j := range idx {
			group[i] = events[j]
		}
		runs := mergeOverlapping(group)
		distinct := false
		for _, e := range group[1:] {
			if e.Arrival != group[0].Arrival || e.Departure != group[0].Departure {
				distinct = true
			}
		}
		if !distinct {
			out = append(out, runs[0])
			continue
		}
		longest := 0
		for i, r := range runs {
			if r.Departure.Sub(r.Arrival) > runs[longest].Departure.Sub(runs[longest].Arrival) {
				longest = i
			}
		}
		p.warnf("UID %q appears %d times with different dates: merged into %d event(s)", uid, len(group), len(runs))
		for i, r := range runs {
			if i != longest {
				base := uid + "/" + dateValue(r.Arrival)
				r.UID = base
				for n := 2; taken[r.UID]; n++ {
					r.UID = fmt.Sprintf("%s-%d", base, n)
				}
				taken[r.UID] = true
			}
			out = append(out, r)
		}
	}
	return out
}

// mergeOverlapping merges events sharing at least one night into their
// union; events that only touch (one's checkout is the other's arrival)
// stay apart, as two stays would.
func mergeOverlapping(group []inventory.CalendarEvent) []inventory.CalendarEvent {
	sorted := slices.Clone(group)
	slices.SortStableFunc(sorted, func(a, b inventory.CalendarEvent) int { return a.Arrival.Sub(b.Arrival) })
	var runs []inventory.CalendarEvent
	for _, e := range sorted {
		if n := len(runs); n > 0 && e.Arrival.Before(runs[n-1].Departure) {
			last := &runs[n-1]
			if e.Departure.Sub(e.Arrival) > last.Departure.Sub(last.Arrival) {
				last.Summary = e.Summary
			}
			if e.Departure.After(last.Departure) {
				last.Departure = e.Departure
			}
			continue
		}
		runs = append(runs, e)
	}
	return runs
}

func maxDate(a, b inventory.Date) inventory.Date {
	if a.Before(b) {
		return b
	}
	return a
}

func minDate(a, b inventory.Date) inventory.Date {
	if a.Before(b) {
		return a
	}
	return b
}

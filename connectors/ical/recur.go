package ical

import (
	"maps"
	"slices"
	"strings"
	"time"

	goical "github.com/emersion/go-ical"
	"github.com/teambition/rrule-go"

	"github.com/keyrack/keyrack/inventory"
)

// occurrence is one instance of a recurring event, in the master's wall
// clock, before overrides.
type occurrence struct {
	start, end moment
}

// recurrence expands a recurring event within the horizon and applies its
// EXDATEs and RECURRENCE-ID overrides. go-ical's RecurrenceSet is not used:
// it reads EXDATE where RDATE is meant, resolves TZIDs only through Go and
// takes one value per EXDATE line.
func (p *parser) recurrence(ev *vevent, start, end moment, overrides []*vevent) {
	defer func() {
		// rrule-go indexes slices with rule values it does not validate
		// (BYEASTER, for one): a rule it chokes on costs this event only.
		if r := recover(); r != nil {
			p.warnf("event %q: cannot expand its recurrence (%v)", ev.uid, r)
			p.unreadable(ev.uid)
		}
	}()
	// The occurrence length, in the start's wall clock, so that a
	// midnight-to-midnight event stays one night across a DST change.
	length := wallLength(start, end)
	var occs []occurrence
	seen := map[string]bool{}
	addOcc := func(o occurrence) {
		k := occKey(o.start)
		if !seen[k] {
			seen[k] = true
			occs = append(occs, o)
		}
	}

	first, last := p.opt.From.AddDays(-1), p.opt.To.AddDays(1) // a day of slack for zones
	inHorizon := func(m moment) bool {
		d := civil(m.wall)
		return !d.After(last) && !length.add(m).wall.Before(dayStart(first))
	}

	if rp := ev.c.Props.Get(goical.PropRecurrenceRule); rp != nil {
		if r := p.rule(ev, rp, start); r != nil {
			began := time.Now()
			next := r.Iterator()
			inWindow := 0
			for steps := 0; ; steps++ {
				if steps >= maxRuleSteps || p.spent+time.Since(began) > expansionBudget {
					p.warnf("event %q: recurrence too long to expand, stopped at step %d", ev.uid, steps)
					p.unreadable(ev.uid)
					break
				}
				t, ok := next()
				if !ok || civil(t).After(last) {
					break
				}
				m := start
				m.wall = t
				if !inHorizon(m) {
					continue
				}
				if inWindow++; inWindow > maxOccurrences {
					p.warnf("event %q: more than %d occurrences in the horizon, the rest ignored", ev.uid, maxOccurrences)
					p.unreadable(ev.uid)
					break
				}
				addOcc(occurrence{start: m, end: length.add(m)})
			}
			p.spent += time.Since(began)
		} else {
			p.unreadable(ev.uid) // its other occurrences are unknown, not gone
			addOcc(occurrence{start: start, end: end})
		}
	} else {
		addOcc(occurrence{start: start, end: end}) // RDATE-only: DTSTART is the first instance
	}

	rdates := 0
	for _, rp := range ev.c.Props.Values(goical.PropRecurrenceDates) {
		for _, v := range strings.Split(rp.Value, ",") {
			if rdates++; rdates > maxOccurrences {
				break
			}
			o, err := p.rdate(rp, v, start, length)
			if err != nil {
				p.warnf("event %q: %v", ev.uid, err)
				continue
			}
			if inHorizon(o.start) {
				addOcc(o)
			}
		}
	}

	ex := map[string]bool{}
	for _, xp := range ev.c.Props.Values(goical.PropExceptionDates) {
		for _, v := range strings.Split(xp.Value, ",") {
			m, err := p.zones.moment(&xp, v)
			if err != nil {
				p.warnf("event %q: %v", ev.uid, err)
				continue
			}
			ex[p.matchKey(m, start)] = true
		}
	}

	byKey := map[string]*vevent{}
	for _, ov := range overrides {
		m, err := p.zones.moment(ov.recurID, ov.recurID.Value)
		if err != nil {
			p.warnf("event %q: %v", ev.uid, err)
			continue
		}
		byKey[p.matchKey(m, start)] = ov
	}

	for _, o := range occs {
		k := p.matchKey(o.start, start)
		if ex[k] {
			continue
		}
		uid := ev.uid + "/" + dateValue(civil(o.start.wall))
		if ov, ok := byKey[k]; ok {
			delete(byKey, k)
			p.override(ov, uid)
			continue
		}
		if p.inWindow(o.start, o.end) {
			p.add(uid, ev.summary, o.start, o.end)
		}
	}
	// Overrides of occurrences the rule does not produce here (moved in
	// from outside the horizon, or a rule we could not read) still stand.
	for _, k := range slices.Sorted(maps.Keys(byKey)) {
		ov := byKey[k]
		if ex[k] {
			continue
		}
		rid, err := p.zones.moment(ov.recurID, ov.recurID.Value)
		if err != nil {
			continue
		}
		p.override(ov, ev.uid+"/"+dateValue(civil(toWall(rid, start))))
	}
}

// override records an instance that a RECURRENCE-ID event replaced; it
// keeps the occurrence's UID so a moved instance is a modification.
func (p *parser) override(ov *vevent, uid string) {
	if isCancelled(ov.c) || p.transparent(ov) {
		return
	}
	s, e, ok := p.span(ov)
	if !ok || !p.inWindow(s, e) {
		return
	}
	p.add(uid, ov.summary, s, e)
}

// inWindow reports whether an instance takes a night within [From, To].
func (p *parser) inWindow(s, e moment) bool {
	return e.night(p.loc).After(p.opt.From) && !s.night(p.loc).After(p.opt.To)
}

// rule builds the RRULE iterator in the start's wall clock. Sub-daily rules
// are refused: they cannot describe stays, and they can keep rrule-go
// iterating for a very long time.
func (p *parser) rule(ev *vevent, rp *goical.Prop, start moment) *rrule.RRule {
	opt, err := rrule.StrToROption(strings.ToUpper(strings.TrimSpace(rp.Value)))
	if err != nil {
		p.warnf("event %q: cannot read RRULE %q: %v; only its first instance used", ev.uid, rp.Value, err)
		return nil
	}
	if !ruleInRange(opt) {
		p.warnf("event %q: cannot use RRULE %q: a value is out of range; only its first instance used", ev.uid, rp.Value)
		return nil
	}
	if opt.Freq > rrule.DAILY {
		p.warnf("event %q: RRULE more frequent than daily is not supported; only its first instance used", ev.uid)
		return nil
	}
	opt.Dtstart = start.wall
	if !opt.Until.IsZero() && !start.date {
		until := ""
		for _, part := range strings.Split(strings.ToUpper(rp.Value), ";") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(part), "UNTIL="); ok {
				until = v
			}
		}
		switch {
		case strings.HasSuffix(until, "Z"):
			// UNTIL in UTC, expansion in the event's wall clock.
			opt.Until = start.zone.wall(opt.Until)
		case len(until) == 8:
			// A DATE UNTIL on a DATE-TIME event means "through that day".
			opt.Until = opt.Until.Add(24*time.Hour - time.Second)
		}
	}
	r, err := rrule.NewRRule(*opt)
	if err != nil {
		p.warnf("event %q: cannot use RRULE %q: %v; only its first instance used", ev.uid, rp.Value, err)
		return nil
	}
	return r
}

// rdate reads one RDATE value: a DATE, a DATE-TIME or a PERIOD.
func (p *parser) rdate(rp goical.Prop, v string, start moment, length duration) (occurrence, error) {
	v = strings.TrimSpace(v)
	if i := strings.IndexByte(v, '/'); i >= 0 {
		s, err := p.zones.moment(&rp, v[:i])
		if err != nil {
			return occurrence{}, err
		}
		rest := v[i+1:]
		if strings.HasPrefix(strings.TrimLeft(rest, "+-"), "P") {
			d, err := parseDuration(rest)
			if err != nil {
				return occurrence{}, err
			}
			return occurrence{start: s, end: d.add(s)}, nil
		}
		e, err := p.zones.moment(&rp, rest)
		if err != nil {
			return occurrence{}, err
		}
		return occurrence{start: s, end: e}, nil
	}
	s, err := p.zones.moment(&rp, v)
	if err != nil {
		return occurrence{}, err
	}
	// Keep the instance in the master's wall clock, like rule occurrences.
	if !s.date && !start.date {
		s = moment{wall: toWall(s, start), zone: start.zone}
	}
	return occurrence{start: s, end: length.add(s)}, nil
}

// matchKey identifies an instance for EXDATE and RECURRENCE-ID: the
// instant for DATE-TIME events, the wall date when either side is a DATE.
func (p *parser) matchKey(m, master moment) string {
	if m.date || master.date {
		return "D" + dateValue(civil(toWall(m, master)))
	}
	return "T" + m.instant().UTC().Format("20060102T150405")
}

// occKey identifies an occurrence by its start as expanded.
func occKey(m moment) string {
	if m.date {
		return "D" + m.wall.Format("20060102")
	}
	return "T" + m.wall.Format("20060102T150405")
}

// toWall reads m in the master's wall clock (a DATE stays as written).
func toWall(m, master moment) time.Time {
	if m.date || master.date {
		if !m.date && master.date {
			return m.zone.wall(m.instant())
		}
		return m.wall
	}
	return master.zone.wall(m.instant())
}

// wallLength is end−start in start's wall clock, as nominal days plus
// seconds.
func wallLength(start, end moment) duration {
	ew := end.wall
	if !start.date && !end.date {
		ew = start.zone.wall(end.instant())
	} else if start.date && !end.date {
		ew = end.zone.wall(end.instant())
	}
	days := int(civil(ew).Sub(civil(start.wall)))
	sw := start.wall.AddDate(0, 0, days)
	return duration{days: days, secs: int64(ew.Sub(sw) / time.Second)}
}

func dayStart(d inventory.Date) time.Time {
	return time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, time.UTC)
}

// ruleInRange refuses values rrule-go does not validate and then indexes
// out of range with: BYEASTER beyond a year, and an nth weekday beyond ±5
// where the rule counts weekdays within a month.
func ruleInRange(opt *rrule.ROption) bool {
	for _, n := range opt.Byeaster {
		if n < -366 || n > 366 {
			return false
		}
	}
	if opt.Freq == rrule.MONTHLY || opt.Freq == rrule.YEARLY && len(opt.Bymonth) > 0 {
		for _, w := range opt.Byweekday {
			if n := w.N(); n < -5 || n > 5 {
				return false
			}
		}
	}
	return true
}

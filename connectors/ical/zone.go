package ical

import (
	"sort"
	"strconv"
	"strings"
	"time"

	goical "github.com/emersion/go-ical"
	"github.com/teambition/rrule-go"
)

// zone is how a DATE-TIME's wall-clock reading becomes an instant: UTC, a
// Go location (IANA, or mapped from a Windows name), an in-file VTIMEZONE,
// or floating (the property's own zone).
type zone struct {
	loc *time.Location // UTC, Go zones and floating
	vtz *vzone         // in-file VTIMEZONE when Go does not know the TZID
}

// instant is the moment the wall-clock reading w (its fields, whatever its
// location) stands for in z.
func (z zone) instant(w time.Time) time.Time {
	if z.vtz != nil {
		off := z.vtz.offsetAtWall(w)
		return naive(w).Add(-time.Duration(off) * time.Second)
	}
	y, m, d := w.Date()
	hh, mm, ss := w.Clock()
	return time.Date(y, m, d, hh, mm, ss, 0, z.loc)
}

// wall is the wall-clock reading of instant t in z, as a naive (UTC) time.
func (z zone) wall(t time.Time) time.Time {
	if z.vtz != nil {
		off := z.vtz.offsetAtInstant(t)
		return t.UTC().Add(time.Duration(off) * time.Second)
	}
	return naive(t.In(z.loc))
}

// naive keeps the wall-clock fields of t and labels them UTC, so that
// recurrences are expanded in the event's own wall clock.
func naive(t time.Time) time.Time {
	y, m, d := t.Date()
	hh, mm, ss := t.Clock()
	return time.Date(y, m, d, hh, mm, ss, 0, time.UTC)
}

// zones resolves TZIDs for one Parse, caching what it found.
type zones struct {
	floating *time.Location
	vtzs     map[string]*goical.Component // TZID → VTIMEZONE in the file
	cache    map[string]zone
	built    int // VTIMEZONEs expanded so far
	warn     func(string, ...any)
}

// maxVTimezones bounds the VTIMEZONEs one Parse expands: a real feed uses
// one or two, and each costs rule iterations.
const maxVTimezones = 20

func newZones(floating *time.Location, cals []*goical.Calendar, warn func(string, ...any)) *zones {
	z := &zones{floating: floating, vtzs: map[string]*goical.Component{}, cache: map[string]zone{}, warn: warn}
	for _, cal := range cals {
		for _, c := range cal.Children {
			if c.Name != goical.CompTimezone {
				continue
			}
			if p := c.Props.Get(goical.PropTimezoneID); p != nil {
				id := strings.TrimSpace(p.Value)
				if _, dup := z.vtzs[id]; !dup {
					z.vtzs[id] = c
				}
			}
		}
	}
	return z
}

// lookup resolves a TZID parameter: a Go zone first (its data beats what a
// file carries), then the Windows names Outlook and Exchange write, then
// the file's own VTIMEZONE, else the property's zone with a warning.
func (z *zones) lookup(tzid string) zone {
	if tzid == "" {
		return zone{loc: z.floating}
	}
	if c, ok := z.cache[tzid]; ok {
		return c
	}
	c := z.resolve(tzid)
	z.cache[tzid] = c
	return c
}

func (z *zones) resolve(tzid string) zone {
	id := strings.Trim(strings.TrimSpace(tzid), `"`)
	if strings.EqualFold(id, "Local") || id == "" {
		// go-ical's own encoder writes TZID=Local for time.Local: it means
		// the producer's clock, the best guess for which is ours.
		return zone{loc: z.floating}
	}
	if loc := loadGoZone(id); loc != nil {
		return zone{loc: loc}
	}
	if name, ok := windowsZones[strings.ToLower(id)]; ok {
		if loc := loadGoZone(name); loc != nil {
			return zone{loc: loc}
		}
	}
	comp := z.vtzs[strings.TrimSpace(tzid)]
	if comp == nil {
		comp = z.vtzs[id]
	}
	if comp != nil && z.built < maxVTimezones {
		z.built++
		if p := comp.Props.Get("X-LIC-LOCATION"); p != nil {
			if loc := loadGoZone(strings.TrimSpace(p.Value)); loc != nil {
				return zone{loc: loc}
			}
		}
		if v, exact := buildVZone(comp); v != nil {
			if !exact {
				z.warn("time zone %q: its daylight-saving rule could not be read, fixed offsets used", id)
			}
			return zone{vtz: v}
		}
	}
	z.warn("unknown time zone %q: read in the property's zone", id)
	return zone{loc: z.floating}
}

// loadGoZone loads an IANA zone, also from the /mozilla.org/20050126_1/
// Europe/Paris style of old Lightning and Evolution exports.
func loadGoZone(id string) *time.Location {
	if id == "" || len(id) > 100 {
		return nil
	}
	if strings.EqualFold(id, "Local") {
		return nil
	}
	if loc, err := time.LoadLocation(id); err == nil && id != "" {
		return loc
	}
	if strings.HasPrefix(id, "/") {
		parts := strings.Split(strings.Trim(id, "/"), "/")
		for i := 1; i < len(parts); i++ {
			if loc, err := time.LoadLocation(strings.Join(parts[i:], "/")); err == nil {
				return loc
			}
		}
	}
	return nil
}

// windowsZones maps the Windows zone names Outlook, Exchange and many
// Windows-built PMSs write as TZID to IANA names (CLDR windowsZones.xml,
// territory 001). Keys are lower case.
var windowsZones = func() map[string]string {
	m := map[string]string{
		"Dateline Standard Time":          "Etc/GMT+12",
		"UTC-11":                          "Etc/GMT+11",
		"Aleutian Standard Time":          "America/Adak",
		"Hawaiian Standard Time":          "Pacific/Honolulu",
		"Alaskan Standard Time":           "America/Anchorage",
		"Pacific Standard Time (Mexico)":  "America/Tijuana",
		"Pacific Standard Time":           "America/Los_Angeles",
		"US Mountain Standard Time":       "America/Phoenix",
		"Mountain Standard Time (Mexico)": "America/Mazatlan",
		"Mountain Standard Time":          "America/Denver",
		"Central America Standard Time":   "America/Guatemala",
		"Central Standard Time":           "America/Chicago",
		"Central Standard Time (Mexico)":  "America/Mexico_City",
		"Canada Central Standard Time":    "America/Regina",
		"SA Pacific Standard Time":        "America/Bogota",
		"Eastern Standard Time (Mexico)":  "America/Cancun",
		"Eastern Standard Time":           "America/New_York",
		"US Eastern Standard Time":        "America/Indiana/Indianapolis",
		"Cuba Standard Time":              "America/Havana",
		"Paraguay Standard Time":          "America/Asuncion",
		"Atlantic Standard Time":          "America/Halifax",
		"Venezuela Standard Time":         "America/Caracas",
		"Central Brazilian Standard Time": "America/Cuiaba",
		"SA Western Standard Time":        "America/La_Paz",
		"Pacific SA Standard Time":        "America/Santiago",
		"Newfoundland Standard Time":      "America/St_Johns",
		"E. South America Standard Time":  "America/Sao_Paulo",
		"Argentina Standard Time":         "America/Argentina/Buenos_Aires",
		"SA Eastern Standard Time":        "America/Cayenne",
		"Greenland Standard Time":         "America/Godthab",
		"Montevideo Standard Time":        "America/Montevideo",
		"UTC-02":                          "Etc/GMT+2",
		"Mid-Atlantic Standard Time":      "Etc/GMT+2",
		"Azores Standard Time":            "Atlantic/Azores",
		"Cape Verde Standard Time":        "Atlantic/Cape_Verde",
		"UTC":                             "Etc/UTC",
		"Coordinated Universal Time":      "Etc/UTC",
		"GMT Standard Time":               "Europe/London",
		"Greenwich Standard Time":         "Atlantic/Reykjavik",
		"Morocco Standard Time":           "Africa/Casablanca",
		"W. Europe Standard Time":         "Europe/Berlin",
		"Central Europe Standard Time":    "Europe/Budapest",
		"Romance Standard Time":           "Europe/Paris",
		"Central European Standard Time":  "Europe/Warsaw",
		"W. Central Africa Standard Time": "Africa/Lagos",
		"Jordan Standard Time":            "Asia/Amman",
		"GTB Standard Time":               "Europe/Bucharest",
		"Middle East Standard Time":       "Asia/Beirut",
		"Egypt Standard Time":             "Africa/Cairo",
		"E. Europe Standard Time":         "Europe/Chisinau",
		"Syria Standard Time":             "Asia/Damascus",
		"South Africa Standard Time":      "Africa/Johannesburg",
		"FLE Standard Time":               "Europe/Kiev",
		"Israel Standard Time":            "Asia/Jerusalem",
		"Kaliningrad Standard Time":       "Europe/Kaliningrad",
		"Namibia Standard Time":           "Africa/Windhoek",
		"Arabic Standard Time":            "Asia/Baghdad",
		"Turkey Standard Time":            "Europe/Istanbul",
		"Arab Standard Time":              "Asia/Riyadh",
		"Belarus Standard Time":           "Europe/Minsk",
		"Russian Standard Time":           "Europe/Moscow",
		"E. Africa Standard Time":         "Africa/Nairobi",
		"Iran Standard Time":              "Asia/Tehran",
		"Arabian Standard Time":           "Asia/Dubai",
		"Azerbaijan Standard Time":        "Asia/Baku",
		"Mauritius Standard Time":         "Indian/Mauritius",
		"Georgian Standard Time":          "Asia/Tbilisi",
		"Caucasus Standard Time":          "Asia/Yerevan",
		"Afghanistan Standard Time":       "Asia/Kabul",
		"West Asia Standard Time":         "Asia/Tashkent",
		"Ekaterinburg Standard Time":      "Asia/Yekaterinburg",
		"Pakistan Standard Time":          "Asia/Karachi",
		"India Standard Time":             "Asia/Kolkata",
		"Sri Lanka Standard Time":         "Asia/Colombo",
		"Nepal Standard Time":             "Asia/Kathmandu",
		"Central Asia Standard Time":      "Asia/Almaty",
		"Bangladesh Standard Time":        "Asia/Dhaka",
		"Myanmar Standard Time":           "Asia/Yangon",
		"SE Asia Standard Time":           "Asia/Bangkok",
		"N. Central Asia Standard Time":   "Asia/Novosibirsk",
		"North Asia Standard Time":        "Asia/Krasnoyarsk",
		"China Standard Time":             "Asia/Shanghai",
		"North Asia East Standard Time":   "Asia/Irkutsk",
		"Singapore Standard Time":         "Asia/Singapore",
		"W. Australia Standard Time":      "Australia/Perth",
		"Taipei Standard Time":            "Asia/Taipei",
		"Ulaanbaatar Standard Time":       "Asia/Ulaanbaatar",
		"Tokyo Standard Time":             "Asia/Tokyo",
		"Korea Standard Time":             "Asia/Seoul",
		"Yakutsk Standard Time":           "Asia/Yakutsk",
		"Cen. Australia Standard Time":    "Australia/Adelaide",
		"AUS Central Standard Time":       "Australia/Darwin",
		"E. Australia Standard Time":      "Australia/Brisbane",
		"AUS Eastern Standard Time":       "Australia/Sydney",
		"West Pacific Standard Time":      "Pacific/Port_Moresby",
		"Tasmania Standard Time":          "Australia/Hobart",
		"Vladivostok Standard Time":       "Asia/Vladivostok",
		"Magadan Standard Time":           "Asia/Magadan",
		"Central Pacific Standard Time":   "Pacific/Guadalcanal",
		"New Zealand Standard Time":       "Pacific/Auckland",
		"UTC+12":                          "Etc/GMT-12",
		"Fiji Standard Time":              "Pacific/Fiji",
		"Tonga Standard Time":             "Pacific/Tongatapu",
		"Samoa Standard Time":             "Pacific/Apia",
		"Line Islands Standard Time":      "Pacific/Kiritimati",
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[strings.ToLower(k)] = v
	}
	return out
}()

// vzone is an in-file VTIMEZONE: its offset changes, sorted by instant.
type vzone struct {
	trans   []transition
	initial int // offset (seconds) before the first transition
}

type transition struct {
	wall    time.Time // onset, in the wall clock before the change
	instant time.Time
	from    int // TZOFFSETFROM, seconds east of UTC
	offset  int // TZOFFSETTO
}

// vtzLastYear bounds how far VTIMEZONE rules are expanded: instants after
// it keep the offsets of the last expanded year, which is fine for nights.
const vtzLastYear = 2200

// buildVZone reads a VTIMEZONE's STANDARD and DAYLIGHT observances. exact
// is false when a rule could not be read and only each observance's own
// DTSTART (and RDATEs) were used — a fixed offset from then on.
func buildVZone(c *goical.Component) (v *vzone, exact bool) {
	exact = true
	var trans []transition
	for _, o := range c.Children {
		if o.Name != "STANDARD" && o.Name != "DAYLIGHT" {
			continue
		}
		from, okFrom := utcOffset(o.Props.Get("TZOFFSETFROM"))
		to, okTo := utcOffset(o.Props.Get("TZOFFSETTO"))
		if !okTo {
			exact = false
			continue
		}
		if !okFrom {
			from = to
		}
		start := time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)
		if p := o.Props.Get(goical.PropDateTimeStart); p != nil {
			if w, _, ok := parseWall(p.Value, p.Params.Get(goical.ParamValue)); ok {
				start = w
			}
		}
		onsets := []time.Time{start}
		if p := o.Props.Get(goical.PropRecurrenceRule); p != nil {
			if more, ok := vtzRule(p.Value, start); ok {
				onsets = more
			} else {
				exact = false
			}
		}
		for _, p := range o.Props.Values(goical.PropRecurrenceDates) {
			for _, s := range strings.Split(p.Value, ",") {
				if w, _, ok := parseWall(strings.TrimSpace(s), p.Params.Get(goical.ParamValue)); ok {
					onsets = append(onsets, w)
				}
			}
		}
		for _, w := range onsets {
			trans = append(trans, transition{wall: w, instant: w.Add(-time.Duration(from) * time.Second), from: from, offset: to})
		}
	}
	if len(trans) == 0 {
		return nil, false
	}
	sort.SliceStable(trans, func(i, j int) bool { return trans[i].instant.Before(trans[j].instant) })
	// Before the first onset the zone had the offset that onset changes from.
	return &vzone{trans: trans, initial: trans[0].from}, exact
}

// vtzRule expands a VTIMEZONE RRULE. Only yearly rules are read: every
// real zone uses them, and anything denser could keep rrule-go busy.
func vtzRule(value string, start time.Time) (out []time.Time, ok bool) {
	defer func() {
		// rrule-go indexes out of range on rules such as BYMONTH=10;
		// BYDAY=20SA: such a zone falls back to its fixed offsets.
		if r := recover(); r != nil {
			out, ok = nil, false
		}
	}()
	opt, err := rrule.StrToROption(strings.ToUpper(strings.TrimSpace(value)))
	if err != nil || opt.Freq != rrule.YEARLY || len(opt.Byhour)+len(opt.Byminute)+len(opt.Bysecond) > 0 || !ruleInRange(opt) {
		return nil, false
	}
	opt.Dtstart = start
	if !opt.Until.IsZero() {
		opt.Until = naive(opt.Until)
	}
	r, err := rrule.NewRRule(*opt)
	if err != nil {
		return nil, false
	}
	next := r.Iterator()
	for len(out) < 1000 {
		t, ok := next()
		if !ok || t.Year() > vtzLastYear {
			break
		}
		out = append(out, t)
	}
	if len(out) == 0 {
		return nil, false
	}
	return out, true
}

func (v *vzone) offsetAtInstant(t time.Time) int {
	i := sort.Search(len(v.trans), func(i int) bool { return v.trans[i].instant.After(t) })
	if i == 0 {
		return v.initial
	}
	return v.trans[i-1].offset
}

func (v *vzone) offsetAtWall(w time.Time) int {
	w = naive(w)
	i := sort.Search(len(v.trans), func(i int) bool { return v.trans[i].wall.After(w) })
	if i == 0 {
		return v.initial
	}
	return v.trans[i-1].offset
}

// utcOffset reads a UTC-OFFSET value: +HHMM or +HHMMSS.
func utcOffset(p *goical.Prop) (int, bool) {
	if p == nil {
		return 0, false
	}
	s := strings.TrimSpace(p.Value)
	if len(s) != 5 && len(s) != 7 || (s[0] != '+' && s[0] != '-') {
		return 0, false
	}
	n := 0
	for i := 1; i < len(s); i += 2 {
		v, err := strconv.Atoi(s[i : i+2])
		if err != nil || v < 0 {
			return 0, false
		}
		n = n*60 + v
	}
	if len(s) == 5 {
		n *= 60
	}
	if n >= 24*3600 {
		return 0, false
	}
	if s[0] == '-' {
		n = -n
	}
	return n, true
}

// Package inventory is keyrack's domain: the property's authoritative
// inventory pools, the reservations taken from every channel and the
// invariants that hold between them. It owns the PostgreSQL schema.
//
// Every change goes through one PostgreSQL transaction that updates the
// nights, keeps the reservation revision, writes the audit entry and the
// outbox rows that the fan-out (package sync) delivers to the other channels.
package inventory

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Property is a hotel or rental: nights are dates on its own calendar.
type Property struct {
	ID       int64
	Code     string
	Name     string
	TimeZone string // IANA name, e.g. Europe/Lisbon
	Currency string // ISO 4217
	// NightSoldUntil is how long after midnight the property's channels
	// go on selling the night just begun the evening before (an OTA's
	// same-day cut-off): until then that night is "tonight" to keyrack,
	// whose channels are still told its availability. Zero ends a
	// night's sale at midnight; at most MaxNightSoldUntil, whole minutes.
	NightSoldUntil time.Duration
}

// MaxNightSoldUntil is the latest a property may go on selling last night:
// noon, when guests are leaving.
const MaxNightSoldUntil = 12 * time.Hour

// Tonight is the first night the property sells at t: the night of t's
// date in the property's zone, or the night before while that is still
// sold (before NightSoldUntil). loc is the property's zone.
func (p Property) Tonight(t time.Time, loc *time.Location) Date {
	return Tonight(t, loc, p.NightSoldUntil)
}

// Location loads the property's time zone.
func (p Property) Location() (*time.Location, error) { return time.LoadLocation(p.TimeZone) }

// Pool is physical inventory of one kind. Every night has its own units,
// overbooking factor and stop-sell flag; a night takes the pool's units and
// factor unless staff gave it its own (EditNights).
type Pool struct {
	ID                int64
	Code              string
	Name              string
	Units             int
	OverbookingFactor Factor
}

// RoomType is a sellable product drawing on one pool.
type RoomType struct {
	ID   int64
	Code string
	Name string
	Pool string // pool code
}

// RatePlan belongs to a room type.
type RatePlan struct {
	ID       int64
	Code     string
	Name     string
	RoomType string // room type code
}

// ChannelKind is the protocol family a channel speaks.
type ChannelKind string

// The channel kinds named in the product brief.
const (
	ChannelOTAPush ChannelKind = "ota_push" // OTA XML, the channel pushes bookings to us
	ChannelOTAPull ChannelKind = "ota_pull" // OTA XML, we poll the channel for bookings
	ChannelGDS     ChannelKind = "gds"      // GDS/CRS link (HTNG)
	ChannelICal    ChannelKind = "ical"     // calendar platform exchanging iCal feeds
	ChannelPMS     ChannelKind = "pms"      // the hotel's own PMS, JSON API
)

// Valid reports whether k is a known kind.
func (k ChannelKind) Valid() bool {
	switch k {
	case ChannelOTAPush, ChannelOTAPull, ChannelGDS, ChannelICal, ChannelPMS:
		return true
	}
	return false
}

// Channel is one connection to an outside system.
type Channel struct {
	ID        int64
	Code      string
	Name      string
	Kind      ChannelKind
	Enabled   bool
	HotelCode string // the channel's code for this property
	Endpoint  string // where keyrack delivers to, if it pushes
	// RateLimit is the channel's request budget per minute for this property; 0 = none.
	RateLimit int
	// HorizonDays is how far ahead availability is kept in sync with the channel.
	HorizonDays int
	OTASettings
}

// OTASettings are the settings of OTA XML and GDS channels; "" takes the
// kind's default.
type OTASettings struct {
	// InboundAuth is how the channel authenticates what it sends us:
	// "basic" (HTTP Basic), "wsse" (WS-Security UsernameToken) or
	// "message_password" (POS/Source/RequestorID ID and MessagePassword).
	// Default: wsse for gds, basic for the others.
	InboundAuth string
	// Envelope of what keyrack sends: "raw", "soap11" or "soap12".
	// Default: soap12 for gds, raw for the others.
	Envelope string
	// ARIMessage is the availability message the channel takes: "avail"
	// (OTA_HotelAvailNotifRQ with BookingLimit and RestrictionStatus Open
	// or Close, the default), "avail_limit" (OTA_HotelAvailNotifRQ with
	// BookingLimit only, for channels that take restrictions in requests of
	// their own, as SiteMinder's pmsXchange requires, and whose
	// restrictions keyrack must leave alone) or "invcount"
	// (OTA_HotelInvCountNotifRQ).
	ARIMessage string
	// ARILevel is what an availability item names: "room" (the default)
	// the channel's room code, once per room code whatever rates are
	// mapped to it; "rate" each mapped pair of the channel's room and rate
	// codes, with RatePlanCode, for channels that keep availability per
	// room and rate (Weekendesk-style) and may refuse an item without one
	// (SiteMinder and Booking.com keep it per room). A room code mapped
	// with no rate code only ("" matches any rate) is sent without one.
	ARILevel string
	// PullURL is where a pull-mode channel serves its pending reservations
	// (GET) and takes acknowledgements (POST); PullInterval how often, in
	// seconds (60 by default; 5 at least).
	PullURL      string
	PullInterval int
	// PullModifyURL is a second queue polled with PullURL, for a channel
	// that serves modifications and cancellations apart from new bookings
	// (Booking.com's OTA_HotelResModifyNotif); "" when it has none.
	PullModifyURL string
}

// EffectiveAuth is InboundAuth with the kind's default filled in.
func (c Channel) EffectiveAuth() string {
	switch {
	case c.InboundAuth != "":
		return c.InboundAuth
	case c.Kind == ChannelGDS:
		return "wsse"
	}
	return "basic"
}

// EffectiveEnvelope is Envelope with the kind's default filled in.
func (c Channel) EffectiveEnvelope() string {
	switch {
	case c.Envelope != "":
		return c.Envelope
	case c.Kind == ChannelGDS:
		return "soap12"
	}
	return "raw"
}

// Check reports the first invalid setting: its JSON field name and what is
// wrong. A zero PullInterval is set to its default.
func (o *OTASettings) Check() (field, problem string) {
	switch {
	case !slices.Contains([]string{"", "basic", "wsse", "message_password"}, o.InboundAuth):
		return "inbound_auth", "must be one of basic, wsse, message_password"
	case !slices.Contains([]string{"", "raw", "soap11", "soap12"}, o.Envelope):
		return "envelope", "must be one of raw, soap11, soap12"
	case !slices.Contains([]string{"", "avail", "avail_limit", "invcount"}, o.ARIMessage):
		return "ari_message", "must be one of avail, avail_limit, invcount"
	case !slices.Contains([]string{"", "room", "rate"}, o.ARILevel):
		return "ari_level", "must be one of room, rate"
	}
	if o.PullInterval == 0 {
		o.PullInterval = 60
	}
	if o.PullInterval < 5 || o.PullInterval > 86400 {
		return "pull_interval_s", "must be between 5 and 86400 seconds"
	}
	for _, f := range []struct{ field, url string }{{"pull_url", o.PullURL}, {"pull_modify_url", o.PullModifyURL}} {
		if f.url == "" {
			continue
		}
		if u, err := url.Parse(f.url); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return f.field, "must be an http or https URL"
		}
	}
	return "", ""
}

func (o *OTASettings) validate(channel string) error {
	if field, problem := o.Check(); field != "" {
		return invalidField(field, "channel %s: %s %s", channel, field, problem)
	}
	// The modification queue is polled with the pull URL: without it,
	// nothing would be.
	if o.PullModifyURL != "" && o.PullURL == "" {
		return invalidField("pull_modify_url", "channel %s: pull_modify_url is polled with pull_url: set pull_url too (or clear pull_modify_url)", channel)
	}
	return nil
}

// Mapping ties a channel's room (and optionally rate) code to our room type
// (and rate plan).
type Mapping struct {
	ChannelRoom string
	ChannelRate string // "" matches any rate
	RoomType    string
	RatePlan    string // "" when the mapping covers the room only
}

// Factor is an overbooking factor in hundredths: 110 is 1.10. A night's
// limit is floor(units × factor).
type Factor int

// FactorOne is the default overbooking factor, 1.00.
const FactorOne Factor = 100

// Limit is floor(units × f), computed exactly.
func (f Factor) Limit(units int) int { return units * int(f) / 100 }

func (f Factor) String() string { return fmt.Sprintf("%d.%02d", int(f)/100, int(f)%100) }

// ParseFactor reads a factor such as "1", "1.1" or "1.10": digits, and at
// most two decimals after a point (no sign, no exponent), between 0.01 and
// 9.99.
func ParseFactor(s string) (Factor, error) {
	s = strings.TrimSpace(s)
	whole, frac, point := strings.Cut(s, ".")
	if !digits(whole) || point && !digits(frac) || len(frac) > 2 {
		return 0, Errorf(EINVALID, "overbooking factor %q: want a decimal number with at most two decimals, such as 1.10", s)
	}
	w, err := strconv.Atoi(whole)
	if err != nil || w > 9 { // too many digits for any factor
		return 0, Errorf(EINVALID, "overbooking factor %s: must be between 0.01 and 9.99", s)
	}
	c, _ := strconv.Atoi((frac + "00")[:2])
	f := Factor(w*100 + c)
	if err := f.Validate(); err != nil {
		return 0, err
	}
	return f, nil
}

// digits reports whether s is one or more ASCII digits, and nothing else.
func digits(s string) bool {
	return s != "" && strings.IndexFunc(s, func(r rune) bool { return r < '0' || r > '9' }) < 0
}

// Validate checks the factor is within what the schema allows.
func (f Factor) Validate() error {
	if f < 1 || f > 999 {
		return Errorf(EINVALID, "overbooking factor %s: must be between 0.01 and 9.99", f)
	}
	return nil
}

// MarshalText writes the factor as a decimal ("1.10").
func (f Factor) MarshalText() ([]byte, error) { return []byte(f.String()), nil }

// UnmarshalText reads a decimal factor.
func (f *Factor) UnmarshalText(b []byte) error {
	v, err := ParseFactor(string(b))
	if err != nil {
		return err
	}
	*f = v
	return nil
}

// Night is the state of one pool on one night, as the pool holds it.
type Night struct {
	Pool   string `json:"pool"`
	Night  Date   `json:"night"`
	Units  int    `json:"units"`
	Factor Factor `json:"overbooking_factor"`
	Limit  int    `json:"limit"`
	// Sold is every unit taken on the night, including units recorded past
	// the limit for bookings the channel had already confirmed.
	Sold   int  `json:"sold"`
	Closed bool `json:"closed"`
	// Available is what channels are offered: closed ? 0 : max(0, limit − sold).
	Available int `json:"available"`
	// Version grows with every change to the night; the fan-out uses it so an
	// older state never overwrites a newer one.
	Version int64 `json:"version"`
}

// Availability is what a channel may sell on a night.
func Availability(limit, sold int, closed bool) int {
	if closed || sold >= limit {
		return 0
	}
	return limit - sold
}

// NightRange selects nights [From, To) of one pool of a property.
type NightRange struct {
	Property string
	Pool     string
	From     Date
	To       Date // exclusive
	// Days, when set, limits an edit to the nights of the range that fall on
	// those days of the week (every night when zero).
	Days Weekdays
}

// Validate checks the range is non-empty and not absurdly long.
func (r NightRange) Validate() error {
	if r.Property == "" || r.Pool == "" {
		return Errorf(EINVALID, "a night range needs a property and a pool")
	}
	if !r.From.Before(r.To) {
		return Errorf(EINVALID, "night range %s..%s is empty: the end is exclusive and must be after the start", r.From, r.To)
	}
	if r.To.Sub(r.From) > MaxRangeNights {
		return Errorf(EINVALID, "night range %s..%s is longer than %d nights", r.From, r.To, MaxRangeNights)
	}
	return r.checkDays()
}

// MaxRangeNights bounds one edit or query, so a typo cannot lock years of nights.
const MaxRangeNights = 1100

// Actor says who made a change, for the audit log and for loop suppression.
type Actor struct {
	// Kind is "staff", "channel", "api" or "system".
	Kind string
	// Name is the user name, API key name or channel code.
	Name string
	// Channel is the code of the channel the change came from, if any; the
	// fan-out does not echo a change back to it.
	Channel string
}

func (a Actor) String() string {
	if a.Kind == "" {
		return "system"
	}
	if a.Name == "" {
		return a.Kind
	}
	return a.Kind + ":" + a.Name
}

// Staff is an Actor for a staff user.
func Staff(name string) Actor { return Actor{Kind: "staff", Name: name} }

// System is the Actor for keyrack's own changes.
var System = Actor{Kind: "system"}

package ical

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"
	"time"

	"github.com/keyrack/keyrack/inventory"
)

// Range is a run of consecutive nights [Start, End): End is the checkout
// day, as DTEND is in every platform's feed.
type Range struct {
	Start, End inventory.Date
}

// Ranges merges nights (in any order, duplicates allowed) into the fewest
// runs of consecutive nights, earliest first.
func Ranges(nights []inventory.Date) []Range {
	if len(nights) == 0 {
		return nil
	}
	sorted := slices.Clone(nights)
	slices.SortFunc(sorted, func(a, b inventory.Date) int { return a.Sub(b) })
	sorted = slices.Compact(sorted)
	var out []Range
	cur := Range{Start: sorted[0], End: sorted[0].AddDays(1)}
	for _, n := range sorted[1:] {
		if n == cur.End {
			cur.End = n.AddDays(1)
			continue
		}
		out = append(out, cur)
		cur = Range{Start: n, End: n.AddDays(1)}
	}
	return append(out, cur)
}

// Export describes the feed keyrack publishes for one room type: every
// unavailable night, merged into one all-day event per run of nights.
type Export struct {
	// ProdID names the producer; "-//keyrack//keyrack//EN" when empty.
	ProdID string
	// Name is the calendar's display name (X-WR-CALNAME); omitted when empty.
	Name string
	// UIDPrefix and UIDDomain make each event's UID
	// <prefix><start YYYYMMDD>@<domain>; the domain is "keyrack" when empty.
	// The UID depends only on where a run starts, so a run that grows at
	// its end keeps its UID and importers see a modification.
	UIDPrefix string
	UIDDomain string
	// From is the first night written (zero: every night given). A run
	// that began before it is written from From on under the UID of its
	// real first night, so a stay in progress keeps its event's UID from
	// day to day: a UID that changes daily reads as a new booking every
	// day to some importers (reference/ical.md, fewohbee#285).
	From inventory.Date
	// Stamp is every event's DTSTAMP. Pass a stable time (the last change of
	// the room type's availability, say) so the same nights give the same
	// bytes and ETag; the zero time writes 1970-01-01.
	Stamp time.Time
	// Summary of every event; "Not available" when empty.
	Summary string
	// Horizon, when set, is the first night keyrack does not keep the
	// platform told of (the channel's horizon): every night from it until
	// HorizonEnd is written as one more event, under a UID that does not
	// move with it from day to day. Left out, the platform would take the
	// nights beyond the horizon for free and sell them, whatever the pool
	// holds there.
	Horizon, HorizonEnd inventory.Date
}

// Encode writes the VCALENDAR of the unavailable nights. It is
// deterministic, and a calendar without nights is still a valid, empty
// calendar (go-ical's encoder refuses those, and does not fold lines, hence
// this small writer).
func (e Export) Encode(nights []inventory.Date) []byte {
	prodID := e.ProdID
	if prodID == "" {
		prodID = "-//keyrack//keyrack//EN"
	}
	domain := e.UIDDomain
	if domain == "" {
		domain = "keyrack"
	}
	summary := e.Summary
	if summary == "" {
		summary = "Not available"
	}
	stamp := e.Stamp
	if stamp.IsZero() {
		stamp = time.Unix(0, 0)
	}
	dtstamp := stamp.UTC().Format("20060102T150405Z")

	var b strings.Builder
	line := func(s string) { b.WriteString(FoldLine(s)) }
	line("BEGIN:VCALENDAR")
	line("VERSION:2.0")
	line("PRODID:" + EscapeText(prodID))
	line("CALSCALE:GREGORIAN")
	line("METHOD:PUBLISH")
	if e.Name != "" {
		line("X-WR-CALNAME:" + EscapeText(e.Name))
	}
	for _, r := range Ranges(nights) {
		start := r.Start
		if start.Before(e.From) {
			if !e.From.Before(r.End) {
				continue
			}
			start = e.From
		}
		line("BEGIN:VEVENT")
		line("UID:" + EscapeText(e.UIDPrefix+dateValue(r.Start)+"@"+domain))
		line("DTSTAMP:" + dtstamp)
		line("DTSTART;VALUE=DATE:" + dateValue(start))
		line("DTEND;VALUE=DATE:" + dateValue(r.End))
		line("SUMMARY:" + EscapeText(summary))
		line("TRANSP:OPAQUE")
		line("END:VEVENT")
	}
	if !e.Horizon.IsZero() && e.Horizon.Before(e.HorizonEnd) {
		line("BEGIN:VEVENT")
		line("UID:" + EscapeText(e.UIDPrefix+"beyond-horizon@"+domain))
		line("DTSTAMP:" + dtstamp)
		line("DTSTART;VALUE=DATE:" + dateValue(e.Horizon))
		line("DTEND;VALUE=DATE:" + dateValue(e.HorizonEnd))
		line("SUMMARY:" + EscapeText(summary))
		line("TRANSP:OPAQUE")
		line("END:VEVENT")
	}
	line("END:VCALENDAR")
	return []byte(b.String())
}

// ETag is a strong entity tag for a feed body, so importers that poll
// (Airbnb, Google) can ask with If-None-Match and get a 304.
func ETag(body []byte) string {
	sum := sha256.Sum256(body)
	return `"` + hex.EncodeToString(sum[:16]) + `"`
}

// dateValue is d as an iCalendar DATE (YYYYMMDD).
func dateValue(d inventory.Date) string {
	return time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, time.UTC).Format("20060102")
}

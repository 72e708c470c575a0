package inventory

import (
	"bytes"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/currency"
)

var (
	amountRE   = regexp.MustCompile(`^-?[0-9]{1,12}(\.[0-9]{1,2})?$`)
	currencyRE = regexp.MustCompile(`^[A-Z]{3}$`)
)

// KnownCurrency says whether code is a currency of ISO 4217, as a
// property's must be: fixed once the property is made, a typo in it ("EUT")
// could not be corrected. A booking's currency is the channel's word and
// is only checked for its form (currencyRE): a booking is not refused for
// it.
func KnownCurrency(code string) bool {
	if !currencyRE.MatchString(code) {
		return false
	}
	_, err := currency.ParseISO(code)
	return err == nil
}

// MaxStayNights bounds one room stay: a year, a leap year's 366 nights
// included (a stay from June to June over a 29 February), as the OTA XML
// connector takes it (otaxml.MaxStayNights).
const MaxStayNights = 366

// hold is the units a reservation takes on one pool-night.
type hold struct {
	nightKey
	Units int `json:"units"`
}

// validateRevision checks what can be checked without the database and fills
// in defaults.
func validateRevision(rev *Revision) error {
	if rev.Property == "" || rev.Channel == "" {
		return Errorf(EINVALID, "a reservation needs a property and a channel")
	}
	if rev.ExternalID == "" {
		return Errorf(EINVALID, "the channel's reservation id is missing")
	}
	if !utf8.ValidString(rev.ExternalID) || strings.ContainsRune(rev.ExternalID, 0) {
		return Errorf(EINVALID, "reservation id %q is not valid UTF-8 text", rev.ExternalID)
	}
	if len(rev.ExternalID) > 128 {
		return Errorf(EINVALID, "reservation id %.20q… is longer than 128 characters", rev.ExternalID)
	}
	switch rev.Kind {
	case New, Modify, Cancel:
	default:
		return Errorf(EINVALID, "reservation %s: revision kind %q is not new, modify or cancel", rev.ExternalID, rev.Kind)
	}
	switch rev.Mode {
	case "":
		rev.Mode = MustAccept
	case MustAccept, MayReject:
	default:
		return Errorf(EINVALID, "acceptance mode %q is not must_accept or may_reject", rev.Mode)
	}
	if rev.Total != "" && !amountRE.MatchString(rev.Total) {
		return Errorf(EINVALID, "reservation %s: total %q is not an amount keyrack keeps: give at most 12 digits before the point and 2 after, such as 260.00", rev.ExternalID, rev.Total)
	}
	if rev.Currency != "" && !currencyRE.MatchString(rev.Currency) {
		return Errorf(EINVALID, "reservation %s: currency %q is not an ISO 4217 code", rev.ExternalID, rev.Currency)
	}
	// PostgreSQL text and jsonb hold neither NUL characters nor invalid
	// UTF-8; a channel's booking must not be lost over a stray byte in a
	// guest's name, so such bytes become U+FFFD.
	for _, f := range []*string{&rev.Guest.Name, &rev.Guest.Email, &rev.Guest.Phone, &rev.ContentType} {
		*f = cleanText(*f)
	}
	// Only an erasure marks a guest erased (EraseGuestData).
	rev.Guest.Erased = false
	// The stays are filled in below: on a copy, since the caller's revision
	// shares them (ApplyRevision takes it by value, not its slices) and may
	// be applying it from several goroutines at once — a retried delivery.
	rev.Stays = slices.Clone(rev.Stays)
	for i := range rev.Stays {
		st := &rev.Stays[i]
		for _, f := range []*string{&st.RoomType, &st.RatePlan, &st.ChannelRoom, &st.ChannelRate} {
			*f = cleanText(*f)
		}
	}
	if rev.Raw != nil && (!utf8.Valid(rev.Raw) || bytes.IndexByte(rev.Raw, 0) >= 0) {
		rev.Raw = []byte(cleanText(string(rev.Raw)))
	}
	if rev.Kind != Cancel && len(rev.Stays) == 0 {
		return Errorf(EINVALID, "reservation %s: a %s needs at least one room stay", rev.ExternalID, rev.Kind)
	}
	for i := range rev.Stays {
		st := &rev.Stays[i]
		if st.Rooms == 0 {
			st.Rooms = 1
		}
		if st.Rooms < 0 || st.Rooms > 1000 {
			return Errorf(EINVALID, "reservation %s: room stay %d asks for %d rooms", rev.ExternalID, i+1, st.Rooms)
		}
		if !st.Arrival.Before(st.Departure) {
			return Errorf(EINVALID, "reservation %s: room stay %d departs %s, not after its arrival %s", rev.ExternalID, i+1, st.Departure, st.Arrival)
		}
		if st.Departure.Sub(st.Arrival) > MaxStayNights {
			return Errorf(EINVALID, "reservation %s: room stay %d is longer than %d nights", rev.ExternalID, i+1, MaxStayNights)
		}
	}
	return nil
}

// Normalized is the revision as ApplyRevision stores and hashes it:
// defaults filled in (a stay's rooms, the acceptance mode), text cleaned —
// or the reason ApplyRevision refuses it.
func (r Revision) Normalized() (Revision, error) {
	err := validateRevision(&r)
	return r, err
}

// cleanText replaces invalid UTF-8 and NUL characters with U+FFFD.
func cleanText(s string) string {
	if utf8.ValidString(s) && !strings.ContainsRune(s, 0) {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

// holdsOf lists what an effective reservation takes, merged per pool-night
// and sorted; stays whose room type is unknown take nothing and mark the
// reservation parked.
func holdsOf(e effective, roomPools map[string]int64) (holds []hold, parked bool) {
	if e.Status != Confirmed {
		return nil, unmapped(e.Stays, roomPools)
	}
	units := map[nightKey]int{}
	for _, st := range e.Stays {
		pool, ok := roomPools[st.RoomType]
		if !ok {
			parked = true
			continue
		}
		for _, d := range Nights(st.Arrival, st.Departure) {
			units[nightKey{Pool: pool, Night: d}] += st.Rooms
		}
	}
	for _, k := range slices.SortedFunc(maps.Keys(units), nightKey.compare) {
		holds = append(holds, hold{nightKey: k, Units: units[k]})
	}
	return holds, parked
}

func unmapped(stays []RoomStay, roomPools map[string]int64) bool {
	for _, st := range stays {
		if _, ok := roomPools[st.RoomType]; !ok {
			return true
		}
	}
	return false
}

// delta is what changes on a pool-night between two sets of holds.
func deltas(old, new []hold) map[nightKey]int {
	d := map[nightKey]int{}
	for _, h := range old {
		d[h.nightKey] -= h.Units
	}
	for _, h := range new {
		d[h.nightKey] += h.Units
	}
	for k, v := range d {
		if v == 0 {
			delete(d, k)
		}
	}
	return d
}

func describeShort(short []Shortage) string {
	var b bytes.Buffer
	for i, s := range short {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s on %s (wanted %d, %d available)", s.Pool, s.Night, s.Wanted, s.Available)
	}
	return b.String()
}

func unmappedCodes(stays []RoomStay, roomPools map[string]int64) string {
	var codes []string
	for _, st := range stays {
		if _, ok := roomPools[st.RoomType]; !ok {
			c := st.ChannelRoom
			if c == "" {
				c = st.RoomType
			}
			if st.ChannelRate != "" {
				c += "/" + st.ChannelRate
			}
			codes = append(codes, fmt.Sprintf("%q", c))
		}
	}
	slices.Sort(codes)
	return fmt.Sprint(slices.Compact(codes))
}

// actorFor is who a revision comes from: the channel unless the caller said otherwise.
func actorFor(rev *Revision) Actor {
	a := rev.Actor
	if a.Kind == "" {
		a = Actor{Kind: "channel", Name: rev.Channel}
	}
	if a.Channel == "" && a.Kind == "channel" {
		a.Channel = rev.Channel
	}
	return a
}

// fromOwnChannel says whether the revision came from the reservation's own
// channel — the channel sold (or changed) it, and lowered its own count —
// rather than from staff or the API changing another channel's booking,
// which that channel knows nothing of and must be told like any other.
func fromOwnChannel(rev *Revision) bool { return actorFor(rev).Channel == rev.Channel }

func actorOf(rev *Revision) string { return actorFor(rev).String() }

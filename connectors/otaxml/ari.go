package otaxml

import (
	"strconv"

	"github.com/beevik/etree"
	"github.com/keyrack/keyrack/inventory"
)

// ARI messages are read leniently, for the test channels and golden tests:
// a date or number that does not parse is left zero.

func dateAttr(e *etree.Element, name string) inventory.Date {
	d, _ := parseDate(attr(e, name))
	return d
}

func intAttr(e *etree.Element, name string) int {
	n, _ := strconv.Atoi(attr(e, name))
	return n
}

// control reads StatusApplicationControl: room (InvTypeCode or InvCode),
// rate plan and inclusive dates.
func control(e *etree.Element) (room, rate string, start, end inventory.Date) {
	sac := child(e, "StatusApplicationControl")
	return first(attr(sac, "InvTypeCode"), attr(sac, "InvCode")), attr(sac, "RatePlanCode"), dateAttr(sac, "Start"), dateAttr(sac, "End")
}

func (m *Message) readAvail(ota *etree.Element) {
	msgs := child(ota, "AvailStatusMessages")
	m.HotelCode = attr(msgs, "HotelCode")
	for _, e := range children(msgs, "AvailStatusMessage") {
		var a AvailStatus
		a.Room, a.RatePlan, a.Start, a.End = control(e)
		if v := attr(e, "BookingLimit"); v != "" {
			if n, err := strconv.Atoi(v); err == nil {
				a.BookingLimit = &n
			}
		}
		a.BookingLimitType = attr(e, "BookingLimitMessageType")
		for _, r := range children(e, "RestrictionStatus") {
			a.Restrictions = append(a.Restrictions, Restriction{Status: attr(r, "Status"), Restriction: attr(r, "Restriction")})
		}
		// LengthOfStay inside LengthsOfStay, or directly (SynXis).
		los := append(children(child(e, "LengthsOfStay"), "LengthOfStay"), children(e, "LengthOfStay")...)
		for _, l := range los {
			a.LengthsOfStay = append(a.LengthsOfStay, LengthOfStay{
				Type: attr(l, "MinMaxMessageType"), Time: intAttr(l, "Time"), Unit: attr(l, "TimeUnit"),
				Pattern: attr(child(l, "LOS_Pattern"), "FullPatternLOS"),
			})
		}
		m.Avail = append(m.Avail, a)
	}
}

func (m *Message) readInvCounts(ota *etree.Element) {
	invs := child(ota, "Inventories")
	m.HotelCode = attr(invs, "HotelCode")
	for _, e := range children(invs, "Inventory") {
		var c InvCount
		c.Room, c.RatePlan, c.Start, c.End = control(e)
		if ic := path(e, "InvCounts", "InvCount"); ic != nil {
			c.Count, c.CountType, c.Action = intAttr(ic, "Count"), attr(ic, "CountType"), attr(ic, "ActionType")
		}
		m.Counts = append(m.Counts, c)
	}
}

func (m *Message) readRates(ota *etree.Element) {
	msgs := child(ota, "RateAmountMessages")
	m.HotelCode = attr(msgs, "HotelCode")
	for _, e := range children(msgs, "RateAmountMessage") {
		room, plan, start, end := control(e)
		for _, rt := range children(child(e, "Rates"), "Rate") {
			r := RateAmount{Room: room, RatePlan: plan, Start: start, End: end, Currency: attr(rt, "CurrencyCode")}
			if attr(rt, "Start") != "" {
				r.Start, r.End = dateAttr(rt, "Start"), dateAttr(rt, "End")
			}
			for _, g := range children(child(rt, "BaseByGuestAmts"), "BaseByGuestAmt") {
				r.Amounts = append(r.Amounts, GuestAmount{
					Guests: intAttr(g, "NumberOfGuests"), AmountAfterTax: attr(g, "AmountAfterTax"),
					AmountBefore: attr(g, "AmountBeforeTax"), DecimalPlaces: attr(g, "DecimalPlaces"),
				})
				if r.Currency == "" {
					r.Currency = attr(g, "CurrencyCode")
				}
			}
			m.Rates = append(m.Rates, r)
		}
	}
}

package otaxml

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/beevik/etree"
	"github.com/keyrack/keyrack/connectors"
	"github.com/keyrack/keyrack/inventory"
)

// rated is availability for a channel that keeps it per room and rate:
// two rates of DBL, and SGL mapped with no rate code.
func rated() []connectors.Availability {
	from, to := inventory.MustDate("2026-12-01"), inventory.MustDate("2026-12-04")
	return []connectors.Availability{
		{Room: "DBL", Rate: "BAR", From: from, To: to, Available: 5},
		{Room: "DBL", Rate: "NRF", From: from, To: to, Available: 5},
		{Room: "SGL", From: from, To: to, Available: 0},
	}
}

// An item naming a rate carries it as RatePlanCode beside its InvTypeCode
// (as SiteMinder and Weekendesk take availability); an item without one
// names the room only. Each AvailStatusMessage carries its position as
// LocatorID, which a channel's RS names in RecordID. Both forms validate.
func TestAvailabilityPerRateNamesTheRatePlanAndEachItemsLocator(t *testing.T) {
	items := rated()
	avail := EncodeAvailNotif(Out{HotelCode: "H1", TimeStamp: now}, items)
	validate(t, "OTA_HotelAvailNotifRQ", avail)
	m, err := Parse(avail)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Avail) != len(items) {
		t.Fatalf("%d AvailStatusMessages, want %d", len(m.Avail), len(items))
	}
	for i, a := range m.Avail {
		if a.Room != items[i].Room || a.RatePlan != items[i].Rate {
			t.Errorf("message %d names %s/%q, want %s/%q", i+1, a.Room, a.RatePlan, items[i].Room, items[i].Rate)
		}
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(avail); err != nil {
		t.Fatal(err)
	}
	for i, e := range doc.FindElements("//AvailStatusMessage") {
		if got := e.SelectAttrValue("LocatorID", ""); got != strconv.Itoa(i+1) {
			t.Errorf("message %d: LocatorID %q", i+1, got)
		}
		if i == 2 && e.FindElement("StatusApplicationControl").SelectAttr("RatePlanCode") != nil {
			t.Errorf("the item without a rate names one: %s", avail)
		}
	}

	counts := EncodeInvCountNotif(Out{HotelCode: "H1", TimeStamp: now}, items)
	validate(t, "OTA_HotelInvCountNotifRQ", counts)
	m, err = Parse(counts)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Counts) != 3 || m.Counts[0].RatePlan != "BAR" || m.Counts[1].RatePlan != "NRF" || m.Counts[2].RatePlan != "" {
		t.Errorf("counts %+v", m.Counts)
	}
}

// A push split into several messages numbers each message's items from 1,
// so the RecordIDs of each message's RS name its own items; no message
// exceeds the cap, however many digits the LocatorIDs take.
func TestEachMessageOfASplitPushNumbersItsItemsFromOne(t *testing.T) {
	var items []connectors.Availability
	first := inventory.MustDate("2026-12-01")
	for n := range 400 {
		for _, rate := range []string{"BAR", "NRF", "FLEX"} {
			items = append(items, connectors.Availability{Room: fmt.Sprintf("ROOM-%02d", n%7), Rate: rate, From: first.AddDays(n), To: first.AddDays(n + 1), Available: n % 3})
		}
	}
	const limit = 20000
	msgs, err := EncodeARI(Out{HotelCode: "H1", TimeStamp: now}, "avail", items, limit)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) < 5 {
		t.Fatalf("%d messages", len(msgs))
	}
	locator := regexp.MustCompile(`LocatorID="(\d+)"`)
	total := 0
	for i, m := range msgs {
		if len(m.Body) > limit {
			t.Errorf("message %d is %d bytes, over %d", i+1, len(m.Body), limit)
		}
		ids := locator.FindAllSubmatch(m.Body, -1)
		if len(ids) != m.Count {
			t.Fatalf("message %d: %d LocatorIDs for %d items", i+1, len(ids), m.Count)
		}
		for k, id := range ids {
			if string(id[1]) != strconv.Itoa(k+1) {
				t.Fatalf("message %d, item %d: LocatorID %s", i+1, k+1, id[1])
			}
		}
		total += m.Count
	}
	if total != len(items) {
		t.Errorf("%d items sent of %d", total, len(items))
	}
}

// "avail_limit" sends the rooms to sell only: BookingLimit (0 for a full or
// closed night, never below), no RestrictionStatus — a channel that takes
// restrictions apart (SiteMinder's pmsXchange) keeps its own stop-sells.
// It validates, and splits like "avail".
func TestAvailLimitSendsTheRoomsToSellWithoutRestrictions(t *testing.T) {
	items := append(rated(), connectors.Availability{Room: "TWN", From: inventory.MustDate("2026-12-01"), To: inventory.MustDate("2026-12-02"), Available: -2})
	msgs, err := EncodeARI(Out{HotelCode: "H1", TimeStamp: now}, "avail_limit", items, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 1 || msgs[0].Name != "OTA_HotelAvailNotifRQ" {
		t.Fatalf("%+v", msgs)
	}
	validate(t, "OTA_HotelAvailNotifRQ", msgs[0].Body)
	m, err := Parse(msgs[0].Body)
	if err != nil {
		t.Fatal(err)
	}
	want := []int{5, 5, 0, 0}
	for i, a := range m.Avail {
		if a.BookingLimit == nil || *a.BookingLimit != want[i] || len(a.Restrictions) != 0 {
			t.Errorf("item %d: BookingLimit %v, restrictions %+v; want %d and none", i+1, a.BookingLimit, a.Restrictions, want[i])
		}
	}
	if _, err := EncodeARI(Out{}, "limit", items, 0); err == nil {
		t.Error("an unknown message was taken")
	}
}

// A Success RS whose Warning says something was not processed without
// naming an item takes the push and hands the warning on for staff; advice
// naming no item is not handed on.
func TestAWarningNamingNoItemIsHandedOnAndThePushTaken(t *testing.T) {
	for _, c := range []struct {
		warning string
		want    bool
	}{
		{`<Warning Type="3" Code="497" Status="NotProcessed">no access to hotel</Warning>`, true},
		{`<Warning Type="11">rates shown from tomorrow</Warning>`, false},
	} {
		_, ch := newARIChannel(t, func(n int, m *Message) []byte {
			rs := string(Reply(m, nil, now))
			return []byte(strings.Replace(rs, "<Success/>", "<Success/><Warnings>"+c.warning+"</Warnings>", 1))
		})
		ack, err := (&Connector{}).Push(context.Background(), ch, connectors.Update{Items: rated()})
		if err != nil {
			t.Fatalf("%s: %v", c.warning, err)
		}
		if len(ack.Rejected) != 0 {
			t.Errorf("%s: rejected %+v", c.warning, ack.Rejected)
		}
		if got := len(ack.Warnings) == 1 && strings.Contains(ack.Warnings[0], "no access to hotel"); got != c.want {
			t.Errorf("%s: warnings %q", c.warning, ack.Warnings)
		}
	}
}

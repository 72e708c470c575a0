package otaxml

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/keyrack/keyrack/connectors"
)

// warningsRS is a Success RS answering m with these Warning elements.
func warningsRS(m *Message, warnings string) []byte {
	return []byte(strings.Replace(string(Reply(m, nil, now)), "<Success/>", "<Success/><Warnings>"+warnings+"</Warnings>", 1))
}

// A channel that names the record it refused by something other than its
// position (its room code, as SiteMinder's and Weekendesk's codes are what
// their extranets show) in a Warning of a Success RS did not take that
// item. The warning was dropped as naming no item: the push succeeded, the
// refused item counted as acknowledged — never sent again, shown as in sync
// — and staff were never told. The push fails instead, with the channel's
// message, as an Error naming no item makes it fail. An advisory warning
// (Type 11) or one whose Status says the record was processed is still only
// advice.
func TestAWarningNamingARecordThatIsNoPositionFailsThePush(t *testing.T) {
	for _, c := range []struct{ name, warning string }{
		{"room code", `<Warning Type="3" Code="402" RecordID="SGL" Status="NotProcessed">Room SGL unknown</Warning>`},
		{"room and rate codes", `<Warning Type="3" Code="249" RecordID="DBL/NRF" Status="NotProcessed">Rate NRF not bookable</Warning>`},
		{"a position the message does not have", `<Warning Type="3" Code="402" RecordID="4" Status="NotProcessed">Room SGL unknown</Warning>`},
		{"no status", `<Warning Type="3" Code="402" RecordID="SGL">Room SGL unknown</Warning>`},
	} {
		t.Run(c.name, func(t *testing.T) {
			fake, ch := newARIChannel(t, func(n int, m *Message) []byte { return warningsRS(m, c.warning) })
			ack, err := (&Connector{}).Push(context.Background(), ch, connectors.Update{Items: rated()})
			if err == nil || connectors.KindOf(err) != connectors.KindPermanent || !strings.Contains(err.Error(), "unknown") && !strings.Contains(err.Error(), "not bookable") {
				t.Errorf("push: %v (kind %v) %+v, want a permanent failure naming the channel's warning", err, connectors.KindOf(err), ack.Rejected)
			}
			if len(fake.bodies) != 1 {
				t.Errorf("%d messages sent", len(fake.bodies))
			}
		})
	}
	for _, c := range []struct{ name, warning string }{
		{"advisory", `<Warning Type="11" RecordID="SGL">Room SGL: rates shown from tomorrow</Warning>`},
		{"complete", `<Warning Type="3" RecordID="SGL" Status="Complete">Room SGL: availability capped at 10</Warning>`},
		{"no record named", `<Warning Type="3" Code="450">Slow processing today</Warning>`},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, ch := newARIChannel(t, func(n int, m *Message) []byte { return warningsRS(m, c.warning) })
			ack, err := (&Connector{}).Push(context.Background(), ch, connectors.Update{Items: rated()})
			if err != nil || len(ack.Rejected) != 0 {
				t.Errorf("push: %v %+v, want success and nothing rejected", err, ack.Rejected)
			}
		})
	}
	// A warning naming a position still rejects that item alone, in a
	// split push as in one message.
	_, ch := newARIChannel(t, func(n int, m *Message) []byte {
		return warningsRS(m, fmt.Sprintf(`<Warning Type="3" Code="249" RecordID="%d" Status="NotProcessed">Rate %s not bookable</Warning>`, len(m.Avail), m.Avail[len(m.Avail)-1].RatePlan))
	})
	ack, err := (&Connector{}).Push(context.Background(), ch, connectors.Update{Items: rated()})
	if err != nil || len(ack.Rejected) != 1 || ack.Rejected[0].Item != 2 {
		t.Errorf("a warning naming position 3: %v %+v", err, ack.Rejected)
	}
}

// weekendeskRates is availability for a channel whose rate codes are
// numbers written with leading zeros, as in Weekendesk's own sample
// (RatePlanCode="001", "003"): the third item is rate 002.
func weekendeskRates() []connectors.Availability {
	items := rated()[:1]
	var out []connectors.Availability
	for _, rate := range []string{"003", "001", "002"} {
		it := items[0]
		it.Room, it.Rate = "RO_TEST", rate
		out = append(out, it)
	}
	return out
}

// A channel naming the record it refused by its rate code "003" did not
// name the third AvailStatusMessage: keyrack writes LocatorIDs without
// leading zeros, and read "003" as position 3. It rejected rate 002, which
// the channel had not refused (and, the message refused as a whole, kept it
// from the channel), and sent rate 003 again, counted as acknowledged. A
// RecordID is a position only when it is written as keyrack wrote the
// LocatorID; otherwise the refusal cannot be placed, and the push fails
// with the channel's message.
func TestARecordIDWithLeadingZerosIsNoPosition(t *testing.T) {
	for _, c := range []struct {
		name   string
		answer func(m *Message) []byte
	}{
		{"error", func(m *Message) []byte {
			return ErrorReply(m, []*Error{{Type: TypeBizRule, Code: CodeInvalidRateCode, RecordID: "003", Status: "NotProcessed", Msg: "Rate 003 is closed for sale"}}, now)
		}},
		{"warning", func(m *Message) []byte {
			return warningsRS(m, `<Warning Type="3" Code="249" RecordID="003" Status="NotProcessed">Rate 003 is closed for sale</Warning>`)
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			fake, ch := newARIChannel(t, func(n int, m *Message) []byte {
				if n == 1 {
					return c.answer(m)
				}
				return nil
			})
			ack, err := (&Connector{}).Push(context.Background(), ch, connectors.Update{Items: weekendeskRates()})
			if err == nil || connectors.KindOf(err) != connectors.KindPermanent || !strings.Contains(err.Error(), "Rate 003 is closed") {
				t.Errorf("push: %v (kind %v), rejected %+v after %d messages: want a permanent failure naming the channel's message", err, connectors.KindOf(err), ack.Rejected, len(fake.bodies))
			}
		})
	}
	// "3" is the third item, and " 3 " too.
	for _, id := range []string{"3", " 3 "} {
		_, ch := newARIChannel(t, func(n int, m *Message) []byte {
			return warningsRS(m, `<Warning Type="3" Code="249" RecordID="`+id+`" Status="NotProcessed">Rate 002 is closed for sale</Warning>`)
		})
		ack, err := (&Connector{}).Push(context.Background(), ch, connectors.Update{Items: weekendeskRates()})
		if err != nil || len(ack.Rejected) != 1 || ack.Rejected[0].Item != 2 {
			t.Errorf("RecordID %q: %v %+v, want the third item rejected", id, err, ack.Rejected)
		}
	}
}

// A warning that is advice about an item the channel took — Type 11, or
// Status Complete: a BookingLimit capped at the rooms it has, a rate shown
// from tomorrow — was read as the channel refusing that item: the delivery
// log said "the channel refused DBL rate BAR", the nights lost their
// acknowledgement and were sent again with the next change. Advice rejects
// nothing, whether it names the item by position or not; a warning saying
// NotProcessed refuses the item whatever its type.
func TestAnAdvisoryWarningNamingAnItemRejectsNothing(t *testing.T) {
	for _, w := range []string{
		`<Warning Type="11" RecordID="1">BookingLimit 5 above the 4 rooms of DBL: capped at 4</Warning>`,
		`<Warning Type="3" Code="450" RecordID="2" Status="Complete">Rate NRF shown from tomorrow</Warning>`,
	} {
		_, ch := newARIChannel(t, func(n int, m *Message) []byte { return warningsRS(m, w) })
		ack, err := (&Connector{}).Push(context.Background(), ch, connectors.Update{Items: rated()})
		if err != nil || len(ack.Rejected) != 0 {
			t.Errorf("%s: %v, rejected %+v: want nothing rejected", w, err, ack.Rejected)
		}
	}
	_, ch := newARIChannel(t, func(n int, m *Message) []byte {
		return warningsRS(m, `<Warning Type="11" RecordID="2" Status="NotProcessed">Rate NRF is not sold on this channel</Warning>`)
	})
	ack, err := (&Connector{}).Push(context.Background(), ch, connectors.Update{Items: rated()})
	if err != nil || len(ack.Rejected) != 1 || ack.Rejected[0].Item != 1 {
		t.Errorf("an advisory warning saying NotProcessed: %v %+v, want item 1 rejected", err, ack.Rejected)
	}
}

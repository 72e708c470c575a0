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

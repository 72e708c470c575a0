package otaxml

import (
	"context"
	"strings"
	"testing"

	"github.com/keyrack/keyrack/connectors"
)

// LocatorIDs count from 1: an Error whose RecordID reads as 0 or a
// negative number names no item of the message, and fails the push with
// the channel's message as an Error naming no item does.
func TestARecordIDOfZeroOrBelowNamesNoItem(t *testing.T) {
	for _, id := range []string{"0", "-1"} {
		t.Run(id, func(t *testing.T) {
			_, ch := newARIChannel(t, func(n int, m *Message) []byte {
				return ErrorReply(m, []*Error{{Type: TypeBizRule, Code: CodeInvalidRateCode, RecordID: id, Status: "NotProcessed", Msg: "Rate closed for sale"}}, now)
			})
			ack, err := (&Connector{}).Push(context.Background(), ch, connectors.Update{Items: rated()})
			if err == nil || connectors.KindOf(err) != connectors.KindPermanent || !strings.Contains(err.Error(), "Rate closed for sale") {
				t.Errorf("push: %v (kind %v), rejected %+v: want a permanent failure naming the channel's message", err, connectors.KindOf(err), ack.Rejected)
			}
		})
	}
}

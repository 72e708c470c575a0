package sync_test

import (
	"context"
	"testing"

	"github.com/keyrack/keyrack/inventory"
	"github.com/stretchr/testify/require"
)

// A poll that finds a queue empty keeps its answer in the channel's
// messages in place of the previous empty answer of that queue: polled
// every minute, a pull-mode channel otherwise added two empty answers a
// minute for KEYRACK_MESSAGES_KEEP (86,400 rows a channel at 30 days), and
// the latest 1,000 its messages list shows were eight hours of them, the
// bookings it pulled before out of sight.
func TestEmptyPollsKeepOnlyTheLatestAnswerOfEachQueue(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := startPullHotel(t, pullOptions{modifyQueue: true})
	night := h.today.AddDays(3)
	h.oc.AddPending(h.booking("BDC-1", night, 1, 1))
	eventually(t, convergeTimeout, "the booking acknowledged", func() bool { return len(h.oc.Pending()) == 0 })
	// pollNow waits for one more fetch, not a whole poll (each poll
	// fetches both queues, and one asked for while another runs may be
	// that one): poll until two empty polls of both queues were fetched.
	for h.oc.Stats().Fetches < 8 {
		h.pollNow()
	}
	empty := func() (msgs []inventory.InboundMessage) {
		all, err := h.st.InboundMessages(ctx, h.code, "BDC", 1000)
		require.NoError(t, err)
		for _, m := range all {
			if m.Records == 0 && m.Outcome == "ok" {
				msgs = append(msgs, m)
			}
		}
		return msgs
	}
	// Each fetch's answer is recorded once the poll has acknowledged what
	// it took: wait for the latest fetch's.
	var fetches int
	eventually(t, convergeTimeout, "the latest fetch recorded", func() bool {
		fetches = h.oc.Stats().Fetches
		var latest string
		require.NoError(t, h.st.DB().QueryRow(ctx, `SELECT coalesce(max(echo_token), '') FROM inbound_messages
			WHERE property_id = $1 AND channel_id = $2 AND echo_token = 'fetch-' || $3::int`, h.id, h.chanID, fetches).Scan(&latest))
		return latest != ""
	})
	require.GreaterOrEqual(t, fetches, 6, "the booking's poll and two empty ones at least")

	msgs := empty()
	require.Equal(t, 2, len(msgs), "one empty answer per queue, of %d fetches", fetches)
	require.ElementsMatch(t, []string{"OTA_HotelResNotifRQ", "OTA_HotelResModifyNotifRQ"}, []string{msgs[0].Message, msgs[1].Message})
	all, err := h.st.InboundMessages(ctx, h.code, "BDC", 1000)
	require.NoError(t, err)
	var booking int
	for _, m := range all {
		if m.Records > 0 {
			booking++
			require.Contains(t, m.Raw, "BDC-1")
		}
	}
	require.Equal(t, 1, booking, "the message that brought the booking is kept")
}

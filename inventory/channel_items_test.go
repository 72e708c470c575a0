package inventory_test

import (
	"context"
	"testing"
	"time"

	"github.com/keyrack/keyrack/inventory"
	"github.com/stretchr/testify/require"
)

// Deleting the last mapping of a room code closes the room only on a
// channel keyrack pushes availability to: a PMS gets reservations, not
// availability, and a calendar platform fetches keyrack's export, so
// neither has a count to close. A closure queued for one would never be
// sent, nor dropped (no delivery runs for it), and staff would be told the
// room is being closed there.
func TestDeletingAMappingClosesNothingOnAChannelNotPushedAvailability(t *testing.T) {
	h := newHotel(t, "Europe/Lisbon", []int{3}, inventory.FactorOne, 1) // C0: OTA push
	ctx := context.Background()
	for _, c := range []inventory.Channel{{Code: "pms", Kind: inventory.ChannelPMS, Enabled: true}, {Code: "airbnb", Kind: inventory.ChannelICal, Enabled: true}} {
		_, err := h.st.CreateChannel(ctx, h.code, c, inventory.System)
		require.NoError(t, err)
	}
	for _, code := range []string{"pms", "airbnb", "C0"} {
		require.NoError(t, h.st.SetMapping(ctx, h.code, code, inventory.Mapping{ChannelRoom: "DBL", RoomType: "R0"}, inventory.System))
		closed, err := h.st.DeleteMapping(ctx, h.code, code, "DBL", "", inventory.System)
		require.NoError(t, err)
		require.Equal(t, code == "C0", closed, "channel %s", code)
	}
	var rows []string
	r, err := h.st.DB().Query(ctx, `SELECT c.code FROM sync_closures s JOIN channels c ON c.property_id = s.property_id AND c.id = s.channel_id`)
	require.NoError(t, err)
	for r.Next() {
		var code string
		require.NoError(t, r.Scan(&code))
		rows = append(rows, code)
	}
	require.NoError(t, r.Err())
	require.Equal(t, []string{"C0"}, rows)
}

// "room", the level README and the API document besides "rate", is a
// level a channel may be set to — back from "rate", say.
func TestAChannelMaySetItsAvailabilityBackToPerRoom(t *testing.T) {
	h := newHotel(t, "Europe/Lisbon", []int{3}, inventory.FactorOne, 1)
	ctx := context.Background()
	for _, level := range []string{"rate", "room"} {
		ch, err := h.st.UpdateChannel(ctx, h.code, "C0", inventory.ChannelPatch{ARILevel: &level}, inventory.System)
		require.NoError(t, err, level)
		require.Equal(t, level, ch.ARILevel)
	}
	_, err := h.st.CreateChannel(ctx, h.code, inventory.Channel{Code: "sm", Kind: inventory.ChannelOTAPush,
		OTASettings: inventory.OTASettings{ARILevel: "room"}}, inventory.System)
	require.NoError(t, err)
}

// A feed fetched well a moment ago is not stale, however long ago its
// channel was enabled: the enabling only ever delays staleness.
func TestAFeedFetchedLatelyIsNotStaleOnAChannelEnabledLongAgo(t *testing.T) {
	h, feed := icalHotel(t)
	ctx := context.Background()
	_, err := h.st.DB().Exec(ctx, `UPDATE channels SET enabled_at = now() - interval '30 days'`)
	require.NoError(t, err)
	require.NoError(t, h.st.RecordICalFetch(ctx, feed, inventory.ICalFetch{At: time.Now().Add(-10 * time.Minute), Status: 200, Events: 1}))
	n, err := h.st.RaiseStaleFeeds(ctx, 2*time.Hour)
	require.NoError(t, err)
	require.Zero(t, n)
}

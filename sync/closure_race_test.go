package sync_test

import (
	"context"
	"testing"

	"github.com/keyrack/keyrack/inventory"
	"github.com/stretchr/testify/require"
)

// A room's last mapping deleted while a delivery to its channel runs — after
// the delivery read what to send — is closed at the channel before that
// delivery ends: it ended when no mark was left, and the closure waited
// for the channel's next change, the OTA selling the room's last count
// meanwhile (seen once as TestADeletedMappingClosesTheRoomAtTheOTA failing).
func TestARoomClosedDuringADeliveryIsClosedBeforeItEnds(t *testing.T) {
	t.Parallel()
	h := newHotel(t, hotelOptions{units: []int{5, 5}, channels: []string{"A"}, noWorker: true})
	ctx := context.Background()
	room, night := h.room("A", 1), h.today.AddDays(3)
	require.NoError(t, h.fan.Resync(ctx, h.code, "A"))
	require.NoError(t, h.fan.DeliverNow(ctx, h.id, h.chanIDs["A"]))
	v, ok := h.tc["A"].Value(room, night)
	require.True(t, ok)
	require.Equal(t, 5, v)

	require.NoError(t, h.fan.Resync(ctx, h.code, "A"))
	require.NoError(t, h.fan.DeliverWithPause(ctx, h.id, h.chanIDs["A"], func() {
		_, err := h.st.DeleteMapping(ctx, h.code, "A", room, "", inventory.System)
		require.NoError(t, err)
	}))
	v, _ = h.tc["A"].Value(room, night)
	require.Zero(t, v, "the room is closed at the channel by the delivery that was running")
}

// A channel whose last mapping is deleted, and whose delivery then stops
// with its worker (or whose wake-up Redis lost), is closed once the
// sweeper revives it: the sweeper looked for pairs with marks, and a
// channel with no room mapped has none — only the closure, which waited
// for the nightly resync while the OTA sold the room's last count.
func TestASweptChannelWithOnlyAClosureIsClosed(t *testing.T) {
	t.Parallel()
	h := newHotel(t, hotelOptions{channels: []string{"A"}, noWorker: true})
	ctx := context.Background()
	room, night := h.room("A", 0), h.today.AddDays(3)
	require.NoError(t, h.fan.Resync(ctx, h.code, "A"))
	require.NoError(t, h.fan.DeliverNow(ctx, h.id, h.chanIDs["A"]))
	require.True(t, h.holdsOn("A", room, 10))

	_, err := h.st.DeleteMapping(ctx, h.code, "A", room, "", inventory.System)
	require.NoError(t, err)
	require.NoError(t, h.fan.Resync(ctx, h.code, "A"))
	// A worker claims the task (the pair's queued mark goes) and dies.
	_, err = h.st.DB().Exec(ctx, `UPDATE sync_channels SET queued = NULL, queued_gen = NULL, queued_at = NULL
		WHERE property_id = $1 AND channel_id = $2`, h.id, h.chanIDs["A"])
	require.NoError(t, err)

	require.NoError(t, h.fan.Sweep(ctx))
	st, err := h.status()
	require.NoError(t, err)
	require.NotEmpty(t, st[0].Queued, "the sweeper revives the channel")
	require.NoError(t, h.fan.DeliverNow(ctx, h.id, h.chanIDs["A"]))
	v, _ := h.tc["A"].Value(room, night)
	require.Zero(t, v)
}

// A channel with a room to close is not in sync: it sells the room until
// it is told, and its status said "in sync" meanwhile.
func TestAChannelWithARoomToCloseIsNotInSync(t *testing.T) {
	t.Parallel()
	h := newHotel(t, hotelOptions{units: []int{5, 5}, channels: []string{"A"}, noWorker: true})
	ctx := context.Background()
	require.NoError(t, h.fan.Resync(ctx, h.code, "A"))
	require.NoError(t, h.fan.DeliverNow(ctx, h.id, h.chanIDs["A"]))
	require.True(t, h.inSync("A"))

	_, err := h.st.DeleteMapping(ctx, h.code, "A", h.room("A", 1), "", inventory.System)
	require.NoError(t, err)
	st, err := h.status()
	require.NoError(t, err)
	require.False(t, st[0].InSync, "%+v", st[0])
	require.Equal(t, 1, st[0].Closing)
	require.NotNil(t, st[0].DirtySince)

	require.NoError(t, h.fan.DeliverNow(ctx, h.id, h.chanIDs["A"]))
	require.True(t, h.inSync("A"))
}

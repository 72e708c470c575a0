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

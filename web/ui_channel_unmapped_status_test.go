package web_test

import (
	"context"
	"testing"

	"github.com/keyrack/keyrack/inventory"
	"github.com/stretchr/testify/require"
)

// A hotel that has just added an OTA — endpoint and credentials set, no
// room mapped yet — is sent nothing by keyrack (its channel page says "No
// mapping yet: nothing is sent to this channel"), yet the channels list and
// the channel's status said "in sync", the answer to "is channel X in
// sync?". They say why nothing is sent, as for a channel without an
// endpoint, until a room is mapped.
func TestAChannelWithNoRoomMappedIsNotShownInSync(t *testing.T) {
	t.Parallel()
	e := newChannelsUI(t)
	e.seedHotel("P", 4)
	ctx := context.Background()
	_, err := e.st.CreateChannel(ctx, "P", inventory.Channel{Code: "hrs", Kind: inventory.ChannelOTAPush, Enabled: true,
		Endpoint: "https://hrs.example/ari"}, inventory.System)
	require.NoError(t, err)
	e.login("anna")

	const want = "not pushed: no room mapped"
	row := rowOf(t, e.get("/admin/p/P/channels").Body, "hrs")
	require.NotContains(t, row, "in sync", row)
	require.Contains(t, row, `<span class="warn">`+want+`</span>`)
	status := section(t, e.get("/admin/p/P/channels/hrs").Body, "status-title")
	require.NotContains(t, status, "in sync")
	require.Contains(t, status, `<dt>Lag</dt><dd><span class="warn">`+want+`</span>`)

	require.NoError(t, e.st.SetMapping(ctx, "P", "hrs", inventory.Mapping{ChannelRoom: "DBL", RoomType: "DBL-STD"}, inventory.System))
	require.NotContains(t, rowOf(t, e.get("/admin/p/P/channels").Body, "hrs"), want, "mapped, it is sent the pool")
}

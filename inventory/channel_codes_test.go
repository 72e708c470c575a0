package inventory_test

import (
	"context"
	"strings"
	"testing"

	"github.com/keyrack/keyrack/inventory"
	"github.com/stretchr/testify/require"
)

// A room code longer than OpenTravel's InvTypeCode (16 characters) or a
// rate code longer than its RatePlanCode (64) makes every availability
// message to an OTA XML channel invalid against the schema: refused when
// mapped, with nothing stored. A calendar platform or a PMS is sent no OTA
// XML, so its codes have no such limit. Spaces around a code, or a control
// character in it, would make it match nothing the channel sends: refused
// on every channel.
func TestChannelCodesOTAXMLCannotCarryAreRefusedWhenMapped(t *testing.T) {
	h := newHotel(t, "Europe/Lisbon", []int{3}, inventory.FactorOne, 1) // C0: OTA push
	ctx := context.Background()
	for _, c := range []inventory.Channel{{Code: "gds", Kind: inventory.ChannelGDS}, {Code: "pull", Kind: inventory.ChannelOTAPull},
		{Code: "pms", Kind: inventory.ChannelPMS}, {Code: "airbnb", Kind: inventory.ChannelICal}} {
		_, err := h.st.CreateChannel(ctx, h.code, c, inventory.System)
		require.NoError(t, err)
	}
	long := inventory.Mapping{ChannelRoom: strings.Repeat("é", 17), RoomType: "R0"}
	longRate := inventory.Mapping{ChannelRoom: "DBL", ChannelRate: strings.Repeat("R", 65), RoomType: "R0"}
	for _, code := range []string{"C0", "gds", "pull"} {
		for _, m := range []inventory.Mapping{long, longRate} {
			err := h.st.SetMapping(ctx, h.code, code, m, inventory.System)
			require.Equal(t, inventory.EINVALID, inventory.ErrorCode(err), "channel %s %+v: %v", code, m, err)
			require.Contains(t, inventory.ErrorMessage(err), "OpenTravel allows at most")
		}
		// At the limits: 16 characters (not bytes) and 64.
		require.NoError(t, h.st.SetMapping(ctx, h.code, code, inventory.Mapping{ChannelRoom: strings.Repeat("é", 16), RoomType: "R0"}, inventory.System))
		require.NoError(t, h.st.SetMapping(ctx, h.code, code, inventory.Mapping{ChannelRoom: "DBL", ChannelRate: strings.Repeat("R", 64), RoomType: "R0"}, inventory.System))
	}
	for _, code := range []string{"pms", "airbnb"} {
		require.NoError(t, h.st.SetMapping(ctx, h.code, code, long, inventory.System), code)
		require.NoError(t, h.st.SetMapping(ctx, h.code, code, longRate, inventory.System), code)
	}
	for _, code := range []string{"C0", "airbnb"} {
		for _, m := range []inventory.Mapping{
			{ChannelRoom: " TWIN", RoomType: "R0"}, {ChannelRoom: "TWIN\t", RoomType: "R0"},
			{ChannelRoom: "TWIN", ChannelRate: "BAR ", RoomType: "R0"}, {ChannelRoom: "TW\x01IN", RoomType: "R0"},
			{ChannelRoom: "TW\xffIN", RoomType: "R0"},
		} {
			err := h.st.SetMapping(ctx, h.code, code, m, inventory.System)
			require.Equal(t, inventory.EINVALID, inventory.ErrorCode(err), "channel %s %q: %v", code, m.ChannelRoom+"/"+m.ChannelRate, err)
		}
	}
	for _, code := range []string{"C0", "gds", "pull"} {
		ms, err := h.st.Mappings(ctx, h.code, code)
		require.NoError(t, err)
		require.Len(t, ms, 2, "channel %s: only the two at the limits are stored", code)
	}
	ms, err := h.st.Mappings(ctx, h.code, "airbnb")
	require.NoError(t, err)
	require.Len(t, ms, 2, "the calendar channel's two long codes only")
}

// HotelCode is StringLength1to16 too: an OTA XML channel's hotel code is
// refused longer, on creation and on change, and the channel keeps the one
// it had.
func TestAnOTAXMLChannelsHotelCodeIsRefusedLongerThanOpenTravelAllows(t *testing.T) {
	h := newHotel(t, "Europe/Lisbon", []int{3}, inventory.FactorOne, 1)
	ctx := context.Background()
	long := strings.Repeat("9", 17)
	_, err := h.st.CreateChannel(ctx, h.code, inventory.Channel{Code: "bdc", Kind: inventory.ChannelOTAPush, HotelCode: long}, inventory.System)
	require.Equal(t, inventory.EINVALID, inventory.ErrorCode(err), "%v", err)
	_, err = h.st.CreateChannel(ctx, h.code, inventory.Channel{Code: "bdc", Kind: inventory.ChannelOTAPush, HotelCode: strings.Repeat("9", 16)}, inventory.System)
	require.NoError(t, err)
	_, err = h.st.UpdateChannel(ctx, h.code, "bdc", inventory.ChannelPatch{HotelCode: &long}, inventory.System)
	require.Equal(t, inventory.EINVALID, inventory.ErrorCode(err), "%v", err)
	spaced := "1234 "
	_, err = h.st.UpdateChannel(ctx, h.code, "bdc", inventory.ChannelPatch{HotelCode: &spaced}, inventory.System)
	require.Equal(t, inventory.EINVALID, inventory.ErrorCode(err), "%v", err)
	chs, err := h.st.Channels(ctx, h.code)
	require.NoError(t, err)
	for _, c := range chs {
		if c.Code == "bdc" {
			require.Equal(t, strings.Repeat("9", 16), c.HotelCode)
		}
	}
	// A PMS is sent JSON: its hotel code is whatever the PMS calls the hotel.
	_, err = h.st.CreateChannel(ctx, h.code, inventory.Channel{Code: "pms", Kind: inventory.ChannelPMS, HotelCode: long + long}, inventory.System)
	require.NoError(t, err)
	empty := ""
	_, err = h.st.UpdateChannel(ctx, h.code, "bdc", inventory.ChannelPatch{HotelCode: &empty}, inventory.System)
	require.NoError(t, err, "no hotel code: the channel's one hotel")
}

package inventory_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/keyrack/keyrack/inventory"
	"github.com/stretchr/testify/require"
)

func TestMapStaysPrefersTheRoomAndRateMappingThenTheRoomsOwn(t *testing.T) {
	ms := []inventory.Mapping{
		{ChannelRoom: "DBL", ChannelRate: "", RoomType: "DBL-STD"},
		{ChannelRoom: "DBL", ChannelRate: "NR", RoomType: "DBL-NR", RatePlan: "NRF"},
		{ChannelRoom: "SGL", ChannelRate: "BAR", RoomType: "SGL-STD", RatePlan: "BAR"},
	}
	stays := []inventory.RoomStay{
		{ChannelRoom: "DBL", ChannelRate: "NR"},
		{ChannelRoom: "DBL", ChannelRate: "BAR"},
		{ChannelRoom: "SGL", ChannelRate: "NR"}, // only SGL/BAR is mapped
		{ChannelRoom: "SUITE"},
	}
	inventory.MapStays(ms, stays)
	require.Equal(t, [][2]string{{"DBL-NR", "NRF"}, {"DBL-STD", ""}, {"", ""}, {"", ""}},
		[][2]string{{stays[0].RoomType, stays[0].RatePlan}, {stays[1].RoomType, stays[1].RatePlan},
			{stays[2].RoomType, stays[2].RatePlan}, {stays[3].RoomType, stays[3].RatePlan}})
}

func TestOTASettingsAreValidatedAndKept(t *testing.T) {
	h := newHotel(t, "Europe/Lisbon", []int{3}, inventory.FactorOne, 0)
	ctx := context.Background()
	for _, c := range []struct {
		o     inventory.OTASettings
		field string
	}{
		{inventory.OTASettings{InboundAuth: "cookie"}, "inbound_auth"},
		{inventory.OTASettings{Envelope: "soap13"}, "envelope"},
		{inventory.OTASettings{ARIMessage: "rates"}, "ari_message"},
		{inventory.OTASettings{ARILevel: "rates"}, "ari_level"},
		{inventory.OTASettings{PullURL: "ftp://x"}, "pull_url"},
		{inventory.OTASettings{PullInterval: 1}, "pull_interval_s"},
	} {
		_, err := h.st.CreateChannel(ctx, h.code, inventory.Channel{Code: "x", Kind: inventory.ChannelOTAPull, OTASettings: c.o}, inventory.System)
		require.Equal(t, inventory.EINVALID, inventory.ErrorCode(err), c.field)
		require.Contains(t, err.Error(), c.field)
	}
	ch, err := h.st.CreateChannel(ctx, h.code, inventory.Channel{Code: "bdc", Kind: inventory.ChannelOTAPull, Enabled: true,
		OTASettings: inventory.OTASettings{PullURL: "https://bdc.test/reservations", ARIMessage: "invcount"}}, inventory.System)
	require.NoError(t, err)
	require.Equal(t, 60, ch.PullInterval)
	require.Equal(t, "basic", ch.EffectiveAuth())
	require.Equal(t, "raw", ch.EffectiveEnvelope())
	soap := "soap11"
	up, err := h.st.UpdateChannel(ctx, h.code, "bdc", inventory.ChannelPatch{Envelope: &soap}, inventory.System)
	require.NoError(t, err)
	require.Equal(t, "soap11", up.Envelope)
	require.Equal(t, "https://bdc.test/reservations", up.PullURL, "settings not in the patch stay")
	bad := "rates"
	_, err = h.st.UpdateChannel(ctx, h.code, "bdc", inventory.ChannelPatch{ARIMessage: &bad}, inventory.System)
	require.Equal(t, inventory.EINVALID, inventory.ErrorCode(err))
	gds := inventory.Channel{Kind: inventory.ChannelGDS}
	require.Equal(t, "wsse", gds.EffectiveAuth())
	require.Equal(t, "soap12", gds.EffectiveEnvelope())
}

func TestInboundChannelsAuthenticateAcrossProperties(t *testing.T) {
	h := newHotel(t, "Europe/Lisbon", []int{3}, inventory.FactorOne, 0)
	ctx := context.Background()
	sec, err := inventory.NewSecrets("inbound channel test secret")
	require.NoError(t, err)
	h2 := newHotelIn(t, h.st, "H2", "Europe/Paris", []int{2}, inventory.FactorOne, 0)
	for _, p := range []string{h.code, h2.code} {
		_, err := h.st.CreateChannel(ctx, p, inventory.Channel{Code: "bdc", Kind: inventory.ChannelOTAPush, Enabled: true, HotelCode: "HC-" + p}, inventory.System)
		require.NoError(t, err)
		require.NoError(t, h.st.SetChannelCredentials(ctx, sec, p, "bdc", inventory.Credentials{InboundUser: "acct", InboundSecret: "pw-" + p}, inventory.System))
	}
	_, err = h.st.CreateChannel(ctx, h.code, inventory.Channel{Code: "cal", Kind: inventory.ChannelICal, Enabled: true}, inventory.System)
	require.NoError(t, err)

	chs, err := h.st.InboundChannels(ctx, "bdc", []string{"someone", "acct"}, inventory.ChannelOTAPush, inventory.ChannelGDS)
	require.NoError(t, err)
	require.Len(t, chs, 2)
	require.Equal(t, "H1", chs[0].Property)
	require.Equal(t, "HC-H2", chs[1].HotelCode)
	require.True(t, chs[0].Authenticates(sec, "acct", "pw-H1"))
	require.False(t, chs[0].Authenticates(sec, "acct", "pw-H2"))
	require.False(t, chs[0].Authenticates(sec, "other", "pw-H1"))
	require.False(t, chs[0].Authenticates(nil, "acct", "pw-H1"))
	chs, err = h.st.InboundChannels(ctx, "cal", nil, inventory.ChannelOTAPush, inventory.ChannelGDS)
	require.NoError(t, err)
	require.Empty(t, chs, "kinds are filtered")
	chs, err = h.st.InboundChannels(ctx, "bdc", []string{"someone"}, inventory.ChannelOTAPush, inventory.ChannelGDS)
	require.NoError(t, err)
	require.Empty(t, chs, "only the accounts presented")
	chs, err = h.st.InboundChannels(ctx, "bdc", nil, inventory.ChannelOTAPush)
	require.NoError(t, err)
	require.Len(t, chs, 2, "nil: every account")
	off := false
	_, err = h.st.UpdateChannel(ctx, h2.code, "bdc", inventory.ChannelPatch{Enabled: &off}, inventory.System)
	require.NoError(t, err)
	chs, err = h.st.InboundChannels(ctx, "bdc", []string{"acct"}, inventory.ChannelOTAPush)
	require.NoError(t, err)
	require.Len(t, chs, 2, "a disabled channel's bookings are still taken")
}

func TestInboundMessagesAreKeptMasked(t *testing.T) {
	h := newHotel(t, "Europe/Lisbon", []int{3}, inventory.FactorOne, 1)
	ctx := context.Background()
	raw := `<OTA_HotelResNotifRQ><PaymentCard CardNumber="4111111111111111" SeriesCode="737"/>` + "\x00\xff</OTA_HotelResNotifRQ>"
	id, err := h.st.RecordInbound(ctx, inventory.InboundMessage{Property: h.code, Channel: "C0", Direction: "push",
		Message: "OTA_HotelResNotifRQ", Records: 1, Outcome: "ok", Raw: raw, Reply: "<Success/>",
		Detail: `record 1: PaymentCard: CardCode "4111 1111 1111 1111" is not a card code`})
	require.NoError(t, err)
	require.NotZero(t, id)
	// Unknown property and channel: kept without them.
	_, err = h.st.RecordInbound(ctx, inventory.InboundMessage{Channel: "nobody", Direction: "push", Outcome: "unauthenticated",
		HTTPStatus: 401, Raw: strings.Repeat("x", 10)})
	require.NoError(t, err)
	big := strings.Repeat("y", inventory.MaxStoredMessage+10)
	_, err = h.st.RecordInbound(ctx, inventory.InboundMessage{Property: h.code, Channel: "C0", Direction: "pull", Outcome: "failed", Raw: big})
	require.NoError(t, err)

	ms, err := h.st.InboundMessages(ctx, h.code, "C0", 10)
	require.NoError(t, err)
	require.Len(t, ms, 2)
	require.Equal(t, "pull", ms[0].Direction)
	require.Less(t, len(ms[0].Raw), inventory.MaxStoredMessage+100)
	require.Contains(t, ms[0].Raw, "cut")
	m := ms[1]
	require.Equal(t, id, m.ID)
	require.Equal(t, 200, m.HTTPStatus)
	require.NotContains(t, m.Raw, "4111111111111111")
	require.NotContains(t, m.Raw, `"737"`)
	require.NotContains(t, m.Raw, "\x00")
	require.Contains(t, m.Detail, "XXXX XXXX XXXX 1111", "an error quoting a card number keeps it masked")
}

// Messages from senders that could not authenticate are kept within bounds
// — so many per sender, so many in all, per window — since anyone can send
// them; messages of authenticated channels always are.
func TestUnauthenticatedMessagesAreKeptWithinBounds(t *testing.T) {
	h := newHotel(t, "Europe/Lisbon", []int{3}, inventory.FactorOne, 1)
	ctx := context.Background()
	send := func(remote, outcome string) int64 {
		t.Helper()
		m := inventory.InboundMessage{Channel: "C0", Direction: "push", Remote: remote, Outcome: outcome, HTTPStatus: 401, Raw: "<x/>"}
		if outcome != "unauthenticated" {
			m.Property, m.HTTPStatus = h.code, 200
		}
		id, err := h.st.RecordInbound(ctx, m)
		require.NoError(t, err)
		return id
	}
	for i := range inventory.UnauthenticatedPerSender + 5 {
		kept := send("198.51.100.7", "unauthenticated") != 0
		require.Equal(t, i < inventory.UnauthenticatedPerSender, kept, "message %d", i)
	}
	require.NotZero(t, send("198.51.100.7", "failed"), "an authenticated channel's messages are always kept")

	// Other senders, until the bound over all of them.
	kept := inventory.UnauthenticatedPerSender
	for s := 0; kept < inventory.UnauthenticatedPerWindow; s++ {
		for range inventory.UnauthenticatedPerSender {
			require.NotZero(t, send(fmt.Sprintf("203.0.113.%d", s), "unauthenticated"))
			kept++
		}
	}
	require.Zero(t, send("192.0.2.1", "unauthenticated"), "a new sender, past the bound over all")

	_, err := h.st.DB().Exec(ctx, `UPDATE inbound_unattributed SET received_at = received_at - $1::interval`, inventory.UnauthenticatedWindow)
	require.NoError(t, err)
	require.NotZero(t, send("198.51.100.7", "unauthenticated"), "the window has passed")
	var n int
	require.NoError(t, h.st.DB().QueryRow(ctx, `SELECT count(*) FROM inbound_unattributed WHERE outcome = 'unauthenticated'`).Scan(&n))
	require.Equal(t, inventory.UnauthenticatedPerWindow+1, n)

	// Kept under no property even when the caller names one: its sender
	// is not known to be that property's.
	id, err := h.st.RecordInbound(ctx, inventory.InboundMessage{Property: h.code, Channel: "C0", Direction: "push",
		Remote: "198.51.100.9", Outcome: "unauthenticated", HTTPStatus: 401, Raw: "<x/>"})
	require.NoError(t, err)
	require.NotZero(t, id)
	ms, err := h.st.InboundMessages(ctx, h.code, "", 1000)
	require.NoError(t, err)
	for _, m := range ms {
		require.NotEqual(t, "unauthenticated", m.Outcome, "listed as the property's: %+v", m)
	}
}

// A message longer than what is kept shows no card number that the cut
// falls in: it is masked whole before it is cut.
func TestALongMessageCutAtACardNumberKeepsItMasked(t *testing.T) {
	h := newHotel(t, "Europe/Lisbon", []int{3}, inventory.FactorOne, 1)
	ctx := context.Background()
	card := "4111111111111111"
	raw := strings.Repeat("y", inventory.MaxStoredMessage-10) + " card " + card + " exp 12/30"
	_, err := h.st.RecordInbound(ctx, inventory.InboundMessage{Property: h.code, Channel: "C0", Direction: "pull", Outcome: "failed", Raw: raw})
	require.NoError(t, err)
	ms, err := h.st.InboundMessages(ctx, h.code, "C0", 1)
	require.NoError(t, err)
	require.Len(t, ms, 1)
	require.Contains(t, ms[0].Raw, "cut")
	require.False(t, strings.Contains(ms[0].Raw, "4111"), "the first digits of the card number are kept in clear")
}

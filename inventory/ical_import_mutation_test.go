package inventory_test

import (
	"context"
	"testing"
	"time"

	"github.com/keyrack/keyrack/inventory"
	"github.com/stretchr/testify/require"
)

// A fetch is left out only when one of the same feed was imported after
// it: a rental listed on Airbnb and Vrbo has a feed for each, fetched on
// their own schedules, and a Vrbo fetch imported after a later Airbnb one
// is the latest Vrbo calendar, to be applied in full.
func TestAnOlderFetchIsLeftOutOnlyAfterALaterOneOfItsOwnFeed(t *testing.T) {
	h, airbnb := icalHotel(t)
	ctx := context.Background()
	_, err := h.st.CreateChannel(ctx, h.code, inventory.Channel{Code: "vrbo", Kind: inventory.ChannelICal, Enabled: true}, inventory.System)
	require.NoError(t, err)
	sec, err := inventory.NewSecrets("ical import test secret")
	require.NoError(t, err)
	f, err := h.st.SetICalFeed(ctx, sec, h.code, "vrbo", "R0", "https://www.vrbo.com/icalendar/1.ics", 0, inventory.System)
	require.NoError(t, err)
	vrbo := inventory.ICalFeedRef{Property: h.code, ID: f.ID}

	t2 := time.Date(2027, 5, 1, 12, 0, 0, 0, time.UTC)
	r, err := h.st.ImportCalendar(ctx, airbnb, []inventory.CalendarEvent{ev("a@airbnb.com", "2027-05-10", "2027-05-12")}, nil, t2)
	require.NoError(t, err)
	require.Equal(t, 1, r.New)
	// Vrbo's fetch started a minute before Airbnb's and is imported after it.
	r, err = h.st.ImportCalendar(ctx, vrbo, []inventory.CalendarEvent{ev("v@vrbo.com", "2027-06-01", "2027-06-03")}, nil, t2.Add(-time.Minute))
	require.NoError(t, err)
	require.Empty(t, r.Warnings)
	require.Equal(t, 1, r.New)
	require.Equal(t, 1, h.soldOn(t, "2027-06-01"), "the Vrbo stay holds its nights")
}

package inventory_test

import (
	"context"
	"testing"

	"github.com/keyrack/keyrack/inventory"
	"github.com/stretchr/testify/require"
)

// iCloud and Google hand out a calendar's subscription link as webcal://
// (the same URL over HTTPS, which the fetcher reads it as): a host pasting
// it must not be told it is not a feed URL.
func TestAWebcalLinkIsAFeedURL(t *testing.T) {
	h, _ := icalHotel(t)
	ctx := context.Background()
	sec, err := inventory.NewSecrets("ical import test secret")
	require.NoError(t, err)
	for _, u := range []string{"webcal://p12-caldav.icloud.com/published/2/MTIzNDU2Nzg5", "webcals://calendar.example.com/private-abc/basic.ics"} {
		f, err := h.st.SetICalFeed(ctx, sec, h.code, "airbnb", "R0", u, 0, inventory.System)
		require.NoError(t, err, u)
		got, err := h.st.ICalFeedURL(ctx, sec, h.code, f.ID)
		require.NoError(t, err)
		require.Equal(t, u, got, "kept as given: the fetcher reads it over HTTPS")
	}
	for _, u := range []string{"ftp://calendar.example.com/x.ics", "webcal:///no-host.ics", "file:///etc/passwd"} {
		_, err := h.st.SetICalFeed(ctx, sec, h.code, "airbnb", "R0", u, 0, inventory.System)
		require.Equal(t, inventory.EINVALID, inventory.ErrorCode(err), u)
	}
}

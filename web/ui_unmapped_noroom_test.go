package web_test

import (
	"bytes"
	"context"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// OpenTravel's own sample booking names a rate plan (CORA999) and no room
// code at all. keyrack keeps it parked, as it should; but no mapping can
// ever match a room code the channel did not send, so the pages must not
// send staff to map one (the channel's page said "every room code this
// channel booked is mapped" and the booking's page "the channel's room code
// ? is not mapped … Map the code"). They say what is so and link to
// recording the booking's room type, which gives it its rooms.
func TestABookingThatNamesNoRoomIsNotSentToBeMapped(t *testing.T) {
	t.Parallel()
	e := newUI(t)
	e.seedHotel("P", 2)
	ctx := context.Background()
	e.login("anna")
	// The hotel gives the channel the secret its page makes.
	from := "/admin/p/P/channels/expedia"
	m := revealedSecret.FindStringSubmatch(e.post(from, from+"/credentials/inbound", url.Values{"username": {"exp"}}).Body)
	require.NotNil(t, m)
	sample, err := os.ReadFile(filepath.Join("..", "..", "shared", "samples", "ota", "opentravel_OTA_HotelResNotifRQ_new.xml"))
	require.NoError(t, err)
	req, err := http.NewRequest("POST", e.ts.URL+"/ota/expedia", bytes.NewReader(sample))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "text/xml")
	req.SetBasicAuth("exp", html.UnescapeString(m[1]))
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	res, err := e.st.Reservation(ctx, "P", "expedia", "7865")
	require.NoError(t, err)
	require.True(t, res.Parked, "kept, parked")
	change := fmt.Sprintf(`href="/admin/p/P/bookings/%d/change"`, res.ID)

	booking := e.get(fmt.Sprintf("/admin/p/P/bookings/%d", res.ID)).Body
	require.NotContains(t, booking, "<strong>?</strong>")
	require.NotContains(t, booking, "Map the code on the")
	require.Contains(t, booking, "expedia sent no room code for it (rate CORA999)")
	require.Contains(t, booking, change)

	unmapped := section(t, e.get("/admin/p/P/channels/expedia").Body, "unmapped-title")
	require.NotContains(t, unmapped, "every room code this channel booked is mapped")
	require.Contains(t, unmapped, "no room code")
	require.Contains(t, unmapped, "CORA999")
	require.Contains(t, unmapped, change, "the booking's room type is recorded on its page")
	require.NotContains(t, unmapped, `name="room" value=""`, "no mapping of an empty room code is offered")

	alerts := section(t, e.get("/admin/p/P/alerts").Body, "h-unmapped")
	require.Contains(t, alerts, change)
	require.NotContains(t, alerts, "Map the room code")
}

package web_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

// A Booking.com-style channel's second queue (modifications and
// cancellations) is set through the API like its pull URL, shown back, and
// checked: an http(s) URL, polled with the pull URL.
func TestAPISetsAPullChannelsModificationQueue(t *testing.T) {
	t.Parallel()
	e := newAPI(t)
	base := "/api/v1/properties/BDC"
	e.must(http.StatusCreated, "POST", "/api/v1/properties", map[string]any{"code": "BDC", "name": "Hotel", "time_zone": "Europe/Lisbon", "currency": "EUR"})
	ch := e.must(http.StatusCreated, "POST", base+"/channels", map[string]any{"code": "bookingcom", "kind": "ota_pull", "hotel_code": "4821375",
		"pull_url": "https://supply.example/OTA_HotelResNotif", "pull_modify_url": "https://supply.example/OTA_HotelResModifyNotif"}).JSON(t)
	require.Equal(t, "https://supply.example/OTA_HotelResModifyNotif", ch["pull_modify_url"])
	got := e.must(http.StatusOK, "PATCH", base+"/channels/bookingcom", map[string]any{"pull_modify_url": "https://supply.example/modify"}).JSON(t)
	require.Equal(t, "https://supply.example/modify", got["pull_modify_url"])
	require.Equal(t, "https://supply.example/OTA_HotelResNotif", got["pull_url"], "left as it was")
	got = e.must(http.StatusOK, "GET", base+"/channels/bookingcom", nil).JSON(t)
	require.Equal(t, "https://supply.example/modify", got["pull_modify_url"])

	r := e.do("PATCH", base+"/channels/bookingcom", e.admin, map[string]any{"pull_modify_url": "ftp://supply.example/modify"})
	require.Equal(t, http.StatusBadRequest, r.Status, "%s", r.Body)
	require.Contains(t, string(r.Body), "pull_modify_url")
	r = e.do("PATCH", base+"/channels/bookingcom", e.admin, map[string]any{"pull_url": ""})
	require.Equal(t, http.StatusBadRequest, r.Status, "a modification queue without the pull URL it is polled with: %s", r.Body)
	require.Contains(t, string(r.Body), "pull_modify_url")
	e.must(http.StatusOK, "PATCH", base+"/channels/bookingcom", map[string]any{"pull_url": "", "pull_modify_url": ""})
}

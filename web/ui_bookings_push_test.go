package web_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"
)

// The live search puts in the address bar (htmx's history) the search as
// a link staff can share: the fields filled in, not every empty one
// ("?channel=&status=&from=&to=&arrival=&guest=ana&id="); and a field
// cleared clears the search, in the results and in the address.
func TestTheLiveSearchPushesOnlyTheFieldsFilledIn(t *testing.T) {
	t.Parallel()
	e := newBookingsEnv(t)
	e.login("anna")
	live := func(form url.Values) page {
		t.Helper()
		p := e.get("/admin/p/P/bookings?"+form.Encode(), "HX-Request", "true", "HX-Target", "booking-results",
			"HX-Current-URL", e.ts.URL+"/admin/p/P/bookings")
		require.Equal(t, http.StatusOK, p.Status, p.Body)
		require.NotContains(t, p.Body, "<html")
		return p
	}
	form := url.Values{"channel": {""}, "status": {""}, "from": {""}, "to": {""}, "arrival": {""}, "guest": {"ana"}, "id": {""}}
	p := live(form)
	require.Equal(t, "/admin/p/P/bookings?guest=ana", p.Header.Get("HX-Push-Url"))
	require.Contains(t, p.Body, "EXP-1")
	require.NotContains(t, p.Body, "PMS-7")
	// The link shared finds the same.
	full := e.get("/admin/p/P/bookings?guest=ana")
	require.Contains(t, full.Body, "EXP-1")
	require.NotContains(t, full.Body, "PMS-7")

	form.Set("channel", "expedia")
	form.Set("status", "confirmed")
	p = live(form)
	require.Equal(t, "/admin/p/P/bookings?channel=expedia&guest=ana&status=confirmed", p.Header.Get("HX-Push-Url"))

	// Every field cleared: the whole list, at the page's own address.
	form = url.Values{"channel": {""}, "status": {""}, "from": {""}, "to": {""}, "arrival": {""}, "guest": {""}, "id": {""}}
	p = live(form)
	require.Equal(t, "/admin/p/P/bookings", p.Header.Get("HX-Push-Url"))
	require.Contains(t, p.Body, "EXP-1")
	require.Contains(t, p.Body, "PMS-7")
}

package web_test

import (
	"net/http"
	"net/url"
	"strconv"
	"testing"

	"github.com/keyrack/keyrack/inventory"
	"github.com/stretchr/testify/require"
)

// An action of the alerts page that does nothing — resolving an alert
// someone resolved already, or one that is not there, syncing a feed of an
// alert that is not about one, retrying a delivery that is no longer dead —
// is answered with the alerts page staff were on (the kind and page shown
// alone, if it was), why at its top, with its status: it was the bare error
// page, whose one link led to the grid.
func TestARefusedAlertActionIsShownOnTheAlertsPage(t *testing.T) {
	t.Parallel()
	a := newAlertsUI(t)
	a.seedHotel("P", 1)
	a.seedHotel("Q", 1)
	overbook(t, a.st, "P")
	theirs := a.deadLetter("Q", "expedia")
	a.login("anna")
	incs := openIncidents(t, a.st, "P")
	require.Len(t, incs, 1)
	id := strconv.FormatInt(incs[0].ID, 10)
	const from = "/admin/p/P/alerts"

	// Syncing the feed of an overbooking.
	p := a.post(from, from+"/incidents/"+id+"/sync", nil)
	require.Equal(t, http.StatusBadRequest, p.Status, p.Body)
	require.Contains(t, p.Body, "<h1>Alerts (1)</h1>")
	require.Contains(t, refusal(t, p), "Alert "+id+" is not about an iCal feed: nothing was fetched.")
	require.Contains(t, p.Body, `id="incident-`+id+`"`, "the alerts are listed below")
	require.Len(t, openIncidents(t, a.st, "P"), 1, "nothing changed")

	// A delivery of another property, or none.
	p = a.post(from, from+"/dead-letters/retry", url.Values{"queue": {a.queue}, "task": {theirs}})
	require.Equal(t, http.StatusNotFound, p.Status, p.Body)
	require.Contains(t, p.Body, "<h1>Alerts (1)</h1>")
	require.Contains(t, refusal(t, p), "That delivery is no longer dead-lettered: it may have been retried already.")

	// Resolved by someone else meanwhile: from the overbookings shown alone.
	require.NoError(t, a.st.ResolveIncident(t.Context(), "P", incs[0].ID, inventory.System))
	p = a.post(from+"?kind=overbooking", from+"/incidents/"+id+"/resolve", url.Values{"kind": {"overbooking"}, "page": {"1"}})
	require.Equal(t, http.StatusNotFound, p.Status, p.Body)
	require.Contains(t, p.Body, "<h1>Alerts</h1>")
	require.Contains(t, p.Body, "← Every kind of alert", "the overbookings alone, as they were shown")
	require.Contains(t, refusal(t, p), "Alert "+id+" is no longer open: someone may have resolved it already.")
	require.Contains(t, p.Body, "There is no open alert of this kind.")

	// An alert that never was.
	p = a.post(from, from+"/incidents/x/resolve", nil)
	require.Equal(t, http.StatusNotFound, p.Status, p.Body)
	require.Contains(t, p.Body, "<h1>Alerts</h1>")
	require.Contains(t, refusal(t, p), "There is no alert x.")
}

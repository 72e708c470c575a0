package web_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"
)

const menuAlerting = `<span class="sr-only"> (open alerts)</span>`

// Staff land on the grid and may never open the alerts page: every page's
// menu marks Alerts while the property has an open incident (here an
// overbooked night) or overdue work (changes no worker has taken) — and
// only that property's menu.
func TestTheMenuMarksAlertsWhileSomethingNeedsStaff(t *testing.T) {
	t.Parallel()
	a := newOverdueUI(t) // the web role only
	a.seedHotel("P", 1)
	a.seedHotel("Q", 1)
	a.login("victor")
	ctx := context.Background()
	for _, path := range []string{"/admin/p/P/grid", "/admin/p/P/bookings", "/admin/p/Q/grid"} {
		require.NotContains(t, a.get(path).Body, menuAlerting, path)
	}

	overbook(t, a.st, "P")
	for _, path := range []string{"/admin/p/P/grid", "/admin/p/P/bookings", "/admin/p/P/channels", "/admin/p/P/alerts"} {
		require.Contains(t, a.get(path).Body, menuAlerting, path)
	}
	require.NotContains(t, a.get("/admin/p/Q/grid").Body, menuAlerting, "Q has nothing open")

	// No incident at Q, but its changes have waited ten minutes for a
	// worker.
	gridBook(t, a.st, "Q", "expedia", "E-1", gridToday(t).AddDays(3), 1, 1)
	require.NotContains(t, a.get("/admin/p/Q/grid").Body, menuAlerting, "a change just made is not overdue")
	_, err := a.st.DB().Exec(ctx, `UPDATE outbox SET created_at = now() - interval '10 minutes'
		WHERE property_id = (SELECT id FROM properties WHERE code = 'Q')`)
	require.NoError(t, err)
	require.Contains(t, a.get("/admin/p/Q/grid").Body, menuAlerting)
}

// The mark is seen, not only read out (its class and its dot), and goes
// once the incident is resolved. A server with no fan-out marks an open
// incident only.
func TestTheMenuMarkShowsAndGoesWithTheIncident(t *testing.T) {
	t.Parallel()
	a := newOverdueUI(t)
	a.seedHotel("P", 1)
	a.login("victor")
	overbook(t, a.st, "P")
	body := a.get("/admin/p/P/grid").Body
	require.Contains(t, body, `class="alerting"`)
	require.Contains(t, body, `<span class="dot" aria-hidden="true"></span>`)
	_, err := a.st.DB().Exec(context.Background(), `UPDATE incidents SET resolved_at = now()`)
	require.NoError(t, err)
	body = a.get("/admin/p/P/grid").Body
	require.NotContains(t, body, menuAlerting, "the incident is resolved")
	require.NotContains(t, body, `class="alerting"`)

	e := newUI(t) // no fan-out
	e.seedHotel("P", 1)
	e.login("victor")
	require.NotContains(t, e.get("/admin/p/P/grid").Body, menuAlerting, "nothing open")
	overbook(t, e.st, "P")
	require.Contains(t, e.get("/admin/p/P/grid").Body, menuAlerting)
}

// A delivery that ran out of retries waits for staff: the menu marks
// Alerts (at its property only) until it is retried.
func TestTheMenuMarksAlertsForADeliveryThatRanOutOfRetries(t *testing.T) {
	t.Parallel()
	a := newAlertsUI(t) // no worker: nothing retries by itself
	a.seedHotel("P", 1)
	a.seedHotel("Q", 1)
	a.login("victor")
	require.NotContains(t, a.get("/admin/p/P/grid").Body, menuAlerting, "nothing open")

	a.deadLetter("P", "expedia")
	// As a delivery that runs out of retries records it (sync/deliver.go).
	_, err := a.st.DB().Exec(context.Background(), `INSERT INTO sync_channels (property_id, channel_id, archived)
		SELECT p.id, c.id, true FROM properties p JOIN channels c ON c.property_id = p.id WHERE p.code = 'P' AND c.code = 'expedia'`)
	require.NoError(t, err)
	for _, path := range []string{"/admin/p/P/grid", "/admin/p/P/bookings", "/admin/p/P/channels"} {
		require.Contains(t, a.get(path).Body, menuAlerting, path)
	}
	require.NotContains(t, a.get("/admin/p/Q/grid").Body, menuAlerting, "Q has nothing open")

	a.login("anna")
	forms := deadLetterForm.FindAllStringSubmatch(a.get("/admin/p/P/alerts").Body, -1)
	require.Len(t, forms, 1)
	p := a.post("/admin/p/P/alerts", "/admin/p/P/alerts/dead-letters/retry", url.Values{"queue": {forms[0][1]}, "task": {forms[0][2]}})
	require.Equal(t, http.StatusSeeOther, p.Status, p.Body)
	require.NotContains(t, a.get("/admin/p/P/grid").Body, menuAlerting, "retried: back in the queue")
}

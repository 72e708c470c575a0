package web_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/keyrack/keyrack/inventory"
	"github.com/stretchr/testify/require"
)

// A staff user made for one property (keyrack user add --property) works
// on it alone: another property is no property to them — its pages and
// forms answer 404 and change nothing —, their home and menu list theirs
// only, and the queues, which hold every property's work, are refused.
// Staff of every property are not touched.
func TestAStaffUserOfOnePropertySeesAndChangesItAlone(t *testing.T) {
	t.Parallel()
	a := newOverdueUI(t) // with a queue, so /admin/queues/ is served
	a.seedHotel("P", 10)
	a.seedHotel("Q", 10)
	ctx := context.Background()
	_, err := a.st.CreatePropertyStaffUser(ctx, "pia", inventory.RoleAdmin, "P", uiPassword, inventory.System)
	require.NoError(t, err)
	a.login("pia")

	p := a.get("/admin/")
	require.Equal(t, http.StatusSeeOther, p.Status, "one property of hers: its grid")
	require.Equal(t, "/admin/p/P/grid", p.Header.Get("Location"))
	p = a.get("/admin/p/P/grid")
	require.Equal(t, http.StatusOK, p.Status)
	require.Contains(t, p.Body, `title="Your account: change your password">pia (admin, P only)</a>`)
	require.NotContains(t, p.Body, `href="/admin/queues/"`)
	require.NotContains(t, p.Body, `<a href="/admin/">Properties</a>`)

	for _, path := range []string{"/admin/p/Q/grid", "/admin/p/Q/bookings", "/admin/p/Q/channels", "/admin/p/Q/alerts", "/admin/p/Q"} {
		p := a.get(path)
		require.Equal(t, http.StatusNotFound, p.Status, path)
		require.Contains(t, p.Body, "There is no property Q.", path)
		require.NotContains(t, p.Body, "Hotel Q", path)
	}
	night := gridToday(t).AddDays(1)
	p = a.post("/admin/p/P/grid", "/admin/p/Q/grid/edit", url.Values{"pool": {"DBL"}, "from": {night.String()}, "to": {night.String()}, "status": {"close"}})
	require.Equal(t, http.StatusNotFound, p.Status)
	require.False(t, nightOf(t, a.st, "Q", night).Closed, "Q's night is not closed")
	p = a.post("/admin/p/P/grid", "/admin/p/P/grid/edit", url.Values{"pool": {"DBL"}, "from": {night.String()}, "to": {night.String()}, "status": {"close"}})
	require.Equal(t, http.StatusSeeOther, p.Status, p.Body)
	require.True(t, nightOf(t, a.st, "P", night).Closed, "her own property's night is")

	p = a.get("/admin/queues/")
	require.Equal(t, http.StatusForbidden, p.Status)
	require.Contains(t, p.Body, "your account works on P only")

	// anna works on every property.
	anna := &uiEnv{t: t, st: a.st, ts: a.ts, client: newBrowserClient(t)}
	anna.login("anna")
	p = anna.get("/admin/")
	require.Equal(t, http.StatusOK, p.Status)
	require.Contains(t, p.Body, "Hotel P")
	require.Contains(t, p.Body, "Hotel Q")
	require.Equal(t, http.StatusOK, anna.get("/admin/p/Q/grid").Status)
	require.Equal(t, http.StatusOK, anna.get("/admin/queues/").Status)

	// Made every property's again, pia sees Q from her next page.
	_, err = a.st.CreatePropertyStaffUser(ctx, "pia", inventory.RoleAdmin, "", uiPassword, inventory.System)
	require.NoError(t, err)
	a.login("pia") // a new password ends the sessions
	require.Equal(t, http.StatusOK, a.get("/admin/p/Q/grid").Status)
}

package web_test

import (
	"context"
	"testing"

	"github.com/keyrack/keyrack/inventory"
	"github.com/stretchr/testify/require"
)

// The pages of no one property — Users, the account page — keep the menu
// of the hotel's pages for staff who work on one property: it was
// dropped there, leaving only the brand to click to get back to the grid,
// bookings, channels or alerts (and the Alerts mark out of sight). Staff of
// several properties get the Properties link there, as before.
func TestThePagesOfNoPropertyKeepTheMenuOfTheOnlyPropertyStaffWorkOn(t *testing.T) {
	t.Parallel()
	e := newUI(t)
	e.seedHotel("P", 1)
	e.login("anna")
	menu := []string{`<a href="/admin/p/P/grid">Inventory</a>`, `<a href="/admin/p/P/bookings">Bookings</a>`,
		`<a href="/admin/p/P/channels">Channels</a>`, `<a href="/admin/p/P/alerts"`}
	for _, path := range []string{"/admin/users", "/admin/account"} {
		p := e.get(path)
		for _, link := range menu {
			require.Contains(t, p.Body, link, "%s", path)
		}
		require.NotContains(t, p.Body, `<a href="/admin/">Properties</a>`, "%s: one property", path)
	}
	// The menu marks Alerts there too while something needs staff.
	require.NotContains(t, e.get("/admin/account").Body, menuAlerting)
	overbook(t, e.st, "P")
	require.Contains(t, e.get("/admin/account").Body, menuAlerting)

	// Of two properties, the page belongs to neither: the Properties link.
	e.seedHotel("Q", 2)
	p := e.get("/admin/users")
	require.Contains(t, p.Body, `<a href="/admin/">Properties</a>`)
	require.NotContains(t, p.Body, `<a href="/admin/p/P/grid">Inventory</a>`)

	// A user of one property among several gets its menu.
	_, err := e.st.CreatePropertyStaffUser(context.Background(), "pia", inventory.RoleViewer, "Q", uiPassword, inventory.System)
	require.NoError(t, err)
	pia := &uiEnv{t: t, st: e.st, ts: e.ts, client: newBrowserClient(t)}
	pia.login("pia")
	p = pia.get("/admin/account")
	require.Contains(t, p.Body, `<a href="/admin/p/Q/grid">Inventory</a>`)
	require.NotContains(t, p.Body, `/admin/p/P/`)
}

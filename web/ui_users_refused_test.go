package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"testing"

	"github.com/keyrack/keyrack/inventory"
	"github.com/stretchr/testify/require"
)

// refusal is the reason a page gives at its top for a form it refused.
func refusal(t *testing.T, p page) string {
	t.Helper()
	m := regexp.MustCompile(`(?s)<p class="error" role="alert" id="refused">(.*?)</p>`).FindStringSubmatch(p.Body)
	require.NotNil(t, m, "no refusal on the page:\n%s", p.Body)
	return m[1]
}

// A user the users page cannot save, or a password the account page
// cannot change, is answered with that page — why at its top, the users
// form holding the name, role and property typed (never a password) —
// rather than a page titled "Bad Request" with the store's words ("a user
// name is 1 to 64 letters, …") and one link, "Back to keyrack", which led
// to the grid: the admin lost the users page and what they had typed.
func TestARefusedUserOrPasswordIsShownOnItsPageWithWhatWasTyped(t *testing.T) {
	t.Parallel()
	e := newUI(t)
	e.seedHotel("P", 2)
	e.seedHotel("Q", 2)
	ctx := context.Background()
	e.login("anna")

	p := e.post("/admin/users", "/admin/users", url.Values{"name": {"zoe smith"}, "role": {"admin"}, "property": {"Q"}, "password": {"zoe's long password"}})
	require.Equal(t, http.StatusBadRequest, p.Status)
	require.Contains(t, p.Body, "<h1>Staff users</h1>")
	require.NotContains(t, p.Body, "Bad Request")
	require.Contains(t, refusal(t, p), "The user zoe smith was not saved: a user name is 1 to 64 letters, digits and . _ @ -.")
	require.Contains(t, refusal(t, p), `href="#reset"`)
	require.Contains(t, p.Body, `<h2 id="reset">Add a user, or reset one</h2>`)
	require.Contains(t, p.Body, `name="name" value="zoe smith"`)
	require.Contains(t, p.Body, `<option value="admin" selected>`)
	require.Contains(t, p.Body, `<option value="Q" selected>`)
	require.NotContains(t, p.Body, "zoe&#39;s long password", "a password is never written back")
	require.NotContains(t, p.Body, "zoe's long password")

	p = e.post("/admin/users", "/admin/users", url.Values{"name": {"anna"}, "role": {"viewer"}, "password": {"a long password"}})
	require.Equal(t, http.StatusBadRequest, p.Status)
	require.Contains(t, refusal(t, p), "You cannot change your own account here")

	p = e.post("/admin/account", "/admin/account/password", url.Values{"current": {"not it at all"}, "password": {"a brand new password"}, "confirm": {"a brand new password"}})
	require.Equal(t, http.StatusBadRequest, p.Status)
	require.Contains(t, p.Body, "<h1>Your account</h1>")
	require.Contains(t, refusal(t, p), "That is not your current password: nothing changed.")
	require.NotContains(t, p.Body, "a brand new password")
	p = e.post("/admin/account", "/admin/account/password", url.Values{"current": {uiPassword}, "password": {"a brand new password"}, "confirm": {"a brand-new password"}})
	require.Equal(t, http.StatusBadRequest, p.Status)
	require.Contains(t, refusal(t, p), "The new password and its confirmation differ: nothing changed.")
	_, _, err := e.st.StaffLogin(ctx, "anna", uiPassword)
	require.NoError(t, err, "unchanged")
	_, _, err = e.st.StaffLogin(ctx, "zoe smith", "zoe's long password")
	require.ErrorIs(t, err, inventory.ErrBadLogin)

	// The pages as they are otherwise say nothing of it.
	require.NotContains(t, e.get("/admin/users").Body, `id="refused"`)
	require.NotContains(t, e.get("/admin/account").Body, `id="refused"`)
}

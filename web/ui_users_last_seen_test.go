package web_test

import (
	"net/url"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"
)

// "Last seen" on the users page (and in keyrack user list) is how an admin
// finds the accounts no one uses any more. It was read from live sessions
// only, so a viewer who logged in and logged out properly — or whose
// session ran out, 12 hours later — showed "—", as if never seen. A
// logged-out user keeps the moment they were last seen.
func TestAUserWhoLoggedOutIsStillLastSeen(t *testing.T) {
	t.Parallel()
	e := newUI(t)
	e.seedHotel("P", 2)
	victor := &uiEnv{t: t, st: e.st, ts: e.ts, client: newBrowserClient(t)}
	victor.login("victor")
	require.Equal(t, 200, victor.get("/admin/p/P/grid").Status)
	victor.post("/admin/p/P/grid", "/admin/logout", url.Values{})
	require.Equal(t, 303, victor.get("/admin/p/P/grid").Status, "logged out")

	e.login("anna")
	row := regexp.MustCompile(`(?s)<tr>\s*<td>victor</td>.*?</tr>`).FindString(e.get("/admin/users").Body)
	require.NotEmpty(t, row)
	require.Regexp(t, `<td>viewer</td>\s*<td>every property</td>\s*<td>\d{4}-\d\d-\d\d \d\d:\d\d UTC</td>`, row, "last seen when logged out")
}

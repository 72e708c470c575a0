package web_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"testing"

	"github.com/keyrack/keyrack/inventory"
	"github.com/stretchr/testify/require"
)

// An admin adds a colleague from the users page, resets their password and
// disables them when they leave — without a shell; a viewer cannot.
func TestAnAdminAddsResetsAndDisablesStaffFromTheUsersPage(t *testing.T) {
	t.Parallel()
	e := newUI(t)
	e.seedHotel("P", 2)
	e.seedHotel("Q", 2)
	ctx := context.Background()
	e.login("anna")

	p := e.get("/admin/p/P/grid")
	require.Contains(t, p.Body, `<a href="/admin/users">Users</a>`)
	p = e.get("/admin/users")
	require.Equal(t, http.StatusOK, p.Status, p.Body)
	require.Contains(t, p.Body, "<h1>Staff users</h1>")
	require.Contains(t, p.Body, `<option value="Q">Hotel Q (Q) only</option>`)
	require.Contains(t, p.Body, "anna <span class=\"muted\">(you)</span>")
	require.NotContains(t, p.Body, "Disable anna", "no one disables themselves")
	require.Contains(t, p.Body, "Disable victor")

	p = e.post("/admin/users", "/admin/users", url.Values{"name": {"rita"}, "role": {"viewer"}, "property": {"P"}, "password": {"rita's first password"}})
	require.Equal(t, http.StatusSeeOther, p.Status, p.Body)
	p = e.get(p.Header.Get("Location"))
	require.Contains(t, p.Body, "rita (viewer, P only) can log in with the password you set")
	u, _, err := e.st.StaffLogin(ctx, "rita", "rita's first password")
	require.NoError(t, err)
	require.Equal(t, "P", u.Property)
	require.Equal(t, inventory.RoleViewer, u.Role)

	// Reset: a new password, a new role; her sessions end.
	_, session, err := e.st.StaffLogin(ctx, "rita", "rita's first password")
	require.NoError(t, err)
	p = e.post("/admin/users", "/admin/users", url.Values{"name": {"rita"}, "role": {"admin"}, "property": {"P"}, "password": {"rita's second password"}})
	require.Equal(t, http.StatusSeeOther, p.Status, p.Body)
	_, _, err = e.st.StaffSession(ctx, session)
	require.Error(t, err, "the reset ended her session")
	u, _, err = e.st.StaffLogin(ctx, "rita", "rita's second password")
	require.NoError(t, err)
	require.Equal(t, inventory.RoleAdmin, u.Role)

	// Her row's Reset fills the form in with her role and property, so a
	// reset does not make her every property's by default.
	p = e.get("/admin/users")
	require.Contains(t, p.Body, `<a href="/admin/users?user=rita#reset">Reset rita</a>`)
	p = e.get("/admin/users?user=rita")
	require.Contains(t, p.Body, `<h2 id="reset">Reset rita</h2>`)
	require.Contains(t, p.Body, `name="name" value="rita"`)
	require.Contains(t, p.Body, `<option value="admin" selected>`)
	require.Contains(t, p.Body, `<option value="P" selected>`)
	require.NotContains(t, e.get("/admin/users?user=anna").Body, `value="anna"`, "not herself")

	// Bad input changes nothing.
	for _, form := range []url.Values{
		{"name": {"zoe"}, "role": {"viewer"}, "password": {"short"}},
		{"name": {"zoe"}, "role": {"boss"}, "password": {"a long password"}},
		{"name": {"zoe smith"}, "role": {"viewer"}, "password": {"a long password"}},
		{"name": {"zoe"}, "role": {"viewer"}, "property": {"NOPE"}, "password": {"a long password"}},
		{"name": {"anna"}, "role": {"viewer"}, "password": {"a long password"}},
	} {
		p := e.post("/admin/users", "/admin/users", form)
		require.Contains(t, []int{http.StatusBadRequest, http.StatusNotFound}, p.Status, "%v: %s", form, p.Body)
		_, _, err := e.st.StaffLogin(ctx, form.Get("name"), "a long password")
		require.ErrorIs(t, err, inventory.ErrBadLogin, "%v", form)
	}
	_, _, err = e.st.StaffLogin(ctx, "anna", uiPassword)
	require.NoError(t, err, "anna did not change herself")

	// She leaves.
	p = e.post("/admin/users", "/admin/users/rita/disable", nil)
	require.Equal(t, http.StatusSeeOther, p.Status, p.Body)
	_, _, err = e.st.StaffLogin(ctx, "rita", "rita's second password")
	require.ErrorIs(t, err, inventory.ErrBadLogin)
	p = e.get("/admin/users")
	require.NotContains(t, p.Body, "Disable rita")
	require.Equal(t, http.StatusBadRequest, e.post("/admin/users", "/admin/users/anna/disable", nil).Status, "not herself")
	require.Equal(t, http.StatusNotFound, e.post("/admin/users", "/admin/users/nobody/disable", nil).Status)

	// A viewer sees no Users link and is refused the page and its forms.
	v := &uiEnv{t: t, st: e.st, ts: e.ts, client: newBrowserClient(t)}
	v.login("victor")
	require.NotContains(t, v.get("/admin/p/P/grid").Body, `href="/admin/users"`)
	require.Equal(t, http.StatusForbidden, v.get("/admin/users").Status)
	p = v.post("/admin/p/P/grid", "/admin/users", url.Values{"name": {"mallory"}, "role": {"admin"}, "password": {"a long password"}})
	require.Equal(t, http.StatusForbidden, p.Status)
	_, _, err = e.st.StaffLogin(ctx, "mallory", "a long password")
	require.ErrorIs(t, err, inventory.ErrBadLogin)
}

// An admin of one property manages that property's users only: they see
// no one else, add users of their property alone (whatever the form
// says), and cannot reset nor disable anyone else — least of all an
// admin of every property, whose account they would take over.
func TestAnAdminOfOnePropertyManagesItsUsersOnly(t *testing.T) {
	t.Parallel()
	e := newUI(t)
	e.seedHotel("P", 2)
	e.seedHotel("Q", 2)
	ctx := context.Background()
	for name, prop := range map[string]string{"pia": "P", "quinn": "Q", "paul": "P"} {
		_, err := e.st.CreatePropertyStaffUser(ctx, name, inventory.RoleAdmin, prop, uiPassword, inventory.System)
		require.NoError(t, err)
	}
	e.login("pia")

	p := e.get("/admin/users")
	require.Equal(t, http.StatusOK, p.Status, p.Body)
	require.Contains(t, p.Body, "Disable paul")
	for _, other := range []string{"anna", "victor", "quinn"} {
		require.NotContains(t, p.Body, ">"+other+"<", other)
	}
	require.NotContains(t, p.Body, `name="property"`, "no choice of property")

	p = e.post("/admin/users", "/admin/users", url.Values{"name": {"pete"}, "role": {"viewer"}, "property": {""}, "password": {"a long password"}})
	require.Equal(t, http.StatusSeeOther, p.Status, p.Body)
	u, _, err := e.st.StaffLogin(ctx, "pete", "a long password")
	require.NoError(t, err)
	require.Equal(t, "P", u.Property, "every property asked, P given")

	for _, victim := range []string{"anna", "quinn"} {
		p = e.post("/admin/users", "/admin/users", url.Values{"name": {victim}, "role": {"admin"}, "password": {"taken over at last"}})
		require.Equal(t, http.StatusConflict, p.Status, "%s: %s", victim, p.Body)
		_, _, err = e.st.StaffLogin(ctx, victim, "taken over at last")
		require.ErrorIs(t, err, inventory.ErrBadLogin, victim)
		_, _, err = e.st.StaffLogin(ctx, victim, uiPassword)
		require.NoError(t, err, "%s is as they were", victim)

		p = e.post("/admin/users", "/admin/users/"+victim+"/disable", nil)
		require.Equal(t, http.StatusNotFound, p.Status, "%s: %s", victim, p.Body)
		_, _, err = e.st.StaffLogin(ctx, victim, uiPassword)
		require.NoError(t, err, "%s is not disabled", victim)
	}
	p = e.post("/admin/users", "/admin/users/paul/disable", nil)
	require.Equal(t, http.StatusSeeOther, p.Status, p.Body)
	_, _, err = e.st.StaffLogin(ctx, "paul", uiPassword)
	require.ErrorIs(t, err, inventory.ErrBadLogin)
}

// Anyone changes their own password on the account page, knowing the
// current one (guesses count as failed logins do); their other sessions
// end — the admin who set the password, or whoever learnt it, is out —
// and this browser stays in.
func TestStaffChangeTheirOwnPasswordAndTheOtherSessionsEnd(t *testing.T) {
	t.Parallel()
	e := newUI(t)
	e.seedHotel("P", 2)
	ctx := context.Background()
	e.login("victor") // a viewer: it is their own account, not the hotel's
	other := &uiEnv{t: t, st: e.st, ts: e.ts, client: newBrowserClient(t)}
	other.login("victor")

	p := e.get("/admin/p/P/grid")
	require.Contains(t, p.Body, `<a class="who" href="/admin/account"`)
	p = e.get("/admin/account")
	require.Equal(t, http.StatusOK, p.Status, p.Body)
	require.Contains(t, p.Body, "Change your password")

	change := func(current, next, confirm string) page {
		return e.post("/admin/account", "/admin/account/password", url.Values{"current": {current}, "password": {next}, "confirm": {confirm}})
	}
	for _, c := range []struct {
		current, next, confirm string
		status                 int
	}{
		{"not my password", "a brand new password", "a brand new password", http.StatusBadRequest},
		{uiPassword, "a brand new password", "a brand new passwort", http.StatusBadRequest},
		{uiPassword, "short", "short", http.StatusBadRequest},
	} {
		p := change(c.current, c.next, c.confirm)
		require.Equal(t, c.status, p.Status, "%+v: %s", c, p.Body)
		require.Contains(t, p.Body, "nothing changed")
		_, _, err := e.st.StaffLogin(ctx, "victor", uiPassword)
		require.NoError(t, err, "%+v: the password is as it was", c)
		require.Equal(t, http.StatusOK, other.get("/admin/p/P/grid").Status, "%+v: the other session goes on", c)
	}

	p = change(uiPassword, "a brand new password", "a brand new password")
	require.Equal(t, http.StatusSeeOther, p.Status, p.Body)
	require.Contains(t, e.get(p.Header.Get("Location")).Body, "Your password is changed.")
	require.Equal(t, http.StatusOK, e.get("/admin/p/P/grid").Status, "this browser stays logged in")
	require.Equal(t, http.StatusSeeOther, other.get("/admin/p/P/grid").Status, "the other session has ended")
	_, _, err := e.st.StaffLogin(ctx, "victor", uiPassword)
	require.ErrorIs(t, err, inventory.ErrBadLogin)
	_, _, err = e.st.StaffLogin(ctx, "victor", "a brand new password")
	require.NoError(t, err)

	// Guessing the current password from a session is limited as logins are.
	for range inventory.LoginFailuresPerName {
		change("guess", "x-a brand new password", "x-a brand new password")
	}
	p = change("a brand new password", "yet another new password", "yet another new password")
	require.Equal(t, http.StatusTooManyRequests, p.Status, p.Body)
	_, _, err = e.st.StaffLogin(ctx, "victor", "a brand new password")
	require.NoError(t, err, "unchanged")
}

// disableButton finds the users page's Disable button of a user: the
// action of its form.
var disableButton = regexp.MustCompile(`<form method="post" action="([^"]*)" class="inline"><input[^>]*><button type="submit" class="danger">Disable ([^<]*)</button>`)

// A name the users page accepts is one it can disable: its Disable
// button posts where a browser sends it — "." and ".." in an address are
// steps up the path, which browsers take before sending (and so does
// url.ResolveReference), so the button of a user named ".." would post to
// /admin/disable, and that user could be reset but never disabled from the
// page.
func TestEveryUserTheUsersPageAddsItCanDisable(t *testing.T) {
	t.Parallel()
	e := newUI(t)
	ctx := context.Background()
	e.login("anna")
	base, err := url.Parse(e.ts.URL + "/admin/users")
	require.NoError(t, err)
	for _, name := range []string{".", "..", "...", ".a", "a..", "x@y.z", "_-"} {
		p := e.post("/admin/users", "/admin/users", url.Values{"name": {name}, "role": {"viewer"}, "password": {"a long password"}})
		if p.Status != http.StatusSeeOther {
			require.Contains(t, []string{".", ".."}, name, "only a name the address cannot hold is refused: %s", p.Body)
			require.Equal(t, http.StatusBadRequest, p.Status, "%q: %s", name, p.Body)
			_, _, err := e.st.StaffLogin(ctx, name, "a long password")
			require.ErrorIs(t, err, inventory.ErrBadLogin, "%q was refused", name)
			continue
		}
		action := ""
		for _, m := range disableButton.FindAllStringSubmatch(e.get("/admin/users").Body, -1) {
			if html.UnescapeString(m[2]) == name {
				action = html.UnescapeString(m[1])
			}
		}
		require.NotEmpty(t, action, "%q has a Disable button", name)
		ref, err := url.Parse(action)
		require.NoError(t, err)
		to := base.ResolveReference(ref) // as the browser does
		p = e.post("/admin/users", to.EscapedPath(), nil)
		require.Equal(t, http.StatusSeeOther, p.Status, "%q: the button posts to %s: %s", name, to.EscapedPath(), p.Body)
		_, _, err = e.st.StaffLogin(ctx, name, "a long password")
		require.ErrorIs(t, err, inventory.ErrBadLogin, "%q is disabled", name)
	}
}

// Every change of a staff user is on the users page, with who made it:
// added, reset, disabled, a password changed by its owner — from the
// page or the command line; an admin of one property sees their
// property's users' changes only.
func TestTheUsersPageListsWhoChangedWhichUser(t *testing.T) {
	t.Parallel()
	e := newUI(t)
	e.seedHotel("P", 2)
	e.seedHotel("Q", 2)
	ctx := context.Background()
	_, err := e.st.CreatePropertyStaffUser(ctx, "quinn", inventory.RoleViewer, "Q", uiPassword, inventory.Actor{Kind: "cli", Name: "keyrack user"})
	require.NoError(t, err)
	e.login("anna")
	require.Equal(t, http.StatusSeeOther, e.post("/admin/users", "/admin/users", url.Values{"name": {"pia"}, "role": {"admin"}, "property": {"P"}, "password": {uiPassword}}).Status)
	require.Equal(t, http.StatusSeeOther, e.post("/admin/users", "/admin/users", url.Values{"name": {"rita"}, "role": {"viewer"}, "property": {"P"}, "password": {"rita's first password"}}).Status)
	require.Equal(t, http.StatusSeeOther, e.post("/admin/users", "/admin/users", url.Values{"name": {"rita"}, "role": {"viewer"}, "property": {"P"}, "password": {uiPassword}}).Status)
	require.Equal(t, http.StatusSeeOther, e.post("/admin/users", "/admin/users/quinn/disable", nil).Status)
	require.Equal(t, http.StatusSeeOther, e.post("/admin/users", "/admin/users/quinn/disable", nil).Status, "again: no change")

	rita := &uiEnv{t: t, st: e.st, ts: e.ts, client: newBrowserClient(t)}
	rita.login("rita")
	require.Equal(t, http.StatusSeeOther, rita.post("/admin/account", "/admin/account/password",
		url.Values{"current": {uiPassword}, "password": {"rita's own password"}, "confirm": {"rita's own password"}}).Status)

	changes := func(b *uiEnv) []string {
		t.Helper()
		p := b.get("/admin/users")
		require.Equal(t, http.StatusOK, p.Status, p.Body)
		var rows []string
		for _, m := range changeRow.FindAllStringSubmatch(p.Body, -1) {
			rows = append(rows, m[1]+" | "+m[2]+" | "+m[3])
		}
		return rows
	}
	all := changes(e)
	require.Len(t, all, 8, "%q", all)
	require.Equal(t, []string{
		"staff:rita | changed their password | rita",
		"staff:anna | disabled | quinn",
		"staff:anna | reset (viewer, P only) | rita",
		"staff:anna | added (viewer, P only) | rita",
		"staff:anna | added (admin, P only) | pia",
		"cli:keyrack user | added (viewer, Q only) | quinn",
	}, all[:6])
	require.ElementsMatch(t, []string{"system | added (admin, every property) | anna", "system | added (viewer, every property) | victor"},
		all[6:], "the test's own set-up")

	pia := &uiEnv{t: t, st: e.st, ts: e.ts, client: newBrowserClient(t)}
	pia.login("pia")
	require.Equal(t, []string{
		"staff:rita | changed their password | rita",
		"staff:anna | reset (viewer, P only) | rita",
		"staff:anna | added (viewer, P only) | rita",
		"staff:anna | added (admin, P only) | pia",
	}, changes(pia), "P's users only")
}

var changeRow = regexp.MustCompile(`<tr><td>[^<]*</td><td>([^<]*)</td><td>([^<]*)</td><td>([^<]*)</td></tr>`)

// An admin of one property who picks a name some user elsewhere already
// has is told only that the name cannot be used: not that it is taken,
// nor by a user of which property (or of every one) — people they cannot
// see. A name taken at another property and one taken by an admin of
// every property get the same answer.
func TestAnAdminOfOnePropertyIsNotToldWhereANameIsTaken(t *testing.T) {
	t.Parallel()
	e := newUI(t)
	e.seedHotel("P", 2)
	e.seedHotel("Q", 2)
	ctx := context.Background()
	for name, prop := range map[string]string{"pia": "P", "quinn": "Q"} {
		_, err := e.st.CreatePropertyStaffUser(ctx, name, inventory.RoleAdmin, prop, uiPassword, inventory.System)
		require.NoError(t, err)
	}
	e.login("pia")

	var answers []string
	for _, taken := range []string{"quinn", "anna"} { // Q's admin; every property's
		p := e.post("/admin/users", "/admin/users", url.Values{"name": {taken}, "role": {"viewer"}, "password": {"a long password"}})
		require.Equal(t, http.StatusConflict, p.Status, "%s: %s", taken, p.Body)
		// The users page answers, its refusal at the top; nothing on it
		// speaks of another property or of every property.
		msg := refusal(t, p)
		require.Contains(t, msg, "cannot be used", taken)
		require.Contains(t, msg, "choose another", taken)
		for _, said := range []string{"taken", "does not work", "every property", "Q", "exists"} {
			require.NotContains(t, msg, said, "%s: %s", taken, msg)
		}
		main := regexp.MustCompile(`(?s)<main.*</main>`).FindString(p.Body)
		for _, said := range []string{"taken", "does not work", "every property", "Hotel Q", ">Q<", "Q only"} {
			require.NotContains(t, main, said, "%s: %s", taken, main)
		}
		answers = append(answers, html.UnescapeString(regexp.MustCompile(`\b`+taken+`\b`).ReplaceAllString(msg, "NAME")))
	}
	require.Equal(t, answers[0], answers[1], "the same answer wherever the name is taken")
}

// Someone guessing a user's password on the login form holds back that
// user's logins for a while, but not the user, logged in, changing their
// password on the account page — the way to shut the guesser out. Wrong
// current passwords on the account page (a session someone else has,
// guessing) are limited on their own, and do not hold back logins.
func TestGuessesAtTheLoginFormDoNotStopTheOwnerChangingTheirPassword(t *testing.T) {
	t.Parallel()
	e := newUI(t)
	e.seedHotel("P", 2)
	ctx := context.Background()
	e.login("victor")
	guesser := &uiEnv{t: t, st: e.st, ts: e.ts, client: newBrowserClient(t)}
	for range inventory.LoginFailuresPerName {
		p := guesser.post("/admin/login", "/admin/login", url.Values{"username": {"victor"}, "password": {"a guess at it"}})
		require.Equal(t, http.StatusUnauthorized, p.Status, p.Body)
	}
	p := guesser.post("/admin/login", "/admin/login", url.Values{"username": {"victor"}, "password": {uiPassword}})
	require.Equal(t, http.StatusTooManyRequests, p.Status, "logins as victor are held back: %s", p.Body)

	change := func(b *uiEnv, current, next string) page {
		return b.post("/admin/account", "/admin/account/password", url.Values{"current": {current}, "password": {next}, "confirm": {next}})
	}
	p = change(e, uiPassword, "victor's own new password")
	require.Equal(t, http.StatusSeeOther, p.Status, "victor changes his password all the same: %s", p.Body)
	_, _, err := e.st.StaffLogin(ctx, "victor", "victor's own new password")
	require.NoError(t, err)

	// A session that is not its owner's guesses at the account page:
	// limited there, whatever the login form's count.
	thief := &uiEnv{t: t, st: e.st, ts: e.ts, client: newBrowserClient(t)}
	thief.login("anna")
	for range inventory.LoginFailuresPerName {
		p = change(thief, "a guess at it", "the thief's password")
		require.Equal(t, http.StatusBadRequest, p.Status, p.Body)
	}
	p = change(thief, uiPassword, "the thief's password")
	require.Equal(t, http.StatusTooManyRequests, p.Status, p.Body)
	require.Contains(t, p.Body, "Too many wrong passwords for your account")
	require.NotEmpty(t, p.Header.Get("Retry-After"))
	_, _, err = e.st.StaffLogin(ctx, "anna", uiPassword)
	require.NoError(t, err, "unchanged")
	// anna herself still logs in.
	owner := &uiEnv{t: t, st: e.st, ts: e.ts, client: newBrowserClient(t)}
	owner.login("anna")
}

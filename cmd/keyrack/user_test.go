package main

import (
	"context"
	"strings"
	"testing"

	"github.com/keyrack/keyrack/inventory"
	"github.com/stretchr/testify/require"
)

// keyrack user add takes the password from stdin or KEYRACK_PASSWORD, and
// the user can then log in; adding the user again resets the password.
func TestUserAddSetsAPasswordStaffCanLogInWith(t *testing.T) {
	url := schemaURL(t)
	code, _, stderr := keyrack(t, nil, "migrate", "-database-url", url)
	require.Equal(t, 0, code, stderr)
	env := map[string]string{"DATABASE_URL": url}

	stdin = strings.NewReader("a long password from stdin\n")
	t.Cleanup(func() { stdin = strings.NewReader("") })
	code, stdout, stderr := keyrack(t, env, "user", "add", "anna", "--role", "admin")
	require.Equal(t, 0, code, stderr)
	require.Equal(t, "staff user anna (admin, every property) can log in at /admin/login\n", stdout)

	env["KEYRACK_PASSWORD"] = "another long password"
	code, _, stderr = keyrack(t, env, "user", "add", "--role", "viewer", "victor")
	require.Equal(t, 0, code, stderr)

	ctx := context.Background()
	st, err := inventory.Open(ctx, url)
	require.NoError(t, err)
	defer st.Close()
	u, _, err := st.StaffLogin(ctx, "anna", "a long password from stdin")
	require.NoError(t, err)
	require.Equal(t, inventory.RoleAdmin, u.Role)
	u, _, err = st.StaffLogin(ctx, "victor", "another long password")
	require.NoError(t, err)
	require.Equal(t, inventory.RoleViewer, u.Role)
	_, _, err = st.StaffLogin(ctx, "victor", "wrong password!")
	require.ErrorIs(t, err, inventory.ErrBadLogin)

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"user", "add", "zoe"}, "--role"},
		{[]string{"user", "add", "zoe", "--role", "boss"}, "--role"},
		{[]string{"user", "add", "--role", "admin"}, "name"},
		{[]string{"user"}, "subcommand"},
	} {
		code, _, stderr := keyrack(t, env, c.args...)
		require.Equal(t, 2, code, "%v: %s", c.args, stderr)
		require.Contains(t, stderr, c.want, "%v", c.args)
	}
	env["KEYRACK_PASSWORD"] = "short"
	code, _, stderr = keyrack(t, env, "user", "add", "zoe", "--role", "admin")
	require.NotEqual(t, 0, code)
	require.Contains(t, stderr, "at least 10 characters")
}

// keyrack user disable logs someone who has left out at once and keeps
// them out; user list shows who may log in; adding them again enables them.
func TestUserDisableEndsTheSessionsAndListShowsIt(t *testing.T) {
	url := schemaURL(t)
	code, _, stderr := keyrack(t, nil, "migrate", "-database-url", url)
	require.Equal(t, 0, code, stderr)
	env := map[string]string{"DATABASE_URL": url, "KEYRACK_PASSWORD": "a long password"}
	for _, name := range []string{"anna", "bert"} {
		code, _, stderr = keyrack(t, env, "user", "add", name, "--role", "admin")
		require.Equal(t, 0, code, stderr)
	}
	ctx := context.Background()
	st, err := inventory.Open(ctx, url)
	require.NoError(t, err)
	defer st.Close()
	_, annaSession, err := st.StaffLogin(ctx, "anna", "a long password")
	require.NoError(t, err)
	_, bertSession, err := st.StaffLogin(ctx, "bert", "a long password")
	require.NoError(t, err)

	code, disabled, stderr := keyrack(t, env, "user", "disable", "anna")
	require.Equal(t, 0, code, stderr)
	require.Contains(t, disabled, "staff user anna (admin) is disabled since ")
	_, _, err = st.StaffSession(ctx, annaSession)
	require.Equal(t, inventory.EUNAUTHORIZED, inventory.ErrorCode(err), "anna's open session ends at once")
	_, _, err = st.StaffLogin(ctx, "anna", "a long password")
	require.ErrorIs(t, err, inventory.ErrBadLogin, "and she cannot log in again")
	_, _, err = st.StaffSession(ctx, bertSession)
	require.NoError(t, err, "bert is not touched")

	code, stdout, stderr := keyrack(t, env, "user", "list")
	require.Equal(t, 0, code, stderr)
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	require.Len(t, lines, 3, stdout)
	require.Regexp(t, `^NAME\s+ROLE\s+PROPERTY\s+CREATED\s+LAST SEEN\s+DISABLED$`, lines[0])
	require.Regexp(t, `^anna\s+admin\s+\*\s+\d{4}-\d\d-\d\d \d\d:\d\d\s+\d{4}-\d\d-\d\d \d\d:\d\d\s+\d{4}-\d\d-\d\d \d\d:\d\d$`, lines[1],
		"disabled, her sessions ended: still last seen when she last used one (migration 042)")
	require.Regexp(t, `^bert\s+admin\s+\*\s+\d{4}-\d\d-\d\d \d\d:\d\d\s+\d{4}-\d\d-\d\d \d\d:\d\d\s+-$`, lines[2], "seen, not disabled")

	// Disabling again changes nothing; a name that is nobody's says so.
	code, again, stderr := keyrack(t, env, "user", "disable", "anna")
	require.Equal(t, 0, code, stderr)
	require.Equal(t, disabled, again, "still disabled since the first time")
	code, _, stderr = keyrack(t, env, "user", "disable", "nobody")
	require.NotEqual(t, 0, code)
	require.Contains(t, stderr, `no staff user "nobody"`)

	// Added again with a new password, anna is back.
	env["KEYRACK_PASSWORD"] = "her new long password"
	code, _, stderr = keyrack(t, env, "user", "add", "anna", "--role", "viewer")
	require.Equal(t, 0, code, stderr)
	u, _, err := st.StaffLogin(ctx, "anna", "her new long password")
	require.NoError(t, err)
	require.Equal(t, inventory.RoleViewer, u.Role)

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"user", "disable"}, "name"},
		{[]string{"user", "disable", "anna", "bert"}, "one name"},
		{[]string{"user", "disable", "anna", "--role", "admin"}, "--role"},
		{[]string{"user", "list", "--property", "DEMO"}, "--property"},
		{[]string{"user", "list", "anna"}, "no arguments"},
		{[]string{"user", "remove", "anna"}, "add, disable or list"},
	} {
		code, _, stderr := keyrack(t, env, c.args...)
		require.Equal(t, 2, code, "%v: %s", c.args, stderr)
		require.Contains(t, stderr, c.want, "%v", c.args)
	}
}

// keyrack user add --property makes a user of one property; adding them
// again without it makes them every property's, as the output says.
func TestUserAddWithAPropertyLimitsTheUserToIt(t *testing.T) {
	url := schemaURL(t)
	code, _, stderr := keyrack(t, nil, "migrate", "-database-url", url)
	require.Equal(t, 0, code, stderr)
	env := map[string]string{"DATABASE_URL": url, "KEYRACK_PASSWORD": "a long password"}
	code, _, stderr = keyrack(t, env, "seed", "demo")
	require.Equal(t, 0, code, stderr)

	code, stdout, stderr := keyrack(t, env, "user", "add", "carla", "--role", "viewer", "--property", "DEMO")
	require.Equal(t, 0, code, stderr)
	require.Equal(t, "staff user carla (viewer, property DEMO only) can log in at /admin/login\n", stdout)
	ctx := context.Background()
	st, err := inventory.Open(ctx, url)
	require.NoError(t, err)
	defer st.Close()
	u, session, err := st.StaffLogin(ctx, "carla", "a long password")
	require.NoError(t, err)
	require.Equal(t, "DEMO", u.Property)
	u, _, err = st.StaffSession(ctx, session)
	require.NoError(t, err)
	require.Equal(t, "DEMO", u.Property)
	require.True(t, u.Sees("DEMO"))
	require.False(t, u.Sees("OTHER"))

	code, stdout, stderr = keyrack(t, env, "user", "list")
	require.Equal(t, 0, code, stderr)
	require.Regexp(t, `(?m)^carla\s+viewer\s+DEMO\s+`, stdout)

	code, _, stderr = keyrack(t, env, "user", "add", "carla", "--role", "viewer", "--property", "NOPE")
	require.NotEqual(t, 0, code)
	require.Contains(t, stderr, "NOPE")
	_, _, err = st.StaffLogin(ctx, "carla", "a long password")
	require.NoError(t, err, "a refused add changes nothing")

	code, stdout, stderr = keyrack(t, env, "user", "add", "carla", "--role", "viewer")
	require.Equal(t, 0, code, stderr)
	require.Equal(t, "staff user carla (viewer, every property) can log in at /admin/login\n", stdout)
	u, _, err = st.StaffLogin(ctx, "carla", "a long password")
	require.NoError(t, err)
	require.Empty(t, u.Property)
}

// A property code PostgreSQL could not hold (bytes that are not UTF-8) is
// no property: said so, not a database error.
func TestUserAddWithAnUnstorablePropertySaysNoSuchProperty(t *testing.T) {
	url := schemaURL(t)
	code, _, stderr := keyrack(t, nil, "migrate", "-database-url", url)
	require.Equal(t, 0, code, stderr)
	env := map[string]string{"DATABASE_URL": url, "KEYRACK_PASSWORD": "a long password"}
	code, _, stderr = keyrack(t, env, "user", "add", "carla", "--role", "viewer", "--property", "DE\xffMO")
	require.Equal(t, 1, code, stderr)
	require.NotContains(t, stderr, "SQLSTATE")
	require.Contains(t, stderr, "property")
}

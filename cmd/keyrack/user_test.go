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
	require.Equal(t, "staff user anna (admin) can log in at /admin/login\n", stdout)

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

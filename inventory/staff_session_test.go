package inventory_test

import (
	"context"
	"testing"

	"github.com/keyrack/keyrack/inventory"
	"github.com/keyrack/keyrack/inventory/inventorytest"
	"github.com/stretchr/testify/require"
)

// A session token stops opening the admin once the session has expired,
// once it has been logged out (a copy of the cookie kept elsewhere
// included), and once its user is disabled.
func TestASessionEndsWhenItExpiresIsLoggedOutOrItsUserIsDisabled(t *testing.T) {
	t.Parallel()
	st := inventorytest.New(t)
	ctx := context.Background()
	const pw = "anna's long password"
	_, err := st.CreateStaffUser(ctx, "anna", inventory.RoleAdmin, pw, inventory.System)
	require.NoError(t, err)
	login := func() string {
		t.Helper()
		_, token, err := st.StaffLogin(ctx, "anna", pw)
		require.NoError(t, err)
		_, _, err = st.StaffSession(ctx, token)
		require.NoError(t, err)
		return token
	}
	refused := func(token, why string) {
		t.Helper()
		_, _, err := st.StaffSession(ctx, token)
		require.Equal(t, inventory.EUNAUTHORIZED, inventory.ErrorCode(err), why)
	}

	expired := login()
	_, err = st.DB().Exec(ctx, `UPDATE staff_sessions SET expires_at = now() - interval '1 second'`)
	require.NoError(t, err)
	refused(expired, "an expired session")

	loggedOut := login()
	require.NoError(t, st.StaffLogout(ctx, loggedOut))
	refused(loggedOut, "a logged-out session")

	disabled := login()
	_, err = st.DB().Exec(ctx, `UPDATE staff_users SET disabled_at = now() WHERE name = 'anna'`)
	require.NoError(t, err)
	refused(disabled, "the session of a disabled user")
}

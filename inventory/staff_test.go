package inventory_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/keyrack/keyrack/inventory"
	"github.com/keyrack/keyrack/inventory/inventorytest"
	"github.com/stretchr/testify/require"
)

// Failed logins are counted per user name and per client address: past the
// limits, attempts are refused — the right password too — without the
// password being checked, until the window has passed; another name, or
// another client, is not held back by the first one's failures.
func TestFailedStaffLoginsAreThrottled(t *testing.T) {
	t.Parallel()
	st := inventorytest.New(t)
	ctx := context.Background()
	db := st.DB()
	const annaPW, victorPW = "anna's long password", "victor's long password"
	for name, pw := range map[string]string{"anna": annaPW, "victor": victorPW} {
		_, err := st.CreateStaffUser(ctx, name, inventory.RoleAdmin, pw, inventory.System)
		require.NoError(t, err)
	}
	fail := func(name, remote string, n int) {
		// Earlier failures, as the failed attempts leave them (checking a
		// password takes bcrypt's time).
		_, err := db.Exec(ctx, `INSERT INTO staff_login_failures (name, remote) SELECT $1, $2 FROM generate_series(1, $3)`, name, remote, n)
		require.NoError(t, err)
	}
	login := func(name, pw, remote string) error {
		_, token, err := st.StaffLoginFrom(ctx, name, pw, remote)
		if err == nil {
			require.NotEmpty(t, token)
		}
		return err
	}
	throttled := func(err error) *inventory.LoginThrottled {
		t.Helper()
		var th *inventory.LoginThrottled
		require.True(t, errors.As(err, &th), "want the login throttled, got %v", err)
		require.Greater(t, th.RetryAfter, inventory.LoginWindow-time.Minute)
		require.LessOrEqual(t, th.RetryAfter, inventory.LoginWindow)
		return th
	}

	// One failure short of the name's limit, from many places: the next
	// wrong password is the last one checked.
	fail("anna", "198.51.100.1", inventory.LoginFailuresPerName-2)
	require.ErrorIs(t, login("anna", "a wrong password", "198.51.100.2"), inventory.ErrBadLogin)
	require.NoError(t, login("anna", annaPW, "198.51.100.3"), "a good login clears the name's failures")
	fail("anna", "198.51.100.1", inventory.LoginFailuresPerName-1)
	require.ErrorIs(t, login("anna", "a wrong password", "198.51.100.2"), inventory.ErrBadLogin)
	th := throttled(login("anna", annaPW, "203.0.113.9"))
	require.True(t, th.ByName)
	require.Contains(t, th.Error(), "too many failed logins")
	require.NoError(t, login("victor", victorPW, "198.51.100.2"), "another user from the same client")

	// The window passes: the name may log in again.
	_, err := db.Exec(ctx, `UPDATE staff_login_failures SET failed_at = failed_at - $1::interval`, inventory.LoginWindow)
	require.NoError(t, err)
	require.NoError(t, login("anna", annaPW, "203.0.113.9"))

	// One client trying many names: past its limit, every name is refused
	// to it, and only to it. A name too long for anybody is counted too.
	var names []string
	for i := range inventory.LoginFailuresPerClient - 1 {
		names = append(names, strings.Repeat("x", i+1))
	}
	_, err = db.Exec(ctx, `INSERT INTO staff_login_failures (name, remote) SELECT unnest($1::text[]), '192.0.2.66'`, names)
	require.NoError(t, err)
	require.ErrorIs(t, login(strings.Repeat("é", 10_000), "whatever it is", "192.0.2.66"), inventory.ErrBadLogin)
	th = throttled(login("victor", victorPW, "192.0.2.66"))
	require.False(t, th.ByName)
	require.NoError(t, login("victor", victorPW, "192.0.2.67"))

	// Failures older than the window are deleted as new ones come.
	var old int
	require.NoError(t, db.QueryRow(ctx, `SELECT count(*) FROM staff_login_failures WHERE failed_at <= now() - $1::interval`,
		inventory.LoginWindow).Scan(&old))
	require.Zero(t, old)
}

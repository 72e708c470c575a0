package inventory_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
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

// A guesser does not wait for one wrong password to fail before sending the
// next: of sixty sent at once for one user name, no more than
// LoginFailuresPerName have their password checked, as if sent in turn.
func TestWrongPasswordsSentAtOnceAreThrottledLikeOnesSentInTurn(t *testing.T) {
	t.Parallel()
	st := inventorytest.New(t)
	ctx := context.Background()
	_, err := st.CreateStaffUser(ctx, "anna", inventory.RoleAdmin, "anna's long password", inventory.System)
	require.NoError(t, err)

	const guesses = 60
	var wg sync.WaitGroup
	var checked, refused atomic.Int64
	start := make(chan struct{})
	for i := range guesses {
		wg.Go(func() {
			<-start
			_, _, err := st.StaffLoginFrom(ctx, "anna", fmt.Sprintf("guess number %d", i), "203.0.113.9")
			if errors.Is(err, inventory.ErrBadLogin) {
				checked.Add(1)
			} else if _, ok := errors.AsType[*inventory.LoginThrottled](err); ok {
				refused.Add(1)
			} else {
				t.Errorf("guess %d: %v", i, err)
			}
		})
	}
	close(start)
	wg.Wait()
	require.Equal(t, int64(inventory.LoginFailuresPerName), checked.Load(),
		"wrong passwords checked of %d sent at once; the limit is %d per window", guesses, inventory.LoginFailuresPerName)
	require.Equal(t, int64(guesses-inventory.LoginFailuresPerName), refused.Load())
	var counted int
	require.NoError(t, st.DB().QueryRow(ctx, `SELECT count(*) FROM staff_login_failures`).Scan(&counted))
	require.Equal(t, inventory.LoginFailuresPerName, counted, "each checked guess counted once, the refused ones not")
}

// A throttled login names its user only when the name tried is a staff
// user's: what is typed as a name is sometimes a password.
func TestAThrottledLoginNamesOnlyARealUser(t *testing.T) {
	t.Parallel()
	st := inventorytest.New(t)
	ctx := context.Background()
	_, err := st.CreateStaffUser(ctx, "anna", inventory.RoleAdmin, "anna's long password", inventory.System)
	require.NoError(t, err)
	for _, name := range []string{"anna", "anna's long password"} {
		_, err := st.DB().Exec(ctx, `INSERT INTO staff_login_failures (name, remote) SELECT $1, '198.51.100.1' FROM generate_series(1, $2)`,
			name, inventory.LoginFailuresPerName)
		require.NoError(t, err)
	}
	_, _, err = st.StaffLoginFrom(ctx, "anna", "a guess", "203.0.113.9")
	th, ok := errors.AsType[*inventory.LoginThrottled](err)
	require.True(t, ok, "%v", err)
	require.Equal(t, "anna", th.User)
	_, _, err = st.StaffLoginFrom(ctx, "anna's long password", "anna", "203.0.113.9")
	th, ok = errors.AsType[*inventory.LoginThrottled](err)
	require.True(t, ok, "%v", err)
	require.Empty(t, th.User)
}

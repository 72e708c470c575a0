package inventory_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/keyrack/keyrack/inventory"
	"github.com/keyrack/keyrack/inventory/inventorytest"
	"github.com/stretchr/testify/require"
)

// holdSessions opens a transaction that locks name's sessions, so that a
// change which ends them (a new password, a reset) waits there halfway,
// its user row already changed; it returns the transaction's backend.
func holdSessions(t *testing.T, db *pgxpool.Pool, name string) (pgx.Tx, int32) {
	t.Helper()
	ctx := context.Background()
	tx, err := db.Begin(ctx)
	require.NoError(t, err)
	t.Cleanup(func() { _ = tx.Rollback(ctx) })
	var pid int32
	require.NoError(t, tx.QueryRow(ctx, `SELECT pg_backend_pid()`).Scan(&pid))
	_, err = tx.Exec(ctx, `SELECT 1 FROM staff_sessions s JOIN staff_users u ON u.id = s.user_id WHERE u.name = $1 FOR UPDATE OF s`, name)
	require.NoError(t, err)
	return tx, pid
}

// waitBlockedBy waits until a backend waits for a lock that backend pid
// holds, and returns it; or until done is closed (what was started ended
// without waiting), and returns 0.
func waitBlockedBy(t *testing.T, db *pgxpool.Pool, pid int32, done <-chan struct{}) int32 {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-done:
			return 0
		default:
		}
		var blocked int32
		err := db.QueryRow(context.Background(), `SELECT pid FROM pg_stat_activity WHERE $1 = ANY (pg_blocking_pids(pid)) LIMIT 1`, pid).Scan(&blocked)
		if err == nil {
			return blocked
		}
		require.ErrorIs(t, err, pgx.ErrNoRows)
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("nothing waited for backend %d", pid)
	return 0
}

type loginResult struct {
	token string
	err   error
}

// A login that checked the old password while the password was being
// changed gets no session that outlives the change: "anyone who had the
// password is logged out" holds for one logging in at that moment too —
// else whoever knows the password logs in again and again, and one of
// their logins is always under way when the owner changes it.
func TestALoginUnderWayWhenThePasswordChangesKeepsNoSession(t *testing.T) {
	t.Parallel()
	st := inventorytest.New(t)
	ctx := context.Background()
	const old, changed = "the old long password", "the new long password"
	_, err := st.CreateStaffUser(ctx, "anna", inventory.RoleAdmin, old, inventory.System)
	require.NoError(t, err)
	_, _, err = st.StaffLogin(ctx, "anna", old) // a session for holdSessions to hold
	require.NoError(t, err)

	hold, holder := holdSessions(t, st.DB(), "anna")
	changeDone := make(chan error, 1)
	go func() { changeDone <- st.SetStaffPassword(ctx, "anna", changed, "") }()
	change := waitBlockedBy(t, st.DB(), holder, nil) // the password is changed, not yet committed

	loginDone, loginEnded := make(chan loginResult, 1), make(chan struct{})
	go func() {
		_, token, err := st.StaffLogin(ctx, "anna", old)
		loginDone <- loginResult{token, err}
		close(loginEnded)
	}()
	waitBlockedBy(t, st.DB(), change, loginEnded) // the login waits for the change, or is over
	require.NoError(t, hold.Commit(ctx))

	require.NoError(t, <-changeDone)
	login := <-loginDone
	if login.err == nil {
		_, _, err := st.StaffSession(ctx, login.token)
		require.Equal(t, inventory.EUNAUTHORIZED, inventory.ErrorCode(err), "the old password's session outlives its change")
	} else {
		require.True(t, errors.Is(login.err, inventory.ErrBadLogin), "%v", login.err)
	}
	_, _, err = st.StaffLogin(ctx, "anna", changed)
	require.NoError(t, err)
}

// A password change from the account page that an admin's reset overtook
// changes nothing: the reset ended the session the change was made from
// (the one it keeps), and the password stays the one the admin set —
// else whoever had the account, and was changing its password when an
// admin took it back, would have it again.
func TestAPasswordChangeOvertakenByAResetChangesNothing(t *testing.T) {
	t.Parallel()
	st := inventorytest.New(t)
	ctx := context.Background()
	const old, reset, mine = "the old long password", "the admin's new password", "the intruder's password"
	_, err := st.CreateStaffUser(ctx, "anna", inventory.RoleAdmin, old, inventory.System)
	require.NoError(t, err)
	_, keep, err := st.StaffLogin(ctx, "anna", old) // the account page's check of the current password
	require.NoError(t, err)

	hold, holder := holdSessions(t, st.DB(), "anna")
	resetDone := make(chan error, 1)
	go func() {
		_, err := st.CreateStaffUser(ctx, "anna", inventory.RoleAdmin, reset, inventory.System)
		resetDone <- err
	}()
	resetting := waitBlockedBy(t, st.DB(), holder, nil) // anna is reset, her sessions not yet ended

	changeDone, changeEnded := make(chan error, 1), make(chan struct{})
	go func() {
		changeDone <- st.SetStaffPassword(ctx, "anna", mine, keep)
		close(changeEnded)
	}()
	waitBlockedBy(t, st.DB(), resetting, changeEnded)
	require.NoError(t, hold.Commit(ctx))

	require.NoError(t, <-resetDone)
	require.Equal(t, inventory.EUNAUTHORIZED, inventory.ErrorCode(<-changeDone), "the change's session has ended")
	_, _, err = st.StaffLogin(ctx, "anna", mine)
	require.ErrorIs(t, err, inventory.ErrBadLogin, "the reset was undone")
	_, _, err = st.StaffLogin(ctx, "anna", reset)
	require.NoError(t, err)
}

// Users are added, reset and disabled by the admin as they are when the
// change is made, not as they were when their request began: an admin of
// P disabled, made a viewer, moved to Q or reset (their sessions ended)
// meanwhile changes no one of P's — a request under way when they were
// disabled does not add the account they come back through.
func TestStaffAreChangedByTheAdminAsTheyAreNow(t *testing.T) {
	t.Parallel()
	st := inventorytest.New(t)
	ctx := context.Background()
	for _, code := range []string{"P", "Q"} {
		_, err := st.CreateProperty(ctx, inventory.Property{Code: code, Name: "Hotel " + code, TimeZone: "Europe/Paris", Currency: "EUR"}, inventory.System)
		require.NoError(t, err)
	}
	const pw = "a long password"
	_, err := st.CreatePropertyStaffUser(ctx, "rex", inventory.RoleAdmin, "P", pw, inventory.System)
	require.NoError(t, err)
	rex, _, err := st.StaffLogin(ctx, "rex", pw) // rex as his request found him
	require.NoError(t, err)
	_, err = st.CreatePropertyStaffUser(ctx, "paul", inventory.RoleViewer, "P", pw, inventory.System)
	require.NoError(t, err)

	for _, meanwhile := range []func() error{
		func() error { _, err := st.DisableStaffUser(ctx, "rex", inventory.System); return err },
		func() error {
			_, err := st.CreatePropertyStaffUser(ctx, "rex", inventory.RoleViewer, "P", pw, inventory.System)
			return err
		},
		func() error {
			_, err := st.CreatePropertyStaffUser(ctx, "rex", inventory.RoleAdmin, "Q", pw, inventory.System)
			return err
		},
		func() error { // the same, with a new password: his sessions end
			_, err := st.CreatePropertyStaffUser(ctx, "rex", inventory.RoleAdmin, "P", "rex's new password", inventory.System)
			return err
		},
	} {
		require.NoError(t, meanwhile())
		_, err := st.SetStaffUserAs(ctx, rex, "backdoor", inventory.RoleAdmin, "P", pw)
		require.Equal(t, inventory.EUNAUTHORIZED, inventory.ErrorCode(err), "%v", err)
		_, _, err = st.StaffLogin(ctx, "backdoor", pw)
		require.ErrorIs(t, err, inventory.ErrBadLogin, "no account was added")
		_, err = st.SetStaffUserAs(ctx, rex, "paul", inventory.RoleAdmin, "P", "paul's password now")
		require.Equal(t, inventory.EUNAUTHORIZED, inventory.ErrorCode(err), "%v", err)
		_, err = st.DisableStaffUserAs(ctx, rex, "paul")
		require.Equal(t, inventory.EUNAUTHORIZED, inventory.ErrorCode(err), "%v", err)
		u, _, err := st.StaffLogin(ctx, "paul", pw)
		require.NoError(t, err, "paul is as he was")
		require.Equal(t, inventory.RoleViewer, u.Role)
	}

	// As he is now, logged in again, he does.
	rex, _, err = st.StaffLogin(ctx, "rex", "rex's new password")
	require.NoError(t, err)
	_, err = st.SetStaffUserAs(ctx, rex, "pete", inventory.RoleViewer, "P", pw)
	require.NoError(t, err)
	_, err = st.DisableStaffUserAs(ctx, rex, "paul")
	require.NoError(t, err)
}

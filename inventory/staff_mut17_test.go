package inventory_test

import (
	"context"
	"testing"
	"time"

	"github.com/keyrack/keyrack/inventory"
	"github.com/keyrack/keyrack/inventory/inventorytest"
	"github.com/stretchr/testify/require"
)

// staffWorld makes properties P and Q and rex, an admin of P, logged in:
// rex as his request finds him, and his session's token.
func staffWorld(t *testing.T) (*inventory.Store, inventory.StaffUser, string) {
	t.Helper()
	st := inventorytest.New(t)
	ctx := context.Background()
	for _, code := range []string{"P", "Q"} {
		_, err := st.CreateProperty(ctx, inventory.Property{Code: code, Name: "Hotel " + code, TimeZone: "Europe/Paris", Currency: "EUR"}, inventory.System)
		require.NoError(t, err)
	}
	_, err := st.CreatePropertyStaffUser(ctx, "rex", inventory.RoleAdmin, "P", staffPW, inventory.System)
	require.NoError(t, err)
	rex, token, err := st.StaffLogin(ctx, "rex", staffPW)
	require.NoError(t, err)
	return st, rex, token
}

const staffPW = "a long password"

// An admin of one property adds users of that property only, whatever
// property the caller asks for: not of another, not of every property.
func TestAnAdminOfOnePropertyAddsUsersOfNoOtherProperty(t *testing.T) {
	t.Parallel()
	st, rex, _ := staffWorld(t)
	ctx := context.Background()
	for _, property := range []string{"Q", ""} {
		_, err := st.SetStaffUserAs(ctx, rex, "newbie", inventory.RoleAdmin, property, staffPW)
		require.Equal(t, inventory.EINVALID, inventory.ErrorCode(err), "%q: %v", property, err)
		_, _, err = st.StaffLogin(ctx, "newbie", staffPW)
		require.ErrorIs(t, err, inventory.ErrBadLogin, "%q: no user was added", property)
	}
	u, err := st.SetStaffUserAs(ctx, rex, "newbie", inventory.RoleViewer, "P", staffPW)
	require.NoError(t, err)
	require.Equal(t, "P", u.Property)
}

// The admin's row as it is now decides, not their sessions alone: an
// admin disabled, made a viewer or moved to another property in the
// database (their sessions left, as the login and session checks honour
// the row alone) changes no one.
func TestAnAdminChangedInTheDatabaseChangesNoOne(t *testing.T) {
	t.Parallel()
	for _, change := range []string{
		`UPDATE staff_users SET disabled_at = now() WHERE name = 'rex'`,
		`UPDATE staff_users SET role = 'viewer' WHERE name = 'rex'`,
		`UPDATE staff_users SET property_id = (SELECT id FROM properties WHERE code = 'Q') WHERE name = 'rex'`,
	} {
		st, rex, _ := staffWorld(t)
		ctx := context.Background()
		_, err := st.DB().Exec(ctx, change)
		require.NoError(t, err)
		_, err = st.SetStaffUserAs(ctx, rex, "backdoor", inventory.RoleAdmin, "P", staffPW)
		require.Equal(t, inventory.EUNAUTHORIZED, inventory.ErrorCode(err), "%s: %v", change, err)
		_, _, err = st.StaffLogin(ctx, "backdoor", staffPW)
		require.ErrorIs(t, err, inventory.ErrBadLogin, change)
	}
}

// Only an admin changes staff: a viewer who calls the store is refused.
func TestAViewerChangesNoStaff(t *testing.T) {
	t.Parallel()
	st, _, _ := staffWorld(t)
	ctx := context.Background()
	_, err := st.CreatePropertyStaffUser(ctx, "vic", inventory.RoleViewer, "P", staffPW, inventory.System)
	require.NoError(t, err)
	vic, _, err := st.StaffLogin(ctx, "vic", staffPW)
	require.NoError(t, err)
	_, err = st.SetStaffUserAs(ctx, vic, "backdoor", inventory.RoleAdmin, "P", staffPW)
	require.Equal(t, inventory.EUNAUTHORIZED, inventory.ErrorCode(err), "%v", err)
	_, err = st.DisableStaffUserAs(ctx, vic, "rex")
	require.Equal(t, inventory.EUNAUTHORIZED, inventory.ErrorCode(err), "%v", err)
	_, _, err = st.StaffLogin(ctx, "rex", staffPW)
	require.NoError(t, err, "rex is not disabled")
}

// The admin a request found through its session (as every admin page
// does) is checked against that session: reset with the same role and
// property, a new password, their sessions ended, they change no one.
func TestAnAdminFoundByTheirSessionIsCheckedAgainstIt(t *testing.T) {
	t.Parallel()
	st, _, token := staffWorld(t)
	ctx := context.Background()
	rex, _, err := st.StaffSession(ctx, token)
	require.NoError(t, err)
	_, err = st.CreatePropertyStaffUser(ctx, "rex", inventory.RoleAdmin, "P", "rex's new password", inventory.System)
	require.NoError(t, err)
	_, err = st.SetStaffUserAs(ctx, rex, "backdoor", inventory.RoleAdmin, "P", staffPW)
	require.Equal(t, inventory.EUNAUTHORIZED, inventory.ErrorCode(err), "%v", err)
	_, err = st.DisableStaffUserAs(ctx, rex, "rex")
	require.Equal(t, inventory.EUNAUTHORIZED, inventory.ErrorCode(err), "%v", err)
}

// An admin disabled while their change waits for the row they are
// checked on is checked as the disable left them: the change waits for
// it, then changes nothing — it does not read the admin as they were
// before the disable committed.
func TestAnAdminDisabledWhileTheirChangeWaitsChangesNothing(t *testing.T) {
	t.Parallel()
	st, rex, _ := staffWorld(t)
	ctx := context.Background()
	// A disable under way: the row changed, the sessions ended, not yet
	// committed.
	tx, err := st.DB().Begin(ctx)
	require.NoError(t, err)
	t.Cleanup(func() { _ = tx.Rollback(ctx) })
	var holder int32
	require.NoError(t, tx.QueryRow(ctx, `SELECT pg_backend_pid()`).Scan(&holder))
	_, err = tx.Exec(ctx, `UPDATE staff_users SET disabled_at = now() WHERE name = 'rex'`)
	require.NoError(t, err)
	_, err = tx.Exec(ctx, `DELETE FROM staff_sessions WHERE user_id = $1`, rex.ID)
	require.NoError(t, err)

	changed, ended := make(chan error, 1), make(chan struct{})
	go func() {
		_, err := st.SetStaffUserAs(ctx, rex, "backdoor", inventory.RoleAdmin, "P", staffPW)
		changed <- err
		close(ended)
	}()
	waitBlockedBy(t, st.DB(), holder, ended) // the change waits for the disable, or is over
	require.NoError(t, tx.Commit(ctx))
	err = <-changed
	require.Equal(t, inventory.EUNAUTHORIZED, inventory.ErrorCode(err), "%v", err)
	_, _, err = st.StaffLogin(ctx, "backdoor", staffPW)
	require.ErrorIs(t, err, inventory.ErrBadLogin, "no account was added")
}

// Two admins changing each other at once wait in turn: the first resets
// the other (their sessions end), and the second, checked after it, is
// refused — neither fails with a deadlock.
func TestTwoAdminsResettingEachOtherAtOnceWaitInTurn(t *testing.T) {
	t.Parallel()
	st := inventorytest.New(t)
	ctx := context.Background()
	for _, name := range []string{"ann", "bob"} {
		_, err := st.CreateStaffUser(ctx, name, inventory.RoleAdmin, staffPW, inventory.System)
		require.NoError(t, err)
	}
	for i := range 15 {
		pw := staffPW
		if i > 0 {
			pw = "a reset password " + string(rune('a'+i-1))
		}
		ann, _, err := st.StaffLogin(ctx, "ann", pw)
		require.NoError(t, err, "round %d", i)
		bob, _, err := st.StaffLogin(ctx, "bob", pw)
		require.NoError(t, err, "round %d", i)
		next := "a reset password " + string(rune('a'+i))
		errs := make(chan error, 2)
		start := make(chan struct{})
		for _, c := range []struct {
			by     inventory.StaffUser
			target string
		}{{ann, "bob"}, {bob, "ann"}} {
			go func() {
				<-start
				_, err := st.SetStaffUserAs(ctx, c.by, c.target, inventory.RoleAdmin, "", next)
				errs <- err
			}()
		}
		close(start)
		ok := 0
		for range 2 {
			err := <-errs
			if err == nil {
				ok++
				continue
			}
			require.Equal(t, inventory.EUNAUTHORIZED, inventory.ErrorCode(err), "round %d: %v", i, err)
		}
		require.Equal(t, 1, ok, "round %d: one of them reset the other", i)
		// Both on the round's password for the next round.
		for _, name := range []string{"ann", "bob"} {
			_, err := st.CreateStaffUser(ctx, name, inventory.RoleAdmin, next, inventory.System)
			require.NoError(t, err)
		}
	}
}

// The changes of staff users are listed newest first, as many as asked
// for.
func TestStaffAuditListsTheLatestChangesAsManyAsAsked(t *testing.T) {
	t.Parallel()
	st, rex, _ := staffWorld(t)
	ctx := context.Background()
	for _, name := range []string{"u1", "u2", "u3", "u4"} {
		_, err := st.SetStaffUserAs(ctx, rex, name, inventory.RoleViewer, "P", staffPW)
		require.NoError(t, err)
	}
	got, err := st.StaffAudit(ctx, "P", 2)
	require.NoError(t, err)
	require.Len(t, got, 2)
	require.Equal(t, []string{"u4", "u3"}, []string{got[0].Subject, got[1].Subject})
	all, err := st.StaffAudit(ctx, "", 100)
	require.NoError(t, err)
	require.Len(t, all, 5, "rex and the four")
}

// A user's last seen is of their live sessions: one that has expired is
// no sign they are about.
func TestStaffUsersLastSeenIsOfLiveSessionsOnly(t *testing.T) {
	t.Parallel()
	st, _, _ := staffWorld(t)
	ctx := context.Background()
	lastSeen := func() *time.Time {
		users, err := st.StaffUsers(ctx)
		require.NoError(t, err)
		require.Len(t, users, 1)
		return users[0].LastSeenAt
	}
	require.NotNil(t, lastSeen())
	_, err := st.DB().Exec(ctx, `UPDATE staff_sessions SET expires_at = now() - interval '1 minute'`)
	require.NoError(t, err)
	require.Nil(t, lastSeen())
}

// A user disabled (in the database: their sessions left) changes no
// password, theirs least of all: the password they had stays.
func TestADisabledUserChangesNoPassword(t *testing.T) {
	t.Parallel()
	st, _, token := staffWorld(t)
	ctx := context.Background()
	_, err := st.DB().Exec(ctx, `UPDATE staff_users SET disabled_at = now() WHERE name = 'rex'`)
	require.NoError(t, err)
	err = st.SetStaffPassword(ctx, "rex", "rex's own new password", token)
	require.Equal(t, inventory.ENOTFOUND, inventory.ErrorCode(err), "%v", err)
	_, err = st.DB().Exec(ctx, `UPDATE staff_users SET disabled_at = NULL WHERE name = 'rex'`)
	require.NoError(t, err)
	_, _, err = st.StaffLogin(ctx, "rex", staffPW)
	require.NoError(t, err, "the password is as it was")
}

// Disabling a disabled user changes nothing: they stay disabled since the
// first time, and the change is recorded once.
func TestDisablingADisabledUserKeepsWhenTheyWereDisabled(t *testing.T) {
	t.Parallel()
	st, _, _ := staffWorld(t)
	ctx := context.Background()
	first, err := st.DisableStaffUser(ctx, "rex", inventory.System)
	require.NoError(t, err)
	_, err = st.DB().Exec(ctx, `UPDATE staff_users SET disabled_at = disabled_at - interval '1 day' WHERE name = 'rex'`)
	require.NoError(t, err)
	again, err := st.DisableStaffUser(ctx, "rex", inventory.System)
	require.NoError(t, err)
	require.WithinDuration(t, first.DisabledAt.Add(-24*time.Hour), *again.DisabledAt, time.Millisecond)
	changes, err := st.StaffAudit(ctx, "", 10)
	require.NoError(t, err)
	require.Equal(t, "staff_user.disable", changes[0].Action)
	require.NotEqual(t, "staff_user.disable", changes[1].Action, "recorded once")
}

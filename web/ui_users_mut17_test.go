package web_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/keyrack/keyrack/inventory"
	"github.com/stretchr/testify/require"
)

// waitBlockedOn waits until a backend waits for a lock that backend pid
// holds; or until done is closed (what was started ended without
// waiting).
func waitBlockedOn(t *testing.T, db *pgxpool.Pool, pid int32, done <-chan struct{}) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		select {
		case <-done:
			return
		default:
		}
		var blocked int32
		err := db.QueryRow(context.Background(), `SELECT pid FROM pg_stat_activity WHERE $1 = ANY (pg_blocking_pids(pid)) LIMIT 1`, pid).Scan(&blocked)
		if err == nil {
			return
		}
		require.ErrorIs(t, err, pgx.ErrNoRows)
	}
	t.Fatalf("nothing waited for backend %d", pid)
}

// An admin made a viewer while their form to add a user was under way is
// told so (403: their account changed, log in again) and adds no one — the
// change is checked against their account as it is once the form's turn
// comes, not as their session found it.
func TestAnAdminMadeAViewerWhileTheirFormWaitsIsRefused(t *testing.T) {
	t.Parallel()
	e := newUI(t)
	ctx := context.Background()
	e.login("anna")
	form := url.Values{"name": {"rita"}, "role": {"admin"}, "password": {"a long password"}, "csrf_token": {e.token("/admin/users")}}

	// anna made a viewer, not yet committed: the form waits for it.
	tx, err := e.st.DB().Begin(ctx)
	require.NoError(t, err)
	t.Cleanup(func() { _ = tx.Rollback(ctx) })
	var holder int32
	require.NoError(t, tx.QueryRow(ctx, `SELECT pg_backend_pid()`).Scan(&holder))
	_, err = tx.Exec(ctx, `UPDATE staff_users SET role = 'viewer' WHERE name = 'anna'`)
	require.NoError(t, err)
	answer, ended := make(chan page, 1), make(chan struct{})
	go func() {
		answer <- e.post("/admin/users", "/admin/users", form)
		close(ended)
	}()
	waitBlockedOn(t, e.st.DB(), holder, ended)
	require.NoError(t, tx.Commit(ctx))

	p := <-answer
	require.Equal(t, http.StatusForbidden, p.Status, p.Body)
	require.Contains(t, p.Body, "Your own account was changed or disabled meanwhile: nothing changed.")
	_, _, err = e.st.StaffLogin(ctx, "rita", "a long password")
	require.ErrorIs(t, err, inventory.ErrBadLogin, "no one was added")
}

// staffSessions counts name's sessions.
func staffSessions(t *testing.T, st *inventory.Store, name string) int {
	t.Helper()
	var n int
	require.NoError(t, st.DB().QueryRow(context.Background(), `SELECT count(*) FROM staff_sessions s
		JOIN staff_users u ON u.id = s.user_id WHERE u.name = $1`, name).Scan(&n))
	return n
}

// A password change refused after the current password was checked (the
// new one too short) leaves no session behind: the check opens one, which
// the browser never gets, and it ends with the refusal.
func TestARefusedPasswordChangeLeavesNoSessionBehind(t *testing.T) {
	t.Parallel()
	e := newUI(t)
	e.login("victor")
	require.Equal(t, 1, staffSessions(t, e.st, "victor"))
	p := e.post("/admin/account", "/admin/account/password", url.Values{"current": {uiPassword}, "password": {"short"}, "confirm": {"short"}})
	require.Equal(t, http.StatusBadRequest, p.Status, p.Body)
	require.Equal(t, 1, staffSessions(t, e.st, "victor"), "the browser's own session only")
}

// A password change whose session ended after the current password was
// checked — an admin reset or disabled the account in between — changes
// nothing and says why (401), rather than an error of keyrack's.
func TestAPasswordChangeWhoseSessionEndedMeanwhileSaysSo(t *testing.T) {
	t.Parallel()
	e := newUI(t)
	ctx := context.Background()
	e.login("victor")
	// As a reset landing just after the check: the session the check
	// opens is ended at once.
	_, err := e.st.DB().Exec(ctx, `CREATE FUNCTION end_new_session() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN DELETE FROM staff_sessions WHERE token_hash = NEW.token_hash; RETURN NULL; END $$;
		CREATE TRIGGER end_new_session AFTER INSERT ON staff_sessions FOR EACH ROW EXECUTE FUNCTION end_new_session()`)
	require.NoError(t, err)
	p := e.post("/admin/account", "/admin/account/password",
		url.Values{"current": {uiPassword}, "password": {"a brand new password"}, "confirm": {"a brand new password"}})
	require.Equal(t, http.StatusUnauthorized, p.Status, p.Body)
	require.Contains(t, p.Body, "Your session has ended while the password was being changed")
	_, err = e.st.DB().Exec(ctx, `DROP TRIGGER end_new_session ON staff_sessions`)
	require.NoError(t, err)
	_, _, err = e.st.StaffLogin(ctx, "victor", uiPassword)
	require.NoError(t, err, "the password is as it was")
}

// A scheduler stuck in its round leads: a pull-mode channel it has not
// polled is not said to want for a scheduler that is not running.
func TestAPullChannelNotPolledByAStuckSchedulerDoesNotSayNoneRuns(t *testing.T) {
	t.Parallel()
	a := newOverdueUI(t)
	a.seedHotel("P", 1)
	ctx := context.Background()
	a.pullChannel("P")
	for _, sql := range []string{
		`UPDATE properties SET created_at = now() - interval '1 day'`,
		`UPDATE channels SET created_at = now() - interval '1 hour', enabled_at = now() - interval '1 hour'`,
	} {
		_, err := a.st.DB().Exec(ctx, sql)
		require.NoError(t, err)
	}
	holdSchedulerLead(t, a.st)
	_, err := a.st.DB().Exec(ctx, `UPDATE scheduler_lead SET led_at = now() - interval '45 minutes'`)
	require.NoError(t, err)
	a.login("victor")
	p := a.get("/admin/p/P/alerts")
	require.Contains(t, p.Body, "keyrack&#39;s scheduler has not begun a round of its work since")
	require.Contains(t, p.Body, "keyrack has not polled bookingcom")
	require.NotContains(t, p.Body, "No keyrack scheduler is running")
}

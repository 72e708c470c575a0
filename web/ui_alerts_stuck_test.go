package web_test

import (
	"context"
	"testing"

	"github.com/keyrack/keyrack/inventory"
	"github.com/stretchr/testify/require"
)

// holdSchedulerLead takes the scheduler's lead, as a scheduler does, until
// the test ends: as a scheduler busy with its round.
func holdSchedulerLead(t *testing.T, st *inventory.Store) {
	t.Helper()
	ctx := context.Background()
	conn, err := st.DB().Acquire(ctx)
	require.NoError(t, err)
	t.Cleanup(func() {
		_, _ = conn.Exec(ctx, `SELECT pg_advisory_unlock_all()`)
		conn.Release()
	})
	_, err = conn.Exec(ctx, `SELECT pg_advisory_lock(hashtextextended(current_schema() || '/keyrack/sync/scheduler', 0))`)
	require.NoError(t, err)
}

// A scheduler that holds the lead but has not begun a round for over half
// an hour is stuck: the alerts page, the menu and /readyz say so — that it
// leads (no "start a scheduler") and that its process needs a restart.
func TestAStuckSchedulerIsAnAlert(t *testing.T) {
	t.Parallel()
	a := newOverdueUI(t)
	a.seedHotel("P", 1)
	ctx := context.Background()
	_, err := a.st.DB().Exec(ctx, `UPDATE properties SET created_at = now() - interval '1 day'`)
	require.NoError(t, err)
	holdSchedulerLead(t, a.st)
	a.login("victor")

	_, err = a.st.DB().Exec(ctx, `UPDATE scheduler_lead SET led_at = now() - interval '10 minutes'`)
	require.NoError(t, err)
	p := a.get("/admin/p/P/alerts")
	require.NotContains(t, p.Body, "keyrack&#39;s regular work is not being done", "a long round is not stuck")
	require.NotContains(t, p.Body, menuAlerting)
	require.Empty(t, overdueOf(t, a.uiEnv, "scheduler"))

	_, err = a.st.DB().Exec(ctx, `UPDATE scheduler_lead SET led_at = now() - interval '45 minutes'`)
	require.NoError(t, err)
	p = a.get("/admin/p/P/alerts")
	require.Contains(t, p.Body, "keyrack&#39;s regular work is not being done")
	require.Contains(t, p.Body, "keyrack&#39;s scheduler has not begun a round of its work since")
	require.Contains(t, p.Body, "restart the process that runs the scheduler")
	require.NotContains(t, p.Body, "No keyrack scheduler has run")
	require.Contains(t, p.Body, menuAlerting)
	require.Contains(t, overdueOf(t, a.uiEnv, "scheduler"), "has not begun a round for 45m")
}

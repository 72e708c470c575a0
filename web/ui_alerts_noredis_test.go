package web_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
)

// A keyrack worker process whose Redis does not answer says so in
// PostgreSQL (sync's redisreport.go: a lock on a session of its own): every
// property's alerts page names the process, and /readyz counts it, until
// it lets the lock go — its Redis answers again, or it stops.
func TestAWorkerThatCannotReachRedisIsNamedOnTheAlertsPage(t *testing.T) {
	t.Parallel()
	a := newOverdueUI(t)
	a.seedHotel("P", 1)
	a.login("victor")
	ctx := context.Background()
	conn, err := a.st.DB().Acquire(ctx)
	require.NoError(t, err)
	defer conn.Release()
	_, err = conn.Exec(ctx, `SET application_name = 'keyrack serve worker pid 4242'`)
	require.NoError(t, err)
	p := a.get("/admin/p/P/alerts")
	require.NotContains(t, p.Body, "cannot reach Redis")

	_, err = conn.Exec(ctx, `SELECT pg_advisory_lock_shared(hashtextextended(current_schema() || '/keyrack/sync/redis-unreachable', 0))`)
	require.NoError(t, err)
	p = a.get("/admin/p/P/alerts")
	require.Contains(t, p.Body, "A keyrack worker cannot reach Redis")
	require.NotContains(t, p.Body, "All is well.")
	require.Contains(t, p.Body, "The keyrack worker process &#34;keyrack serve worker pid 4242&#34; (connecting from 127.0.0.1)")
	require.Contains(t, p.Body, "check that process&#39;s REDIS_URL")
	require.Contains(t, p.Body, menuAlerting)
	require.Contains(t, overdueOf(t, a.uiEnv, "workers"), "1 keyrack worker process has not reached Redis")
	require.NotContains(t, overdueOf(t, a.uiEnv, "workers"), "4242", "readyz answers anyone")

	_, err = conn.Exec(ctx, `SELECT pg_advisory_unlock_all()`)
	require.NoError(t, err)
	p = a.get("/admin/p/P/alerts")
	require.NotContains(t, p.Body, "cannot reach Redis")
	require.Empty(t, overdueOf(t, a.uiEnv, "workers"))
}

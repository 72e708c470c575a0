package sync_test

import (
	"context"
	"testing"
	"time"

	"github.com/keyrack/keyrack/inventory/inventorytest"
	"github.com/keyrack/keyrack/sync"
	"github.com/stretchr/testify/require"
)

// The leading scheduler vacuums and analyzes keyrack's tables as autovacuum
// would (inventory.MaintainTables), every MaintainInterval.
func TestTheSchedulerMaintainsTheTables(t *testing.T) {
	h := newHotel(t, hotelOptions{channels: []string{"A"}, noWorker: true, config: func(c *sync.Config) {
		c.MaintainInterval = 20 * time.Millisecond
	}})
	ctx := context.Background()
	db := h.st.DB()
	// Where the server runs autovacuum, it must not take the outbox first.
	_, err := db.Exec(ctx, `ALTER TABLE outbox SET (autovacuum_enabled = false)`)
	require.NoError(t, err)
	vacuums := func() (n int64) {
		require.NoError(t, db.QueryRow(ctx, `SELECT vacuum_count FROM pg_stat_user_tables
			WHERE schemaname = current_schema() AND relname = 'outbox'`).Scan(&n))
		return n
	}
	before := vacuums()
	// 500 dead rows, counted before the scheduler starts (it would analyze
	// the table as the counts come in).
	conn, err := db.Acquire(ctx)
	require.NoError(t, err)
	defer conn.Release()
	inventorytest.ChurnOutbox(t, db, conn, 500, true)

	sched := h.fanout()
	sched.MaintainEvenWithAutovacuum()
	sctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- sched.RunScheduler(sctx) }()
	t.Cleanup(func() { stop(); <-done })
	eventually(t, 10*time.Second, "the scheduler vacuums the outbox's 500 dead rows", func() bool {
		return vacuums() > before
	})
}

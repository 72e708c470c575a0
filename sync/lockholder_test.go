package sync_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/keyrack/keyrack/sync"
	"github.com/stretchr/testify/require"
)

// A keyrack process that hangs while holding a channel's delivery lock
// (alive: PostgreSQL keeps its session) stops every delivery to the
// channel. Staff see why in the channel's status — which session holds the
// lock and how to end it — and once it is gone the channel catches up and
// the note goes.
func TestAChannelWhoseLockAHungSessionHoldsSaysWhoHoldsIt(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := newHotel(t, hotelOptions{channels: []string{"A", "B"}, config: func(c *sync.Config) {
		c.LockWait = time.Second
	}}).primed()

	hung, err := h.st.DB().Acquire(ctx)
	require.NoError(t, err)
	defer hung.Release()
	_, err = hung.Exec(ctx, `SET application_name = 'hung-keyrack'`)
	require.NoError(t, err)
	var pid int
	require.NoError(t, hung.QueryRow(ctx, `SELECT pg_backend_pid()`).Scan(&pid))
	_, err = hung.Exec(ctx, `SELECT pg_advisory_lock(hashtextextended(current_schema() || '/keyrack/sync/channel/' || $1::bigint::text || '/' || $2::bigint::text, 0))`,
		h.id, h.chanIDs["B"])
	require.NoError(t, err)

	arrival := h.today.AddDays(3)
	h.book("A", "hung-lock", 0, arrival, 1, 1)
	eventually(t, convergeTimeout, "B's status to name the session holding its lock", func() bool {
		e := statusOf(t, h, "B").LastError
		return strings.Contains(e, fmt.Sprintf("PostgreSQL session %d (hung-keyrack", pid)) &&
			strings.Contains(e, fmt.Sprintf("pg_terminate_backend(%d)", pid))
	})
	v, _ := h.tc["B"].Value(h.room("B", 0), arrival)
	require.Equal(t, 10, v, "nothing reached B while the lock was held")

	_, err = hung.Exec(ctx, `SELECT pg_advisory_unlock_all()`)
	require.NoError(t, err)
	h.waitConverged()
	require.Empty(t, statusOf(t, h, "B").LastError, "the note goes once a delivery runs")
}

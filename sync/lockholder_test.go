package sync_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	gosync "sync"
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
	var logged lockedBuffer
	h := newHotel(t, hotelOptions{channels: []string{"A", "B"}, config: func(c *sync.Config) {
		c.LockWait = time.Second
		c.Logger = slog.New(slog.NewTextHandler(&logged, nil))
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
	// The operator's log names the channel by its ids, the property's as
	// such: it said channel=<the property's id> channel_id=<the channel's>.
	eventually(t, convergeTimeout, "the wait to be logged", func() bool { return strings.Contains(logged.String(), "deliveries wait") })
	for _, line := range strings.Split(logged.String(), "\n") {
		if strings.Contains(line, "deliveries wait") {
			require.Contains(t, line, fmt.Sprintf("property_id=%d channel_id=%d", h.id, h.chanIDs["B"]))
			require.NotContains(t, line, " channel=")
		}
	}

	_, err = hung.Exec(ctx, `SELECT pg_advisory_unlock_all()`)
	require.NoError(t, err)
	h.waitConverged()
	require.Empty(t, statusOf(t, h, "B").LastError, "the note goes once a delivery runs")
}

// lockedBuffer is a bytes.Buffer that a logger writes from many goroutines.
type lockedBuffer struct {
	mu  gosync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

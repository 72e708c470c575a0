package sync_test

import (
	"context"
	"testing"
	"time"

	"github.com/keyrack/keyrack/sync"
	"github.com/keyrack/keyrack/sync/synctest"
	"github.com/stretchr/testify/require"
)

// A worker process whose Redis does not answer — started with a wrong
// REDIS_URL, say — hands what it cannot enqueue to the other workers, and
// only its own log said so: staff, and /readyz, saw nothing. It now says so
// in PostgreSQL, where the alerts page and /readyz read it (Overdue), named
// by its session, until its Redis answers again.
func TestAWorkerWhoseRedisDoesNotAnswerIsNamedUntilItDoes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := newHotel(t, hotelOptions{channels: []string{"A"}, noWorker: true, config: func(c *sync.Config) {
		c.StepDownAfter = 2 * time.Second
	}})
	redis := synctest.StartRedis(t)
	q, err := sync.OpenQueue(redis.URL)
	require.NoError(t, err)
	t.Cleanup(func() { _ = q.Close() })
	cfg := h.cfg
	cfg.Queue = q
	worker, err := sync.New(cfg)
	require.NoError(t, err)
	wctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- worker.RunWorker(wctx) }()
	t.Cleanup(func() { stop(); <-done })

	unreachable := func() []sync.UnreachableProcess {
		o, err := h.fan.Overdue(ctx, h.code)
		require.NoError(t, err)
		return o.RedisUnreachable
	}
	time.Sleep(2 * cfg.StepDownAfter)
	require.Empty(t, unreachable(), "its Redis answers")

	var stopped time.Time
	require.NoError(t, h.st.DB().QueryRow(ctx, `SELECT now()`).Scan(&stopped))
	redis.Stop()
	eventually(t, convergeTimeout, "the worker to say its Redis does not answer", func() bool { return len(unreachable()) == 1 })
	p := unreachable()[0]
	require.Equal(t, "127.0.0.1", p.Client)
	require.NotEmpty(t, p.Name)
	// Since Redis stopped answering, not since the process started, nor
	// since it said so.
	require.True(t, p.Since.After(stopped), "%s is before Redis stopped (%s)", p.Since, stopped)
	require.True(t, p.Since.Before(stopped.Add(cfg.StepDownAfter)), "%s is when it said so", p.Since)
	o, err := h.fan.Overdue(ctx, "")
	require.NoError(t, err)
	require.False(t, o.Empty(), "every property's alerts say it")

	redis.Start()
	eventually(t, convergeTimeout, "the worker to say no more once its Redis answers", func() bool { return len(unreachable()) == 0 })
}

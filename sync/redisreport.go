package sync

import (
	"context"
	"time"
)

// A worker whose Redis does not answer — started with a wrong REDIS_URL, or
// cut off from Redis alone — delivers nothing and hands the changes it
// relays to the workers that reach Redis (relay.go): nothing fails where
// staff look, and only its own log said so. So it says so in PostgreSQL,
// where the web process reads it (Overdue): once its Redis has not answered
// for StepDownAfter, it holds a shared advisory lock on a session of its
// own — named as its other sessions are ("keyrack serve worker pid 4242"),
// opened when Redis first did not answer — until Redis answers again. The
// session ends with the process.

// redisOutLockSQL is the key of that lock.
const redisOutLockSQL = `hashtextextended(current_schema() || '/keyrack/sync/redis-unreachable', 0)`

// reportRedis checks every ElectionInterval that the worker's Redis
// answers, and holds the lock while it has not for StepDownAfter, until ctx
// ends.
func (f *Fanout) reportRedis(ctx context.Context) {
	defer f.redisOut.release()
	var failingSince time.Time
	t := time.NewTicker(f.cfg.ElectionInterval)
	defer t.Stop()
	for {
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		err := f.cfg.Queue.Ping(pctx)
		cancel()
		switch {
		case ctx.Err() != nil:
			return
		case err == nil:
			failingSince = time.Time{}
			f.redisOut.release()
		case failingSince.IsZero():
			// The session opened now says since when (its backend_start).
			failingSince = time.Now()
			_ = f.redisOut.open(ctx, f.db)
		case time.Since(failingSince) >= f.cfg.StepDownAfter:
			f.redisOut.hold(ctx, f.db)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

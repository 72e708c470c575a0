package sync

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/keyrack/keyrack/inventory"
	"github.com/redis/go-redis/v9"
)

// A database restored from a backup — or a replica promoted before it had
// received everything — is keyrack's database gone back in time. Started
// on it as it is, keyrack said nothing: the bookings channels sent since
// the backup were lost without a word to staff, and ids the lost part had
// issued (which a PMS and Redis keep) were issued again. `keyrack
// restored`, run first, deals with both, but nothing made anyone run it.
//
// The database cannot tell that it went back; something outside it must
// remember how far it had come. Every keyrack process moves the
// installation's progress count on (inventory.Progress, committed) at its
// start and every ProgressInterval, and keeps the highest count seen in
// Redis, keyed by the installation's id and kept for progressKeep. A count
// below the one Redis holds is a database that went back: the process
// does not start, or stops, saying to run `keyrack restored`, which
// forgets the recorded count. A Redis that lost its data (restarted empty,
// as keyrack allows) cannot tell; nothing is refused then.

// progressKeep is how long Redis keeps an installation's count after a
// process last recorded it: longer than keyrack is ever stopped for.
const progressKeep = 400 * 24 * time.Hour

// recordProgress keeps the larger of the recorded count and ARGV[1].
var recordProgress = redis.NewScript(`
local had = tonumber(redis.call('GET', KEYS[1]) or '0')
local now = tonumber(ARGV[1])
if now > had then had = now end
redis.call('SET', KEYS[1], had, 'PX', ARGV[2])
return had`)

// DatabaseBehindError says keyrack's database has gone back in time.
type DatabaseBehindError struct {
	Progress, Had int64
}

func (e DatabaseBehindError) Error() string {
	return fmt.Sprintf("keyrack's database has gone back in time: its progress count is %d, where keyrack processes had "+
		"already reached %d on it — it was restored from a backup, or a replica that had not received everything was "+
		"promoted. Run on it as it is, keyrack would issue again ids that the PMS and Redis hold, and no one would be "+
		"told of the bookings lost with it. With every keyrack process stopped, run `keyrack restored` (README, "+
		"\"Restoring from a backup\"), then start keyrack", e.Progress, e.Had)
}

func (f *Fanout) progressKey(installation string) string {
	return f.cfg.QueuePrefix + "keyrack:progress:" + installation
}

// CheckProgress moves the installation's progress on and compares it with
// the count Redis holds for it: a DatabaseBehindError when the database has
// gone back, nil otherwise. Without an answer from Redis it cannot tell,
// logs so and returns nil: keyrack serves while Redis is down.
func (f *Fanout) CheckProgress(ctx context.Context) error {
	installation, err := inventory.Installation(ctx, f.db)
	if err != nil {
		return err
	}
	key := f.progressKey(installation)
	// What Redis holds first, then the move on: a count recorded by
	// another process came from a move committed before this one begins,
	// so the count is at least it unless the database went back — and
	// then it is not moved, so that a process started again and again on
	// it does not move it past.
	rctx, cancel := context.WithTimeout(ctx, DefaultPingTimeout)
	defer cancel()
	had, err := f.cfg.Queue.redis.Get(rctx, key).Int64()
	if errors.Is(err, redis.Nil) {
		had, err = 0, nil
	}
	if err != nil {
		f.log.Warn("cannot check that keyrack's database has not gone back (restored from a backup): Redis does not answer", "err", err)
		return nil
	}
	progress, err := inventory.Progress(ctx, f.db, had)
	if err != nil {
		return err
	}
	if progress < had {
		return DatabaseBehindError{Progress: progress, Had: had}
	}
	if err := recordProgress.Run(rctx, f.cfg.Queue.redis, []string{key}, progress, progressKeep.Milliseconds()).Err(); err != nil {
		f.log.Warn("cannot record how far keyrack's database has come in Redis", "err", err)
	}
	return nil
}

// WatchProgress runs CheckProgress every ProgressInterval until ctx ends,
// and returns its DatabaseBehindError when the database went back beneath
// the running process.
func (f *Fanout) WatchProgress(ctx context.Context) error {
	t := time.NewTicker(f.cfg.ProgressInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		err := f.CheckProgress(ctx)
		var behind DatabaseBehindError
		switch {
		case errors.As(err, &behind):
			return err
		case err != nil && ctx.Err() == nil:
			f.log.Warn("cannot check that keyrack's database has not gone back (restored from a backup)", "err", err)
		}
	}
}

// ForgetProgress drops the count Redis holds for the installation, once
// `keyrack restored` has readied the database it went back to.
func (f *Fanout) ForgetProgress(ctx context.Context) error {
	installation, err := inventory.Installation(ctx, f.db)
	if err != nil {
		return err
	}
	if err := f.cfg.Queue.redis.Del(ctx, f.progressKey(installation)).Err(); err != nil {
		return fmt.Errorf("forget how far keyrack's database had come (Redis): %w", err)
	}
	return nil
}

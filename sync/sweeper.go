package sync

import (
	"context"
	"errors"
	"time"

	"github.com/hibiken/asynq"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// The sweeper makes sure every channel with dirty marks (or items to
// close, sync_closures) has a task that will deliver them. Redis only ever
// holds wake-ups; when one is lost — Redis was down when the relay
// enqueued, Redis restarted empty, a worker died mid-delivery — the marks
// in PostgreSQL say what to enqueue again.

// runSweeper sweeps at once (so a restarted worker picks up where a dead one
// stopped) and then every SweepInterval until ctx ends.
func (f *Fanout) runSweeper(ctx context.Context) {
	f.every(ctx, f.cfg.SweepInterval, "sweep", func(ctx context.Context) (bool, error) { return false, f.sweep(ctx) })
}

// workLeftSQL is a condition that holds for a pair s (sync_channels)
// with work left: dirty marks, or an item to close (sync_closures) on a
// channel that is pushed to — a channel whose last mapping was deleted has
// no marks, only its closures. The closures of a channel disabled or
// without an endpoint wait for it to be pushed to again (its deliveries
// leave them): counted, every sweep would revive it for nothing. kinds is
// the placeholder of the kinds pushed to (Fanout.pushed).
func workLeftSQL(kinds string) string {
	return `(EXISTS (SELECT 1 FROM sync_dirty d WHERE d.property_id = s.property_id AND d.channel_id = s.channel_id)
		OR EXISTS (SELECT 1 FROM sync_closures k JOIN channels c ON c.property_id = k.property_id AND c.id = k.channel_id
			WHERE k.property_id = s.property_id AND k.channel_id = s.channel_id
				AND c.enabled AND c.endpoint <> '' AND c.kind = ANY(` + kinds + `::text[])))`
}

// sweepRow is a pair with dirty marks that may lack a live task.
type sweepRow struct {
	pair
	Queued    *string
	QueuedGen *int64
	LongAgo   bool // queued for more than 6 × StaleAfter
}

// sweep sweeps, once, the channels' delivery tasks and the PMS webhooks.
func (f *Fanout) sweep(ctx context.Context) error {
	return errors.Join(f.sweepChannels(ctx), f.sweepLostDeadLetters(ctx), f.sweepWebhooks(ctx), f.probeFailedWebhooks(ctx))
}

// sweepLostDeadLetters retries, with a fresh task, the dead-lettered pairs
// whose archived task Redis no longer holds (it restarted empty, or was
// flushed): staff could neither see nor retry them, and the channel would
// stay behind until its next change. A pair archived only a moment ago is
// left: asynq archives its task just after the delivery records it. It reads
// the archive (up to 10,000 tasks a queue) at most once every 6 × StaleAfter,
// not at every sweep, while a channel stays dead-lettered.
func (f *Fanout) sweepLostDeadLetters(ctx context.Context) error {
	if time.Since(f.lostDeadLettersAt) < 6*f.cfg.StaleAfter {
		return nil
	}
	rows, _ := f.db.Query(ctx, `
		SELECT s.property_id, s.channel_id FROM sync_channels s
		WHERE s.archived AND s.queued IS NULL AND coalesce(s.last_error_at < now() - $1::interval, true)
			AND `+workLeftSQL("$2")+`
		LIMIT 1000`, 6*f.cfg.StaleAfter, f.pushed)
	dead, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (pair, error) {
		var p pair
		err := r.Scan(&p.Property, &p.Channel)
		return p, err
	})
	if err != nil || len(dead) == 0 {
		return err
	}
	f.lostDeadLettersAt = time.Now()
	kept := map[pair]bool{}
	if err := f.eachArchived(func(_ string, _ *asynq.TaskInfo, p taskPayload) { kept[p.pair] = true }); err != nil {
		f.noteRedis(err)
		return err
	}
	for _, p := range dead {
		if kept[p] {
			continue
		}
		retried, err := f.enqueueFresh(ctx, p, classCritical, true)
		if err != nil {
			return err
		}
		if retried {
			f.log.Warn("retried a dead-lettered channel whose archived task Redis lost", "property_id", p.Property, "channel_id", p.Channel)
		}
	}
	return nil
}

// sweepChannels checks, once, every pair with dirty marks that is not archived and
// whose task was claimed by a delivery (queued NULL) or has waited longer
// than StaleAfter.
func (f *Fanout) sweepChannels(ctx context.Context) error {
	rows, _ := f.db.Query(ctx, `
		SELECT s.property_id, s.channel_id, s.queued, s.queued_gen, coalesce(s.queued_at < now() - $2::interval, false)
		FROM sync_channels s
		WHERE NOT s.archived AND (s.queued IS NULL OR s.queued_at < now() - $1::interval)
			AND `+workLeftSQL("$3")+`
		ORDER BY s.queued_at NULLS FIRST
		LIMIT 1000`, f.cfg.StaleAfter, 6*f.cfg.StaleAfter, f.pushed)
	todo, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (sweepRow, error) {
		var s sweepRow
		err := r.Scan(&s.Property, &s.Channel, &s.Queued, &s.QueuedGen, &s.LongAgo)
		return s, err
	})
	if err != nil || len(todo) == 0 {
		return err
	}
	conn, err := f.db.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	for _, s := range todo {
		if s.Queued == nil {
			// A delivery claimed the task and is gone without finishing: had
			// it failed, it would have queued its retry or been archived.
			if err := f.revive(ctx, conn, s.pair); err != nil {
				return err
			}
			continue
		}
		info, err := f.inspector.GetTaskInfo(f.queueName(*s.Queued), taskID(s.pair, *s.QueuedGen))
		switch {
		case errors.Is(err, asynq.ErrTaskNotFound), errors.Is(err, asynq.ErrQueueNotFound):
			// Redis never got it, or lost it: enqueue the same generation.
			if err := f.enqueue(ctx, s.pair, *s.Queued, *s.QueuedGen, 0); err != nil {
				return err
			}
		case err != nil:
			f.noteRedis(err)
			return err // Redis is down: nothing more to do this sweep
		case info.State == asynq.TaskStateArchived:
			// asynq archived it without the delivery recording it (its
			// lease expired on the last attempt).
			if _, err := f.db.Exec(ctx, `UPDATE sync_channels SET archived = true, queued = NULL, queued_gen = NULL, queued_at = NULL
				WHERE property_id = $1 AND channel_id = $2 AND queued_gen = $3`, s.Property, s.Channel, *s.QueuedGen); err != nil {
				return err
			}
			f.dropDeadLetters(s.pair, info.ID)
		case info.State == asynq.TaskStateActive && s.LongAgo:
			// Active for long without holding the pair's lock: its worker
			// died before it could start (asynq would notice only when the
			// lease runs out, a minute or two later).
			if err := f.revive(ctx, conn, s.pair); err != nil {
				return err
			}
		}
	}
	return nil
}

// revive enqueues a fresh task for p if no delivery to it is running, holding
// the pair's lock meanwhile so none can start. The lock is tried, not
// waited for: a running delivery will deliver the marks itself.
func (f *Fanout) revive(ctx context.Context, conn *pgxpool.Conn, p pair) error {
	var mine bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock(`+pairLockSQL+`)`, p.Property, p.Channel).Scan(&mine); err != nil || !mine {
		return err
	}
	var class string
	var gen int64
	// The pair's row is locked first, in a statement of its own: a delivery
	// releases the pair's lock in its last statement, just before its
	// transaction commits, and holds the row until then. Waiting for the row
	// inside the update would keep that statement's older snapshot, in which
	// the marks the delivery has just cleared still exist — and revive a
	// channel that is up to date (every few seconds under load).
	err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT 1 FROM sync_channels WHERE property_id = $1 AND channel_id = $2 FOR NO KEY UPDATE`,
			p.Property, p.Channel); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `
			UPDATE sync_channels s SET gen = s.gen + 1, queued = 'critical', queued_gen = s.gen + 1, queued_at = now()
			WHERE s.property_id = $1 AND s.channel_id = $2 AND NOT s.archived
				AND (s.queued IS NULL OR s.queued_at < now() - $3::interval)
				AND `+workLeftSQL("$4")+`
			RETURNING s.queued, s.gen`, p.Property, p.Channel, 6*f.cfg.StaleAfter, f.pushed).Scan(&class, &gen)
	})
	var released bool
	if uerr := conn.QueryRow(ctx, `SELECT pg_advisory_unlock(`+pairLockSQL+`)`, p.Property, p.Channel).Scan(&released); uerr != nil || !released {
		// The pool must not hand out a session that still holds the lock.
		_ = conn.Conn().Close(context.Background())
		return errors.Join(uerr, errors.New("sweeper: could not release a channel's lock"))
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	f.log.Info("re-enqueued a channel whose delivery stopped", "property_id", p.Property, "channel_id", p.Channel)
	return f.enqueue(ctx, p, class, gen, 0)
}

package sync

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/keyrack/keyrack/inventory"
)

// The scheduler runs periodic work: the nightly full resync and the alarm
// for revisions a PMS has not acknowledged in time. asynq's
// own Scheduler enqueues every periodic task once per process that runs it,
// so keyrack elects one scheduler instead: the process holding a PostgreSQL
// advisory lock leads, and another takes over within ElectionInterval of its
// connection closing (the lock goes with the session). The work itself is
// recorded in PostgreSQL (sync_channels.resynced_on), so a missed night is
// caught up by whichever process leads next, and a brief overlap of two
// leaders does nothing worse than resync a channel twice. The leader
// records that it leads (scheduler_lead.led_at) at each round, every
// ScheduleInterval, so Overdue tells a failover from no scheduler at all.

const schedulerLockSQL = `hashtextextended(current_schema() || '/keyrack/sync/scheduler', 0)`

// RunScheduler runs the scheduler role until ctx ends: it tries to become
// the leader and, while it leads, runs the due periodic work every
// ScheduleInterval.
func (f *Fanout) RunScheduler(ctx context.Context) error {
	defer f.withdraw()
	for {
		wait := f.cfg.ElectionInterval
		switch err := f.lead(ctx); {
		case errors.Is(err, errSteppedDown):
			// Long enough for a scheduler that stands by to take the lead.
			wait = 3 * f.cfg.ElectionInterval
		case err != nil && ctx.Err() == nil:
			f.log.Warn("scheduler: lost or could not take the lead; trying again", "err", err)
		}
		f.standBy(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
	}
}

// errSteppedDown: the leader gave up the lead (stepDown).
var errSteppedDown = errors.New("scheduler: stepped down")

// candidacyLockSQL is the key of the advisory lock that the schedulers not
// leading whose Redis answers hold shared, each on a session of its own: the
// leader counts them (stepDown).
const candidacyLockSQL = `hashtextextended(current_schema() || '/keyrack/sync/scheduler/candidates', 0)`

// standBy holds the candidacy lock while this process's Redis answers, and
// lets it go while it does not. A session holding it that has ended — the
// database restarted or failed over, a proxy or idle_session_timeout closed
// it — holds nothing: it stands by again on a new one.
func (f *Fanout) standBy(ctx context.Context) {
	pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	answers := f.cfg.Queue.Ping(pctx) == nil
	cancel()
	if !answers {
		f.withdraw()
		return
	}
	if f.candidacy != nil {
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		err := f.candidacy.Ping(pctx)
		cancel()
		if err == nil {
			return
		}
		f.withdraw()
	}
	conn, err := f.db.Acquire(ctx)
	if err != nil {
		return
	}
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock_shared(`+candidacyLockSQL+`)`); err != nil {
		_ = conn.Conn().Close(context.Background())
		conn.Release()
		return
	}
	f.candidacy = conn
}

// withdraw lets the candidacy lock go, if this process holds it: closing
// the session releases it whatever state it is in.
func (f *Fanout) withdraw() {
	if f.candidacy == nil {
		return
	}
	_ = f.candidacy.Conn().Close(context.Background())
	f.candidacy.Release()
	f.candidacy = nil
}

// stepDown reports whether the leader should give up the lead: its polls of
// pull-mode channels have not been enqueued for StepDownAfter because its
// Redis does not answer — a scheduler started with a wrong REDIS_URL, or
// cut off from Redis alone; no poll is asked for while it leads, and the
// channels' bookings do not reach keyrack — and another scheduler whose
// Redis answers stands by. With Redis down for every scheduler it keeps the
// lead: none would do better, and its other work needs no Redis.
func (f *Fanout) stepDown(ctx context.Context, conn *pgxpool.Conn) bool {
	since := f.pullsFailingSince.Load()
	if since == 0 || time.Since(time.Unix(0, since)) < f.cfg.StepDownAfter {
		return false
	}
	var standing int
	if err := conn.QueryRow(ctx, `SELECT count(*)::int FROM pg_locks l
		WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
			AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
			AND (l.classid::bigint << 32) | l.objid::bigint = `+candidacyLockSQL).Scan(&standing); err != nil || standing == 0 {
		return false
	}
	f.log.Warn("scheduler: stepping down: this process's Redis does not answer, so the polls of pull-mode channels are not asked for; "+
		"a scheduler that reaches Redis takes the lead. Check this process's REDIS_URL",
		"failing_since", time.Unix(0, since).UTC().Format(time.RFC3339))
	return true
}

// lead takes the scheduler lock if it is free and runs the periodic work
// until ctx ends or the lock's session fails.
func (f *Fanout) lead(ctx context.Context) error {
	conn, err := f.db.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	var mine bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock(`+schedulerLockSQL+`)`).Scan(&mine); err != nil || !mine {
		return err
	}
	f.leader.Store(true)
	defer f.leader.Store(false)
	f.withdraw() // it leads: it no longer stands by
	f.pullsFailingSince.Store(0)
	defer func() {
		// Closing the session releases the lock whatever state it is in.
		_ = conn.Conn().Close(context.Background())
	}()
	f.log.Info("scheduler: this process leads")
	defer f.schedulePulls(ctx)() // polls of ota_pull channels, on their own short loop (pull.go)
	defer f.maintainTables(ctx)()
	t := time.NewTicker(f.cfg.ScheduleInterval)
	defer t.Stop()
	check := time.NewTicker(f.cfg.ElectionInterval)
	defer check.Stop()
	for {
		// Recorded on the lead's own session, so it is also the check
		// that this session still holds the lead. Bounded: a leader cut off
		// from the database steps down rather than wait for its network to
		// say so (the server ends its session, freeing the lead, within
		// half a minute: inventory.ConnDefaults).
		pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		_, err := conn.Exec(pctx, `UPDATE scheduler_lead SET led_at = now()`)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("scheduler: the session holding the lead failed: %w", err)
		}
		if err := f.runDue(ctx); err != nil && ctx.Err() == nil {
			f.log.Error("scheduler: periodic work failed", "err", err)
		}
	wait:
		for {
			select {
			case <-ctx.Done():
				return nil
			case <-t.C:
				break wait
			case <-check.C:
				if f.stepDown(ctx, conn) {
					return errSteppedDown
				}
			}
		}
	}
}

// runDue runs the due periodic work: the alarm for revisions a PMS has not
// acknowledged in time (feed.go), stale iCal feeds and export calendars no
// platform fetches (ical.go), pull-mode channels keyrack cannot poll
// (pull.go), the nightly resync, the purge of relayed
// outbox rows (relay.go), and of expired inbound messages and
// Idempotency-Keys, and the erasure of guest data past its retention.
func (f *Fanout) runDue(ctx context.Context) error {
	return errors.Join(f.raiseUnacked(ctx), f.raiseStaleFeeds(ctx), f.raiseStaleExports(ctx), f.raiseStalePulls(ctx),
		f.resyncDue(ctx), f.purgeRelayed(ctx), f.purgeExpired(ctx), f.eraseExpiredGuestData(ctx), f.purgePastAcks(ctx))
}

// GuestDataInterval is how often the scheduler erases the guest data kept
// past GuestDataKeep: the retention counts in days, and each run reads the
// reservations whose guest data is kept.
const GuestDataInterval = time.Hour

// eraseExpiredGuestData erases the guest data of the reservations whose
// stay ended, or that were cancelled, more than GuestDataKeep ago, once
// every GuestDataInterval (at once when a process takes the lead).
func (f *Fanout) eraseExpiredGuestData(ctx context.Context) error {
	if f.cfg.GuestDataKeep <= 0 || time.Since(f.guestDataAt) < GuestDataInterval {
		return nil
	}
	n, err := inventory.EraseExpiredGuestData(ctx, f.db, f.cfg.GuestDataKeep)
	if n > 0 {
		f.log.Info("scheduler: guest data past its retention erased", "reservations", n, "guest_data_keep", f.cfg.GuestDataKeep.String())
	}
	if err == nil {
		f.guestDataAt = time.Now()
	}
	return err
}

// purgeExpired deletes the inbound messages older than MessagesKeep — or
// GuestDataKeep when shorter: they hold guests' data — and the
// Idempotency-Keys older than inventory.IdempotencyKeep.
func (f *Fanout) purgeExpired(ctx context.Context) error {
	keep := f.cfg.MessagesKeep
	if f.cfg.GuestDataKeep > 0 && f.cfg.GuestDataKeep < keep {
		keep = f.cfg.GuestDataKeep
	}
	p, err := inventory.PurgeExpired(ctx, f.db, keep)
	if p.Messages > 0 || p.IdempotencyKeys > 0 {
		f.log.Info("scheduler: expired rows deleted", "inbound_messages", p.Messages, "idempotency_keys", p.IdempotencyKeys,
			"messages_keep", keep.String())
	}
	return err
}

// resyncDue runs the nightly resync of every enabled channel pushed
// availability whose property's local time has passed ResyncAt today and
// that has not been resynced for tonight (inventory.TonightSQL): with a
// property's nights sold past midnight, once last night's sale has ended
// too, so that the horizon's new last night is in it.
func (f *Fanout) resyncDue(ctx context.Context) error {
	if f.resyncAt < 0 {
		return nil
	}
	rows, _ := f.db.Query(ctx, `
		SELECT p.code, c.code FROM channels c
		JOIN properties p ON p.id = c.property_id
		LEFT JOIN sync_channels s ON s.property_id = c.property_id AND s.channel_id = c.id
		WHERE c.enabled AND c.kind = ANY($2::text[])
			AND coalesce(s.resynced_on, '-infinity') < `+inventory.TonightSQL+`
			AND (now() AT TIME ZONE p.time_zone)::time >= time '00:00' + $1::interval
		ORDER BY p.code, c.code`, f.resyncAt, f.pushed)
	type due struct{ property, channel string }
	todo, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (due, error) {
		var d due
		err := r.Scan(&d.property, &d.channel)
		return d, err
	})
	if err != nil {
		return err
	}
	var errs []error
	for _, d := range todo {
		if err := f.Resync(ctx, d.property, d.channel); err != nil {
			errs = append(errs, fmt.Errorf("resync %s/%s: %w", d.property, d.channel, err))
		}
	}
	if len(todo) > 0 {
		f.log.Info("scheduler: nightly resync", "channels", len(todo))
	}
	return errors.Join(errs...)
}

// maintainTables analyzes and vacuums keyrack's tables, every
// MaintainInterval, where the server's autovacuum would have and is off
// (inventory.MaintainTables), until the returned stop is called. A table
// keyrack's database user may not maintain is named in a warning, once.
func (f *Fanout) maintainTables(ctx context.Context) (stop func()) {
	warned := map[string]bool{}
	return f.everyInBackground(ctx, f.cfg.MaintainInterval, "table maintenance", func(ctx context.Context) (bool, error) {
		did, err := inventory.MaintainTables(ctx, f.db, f.maintainAlways)
		for _, m := range did {
			if m.NotOwner {
				if !warned[m.Table] {
					warned[m.Table] = true
					f.log.Warn("scheduler: PostgreSQL runs without autovacuum and keyrack's database user owns neither this table nor the database, so the table's statistics and dead rows are not kept: turn autovacuum on, or run keyrack as the tables' owner",
						"table", m.Table)
				}
				continue
			}
			f.log.Debug("scheduler: table maintenance", "table", m.Table, "vacuumed", m.Vacuumed, "analyzed", m.Analyzed)
		}
		return false, err
	})
}

package sync

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
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
//
// A leader that stops working while its process lives on — stopped
// (SIGSTOP), or hung — keeps its session, and with it the lead: PostgreSQL
// sees nothing wrong. So the leader shows on that session that it works: a
// statement (beat) before each piece of its round, every ElectionInterval
// while a piece runs (for up to pieceMax: a piece that long is stuck) and
// while it waits. A scheduler that does not lead ends the session of a
// leader that has shown nothing for TakeOverAfter, and takes the lead
// (takeOver): a stopped process beats no more. The old leader, when it
// resumes, finds its session ended at its next beat, which also ends the
// piece under way, and stands by; its polls and table maintenance, on
// loops of their own, check before each run that its session still holds
// the lead (whileLeading).

const schedulerLockSQL = `hashtextextended(current_schema() || '/keyrack/sync/scheduler', 0)`

// RunScheduler runs the scheduler role until ctx ends: it tries to become
// the leader and, while it leads, runs the due periodic work every
// ScheduleInterval.
func (f *Fanout) RunScheduler(ctx context.Context) error {
	defer f.candidacy.release()
	for {
		wait := f.cfg.ElectionInterval
		switch err := f.lead(ctx); {
		case errors.Is(err, errSteppedDown):
			// Long enough for a scheduler that stands by to take the lead.
			wait = 3 * f.cfg.ElectionInterval
		case errors.Is(err, errLeadTaken):
			f.log.Warn("scheduler: this process no longer leads: another scheduler ended its session and took the lead, "+
				"this one having given no sign of life for longer than it allows (was its process stopped, or hung?); standing by",
				"take_over_after", f.cfg.TakeOverAfter.String())
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

// errLeadLost: a piece of the leader's round found the lead's session gone.
var errLeadLost = errors.New("scheduler: the lead was lost")

// errLeadTaken: the leader's session was ended by another scheduler
// (takeOver), or by anyone with pg_terminate_backend.
var errLeadTaken = errors.New("scheduler: the session holding the lead was ended")

// candidacyLockSQL is the key of the advisory lock that the schedulers not
// leading whose Redis answers hold shared, each on a session of its own: the
// leader counts them (stepDown).
const candidacyLockSQL = `hashtextextended(current_schema() || '/keyrack/sync/scheduler/candidates', 0)`

// standBy holds the candidacy lock while this process's Redis answers, and
// lets it go while it does not.
func (f *Fanout) standBy(ctx context.Context) {
	pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	answers := f.cfg.Queue.Ping(pctx) == nil
	cancel()
	if !answers {
		f.candidacy.release()
		return
	}
	f.candidacy.hold(ctx, f.db)
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
	if err := conn.QueryRow(ctx, `SELECT count(*)::int FROM pg_locks l WHERE `+heldSQL(candidacyLockSQL)).
		Scan(&standing); err != nil || standing == 0 {
		return false
	}
	f.log.Warn("scheduler: stepping down: this process's Redis does not answer, so the polls of pull-mode channels are not asked for; "+
		"a scheduler that reaches Redis takes the lead. Check this process's REDIS_URL",
		"failing_since", time.Unix(0, since).UTC().Format(time.RFC3339))
	return true
}

// heldSQL is the condition on pg_locks l that the advisory lock key
// (bigint: it shows in pg_locks as its high and low halves) is held in this
// database.
func heldSQL(key string) string {
	return `l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
		AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
		AND (l.classid::bigint << 32) | l.objid::bigint = ` + key
}

// lead takes the scheduler lock if it is free, or held by a leader that has
// given no sign of life for TakeOverAfter (takeOver), and runs the periodic
// work until ctx ends or the lock's session fails.
func (f *Fanout) lead(ctx context.Context) error {
	conn, err := f.db.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	try := func() (mine bool, err error) {
		err = conn.QueryRow(ctx, `SELECT pg_try_advisory_lock(`+schedulerLockSQL+`)`).Scan(&mine)
		return mine, err
	}
	mine, err := try()
	if err == nil && !mine && f.takeOver(ctx, conn) {
		mine, err = try()
	}
	if err != nil || !mine {
		return err
	}
	f.leader.Store(true)
	defer f.leader.Store(false)
	f.candidacy.release() // it leads: it no longer stands by
	f.pullsFailingSince.Store(0)
	defer func() {
		// Closing the session releases the lock whatever state it is in.
		_ = conn.Conn().Close(context.Background())
	}()
	f.log.Info("scheduler: this process leads")
	// The session's statements are its beats. Bounded: a leader cut off
	// from the database steps down rather than wait for its network to
	// say so (the server ends its session, freeing the lead, within half a
	// minute: inventory.ConnDefaults).
	exec := func(sql string) error {
		pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		_, err := conn.Exec(pctx, sql)
		return err
	}
	pid := conn.Conn().PgConn().PID()
	var lost error // the beat that found the session gone
	beat := func() error {
		if lost == nil {
			lost = exec(`SELECT 'keyrack scheduler: leads'`)
		}
		return lost
	}
	// A piece of the round: checked before (the lead may have gone while
	// this process was stopped), and beaten for while it runs — a long piece
	// (a nightly resync of many channels, a first erasure of years of guest
	// data) is work, not a hang — up to pieceMax, past which it is taken
	// for stuck (and only checked for). A beat, or check, that finds the
	// lead gone ends the piece (its ctx).
	piece := func(ctx context.Context, work func(context.Context) error) error {
		f.pause()
		if beat() != nil {
			return errLeadLost
		}
		wctx, cancel := context.WithCancel(ctx)
		defer cancel()
		done, beating := make(chan struct{}), make(chan struct{})
		go func() {
			defer close(beating)
			t := time.NewTicker(f.cfg.ElectionInterval)
			defer t.Stop()
			until := time.Now().Add(f.pieceMax)
			for {
				select {
				case <-done:
					return
				case <-t.C:
					if time.Now().Before(until) {
						if beat() != nil {
							cancel()
							return
						}
					} else if held, err := f.leadHeld(ctx, pid); err == nil && !held {
						// Stuck, and taken over: the piece ends.
						lost = errLeadTaken
						cancel()
						return
					}
				}
			}
		}()
		if f.slowPiece != nil {
			f.slowPiece(wctx)
		}
		err := work(wctx)
		close(done)
		<-beating // the session is the loop's again
		if lost != nil {
			return errLeadLost
		}
		return err
	}
	gone := func(err error) error {
		var pgErr *pgconn.PgError
		switch {
		case ctx.Err() != nil:
			return nil
		case errors.Is(err, errLeadTaken):
			return err
		// Ended by pg_terminate_backend (a server shutting down says the
		// same), and the lead is held again: another scheduler took it.
		case errors.As(err, &pgErr) && pgErr.Code == "57P01":
			if held, _ := f.leadHeld(ctx, 0); held {
				return errLeadTaken
			}
		}
		return fmt.Errorf("scheduler: the session holding the lead failed: %w", err)
	}
	defer f.schedulePulls(ctx, pid)() // polls of ota_pull channels, on their own short loop (pull.go)
	defer f.maintainTables(ctx, pid)()
	t := time.NewTicker(f.cfg.ScheduleInterval)
	defer t.Stop()
	check := time.NewTicker(f.cfg.ElectionInterval)
	defer check.Stop()
	for {
		f.pause()
		// Recorded on the lead's own session, so it is also the check
		// that this session still holds the lead.
		if err := exec(`UPDATE scheduler_lead SET led_at = now()`); err != nil {
			return gone(err)
		}
		if err := f.runDue(ctx, piece); lost != nil {
			return gone(lost)
		} else if err != nil && ctx.Err() == nil {
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
				f.pause()
				if err := beat(); err != nil {
					return gone(err)
				}
				if f.stepDown(ctx, conn) {
					return errSteppedDown
				}
			}
		}
	}
}

// takeOver ends the session holding the lead if it has shown no sign of
// life (a statement: the leader's beats) for TakeOverAfter — its process
// stopped or hung, alive, so PostgreSQL keeps the session and the lead — and
// reports whether it did. A failure to end it (keyrack's database user may
// not end that session) is logged once until one works.
func (f *Fanout) takeOver(ctx context.Context, conn *pgxpool.Conn) bool {
	var (
		pid         int32
		app, client string
		silent      float64
		ended       bool
	)
	err := conn.QueryRow(ctx, `SELECT a.pid, a.application_name, coalesce(host(a.client_addr), 'local socket'),
			extract(epoch FROM now() - a.state_change)::float8, pg_terminate_backend(a.pid, 5000)
		FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
		WHERE `+heldSQL(schedulerLockSQL)+` AND a.state_change < now() - $1::interval`, f.cfg.TakeOverAfter).
		Scan(&pid, &app, &client, &silent, &ended)
	if errors.Is(err, pgx.ErrNoRows) {
		return false
	}
	if err != nil {
		if !f.takeOverFailed && ctx.Err() == nil {
			f.takeOverFailed = true
			f.log.Error("scheduler: the leading scheduler has given no sign of life for longer than allowed, and its session "+
				"could not be ended: restart the process that runs it", "err", err, "take_over_after", f.cfg.TakeOverAfter.String())
		}
		return false
	}
	f.takeOverFailed = false
	f.log.Warn("scheduler: taking the lead from a scheduler that stopped answering: its session had shown no sign of life "+
		"for longer than allowed, so it was ended (its process is stopped or hangs: restart it)",
		"silent", time.Duration(silent*float64(time.Second)).Round(time.Millisecond).String(), "take_over_after", f.cfg.TakeOverAfter.String(),
		"pid", pid, "application", app, "client", client, "ended", ended)
	return true
}

// whileLeading runs fn, in one of the leader's loops of its own (polls,
// table maintenance), only while the session lead (its pid) still holds the
// lead: a leader stopped or hung long enough for another to take over may
// resume in one of those loops before its own loop finds out.
func (f *Fanout) whileLeading(lead uint32, fn func(context.Context) (bool, error)) func(context.Context) (bool, error) {
	return func(ctx context.Context) (bool, error) {
		if holds, err := f.leadHeld(ctx, lead); err != nil || !holds {
			return false, err
		}
		return fn(ctx)
	}
}

// leadHeld reports whether the session of process id pid (any session,
// when pid is 0) holds the lead.
func (f *Fanout) leadHeld(ctx context.Context, pid uint32) (bool, error) {
	var held bool
	err := f.db.QueryRow(ctx, `SELECT EXISTS (SELECT FROM pg_locks l WHERE `+heldSQL(schedulerLockSQL)+`
		AND (l.pid = $1 OR $1 = 0))`, int32(pid)).Scan(&held)
	return held, err
}

// pause calls the tests' leaderPause, if set.
func (f *Fanout) pause() {
	if f.leaderPause != nil {
		f.leaderPause()
	}
}

// runDue runs the due periodic work: the alarm for revisions a PMS has not
// acknowledged in time (feed.go), stale iCal feeds and export calendars no
// platform fetches (ical.go), pull-mode channels keyrack cannot poll
// (pull.go), the nightly resync, the purge of relayed
// outbox rows (relay.go), and of expired inbound messages and
// Idempotency-Keys, and the erasure of guest data past its retention.
// Each piece runs through run (the leader's piece); the round ends at the
// first that finds the lead lost (errLeadLost).
func (f *Fanout) runDue(ctx context.Context, run func(context.Context, func(context.Context) error) error) error {
	var errs []error
	for _, work := range []func(context.Context) error{f.raiseUnacked, f.raiseStaleFeeds, f.raiseStaleExports, f.raiseStalePulls,
		f.resyncDue, f.purgeRelayed, f.purgeExpired, f.eraseExpiredGuestData, f.purgePastAcks} {
		err := run(ctx, work)
		if errors.Is(err, errLeadLost) {
			return err
		}
		errs = append(errs, err)
	}
	return errors.Join(errs...)
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
// Each run goes ahead only while the session lead holds the lead.
func (f *Fanout) maintainTables(ctx context.Context, lead uint32) (stop func()) {
	warned := map[string]bool{}
	return f.everyInBackground(ctx, f.cfg.MaintainInterval, "table maintenance", f.whileLeading(lead, func(ctx context.Context) (bool, error) {
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
	}))
}

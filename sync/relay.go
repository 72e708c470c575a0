package sync

import (
	"context"
	"errors"
	gosync "sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/keyrack/keyrack/inventory"
)

// The outbox relay: turns the availability rows inventory writes into dirty
// marks per channel, then wakes the channels up.

// runRelay relays until ctx ends, looking for new rows every RelayInterval
// while there is work and going on at once while it finds full batches.
// Availability and reservation rows are relayed by loops of their own, so
// the channels' availability never waits for the PMS feed's relay of many
// properties. Once nothing has come for RelayQuiet, the relays look only
// every RelayIdleInterval, and at once when a Store says it committed
// outbox rows (inventory.OutboxChannel): an idle hotel's relay no longer
// asks PostgreSQL a hundred times a second, and a booking arriving then is
// relayed sooner than a 20 ms poll took it.
func (f *Fanout) runRelay(ctx context.Context) {
	woken := &signal{}
	var wg gosync.WaitGroup
	wg.Go(func() { f.listenOutbox(ctx, woken) })
	wg.Go(func() {
		f.whenWoken(ctx, woken, "outbox relay", f.relayAvailability)
	})
	wg.Go(func() {
		f.whenWoken(ctx, woken, "reservation relay", f.relayAllReservations)
	})
	wg.Wait()
}

// RelayQuiet is how long the relay goes on looking every RelayInterval
// after it last found rows or was told of some, before it looks only every
// RelayIdleInterval. It is longer than inventory.NotifySpacing, so a commit
// whose notification waits behind the one before finds the relay looking.
const RelayQuiet = time.Second

// whenWoken runs fn now, then every RelayInterval while fn finds rows (at
// once again when it takes a full batch, RelayBatch), and for RelayQuiet
// after; then every RelayIdleInterval, or at once when woken — never two
// runs within RelayInterval, so changes coalesce as they did. A failure
// keeps it looking every RelayInterval (logged at most once every 10 s).
func (f *Fanout) whenWoken(ctx context.Context, woken *signal, what string, fn func(context.Context) (int, error)) {
	var lastErr time.Time
	busyUntil := time.Now().Add(RelayQuiet)
	for {
		wake := woken.C() // before fn: a wake-up during it is not missed
		start := time.Now()
		n, err := fn(ctx)
		if err != nil && ctx.Err() == nil && time.Since(lastErr) > 10*time.Second {
			lastErr = time.Now()
			f.log.Error(what+" failed; retrying", "err", err)
		}
		if err == nil && n >= f.cfg.RelayBatch {
			continue
		}
		if n > 0 || err != nil {
			busyUntil = time.Now().Add(RelayQuiet)
		}
		next, idle := start.Add(f.cfg.RelayInterval), time.Now().After(busyUntil)
		if idle {
			next = start.Add(f.cfg.RelayIdleInterval)
			f.relaysIdle.Add(1)
		}
		t := time.NewTimer(time.Until(next))
		select {
		case <-ctx.Done():
		case <-t.C:
		case <-wake:
		}
		t.Stop()
		if idle {
			f.relaysIdle.Add(-1)
		}
		select {
		case <-ctx.Done():
			return
		case <-wake:
			busyUntil = time.Now().Add(RelayQuiet)
			if !sleepCtx(ctx, time.Until(start.Add(f.cfg.RelayInterval))) {
				return
			}
		default: // the timer's
		}
	}
}

// sleepCtx waits d (nothing if d ≤ 0) and says whether ctx is still live.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-ctx.Done():
		case <-t.C:
		}
	}
	return ctx.Err() == nil
}

// signal is a wake-up that any number of goroutines wait for: Wake
// releases every channel C returned before it.
type signal struct {
	mu gosync.Mutex
	ch chan struct{}
}

// C returns the channel the next Wake closes.
func (s *signal) C() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ch == nil {
		s.ch = make(chan struct{})
	}
	return s.ch
}

// Wake releases the waiters.
func (s *signal) Wake() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ch != nil {
		close(s.ch)
		s.ch = nil
	}
}

// listenOutbox wakes the relays on every notification of committed outbox
// rows (inventory.OutboxChannel), on a connection of its own, until ctx
// ends. A connection that fails is opened again a RelayIdleInterval later,
// and the relays are woken each time (what was told meanwhile was lost).
func (f *Fanout) listenOutbox(ctx context.Context, woken *signal) {
	for {
		err := f.listenOnce(ctx, woken)
		woken.Wake()
		if ctx.Err() != nil {
			return
		}
		f.log.Debug("listening for new outbox rows failed; the relay polls meanwhile", "err", err)
		if !sleepCtx(ctx, f.cfg.RelayIdleInterval) {
			return
		}
	}
}

func (f *Fanout) listenOnce(ctx context.Context, woken *signal) error {
	conn, err := pgx.ConnectConfig(ctx, f.db.Config().ConnConfig.Copy())
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, `LISTEN `+pgx.Identifier{inventory.OutboxChannel(f.db.Config().ConnConfig)}.Sanitize()); err != nil {
		return err
	}
	woken.Wake() // rows committed before the LISTEN told no one
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return err
		}
		woken.Wake()
	}
}

// every runs fn now and then every interval until ctx ends, at once again
// when fn says there is more to do. Failures are logged, at most one every
// 10 s, and the next round tries again.
func (f *Fanout) every(ctx context.Context, interval time.Duration, what string, fn func(context.Context) (more bool, err error)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	var lastErr time.Time
	for {
		more, err := fn(ctx)
		if err != nil && ctx.Err() == nil && time.Since(lastErr) > 10*time.Second {
			lastErr = time.Now()
			f.log.Error(what+" failed; retrying", "err", err)
		}
		if more && err == nil {
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// everyInBackground runs every(ctx, interval, what, fn) in a goroutine of
// its own until the returned stop is called (or ctx ends); stop returns once
// it has.
func (f *Fanout) everyInBackground(ctx context.Context, interval time.Duration, what string, fn func(context.Context) (bool, error)) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		f.every(ctx, interval, what, fn)
	}()
	return func() { cancel(); <-done }
}

// relayParallel is how many properties' relay transactions run at a time.
const relayParallel = 4

// relayAvailability relays the pending availability rows of every
// property, a transaction each (no transaction touches two properties, so
// the schema can be distributed by property), relayParallel at a time so
// that one property's relay does not wait for all the others', and returns
// the most rows it took from one.
func (f *Fanout) relayAvailability(ctx context.Context) (int, error) {
	rows, _ := f.db.Query(ctx, `SELECT DISTINCT property_id FROM outbox
		WHERE done_at IS NULL AND topic = 'availability' ORDER BY property_id LIMIT 1000`)
	props, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil || len(props) == 0 {
		return 0, err
	}
	var mu gosync.Mutex
	most := 0
	var errs []error
	slots := make(chan struct{}, relayParallel)
	var wg gosync.WaitGroup
	for _, p := range props {
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			n, err := f.relayProperty(ctx, p)
			mu.Lock()
			defer mu.Unlock()
			most = max(most, n)
			if err != nil {
				errs = append(errs, err)
			}
		})
	}
	wg.Wait()
	return most, errors.Join(errs...)
}

// relayAllReservations turns pending reservation rows into feed entries for
// the PMS channels (feed.go), property by property.
func (f *Fanout) relayAllReservations(ctx context.Context) (int, error) {
	rows, _ := f.db.Query(ctx, `SELECT DISTINCT property_id FROM outbox
		WHERE done_at IS NULL AND topic = 'reservation' LIMIT 100`)
	props, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return 0, err
	}
	most := 0
	var errs []error
	for _, p := range props {
		n, err := f.relayReservations(ctx, p)
		most = max(most, n)
		if err != nil {
			errs = append(errs, err)
		}
	}
	return most, errors.Join(errs...)
}

// propertyLock is the key of the transaction-scoped lock that serialises
// the writers of one property's dirty marks (relays and resyncs), so they
// lock rows in the same order and cannot deadlock; property is an SQL
// expression for its id. The schema is part of the key because advisory
// locks are per database and tests share one.
func propertyLock(property string) string {
	return `hashtextextended(current_schema() || '/keyrack/sync/property/' || (` + property + `)::bigint::text, 0)`
}

// feedLock is the key of the transaction-scoped lock a relay of a
// property's reservation rows holds (relayReservations).
func feedLock(property string) string {
	return `hashtextextended(current_schema() || '/keyrack/sync/feed/' || (` + property + `)::bigint::text, 0)`
}

// relayProperty relays, in one transaction, up to RelayBatch pending rows
// of the property if it gets its lock (another relay or a resync holds it
// otherwise, and the rows are not ours to take anyway), then enqueues the
// channels that need it. It returns how many rows it took. The transaction
// is two round trips (its BEGIN and COMMIT pipelined with its statements):
// the marks it locks hold deliveries back until it ends. (Its statements
// take arrays of properties and carry the property per row: one
// transaction for every property was tried, and is what a single database
// would rather do — fewer statements per booking — but no transaction may
// touch two properties.)
func (f *Fanout) relayProperty(ctx context.Context, property int64) (int, error) {
	props := []int64{property}
	conn, err := f.db.Acquire(ctx)
	if err != nil {
		return 0, err
	}
	defer conn.Release()
	defer func() {
		if conn.Conn().PgConn().TxStatus() != 'I' {
			// Failed halfway: roll back, or drop the connection.
			if _, err := conn.Exec(context.WithoutCancel(ctx), "ROLLBACK"); err != nil {
				_ = conn.Conn().Close(context.WithoutCancel(ctx))
			}
		}
	}()
	var most int
	var pairProps, channels []int64
	var classes []string
	var idProps, ids []int64 // the rows taken: ids[i] is idProps[i]'s
	b := &pgx.Batch{}
	b.Queue("BEGIN")
	// One statement takes the rows of the properties whose lock it gets,
	// marks them done and marks every channel dirty (its change marks, not
	// its resync marks) — the origin's nights as echoes, which a delivery
	// does not send back unless the origin's own count may be off. Rows are
	// locked in (property, channel, pool) order, each property's as a resync
	// or a delivery of it locks them. Its generic plan: planned for its
	// arrays it took 0.8 ms to plan (and 1.9 to run), generic 0.14 (and
	// 1.3), with statistics kept (see load in deliver.go).
	inventory.QueueGenericPlan(b, `
		WITH mine AS MATERIALIZED (
			SELECT p FROM unnest($1::bigint[]) AS p WHERE pg_try_advisory_xact_lock(`+propertyLock("p")+`)
		), claimed AS (
			SELECT o.property_id, o.id, o.pool_id, o.from_night, o.to_night, o.origin_channel_id, o.bulk, o.echo
			FROM mine CROSS JOIN LATERAL (
				SELECT property_id, id, pool_id, from_night, to_night, origin_channel_id, bulk, echo FROM outbox
				WHERE property_id = mine.p AND done_at IS NULL AND topic = 'availability'
				ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED) AS o
		), done AS (
			UPDATE outbox o SET done_at = now() FROM claimed c WHERE o.property_id = c.property_id AND o.id = c.id
		), sells AS (
			-- The enabled channels that sell each pool (a room of theirs
			-- draws on it) and are pushed availability (a connector for
			-- their kind: not a PMS), with how many of their items do: room
			-- codes, or room and rate pairs for a channel that keeps
			-- availability per room and rate (ari_level), whose sale of one
			-- rate lowers that rate's count only.
			SELECT m.property_id, m.channel_id, rt.pool_id,
				count(DISTINCT (m.channel_room, CASE WHEN ch.ari_level = 'rate' THEN m.channel_rate ELSE '' END)) AS rooms
			FROM mappings m
			JOIN room_types rt ON rt.property_id = m.property_id AND rt.id = m.room_type_id
			JOIN channels ch ON ch.property_id = m.property_id AND ch.id = m.channel_id AND ch.enabled
				AND ch.kind = ANY($3::text[])
			WHERE m.property_id IN (SELECT p FROM mine)
			GROUP BY m.property_id, m.channel_id, rt.pool_id
		), targets AS (
			SELECT c.property_id, s.channel_id, c.pool_id, daterange(c.from_night, c.to_night) AS nights, c.bulk,
				-- The origin's own change is an echo only when it sells the
				-- pool as one item: a channel lowers the count of the room
				-- (or room and rate) it sold, not of its other items on the
				-- same pool, and those must be told. Nor where the pool's value did not
				-- move as the channel's count did (outbox.echo).
				s.channel_id IS NOT DISTINCT FROM c.origin_channel_id AND s.rooms = 1 AND c.echo AS own
			FROM claimed c JOIN sells s ON s.property_id = c.property_id AND s.pool_id = c.pool_id
		), marked AS (
			INSERT INTO sync_dirty AS d (property_id, channel_id, pool_id, resync, nights, echo)
			SELECT property_id, channel_id, pool_id, false, range_agg(nights),
				range_agg(nights) - coalesce(range_agg(nights) FILTER (WHERE NOT own), '{}')
			FROM targets GROUP BY property_id, channel_id, pool_id ORDER BY property_id, channel_id, pool_id
			ON CONFLICT (property_id, channel_id, pool_id, resync) DO UPDATE SET
				nights = d.nights + EXCLUDED.nights,
				-- A night stays an echo only while no one else changed it.
				echo = (d.echo + EXCLUDED.echo) - (d.nights - d.echo) - (EXCLUDED.nights - EXCLUDED.echo),
				version = nextval('sync_version')
		)
		SELECT (SELECT coalesce(array_agg(property_id ORDER BY property_id, id), '{}') FROM claimed),
			(SELECT coalesce(array_agg(id ORDER BY property_id, id), '{}') FROM claimed),
			(SELECT coalesce(max(n), 0) FROM (SELECT count(*) AS n FROM claimed GROUP BY property_id) AS k),
			t.property_id, t.channel_id, t.critical
		FROM (SELECT 1) AS one LEFT JOIN (
			SELECT property_id, channel_id, NOT bool_and(bulk) AS critical FROM targets GROUP BY property_id, channel_id
		) AS t ON true
		ORDER BY t.property_id, t.channel_id`, props, f.cfg.RelayBatch, f.pushed).Query(func(rows pgx.Rows) error {
		var prop, ch *int64
		var critical *bool
		_, err := pgx.ForEachRow(rows, []any{&idProps, &ids, &most, &prop, &ch, &critical}, func() error {
			if ch != nil {
				pairProps = append(pairProps, *prop)
				channels = append(channels, *ch)
				classes = append(classes, classFor(*critical))
			}
			return nil
		})
		return err
	})
	if err := conn.SendBatch(ctx, b).Close(); err != nil {
		return 0, err
	}
	if len(ids) == 0 {
		_, err := conn.Exec(ctx, "COMMIT")
		return 0, err
	}
	b = &pgx.Batch{}
	// The origin lowered (or raised) its own count when it took the
	// booking, so it no longer holds what it acknowledged. (A statement of
	// its own: dirty marks, then acknowledgements, is the order in which
	// deliveries lock them too.) Its generic plan: planned for its
	// arrays it took 0.8 ms to plan and 0.36 to run, generic 0.05 and 0.5
	// (with statistics kept; see load in deliver.go).
	inventory.QueueGenericPlan(b, relayOwnSQL, idProps, ids)
	wake := queueMarkQueued(b, pairProps, channels, classes)
	b.Queue("COMMIT")
	if err := conn.SendBatch(ctx, b).Close(); err != nil {
		return 0, err
	}
	f.wake(ctx, *wake)
	return most, nil
}

// purgeRelayed deletes the outbox rows relayed more than OutboxKeep ago,
// inventory.PurgeBatch at a time. Nothing reads them — the relays,
// deliveries and staff pages read pending rows only — and kept, the table
// would grow with every booking for ever.
func (f *Fanout) purgeRelayed(ctx context.Context) error {
	_, err := inventory.DeleteInBatches(ctx, f.db, `DELETE FROM outbox o USING (
			SELECT property_id, id FROM outbox WHERE done_at < now() - $1::interval LIMIT $2
		) AS old WHERE o.property_id = old.property_id AND o.id = old.id`, f.cfg.OutboxKeep)
	return err
}

func classFor(critical bool) string {
	if critical {
		return classCritical
	}
	return classBulk
}

// wakeup is a delivery task to enqueue once the transaction that asked for
// it has committed.
type wakeup struct {
	pair
	class string
	gen   int64
}

// markQueued records, in tx, that a task is about to be enqueued for each
// channel that has none waiting — or only a bulk one when the change is
// critical, so a bulk resync queued for a channel never holds a booking back.
// channels must be sorted; classes are their queue classes.
func markQueued(ctx context.Context, tx pgx.Tx, property int64, channels []int64, classes []string) ([]wakeup, error) {
	props := make([]int64, len(channels))
	for i := range props {
		props[i] = property
	}
	return markQueuedPairs(ctx, tx, props, channels, classes)
}

// markQueuedPairs is markQueued for channels of several properties: the
// i-th channel is props[i]'s; the pairs must be sorted.
func markQueuedPairs(ctx context.Context, tx pgx.Tx, props, channels []int64, classes []string) ([]wakeup, error) {
	b := &pgx.Batch{}
	out := queueMarkQueued(b, props, channels, classes)
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return nil, err
	}
	return *out, nil
}

// queueMarkQueued queues markQueuedPairs' statements in b; the wake-ups are
// there once b has run.
func queueMarkQueued(b *pgx.Batch, props, channels []int64, classes []string) *[]wakeup {
	out := new([]wakeup)
	if len(channels) == 0 {
		return out
	}
	// Only the pairs without a row: ON CONFLICT alone would wait for every
	// delivery that holds a pair's row locked.
	b.Queue(`INSERT INTO sync_channels (property_id, channel_id)
		SELECT p, c FROM unnest($1::bigint[], $2::bigint[]) AS k (p, c)
		WHERE NOT EXISTS (SELECT 1 FROM sync_channels s WHERE s.property_id = k.p AND s.channel_id = k.c)
		ORDER BY p, c ON CONFLICT DO NOTHING`, props, channels)
	// Every pair's row is locked, also where a task waits already and none
	// is enqueued: that task's claim then waits for this transaction, and
	// its delivery reads the marks made here. Unlocked, the task could read
	// the pair, find nothing and end before they were committed, and no one
	// would deliver them until the pair's next change or the sweeper.
	b.Queue(`
		WITH w AS (
			SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[]) AS w (property_id, channel_id, class)
		), locked AS (
			SELECT s.property_id, s.channel_id, s.queued FROM sync_channels s
			JOIN w ON s.property_id = w.property_id AND s.channel_id = w.channel_id
			ORDER BY s.property_id, s.channel_id FOR NO KEY UPDATE OF s
		)
		UPDATE sync_channels s SET gen = s.gen + 1, queued = w.class, queued_gen = s.gen + 1, queued_at = now(), archived = false
		FROM w JOIN locked l ON l.property_id = w.property_id AND l.channel_id = w.channel_id
		WHERE s.property_id = w.property_id AND s.channel_id = w.channel_id
			AND (l.queued IS NULL OR (l.queued = 'bulk' AND w.class = 'critical'))
		RETURNING s.property_id, s.channel_id, s.queued, s.gen`, props, channels, classes).Query(func(rows pgx.Rows) error {
		var w wakeup
		_, err := pgx.ForEachRow(rows, []any{&w.Property, &w.Channel, &w.class, &w.gen}, func() error {
			*out = append(*out, w)
			return nil
		})
		return err
	})
	return out
}

// wake enqueues the tasks; what fails to enqueue stays marked in
// PostgreSQL, handed back to the sweepers (handBack).
func (f *Fanout) wake(ctx context.Context, ws []wakeup) {
	for i, w := range ws {
		if err := f.enqueue(ctx, w.pair, w.class, w.gen, 0); err != nil {
			f.handBack(ctx, ws[i:]) // Redis is down (noted once), or this process cannot reach it
			return
		}
	}
}

// handBack makes the wake-ups this process could not enqueue due for every
// worker's sweeper at once: marked queued just now, they would otherwise be
// looked for in Redis only StaleAfter later. When Redis is down for every
// process that changes nothing (no sweeper reaches it either); when only
// this one cannot reach it — a worker started with a wrong REDIS_URL, or
// cut off from Redis alone, whose relay goes on taking its share of the
// changes —, a worker that reaches Redis enqueues them within its
// SweepInterval rather than every channel waiting seconds for each change
// this one took. The wake-ups are one property's (wake's callers).
func (f *Fanout) handBack(ctx context.Context, ws []wakeup) {
	props, channels, gens := make([]int64, len(ws)), make([]int64, len(ws)), make([]int64, len(ws))
	for i, w := range ws {
		props[i], channels[i], gens[i] = w.Property, w.Channel, w.gen
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	// Only while the task asked for is still the one waiting.
	if _, err := f.db.Exec(ctx, `UPDATE sync_channels s SET queued_at = '-infinity'
		FROM unnest($1::bigint[], $2::bigint[], $3::bigint[]) AS w (property_id, channel_id, gen)
		WHERE s.property_id = w.property_id AND s.channel_id = w.channel_id AND s.queued_gen = w.gen`,
		props, channels, gens); err != nil {
		f.log.Warn("could not hand channels' wake-ups to the sweepers; they look for them in Redis later", "err", err)
	}
}

// relayOwnSQL marks the acknowledgements of the nights a relayed row's
// origin changed itself ($1, $2: the rows' properties and ids). The rows
// are read by their key first, on their own (MATERIALIZED), and only then
// joined to the acknowledgements: the statement runs with a generic plan,
// and one made while the tables were small (a new installation's first
// minutes, before any ANALYZE) joined every acknowledgement of the
// property to every row id first (by property alone: 10 ids and 970
// acknowledgements were the planner's guess) and read the outbox for each
// pair — a relay of 1,000 rows ran for 75 s, holding its dirty marks, so
// every delivery of the property waited behind it (BenchmarkSyncLag found
// it, one run in five).
const relayOwnSQL = `
		WITH c AS MATERIALIZED (
			-- Since the channel sold: when keyrack heard of it, or earlier
			-- for a pulled booking (Revision.ChannelSince).
			SELECT c.property_id, c.origin_channel_id, c.pool_id, c.from_night, c.to_night,
				coalesce(c.origin_at, c.created_at) AS created_at
			-- The rows by their key: property_id = ANY(…) AND id = ANY(…)
			-- read every row the properties ever had.
			FROM unnest($1::bigint[], $2::bigint[]) AS k (property_id, id)
			JOIN outbox c ON c.property_id = k.property_id AND c.id = k.id
		), own AS (
			SELECT a.property_id, a.channel_id, a.pool_id, a.night, c.created_at
			FROM c JOIN sync_acks a
				ON a.property_id = c.property_id AND a.channel_id = c.origin_channel_id AND a.pool_id = c.pool_id
				AND a.night >= c.from_night AND a.night < c.to_night
			ORDER BY a.property_id, a.channel_id, a.pool_id, a.night
			FOR UPDATE OF a
		)
		UPDATE sync_acks a SET origin_changed_at = least(a.origin_changed_at, o.at)
		FROM (SELECT property_id, channel_id, pool_id, night, min(created_at) AS at FROM own
			GROUP BY property_id, channel_id, pool_id, night) AS o
		WHERE a.property_id = o.property_id AND a.channel_id = o.channel_id AND a.pool_id = o.pool_id AND a.night = o.night`

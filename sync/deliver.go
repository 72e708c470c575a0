package sync

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/hibiken/asynq"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/keyrack/keyrack/connectors"
	"github.com/keyrack/keyrack/inventory"
)

// A delivery brings one channel of one property up to date. Deliveries to
// the same pair never overlap: each holds a PostgreSQL advisory lock on the
// pair for as long as it runs, so an older state can never reach the
// channel after a newer one, and a worker that dies (SIGKILL) releases the
// lock with its connection. Every statement of a delivery runs on the
// connection that holds the lock: if the lock is lost, so is the delivery.

// pairLockSQL is the advisory lock key of a pair; the schema is part of it
// because advisory locks are per database and tests share one.
const pairLockSQL = `hashtextextended(current_schema() || '/keyrack/sync/channel/' || $1::bigint::text || '/' || $2::bigint::text, 0)`

// handleChannelTask is the asynq handler of taskChannel.
func (f *Fanout) handleChannelTask(ctx context.Context, t *asynq.Task) error {
	var p taskPayload
	if err := json.Unmarshal(t.Payload(), &p); err != nil {
		return fmt.Errorf("sync: unreadable task payload: %v: %w", err, asynq.SkipRetry)
	}
	queue, _ := asynq.GetQueueName(ctx)
	retried, _ := asynq.GetRetryCount(ctx)
	maxRetry, _ := asynq.GetMaxRetry(ctx)
	// asynq archives a task that fails on this attempt, unless the error is
	// no failure (isFailure).
	last := retried >= maxRetry
	return f.deliver(ctx, p, f.classOf(queue), last)
}

// deliver runs one delivery of task p, of queue class, to its pair. last
// says asynq archives the task if this attempt fails.
func (f *Fanout) deliver(ctx context.Context, p taskPayload, class string, last bool) error {
	if class == classBulk {
		done, err := f.bulkGate.bulk(ctx, f.cfg.MaxRun)
		if err != nil {
			return err
		}
		defer done()
	} else {
		defer f.bulkGate.critical()()
	}
	return f.claimed(ctx, p, class, func(d *delivery) error { return d.run(ctx, last) })
}

// claimed takes a connection, locks and claims p's pair (lockAndClaim),
// runs fn unless the channel no longer exists, and releases the lock.
func (f *Fanout) claimed(ctx context.Context, p taskPayload, class string, fn func(*delivery) error) error {
	conn, err := f.db.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("sync: %w", err)
	}
	defer conn.Release()
	d := &delivery{f: f, conn: conn, task: p, class: class}
	found, err := d.lockAndClaim(ctx)
	if err != nil {
		return err
	}
	defer func() {
		if !d.unlocked {
			d.unlock()
		}
	}()
	if !found {
		return nil
	}
	return fn(d)
}

// lockAndClaim waits up to LockWait for the pair's lock, then marks the
// waiting task as taken — from now on a change enqueues a new task rather
// than count on this one — and loads the channel, its rooms, its rate
// limit state and the first round's marks: one round trip. It reports false when the channel no longer exists. Unless it
// fails, the caller must unlock.
func (d *delivery) lockAndClaim(ctx context.Context) (bool, error) {
	p := d.task.pair
	lctx, cancel := context.WithTimeout(ctx, d.f.cfg.LockWait)
	defer cancel()
	b := &pgx.Batch{}
	b.Queue(`SELECT pg_advisory_lock(`+pairLockSQL+`)`, p.Property, p.Channel)
	d.gate = gate{now: time.Now(), at: time.Now()} // no state kept yet: nothing sent, no pause
	b.Queue(`UPDATE sync_channels SET queued = NULL, queued_gen = NULL, queued_at = NULL, archived = false
		WHERE property_id = $1 AND channel_id = $2
		RETURNING clock_timestamp(), rate_window, paused_until`, p.Property, p.Channel).Query(func(rows pgx.Rows) error {
		_, err := pgx.ForEachRow(rows, []any{&d.gate.now, &d.gate.sent, &d.gate.paused}, func() error { return nil })
		d.gate.at = time.Now()
		return err
	})
	// The first round's marks (load), read before the channel: if the
	// channel turns out to take nothing (disabled, no endpoint), only these
	// are dropped, not the marks of a resync that its change since (an
	// endpoint set, say) brought about.
	d.queueLoad(b).Query(func(rows pgx.Rows) error {
		var err error
		d.first, err = readWork(rows)
		return err
	})
	var found bool
	d.queueChannel(b, &d.ch, &found)
	d.queueRooms(b)
	br := d.conn.SendBatch(lctx, b)
	var locked bool
	if _, err := br.Exec(); err == nil {
		locked = true
	}
	err := br.Close()
	switch {
	case err == nil:
		return found, nil
	case locked && lctx.Err() == nil:
		d.unlock()
		return false, err
	}
	// A cancelled wait may have been granted just as it was cancelled;
	// closing the session releases whatever it holds.
	_ = d.conn.Conn().Close(context.Background())
	if ctx.Err() == nil {
		d.noteLockHolder(ctx)
		return false, fmt.Errorf("sync: %w: %v", errBusy, err)
	}
	return false, err
}

// queueChannel queues in b the read of the channel into ch; found says
// whether it exists.
func (d *delivery) queueChannel(b *pgx.Batch, ch *channelRow, found *bool) {
	*found = false
	b.Queue(`
		SELECT p.code, c.code, c.kind, c.enabled, c.hotel_code, c.endpoint, c.rate_limit,
			c.outbound_username, c.outbound_secret_sealed, c.envelope, c.ari_message,
			CASE WHEN c.kind = 'ota_pull' THEN c.pull_interval_s ELSE 0 END
		FROM channels c JOIN properties p ON p.id = c.property_id
		WHERE c.property_id = $1 AND c.id = $2`, d.task.Property, d.task.Channel).QueryRow(func(r pgx.Row) error {
		err := r.Scan(&ch.Property, &ch.Code, &ch.Kind, &ch.Enabled, &ch.HotelCode, &ch.Endpoint,
			&ch.RateLimit, &ch.Username, &ch.SecretSeal, &ch.Envelope, &ch.ARIMessage, &ch.PullInterval)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		*found = err == nil
		return err
	})
}

// queueRooms queues in b the read of d.rooms: each pool's items on the
// channel, its room codes, or at the rate level (channels.ari_level) each
// room and rate code pair mapped, and a room code mapped only with the
// empty rate code (any rate) on its own. A room code (or pair) mapped to
// room types of different pools is a mapping mistake; it is sent for the
// first pool only. Every round reads them with its marks: a mapping or
// level changed during a run comes with a resync whose marks a later round
// of the run may take, and sent for the rooms the run began with, a new
// room or rate would wait for the nightly resync.
func (d *delivery) queueRooms(b *pgx.Batch) {
	p := d.task.pair
	b.Queue(`
		WITH level AS (SELECT ari_level = 'rate' AS per_rate FROM channels WHERE property_id = $1 AND id = $2),
		m AS (
			SELECT m.channel_room AS room, CASE WHEN level.per_rate THEN m.channel_rate ELSE '' END AS rate, rt.pool_id
			FROM mappings m JOIN room_types rt ON rt.property_id = m.property_id AND rt.id = m.room_type_id, level
			WHERE m.property_id = $1 AND m.channel_id = $2)
		SELECT DISTINCT ON (m.room, m.rate) m.room, m.rate, m.pool_id
		FROM m
		WHERE m.rate <> '' OR NOT EXISTS (SELECT 1 FROM m r WHERE r.room = m.room AND r.rate <> '')
		ORDER BY m.room, m.rate, m.pool_id`, p.Property, p.Channel).Query(func(rows pgx.Rows) error {
		d.rooms = map[int64][]product{}
		var it product
		var pool int64
		_, err := pgx.ForEachRow(rows, []any{&it.room, &it.rate, &pool}, func() error {
			d.rooms[pool] = append(d.rooms[pool], it)
			return nil
		})
		return err
	})
	// A closed item was sent up to the channel's horizon, or further if
	// the horizon was lowered since: up to the last night it acknowledged.
	b.Queue(`
		SELECT s.channel_room, s.channel_rate, t.night, greatest(t.night + c.horizon_days, l.night + 1), s.created_at
		FROM sync_closures s
		JOIN channels c ON c.property_id = s.property_id AND c.id = s.channel_id
		CROSS JOIN LATERAL (SELECT `+inventory.TonightSQL+` AS night FROM properties p WHERE p.id = s.property_id) t
		CROSS JOIN LATERAL (`+lastAckedSQL+`) l
		WHERE s.property_id = $1 AND s.channel_id = $2
		ORDER BY s.channel_room, s.channel_rate`, p.Property, p.Channel).Query(func(rows pgx.Rows) error {
		d.closures = d.closures[:0]
		var c closure
		_, err := pgx.ForEachRow(rows, []any{&c.room, &c.rate, &c.from, &c.to, &c.created}, func() error {
			d.closures = append(d.closures, c)
			return nil
		})
		return err
	})
	// Nights beyond the horizon the channel acknowledged: its horizon was
	// lowered, and it is sent nothing more there. Only the bulk deliveries
	// look (a probe per pool, kept off the bookings' path): lowering a
	// horizon resyncs the channel (web's catchUp), and so does the nightly
	// resync if that fails.
	d.beyond = nil
	if d.class == classBulk {
		b.Queue(`
			SELECT t.night + c.horizon_days, l.night + 1
			FROM channels c
			CROSS JOIN LATERAL (SELECT `+inventory.TonightSQL+` AS night FROM properties p WHERE p.id = c.property_id) t
			CROSS JOIN LATERAL (`+lastAckedSQL+`) l
			WHERE c.property_id = $1 AND c.id = $2 AND l.night >= t.night + c.horizon_days`,
			p.Property, p.Channel).Query(func(rows pgx.Rows) error {
			var n nightRange
			_, err := pgx.ForEachRow(rows, []any{&n.from, &n.to}, func() error {
				d.beyond = &n
				return nil
			})
			return err
		})
	}
}

// lastAckedSQL is one row: night, the last night channel c (of the
// enclosing query) acknowledged, of any pool, NULL if none — one backward
// index probe per pool of the property.
const lastAckedSQL = `SELECT max(a.night) AS night FROM pools pl
	CROSS JOIN LATERAL (SELECT a.night FROM sync_acks a
		WHERE a.property_id = pl.property_id AND a.channel_id = c.id AND a.pool_id = pl.id
		ORDER BY a.night DESC LIMIT 1) AS a
	WHERE pl.property_id = c.property_id`

// closing appends to u the closures the channel is to be sent — 0 for
// every night of its horizon (and beyond, up to the last night it
// acknowledged) for an item no longer mapped, 0 for every item on the
// nights beyond a lowered horizon — and returns every closure read, those
// dropped unsent included (an item mapped again since it was closed is
// sent the pool's values, not 0), and the nights beyond the horizon
// closed, if any, with the indexes [items[0], items[1]) of their items in u.
func (d *delivery) closing(u *connectors.Update) (closed []closure, beyond *nightRange, items [2]int) {
	if len(d.closures) == 0 && d.beyond == nil {
		return nil, nil, items
	}
	sent := map[product]bool{}
	for _, items := range d.rooms {
		for _, it := range items {
			sent[it] = true
		}
	}
	if n := d.beyond; n != nil && !slices.ContainsFunc(u.Items, func(it connectors.Availability) bool { return it.To.After(n.from) }) {
		// (A round whose nights were read before the horizon was lowered
		// and these after it would send both: the resync that lowering it
		// brings closes them in a later round.)
		items[0] = len(u.Items)
		for _, it := range slices.SortedFunc(maps.Keys(sent), func(a, b product) int {
			return cmp.Or(strings.Compare(a.room, b.room), strings.Compare(a.rate, b.rate))
		}) {
			u.Items = append(u.Items, connectors.Availability{Room: it.room, Rate: it.rate, From: n.from, To: n.to, Available: 0})
		}
		beyond, items[1] = n, len(u.Items)
	}
	for _, c := range d.closures {
		if !sent[c.product] {
			u.Items = append(u.Items, connectors.Availability{Room: c.room, Rate: c.rate, From: c.from, To: c.to, Available: 0})
		}
	}
	return slices.Clone(d.closures), beyond, items
}

// lockHolderSQL names the session holding a pair's lock ($1, $2): its
// process id, application, client address and how long it has been in
// its state.
const lockHolderSQL = `
	SELECT a.pid, coalesce(nullif(a.application_name, ''), '?'), coalesce(host(a.client_addr), 'local'),
		coalesce(a.state, '?'), coalesce(extract(epoch FROM clock_timestamp() - a.state_change), 0)::float8
	FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
	WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
		AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
		AND ((l.classid::bigint << 32) | l.objid::bigint) = ` + pairLockSQL

// noteLockHolder tells staff, in the channel's status, why its deliveries
// wait: which PostgreSQL session has held the pair's lock for LockWait. A
// delivery holds it for a push at most; a session holding it longer is a
// keyrack process that hangs (alive, so PostgreSQL keeps its session) —
// to restart, or to end with pg_terminate_backend. The status's error
// goes with the next delivery that runs.
func (d *delivery) noteLockHolder(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	p := d.task.pair
	var pid int
	var app, client, state string
	var secs float64
	note := fmt.Sprintf("deliveries wait: another delivery to this channel has not ended for %s", d.f.cfg.LockWait)
	switch err := d.f.db.QueryRow(ctx, lockHolderSQL, p.Property, p.Channel).Scan(&pid, &app, &client, &state, &secs); {
	case err == nil:
		note += fmt.Sprintf(" — PostgreSQL session %d (%s from %s, %s for %s) holds it: if no push to the channel "+
			"is that slow, the keyrack process is stuck; restart it, or end the session with pg_terminate_backend(%d)",
			pid, app, client, state, (time.Duration(secs) * time.Second).String(), pid)
	case !errors.Is(err, pgx.ErrNoRows):
		d.f.log.Warn("could not read who holds a channel's delivery lock", "err", err)
	}
	d.f.log.Warn(note, "property_id", p.Property, "channel_id", p.Channel)
	if _, err := d.f.db.Exec(ctx, `UPDATE sync_channels SET last_error = $3, last_error_at = now()
		WHERE property_id = $1 AND channel_id = $2`, p.Property, p.Channel, note); err != nil {
		d.f.log.Warn("could not record a delivery waiting for its channel's lock", "err", err)
	}
}

// unlock releases the pair's lock, closing the session if that fails.
func (d *delivery) unlock() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var released bool
	err := d.conn.QueryRow(ctx, `SELECT pg_advisory_unlock(`+pairLockSQL+`)`, d.task.Property, d.task.Channel).Scan(&released)
	if err != nil || !released {
		_ = d.conn.Conn().Close(ctx)
	}
}

// product is what one availability item of a channel names: its room
// code, and its rate code for a channel that keeps availability per room
// and rate.
type product struct{ room, rate string }

// closure is an item whose last mapping was deleted (sync_closures): the
// channel is sent 0 for it on [from, to), its horizon from the property's
// today, once.
type closure struct {
	product
	from, to inventory.Date
	created  time.Time
}

// nightRange is the nights [from, to).
type nightRange struct{ from, to inventory.Date }

// delivery is one run of a delivery task, holding the pair's lock.
type delivery struct {
	f     *Fanout
	conn  *pgxpool.Conn
	task  taskPayload
	class string

	ch    channelRow
	rooms map[int64][]product // pool → the channel's items drawing on it
	// closures are items the channel is no longer sent, to close on it
	// (sync_closures), read with rooms.
	closures []closure
	// beyond is the nights beyond the channel's horizon it acknowledged
	// (its horizon was lowered), to close on it for every item; read with
	// rooms by bulk deliveries only.
	beyond *nightRange
	gate   gate  // the channel's rate limit state
	first  *work // the first round's marks, read by lockAndClaim
	// unlocked says the run's last statement released the pair's lock.
	unlocked bool
	sent     int    // pushes the channel took in this run
	notes    string // rejections to report even though the run succeeded
}

// channelRow is what a delivery needs of the channel.
type channelRow struct {
	Property   string
	Code       string
	Kind       inventory.ChannelKind
	Enabled    bool
	HotelCode  string
	Endpoint   string
	RateLimit  int
	Username   string
	SecretSeal []byte
	Envelope   string
	ARIMessage string
	// PullInterval is how often keyrack polls an ota_pull channel, in
	// seconds (0 for other kinds).
	PullInterval int
}

// echoWindow is how long the channel may take to tell keyrack of a
// booking it took. A pull channel is only heard from when keyrack polls
// it, so a sale can reach keyrack up to a poll interval late: a value
// pushed in between was computed without it and overwrote the channel's
// own decrement, and that channel must be sent the pool's value after all.
func (c channelRow) echoWindow(base time.Duration) time.Duration {
	if c.Kind == inventory.ChannelOTAPull {
		return base + time.Duration(c.PullInterval)*time.Second
	}
	return base
}

// same says whether c and o send alike: same endpoint, credentials,
// hotel code, message, rate limit, enabled or not.
func (c channelRow) same(o channelRow) bool {
	return c.Property == o.Property && c.Code == o.Code && c.Kind == o.Kind && c.Enabled == o.Enabled &&
		c.HotelCode == o.HotelCode && c.Endpoint == o.Endpoint && c.RateLimit == o.RateLimit &&
		c.Username == o.Username && bytes.Equal(c.SecretSeal, o.SecretSeal) && c.Envelope == o.Envelope &&
		c.ARIMessage == o.ARIMessage && c.PullInterval == o.PullInterval
}

// notPushedNote says why a kind of channel without a connector is sent no
// availability.
func notPushedNote(kind inventory.ChannelKind) string {
	switch kind {
	case inventory.ChannelPMS:
		return "availability is not pushed to a PMS: it gets reservations by webhook and feed"
	case inventory.ChannelICal:
		return "availability is not pushed to a calendar platform: it fetches keyrack's iCal export"
	}
	return fmt.Sprintf("no connector pushes to %s channels; availability is not sent", kind)
}

// run delivers until the pair has no dirty marks left, the pair's lock
// held and the channel loaded (lockAndClaim).
func (d *delivery) run(ctx context.Context, last bool) error {
	if !d.ch.Enabled {
		return d.clearAll(ctx, "")
	}
	conn := d.f.cfg.Connectors.Lookup(d.ch.Kind)
	if conn == nil {
		// Not an error to retry: availability is not pushed to this kind
		// of channel. The nightly resync catches it up if one is added.
		return d.clearAll(ctx, notPushedNote(d.ch.Kind))
	}
	if d.ch.Endpoint == "" {
		// Configured to receive nothing (yet): staff see why in the
		// channel's status, and the next resync after an endpoint is set
		// catches the channel up.
		return d.clearAll(ctx, "the channel has no endpoint: availability is not pushed to it")
	}
	target, err := d.target()
	if err != nil {
		return d.fail(ctx, err, last)
	}
	start := time.Now()
	for {
		w := d.first
		if w == nil {
			var now channelRow
			var found bool
			if w, err = d.load(ctx, &now, &found); err != nil {
				return d.fail(ctx, err, last)
			}
			if !found || !now.same(d.ch) {
				// Staff changed the channel since the run read it: moved
				// it to another endpoint or hotel code, changed its
				// credentials, message or rate limit, disabled it. The
				// resync such a change brings about is among the marks
				// just read, and pushed as the run began it would reach
				// the old endpoint and hotel, cleared — the channel
				// getting it nowhere. A fresh task reads the channel as
				// it is now; the marks stay for it.
				return d.later(ctx, 0)
			}
		}
		d.first = nil
		u, runs, itemRun := w.update(d.rooms, d.ch.echoWindow(d.f.cfg.EchoWindow))
		var r round
		var beyondItems [2]int
		r.closed, r.beyond, beyondItems = d.closing(&u) // after the runs' items: itemRun indexes those
		// With no mark read, finish still runs: it ends the run only if no
		// mark has arrived since the read, in the statement that releases
		// the pair. A relay that found this run's task still waiting woke
		// no one for its marks; ending on the stale read would leave them
		// to the next change or the sweeper.
		if len(u.Items) > 0 {
			host := endpointHost(d.ch.Endpoint)
			leave, wait, suspect, ok := d.f.hostGate.enter(d.class, host)
			if !ok {
				// The channel's host has all the pushes it may have (a slow
				// or hung OTA must not take every worker): the marks stay
				// and a task comes back a little later.
				// Said on the channel's status — which also tells the
				// overdue check (Overdue) a worker attempted it.
				if suspect {
					d.notes = fmt.Sprintf("not sent yet: a push to %s got no answer within %s; "+
						"keyrack sends it one push at a time until it answers", host, d.f.cfg.PushTimeout)
				} else {
					d.notes = fmt.Sprintf("not sent yet: keyrack's pushes to %s are all under way (a host gets at most half "+
						"of a worker's pushes, so that a slow one does not hold the other channels back); it goes when one ends", host)
				}
				// With jitter: the deliveries held back together do not all
				// come back at once.
				return d.later(ctx, wait/2+rand.N(wait))
			}
			wait, err := d.admit(ctx)
			if err != nil {
				leave(notPushed)
				return d.fail(ctx, err, last)
			}
			if wait > 0 {
				// Rate limited: the marks stay and a task comes back when the
				// channel may be sent to; changes until then join it.
				d.note(d.heldBack(wait))
				leave(notPushed)
				return d.later(ctx, wait)
			}
			// Each request of the push has PushTimeout, and the requests
			// after the first keep the rate limit (pace): an update too
			// large for one message goes out as several.
			target.RequestTimeout, target.Pace = d.f.cfg.PushTimeout, d.pace
			pushed := time.Now() // for the delivery log
			ack, err := conn.Push(ctx, target, u)
			leave(howEnded(ctx, err))
			if aerr := d.answered(ctx); aerr != nil {
				// The window keeps the request's sending time: counted a
				// little early, no more.
				d.f.log.Warn("could not record when a channel answered", "channel", d.ch.Property+"/"+d.ch.Code, "err", aerr)
			}
			if err != nil {
				// Every push goes into the delivery log staff read
				// (deliverylog.go); logging never fails the delivery.
				d.logPush(ctx, u, ack, err, time.Since(pushed))
				return d.fail(ctx, err, last)
			}
			d.sent++
			if e, err := deliveryEntry(u, ack, nil, time.Since(pushed)); err == nil {
				r.log = &e
			} else {
				d.f.log.Warn("could not record a push in the delivery log", "channel", d.ch.Property+"/"+d.ch.Code, "err", err)
			}
			r.acks, r.refused = d.acknowledge(u, runs, itemRun, ack)
			if slices.ContainsFunc(ack.Rejected, func(rj connectors.Rejection) bool {
				return rj.Item >= beyondItems[0] && rj.Item < beyondItems[1]
			}) {
				// Refused (the delivery log says why): the nights stay
				// acknowledged, for the next resync to close them again.
				r.beyond = nil
			}
		}
		done, err := d.finish(ctx, w, r)
		if err != nil {
			return d.fail(ctx, err, last)
		}
		if done {
			return nil
		}
		if time.Since(start) > d.f.cfg.MaxRun {
			// A channel that keeps changing must not hold a worker forever.
			return d.later(ctx, 0)
		}
	}
}

// channelChanged says whether the channel is no longer what the run read
// (or no longer exists). If it cannot tell, it says no.
func (d *delivery) channelChanged(ctx context.Context) bool {
	var now channelRow
	var found bool
	b := &pgx.Batch{}
	d.queueChannel(b, &now, &found)
	if err := d.conn.SendBatch(ctx, b).Close(); err != nil {
		d.f.log.Warn("could not read a channel again after its delivery failed", "err", err)
		return false
	}
	return !found || !now.same(d.ch)
}

// handOverResync hands the pair's resync marks, which a booking-driven
// delivery leaves, to a bulk task — unless a task waits already: it
// delivers them, or hands them over in turn. If that fails, the sweeper
// finds the marks and no task.
func (d *delivery) handOverResync(ctx context.Context) {
	if err := d.handOver(ctx, classBulk, 0,
		`EXISTS (SELECT 1 FROM sync_dirty WHERE property_id = $1 AND channel_id = $2 AND resync)`); err != nil {
		d.f.log.Warn("could not hand a resync over to the bulk workers", "channel", d.ch.Property+"/"+d.ch.Code, "err", err)
	}
}

// handOver queues a fresh task of class for the pair, to run after delay —
// unless a task waits already (it will do the work) or the SQL condition
// onlyIf ("" for none) does not hold. If Redis is down the sweeper enqueues
// it later (without the delay; the task then waits again).
func (d *delivery) handOver(ctx context.Context, class string, delay time.Duration, onlyIf string) error {
	if onlyIf != "" {
		onlyIf = " AND " + onlyIf
	}
	var gen int64
	err := d.conn.QueryRow(ctx, `
		UPDATE sync_channels SET gen = gen + 1, queued = $3, queued_gen = gen + 1, queued_at = now()
		WHERE property_id = $1 AND channel_id = $2 AND queued IS NULL`+onlyIf+`
		RETURNING gen`, d.task.Property, d.task.Channel, class).Scan(&gen)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	_ = d.f.enqueue(ctx, d.task.pair, class, gen, delay) // noted once when Redis is down; the sweeper catches up
	return nil
}

// target is the channel as its connector sees it, credentials opened.
func (d *delivery) target() (connectors.Channel, error) {
	c := connectors.Channel{
		Property: d.ch.Property, Code: d.ch.Code, Kind: d.ch.Kind,
		HotelCode: d.ch.HotelCode, Endpoint: d.ch.Endpoint, Username: d.ch.Username,
		Envelope: inventory.Channel{Kind: d.ch.Kind, OTASettings: inventory.OTASettings{Envelope: d.ch.Envelope}}.EffectiveEnvelope(),
		Message:  d.ch.ARIMessage,
	}
	if d.ch.SecretSeal == nil {
		return c, nil
	}
	if d.f.cfg.Secrets == nil {
		return c, connectors.Permanent(errors.New("the channel's credentials are sealed and KEYRACK_SECRET is not set"))
	}
	s, err := d.f.cfg.Secrets.Open(d.ch.SecretSeal)
	if err != nil {
		return c, connectors.Permanent(err)
	}
	c.Secret = s
	return c, nil
}

// work is the pair's dirty state as one delivery round read it.
type work struct {
	versions map[mark]int64 // version of each dirty mark read
	nights   []nightState   // sorted by pool, night
	settle   []nightState   // echoes the channel holds already, to record as acknowledged
}

// mark is a dirty mark of a pool: of changes, or of a full resync.
// Booking-driven (critical) deliveries read only the marks of changes; bulk
// deliveries read both, merged.
type mark struct {
	Pool   int64
	Resync bool
}

// gate is what admit decides on: PostgreSQL's clock (shared by every worker
// process) as read at at, the latest requests sent and any pause the channel
// asked for. Only deliveries to the pair, which hold its lock, change them.
type gate struct {
	now, at time.Time
	sent    []time.Time
	paused  *time.Time
	// open is the time a request was counted at, until its answer came
	// back (zero when none is out): see answered.
	open time.Time
}

// nightState is one dirty night: the pool's current state and what the
// channel acknowledged.
type nightState struct {
	Pool      int64
	Night     inventory.Date
	Available int
	Version   int64
	Forced    bool // full resync: send even if acknowledged
	Echo      bool // dirty only because the channel changed it itself
	Pending   bool // an outbox row for the night waits for the relay
	Ack       *ack // what the channel acknowledged, nil if nothing
}

// ack is a channel's acknowledgement of a pool-night.
type ack struct {
	Available       int
	Version         int64
	AckedAt         time.Time
	OriginChangedAt *time.Time // the channel changed the night itself since
}

// load reads the dirty marks, the current value of every dirty night within
// the channel's horizon (from the property's today: past nights are not
// sold, and channels refuse nights beyond what they are configured for),
// the channel's acknowledgements, and whether a change to the night still waits in the
// outbox — all in one statement, so from one snapshot. A bulk delivery
// reads a pool's change and resync marks both, merged night by night. It
// reads the channel's items again too (queueRooms), and the channel (queueChannel).
//
// loadSQL runs with its generic plan (inventory.QueueGenericPlan). Planned
// for its arguments, it took longer to plan than to run: 0.67 ms of planning
// and 0.26 of running per call once the tables had statistics, against
// 0.04 and 0.19 with the generic plan (pg_stat_statements, 100 bookings/s
// for a minute). A generic plan is only as good as the statistics it was
// made with — made while the tables were nearly empty, it ran at 5.9 ms a
// call —, so it relies on their being kept: by autovacuum, or by keyrack's
// own maintenance where autovacuum is off (inventory.MaintainTables); each
// ANALYZE makes it plan again.
func (d *delivery) load(ctx context.Context, ch *channelRow, found *bool) (*work, error) {
	var w *work
	b := &pgx.Batch{}
	d.queueLoad(b).Query(func(rows pgx.Rows) error {
		var err error
		w, err = readWork(rows)
		return err
	})
	d.queueRooms(b)
	// After the marks: a change to the channel is committed before the
	// resync it brings about, so marks holding that resync come with the
	// channel as changed.
	d.queueChannel(b, ch, found)
	return w, d.conn.SendBatch(ctx, b).Close()
}

// queueLoad queues loadSQL in b: with its generic plan for a booking's
// delivery, planned for its arguments for a bulk one. A bulk delivery reads
// hundreds of nights, so planning is a small part of its cost, and a
// generic plan made while sync_acks was still empty — as on a new
// installation's first full sync, every channel's acknowledgements written
// by the sync itself — scans the whole table for every night until the next
// ANALYZE: the bench's first sync of 80 channels read 390 million
// acknowledgement rows that way.
func (d *delivery) queueLoad(b *pgx.Batch) *pgx.QueuedQuery {
	args := []any{d.task.Property, d.task.Channel, d.class == classBulk}
	if d.class == classBulk {
		return b.Queue(loadSQL, args...)
	}
	return inventory.QueueGenericPlan(b, loadSQL, args...)
}

// loadSQL is load's statement: $1 the property, $2 the channel, $3 whether
// resync marks are read too.
const loadSQL = `
		WITH dirty AS (
			SELECT pool_id, resync, nights, force, echo, version FROM sync_dirty
			WHERE property_id = $1 AND channel_id = $2 AND ($3 OR NOT resync)
		), today AS (
			SELECT ` + inventory.TonightSQL + ` AS night, c.horizon_days
			FROM properties p JOIN channels c ON c.property_id = p.id AND c.id = $2 WHERE p.id = $1
		), pending AS (
			SELECT pool_id, range_agg(daterange(from_night, to_night)) AS nights FROM outbox
			WHERE property_id = $1 AND done_at IS NULL AND topic = 'availability' GROUP BY pool_id
		)
		SELECT d.pool_id, d.resync, d.version, g.night::date,
			coalesce(g.night::date <@ d.force, false), coalesce(g.night::date <@ d.echo, false),
			coalesce(g.night::date <@ pe.nights, false),
			coalesce(n.lim, floor(pl.units * pl.overbooking_factor)::int),
			coalesce(n.sold + n.oversold, 0), coalesce(n.closed, false), coalesce(n.version, 0),
			a.available, a.version, a.acked_at, a.origin_changed_at
		FROM dirty d
		JOIN pools pl ON pl.property_id = $1 AND pl.id = d.pool_id
		LEFT JOIN pending pe ON pe.pool_id = d.pool_id
		LEFT JOIN LATERAL unnest(d.nights) AS r (nights) ON true
		LEFT JOIN LATERAL generate_series(greatest(lower(r.nights), (SELECT night FROM today))::timestamp,
			(least(upper(r.nights), (SELECT night + horizon_days FROM today)) - 1)::timestamp, interval '1 day') AS g (night) ON true
		-- One index lookup per dirty night (LIMIT 1 keeps the planner from
		-- turning these into joins): it cannot estimate the nights the
		-- ranges hold, and hashed all of the property's nights and the
		-- channel's acknowledgements for every delivery instead.
		LEFT JOIN LATERAL (SELECT n.lim, n.sold, n.oversold, n.closed, n.version FROM nights n
			WHERE n.property_id = $1 AND n.pool_id = d.pool_id AND n.night = g.night::date LIMIT 1) AS n ON true
		LEFT JOIN LATERAL (SELECT a.available, a.version, a.acked_at, a.origin_changed_at FROM sync_acks a
			WHERE a.property_id = $1 AND a.channel_id = $2 AND a.pool_id = d.pool_id AND a.night = g.night::date LIMIT 1) AS a ON true
		ORDER BY d.pool_id, g.night`

// readWork collects the rows of loadSQL.
func readWork(rows pgx.Rows) (*work, error) {
	w := &work{versions: map[mark]int64{}}
	var n nightState
	var m mark
	var version int64
	var night *inventory.Date
	var limit, sold int
	var closed bool
	var ackValue *int
	var ackVersion *int64
	var ackedAt, changedAt *time.Time
	_, err := pgx.ForEachRow(rows, []any{&m.Pool, &m.Resync, &version, &night, &n.Forced, &n.Echo, &n.Pending,
		&limit, &sold, &closed, &n.Version, &ackValue, &ackVersion, &ackedAt, &changedAt}, func() error {
		w.versions[m] = version
		if night == nil {
			return nil // a mark on past nights only
		}
		n.Pool = m.Pool
		if k := len(w.nights) - 1; k >= 0 && w.nights[k].Pool == n.Pool && w.nights[k].Night == *night {
			// The night is in both of the pool's marks (a bulk delivery):
			// one night, forced if either forces it, and forced nights are
			// never echoes.
			prev := &w.nights[k]
			prev.Forced = prev.Forced || n.Forced
			prev.Echo = (prev.Echo || n.Echo) && !prev.Forced
			return nil
		}
		n.Night = *night
		n.Available = inventory.Availability(limit, sold, closed)
		n.Ack = nil
		if ackValue != nil {
			n.Ack = &ack{Available: *ackValue, Version: *ackVersion, AckedAt: *ackedAt, OriginChangedAt: changedAt}
		}
		w.nights = append(w.nights, n)
		return nil
	})
	return w, err
}

// verdict is what a delivery does with a dirty night.
type verdict int

const (
	send   verdict = iota
	skip           // the channel holds the value already
	settle         // an echo: the channel holds the value through its own change; record that
)

// decide says whether the channel must be sent the night's value.
//
// Loop suppression and no-op suppression meet here. A channel that took a
// booking lowered its own count, so keyrack does not echo the new value back
// to it — as long as it is sure the channel's count was right when it sold:
// the channel had acknowledged the value before, and no delivery landed
// during the echo window before the booking reached keyrack (channels push
// absolute values, so a delivery landing after the channel sold but before
// it told keyrack overwrote the channel's own decrement). When in doubt the
// channel is sent the pool's value: a correction, not an echo.
func (n nightState) decide(echoWindow time.Duration) verdict {
	switch {
	case n.Forced, n.Ack == nil:
		return send
	case n.Ack.OriginChangedAt == nil:
		if n.Ack.Available == n.Available {
			return skip
		}
		return send
	case n.Echo && n.Ack.AckedAt.Before(n.Ack.OriginChangedAt.Add(-echoWindow)):
		if n.Pending {
			// Someone's change is on its way through the relay; decide when
			// it has arrived.
			return skip
		}
		return settle
	}
	// The channel changed its own count and so did others since: what it
	// holds now is unknown.
	return send
}

// run is consecutive nights of one pool with one value, to be sent for every
// room of the pool.
type run struct {
	Pool     int64
	From, To inventory.Date
	Value    int
	Versions []int64 // the nights' versions, from From on
	Rejected bool    // the channel refused it for at least one room
}

// update builds what to send — the nights decide says to send, merged per
// pool into runs of equal values, one item per run and room (item i sends
// itemRun[i]) — and notes the echoes to settle.
func (w *work) update(rooms map[int64][]product, echoWindow time.Duration) (u connectors.Update, runs, itemRun []*run) {
	var cur *run
	w.settle = w.settle[:0]
	for _, n := range w.nights {
		if len(rooms[n.Pool]) == 0 {
			cur = nil // not mapped on this channel: nothing to tell it
			continue
		}
		switch n.decide(echoWindow) {
		case skip:
			cur = nil
			continue
		case settle:
			w.settle = append(w.settle, n)
			cur = nil
			continue
		}
		u.Full = u.Full || n.Forced
		if cur != nil && cur.Pool == n.Pool && cur.To == n.Night && cur.Value == n.Available {
			cur.To = cur.To.AddDays(1)
			cur.Versions = append(cur.Versions, n.Version)
			continue
		}
		cur = &run{Pool: n.Pool, From: n.Night, To: n.Night.AddDays(1), Value: n.Available, Versions: []int64{n.Version}}
		runs = append(runs, cur)
	}
	for _, r := range runs {
		for _, pr := range rooms[r.Pool] {
			u.Items = append(u.Items, connectors.Availability{Room: pr.room, Rate: pr.rate, From: r.From, To: r.To, Available: r.Value})
			itemRun = append(itemRun, r)
		}
	}
	return u, runs, itemRun
}

// round is what a delivery round records once the channel answered: the
// push for the delivery log (nil when nothing was pushed), the
// acknowledgements, and the nights the channel refused (values unused).
type round struct {
	log     *Delivery
	acks    ackRows
	refused ackRows
	closed  []closure // sent (or dropped, mapped again): their rows go
	// beyond is the nights beyond the horizon closed for every item: the
	// channel's acknowledgements there go, as it holds 0 now.
	beyond *nightRange
}

// ackRows are acknowledgements of one pair: (pool, night, value) read at a
// night version.
type ackRows struct {
	pools    []int64
	nights   []inventory.Date
	values   []int
	versions []int64
}

// acknowledge says what the channel took and what it refused, and notes
// the refusals and the channel's warnings for staff. A pool-night counts as acknowledged only if the
// channel took it for every item of the pool (each room, or room and rate).
func (d *delivery) acknowledge(u connectors.Update, runs, itemRun []*run, ack connectors.Ack) (took, refused ackRows) {
	var reasons []string
	for _, rj := range ack.Rejected {
		if rj.Item >= 0 && rj.Item < len(itemRun) {
			itemRun[rj.Item].Rejected = true
			it := u.Items[rj.Item]
			reasons = append(reasons, fmt.Sprintf("%s %s..%s: %s", itemName(it.Room, it.Rate), it.From, it.To, rj.Reason))
		}
	}
	var notes []string
	if len(reasons) > 0 {
		notes = append(notes, "the channel refused "+strings.Join(reasons, "; "))
	}
	if len(ack.Warnings) > 0 {
		// Taken, but the channel said something was not processed.
		notes = append(notes, "the channel warned that it did not process something: "+strings.Join(ack.Warnings, "; "))
	}
	if len(notes) > 0 {
		d.notes = strings.Join(notes, "; ")
	}
	for _, r := range runs {
		a := &took
		if r.Rejected {
			a = &refused
		}
		for i, v := range r.Versions {
			a.pools, a.nights, a.values, a.versions = append(a.pools, r.Pool), append(a.nights, r.From.AddDays(i)), append(a.values, r.Value), append(a.versions, v)
		}
	}
	return took, refused
}

// recordAcksSQL stores acknowledgements of a pair ($1, $2), unless the
// stored one was read at a newer version: a delivery of an older state that
// finishes late cannot overwrite a newer one.
const recordAcksSQL = `
	INSERT INTO sync_acks AS a (property_id, channel_id, pool_id, night, available, version, acked_at)
	SELECT $1, $2, k.pool_id, k.night, k.available, k.version, now()
	FROM unnest($3::bigint[], $4::date[], $5::int[], $6::bigint[]) AS k (pool_id, night, available, version)
	ORDER BY k.pool_id, k.night
	ON CONFLICT (property_id, channel_id, pool_id, night) DO UPDATE
		SET available = EXCLUDED.available, version = EXCLUDED.version, acked_at = EXCLUDED.acked_at, origin_changed_at = NULL
		WHERE a.version <= EXCLUDED.version`

// recordAcks stores acknowledgements of p (recordAcksSQL).
func recordAcks(ctx context.Context, db interface {
	Exec(context.Context, string, ...any) (pgconn.CommandTag, error)
}, p pair, a ackRows) error {
	if len(a.pools) == 0 {
		return nil
	}
	_, err := db.Exec(ctx, recordAcksSQL, p.Property, p.Channel, a.pools, a.nights, a.values, a.versions)
	return err
}

// finish records a round in one transaction and one round trip, and says
// whether the run is done:
//   - the push, in the delivery log;
//   - compare-and-clear: it removes the dirty marks the round read, unless
//     a mark's version changed since — then it holds a newer change, stays
//     (dated now), and the next round delivers it;
//   - the acknowledgements;
//   - the settled echoes, of the pools whose marks it cleared: only if no
//     change arrived since the round read them is the channel's own count
//     known to be the value read;
//   - if no mark is left, the run's success (what succeeded records) and
//     the release of the pair's lock, and the run is done.
//
// Rows are locked as the relay locks them: marks, then acknowledgements,
// then the pair's state. It uses a context of its own: the channel took the
// push, and what it took must be recorded even if the worker is stopping.
func (d *delivery) finish(ctx context.Context, w *work, r round) (done bool, err error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	p := d.task.pair
	b := &pgx.Batch{}
	if r.log != nil {
		queueDelivery(b, p, *r.log)
	}
	marks := slices.SortedFunc(maps.Keys(w.versions), func(a, b mark) int {
		if c := cmp.Compare(a.Pool, b.Pool); c != 0 {
			return c
		}
		return cmp.Compare(btoi(a.Resync), btoi(b.Resync))
	})
	pools, resyncs, vs := make([]int64, len(marks)), make([]bool, len(marks)), make([]int64, len(marks))
	for i, m := range marks {
		pools[i], resyncs[i], vs[i] = m.Pool, m.Resync, w.versions[m]
	}
	// A mark that changed since the round read it stays, dated now if it
	// is more than a second old: what it holds that this round did not
	// deliver was relayed after the read, and its first change, which the
	// round did deliver, no longer tells how long the channel has waited
	// (the channels page's "pending for", the metrics' oldest pending
	// change; dated from its first change, a busy rate-limited channel's
	// mark looked older with every round). Younger marks are left alone, so
	// that a saturated channel's deliveries, whose marks often change while
	// they push, do not lock and write them for nothing. Both kinds are
	// locked in one ordered pass, as the relay locks marks.
	b.Queue(`
		WITH l AS MATERIALIZED (
			SELECT s.pool_id, s.resync, s.version = k.version AS read FROM sync_dirty s
			JOIN unnest($3::bigint[], $4::bool[], $5::bigint[]) AS k (pool_id, resync, version)
				ON k.pool_id = s.pool_id AND k.resync = s.resync
					AND (k.version = s.version OR s.since < now() - interval '1 second')
			WHERE s.property_id = $1 AND s.channel_id = $2
			ORDER BY s.pool_id, s.resync FOR UPDATE OF s
		), cleared AS (
			DELETE FROM sync_dirty d USING l
			WHERE d.property_id = $1 AND d.channel_id = $2 AND d.pool_id = l.pool_id AND d.resync = l.resync AND l.read
		)
		UPDATE sync_dirty d SET since = now() FROM l
		WHERE d.property_id = $1 AND d.channel_id = $2 AND d.pool_id = l.pool_id AND d.resync = l.resync AND NOT l.read`,
		p.Property, p.Channel, pools, resyncs, vs)
	if len(r.acks.pools) > 0 {
		b.Queue(recordAcksSQL, p.Property, p.Channel, r.acks.pools, r.acks.nights, r.acks.values, r.acks.versions)
	}
	if len(r.closed) > 0 {
		// Unless closed again since the round read it (a newer row is a
		// newer deletion, to send in its turn).
		var rooms, rates []string
		var at []time.Time
		for _, c := range r.closed {
			rooms, rates, at = append(rooms, c.room), append(rates, c.rate), append(at, c.created)
		}
		b.Queue(`DELETE FROM sync_closures s USING unnest($3::text[], $4::text[], $5::timestamptz[]) AS k (room, rate, created_at)
			WHERE s.property_id = $1 AND s.channel_id = $2 AND s.channel_room = k.room AND s.channel_rate = k.rate
				AND s.created_at = k.created_at`, p.Property, p.Channel, rooms, rates, at)
	}
	if r.beyond != nil {
		// Beyond its horizon the channel holds 0 now, not what it last
		// acknowledged there: should the horizon be raised again, those
		// nights are sent whatever they hold. Locked in (pool, night)
		// order, as the relay locks them.
		b.Queue(`
			WITH locked AS (
				SELECT a.pool_id, a.night FROM sync_acks a
				WHERE a.property_id = $1 AND a.channel_id = $2 AND a.night >= $3
				ORDER BY a.pool_id, a.night FOR UPDATE
			)
			DELETE FROM sync_acks a USING locked l
			WHERE a.property_id = $1 AND a.channel_id = $2 AND a.pool_id = l.pool_id AND a.night = l.night`,
			p.Property, p.Channel, r.beyond.from)
	}
	if len(r.refused.pools) > 0 {
		// What the channel holds on a night it refused is unknown: not the
		// value sent, and no longer surely the one it last took (keyrack
		// has moved on from it, or would not have sent). Its
		// acknowledgement goes, so that the grid says the night is not
		// confirmed, the next change of the night is sent to it whatever
		// its origin (a booking the channel took itself there is no echo:
		// its count came from a value it never took), and so does the
		// nightly resync. Locked in the runs' (pool, night) order, as the relay
		// locks them.
		b.Queue(`
			WITH locked AS (
				SELECT a.pool_id, a.night FROM unnest($3::bigint[], $4::date[]) AS k (pool_id, night)
				CROSS JOIN LATERAL (SELECT a.pool_id, a.night FROM sync_acks a
					WHERE a.property_id = $1 AND a.channel_id = $2 AND a.pool_id = k.pool_id AND a.night = k.night
					FOR UPDATE) AS a
			)
			DELETE FROM sync_acks a USING locked l
			WHERE a.property_id = $1 AND a.channel_id = $2 AND a.pool_id = l.pool_id AND a.night = l.night`,
			p.Property, p.Channel, r.refused.pools, r.refused.nights)
	}
	if len(w.settle) > 0 {
		var sp, sv []int64
		var sn []inventory.Date
		var sa []int
		var sc []time.Time
		for _, n := range w.settle {
			sp, sn, sa, sv, sc = append(sp, n.Pool), append(sn, n.Night), append(sa, n.Available), append(sv, n.Version), append(sc, *n.Ack.OriginChangedAt)
		}
		// A pool's mark is gone only if this transaction cleared it: the
		// relay and resyncs add marks but never remove them, and a newer
		// version of a mark cleared here waits for this transaction. (Its
		// generic plan: planned for the arrays, it took 0.45 ms to plan
		// and 0.1 to run.)
		inventory.QueueGenericPlan(b, `
			WITH k AS (
				SELECT * FROM unnest($3::bigint[], $4::date[], $5::int[], $6::bigint[], $7::timestamptz[])
					AS k (pool_id, night, available, version, changed_at)
				WHERE NOT EXISTS (SELECT 1 FROM sync_dirty s
					WHERE s.property_id = $1 AND s.channel_id = $2 AND s.pool_id = k.pool_id AND ($8 OR NOT s.resync))
			), locked AS (
				-- One index lookup per night, locked in k's (pool, night)
				-- order; a join would read all of the channel's
				-- acknowledgements to sort them.
				SELECT a.pool_id, a.night FROM k CROSS JOIN LATERAL (
					SELECT a.pool_id, a.night FROM sync_acks a
					WHERE a.property_id = $1 AND a.channel_id = $2 AND a.pool_id = k.pool_id AND a.night = k.night
					FOR UPDATE) AS a
			)
			UPDATE sync_acks a SET available = k.available, version = k.version, origin_changed_at = NULL
			FROM k JOIN locked l ON l.pool_id = k.pool_id AND l.night = k.night
			WHERE a.property_id = $1 AND a.channel_id = $2 AND a.pool_id = k.pool_id AND a.night = k.night
				AND a.origin_changed_at = k.changed_at AND a.version <= k.version`,
			p.Property, p.Channel, sp, sn, sa, sv, sc, d.class == classBulk)
	}
	// Done, recorded and unlocked in one statement (one snapshot), so that
	// the three agree — also for a pair without a state row yet. A
	// booking-driven delivery is done when no mark of changes is left; it
	// says whether resync marks are. A closure left (made since the round
	// read them: those it read are deleted above) is work too, or a room
	// whose last mapping was deleted during the run would stay open at the
	// channel until its next change.
	var resyncLeft bool
	const left = `(EXISTS (SELECT 1 FROM sync_dirty WHERE property_id = $1 AND channel_id = $2 AND ($5 OR NOT resync))
		OR EXISTS (SELECT 1 FROM sync_closures WHERE property_id = $1 AND channel_id = $2))`
	b.Queue(`WITH recorded AS (`+succeededSQL+` AND NOT `+left+` RETURNING 1)
		SELECT pg_advisory_unlock(`+pairLockSQL+`),
			EXISTS (SELECT 1 FROM sync_dirty WHERE property_id = $1 AND channel_id = $2 AND resync)
		WHERE NOT `+left,
		append(d.succeededArgs(), d.class == classBulk)...).Query(func(rows pgx.Rows) error {
		_, err := pgx.ForEachRow(rows, []any{&d.unlocked, &resyncLeft}, func() error { return nil })
		done = d.unlocked
		return err
	})
	if err := d.conn.SendBatch(ctx, b).Close(); err != nil {
		return false, err
	}
	if done && resyncLeft {
		d.handOverResync(ctx)
	}
	return done, nil
}

// clearAll drops the marks lockAndClaim read, for a channel that is not
// pushed to; note says why, for staff. Marks that arrived since stay, with
// the task that came with them: they may follow the change that makes the
// channel take them.
func (d *delivery) clearAll(ctx context.Context, note string) error {
	d.notes = note
	done, err := d.finish(ctx, d.first, round{})
	if err != nil || done {
		return err
	}
	return d.succeeded(ctx)
}

// note adds a note for staff to the run's notes.
func (d *delivery) note(n string) {
	if d.notes != "" {
		n = d.notes + "; " + n
	}
	d.notes = n
}

// heldBack says why a run that admit holds back for wait sends nothing
// now: staff see a channel pending, and without it could not tell one that
// waits for its own rate limit, or for the pause it asked for, from one
// that nothing delivers.
func (d *delivery) heldBack(wait time.Duration) string {
	in := max(wait.Round(time.Second), time.Second).String()
	g := &d.gate
	if g.paused != nil && g.paused.After(g.now.Add(time.Since(g.at))) {
		return "not sent yet: the channel asked keyrack to wait (HTTP 429 with Retry-After); the next push goes in about " + in
	}
	requests := "requests"
	if d.ch.RateLimit == 1 {
		requests = "request"
	}
	per := "a minute"
	if d.f.cfg.RateWindow != time.Minute {
		per = "per " + d.f.cfg.RateWindow.String()
	}
	return fmt.Sprintf("not sent yet: the channel's rate limit (%d %s %s) is used up; the next push goes in about %s, "+
		"with every change made meanwhile", d.ch.RateLimit, requests, per, in)
}

// admit applies the channel's rate limit and any pause it asked for, as
// lockAndClaim read them. It returns how long to wait, or 0 having counted
// the request.
func (d *delivery) admit(ctx context.Context) (time.Duration, error) {
	g := &d.gate
	now := g.now.Add(time.Since(g.at))
	if g.paused != nil && g.paused.After(now) {
		return g.paused.Sub(now), nil
	}
	wait, window := admitRequest(now, g.sent, d.ch.RateLimit, d.f.cfg.RateWindow)
	if wait > 0 {
		if wait > 100*time.Millisecond {
			return wait, nil
		}
		// Not worth a round trip through Redis.
		time.Sleep(wait)
		now = now.Add(wait)
		if wait, window = admitRequest(now, g.sent, d.ch.RateLimit, d.f.cfg.RateWindow); wait > 0 {
			return wait, nil
		}
	}
	if d.ch.RateLimit <= 0 {
		return 0, nil
	}
	if _, err := d.conn.Exec(ctx, `UPDATE sync_channels SET rate_window = $3 WHERE property_id = $1 AND channel_id = $2`,
		d.task.Property, d.task.Channel, window); err != nil {
		return 0, err
	}
	g.sent, g.open = window, now
	return 0, nil
}

// answered moves the request admit counted last, now answered, to the
// time of its answer. A channel counts a request when it handles it,
// which can be well after keyrack sent it (a slow network, a busy
// channel): counted from its sending, the request a window later could
// reach a channel still counting the slow one. PostgreSQL's clock reads
// the moment after the answer, which is no earlier than the channel's
// count.
func (d *delivery) answered(ctx context.Context) error {
	g := &d.gate
	if g.open.IsZero() {
		return nil
	}
	err := d.conn.QueryRow(ctx, answeredSQL+` RETURNING rate_window, clock_timestamp()`,
		d.task.Property, d.task.Channel, g.open).Scan(&g.sent, &g.now)
	g.at, g.open = time.Now(), time.Time{}
	return err
}

// answeredSQL moves request $3 of channel $2's rate window to now: see
// delivery.answered. Webhooks, sent outside the pair's lock, may be
// answered out of order; admitRequest sorts the window.
const answeredSQL = `UPDATE sync_channels SET rate_window = array_replace(rate_window, $3, clock_timestamp())
	WHERE property_id = $1 AND channel_id = $2`

// pace waits until the channel may be sent another request of the push
// under way, and counts it: every message counts against the rate limit,
// not only a push's first.
func (d *delivery) pace(ctx context.Context) error {
	if err := d.answered(ctx); err != nil {
		return err
	}
	for {
		wait, err := d.admit(ctx)
		if err != nil || wait == 0 {
			return err
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		}
	}
}

// admitRequest is a sliding-window limit of limit requests per window:
// given when the latest requests were sent or answered (delivery.answered),
// in any order, it returns how long to wait before the next one, or 0 and
// the times to keep once it is counted. Unlike a token bucket, it never
// lets more than limit requests into any window, which is what channels
// count. limit ≤ 0 is no limit.
func admitRequest(now time.Time, sent []time.Time, limit int, window time.Duration) (time.Duration, []time.Time) {
	if limit <= 0 {
		return 0, nil
	}
	recent := slices.DeleteFunc(slices.Clone(sent), func(t time.Time) bool { return !t.After(now.Add(-window)) })
	slices.SortFunc(recent, time.Time.Compare)
	if len(recent) >= limit {
		return recent[len(recent)-limit].Add(window).Sub(now), nil
	}
	return 0, append(recent, now)
}

// later hands the pair over to a fresh task that runs after delay, unless a
// task waits already (it will do the work), and ends this run successfully.
func (d *delivery) later(ctx context.Context, delay time.Duration) error {
	if err := d.handOver(ctx, d.class, delay, ""); err != nil {
		return err
	}
	return d.succeeded(ctx)
}

// succeededSQL records a run that ended without a failure: $3 pushes
// taken, $4 a note for staff or NULL.
const succeededSQL = `UPDATE sync_channels SET deliveries = deliveries + $3,
		last_delivery_at = CASE WHEN $3 > 0 THEN now() ELSE last_delivery_at END,
		last_error = $4, last_error_at = CASE WHEN $4::text IS NULL THEN NULL ELSE now() END
	WHERE property_id = $1 AND channel_id = $2`

func (d *delivery) succeededArgs() []any {
	var note *string
	if d.notes != "" {
		note = &d.notes
	}
	return []any{d.task.Property, d.task.Channel, d.sent, note}
}

// succeeded records a run that ended without a failure.
func (d *delivery) succeeded(ctx context.Context) error {
	_, err := d.conn.Exec(ctx, succeededSQL, d.succeededArgs()...)
	return err
}

// fail records a failed run and decides what becomes of it. A run that got
// some pushes through hands over to a fresh task (with a fresh retry
// budget): the budget is for channels that make no progress. Otherwise the
// task is retried by asynq with backoff — the marks stay, so the retry sends
// the state current then — or, for a permanent failure or a failure
// (isFailure) on the last attempt, archived. A channel asking to slow down
// (429) or a delivery waiting its turn on the last attempt is retried like
// any other: asynq does not count it, so it archives nothing.
func (d *delivery) fail(ctx context.Context, cause error, last bool) error {
	kind := connectors.KindOf(cause)
	msg := cause.Error()
	var pause *time.Duration
	if after := connectors.RetryAfterOf(cause); kind == connectors.KindRateLimited && after > 0 {
		pause = &after
	}
	// The bookkeeping uses its own context: the run's may be what failed.
	bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if _, err := d.conn.Exec(bctx, `UPDATE sync_channels SET failures = failures + 1, last_error = $3, last_error_at = now(),
			deliveries = deliveries + $4,
			paused_until = CASE WHEN $5::interval IS NULL THEN paused_until ELSE clock_timestamp() + $5::interval END
		WHERE property_id = $1 AND channel_id = $2`, d.task.Property, d.task.Channel, msg, d.sent, pause); err != nil {
		d.f.log.Warn("could not record a failed delivery", "err", err)
	}
	d.f.log.Debug("delivery failed", "channel", d.ch.Property+"/"+d.ch.Code, "kind", kind, "err", cause)
	switch {
	case d.sent > 0 && kind != connectors.KindPermanent && ctx.Err() == nil:
		d.sent = 0 // counted above
		if err := d.handOver(bctx, d.class, d.f.retryDelay(0, cause, nil), ""); err != nil {
			// The sweeper revives the pair: its marks are there, no task is.
			d.f.log.Warn("could not hand a delivery over to a fresh task", "err", err)
		}
		return nil
	case (kind == connectors.KindPermanent || (last && isFailure(cause))) && d.channelChanged(bctx):
		// Staff changed the channel since the run read it — corrected its
		// credentials or endpoint, say, after the failures they saw: what
		// failed is no longer the channel as it is, and dead-lettered it
		// would wait for its next change or for staff to retry it by
		// hand. A fresh task tries the channel as it is now.
		if err := d.handOver(bctx, d.class, 0, ""); err != nil {
			d.f.log.Warn("could not hand a delivery over to a fresh task", "err", err)
		}
		return nil
	case kind == connectors.KindPermanent || (last && isFailure(cause)):
		// Archived: nothing retries the pair until a change, a resync or
		// staff (Archived, RetryArchived) — unless a newer task waits already.
		if _, err := d.conn.Exec(bctx, `UPDATE sync_channels SET archived = (queued IS NULL)
			WHERE property_id = $1 AND channel_id = $2`, d.task.Property, d.task.Channel); err != nil {
			d.f.log.Warn("could not record an archived delivery", "err", err)
		}
		d.f.dropDeadLetters(d.task.pair, taskID(d.task.pair, d.task.Gen))
		d.f.log.Warn("delivery archived: staff can retry it", "channel", d.ch.Property+"/"+d.ch.Code, "err", cause)
		if kind == connectors.KindPermanent {
			return fmt.Errorf("%w (%w)", cause, asynq.SkipRetry)
		}
		return cause
	default:
		// This task comes back as an asynq retry: it is the one that waits,
		// and changes until then join it.
		if _, err := d.conn.Exec(bctx, `UPDATE sync_channels SET queued = $3, queued_gen = $4, queued_at = now()
			WHERE property_id = $1 AND channel_id = $2 AND queued IS NULL`,
			d.task.Property, d.task.Channel, d.class, d.task.Gen); err != nil {
			d.f.log.Warn("could not record a delivery to retry", "err", err)
		}
		return cause
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

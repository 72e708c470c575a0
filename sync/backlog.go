package sync

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// Backlog is how far the fan-out is behind, over every property: what an
// operator graphs and alerts on (web's /metrics reads it at each scrape,
// from PostgreSQL, so every web process reports the same).
type Backlog struct {
	// OutboxPending counts the changes recorded with bookings and edits
	// that the relay has not taken yet, by topic ("availability": for the
	// channels' availability; "reservation": for the PMS feed), and
	// OutboxOldest is how long the oldest has waited (0 when none).
	OutboxPending map[string]int
	OutboxOldest  map[string]time.Duration
	// ChannelsPending counts the channels with changes relayed to them and
	// not delivered yet, and OldestPending is how long the oldest of those
	// has waited (0 when none) — the channels page's "pending for" — by
	// kind of mark: "change" (bookings, staff edits) and "resync" (full
	// resyncs, bulk work that steps aside for bookings). A channel's own
	// booking, which is not sent back to it, is not pending.
	ChannelsPending map[string]int
	OldestPending   map[string]time.Duration
	// FeedUnacked counts the reservation revisions on enabled PMS channels'
	// feeds that the PMS has not acknowledged, and FeedOldestUnacked is how
	// long the oldest has waited (since the channel was enabled again, if
	// later; 0 when none); WebhooksPending those of them whose webhook has
	// not been answered yet (and has not failed for good).
	FeedUnacked       int
	FeedOldestUnacked time.Duration
	WebhooksPending   int
	// Deliveries counts the pushes channels took and Failures the failed
	// delivery attempts, since the channels were made; DeadLettered the
	// channels whose last delivery ran out of retries (alerts page).
	Deliveries, Failures int64
	DeadLettered         int
	// PullOldest is how long ago the enabled pull-mode OTA channel (with a
	// pull URL) polled least recently was last polled with success — since
	// it was made, if never —, 0 when there is none. Only the elected
	// scheduler polls: this grows when none leads, as when the channel
	// fails, and its bookings then do not reach keyrack.
	PullOldest time.Duration
	// SchedulerUnled is how long no scheduler has led (0 while one leads,
	// or when there is no property): see Overdue.SchedulerIdleSince.
	SchedulerUnled time.Duration
}

// BacklogTopics and BacklogMarks are the keys of Backlog's maps; each is
// present, 0 when nothing waits.
var (
	BacklogTopics = []string{"availability", "reservation"}
	BacklogMarks  = []string{"change", "resync"}
)

// Backlog reads the fan-out's backlog, in one round trip.
func (f *Fanout) Backlog(ctx context.Context) (Backlog, error) {
	b := Backlog{OutboxPending: map[string]int{}, OutboxOldest: map[string]time.Duration{},
		ChannelsPending: map[string]int{}, OldestPending: map[string]time.Duration{}}
	// One row per figure: what, its key, a count (two for the channels'
	// totals) and an age in seconds.
	rows, _ := f.db.Query(ctx, `
		SELECT 'outbox', t.topic, count(o.id), 0::bigint, coalesce(extract(epoch FROM now() - min(o.created_at)), 0)::float8
		FROM unnest($1::text[]) AS t (topic) LEFT JOIN outbox o ON o.topic = t.topic AND o.done_at IS NULL
		GROUP BY t.topic
		UNION ALL
		SELECT 'marks', CASE WHEN k.resync THEN 'resync' ELSE 'change' END, count(DISTINCT (d.property_id, d.channel_id)) FILTER (WHERE d.channel_id IS NOT NULL), 0,
			coalesce(extract(epoch FROM now() - min(d.since)), 0)::float8
		FROM (VALUES (false), (true)) AS k (resync)
		LEFT JOIN sync_dirty d ON d.resync = k.resync AND NOT isempty(d.nights - d.echo)
		GROUP BY k.resync
		UNION ALL
		SELECT 'feed', '', count(*), count(*) FILTER (WHERE e.webhook AND e.delivered_at IS NULL AND e.failed_at IS NULL),
			coalesce(extract(epoch FROM now() - min(greatest(e.created_at, c.enabled_at))), 0)::float8
		FROM feed_entries e JOIN channels c ON c.property_id = e.property_id AND c.id = e.channel_id AND c.enabled
		WHERE e.acked_at IS NULL
		UNION ALL
		SELECT 'channels', '', coalesce(sum(deliveries), 0)::bigint, coalesce(sum(failures), 0)::bigint, 0 FROM sync_channels
		UNION ALL
		SELECT 'archived', '', count(*), 0, 0 FROM sync_channels WHERE archived
		UNION ALL
		SELECT 'pulls', '', count(*), 0, coalesce(extract(epoch FROM now() - min(coalesce(s.pull_ok_at, c.created_at))), 0)::float8
		FROM channels c LEFT JOIN sync_channels s ON s.property_id = c.property_id AND s.channel_id = c.id
		WHERE c.kind = 'ota_pull' AND c.enabled AND c.pull_url <> ''
		UNION ALL
		SELECT 'scheduler', '', 0, 0, CASE WHEN leaders = 0 THEN coalesce(extract(epoch FROM now() - since), 0) ELSE 0 END::float8
		FROM `+schedulerStateSQL, BacklogTopics)
	var what, key string
	var n, m int64
	var secs float64
	for rows.Next() {
		if err := rows.Scan(&what, &key, &n, &m, &secs); err != nil {
			rows.Close()
			return b, err
		}
		age := time.Duration(secs * float64(time.Second))
		switch what {
		case "outbox":
			b.OutboxPending[key], b.OutboxOldest[key] = int(n), age
		case "marks":
			b.ChannelsPending[key], b.OldestPending[key] = int(n), age
		case "feed":
			b.FeedUnacked, b.WebhooksPending, b.FeedOldestUnacked = int(n), int(m), age
		case "channels":
			b.Deliveries, b.Failures = n, m
		case "archived":
			b.DeadLettered = int(n)
		case "pulls":
			b.PullOldest = age
		case "scheduler":
			b.SchedulerUnled = age
		}
	}
	return b, rows.Err()
}

// Work keyrack's own processes do within seconds, overdue and not even
// attempted, means a part of the deployment is not running (no worker, no
// leading scheduler) or cannot reach Redis — nothing fails loudly then: the
// work just never happens. Overdue finds it from PostgreSQL alone, so a web
// process tells staff (the alerts page) and monitoring (readyz) without the
// missing process doing anything.
const (
	// RelayOverdue is how long a change may wait in the outbox before it is
	// overdue: the relay takes one within tens of milliseconds.
	RelayOverdue = 2 * time.Minute
	// DeliveryOverdue is how long a channel's changes may wait with no
	// delivery to it even attempted since: a delivery waits at most about
	// a minute for the channel's rate limit or lock.
	DeliveryOverdue = 5 * time.Minute
	// SchedulerOverdue is how long keyrack may go with no scheduler leading
	// before that is overdue: another process takes the lead within
	// ElectionInterval (5 s) of the leader's end, and the leader records
	// that it leads every ScheduleInterval (1 min).
	SchedulerOverdue = 5 * time.Minute
	// SchedulerStuck is how long a scheduler may hold the lead without
	// beginning a round before it is taken for stuck: a round (the nightly
	// resync of every channel, the checks, the clean-ups) takes seconds to
	// a few minutes.
	SchedulerStuck = 30 * time.Minute
)

// schedulerStateSQL is a subquery of one row: how many schedulers hold the
// lead's lock now (scheduler.go), and since when none has led — the leader's
// last record, or the first property's making if later; NULL when there is
// no property, and so nothing for a scheduler to do.
var schedulerStateSQL = `(SELECT
		(SELECT count(*)::int FROM pg_locks l WHERE ` + heldSQL(schedulerLockSQL) + `) AS leaders,
		CASE WHEN EXISTS (SELECT FROM properties)
			THEN greatest((SELECT led_at FROM scheduler_lead), (SELECT min(created_at) FROM properties)) END AS since
	) AS scheduler`

// Overdue is the work keyrack's processes have left undone, and not even
// attempted, for too long: what Fanout.Overdue finds.
type Overdue struct {
	// Unrelayed counts the changes (bookings, cancellations, staff edits)
	// waiting in the outbox for more than RelayOverdue — no worker's relay
	// has taken them, so no channel nor PMS has them — and UnrelayedSince
	// is when the oldest was made.
	Unrelayed      int
	UnrelayedSince time.Time
	// Undelivered are the channels pushed availability whose changes have
	// waited more than DeliveryOverdue with no delivery to them attempted
	// since (nor asked to wait by the channel): no worker delivers, or none
	// reaches Redis. A channel whose deliveries are attempted and fail is
	// not listed: its failures and dead letters say so.
	Undelivered []OverdueChannel
	// Unpolled are the enabled pull-mode channels with no good poll for
	// PullStaleAfter and two of their poll intervals (since they were made
	// or enabled again, if later) and no open stale-pull incident, which
	// would say so with the polls' error: their bookings are not reaching
	// keyrack.
	Unpolled []OverdueChannel
	// SchedulerLeads: a scheduler leads right now (it holds the lead's
	// lock). Without one, pull-mode channels are not polled. It is false
	// for the seconds a failover takes too, so it says why, not whether.
	SchedulerLeads bool
	// SchedulerIdleSince is since when no scheduler has led, when that is
	// longer than SchedulerOverdue and none leads now (zero otherwise): its
	// periodic work — the nightly resync, the polls of pull-mode channels,
	// the checks that raise alerts, the clean-ups — is not done, for every
	// property. It counts from the leader's last record that it led, or
	// from the first property's making if later (a new installation whose
	// scheduler never ran); a leader busy with long work holds the lead and
	// is not counted — until SchedulerStuckSince.
	SchedulerIdleSince time.Time
	// SchedulerStuckSince is when the scheduler that leads now began its
	// last round, when that is longer ago than SchedulerStuck (zero
	// otherwise): it holds the lead, so no other process takes over, but
	// its round does not end — waiting on a lock someone holds, say — and
	// the periodic work is not done.
	SchedulerStuckSince time.Time
	// RedisUnreachable are the worker processes whose Redis has not answered
	// for StepDownAfter (redisreport.go): a wrong REDIS_URL, or a process cut
	// off from Redis alone. Each delivers nothing and hands what it relays
	// to the others; with Redis down for every process, each is listed.
	RedisUnreachable []UnreachableProcess
}

// UnreachableProcess is a keyrack process that says its Redis does not
// answer, as PostgreSQL knows it: the session it says so on.
type UnreachableProcess struct {
	// Name is the session's application_name ("keyrack serve worker pid
	// 4242" for keyrack serve, unless DATABASE_URL names its sessions).
	Name string
	// Client is the address the process connects from ("local socket"
	// when none).
	Client string
	// Since is when its Redis first did not answer (within a check,
	// ElectionInterval).
	Since time.Time
}

// Empty says nothing is overdue.
func (o Overdue) Empty() bool {
	return o.Unrelayed == 0 && len(o.Undelivered) == 0 && len(o.Unpolled) == 0 && o.SchedulerIdleSince.IsZero() &&
		o.SchedulerStuckSince.IsZero() && len(o.RedisUnreachable) == 0
}

// OverdueChannel is a channel whose work is overdue.
type OverdueChannel struct {
	Property, Channel string
	// Since is when the oldest change waiting for the channel was made
	// (Undelivered), or since when it has had no good poll (Unpolled).
	Since time.Time
	// LastDone is when the channel was last delivered to, or last polled
	// with success; nil when never.
	LastDone *time.Time
	// Of a pull-mode channel: when keyrack last asked for a poll of it
	// (nil when never), how often it should, and the error of its last
	// poll if that failed.
	PulledAt     *time.Time
	PullInterval time.Duration
	PullError    string
}

// Overdue reads the overdue work of a property (every property's when
// property is ""), in one round trip.
func (f *Fanout) Overdue(ctx context.Context, property string) (Overdue, error) {
	var o Overdue
	// One row per finding: what, its property and channel, a number (the
	// relay's count of changes, a pull-mode channel's poll interval), since
	// when, when last done, when a poll was last asked for, the count of
	// leading schedulers, and the last poll's error.
	rows, _ := f.db.Query(ctx, `
		SELECT 'relay', '', '', count(*)::int, min(o.created_at), NULL::timestamptz, NULL::timestamptz, 0, ''
		FROM outbox o JOIN properties p ON p.id = o.property_id
		WHERE o.done_at IS NULL AND o.created_at < now() - $2::interval AND ($1 = '' OR p.code = $1)
		HAVING count(*) > 0
		UNION ALL
		-- Booking-driven marks only: a resync's bulk work may rightly wait
		-- behind bookings for longer.
		SELECT 'delivery', p.code, c.code, 0, min(d.since), s.last_delivery_at, NULL, 0, ''
		FROM sync_dirty d
		JOIN channels c ON c.property_id = d.property_id AND c.id = d.channel_id
		JOIN properties p ON p.id = c.property_id
		LEFT JOIN sync_channels s ON s.property_id = c.property_id AND s.channel_id = c.id
		WHERE NOT d.resync AND NOT isempty(d.nights - d.echo) AND c.enabled AND c.kind = ANY($4::text[]) AND c.endpoint <> ''
			AND ($1 = '' OR p.code = $1)
		GROUP BY p.code, c.code, s.last_delivery_at, s.last_error_at, s.paused_until
		HAVING min(d.since) < now() - $3::interval
			-- Not attempted since: a delivery records when it pushed, or its
			-- error (a failure, a wait for the channel's lock, a hung host).
			AND coalesce(greatest(s.last_delivery_at, s.last_error_at), '-infinity') < min(d.since)
			AND coalesce(s.paused_until, '-infinity') < now() - $3::interval
		UNION ALL
		SELECT 'pull', p.code, c.code, c.pull_interval_s, greatest(coalesce(s.pull_ok_at, c.created_at), c.enabled_at),
			s.pull_ok_at, s.pulled_at, 0, coalesce(s.pull_error, '')
		FROM channels c JOIN properties p ON p.id = c.property_id
		LEFT JOIN sync_channels s ON s.property_id = c.property_id AND s.channel_id = c.id
		WHERE c.enabled AND c.kind = 'ota_pull' AND c.pull_url <> '' AND ($1 = '' OR p.code = $1)
			AND greatest(coalesce(s.pull_ok_at, c.created_at), c.enabled_at)
				< now() - greatest($5::interval, 2 * c.pull_interval_s * interval '1 second')
			AND NOT EXISTS (SELECT 1 FROM incidents i WHERE i.property_id = c.property_id AND i.channel_id = c.id
				AND i.kind = 'stale_pull' AND i.resolved_at IS NULL)
		UNION ALL
		-- Whether a scheduler leads now, and since when none has if that is
		-- overdue: every property's, whichever is asked for.
		-- A leader's last round began long ago (lastDone's column): stuck.
		SELECT 'scheduler', '', '', 0, CASE WHEN leaders = 0 AND since < now() - $6::interval THEN since END,
			CASE WHEN leaders > 0 AND since < now() - $7::interval THEN since END, NULL, leaders, ''
		FROM `+schedulerStateSQL+`
		UNION ALL
		-- Worker processes whose Redis does not answer (redisreport.go):
		-- every property's, whichever is asked for.
		SELECT 'redis', a.application_name, coalesce(host(a.client_addr), 'local socket'), 0, a.backend_start, NULL, NULL, 0, ''
		FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
		WHERE `+heldSQL(redisOutLockSQL)+`
		ORDER BY 1, 2, 3`, property, RelayOverdue, DeliveryOverdue, f.pushed, f.cfg.PullStaleAfter, SchedulerOverdue, SchedulerStuck)
	var what, prop, channel, pullErr string
	var n, leaders int
	var since, lastDone, pulledAt *time.Time
	_, err := pgx.ForEachRow(rows, []any{&what, &prop, &channel, &n, &since, &lastDone, &pulledAt, &leaders, &pullErr}, func() error {
		ch := OverdueChannel{Property: prop, Channel: channel, LastDone: lastDone}
		if since != nil {
			ch.Since = *since
		}
		switch what {
		case "relay":
			o.Unrelayed, o.UnrelayedSince = n, ch.Since
		case "delivery":
			o.Undelivered = append(o.Undelivered, ch)
		case "pull":
			ch.PulledAt, ch.PullInterval, ch.PullError = pulledAt, time.Duration(n)*time.Second, pullErr
			o.Unpolled = append(o.Unpolled, ch)
		case "redis":
			o.RedisUnreachable = append(o.RedisUnreachable, UnreachableProcess{Name: prop, Client: channel, Since: ch.Since})
		case "scheduler":
			o.SchedulerLeads, o.SchedulerIdleSince = leaders > 0, ch.Since
			if lastDone != nil {
				o.SchedulerStuckSince = *lastDone
			}
		}
		// Fresh pointers for the next row, not this one's overwritten.
		since, lastDone, pulledAt = nil, nil, nil
		return nil
	})
	return o, err
}

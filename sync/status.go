package sync

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// ChannelStatus says whether a channel is in sync with the pool and, if
// not, why — for staff and for tests.
type ChannelStatus struct {
	Channel string `json:"channel"`
	Enabled bool   `json:"enabled"`
	// InSync: nothing waits to be delivered, nor to be relayed to the
	// channel (Unrelayed).
	InSync bool `json:"in_sync"`
	// DirtyNights counts the pool-nights not delivered yet; DirtySince is
	// when the oldest of them changed, or the oldest Unrelayed change was
	// made if earlier.
	DirtyNights int        `json:"dirty_nights"`
	DirtySince  *time.Time `json:"dirty_since,omitempty"`
	// Unrelayed counts the availability changes (bookings, staff edits) of
	// pools the channel sells that the outbox relay has not taken RelayLate
	// after they were made — it is behind, or not running (no worker
	// process), or cannot write (PostgreSQL's disk is full) — and
	// UnrelayedSince is when the oldest was made. Until the relay takes
	// them, the channel is not even marked dirty: DirtyNights does not
	// count them.
	Unrelayed      int        `json:"unrelayed"`
	UnrelayedSince *time.Time `json:"unrelayed_since,omitempty"`
	// Closing counts the room codes (at the rate level, room and rate
	// pairs) whose last mapping was deleted and that the channel has not
	// been sent closed yet (sync_closures): it sells them until it is.
	// DirtySince counts the oldest deletion too.
	Closing int `json:"closing"`
	// Queued is the queue of the task that waits ("critical", "bulk"), if any.
	Queued string `json:"queued,omitempty"`
	// Archived: the last delivery ran out of retries; see Archived.
	Archived     bool       `json:"archived"`
	Deliveries   int64      `json:"deliveries"`
	Failures     int64      `json:"failures"`
	LastDelivery *time.Time `json:"last_delivery,omitempty"`
	LastError    string     `json:"last_error,omitempty"`
	LastErrorAt  *time.Time `json:"last_error_at,omitempty"`
	ResyncedOn   *time.Time `json:"resynced_on,omitempty"`
	// For PMS channels: the reservation revisions on the channel's feed that
	// it has not acknowledged, and since when the oldest has waited; of
	// those with a webhook, how many are not delivered yet and how many
	// failed for good. InSync is about availability only.
	FeedUnacked       int        `json:"feed_unacked"`
	FeedOldestUnacked *time.Time `json:"feed_oldest_unacked,omitempty"`
	WebhooksPending   int        `json:"webhooks_pending"`
	WebhooksFailed    int        `json:"webhooks_failed"`
	// LastWebhook is when the latest of the channel's last RecentFeed
	// revisions delivered by webhook was. WebhookError is the error of the
	// latest failed attempt of a webhook still being retried (pending), and
	// WebhookErrorAt when it was.
	LastWebhook    *time.Time `json:"last_webhook,omitempty"`
	WebhookError   string     `json:"webhook_error,omitempty"`
	WebhookErrorAt *time.Time `json:"webhook_error_at,omitempty"`
	// For ota_pull channels: when keyrack last polled the channel, when a
	// poll last succeeded, and the error of the last failed poll (cleared
	// by the next good one).
	PulledAt    *time.Time `json:"pulled_at,omitempty"`
	PullOKAt    *time.Time `json:"pull_ok_at,omitempty"`
	PullError   string     `json:"pull_error,omitempty"`
	PullErrorAt *time.Time `json:"pull_error_at,omitempty"`
}

// RelayLate is how long an availability change may wait in the outbox
// before the channels it concerns are no longer shown in sync (or ten
// Config.RelayInterval, if longer): the relay takes one within tens of
// milliseconds, and the channels page must not flap on that.
const RelayLate = time.Second

// relayLate is RelayLate for the fan-out's relay interval.
func (f *Fanout) relayLate() time.Duration { return max(RelayLate, 10*f.cfg.RelayInterval) }

// Status reports the fan-out state of every channel of a property, by code.
func (f *Fanout) Status(ctx context.Context, property string) ([]ChannelStatus, error) {
	rows, _ := f.db.Query(ctx, `
		WITH late AS (
			-- The property's availability changes the relay is late with,
			-- by pool: read once (outbox_availability_pending), for every
			-- channel.
			SELECT o.pool_id, count(*)::int AS n, min(o.created_at) AS oldest
			FROM properties p JOIN outbox o ON o.property_id = p.id AND o.done_at IS NULL AND o.topic = 'availability'
			WHERE p.code = $1 AND o.created_at < now() - $3::float8 * interval '1 second'
			GROUP BY o.pool_id
		)
		SELECT c.code, c.enabled,
			coalesce((SELECT sum(upper(r) - lower(r)) FROM (
					-- A pool's change and resync marks may hold the same nights.
					SELECT range_agg(d.nights) AS nights FROM sync_dirty d
					WHERE d.property_id = c.property_id AND d.channel_id = c.id GROUP BY d.pool_id) AS d,
				unnest(d.nights) AS r), 0)::int,
			(SELECT min(since) FROM sync_dirty d WHERE d.property_id = c.property_id AND d.channel_id = c.id),
			coalesce(s.queued, ''), coalesce(s.archived, false), coalesce(s.deliveries, 0), coalesce(s.failures, 0),
			s.last_delivery_at, coalesce(s.last_error, ''), s.last_error_at, s.resynced_on::timestamp,
			coalesce(f.unacked, 0), f.oldest, coalesce(f.pending, 0), coalesce(f.failed, 0),
			s.pulled_at, s.pull_ok_at, coalesce(s.pull_error, ''), s.pull_error_at,
			-- Among the latest entries only: a pull-only PMS has none
			-- delivered, and all of its entries would be read.
			CASE WHEN c.kind = 'pms' THEN (SELECT max(w.delivered_at) FROM (
				SELECT e.delivered_at FROM feed_entries e WHERE e.property_id = c.property_id AND e.channel_id = c.id
				ORDER BY e.id DESC LIMIT $2) AS w) END,
			coalesce(f.webhook_error, ''), f.webhook_error_at,
			coalesce(o.n, 0), o.oldest, coalesce(z.n, 0), z.oldest
		FROM channels c JOIN properties p ON p.id = c.property_id
		LEFT JOIN sync_channels s ON s.property_id = c.property_id AND s.channel_id = c.id
		LEFT JOIN LATERAL (
			SELECT count(*)::int AS unacked, min(e.created_at) AS oldest,
				(count(*) FILTER (WHERE e.webhook AND e.delivered_at IS NULL AND e.failed_at IS NULL))::int AS pending,
				(count(*) FILTER (WHERE e.failed_at IS NOT NULL))::int AS failed,
				(array_agg(e.last_error ORDER BY e.last_attempt_at DESC) FILTER (WHERE e.webhook AND e.delivered_at IS NULL
					AND e.failed_at IS NULL AND e.last_error IS NOT NULL))[1] AS webhook_error,
				max(e.last_attempt_at) FILTER (WHERE e.webhook AND e.delivered_at IS NULL
					AND e.failed_at IS NULL AND e.last_error IS NOT NULL) AS webhook_error_at
			FROM feed_entries e WHERE e.property_id = c.property_id AND e.channel_id = c.id AND e.acked_at IS NULL
		) AS f ON c.kind = 'pms'
		-- The changes the relay would mark the channel dirty for: of the
		-- pools it sells, if it is enabled and pushed availability.
		LEFT JOIN LATERAL (
			SELECT sum(l.n)::int AS n, min(l.oldest) AS oldest FROM late l
			WHERE l.pool_id IN (SELECT rt.pool_id FROM mappings m
				JOIN room_types rt ON rt.property_id = m.property_id AND rt.id = m.room_type_id
				WHERE m.property_id = c.property_id AND m.channel_id = c.id)
		) AS o ON c.enabled AND c.kind = ANY($4::text[])
		-- The rooms to close on it, if it is sent them (a disabled
		-- channel's wait for it to be enabled again).
		LEFT JOIN LATERAL (
			SELECT count(*)::int AS n, min(x.created_at) AS oldest FROM sync_closures x
			WHERE x.property_id = c.property_id AND x.channel_id = c.id
		) AS z ON c.enabled AND c.kind = ANY($4::text[])
		WHERE p.code = $1
		ORDER BY c.code`, property, RecentFeed, f.relayLate().Seconds(), f.pushed)
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (ChannelStatus, error) {
		var s ChannelStatus
		var closingSince *time.Time
		err := r.Scan(&s.Channel, &s.Enabled, &s.DirtyNights, &s.DirtySince, &s.Queued, &s.Archived,
			&s.Deliveries, &s.Failures, &s.LastDelivery, &s.LastError, &s.LastErrorAt, &s.ResyncedOn,
			&s.FeedUnacked, &s.FeedOldestUnacked, &s.WebhooksPending, &s.WebhooksFailed,
			&s.PulledAt, &s.PullOKAt, &s.PullError, &s.PullErrorAt, &s.LastWebhook, &s.WebhookError, &s.WebhookErrorAt,
			&s.Unrelayed, &s.UnrelayedSince, &s.Closing, &closingSince)
		for _, since := range []*time.Time{s.UnrelayedSince, closingSince} {
			if since != nil && (s.DirtySince == nil || since.Before(*s.DirtySince)) {
				s.DirtySince = since
			}
		}
		s.InSync = s.DirtyNights == 0 && s.DirtySince == nil && s.Unrelayed == 0 && s.Closing == 0
		return s, err
	})
}

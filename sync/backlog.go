package sync

import (
	"context"
	"time"
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
		WHERE c.kind = 'ota_pull' AND c.enabled AND c.pull_url <> ''`, BacklogTopics)
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
		}
	}
	return b, rows.Err()
}

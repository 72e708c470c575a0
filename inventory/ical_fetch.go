package inventory

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// ICalFeedDue is a feed whose poll is due, with what a conditional fetch
// needs. ETag and LastModified are left empty, for a whole fetch, when the
// feed was last imported on an earlier day of the property's calendar: what
// a calendar takes depends on the day it is read (a block "until 2099"
// holds the nights of a window that moves on with the days, recurring
// events enter that window as the days pass), so a platform's 304 to
// yesterday's validators would leave the new day's nights unread.
type ICalFeedDue struct {
	ICalFeedRef
	Channel      string
	RoomType     string
	TimeZone     string // the property's
	URL          string
	ETag         string
	LastModified string
}

// DueICalFeeds claims up to limit feeds of enabled iCal channels whose poll
// is due and moves each one's next poll a poll interval ahead, ±10% so that
// feeds set up together spread out; a feed is claimed by one caller only.
// Their URLs are opened with sec.
func (s *Store) DueICalFeeds(ctx context.Context, sec *Secrets, limit int) ([]ICalFeedDue, error) {
	if sec == nil {
		return nil, Errorf(EINVALID, "iCal feed URLs cannot be opened without KEYRACK_SECRET")
	}
	rows, _ := s.db.Query(ctx, `
		WITH due AS (
			SELECT f.property_id, f.id FROM ical_feeds f
			JOIN channels c ON c.property_id = f.property_id AND c.id = f.channel_id
			WHERE c.enabled AND c.kind = 'ical' AND f.next_fetch_at <= now()
			ORDER BY f.next_fetch_at LIMIT $1
			FOR UPDATE OF f SKIP LOCKED
		)
		UPDATE ical_feeds f SET next_fetch_at = now() + f.poll_interval_s * (0.9 + random() * 0.2) * interval '1 second'
		FROM due, properties p, channels c, room_types rt
		WHERE f.property_id = due.property_id AND f.id = due.id AND p.id = f.property_id
			AND c.property_id = f.property_id AND c.id = f.channel_id
			AND rt.property_id = f.property_id AND rt.id = f.room_type_id
		RETURNING p.code, f.id, c.code, rt.code, p.time_zone, f.url_sealed,
			CASE WHEN (f.imported_fetch_at AT TIME ZONE p.time_zone)::date = (now() AT TIME ZONE p.time_zone)::date THEN f.etag ELSE '' END,
			CASE WHEN (f.imported_fetch_at AT TIME ZONE p.time_zone)::date = (now() AT TIME ZONE p.time_zone)::date THEN f.last_modified ELSE '' END`, limit)
	var sealed []byte
	var out []ICalFeedDue
	var unopened []ICalFeedRef
	var f ICalFeedDue
	_, err := pgx.ForEachRow(rows, []any{&f.Property, &f.ID, &f.Channel, &f.RoomType, &f.TimeZone, &sealed, &f.ETag, &f.LastModified}, func() error {
		u, err := sec.Open(sealed)
		if err != nil {
			unopened = append(unopened, f.ICalFeedRef)
			return nil
		}
		f.URL = u
		out = append(out, f)
		return nil
	})
	if err != nil {
		return nil, err
	}
	// A feed whose URL this secret does not open (sealed by a process with
	// another KEYRACK_SECRET) is a failed fetch of its own, shown on its
	// channel and raised stale in time; it must not hold back the feeds
	// claimed with it, whose next polls have been moved on.
	for _, ref := range unopened {
		if err := s.RecordICalFetch(ctx, ref, ICalFetch{At: time.Now(),
			Err: "the feed's URL does not open with this process's KEYRACK_SECRET: enter the URL again"}); err != nil {
			return out, err
		}
	}
	return out, nil
}

// FetchICalFeedNow makes a feed's poll due at once ("sync now").
func (s *Store) FetchICalFeedNow(ctx context.Context, property, channel string, id int64) error {
	tag, err := s.db.Exec(ctx, `UPDATE ical_feeds f SET next_fetch_at = now()
		FROM properties p, channels c
		WHERE p.code = $1 AND c.property_id = p.id AND c.code = $2 AND f.property_id = p.id AND f.channel_id = c.id AND f.id = $3`,
		property, channel, id)
	if err == nil && tag.RowsAffected() == 0 {
		err = Errorf(ENOTFOUND, "channel %s has no iCal feed %d", channel, id)
	}
	return err
}

// ICalFetch is the outcome of one poll of a feed.
type ICalFetch struct {
	At     time.Time
	Status int // the HTTP status; 0 when the feed did not answer
	// Err says why the fetch is not good ("" when it is): a non-2xx answer,
	// a body that is not a calendar, a parse failure. A failed fetch
	// changes no booking.
	Err          string
	NotModified  bool // 304: the calendar is as last fetched
	ETag         string
	LastModified string
	Events       int // events in the calendar (when fetched, not 304)
	// Warnings are what the parser skipped or guessed in a good fetch.
	Warnings []string
}

// RecordICalFetch keeps the outcome of a poll. A good one also resolves
// the feed's open stale-feed incident.
func (s *Store) RecordICalFetch(ctx context.Context, feed ICalFeedRef, f ICalFetch) error {
	warnings := make([]string, 0, len(f.Warnings))
	for _, w := range f.Warnings {
		warnings = append(warnings, cleanText(w))
	}
	return s.inTx(ctx, func(tx pgx.Tx) error {
		var propID int64
		err := tx.QueryRow(ctx, `UPDATE ical_feeds fd SET last_fetch_at = $3, last_status = $4,
				last_error = nullif($5, ''),
				last_ok_at = CASE WHEN $5 = '' THEN $3 ELSE fd.last_ok_at END,
				etag = CASE WHEN $5 = '' AND NOT $6 THEN $7 ELSE fd.etag END,
				last_modified = CASE WHEN $5 = '' AND NOT $6 THEN $8 ELSE fd.last_modified END,
				events = CASE WHEN $5 = '' AND NOT $6 THEN $9 ELSE fd.events END,
				last_warnings = CASE WHEN $5 = '' AND NOT $6 THEN $10 ELSE fd.last_warnings END
			FROM properties p WHERE p.code = $1 AND fd.property_id = p.id AND fd.id = $2
			RETURNING p.id`, feed.Property, feed.ID, f.At, f.Status, cleanText(f.Err), f.NotModified,
			f.ETag, f.LastModified, f.Events, warnings).Scan(&propID)
		if err != nil {
			return notFound(err, "no iCal feed %d in property %s", feed.ID, feed.Property)
		}
		if f.Err != "" {
			return nil
		}
		_, err = tx.Exec(ctx, `UPDATE incidents SET resolved_at = now(), resolved_by = 'system:ical'
			WHERE property_id = $1 AND ical_feed_id = $2 AND kind = 'stale_feed' AND resolved_at IS NULL`, propID, feed.ID)
		return err
	})
}

// RaiseStaleFeeds opens a stale-feed incident for every feed of an enabled
// iCal channel without a good fetch for longer than after, and returns
// how many feeds are stale now. The open incidents of feeds no longer
// stale are resolved: a good fetch resolves its own (RecordICalFetch), but
// the feed of a channel disabled is not polled any more, and its incident
// would stay open for good.
//
// The time counts from the channel's last enabling if later (as the PMS
// feed's alarm does): a channel disabled for a week was not polled because
// no one was meant to poll it, and, enabled again, it is stale only if it
// gets no good fetch within after — not the moment it is enabled, before
// its first poll has had its chance.
func (s *Store) RaiseStaleFeeds(ctx context.Context, after time.Duration) (int, error) {
	var stale int
	var raise []int64
	err := s.db.QueryRow(ctx, `
		WITH stale AS (`+staleFeedsSQL+`), resolved AS (
			UPDATE incidents i SET resolved_at = now(), resolved_by = 'system:ical', updated_at = now()
			WHERE i.kind = 'stale_feed' AND i.resolved_at IS NULL
				AND NOT EXISTS (SELECT 1 FROM stale WHERE stale.property_id = i.property_id AND stale.id = i.ical_feed_id)
		)
		SELECT count(*), coalesce(array_agg(DISTINCT s.property_id) FILTER (WHERE NOT EXISTS (SELECT 1 FROM incidents i
			WHERE i.property_id = s.property_id AND i.ical_feed_id = s.id AND i.kind = 'stale_feed' AND i.resolved_at IS NULL)), '{}')
		FROM stale s`, after, nil).Scan(&stale, &raise)
	if err == nil {
		// In each property's zone: the message says since when as its pages do.
		err = ExecInPropertyZones(ctx, s.db, raise, `
				WITH stale AS (`+staleFeedsSQL+`)
				INSERT INTO incidents (property_id, kind, ical_feed_id, message, details)
				SELECT property_id, 'stale_feed', id,
					format('the iCal feed of %s for %s (%s) has not been fetched successfully %s: %s', channel, room_type, url_host,
						CASE WHEN last_ok_at IS NULL THEN 'yet' ELSE 'since ' || to_char(last_ok_at, 'YYYY-MM-DD HH24:MI TZ') END,
						coalesce(last_error, 'no answer yet')),
					jsonb_build_object('channel', channel, 'room_type', room_type, 'feed_id', id, 'last_ok_at', last_ok_at, 'last_error', last_error)
				FROM stale
				ON CONFLICT DO NOTHING`, after)
	}
	return stale, err
}

// staleFeedsSQL selects the stale feeds (see RaiseStaleFeeds): $1 is the
// time without a good fetch, $2 a property, or NULL for every one.
const staleFeedsSQL = `
	SELECT f.property_id, f.id, c.code AS channel, rt.code AS room_type, f.url_host, f.last_ok_at, f.last_error
	FROM ical_feeds f
	JOIN channels c ON c.property_id = f.property_id AND c.id = f.channel_id
	JOIN room_types rt ON rt.property_id = f.property_id AND rt.id = f.room_type_id
	WHERE c.enabled AND greatest(coalesce(f.last_ok_at, f.created_at), c.enabled_at) < now() - $1::interval
		AND ($2::bigint IS NULL OR f.property_id = $2)`

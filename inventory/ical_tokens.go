package inventory

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
)

// ICalFeed is a platform's calendar keyrack polls for one room type's
// bookings on an iCal channel. Its URL is sealed; only the host is shown.
type ICalFeed struct {
	ID        int64     `json:"id"`
	Channel   string    `json:"channel"`
	RoomType  string    `json:"room_type"`
	Host      string    `json:"host"`
	CreatedAt time.Time `json:"created_at"`
	// How polling goes: every PollInterval seconds (with jitter); the last
	// attempt, the last good fetch, and why the last attempt failed.
	PollInterval int        `json:"poll_interval_s"`
	NextFetchAt  time.Time  `json:"next_fetch_at"`
	LastFetchAt  *time.Time `json:"last_fetch_at,omitempty"`
	LastOKAt     *time.Time `json:"last_ok_at,omitempty"`
	LastStatus   *int       `json:"last_status,omitempty"`
	LastError    *string    `json:"last_error,omitempty"`
	Events       int        `json:"events"`
	// Warnings: what the last good fetch skipped or guessed (an inverted
	// event, an unknown time zone).
	Warnings []string `json:"warnings,omitempty"`
}

// ExportToken opens keyrack's own iCal calendar of one room type to a
// platform. The token is shown once; only its SHA-256 is kept.
type ExportToken struct {
	ID         int64      `json:"id"`
	Channel    string     `json:"channel"`
	RoomType   string     `json:"room_type"`
	Prefix     string     `json:"prefix"`
	CreatedAt  time.Time  `json:"created_at"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
}

// icalChannel resolves an iCal channel and a room type of a property.
func icalChannel(ctx context.Context, tx pgx.Tx, property, channel, roomType string) (propID, chID, rtID int64, err error) {
	prop, err := propertyByCode(ctx, tx, property)
	if err != nil {
		return 0, 0, 0, err
	}
	var kind ChannelKind
	if err := tx.QueryRow(ctx, `SELECT id, kind FROM channels WHERE property_id = $1 AND code = $2`, prop.ID, channel).Scan(&chID, &kind); err != nil {
		return 0, 0, 0, notFound(err, "channel %s does not exist in property %s", channel, property)
	}
	if kind != ChannelICal {
		return 0, 0, 0, Errorf(EINVALID, "channel %s is of kind %s; iCal feeds and export tokens belong to ical channels", channel, kind)
	}
	if roomType != "" {
		if err := tx.QueryRow(ctx, `SELECT id FROM room_types WHERE property_id = $1 AND code = $2`, prop.ID, roomType).Scan(&rtID); err != nil {
			return 0, 0, 0, notFound(err, "room type %q does not exist in property %s", roomType, property)
		}
	}
	return prop.ID, chID, rtID, nil
}

// SetICalFeed sets the calendar URL keyrack polls for a room type on an iCal
// channel, replacing an earlier one, and how often it is polled in seconds
// (pollInterval; 0 keeps the feed's interval, 900 for a new feed). The
// feed is fetched at once.
func (s *Store) SetICalFeed(ctx context.Context, sec *Secrets, property, channel, roomType, feedURL string, pollInterval int, by Actor) (ICalFeed, error) {
	if pollInterval != 0 && (pollInterval < MinICalPollInterval || pollInterval > MaxICalPollInterval) {
		return ICalFeed{}, Errorf(EINVALID, "poll interval %d s: want %d to %d seconds", pollInterval, MinICalPollInterval, MaxICalPollInterval)
	}
	if sec == nil {
		return ICalFeed{}, Errorf(EINVALID, "iCal feed URLs cannot be stored without KEYRACK_SECRET")
	}
	u, err := url.Parse(feedURL)
	// webcal:// is how iCloud and Google hand out a subscription link: the
	// same URL over HTTPS, which is how the fetcher reads it.
	if err != nil || !slices.Contains([]string{"https", "http", "webcal", "webcals"}, u.Scheme) || u.Host == "" {
		return ICalFeed{}, Errorf(EINVALID, "the feed URL must be an absolute http(s) or webcal URL")
	}
	sealed, err := sec.Seal(feedURL)
	if err != nil {
		return ICalFeed{}, err
	}
	f := ICalFeed{Channel: channel, RoomType: roomType, Host: u.Host}
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		propID, chID, rtID, err := icalChannel(ctx, tx, property, channel, roomType)
		if err != nil {
			return err
		}
		// A new URL drops the old one's validators: they belong to another
		// resource.
		if err := tx.QueryRow(ctx, `INSERT INTO ical_feeds (property_id, channel_id, room_type_id, url_host, url_sealed, poll_interval_s)
			VALUES ($1, $2, $3, $4, $5, coalesce(nullif($6, 0), 900))
			ON CONFLICT (property_id, channel_id, room_type_id) DO UPDATE SET url_host = EXCLUDED.url_host, url_sealed = EXCLUDED.url_sealed,
				poll_interval_s = coalesce(nullif($6, 0), ical_feeds.poll_interval_s), next_fetch_at = now(), etag = '', last_modified = ''
			RETURNING id, created_at, poll_interval_s, next_fetch_at, events`, propID, chID, rtID, u.Host, sealed, pollInterval).
			Scan(&f.ID, &f.CreatedAt, &f.PollInterval, &f.NextFetchAt, &f.Events); err != nil {
			return err
		}
		return audit(ctx, tx, propID, by, "ical_feed.set", "channel "+channel+" room type "+roomType, map[string]any{"host": u.Host})
	})
	return f, err
}

// The bounds of an iCal feed's poll interval, in seconds (the schema's).
const (
	MinICalPollInterval = 60
	MaxICalPollInterval = 86400
)

// ICalFeeds lists an iCal channel's feeds.
func (s *Store) ICalFeeds(ctx context.Context, property, channel string) ([]ICalFeed, error) {
	rows, _ := s.db.Query(ctx, `SELECT f.id, c.code, rt.code, f.url_host, f.created_at, f.poll_interval_s, f.next_fetch_at,
			f.last_fetch_at, f.last_ok_at, f.last_status, f.last_error, f.events, f.last_warnings
		FROM ical_feeds f
		JOIN properties p ON p.id = f.property_id
		JOIN channels c ON c.property_id = f.property_id AND c.id = f.channel_id
		JOIN room_types rt ON rt.property_id = f.property_id AND rt.id = f.room_type_id
		WHERE p.code = $1 AND c.code = $2 ORDER BY rt.code`, property, channel)
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (ICalFeed, error) {
		var f ICalFeed
		err := r.Scan(&f.ID, &f.Channel, &f.RoomType, &f.Host, &f.CreatedAt, &f.PollInterval, &f.NextFetchAt,
			&f.LastFetchAt, &f.LastOKAt, &f.LastStatus, &f.LastError, &f.Events, &f.Warnings)
		return f, err
	})
}

// ICalFeedURL opens the URL of a feed, for the connector that polls it.
func (s *Store) ICalFeedURL(ctx context.Context, sec *Secrets, property string, id int64) (string, error) {
	if sec == nil {
		return "", Errorf(EINVALID, "iCal feed URLs cannot be opened without KEYRACK_SECRET")
	}
	var sealed []byte
	err := s.db.QueryRow(ctx, `SELECT f.url_sealed FROM ical_feeds f JOIN properties p ON p.id = f.property_id
		WHERE p.code = $1 AND f.id = $2`, property, id).Scan(&sealed)
	if err != nil {
		return "", notFound(err, "no iCal feed %d in property %s", id, property)
	}
	return sec.Open(sealed)
}

// DeleteICalFeed stops polling a feed.
func (s *Store) DeleteICalFeed(ctx context.Context, property, channel string, id int64, by Actor) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		propID, chID, _, err := icalChannel(ctx, tx, property, channel, "")
		if err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `DELETE FROM ical_feeds WHERE property_id = $1 AND channel_id = $2 AND id = $3`, propID, chID, id)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return Errorf(ENOTFOUND, "channel %s has no iCal feed %d", channel, id)
		}
		return audit(ctx, tx, propID, by, "ical_feed.delete", "ical feed "+strconv.FormatInt(id, 10), nil)
	})
}

// CreateExportToken makes a token for keyrack's iCal calendar of a room type
// on an iCal channel and returns it with the token, shown this once.
func (s *Store) CreateExportToken(ctx context.Context, property, channel, roomType string, by Actor) (ExportToken, string, error) {
	var t ExportToken
	var token string
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		propID, chID, rtID, err := icalChannel(ctx, tx, property, channel, roomType)
		if err != nil {
			return err
		}
		if rtID == 0 {
			return Errorf(EINVALID, "an export token needs a room type")
		}
		t, token, err = insertExportToken(ctx, tx, propID, chID, rtID, by, "ical_export_token.create")
		return err
	})
	if err != nil {
		return ExportToken{}, "", err
	}
	return t, token, nil
}

// RotateExportToken replaces a live export token with a new one for the
// same calendar, in one transaction: the old token stops answering at once.
// The new token is returned, shown this once.
func (s *Store) RotateExportToken(ctx context.Context, property, channel string, id int64, by Actor) (ExportToken, string, error) {
	var t ExportToken
	var token string
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		propID, chID, _, err := icalChannel(ctx, tx, property, channel, "")
		if err != nil {
			return err
		}
		var rtID int64
		err = tx.QueryRow(ctx, `UPDATE ical_export_tokens SET revoked_at = now()
			WHERE property_id = $1 AND channel_id = $2 AND id = $3 AND revoked_at IS NULL
			RETURNING room_type_id`, propID, chID, id).Scan(&rtID)
		if err != nil {
			return notFound(err, "channel %s has no live export token %d", channel, id)
		}
		t, token, err = insertExportToken(ctx, tx, propID, chID, rtID, by, "ical_export_token.rotate")
		return err
	})
	if err != nil {
		return ExportToken{}, "", err
	}
	return t, token, nil
}

// insertExportToken makes a new token of 256 random bits; only its SHA-256
// and first 8 characters are kept.
func insertExportToken(ctx context.Context, tx pgx.Tx, propID, chID, rtID int64, by Actor, action string) (ExportToken, string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return ExportToken{}, "", err
	}
	token := base64.RawURLEncoding.EncodeToString(b[:])
	h := sha256.Sum256([]byte(token))
	var id int64
	if err := tx.QueryRow(ctx, `INSERT INTO ical_export_tokens (property_id, channel_id, room_type_id, prefix, token_hash)
		VALUES ($1, $2, $3, $4, $5) RETURNING id`, propID, chID, rtID, token[:8], h[:]).Scan(&id); err != nil {
		return ExportToken{}, "", err
	}
	t, err := scanExportToken(tx.QueryRow(ctx, `SELECT `+exportTokenColumns+exportTokenJoins+`WHERE t.property_id = $1 AND t.id = $2`, propID, id))
	if err != nil {
		return ExportToken{}, "", err
	}
	err = audit(ctx, tx, propID, by, action, "channel "+t.Channel+" room type "+t.RoomType, map[string]any{"prefix": t.Prefix, "id": t.ID})
	return t, token, err
}

const exportTokenColumns = `t.id, c.code, rt.code, t.prefix, t.created_at, t.revoked_at, t.last_used_at`

const exportTokenJoins = ` FROM ical_export_tokens t
	JOIN properties p ON p.id = t.property_id
	JOIN channels c ON c.property_id = t.property_id AND c.id = t.channel_id
	JOIN room_types rt ON rt.property_id = t.property_id AND rt.id = t.room_type_id `

func scanExportToken(r pgx.Row) (ExportToken, error) {
	var t ExportToken
	err := r.Scan(&t.ID, &t.Channel, &t.RoomType, &t.Prefix, &t.CreatedAt, &t.RevokedAt, &t.LastUsedAt)
	return t, err
}

// ExportTokens lists an iCal channel's export tokens (never the tokens).
func (s *Store) ExportTokens(ctx context.Context, property, channel string) ([]ExportToken, error) {
	rows, _ := s.db.Query(ctx, `SELECT `+exportTokenColumns+exportTokenJoins+`WHERE p.code = $1 AND c.code = $2 ORDER BY t.id`, property, channel)
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (ExportToken, error) { return scanExportToken(r) })
}

// RevokeExportToken revokes an export token; the calendar stops answering to it.
func (s *Store) RevokeExportToken(ctx context.Context, property, channel string, id int64, by Actor) (ExportToken, error) {
	var t ExportToken
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		propID, chID, _, err := icalChannel(ctx, tx, property, channel, "")
		if err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `UPDATE ical_export_tokens SET revoked_at = coalesce(revoked_at, now())
			WHERE property_id = $1 AND channel_id = $2 AND id = $3`, propID, chID, id)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return Errorf(ENOTFOUND, "channel %s has no export token %d", channel, id)
		}
		if t, err = scanExportToken(tx.QueryRow(ctx, `SELECT `+exportTokenColumns+exportTokenJoins+`WHERE t.property_id = $1 AND t.id = $2`, propID, id)); err != nil {
			return err
		}
		return audit(ctx, tx, propID, by, "ical_export_token.revoke", "ical export token "+t.Prefix, nil)
	})
	return t, err
}

// ExportTokenTarget is what a live export token opens: a room type's calendar.
type ExportTokenTarget struct {
	Property string
	Channel  string
	RoomType string
	// Location is the property's time zone and Horizon the channel's horizon
	// in nights: the calendar covers tonight (Property.Tonight, by
	// NightSoldUntil) up to Horizon nights ahead.
	Location       *time.Location
	NightSoldUntil time.Duration
	Horizon        int
	// ServedETag and ServedChangedAt are what the token's calendar last
	// served and since when it has been the same (NoteExportServed).
	ServedETag      string
	ServedChangedAt time.Time
}

// LookupExportToken finds the room type calendar a live token opens and
// notes its use; an unknown or revoked token is ENOTFOUND.
func (s *Store) LookupExportToken(ctx context.Context, token string) (ExportTokenTarget, error) {
	h := sha256.Sum256([]byte(token))
	var t ExportTokenTarget
	var tz string
	var soldUntil int
	err := s.db.QueryRow(ctx, `UPDATE ical_export_tokens t SET last_used_at = now()
		FROM properties p, channels c, room_types rt
		WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND p.id = t.property_id
			AND c.property_id = t.property_id AND c.id = t.channel_id AND rt.property_id = t.property_id AND rt.id = t.room_type_id
		RETURNING p.code, c.code, rt.code, p.time_zone, p.night_sold_until_minutes, c.horizon_days, t.served_etag, t.served_changed_at`, h[:]).
		Scan(&t.Property, &t.Channel, &t.RoomType, &tz, &soldUntil, &t.Horizon, &t.ServedETag, &t.ServedChangedAt)
	t.NightSoldUntil = time.Duration(soldUntil) * time.Minute
	if errors.Is(err, pgx.ErrNoRows) {
		return t, Errorf(ENOTFOUND, "no such calendar")
	}
	if err != nil {
		return t, err
	}
	t.Location, err = time.LoadLocation(tz)
	return t, err
}

// NoteExportServed records that the token's calendar now serves etag and
// returns since when it has served it: the time it last changed, to the
// second (as Last-Modified), and at least a second after the change before
// — a platform asking If-Modified-Since the previous one must get the new
// calendar, also when it changed within that second or the clock stepped
// back.
func (s *Store) NoteExportServed(ctx context.Context, token, etag string) (time.Time, error) {
	h := sha256.Sum256([]byte(token))
	var at time.Time
	err := s.db.QueryRow(ctx, `UPDATE ical_export_tokens SET served_etag = $2,
			served_changed_at = CASE WHEN served_etag = $2 THEN served_changed_at
				ELSE greatest(date_trunc('second', now()), date_trunc('second', served_changed_at) + interval '1 second') END
		WHERE token_hash = $1 RETURNING served_changed_at`, h[:], etag).Scan(&at)
	if errors.Is(err, pgx.ErrNoRows) {
		return at, Errorf(ENOTFOUND, "no such calendar")
	}
	return at, err
}

// RaiseStaleExports opens a stale-export incident for every live export
// token of an enabled iCal channel that no platform has fetched for longer
// than after (since it was made, when never), and resolves the open ones
// whose token was fetched since, revoked or rotated, or whose channel was
// disabled. It returns how many tokens are stale now.
//
// A platform that stops fetching keyrack's calendar sends no error: it just
// goes quiet, and sells from what it last saw. Staff hear of it here.
func (s *Store) RaiseStaleExports(ctx context.Context, after time.Duration) (int, error) {
	var stale int
	var raise []int64
	err := s.db.QueryRow(ctx, `
		WITH stale AS (`+staleExportsSQL+`), resolved AS (
			UPDATE incidents i SET resolved_at = now(), resolved_by = 'system:ical', updated_at = now()
			WHERE i.kind = 'stale_export' AND i.resolved_at IS NULL
				AND NOT EXISTS (SELECT 1 FROM stale WHERE stale.property_id = i.property_id AND stale.id = i.ical_export_token_id)
		)
		SELECT count(*), coalesce(array_agg(DISTINCT s.property_id) FILTER (WHERE NOT EXISTS (SELECT 1 FROM incidents i
			WHERE i.property_id = s.property_id AND i.ical_export_token_id = s.id AND i.kind = 'stale_export' AND i.resolved_at IS NULL)), '{}')
		FROM stale s`, after, nil).Scan(&stale, &raise)
	if err == nil {
		// In each property's zone: the message says since when as its pages do.
		err = ExecInPropertyZones(ctx, s.db, raise, `
				WITH stale AS (`+staleExportsSQL+`)
				INSERT INTO incidents (property_id, kind, ical_export_token_id, message, details)
				SELECT property_id, 'stale_export', id,
					format('no platform has fetched the iCal export of %s for %s (/ical/%s…) %s: the platform no longer sees keyrack''s availability; check the calendar URL set there',
						channel, room_type, prefix,
						CASE WHEN last_used_at IS NULL THEN 'since it was made on ' || to_char(created_at, 'YYYY-MM-DD HH24:MI TZ')
							ELSE 'since ' || to_char(last_used_at, 'YYYY-MM-DD HH24:MI TZ') END),
					jsonb_build_object('channel', channel, 'room_type', room_type, 'token_id', id, 'prefix', prefix,
						'created_at', created_at, 'last_used_at', last_used_at)
				FROM stale
				ON CONFLICT DO NOTHING`, after)
	}
	return stale, err
}

// staleExportsSQL selects the stale export tokens (see RaiseStaleExports):
// $1 is the time without a fetch, $2 a property, or NULL for every one.
const staleExportsSQL = `
	SELECT t.property_id, t.id, c.code AS channel, rt.code AS room_type, t.prefix, t.created_at, t.last_used_at
	FROM ical_export_tokens t
	JOIN channels c ON c.property_id = t.property_id AND c.id = t.channel_id
	JOIN room_types rt ON rt.property_id = t.property_id AND rt.id = t.room_type_id
	WHERE t.revoked_at IS NULL AND c.enabled AND coalesce(t.last_used_at, t.created_at) < now() - $1::interval
		AND ($2::bigint IS NULL OR t.property_id = $2)`

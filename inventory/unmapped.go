package inventory

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// UnmappedCode is a channel's room (and rate) code that came in with
// bookings and is still not mapped: those bookings are parked, holding no
// inventory for that room. Staff map it from the channel's page.
type UnmappedCode struct {
	ChannelRoom string
	ChannelRate string
	// Bookings counts the parked reservations naming the code, OpenAlerts
	// those of them with an open unmapped_booking incident.
	Bookings   int
	OpenAlerts int
	LastSeen   time.Time // when the latest of them last changed
	// LatestID and LatestExternalID name the latest of them.
	LatestID         int64
	LatestExternalID string
}

// UnmappedCodes lists the room/rate codes a channel sent in bookings that
// are parked for want of a mapping and that no mapping covers now (a
// mapping of the room for the same rate or for any rate), latest first.
// Stays that named no room code at all come as ChannelRoom "": no mapping
// can match them, and staff record those bookings' room type instead.
func (s *Store) UnmappedCodes(ctx context.Context, property, channel string) ([]UnmappedCode, error) {
	rows, _ := s.db.Query(ctx, `
		WITH ch AS (
			SELECT c.property_id, c.id FROM channels c JOIN properties p ON p.id = c.property_id
			WHERE p.code = $1 AND c.code = $2
		), seen AS (
			SELECT coalesce(st->>'channel_room', '') AS room, coalesce(st->>'channel_rate', '') AS rate, r.id, r.external_id, r.updated_at,
				EXISTS (SELECT 1 FROM incidents i WHERE i.property_id = r.property_id AND i.reservation_id = r.id
					AND i.kind = 'unmapped_booking' AND i.resolved_at IS NULL) AS alert
			FROM ch
			JOIN reservations r ON r.property_id = ch.property_id AND r.channel_id = ch.id
			CROSS JOIN LATERAL jsonb_array_elements(r.stays) AS st
			WHERE r.parked
				AND NOT EXISTS (SELECT 1 FROM room_types rt WHERE rt.property_id = r.property_id AND rt.code = st->>'room_type')
				AND NOT EXISTS (SELECT 1 FROM mappings m WHERE m.property_id = r.property_id AND m.channel_id = r.channel_id
					AND m.channel_room = st->>'channel_room' AND m.channel_rate IN ('', coalesce(st->>'channel_rate', '')))
		)
		SELECT room, rate, count(DISTINCT id)::int, (count(DISTINCT id) FILTER (WHERE alert))::int, max(updated_at),
			(array_agg(id ORDER BY updated_at DESC, id DESC))[1], (array_agg(external_id ORDER BY updated_at DESC, id DESC))[1]
		FROM seen GROUP BY room, rate ORDER BY max(updated_at) DESC, room, rate`, property, channel)
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (UnmappedCode, error) {
		var u UnmappedCode
		err := r.Scan(&u.ChannelRoom, &u.ChannelRate, &u.Bookings, &u.OpenAlerts, &u.LastSeen, &u.LatestID, &u.LatestExternalID)
		return u, err
	})
}

// CredentialState says which credentials a channel has, never the secrets:
// for the channel's page in the admin UI.
type CredentialState struct {
	InboundUser    string
	InboundSecret  bool // an inbound secret is set (only its hash is kept)
	OutboundUser   string
	OutboundSecret bool // an outbound secret is set (sealed)
}

// ChannelCredentialState reports which credentials a channel has.
func (s *Store) ChannelCredentialState(ctx context.Context, property, channel string) (CredentialState, error) {
	var c CredentialState
	err := s.db.QueryRow(ctx, `SELECT c.inbound_username, c.inbound_secret_hash IS NOT NULL, c.outbound_username, c.outbound_secret_sealed IS NOT NULL
		FROM channels c JOIN properties p ON p.id = c.property_id WHERE p.code = $1 AND c.code = $2`, property, channel).
		Scan(&c.InboundUser, &c.InboundSecret, &c.OutboundUser, &c.OutboundSecret)
	if err != nil {
		return c, notFound(err, "channel %s does not exist in property %s", channel, property)
	}
	return c, nil
}

// AuditAction records an action staff took that changes no row of the
// inventory itself — "sync now", a full resync, a retried delivery — so
// that the audit log still says who asked for it.
func (s *Store) AuditAction(ctx context.Context, property string, by Actor, action, subject string, details any) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		prop, err := propertyByCode(ctx, tx, property)
		if err != nil {
			return err
		}
		return audit(ctx, tx, prop.ID, by, action, subject, details)
	})
}

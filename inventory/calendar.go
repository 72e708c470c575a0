package inventory

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// BlockedNights lists the nights in [from, to) on which roomType cannot be
// sold on channel: nights closed to sale, and nights with nothing left once
// the channel's own bookings of roomType are set aside. Leaving those out is
// loop suppression for calendar platforms: a channel that booked a night
// knows it is taken, and a calendar that showed it back as blocked would
// look to the platform like someone else's booking of the same night. Only
// bookings of roomType: a platform lists each room type apart (a feed and a
// calendar each), and its booking of another room type of the pool does not
// close this one's listing.
func (s *Store) BlockedNights(ctx context.Context, property, channel, roomType string, from, to Date) ([]Date, error) {
	if to.Sub(from) > MaxRangeNights || !from.Before(to) {
		return nil, Errorf(EINVALID, "calendar range %s to %s: want 1 to %d nights", from, to, MaxRangeNights)
	}
	rows, _ := s.db.Query(ctx, `
		WITH target AS (
			SELECT rt.property_id, rt.pool_id, pl.units, pl.overbooking_factor, c.id AS channel_id
			FROM room_types rt
			JOIN properties p ON p.id = rt.property_id
			JOIN pools pl ON pl.property_id = rt.property_id AND pl.id = rt.pool_id
			JOIN channels c ON c.property_id = rt.property_id AND c.code = $2
			WHERE p.code = $1 AND rt.code = $3
		), own AS (
			-- The channel's own stays of this room type, night by night: its
			-- bookings departing after $4 (reservations_channel_departure), not
			-- every one it ever made.
			SELECT g.night::date AS night, sum(coalesce((st->>'rooms')::int, 1)) AS units
			FROM target t
			JOIN reservations r ON r.property_id = t.property_id AND r.channel_id = t.channel_id
			CROSS JOIN LATERAL jsonb_array_elements(r.stays) st
			CROSS JOIN LATERAL generate_series(greatest((st->>'arrival')::date, $4::date)::timestamp,
				(least((st->>'departure')::date, $5::date) - 1)::timestamp, interval '1 day') AS g (night)
			WHERE r.status = 'confirmed' AND r.departure > $4 AND r.arrival < $5 AND st->>'room_type' = $3
			GROUP BY 1
		)
		SELECT d::date
		FROM target t
		CROSS JOIN generate_series($4::date::timestamp, ($5::date - 1)::timestamp, interval '1 day') d
		-- A probe per night (LIMIT 1 keeps it one): joined whole, a plan read
		-- every night of every pool, which grow by a night a day.
		LEFT JOIN LATERAL (SELECT n.lim, n.sold, n.oversold, n.closed FROM nights n
			WHERE n.property_id = t.property_id AND n.pool_id = t.pool_id AND n.night = d::date LIMIT 1) AS n ON true
		LEFT JOIN own o ON o.night = d::date
		WHERE coalesce(n.closed, false)
			OR coalesce(n.lim, floor(t.units * t.overbooking_factor)::int)
				- (coalesce(n.sold, 0) + coalesce(n.oversold, 0) - coalesce(o.units, 0)) <= 0
		ORDER BY 1`, property, channel, roomType, from, to)
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Date, error) {
		var d Date
		err := r.Scan(&d)
		return d, err
	})
}

package inventory

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"
)

// nightKey names one pool on one night.
type nightKey struct {
	Pool  int64 `json:"pool_id"`
	Night Date  `json:"night"`
}

func (a nightKey) compare(b nightKey) int {
	if c := cmp.Compare(a.Pool, b.Pool); c != 0 {
		return c
	}
	return cmp.Compare(a.Night.days, b.Night.days)
}

// nightRow is a locked row of the nights table.
type nightRow struct {
	nightKey
	Units    int
	Factor   Factor
	Sold     int // within the limit
	Oversold int // past the limit
	Closed   bool
	Version  int64

	changed  bool
	wentOver bool // this change pushed the night (further) past its limit
}

func (n *nightRow) limit() int { return n.Factor.Limit(n.Units) }
func (n *nightRow) taken() int { return n.Sold + n.Oversold }

// settle splits taken units between sold (within the limit) and oversold
// (past it), as the schema's constraints require, and notes whether the night
// went further past its limit than before.
func (n *nightRow) settle(taken int) {
	if taken < 0 {
		taken = 0
	}
	before := n.Oversold
	n.Sold = min(taken, n.limit())
	n.Oversold = taken - n.Sold
	if n.Oversold > before {
		n.wentOver = true
	}
	n.changed = true
}

// lockNights makes sure a row exists for every key and locks them all, in
// (pool, night) order so that concurrent changes cannot deadlock. Missing
// rows are created from the pool's units and factor. keys must be sorted and
// unique; the rows come back in the same order.
func lockNights(ctx context.Context, tx pgx.Tx, propertyID int64, keys []nightKey) ([]*nightRow, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	pools := make([]int64, len(keys))
	nights := make([]Date, len(keys))
	for i, k := range keys {
		pools[i], nights[i] = k.Pool, k.Night
	}
	// ON CONFLICT DO UPDATE locks an existing row exactly as FOR UPDATE would
	// and returns it, so one statement creates, locks and reads every night.
	rows, err := tx.Query(ctx, `
		INSERT INTO nights AS n (property_id, pool_id, night, units, overbooking_factor)
		SELECT $1, k.pool_id, k.night, pl.units, pl.overbooking_factor
		FROM unnest($2::bigint[], $3::date[]) WITH ORDINALITY AS k (pool_id, night, ord)
		CROSS JOIN LATERAL (SELECT units, overbooking_factor FROM pools WHERE property_id = $1 AND id = k.pool_id LIMIT 1) AS pl
		ORDER BY k.ord
		ON CONFLICT (property_id, pool_id, night) DO UPDATE SET version = n.version
		RETURNING pool_id, night, units, (overbooking_factor * 100)::int, sold, oversold, closed, version`,
		propertyID, pools, nights)
	return scanNights(rows, err, len(keys))
}

// scanNights reads the rows lockNights and applyNights return, sorted by
// (pool, night), checking that every one of the want nights came back.
func scanNights(rows pgx.Rows, err error, want int) ([]*nightRow, error) {
	if err != nil {
		return nil, err
	}
	out := make([]*nightRow, 0, want)
	for rows.Next() {
		n := new(nightRow)
		if err := rows.Scan(&n.Pool, &n.Night, &n.Units, &n.Factor, &n.Sold, &n.Oversold, &n.Closed, &n.Version); err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, n)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(out) != want {
		return nil, fmt.Errorf("nights: %d of %d found (unknown pool?)", len(out), want)
	}
	slices.SortFunc(out, func(a, b *nightRow) int { return a.compare(b.nightKey) })
	return out, nil
}

// applyNights adds each key's delta to its night in one statement: missing
// nights are created from the pool's units and factor, existing ones are
// locked and updated, in (pool, night) order so concurrent bookings cannot
// deadlock. keys must be sorted. Units past the limit go to oversold, except
// that for a MayReject revision an existing night's new units go to sold, so
// that PostgreSQL's nights_sold_within_limit constraint refuses the statement
// (a check violation) rather than admit them. (A night created here is
// checked by the caller: PostgreSQL checks the proposed row of an upsert
// before it knows whether the night exists, so that row must be valid.)
// The rows come back in the new state.
func applyNights(ctx context.Context, tx dbtx, propertyID int64, keys []nightKey, delta map[nightKey]int, mode Mode) ([]*nightRow, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	pools := make([]int64, len(keys))
	nights := make([]Date, len(keys))
	deltas := make([]int, len(keys))
	for i, k := range keys {
		pools[i], nights[i], deltas[i] = k.Pool, k.Night, delta[k]
	}
	rows, err := tx.Query(ctx, `
		WITH k AS (
			SELECT * FROM unnest($2::bigint[], $3::date[], $4::int[]) WITH ORDINALITY AS k (pool_id, night, delta, ord)
		)
		INSERT INTO nights AS n (property_id, pool_id, night, units, overbooking_factor, sold, oversold)
		SELECT $1, k.pool_id, k.night, pl.units, pl.overbooking_factor,
			least(greatest(k.delta, 0), floor(pl.units * pl.overbooking_factor)::int),
			greatest(k.delta, 0) - least(greatest(k.delta, 0), floor(pl.units * pl.overbooking_factor)::int)
		-- LIMIT keeps this a primary-key lookup per night rather than a scan of every pool.
		FROM k CROSS JOIN LATERAL (SELECT units, overbooking_factor FROM pools WHERE property_id = $1 AND id = k.pool_id LIMIT 1) AS pl
		ORDER BY k.ord
		ON CONFLICT (property_id, pool_id, night) DO UPDATE SET (sold, oversold, version, updated_at) = (
			SELECT CASE WHEN $5 AND k.delta > 0 THEN n.sold + k.delta ELSE least(greatest(n.sold + n.oversold + k.delta, 0), n.lim) END,
				CASE WHEN $5 AND k.delta > 0 THEN n.oversold
					ELSE greatest(n.sold + n.oversold + k.delta, 0) - least(greatest(n.sold + n.oversold + k.delta, 0), n.lim) END,
				n.version + 1, now()
			FROM k WHERE k.pool_id = n.pool_id AND k.night = n.night)
		RETURNING pool_id, night, units, (overbooking_factor * 100)::int, sold, oversold, closed, version`,
		propertyID, pools, nights, deltas, mode == MayReject)
	out, err := scanNights(rows, err, len(keys))
	if err != nil {
		return nil, err
	}
	for _, n := range out {
		n.changed = true
		before := max(0, n.taken()-delta[n.nightKey]-n.limit())
		n.wentOver = n.Oversold > before
	}
	return out, nil
}

// saveNights writes the changed rows back, bumping their versions.
func (w *writer) saveNights(propertyID int64, rows []*nightRow) {
	// One primary-key update per night: always an index lookup, whatever plan
	// PostgreSQL has cached for the statement while the table was small.
	for _, n := range rows {
		if !n.changed {
			continue
		}
		n.Version++
		w.queue(`UPDATE nights SET units = $4, overbooking_factor = $5::numeric / 100, sold = $6, oversold = $7, closed = $8,
				version = $9, updated_at = now()
			WHERE property_id = $1 AND pool_id = $2 AND night = $3`,
			propertyID, n.Pool, n.Night, n.Units, int(n.Factor), n.Sold, n.Oversold, n.Closed, n.Version)
	}
}

// changedRanges groups changed nights into one [from, to) range per pool, for
// the outbox.
func changedRanges(rows []*nightRow) []poolRange {
	var out []poolRange
	for _, n := range rows {
		if !n.changed {
			continue
		}
		if len(out) > 0 && out[len(out)-1].Pool == n.Pool {
			r := &out[len(out)-1]
			if n.Night.Before(r.From) {
				r.From = n.Night
			}
			if !n.Night.Before(r.To) {
				r.To = n.Night.AddDays(1)
			}
			continue
		}
		out = append(out, poolRange{Pool: n.Pool, From: n.Night, To: n.Night.AddDays(1)})
	}
	return out
}

type poolRange struct {
	Pool     int64
	From, To Date
}

// outboxAvailability queues the changed nights for the fan-out. origin is the
// channel the change came from (0 for none), so it is not echoed back.
func (w *writer) outboxAvailability(propertyID int64, rows []*nightRow, originChannel int64, bulk bool) {
	for _, r := range changedRanges(rows) {
		w.queue(`INSERT INTO outbox (property_id, topic, pool_id, from_night, to_night, origin_channel_id, bulk)
			VALUES ($1, 'availability', $2, $3, $4, nullif($5, 0), $6)`, propertyID, r.Pool, r.From, r.To, originChannel, bulk)
	}
}

// raiseOverbooking opens (or updates) the overbooking incident of every night
// that went past its limit.
func (w *writer) raiseOverbooking(propertyID int64, rows []*nightRow, poolCode func(int64) string, reservationID int64, cause string) {
	for _, n := range rows {
		if !n.wentOver {
			continue
		}
		msg := fmt.Sprintf("Pool %s is overbooked on %s: %d taken, limit %d (%s)", poolCode(n.Pool), n.Night, n.taken(), n.limit(), cause)
		w.queue(`
			INSERT INTO incidents (property_id, kind, pool_id, night, reservation_id, excess, message, details)
			VALUES ($1, 'overbooking', $2, $3, nullif($4, 0), $5, $6, jsonb_build_object('reservations', jsonb_build_array($4::bigint), 'cause', $7::text))
			ON CONFLICT (property_id, pool_id, night) WHERE kind = 'overbooking' AND resolved_at IS NULL
			DO UPDATE SET excess = greatest(incidents.excess, EXCLUDED.excess), message = EXCLUDED.message, updated_at = now(),
				details = jsonb_set(incidents.details, '{reservations}', coalesce(incidents.details->'reservations', '[]') || jsonb_build_array($4::bigint))`,
			propertyID, n.Pool, n.Night, reservationID, n.Oversold, msg, cause)
	}
}

// poolsByID loads the codes of a property's pools.
func poolCodes(ctx context.Context, q querier, propertyID int64) (map[int64]string, error) {
	rows, _ := q.Query(ctx, `SELECT id, code FROM pools WHERE property_id = $1`, propertyID)
	m := map[int64]string{}
	var id int64
	var code string
	_, err := pgx.ForEachRow(rows, []any{&id, &code}, func() error { m[id] = code; return nil })
	return m, err
}

// rangeEdit applies fn to every night of r in one transaction, with audit,
// outbox and incidents.
func (s *Store) rangeEdit(ctx context.Context, r NightRange, by Actor, action string, details any, fn func(n *nightRow)) error {
	if err := r.Validate(); err != nil {
		return err
	}
	return s.inTx(ctx, func(tx pgx.Tx) error {
		prop, err := propertyByCode(ctx, tx, r.Property)
		if err != nil {
			return err
		}
		var poolID int64
		if err := tx.QueryRow(ctx, `SELECT id FROM pools WHERE property_id = $1 AND code = $2`, prop.ID, r.Pool).Scan(&poolID); err != nil {
			return notFound(err, "pool %s does not exist in property %s", r.Pool, r.Property)
		}
		keys := make([]nightKey, 0, r.To.Sub(r.From))
		for _, d := range Nights(r.From, r.To) {
			keys = append(keys, nightKey{Pool: poolID, Night: d})
		}
		rows, err := lockNights(ctx, tx, prop.ID, keys)
		if err != nil {
			return err
		}
		for _, n := range rows {
			fn(n)
		}
		w := &writer{}
		w.saveNights(prop.ID, rows)
		w.audit(prop.ID, by, action, fmt.Sprintf("pool %s %s..%s", r.Pool, r.From, r.To), details)
		w.outboxAvailability(prop.ID, rows, 0, true)
		w.raiseOverbooking(prop.ID, rows, func(int64) string { return r.Pool }, 0, "limit lowered by "+by.String())
		return w.send(ctx, tx)
	})
}

// SetUnits sets the physical units of a pool on a range of nights (rooms out
// of order, extra rooms). Lowering them below what is sold never cancels a
// booking: the nights past their new limit raise an overbooking incident.
func (s *Store) SetUnits(ctx context.Context, r NightRange, units int, by Actor) error {
	if units < 0 || units > 100000 {
		return Errorf(EINVALID, "units must be between 0 and 100000, not %d", units)
	}
	return s.rangeEdit(ctx, r, by, "nights.set_units", map[string]any{"units": units}, func(n *nightRow) {
		if n.Units == units {
			return
		}
		t := n.taken()
		n.Units = units
		n.settle(t)
	})
}

// SetFactor sets the overbooking factor of a pool on a range of nights; the
// limit becomes floor(units × factor). Lowering it below what is sold never
// cancels a booking.
func (s *Store) SetFactor(ctx context.Context, r NightRange, f Factor, by Actor) error {
	if err := f.Validate(); err != nil {
		return err
	}
	return s.rangeEdit(ctx, r, by, "nights.set_factor", map[string]any{"overbooking_factor": f.String()}, func(n *nightRow) {
		if n.Factor == f {
			return
		}
		t := n.taken()
		n.Factor = f
		n.settle(t)
	})
}

// SetClosed opens or closes (stop-sell) a pool on a range of nights.
func (s *Store) SetClosed(ctx context.Context, r NightRange, closed bool, by Actor) error {
	action := "nights.open"
	if closed {
		action = "nights.close"
	}
	return s.rangeEdit(ctx, r, by, action, map[string]any{"closed": closed}, func(n *nightRow) {
		if n.Closed != closed {
			n.Closed = closed
			n.changed = true
		}
	})
}

// Availability lists, for every pool of the property and every night in
// [from, to), the units, limit, sold, closed flag and what channels are
// offered — ordered by pool code, then night.
func (s *Store) Availability(ctx context.Context, property string, from, to Date) ([]Night, error) {
	if err := (NightRange{Property: property, Pool: "*", From: from, To: to}).Validate(); err != nil {
		return nil, err
	}
	prop, err := s.Property(ctx, property)
	if err != nil {
		return nil, err
	}
	rows, _ := s.db.Query(ctx, `
		SELECT pl.code, d::date,
			coalesce(n.units, pl.units),
			(coalesce(n.overbooking_factor, pl.overbooking_factor) * 100)::int,
			coalesce(n.sold + n.oversold, 0),
			coalesce(n.closed, false),
			coalesce(n.version, 0)
		FROM pools pl
		CROSS JOIN generate_series($2::date, $3::date - 1, interval '1 day') AS d
		LEFT JOIN nights n ON n.property_id = pl.property_id AND n.pool_id = pl.id AND n.night = d::date
		WHERE pl.property_id = $1
		ORDER BY pl.code, d`, prop.ID, from, to)
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Night, error) {
		var n Night
		err := r.Scan(&n.Pool, &n.Night, &n.Units, &n.Factor, &n.Sold, &n.Closed, &n.Version)
		n.Limit = n.Factor.Limit(n.Units)
		n.Available = Availability(n.Limit, n.Sold, n.Closed)
		return n, err
	})
}

package inventory

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

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
	Property int64
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

// setLimit gives the night these units and factor, then splits what it has
// taken once against the new limit, so that no intermediate limit raises an
// incident.
func (n *nightRow) setLimit(units int, factor Factor) {
	if units != n.Units || factor != n.Factor {
		t := n.taken()
		n.Units, n.Factor = units, factor
		n.settle(t)
	}
}

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
// (pool, night) order so that concurrent changes cannot deadlock (pool ids
// are unique across properties: one order for every transaction). Missing
// rows are created from the pool's units and factor. keys must be sorted and
// unique; propertyOf names each pool's property. The rows come back in the
// same order.
func lockNights(ctx context.Context, tx dbtx, keys []nightKey, propertyOf func(pool int64) int64) ([]*nightRow, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	props := make([]int64, len(keys))
	pools := make([]int64, len(keys))
	nights := make([]Date, len(keys))
	for i, k := range keys {
		props[i], pools[i], nights[i] = propertyOf(k.Pool), k.Pool, k.Night
	}
	// ON CONFLICT DO UPDATE locks an existing row exactly as FOR UPDATE would
	// and returns it, so one statement creates, locks and reads every night.
	rows, err := tx.Query(ctx, `
		INSERT INTO nights AS n (property_id, pool_id, night, units, overbooking_factor)
		SELECT k.property_id, k.pool_id, k.night, pl.units, pl.overbooking_factor
		FROM unnest($1::bigint[], $2::bigint[], $3::date[]) WITH ORDINALITY AS k (property_id, pool_id, night, ord)
		CROSS JOIN LATERAL (SELECT units, overbooking_factor FROM pools WHERE property_id = k.property_id AND id = k.pool_id LIMIT 1) AS pl
		ORDER BY k.ord
		ON CONFLICT (property_id, pool_id, night) DO UPDATE SET version = n.version
		RETURNING property_id, pool_id, night, units, (overbooking_factor * 100)::int, sold, oversold, closed, version`,
		props, pools, nights)
	return scanNights(rows, err, len(keys))
}

// scanNights reads the rows lockNights returns, sorted by
// (pool, night), checking that every one of the want nights came back.
func scanNights(rows pgx.Rows, err error, want int) ([]*nightRow, error) {
	if err != nil {
		return nil, err
	}
	out := make([]*nightRow, 0, want)
	for rows.Next() {
		n := new(nightRow)
		if err := rows.Scan(&n.Property, &n.Pool, &n.Night, &n.Units, &n.Factor, &n.Sold, &n.Oversold, &n.Closed, &n.Version); err != nil {
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

// saveNights writes the changed rows back, bumping their versions, in one
// statement. The rows are locked already; an upsert finds each through the
// primary key, whatever plan PostgreSQL has cached for the statement.
func (w *writer) saveNights(rows []*nightRow) {
	var props, pools, versions []int64
	var nights []Date
	var units, factors, sold, oversold []int32
	var closed []bool
	for _, n := range rows {
		if !n.changed {
			continue
		}
		n.Version++
		props, pools, nights, versions = append(props, n.Property), append(pools, n.Pool), append(nights, n.Night), append(versions, n.Version)
		units, factors, sold, oversold = append(units, int32(n.Units)), append(factors, int32(n.Factor)), append(sold, int32(n.Sold)), append(oversold, int32(n.Oversold))
		closed = append(closed, n.Closed)
	}
	if len(pools) == 0 {
		return
	}
	w.queue(`
		INSERT INTO nights AS n (property_id, pool_id, night, units, overbooking_factor, sold, oversold, closed, version)
		SELECT u.property_id, u.pool_id, u.night, u.units, u.factor::numeric / 100, u.sold, u.oversold, u.closed, u.version
		FROM unnest($1::bigint[], $2::bigint[], $3::date[], $4::int[], $5::int[], $6::int[], $7::int[], $8::bool[], $9::bigint[])
			AS u (property_id, pool_id, night, units, factor, sold, oversold, closed, version)
		ON CONFLICT (property_id, pool_id, night) DO UPDATE SET units = EXCLUDED.units, overbooking_factor = EXCLUDED.overbooking_factor,
			sold = EXCLUDED.sold, oversold = EXCLUDED.oversold, closed = EXCLUDED.closed, version = EXCLUDED.version, updated_at = now()`,
		props, pools, nights, units, factors, sold, oversold, closed, versions)
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
	// Unlike: the origin's own count did not move as the pool's value on
	// some night of the range (member.unlike); no echo for it.
	Unlike bool
}

// outboxColumns gathers outbox rows for one statement.
type outboxColumns struct {
	topics                           []string
	props, pools, reservations, from []int64
	seqs                             []int32
	starts, ends                     []*Date
	bulk                             []bool
	since                            []*time.Time // the origin's ChannelSince, nil when unknown
	echo                             []bool       // the change can be an echo for its origin (migration 012)
}

// availability adds the changed ranges for the fan-out. origin is the
// channel the change came from (0 for none), so it is not echoed back;
// since is when the origin may have made it, if earlier than now (see
// Revision.ChannelSince; zero when not).
func (c *outboxColumns) availability(property int64, ranges []poolRange, origin int64, bulk bool, since time.Time) {
	var at *time.Time
	if !since.IsZero() {
		at = &since
	}
	for _, r := range ranges {
		c.add(property, "availability", r.Pool, &r.From, &r.To, 0, 0, origin, bulk, at, !r.Unlike)
	}
}

// reservation adds a reservation's new revision, for the PMS.
func (c *outboxColumns) reservation(property, id int64, seq int, origin int64) {
	c.add(property, "reservation", 0, nil, nil, id, seq, origin, false, nil, true)
}

func (c *outboxColumns) add(property int64, topic string, pool int64, start, end *Date, reservation int64, seq int, origin int64, bulk bool, since *time.Time, echo bool) {
	c.props, c.topics, c.pools, c.starts, c.ends = append(c.props, property), append(c.topics, topic), append(c.pools, pool), append(c.starts, start), append(c.ends, end)
	c.reservations, c.seqs, c.from, c.bulk = append(c.reservations, reservation), append(c.seqs, int32(seq)), append(c.from, origin), append(c.bulk, bulk)
	c.since, c.echo = append(c.since, since), append(c.echo, echo)
}

func (c *outboxColumns) queue(w *writer) {
	if len(c.topics) == 0 {
		return
	}
	w.queue(`
		INSERT INTO outbox (property_id, topic, pool_id, from_night, to_night, reservation_id, revision_seq, origin_channel_id, bulk, origin_at, echo)
		SELECT u.property_id, u.topic, nullif(u.pool_id, 0), u.from_night, u.to_night, nullif(u.reservation_id, 0), nullif(u.seq, 0), nullif(u.origin, 0), u.bulk,
			CASE WHEN u.since IS NOT NULL THEN least(u.since, now()) END, u.echo
		FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::date[], $5::date[], $6::bigint[], $7::int[], $8::bigint[], $9::bool[], $10::timestamptz[], $11::bool[])
			AS u (property_id, topic, pool_id, from_night, to_night, reservation_id, seq, origin, bulk, since, echo)`,
		c.props, c.topics, c.pools, c.starts, c.ends, c.reservations, c.seqs, c.from, c.bulk, c.since, c.echo)
}

// raiseOverbooking opens (or updates) the overbooking incident of every
// night that went past its limit, in one statement; obs must name each night
// once.
func (w *writer) raiseOverbooking(obs []*overbooking, poolCode func(int64) string) {
	if len(obs) == 0 {
		return
	}
	var props, pools, first []int64
	var nights []Date
	var excess []int32
	var messages, reservations, causes []string
	for _, o := range obs {
		n := o.night
		ids, _ := jsonText(orEmpty(o.reservations))
		var id int64
		if len(o.reservations) > 0 {
			id = o.reservations[0]
		}
		props, pools, nights, first, excess = append(props, n.Property), append(pools, n.Pool), append(nights, n.Night), append(first, id), append(excess, int32(n.Oversold))
		messages = append(messages, fmt.Sprintf("Pool %s is overbooked on %s: %d taken, limit %d (%s)", poolCode(n.Pool), n.Night, n.taken(), n.limit(), o.cause))
		reservations, causes = append(reservations, ids), append(causes, o.cause)
	}
	w.queue(`
		INSERT INTO incidents (property_id, kind, pool_id, night, reservation_id, excess, message, details)
		SELECT u.property_id, 'overbooking', u.pool_id, u.night, nullif(u.reservation_id, 0), u.excess, u.message,
			jsonb_build_object('reservations', u.reservations::jsonb, 'cause', u.cause)
		FROM unnest($1::bigint[], $2::bigint[], $3::date[], $4::bigint[], $5::int[], $6::text[], $7::text[], $8::text[])
			AS u (property_id, pool_id, night, reservation_id, excess, message, reservations, cause)
		ON CONFLICT (property_id, pool_id, night) WHERE kind = 'overbooking' AND resolved_at IS NULL
		DO UPDATE SET excess = greatest(incidents.excess, EXCLUDED.excess), message = EXCLUDED.message, updated_at = now(),
			details = jsonb_set(incidents.details, '{reservations}',
				coalesce(incidents.details->'reservations', '[]') || (EXCLUDED.details->'reservations'))`,
		props, pools, nights, first, excess, messages, reservations, causes)
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

// rangeEdit applies fn to every selected night of r in one transaction, with audit,
// outbox and incidents; set says which values staff set on the nights.
func (s *Store) rangeEdit(ctx context.Context, r NightRange, by Actor, action string, details any, set nightFlags, fn func(n *nightRow)) error {
	if err := r.Validate(); err != nil {
		return err
	}
	r = r.Trimmed()
	return s.inOutboxTx(ctx, func(tx pgx.Tx) error {
		prop, err := propertyByCode(ctx, tx, r.Property)
		if err != nil {
			return err
		}
		var poolID int64
		if err := tx.QueryRow(ctx, `SELECT id FROM pools WHERE property_id = $1 AND code = $2`, prop.ID, r.Pool).Scan(&poolID); err != nil {
			return notFound(err, "pool %s does not exist in property %s", r.Pool, r.Property)
		}
		selected := r.Selected()
		keys := make([]nightKey, 0, len(selected))
		for _, d := range selected {
			keys = append(keys, nightKey{Pool: poolID, Night: d})
		}
		rows, err := lockNights(ctx, tx, keys, func(int64) int64 { return prop.ID })
		if err != nil {
			return err
		}
		for _, n := range rows {
			fn(n)
		}
		w := &writer{}
		w.saveNights(rows)
		if set.units || set.factor {
			w.queue(`UPDATE nights SET units_set = units_set OR $4, factor_set = factor_set OR $5
				WHERE property_id = $1 AND pool_id = $2 AND night = ANY($3::date[])`,
				prop.ID, poolID, selected, set.units, set.factor)
		}
		var audits auditColumns
		audits.add(prop.ID, by, action, r.describe(), details)
		audits.queue(w)
		var outbox outboxColumns
		outbox.availability(prop.ID, changedRanges(rows), 0, true, time.Time{})
		outbox.queue(w)
		w.raiseWentOver(rows, "limit lowered by "+by.String(), r.Pool)
		return w.send(ctx, tx)
	})
}

// nightFlags says which of a night's values staff set on it (nights.units_set,
// factor_set): a change of the pool's own leaves those alone.
type nightFlags struct{ units, factor bool }

// raiseWentOver raises the overbooking incident of every night of the pool
// that the change pushed (further) past its limit.
func (w *writer) raiseWentOver(rows []*nightRow, cause, pool string) {
	var obs []*overbooking
	for _, n := range rows {
		if n.wentOver {
			obs = append(obs, &overbooking{night: n, cause: cause})
		}
	}
	w.raiseOverbooking(obs, func(int64) string { return pool })
}

// NightEdit is a change to a range of nights; nil fields stay as they are.
type NightEdit struct {
	Units  *int
	Factor *Factor
	Closed *bool
}

// EditNights applies e to every night of r (on r.Days) in one transaction,
// audited as one action. Lowering units or the factor below what is sold never cancels a
// booking: the nights past their new limit raise an overbooking incident.
func (s *Store) EditNights(ctx context.Context, r NightRange, e NightEdit, by Actor) error {
	details := map[string]any{}
	var actions []string
	if e.Units != nil {
		if *e.Units < 0 || *e.Units > 100000 {
			return Errorf(EINVALID, "units must be between 0 and 100000, not %d", *e.Units)
		}
		details["units"], actions = *e.Units, append(actions, "set_units")
	}
	if e.Factor != nil {
		if err := e.Factor.Validate(); err != nil {
			return err
		}
		details["overbooking_factor"], actions = e.Factor.String(), append(actions, "set_factor")
	}
	if e.Closed != nil {
		details["closed"] = *e.Closed
		if *e.Closed {
			actions = append(actions, "close")
		} else {
			actions = append(actions, "open")
		}
	}
	if len(actions) == 0 {
		return Errorf(EINVALID, "a night edit needs units, an overbooking factor or closed")
	}
	if !r.Days.Every() {
		details["days"] = r.Days.String()
	}
	set := nightFlags{units: e.Units != nil, factor: e.Factor != nil}
	return s.rangeEdit(ctx, r, by, "nights."+strings.Join(actions, "+"), details, set, func(n *nightRow) {
		units, factor := n.Units, n.Factor
		if e.Units != nil {
			units = *e.Units
		}
		if e.Factor != nil {
			factor = *e.Factor
		}
		n.setLimit(units, factor)
		if e.Closed != nil && n.Closed != *e.Closed {
			n.Closed = *e.Closed
			n.changed = true
		}
	})
}

// SetUnits sets the physical units of a pool on a range of nights (rooms out
// of order, extra rooms).
func (s *Store) SetUnits(ctx context.Context, r NightRange, units int, by Actor) error {
	return s.EditNights(ctx, r, NightEdit{Units: &units}, by)
}

// SetFactor sets the overbooking factor of a pool on a range of nights; the
// limit becomes floor(units × factor).
func (s *Store) SetFactor(ctx context.Context, r NightRange, f Factor, by Actor) error {
	return s.EditNights(ctx, r, NightEdit{Factor: &f}, by)
}

// SetClosed opens or closes (stop-sell) a pool on a range of nights.
func (s *Store) SetClosed(ctx context.Context, r NightRange, closed bool, by Actor) error {
	return s.EditNights(ctx, r, NightEdit{Closed: &closed}, by)
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
		CROSS JOIN generate_series($2::date::timestamp, ($3::date - 1)::timestamp, interval '1 day') AS d
		-- A probe per night (LIMIT 1 keeps it one): joined whole, a plan
		-- could read every night the pool ever had, which grows by a night
		-- a day for as long as the hotel runs.
		LEFT JOIN LATERAL (SELECT n.units, n.overbooking_factor, n.sold, n.oversold, n.closed, n.version FROM nights n
			WHERE n.property_id = pl.property_id AND n.pool_id = pl.id AND n.night = d::date LIMIT 1) AS n ON true
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

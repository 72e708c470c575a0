package sync

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/keyrack/keyrack/inventory"
)

// Ack is what a channel last acknowledged for a pool on a night.
type Ack struct {
	Pool      string         `json:"-"`
	Night     inventory.Date `json:"-"`
	Channel   string         `json:"channel"`
	Available int            `json:"available"`
	AckedAt   time.Time      `json:"acked_at"`
}

// LastAcks lists, for a property's pools and nights in [from, to), what each
// channel last acknowledged and when, ordered by pool code, night and
// channel code. Nights a channel never acknowledged are absent, and so are
// nights more than PastAcksKeep before tonight (their acknowledgements are
// deleted). It reads one index range per channel and pool, not every
// acknowledgement the property has.
func LastAcks(ctx context.Context, db *pgxpool.Pool, propertyID int64, from, to inventory.Date) ([]Ack, error) {
	rows, _ := db.Query(ctx, `
		SELECT pl.code, a.night, c.code, a.available, a.acked_at
		FROM sync_acks a
		JOIN pools pl ON pl.property_id = a.property_id AND pl.id = a.pool_id
		JOIN channels c ON c.property_id = a.property_id AND c.id = a.channel_id
		WHERE a.property_id = $1 AND a.channel_id = ANY(ARRAY(SELECT id FROM channels WHERE property_id = $1))
			AND a.pool_id = ANY(ARRAY(SELECT id FROM pools WHERE property_id = $1)) AND a.night >= $2 AND a.night < $3
		ORDER BY pl.code, a.night, c.code`, propertyID, from, to)
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Ack, error) {
		var a Ack
		err := r.Scan(&a.Pool, &a.Night, &a.Channel, &a.Available, &a.AckedAt)
		return a, err
	})
}

// PastAcksKeep is how many nights before the property's tonight the
// channels' acknowledgements are kept: the elected scheduler deletes the
// older ones (purgePastAcks). A night before tonight is sent to no channel
// and no delivery reads its acknowledgement (tonight counts from the
// property's night_sold_until, so last night is tonight while it is still
// sold); the grid shows those of the past nights on it for a week.
const PastAcksKeep = 7

// PastAcksInterval is how often the scheduler deletes the acknowledgements
// of nights past PastAcksKeep: a night passes once a day.
const PastAcksInterval = time.Hour

// purgePastAcks deletes, once every PastAcksInterval (at once when a
// process takes the lead), the acknowledgements of nights more than
// PastAcksKeep nights before each property's tonight — in the property's
// zone, a transaction of inventory.PurgeBatch rows at a time, each
// property's apart (no transaction touches two properties). Kept, they grew
// by a row a night for every channel and pool: after a year with a 365-night
// horizon, half of sync_acks was nights no one sends or reads.
//
// It reads, per channel and pool, the oldest nights of their index range
// only, and takes no row another transaction holds (SKIP LOCKED): it waits
// for no delivery or relay, and those never wait for it long; what it
// skips goes at its next run.
func (f *Fanout) purgePastAcks(ctx context.Context) error {
	if time.Since(f.pastAcksAt) < PastAcksInterval {
		return nil
	}
	rows, _ := f.db.Query(ctx, `SELECT id FROM properties ORDER BY id`)
	props, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return err
	}
	var total int64
	for _, p := range props {
		n, err := inventory.DeleteInBatches(ctx, f.db, `
			DELETE FROM sync_acks a USING (
				SELECT o.property_id, o.channel_id, o.pool_id, o.night
				FROM properties p
				JOIN channels c ON c.property_id = p.id
				JOIN pools pl ON pl.property_id = p.id
				CROSS JOIN LATERAL (SELECT a.property_id, a.channel_id, a.pool_id, a.night FROM sync_acks a
					WHERE a.property_id = p.id AND a.channel_id = c.id AND a.pool_id = pl.id
						AND a.night < (`+inventory.TonightSQL+` - $1::interval)::date
					ORDER BY a.night LIMIT $2 FOR UPDATE OF a SKIP LOCKED) AS o
				WHERE p.id = $3
				LIMIT $2
			) AS old
			WHERE a.property_id = old.property_id AND a.channel_id = old.channel_id AND a.pool_id = old.pool_id
				AND a.night = old.night`, PastAcksKeep*24*time.Hour, p)
		total += n
		if err != nil {
			return err
		}
	}
	if total > 0 {
		f.log.Info("scheduler: acknowledgements of past nights deleted", "rows", total, "past_acks_keep_nights", PastAcksKeep)
	}
	f.pastAcksAt = time.Now()
	return nil
}

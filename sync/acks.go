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
// channel code. Nights a channel never acknowledged are absent. It reads
// one index range per channel and pool (sync_acks keeps every night once
// it has passed), not every acknowledgement the property has.
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

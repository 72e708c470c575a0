package sync

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/keyrack/keyrack/inventory"
)

// Resync sends a channel of a property (every enabled channel when channel
// is "") the availability of every mapped pool for every night of its
// horizon, from the property's today — values it has acknowledged
// included. It goes through the bulk queue, behind bookings.
//
// Use it when a channel may have lost track: after a mapping change, a new
// connector, an outage on the channel's side. The scheduler runs it nightly.
// Channels that are not pushed availability (Pushes) are left out, and
// naming one is an EINVALID error.
func (f *Fanout) Resync(ctx context.Context, property, channel string) error {
	var wake []wakeup
	err := pgx.BeginFunc(ctx, f.db, func(tx pgx.Tx) error {
		var propertyID int64
		if err := tx.QueryRow(ctx, `SELECT id FROM properties WHERE code = $1`, property).Scan(&propertyID); err != nil {
			if errors.Is(err, pgx.ErrNoRows) {
				return inventory.Errorf(inventory.ENOTFOUND, "property %s does not exist", property)
			}
			return err
		}
		var err error
		wake, err = f.resync(ctx, tx, propertyID, property, channel)
		return err
	})
	if err != nil {
		return err
	}
	f.wake(ctx, wake)
	return nil
}

// resync marks, in tx, the channels of Resync for a full resync, and
// returns the deliveries to wake once tx commits.
func (f *Fanout) resync(ctx context.Context, tx pgx.Tx, propertyID int64, property, channel string) ([]wakeup, error) {
	// The same lock the relay takes: one writer of the property's marks at a time.
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(`+propertyLock("$1")+`)`, propertyID); err != nil {
		return nil, err
	}
	rows, _ := tx.Query(ctx, `SELECT id, kind FROM channels WHERE property_id = $1 AND enabled AND ($2 = '' OR code = $2) ORDER BY id`,
		propertyID, channel)
	var channels []int64
	var id int64
	var kind inventory.ChannelKind
	if _, err := pgx.ForEachRow(rows, []any{&id, &kind}, func() error {
		if !f.Pushes(kind) {
			if channel != "" {
				return inventory.Errorf(inventory.EINVALID, "channel %s is not resynced: %s", channel, notPushedNote(kind))
			}
			return nil
		}
		channels = append(channels, id)
		return nil
	}); err != nil {
		return nil, err
	}
	if len(channels) == 0 {
		if channel != "" {
			return nil, inventory.Errorf(inventory.ENOTFOUND, "property %s has no enabled channel %s", property, channel)
		}
		return nil, nil
	}
	if _, err := tx.Exec(ctx, `
		WITH today AS (
			SELECT `+inventory.TonightSQL+` AS night FROM properties p WHERE p.id = $1
		), marks AS (
			SELECT DISTINCT c.id AS channel_id, rt.pool_id,
				datemultirange(daterange((SELECT night FROM today), (SELECT night FROM today) + c.horizon_days)) AS nights
			FROM channels c
			JOIN mappings m ON m.property_id = c.property_id AND m.channel_id = c.id
			JOIN room_types rt ON rt.property_id = m.property_id AND rt.id = m.room_type_id
			WHERE c.property_id = $1 AND c.id = ANY($2)
		)
		INSERT INTO sync_dirty AS d (property_id, channel_id, pool_id, resync, nights, force)
		SELECT $1, channel_id, pool_id, true, nights, nights FROM marks ORDER BY channel_id, pool_id
		ON CONFLICT (property_id, channel_id, pool_id, resync) DO UPDATE
			SET nights = d.nights + EXCLUDED.nights, force = d.force + EXCLUDED.force, echo = d.echo - EXCLUDED.force,
				version = nextval('sync_version')`,
		propertyID, channels); err != nil {
		return nil, err
	}
	classes := make([]string, len(channels))
	for i := range classes {
		classes[i] = classBulk
	}
	wake, err := markQueued(ctx, tx, propertyID, channels, classes)
	if err != nil {
		return nil, err
	}
	// Resynced for tonight: the nightly resync is due again once tonight
	// moves on (at midnight, or when last night's sale ends), which brings
	// the horizon's new last night.
	_, err = tx.Exec(ctx, `UPDATE sync_channels s SET resynced_on = `+inventory.TonightSQL+`
		FROM properties p WHERE p.id = s.property_id AND s.property_id = $1 AND s.channel_id = ANY($2)`, propertyID, channels)
	return wake, err
}

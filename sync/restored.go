package sync

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// RestoredProperty is a property readied by Restored.
type RestoredProperty struct {
	Code string
	// MissingSince is the newest thing the restored database had recorded
	// for the property: bookings, cancellations and changes made after it
	// may be missing. RestoredAt is when Restored readied the property.
	MissingSince, RestoredAt time.Time
	Zone                     *time.Location // the property's, to say them in
}

// Restored readies the fan-out of a database restored from a backup, with
// no keyrack process running, and returns the properties it readied. Two
// things went back with the database:
//
//   - what each channel acknowledged: the channels kept what keyrack told
//     them after the backup, which keyrack no longer knows of, and would
//     not correct before the nightly resync (never with it off) or a change
//     of the night. Every channel of every property is resynced.
//   - the generations of the channels' delivery tasks, which name the tasks
//     in Redis: one left there from before (archived, or waiting for a
//     retry) would take a new task of its name as a duplicate — the change
//     waiting for the old task, or the channel dead-lettered with the old
//     task's failure. Each is moved on by skip, or by its own value if
//     larger, as inventory's AdvanceSequences moves the ids (the feed ids
//     that name webhook tasks among them).
//
// And what keyrack cannot put right itself — the bookings the channels
// sent after the backup — each property gets a database_restored incident
// for: staff find them at the channels.
func (f *Fanout) Restored(ctx context.Context, skip int64) ([]RestoredProperty, error) {
	rows, _ := f.db.Query(ctx, `SELECT id, code FROM properties ORDER BY code`)
	type property struct {
		id   int64
		code string
	}
	props, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (property, error) {
		var p property
		err := r.Scan(&p.id, &p.code)
		return p, err
	})
	if err != nil {
		return nil, err
	}
	var done []RestoredProperty
	for _, p := range props {
		// One property a transaction, as everywhere.
		var wake []wakeup
		var r RestoredProperty
		err := pgx.BeginFunc(ctx, f.db, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `UPDATE sync_channels SET gen = gen + greatest($2::bigint, gen),
					queued_gen = queued_gen + greatest($2::bigint, gen)
				WHERE property_id = $1`, p.id, skip); err != nil {
				return err
			}
			var err error
			if r, err = raiseRestored(ctx, tx, p.id, p.code); err != nil {
				return fmt.Errorf("property %s: the alert of the restore: %w", p.code, err)
			}
			wake, err = f.resync(ctx, tx, p.id, p.code, "")
			return err
		})
		if err != nil {
			return done, err
		}
		f.wake(ctx, wake)
		done = append(done, r)
	}
	return done, nil
}

// raiseRestored opens the property's database_restored incident, or
// updates the open one (running keyrack restored again): from when
// bookings may be missing, and when the restore was readied.
//
// The moment is the newest audit entry of the property — every booking,
// change, cancellation and staff edit writes one in its own transaction —
// or the newest message a channel sent it or keyrack pulled for it, if
// later (a poll that took nothing, a booking sent again): everything the
// restored database holds was committed before the backup, so bookings
// before that moment are in keyrack. Both are read from an index (a
// property with neither has its creation). An open incident keeps its
// moment if earlier: a second run, after keyrack has recorded more, or a
// second restore before staff resolved the first, leaves nothing out.
func raiseRestored(ctx context.Context, tx pgx.Tx, propertyID int64, code string) (RestoredProperty, error) {
	r := RestoredProperty{Code: code, Zone: time.UTC}
	var zone string
	if err := tx.QueryRow(ctx, `
		SELECT coalesce(greatest(
			(SELECT max(at) FROM audit_log WHERE property_id = p.id),
			(SELECT max(m.received_at) FROM channels c CROSS JOIN LATERAL (
				SELECT i.received_at FROM inbound_messages i
				WHERE i.property_id = c.property_id AND i.channel_id = c.id
				ORDER BY i.received_at DESC LIMIT 1) m
			 WHERE c.property_id = p.id)), p.created_at), now(), p.time_zone
		FROM properties p WHERE p.id = $1`, propertyID).Scan(&r.MissingSince, &r.RestoredAt, &zone); err != nil {
		return r, err
	}
	if loc, err := time.LoadLocation(zone); err == nil {
		r.Zone = loc
	}
	var open string
	err := tx.QueryRow(ctx, `SELECT coalesce(details->>'missing_since', '') FROM incidents
		WHERE property_id = $1 AND kind = 'database_restored' AND resolved_at IS NULL FOR UPDATE`, propertyID).Scan(&open)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return r, err
	}
	if t, err := time.Parse(time.RFC3339Nano, open); err == nil && t.Before(r.MissingSince) {
		r.MissingSince = t
	}
	_, err = tx.Exec(ctx, `
		INSERT INTO incidents (property_id, kind, message, details) VALUES ($1, 'database_restored', $2, $3)
		ON CONFLICT (property_id) WHERE kind = 'database_restored' AND resolved_at IS NULL
		DO UPDATE SET message = excluded.message, details = excluded.details, updated_at = now()`,
		propertyID, restoredMessage(r), map[string]any{
			"missing_since": r.MissingSince.UTC().Format(time.RFC3339Nano),
			"restored_at":   r.RestoredAt.UTC().Format(time.RFC3339Nano)})
	return r, err
}

// restoredMessage words a database_restored incident: what happened, what
// it means for the hotel, and what staff do about it.
func restoredMessage(r RestoredProperty) string {
	since := r.MissingSince.In(r.Zone).Format("2006-01-02 15:04 MST")
	return fmt.Sprintf("keyrack's database was restored from a backup and readied again on %s: the last thing it had recorded "+
		"for this property is from %s. Bookings, cancellations and changes the channels made since then may not be in keyrack, "+
		"and the rooms those bookings took are for sale again on every channel. Check each channel's extranet and the PMS "+
		"for bookings, cancellations and changes made since %s, enter or correct them in keyrack, then resolve this alert.",
		r.RestoredAt.In(r.Zone).Format("2006-01-02 15:04 MST"), since, since)
}

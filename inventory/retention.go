package inventory

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Retention of the two logs that grow with traffic and are not the
// bookings' record: the inbound messages (every message a channel sent,
// kept for staff and integrators to look into; each booking's own message
// stays with its revision) and the Idempotency-Key responses of the API.
const (
	// DefaultMessagesKeep is how long inbound messages are kept unless
	// configured otherwise (30 days).
	DefaultMessagesKeep = 30 * 24 * time.Hour
	// IdempotencyKeep is how long the API remembers an Idempotency-Key
	// and its response (24 hours): a request sent again after that runs
	// again.
	IdempotencyKeep = 24 * time.Hour
	// PurgeBatch is the most rows one statement of PurgeExpired deletes.
	PurgeBatch = 5000
)

// Purged is what PurgeExpired deleted.
type Purged struct {
	Messages, IdempotencyKeys int64
}

// PurgeExpired deletes the inbound messages received more than
// messagesKeep ago (DefaultMessagesKeep when zero) and the Idempotency-Keys
// claimed more than IdempotencyKeep ago, PurgeBatch rows per statement so
// that no statement holds many locks or runs long. The scheduler calls it
// every minute.
func PurgeExpired(ctx context.Context, db *pgxpool.Pool, messagesKeep time.Duration) (Purged, error) {
	if messagesKeep <= 0 {
		messagesKeep = DefaultMessagesKeep
	}
	var p Purged
	// Messages by their id, oldest first, each property's on its own
	// (their key is the property's, then the id): ids follow arrival, so
	// the expired ones are the first the key's order reaches. (No index on
	// received_at: it would cost every message a write, and a filter on it
	// alone would make PostgreSQL read the whole table every minute.) A
	// property's oldest message says whether it has anything to do.
	rows, _ := db.Query(ctx, `SELECT p.id FROM properties p
		WHERE coalesce((SELECT m.received_at < now() - $1::interval FROM inbound_messages m
			WHERE m.property_id = p.id ORDER BY m.id LIMIT 1), false)
		ORDER BY p.id`, messagesKeep)
	due, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return p, err
	}
	for _, property := range due {
		n, err := DeleteInBatches(ctx, db, `DELETE FROM inbound_messages m USING (
				SELECT property_id, id, received_at FROM inbound_messages WHERE property_id = $3 ORDER BY id LIMIT $2
			) AS old WHERE m.property_id = old.property_id AND m.id = old.id AND old.received_at < now() - $1::interval`,
			messagesKeep, property)
		p.Messages += n
		if err != nil {
			return p, err
		}
	}
	// Those kept under no property likewise.
	var unattributed bool
	err = db.QueryRow(ctx, `SELECT coalesce((SELECT received_at < now() - $1::interval FROM inbound_unattributed ORDER BY id LIMIT 1), false)`,
		messagesKeep).Scan(&unattributed)
	if err != nil {
		return p, err
	}
	if unattributed {
		n, err := DeleteInBatches(ctx, db, `DELETE FROM inbound_unattributed m USING (
				SELECT id, received_at FROM inbound_unattributed ORDER BY id LIMIT $2
			) AS old WHERE m.id = old.id AND old.received_at < now() - $1::interval`, messagesKeep)
		p.Messages += n
		if err != nil {
			return p, err
		}
	}
	p.IdempotencyKeys, err = DeleteInBatches(ctx, db, `DELETE FROM idempotency_keys k USING (
			SELECT property_id, api_key_id, idem_key FROM idempotency_keys WHERE created_at < now() - $1::interval LIMIT $2
		) AS old WHERE k.property_id = old.property_id AND k.api_key_id = old.api_key_id AND k.idem_key = old.idem_key`,
		IdempotencyKeep)
	return p, err
}

// DeleteInBatches runs sql — a DELETE of at most $2 rows older than $1 (an
// interval), with more arguments from $3 on — until a batch comes back
// short, and returns how many rows it deleted.
func DeleteInBatches(ctx context.Context, db *pgxpool.Pool, sql string, keep time.Duration, more ...any) (int64, error) {
	var total int64
	for {
		tag, err := db.Exec(ctx, sql, append([]any{keep, PurgeBatch}, more...)...)
		if err != nil {
			return total, err
		}
		total += tag.RowsAffected()
		if tag.RowsAffected() < PurgeBatch || ctx.Err() != nil {
			return total, ctx.Err()
		}
	}
}

// GuestDataBatch is the most reservations one transaction of
// EraseExpiredGuestData erases.
const GuestDataBatch = 500

// EraseExpiredGuestData erases the guest data of every reservation whose
// stay ended (its check-out day) more than keep ago, in the property's
// calendar, or that has been cancelled (or pending) with no change for
// more than keep, GuestDataBatch reservations per transaction, each with
// its audit entry (by system). The inbound messages are left to their
// own retention, which the scheduler caps at keep. It returns how many
// reservations it erased. keep ≤ 0 erases nothing (keyrack keeps guest
// data by default).
func EraseExpiredGuestData(ctx context.Context, db *pgxpool.Pool, keep time.Duration) (int64, error) {
	if keep <= 0 {
		return 0, nil
	}
	rows, _ := db.Query(ctx, `SELECT id FROM properties ORDER BY id`)
	props, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return 0, err
	}
	var total int64
	for _, property := range props {
		for {
			var n int
			err := pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
				var at time.Time
				// A reservation a revision holds locked is taken at the next run.
				rows, _ := tx.Query(ctx, `SELECT r.id, now() FROM reservations r JOIN properties p ON p.id = r.property_id
					WHERE r.property_id = $1 AND r.guest_erased_at IS NULL
						AND (r.departure < ((now() - $2::interval) AT TIME ZONE p.time_zone)::date
							OR (r.status <> 'confirmed' AND r.updated_at < now() - $2::interval))
					ORDER BY r.id LIMIT $3 FOR UPDATE OF r SKIP LOCKED`, property, keep, GuestDataBatch)
				var ids []int64
				var id int64
				if _, err := pgx.ForEachRow(rows, []any{&id, &at}, func() error {
					ids = append(ids, id)
					return nil
				}); err != nil {
					return err
				}
				n = len(ids)
				if n == 0 {
					return nil
				}
				var counts GuestErasure
				if err := eraseGuests(ctx, tx, property, ids, at, System, false, &counts); err != nil {
					return err
				}
				_, err := tx.Exec(ctx, `INSERT INTO audit_log (property_id, actor, action, subject, details)
					SELECT $1, $3, 'reservation.erase_guest_data', 'reservation ' || u.id,
						jsonb_build_object('retention', $4::text)
					FROM unnest($2::bigint[]) AS u (id)`, property, ids, System.String(), keepText(keep))
				return err
			})
			total += int64(n)
			if err != nil {
				return total, err
			}
			if n < GuestDataBatch || ctx.Err() != nil {
				break
			}
		}
	}
	return total, ctx.Err()
}

// keepText says a retention period for people: in days when whole.
func keepText(keep time.Duration) string {
	if keep%(24*time.Hour) == 0 {
		return fmt.Sprintf("%dd", keep/(24*time.Hour))
	}
	return keep.String()
}

package inventory_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/keyrack/keyrack/inventory"
	"github.com/stretchr/testify/require"
)

// Inbound messages older than the configured time and Idempotency-Keys
// older than a day are deleted, however many; newer ones stay.
func TestPurgeExpiredDeletesOldMessagesAndIdempotencyKeys(t *testing.T) {
	t.Parallel()
	h := newHotel(t, "UTC", []int{5}, inventory.FactorOne, 1)
	ctx := context.Background()
	db := h.st.DB()
	message := func(raw string) int64 {
		id, err := h.st.RecordInbound(ctx, inventory.InboundMessage{Property: h.code, Channel: "C0", Direction: "push", Outcome: "ok", Raw: raw})
		require.NoError(t, err)
		return id
	}
	// More than two batches of messages 40 days old — more than a batch of
	// the property's, more than one of unauthenticated ones, kept under no
	// property —, one 10 days old, one of today.
	_, err := db.Exec(ctx, `
		INSERT INTO inbound_messages (property_id, channel_code, direction, outcome, raw, received_at)
		SELECT (SELECT id FROM properties WHERE code = $2), 'C0', 'push', 'ok', 'old ' || g, now() - interval '40 days'
		FROM generate_series(1, $1) AS g`,
		inventory.PurgeBatch+1, h.code)
	require.NoError(t, err)
	_, err = db.Exec(ctx, `
		INSERT INTO inbound_unattributed (channel_code, direction, outcome, raw, received_at)
		SELECT 'C0', 'push', 'unauthenticated', 'old ' || g, now() - interval '40 days' FROM generate_series(1, $1) AS g`,
		inventory.PurgeBatch+2)
	require.NoError(t, err)
	tenDays := message("ten days")
	_, err = db.Exec(ctx, `UPDATE inbound_messages SET received_at = now() - interval '10 days' WHERE id = $1`, tenDays)
	require.NoError(t, err)
	message("today")

	key, _, err := h.st.CreateAPIKey(ctx, h.code, "pms", inventory.System)
	require.NoError(t, err)
	claim := func(k string) {
		resp, err := h.st.ClaimIdempotencyKey(ctx, inventory.IdempotentRequest{PropertyID: key.PropertyID, APIKeyID: key.ID, Key: k,
			Method: "POST", Path: "/reservations", Body: []byte(k)})
		require.NoError(t, err)
		require.Nil(t, resp)
	}
	claim("yesterday")
	claim("an hour ago")
	_, err = db.Exec(ctx, `UPDATE idempotency_keys SET created_at = now() - interval '25 hours' WHERE idem_key = 'yesterday'`)
	require.NoError(t, err)
	_, err = db.Exec(ctx, `UPDATE idempotency_keys SET created_at = now() - interval '1 hour' WHERE idem_key = 'an hour ago'`)
	require.NoError(t, err)

	raws := func() (out []string) {
		rows, _ := db.Query(ctx, `SELECT raw FROM inbound_messages WHERE raw NOT LIKE 'old %' ORDER BY id`)
		for rows.Next() {
			var r string
			require.NoError(t, rows.Scan(&r))
			out = append(out, r)
		}
		require.NoError(t, rows.Err())
		var old int
		require.NoError(t, db.QueryRow(ctx, `SELECT (SELECT count(*) FROM inbound_messages WHERE raw LIKE 'old %')
			+ (SELECT count(*) FROM inbound_unattributed WHERE raw LIKE 'old %')`).Scan(&old))
		return append(out, fmt.Sprint(old, " old"))
	}
	keys := func() (out []string) {
		rows, _ := db.Query(ctx, `SELECT idem_key FROM idempotency_keys ORDER BY created_at`)
		for rows.Next() {
			var k string
			require.NoError(t, rows.Scan(&k))
			out = append(out, k)
		}
		require.NoError(t, rows.Err())
		return out
	}

	p, err := inventory.PurgeExpired(ctx, db, 0) // 30 days
	require.NoError(t, err)
	require.Equal(t, inventory.Purged{Messages: 2*inventory.PurgeBatch + 3, IdempotencyKeys: 1}, p)
	require.Equal(t, []string{"ten days", "today", "0 old"}, raws())
	require.Equal(t, []string{"an hour ago"}, keys())

	p, err = inventory.PurgeExpired(ctx, db, 7*24*time.Hour)
	require.NoError(t, err)
	require.Equal(t, inventory.Purged{Messages: 1}, p)
	require.Equal(t, []string{"today", "0 old"}, raws())
	require.Equal(t, []string{"an hour ago"}, keys())

	// The key that was forgotten runs again.
	claim("yesterday")
}

// The retention erases the guest data of the bookings whose stay ended,
// or that were cancelled, longer ago than it keeps them — however many,
// each with its audit entry — and nothing newer; off, it erases nothing.
func TestGuestDataIsErasedOnceItsRetentionHasPassed(t *testing.T) {
	t.Parallel()
	h := newHotel(t, "Pacific/Auckland", []int{5}, inventory.FactorOne, 1)
	ctx := context.Background()
	db := h.st.DB()
	loc, err := time.LoadLocation("Pacific/Auckland")
	require.NoError(t, err)
	today := inventory.LocalDate(time.Now(), loc)
	book := func(id string, arrival inventory.Date, nights int) int64 {
		out, err := h.st.ApplyRevision(ctx, guestRevision(h, id, inventory.New, arrival, nights))
		require.NoError(t, err)
		return out.ReservationID
	}
	cancelled := func(id string, arrival inventory.Date, daysAgo int) int64 {
		rid := book(id, arrival, 2)
		c := guestRevision(h, id, inventory.Cancel, arrival, 2)
		c.Stays = nil
		_, err := h.st.ApplyRevision(ctx, c)
		require.NoError(t, err)
		_, err = db.Exec(ctx, `UPDATE reservations SET updated_at = now() - make_interval(days => $2) WHERE id = $1`, rid, daysAgo)
		require.NoError(t, err)
		return rid
	}
	left41 := book("LEFT-41-DAYS-AGO", today.AddDays(-44), 3)
	erased := map[int64]bool{
		left41: true,
		book("LEFT-31-DAYS-AGO", today.AddDays(-33), 2):           true,
		book("LEFT-30-DAYS-AGO", today.AddDays(-32), 2):           false, // its check-out day is 30 days ago: not longer
		book("LEFT-10-DAYS-AGO", today.AddDays(-12), 2):           false,
		book("TO-COME", today.AddDays(5), 2):                      false,
		cancelled("CANCELLED-40-DAYS-AGO", today.AddDays(60), 40): true,
		cancelled("CANCELLED-20-DAYS-AGO", today.AddDays(60), 20): false,
	}
	// More than a batch of old ones.
	_, err = db.Exec(ctx, `INSERT INTO reservations (property_id, channel_id, external_id, status, arrival, departure, guest)
		SELECT r.property_id, r.channel_id, 'BULK-' || g, 'confirmed', r.arrival, r.departure, r.guest
		FROM reservations r, generate_series(1, $2) AS g WHERE r.id = $1`, left41, inventory.GuestDataBatch)
	require.NoError(t, err)

	n, err := inventory.EraseExpiredGuestData(ctx, db, 0)
	require.NoError(t, err)
	require.Zero(t, n, "off: guest data is kept")

	keep := 30 * 24 * time.Hour
	n, err = inventory.EraseExpiredGuestData(ctx, db, keep)
	require.NoError(t, err)
	require.Equal(t, int64(3+inventory.GuestDataBatch), n)
	for id, want := range erased {
		res, err := h.st.ReservationByID(ctx, h.code, id)
		require.NoError(t, err)
		require.Equal(t, want, res.GuestErasedAt != nil, res.ExternalID)
		if want {
			require.Equal(t, inventory.ErasedGuest, res.Guest, res.ExternalID)
			recs, err := h.st.Revisions(ctx, h.code, id)
			require.NoError(t, err)
			for _, r := range recs {
				require.Equal(t, inventory.ErasedGuest, r.Revision.Guest)
				require.Contains(t, r.Raw, "guest data erased")
				require.Contains(t, r.Raw, "by system")
			}
		} else {
			require.Equal(t, "Zelie Quarnstrom", res.Guest.Name, res.ExternalID)
		}
	}
	var audits int
	require.NoError(t, db.QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE action = 'reservation.erase_guest_data'
		AND actor = 'system' AND details->>'retention' = '30d'`).Scan(&audits))
	require.Equal(t, 3+inventory.GuestDataBatch, audits)
	n, err = inventory.EraseExpiredGuestData(ctx, db, keep)
	require.NoError(t, err)
	require.Zero(t, n, "nothing is erased twice")
	require.Equal(t, map[string]int{"reservations": 4, "reservation_revisions": 5}, tablesHolding(t, db, "Zelie"), "the four bookings kept")
}

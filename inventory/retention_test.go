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

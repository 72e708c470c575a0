package sync_test

import (
	"context"
	"testing"

	"github.com/keyrack/keyrack/sync"
	"github.com/stretchr/testify/require"
)

// Outbox rows relayed more than OutboxKeep ago are deleted, however many;
// rows relayed since and rows not relayed yet stay.
func TestRelayedOutboxRowsArePurgedAfterAWhile(t *testing.T) {
	t.Parallel()
	h := newHotel(t, hotelOptions{channels: []string{"A", "B"}, noWorker: true})
	ctx := context.Background()
	db := h.st.DB()
	h.book("A", "A-pending", 0, h.today.AddDays(3), 1, 1) // its rows stay pending: no worker relays them
	// Relayed rows: more than a batch of old ones, and a recent one.
	_, err := db.Exec(ctx, `
		INSERT INTO outbox (property_id, topic, pool_id, from_night, to_night, done_at)
		SELECT $1, 'availability', $2, $3::date, $3::date + 1, now() - interval '2 hours'
		FROM generate_series(1, $4)`, h.id, h.poolIDs[0], h.today, 2*sync.PurgeBatch+3)
	require.NoError(t, err)
	_, err = db.Exec(ctx, `
		INSERT INTO outbox (property_id, topic, pool_id, from_night, to_night, done_at)
		VALUES ($1, 'availability', $2, $3::date, $3::date + 1, now() - interval '5 minutes')`, h.id, h.poolIDs[0], h.today)
	require.NoError(t, err)
	count := func(where string) (n int) {
		require.NoError(t, db.QueryRow(ctx, `SELECT count(*) FROM outbox WHERE property_id = $1 AND `+where, h.id).Scan(&n))
		return n
	}
	pending := count("done_at IS NULL")
	require.Positive(t, pending)

	require.NoError(t, h.fanout().PurgeRelayed(ctx))
	require.Zero(t, count("done_at < now() - interval '1 hour'"), "rows relayed two hours ago")
	require.Equal(t, 1, count("done_at >= now() - interval '1 hour'"), "the row relayed five minutes ago")
	require.Equal(t, pending, count("done_at IS NULL"), "rows not relayed yet")
}

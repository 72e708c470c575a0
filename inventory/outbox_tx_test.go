package inventory_test

import (
	"context"
	"testing"

	"github.com/keyrack/keyrack/inventory"
	"github.com/stretchr/testify/require"
)

// PRODUCT.md invariant 4: a change's outbox row is written in the change's
// own transaction. When the outbox row cannot be written, the booking is not
// recorded either — so the channel, told it failed, sends it again, and the
// booking then reaches the other channels. Recorded without its outbox row,
// the booking would hold its nights while no channel ever heard of it, and
// the channel's resend would come back a duplicate that changes nothing.
func TestABookingWhoseOutboxRowCannotBeWrittenIsNotRecorded(t *testing.T) {
	t.Parallel()
	h := newHotel(t, "Europe/Lisbon", []int{3}, inventory.FactorOne, 2)
	ctx := context.Background()
	db := h.st.DB()
	_, err := db.Exec(ctx, `
		CREATE FUNCTION refuse_outbox() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN RAISE EXCEPTION 'the outbox is unavailable'; END $$;
		CREATE TRIGGER refuse_outbox BEFORE INSERT ON outbox FOR EACH ROW EXECUTE FUNCTION refuse_outbox()`)
	require.NoError(t, err)

	rev := h.booking("C0", "A", inventory.New, "R0", "2026-12-01", 2, 1, inventory.MustAccept)
	_, err = h.st.ApplyRevision(ctx, rev)
	require.ErrorContains(t, err, "the outbox is unavailable")
	_, err = h.st.Reservation(ctx, h.code, "C0", "A")
	require.Equal(t, inventory.ENOTFOUND, inventory.ErrorCode(err), "the booking was recorded without its outbox row: %v", err)
	for d, n := range h.nights(t, "2026-12-01", 2)["P0"] {
		require.Zero(t, n.Sold, "%s is held by a booking no channel will hear of", d)
	}

	// The fault clears; the channel sends the booking again.
	_, err = db.Exec(ctx, `DROP TRIGGER refuse_outbox ON outbox`)
	require.NoError(t, err)
	out, err := h.st.ApplyRevision(ctx, rev)
	require.NoError(t, err)
	require.False(t, out.Duplicate, "the first attempt left nothing behind")
	var from, to inventory.Date
	require.NoError(t, db.QueryRow(ctx, `SELECT from_night, to_night FROM outbox WHERE topic = 'availability'`).Scan(&from, &to))
	require.Equal(t, inventory.MustDate("2026-12-01"), from)
	require.Equal(t, inventory.MustDate("2026-12-03"), to)
}

// A Store may be closed more than once (a test closes one it also closes
// on cleanup): closing it again after its commits told the relays (its
// notifications running) must not panic.
func TestAStoreClosesTwice(t *testing.T) {
	t.Parallel()
	h := newHotel(t, "UTC", []int{5}, inventory.FactorOne, 1)
	_, err := h.st.ApplyRevision(context.Background(), h.booking("C0", "X1", inventory.New, "R0", "2030-01-01", 1, 1, ""))
	require.NoError(t, err)
	h.st.Close()
	h.st.Close()
}

package inventory_test

import (
	"context"
	"log/slog"
	"testing"

	"github.com/keyrack/keyrack/inventory"
	"github.com/keyrack/keyrack/inventory/inventorytest"
	"github.com/stretchr/testify/require"
)

// storeInDBZone is a Store whose database sessions run in zone tz, as on a
// PostgreSQL server whose timezone setting is the operator's own (initdb
// writes the machine's zone into postgresql.conf).
func storeInDBZone(t *testing.T, tz string) *inventory.Store {
	t.Helper()
	cfg := inventorytest.Schema(t)
	cfg.ConnConfig.RuntimeParams["timezone"] = tz
	ctx := context.Background()
	st, err := inventory.OpenConfig(ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(st.Close)
	st.SetLogger(slog.New(slog.DiscardHandler))
	require.NoError(t, st.Migrate(ctx))
	return st
}

// Chile moves its clocks from 00:00 to 01:00 on 2026-09-06: midnight of that
// day does not exist in America/Santiago. Nights are dates, and no night may
// go missing whatever the database session's zone.
func TestAvailabilityListsEveryNightWhateverTheDatabaseZone(t *testing.T) {
	t.Parallel()
	h := newHotelIn(t, storeInDBZone(t, "America/Santiago"), "H1", "America/Santiago", []int{2}, inventory.FactorOne, 1)
	from := inventory.MustDate("2026-09-01")
	got, err := h.st.Availability(context.Background(), h.code, from, from.AddDays(30))
	require.NoError(t, err)
	require.Len(t, got, 30, "[2026-09-01, 2026-10-01) is 30 nights")
	require.Equal(t, "2026-09-30", got[len(got)-1].Night.String())
}

// A channel's own booking is set aside in its calendar (loop suppression)
// on every night it holds, also across a DST change at midnight.
func TestBlockedNightsSetAsideTheChannelsOwnStayAcrossAMidnightDSTChange(t *testing.T) {
	t.Parallel()
	h := newHotelIn(t, storeInDBZone(t, "America/Santiago"), "H1", "America/Santiago", []int{1}, inventory.FactorOne, 1)
	ctx := context.Background()
	_, err := h.st.ApplyRevision(ctx, h.booking("C0", "AIR-1", inventory.New, "R0", "2026-09-04", 4, 1, inventory.MustAccept))
	require.NoError(t, err)
	blocked, err := h.st.BlockedNights(ctx, h.code, "C0", "R0", inventory.MustDate("2026-09-01"), inventory.MustDate("2026-10-01"))
	require.NoError(t, err)
	require.Empty(t, blocked, "the channel's own stay (nights 4–7 September) is not shown back to it as blocked")
}

// keyrack's sessions run in UTC whatever zone the server was set up in, as a
// second guard for the nights (see above); a TimeZone that DATABASE_URL
// gives, in any letter case, is kept.
func TestSessionsRunInUTCUnlessTheDatabaseURLSaysOtherwise(t *testing.T) {
	t.Parallel()
	zone := func(st *inventory.Store) string {
		var z string
		require.NoError(t, st.DB().QueryRow(context.Background(), `SELECT current_setting('TimeZone')`).Scan(&z))
		return z
	}
	require.Equal(t, "UTC", zone(inventorytest.New(t)))
	require.Equal(t, "America/Santiago", zone(storeInDBZone(t, "America/Santiago")))

	cfg := inventorytest.Schema(t)
	cfg.ConnConfig.RuntimeParams["TimeZone"] = "Asia/Kathmandu"
	st, err := inventory.OpenConfig(context.Background(), cfg)
	require.NoError(t, err)
	t.Cleanup(st.Close)
	require.Equal(t, "Asia/Kathmandu", zone(st))
}

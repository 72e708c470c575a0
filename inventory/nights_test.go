package inventory_test

import (
	"context"
	"testing"

	"github.com/keyrack/keyrack/inventory"
	"github.com/stretchr/testify/require"
)

func TestOneEditSetsUnitsFactorAndStopSellTogether(t *testing.T) {
	t.Parallel()
	h := newHotel(t, "Europe/Lisbon", []int{10}, inventory.FactorOne, 1)
	ctx := context.Background()
	for _, id := range []string{"A", "B", "C"} {
		_, err := h.st.ApplyRevision(ctx, h.booking("C0", id, inventory.New, "R0", "2026-12-01", 2, 1, inventory.MustAccept))
		require.NoError(t, err)
	}
	units, factor, closed := 2, inventory.Factor(150), true
	r := inventory.NightRange{Property: h.code, Pool: "P0", From: inventory.MustDate("2026-12-01"), To: inventory.MustDate("2026-12-03")}
	require.NoError(t, h.st.EditNights(ctx, r, inventory.NightEdit{Units: &units, Factor: &factor, Closed: &closed}, inventory.Staff("anna")))
	for _, n := range h.nights(t, "2026-12-01", 2)["P0"] {
		require.Equal(t, 2, n.Units)
		require.Equal(t, factor, n.Factor)
		require.Equal(t, 3, n.Limit, "floor(2 × 1.50)")
		require.Equal(t, 3, n.Sold, "no booking is lost")
		require.True(t, n.Closed)
		require.Zero(t, n.Available)
	}
	entries, err := h.st.Audit(ctx, h.code, "", 1)
	require.NoError(t, err)
	require.Equal(t, "nights.set_units+set_factor+close", entries[0].Action, "one edit, one audit entry")
	inc, err := h.st.Incidents(ctx, h.code, true)
	require.NoError(t, err)
	require.Empty(t, inc, "3 sold fits the new limit of 3: units and factor are settled together, not one after the other")

	require.Equal(t, inventory.EINVALID, inventory.ErrorCode(h.st.EditNights(ctx, r, inventory.NightEdit{}, inventory.Staff("anna"))))
}

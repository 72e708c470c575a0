package inventory_test

import (
	"context"
	"testing"
	"time"

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

func TestAnEditOfSomeDaysOfTheWeekChangesOnlyThoseNights(t *testing.T) {
	t.Parallel()
	h := newHotel(t, "Europe/Lisbon", []int{10}, inventory.FactorOne, 1)
	ctx := context.Background()
	weekend := inventory.WeekdaysOf(time.Saturday, time.Sunday)
	// Monday 1 March to Monday 15 March 2027 (exclusive): two weekends.
	r := inventory.NightRange{Property: h.code, Pool: "P0", From: inventory.MustDate("2027-03-01"), To: inventory.MustDate("2027-03-15"), Days: weekend}
	units, closed := 4, true
	require.NoError(t, h.st.EditNights(ctx, r, inventory.NightEdit{Units: &units, Closed: &closed}, inventory.Staff("anna")))
	for night, n := range h.nights(t, "2027-03-01", 14)["P0"] {
		if night.Weekday() == time.Saturday || night.Weekday() == time.Sunday {
			require.True(t, n.Closed, night.String())
			require.Equal(t, 4, n.Units, night.String())
		} else {
			require.False(t, n.Closed, "%s is no weekend night", night)
			require.Equal(t, 10, n.Units, "%s is no weekend night", night)
		}
	}
	entries, err := h.st.Audit(ctx, h.code, "", 1)
	require.NoError(t, err)
	require.Equal(t, "pool P0 2027-03-06..2027-03-15, Sat, Sun only", entries[0].Subject, "the nights it changed, from the first to the last, and their days")
	require.Equal(t, "Sat, Sun", entries[0].Details["days"])

	// The pool's own units reach the nights the edit left alone, not the
	// ones given their own.
	poolUnits := 12
	_, err = h.st.UpdatePool(ctx, h.code, "P0", inventory.PoolPatch{Units: &poolUnits}, inventory.Staff("anna"))
	require.NoError(t, err)
	got := h.nights(t, "2027-03-05", 2)["P0"]
	require.Equal(t, 12, got[inventory.MustDate("2027-03-05")].Units, "a Friday takes the pool's units")
	require.Equal(t, 4, got[inventory.MustDate("2027-03-06")].Units, "a Saturday keeps the units staff gave it")

	// Days none of the range's nights fall on: refused, nothing changed.
	tue := inventory.NightRange{Property: h.code, Pool: "P0", From: inventory.MustDate("2027-03-03"), To: inventory.MustDate("2027-03-06"), Days: inventory.WeekdaysOf(time.Tuesday)}
	err = h.st.EditNights(ctx, tue, inventory.NightEdit{Closed: &closed}, inventory.Staff("anna"))
	require.Equal(t, inventory.EINVALID, inventory.ErrorCode(err))
	require.Contains(t, inventory.ErrorMessage(err), "no night from 2027-03-03 to 2027-03-05 falls on Tue")
	require.False(t, h.nights(t, "2027-03-03", 1)["P0"][inventory.MustDate("2027-03-03")].Closed)
}

func TestWeekdaysAreReadByNameAndListedMondayFirst(t *testing.T) {
	w, err := inventory.ParseWeekdays(" sun, Fri ,SATURDAY")
	require.NoError(t, err)
	require.Equal(t, inventory.WeekdaysOf(time.Friday, time.Saturday, time.Sunday), w)
	require.Equal(t, "Fri, Sat, Sun", w.String())
	require.False(t, w.Has(time.Monday))
	all, err := inventory.ParseWeekdays("")
	require.NoError(t, err)
	require.True(t, all.Every())
	require.True(t, all.Has(time.Monday))
	require.True(t, inventory.WeekdaysOf(time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday, time.Sunday).Every())
	require.Equal(t, "every day", all.String())
	_, err = inventory.ParseWeekdays("sat,weekend")
	require.Equal(t, inventory.EINVALID, inventory.ErrorCode(err))
	require.Contains(t, inventory.ErrorMessage(err), `"weekend" is not a day of the week`)
	_, err = inventory.ParseWeekdays("sat,")
	require.Error(t, err, "an empty name between commas")
}

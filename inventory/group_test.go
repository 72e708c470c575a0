package inventory_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/keyrack/keyrack/inventory"
	"github.com/stretchr/testify/require"
)

// Revisions applied in one group behave exactly as if each had its own
// transaction: one that the database refuses fails alone, one that does not
// fit is rejected alone, and overbooking is raised once per night.

func TestFailingRevisionDoesNotFailItsGroup(t *testing.T) {
	t.Parallel()
	h := newHotel(t, "Europe/Lisbon", []int{10}, inventory.FactorOne, 2)
	ctx := context.Background()
	var revs []inventory.Revision
	for i := range 6 {
		revs = append(revs, h.booking(h.channels[i%2], fmt.Sprint("G", i), inventory.New, "R0", "2026-12-01", 2, 1, inventory.MustAccept))
	}
	outs, errs := h.st.ApplyTogether(revs, func(r *inventory.Revision) bool { return r.ExternalID == "G3" })
	for i, err := range errs {
		if i == 3 {
			require.Error(t, err, "the refused revision reports its error")
			continue
		}
		require.NoError(t, err, "revision %d", i)
		require.Equal(t, inventory.Confirmed, outs[i].Status)
		require.Equal(t, 1, outs[i].Revision)
	}
	for _, n := range h.nights(t, "2026-12-01", 2)["P0"] {
		require.Equal(t, 5, n.Sold, "five of six bookings hold %s", n.Night)
	}
	_, err := h.st.Reservation(ctx, h.code, "C1", "G3")
	require.Equal(t, inventory.ENOTFOUND, inventory.ErrorCode(err), "the refused booking left nothing: %v", err)
	var audits, outbox int
	require.NoError(t, h.st.DB().QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE action = 'reservation.new'`).Scan(&audits))
	require.NoError(t, h.st.DB().QueryRow(ctx, `SELECT count(*) FROM outbox WHERE topic = 'reservation'`).Scan(&outbox))
	require.Equal(t, 5, audits)
	require.Equal(t, 5, outbox)
}

func TestGroupRejectsOnlyWhatDoesNotFit(t *testing.T) {
	t.Parallel()
	h := newHotel(t, "Europe/Lisbon", []int{3}, inventory.FactorOne, 1)
	ctx := context.Background()
	var revs []inventory.Revision
	for i := range 5 {
		revs = append(revs, h.booking("C0", fmt.Sprint("D", i), inventory.New, "R0", "2026-12-01", 3, 1, inventory.MayReject))
	}
	outs, errs := h.st.ApplyTogether(revs, nil)
	accepted := 0
	for i, err := range errs {
		if err == nil {
			accepted++
			require.Equal(t, inventory.Confirmed, outs[i].Status)
			continue
		}
		var e *inventory.Error
		require.ErrorAs(t, err, &e)
		require.Equal(t, inventory.ECONFLICT, e.Code)
		require.Len(t, e.Short, 3, "every night of the stay is short")
		for _, s := range e.Short {
			require.Equal(t, inventory.Shortage{Pool: "P0", Night: s.Night, Wanted: 1, Available: 0}, s)
		}
		_, err := h.st.Reservation(ctx, h.code, "C0", revs[i].ExternalID)
		require.Equal(t, inventory.ENOTFOUND, inventory.ErrorCode(err), "a rejected booking leaves no reservation behind")
	}
	require.Equal(t, 3, accepted)
	for _, n := range h.nights(t, "2026-12-01", 3)["P0"] {
		require.Equal(t, 3, n.Sold)
		require.Zero(t, n.Available)
	}
}

func TestGroupRaisesOneIncidentPerNight(t *testing.T) {
	t.Parallel()
	h := newHotel(t, "Europe/Lisbon", []int{1}, inventory.FactorOne, 1)
	ctx := context.Background()
	var revs []inventory.Revision
	for i := range 4 {
		revs = append(revs, h.booking("C0", fmt.Sprint("M", i), inventory.New, "R0", "2026-12-01", 2, 1, inventory.MustAccept))
	}
	outs, errs := h.st.ApplyTogether(revs, nil)
	overbooked := 0
	var ids []int64
	for i, err := range errs {
		require.NoError(t, err)
		require.Equal(t, 1, outs[i].Revision, "each booking's first revision")
		res, err := h.st.ReservationByID(ctx, h.code, outs[i].ReservationID)
		require.NoError(t, err)
		require.Equal(t, 1, res.Revisions)
		if len(outs[i].Overbooked) > 0 {
			overbooked++
			ids = append(ids, outs[i].ReservationID)
			require.Len(t, outs[i].Overbooked, 2)
		}
	}
	require.Equal(t, 3, overbooked, "the first booking fits, the other three go past the limit")
	inc, err := h.st.Incidents(ctx, h.code, true)
	require.NoError(t, err)
	require.Len(t, inc, 2, "one incident per night")
	for _, i := range inc {
		require.Equal(t, 3, i.Excess)
		var named []int64
		for _, id := range i.Details["reservations"].([]any) {
			named = append(named, int64(id.(float64)))
		}
		require.ElementsMatch(t, ids, named, "the incident names every booking that went past the limit")
	}
	for _, n := range h.nights(t, "2026-12-01", 2)["P0"] {
		require.Equal(t, 4, n.Sold)
		require.Zero(t, n.Available)
	}
}

func TestStrayBytesDoNotLoseABooking(t *testing.T) {
	t.Parallel()
	h := newHotel(t, "Europe/Lisbon", []int{2}, inventory.FactorOne, 1)
	ctx := context.Background()
	rev := h.booking("C0", "NUL1", inventory.New, "R0", "2026-12-01", 1, 1, inventory.MustAccept)
	rev.Guest.Name = "Ana\x00Lima\xff"
	rev.Raw = []byte("<Guest>Ana\x00Lima\xff</Guest>")
	out, err := h.st.ApplyRevision(ctx, rev)
	require.NoError(t, err, "PostgreSQL cannot store NUL or invalid UTF-8, so they are replaced, not refused")
	require.Equal(t, inventory.Confirmed, out.Status)
	res, err := h.st.Reservation(ctx, h.code, "C0", "NUL1")
	require.NoError(t, err)
	require.Equal(t, "Ana\uFFFDLima\uFFFD", res.Guest.Name)
	revs, err := h.st.Revisions(ctx, h.code, res.ID)
	require.NoError(t, err)
	require.Equal(t, "<Guest>Ana\uFFFDLima\uFFFD</Guest>", revs[0].Raw)

	rev.ExternalID = "bad\x00id"
	_, err = h.st.ApplyRevision(ctx, rev)
	require.Equal(t, inventory.EINVALID, inventory.ErrorCode(err))
}

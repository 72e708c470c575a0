package inventory_test

import (
	"context"
	"fmt"
	"slices"
	gosync "sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/keyrack/keyrack/inventory"
	"github.com/keyrack/keyrack/inventory/inventorytest"
	"github.com/stretchr/testify/require"
)

// storm books the last rooms of a pool from 64 goroutines on several
// channels, over overlapping multi-night stays.
func storm(t *testing.T, mode inventory.Mode) (*hotel, []inventory.Outcome, int) {
	t.Helper()
	const rooms = 5
	h := newHotel(t, "Europe/Lisbon", []int{rooms}, inventory.FactorOne, 4)
	ctx := context.Background()
	var wg gosync.WaitGroup
	var mu gosync.Mutex
	var outcomes []inventory.Outcome
	var conflicts atomic.Int32
	start := make(chan struct{})
	for g := 0; g < 64; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			// Stays of 1–3 nights starting on one of the first three nights,
			// so every booking overlaps night 3 (2026-12-03).
			arrival := inventory.MustDate("2026-12-01").AddDays(g % 3)
			nights := 3 - g%3 + g%2
			rev := inventory.Revision{
				Property: h.code, Channel: h.channels[g%4], ExternalID: fmt.Sprintf("R%02d", g), Kind: inventory.New, Mode: mode,
				Stays: []inventory.RoomStay{{RoomType: "R0", Arrival: arrival, Departure: arrival.AddDays(nights), Rooms: 1}},
			}
			out, err := h.st.ApplyRevision(ctx, rev)
			if err != nil {
				if inventory.ErrorCode(err) == inventory.ECONFLICT {
					conflicts.Add(1)
					return
				}
				t.Errorf("booking %d: %v", g, err)
				return
			}
			mu.Lock()
			outcomes = append(outcomes, out)
			mu.Unlock()
		}()
	}
	close(start)
	wg.Wait()
	return h, outcomes, int(conflicts.Load())
}

func TestStormMayRejectNeverSellsPastTheLimit(t *testing.T) {
	t.Parallel()
	h, outcomes, conflicts := storm(t, inventory.MayReject)
	// Every booking covers 2026-12-03, so exactly the 5 rooms can be sold.
	require.Len(t, outcomes, 5, "successes must equal the rooms")
	require.Equal(t, 59, conflicts)
	for _, n := range h.nights(t, "2026-12-01", 5)["P0"] {
		require.LessOrEqual(t, n.Sold, n.Limit, "night %s", n.Night)
	}
	require.Equal(t, 5, h.nights(t, "2026-12-01", 5)["P0"][inventory.MustDate("2026-12-03")].Sold)
	inc, err := h.st.Incidents(context.Background(), h.code, true)
	require.NoError(t, err)
	require.Empty(t, inc)
	// A rejected booking wrote nothing: only the accepted ones exist.
	var n int
	require.NoError(t, h.st.DB().QueryRow(context.Background(), `SELECT count(*) FROM reservations`).Scan(&n))
	require.Equal(t, 5, n)
}

func TestStormMustAcceptRecordsEveryBooking(t *testing.T) {
	t.Parallel()
	h, outcomes, conflicts := storm(t, inventory.MustAccept)
	require.Len(t, outcomes, 64, "every confirmed booking is recorded")
	require.Zero(t, conflicts)
	ctx := context.Background()

	// Expected load per night, from the storm's stays.
	want := map[inventory.Date]int{}
	for g := 0; g < 64; g++ {
		arrival := inventory.MustDate("2026-12-01").AddDays(g % 3)
		for _, d := range inventory.Nights(arrival, arrival.AddDays(3-g%3+g%2)) {
			want[d]++
		}
	}
	got := h.nights(t, "2026-12-01", 6)["P0"]
	over := map[inventory.Date]bool{}
	for d, w := range want {
		n := got[d]
		require.Equal(t, w, n.Sold, "night %s", d)
		if w > n.Limit {
			over[d] = true
			require.Zero(t, n.Available, "an overbooked night shows 0 on %s", d)
		}
	}
	require.NotEmpty(t, over)

	inc, err := h.st.Incidents(ctx, h.code, true)
	require.NoError(t, err)
	perNight := map[inventory.Date]int{}
	for _, i := range inc {
		require.Equal(t, "overbooking", i.Kind)
		perNight[*i.Night]++
		require.Equal(t, want[*i.Night]-5, i.Excess)
	}
	require.Len(t, perNight, len(over), "one incident per night past the limit")
	for d, c := range perNight {
		require.True(t, over[d])
		require.Equal(t, 1, c)
	}
	// The database still holds that no more than the limit was sold within it.
	var bad int
	require.NoError(t, h.st.DB().QueryRow(ctx, `SELECT count(*) FROM nights WHERE sold > lim`).Scan(&bad))
	require.Zero(t, bad)
}

func TestPlainSQLCannotSellPastTheLimit(t *testing.T) {
	t.Parallel()
	h := newHotel(t, "Europe/Lisbon", []int{2}, inventory.FactorOne, 1)
	ctx := context.Background()
	_, err := h.st.ApplyRevision(ctx, h.booking("C0", "A", inventory.New, "R0", "2026-12-01", 1, 2, inventory.MayReject))
	require.NoError(t, err)
	_, err = h.st.DB().Exec(ctx, `UPDATE nights SET sold = sold + 1 WHERE night = '2026-12-01'`)
	require.ErrorContains(t, err, "nights_sold_within_limit")
	// Lowering the limit under what is sold without moving the excess is refused too.
	_, err = h.st.DB().Exec(ctx, `UPDATE nights SET units = 1 WHERE night = '2026-12-01'`)
	require.ErrorContains(t, err, "nights_sold_within_limit")
	// And past-the-limit units cannot be booked while the night still has room.
	_, err = h.st.DB().Exec(ctx, `UPDATE nights SET sold = 1, oversold = 1 WHERE night = '2026-12-01'`)
	require.ErrorContains(t, err, "nights_oversold_only_when_full")
}

func TestOverbookingFactor(t *testing.T) {
	t.Parallel()
	h := newHotel(t, "Europe/Lisbon", []int{10}, inventory.Factor(110), 1)
	ctx := context.Background()
	for i := 0; i < 11; i++ {
		_, err := h.st.ApplyRevision(ctx, h.booking("C0", fmt.Sprint("B", i), inventory.New, "R0", "2026-12-01", 2, 1, inventory.MayReject))
		require.NoError(t, err, "booking %d of 11", i+1)
	}
	_, err := h.st.ApplyRevision(ctx, h.booking("C0", "B11", inventory.New, "R0", "2026-12-01", 2, 1, inventory.MayReject))
	require.Equal(t, inventory.ECONFLICT, inventory.ErrorCode(err), "10 units × 1.10 sells 11, not 12")
	var conflict *inventory.Error
	require.ErrorAs(t, err, &conflict)
	require.Len(t, conflict.Short, 2)
	require.Equal(t, "P0", conflict.Short[0].Pool)

	n := h.nights(t, "2026-12-01", 2)["P0"][inventory.MustDate("2026-12-01")]
	require.Equal(t, inventory.Night{Pool: "P0", Night: inventory.MustDate("2026-12-01"), Units: 10, Factor: 110, Limit: 11, Sold: 11, Available: 0, Version: n.Version}, n)

	// Lowering the factor below what is sold keeps every booking.
	r := inventory.NightRange{Property: h.code, Pool: "P0", From: inventory.MustDate("2026-12-01"), To: inventory.MustDate("2026-12-03")}
	require.NoError(t, h.st.SetFactor(ctx, r, inventory.FactorOne, inventory.Staff("anna")))
	n = h.nights(t, "2026-12-01", 2)["P0"][inventory.MustDate("2026-12-01")]
	require.Equal(t, 10, n.Limit)
	require.Equal(t, 11, n.Sold)
	require.Zero(t, n.Available)
	for i := 0; i < 11; i++ {
		res, err := h.st.Reservation(ctx, h.code, "C0", fmt.Sprint("B", i))
		require.NoError(t, err)
		require.Equal(t, inventory.Confirmed, res.Status)
	}
	inc, err := h.st.Incidents(ctx, h.code, true)
	require.NoError(t, err)
	require.Len(t, inc, 2, "both nights are now past their limit")

	// A cancellation frees a room; the night is exactly full again, not sellable.
	c := h.booking("C0", "B3", inventory.Cancel, "", "2026-12-01", 1, 1, inventory.MustAccept)
	c.Stays = nil
	_, err = h.st.ApplyRevision(ctx, c)
	require.NoError(t, err)
	n = h.nights(t, "2026-12-01", 1)["P0"][inventory.MustDate("2026-12-01")]
	require.Equal(t, 10, n.Sold)
	require.Zero(t, n.Available)
	// Raising the factor back makes one room sellable.
	require.NoError(t, h.st.SetFactor(ctx, r, inventory.Factor(110), inventory.Staff("anna")))
	require.Equal(t, 1, h.nights(t, "2026-12-01", 1)["P0"][inventory.MustDate("2026-12-01")].Available)
}

func TestStopSell(t *testing.T) {
	t.Parallel()
	h := newHotel(t, "Europe/Lisbon", []int{3}, inventory.FactorOne, 2)
	ctx := context.Background()
	r := inventory.NightRange{Property: h.code, Pool: "P0", From: inventory.MustDate("2026-12-02"), To: inventory.MustDate("2026-12-03")}
	require.NoError(t, h.st.SetClosed(ctx, r, true, inventory.Staff("anna")))
	got := h.nights(t, "2026-12-01", 3)["P0"]
	require.Equal(t, 3, got[inventory.MustDate("2026-12-01")].Available)
	require.True(t, got[inventory.MustDate("2026-12-02")].Closed)
	require.Zero(t, got[inventory.MustDate("2026-12-02")].Available)

	_, err := h.st.ApplyRevision(ctx, h.booking("C0", "X", inventory.New, "R0", "2026-12-01", 2, 1, inventory.MayReject))
	require.Equal(t, inventory.ECONFLICT, inventory.ErrorCode(err), "a direct booking cannot take a closed night")

	out, err := h.st.ApplyRevision(ctx, h.booking("C1", "Y", inventory.New, "R0", "2026-12-01", 2, 1, inventory.MustAccept))
	require.NoError(t, err, "a booking the OTA already confirmed is kept")
	require.NotEmpty(t, out.Warnings)
	require.Empty(t, out.Overbooked, "within the limit, a closed night is not overbooked")

	require.NoError(t, h.st.SetClosed(ctx, r, false, inventory.Staff("anna")))
	require.Equal(t, 2, h.nights(t, "2026-12-02", 1)["P0"][inventory.MustDate("2026-12-02")].Available)
}

func TestPropertyLocalNights(t *testing.T) {
	t.Parallel()
	st := newHotel(t, "Pacific/Auckland", []int{4}, inventory.FactorOne, 1).st
	ctx := context.Background()
	akl := &hotel{st: st, code: "H1", pools: []string{"P0"}, channels: []string{"C0"}}
	lax := newHotelIn(t, st, "H2", "America/Los_Angeles", []int{4}, inventory.FactorOne, 1)

	// One instant: 2026-12-31 23:30 UTC is New Year's Day afternoon in
	// Auckland and still New Year's Eve afternoon in Los Angeles.
	checkIn := time.Date(2026, 12, 31, 23, 30, 0, 0, time.UTC)
	checkOut := checkIn.Add(48 * time.Hour)
	for _, h := range []*hotel{akl, lax} {
		p, err := st.Property(ctx, h.code)
		require.NoError(t, err)
		loc, err := p.Location()
		require.NoError(t, err)
		rev := inventory.Revision{Property: h.code, Channel: "C0", ExternalID: "NYE", Kind: inventory.New,
			Stays: []inventory.RoomStay{{RoomType: "R0", Arrival: inventory.LocalDate(checkIn, loc), Departure: inventory.LocalDate(checkOut, loc)}}}
		_, err = st.ApplyRevision(ctx, rev)
		require.NoError(t, err)
	}

	// Whatever zone the database session and the process use.
	_, err := st.DB().Exec(ctx, `SET TIME ZONE 'Pacific/Kiritimati'`)
	require.NoError(t, err)

	sold := func(h *hotel, night string) int {
		return h.nights(t, "2026-12-30", 5)["P0"][inventory.MustDate(night)].Sold
	}
	require.Equal(t, 0, sold(akl, "2026-12-31"))
	require.Equal(t, 1, sold(akl, "2027-01-01"))
	require.Equal(t, 1, sold(akl, "2027-01-02"))
	require.Equal(t, 0, sold(akl, "2027-01-03"))

	require.Equal(t, 1, sold(lax, "2026-12-31"))
	require.Equal(t, 1, sold(lax, "2027-01-01"))
	require.Equal(t, 0, sold(lax, "2027-01-02"))

	res, err := st.Reservation(ctx, "H1", "C0", "NYE")
	require.NoError(t, err)
	require.Equal(t, "2027-01-01", res.Arrival.String())
	require.Equal(t, "2027-01-03", res.Departure.String())
	res, err = st.Reservation(ctx, "H2", "C0", "NYE")
	require.NoError(t, err)
	require.Equal(t, "2026-12-31", res.Arrival.String())
}

func TestSameRevisionTwiceChangesNothing(t *testing.T) {
	t.Parallel()
	h := newHotel(t, "Europe/Lisbon", []int{3}, inventory.FactorOne, 1)
	ctx := context.Background()
	rev := h.booking("C0", "A", inventory.New, "R0", "2026-12-01", 3, 2, inventory.MustAccept)
	rev.Raw = []byte(`<PaymentCard CardNumber="4111111111111111" SeriesCode="123"/>`)
	first, err := h.st.ApplyRevision(ctx, rev)
	require.NoError(t, err)
	require.False(t, first.Duplicate)
	before := h.nights(t, "2026-12-01", 3)
	for i := 0; i < 3; i++ {
		again, err := h.st.ApplyRevision(ctx, rev)
		require.NoError(t, err)
		require.True(t, again.Duplicate)
		again.Duplicate = false
		require.Equal(t, first, again, "the first outcome comes back")
	}
	require.Equal(t, before, h.nights(t, "2026-12-01", 3))
	revs, err := h.st.Revisions(ctx, h.code, first.ReservationID)
	require.NoError(t, err)
	require.Len(t, revs, 1)
	require.NotContains(t, revs[0].Raw, "4111111111111111", "card numbers are masked before storing")
	require.NotContains(t, revs[0].Raw, `"123"`)
}

func TestModifyAndCancelBeforeTheBooking(t *testing.T) {
	t.Parallel()
	h := newHotel(t, "Europe/Lisbon", []int{3, 3}, inventory.FactorOne, 1)
	ctx := context.Background()
	newRev := h.booking("C0", "A", inventory.New, "R0", "2026-12-01", 2, 1, inventory.MustAccept)
	newRev.Version = 1
	mod := h.booking("C0", "A", inventory.Modify, "R1", "2026-12-05", 3, 2, inventory.MustAccept)
	mod.Version = 2
	cancel := inventory.Revision{Property: h.code, Channel: "C0", ExternalID: "A", Kind: inventory.Cancel, Version: 3}
	held := func(what string) {
		t.Helper()
		got := h.nights(t, "2026-12-01", 10)
		require.Zero(t, got["P0"][inventory.MustDate("2026-12-01")].Sold, what+": the booking's first stay is superseded")
		for _, d := range []string{"2026-12-05", "2026-12-06", "2026-12-07"} {
			require.Equal(t, 2, got["P1"][inventory.MustDate(d)].Sold, "%s: the modification's rooms are held on %s", what, d)
		}
		require.Zero(t, got["P1"][inventory.MustDate("2026-12-08")].Sold, what+": the departure day is free")
	}

	// The modification arrives first: the channel has confirmed its stays to
	// a guest, and a modification states the whole booking, so they are held
	// at once — even if the booking itself never arrives.
	out, err := h.st.ApplyRevision(ctx, mod)
	require.NoError(t, err)
	require.Equal(t, inventory.Confirmed, out.Status)
	held("the modification alone")

	// The booking arrives: it is older than the modification and changes
	// nothing.
	out, err = h.st.ApplyRevision(ctx, newRev)
	require.NoError(t, err)
	require.Equal(t, inventory.Confirmed, out.Status)
	held("then the booking")

	// Cancel, then the old modification once more: still cancelled.
	_, err = h.st.ApplyRevision(ctx, cancel)
	require.NoError(t, err)
	out, err = h.st.ApplyRevision(ctx, mod)
	require.NoError(t, err)
	require.True(t, out.Duplicate)
	res, err := h.st.Reservation(ctx, h.code, "C0", "A")
	require.NoError(t, err)
	require.Equal(t, inventory.Cancelled, res.Status)
	for _, pool := range h.nights(t, "2026-12-01", 10) {
		for _, n := range pool {
			require.Zero(t, n.Sold, "a cancelled booking frees its nights (%s)", n.Night)
		}
	}

	// A cancellation that arrives before its booking: the reservation is
	// pending and holds nothing; the booking, when it comes, stays cancelled.
	cancelB := inventory.Revision{Property: h.code, Channel: "C0", ExternalID: "B", Kind: inventory.Cancel, Version: 2}
	out, err = h.st.ApplyRevision(ctx, cancelB)
	require.NoError(t, err)
	require.Equal(t, inventory.Pending, out.Status)
	newB := h.booking("C0", "B", inventory.New, "R0", "2026-12-01", 2, 1, inventory.MustAccept)
	newB.Version = 1
	out, err = h.st.ApplyRevision(ctx, newB)
	require.NoError(t, err)
	require.Equal(t, inventory.Cancelled, out.Status)
	for _, pool := range h.nights(t, "2026-12-01", 10) {
		for _, n := range pool {
			require.Zero(t, n.Sold, "a booking cancelled before it came holds nothing (%s)", n.Night)
		}
	}
}

func TestUnmappedBookingIsKeptAndRaised(t *testing.T) {
	t.Parallel()
	h := newHotel(t, "Europe/Lisbon", []int{3}, inventory.FactorOne, 1)
	ctx := context.Background()
	rev := h.booking("C0", "U1", inventory.New, "", "2026-12-01", 2, 1, inventory.MustAccept)
	rev.Stays[0].ChannelRoom = "KING-SUITE"
	out, err := h.st.ApplyRevision(ctx, rev)
	require.NoError(t, err)
	require.True(t, out.Parked)
	res, err := h.st.Reservation(ctx, h.code, "C0", "U1")
	require.NoError(t, err)
	require.True(t, res.Parked)
	require.Equal(t, inventory.Confirmed, res.Status)
	inc, err := h.st.Incidents(ctx, h.code, true)
	require.NoError(t, err)
	require.Len(t, inc, 1)
	require.Equal(t, "unmapped_booking", inc[0].Kind)
	require.Contains(t, inc[0].Message, "KING-SUITE")
}

func TestEveryChangeWritesAuditAndOutbox(t *testing.T) {
	t.Parallel()
	h := newHotel(t, "Europe/Lisbon", []int{3, 3}, inventory.FactorOne, 2)
	ctx := context.Background()
	out, err := h.st.ApplyRevision(ctx, h.booking("C1", "A", inventory.New, "R0", "2026-12-01", 3, 1, inventory.MustAccept))
	require.NoError(t, err)
	r := inventory.NightRange{Property: h.code, Pool: "P1", From: inventory.MustDate("2026-12-10"), To: inventory.MustDate("2026-12-12")}
	require.NoError(t, h.st.SetClosed(ctx, r, true, inventory.Staff("anna")))

	type row struct {
		Topic        string
		From, To     *inventory.Date
		Origin, Bulk string
	}
	rows, err := h.st.DB().Query(ctx, `SELECT o.topic, o.from_night, o.to_night, coalesce(c.code, ''), o.bulk::text
		FROM outbox o LEFT JOIN channels c ON c.property_id = o.property_id AND c.id = o.origin_channel_id ORDER BY o.id`)
	require.NoError(t, err)
	var got []row
	for rows.Next() {
		var x row
		require.NoError(t, rows.Scan(&x.Topic, &x.From, &x.To, &x.Origin, &x.Bulk))
		got = append(got, x)
	}
	require.NoError(t, rows.Err())
	d := func(s string) *inventory.Date { v := inventory.MustDate(s); return &v }
	require.Equal(t, []row{
		{Topic: "availability", From: d("2026-12-01"), To: d("2026-12-04"), Origin: "C1", Bulk: "false"},
		{Topic: "reservation", Origin: "C1", Bulk: "false"},
		{Topic: "availability", From: d("2026-12-10"), To: d("2026-12-12"), Bulk: "true"},
	}, got)

	entries, err := h.st.Audit(ctx, h.code, "", 10)
	require.NoError(t, err)
	require.Equal(t, "nights.close", entries[0].Action)
	require.Equal(t, "staff:anna", entries[0].Actor)
	require.Equal(t, "reservation.new", entries[1].Action)
	require.Equal(t, "channel:C1", entries[1].Actor)
	require.Equal(t, fmt.Sprintf("reservation %d", out.ReservationID), entries[1].Subject)
}

func TestBadRevisionsAreRefusedAndChangeNothing(t *testing.T) {
	t.Parallel()
	h := newHotel(t, "Europe/Lisbon", []int{3}, inventory.FactorOne, 1)
	ctx := context.Background()
	bad := []func(r *inventory.Revision){
		func(r *inventory.Revision) { r.ExternalID = "" },
		func(r *inventory.Revision) { r.Kind = "book" },
		func(r *inventory.Revision) { r.Stays = nil },
		func(r *inventory.Revision) { r.Stays[0].Departure = r.Stays[0].Arrival },
		func(r *inventory.Revision) { r.Stays[0].Rooms = -1 },
		func(r *inventory.Revision) { r.Total = "12,50" },
		func(r *inventory.Revision) { r.Currency = "euro" },
		func(r *inventory.Revision) { r.Channel = "nope" },
		func(r *inventory.Revision) { r.Property = "nope" },
	}
	for i, f := range bad {
		rev := h.booking("C0", "A", inventory.New, "R0", "2026-12-01", 2, 1, inventory.MustAccept)
		f(&rev)
		_, err := h.st.ApplyRevision(ctx, rev)
		require.Error(t, err, "case %d", i)
		require.Contains(t, []string{inventory.EINVALID, inventory.ENOTFOUND}, inventory.ErrorCode(err), "case %d: %v", i, err)
	}
	var n int
	require.NoError(t, h.st.DB().QueryRow(ctx, `SELECT (SELECT count(*) FROM reservations) + (SELECT count(*) FROM nights)`).Scan(&n))
	require.Zero(t, n)
}

// Bookings, modifications that move stays between pools in both directions,
// cancellations and staff edits all at once: every one must succeed (no
// deadlock), and the pool must end equal to the sum of what the surviving
// reservations hold.
func TestConcurrentMixedChangesNeitherDeadlockNorDrift(t *testing.T) {
	t.Parallel()
	h := newHotel(t, "Europe/Lisbon", []int{6, 6, 6}, inventory.FactorOne, 4)
	ctx := context.Background()
	first := inventory.MustDate("2026-12-01")
	var wg gosync.WaitGroup
	for g := 0; g < 32; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ch := h.channels[g%4]
			id := fmt.Sprint("M", g)
			// Forward and backward pool order, overlapping nights.
			a, b := g%3, (g+1)%3
			if g%2 == 1 {
				a, b = b, a
			}
			steps := []inventory.Revision{
				{Kind: inventory.New, Version: 1, Stays: []inventory.RoomStay{
					{RoomType: h.rooms[a], Arrival: first.AddDays(g % 5), Departure: first.AddDays(g%5 + 4)},
					{RoomType: h.rooms[b], Arrival: first.AddDays(g % 3), Departure: first.AddDays(g%3 + 2)}}},
				{Kind: inventory.Modify, Version: 2, Stays: []inventory.RoomStay{
					{RoomType: h.rooms[b], Arrival: first.AddDays(g % 4), Departure: first.AddDays(g%4 + 5), Rooms: 2}}},
			}
			if g%3 == 0 {
				steps = append(steps, inventory.Revision{Kind: inventory.Cancel, Version: 3})
			}
			for _, rev := range steps {
				rev.Property, rev.Channel, rev.ExternalID = h.code, ch, id
				if _, err := h.st.ApplyRevision(ctx, rev); err != nil {
					t.Errorf("%s %s: %v", id, rev.Kind, err)
				}
			}
			if g%4 == 0 {
				r := inventory.NightRange{Property: h.code, Pool: h.pools[g%3], From: first, To: first.AddDays(10)}
				if err := h.st.SetUnits(ctx, r, 5+g%3, inventory.Staff("anna")); err != nil {
					t.Errorf("set units: %v", err)
				}
			}
		}()
	}
	wg.Wait()

	want := map[string]map[inventory.Date]int{}
	for g := 0; g < 32; g++ {
		res, err := h.st.Reservation(ctx, h.code, h.channels[g%4], fmt.Sprint("M", g))
		require.NoError(t, err)
		if g%3 == 0 {
			require.Equal(t, inventory.Cancelled, res.Status)
			continue
		}
		require.Equal(t, inventory.Confirmed, res.Status)
		for _, st := range res.Stays {
			pool := h.pools[slices.Index(h.rooms, st.RoomType)]
			if want[pool] == nil {
				want[pool] = map[inventory.Date]int{}
			}
			for _, d := range inventory.Nights(st.Arrival, st.Departure) {
				want[pool][d] += st.Rooms
			}
		}
	}
	got := h.nights(t, "2026-12-01", 12)
	for _, pool := range h.pools {
		for d, n := range got[pool] {
			require.Equal(t, want[pool][d], n.Sold, "%s %s", pool, d)
		}
	}
}

func TestMigrateReachesTheNewestSchema(t *testing.T) {
	t.Parallel()
	h := newHotel(t, "Europe/Lisbon", nil, inventory.FactorOne, 0)
	v, err := h.st.SchemaVersion(context.Background())
	require.NoError(t, err)
	require.Equal(t, inventory.LatestSchemaVersion(), v)
	require.Positive(t, v)
	require.NoError(t, h.st.Migrate(context.Background()), "migrating again changes nothing")
}

// ApplyRevision fills in a revision's defaults on its own copy: the caller's
// stays are not written to, so the same revision can be applied from
// several goroutines at once (as TestConcurrentDuplicateDeliveriesApplyOnce
// does; go test -race caught the writes) and reads back as it was sent.
func TestApplyRevisionLeavesTheCallersRevisionAlone(t *testing.T) {
	t.Parallel()
	h := newHotel(t, "Europe/Lisbon", []int{5}, inventory.FactorOne, 1)
	rev := h.booking("C0", "AS-SENT", inventory.New, "R0", "2026-12-01", 2, 0, inventory.MustAccept)
	rev.Stays[0].ChannelRoom = "DBL\x00"
	sent := slices.Clone(rev.Stays)
	_, err := h.st.ApplyRevision(context.Background(), rev)
	require.NoError(t, err)
	require.Equal(t, sent, rev.Stays, "the caller's stays are as it sent them")
	got, err := h.st.Reservation(context.Background(), h.code, "C0", "AS-SENT")
	require.NoError(t, err)
	require.Equal(t, 1, got.Stays[0].Rooms, "no room count means one room")
	require.Equal(t, "DBL\uFFFD", got.Stays[0].ChannelRoom, "a NUL byte is stored as U+FFFD")
}

// The same booking delivered by 16 goroutines at once, and its modification
// delivered concurrently before and after it: one reservation, each revision
// kept once, and the pool holding exactly the modified stay.
func TestConcurrentDuplicateDeliveriesApplyOnce(t *testing.T) {
	t.Parallel()
	h := newHotel(t, "Europe/Lisbon", []int{5, 5}, inventory.FactorOne, 1)
	ctx := context.Background()
	newRev := h.booking("C0", "DUP", inventory.New, "R0", "2026-12-01", 3, 2, inventory.MustAccept)
	newRev.Version = 1
	mod := h.booking("C0", "DUP", inventory.Modify, "R1", "2026-12-02", 2, 1, inventory.MustAccept)
	mod.Version = 2
	var wg gosync.WaitGroup
	var dups atomic.Int32
	for g := 0; g < 32; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rev := newRev
			if g%2 == 1 {
				rev = mod
			}
			out, err := h.st.ApplyRevision(ctx, rev)
			if err != nil {
				t.Errorf("delivery %d: %v", g, err)
				return
			}
			if out.Duplicate {
				dups.Add(1)
			}
		}()
	}
	wg.Wait()
	require.Equal(t, int32(30), dups.Load(), "all but the first delivery of each revision are duplicates")
	res, err := h.st.Reservation(ctx, h.code, "C0", "DUP")
	require.NoError(t, err)
	require.Equal(t, inventory.Confirmed, res.Status)
	require.Equal(t, 2, res.Revisions)
	got := h.nights(t, "2026-12-01", 5)
	for _, n := range got["P0"] {
		require.Zero(t, n.Sold, "the modification moved the stay off P0 (%s)", n.Night)
	}
	require.Equal(t, 1, got["P1"][inventory.MustDate("2026-12-02")].Sold)
	require.Equal(t, 1, got["P1"][inventory.MustDate("2026-12-03")].Sold)
	require.Zero(t, got["P1"][inventory.MustDate("2026-12-04")].Sold)
}

// QueueGenericPlan's setting holds for its statement only, in a batch's
// implicit transaction as in an explicit one, and PostgreSQL warns of
// nothing (its log would get a line for every delivery).
func TestQueueGenericPlanSetsThePlanModeForItsStatementOnly(t *testing.T) {
	t.Parallel()
	st := inventorytest.New(t)
	ctx := context.Background()
	cfg := st.DB().Config().ConnConfig.Copy()
	var notices []string
	cfg.OnNotice = func(_ *pgconn.PgConn, n *pgconn.Notice) { notices = append(notices, n.Severity+": "+n.Message) }
	conn, err := pgx.ConnectConfig(ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close(context.Background()) })
	for _, explicit := range []bool{false, true} {
		var before, during, after string
		b := &pgx.Batch{}
		if explicit {
			b.Queue("BEGIN")
		}
		b.Queue("SELECT current_setting('plan_cache_mode')").QueryRow(func(r pgx.Row) error { return r.Scan(&before) })
		inventory.QueueGenericPlan(b, "SELECT current_setting('plan_cache_mode')").QueryRow(func(r pgx.Row) error { return r.Scan(&during) })
		b.Queue("SELECT current_setting('plan_cache_mode')").QueryRow(func(r pgx.Row) error { return r.Scan(&after) })
		if explicit {
			b.Queue("COMMIT")
		}
		require.NoError(t, conn.SendBatch(ctx, b).Close())
		require.Equal(t, []string{"auto", "force_generic_plan", "auto"}, []string{before, during, after}, "explicit transaction: %v", explicit)
		require.Empty(t, notices, "explicit transaction: %v", explicit)
	}
}

// A change without a timestamp — an OTA_CancelRQ carries none, nor do some
// channels' modifications — follows the booking it changes when that booking
// is dated (by its CreateDateTime, as most OTAs send it), whichever arrives
// first. Taken for older than the booking, a cancellation changed nothing,
// and the channel was told it was cancelled.
func TestAChangeWithoutATimestampFollowsItsDatedBooking(t *testing.T) {
	t.Parallel()
	h := newHotel(t, "Europe/Lisbon", []int{3, 3}, inventory.FactorOne, 1)
	ctx := context.Background()
	created := time.Date(2026, 11, 20, 17, 29, 3, 0, time.UTC)
	dated := func(id string) inventory.Revision {
		rev := h.booking("C0", id, inventory.New, "R0", "2026-12-01", 2, 1, inventory.MustAccept)
		rev.SentAt = created
		return rev
	}
	cancel := func(id string) inventory.Revision {
		return inventory.Revision{Property: h.code, Channel: "C0", ExternalID: id, Kind: inventory.Cancel}
	}
	apply := func(rev inventory.Revision) inventory.Outcome {
		t.Helper()
		out, err := h.st.ApplyRevision(ctx, rev)
		require.NoError(t, err)
		return out
	}
	sold := func(pool, night string) int {
		t.Helper()
		return h.nights(t, "2026-12-01", 10)[pool][inventory.MustDate(night)].Sold
	}

	// The booking, then its cancellation: cancelled, the nights freed.
	apply(dated("A"))
	require.Equal(t, 1, sold("P0", "2026-12-01"))
	require.Equal(t, inventory.Cancelled, apply(cancel("A")).Status)
	require.Zero(t, sold("P0", "2026-12-01"))

	// The cancellation first: pending; the booking then: still cancelled.
	require.Equal(t, inventory.Pending, apply(cancel("B")).Status)
	require.Equal(t, inventory.Cancelled, apply(dated("B")).Status)
	require.Zero(t, sold("P0", "2026-12-01"))

	// The booking, then a modification without a timestamp: the stay moves.
	apply(dated("C"))
	mod := h.booking("C0", "C", inventory.Modify, "R1", "2026-12-05", 2, 1, inventory.MustAccept)
	require.Equal(t, inventory.Confirmed, apply(mod).Status)
	require.Zero(t, sold("P0", "2026-12-01"), "the booking's first stay is superseded")
	require.Equal(t, 1, sold("P1", "2026-12-05"))

	// A dated modification after an undated cancellation reinstates the
	// booking when it was made after the one the cancellation followed.
	later := h.booking("C0", "A", inventory.Modify, "R0", "2026-12-03", 1, 1, inventory.MustAccept)
	later.SentAt = created.Add(time.Hour)
	require.Equal(t, inventory.Confirmed, apply(later).Status)
	require.Equal(t, 1, sold("P0", "2026-12-03"))
}

// A change of the pool's units or factor reaches every night from today on,
// booked ones too — a night's row, made when it is first booked, kept the
// pool's values of that day, so a pool cut from 10 rooms to 6 went on
// selling 10 on its busy nights — except where staff set the night's own.
// A night left with more sold than its new limit keeps every booking and
// raises an overbooking incident.
func TestAPoolsNewUnitsReachItsBookedNights(t *testing.T) {
	t.Parallel()
	h := newHotel(t, "Europe/Lisbon", []int{10}, inventory.FactorOne, 1)
	ctx := context.Background()
	day := inventory.Today(time.UTC).AddDays(10)
	at := func(d int) string { return day.AddDays(d).String() }
	far := day.AddDays(inventory.MaxRangeNights + 30) // booked beyond the range a pool change locks
	apply := func(rev inventory.Revision) {
		t.Helper()
		_, err := h.st.ApplyRevision(ctx, rev)
		require.NoError(t, err)
	}
	apply(h.booking("C0", "B1", inventory.New, "R0", at(0), 1, 1, inventory.MayReject)) // booked
	apply(h.booking("C0", "B2", inventory.New, "R0", at(1), 1, 1, inventory.MayReject)) // booked, then cancelled
	apply(inventory.Revision{Property: h.code, Channel: "C0", ExternalID: "B2", Kind: inventory.Cancel, Mode: inventory.MayReject})
	apply(h.booking("C0", "B3", inventory.New, "R0", at(3), 1, 8, inventory.MayReject)) // 8 of the 10
	apply(h.booking("C0", "B4", inventory.New, "R0", far.String(), 1, 1, inventory.MayReject))
	// Staff give the fifth night 9 rooms of its own.
	nine := 9
	require.NoError(t, h.st.EditNights(ctx, inventory.NightRange{Property: h.code, Pool: "P0", From: day.AddDays(4), To: day.AddDays(5)},
		inventory.NightEdit{Units: &nine}, inventory.Staff("anna")))

	six := 6
	_, err := h.st.UpdatePool(ctx, h.code, "P0", inventory.PoolPatch{Units: &six}, inventory.Staff("anna"))
	require.NoError(t, err)
	n := h.nights(t, at(0), 5)["P0"]
	for i, want := range []int{6, 6, 6, 6, 9} {
		require.Equal(t, want, n[day.AddDays(i)].Units, "night %d", i)
	}
	require.Equal(t, 5, n[day].Available, "6 rooms, 1 sold")
	require.Equal(t, 6, h.nights(t, far.String(), 1)["P0"][far].Units, "a night booked far ahead")
	require.Zero(t, n[day.AddDays(3)].Available)
	require.Equal(t, 8, n[day.AddDays(3)].Sold, "every booking is kept")
	inc, err := h.st.Incidents(ctx, h.code, true)
	require.NoError(t, err)
	require.Len(t, inc, 1, "the night with 8 sold of 6 rooms is overbooked")
	require.Equal(t, day.AddDays(3), *inc[0].Night)
	require.Equal(t, 2, inc[0].Excess)
	_, err = h.st.ApplyRevision(ctx, h.booking("C0", "B5", inventory.New, "R0", at(0), 1, 6, inventory.MayReject))
	require.Equal(t, inventory.ECONFLICT, inventory.ErrorCode(err), "6 rooms, 1 sold: 6 more do not fit")

	// The factor likewise, and back up: the night's own units stay.
	f := inventory.Factor(150)
	_, err = h.st.UpdatePool(ctx, h.code, "P0", inventory.PoolPatch{OverbookingFactor: &f}, inventory.Staff("anna"))
	require.NoError(t, err)
	n = h.nights(t, at(0), 5)["P0"]
	require.Equal(t, 9, n[day.AddDays(3)].Limit, "6 × 1.50")
	require.Equal(t, 1, n[day.AddDays(3)].Available, "the 8 rooms sold fit again")
	require.Equal(t, 13, n[day.AddDays(4)].Limit, "its own 9 × the pool's 1.50")
}

// keyrack's connections ask the server to notice within half a minute a
// client host that died or was cut off (its sessions' locks then go free),
// not after PostgreSQL's default two hours.
func TestTheServerNoticesAVanishedKeyrackWithinHalfAMinute(t *testing.T) {
	t.Parallel()
	st := inventorytest.New(t)
	var idle, interval, count string
	require.NoError(t, st.DB().QueryRow(context.Background(),
		`SELECT current_setting('tcp_keepalives_idle'), current_setting('tcp_keepalives_interval'), current_setting('tcp_keepalives_count')`).
		Scan(&idle, &interval, &count))
	if idle == "0" && interval == "0" {
		t.Skip("connected over a Unix socket: keepalives do not apply")
	}
	require.Equal(t, []string{"10", "5", "3"}, []string{idle, interval, count}, "seconds")
}

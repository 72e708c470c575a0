package inventory_test

import (
	"context"
	"fmt"
	gosync "sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/keyrack/keyrack/inventory"
	"github.com/keyrack/keyrack/inventory/inventorytest"
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

// The group's statements keep properties apart by themselves: given
// revisions of two properties (the batcher forms no such group, see
// TestConcurrentBookingsOfManyPropertiesNeverOversell, but nothing relies on
// it), each is applied to its own property's pools, reservations, audit and
// outbox, as if alone.
func TestAGroupKeepsEachPropertysRowsApart(t *testing.T) {
	t.Parallel()
	st := inventorytest.New(t)
	ctx := context.Background()
	// The same pool, room, channel and reservation codes in both.
	h1 := newHotelIn(t, st, "H1", "Europe/Lisbon", []int{1}, inventory.FactorOne, 2)
	h2 := newHotelIn(t, st, "H2", "America/New_York", []int{5}, inventory.FactorOne, 1)
	revs := []inventory.Revision{
		h1.booking("C0", "X1", inventory.New, "R0", "2026-12-01", 2, 1, inventory.MayReject),
		h2.booking("C0", "X1", inventory.New, "R0", "2026-12-01", 2, 1, inventory.MayReject),
		h1.booking("C1", "X2", inventory.New, "R0", "2026-12-01", 1, 1, inventory.MayReject), // H1 has one room: short
		h2.booking("C0", "X2", inventory.New, "R0", "2026-12-01", 3, 2, inventory.MayReject),
		h2.booking("C1", "X3", inventory.New, "R0", "2026-12-01", 1, 1, inventory.MayReject), // H2 has no C1
		{Property: "NOPE", Channel: "C0", ExternalID: "X1", Kind: inventory.New, Mode: inventory.MustAccept,
			Stays: []inventory.RoomStay{{RoomType: "R0", Arrival: inventory.MustDate("2026-12-01"), Departure: inventory.MustDate("2026-12-02"), Rooms: 1}}},
		h2.booking("C0", "X4", inventory.New, "R9", "2026-12-01", 1, 1, inventory.MustAccept), // not mapped in H2: parked
	}
	outs, errs := st.ApplyTogether(revs, nil)
	for _, i := range []int{0, 1, 3} {
		require.NoError(t, errs[i], "revision %d", i)
		require.Equal(t, inventory.Confirmed, outs[i].Status, "revision %d", i)
	}
	require.Equal(t, inventory.ECONFLICT, inventory.ErrorCode(errs[2]), "H1's last room is taken: %v", errs[2])
	require.Equal(t, inventory.ENOTFOUND, inventory.ErrorCode(errs[4]), "%v", errs[4])
	require.ErrorContains(t, errs[4], "channel C1 does not exist in property H2")
	require.Equal(t, inventory.ENOTFOUND, inventory.ErrorCode(errs[5]), "%v", errs[5])
	require.ErrorContains(t, errs[5], "property NOPE does not exist")
	require.NoError(t, errs[6])
	require.True(t, outs[6].Parked)
	require.NotEqual(t, outs[0].ReservationID, outs[1].ReservationID, "X1 of H1 and X1 of H2 are two reservations")
	var txs int
	require.NoError(t, st.DB().QueryRow(ctx, `SELECT count(DISTINCT xmin::text) FROM reservations`).Scan(&txs))
	require.Equal(t, 1, txs, "one transaction wrote the bookings of both properties (not the one-by-one fallback)")

	for _, c := range []struct {
		h    *hotel
		sold map[string]int
	}{{h1, map[string]int{"2026-12-01": 1, "2026-12-02": 1}}, {h2, map[string]int{"2026-12-01": 3, "2026-12-02": 3, "2026-12-03": 2}}} {
		got := c.h.nights(t, "2026-12-01", 3)["P0"]
		for d, n := range got {
			require.Equal(t, c.sold[d.String()], n.Sold, "%s %s", c.h.code, d)
		}
	}
	_, err := st.Reservation(ctx, "H1", "C1", "X2")
	require.Equal(t, inventory.ENOTFOUND, inventory.ErrorCode(err), "the rejected booking left nothing: %v", err)
	res, err := st.Reservation(ctx, "H2", "C0", "X2")
	require.NoError(t, err)
	require.Equal(t, 2, res.Stays[0].Rooms)

	rows, err := st.DB().Query(ctx, `
		SELECT p.code, (SELECT count(*) FROM audit_log a WHERE a.property_id = p.id AND a.action = 'reservation.new'),
			(SELECT count(*) FROM outbox o WHERE o.property_id = p.id AND o.topic = 'reservation'),
			(SELECT count(*) FROM outbox o WHERE o.property_id = p.id AND o.topic = 'availability'),
			(SELECT count(*) FROM incidents i WHERE i.property_id = p.id AND i.kind = 'unmapped_booking')
		FROM properties p ORDER BY p.code`)
	require.NoError(t, err)
	type counts struct {
		Code                                 string
		Audits, Reservations, Ranges, Parked int
	}
	got, err := pgx.CollectRows(rows, pgx.RowToStructByPos[counts])
	require.NoError(t, err)
	require.Equal(t, []counts{{"H1", 1, 1, 1, 0}, {"H2", 3, 3, 2, 1}}, got,
		"every property gets its own bookings' audit entries, outbox rows and incidents")
}

// Concurrent bookings of several properties share transactions, no
// transaction touches two properties (so the schema can be distributed by
// property), and no property sells past its limit.
func TestConcurrentBookingsOfManyPropertiesNeverOversell(t *testing.T) {
	t.Parallel()
	st := inventorytest.New(t)
	ctx := context.Background()
	const props, rooms = 4, 6
	var hs []*hotel
	for i := range props {
		hs = append(hs, newHotelIn(t, st, fmt.Sprint("H", i), "Europe/Lisbon", []int{rooms}, inventory.FactorOne, 2))
	}
	var wg gosync.WaitGroup
	start := make(chan struct{})
	for g := range 96 {
		wg.Go(func() {
			<-start
			h := hs[g%props]
			// 24 bookings per property of 1–3 nights, all on 2026-12-03.
			arrival := inventory.MustDate("2026-12-01").AddDays(g % 3)
			rev := h.booking(h.channels[g%2], fmt.Sprint("S", g), inventory.New, "R0", arrival.String(), 3-g%3, 1, inventory.MayReject)
			if _, err := st.ApplyRevision(ctx, rev); err != nil && inventory.ErrorCode(err) != inventory.ECONFLICT {
				t.Errorf("booking %d: %v", g, err)
			}
		})
	}
	close(start)
	wg.Wait()
	for _, h := range hs {
		held := map[inventory.Date]int{}
		rows, err := st.DB().Query(ctx, `SELECT r.arrival, r.departure FROM reservations r JOIN properties p ON p.id = r.property_id
			WHERE p.code = $1 AND r.status = 'confirmed'`, h.code)
		require.NoError(t, err)
		var a, d inventory.Date
		_, err = pgx.ForEachRow(rows, []any{&a, &d}, func() error {
			for _, n := range inventory.Nights(a, d) {
				held[n]++
			}
			return nil
		})
		require.NoError(t, err)
		require.Equal(t, rooms, held[inventory.MustDate("2026-12-03")], "%s: every room of the shared night is sold", h.code)
		for d, n := range h.nights(t, "2026-12-01", 3)["P0"] {
			require.LessOrEqual(t, n.Sold, rooms, "%s %s", h.code, d)
			require.Equal(t, held[d], n.Sold, "%s %s: sold matches the reservations holding it", h.code, d)
		}
	}
	// Each reservation row was written by its group's transaction (xmin):
	// one property's each, and some wrote several bookings.
	var most, bookings int
	require.NoError(t, st.DB().QueryRow(ctx, `SELECT max(p), max(n) FROM (
		SELECT count(DISTINCT property_id) AS p, count(*) AS n FROM reservations GROUP BY xmin::text) t`).Scan(&most, &bookings))
	require.Equal(t, 1, most, "a transaction wrote bookings of two properties")
	require.Greater(t, bookings, 1, "groups took several bookings")
}

// A change is dated when keyrack got it, not when its group ran: under load a
// revision waits for the groups ahead of it, and a delivery that lands on
// the channel meanwhile lands after the channel sold — the fan-out must
// not count on the channel's own count then (outbox.origin_at).
func TestAChangeIsDatedWhenItArrivedNotWhenItsGroupRan(t *testing.T) {
	t.Parallel()
	h := newHotel(t, "Europe/Lisbon", []int{5}, inventory.FactorOne, 1)
	h.st.SetGroupCommit(32, 1) // one group at a time
	ctx := context.Background()
	// Holding the property's row keeps the first group from creating its
	// reservation (the foreign key's share lock waits); the second booking
	// waits for that group.
	tx, err := h.st.DB().Begin(ctx)
	require.NoError(t, err)
	defer tx.Rollback(ctx)
	_, err = tx.Exec(ctx, `SELECT 1 FROM properties WHERE code = $1 FOR UPDATE`, h.code)
	require.NoError(t, err)
	var wg gosync.WaitGroup
	book := func(id string) {
		wg.Go(func() {
			if _, err := h.st.ApplyRevision(ctx, h.booking("C0", id, inventory.New, "R0", "2026-12-01", 1, 1, inventory.MustAccept)); err != nil {
				t.Errorf("%s: %v", id, err) // not FailNow: this is not the test's goroutine
			}
		})
	}
	book("FIRST")
	time.Sleep(300 * time.Millisecond)
	sent := time.Now()
	book("SECOND")
	time.Sleep(time.Second)
	require.NoError(t, tx.Rollback(ctx))
	wg.Wait()
	var dated, written time.Time
	// The second booking's change: the newer availability row.
	require.NoError(t, h.st.DB().QueryRow(ctx, `SELECT coalesce(origin_at, created_at), created_at FROM outbox
		WHERE topic = 'availability' ORDER BY id DESC LIMIT 1`).Scan(&dated, &written))
	require.Greater(t, written.Sub(sent), 900*time.Millisecond, "the second booking's group ran after the first's")
	require.Less(t, dated.Sub(sent).Abs(), 200*time.Millisecond, "dated %s, sent %s", dated, sent)
}

// A new reservation is created in the group's first round trip and written
// again once the group knows what it holds. Created with the dates its
// revision gives it, that second write changes no indexed column, so
// PostgreSQL keeps it on the row's page without new index entries (a HOT
// update): a booking's reservation then costs one set of index entries, not
// two, and leaves no dead index entries for vacuum.
func TestANewReservationsSecondWriteTouchesNoIndex(t *testing.T) {
	t.Parallel()
	h := newHotel(t, "UTC", []int{50}, inventory.FactorOne, 1)
	ctx := context.Background()
	const n = 20
	for i := range n {
		_, err := h.st.ApplyRevision(ctx, h.booking("C0", fmt.Sprint("H", i), inventory.New, "R0", "2026-12-01", 1+i%3, 1, inventory.MustAccept))
		require.NoError(t, err)
	}
	db := h.st.DB()
	// Backends report their counts when idle, within seconds.
	var updates, hot int64
	deadline := time.Now().Add(20 * time.Second)
	for {
		require.NoError(t, db.QueryRow(ctx, `SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables
			WHERE schemaname = current_schema() AND relname = 'reservations'`).Scan(&updates, &hot))
		if updates >= n || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	require.GreaterOrEqual(t, updates, int64(n), "every new reservation is written twice")
	require.GreaterOrEqual(t, hot, updates*9/10, "the second write keeps the indexes (HOT): %d of %d", hot, updates)
}

// OnCommit names the revisions a group committed, not those it rejected,
// and when it committed: after the group began, before its callers heard.
func TestOnCommitNamesWhatAGroupCommittedAndWhen(t *testing.T) {
	t.Parallel()
	h := newHotel(t, "Europe/Lisbon", []int{3}, inventory.FactorOne, 1)
	type commit struct {
		ids []string
		at  time.Time
	}
	var commits []commit
	h.st.OnCommit(func(revs []inventory.Revision, at time.Time) {
		var ids []string
		for _, r := range revs {
			ids = append(ids, r.ExternalID)
		}
		commits = append(commits, commit{ids, at})
	})
	var revs []inventory.Revision
	for i := range 5 {
		revs = append(revs, h.booking("C0", fmt.Sprint("D", i), inventory.New, "R0", "2026-12-01", 3, 1, inventory.MayReject))
	}
	before := time.Now()
	_, errs := h.st.ApplyTogether(revs, nil)
	after := time.Now()
	var accepted []string
	for i, err := range errs {
		if err == nil {
			accepted = append(accepted, revs[i].ExternalID)
		}
	}
	require.Len(t, accepted, 3)
	require.Len(t, commits, 1, "one group, one transaction")
	require.ElementsMatch(t, accepted, commits[0].ids)
	require.True(t, commits[0].at.After(before) && !commits[0].at.After(after))
}

package inventory_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/keyrack/keyrack/inventory"
	"github.com/keyrack/keyrack/inventory/inventorytest"
	"github.com/stretchr/testify/require"
)

// A night is sold until the property's NightSoldUntil the next morning:
// until then it is tonight.
func TestTonightIsLastNightUntilItsSaleEnds(t *testing.T) {
	t.Parallel()
	lisbon, err := time.LoadLocation("Europe/Lisbon")
	require.NoError(t, err)
	at := func(s string) time.Time {
		v, err := time.ParseInLocation("2006-01-02 15:04", s, lisbon)
		require.NoError(t, err)
		return v
	}
	for _, c := range []struct {
		at        string
		soldUntil time.Duration
		want      string
	}{
		{"2026-07-10 23:59", 0, "2026-07-10"},
		{"2026-07-11 00:00", 0, "2026-07-11"},
		{"2026-07-11 05:59", 6 * time.Hour, "2026-07-10"},
		{"2026-07-11 06:00", 6 * time.Hour, "2026-07-11"},
		{"2026-07-11 11:59", inventory.MaxNightSoldUntil, "2026-07-10"},
		{"2026-07-11 02:29", 2*time.Hour + 30*time.Minute, "2026-07-10"},
		{"2026-07-11 02:30", 2*time.Hour + 30*time.Minute, "2026-07-11"},
		// The clocks go forward at 01:00 on 29 March: the wall clock
		// counts, as the hotel's staff read it.
		{"2026-03-29 02:30", 2 * time.Hour, "2026-03-29"},
		{"2026-03-29 00:59", time.Hour, "2026-03-28"},
		// and back at 02:00 on 25 October (01:30 comes twice).
		{"2026-10-25 01:30", 2 * time.Hour, "2026-10-24"},
	} {
		got := inventory.Tonight(at(c.at), lisbon, c.soldUntil)
		require.Equal(t, c.want, got.String(), "at %s sold until %s", c.at, inventory.Clock(c.soldUntil))
	}
}

// The fan-out takes tonight from PostgreSQL (TonightSQL), the pages and
// the iCal export from Go: both must name the same night, in every zone
// and on the days the clocks change.
func TestTonightInTheDatabaseIsTonightInGo(t *testing.T) {
	t.Parallel()
	st := inventorytest.New(t)
	ctx := context.Background()
	sql := `SELECT ` + strings.ReplaceAll(inventory.TonightSQL, "now()", "$3::timestamptz") +
		` FROM (VALUES ($1::text, $2::smallint)) AS p (time_zone, night_sold_until_minutes)`
	instants := []time.Time{time.Now()}
	for _, s := range []string{"2026-03-29T00:30:00Z", "2026-03-29T01:30:00Z", "2026-10-25T00:30:00Z", "2026-10-25T01:30:00Z",
		"2026-03-08T07:30:00Z", "2026-11-01T06:30:00Z", "2026-12-31T23:30:00Z"} {
		v, err := time.Parse(time.RFC3339, s)
		require.NoError(t, err)
		instants = append(instants, v)
	}
	for _, zone := range []string{"Europe/Lisbon", "America/New_York", "Pacific/Kiritimati", "Pacific/Pago_Pago", "Asia/Kathmandu", "UTC"} {
		loc, err := time.LoadLocation(zone)
		require.NoError(t, err)
		for _, soldUntil := range []time.Duration{0, time.Hour, 2*time.Hour + 30*time.Minute, 6 * time.Hour, inventory.MaxNightSoldUntil} {
			for _, at := range instants {
				for step := time.Duration(0); step < 24*time.Hour; step += 30 * time.Minute {
					at := at.Add(step)
					var db inventory.Date
					require.NoError(t, st.DB().QueryRow(ctx, sql, zone, int(soldUntil/time.Minute), at).Scan(&db))
					require.Equal(t, inventory.Tonight(at, loc, soldUntil), db, "%s in %s, sold until %s", at, zone, inventory.Clock(soldUntil))
				}
			}
		}
	}
}

func TestClockReadsAndWritesHHMM(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"00:00", "06:00", "11:59", "12:00", "02:30", "24:00"} {
		d, err := inventory.ParseClock(s)
		require.NoError(t, err, s)
		require.Equal(t, s, inventory.Clock(d))
	}
	for _, s := range []string{"", "6:00", "06:0", "06:60", "24:01", "25:00", "-1:00", "06h00", "06:00:00", "ab:cd", " 6:00"} {
		_, err := inventory.ParseClock(s)
		require.Error(t, err, s)
	}
}

// Extending the sale of last night into the morning, while it is that
// morning, puts last night back on sale: its availability, which bookings
// may have changed since midnight, is queued for every channel; changes
// that put no night back on sale queue nothing.
func TestExtendingANightsSalePutsLastNightBackOnSale(t *testing.T) {
	t.Parallel()
	h := newHotel(t, inventorytest.ZoneWhereItIs(2), []int{3, 3}, inventory.FactorOne, 2)
	ctx := context.Background()
	p, err := h.st.Property(ctx, h.code)
	require.NoError(t, err)
	require.Zero(t, p.NightSoldUntil, "a property sells a night until midnight unless told otherwise")
	loc, err := p.Location()
	require.NoError(t, err)
	today := inventory.Today(loc)
	if today != inventory.Tonight(time.Now(), loc, 0) || today == inventory.Tonight(time.Now(), loc, 6*time.Hour) {
		t.Fatalf("the zone %s is not between midnight and 06:00 now", p.TimeZone)
	}
	lastNight := today.AddDays(-1)
	_, err = h.st.ApplyRevision(ctx, h.booking("C1", "LATE", inventory.New, "R0", lastNight.String(), 1, 1, inventory.MustAccept))
	require.NoError(t, err)

	outbox := func() []string {
		rows, err := h.st.DB().Query(ctx, `SELECT p.code, o.from_night, o.to_night, o.bulk, o.origin_channel_id IS NULL
			FROM outbox o JOIN pools p ON p.property_id = o.property_id AND p.id = o.pool_id
			WHERE o.topic = 'availability' ORDER BY o.id`)
		require.NoError(t, err)
		defer rows.Close()
		var out []string
		for rows.Next() {
			var pool string
			var from, to inventory.Date
			var bulk, noOrigin bool
			require.NoError(t, rows.Scan(&pool, &from, &to, &bulk, &noOrigin))
			out = append(out, fmt.Sprintf("%s %s–%s bulk=%t every channel=%t", pool, from, to, bulk, noOrigin))
		}
		require.NoError(t, rows.Err())
		return out
	}
	before := outbox()

	six := 6 * time.Hour
	got, err := h.st.UpdateProperty(ctx, h.code, inventory.PropertyUpdate{NightSoldUntil: &six}, inventory.Staff("anna"))
	require.NoError(t, err)
	require.Equal(t, six, got.NightSoldUntil)
	p, err = h.st.Property(ctx, h.code)
	require.NoError(t, err)
	require.Equal(t, six, p.NightSoldUntil)
	require.Equal(t, lastNight, p.Tonight(time.Now(), loc))
	want := append(before,
		fmt.Sprintf("P0 %s–%s bulk=false every channel=true", lastNight, today),
		fmt.Sprintf("P1 %s–%s bulk=false every channel=true", lastNight, today))
	require.Equal(t, want, outbox(), "last night, on sale again, is queued for every channel")

	entries, err := h.st.Audit(ctx, h.code, "", 1)
	require.NoError(t, err)
	require.Equal(t, "property.update", entries[0].Action)
	require.Equal(t, "staff:anna", entries[0].Actor)
	require.Equal(t, "06:00", entries[0].Details["night_sold_until"])

	// Still on sale (until 03:00 now), or a name: nothing more to send.
	three, name := 3*time.Hour, "Renamed"
	_, err = h.st.UpdateProperty(ctx, h.code, inventory.PropertyUpdate{NightSoldUntil: &three, Name: &name}, inventory.Staff("anna"))
	require.NoError(t, err)
	require.Equal(t, want, outbox())
	// Ended at midnight again: the channels are no longer sent last
	// night, and nothing needs sending for it.
	zero := time.Duration(0)
	_, err = h.st.UpdateProperty(ctx, h.code, inventory.PropertyUpdate{NightSoldUntil: &zero}, inventory.Staff("anna"))
	require.NoError(t, err)
	require.Equal(t, want, outbox())

	// Bad values are refused and change nothing.
	for _, bad := range []time.Duration{-time.Minute, 12*time.Hour + time.Minute, 30 * time.Second, 24 * time.Hour} {
		_, err := h.st.UpdateProperty(ctx, h.code, inventory.PropertyUpdate{NightSoldUntil: &bad}, inventory.Staff("anna"))
		require.Equal(t, inventory.EINVALID, inventory.ErrorCode(err), "%s", bad)
		_, err = h.st.CreateProperty(ctx, inventory.Property{Code: "BAD", Name: "Bad", TimeZone: "UTC", Currency: "EUR", NightSoldUntil: bad}, inventory.System)
		require.Equal(t, inventory.EINVALID, inventory.ErrorCode(err), "%s", bad)
	}
	empty := ""
	_, err = h.st.UpdateProperty(ctx, h.code, inventory.PropertyUpdate{Name: &empty}, inventory.Staff("anna"))
	require.Equal(t, inventory.EINVALID, inventory.ErrorCode(err))
	_, err = h.st.UpdateProperty(ctx, "NOPE", inventory.PropertyUpdate{Name: &name}, inventory.Staff("anna"))
	require.Equal(t, inventory.ENOTFOUND, inventory.ErrorCode(err))
	p, err = h.st.Property(ctx, h.code)
	require.NoError(t, err)
	require.Equal(t, "Renamed", p.Name)
	require.Zero(t, p.NightSoldUntil)
	require.Equal(t, want, outbox())
	_, err = h.st.Property(ctx, "BAD")
	require.Equal(t, inventory.ENOTFOUND, inventory.ErrorCode(err))
}

// A calendar platform's event holding last night, fetched after midnight
// while last night is still sold, books it (an event gone from the feed
// frees it); sold until midnight it is past, as before.
func TestAnImportAfterMidnightBooksLastNightWhileItIsStillSold(t *testing.T) {
	t.Parallel()
	h, feed := icalHotel(t)
	ctx := context.Background()
	at := time.Date(2027, 3, 2, 2, 30, 0, 0, time.UTC) // 02:30 in Lisbon
	late := ev("late@airbnb.com", "2027-03-01", "2027-03-02")
	r, err := h.st.ImportCalendar(ctx, feed, []inventory.CalendarEvent{late}, nil, at)
	require.NoError(t, err)
	require.Equal(t, inventory.ImportResult{Past: 1}, r, "sold until midnight: last night is past")

	six := 6 * time.Hour
	_, err = h.st.UpdateProperty(ctx, h.code, inventory.PropertyUpdate{NightSoldUntil: &six}, inventory.System)
	require.NoError(t, err)
	r, err = h.st.ImportCalendar(ctx, feed, []inventory.CalendarEvent{late}, nil, at.Add(time.Minute))
	require.NoError(t, err)
	require.Equal(t, inventory.ImportResult{New: 1}, r)
	require.Equal(t, 1, h.soldOn(t, "2027-03-01"))
	r, err = h.st.ImportCalendar(ctx, feed, nil, nil, at.Add(2*time.Minute))
	require.NoError(t, err)
	require.Equal(t, inventory.ImportResult{Cancelled: 1}, r, "gone from the feed while last night is on sale: its room is free again")
	require.Equal(t, 0, h.soldOn(t, "2027-03-01"))
}

// A pool's new units reach every night from the first night still sold:
// last night too while it is on sale, not the nights before.
func TestAPoolChangedAfterMidnightChangesLastNightWhileItIsStillSold(t *testing.T) {
	t.Parallel()
	h := newHotel(t, inventorytest.ZoneWhereItIs(2), []int{3}, inventory.FactorOne, 1)
	ctx := context.Background()
	p, err := h.st.Property(ctx, h.code)
	require.NoError(t, err)
	loc, err := p.Location()
	require.NoError(t, err)
	today := inventory.Today(loc)
	_, err = h.st.ApplyRevision(ctx, h.booking("C0", "STAY", inventory.New, "R0", today.AddDays(-2).String(), 3, 1, inventory.MustAccept))
	require.NoError(t, err)
	units := func(units int) map[inventory.Date]int {
		_, err := h.st.UpdatePool(ctx, h.code, "P0", inventory.PoolPatch{Units: &units}, inventory.Staff("anna"))
		require.NoError(t, err)
		out := map[inventory.Date]int{}
		for night, n := range h.nights(t, today.AddDays(-2).String(), 3)["P0"] {
			out[night] = n.Units
		}
		return out
	}
	require.Equal(t, map[inventory.Date]int{today.AddDays(-2): 3, today.AddDays(-1): 3, today: 5}, units(5), "sold until midnight")
	six := 6 * time.Hour
	_, err = h.st.UpdateProperty(ctx, h.code, inventory.PropertyUpdate{NightSoldUntil: &six}, inventory.System)
	require.NoError(t, err)
	require.Equal(t, map[inventory.Date]int{today.AddDays(-2): 3, today.AddDays(-1): 7, today: 7}, units(7), "sold until 06:00")
}

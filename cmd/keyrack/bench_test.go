package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/keyrack/keyrack/fixtures/sim"
	"github.com/keyrack/keyrack/inventory"
	"github.com/keyrack/keyrack/inventory/inventorytest"
	"github.com/keyrack/keyrack/sync/synctest"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
)

// keyrack bench runs its whole scenario — a fresh database, simulated
// channels, bookings over HTTP, a bulk resync, pgbench — ends with every
// channel holding the pool's values and no booking lost, prints the JSON
// line, and drops its database.
func TestBenchRunsTheScenarioEndsConsistentAndCleansUp(t *testing.T) {
	dbURL := inventorytest.RequireDatabase(t)
	// With a pool size in the URL, as an operator may give it: pgx's pool
	// takes it, a single connection and pgbench must not see it. And with
	// the user and password among the parameters, which pgbench needs too.
	benchURL := dbURL
	if u, err := url.Parse(dbURL); err == nil && u.User != nil {
		q := u.Query()
		q.Set("user", u.User.Username())
		if pw, ok := u.User.Password(); ok {
			q.Set("password", pw)
		}
		u.User, u.RawQuery = nil, q.Encode()
		benchURL = u.String()
	}
	sep := "?"
	if strings.Contains(benchURL, "?") {
		sep = "&"
	}
	env := map[string]string{"DATABASE_URL": benchURL + sep + "pool_max_conns=30", "REDIS_URL": synctest.RedisURL(t), "KEYRACK_LOG_LEVEL": "error"}
	benchDatabases := func() int {
		conn, err := pgx.Connect(context.Background(), dbURL)
		require.NoError(t, err)
		defer conn.Close(context.Background())
		var n int
		require.NoError(t, conn.QueryRow(context.Background(), `SELECT count(*) FROM pg_database WHERE datname LIKE 'keyrack\_bench\_%'`).Scan(&n))
		return n
	}
	before := benchDatabases()
	code, stdout, stderr := keyrack(t, env, "bench", "-properties", "3", "-channels", "3", "-clients", "6", "-duration", "3s",
		"-warmup", "1s", "-nights", "14", "-resync", "-settle", "1m")
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	var res benchResult
	require.NoError(t, json.Unmarshal([]byte(lines[len(lines)-1]), &res), stdout)
	require.True(t, res.Consistent, stdout)
	require.Zero(t, res.Lost, stdout)
	require.Positive(t, res.Bookings, stdout)
	require.Equal(t, 1.0, res.WarmupS, stdout)
	require.Positive(t, res.BookingsPerS, stdout)
	require.Positive(t, res.PgbenchTPS, "pgbench must run (Debian: postgresql-15, the server package): %s", stdout)
	require.InDelta(t, res.BookingsPerS/res.PgbenchTPS, res.Ratio, 1e-9)
	require.Positive(t, res.InboundP99Ms, stdout)
	require.Positive(t, res.LagP99Ms, stdout)
	require.GreaterOrEqual(t, res.LagP99Ms, res.LagP50Ms)
	require.Positive(t, res.AnswerAfterP99Ms, "lags are measured from the commits keyrack reports: %s", stdout)
	require.Positive(t, res.DeliveriesPer, stdout)
	require.Positive(t, res.ResyncS, "the bulk resync must finish: %s", stdout)
	require.Zero(t, res.Overbookings, stdout)
	require.Contains(t, stdout, "ratio to pgbench")
	// It says whether the server keeps the tables' statistics itself.
	conn, err := pgx.Connect(context.Background(), dbURL)
	require.NoError(t, err)
	var autovacuum bool
	require.NoError(t, conn.QueryRow(context.Background(), `SELECT current_setting('autovacuum')::bool`).Scan(&autovacuum))
	require.NoError(t, conn.Close(context.Background()))
	require.Equal(t, autovacuum, res.Autovacuum, stdout)
	require.Contains(t, stdout, map[bool]string{true: "autovacuum on", false: "autovacuum off"}[autovacuum])
	require.Equal(t, before, benchDatabases(), "the benchmark database must be dropped")
	// And its queues: none is left in asynq's list.
	opt, err := redis.ParseURL(env["REDIS_URL"])
	require.NoError(t, err)
	rc := redis.NewClient(opt)
	defer rc.Close()
	queues, err := rc.SMembers(context.Background(), "asynq:queues").Result()
	require.NoError(t, err)
	for _, q := range queues {
		require.False(t, strings.HasPrefix(q, "keyrack_bench_"), "queue %s left behind", q)
	}
}

// pgbench (libpq) is given the benchmark database's URL as keyrack (pgx)
// takes it: the user and password even when given as parameters, the
// server settings pgx passes on as libpq's options, and none of the
// parameters only pgx and its pool know, which libpq refuses.
func TestThePgbenchReferenceIsGivenTheURLsCredentialsAndSettings(t *testing.T) {
	b := &bench{dbURL: "postgres://127.0.0.1:5432/keyrack_bench_1?user=bench&password=s3cr%20t&sslmode=disable&application_name=kb" +
		"&pool_max_conns=30&pool_min_conns=2&statement_cache_capacity=0&default_query_exec_mode=exec&TimeZone=Europe/Lisbon&options=-c%20work_mem%3D8MB"}
	u, err := url.Parse(b.libpqURL())
	require.NoError(t, err)
	require.NotContains(t, u.RawQuery, "+", "libpq takes %20 for a space, not +")
	require.Equal(t, "/keyrack_bench_1", u.Path)
	require.Equal(t, url.Values{
		"user": {"bench"}, "password": {"s3cr t"}, "sslmode": {"disable"}, "application_name": {"kb"},
		"options": {"-c work_mem=8MB -c TimeZone=Europe/Lisbon"},
	}, u.Query())
}

// Debian's postgresql-client puts pgbench on the PATH as a link to
// pg_wrapper, which fails when run without the server package that ships
// pgbench: that is no pgbench, and the error says which package to install.
func TestAPgbenchWrapperWithoutPgbenchIsReportedAsNotInstalled(t *testing.T) {
	dir := t.TempDir()
	wrapper := "#!/bin/sh\necho 'Error: pg_wrapper: pgbench was not found in /usr/lib/postgresql/15/bin' >&2\nexit 1\n"
	require.NoError(t, os.WriteFile(filepath.Join(dir, "pgbench"), []byte(wrapper), 0o755))
	t.Setenv("PATH", dir)
	_, _, err := inventory.Pgbench{ConnString: "postgres://nobody@127.0.0.1:1/x", Clients: 1, Transactions: 1, Pools: 1, Days: 1}.Run(context.Background())
	require.ErrorIs(t, err, inventory.ErrNoPgbench)
	require.ErrorContains(t, err, "apt-get install postgresql-15")
	require.ErrorContains(t, err, "pgbench was not found in /usr/lib/postgresql/15/bin")
}

func TestBenchRefusesBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-channels", "1"}, {"-properties", "0"}, {"-hot-share", "1.5"}, {"-duration", "0s"}, {"-warmup", "-1s"}, {"-rate", "-1"}, {"extra"},
	} {
		code, _, stderr := keyrack(t, map[string]string{"DATABASE_URL": "postgres://nobody@127.0.0.1:1/x"}, append([]string{"bench"}, args...)...)
		require.Equal(t, 2, code, "%v: %s", args, stderr)
	}
}

// The simulated channels are kept in sync for 365 nights from today and
// arrivals start the day after tomorrow: an arrival window reaching past
// that could never end consistent, and is refused before anything is set
// up. Stays end within the window, so -max-stay does not count.
func TestBenchRefusesAnArrivalWindowPastTheChannelsHorizon(t *testing.T) {
	env := map[string]string{"DATABASE_URL": "postgres://nobody@127.0.0.1:1/x"}
	for _, args := range [][]string{{"-nights", "364"}, {"-nights", "400"}} {
		code, _, stderr := keyrack(t, env, append([]string{"bench"}, args...)...)
		require.Equal(t, 2, code, "%v: %s", args, stderr)
		require.Contains(t, stderr, "-nights is at most 363", args)
	}
	// The last arrival window that fits is taken (and fails later, at the
	// database nobody listens on).
	code, _, stderr := keyrack(t, env, "bench", "-nights", "363", "-max-stay", "30")
	require.Equal(t, 1, code, stderr)
	require.NotContains(t, stderr, "horizon")
}

// The lag of a booking ends when the last other channel holds its effect:
// at most units minus the bookings answered on the night until then.
func TestLagTrackerWaitsForEveryOtherChannelAndNight(t *testing.T) {
	const units = 10
	lt := newLagTracker(units, 3)
	p := &benchProperty{code: "B0000"}
	d := inventory.MustDate("2027-03-01")
	t0 := time.Unix(1_800_000_000, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	apply := func(ch int, night inventory.Date, v, ms int) { lt.applied(lagKey{"B0000", "R0", night}, ch, v, at(ms)) }
	for ch := range 3 {
		apply(ch, d, units, 0)
		apply(ch, d.AddDays(1), units, 0)
	}
	// Two nights from channel 0, answered at 10 ms; another booking of the
	// first night from channel 1 at 12 ms.
	lt.booked(p, 0, sim.Booking{ID: "a", Product: sim.Product{Room: "R0"}, Arrival: d, Departure: d.AddDays(2), Units: 1}, at(10), true)
	lt.booked(p, 1, sim.Booking{ID: "b", Product: sim.Product{Room: "R0"}, Arrival: d, Departure: d.AddDays(1), Units: 1}, at(12), true)
	apply(1, d, 9, 20)            // channel 1 holds a's first night
	apply(0, d, 8, 25)            // the origin of a: does not count for a; holds b
	apply(2, d.AddDays(1), 9, 30) // channel 2, a's second night
	lags, unreached, _ := lt.lags()
	require.Empty(t, lags)
	require.Equal(t, 2, unreached)
	apply(2, d, 8, 40) // channel 2 holds both bookings' first night
	lags, unreached, _ = lt.lags()
	require.Equal(t, []time.Duration{28 * time.Millisecond}, lags) // b: 12 → 40; a still waits for channel 1's second night
	require.Equal(t, 1, unreached)
	apply(1, d.AddDays(1), 9, 55)
	lags, unreached, slowest := lt.lags()
	require.ElementsMatch(t, []time.Duration{45 * time.Millisecond, 28 * time.Millisecond}, lags)
	require.Zero(t, unreached)
	require.Equal(t, []any{45 * time.Millisecond, 0, 1, d, 2}, []any{slowest.lag(), slowest.origin, slowest.lastChannel, slowest.arrival, slowest.nights},
		"a is the slowest: from channel 0, two nights, channel 1 the last to hold them")

	// A channel that holds the value before the answer comes back has no lag.
	lt.booked(p, 2, sim.Booking{ID: "c", Product: sim.Product{Room: "R0"}, Arrival: d.AddDays(1), Departure: d.AddDays(2), Units: 1}, at(60), true)
	apply(0, d.AddDays(1), 8, 58)
	apply(1, d.AddDays(1), 8, 59)
	lags, _, _ = lt.lags()
	require.Len(t, lags, 3)
	require.Contains(t, lags, time.Duration(0))

	// A warm-up booking counts for what the channels must hold, not for the lags.
	lt.booked(p, 0, sim.Booking{ID: "w", Product: sim.Product{Room: "R0"}, Arrival: d, Departure: d.AddDays(1), Units: 1}, at(70), false)
	lt.booked(p, 0, sim.Booking{ID: "x", Product: sim.Product{Room: "R0"}, Arrival: d, Departure: d.AddDays(1), Units: 1}, at(71), true)
	apply(1, d, 7, 80) // holds w, not x
	apply(2, d, 7, 80)
	lags, unreached, _ = lt.lags()
	require.Len(t, lags, 3, "w reached every channel but is not measured; x waits")
	require.Equal(t, 1, unreached)
	apply(1, d, 6, 90)
	apply(2, d, 6, 95)
	lags, unreached, _ = lt.lags()
	require.Len(t, lags, 4)
	require.Contains(t, lags, 24*time.Millisecond) // x: 71 → 95
	require.Zero(t, unreached)
}

// Once a night's bookings are as many as its units, every channel is offered
// 0 however many more the OTAs sell (keyrack takes them as overbookings):
// holding 0, a channel holds them all.
func TestLagTrackerCountsAFullNightAsZero(t *testing.T) {
	lt := newLagTracker(2, 3)
	p := &benchProperty{code: "B0000"}
	d := inventory.MustDate("2027-03-01")
	t0 := time.Unix(1_800_000_000, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	apply := func(ch, v, ms int) { lt.applied(lagKey{"B0000", "R0", d}, ch, v, at(ms)) }
	for ch := range 3 {
		apply(ch, 2, 0)
	}
	for i, origin := range []int{0, 1, 2} {
		lt.booked(p, origin, sim.Booking{ID: fmt.Sprint(i), Product: sim.Product{Room: "R0"}, Arrival: d, Departure: d.AddDays(1), Units: 1}, at(10+i), true)
	}
	apply(2, 1, 20) // holds the first booking
	apply(0, 0, 30) // holds the second and the third: the night is full
	apply(1, 0, 40)
	_, unreached, _ := lt.lags()
	require.Equal(t, 1, unreached, "channel 2 holds only the first booking")
	apply(2, 0, 50)
	lags, unreached, _ := lt.lags()
	require.Zero(t, unreached)
	require.ElementsMatch(t, []time.Duration{30 * time.Millisecond, 39 * time.Millisecond, 28 * time.Millisecond}, lags)

	// A channel that sold the last room itself is not told 0 (keyrack does
	// not echo its own booking back), yet believes 0 as the simulated OTA
	// counts: told 1, one sold since. It holds the overbooking that follows.
	d2 := d.AddDays(1)
	apply2 := func(ch, v, ms int) { lt.applied(lagKey{"B0000", "R0", d2}, ch, v, at(ms)) }
	book := func(origin, made, answered int) {
		lt.booked(p, origin, sim.Booking{Product: sim.Product{Room: "R0"}, Arrival: d2, Departure: d2.AddDays(1), Units: 1, Made: at(made)}, at(answered), true)
	}
	for ch := range 3 {
		apply2(ch, 2, 100)
	}
	book(0, 105, 110) // sold at 105 by channel 0, before anyone was told 1
	apply2(1, 1, 115)
	apply2(2, 1, 115)
	book(1, 120, 125) // the last room, sold by channel 1 (told 1 at 115)
	apply2(0, 0, 130)
	apply2(2, 0, 130)
	book(2, 140, 145) // an overbooking from channel 2: channel 0 was told 0, channel 1 believes 0
	lags, unreached, _ = lt.lags()
	require.Zero(t, unreached)
	require.Len(t, lags, 6)
	require.Contains(t, lags, time.Duration(0), "the overbooking held by both others as it was answered")

	// Below a full night, what a channel sold itself does not count: it
	// believes 1 less, but another channel's booking has not reached it.
	d3 := d.AddDays(2)
	lt3 := newLagTracker(5, 3)
	for ch := range 3 {
		lt3.applied(lagKey{"B0000", "R0", d3}, ch, 5, at(200))
	}
	for i, origin := range []int{0, 1} {
		lt3.booked(p, origin, sim.Booking{Product: sim.Product{Room: "R0"}, Arrival: d3, Departure: d3.AddDays(1), Units: 1, Made: at(205 + i)}, at(210+i), true)
	}
	lt3.applied(lagKey{"B0000", "R0", d3}, 2, 3, at(220))
	lt3.applied(lagKey{"B0000", "R0", d3}, 1, 4, at(220)) // holds the first booking only; sold the second itself
	_, unreached, _ = lt3.lags()
	require.Equal(t, 1, unreached, "the second booking has not reached channel 0")
}

// The lost-bookings check counts an answered booking the pool does not
// hold, and a night whose sold count differs from the bookings holding it.
func TestBenchLostCountsMissingBookingsAndNights(t *testing.T) {
	st := inventorytest.New(t)
	ctx := context.Background()
	b := &bench{st: st, out: io.Discard, log: slog.New(slog.DiscardHandler)}
	_, err := st.CreateProperty(ctx, inventory.Property{Code: "B0000", Name: "B", TimeZone: "UTC", Currency: "EUR"}, benchActor)
	require.NoError(t, err)
	_, err = st.CreatePool(ctx, "B0000", inventory.Pool{Code: "R0", Name: "R0", Units: 10, OverbookingFactor: inventory.FactorOne}, benchActor)
	require.NoError(t, err)
	_, err = st.CreateRoomType(ctx, "B0000", inventory.RoomType{Code: "R0", Name: "R0", Pool: "R0"}, benchActor)
	require.NoError(t, err)
	_, err = st.CreateChannel(ctx, "B0000", inventory.Channel{Code: "ota1", Name: "ota1", Kind: inventory.ChannelOTAPush, Enabled: true}, benchActor)
	require.NoError(t, err)
	d := inventory.MustDate("2027-05-01")
	_, err = st.ApplyRevision(ctx, inventory.Revision{Property: "B0000", Channel: "ota1", ExternalID: "bench-1", Kind: inventory.New,
		Stays: []inventory.RoomStay{{RoomType: "R0", Arrival: d, Departure: d.AddDays(2), Rooms: 1}}})
	require.NoError(t, err)

	n, err := b.lost(ctx, map[string][]string{"B0000": {"bench-1"}})
	require.NoError(t, err)
	require.Zero(t, n)
	n, err = b.lost(ctx, map[string][]string{"B0000": {"bench-1", "bench-2"}})
	require.NoError(t, err)
	require.Equal(t, 1, n, "bench-2 was answered but is not there")

	// A night sold with no booking holding it, as a lost write would leave.
	_, err = st.DB().Exec(ctx, `UPDATE nights SET sold = sold + 1 WHERE night = $1`, d.AddDays(1))
	require.NoError(t, err)
	n, err = b.lost(ctx, map[string][]string{"B0000": {"bench-1"}})
	require.NoError(t, err)
	require.Equal(t, 1, n)
	_, err = st.DB().Exec(ctx, `INSERT INTO nights (property_id, pool_id, night, units, overbooking_factor, sold)
		SELECT property_id, id, $1, units, overbooking_factor, 1 FROM pools`, d.AddDays(5))
	require.NoError(t, err)
	n, err = b.lost(ctx, map[string][]string{"B0000": {"bench-1"}})
	require.NoError(t, err)
	require.Equal(t, 2, n, "a sold night no booking holds")
}

// A booking's lag starts at its commit, which keyrack reports (OnCommit)
// before it answers; the answer's delay after it is noted. A booking whose
// commit was not seen is measured from its answer.
func TestLagTrackerMeasuresFromTheCommit(t *testing.T) {
	lt := newLagTracker(10, 2)
	p := &benchProperty{code: "B0001"}
	d := inventory.MustDate("2027-03-01")
	t0 := time.Unix(1_800_000_000, 0)
	ms := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	k := lagKey{"B0001", "R0", d}
	lt.applied(k, 0, 10, t0.Add(-time.Second))
	stay := []inventory.RoomStay{{RoomType: "R0", Arrival: d, Departure: d.AddDays(1), Rooms: 1}}
	lt.committed([]inventory.Revision{{Property: "B0001", Channel: "ota2", ExternalID: "X1", Kind: inventory.New, Stays: stay}}, t0)
	bk := func(id string) sim.Booking {
		return sim.Booking{ID: id, Product: sim.Product{Room: "R0"}, Arrival: d, Departure: d.AddDays(1), Units: 1}
	}
	lt.booked(p, 1, bk("X1"), ms(3), true)
	require.Equal(t, []time.Duration{3 * time.Millisecond}, lt.delays())
	lt.applied(k, 0, 9, ms(20))
	lags, unreached, _ := lt.lags()
	require.Zero(t, unreached)
	require.Equal(t, []time.Duration{20 * time.Millisecond}, lags)

	// The same id from the other channel was not seen committed: from its answer.
	lt.booked(p, 0, bk("X1"), ms(30), true)
	lt.applied(k, 1, 8, ms(45))
	lags, unreached, _ = lt.lags()
	require.Zero(t, unreached)
	require.ElementsMatch(t, []time.Duration{20 * time.Millisecond, 15 * time.Millisecond}, lags)
	require.Len(t, lt.delays(), 1)
}

// keyrack answers a booking some milliseconds after its commit; a channel
// told of it meanwhile held it from the moment it was told, not from the
// commit (lag 0) nor from the answer.
func TestTheLagOfABookingDeliveredBeforeItsAnswerEndsWhenTheChannelWasTold(t *testing.T) {
	const units = 10
	lt := newLagTracker(units, 2)
	p := &benchProperty{code: "B0000"}
	d := inventory.MustDate("2027-03-01")
	t0 := time.Unix(1_800_000_000, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	k := lagKey{"B0000", "R0", d}
	lt.applied(k, 0, units, at(-1000)) // the initial sync
	lt.applied(k, 1, units, at(-1000))

	// ota1 (channel 0) sells at -2 ms; keyrack commits at 0 ms, the fan-out
	// tells ota2 (channel 1) at 30 ms, the answer comes at 50 ms.
	lt.committed([]inventory.Revision{{Property: "B0000", Channel: "ota1", ExternalID: "X1", Kind: inventory.New,
		Stays: []inventory.RoomStay{{RoomType: "R0", Arrival: d, Departure: d.AddDays(1), Rooms: 1}}}}, at(0))
	lt.applied(k, 1, units-1, at(30))
	lt.booked(p, 0, sim.Booking{ID: "X1", Product: sim.Product{Room: "R0"}, Arrival: d, Departure: d.AddDays(1), Units: 1, Made: at(-2)}, at(50), true)

	lags, unreached, _ := lt.lags()
	require.Zero(t, unreached)
	require.Equal(t, []time.Duration{30 * time.Millisecond}, lags)
	require.Equal(t, []time.Duration{50 * time.Millisecond}, lt.delays())
}

// The fan-out tells the channels the values left after the bookings in the
// order keyrack committed them; the order their answers come back in does
// not change which value holds which booking.
func TestTheLagFollowsTheOrderOfTheCommitsNotOfTheAnswers(t *testing.T) {
	const units = 10
	lt := newLagTracker(units, 2)
	p := &benchProperty{code: "B0000"}
	d := inventory.MustDate("2027-03-01")
	t0 := time.Unix(1_800_000_000, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	k := lagKey{"B0000", "R0", d}
	lt.applied(k, 0, units, at(-1000))
	lt.applied(k, 1, units, at(-1000))
	commit := func(id string, ms int) {
		lt.committed([]inventory.Revision{{Property: "B0000", Channel: "ota1", ExternalID: id, Kind: inventory.New,
			Stays: []inventory.RoomStay{{RoomType: "R0", Arrival: d, Departure: d.AddDays(1), Rooms: 1}}}}, at(ms))
	}
	bk := func(id string, made int) sim.Booking {
		return sim.Booking{ID: id, Product: sim.Product{Room: "R0"}, Arrival: d, Departure: d.AddDays(1), Units: 1, Made: at(made)}
	}
	commit("A", 0)
	commit("B", 10)
	lt.booked(p, 0, bk("B", 8), at(12), true) // B is answered first
	lt.applied(k, 1, units-1, at(20))         // A only
	lt.applied(k, 1, units-2, at(35))         // A and B
	lt.booked(p, 0, bk("A", -2), at(40), true)
	lags, unreached, _ := lt.lags()
	require.Zero(t, unreached)
	require.ElementsMatch(t, []time.Duration{20 * time.Millisecond, 25 * time.Millisecond}, lags, "A 0 → 20 ms, B 10 → 35 ms")
}

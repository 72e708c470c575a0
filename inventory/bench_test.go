package inventory_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/keyrack/keyrack/inventory"
	"github.com/keyrack/keyrack/inventory/inventorytest"
	"github.com/stretchr/testify/require"
)

// The booking benchmark: 3-night stays over 1,000 pools from 16 concurrent
// callers, through the Go API, next to plain pgbench running one booking
// transaction per call against the same server. `make bench` runs both.

const (
	benchPools   = 1000
	benchCallers = 16
	benchDays    = 300
)

var benchStart = inventory.MustDate("2027-01-01")

// benchHotel makes, in a fresh schema, a property with benchPools pools of
// 1,000 rooms each (so no booking is short) and four channels.
func benchHotel(b *testing.B) *inventory.Store {
	st := inventorytest.New(b)
	ctx := context.Background()
	_, err := st.CreateProperty(ctx, inventory.Property{Code: "BENCH", Name: "Benchmark hotel", TimeZone: "Europe/Lisbon", Currency: "EUR"}, inventory.System)
	require.NoError(b, err)
	for i := 0; i < 4; i++ {
		_, err := st.CreateChannel(ctx, "BENCH", inventory.Channel{Code: fmt.Sprint("C", i), Kind: inventory.ChannelOTAPush, Enabled: true}, inventory.System)
		require.NoError(b, err)
	}
	_, err = st.DB().Exec(ctx, `
		INSERT INTO pools (property_id, code, name, units) SELECT p.id, 'P' || g, 'Pool ' || g, 1000
			FROM properties p, generate_series(0, $1 - 1) g WHERE p.code = 'BENCH'`, benchPools)
	require.NoError(b, err)
	_, err = st.DB().Exec(ctx, `INSERT INTO room_types (property_id, code, name, pool_id)
		SELECT property_id, 'R' || substr(code, 2), name, id FROM pools`)
	require.NoError(b, err)
	// Every night a booking can touch exists, as it does once a property has
	// been selling for a while; both benchmarks start from this state.
	_, err = st.DB().Exec(ctx, `INSERT INTO nights (property_id, pool_id, night, units, overbooking_factor)
		SELECT property_id, id, d, units, overbooking_factor FROM pools, generate_series($1::date, $1::date + $2::int + 3, interval '1 day') d`,
		benchStart, benchDays)
	require.NoError(b, err)
	// And so do earlier reservations with their revisions, and statistics
	// that say so: plans made while the tables are empty scan them, until
	// autovacuum analyzes them.
	_, err = st.DB().Exec(ctx, `INSERT INTO reservations (property_id, channel_id, external_id, status, arrival, departure, revisions)
		SELECT c.property_id, c.id, 'earlier-' || g, 'confirmed', $1::date + g % $2::int, $1::date + g % $2::int + 3, 1
		FROM (SELECT property_id, min(id) AS id FROM channels GROUP BY property_id) c, generate_series(1, 20000) g`, benchStart, benchDays)
	require.NoError(b, err)
	_, err = st.DB().Exec(ctx, `INSERT INTO reservation_revisions (property_id, reservation_id, seq, kind, content_hash, revision, actor, outcome)
		SELECT property_id, id, 1, 'new', sha256(external_id::bytea), '{}', 'channel:C0', '{}' FROM reservations`)
	require.NoError(b, err)
	var earlier int
	require.NoError(b, st.DB().QueryRow(ctx, `SELECT count(*) FROM reservations`).Scan(&earlier))
	require.Equal(b, 20000, earlier)
	_, err = st.DB().Exec(ctx, `ANALYZE`)
	require.NoError(b, err)
	return st
}

// callers sets RunParallel's goroutine count to benchCallers.
func callers(b *testing.B) {
	p := runtime.GOMAXPROCS(0)
	b.SetParallelism((benchCallers + p - 1) / p)
}

func BenchmarkApplyRevision(b *testing.B) {
	st := benchHotel(b)
	if v := os.Getenv("KEYRACK_BENCH_GROUP"); v != "" {
		var size, per int
		fmt.Sscanf(v, "%d,%d", &size, &per)
		st.SetGroupCommit(size, per)
	}
	benchApply(b, st)
}

// BenchmarkApplyRevisionOneByOne is the same load with group commit off:
// every booking has its own transaction.
func BenchmarkApplyRevisionOneByOne(b *testing.B) {
	st := benchHotel(b)
	st.SetGroupCommit(1, benchCallers)
	benchApply(b, st)
}

func benchApply(b *testing.B, st *inventory.Store) {
	ctx := context.Background()

	var seq atomic.Int64
	callers(b)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			n := seq.Add(1)
			pool := rand.IntN(benchPools)
			arrival := benchStart.AddDays(rand.IntN(benchDays))
			_, err := st.ApplyRevision(ctx, inventory.Revision{
				Property: "BENCH", Channel: fmt.Sprint("C", n%4), ExternalID: strconv.FormatInt(n, 10), Kind: inventory.New,
				Stays: []inventory.RoomStay{{RoomType: fmt.Sprint("R", pool), Arrival: arrival, Departure: arrival.AddDays(3), Rooms: 1}},
				Guest: inventory.Guest{Name: "Bench Guest"}, Total: "300.00", Currency: "EUR",
			})
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "bookings/s")
	if groups, revs := st.GroupStats(); groups > 0 {
		b.ReportMetric(float64(revs)/float64(groups), "bookings/commit")
	}
}

func BenchmarkPgbenchBooking(b *testing.B) {
	if _, err := inventory.PgbenchPath(context.Background()); err != nil {
		if os.Getenv("CI") != "" {
			b.Fatal(err)
		}
		b.Skip(err)
	}
	st := benchHotel(b)
	ctx := context.Background()
	p := inventory.Pgbench{
		ConnString: pgbenchConnString(b, st.DB().Config()), Clients: benchCallers, Jobs: runtime.GOMAXPROCS(0),
		Transactions: (b.N + benchCallers - 1) / benchCallers, Pools: benchPools, Days: benchDays, Start: benchStart,
	}
	require.NoError(b, st.DB().QueryRow(ctx, `SELECT p.id, (SELECT min(id) FROM channels), (SELECT min(id) FROM pools) FROM properties p`).
		Scan(&p.Property, &p.Channel, &p.FirstPool))
	b.ResetTimer()
	tps, _, err := p.Run(ctx)
	b.StopTimer()
	require.NoError(b, err)
	b.ReportMetric(tps, "bookings/s")
}

// pgbenchConnString is a libpq URI for the test's server and schema.
func pgbenchConnString(b *testing.B, cfg *pgxpool.Config) string {
	c := cfg.ConnConfig
	u := url.URL{Scheme: "postgres", Host: fmt.Sprintf("%s:%d", c.Host, c.Port), Path: "/" + c.Database}
	if c.Password != "" {
		u.User = url.UserPassword(c.User, c.Password)
	} else {
		u.User = url.User(c.User)
	}
	q := url.Values{}
	q.Set("options", "-csearch_path="+c.RuntimeParams["search_path"])
	q.Set("sslmode", "disable")
	if c.Host != "" && c.Host[0] == '/' {
		u.Host = ""
		q.Set("host", c.Host)
		q.Set("port", strconv.Itoa(int(c.Port)))
	}
	u.RawQuery = q.Encode()
	return u.String()
}

package sync_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/keyrack/keyrack/connectors"
	"github.com/keyrack/keyrack/connectors/testjson"
	"github.com/keyrack/keyrack/fixtures/testchannel"
	"github.com/keyrack/keyrack/inventory"
	"github.com/keyrack/keyrack/inventory/inventorytest"
	"github.com/keyrack/keyrack/sync"
	"github.com/keyrack/keyrack/sync/synctest"
	"github.com/stretchr/testify/require"
)

// testSecret is the KEYRACK_SECRET of the tests: channels' outbound
// credentials are sealed with it, as in production.
const testSecret = "keyrack-sync-tests-secret"

// convergeTimeout bounds every wait for the channels to catch up: generous,
// since a loaded CI machine is slow; the speed is the benchmark's business.
const convergeTimeout = 90 * time.Second

// hotel is a property with pools P0, P1, … (room types R0, R1, …) sold on
// channels of kind ota_push, each with a test channel of its own. A
// channel's room code for room type R0 is "<channel>-R0".
type hotel struct {
	t        testing.TB
	st       *inventory.Store
	code     string
	id       int64
	loc      *time.Location
	today    inventory.Date
	pools    []string
	poolIDs  []int64
	channels []string // codes, in order
	chanIDs  map[string]int64
	tc       map[string]*testchannel.Channel
	redisURL string
	prefix   string
	secrets  *inventory.Secrets
	fan      *sync.Fanout // the in-process worker's, or with noWorker one that runs only what the test calls
	cfg      sync.Config
}

type hotelOptions struct {
	units     []int          // per pool (one pool of 10 by default)
	channels  []string       // A, B, C, D by default
	rateLimit map[string]int // per channel
	redisURL  string         // the shared test Redis by default
	noWorker  bool           // no in-process worker
	config    func(*sync.Config)
	schema    func(testing.TB, *pgxpool.Pool) // run on the migrated schema before the hotel is made
	zone      string                          // the property's time zone (Europe/Lisbon by default)
	soldUntil time.Duration                   // the property's NightSoldUntil
}

func newHotel(t testing.TB, o hotelOptions) *hotel {
	t.Helper()
	if o.units == nil {
		o.units = []int{10}
	}
	if o.channels == nil {
		o.channels = []string{"A", "B", "C", "D"}
	}
	if o.redisURL == "" {
		o.redisURL = synctest.RedisURL(t)
	}
	if o.zone == "" {
		o.zone = "Europe/Lisbon"
	}
	ctx := context.Background()
	st := inventorytest.New(t)
	if o.schema != nil {
		o.schema(t, st.DB())
	}
	sec, err := inventory.NewSecrets(testSecret)
	require.NoError(t, err)
	h := &hotel{t: t, st: st, code: "H", chanIDs: map[string]int64{}, tc: map[string]*testchannel.Channel{},
		redisURL: o.redisURL, secrets: sec}
	p, err := st.CreateProperty(ctx, inventory.Property{Code: h.code, Name: "Test hotel", TimeZone: o.zone, Currency: "EUR", NightSoldUntil: o.soldUntil}, inventory.System)
	require.NoError(t, err)
	h.id = p.ID
	h.loc, err = p.Location()
	require.NoError(t, err)
	h.today = p.Tonight(time.Now(), h.loc) // the first night the channels are sent
	for i, u := range o.units {
		pool, err := st.CreatePool(ctx, h.code, inventory.Pool{Code: fmt.Sprintf("P%d", i), Units: u}, inventory.System)
		require.NoError(t, err)
		_, err = st.CreateRoomType(ctx, h.code, inventory.RoomType{Code: fmt.Sprintf("R%d", i), Pool: pool.Code}, inventory.System)
		require.NoError(t, err)
		h.pools, h.poolIDs = append(h.pools, pool.Code), append(h.poolIDs, pool.ID)
	}
	for _, code := range o.channels {
		tc := testchannel.New()
		t.Cleanup(tc.Close)
		tc.RequireCredentials("keyrack-"+code, "s3cret-"+code)
		ch, err := st.CreateChannel(ctx, h.code, inventory.Channel{Code: code, Kind: inventory.ChannelOTAPush, Enabled: true,
			HotelCode: "HOTEL-" + code, Endpoint: tc.URL(), RateLimit: o.rateLimit[code], HorizonDays: 30}, inventory.System)
		require.NoError(t, err)
		require.NoError(t, st.SetChannelCredentials(ctx, sec, h.code, code, inventory.Credentials{
			OutboundUser: "keyrack-" + code, OutboundSecret: "s3cret-" + code}, inventory.System))
		for i := range o.units {
			require.NoError(t, st.SetMapping(ctx, h.code, code, inventory.Mapping{
				ChannelRoom: h.room(code, i), RoomType: fmt.Sprintf("R%d", i)}, inventory.System))
		}
		h.channels = append(h.channels, code)
		h.chanIDs[code] = ch.ID
		h.tc[code] = tc
	}
	h.prefix = synctest.QueuePrefix(t, h.redisURL)
	h.cfg = testConfig(st.DB(), sec, h.prefix)
	if o.config != nil {
		o.config(&h.cfg)
	}
	if o.noWorker {
		h.fan = h.fanout() // runs nothing by itself: the test calls it
	} else {
		h.fan = h.startWorker()
	}
	return h
}

// testConfig is the fan-out configuration of the tests: short intervals, so
// that faults heal quickly.
func testConfig(db *pgxpool.Pool, sec *inventory.Secrets, prefix string) sync.Config {
	return sync.Config{
		DB:                       db,
		Connectors:               connectors.Registry{inventory.ChannelOTAPush: &testjson.Connector{}},
		Secrets:                  sec,
		Logger:                   testLogger(),
		QueuePrefix:              prefix,
		Concurrency:              8,
		BulkConcurrency:          2,
		SweepInterval:            200 * time.Millisecond,
		StaleAfter:               time.Second,
		RetryBase:                50 * time.Millisecond,
		RetryMax:                 2 * time.Second,
		PushTimeout:              10 * time.Second,
		DelayedTaskCheckInterval: 100 * time.Millisecond,
		ScheduleInterval:         100 * time.Millisecond,
		ElectionInterval:         100 * time.Millisecond,
		ResyncAt:                 "off",
		EchoWindow:               time.Second,
	}
}

// testLogger discards the fan-out's logs unless KEYRACK_TEST_LOG is set.
func testLogger() *slog.Logger {
	if os.Getenv("KEYRACK_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// fanout returns a new Fanout with the hotel's configuration.
func (h *hotel) fanout() *sync.Fanout {
	h.t.Helper()
	q, err := sync.OpenQueue(h.redisURL)
	require.NoError(h.t, err)
	h.t.Cleanup(func() { _ = q.Close() })
	cfg := h.cfg
	cfg.Queue = q
	f, err := sync.New(cfg)
	require.NoError(h.t, err)
	return f
}

// startWorker runs a worker in the test's process until the test ends (or
// the returned Fanout's stop is called through stopWorker).
func (h *hotel) startWorker() *sync.Fanout {
	h.t.Helper()
	f := h.fanout()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.RunWorker(ctx) }()
	h.t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				h.t.Errorf("worker: %v", err)
			}
		case <-time.After(60 * time.Second):
			h.t.Errorf("the worker did not stop")
		}
	})
	return f
}

// room is channel's room code for room type i.
func (h *hotel) room(channel string, pool int) string { return fmt.Sprintf("%s-R%d", channel, pool) }

// book is channel selling rooms of room type R<pool> for nights from
// arrival: like a real channel it lowers its own count, then tells keyrack.
func (h *hotel) book(channel, id string, pool int, arrival inventory.Date, nights, rooms int) {
	h.t.Helper()
	require.NoError(h.t, h.tryBook(channel, id, pool, arrival, nights, rooms))
}

// tryBook is book for other goroutines than the test's.
func (h *hotel) tryBook(channel, id string, pool int, arrival inventory.Date, nights, rooms int) error {
	h.tc[channel].Sell(h.room(channel, pool), arrival, arrival.AddDays(nights), rooms)
	_, err := h.st.ApplyRevision(context.Background(), inventory.Revision{
		Property: h.code, Channel: channel, ExternalID: id, Kind: inventory.New, Mode: inventory.MustAccept,
		Stays: []inventory.RoomStay{{RoomType: fmt.Sprintf("R%d", pool), Arrival: arrival, Departure: arrival.AddDays(nights), Rooms: rooms}},
	})
	return err
}

// availability is what the pool offers: pool code → night → value.
func (h *hotel) availability(from, to inventory.Date) map[string]map[inventory.Date]int {
	h.t.Helper()
	ns, err := h.st.Availability(context.Background(), h.code, from, to)
	require.NoError(h.t, err)
	out := map[string]map[inventory.Date]int{}
	for _, n := range ns {
		if out[n.Pool] == nil {
			out[n.Pool] = map[inventory.Date]int{}
		}
		out[n.Pool][n.Night] = n.Available
	}
	return out
}

// mismatches lists where channels' values differ from the pool on
// [from, to); channels defaults to all.
func (h *hotel) mismatches(from, to inventory.Date, channels ...string) []string {
	if len(channels) == 0 {
		channels = h.channels
	}
	want := h.availability(from, to)
	var out []string
	for _, c := range channels {
		for i, p := range h.pools {
			for d := from; d.Before(to); d = d.AddDays(1) {
				got, ok := h.tc[c].Value(h.room(c, i), d)
				if !ok || got != want[p][d] {
					g := "nothing"
					if ok {
						g = fmt.Sprint(got)
					}
					out = append(out, fmt.Sprintf("%s %s %s: holds %s, pool offers %d", c, h.room(c, i), d, g, want[p][d]))
				}
			}
		}
	}
	return out
}

// waitConverged waits until every channel (or the ones named) holds the
// pool's value for every night of its horizon, and has nothing left to
// deliver.
func (h *hotel) waitConverged(channels ...string) {
	h.t.Helper()
	from, to := h.horizon()
	deadline := time.Now().Add(convergeTimeout)
	for {
		bad := h.mismatches(from, to, channels...)
		if len(bad) == 0 && h.inSync(channels...) {
			return
		}
		if time.Now().After(deadline) {
			if len(bad) > 10 {
				bad = append(bad[:10], fmt.Sprintf("… and %d more", len(bad)-10))
			}
			st, _ := h.status()
			h.t.Fatalf("channels did not converge within %s:\n%s\nstatus: %+v", convergeTimeout, strings.Join(bad, "\n"), st)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (h *hotel) status() ([]sync.ChannelStatus, error) {
	return h.fan.Status(context.Background(), h.code)
}

// insertChangeMark marks channel dirty on pool i over [from, to) through db,
// as the relay does.
func (h *hotel) insertChangeMark(db interface {
	Exec(context.Context, string, ...any) (pgconn.CommandTag, error)
}, channel string, pool int, from, to inventory.Date) {
	h.t.Helper()
	_, err := db.Exec(context.Background(), `INSERT INTO sync_dirty (property_id, channel_id, pool_id, resync, nights)
		VALUES ($1, $2, $3, false, datemultirange(daterange($4, $5)))`, h.id, h.chanIDs[channel], h.poolIDs[pool], from, to)
	require.NoError(h.t, err)
}

// inSync reports whether the channels (all when none named) have nothing
// waiting to be delivered.
func (h *hotel) inSync(channels ...string) bool {
	st, err := h.status()
	require.NoError(h.t, err)
	for _, s := range st {
		if (len(channels) == 0 || slices.Contains(channels, s.Channel)) && !s.InSync {
			return false
		}
	}
	return true
}

// horizon is the nights the tests look at: the channels' horizon from today.
func (h *hotel) horizon() (inventory.Date, inventory.Date) { return h.today, h.today.AddDays(30) }

// primed resyncs every channel so each holds every night of its horizon,
// waits for it, and resets the test channels' counters.
func (h *hotel) primed() *hotel {
	h.t.Helper()
	require.NoError(h.t, h.fan.Resync(context.Background(), h.code, ""))
	h.waitConverged()
	for _, c := range h.channels {
		h.tc[c].Reset()
	}
	return h
}

// pendingOutbox counts the availability rows the relay has not taken.
func (h *hotel) pendingOutbox() int {
	h.t.Helper()
	var n int
	require.NoError(h.t, h.st.DB().QueryRow(context.Background(),
		`SELECT count(*) FROM outbox WHERE done_at IS NULL AND topic = 'availability'`).Scan(&n))
	return n
}

// eventually polls cond until it holds or the timeout passes.
func eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// parallel runs fn(i) for i in [0, n) on workers goroutines.
func parallel(n, workers int, fn func(i int)) {
	var wg gosync.WaitGroup
	next := make(chan int)
	for range workers {
		wg.Go(func() {
			for i := range next {
				fn(i)
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}

// withoutRedis is a fan-out of cfg whose Redis does not answer (nothing
// listens on its port): a process started with a wrong REDIS_URL.
func withoutRedis(t *testing.T, cfg sync.Config) *sync.Fanout {
	t.Helper()
	q, err := sync.OpenQueue("redis://127.0.0.1:1/0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = q.Close() })
	cfg.Queue = q
	f, err := sync.New(cfg)
	require.NoError(t, err)
	return f
}

// runScheduler runs f's scheduler until the test ends.
func runScheduler(t *testing.T, f *sync.Fanout) {
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.RunScheduler(ctx) }()
	t.Cleanup(func() { stop(); <-done })
}

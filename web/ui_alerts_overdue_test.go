package web_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	gosync "sync"
	"testing"

	"github.com/keyrack/keyrack/connectors"
	"github.com/keyrack/keyrack/connectors/testjson"
	"github.com/keyrack/keyrack/inventory"
	"github.com/keyrack/keyrack/sync"
	"github.com/keyrack/keyrack/sync/synctest"
	"github.com/keyrack/keyrack/web"
	"github.com/stretchr/testify/require"
)

// When a part of a keyrack deployment does not run at all — no process
// runs the worker role, or the scheduler's — nothing fails: the work just
// never happens. The web process sees it in the database (work that is
// overdue and was not even attempted) and says so on the alerts page and
// in /readyz, without the missing process doing anything.

// overdueUI is the web role of keyrack — its server with a fan-out as
// `keyrack serve --roles web` wires it (a store to apply pulled bookings
// with) — on queues of the test's own in the real Redis. Its worker and
// scheduler run only when a test starts them.
type overdueUI struct {
	*uiEnv
	fanout *sync.Fanout
}

func newOverdueUI(t *testing.T, configure ...func(*sync.Config)) *overdueUI {
	t.Helper()
	redisURL := synctest.RedisURL(t)
	return newOverdueUIOn(t, redisURL, synctest.QueuePrefix(t, redisURL), configure...)
}

// newOverdueUIOn is newOverdueUI on the Redis at redisURL, whose queues'
// names start with prefix.
func newOverdueUIOn(t *testing.T, redisURL, prefix string, configure ...func(*sync.Config)) *overdueUI {
	t.Helper()
	o := &overdueUI{}
	o.uiEnv = newUI(t, func(c *web.Config) {
		q := openQueue(t, redisURL)
		cfg := sync.Config{DB: c.Store.DB(), Store: c.Store, Queue: q, QueuePrefix: prefix, Secrets: c.Secrets,
			Logger: slog.New(slog.DiscardHandler), ResyncAt: "off"}
		for _, f := range configure {
			f(&cfg)
		}
		f, err := sync.New(cfg)
		require.NoError(t, err)
		c.Queue, c.Fanout, o.fanout = q, f, f
	})
	return o
}

// start runs one of the fan-out's roles until the test ends, or until the
// returned stop is called.
func (o *overdueUI) start(role func(context.Context) error) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg gosync.WaitGroup
	wg.Go(func() { _ = role(ctx) })
	var once gosync.Once
	stop = func() { once.Do(func() { cancel(); wg.Wait() }) }
	o.t.Cleanup(stop)
	return stop
}

// pullChannel makes the property's pull-mode channel bookingcom, polled
// every minute.
func (o *overdueUI) pullChannel(property string) {
	o.t.Helper()
	_, err := o.st.CreateChannel(context.Background(), property, inventory.Channel{Code: "bookingcom", Kind: inventory.ChannelOTAPull,
		Enabled: true, OTASettings: inventory.OTASettings{PullURL: "https://supply.bookingcom.test/reservations", PullInterval: 60}}, inventory.System)
	require.NoError(o.t, err)
}

// readyzOf is /readyz as a monitor reads it.
func readyzOf(t *testing.T, e *uiEnv) map[string]any {
	t.Helper()
	p := e.get("/readyz")
	require.Equal(t, http.StatusOK, p.Status, "overdue work does not take keyrack out of service: %s", p.Body)
	var v map[string]any
	require.NoError(t, json.Unmarshal([]byte(p.Body), &v), "%s", p.Body)
	return v
}

// overdueOf is /readyz's overdue detail ("" when it has none of what).
func overdueOf(t *testing.T, e *uiEnv, what string) string {
	t.Helper()
	o, _ := readyzOf(t, e)["overdue"].(map[string]any)
	s, _ := o[what].(string)
	return s
}

func idsOf(t *testing.T, st *inventory.Store, property, channel string) (prop, ch int64) {
	t.Helper()
	require.NoError(t, st.DB().QueryRow(context.Background(), `SELECT p.id, c.id FROM properties p
		JOIN channels c ON c.property_id = p.id WHERE p.code = $1 AND c.code = $2`, property, channel).Scan(&prop, &ch))
	return prop, ch
}

const noWorkerRelays = "Changes are not being sent to the channels"

// No worker runs: a booking's changes wait in the outbox, and no channel
// nor PMS gets them. After a couple of minutes the alerts page of the
// property says so (not "All is well"), and /readyz names it; once a worker
// runs, the changes go out and the alert goes away by itself.
func TestChangesNoWorkerTakesAreAnAlertAndInReadyz(t *testing.T) {
	t.Parallel()
	a := newOverdueUI(t) // the web role only
	a.seedHotel("P", 2)
	a.seedHotel("Q", 2)
	ctx := context.Background()
	gridBook(t, a.st, "P", "expedia", "E-1", gridToday(t).AddDays(3), 2, 1)
	a.login("victor")

	p := a.get("/admin/p/P/alerts")
	require.Contains(t, p.Body, "All is well.", "a change just made is not overdue")
	require.Empty(t, overdueOf(t, a.uiEnv, "relay"))

	_, err := a.st.DB().Exec(ctx, `UPDATE outbox SET created_at = now() - interval '10 minutes'`)
	require.NoError(t, err)
	var waiting int
	require.NoError(t, a.st.DB().QueryRow(ctx, `SELECT count(*) FROM outbox WHERE done_at IS NULL`).Scan(&waiting))
	require.Positive(t, waiting)

	p = a.get("/admin/p/P/alerts")
	require.Equal(t, http.StatusOK, p.Status)
	require.NotContains(t, p.Body, "All is well")
	require.Contains(t, p.Body, "<h1>Alerts (1)</h1>")
	require.Contains(t, p.Body, noWorkerRelays)
	require.Contains(t, p.Body, "no keyrack worker has taken them")
	require.Contains(t, p.Body, "10m ago")
	require.Regexp(t, `\b\d+ changes? \(bookings, cancellations, staff edits\)`, p.Body)
	require.Contains(t, a.get("/admin/p/Q/alerts").Body, "All is well.", "Q has nothing waiting")

	r := readyzOf(t, a.uiEnv)
	require.Equal(t, "degraded", r["status"])
	require.NotContains(t, r, "failed", "PostgreSQL and Redis answer")
	relay := overdueOf(t, a.uiEnv, "relay")
	require.Contains(t, relay, "no keyrack worker has taken them")
	require.NotContains(t, relay, "expedia", "readyz is public: it names no property nor channel")

	// A worker starts: it relays the changes and the alert is gone.
	a.start(a.fanout.RunWorker)
	eventuallyUI(t, "the alert to go once a worker relays the changes", func() bool {
		return strings.Contains(a.get("/admin/p/P/alerts").Body, "All is well.")
	})
	require.Equal(t, "ok", readyzOf(t, a.uiEnv)["status"])
}

// The relay took a change and marked a channel for it, but no worker
// delivers (it stopped, or cannot reach Redis): the channel's changes are
// overdue and no delivery was even attempted. A channel whose deliveries
// are attempted and fail is not this alert's (its failures are on the
// channels page, its dead letter on this one).
func TestChangesNoWorkerDeliversAreAnAlertAndInReadyz(t *testing.T) {
	t.Parallel()
	a := newOverdueUI(t, func(c *sync.Config) {
		c.Connectors = connectors.Registry{inventory.ChannelOTAPush: &testjson.Connector{}}
	})
	a.seedHotel("P", 2)
	ctx := context.Background()
	endpoint := "http://127.0.0.1:1/ota" // never reached: no worker runs
	_, err := a.st.UpdateChannel(ctx, "P", "expedia", inventory.ChannelPatch{Endpoint: &endpoint, HotelCode: new("EXP-P")}, inventory.System)
	require.NoError(t, err)
	gridBook(t, a.st, "P", "pms", "W-1", gridToday(t).AddDays(3), 2, 1)
	prop, ch := idsOf(t, a.st, "P", "expedia")
	// As the relay leaves it: the change taken from the outbox and expedia
	// marked for the pool's nights, 10 minutes ago; nothing since.
	_, err = a.st.DB().Exec(ctx, `UPDATE outbox SET created_at = now() - interval '10 minutes', done_at = now() - interval '10 minutes'`)
	require.NoError(t, err)
	_, err = a.st.DB().Exec(ctx, `INSERT INTO sync_dirty (property_id, channel_id, pool_id, nights, since)
		SELECT $1, $2, id, datemultirange(daterange($3::date, $3::date + 2)), now() - interval '10 minutes' FROM pools WHERE property_id = $1`,
		prop, ch, gridToday(t).AddDays(3).String())
	require.NoError(t, err)
	_, err = a.st.DB().Exec(ctx, `INSERT INTO sync_channels (property_id, channel_id, last_delivery_at) VALUES ($1, $2, now() - interval '1 hour')`, prop, ch)
	require.NoError(t, err)

	a.login("victor")
	p := a.get("/admin/p/P/alerts")
	require.Equal(t, http.StatusOK, p.Status)
	require.NotContains(t, p.Body, "All is well")
	require.Contains(t, p.Body, "<h1>Alerts (1)</h1>")
	require.Contains(t, p.Body, noWorkerRelays)
	require.Contains(t, p.Body, `href="/admin/p/P/channels/expedia"`)
	require.Contains(t, p.Body, "no keyrack worker has delivered to it since")
	require.Contains(t, p.Body, "1h ago", "when it was last delivered to")
	r := readyzOf(t, a.uiEnv)
	require.Equal(t, "degraded", r["status"])
	require.Contains(t, overdueOf(t, a.uiEnv, "deliveries"), "1 channel")
	require.Empty(t, overdueOf(t, a.uiEnv, "relay"), "the relay did its part")

	// The channel asked keyrack to wait (HTTP 429, Retry-After): waiting
	// is keyrack doing what it should.
	_, err = a.st.DB().Exec(ctx, `UPDATE sync_channels SET paused_until = now() + interval '10 minutes' WHERE channel_id = $1`, ch)
	require.NoError(t, err)
	require.Contains(t, a.get("/admin/p/P/alerts").Body, "All is well.")
	_, err = a.st.DB().Exec(ctx, `UPDATE sync_channels SET paused_until = now() - interval '10 minutes' WHERE channel_id = $1`, ch)
	require.NoError(t, err)
	require.Contains(t, a.get("/admin/p/P/alerts").Body, noWorkerRelays, "the pause is long over")

	// A delivery attempted since, and failing: the channel's own problem,
	// shown where its failures are — not "no worker".
	_, err = a.st.DB().Exec(ctx, `UPDATE sync_channels SET failures = 1, last_error = 'HTTP 503', last_error_at = now() WHERE channel_id = $1`, ch)
	require.NoError(t, err)
	require.Contains(t, a.get("/admin/p/P/alerts").Body, "All is well.")
	require.Equal(t, "ok", readyzOf(t, a.uiEnv)["status"])
}

// Redis is unreachable for minutes while the web process, the worker and
// PostgreSQL run: bookings are taken and the relay marks the channels, but
// nothing is delivered. /readyz names Redis (still ready: bookings are
// kept), and once a channel's changes have waited for minutes the alerts
// page says so, on the page staff look at rather than only in the log.
func TestChangesWaitingWhileRedisIsDownAreAnAlert(t *testing.T) {
	t.Parallel()
	synctest.RedisURL(t) // same environment as the other Redis tests
	a := newOverdueUIOn(t, "redis://127.0.0.1:1/0", "", func(c *sync.Config) {
		c.Connectors = connectors.Registry{inventory.ChannelOTAPush: &testjson.Connector{}}
	})
	a.seedHotel("P", 2)
	ctx := context.Background()
	endpoint := "http://127.0.0.1:1/ota" // never reached: nothing is delivered
	_, err := a.st.UpdateChannel(ctx, "P", "expedia", inventory.ChannelPatch{Endpoint: &endpoint, HotelCode: new("EXP-P")}, inventory.System)
	require.NoError(t, err)
	a.start(a.fanout.RunWorker)
	gridBook(t, a.st, "P", "pms", "W-1", gridToday(t).AddDays(3), 2, 1)
	eventuallyUI(t, "the relay to mark expedia", func() bool {
		var n int
		require.NoError(t, a.st.DB().QueryRow(ctx, `SELECT count(*) FROM sync_dirty`).Scan(&n))
		return n > 0
	})
	a.login("victor")
	require.Contains(t, a.get("/admin/p/P/alerts").Body, "All is well", "marked just now: not overdue yet")

	// As if Redis had been down for ten minutes since.
	_, err = a.st.DB().Exec(ctx, `UPDATE sync_dirty SET since = now() - interval '10 minutes'`)
	require.NoError(t, err)
	p := a.get("/admin/p/P/alerts")
	require.Contains(t, p.Body, noWorkerRelays)
	require.Contains(t, p.Body, "Availability changes for expedia have waited since")
	require.Contains(t, p.Body, "reaches Redis")
	require.Contains(t, p.Body, "The task queue (Redis) did not answer")
	r := readyzOf(t, a.uiEnv)
	require.Equal(t, "degraded", r["status"])
	require.Equal(t, []any{"redis"}, r["failed"])
	require.Contains(t, overdueOf(t, a.uiEnv, "deliveries"), "1 channel has had changes waiting 10m")
}

// No scheduler leads: a pull-mode OTA is never polled, so its bookings
// never reach keyrack — and the stale-pull check, the scheduler's own, never
// runs either. The alerts page says the channel has not been polled for far
// longer than its interval, and why; with a scheduler asking for polls but
// no worker carrying them out, it says that instead. Once polls fail while
// they are made, the stale-pull incident (with its error) is the alert, not
// this one.
func TestAPullChannelNobodyPollsIsAnAlertAndInReadyz(t *testing.T) {
	t.Parallel()
	a := newOverdueUI(t)
	a.seedHotel("P", 1)
	ctx := context.Background()
	a.pullChannel("P")
	a.login("victor")
	require.Contains(t, a.get("/admin/p/P/alerts").Body, "All is well.", "a channel just made is not overdue")

	_, err := a.st.DB().Exec(ctx, `UPDATE channels SET created_at = now() - interval '1 hour', enabled_at = now() - interval '1 hour'
		WHERE code = 'bookingcom'`)
	require.NoError(t, err)
	p := a.get("/admin/p/P/alerts")
	require.NotContains(t, p.Body, "All is well")
	require.Contains(t, p.Body, "<h1>Alerts (1)</h1>")
	require.Contains(t, p.Body, "keyrack has not polled bookingcom")
	require.Contains(t, p.Body, "should poll it every 1m")
	require.Contains(t, p.Body, "No keyrack scheduler is running")
	require.Contains(t, p.Body, `href="/admin/p/P/channels/bookingcom"`)
	require.Equal(t, "degraded", readyzOf(t, a.uiEnv)["status"])
	require.Contains(t, overdueOf(t, a.uiEnv, "pulls"), "no keyrack scheduler leads")

	// A scheduler leads and asks for polls; no worker carries them out.
	stop := a.start(a.fanout.RunScheduler)
	eventuallyUI(t, "the page to say no worker polls", func() bool {
		return strings.Contains(a.get("/admin/p/P/alerts").Body, "no keyrack worker carries them out")
	})
	require.NotContains(t, a.get("/admin/p/P/alerts").Body, "No keyrack scheduler is running")
	stop()

	// Polls made and failing for an hour: the stale-pull incident says so.
	_, err = a.st.DB().Exec(ctx, `UPDATE sync_channels SET pulled_at = now(), pull_failing_since = now() - interval '1 hour',
		pull_error = 'fetch failed: HTTP 401', pull_error_at = now()`)
	require.NoError(t, err)
	n, err := a.fanout.RaiseStalePulls(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	p = a.get("/admin/p/P/alerts")
	require.Contains(t, p.Body, "<h1>Alerts (1)</h1>", "one alert, not two")
	require.Contains(t, p.Body, "Channels keyrack cannot poll")
	require.NotContains(t, p.Body, "keyrack has not polled bookingcom")
	require.Empty(t, overdueOf(t, a.uiEnv, "pulls"))
}

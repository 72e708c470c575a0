package web_test

import (
	"context"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/keyrack/keyrack/inventory"
	"github.com/keyrack/keyrack/sync"
	"github.com/stretchr/testify/require"
)

// No scheduler leads: its work for every property — the nightly resync,
// the checks that raise the stale-feed and unacknowledged-revision alerts,
// the clean-ups — just never happens, and a property with no pull-mode
// channel had nothing to show for it. After minutes with no scheduler, every
// property's alerts page and /readyz say so; a failover, when the lead is
// free for seconds, is not an alert.

const noScheduler = "keyrack&#39;s regular work is not being done"

// backdate sets when the scheduler last led and when the properties were
// made, as if that many minutes ago.
func backdate(t *testing.T, st *inventory.Store, ledMinutesAgo, madeMinutesAgo int) {
	t.Helper()
	ctx := context.Background()
	_, err := st.DB().Exec(ctx, `UPDATE scheduler_lead SET led_at = now() - $1 * interval '1 minute'`, ledMinutesAgo)
	require.NoError(t, err)
	_, err = st.DB().Exec(ctx, `UPDATE properties SET created_at = now() - $1 * interval '1 minute'`, madeMinutesAgo)
	require.NoError(t, err)
}

func TestNoSchedulerForMinutesIsAnAlertOnEveryPropertyAndInReadyz(t *testing.T) {
	t.Parallel()
	a := newOverdueUI(t, func(c *sync.Config) { // the web role only; a scheduler when started
		c.ScheduleInterval, c.ElectionInterval = 50*time.Millisecond, 50*time.Millisecond
	})
	a.seedHotel("P", 1) // no pull-mode channel: nothing else would say it
	a.seedHotel("Q", 1)
	a.login("victor")
	require.Contains(t, a.get("/admin/p/P/alerts").Body, "All is well.", "a new installation is not overdue yet")
	require.Empty(t, overdueOf(t, a.uiEnv, "scheduler"))

	// Ten minutes with no scheduler.
	backdate(t, a.st, 10, 60*24)
	for _, code := range []string{"P", "Q"} {
		p := a.get("/admin/p/" + code + "/alerts")
		require.Equal(t, http.StatusOK, p.Status)
		require.NotContains(t, p.Body, "All is well", code)
		require.Contains(t, p.Body, "<h1>Alerts (1)</h1>", code)
		require.Contains(t, p.Body, noScheduler, code)
		require.Contains(t, p.Body, "No keyrack scheduler has run since", code)
		require.Contains(t, p.Body, "(10m ago)", code)
		require.Contains(t, p.Body, "nightly resync", code)
		require.Contains(t, p.Body, "keyrack serve --roles scheduler", code)
		require.Contains(t, a.get("/admin/p/"+code+"/grid").Body, menuAlerting, "the menu marks it too")
	}
	r := readyzOf(t, a.uiEnv)
	require.Equal(t, "degraded", r["status"])
	require.NotContains(t, r, "failed", "PostgreSQL and Redis answer")
	s := overdueOf(t, a.uiEnv, "scheduler")
	require.Contains(t, s, "no keyrack scheduler has led for 10m")
	require.Contains(t, s, "keyrack serve --roles scheduler")
	require.NotRegexp(t, `\b[PQ]\b`, s, "readyz is public: it names no property")

	// A new installation whose scheduler never ran counts from its first
	// property, not from the migration long before.
	backdate(t, a.st, 60*24, 1)
	require.Contains(t, a.get("/admin/p/P/alerts").Body, "All is well.", "made a minute ago")
	backdate(t, a.st, 60*24, 7)
	p := a.get("/admin/p/P/alerts")
	require.Contains(t, p.Body, noScheduler)
	require.Contains(t, p.Body, "(7m ago)", "since the first property was made")

	// A scheduler runs: it leads, and records that it does at each round.
	ctx := context.Background()
	ledAt := func() (t0 time.Time) {
		require.NoError(t, a.st.DB().QueryRow(ctx, `SELECT led_at FROM scheduler_lead`).Scan(&t0))
		return t0
	}
	before := ledAt()
	stop := a.start(a.fanout.RunScheduler)
	eventuallyUI(t, "the alert to go once a scheduler leads", func() bool {
		return strings.Contains(a.get("/admin/p/P/alerts").Body, "All is well.")
	})
	// The lead's lock shows before the leader's first record of it.
	eventuallyUI(t, "the leader to record its lead", func() bool { return ledAt().After(before) })
	first := ledAt()
	eventuallyUI(t, "the leader to record its lead again at its next round", func() bool { return ledAt().After(first) })
	require.Equal(t, "ok", readyzOf(t, a.uiEnv)["status"])

	// It stops, and none takes over for a while: a failover shorter than
	// SchedulerOverdue is no alert, though no one leads now.
	stop()
	for _, minutes := range []int{0, 4} {
		backdate(t, a.st, minutes, 60*24)
		require.Contains(t, a.get("/admin/p/P/alerts").Body, "All is well.", "led %d minutes ago", minutes)
		require.Empty(t, overdueOf(t, a.uiEnv, "scheduler"))
	}
	backdate(t, a.st, 6, 60*24)
	// The stopped scheduler closed its session, which PostgreSQL ends (and
	// its lock with it) a moment later: until then it still holds the lead.
	eventuallyUI(t, "the alert, led 6 minutes ago", func() bool {
		return strings.Contains(a.get("/admin/p/P/alerts").Body, noScheduler)
	})

	// A leader busy with long work (a purge after an outage) has not
	// recorded its lead for minutes, but holds it: no alert.
	conn, err := a.st.DB().Acquire(ctx)
	require.NoError(t, err)
	defer conn.Release()
	_, err = conn.Exec(ctx, `SELECT pg_advisory_lock(hashtextextended(current_schema() || '/keyrack/sync/scheduler', 0))`)
	require.NoError(t, err)
	require.Contains(t, a.get("/admin/p/P/alerts").Body, "All is well.", "a scheduler holds the lead")
	require.Empty(t, overdueOf(t, a.uiEnv, "scheduler"))
	_, err = conn.Exec(ctx, `SELECT pg_advisory_unlock_all()`)
	require.NoError(t, err)
	require.Contains(t, a.get("/admin/p/P/alerts").Body, noScheduler)
}

// A pull-mode channel not polled because no scheduler has led for minutes:
// the channel's row says which bookings are missing and points to the
// scheduler's alert rather than saying again what to start.
func TestAPullChannelNotPolledForWantOfASchedulerPointsToItsAlert(t *testing.T) {
	t.Parallel()
	a := newOverdueUI(t)
	a.seedHotel("P", 1)
	ctx := context.Background()
	a.pullChannel("P")
	_, err := a.st.DB().Exec(ctx, `UPDATE channels SET created_at = now() - interval '1 hour', enabled_at = now() - interval '1 hour'`)
	require.NoError(t, err)
	backdate(t, a.st, 60, 60*24)
	a.login("victor")
	p := a.get("/admin/p/P/alerts")
	require.Contains(t, p.Body, "<h1>Alerts (2)</h1>", "the scheduler, and the channel whose bookings are missing")
	require.Contains(t, p.Body, noScheduler)
	require.Contains(t, p.Body, "keyrack has not polled bookingcom")
	require.Contains(t, p.Body, "No keyrack scheduler is running: it is what polls pull-mode channels (see &#34;"+noScheduler+"&#34; above)")
	require.Equal(t, 1, strings.Count(p.Body, "keyrack serve --roles scheduler"), "what to start is said once")
	require.Contains(t, overdueOf(t, a.uiEnv, "pulls"), "no keyrack scheduler leads (see scheduler)")
	require.Contains(t, overdueOf(t, a.uiEnv, "scheduler"), "for 1h")
}

// /metrics says how long no scheduler has led: 0 while one does.
func TestMetricsShowHowLongNoSchedulerHasLed(t *testing.T) {
	t.Parallel()
	e := newAPI(t)
	e.hotel("P", 1)
	f, _, _ := e.withFanout(func(c *sync.Config) {
		c.ScheduleInterval, c.ElectionInterval, c.ResyncAt = 50*time.Millisecond, 50*time.Millisecond, "off"
	})
	metric := func() float64 {
		t.Helper()
		body := e.metrics()
		m := regexp.MustCompile(`(?m)^keyrack_scheduler_unled_seconds (\S+)$`).FindStringSubmatch(body)
		require.NotNil(t, m, "%s", body)
		v, err := strconv.ParseFloat(m[1], 64)
		require.NoError(t, err)
		return v
	}
	require.Less(t, metric(), 60.0, "installed just now")
	backdate(t, e.st, 10, 60*24)
	require.InDelta(t, 600, metric(), 30)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = f.RunScheduler(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	eventuallyUI(t, "the gauge to be 0 while a scheduler leads", func() bool { return metric() == 0 })
	cancel()
	<-done
	require.Less(t, metric(), 60.0, "it led moments ago")
}

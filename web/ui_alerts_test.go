package web_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	gosync "sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/keyrack/keyrack/inventory"
	"github.com/keyrack/keyrack/sync"
	"github.com/keyrack/keyrack/sync/synctest"
	"github.com/keyrack/keyrack/web"
	"github.com/stretchr/testify/require"
)

// alertsEnv is a UI whose server has a fan-out on queues of the test's own
// in the real Redis.
type alertsEnv struct {
	*uiEnv
	fanout    *sync.Fanout
	redisOpt  asynq.RedisConnOpt
	redisURL  string
	queue     string // the fan-out's critical queue
	inspector *asynq.Inspector
}

func newAlertsUI(t *testing.T, configure ...func(*sync.Config)) *alertsEnv {
	t.Helper()
	redisURL := synctest.RedisURL(t)
	prefix := synctest.QueuePrefix(t, redisURL)
	a := &alertsEnv{queue: prefix + "critical", redisURL: redisURL}
	a.uiEnv = newUI(t, func(c *web.Config) {
		q := openQueue(t, redisURL)
		cfg := sync.Config{DB: c.Store.DB(), Queue: q, QueuePrefix: prefix, Secrets: c.Secrets, Logger: slog.New(slog.DiscardHandler)}
		for _, f := range configure {
			f(&cfg)
		}
		f, err := sync.New(cfg)
		require.NoError(t, err)
		c.Queue, c.Fanout, a.fanout = q, f, f
	})
	opt, err := asynq.ParseRedisURI(redisURL)
	require.NoError(t, err)
	a.redisOpt = opt
	a.inspector = asynq.NewInspector(opt)
	t.Cleanup(func() { _ = a.inspector.Close() })
	return a
}

// run runs the fan-out's worker and scheduler until the test ends.
func (a *alertsEnv) run() {
	ctx, cancel := context.WithCancel(context.Background())
	var roles gosync.WaitGroup
	roles.Go(func() { _ = a.fanout.RunWorker(ctx) })
	roles.Go(func() { _ = a.fanout.RunScheduler(ctx) })
	// The roles stop before the queue's connections close (cleanups run last first).
	a.t.Cleanup(func() { cancel(); roles.Wait() })
}

// deadLetter puts a delivery to channel of property in asynq's archive, as
// a delivery that ran out of retries is kept, and returns its task id.
func (a *alertsEnv) deadLetter(property, channel string) string {
	a.t.Helper()
	return archiveDelivery(a.t, a.st, a.redisURL, a.queue, property, channel)
}

// overbook sells two must-accept bookings of one night on a 1-room pool.
func overbook(t *testing.T, st *inventory.Store, property string) {
	t.Helper()
	for _, id := range []string{"E-1", "E-2"} {
		_, err := st.ApplyRevision(context.Background(), inventory.Revision{Property: property, Channel: "expedia", ExternalID: id,
			Kind: inventory.New, Mode: inventory.MustAccept,
			Stays: []inventory.RoomStay{{RoomType: "DBL-STD", Arrival: inventory.MustDate("2027-10-01"), Departure: inventory.MustDate("2027-10-02"), Rooms: 1}}})
		require.NoError(t, err)
	}
}

var resolveAction = regexp.MustCompile(`action="(/admin/p/P/alerts/incidents/(\d+)/resolve)"`)

func openIncidents(t *testing.T, st *inventory.Store, property string) []inventory.Incident {
	t.Helper()
	incs, err := st.Incidents(context.Background(), property, true)
	require.NoError(t, err)
	return incs
}

// An overbooked night is listed with its bookings; once staff relocated
// the guest, "resolve" closes the incident in the store, audited as them.
func TestAlertsOverbookingIsListedAndResolved(t *testing.T) {
	t.Parallel()
	e := newUI(t)
	e.seedHotel("P", 1)
	overbook(t, e.st, "P")
	e.login("anna")

	p := e.get("/admin/p/P/alerts")
	require.Equal(t, http.StatusOK, p.Status)
	require.Contains(t, p.Body, "<h1>Alerts (1)</h1>")
	require.Contains(t, p.Body, "<title>Alerts (1) · Hotel P · keyrack</title>")
	require.Contains(t, p.Body, "Overbooked nights")
	require.Contains(t, p.Body, "2027-10-01")
	// The booking that went past the limit is linked, and so is the list
	// of every booking of that night.
	r, err := e.st.Reservation(context.Background(), "P", "expedia", "E-2")
	require.NoError(t, err)
	require.Contains(t, p.Body, `href="/admin/p/P/bookings/`+strconv.FormatInt(r.ID, 10)+`"`)
	require.Contains(t, p.Body, `href="/admin/p/P/bookings?from=2027-10-01&amp;to=2027-10-02&amp;status=confirmed"`)
	require.Contains(t, p.Body, "The task queue is not connected to this server")
	m := resolveAction.FindStringSubmatch(p.Body)
	require.NotNil(t, m, p.Body)
	incs := openIncidents(t, e.st, "P")
	require.Len(t, incs, 1)
	require.Equal(t, "overbooking", incs[0].Kind)
	require.Equal(t, strconv.FormatInt(incs[0].ID, 10), m[2])

	p = e.post("/admin/p/P/alerts", m[1], nil)
	require.Equal(t, http.StatusSeeOther, p.Status, p.Body)
	require.Contains(t, p.Header.Get("Location"), "/admin/p/P/alerts?flash=")
	require.Empty(t, openIncidents(t, e.st, "P"), "the incident is resolved in the store")
	all, err := e.st.Incidents(context.Background(), "P", false)
	require.NoError(t, err)
	require.Len(t, all, 1)
	require.NotNil(t, all[0].ResolvedBy)
	require.Contains(t, *all[0].ResolvedBy, "anna")

	p = e.get(p.Header.Get("Location"))
	require.Contains(t, p.Body, `class="flash"`)
	require.Contains(t, p.Body, "The overbooking of pool DBL on 2027-10-01 is resolved.")
	require.Contains(t, p.Body, "All is well")

	// Resolving it again finds nothing open.
	p = e.post("/admin/p/P/alerts", m[1], nil)
	require.Equal(t, http.StatusNotFound, p.Status)
}

// A booking for a room code no mapping knows is listed with the code, a
// link to the channel's mappings and one to the booking.
func TestAlertsUnmappedBookingLinksToTheMapping(t *testing.T) {
	t.Parallel()
	e := newUI(t)
	e.seedHotel("P", 2)
	out, err := e.st.ApplyRevision(context.Background(), inventory.Revision{Property: "P", Channel: "expedia", ExternalID: "E-9", Kind: inventory.New,
		Stays: []inventory.RoomStay{{ChannelRoom: "PENTHOUSE", Arrival: inventory.MustDate("2027-12-01"), Departure: inventory.MustDate("2027-12-03"), Rooms: 1}}})
	require.NoError(t, err)
	require.True(t, out.Parked)
	e.login("anna")

	p := e.get("/admin/p/P/alerts")
	require.Equal(t, http.StatusOK, p.Status)
	require.Contains(t, p.Body, "Bookings for unmapped rooms")
	require.Contains(t, p.Body, "<code>PENTHOUSE</code>")
	require.Contains(t, p.Body, `href="/admin/p/P/channels/expedia#unmapped"`)
	require.Contains(t, p.Body, `href="/admin/p/P/bookings/`+strconv.FormatInt(out.ReservationID, 10)+`"`)
	require.Contains(t, p.Body, ">E-9</a>")
	require.Regexp(t, resolveAction, p.Body)
}

// An export calendar no platform has fetched for a day is an alert, with
// the calendar's URL start and a link to the channel's export calendars;
// the channels list and the channel's page flag it too.
func TestAnExportCalendarNoPlatformFetchesIsAnAlert(t *testing.T) {
	t.Parallel()
	e := newUI(t)
	e.seedHotel("P", 1)
	ctx := context.Background()
	_, err := e.st.CreateChannel(ctx, "P", inventory.Channel{Code: "airbnb", Kind: inventory.ChannelICal, Enabled: true}, inventory.System)
	require.NoError(t, err)
	tok, token, err := e.st.CreateExportToken(ctx, "P", "airbnb", "DBL-STD", inventory.System)
	require.NoError(t, err)
	_, err = e.st.DB().Exec(ctx, `UPDATE ical_export_tokens SET created_at = now() - interval '2 days'`)
	require.NoError(t, err)
	n, err := e.st.RaiseStaleExports(ctx, 24*time.Hour)
	require.NoError(t, err)
	require.Equal(t, 1, n)

	e.login("anna")
	p := e.get("/admin/p/P/alerts")
	require.Equal(t, http.StatusOK, p.Status)
	require.Contains(t, p.Body, "Export calendars no platform fetches")
	require.Contains(t, p.Body, "<code>/ical/"+tok.Prefix+"…</code>")
	require.Contains(t, p.Body, `href="/admin/p/P/channels/airbnb#tokens-title"`)
	require.NotContains(t, p.Body, "Other alerts")
	require.NotContains(t, p.Body, "All is well")
	row := rowOf(t, e.get("/admin/p/P/channels").Body, "airbnb")
	require.Contains(t, row, "1 export calendar not fetched")
	require.Contains(t, row, "not fetched yet")
	require.Contains(t, e.get("/admin/p/P/channels/airbnb").Body, "no platform fetches it")

	// Fetched: the list says when; revoked, that the platform gets nothing.
	_, err = e.st.LookupExportToken(ctx, token)
	require.NoError(t, err)
	require.Contains(t, rowOf(t, e.get("/admin/p/P/channels").Body, "airbnb"), "last fetched")
	_, err = e.st.RevokeExportToken(ctx, "P", "airbnb", tok.ID, inventory.System)
	require.NoError(t, err)
	require.Contains(t, rowOf(t, e.get("/admin/p/P/channels").Body, "airbnb"), "no export calendar: the platform gets no availability")
}

// A pull-mode channel keyrack has got nothing from for too long is an
// alert, with since when, its last error and a link to the channel.
func TestAPullChannelKeyrackCannotPollIsAnAlert(t *testing.T) {
	t.Parallel()
	a := newAlertsUI(t)
	a.seedHotel("P", 1)
	ctx := context.Background()
	ch, err := a.st.CreateChannel(ctx, "P", inventory.Channel{Code: "bookingcom", Kind: inventory.ChannelOTAPull, Enabled: true,
		OTASettings: inventory.OTASettings{PullURL: "https://supply.bookingcom.test/reservations", PullInterval: 60}}, inventory.System)
	require.NoError(t, err)
	var prop int64
	require.NoError(t, a.st.DB().QueryRow(ctx, `SELECT id FROM properties WHERE code = 'P'`).Scan(&prop))
	// As the polls record it: failing for an hour, the last error kept.
	_, err = a.st.DB().Exec(ctx, `INSERT INTO sync_channels (property_id, channel_id, pulled_at, pull_failing_since, pull_error, pull_error_at)
		VALUES ($1, $2, now(), now() - interval '1 hour', 'fetch failed: GET P/bookingcom: HTTP 401: wrong credentials', now())`, prop, ch.ID)
	require.NoError(t, err)
	_, err = a.st.DB().Exec(ctx, `UPDATE sync_channels SET pulled_at = now() - interval '1 hour'`)
	require.NoError(t, err)
	n, err := a.fanout.RaiseStalePulls(ctx)
	require.NoError(t, err)
	require.Zero(t, n, "not polled lately (disabled until now, say): its next poll tells")
	_, err = a.st.DB().Exec(ctx, `UPDATE sync_channels SET pulled_at = now()`)
	require.NoError(t, err)
	n, err = a.fanout.RaiseStalePulls(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n)

	a.login("anna")
	p := a.get("/admin/p/P/alerts")
	require.Equal(t, http.StatusOK, p.Status)
	require.Contains(t, p.Body, "Channels keyrack cannot poll")
	require.Contains(t, p.Body, "HTTP 401: wrong credentials")
	require.Contains(t, p.Body, `href="/admin/p/P/channels/bookingcom"`)
	require.Regexp(t, `<td>\d{4}-\d\d-\d\d \d\d:\d\d WES?T</td>`, p.Body, "failing since, in Lisbon's time")
	require.NotContains(t, p.Body, "Other alerts")

	// Polled well again: the next check resolves it.
	_, err = a.st.DB().Exec(ctx, `UPDATE sync_channels SET pull_failing_since = NULL, pull_error = NULL, pull_ok_at = now()`)
	require.NoError(t, err)
	n, err = a.fanout.RaiseStalePulls(ctx)
	require.NoError(t, err)
	require.Zero(t, n)
	require.Contains(t, a.get("/admin/p/P/alerts").Body, "All is well")
}

// A stale iCal feed is listed; "sync now" makes its poll due at once.
func TestAlertsStaleFeedSyncNowMakesItDue(t *testing.T) {
	t.Parallel()
	e := newUI(t)
	e.seedHotel("P", 1)
	ctx := context.Background()
	sec, err := inventory.NewSecrets("test secret of keyrack's UI tests")
	require.NoError(t, err)
	_, err = e.st.CreateChannel(ctx, "P", inventory.Channel{Code: "airbnb", Kind: inventory.ChannelICal, Enabled: true}, inventory.System)
	require.NoError(t, err)
	_, err = e.st.SetICalFeed(ctx, sec, "P", "airbnb", "DBL-STD", "https://www.airbnb.com/calendar/ical/1.ics?s=x", 0, inventory.System)
	require.NoError(t, err)
	due, err := e.st.DueICalFeeds(ctx, sec, 10)
	require.NoError(t, err)
	require.Len(t, due, 1, "the poller takes the new feed, and polls it again in 15 minutes")
	due, err = e.st.DueICalFeeds(ctx, sec, 10)
	require.NoError(t, err)
	require.Empty(t, due)
	n, err := e.st.RaiseStaleFeeds(ctx, -time.Minute)
	require.NoError(t, err)
	require.Equal(t, 1, n)

	e.login("anna")
	p := e.get("/admin/p/P/alerts")
	require.Equal(t, http.StatusOK, p.Status)
	require.Contains(t, p.Body, "Stale iCal feeds")
	require.Contains(t, p.Body, `href="/admin/p/P/channels/airbnb#feeds-title"`)
	m := regexp.MustCompile(`action="(/admin/p/P/alerts/incidents/\d+/sync)"`).FindStringSubmatch(p.Body)
	require.NotNil(t, m, p.Body)
	require.Contains(t, p.Body, "Sync airbnb now")

	p = e.post("/admin/p/P/alerts", m[1], nil)
	require.Equal(t, http.StatusSeeOther, p.Status, p.Body)
	due, err = e.st.DueICalFeeds(ctx, sec, 10)
	require.NoError(t, err)
	require.Len(t, due, 1, "sync now made the feed due")
	require.Equal(t, "airbnb", due[0].Channel)
	require.Len(t, openIncidents(t, e.st, "P"), 1, "the alert stays until a good fetch")

	// "sync" on an alert that is not about a feed is refused.
	overbook(t, e.st, "P")
	incs := openIncidents(t, e.st, "P")
	var over int64
	for _, i := range incs {
		if i.Kind == "overbooking" {
			over = i.ID
		}
	}
	p = e.post("/admin/p/P/alerts", "/admin/p/P/alerts/incidents/"+strconv.FormatInt(over, 10)+"/sync", nil)
	require.Equal(t, http.StatusBadRequest, p.Status)
}

var deadLetterForm = regexp.MustCompile(`name="queue" value="([^"]+)"><input type="hidden" name="task" value="([^"]+)">`)

// A delivery of this property that ran out of retries is listed (another
// property's is not); "retry" puts it back in the queue.
func TestAlertsDeadLetterIsRetried(t *testing.T) {
	t.Parallel()
	a := newAlertsUI(t)
	a.seedHotel("P", 2)
	a.seedHotel("Q", 2)
	mine := a.deadLetter("P", "expedia")
	theirs := a.deadLetter("Q", "expedia")
	a.login("anna")

	p := a.get("/admin/p/P/alerts")
	require.Equal(t, http.StatusOK, p.Status)
	require.Contains(t, p.Body, "<h1>Alerts (1)</h1>")
	require.Contains(t, p.Body, "Deliveries that ran out of retries")
	require.Contains(t, p.Body, "Retry delivery to expedia")
	forms := deadLetterForm.FindAllStringSubmatch(p.Body, -1)
	require.Len(t, forms, 1, "only P's dead letter is listed")
	require.Equal(t, a.queue, forms[0][1])
	require.Equal(t, mine, forms[0][2])

	// P's page cannot retry Q's delivery.
	p = a.post("/admin/p/P/alerts", "/admin/p/P/alerts/dead-letters/retry", url.Values{"queue": {a.queue}, "task": {theirs}})
	require.Equal(t, http.StatusNotFound, p.Status)
	info, err := a.inspector.GetTaskInfo(a.queue, theirs)
	require.NoError(t, err)
	require.Equal(t, asynq.TaskStateArchived, info.State)

	p = a.post("/admin/p/P/alerts", "/admin/p/P/alerts/dead-letters/retry", url.Values{"queue": {forms[0][1]}, "task": {forms[0][2]}})
	require.Equal(t, http.StatusSeeOther, p.Status, p.Body)
	// A fresh task, with a fresh retry budget, replaces the dead letter.
	_, err = a.inspector.GetTaskInfo(a.queue, mine)
	require.ErrorIs(t, err, asynq.ErrTaskNotFound, "the dead letter is replaced")
	pending, err := a.inspector.ListPendingTasks(a.queue)
	require.NoError(t, err)
	require.Len(t, pending, 1, "the delivery is queued again")
	archived, err := a.fanout.Archived(context.Background())
	require.NoError(t, err)
	require.Len(t, archived, 1)
	require.Equal(t, "Q", archived[0].Property)

	p = a.get(p.Header.Get("Location"))
	require.Contains(t, p.Body, "The delivery to expedia is queued again.")
	require.Contains(t, p.Body, "All is well")
}

// A viewer sees every alert but no action, and its posts are refused with
// 403 and change nothing.
func TestAlertsViewerSeesButCannotAct(t *testing.T) {
	t.Parallel()
	a := newAlertsUI(t)
	a.seedHotel("P", 1)
	overbook(t, a.st, "P")
	task := a.deadLetter("P", "expedia")
	incs := openIncidents(t, a.st, "P")
	require.Len(t, incs, 1)
	resolve := "/admin/p/P/alerts/incidents/" + strconv.FormatInt(incs[0].ID, 10) + "/resolve"
	a.login("victor")

	p := a.get("/admin/p/P/alerts")
	require.Equal(t, http.StatusOK, p.Status)
	require.Contains(t, p.Body, "<h1>Alerts (2)</h1>")
	require.Contains(t, p.Body, "Overbooked nights")
	require.Contains(t, p.Body, "Deliveries that ran out of retries")
	require.Contains(t, p.Body, "you can look, not change")
	require.NotRegexp(t, resolveAction, p.Body)
	require.NotContains(t, p.Body, "/dead-letters/retry")

	p = a.post("/admin/p/P/alerts", resolve, nil)
	require.Equal(t, http.StatusForbidden, p.Status)
	p = a.post("/admin/p/P/alerts", "/admin/p/P/alerts/dead-letters/retry", url.Values{"queue": {a.queue}, "task": {task}})
	require.Equal(t, http.StatusForbidden, p.Status)
	p = a.post("/admin/p/P/alerts", "/admin/p/P/alerts/incidents/"+strconv.FormatInt(incs[0].ID, 10)+"/sync", nil)
	require.Equal(t, http.StatusForbidden, p.Status)

	require.Len(t, openIncidents(t, a.st, "P"), 1, "the incident is still open")
	info, err := a.inspector.GetTaskInfo(a.queue, task)
	require.NoError(t, err)
	require.Equal(t, asynq.TaskStateArchived, info.State, "the delivery is still dead-lettered")
}

// With Redis down the incidents are still listed, and the page says why
// dead letters are not.
func TestAlertsWithRedisDownStillListIncidents(t *testing.T) {
	t.Parallel()
	e := newUI(t, func(c *web.Config) {
		q := openQueue(t, "redis://127.0.0.1:1/0")
		f, err := sync.New(sync.Config{DB: c.Store.DB(), Queue: q, Secrets: c.Secrets, Logger: slog.New(slog.DiscardHandler)})
		require.NoError(t, err)
		c.Queue, c.Fanout = q, f
	})
	e.seedHotel("P", 1)
	overbook(t, e.st, "P")
	e.login("anna")
	p := e.get("/admin/p/P/alerts")
	require.Equal(t, http.StatusOK, p.Status)
	require.Contains(t, p.Body, "<h1>Alerts (1)</h1>")
	require.Contains(t, p.Body, "Overbooked nights")
	require.Contains(t, p.Body, "The task queue (Redis) did not answer")
}

// With nothing wrong the page says all is well.
func TestAlertsWithNothingWrongSayAllIsWell(t *testing.T) {
	t.Parallel()
	a := newAlertsUI(t)
	a.seedHotel("P", 2)
	a.login("victor")
	p := a.get("/admin/p/P/alerts")
	require.Equal(t, http.StatusOK, p.Status)
	require.Contains(t, p.Body, "<h1>Alerts</h1>")
	require.Contains(t, p.Body, "All is well.")
	require.Contains(t, p.Body, "no dead-lettered delivery")
	require.NotContains(t, p.Body, "<table")
	require.Contains(t, p.Body, `href="/admin/p/P/alerts" aria-current="page"`)
}

// A PMS whose webhook endpoint refused a revision for good, and that has
// not acknowledged it in time, raises two alerts: "send the webhook again"
// delivers it once the endpoint is fixed (which closes its alert), and
// staff close the other by hand once the PMS has the booking.
func TestAlertsFailedWebhookIsSentAgainAndUnackedRevisionResolved(t *testing.T) {
	t.Parallel()
	var fixed atomic.Bool
	var delivered atomic.Int32
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !fixed.Load() {
			http.Error(w, "who are you", http.StatusUnauthorized)
			return
		}
		delivered.Add(1)
	}))
	t.Cleanup(recv.Close)
	a := newAlertsUI(t, func(c *sync.Config) {
		c.FeedAckTimeout, c.ScheduleInterval, c.ResyncAt = 500*time.Millisecond, 100*time.Millisecond, "off"
	})
	a.seedHotel("P", 2)
	ctx := context.Background()
	sec, err := inventory.NewSecrets("test secret of keyrack's UI tests")
	require.NoError(t, err)
	_, err = a.st.UpdateChannel(ctx, "P", "pms", inventory.ChannelPatch{Endpoint: &recv.URL}, inventory.System)
	require.NoError(t, err)
	require.NoError(t, a.st.SetChannelCredentials(ctx, sec, "P", "pms", inventory.Credentials{OutboundUser: "keyrack", OutboundSecret: "pms-signing-secret"}, inventory.System))
	a.run()
	out, err := a.st.ApplyRevision(ctx, inventory.Revision{Property: "P", Channel: "expedia", ExternalID: "EXP-7", Kind: inventory.New,
		Stays: []inventory.RoomStay{{RoomType: "DBL-STD", Arrival: inventory.MustDate("2027-05-01"), Departure: inventory.MustDate("2027-05-03"), Rooms: 1}}})
	require.NoError(t, err)
	kinds := func() map[string]int64 {
		m := map[string]int64{}
		for _, i := range openIncidents(t, a.st, "P") {
			m[i.Kind] = i.ID
		}
		return m
	}
	require.Eventually(t, func() bool { k := kinds(); return k["webhook_failed"] > 0 && k["unacked_revision"] > 0 },
		30*time.Second, 50*time.Millisecond, "both alerts are raised")
	ids := kinds()

	a.login("anna")
	p := a.get("/admin/p/P/alerts")
	require.Equal(t, http.StatusOK, p.Status)
	require.Contains(t, p.Body, "Webhooks that failed for good")
	require.Contains(t, p.Body, "Revisions the PMS has not acknowledged")
	require.Contains(t, p.Body, `href="/admin/p/P/bookings/`+strconv.FormatInt(out.ReservationID, 10)+`">EXP-7</a>`)
	require.Contains(t, p.Body, "401")
	retry := "/admin/p/P/alerts/incidents/" + strconv.FormatInt(ids["webhook_failed"], 10) + "/retry"
	require.Contains(t, p.Body, `action="`+retry+`"`)
	resolve := "/admin/p/P/alerts/incidents/" + strconv.FormatInt(ids["unacked_revision"], 10) + "/resolve"
	require.Contains(t, p.Body, `action="`+resolve+`"`)

	fixed.Store(true)
	p = a.post("/admin/p/P/alerts", retry, nil)
	require.Equal(t, http.StatusSeeOther, p.Status, p.Body)
	require.Eventually(t, func() bool { return delivered.Load() >= 1 && kinds()["webhook_failed"] == 0 },
		30*time.Second, 50*time.Millisecond, "the webhook is delivered and its alert closes")

	p = a.post("/admin/p/P/alerts", resolve, nil)
	require.Equal(t, http.StatusSeeOther, p.Status, p.Body)
	require.Zero(t, kinds()["unacked_revision"])
}

// An overbooking alert keeps its peak until staff resolve it, but says
// how the night stands now: still over (by how much) while it is, and
// "now within its limit" — nobody to move — once the booking that went
// over is cancelled.
func TestAnOverbookingAlertSaysWhetherTheNightIsStillOverbooked(t *testing.T) {
	t.Parallel()
	e := newUI(t)
	e.seedHotel("P", 1)
	overbook(t, e.st, "P") // E-1 and E-2 on 2027-10-01, one room
	e.login("anna")

	over := section(t, e.get("/admin/p/P/alerts").Body, "h-overbooking")
	require.Regexp(t, `<span class="bad">1</span> <span class="muted nowrap">now \(2 sold, limit 1\)</span>`, over)
	require.Contains(t, over, "Guest relocated: resolve")

	_, err := e.st.ApplyRevision(context.Background(), inventory.Revision{Property: "P", Channel: "expedia", ExternalID: "E-2",
		Kind: inventory.Cancel, Mode: inventory.MustAccept})
	require.NoError(t, err)
	require.Len(t, openIncidents(t, e.st, "P"), 1, "the incident stays open for staff")

	over = section(t, e.get("/admin/p/P/alerts").Body, "h-overbooking")
	require.NotContains(t, over, `class="bad"`, "the night holds 1 of 1")
	require.Contains(t, over, `<span class="ok">now within its limit</span> <span class="muted nowrap">(1 sold, limit 1)</span>`)
	require.Contains(t, over, "at worst over by 1")
	require.Contains(t, over, "No longer overbooked: resolve")
	require.NotContains(t, over, "Guest relocated")
}

package web_test

import (
	"context"
	"fmt"
	"html"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	gosync "sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/keyrack/keyrack/connectors"
	"github.com/keyrack/keyrack/connectors/testjson"
	"github.com/keyrack/keyrack/fixtures/testchannel"
	"github.com/keyrack/keyrack/inventory"
	"github.com/keyrack/keyrack/sync"
	"github.com/keyrack/keyrack/sync/synctest"
	"github.com/keyrack/keyrack/web"
	"github.com/stretchr/testify/require"
)

// channelsUI is the admin UI with a fan-out on queues of the test's own.
type channelsUI struct {
	*uiEnv
	fan      *sync.Fanout
	sec      *inventory.Secrets
	redisURL string
	prefix   string
}

// newChannelsUI serves the admin UI with a fan-out (pushing to ota_push
// channels with the test JSON connector); configure adjusts it.
func newChannelsUI(t *testing.T, configure ...func(*sync.Config)) *channelsUI {
	t.Helper()
	cu := &channelsUI{redisURL: synctest.RedisURL(t)}
	cu.prefix = synctest.QueuePrefix(t, cu.redisURL)
	q := openQueue(t, cu.redisURL)
	cu.uiEnv = newUI(t, func(c *web.Config) {
		cfg := sync.Config{DB: c.Store.DB(), Queue: q, QueuePrefix: cu.prefix, Secrets: c.Secrets, Logger: slog.New(slog.DiscardHandler),
			Connectors: connectors.Registry{inventory.ChannelOTAPush: &testjson.Connector{}}, ResyncAt: "off"}
		for _, f := range configure {
			f(&cfg)
		}
		f, err := sync.New(cfg)
		require.NoError(t, err)
		c.Fanout, c.Queue = f, q
		if os.Getenv("KEYRACK_TEST_LOG") != "" {
			c.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
		}
		cu.fan, cu.sec = f, c.Secrets
	})
	return cu
}

// quickRetries retries failed deliveries and webhooks within a second.
func quickRetries(c *sync.Config) {
	c.RetryBase, c.RetryMax, c.DelayedTaskCheckInterval = 200*time.Millisecond, time.Second, 100*time.Millisecond
}

// runWorker runs the fan-out's worker until the test ends.
func (cu *channelsUI) runWorker() {
	ctx, cancel := context.WithCancel(context.Background())
	var wg gosync.WaitGroup
	wg.Go(func() { _ = cu.fan.RunWorker(ctx) })
	cu.t.Cleanup(func() { cancel(); wg.Wait() })
}

// eventuallyUI polls cond until it holds (generous: the machine is shared).
func eventuallyUI(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// requireRedirectBack asserts a post-redirect-get back to the channel page.
func requireRedirectBack(t *testing.T, p page, channel string) {
	t.Helper()
	require.Equal(t, http.StatusSeeOther, p.Status, "%s", p.Body)
	require.Contains(t, p.Header.Get("Location"), "/admin/p/P/channels/"+channel+"?flash=")
}

func statusOfChannel(t *testing.T, f *sync.Fanout, channel string) sync.ChannelStatus {
	t.Helper()
	sts, err := f.Status(context.Background(), "P")
	require.NoError(t, err)
	for _, s := range sts {
		if s.Channel == channel {
			return s
		}
	}
	t.Fatalf("no channel %s", channel)
	return sync.ChannelStatus{}
}

func auditActions(t *testing.T, st *inventory.Store) map[string]string {
	t.Helper()
	entries, err := st.Audit(context.Background(), "P", "", 100)
	require.NoError(t, err)
	out := map[string]string{}
	for _, e := range entries {
		if _, ok := out[e.Action]; !ok {
			out[e.Action] = e.Actor
		}
	}
	return out
}

// The list says, per channel, whether it is in sync and if not why: a
// channel that fails shows its lag, its failed pushes of the last hour and
// the channel's own error; its page shows each push with what was sent.
func TestChannelsListShowsLagFailuresAndTheDeliveryLog(t *testing.T) {
	t.Parallel()
	e := newChannelsUI(t, quickRetries)
	e.seedHotel("P", 4)
	ctx := context.Background()
	tc := testchannel.New()
	t.Cleanup(tc.Close)
	tc.FailAll(true)
	endpoint := tc.URL()
	_, err := e.st.UpdateChannel(ctx, "P", "expedia", inventory.ChannelPatch{Endpoint: &endpoint, HotelCode: new("EXP-P")}, inventory.System)
	require.NoError(t, err)
	e.runWorker()
	e.login("anna")

	require.NoError(t, e.fan.Resync(ctx, "P", "expedia"))
	eventuallyUI(t, "a failed push to expedia to be logged", func() bool {
		n, err := e.fan.DeliveryFailures(ctx, "P", time.Now().Add(-time.Hour))
		require.NoError(t, err)
		return n["expedia"] > 0
	})

	list := e.get("/admin/p/P/channels")
	require.Equal(t, http.StatusOK, list.Status, list.Body)
	row := rowOf(t, list.Body, "expedia")
	require.Contains(t, row, `<td>OTA, sends its bookings <span class="muted">ota_push</span></td>`, "the kind as staff know it, its code beside it")
	require.Contains(t, rowOf(t, list.Body, "pms"), `<td>PMS <span class="muted">pms</span></td>`)
	require.Contains(t, row, "enabled")
	require.Contains(t, row, "pending for")
	require.Contains(t, row, "HTTP 500", "the last error")
	require.Regexp(t, `class="bad">[1-9][0-9]*</span>`, row, "failures in the last hour")
	require.Contains(t, row, "never", "no successful delivery yet")
	pms := rowOf(t, list.Body, "pms")
	require.Contains(t, pms, "pull only (no endpoint)")
	require.Contains(t, pms, "all acknowledged")
	require.Contains(t, list.Body, `href="/admin/p/P/channels/expedia"`)
	require.Contains(t, list.Body, `<th scope="col">`)

	// The htmx refresh gets the table alone.
	frag := e.get("/admin/p/P/channels?fragment=channels-table", "HX-Request", "true")
	require.Equal(t, http.StatusOK, frag.Status)
	require.True(t, strings.HasPrefix(strings.TrimSpace(frag.Body), `<div id="channels-table"`), frag.Body)
	require.NotContains(t, frag.Body, "<html")

	pg := e.get("/admin/p/P/channels/expedia")
	require.Equal(t, http.StatusOK, pg.Status, pg.Body)
	status := section(t, pg.Body, "status-title")
	require.Contains(t, status, "pending for")
	require.Contains(t, status, "HTTP 500")
	frag = e.get("/admin/p/P/channels/expedia?fragment=channel-status", "HX-Request", "true")
	require.Equal(t, http.StatusOK, frag.Status)
	require.True(t, strings.HasPrefix(strings.TrimSpace(frag.Body), `<section aria-labelledby="status-title"`), frag.Body)
	require.Contains(t, frag.Body, "HTTP 500")
	require.NotContains(t, frag.Body, "<html")
	log := section(t, pg.Body, "log-title")
	require.Contains(t, log, "outcome-failed")
	require.Contains(t, log, "HTTP 500")
	require.Contains(t, log, "told to fail", "the channel's own message")
	require.Contains(t, log, "(full resync)")
	require.Contains(t, log, "<details>")
	require.Contains(t, html.UnescapeString(log), `"room": "DBL"`, "the payload sent")

	// The channel comes back: the next push is logged as ok and the
	// channel catches up.
	tc.FailAll(false)
	eventuallyUI(t, "expedia to catch up", func() bool { return statusOfChannel(t, e.fan, "expedia").InSync })
	pg = e.get("/admin/p/P/channels/expedia")
	require.Contains(t, section(t, pg.Body, "log-title"), "outcome-ok")
	row = rowOf(t, e.get("/admin/p/P/channels").Body, "expedia")
	require.Contains(t, row, "in sync")
	require.NotContains(t, row, ">never<")
}

// A PMS's row and page speak of what it gets — reservations, by signed
// webhook and on its feed — not of availability: the reservations sent to
// it with how each webhook went and whether it was acknowledged, its
// signing secret instead of inbound credentials, and no full resync (which
// is refused when posted anyway). Before, the page said "never" delivered
// and "nothing pushed", and showed why availability is not pushed as the
// channel's last error, in red.
func TestAPMSChannelShowsTheReservationsSentToIt(t *testing.T) {
	t.Parallel()
	e := newChannelsUI(t)
	e.seedHotel("P", 4)
	ctx := context.Background()
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	t.Cleanup(recv.Close)
	endpoint := recv.URL
	_, err := e.st.UpdateChannel(ctx, "P", "pms", inventory.ChannelPatch{Endpoint: &endpoint}, inventory.System)
	require.NoError(t, err)
	require.NoError(t, e.st.SetChannelCredentials(ctx, e.sec, "P", "pms", inventory.Credentials{OutboundSecret: "signing"}, inventory.System))
	require.NoError(t, e.st.SetMapping(ctx, "P", "pms", inventory.Mapping{ChannelRoom: "DBL", RoomType: "DBL-STD"}, inventory.System))
	e.runWorker()
	e.login("anna")

	out, err := e.st.ApplyRevision(ctx, inventory.Revision{Property: "P", Channel: "expedia", ExternalID: "EXP-9", Kind: inventory.New,
		Mode: inventory.MustAccept, Stays: []inventory.RoomStay{{ChannelRoom: "DBL", Arrival: inventory.MustDate("2031-03-01"),
			Departure: inventory.MustDate("2031-03-03")}}})
	require.NoError(t, err)
	eventuallyUI(t, "the webhook to be delivered", func() bool { return statusOfChannel(t, e.fan, "pms").LastWebhook != nil })

	row := rowOf(t, e.get("/admin/p/P/channels").Body, "pms")
	require.Contains(t, row, "webhook ")
	require.Contains(t, row, "1 not acknowledged")
	require.NotContains(t, row, "never")
	require.NotContains(t, row, `class="bad"`)

	pg := e.get("/admin/p/P/channels/pms")
	require.Equal(t, http.StatusOK, pg.Status, pg.Body)
	status := section(t, pg.Body, "status-title")
	require.Contains(t, status, "sent by signed webhook")
	require.Contains(t, status, "not pushed: a PMS gets reservations")
	require.Contains(t, status, "Last webhook delivered")
	require.Contains(t, status, "1 revision not acknowledged")
	require.NotContains(t, status, "Last successful delivery")
	require.NotContains(t, status, `class="bad"`)
	require.NotContains(t, status, "Full resync of pms")
	sent := section(t, pg.Body, "sent-title")
	require.Contains(t, sent, fmt.Sprintf(`href="/admin/p/P/bookings/%d">EXP-9</a>`, out.ReservationID))
	require.Contains(t, sent, "from expedia")
	require.Contains(t, sent, "delivered")
	require.Contains(t, sent, "not yet", "not acknowledged yet")
	require.NotContains(t, pg.Body, `aria-labelledby="log-title"`, "no availability delivery log")
	creds := section(t, pg.Body, "creds-title")
	require.Contains(t, creds, "Webhook signing secret")
	require.Contains(t, creds, "set (encrypted)")
	require.NotContains(t, creds, "Rotate the inbound secret")

	p := e.post("/admin/p/P/channels/pms", "/admin/p/P/channels/pms/resync", nil)
	require.Equal(t, http.StatusBadRequest, p.Status, p.Body)
	require.Contains(t, p.Body, "availability is not pushed to a PMS")
	// Nor do the flash messages of a mapping or of enabling it speak of
	// sending it availability, as they do for an OTA.
	flash := func(p page) string {
		t.Helper()
		requireRedirectBack(t, p, strings.Split(strings.TrimPrefix(p.Header.Get("Location"), "/admin/p/P/channels/"), "?")[0])
		f, err := url.QueryUnescape(p.Header.Get("Location"))
		require.NoError(t, err)
		return f
	}
	mapRoom := url.Values{"room": {"TWN"}, "room_type": {"DBL-STD"}}
	require.NotContains(t, flash(e.post("/admin/p/P/channels/pms", "/admin/p/P/channels/pms/mappings", mapRoom)), "resync")
	require.Contains(t, flash(e.post("/admin/p/P/channels/expedia", "/admin/p/P/channels/expedia/mappings", mapRoom)), "A full resync sends")
	require.NotContains(t, flash(e.post("/admin/p/P/channels/pms", "/admin/p/P/channels/pms/enabled", url.Values{"enabled": {"true"}})), "horizon")

	// Acknowledged, the row and the list say so.
	sentRevs, err := e.fan.SentRevisions(ctx, "P", "pms")
	require.NoError(t, err)
	require.Len(t, sentRevs, 1)
	require.NoError(t, e.fan.Ack(ctx, "P", "pms", sentRevs[0].FeedID))
	require.Contains(t, rowOf(t, e.get("/admin/p/P/channels").Body, "pms"), "all acknowledged")
	pg = e.get("/admin/p/P/channels/pms")
	require.Contains(t, section(t, pg.Body, "status-title"), "every revision acknowledged")
	require.NotContains(t, section(t, pg.Body, "sent-title"), "not yet")
}

// A PMS whose webhook endpoint fails shows the failure while keyrack
// retries — in its row and on its page — not only once the webhook runs
// out of retries; delivered at last, the error goes.
func TestAFailingPMSWebhookShowsWhileRetried(t *testing.T) {
	t.Parallel()
	e := newChannelsUI(t, quickRetries)
	e.seedHotel("P", 4)
	ctx := context.Background()
	var failing atomic.Bool
	failing.Store(true)
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if failing.Load() {
			http.Error(w, "front desk system down", http.StatusBadGateway)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(recv.Close)
	endpoint := recv.URL
	_, err := e.st.UpdateChannel(ctx, "P", "pms", inventory.ChannelPatch{Endpoint: &endpoint}, inventory.System)
	require.NoError(t, err)
	require.NoError(t, e.st.SetChannelCredentials(ctx, e.sec, "P", "pms", inventory.Credentials{OutboundSecret: "signing"}, inventory.System))
	e.runWorker()
	e.login("anna")
	_, err = e.st.ApplyRevision(ctx, inventory.Revision{Property: "P", Channel: "expedia", ExternalID: "EXP-5", Kind: inventory.New,
		Mode: inventory.MustAccept, Stays: []inventory.RoomStay{{ChannelRoom: "DBL", Arrival: inventory.MustDate("2031-04-01"),
			Departure: inventory.MustDate("2031-04-02")}}})
	require.NoError(t, err)

	eventuallyUI(t, "the webhook's failure to show", func() bool { return statusOfChannel(t, e.fan, "pms").WebhookError != "" })
	row := rowOf(t, e.get("/admin/p/P/channels").Body, "pms")
	require.Contains(t, row, "502")
	require.Contains(t, row, "retrying")
	require.Contains(t, section(t, e.get("/admin/p/P/channels/pms").Body, "status-title"), "Last webhook error")

	failing.Store(false)
	eventuallyUI(t, "the webhook to be delivered", func() bool { return statusOfChannel(t, e.fan, "pms").LastWebhook != nil })
	require.Empty(t, statusOfChannel(t, e.fan, "pms").WebhookError)
	require.NotContains(t, rowOf(t, e.get("/admin/p/P/channels").Body, "pms"), "retrying")
}

// Without a fan-out the pages show what the store knows and say what is missing.
func TestChannelsPagesWorkWithoutTheFanout(t *testing.T) {
	t.Parallel()
	e := newUI(t)
	e.seedHotel("P", 2)
	e.login("anna")
	list := e.get("/admin/p/P/channels")
	require.Equal(t, http.StatusOK, list.Status, list.Body)
	require.Contains(t, list.Body, "not connected to the task queue")
	require.Contains(t, rowOf(t, list.Body, "expedia"), "ota_push")
	require.Contains(t, rowOf(t, list.Body, "pms"), "pms")
	pg := e.get("/admin/p/P/channels/expedia")
	require.Equal(t, http.StatusOK, pg.Status, pg.Body)
	require.Contains(t, pg.Body, "not connected to the task queue")
	p := e.post("/admin/p/P/channels/expedia", "/admin/p/P/channels/expedia/resync", nil)
	require.Equal(t, http.StatusServiceUnavailable, p.Status)
	require.Equal(t, http.StatusNotFound, e.get("/admin/p/P/channels/nope").Status)

	// Without KEYRACK_SECRET credentials cannot be stored, and the page says so.
	e = newUI(t, func(c *web.Config) { c.Secrets = nil })
	e.seedHotel("P", 2)
	e.login("anna")
	pg = e.get("/admin/p/P/channels/expedia")
	require.Equal(t, http.StatusOK, pg.Status, pg.Body)
	require.Contains(t, section(t, pg.Body, "creds-title"), "runs without KEYRACK_SECRET")
	require.NotContains(t, pg.Body, "Rotate the inbound secret of expedia")
	p = e.post("/admin/p/P/channels/expedia", "/admin/p/P/channels/expedia/credentials/inbound", nil)
	require.Equal(t, http.StatusConflict, p.Status)
	require.Contains(t, p.Body, "KEYRACK_SECRET")
}

// "Full resync" queues every night of the channel's horizon, as staff then
// see in the list; it is audited as the staff user.
func TestChannelFullResyncFromThePage(t *testing.T) {
	t.Parallel()
	e := newChannelsUI(t)
	e.seedHotel("P", 2)
	endpoint := "http://127.0.0.1:9/ota" // no worker runs: nothing is delivered
	_, err := e.st.UpdateChannel(context.Background(), "P", "expedia", inventory.ChannelPatch{Endpoint: &endpoint}, inventory.System)
	require.NoError(t, err)
	e.login("anna")
	require.True(t, statusOfChannel(t, e.fan, "expedia").InSync)

	pg := e.get("/admin/p/P/channels/expedia")
	require.Contains(t, pg.Body, "Full resync of expedia")
	p := e.post("/admin/p/P/channels/expedia", "/admin/p/P/channels/expedia/resync", nil)
	requireRedirectBack(t, p, "expedia")
	st := statusOfChannel(t, e.fan, "expedia")
	require.False(t, st.InSync)
	require.Equal(t, 365, st.DirtyNights, "one pool, the channel's whole horizon")
	require.Equal(t, "bulk", st.Queued)
	require.Contains(t, rowOf(t, e.get("/admin/p/P/channels").Body, "expedia"), "pending for")
	require.Equal(t, "staff:anna", auditActions(t, e.st)["channel.resync"])
	flash := e.get(p.Header.Get("Location"))
	require.Contains(t, flash.Body, "A full resync of expedia is queued")

	// Disabled, it cannot be resynced; enabling it is a button too.
	p = e.post("/admin/p/P/channels/expedia", "/admin/p/P/channels/expedia/enabled", url.Values{"enabled": {"false"}})
	requireRedirectBack(t, p, "expedia")
	require.Contains(t, e.get(p.Header.Get("Location")).Body, "It goes on selling the availability it was last sent",
		"staff are told that disabling does not stop the channel's sales")
	chans, err := e.st.Channels(context.Background(), "P")
	require.NoError(t, err)
	require.False(t, chans[0].Enabled, "%+v", chans[0])
	require.Contains(t, e.get("/admin/p/P/channels/expedia").Body, "Enable expedia")
	require.Contains(t, rowOf(t, e.get("/admin/p/P/channels").Body, "expedia"), `<span class="warn">disabled</span>`, "not pending: nothing is sent to it")
	p = e.post("/admin/p/P/channels/expedia", "/admin/p/P/channels/expedia/resync", nil)
	require.Equal(t, http.StatusConflict, p.Status)
	p = e.post("/admin/p/P/channels/expedia", "/admin/p/P/channels/expedia/enabled", url.Values{"enabled": {"true"}})
	requireRedirectBack(t, p, "expedia")
	chans, err = e.st.Channels(context.Background(), "P")
	require.NoError(t, err)
	require.True(t, chans[0].Enabled)
	require.Equal(t, "staff:anna", auditActions(t, e.st)["channel.update"])
}

// Mappings are added, changed and deleted from the channel's page; each
// change is in the store and audited as the staff user.
func TestChannelMappingsAddEditDelete(t *testing.T) {
	t.Parallel()
	e := newUI(t)
	e.seedHotel("P", 2)
	ctx := context.Background()
	_, err := e.st.CreateRoomType(ctx, "P", inventory.RoomType{Code: "DBL-SUP", Pool: "DBL"}, inventory.System)
	require.NoError(t, err)
	_, err = e.st.CreateRatePlan(ctx, "P", inventory.RatePlan{Code: "BAR", RoomType: "DBL-SUP"}, inventory.System)
	require.NoError(t, err)
	e.login("anna")
	const from = "/admin/p/P/channels/expedia"
	mappings := func() []inventory.Mapping {
		ms, err := e.st.Mappings(ctx, "P", "expedia")
		require.NoError(t, err)
		return ms
	}
	pg := e.get(from)
	require.Contains(t, pg.Body, `<label for="new-room">`)
	require.Contains(t, section(t, pg.Body, "mappings-title"), "DBL-STD")

	p := e.post(from, from+"/mappings", url.Values{"room": {"SUP"}, "rate": {"NRF"}, "room_type": {"DBL-SUP"}, "rate_plan": {"BAR"}})
	requireRedirectBack(t, p, "expedia")
	require.Contains(t, mappings(), inventory.Mapping{ChannelRoom: "SUP", ChannelRate: "NRF", RoomType: "DBL-SUP", RatePlan: "BAR"})
	require.Equal(t, "staff:anna", auditActions(t, e.st)["mapping.set"])
	require.Contains(t, e.get(from).Body, "Save SUP")

	// Edit: the same codes now mean the standard double, without a rate plan.
	p = e.post(from, from+"/mappings", url.Values{"room": {"SUP"}, "rate": {"NRF"}, "room_type": {"DBL-STD"}, "rate_plan": {""}})
	requireRedirectBack(t, p, "expedia")
	require.Contains(t, mappings(), inventory.Mapping{ChannelRoom: "SUP", ChannelRate: "NRF", RoomType: "DBL-STD"})
	require.Len(t, mappings(), 2)

	// A room type that does not exist, or a rate plan of another room type, is refused clearly.
	p = e.post(from, from+"/mappings", url.Values{"room": {"X"}, "room_type": {"NOPE"}})
	require.Equal(t, http.StatusNotFound, p.Status)
	require.Contains(t, p.Body, "room type &#34;NOPE&#34; does not exist")
	p = e.post(from, from+"/mappings", url.Values{"room": {"X"}, "room_type": {"DBL-STD"}, "rate_plan": {"BAR"}})
	require.Equal(t, http.StatusNotFound, p.Status)
	p = e.post(from, from+"/mappings", url.Values{"room": {""}, "room_type": {"DBL-STD"}})
	require.Equal(t, http.StatusBadRequest, p.Status)
	require.Len(t, mappings(), 2)

	// The row's delete button asks first: one tap would have the channel
	// sent 0 for the room's every night.
	p = e.post(from, from+"/mappings/delete", url.Values{"room": {"SUP"}, "rate": {"NRF"}})
	require.Equal(t, http.StatusOK, p.Status, p.Body)
	require.Contains(t, p.Body, "Delete the mapping of expedia&#39;s room SUP rate NRF to room type")
	require.Contains(t, p.Body, `<input type="hidden" name="confirm" value="yes">`)
	require.Contains(t, p.Body, `<a href="/admin/p/P/channels/expedia">Keep it</a>`)
	require.Len(t, mappings(), 2, "nothing is deleted until confirmed")
	p = e.post(from, from+"/mappings/delete", url.Values{"room": {"NOPE"}})
	require.Equal(t, http.StatusNotFound, p.Status, "no such mapping to confirm")
	p = e.post(from, from+"/mappings/delete", url.Values{"room": {"SUP"}, "rate": {"NRF"}, "confirm": {"yes"}})
	requireRedirectBack(t, p, "expedia")
	require.Equal(t, []inventory.Mapping{{ChannelRoom: "DBL", RoomType: "DBL-STD"}}, mappings())
	require.Equal(t, "staff:anna", auditActions(t, e.st)["mapping.delete"])
	var closures int
	require.NoError(t, e.st.DB().QueryRow(ctx, `SELECT count(*) FROM sync_closures WHERE channel_room = 'SUP' AND channel_rate = ''`).Scan(&closures))
	require.Equal(t, 1, closures, "SUP, no longer mapped, is to be closed on expedia")
	p = e.post(from, from+"/mappings/delete", url.Values{"room": {"SUP"}, "rate": {"NRF"}, "confirm": {"yes"}})
	require.Equal(t, http.StatusNotFound, p.Status)

	// The settings form changes the hotel code and endpoint.
	p = e.post(from, from+"/settings", url.Values{"hotel_code": {"EXP-42"}, "endpoint": {"https://channel.example/ari"}})
	requireRedirectBack(t, p, "expedia")
	chans, err := e.st.Channels(ctx, "P")
	require.NoError(t, err)
	require.Equal(t, "EXP-42", chans[0].HotelCode)
	require.Equal(t, "https://channel.example/ari", chans[0].Endpoint)
	p = e.post(from, from+"/settings", url.Values{"endpoint": {"not a url"}})
	require.Equal(t, http.StatusBadRequest, p.Status)
}

// A room code a channel booked without a mapping is listed on the
// channel's page with a "map" form; mapping it from there takes it off, and
// the booking parked for it takes its rooms — the flash says so.
func TestAnUnmappedCodeSeenInABookingIsListedAndMappedFromThePage(t *testing.T) {
	t.Parallel()
	e := newUI(t)
	e.seedHotel("P", 2)
	ctx := context.Background()
	out, err := e.st.ApplyRevision(ctx, inventory.Revision{Property: "P", Channel: "expedia", ExternalID: "EXP-77", Kind: inventory.New,
		Mode: inventory.MustAccept, Stays: []inventory.RoomStay{{ChannelRoom: "SUITE", Arrival: inventory.MustDate("2031-03-01"),
			Departure: inventory.MustDate("2031-03-04"), Rooms: 1}}})
	require.NoError(t, err)
	require.True(t, out.Parked)
	e.login("anna")
	const from = "/admin/p/P/channels/expedia"

	unmapped := section(t, e.get(from).Body, "unmapped-title")
	require.Contains(t, unmapped, "SUITE")
	require.Contains(t, unmapped, "EXP-77")
	require.Contains(t, unmapped, fmt.Sprintf(`href="/admin/p/P/bookings/%d"`, out.ReservationID))
	require.Contains(t, unmapped, "Map SUITE")
	require.Contains(t, unmapped, `name="room" value="SUITE"`, "the form is pre-filled with the code")
	require.Contains(t, unmapped, `<option value="DBL-STD">`, "with a room type to choose")

	p := e.post(from, from+"/mappings", url.Values{"room": {"SUITE"}, "rate": {""}, "room_type": {"DBL-STD"}})
	requireRedirectBack(t, p, "expedia")
	ms, err := e.st.Mappings(ctx, "P", "expedia")
	require.NoError(t, err)
	require.Contains(t, ms, inventory.Mapping{ChannelRoom: "SUITE", RoomType: "DBL-STD"})
	pg := e.get(p.Header.Get("Location"))
	require.Contains(t, pg.Body, "Room SUITE of expedia is mapped to DBL-STD. 1 parked booking took its rooms.")
	unmapped = section(t, pg.Body, "unmapped-title")
	require.NotContains(t, unmapped, "Map SUITE")
	require.Contains(t, unmapped, "every room code this channel booked is mapped")

	res, err := e.st.ReservationByID(ctx, "P", out.ReservationID)
	require.NoError(t, err)
	require.False(t, res.Parked)
	require.Equal(t, "DBL-STD", res.Stays[0].RoomType)
	nights, err := e.st.Availability(ctx, "P", inventory.MustDate("2031-03-01"), inventory.MustDate("2031-03-04"))
	require.NoError(t, err)
	for _, n := range nights {
		require.Equal(t, 1, n.Sold, "%s", n.Night)
	}
	inc, err := e.st.Incidents(ctx, "P", true)
	require.NoError(t, err)
	require.Empty(t, inc, "the unmapped_booking incident is resolved")

	// Mapping another code no booking waits for says so.
	p = e.post(from, from+"/mappings", url.Values{"room": {"LOFT"}, "rate": {""}, "room_type": {"DBL-STD"}})
	requireRedirectBack(t, p, "expedia")
	require.Contains(t, e.get(p.Header.Get("Location")).Body, "No parked booking of this channel waited for it.")
}

var revealedSecret = regexp.MustCompile(`<code id="revealed-secret">([^<]+)</code>`)

// Rotating the inbound secret shows the new one once; the old one stops
// authenticating and the new one works. Outbound credentials are set too.
func TestRotatingTheInboundSecretShowsItOnceAndRetiresTheOldOne(t *testing.T) {
	t.Parallel()
	var sec *inventory.Secrets
	e := newUI(t, func(c *web.Config) { sec = c.Secrets })
	e.seedHotel("P", 2)
	ctx := context.Background()
	require.NoError(t, e.st.SetChannelCredentials(ctx, sec, "P", "expedia", inventory.Credentials{InboundUser: "exp", InboundSecret: "old secret"}, inventory.System))
	e.login("anna")
	const from = "/admin/p/P/channels/expedia"
	require.Contains(t, section(t, e.get(from).Body, "creds-title"), "set (only its hash is kept)")

	p := e.post(from, from+"/credentials/inbound", nil)
	require.Equal(t, http.StatusOK, p.Status, p.Body)
	m := revealedSecret.FindStringSubmatch(p.Body)
	require.NotNil(t, m, p.Body)
	secret := html.UnescapeString(m[1])
	require.GreaterOrEqual(t, len(secret), 32)
	require.Contains(t, p.Body, "shown this once")

	ok, err := e.st.CheckChannelSecret(ctx, sec, "P", "expedia", "exp", "old secret")
	require.NoError(t, err)
	require.False(t, ok, "the old secret no longer authenticates")
	ok, err = e.st.CheckChannelSecret(ctx, sec, "P", "expedia", "exp", secret)
	require.NoError(t, err)
	require.True(t, ok, "the new one does, with the user kept")
	require.NotContains(t, e.get(from).Body, secret, "shown once only")
	require.Equal(t, "staff:anna", auditActions(t, e.st)["channel.credentials"])

	// With a new user name as well.
	p = e.post(from, from+"/credentials/inbound", url.Values{"username": {"expedia-2"}})
	require.Equal(t, http.StatusOK, p.Status)
	m = revealedSecret.FindStringSubmatch(p.Body)
	require.NotNil(t, m)
	ok, err = e.st.CheckChannelSecret(ctx, sec, "P", "expedia", "expedia-2", html.UnescapeString(m[1]))
	require.NoError(t, err)
	require.True(t, ok)

	p = e.post(from, from+"/credentials/outbound", url.Values{"username": {"keyrack-p"}, "secret": {"their password"}})
	requireRedirectBack(t, p, "expedia")
	user, out, err := e.st.OutboundCredentials(ctx, sec, "P", "expedia")
	require.NoError(t, err)
	require.Equal(t, "keyrack-p", user)
	require.Equal(t, "their password", out)
	require.NotContains(t, e.get(from).Body, "their password")
}

var revealedURL = regexp.MustCompile(`<code id="revealed-secret">(http://[^<]+\.ics)</code>`)

// On an iCal channel: a feed URL is set, "sync now" makes it due, and
// export calendars are created, rotated and revoked, their full URL shown
// once — and the URLs answer, or stop answering, accordingly.
func TestICalChannelFeedSyncNowAndExportTokens(t *testing.T) {
	t.Parallel()
	e := newICalUI(t)
	ctx := context.Background()
	const from = "/admin/p/P/channels/airbnb"
	pg := e.get(from)
	require.Contains(t, pg.Body, "No feed yet")
	require.Contains(t, pg.Body, "No export calendar yet")

	p := e.post(from, from+"/feeds", url.Values{"room_type": {"DBL-STD"}, "url": {"https://calendar.example.com/room/1.ics?s=abc"}, "poll_interval": {"600"}})
	requireRedirectBack(t, p, "airbnb")
	feeds, err := e.st.ICalFeeds(ctx, "P", "airbnb")
	require.NoError(t, err)
	require.Len(t, feeds, 1)
	require.Equal(t, 600, feeds[0].PollInterval)
	feeds_ := section(t, e.get(from).Body, "feeds-title")
	require.Contains(t, feeds_, "calendar.example.com")
	require.NotContains(t, feeds_, "s=abc", "only the host is shown")
	p = e.post(from, from+"/feeds", url.Values{"room_type": {"DBL-STD"}, "url": {"ftp://x"}})
	require.Equal(t, http.StatusBadRequest, p.Status)

	// The feed was fetched a moment ago and is next due in ten minutes; a
	// stale-feed incident is open for it.
	_, err = e.st.DB().Exec(ctx, `UPDATE ical_feeds SET next_fetch_at = now() + interval '10 minutes', created_at = now() - interval '2 days'`)
	require.NoError(t, err)
	_, err = e.st.DB().Exec(ctx, `UPDATE channels SET enabled_at = now() - interval '2 days'`) // enabled before that too
	require.NoError(t, err)
	_, err = e.st.RaiseStaleFeeds(ctx, time.Hour)
	require.NoError(t, err)
	require.Contains(t, section(t, e.get(from).Body, "feeds-title"), ">stale<")
	require.Contains(t, rowOf(t, e.get("/admin/p/P/channels").Body, "airbnb"), "1 stale iCal feed", "the list shows it too")
	p = e.post(from, fmt.Sprintf("%s/feeds/%d/sync", from, feeds[0].ID), nil)
	requireRedirectBack(t, p, "airbnb")
	feeds, err = e.st.ICalFeeds(ctx, "P", "airbnb")
	require.NoError(t, err)
	require.False(t, feeds[0].NextFetchAt.After(time.Now()), "due now: %s", feeds[0].NextFetchAt)
	require.Equal(t, "staff:anna", auditActions(t, e.st)["ical_feed.sync_now"])
	require.Equal(t, http.StatusNotFound, e.post(from, from+"/feeds/999999/sync", nil).Status)

	// Export calendars.
	p = e.post(from, from+"/export-tokens", url.Values{"room_type": {"DBL-STD"}})
	require.Equal(t, http.StatusOK, p.Status, p.Body)
	m := revealedURL.FindStringSubmatch(p.Body)
	require.NotNil(t, m, p.Body)
	first := m[1]
	require.True(t, strings.HasPrefix(first, e.ts.URL+"/ical/"), first)
	require.Equal(t, http.StatusOK, e.get(strings.TrimPrefix(first, e.ts.URL)).Status, "the URL answers")
	require.NotContains(t, e.get(from).Body, first, "shown once")
	tokens, err := e.st.ExportTokens(ctx, "P", "airbnb")
	require.NoError(t, err)
	require.Len(t, tokens, 1)

	p = e.post(from, fmt.Sprintf("%s/export-tokens/%d/rotate", from, tokens[0].ID), nil)
	require.Equal(t, http.StatusOK, p.Status, p.Body)
	m = revealedURL.FindStringSubmatch(p.Body)
	require.NotNil(t, m, p.Body)
	second := m[1]
	require.NotEqual(t, first, second)
	require.Equal(t, http.StatusNotFound, e.get(strings.TrimPrefix(first, e.ts.URL)).Status, "the old URL stops answering")
	require.Equal(t, http.StatusOK, e.get(strings.TrimPrefix(second, e.ts.URL)).Status)

	tokens, err = e.st.ExportTokens(ctx, "P", "airbnb")
	require.NoError(t, err)
	require.Len(t, tokens, 2)
	live := tokens[1]
	require.Nil(t, live.RevokedAt)
	p = e.post(from, fmt.Sprintf("%s/export-tokens/%d/revoke", from, live.ID), nil)
	requireRedirectBack(t, p, "airbnb")
	require.Equal(t, http.StatusNotFound, e.get(strings.TrimPrefix(second, e.ts.URL)).Status, "a revoked URL does not answer")
	require.Equal(t, "staff:anna", auditActions(t, e.st)["ical_export_token.revoke"])
	require.NotContains(t, section(t, e.get(from).Body, "tokens-title"), "Rotate "+live.Prefix)

	// An ota_push channel has no feeds.
	p = e.post("/admin/p/P/channels/expedia", "/admin/p/P/channels/expedia/export-tokens", url.Values{"room_type": {"DBL-STD"}})
	require.Equal(t, http.StatusBadRequest, p.Status)
}

// archiveDelivery puts a delivery task of a channel among asynq's archived
// tasks, as one that ran out of retries is kept.
func (cu *channelsUI) archiveDelivery(channel string) (queue, id string) {
	cu.t.Helper()
	queue = cu.prefix + "critical"
	return queue, archiveDelivery(cu.t, cu.st, cu.redisURL, queue, "P", channel)
}

func (cu *channelsUI) inspector() *asynq.Inspector {
	opt, err := asynq.ParseRedisURI(cu.redisURL)
	require.NoError(cu.t, err)
	i := asynq.NewInspector(opt)
	cu.t.Cleanup(func() { _ = i.Close() })
	return i
}

// A dead-lettered delivery is listed on its channel's page (and flagged in
// the list); "retry" puts it back in its queue, pending.
func TestADeadLetteredDeliveryIsListedAndRetriedFromTheChannelPage(t *testing.T) {
	t.Parallel()
	e := newChannelsUI(t)
	e.seedHotel("P", 2)
	queue, id := e.archiveDelivery("expedia")
	e.login("anna")
	const from = "/admin/p/P/channels/expedia"

	require.Contains(t, rowOf(t, e.get("/admin/p/P/channels").Body, "expedia"), "yes (1)")
	dead := section(t, e.get(from).Body, "dead-title")
	require.Contains(t, dead, id)
	require.Contains(t, dead, "Retry delivery to expedia")
	require.Contains(t, section(t, e.get("/admin/p/P/channels/pms").Body, "dead-title"), "None.")

	// A task of another channel cannot be retried through this page.
	p := e.post("/admin/p/P/channels/pms", "/admin/p/P/channels/pms/dead-letters/retry", url.Values{"queue": {queue}, "task": {id}})
	require.Equal(t, http.StatusNotFound, p.Status)

	p = e.post(from, from+"/dead-letters/retry", url.Values{"queue": {queue}, "task": {id}})
	requireRedirectBack(t, p, "expedia")
	// A fresh task, with a fresh retry budget, replaces the dead letter.
	_, err := e.inspector().GetTaskInfo(queue, id)
	require.ErrorIs(t, err, asynq.ErrTaskNotFound)
	pending, err := e.inspector().ListPendingTasks(queue)
	require.NoError(t, err)
	require.Len(t, pending, 1)
	archived, err := e.fan.Archived(context.Background())
	require.NoError(t, err)
	require.Empty(t, archived)
	require.Contains(t, section(t, e.get(from).Body, "dead-title"), "None.")
	require.Equal(t, "staff:anna", auditActions(t, e.st)["delivery.retry"])
	p = e.post(from, from+"/dead-letters/retry", url.Values{"queue": {queue}, "task": {id}})
	require.Equal(t, http.StatusNotFound, p.Status, "no longer dead-lettered")
}

// A viewer sees the channel pages without their forms, and every change
// they post is refused with 403 and changes nothing.
func TestAViewerCannotChangeChannels(t *testing.T) {
	t.Parallel()
	e := newChannelsUI(t)
	e.seedHotel("P", 2)
	ctx := context.Background()
	_, err := e.st.CreateChannel(ctx, "P", inventory.Channel{Code: "airbnb", Kind: inventory.ChannelICal, Enabled: true}, inventory.System)
	require.NoError(t, err)
	_, err = e.st.SetICalFeed(ctx, e.sec, "P", "airbnb", "DBL-STD", "https://calendar.example.com/1.ics", 0, inventory.System)
	require.NoError(t, err)
	tok, _, err := e.st.CreateExportToken(ctx, "P", "airbnb", "DBL-STD", inventory.System)
	require.NoError(t, err)
	require.NoError(t, e.st.SetChannelCredentials(ctx, e.sec, "P", "expedia", inventory.Credentials{InboundUser: "exp", InboundSecret: "old secret"}, inventory.System))
	queue, id := e.archiveDelivery("expedia")
	feeds, err := e.st.ICalFeeds(ctx, "P", "airbnb")
	require.NoError(t, err)
	auditBefore, err := e.st.Audit(ctx, "P", "", 1000)
	require.NoError(t, err)

	e.login("victor")
	const from = "/admin/p/P/channels/expedia"
	pg := e.get(from)
	require.Equal(t, http.StatusOK, pg.Status)
	require.Contains(t, pg.Body, "You are logged in as a viewer")
	require.NotContains(t, pg.Body, "Add mapping")
	require.NotContains(t, pg.Body, "Rotate the inbound secret")
	require.NotContains(t, pg.Body, "Retry delivery")
	require.Contains(t, section(t, pg.Body, "dead-title"), id, "viewers see the dead letters")

	posts := map[string]url.Values{
		from + "/enabled":                  {"enabled": {"false"}},
		from + "/settings":                 {"hotel_code": {"X"}},
		from + "/mappings":                 {"room": {"NEW"}, "room_type": {"DBL-STD"}},
		from + "/mappings/delete":          {"room": {"DBL"}, "rate": {""}},
		from + "/credentials/inbound":      nil,
		from + "/credentials/outbound":     {"username": {"u"}, "secret": {"s"}},
		from + "/resync":                   nil,
		from + "/dead-letters/retry":       {"queue": {queue}, "task": {id}},
		"/admin/p/P/channels/airbnb/feeds": {"room_type": {"DBL-STD"}, "url": {"https://evil.example/x.ics"}},
		fmt.Sprintf("/admin/p/P/channels/airbnb/feeds/%d/sync", feeds[0].ID):      nil,
		"/admin/p/P/channels/airbnb/export-tokens":                                {"room_type": {"DBL-STD"}},
		fmt.Sprintf("/admin/p/P/channels/airbnb/export-tokens/%d/rotate", tok.ID): nil,
		fmt.Sprintf("/admin/p/P/channels/airbnb/export-tokens/%d/revoke", tok.ID): nil,
	}
	for path, form := range posts {
		p := e.post(from, path, form)
		require.Equal(t, http.StatusForbidden, p.Status, "%s: %s", path, p.Body)
		require.NotContains(t, p.Body, `id="revealed-secret"`, path)
	}

	auditAfter, err := e.st.Audit(ctx, "P", "", 1000)
	require.NoError(t, err)
	require.Equal(t, len(auditBefore), len(auditAfter), "nothing changed")
	chans, err := e.st.Channels(ctx, "P")
	require.NoError(t, err)
	for _, c := range chans {
		require.True(t, c.Enabled, c.Code)
		require.Empty(t, c.HotelCode, c.Code)
	}
	ms, err := e.st.Mappings(ctx, "P", "expedia")
	require.NoError(t, err)
	require.Equal(t, []inventory.Mapping{{ChannelRoom: "DBL", RoomType: "DBL-STD"}}, ms)
	ok, err := e.st.CheckChannelSecret(ctx, e.sec, "P", "expedia", "exp", "old secret")
	require.NoError(t, err)
	require.True(t, ok)
	require.True(t, statusOfChannel(t, e.fan, "expedia").InSync, "no resync")
	archived, err := e.fan.Archived(ctx)
	require.NoError(t, err)
	require.Len(t, archived, 1, "still dead-lettered")
	tokens, err := e.st.ExportTokens(ctx, "P", "airbnb")
	require.NoError(t, err)
	require.Len(t, tokens, 1)
	require.Nil(t, tokens[0].RevokedAt)
	after, err := e.st.ICalFeeds(ctx, "P", "airbnb")
	require.NoError(t, err)
	require.Equal(t, feeds[0].NextFetchAt, after[0].NextFetchAt)
	require.Equal(t, feeds[0].Host, after[0].Host)
}

// rowOf is the table row of the channels list whose row header is channel.
func rowOf(t *testing.T, body, channel string) string {
	t.Helper()
	re := regexp.MustCompile(`(?s)<tr>\s*<th scope="row"><a href="/admin/p/P/channels/` + regexp.QuoteMeta(channel) + `">.*?</tr>`)
	m := re.FindString(body)
	require.NotEmpty(t, m, "no row for %s in:\n%s", channel, body)
	return m
}

// section is the <section> of a channel page labelled by the heading id.
func section(t *testing.T, body, headingID string) string {
	t.Helper()
	i := strings.Index(body, `aria-labelledby="`+headingID+`"`)
	require.GreaterOrEqual(t, i, 0, "no section %s in:\n%s", headingID, body)
	j := strings.Index(body[i:], "</section>")
	require.GreaterOrEqual(t, j, 0)
	return body[i : i+j]
}

// An ota_pull channel shows when keyrack last polled it and why the last
// poll failed, in the list and on its page.
func TestAPullChannelShowsItsPollingState(t *testing.T) {
	t.Parallel()
	e := newChannelsUI(t)
	e.seedHotel("P", 2)
	ctx := context.Background()
	ch, err := e.st.CreateChannel(ctx, "P", inventory.Channel{Code: "hrs", Kind: inventory.ChannelOTAPull, Enabled: true,
		OTASettings: inventory.OTASettings{PullURL: "https://pull.example/res"}}, inventory.System)
	require.NoError(t, err)
	e.login("anna")
	require.Contains(t, rowOf(t, e.get("/admin/p/P/channels").Body, "hrs"), "not polled yet")

	_, err = e.st.DB().Exec(ctx, `INSERT INTO sync_channels AS s (property_id, channel_id, pulled_at, pull_ok_at, pull_error, pull_error_at)
		SELECT property_id, id, now(), now() - interval '1 hour', 'channel answered 503 Service Unavailable', now() FROM channels WHERE id = $1
		ON CONFLICT (property_id, channel_id) DO UPDATE SET pulled_at = EXCLUDED.pulled_at, pull_ok_at = EXCLUDED.pull_ok_at,
			pull_error = EXCLUDED.pull_error, pull_error_at = EXCLUDED.pull_error_at`, ch.ID)
	require.NoError(t, err)
	row := rowOf(t, e.get("/admin/p/P/channels").Body, "hrs")
	require.Regexp(t, `polled [0-9]+s ago`, row)
	require.Contains(t, row, "last good 1h ago")
	require.Contains(t, row, "503 Service Unavailable")
	status := section(t, e.get("/admin/p/P/channels/hrs").Body, "status-title")
	require.Contains(t, status, "Last good poll")
	require.Contains(t, status, "503 Service Unavailable")
	require.Contains(t, rowOf(t, e.get("/admin/p/P/channels").Body, "expedia"), "—", "not a pull channel")
}

// A push channel keyrack sends nothing — enabled but without an endpoint,
// or disabled — is not shown "in sync" (the answer to "is channel X in
// sync?") in the list or on its page, though the fan-out has nothing
// waiting for it: they say why nothing is sent, as the grid does.
func TestAChannelKeyrackSendsNothingIsNotShownInSync(t *testing.T) {
	t.Parallel()
	e := newChannelsUI(t)
	e.seedHotel("P", 4) // expedia: enabled, DBL mapped, no endpoint
	e.runWorker()
	ctx := context.Background()
	gridBook(t, e.st, "P", "pms", "W-1", gridToday(t).AddDays(3), 2, 1)
	require.NoError(t, e.fan.Resync(ctx, "P", "expedia"))
	eventuallyUI(t, "expedia's marks to be cleared", func() bool { return statusOfChannel(t, e.fan, "expedia").InSync })
	require.Nil(t, statusOfChannel(t, e.fan, "expedia").LastDelivery, "nothing was ever delivered")

	e.login("anna")
	for _, want := range []string{"not pushed: no endpoint", "disabled"} {
		row := rowOf(t, e.get("/admin/p/P/channels").Body, "expedia")
		require.NotContains(t, row, "in sync", "the list row of a channel keyrack sends nothing: %s", row)
		require.Contains(t, row, `<span class="warn">`+want+`</span>`)
		status := section(t, e.get("/admin/p/P/channels/expedia").Body, "status-title")
		require.NotContains(t, status, "in sync")
		require.Contains(t, status, `<dt>Lag</dt><dd><span class="warn">`+want+`</span>`)

		off := false
		_, err := e.st.UpdateChannel(ctx, "P", "expedia", inventory.ChannelPatch{Enabled: &off}, inventory.System)
		require.NoError(t, err)
	}
}

// While no worker runs the outbox relay (or it cannot write), a booking's
// change waits in the outbox and no channel has it: the channels that sell
// its pool are not shown "in sync" but pending, saying why, in the list and
// on the channel's page. Once a worker runs, they catch up.
func TestAChangeNotYetRelayedIsShownPendingWithWhy(t *testing.T) {
	t.Parallel()
	e := newChannelsUI(t)
	e.seedHotel("P", 4)
	ctx := context.Background()
	tc := testchannel.New()
	t.Cleanup(tc.Close)
	endpoint := tc.URL()
	_, err := e.st.UpdateChannel(ctx, "P", "expedia", inventory.ChannelPatch{Endpoint: &endpoint, HotelCode: new("EXP-P")}, inventory.System)
	require.NoError(t, err)
	e.login("anna")

	booked := time.Now()
	gridBook(t, e.st, "P", "pms", "W-1", gridToday(t).AddDays(3), 2, 1)
	st := statusOfChannel(t, e.fan, "expedia")
	if time.Since(booked) < sync.RelayLate/2 { // not on a machine too busy to tell
		require.True(t, st.InSync, "a change just made is not late yet: %+v", st)
	}
	time.Sleep(sync.RelayLate + 200*time.Millisecond)
	st = statusOfChannel(t, e.fan, "expedia")
	require.False(t, st.InSync, "expedia shown in sync while the booking waits in the outbox: %+v", st)
	require.Equal(t, 1, st.Unrelayed)
	require.NotNil(t, st.DirtySince, "pending since the change was made")
	require.Equal(t, 0, st.DirtyNights)
	require.True(t, statusOfChannel(t, e.fan, "pms").InSync, "a PMS is not pushed availability")

	const why = "1 change not yet relayed (the fan-out's relay is behind or not running)"
	row := html.UnescapeString(rowOf(t, e.get("/admin/p/P/channels").Body, "expedia"))
	require.NotContains(t, row, "in sync")
	require.Regexp(t, `pending for [0-9]+s: `+regexp.QuoteMeta(why), row)
	status := html.UnescapeString(section(t, e.get("/admin/p/P/channels/expedia").Body, "status-title"))
	require.NotContains(t, status, "in sync")
	require.Contains(t, status, why)

	e.runWorker()
	eventuallyUI(t, "expedia to catch up", func() bool { return statusOfChannel(t, e.fan, "expedia").InSync })
	require.Contains(t, rowOf(t, e.get("/admin/p/P/channels").Body, "expedia"), "in sync")
}

// A room code mapped, through two rates, to room types of two pools gets
// only one pool's availability: the channel page says so.
func TestARoomCodeMappedToTwoPoolsIsShownAsAMistake(t *testing.T) {
	t.Parallel()
	e := newUI(t)
	e.seedHotel("P", 2)
	ctx := context.Background()
	_, err := e.st.CreatePool(ctx, "P", inventory.Pool{Code: "SGL", Units: 3}, inventory.System)
	require.NoError(t, err)
	_, err = e.st.CreateRoomType(ctx, "P", inventory.RoomType{Code: "SGL-STD", Pool: "SGL"}, inventory.System)
	require.NoError(t, err)
	e.login("anna")
	const from = "/admin/p/P/channels/expedia"
	require.NotContains(t, e.get(from).Body, "mapped to room types of different pools")

	require.NoError(t, e.st.SetMapping(ctx, "P", "expedia", inventory.Mapping{ChannelRoom: "DBL", ChannelRate: "SGLUSE", RoomType: "SGL-STD"}, inventory.System))
	body := section(t, e.get(from).Body, "mappings-title")
	require.Contains(t, body, "Room code DBL is mapped to room types of different pools (DBL, SGL)")
}

// A code stored before keyrack checked codes, which an OTA XML channel's
// messages cannot carry (a room code past OpenTravel's 16 characters, a
// hotel code with a space after it), is shown on the channel page as a
// mistake to correct.
func TestACodeTheChannelCannotBeSentIsShownAsAMistake(t *testing.T) {
	t.Parallel()
	e := newUI(t)
	e.seedHotel("P", 2)
	ctx := context.Background()
	e.login("anna")
	const from = "/admin/p/P/channels/expedia"
	require.NotContains(t, e.get(from).Body, "OpenTravel allows at most")
	// As an earlier keyrack stored them, unchecked.
	_, err := e.st.DB().Exec(ctx, `UPDATE mappings SET channel_room = 'DOUBLE-SEA-VIEW-1' WHERE channel_room = 'DBL'`)
	require.NoError(t, err)
	_, err = e.st.DB().Exec(ctx, `UPDATE channels SET hotel_code = '1234 ' WHERE code = 'expedia'`)
	require.NoError(t, err)
	body := section(t, e.get(from).Body, "mappings-title")
	require.Contains(t, body, "room code &#34;DOUBLE-SEA-VIEW-1&#34; is 17 characters long; OpenTravel allows at most 16")
	require.Contains(t, body, "hotel code &#34;1234 &#34; has spaces at its start or end")
}

package web_test

import (
	"context"
	"maps"
	"net/http"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/keyrack/keyrack/connectors"
	"github.com/keyrack/keyrack/connectors/otaxml"
	"github.com/keyrack/keyrack/fixtures/otachannel"
	"github.com/keyrack/keyrack/inventory"
	"github.com/keyrack/keyrack/sync"
	"github.com/stretchr/testify/require"
)

// runFanout serves the API with a fan-out (withFanout) that pushes to OTA
// channels with the OTA XML connector, and runs its worker and scheduler
// until the test ends.
func (e *apiEnv) runFanout(configure ...func(*sync.Config)) *sync.Fanout {
	e.t.Helper()
	ota := &otaxml.Connector{}
	f, _, _ := e.withFanout(append([]func(*sync.Config){func(c *sync.Config) {
		c.ScheduleInterval, c.ResyncAt = 100*time.Millisecond, "off"
		c.Connectors = connectors.Registry{inventory.ChannelOTAPush: ota, inventory.ChannelGDS: ota, inventory.ChannelOTAPull: ota}
	}}, configure...)...)
	ctx, cancel := context.WithCancel(context.Background())
	var roles gosync.WaitGroup
	roles.Go(func() { _ = f.RunWorker(ctx) })
	roles.Go(func() { _ = f.RunScheduler(ctx) })
	// The roles stop before the queue's connections close (cleanups run last first).
	e.t.Cleanup(func() { cancel(); roles.Wait() })
	return f
}

// pushChannel adds ota_push channel code (hotel code HTL-<code>, inbound
// user <code in lower case>-user, secret …-secret) to property p, pushed to
// an OTA test channel of its own that takes keyrack-<code>/out-<code>;
// settings are added to the channel's.
func (e *apiEnv) pushChannel(p, code string, settings map[string]any) *otachannel.Channel {
	e.t.Helper()
	oc := otachannel.New()
	e.t.Cleanup(oc.Close)
	lc := strings.ToLower(code)
	oc.SetCredentials("keyrack-"+lc, "out-"+lc)
	all := map[string]any{"endpoint": oc.URL(), "credentials": map[string]any{"outbound_username": "keyrack-" + lc, "outbound_secret": "out-" + lc}}
	maps.Copy(all, settings)
	e.otaChannel(p, code, "ota_push", "HTL-"+code, lc+"-user", lc+"-secret", all)
	return oc
}

// waitAcked waits until channel code of property P has acknowledged value
// on every night of [from, to) and has nothing left to deliver — its
// resync is over and recorded, not only received — then for the echo
// window (newPushHotel's 200 ms) and more: the channel's count is then
// known right when it sells.
func (e *apiEnv) waitAcked(code string, from, to inventory.Date, value int) {
	e.t.Helper()
	ctx := context.Background()
	require.Eventually(e.t, func() bool {
		var acked, dirty int
		require.NoError(e.t, e.st.DB().QueryRow(ctx, `SELECT
			(SELECT count(*) FROM sync_acks a WHERE a.property_id = c.property_id AND a.channel_id = c.id
				AND a.night >= $2 AND a.night < $3 AND a.available = $4),
			(SELECT count(*) FROM sync_dirty d WHERE d.property_id = c.property_id AND d.channel_id = c.id)
			FROM channels c JOIN properties p ON p.id = c.property_id WHERE p.code = 'P' AND c.code = $1`,
			code, from, to, value).Scan(&acked, &dirty))
		return acked == to.Sub(from) && dirty == 0
	}, deliveryWait, 10*time.Millisecond, "%s's values acknowledged", code)
	time.Sleep(400 * time.Millisecond)
}

// newPushHotel serves the API with a running fan-out (an echo window of
// 200 ms) and hotel P of 3 rooms; channels are the test's to add.
func newPushHotel(t *testing.T) (*apiEnv, *sync.Fanout) {
	e := newAPI(t)
	f := e.runFanout(func(c *sync.Config) { c.EchoWindow = 200 * time.Millisecond })
	e.hotel("P", 3)
	return e, f
}

// End to end over HTTP, real PostgreSQL and Redis: channel A pushes a
// Commit, a Modify that moves the dates and a Cancel to /ota/A; after each
// step the pool holds what it should, and the OTA test channels B (raw XML,
// HTTP Basic) and C (SOAP 1.1, WS-Security) are told the new availability
// with OTA_HotelAvailNotifRQ. A itself is never pushed its own change back.
func TestOTAEndToEndCommitModifyCancelReachOtherChannels(t *testing.T) {
	t.Parallel()
	e, f := newPushHotel(t)
	ctx := context.Background()
	a, b := e.pushChannel("P", "A", nil), e.pushChannel("P", "B", nil)
	c := e.pushChannel("P", "C", map[string]any{"envelope": "soap11"})

	// Every channel first holds the pool's values (a full resync), so that
	// A's own changes are echoes keyrack need not send back to it.
	for _, ch := range []string{"A", "B", "C"} {
		require.NoError(t, f.Resync(ctx, "P", ch))
	}
	for _, oc := range []*otachannel.Channel{a, b, c} {
		for d := inventory.MustDate("2027-03-01"); d.Before(inventory.MustDate("2027-03-04")); d = d.AddDays(1) {
			require.NoError(t, oc.WaitFor("DBL", d, 3, deliveryWait))
		}
	}
	// Past the echo window after A's resync is over and keyrack recorded
	// its acknowledgements (not after A got the values of these nights:
	// under load the rest of the resync, or the record, can come later, and
	// keyrack then cannot tell that a push landed before A sold, so it
	// corrects A): A's count was right when it sold.
	e.waitAcked("A", inventory.MustDate("2027-03-01"), inventory.MustDate("2027-03-04"), 3)
	before := map[*otachannel.Channel]int{a: len(a.Received()), b: len(b.Received()), c: len(c.Received())}

	// want is every night's availability after a step: each of B and C
	// must come to believe exactly that, and the pool must have sold the rest.
	step := func(name string, msg []byte, want map[string]int) {
		t.Helper()
		r := e.otaPost("A", "a-user", "a-secret", msg)
		require.Equal(t, http.StatusOK, r.Status, "%s: %s", name, r.Body)
		rs := otaRS(t, r)
		require.True(t, rs.Success, "%s: %s", name, r.Body)
		for night, avail := range want {
			require.Equal(t, 3-avail, e.sold("P", night), "%s: sold on %s", name, night)
			for ch, oc := range map[string]*otachannel.Channel{"B": b, "C": c} {
				require.NoError(t, oc.WaitFor("DBL", inventory.MustDate(night), avail, deliveryWait), "%s: channel %s on %s", name, ch, night)
			}
		}
	}
	step("commit", resNotif("Commit", "A-1", "HTL-A", "2027-03-01", "2027-03-03"),
		map[string]int{"2027-03-01": 2, "2027-03-02": 2})
	step("modify", resNotif("Modify", "A-1", "HTL-A", "2027-03-02", "2027-03-04"),
		map[string]int{"2027-03-01": 3, "2027-03-02": 2, "2027-03-03": 2})
	step("cancel", resNotif("Cancel", "A-1", "HTL-A", "2027-03-02", "2027-03-04"),
		map[string]int{"2027-03-01": 3, "2027-03-02": 3, "2027-03-03": 3})

	res, err := e.st.Reservation(context.Background(), "P", "A", "A-1")
	require.NoError(t, err)
	require.Equal(t, inventory.Cancelled, res.Status)
	require.Equal(t, 3, res.Revisions)

	for ch, oc := range map[string]*otachannel.Channel{"B": b, "C": c} {
		got := oc.Received()
		require.Greater(t, len(got), before[oc], "channel %s", ch)
		for _, m := range got {
			require.Equal(t, "OTA_HotelAvailNotifRQ", m.Message.Name, "channel %s", ch)
		}
		require.Zero(t, oc.Stats().Unauthorized, "channel %s", ch)
	}
	require.Equal(t, otaxml.SOAP11, c.Received()[0].Message.Envelope, "C is configured for SOAP 1.1")
	require.Equal(t, otaxml.Raw, b.Received()[0].Message.Envelope)
	// A's own changes are not echoed back to it (loop suppression).
	require.Len(t, a.Received(), before[a], "channel A is not told about its own booking")

	// Stop-sell: C is sent Close (it believes 0); B answers with OTA Errors,
	// a failed delivery whose text staff see in B's status.
	b.FailWith(otaxml.TypeBizRule, 392, "Hotel not active at the OTA")
	e.must(http.StatusOK, "PUT", "/api/v1/properties/P/pools/DBL/nights?from=2027-03-05&to=2027-03-06", map[string]any{"closed": true})
	require.NoError(t, c.WaitFor("DBL", inventory.MustDate("2027-03-05"), 0, deliveryWait))
	last := c.Received()[len(c.Received())-1].Message
	require.Len(t, last.Avail, 1)
	require.Equal(t, "Close", last.Avail[0].Restrictions[0].Status)
	require.Eventually(t, func() bool {
		st, err := f.Status(context.Background(), "P")
		require.NoError(t, err)
		for _, s := range st {
			if s.Channel == "B" {
				return strings.Contains(s.LastError, "Hotel not active at the OTA") && !s.InSync
			}
		}
		return false
	}, deliveryWait, 20*time.Millisecond, "B's error is kept for staff")
}

// A channel that could not reach keyrack sends its booking again later.
// Availability keyrack pushed to it meanwhile overwrote the channel's own
// decrement, so when the booking arrives the channel is sent the pool's
// value — a correction, not an echo suppressed — because the reservation
// says (with its time zone) when it was made. Dated from its arrival, the
// push in between would look like it had landed before the channel sold,
// and the channel would go on offering a room the pool no longer has.
func TestABookingThatArrivesLateIsCorrectedOnItsChannel(t *testing.T) {
	t.Parallel()
	e, f := newPushHotel(t)
	ctx := context.Background()
	a := e.pushChannel("P", "A", nil)
	e.pushChannel("P", "B", nil)
	for _, code := range []string{"A", "B"} {
		require.NoError(t, f.Resync(ctx, "P", code))
	}
	night := inventory.MustDate("2027-03-01")
	// acked waits until keyrack recorded that A holds value on the night,
	// then for the echo window to pass.
	acked := func(value int) {
		t.Helper()
		require.NoError(t, a.WaitFor("DBL", night, value, deliveryWait))
		require.Eventually(t, func() bool {
			var n int
			require.NoError(t, e.st.DB().QueryRow(ctx, `SELECT count(*) FROM sync_acks a JOIN channels c ON c.property_id = a.property_id AND c.id = a.channel_id
				WHERE c.code = 'A' AND a.night = $1 AND a.available = $2
					AND NOT EXISTS (SELECT 1 FROM sync_dirty d WHERE d.property_id = c.property_id AND d.channel_id = c.id)`, night, value).Scan(&n))
			return n == 1
		}, deliveryWait, 10*time.Millisecond, "A's value %d acknowledged", value)
		time.Sleep(400 * time.Millisecond)
	}
	acked(3)

	// A sells a room (2 left on A) but cannot tell keyrack yet; then B sells
	// one and keyrack pushes A the pool's 2, overwriting A's own decrement.
	sold := time.Now().Add(-time.Second).UTC().Format(time.RFC3339)
	r := e.otaPost("B", "b-user", "b-secret", resNotif("Commit", "B-1", "HTL-B", "2027-03-01", "2027-03-02"))
	require.True(t, otaRS(t, r).Success, "%s", r.Body)
	acked(2)

	// A's booking arrives: the pool has 1 room left, and A must be told so.
	r = e.otaPost("A", "a-user", "a-secret", resNotifMade("Commit", "A-1", "HTL-A", "2027-03-01", "2027-03-02", sold))
	require.True(t, otaRS(t, r).Success, "%s", r.Body)
	require.Equal(t, 2, e.sold("P", "2027-03-01"))
	require.NoError(t, a.WaitFor("DBL", night, 1, deliveryWait), "A is sent the pool's value after its late booking")
}

// A channel whose horizon is raised is sent the nights it now covers at
// once, not at the next nightly resync (never, with the resync off).
func TestARaisedHorizonIsSentAtOnce(t *testing.T) {
	t.Parallel()
	e, _ := newPushHotel(t)
	oc := e.pushChannel("P", "B", map[string]any{"horizon_days": 30})
	today := inventory.Today(time.UTC)
	require.NoError(t, oc.WaitFor("DBL", today.AddDays(20), 3, deliveryWait), "the mapping's catch-up sent the horizon")
	_, ok := oc.Value("DBL", today.AddDays(60))
	require.False(t, ok, "beyond the horizon")
	e.must(http.StatusOK, "PATCH", "/api/v1/properties/P/channels/B", map[string]any{"horizon_days": 90})
	require.NoError(t, oc.WaitFor("DBL", today.AddDays(60), 3, deliveryWait))
}

package sync_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/keyrack/keyrack/fixtures/testchannel"
	"github.com/keyrack/keyrack/inventory"
	"github.com/keyrack/keyrack/sync"
	"github.com/stretchr/testify/require"
)

// sharedHostHotel is a hotel whose channels named in shared all push to one
// host (H1's test channel, each at a path of its own), as every property's
// Booking.com channel pushes to the same supply host; SRC takes the
// bookings and OK is a channel elsewhere.
func sharedHostHotel(t *testing.T, shared []string, config func(*sync.Config)) (*hotel, *testchannel.Channel) {
	t.Helper()
	ctx := context.Background()
	h := newHotel(t, hotelOptions{channels: append([]string{"SRC", "OK"}, shared...), config: config})
	host := h.tc[shared[0]]
	for _, c := range shared[1:] {
		ep := host.URL() + "/" + c
		_, err := h.st.UpdateChannel(ctx, h.code, c, inventory.ChannelPatch{Endpoint: &ep}, inventory.System)
		require.NoError(t, err)
		require.NoError(t, h.st.SetChannelCredentials(ctx, h.secrets, h.code, c, inventory.Credentials{
			OutboundUser: "keyrack-" + shared[0], OutboundSecret: "s3cret-" + shared[0]}, inventory.System))
		h.tc[c] = host // its rooms' values are on the shared host now
	}
	return h.primed(), host
}

func TestAHungHostSharedByManyChannelsDoesNotHoldBackTheOthers(t *testing.T) {
	t.Parallel()
	shared := []string{"H1", "H2", "H3", "H4", "H5", "H6"}
	h, host := sharedHostHotel(t, shared, func(c *sync.Config) {
		c.Concurrency = 4
		// The hung host holds a push this long: far longer than the wait
		// for OK below, so a loaded machine has room and a missing per-host
		// limit (OK waiting for these pushes to time out) still fails it.
		c.PushTimeout = 3 * time.Minute
	})
	arrival := h.today.AddDays(3)

	host.Hold()
	t.Cleanup(host.Release)
	h.book("SRC", "hung-1", 0, arrival, 1, 1)
	eventually(t, convergeTimeout, "pushes to the hung host", func() bool { return host.InFlight() >= 2 })
	eventually(t, convergeTimeout, "OK to hold the first booking", func() bool {
		v, _ := h.tc["OK"].Value(h.room("OK", 0), arrival)
		return v == 9
	})
	// Every shared channel's delivery of the first booking is hung or
	// waiting; without a limit per host they take every worker, and OK's
	// delivery of the second booking waits for the push timeout.
	h.book("SRC", "hung-2", 0, arrival.AddDays(1), 1, 1)
	eventually(t, time.Minute, "OK to hold the second booking while the shared host hangs", func() bool {
		v, _ := h.tc["OK"].Value(h.room("OK", 0), arrival.AddDays(1))
		return v == 9
	})
	require.LessOrEqual(t, host.Stats().MaxInFlight, 2, "at most half of the 4 workers push to one host")
	require.Positive(t, host.InFlight(), "the shared host is still hung")

	host.Release()
	h.waitConverged()
}

func TestAHostThatTimedOutGetsOnePushAtATimeUntilItAnswers(t *testing.T) {
	t.Parallel()
	shared := []string{"H1", "H2", "H3", "H4"}
	h, host := sharedHostHotel(t, shared, func(c *sync.Config) {
		c.Concurrency = 8 // 4 pushes to one host at a time while it answers
		c.PushTimeout = 2 * time.Second
	})
	arrival := h.today.AddDays(2)

	host.Hold()
	t.Cleanup(host.Release)
	h.book("SRC", "slow-1", 0, arrival, 1, 1)
	// lastErrors is the shared channels' last errors, joined.
	lastErrors := func() string {
		st, err := h.status()
		require.NoError(t, err)
		var out []string
		for _, s := range st {
			if strings.HasPrefix(s.Channel, "H") && s.LastError != "" {
				out = append(out, s.Channel+": "+s.LastError)
			}
		}
		return strings.Join(out, "\n")
	}
	eventually(t, convergeTimeout, "a push to the shared host to time out", func() bool { return lastErrors() != "" })
	// The pushes that started together time out together; from then on
	// one at a time is in flight.
	eventually(t, convergeTimeout, "the first pushes to end", func() bool { return host.InFlight() <= 1 })
	host.Reset()
	for i := range 3 {
		h.book("SRC", fmt.Sprintf("slow-%d", i+2), 0, arrival.AddDays(1+i), 1, 1)
	}
	eventually(t, convergeTimeout, "the other channels to be served meanwhile", func() bool {
		v, _ := h.tc["OK"].Value(h.room("OK", 0), arrival.AddDays(3))
		return v == 9
	})
	time.Sleep(3 * time.Second) // more than a push timeout: the next pushes to the host have begun
	// One push at a time: the test channel may still hold the request of a
	// push that just timed out for a moment while the next begins, so two
	// overlap at most — against the 4 the host may have while it answers.
	require.LessOrEqual(t, host.Stats().MaxInFlight, 2, "one push at a time to a host that did not answer")
	eventually(t, convergeTimeout, "staff to be told why the shared host's channels wait", func() bool {
		return strings.Contains(lastErrors(), "got no answer within 2s; keyrack sends it one push at a time")
	})

	host.Release()
	h.waitConverged()
	st, err := h.status()
	require.NoError(t, err)
	for _, s := range st {
		require.Empty(t, s.LastError, "%s: once the host answers, its note goes", s.Channel)
	}
}

// A delivery held back because its host has all the pushes it may have —
// every property's channel of one busy OTA — says so on the channel's
// status, and is not taken for work no keyrack worker attempted (the
// overdue check's "no keyrack worker has delivered to it"): a worker did,
// and is waiting for the host.
func TestADeliveryWaitingForItsBusyHostSaysSo(t *testing.T) {
	t.Parallel()
	shared := []string{"H1", "H2", "H3", "H4", "H5", "H6"}
	h, host := sharedHostHotel(t, shared, func(c *sync.Config) {
		c.Concurrency = 4 // two pushes at a time to one host
		c.PushTimeout = 3 * time.Minute
	})
	ctx := context.Background()
	// Delivered long ago; the changes below have waited ten minutes.
	_, err := h.st.DB().Exec(ctx, `UPDATE sync_channels SET last_delivery_at = now() - interval '1 hour'`)
	require.NoError(t, err)
	host.Hold()
	t.Cleanup(host.Release)
	h.book("SRC", "busy-1", 0, h.today.AddDays(3), 1, 1)
	eventually(t, convergeTimeout, "two pushes to the busy host", func() bool { return host.InFlight() == 2 })
	_, err = h.st.DB().Exec(ctx, `UPDATE sync_dirty SET since = now() - interval '10 minutes'`)
	require.NoError(t, err)

	var waiting []string
	eventually(t, 20*time.Second, "the held-back channels to say why, and none but the two in flight to be overdue", func() bool {
		waiting = nil
		for _, c := range shared {
			if strings.Contains(statusOf(t, h, c).LastError, "not sent yet: keyrack's pushes to "+endpointHostOf(host.URL())) {
				waiting = append(waiting, c)
			}
		}
		o, err := h.fan.Overdue(ctx, h.code)
		require.NoError(t, err)
		return len(waiting) == len(shared)-2 && len(o.Undelivered) <= 2
	})
	t.Logf("held back with a note: %v", waiting)
	host.Release()
	h.waitConverged()
	for _, c := range shared {
		require.Empty(t, statusOf(t, h, c).LastError, "%s: the note goes once it is sent", c)
	}
}

// endpointHostOf is the host:port of a URL, as the fan-out names hosts.
func endpointHostOf(u string) string { return strings.TrimPrefix(u, "http://") }

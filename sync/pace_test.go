package sync_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/keyrack/keyrack/connectors"
	"github.com/keyrack/keyrack/connectors/testjson"
	"github.com/keyrack/keyrack/inventory"
	"github.com/keyrack/keyrack/sync"
	"github.com/stretchr/testify/require"
)

// splitConnector sends each item of an update as a request of its own, as
// the OTA XML connector sends an update too large for one message in
// several (otaxml.DefaultMaxMessage).
type splitConnector struct{ testjson.Connector }

func (c *splitConnector) Push(ctx context.Context, ch connectors.Channel, u connectors.Update) (connectors.Ack, error) {
	var ack connectors.Ack
	for i, it := range u.Items {
		err := ch.Request(ctx, i, func(ctx context.Context) error {
			one := ch
			one.Pace, one.RequestTimeout = nil, 0 // this request is the inner push
			a, err := c.Connector.Push(ctx, one, connectors.Update{Items: []connectors.Availability{it}, Full: u.Full})
			for _, r := range a.Rejected {
				ack.Rejected = append(ack.Rejected, connectors.Rejection{Item: i, Reason: r.Reason})
			}
			return err
		})
		if err != nil {
			return connectors.Ack{}, err
		}
	}
	return ack, nil
}

// splitHotel is a hotel whose channels are pushed one request per item,
// with the nights [1, 12) of the horizon alternating between 9 and 10
// rooms: a resync of a channel is some thirteen requests.
func splitHotel(t *testing.T, o hotelOptions) *hotel {
	t.Helper()
	config := o.config
	o.config = func(c *sync.Config) {
		c.Connectors = connectors.Registry{inventory.ChannelOTAPush: &splitConnector{}}
		if config != nil {
			config(c)
		}
	}
	h := newHotel(t, o).primed()
	for i := range 6 {
		h.book("A", fmt.Sprintf("split-%d", i), 0, h.today.AddDays(1+2*i), 1, 1)
	}
	h.waitConverged()
	for _, c := range h.channels {
		h.tc[c].Reset()
	}
	return h
}

func TestEveryMessageOfASplitPushCountsAgainstTheRateLimit(t *testing.T) {
	t.Parallel()
	const limit, window, slack = 3, 2 * time.Second, 500 * time.Millisecond
	h := splitHotel(t, hotelOptions{channels: []string{"A", "B"}, rateLimit: map[string]int{"B": limit},
		config: func(c *sync.Config) { c.RateWindow = window }})
	// Tighter than keyrack keeps to: a request let through early meets a 429.
	h.tc["B"].Limit(limit, window-slack)

	require.NoError(t, h.fan.Resync(context.Background(), h.code, "B"))
	h.waitConverged()
	got := h.tc["B"].Received()
	require.Greater(t, len(got), 2*limit, "the resync went out in several windows' worth of requests")
	require.Zero(t, h.tc["B"].Stats().Throttled, "keyrack kept to the limit between a push's messages too")
	for i := limit; i < len(got); i++ {
		require.GreaterOrEqual(t, got[i].At.Sub(got[i-limit].At), window-slack,
			"more than %d requests within %s", limit, window)
	}
}

func TestEachMessageOfASplitPushHasThePushTimeout(t *testing.T) {
	t.Parallel()
	h := splitHotel(t, hotelOptions{channels: []string{"A", "B"},
		config: func(c *sync.Config) { c.PushTimeout = 2 * time.Second }})
	// Each request takes well within the push timeout; all of a resync's
	// together take several times it.
	h.tc["B"].Delay(400 * time.Millisecond)

	require.NoError(t, h.fan.Resync(context.Background(), h.code, "B"))
	h.waitConverged()
	require.Greater(t, len(h.tc["B"].Received()), 8, "the resync went out in many requests")
	require.Zero(t, statusOf(t, h, "B").Failures, "no request ran out of time")
}

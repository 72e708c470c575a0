package testjson_test

import (
	"context"
	"testing"
	"time"

	"github.com/keyrack/keyrack/connectors"
	"github.com/keyrack/keyrack/connectors/testjson"
	"github.com/keyrack/keyrack/fixtures/testchannel"
	"github.com/keyrack/keyrack/inventory"
	"github.com/stretchr/testify/require"
)

func setup(t *testing.T) (*testchannel.Channel, connectors.Channel) {
	t.Helper()
	tc := testchannel.New()
	t.Cleanup(tc.Close)
	tc.RequireCredentials("keyrack", "s3cret")
	return tc, connectors.Channel{Property: "H", Code: "ota", Kind: inventory.ChannelOTAPush,
		HotelCode: "HOTEL-1", Endpoint: tc.URL(), Username: "keyrack", Secret: "s3cret"}
}

var d = inventory.MustDate("2026-12-01")

func TestPushDeliversRangesTheChannelApplies(t *testing.T) {
	t.Parallel()
	tc, ch := setup(t)
	c := &testjson.Connector{}
	ack, err := c.Push(context.Background(), ch, connectors.Update{Items: []connectors.Availability{
		{Room: "DBL", From: d, To: d.AddDays(3), Available: 4},
		{Room: "STE", From: d, To: d.AddDays(1), Available: 0},
	}})
	require.NoError(t, err)
	require.Empty(t, ack.Rejected)
	for i := range 3 {
		v, ok := tc.Value("DBL", d.AddDays(i))
		require.True(t, ok)
		require.Equal(t, 4, v)
	}
	_, ok := tc.Value("DBL", d.AddDays(3))
	require.False(t, ok, "the range end is exclusive")
	v, _ := tc.Value("STE", d)
	require.Equal(t, 0, v)
	got := tc.Received()
	require.Len(t, got, 1)
	require.Equal(t, "HOTEL-1", got[0].Request.Hotel)
}

func TestPushReportsWhatTheChannelRejected(t *testing.T) {
	t.Parallel()
	tc, ch := setup(t)
	tc.AcceptRooms("DBL")
	ack, err := (&testjson.Connector{}).Push(context.Background(), ch, connectors.Update{Items: []connectors.Availability{
		{Room: "DBL", From: d, To: d.AddDays(1), Available: 4},
		{Room: "XXX", From: d, To: d.AddDays(1), Available: 4},
	}})
	require.NoError(t, err)
	require.Equal(t, []connectors.Rejection{{Item: 1, Reason: "unknown room XXX"}}, ack.Rejected)
}

func TestPushClassifiesFailures(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := &testjson.Connector{}
	upd := connectors.Update{Items: []connectors.Availability{{Room: "DBL", From: d, To: d.AddDays(1), Available: 1}}}

	tc, ch := setup(t)
	bad := ch
	bad.Secret = "not-the-s3cret"
	_, err := c.Push(ctx, bad, upd)
	require.Equal(t, connectors.KindPermanent, connectors.KindOf(err), "%v", err)
	require.NotContains(t, err.Error(), "not-the-s3cret", "the secret stays out of errors")

	tc.FailAll(true)
	_, err = c.Push(ctx, ch, upd)
	require.Equal(t, connectors.KindRetryable, connectors.KindOf(err), "%v", err)
	tc.FailAll(false)

	tc.Limit(1, time.Minute)
	_, err = c.Push(ctx, ch, upd)
	require.NoError(t, err)
	_, err = c.Push(ctx, ch, upd)
	require.Equal(t, connectors.KindRateLimited, connectors.KindOf(err), "%v", err)
	require.Greater(t, connectors.RetryAfterOf(err), 50*time.Second)

	noEndpoint := ch
	noEndpoint.Endpoint = ""
	_, err = c.Push(ctx, noEndpoint, upd)
	require.Equal(t, connectors.KindPermanent, connectors.KindOf(err))

	gone := ch
	tc2, _ := setup(t)
	gone.Endpoint = tc2.URL()
	tc2.Close()
	_, err = c.Push(ctx, gone, upd)
	require.Equal(t, connectors.KindRetryable, connectors.KindOf(err), "%v", err)
}

func TestATimedOutPushIsNotApplied(t *testing.T) {
	t.Parallel()
	tc, ch := setup(t)
	tc.Delay(2 * time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := (&testjson.Connector{}).Push(ctx, ch, connectors.Update{Items: []connectors.Availability{{Room: "DBL", From: d, To: d.AddDays(1), Available: 1}}})
	require.Equal(t, connectors.KindRetryable, connectors.KindOf(err))
	require.Eventually(t, func() bool { return tc.Stats().Abandoned == 1 }, 10*time.Second, 10*time.Millisecond)
	_, ok := tc.Value("DBL", d)
	require.False(t, ok)
}

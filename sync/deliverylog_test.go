package sync_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/keyrack/keyrack/sync"
	"github.com/stretchr/testify/require"
)

// Staff read on a channel's page what each push sent and how the channel
// answered: a good push, a refused item and a failed push are all logged,
// with the values sent and the channel's own words.
func TestEveryPushIsInTheDeliveryLogWithWhatWasSentAndTheAnswer(t *testing.T) {
	t.Parallel()
	h := newHotel(t, hotelOptions{channels: []string{"A", "B"}, noWorker: true})
	f := h.fan
	ctx := context.Background()
	since := time.Now().Add(-time.Minute)

	// A full resync that B takes.
	require.NoError(t, f.Resync(ctx, h.code, "B"))
	require.NoError(t, f.DeliverNow(ctx, h.id, h.chanIDs["B"]))
	log, err := f.Deliveries(ctx, h.code, "B", 10)
	require.NoError(t, err)
	require.Len(t, log, 1)
	ok := log[0]
	require.Equal(t, sync.DeliveryOK, ok.Outcome)
	require.True(t, ok.FullResync)
	require.Positive(t, ok.Items)
	require.Empty(t, ok.Error)
	p := payloadOf(t, ok)
	require.Len(t, p.Items, ok.Items)
	require.Equal(t, "B-R0", p.Items[0].Room)
	require.Equal(t, h.today, p.Items[0].From)
	require.Equal(t, 10, p.Items[0].Available)
	requireNoLog(t, f, h.code, "A")

	// B answers 500: the push is logged as failed with the status and B's message.
	h.tc["B"].FailAll(true)
	require.NoError(t, f.Resync(ctx, h.code, "B"))
	require.Error(t, f.DeliverNow(ctx, h.id, h.chanIDs["B"]))
	log, err = f.Deliveries(ctx, h.code, "B", 10)
	require.NoError(t, err)
	require.Len(t, log, 2)
	failed := log[0]
	require.Equal(t, sync.DeliveryFailed, failed.Outcome)
	require.Equal(t, 500, failed.Status)
	require.Contains(t, failed.Error, "told to fail", "the channel's own message")
	require.Contains(t, failed.Error, "HTTP 500")
	require.NotEmpty(t, payloadOf(t, failed).Items, "what keyrack tried to send")

	// B is back but does not know its room: the refusal is logged with the item.
	h.tc["B"].FailAll(false)
	h.tc["B"].AcceptRooms("SOME-OTHER-ROOM")
	require.NoError(t, f.DeliverNow(ctx, h.id, h.chanIDs["B"]))
	log, err = f.Deliveries(ctx, h.code, "B", 10)
	require.NoError(t, err)
	require.Len(t, log, 3)
	rejected := log[0]
	require.Equal(t, sync.DeliveryRejected, rejected.Outcome)
	require.Contains(t, rejected.Error, "unknown room B-R0")
	rp := payloadOf(t, rejected)
	require.NotEmpty(t, rp.Rejected)
	require.Equal(t, "B-R0", rp.Rejected[0].Room)

	fails, err := f.DeliveryFailures(ctx, h.code, since)
	require.NoError(t, err)
	require.Equal(t, map[string]int{"B": 1}, fails, "refused items are not a failed push")
	fails, err = f.DeliveryFailures(ctx, h.code, time.Now().Add(time.Hour))
	require.NoError(t, err)
	require.Empty(t, fails)
}

// The log keeps the latest DeliveryLogKeep pushes of a channel.
func TestTheDeliveryLogKeepsTheLatestPushesOfAChannel(t *testing.T) {
	t.Parallel()
	h := newHotel(t, hotelOptions{channels: []string{"A", "B"}, noWorker: true})
	f := h.fan
	ctx := context.Background()
	h.tc["B"].FailAll(true)
	require.NoError(t, f.Resync(ctx, h.code, "B"))
	pushes := sync.DeliveryLogKeep + 10
	for range pushes {
		require.Error(t, f.DeliverNow(ctx, h.id, h.chanIDs["B"]))
	}
	require.Equal(t, pushes, h.tc["B"].Stats().Failed)
	var kept, newest, maxID int64
	require.NoError(t, h.st.DB().QueryRow(ctx, `SELECT count(*), max(id) FROM delivery_log WHERE property_id = $1 AND channel_id = $2`,
		h.id, h.chanIDs["B"]).Scan(&kept, &maxID))
	// Trimmed now and then, not on every push.
	require.GreaterOrEqual(t, kept, int64(sync.DeliveryLogKeep))
	require.Less(t, kept, int64(sync.DeliveryLogKeep+sync.DeliveryLogTrimEvery))
	all, err := f.Deliveries(ctx, h.code, "B", 0)
	require.NoError(t, err)
	require.Len(t, all, sync.DeliveryLogKeep)
	log, err := f.Deliveries(ctx, h.code, "B", 1)
	require.NoError(t, err)
	require.Len(t, log, 1)
	newest = log[0].ID
	require.Equal(t, maxID, newest, "the newest push is the one listed first")
	fails, err := f.DeliveryFailures(ctx, h.code, time.Now().Add(-time.Hour))
	require.NoError(t, err)
	require.Equal(t, sync.DeliveryLogKeep, fails["B"])
}

func payloadOf(t *testing.T, d sync.Delivery) sync.DeliveryPayload {
	t.Helper()
	var p sync.DeliveryPayload
	require.NoError(t, json.Unmarshal(d.Payload, &p), "%s", d.Payload)
	return p
}

func requireNoLog(t *testing.T, f *sync.Fanout, property, channel string) {
	t.Helper()
	log, err := f.Deliveries(context.Background(), property, channel, 10)
	require.NoError(t, err)
	require.Empty(t, log)
}

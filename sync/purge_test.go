package sync_test

import (
	"context"
	"testing"
	"time"

	"github.com/keyrack/keyrack/inventory"
	"github.com/keyrack/keyrack/sync"
	"github.com/stretchr/testify/require"
)

// Outbox rows relayed more than OutboxKeep ago are deleted, however many;
// rows relayed since and rows not relayed yet stay.
func TestRelayedOutboxRowsArePurgedAfterAWhile(t *testing.T) {
	t.Parallel()
	h := newHotel(t, hotelOptions{channels: []string{"A", "B"}, noWorker: true})
	ctx := context.Background()
	db := h.st.DB()
	h.book("A", "A-pending", 0, h.today.AddDays(3), 1, 1) // its rows stay pending: no worker relays them
	// Relayed rows: more than a batch of old ones, and a recent one.
	_, err := db.Exec(ctx, `
		INSERT INTO outbox (property_id, topic, pool_id, from_night, to_night, done_at)
		SELECT $1, 'availability', $2, $3::date, $3::date + 1, now() - interval '2 hours'
		FROM generate_series(1, $4)`, h.id, h.poolIDs[0], h.today, 2*inventory.PurgeBatch+3)
	require.NoError(t, err)
	_, err = db.Exec(ctx, `
		INSERT INTO outbox (property_id, topic, pool_id, from_night, to_night, done_at)
		VALUES ($1, 'availability', $2, $3::date, $3::date + 1, now() - interval '5 minutes')`, h.id, h.poolIDs[0], h.today)
	require.NoError(t, err)
	count := func(where string) (n int) {
		require.NoError(t, db.QueryRow(ctx, `SELECT count(*) FROM outbox WHERE property_id = $1 AND `+where, h.id).Scan(&n))
		return n
	}
	pending := count("done_at IS NULL")
	require.Positive(t, pending)

	require.NoError(t, h.fanout().PurgeRelayed(ctx))
	require.Zero(t, count("done_at < now() - interval '1 hour'"), "rows relayed two hours ago")
	require.Equal(t, 1, count("done_at >= now() - interval '1 hour'"), "the row relayed five minutes ago")
	require.Equal(t, pending, count("done_at IS NULL"), "rows not relayed yet")
}

// The scheduler's periodic work deletes the inbound messages older than
// MessagesKeep (inventory.PurgeExpired has the details).
func TestTheSchedulerDeletesInboundMessagesAfterMessagesKeep(t *testing.T) {
	t.Parallel()
	h := newHotel(t, hotelOptions{channels: []string{"A"}, noWorker: true,
		config: func(c *sync.Config) { c.MessagesKeep = time.Hour }})
	ctx := context.Background()
	db := h.st.DB()
	for _, raw := range []string{"two hours ago", "just now"} {
		id, err := h.st.RecordInbound(ctx, inventory.InboundMessage{Property: h.code, Channel: "A", Direction: "push", Outcome: "ok", Raw: raw})
		require.NoError(t, err)
		if raw == "two hours ago" {
			_, err = db.Exec(ctx, `UPDATE inbound_messages SET received_at = now() - interval '2 hours' WHERE id = $1`, id)
			require.NoError(t, err)
		}
	}
	require.NoError(t, h.fanout().RunDue(ctx))
	msgs, err := h.st.InboundMessages(ctx, h.code, "A", 10)
	require.NoError(t, err)
	require.Len(t, msgs, 1)
	require.Equal(t, "just now", msgs[0].Raw)
}

// With GuestDataKeep set (KEYRACK_GUEST_DATA_KEEP), the elected scheduler's
// periodic work erases the guest data of bookings whose stay ended longer
// ago than that, not of newer ones, and keeps the inbound messages — which
// hold guests' data — no longer than that either, however long
// MessagesKeep is (inventory.EraseExpiredGuestData has the details).
// Without it, nothing is erased.
func TestTheSchedulerErasesGuestDataPastItsRetention(t *testing.T) {
	t.Parallel()
	h := newHotel(t, hotelOptions{channels: []string{"A"}, noWorker: true,
		config: func(c *sync.Config) { c.MessagesKeep, c.GuestDataKeep = 90*24*time.Hour, 30*24*time.Hour }})
	ctx := context.Background()
	db := h.st.DB()
	book := func(id string, departedDaysAgo int) int64 {
		out, err := h.st.ApplyRevision(ctx, inventory.Revision{Property: h.code, Channel: "A", ExternalID: id, Kind: inventory.New,
			Mode: inventory.MustAccept, Guest: inventory.Guest{Name: "Guest of " + id},
			Stays: []inventory.RoomStay{{RoomType: "R0", Arrival: h.today.AddDays(-departedDaysAgo - 2), Departure: h.today.AddDays(-departedDaysAgo), Rooms: 1}}})
		require.NoError(t, err)
		return out.ReservationID
	}
	old, recent := book("OLD", 45), book("RECENT", 5)
	for _, days := range []int{40, 5} {
		id, err := h.st.RecordInbound(ctx, inventory.InboundMessage{Property: h.code, Channel: "A", Direction: "push", Outcome: "ok", Raw: "a message"})
		require.NoError(t, err)
		_, err = db.Exec(ctx, `UPDATE inbound_messages SET received_at = now() - make_interval(days => $2) WHERE id = $1`, id, days)
		require.NoError(t, err)
	}
	guest := func(id int64) inventory.Guest {
		res, err := h.st.ReservationByID(ctx, h.code, id)
		require.NoError(t, err)
		return res.Guest
	}

	off := h.cfg
	off.GuestDataKeep = 0
	q, err := sync.OpenQueue(h.redisURL)
	require.NoError(t, err)
	defer q.Close()
	off.Queue = q
	fo, err := sync.New(off)
	require.NoError(t, err)
	require.NoError(t, fo.RunDue(ctx))
	require.Equal(t, "Guest of OLD", guest(old).Name, "off: kept")

	require.NoError(t, h.fanout().RunDue(ctx))
	require.Equal(t, inventory.ErasedGuest, guest(old))
	require.Equal(t, "Guest of RECENT", guest(recent).Name)
	var messages int
	require.NoError(t, db.QueryRow(ctx, `SELECT count(*) FROM inbound_messages`).Scan(&messages))
	require.Equal(t, 1, messages, "the message of 40 days ago is past the guest data's 30 days")
}

// The scheduler's periodic work deletes the channels' acknowledgements of
// nights more than sync.PastAcksKeep nights before the property's tonight —
// however many, years of them — and keeps those of the nights since, last
// night's (still on sale until night_sold_until) among them: nothing reads
// an acknowledgement of a night no longer sent, and kept, the table grew by
// a row a night for every channel and pool for as long as the hotel ran.
func TestTheSchedulerDeletesAcknowledgementsOfNightsLongPast(t *testing.T) {
	t.Parallel()
	h := newHotel(t, hotelOptions{channels: []string{"A", "B"}, noWorker: true})
	ctx := context.Background()
	db := h.st.DB()
	var tonight inventory.Date
	require.NoError(t, db.QueryRow(ctx, `SELECT `+inventory.TonightSQL+` FROM properties p WHERE p.id = $1`, h.id).Scan(&tonight))
	// Eight years of nights for each channel: more than a batch.
	_, err := db.Exec(ctx, `INSERT INTO sync_acks (property_id, channel_id, pool_id, night, available, version, acked_at)
		SELECT $1, c, $2, $3::date + g, 5, 1, now() FROM unnest($4::bigint[]) AS c, generate_series(-3000, 5) AS g`,
		h.id, h.poolIDs[0], tonight, []int64{h.chanIDs["A"], h.chanIDs["B"]})
	require.NoError(t, err)

	require.NoError(t, h.fanout().RunDue(ctx))
	var oldest inventory.Date
	var kept int
	require.NoError(t, db.QueryRow(ctx, `SELECT min(night), count(*) FROM sync_acks WHERE property_id = $1`, h.id).Scan(&oldest, &kept))
	require.Equal(t, tonight.AddDays(-sync.PastAcksKeep).String(), oldest.String(), "the oldest acknowledgement kept")
	require.Equal(t, 2*(sync.PastAcksKeep+6), kept, "acknowledgements kept: the last PastAcksKeep nights', tonight's and later")
}

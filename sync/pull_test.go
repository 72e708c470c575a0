package sync_test

import (
	"cmp"
	"context"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/keyrack/keyrack/connectors/otaxml"
	"github.com/keyrack/keyrack/fixtures/otachannel"
	"github.com/keyrack/keyrack/inventory"
	"github.com/stretchr/testify/require"
)

// pullHotel is a hotel (one pool of 10, room type R0) with an ota_pull
// channel BDC polling an OTA test channel every 5 s (the shortest interval
// allowed), a worker and an elected scheduler.
type pullHotel struct {
	*hotel
	oc     *otachannel.Channel
	chanID int64
}

// pullOptions vary a pullHotel.
type pullOptions struct {
	// refusePrivate leaves the polls refusing private addresses, as
	// keyrack does by default: the OTA test channel is on loopback, out of
	// their reach.
	refusePrivate bool
	// modifyQueue gives the channel a modification queue, as Booking.com
	// has: its modifications and cancellations are served there, set as
	// the keyrack channel's pull_modify_url.
	modifyQueue bool
	// checkEvery is how often the scheduler looks for polls due (20 ms
	// unless given).
	checkEvery time.Duration
	// noScheduler: the test starts the schedulers itself.
	noScheduler bool
}

func newPullHotel(t *testing.T) *pullHotel { return startPullHotel(t, pullOptions{}) }

func startPullHotel(t *testing.T, o pullOptions) *pullHotel {
	t.Helper()
	ctx := context.Background()
	h := &pullHotel{hotel: newHotel(t, hotelOptions{channels: []string{"A"}, noWorker: true}), oc: otachannel.New()}
	t.Cleanup(h.oc.Close)
	h.oc.SetCredentials("keyrack-BDC", "s3cret-BDC")
	settings := inventory.OTASettings{PullURL: h.oc.PullURL(), PullInterval: 5}
	if o.modifyQueue {
		h.oc.SplitQueues()
		settings.PullModifyURL = h.oc.ModifyURL()
	}
	ch, err := h.st.CreateChannel(ctx, h.code, inventory.Channel{Code: "BDC", Kind: inventory.ChannelOTAPull, Enabled: true,
		HotelCode: "HOTEL-BDC", HorizonDays: 30, OTASettings: settings}, inventory.System)
	require.NoError(t, err)
	h.chanID = ch.ID
	require.NoError(t, h.st.SetChannelCredentials(ctx, h.secrets, h.code, "BDC", inventory.Credentials{
		OutboundUser: "keyrack-BDC", OutboundSecret: "s3cret-BDC"}, inventory.System))
	require.NoError(t, h.st.SetMapping(ctx, h.code, "BDC", inventory.Mapping{ChannelRoom: "BDC-DBL", RoomType: "R0"}, inventory.System))
	h.cfg.Store = h.st
	h.cfg.PullCheckInterval = cmp.Or(o.checkEvery, 20*time.Millisecond)
	h.cfg.PullAllowPrivate = !o.refusePrivate // the test channel is on loopback
	h.fan = h.startWorker()
	if o.noScheduler {
		return h
	}
	sched := h.fanout()
	sctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- sched.RunScheduler(sctx) }()
	t.Cleanup(func() { stop(); <-done })
	return h
}

// booking is the channel's reservation id of rooms BDC-DBL (room type R0) from arrival for nights.
func (h *pullHotel) booking(id string, arrival inventory.Date, nights, rooms int) otaxml.Reservation {
	return otaxml.Reservation{ID: id, Kind: inventory.New, HotelCode: "HOTEL-BDC",
		LastModified: time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC), Guest: inventory.Guest{Name: "Ada Lovelace"},
		Stays: []otaxml.Stay{{RoomType: "BDC-DBL", RatePlan: "BAR", Arrival: arrival, Departure: arrival.AddDays(nights), Units: rooms, Adults: 2}}}
}

// pollNow makes the channel's next poll due at once, and waits for it to
// fetch (or try to).
func (h *pullHotel) pollNow() {
	h.t.Helper()
	before := h.oc.Stats()
	_, err := h.st.DB().Exec(context.Background(), `UPDATE sync_channels SET pulled_at = NULL
		WHERE property_id = $1 AND channel_id = $2`, h.id, h.chanID)
	require.NoError(h.t, err)
	// Asked for again (pulled_at set anew, as the stale check needs) and a
	// fetch seen: the fetch alone may be a poll asked for before.
	eventually(h.t, convergeTimeout, "the next poll", func() bool {
		var asked bool
		require.NoError(h.t, h.st.DB().QueryRow(context.Background(), `SELECT EXISTS (SELECT FROM sync_channels
			WHERE property_id = $1 AND channel_id = $2 AND pulled_at IS NOT NULL)`, h.id, h.chanID).Scan(&asked))
		st := h.oc.Stats()
		return asked && st.Fetches+st.FailedFetches > before.Fetches+before.FailedFetches
	})
}

// pullState is the channel's poll state as the fan-out reports it to staff.
type pullState struct {
	OKAt, ErrorAt *time.Time
	Error         *string
}

func (h *pullHotel) pullState() pullState {
	h.t.Helper()
	all, err := h.fan.Status(context.Background(), h.code)
	require.NoError(h.t, err)
	for _, c := range all {
		if c.Channel == "BDC" {
			s := pullState{OKAt: c.PullOKAt, ErrorAt: c.PullErrorAt}
			if c.PullError != "" {
				s.Error = &c.PullError
			}
			return s
		}
	}
	h.t.Fatalf("no status for channel BDC in %+v", all)
	return pullState{}
}

// available is what the pool offers on night.
func (h *pullHotel) available(night inventory.Date) int {
	h.t.Helper()
	return h.availability(night, night.AddDays(1))["P0"][night]
}

// revisions counts the revisions kept of the channel's reservation id.
func (h *pullHotel) revisions(id string) int {
	h.t.Helper()
	var n int
	require.NoError(h.t, h.st.DB().QueryRow(context.Background(), `SELECT count(*) FROM reservation_revisions rv
		JOIN reservations r ON r.property_id = rv.property_id AND r.id = rv.reservation_id
		WHERE r.property_id = $1 AND r.channel_id = $2 AND r.external_id = $3`, h.id, h.chanID, id).Scan(&n))
	return n
}

func pendingIDs(oc *otachannel.Channel) []string {
	var ids []string
	for _, r := range oc.Pending() {
		ids = append(ids, r.ID)
	}
	return ids
}

func TestPulledReservationsAreAppliedThenAcknowledged(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := newPullHotel(t)
	night := h.today.AddDays(3)
	h.oc.AddPending(h.booking("BDC-1", night, 2, 2))
	h.oc.AddPending(h.booking("BDC-2", night, 1, 1))
	eventually(t, convergeTimeout, "both acknowledged", func() bool { return len(h.oc.Pending()) == 0 })
	require.Equal(t, 7, h.available(night))
	require.Equal(t, 8, h.available(night.AddDays(1)))
	require.Equal(t, 10, h.available(night.AddDays(2)))

	acks := h.oc.Acks()
	require.Len(t, acks, 1, "one acknowledgement for the whole fetch")
	var ours []string
	for _, id := range acks[0].IDs {
		if id.Type == "14" && id.Value != "BDC-1" && id.Value != "BDC-2" {
			ours = append(ours, id.Value)
		}
	}
	require.Len(t, ours, 2, "the ack names keyrack's id of each reservation: %+v", acks[0].IDs)
	// The poll is recorded once the acknowledgement is answered.
	eventually(t, convergeTimeout, "the poll recorded", func() bool { return h.pullState().OKAt != nil })
	st := h.pullState()
	require.Nil(t, st.Error)

	msgs, err := h.st.InboundMessages(ctx, h.code, "BDC", 10)
	require.NoError(t, err)
	require.NotEmpty(t, msgs)
	first := msgs[len(msgs)-1]
	require.Equal(t, "pull", first.Direction)
	require.Equal(t, "ok", first.Outcome)
	require.Equal(t, 2, first.Records)
	require.Contains(t, first.Raw, "BDC-1")
	require.Contains(t, first.Reply, "BDC-1", "the acknowledgement is kept with the message")

	// The scheduler polls again by itself; a poll that finds nothing is ok.
	fetches := h.oc.Stats().Fetches
	eventually(t, convergeTimeout, "the next scheduled poll", func() bool { return h.oc.Stats().Fetches > fetches })
	eventually(t, convergeTimeout, "the empty poll recorded", func() bool {
		s := h.pullState()
		return s.OKAt != nil && s.OKAt.After(*st.OKAt)
	})
	require.Nil(t, h.pullState().Error)
	require.Len(t, h.oc.Acks(), 1, "nothing to acknowledge")
}

func TestAReservationServedAgainAfterALostAckIsAppliedOnce(t *testing.T) {
	t.Parallel()
	h := newPullHotel(t)
	night := h.today.AddDays(2)
	h.oc.DropNextAck()
	h.oc.AddPending(h.booking("BDC-3", night, 1, 3))
	eventually(t, convergeTimeout, "the first ack", func() bool { return h.oc.AckCount("BDC-3") == 1 })
	require.Equal(t, []string{"BDC-3"}, pendingIDs(h.oc), "the channel lost the ack")
	require.Equal(t, 7, h.available(night))

	h.pollNow()
	eventually(t, convergeTimeout, "the second ack", func() bool { return h.oc.AckCount("BDC-3") == 2 })
	require.Empty(t, h.oc.Pending())
	require.Equal(t, 7, h.available(night), "applied once")
	require.Equal(t, 1, h.revisions("BDC-3"))
}

func TestAFailedFetchChangesNothingAndIsShown(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := newPullHotel(t)
	night := h.today.AddDays(1)
	h.oc.FailFetches(true)
	h.oc.AddPending(h.booking("BDC-4", night, 1, 1))
	eventually(t, convergeTimeout, "the error recorded", func() bool { return h.pullState().Error != nil })
	st := h.pullState()
	require.Contains(t, *st.Error, "HTTP 500")
	require.NotNil(t, st.ErrorAt)
	require.Nil(t, st.OKAt)
	require.Equal(t, 10, h.available(night))
	require.Equal(t, 0, h.revisions("BDC-4"))
	require.Equal(t, 0, h.oc.Stats().Acks)
	msgs, err := h.st.InboundMessages(ctx, h.code, "BDC", 10)
	require.NoError(t, err)
	require.NotEmpty(t, msgs)
	require.Equal(t, "failed", msgs[0].Outcome)
	require.Equal(t, 500, msgs[0].HTTPStatus)

	h.oc.FailFetches(false)
	h.pollNow()
	eventually(t, convergeTimeout, "the reservation acknowledged", func() bool { return len(h.oc.Pending()) == 0 })
	eventually(t, convergeTimeout, "the error cleared", func() bool { return h.pullState().Error == nil })
	require.Equal(t, 9, h.available(night))
}

func TestARecordThatCannotBeAppliedIsNotAcknowledged(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := newPullHotel(t)
	night := h.today.AddDays(4)
	good := h.booking("BDC-5", night, 1, 1)
	empty := h.booking("BDC-6", night, 0, 1) // departs on arrival: the record has a Problem
	other := h.booking("BDC-7", night, 1, 1)
	other.HotelCode = "SOMEONE-ELSE"
	for _, r := range []otaxml.Reservation{good, empty, other} {
		h.oc.AddPending(r)
	}
	eventually(t, convergeTimeout, "the good one acknowledged", func() bool { return h.oc.AckCount("BDC-5") == 1 })
	require.Equal(t, []string{"BDC-6", "BDC-7"}, pendingIDs(h.oc))
	require.Equal(t, 9, h.available(night))
	eventually(t, convergeTimeout, "the problem recorded", func() bool { return h.pullState().Error != nil })
	st := h.pullState()
	require.Contains(t, *st.Error, "2 of 3")
	require.Contains(t, *st.Error, "BDC-6")
	require.Contains(t, *st.Error, "BDC-7")
	require.NotNil(t, st.OKAt, "the fetch itself worked")
	msgs, err := h.st.InboundMessages(ctx, h.code, "BDC", 10)
	require.NoError(t, err)
	require.True(t, slices.ContainsFunc(msgs, func(m inventory.InboundMessage) bool { return m.Outcome == "partial" && m.Records == 3 }))

	h.pollNow()
	eventually(t, convergeTimeout, "the next poll recorded", func() bool {
		s := h.pullState()
		return s.ErrorAt != nil && s.ErrorAt.After(*st.ErrorAt)
	})
	require.Equal(t, []string{"BDC-6", "BDC-7"}, pendingIDs(h.oc), "still not acknowledged")
	require.Equal(t, 1, h.oc.AckCount("BDC-5"), "the acknowledged one is not served again")
	require.Equal(t, 9, h.available(night))
}

// A pulled booking may have been made at any time since the previous poll
// that got the channel's message: the relay dates the channel's own change
// from then (or from the reservation's own LastModifyDateTime, if earlier),
// not from when keyrack applied it, so a delivery that landed on the
// channel in between is not trusted to hold the channel's own decrement
// however late the poll came (a failing fetch, a busy worker).
func TestAPulledBookingIsDatedFromThePreviousPoll(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := newPullHotel(t)
	night := h.today.AddDays(3)
	h.pollNow()
	eventually(t, convergeTimeout, "the empty poll recorded", func() bool { return h.pullState().OKAt != nil })
	prev := *h.pullState().OKAt
	// What a delivery to the channel would have recorded after that poll.
	_, err := h.st.DB().Exec(ctx, `INSERT INTO sync_acks (property_id, channel_id, pool_id, night, available, version, acked_at)
		SELECT $1, $2, id, $3, 10, 0, $4::timestamptz + interval '1 second' FROM pools WHERE property_id = $1 AND code = 'P0'`,
		h.id, h.chanID, night, prev)
	require.NoError(t, err)
	origin := func() *time.Time {
		var at *time.Time
		require.NoError(t, h.st.DB().QueryRow(ctx, `SELECT a.origin_changed_at FROM sync_acks a JOIN pools p ON p.property_id = a.property_id AND p.id = a.pool_id
			WHERE a.property_id = $1 AND a.channel_id = $2 AND p.code = 'P0' AND a.night = $3`, h.id, h.chanID, night).Scan(&at))
		return at
	}

	r := h.booking("BDC-LATE", night, 1, 1)
	r.LastModified = time.Time{} // the channel does not say when
	h.oc.AddPending(r)
	h.pollNow()
	eventually(t, convergeTimeout, "the booking relayed", func() bool { return origin() != nil })
	require.True(t, origin().Equal(prev), "the channel's change dates from the previous poll %s, not %s", prev, origin())

	// A reservation that says it was made earlier is dated from then.
	_, err = h.st.DB().Exec(ctx, `UPDATE sync_acks SET origin_changed_at = NULL WHERE property_id = $1 AND channel_id = $2`, h.id, h.chanID)
	require.NoError(t, err)
	early := h.booking("BDC-EARLY", night, 1, 1)
	early.LastModified = prev.Add(-time.Hour).Truncate(time.Second)
	h.oc.AddPending(early)
	h.pollNow()
	eventually(t, convergeTimeout, "the second booking relayed", func() bool { return origin() != nil })
	require.True(t, origin().Equal(early.LastModified), "dated from its LastModifyDateTime %s, not %s", early.LastModified, origin())
}

// A channel whose polls get nothing for PullStaleAfter raises one incident,
// resolved by the next good poll: its bookings are not reaching keyrack.
func TestAChannelKeyrackCannotPollRaisesAnIncident(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := newPullHotel(t)
	h.oc.FailFetches(true)
	eventually(t, convergeTimeout, "the error recorded", func() bool { return h.pullState().Error != nil })
	require.NoError(t, h.fan.RunDue(ctx))
	require.Zero(t, h.openIncidents("stale_pull"), "failing for seconds only")

	// Failing for 11 minutes now (the default is 10), the polls going on.
	_, err := h.st.DB().Exec(ctx, `UPDATE sync_channels SET pull_failing_since = pull_failing_since - interval '11 minutes'
		WHERE property_id = $1 AND channel_id = $2`, h.id, h.chanID)
	require.NoError(t, err)
	h.pollNow()
	require.NoError(t, h.fan.RunDue(ctx))
	require.NoError(t, h.fan.RunDue(ctx))
	require.Equal(t, 1, h.openIncidents("stale_pull"), "one, however often the scheduler looks")
	incs, err := h.st.Incidents(ctx, h.code, true)
	require.NoError(t, err)
	require.Len(t, incs, 1)
	require.Contains(t, incs[0].Message, "keyrack has got nothing from BDC since")
	require.Contains(t, incs[0].Message, "HTTP 500")
	require.Equal(t, "BDC", incs[0].Details["channel"])

	h.oc.FailFetches(false)
	h.pollNow()
	eventually(t, convergeTimeout, "the error cleared", func() bool { return h.pullState().Error == nil })
	require.NoError(t, h.fan.RunDue(ctx))
	require.Zero(t, h.openIncidents("stale_pull"), "a good poll resolves it")
}

// A scheduler that cannot reach Redis asks for no poll of a pull-mode
// channel (its polls are enqueued there) yet, holding the lead, kept every
// other scheduler from taking over: in the multi-process drill one started
// with a wrong REDIS_URL won the lead, and bookingcom's bookings waited at
// the OTA for as long as it ran. It now steps down when its polls have
// failed for StepDownAfter while a scheduler that reaches Redis stands by,
// and that one leads and polls.
func TestALeaderThatCannotReachRedisStepsDownForOneThatCan(t *testing.T) {
	t.Parallel()
	h := startPullHotel(t, pullOptions{noScheduler: true})
	h.cfg.StepDownAfter = 500 * time.Millisecond
	cutOff := withoutRedis(t, h.cfg)
	runScheduler(t, cutOff)
	eventually(t, convergeTimeout, "the scheduler without Redis to lead", cutOff.IsLeader)

	good := h.fanout()
	runScheduler(t, good)
	h.oc.AddPending(h.booking("BDC-led", h.today.AddDays(3), 1, 1))
	eventually(t, convergeTimeout, "the booking pulled", func() bool { return len(h.oc.Pending()) == 0 })
	require.True(t, good.IsLeader(), "the scheduler that reaches Redis leads")
	require.False(t, cutOff.IsLeader())
	require.Equal(t, 9, h.available(h.today.AddDays(3)))
}

// A scheduler stands by on a session of its own, which can end under it —
// a database restarted or failed over, a proxy or idle_session_timeout
// closing a session idle for long —: it took that session for held and
// stood by no more, so a leader that cannot reach Redis never stepped down
// for it, and the pull-mode channels went unpolled. It now stands by again
// on a new session.
func TestASchedulerWhoseStandBySessionEndedStandsByAgain(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := startPullHotel(t, pullOptions{noScheduler: true})
	h.cfg.StepDownAfter = 500 * time.Millisecond
	// No poll is due, so the leader does not step down before the test
	// ends the session of the one standing by.
	enabled := false
	_, err := h.st.UpdateChannel(ctx, h.code, "BDC", inventory.ChannelPatch{Enabled: &enabled}, inventory.System)
	require.NoError(t, err)
	cutOff := withoutRedis(t, h.cfg)
	runScheduler(t, cutOff)
	eventually(t, convergeTimeout, "the scheduler without Redis to lead", cutOff.IsLeader)
	good := h.fanout()
	runScheduler(t, good)

	standing := func() []int32 {
		rows, _ := h.st.DB().Query(ctx, `SELECT pid FROM pg_locks
			WHERE locktype = 'advisory' AND granted AND objsubid = 1
				AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
				AND (classid::bigint << 32) | objid::bigint = hashtextextended(current_schema() || '/keyrack/sync/scheduler/candidates', 0)`)
		pids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
		require.NoError(t, err)
		return pids
	}
	var pid int32
	eventually(t, convergeTimeout, "the scheduler that reaches Redis to stand by", func() bool {
		pids := standing()
		if len(pids) == 1 {
			pid = pids[0]
		}
		return len(pids) == 1
	})
	_, err = h.st.DB().Exec(ctx, `SELECT pg_terminate_backend($1)`, pid)
	require.NoError(t, err)
	eventually(t, convergeTimeout, "the scheduler to stand by again on a new session", func() bool {
		pids := standing()
		return len(pids) == 1 && pids[0] != pid
	})

	enabled = true
	_, err = h.st.UpdateChannel(ctx, h.code, "BDC", inventory.ChannelPatch{Enabled: &enabled}, inventory.System)
	require.NoError(t, err)
	h.oc.AddPending(h.booking("BDC-led", h.today.AddDays(3), 1, 1))
	eventually(t, convergeTimeout, "the booking pulled", func() bool { return len(h.oc.Pending()) == 0 })
	require.True(t, good.IsLeader(), "the scheduler that reaches Redis leads")
	require.False(t, cutOff.IsLeader())
}

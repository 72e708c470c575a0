package web_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

// The overdue changes are on the whole alerts page, not on a section shown
// alone; one change is "1 change".
func TestOverdueChangesAreNotInASectionShownAlone(t *testing.T) {
	t.Parallel()
	a := newOverdueUI(t)
	a.seedHotel("P", 2)
	ctx := context.Background()
	gridBook(t, a.st, "P", "expedia", "E-1", gridToday(t).AddDays(3), 2, 1)
	_, err := a.st.DB().Exec(ctx, `DELETE FROM outbox WHERE id <> (SELECT min(id) FROM outbox)`)
	require.NoError(t, err)
	_, err = a.st.DB().Exec(ctx, `UPDATE outbox SET created_at = now() - interval '10 minutes'`)
	require.NoError(t, err)
	a.login("victor")
	p := a.get("/admin/p/P/alerts")
	require.Contains(t, p.Body, noWorkerRelays)
	require.Contains(t, p.Body, "1 change (bookings, cancellations, staff edits)")
	p = a.get("/admin/p/P/alerts?kind=overbooking")
	require.NotContains(t, p.Body, noWorkerRelays, "the overbookings only")
}

// A scheduler leads, yet a pull-mode channel has not been polled: the page
// says why as far as keyrack knows — that the leader asks for no poll (none
// since the channel was enabled again, an hour ago), or its last poll's
// error — and /readyz says which, and how long the channel polled least
// recently has waited.
func TestAPullChannelNotPolledWhileASchedulerLeadsSaysWhy(t *testing.T) {
	t.Parallel()
	a := newOverdueUI(t)
	a.seedHotel("P", 1)
	ctx := context.Background()
	a.pullChannel("P")
	exec := func(sql string) {
		t.Helper()
		_, err := a.st.DB().Exec(ctx, sql)
		require.NoError(t, err)
	}
	exec(`UPDATE channels SET created_at = now() - interval '3 hours', enabled_at = now() - interval '1 hour' WHERE code = 'bookingcom'`)
	exec(`INSERT INTO sync_channels (property_id, channel_id, pulled_at)
		SELECT property_id, id, now() - interval '2 hours' FROM channels WHERE code = 'bookingcom'`)
	// As a scheduler busy with long work: it holds the lead.
	holdSchedulerLead(t, a.st)

	a.login("victor")
	p := a.get("/admin/p/P/alerts")
	require.Contains(t, p.Body, "keyrack has not polled bookingcom")
	require.Contains(t, p.Body, "The keyrack scheduler that leads has not asked for a poll of it since then",
		"the last poll asked for was before the channel was enabled again")
	require.NotContains(t, p.Body, "no keyrack worker carries them out")
	require.Contains(t, overdueOf(t, a.uiEnv, "pulls"), "the keyrack scheduler that leads does not ask for their polls")
	require.Contains(t, overdueOf(t, a.uiEnv, "pulls"), "for 1h")

	// Asked for a moment ago, and failing.
	exec(`UPDATE sync_channels SET pulled_at = now(), pull_error = 'fetch failed: HTTP 401'`)
	require.Contains(t, a.get("/admin/p/P/alerts").Body, "Its last poll failed: fetch failed: HTTP 401")
	require.Contains(t, overdueOf(t, a.uiEnv, "pulls"), "its polls are not carried out (no keyrack worker?) or fail")

	// A second such channel, three hours without: readyz says the longest.
	_, err := a.st.DB().Exec(ctx, `INSERT INTO channels (property_id, code, name, kind, enabled, pull_url, pull_interval_s, created_at, enabled_at)
		SELECT property_id, 'agoda', 'agoda', kind, true, pull_url, pull_interval_s, now() - interval '3 hours', now() - interval '3 hours'
		FROM channels WHERE code = 'bookingcom'`)
	require.NoError(t, err)
	pulls := overdueOf(t, a.uiEnv, "pulls")
	require.Contains(t, pulls, fmt.Sprintf("%d pull-mode channels have", 2))
	require.Contains(t, pulls, "for 3h", pulls)
}

// A scheduler leads but asks for no poll of a pull-mode channel: its pull
// loop is not running — the process hangs (alive, so PostgreSQL keeps its
// lead), or it cannot reach Redis (the polls are enqueued there, and one
// not taken stays due) — and no other scheduler takes over. In the
// multi-process drill a scheduler started with a wrong REDIS_URL took the
// lead; bookingcom's bookings stopped reaching keyrack, and ten minutes on
// the page blamed the channel's last poll error, left from before its pull
// URL was changed, and /readyz a missing worker. The page and /readyz now
// point at the scheduler that leads.
func TestAPullChannelTheLeadingSchedulerDoesNotPollSaysSo(t *testing.T) {
	t.Parallel()
	a := newOverdueUI(t)
	a.seedHotel("P", 1)
	ctx := context.Background()
	a.pullChannel("P")
	_, err := a.st.DB().Exec(ctx, `UPDATE channels SET created_at = now() - interval '3 hours', enabled_at = now() - interval '3 hours' WHERE code = 'bookingcom'`)
	require.NoError(t, err)
	// Its last good poll 20 minutes ago, a poll of its old pull URL failed
	// since, and none asked for since (the URL's change made one due).
	_, err = a.st.DB().Exec(ctx, `INSERT INTO sync_channels (property_id, channel_id, pulled_at, pull_ok_at, pull_error, pull_error_at)
		SELECT property_id, id, NULL, now() - interval '20 minutes', 'fetch failed: connection refused', now() - interval '15 minutes'
		FROM channels WHERE code = 'bookingcom'`)
	require.NoError(t, err)
	holdSchedulerLead(t, a.st)

	a.login("victor")
	p := a.get("/admin/p/P/alerts")
	require.Contains(t, p.Body, "keyrack has not polled bookingcom")
	require.Contains(t, p.Body, "The keyrack scheduler that leads has not asked for a poll of it since then: its process hangs, "+
		"or cannot reach Redis (its log says &#34;scheduling channel polls failed&#34;).")
	require.NotContains(t, p.Body, "Its last poll failed")
	require.Contains(t, overdueOf(t, a.uiEnv, "pulls"), "the keyrack scheduler that leads does not ask for their polls")

	// Polls asked for and failing: the error is the reason.
	_, err = a.st.DB().Exec(ctx, `UPDATE sync_channels SET pulled_at = now(), pull_error_at = now()`)
	require.NoError(t, err)
	p = a.get("/admin/p/P/alerts")
	require.Contains(t, p.Body, "Its last poll failed: fetch failed: connection refused")
	require.NotContains(t, p.Body, "has not asked for a poll")
	require.Contains(t, overdueOf(t, a.uiEnv, "pulls"), "its polls are not carried out (no keyrack worker?) or fail")
}

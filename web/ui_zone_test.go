package web_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/keyrack/keyrack/inventory"
	"github.com/stretchr/testify/require"
)

// A hotel's staff read every moment on its pages in the hotel's own time:
// the pages wrote UTC, which a front desk in Tokyo had to convert (a
// booking received at 08:30 in the morning read 23:30 of the day before).
// A page of no one property (the users page) still writes UTC, and says so.
func TestStaffPagesWriteTimesInThePropertysZone(t *testing.T) {
	t.Parallel()
	e := newUI(t)
	ctx := context.Background()
	_, err := e.st.CreateProperty(ctx, inventory.Property{Code: "TYO", Name: "Hotel Tokyo", TimeZone: "Asia/Tokyo", Currency: "JPY"}, inventory.System)
	require.NoError(t, err)
	_, err = e.st.CreatePool(ctx, "TYO", inventory.Pool{Code: "DBL", Name: "Double rooms", Units: 3}, inventory.System)
	require.NoError(t, err)
	_, err = e.st.CreateRoomType(ctx, "TYO", inventory.RoomType{Code: "DBL-STD", Pool: "DBL"}, inventory.System)
	require.NoError(t, err)
	_, err = e.st.CreateChannel(ctx, "TYO", inventory.Channel{Code: "pms", Kind: inventory.ChannelPMS, Enabled: true}, inventory.System)
	require.NoError(t, err)
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	require.NoError(t, err)
	arrival := inventory.LocalDate(time.Now(), tokyo).AddDays(10)
	out, err := e.st.ApplyRevision(ctx, inventory.Revision{Property: "TYO", Channel: "pms", ExternalID: "T-1", Kind: inventory.New,
		Guest: inventory.Guest{Name: "Haruki Sato"}, Raw: []byte(`{"guest":"Haruki Sato"}`), Stays: []inventory.RoomStay{{RoomType: "DBL-STD", Arrival: arrival, Departure: arrival.AddDays(2), Rooms: 1}}})
	require.NoError(t, err)
	_, err = e.st.ApplyRevision(ctx, inventory.Revision{Property: "TYO", Channel: "pms", ExternalID: "T-1", Kind: inventory.Cancel})
	require.NoError(t, err)
	r, err := e.st.Reservation(ctx, "TYO", "pms", "T-1")
	require.NoError(t, err)
	inTokyo := func(t time.Time) string { return t.In(tokyo).Format("2006-01-02 15:04") + " JST" }
	inUTC := func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04") + " UTC" }

	e.login("anna")
	page := "/admin/p/TYO/bookings/" + strconv.FormatInt(out.ReservationID, 10)
	p := e.get(page)
	require.Equal(t, http.StatusOK, p.Status, "%s", p.Body)
	require.Contains(t, p.Body, "<dt>First received</dt><dd>"+inTokyo(r.CreatedAt)+"</dd>")
	require.Contains(t, p.Body, "<dt>Last change</dt><dd>"+inTokyo(r.UpdatedAt))
	require.NotContains(t, p.Body, " UTC", "no moment on the property's pages is in UTC")
	p = e.get("/admin/p/TYO/bookings")
	require.Contains(t, p.Body, `title="`+inTokyo(r.UpdatedAt)+`"`)

	// Written in Go rather than by a template: the flash of an erasure made before.
	erased, err := e.st.EraseGuestData(ctx, "TYO", out.ReservationID, inventory.System)
	require.NoError(t, err)
	p = e.post(page, page+"/erase-guest-data", url.Values{"confirm": {"yes"}})
	require.Equal(t, http.StatusSeeOther, p.Status, "%s", p.Body)
	p = e.get(p.Header.Get("Location"))
	require.Contains(t, p.Body, "was erased already, on "+inTokyo(erased.At)+".")
	// The note kept in place of each raw message said when in UTC.
	p = e.get(page)
	require.Contains(t, p.Body, "(guest data erased "+erased.At.In(tokyo).Format("2006-01-02 15:04:05")+" JST by ")
	require.NotContains(t, p.Body, " UTC", "no moment on the property's pages is in UTC")

	p = e.get("/admin/users")
	require.Equal(t, http.StatusOK, p.Status)
	users, err := e.st.StaffUsers(ctx)
	require.NoError(t, err)
	i := slices.IndexFunc(users, func(u inventory.StaffUserInfo) bool { return u.Name == "anna" })
	require.GreaterOrEqual(t, i, 0)
	require.NotNil(t, users[i].LastSeenAt, "anna is logged in")
	require.Contains(t, p.Body, inUTC(*users[i].LastSeenAt), "the users page is every property's: UTC")
}

// The stale-calendar and stale-pull alerts say since when in the hotel's
// time too: their messages — on the alerts page when there is no error to
// show instead, and in the API — wrote UTC ("has not been fetched
// successfully since 2026-12-02 05:29 UTC"), on a page whose every other
// moment is in the hotel's zone.
func TestStaleAlertsSaySinceWhenInThePropertysZone(t *testing.T) {
	t.Parallel()
	a := newAlertsUI(t)
	ctx := context.Background()
	prop, err := a.st.CreateProperty(ctx, inventory.Property{Code: "TYO", Name: "Hotel Tokyo", TimeZone: "Asia/Tokyo", Currency: "JPY"}, inventory.System)
	require.NoError(t, err)
	_, err = a.st.CreatePool(ctx, "TYO", inventory.Pool{Code: "DBL", Name: "Double rooms", Units: 3}, inventory.System)
	require.NoError(t, err)
	_, err = a.st.CreateRoomType(ctx, "TYO", inventory.RoomType{Code: "DBL-STD", Pool: "DBL"}, inventory.System)
	require.NoError(t, err)
	_, err = a.st.CreateChannel(ctx, "TYO", inventory.Channel{Code: "airbnb", Kind: inventory.ChannelICal, Enabled: true}, inventory.System)
	require.NoError(t, err)
	pull, err := a.st.CreateChannel(ctx, "TYO", inventory.Channel{Code: "bookingcom", Kind: inventory.ChannelOTAPull, Enabled: true,
		OTASettings: inventory.OTASettings{PullURL: "https://supply.bookingcom.test/reservations", PullInterval: 60}}, inventory.System)
	require.NoError(t, err)
	sec, err := inventory.NewSecrets("test secret of keyrack's UI tests")
	require.NoError(t, err)
	_, err = a.st.SetICalFeed(ctx, sec, "TYO", "airbnb", "DBL-STD", "https://www.airbnb.com/calendar/ical/1.ics?s=x", 0, inventory.System)
	require.NoError(t, err)
	_, _, err = a.st.CreateExportToken(ctx, "TYO", "airbnb", "DBL-STD", inventory.System)
	require.NoError(t, err)
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	require.NoError(t, err)
	inTokyo := func(t time.Time) string { return t.In(tokyo).Format("2006-01-02 15:04") + " JST" }

	// A feed fetched well three hours ago and not since (no worker polls it:
	// no error either), a calendar no platform has fetched since it was made
	// two days ago, a pull-mode channel that has got nothing for an hour.
	var okAt, madeAt, failingSince time.Time
	_, err = a.st.DB().Exec(ctx, `UPDATE channels SET enabled_at = now() - interval '3 days'`)
	require.NoError(t, err)
	require.NoError(t, a.st.DB().QueryRow(ctx, `UPDATE ical_feeds SET last_ok_at = now() - interval '3 hours',
		created_at = now() - interval '3 days' RETURNING last_ok_at`).Scan(&okAt))
	require.NoError(t, a.st.DB().QueryRow(ctx, `UPDATE ical_export_tokens SET created_at = now() - interval '2 days'
		RETURNING created_at`).Scan(&madeAt))
	require.NoError(t, a.st.DB().QueryRow(ctx, `INSERT INTO sync_channels (property_id, channel_id, pulled_at, pull_failing_since)
		VALUES ($1, $2, now(), now() - interval '1 hour') RETURNING pull_failing_since`, prop.ID, pull.ID).Scan(&failingSince))
	n, err := a.st.RaiseStaleFeeds(ctx, 2*time.Hour)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	n, err = a.st.RaiseStaleExports(ctx, 24*time.Hour)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	n, err = a.fanout.RaiseStalePulls(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n)

	messages := map[string]string{}
	rows, err := a.st.DB().Query(ctx, `SELECT kind, message FROM incidents WHERE resolved_at IS NULL`)
	require.NoError(t, err)
	for rows.Next() {
		var kind, msg string
		require.NoError(t, rows.Scan(&kind, &msg))
		messages[kind] = msg
	}
	require.NoError(t, rows.Err())
	require.Contains(t, messages["stale_feed"], "has not been fetched successfully since "+inTokyo(okAt)+": no answer yet")
	require.Contains(t, messages["stale_export"], "since it was made on "+inTokyo(madeAt)+":")
	require.Contains(t, messages["stale_pull"], "keyrack has got nothing from bookingcom since "+inTokyo(failingSince)+":")

	a.login("anna")
	p := a.get("/admin/p/TYO/alerts")
	require.Equal(t, http.StatusOK, p.Status)
	require.Contains(t, p.Body, "since "+inTokyo(okAt)+": no answer yet", "the feed's message, shown for want of an error")
	require.Contains(t, p.Body, "since "+inTokyo(failingSince)+":", "the pull's message, likewise")
	require.NotContains(t, p.Body, " UTC", "no moment on the property's pages is in UTC")
}

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
		Guest: inventory.Guest{Name: "Haruki Sato"}, Stays: []inventory.RoomStay{{RoomType: "DBL-STD", Arrival: arrival, Departure: arrival.AddDays(2), Rooms: 1}}})
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

	p = e.get("/admin/users")
	require.Equal(t, http.StatusOK, p.Status)
	users, err := e.st.StaffUsers(ctx)
	require.NoError(t, err)
	i := slices.IndexFunc(users, func(u inventory.StaffUserInfo) bool { return u.Name == "anna" })
	require.GreaterOrEqual(t, i, 0)
	require.NotNil(t, users[i].LastSeenAt, "anna is logged in")
	require.Contains(t, p.Body, inUTC(*users[i].LastSeenAt), "the users page is every property's: UTC")
}

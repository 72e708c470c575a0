package web_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/keyrack/keyrack/inventory"
	"github.com/keyrack/keyrack/web"
	"github.com/stretchr/testify/require"
)

// How long a property's nights are sold is read and changed through the
// API as HH:MM; anything else is a 400 naming the field and changes
// nothing, and a property's code, zone and currency stay as made.
func TestAPIPropertyNightSoldUntil(t *testing.T) {
	t.Parallel()
	e := newAPI(t)
	e.hotel("P", 1)
	p := "/api/v1/properties/P"
	soldUntil := func() any { return e.must(http.StatusOK, "GET", p, nil).JSON(t)["night_sold_until"] }
	require.Equal(t, "00:00", soldUntil(), "a night's sale ends at midnight unless told otherwise")

	got := e.must(http.StatusOK, "PATCH", p, map[string]any{"night_sold_until": "06:00"}).JSON(t)
	require.Equal(t, "06:00", got["night_sold_until"])
	require.Equal(t, "Hotel P", got["name"])
	require.Equal(t, "06:00", soldUntil())

	for _, bad := range []any{"6:00", "13:00", "12:01", "24:00", "", "06:00:00", "6am", 6} {
		r := e.do("PATCH", p, e.admin, map[string]any{"night_sold_until": bad})
		require.Equal(t, http.StatusBadRequest, r.Status, "%v: %s", bad, r.Body)
		require.Contains(t, string(r.Body), `"night_sold_until"`, "%v", bad)
	}
	for field, v := range map[string]string{"time_zone": "UTC", "currency": "USD", "code": "Q"} {
		r := e.do("PATCH", p, e.admin, map[string]any{field: v})
		require.Equal(t, http.StatusBadRequest, r.Status, "%s: %s", field, r.Body)
		require.Contains(t, string(r.Body), "cannot be changed")
	}
	r := e.do("PATCH", p, e.admin, map[string]any{"name": ""})
	require.Equal(t, http.StatusBadRequest, r.Status)
	got = e.must(http.StatusOK, "PATCH", p, map[string]any{"name": "Hotel Pátio"}).JSON(t)
	require.Equal(t, "Hotel Pátio", got["name"])
	require.Equal(t, "06:00", got["night_sold_until"], "a rename keeps the setting")
	require.Equal(t, "Europe/Lisbon", got["time_zone"])

	// Given when the property is made.
	got = e.must(http.StatusCreated, "POST", "/api/v1/properties", map[string]any{"code": "Q", "name": "Q", "time_zone": "UTC",
		"currency": "EUR", "night_sold_until": "02:30"}).JSON(t)
	require.Equal(t, "02:30", got["night_sold_until"])
	r = e.do("POST", "/api/v1/properties", e.admin, map[string]any{"code": "R", "name": "R", "time_zone": "UTC", "currency": "EUR", "night_sold_until": "13:00"})
	require.Equal(t, http.StatusBadRequest, r.Status)
	require.Contains(t, string(r.Body), `"night_sold_until"`)
	require.Equal(t, http.StatusNotFound, e.do("GET", "/api/v1/properties/R", e.admin, nil).Status)
}

// At 02:30 in the hotel, with its nights sold until 06:00, last night is
// still on sale: the calendar platforms' export still blocks it.
func TestICalExportStartsAtLastNightWhileItIsStillSold(t *testing.T) {
	t.Parallel()
	e := newAPI(t)
	sec, err := inventory.NewSecrets("test secret of keyrack's API tests")
	require.NoError(t, err)
	now := time.Date(2027, 3, 2, 2, 30, 0, 0, time.UTC) // 02:30 in Lisbon (UTC+0 until 28 March)
	e.ts = newTestServer(t, web.New(web.Config{Store: e.st, Secrets: sec, Logger: slog.New(slog.DiscardHandler), Now: func() time.Time { return now }}))
	e.router = openAPIRouter(t, e.ts.URL)
	e.hotel("P", 1)
	path := e.icalChannel("P", "airbnb")
	e.book("P", "expedia", "LATE", "2027-03-01", "2027-03-02") // last night, booked after midnight
	body := func() string {
		r := e.get(path)
		require.Equal(t, http.StatusOK, r.Status)
		return string(r.Body)
	}
	require.NotContains(t, body(), "DTSTART;VALUE=DATE:20270301", "sold until midnight: last night is past")
	e.must(http.StatusOK, "PATCH", "/api/v1/properties/P", map[string]any{"night_sold_until": "06:00"})
	require.Contains(t, body(), "DTSTART;VALUE=DATE:20270301", "sold until 06:00: last night is blocked on the platform")
	now = time.Date(2027, 3, 2, 6, 0, 0, 0, time.UTC)
	require.NotContains(t, body(), "DTSTART;VALUE=DATE:20270301", "from 06:00 last night is past")
}

// The settings page: admins change the name and how long nights are sold
// (a bad time is refused on the page, what was typed kept, nothing
// changed); the grid starts at last night while it is on sale; viewers
// read the settings and cannot change them.
func TestPropertySettingsPage(t *testing.T) {
	t.Parallel()
	now := time.Date(2027, 3, 2, 2, 30, 0, 0, time.UTC) // 02:30 in Lisbon
	e := newUI(t, func(c *web.Config) { c.Now = func() time.Time { return now } })
	e.seedHotel("P", 2)
	e.login("anna")
	const page = "/admin/p/P/settings"
	p := e.get(page)
	require.Equal(t, http.StatusOK, p.Status)
	require.Contains(t, p.Body, `<a href="/admin/p/P/settings" aria-current="page">Settings</a>`)
	require.Contains(t, p.Body, `name="night_sold_until" type="time" min="00:00" max="12:00" step="60" value="00:00"`)
	require.Contains(t, p.Body, "Each night&#39;s sale ends at midnight")
	require.Contains(t, e.get("/admin/p/P/grid").Body, `class="today"><small>Mar</small>Tue 2<span class="sr-only"> 2027-03-02</span>`)

	for _, bad := range []string{"13:00", "6", ""} {
		p = e.post(page, page, url.Values{"name": {"Hotel P"}, "night_sold_until": {bad}})
		require.Equal(t, http.StatusBadRequest, p.Status, bad)
		require.Contains(t, p.Body, "The settings were not saved: a night is sold until a time from 00:00 to 12:00", bad)
		require.Contains(t, p.Body, `value="`+bad+`" required>`, "what was typed stays in the form")
	}
	p = e.post(page, page, url.Values{"name": {""}, "night_sold_until": {"06:00"}})
	require.Equal(t, http.StatusBadRequest, p.Status)
	require.Contains(t, p.Body, "the property needs a name")
	prop, err := e.st.Property(context.Background(), "P")
	require.NoError(t, err)
	require.Equal(t, "Hotel P", prop.Name)
	require.Zero(t, prop.NightSoldUntil)

	p = e.post(page, page, url.Values{"name": {"Hotel Pátio"}, "night_sold_until": {"06:00"}})
	require.Equal(t, http.StatusSeeOther, p.Status, p.Body)
	p = e.get(p.Header.Get("Location"))
	require.Contains(t, p.Body, "The settings are saved. Each night is sold until 06:00 the next morning")
	require.Contains(t, p.Body, "Last night (2027-03-01) is on sale again until 06:00: every channel is being sent it.")
	require.Contains(t, p.Body, "Right now last night (2027-03-01) is still on sale.")
	prop, err = e.st.Property(context.Background(), "P")
	require.NoError(t, err)
	require.Equal(t, "Hotel Pátio", prop.Name)
	require.Equal(t, 6*time.Hour, prop.NightSoldUntil)
	require.Contains(t, e.get("/admin/p/P/grid").Body, `class="today"><small>Mar</small>Mon 1<span class="sr-only"> 2027-03-01</span>`,
		"the grid starts at last night, still on sale")

	p = e.post(page, page, url.Values{"name": {"Hotel Pátio"}, "night_sold_until": {"00:00"}})
	require.Equal(t, http.StatusSeeOther, p.Status, p.Body)
	require.Contains(t, e.get(p.Header.Get("Location")).Body, "Last night (2027-03-01) is no longer on sale: the channels are sent nothing more of it.")

	e.login("victor")
	p = e.get(page)
	require.Equal(t, http.StatusOK, p.Status)
	require.NotContains(t, p.Body, `name="night_sold_until"`)
	require.Contains(t, p.Body, "<dt>Each night sold until</dt><dd>00:00 the next morning</dd>")
	p = e.post(page, page, url.Values{"name": {"Mine"}, "night_sold_until": {"06:00"}})
	require.Equal(t, http.StatusForbidden, p.Status)
	prop, err = e.st.Property(context.Background(), "P")
	require.NoError(t, err)
	require.Equal(t, "Hotel Pátio", prop.Name)
}

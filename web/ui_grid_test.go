package web_test

import (
	"context"
	"fmt"
	"html"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/keyrack/keyrack/connectors"
	"github.com/keyrack/keyrack/connectors/testjson"
	"github.com/keyrack/keyrack/inventory"
	"github.com/keyrack/keyrack/sync"
	"github.com/keyrack/keyrack/sync/synctest"
	"github.com/keyrack/keyrack/web"
	"github.com/stretchr/testify/require"
)

// gridToday is the property's local date (seedHotel's properties are in Lisbon).
func gridToday(t testing.TB) inventory.Date {
	loc, err := time.LoadLocation("Europe/Lisbon")
	require.NoError(t, err)
	return inventory.Today(loc)
}

// gridBook books rooms of DBL-STD on channel for nights [arrival, arrival+nights).
func gridBook(t testing.TB, st *inventory.Store, property, channel, id string, arrival inventory.Date, nights, rooms int) {
	t.Helper()
	_, err := st.ApplyRevision(context.Background(), inventory.Revision{
		Property: property, Channel: channel, ExternalID: id, Kind: inventory.New, Mode: inventory.MustAccept,
		Stays: []inventory.RoomStay{{RoomType: "DBL-STD", Arrival: arrival, Departure: arrival.AddDays(nights), Rooms: rooms}},
	})
	require.NoError(t, err)
}

// gridCellRe finds a grid cell by its title's start: the pool and night.
func gridCell(t *testing.T, body, pool string, night inventory.Date) string {
	t.Helper()
	re := regexp.MustCompile(`<td(?: class="([^"]*)")? title="` + regexp.QuoteMeta(pool+" "+night.String()+":") + `[^"]*"><a [^>]*>(.*?)</a></td>`)
	m := re.FindString(body)
	require.NotEmpty(t, m, "no cell for %s on %s", pool, night)
	return m
}

// nightOf reads pool DBL of property on night from the store.
func nightOf(t *testing.T, st *inventory.Store, property string, night inventory.Date) inventory.Night {
	t.Helper()
	ns, err := st.Availability(context.Background(), property, night, night.AddDays(1))
	require.NoError(t, err)
	require.Len(t, ns, 1)
	return ns[0]
}

var gridColumn = regexp.MustCompile(`<th scope="col"`)

// The grid shows sold / limit and what is offered for booked nights,
// stop-sell and overbooking, and pages by 30 or 90 nights.
func TestGridShowsSoldLimitClosedAndOverbookedNights(t *testing.T) {
	t.Parallel()
	e := newUI(t)
	e.seedHotel("H", 10)
	e.login("victor") // reading is for everyone
	ctx := context.Background()
	today := gridToday(t)
	gridBook(t, e.st, "H", "expedia", "E-1", today.AddDays(2), 2, 3)
	require.NoError(t, e.st.SetClosed(ctx, inventory.NightRange{Property: "H", Pool: "DBL", From: today.AddDays(5), To: today.AddDays(6)}, true, inventory.System))
	// Units lowered below what is sold: the night is overbooked.
	require.NoError(t, e.st.SetUnits(ctx, inventory.NightRange{Property: "H", Pool: "DBL", From: today.AddDays(3), To: today.AddDays(4)}, 2, inventory.System))

	p := e.get("/admin/p/H/grid")
	require.Equal(t, http.StatusOK, p.Status, p.Body)
	require.Equal(t, 31, len(gridColumn.FindAllString(p.Body, -1)), "the pool column and 30 nights")
	require.Contains(t, p.Body, `<th scope="row">DBL`)
	require.Contains(t, p.Body, "10 units × 1.00 by default")

	booked := gridCell(t, p.Body, "DBL", today.AddDays(2))
	require.Contains(t, booked, "3/10")
	require.Contains(t, booked, "7 left")
	require.Contains(t, booked, "sold 3 of 10, 7 offered")
	over := gridCell(t, p.Body, "DBL", today.AddDays(3))
	require.Contains(t, over, `class="over`)
	require.Contains(t, over, "3/2")
	require.Contains(t, over, "overbooked by 1")
	closed := gridCell(t, p.Body, "DBL", today.AddDays(5))
	require.Contains(t, closed, `class="closed`)
	require.Contains(t, closed, "closed (stop-sell)")
	require.Contains(t, closed, "0/10")
	free := gridCell(t, p.Body, "DBL", today)
	require.Contains(t, free, "0/10")
	require.Contains(t, free, "10 left")
	require.Contains(t, free, fmt.Sprintf(`href="/admin/p/H/grid/cell?pool=DBL&amp;night=%s"`, today))
	require.NotContains(t, p.Body, `name="units"`, "a viewer gets no edit form")
	require.Contains(t, p.Body, "No fan-out is configured", "without a fan-out the grid says the channels are not shown")

	// The paging and span links.
	for _, link := range []string{
		fmt.Sprintf(`href="/admin/p/H/grid?from=%s&amp;days=30"`, today.AddDays(30)),
		fmt.Sprintf(`href="/admin/p/H/grid?from=%s&amp;days=30"`, today.AddDays(-30)),
		fmt.Sprintf(`href="/admin/p/H/grid?from=%s&amp;days=30"`, today.AddDays(90)),
		fmt.Sprintf(`href="/admin/p/H/grid?from=%s&amp;days=90"`, today),
	} {
		require.Contains(t, p.Body, link)
	}
	p = e.get(fmt.Sprintf("/admin/p/H/grid?from=%s&days=90", today))
	require.Equal(t, http.StatusOK, p.Status)
	require.Equal(t, 91, len(gridColumn.FindAllString(p.Body, -1)), "90 nights")
	gridCell(t, p.Body, "DBL", today.AddDays(89))
	require.Contains(t, p.Body, fmt.Sprintf(`href="/admin/p/H/grid?from=%s&amp;days=90"`, today.AddDays(90)))

	// Paged 30 on: the booked night is gone, the 30th night on is first.
	p = e.get(fmt.Sprintf("/admin/p/H/grid?from=%s&days=30", today.AddDays(30)))
	require.Equal(t, http.StatusOK, p.Status)
	require.NotContains(t, p.Body, "DBL "+today.AddDays(2).String()+":")
	gridCell(t, p.Body, "DBL", today.AddDays(30))

	for _, bad := range []string{"?days=45", "?from=yesterday"} {
		p = e.get("/admin/p/H/grid" + bad)
		require.Equal(t, http.StatusBadRequest, p.Status, bad)
	}

	// The cell's own page, without JavaScript; and as an htmx fragment.
	p = e.get(fmt.Sprintf("/admin/p/H/grid/cell?pool=DBL&night=%s", today.AddDays(3)))
	require.Equal(t, http.StatusOK, p.Status)
	require.Contains(t, p.Body, "<html")
	require.Contains(t, p.Body, "overbooked by 1")
	require.Contains(t, p.Body, "← Back to the grid")
	p = e.get(fmt.Sprintf("/admin/p/H/grid/cell?pool=DBL&night=%s", today.AddDays(5)), "HX-Request", "true")
	require.Equal(t, http.StatusOK, p.Status)
	require.NotContains(t, p.Body, "<html")
	require.Contains(t, p.Body, "closed (stop-sell)")
	require.Equal(t, http.StatusNotFound, e.get(fmt.Sprintf("/admin/p/H/grid/cell?pool=NOPE&night=%s", today)).Status)
	require.Equal(t, http.StatusBadRequest, e.get("/admin/p/H/grid/cell?pool=DBL&night=soon").Status)
}

// An admin closes a range and changes its units and factor from the grid:
// the store holds the change, audited as the admin, and the grid says so.
func TestGridEditClosesARangeAndChangesUnitsAndFactor(t *testing.T) {
	t.Parallel()
	e := newUI(t)
	e.seedHotel("H", 10)
	e.login("anna")
	today := gridToday(t)
	first := today.AddDays(4)
	grid := "/admin/p/H/grid"

	p := e.get(grid)
	require.Contains(t, p.Body, `<label for="edit-from">First night</label>`)
	require.Contains(t, p.Body, `(included)`, "the form says the last night is included")

	p = e.post(grid, grid+"/edit", url.Values{"pool": {"DBL"}, "from": {first.String()}, "to": {first.AddDays(2).String()},
		"units": {"12"}, "factor": {"1.10"}, "status": {"close"}, "back_from": {today.String()}, "back_days": {"30"}})
	require.Equal(t, http.StatusSeeOther, p.Status, p.Body)
	loc := p.Header.Get("Location")
	require.True(t, strings.HasPrefix(loc, fmt.Sprintf("/admin/p/H/grid?from=%s&days=30&flash=", today)), loc)
	for i := range 3 {
		n := nightOf(t, e.st, "H", first.AddDays(i))
		require.True(t, n.Closed, "night %d closed", i)
		require.Equal(t, 12, n.Units)
		require.Equal(t, inventory.Factor(110), n.Factor)
		require.Equal(t, 13, n.Limit)
	}
	after := nightOf(t, e.st, "H", first.AddDays(3))
	require.False(t, after.Closed, "the night after the last is untouched")
	require.Equal(t, 10, after.Units)
	require.False(t, nightOf(t, e.st, "H", first.AddDays(-1)).Closed)

	audit, err := e.st.Audit(context.Background(), "H", "", 10)
	require.NoError(t, err)
	require.NotEmpty(t, audit)
	require.Equal(t, "staff:anna", audit[0].Actor)
	require.Equal(t, "nights.set_units+set_factor+close", audit[0].Action)

	p = e.get(loc)
	require.Contains(t, p.Body, "Pool DBL, 3 nights")
	require.Contains(t, gridCell(t, p.Body, "DBL", first), `class="closed`)

	// Open one night again with the cell's quick action.
	cell := fmt.Sprintf("/admin/p/H/grid/cell?pool=DBL&night=%s", first.AddDays(1))
	require.Contains(t, e.get(cell).Body, "Open DBL on "+first.AddDays(1).String())
	p = e.post(cell, grid+"/edit", url.Values{"pool": {"DBL"}, "from": {first.AddDays(1).String()}, "to": {first.AddDays(1).String()}, "status": {"open"}})
	require.Equal(t, http.StatusSeeOther, p.Status, p.Body)
	require.False(t, nightOf(t, e.st, "H", first.AddDays(1)).Closed)
	require.True(t, nightOf(t, e.st, "H", first.AddDays(2)).Closed)

	// With htmx the answer is the grid's fragment, re-rendered with the change.
	form := url.Values{"pool": {"DBL"}, "from": {first.String()}, "to": {first.String()}, "status": {"open"},
		"back_from": {today.String()}, "back_days": {"30"}, "csrf_token": {e.token(grid)}}
	req, err := http.NewRequest("POST", e.ts.URL+grid+"/edit", strings.NewReader(form.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Referer", e.ts.URL+grid)
	req.Header.Set("HX-Request", "true")
	p = e.do(req)
	require.Equal(t, http.StatusOK, p.Status, p.Body)
	require.NotContains(t, p.Body, "<html")
	require.True(t, strings.HasPrefix(strings.TrimSpace(p.Body), `<div id="grid-area">`), p.Body[:min(200, len(p.Body))])
	require.Contains(t, p.Body, "Pool DBL, 1 night, "+first.String()+": opened.")
	require.Contains(t, p.Body, `<input type="radio" id="edit-leave" name="status" value="leave" checked>`, "the form keeps the nights, not the change: a second click does not make it again")
	require.Contains(t, p.Body, `id="edit-from" name="from" value="`+first.String()+`"`)
	require.NotContains(t, gridCell(t, p.Body, "DBL", first), `class="closed`)
	require.False(t, nightOf(t, e.st, "H", first).Closed)
}

// The edit form changes only the nights on the days of the week ticked; a
// refused form keeps what was ticked.
func TestGridEditOfSomeDaysOfTheWeek(t *testing.T) {
	t.Parallel()
	e := newUI(t)
	e.seedHotel("H", 10)
	e.login("anna")
	grid := "/admin/p/H/grid"
	monday := gridToday(t).AddDays(3)
	for monday.Weekday() != time.Monday {
		monday = monday.AddDays(1)
	}
	p := e.get(grid)
	for _, d := range []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"} {
		require.Contains(t, p.Body, `<input type="checkbox" id="edit-day-`+d+`" name="days" value="`+d+`" checked>`, "every day is ticked at first")
	}

	form := url.Values{"pool": {"DBL"}, "from": {monday.String()}, "to": {monday.AddDays(13).String()}, "status": {"close"},
		"days_shown": {"1"}, "days": {"sat", "sun"}}
	p = e.post(grid, grid+"/edit", form)
	require.Equal(t, http.StatusSeeOther, p.Status, p.Body)
	for i := range 14 {
		night := monday.AddDays(i)
		weekend := night.Weekday() == time.Saturday || night.Weekday() == time.Sunday
		require.Equal(t, weekend, nightOf(t, e.st, "H", night).Closed, "%s (%s)", night, night.Weekday())
	}
	sat := monday.AddDays(5)
	require.Contains(t, e.get(p.Header.Get("Location")).Body, fmt.Sprintf("Pool DBL, 4 nights (Sat, Sun only), %s to %s: closed (stop-sell).", sat, sat.AddDays(8)),
		"the flash counts the nights changed, from the first to the last")

	for _, tc := range []struct {
		form url.Values
		want string
	}{
		{url.Values{"pool": {"DBL"}, "from": {monday.String()}, "to": {monday.AddDays(6).String()}, "status": {"open"}, "days_shown": {"1"}}, "Tick at least one day of the week"},
		{url.Values{"pool": {"DBL"}, "from": {monday.String()}, "to": {monday.AddDays(2).String()}, "status": {"open"}, "days_shown": {"1"}, "days": {"fri", "sun"}},
			fmt.Sprintf("No night from %s to %s falls on Fri, Sun", monday, monday.AddDays(2))},
		{url.Values{"pool": {"DBL"}, "from": {monday.String()}, "to": {monday.AddDays(6).String()}, "units": {"x"}, "days_shown": {"1"}, "days": {"fri"}}, "Units &#34;x&#34;"},
	} {
		p := e.post(grid, grid+"/edit", tc.form)
		require.Equal(t, http.StatusBadRequest, p.Status, "%v: %s", tc.form, p.Body)
		require.Contains(t, p.Body, tc.want, "%v", tc.form)
		for _, d := range []string{"mon", "fri", "sat"} {
			ticked := slices.Contains(tc.form["days"], d)
			require.Equal(t, ticked, strings.Contains(p.Body, `id="edit-day-`+d+`" name="days" value="`+d+`" checked>`), "%s is ticked as it was sent: %v", d, tc.form)
		}
	}
	require.True(t, nightOf(t, e.st, "H", sat).Closed, "nothing was changed by the refused forms")
	require.False(t, nightOf(t, e.st, "H", monday).Closed)
}

// A viewer cannot change anything: the post is refused and the store is as it was.
func TestGridEditByAViewerIsForbidden(t *testing.T) {
	t.Parallel()
	e := newUI(t)
	e.seedHotel("H", 10)
	e.login("victor")
	night := gridToday(t).AddDays(1)
	p := e.post("/admin/p/H/grid", "/admin/p/H/grid/edit", url.Values{"pool": {"DBL"}, "from": {night.String()}, "to": {night.String()}, "status": {"close"}, "units": {"3"}})
	require.Equal(t, http.StatusForbidden, p.Status)
	n := nightOf(t, e.st, "H", night)
	require.False(t, n.Closed)
	require.Equal(t, 10, n.Units)
	audit, err := e.st.Audit(context.Background(), "H", "", 100)
	require.NoError(t, err)
	for _, a := range audit {
		require.NotEqual(t, "staff:victor", a.Actor)
	}
	require.NotContains(t, e.get(fmt.Sprintf("/admin/p/H/grid/cell?pool=DBL&night=%s", night)).Body, "Close DBL", "no quick action for a viewer")
}

// Bad input is answered with the grid and a message (400), and nothing changes.
func TestGridEditRefusesBadInputAndChangesNothing(t *testing.T) {
	t.Parallel()
	e := newUI(t)
	e.seedHotel("H", 10)
	e.login("anna")
	night := gridToday(t).AddDays(2)
	n, prev := night.String(), night.AddDays(-1).String()
	for _, tc := range []struct {
		form url.Values
		want string
	}{
		{url.Values{"pool": {"DBL"}, "from": {n}, "to": {prev}, "status": {"close"}}, "is before the first night"},
		{url.Values{"pool": {"DBL"}, "from": {n}, "to": {n}, "factor": {"0.5"}}, "must be at least 1.00"},
		{url.Values{"pool": {"DBL"}, "from": {n}, "to": {n}, "factor": {"1.234"}}, "at most two decimals"},
		{url.Values{"pool": {"NOPE"}, "from": {n}, "to": {n}, "status": {"close"}}, `There is no pool &#34;NOPE&#34;`},
		{url.Values{"pool": {"DBL"}, "from": {"tomorrow"}, "to": {n}, "status": {"close"}}, "is not a date"},
		{url.Values{"pool": {"DBL"}, "from": {n}, "to": {n}, "units": {"-2"}, "status": {"close"}}, "whole number between 0 and 100000"},
		{url.Values{"pool": {"DBL"}, "from": {n}, "to": {n}, "status": {"leave"}}, "Nothing to change"},
	} {
		p := e.post("/admin/p/H/grid", "/admin/p/H/grid/edit", tc.form)
		require.Equal(t, http.StatusBadRequest, p.Status, "%v: %s", tc.form, p.Body)
		require.Contains(t, p.Body, tc.want, "%v", tc.form)
		require.Contains(t, p.Body, `role="alert"`)
		require.Contains(t, p.Body, "Nothing was changed.")
		require.Contains(t, p.Body, `<table class="grid"`, "the grid is shown with the message")
	}
	for _, d := range []inventory.Date{night.AddDays(-1), night} {
		got := nightOf(t, e.st, "H", d)
		require.False(t, got.Closed)
		require.Equal(t, 10, got.Units)
		require.Equal(t, inventory.FactorOne, got.Factor)
	}
	audit, err := e.st.Audit(context.Background(), "H", "", 100)
	require.NoError(t, err)
	for _, a := range audit {
		require.NotEqual(t, "staff:anna", a.Actor)
	}
}

// withGridFanout configures the server with a fan-out (no worker runs: what
// changes stays pending) whose ota_push channels are pushed to.
func withGridFanout(t testing.TB) func(*web.Config) {
	return func(c *web.Config) {
		redisURL := synctest.RedisURL(t)
		q, err := sync.OpenQueue(redisURL)
		require.NoError(t, err)
		t.Cleanup(func() { _ = q.Close() })
		f, err := sync.New(sync.Config{DB: c.Store.DB(), Queue: q, QueuePrefix: synctest.QueuePrefix(t, redisURL), Secrets: c.Secrets,
			Connectors: connectors.Registry{inventory.ChannelOTAPush: &testjson.Connector{}}, Logger: slog.New(slog.DiscardHandler)})
		require.NoError(t, err)
		c.Fanout, c.Queue = f, q
	}
}

// With a fan-out, a night a channel has not acknowledged is marked, and its
// detail says which channel, what it last acknowledged and when.
func TestGridMarksNightsAChannelHasNotAcknowledged(t *testing.T) {
	t.Parallel()
	e := newUI(t, withGridFanout(t))
	e.seedHotel("H", 10)
	ctx := context.Background()
	endpoint := "http://127.0.0.1:1/ota"
	_, err := e.st.UpdateChannel(ctx, "H", "expedia", inventory.ChannelPatch{Endpoint: &endpoint}, inventory.System)
	require.NoError(t, err)
	e.login("anna")
	today := gridToday(t)
	booked := today.AddDays(2)
	// A walk-in from the PMS: expedia has to hear of it.
	gridBook(t, e.st, "H", "pms", "W-1", booked, 1, 2)
	// expedia acknowledged the value of the night after, as a delivery records it.
	quiet := today.AddDays(3)
	_, err = e.st.DB().Exec(ctx, `INSERT INTO sync_acks (property_id, channel_id, pool_id, night, available, version, acked_at)
		SELECT p.id, c.id, pl.id, $1, 10, 0, '2026-01-02 03:04:00+00' FROM properties p
		JOIN channels c ON c.property_id = p.id AND c.code = 'expedia' JOIN pools pl ON pl.property_id = p.id AND pl.code = 'DBL'
		WHERE p.code = 'H'`, quiet)
	require.NoError(t, err)

	p := e.get("/admin/p/H/grid")
	require.Equal(t, http.StatusOK, p.Status, p.Body)
	cell := gridCell(t, p.Body, "DBL", booked)
	require.Contains(t, cell, `class="pending`)
	require.Contains(t, cell, "●")
	require.Contains(t, cell, "not yet acknowledged by expedia")
	require.Contains(t, cell, "expedia: pending — a change waits for the relay", "the hover names the channel")
	synced := gridCell(t, p.Body, "DBL", quiet)
	require.NotContains(t, synced, "pending")
	require.Contains(t, synced, "every channel acknowledged it")
	require.Contains(t, gridCell(t, p.Body, "DBL", today.AddDays(4)), "never acknowledged by expedia")
	require.Contains(t, p.Body, "<strong>expedia</strong>")
	require.NotContains(t, p.Body, "<strong>pms</strong>", "pms maps no room type of the pool: it does not count")

	// The detail: which channel, what it acknowledged, when, and why it is pending.
	p = e.get(fmt.Sprintf("/admin/p/H/grid/cell?pool=DBL&night=%s", booked), "HX-Request", "true")
	require.Equal(t, http.StatusOK, p.Status)
	require.Contains(t, p.Body, `<th scope="row">expedia</th>`)
	require.Contains(t, p.Body, "● pending")
	require.Contains(t, p.Body, "a change waits for the relay")
	require.Contains(t, p.Body, "never")
	p = e.get(fmt.Sprintf("/admin/p/H/grid/cell?pool=DBL&night=%s", quiet))
	require.Contains(t, p.Body, "✓ in sync")
	require.Contains(t, p.Body, "10 <span class=\"muted\">at 2026-01-02 03:04 WET</span>", "in Lisbon's time (UTC+0 in winter)")

	// Closing the acknowledged night makes it pending for expedia too.
	p = e.post("/admin/p/H/grid", "/admin/p/H/grid/edit", url.Values{"pool": {"DBL"}, "from": {quiet.String()}, "to": {quiet.String()}, "status": {"close"}})
	require.Equal(t, http.StatusSeeOther, p.Status, p.Body)
	p = e.get(p.Header.Get("Location"))
	require.Contains(t, gridCell(t, p.Body, "DBL", quiet), "not yet acknowledged by expedia")
}

// The grid's factor field takes a decimal, nothing else: "1.+5" and
// "+1.5" are refused (they were saved as 1.05 and 1.50), and a factor out
// of range is told the range.
func TestGridEditRefusesAFactorThatIsNotADecimal(t *testing.T) {
	t.Parallel()
	e := newUI(t)
	e.seedHotel("P", 10)
	e.login("anna")
	night := gridToday(t).AddDays(5)
	for _, f := range []string{"1.+5", "+1.5", "12.5"} {
		p := e.post("/admin/p/P/grid", "/admin/p/P/grid/edit", url.Values{"pool": {"DBL"}, "from": {night.String()}, "to": {night.String()}, "factor": {f}})
		require.Equal(t, http.StatusBadRequest, p.Status, "factor %q was taken: now %s", f, nightOf(t, e.st, "P", night).Factor)
		require.Contains(t, p.Body, "between 1.00 and 9.99", "factor %q", f)
	}
	require.Equal(t, inventory.FactorOne, nightOf(t, e.st, "P", night).Factor)
}

// An edit of past nights is kept, but the grid does not claim the channels
// are being told: past nights are never sent. An edit reaching from the
// past into the future says only the nights from today on are.
func TestGridEditOfPastNightsSaysTheyAreNotSent(t *testing.T) {
	t.Parallel()
	e := newUI(t)
	e.seedHotel("H", 10)
	e.login("anna")
	today := gridToday(t)
	grid := "/admin/p/H/grid"
	edit := func(from, to inventory.Date) string {
		p := e.post(grid, grid+"/edit", url.Values{"pool": {"DBL"}, "from": {from.String()}, "to": {to.String()}, "units": {"9"}})
		require.Equal(t, http.StatusSeeOther, p.Status, p.Body)
		flash := regexp.MustCompile(`<p class="flash" role="status">([^<]*)</p>`).FindStringSubmatch(e.get(p.Header.Get("Location")).Body)
		require.NotNil(t, flash)
		return flash[1]
	}
	msg := edit(today.AddDays(-10), today.AddDays(-5))
	require.Contains(t, msg, "units set to 9. These nights are past: no channel is sent them.")
	require.NotContains(t, msg, "being updated")
	require.Equal(t, 9, nightOf(t, e.st, "H", today.AddDays(-7)).Units, "the edit is kept")

	msg = edit(today.AddDays(-3), today.AddDays(3))
	require.Contains(t, msg, "on; the past nights are not sent.")

	msg = edit(today.AddDays(5), today.AddDays(6))
	require.Contains(t, msg, "units set to 9. The channels are being updated.")
}

// An edit of nights beyond the horizon of every channel selling the pool
// does not claim the channels are being updated: no channel is sent them
// until they come into its horizon (the nightly resync sends them then).
// An edit reaching over the horizon says up to which night they are, and a
// pool no channel sells says so.
func TestGridEditBeyondEveryHorizonSaysWhenItIsSent(t *testing.T) {
	t.Parallel()
	a := newSellingUI(t)
	ctx := context.Background()
	horizon := 30
	_, err := a.st.UpdateChannel(ctx, "H", "expedia", inventory.ChannelPatch{HorizonDays: &horizon}, inventory.System)
	require.NoError(t, err)
	a.login("anna")
	today := gridToday(t)
	grid := "/admin/p/H/grid"
	edit := func(pool string, from, to inventory.Date) string {
		p := a.post(grid, grid+"/edit", url.Values{"pool": {pool}, "from": {from.String()}, "to": {to.String()}, "units": {"9"}})
		require.Equal(t, http.StatusSeeOther, p.Status, p.Body)
		flash := regexp.MustCompile(`<p class="flash" role="status">([^<]*)</p>`).FindStringSubmatch(a.get(p.Header.Get("Location")).Body)
		require.NotNil(t, flash)
		return html.UnescapeString(flash[1])
	}
	end := today.AddDays(horizon)

	msg := edit("DBL", today.AddDays(40), today.AddDays(45))
	require.NotContains(t, msg, "being updated")
	require.Contains(t, msg, "units set to 9. The nights from "+end.String()+" on are beyond the horizon of every channel selling pool DBL (the longest is 30 nights): each channel is sent them as they come into its horizon.")
	require.Equal(t, 9, nightOf(t, a.st, "H", today.AddDays(42)).Units, "the edit is made")

	msg = edit("DBL", today.AddDays(20), today.AddDays(40))
	require.Contains(t, msg, "The channels are being updated up to "+end.AddDays(-1).String()+". The nights from "+end.String()+" on are beyond")

	msg = edit("DBL", today.AddDays(-2), today.AddDays(40))
	require.Contains(t, msg, "The channels are being updated from "+today.String()+" on; the past nights are not sent. The nights from "+end.String()+" on are beyond")

	msg = edit("DBL", today.AddDays(5), today.AddDays(6))
	require.Contains(t, msg, "units set to 9. The channels are being updated.")

	_, err = a.st.CreatePool(ctx, "H", inventory.Pool{Code: "STE", Name: "Suites", Units: 2}, inventory.System)
	require.NoError(t, err)
	msg = edit("STE", today.AddDays(5), today.AddDays(6))
	require.Contains(t, msg, "No enabled channel has a room type of pool STE mapped: no channel is sent these nights.")
}

// An edit of a pool whose only channel is switched off does not tell staff
// that no channel has a room type of it mapped — it has, on the channel
// switched off: what no channel is sent is for want of an enabled one.
func TestGridEditOfAPoolSoldOnlyByADisabledChannelSaysWhy(t *testing.T) {
	t.Parallel()
	a := newSellingUI(t)
	ctx := context.Background()
	off := false
	_, err := a.st.UpdateChannel(ctx, "H", "expedia", inventory.ChannelPatch{Enabled: &off}, inventory.System)
	require.NoError(t, err)
	a.login("anna")
	today := gridToday(t)
	grid := "/admin/p/H/grid"
	p := a.post(grid, grid+"/edit", url.Values{"pool": {"DBL"}, "from": {today.AddDays(5).String()}, "to": {today.AddDays(6).String()}, "units": {"9"}})
	require.Equal(t, http.StatusSeeOther, p.Status, p.Body)
	flash := regexp.MustCompile(`<p class="flash" role="status">([^<]*)</p>`).FindStringSubmatch(a.get(p.Header.Get("Location")).Body)
	require.NotNil(t, flash)
	msg := html.UnescapeString(flash[1])
	require.NotContains(t, msg, "none has a room type of it mapped", "expedia has DBL-STD mapped: it is switched off")
	require.Contains(t, msg, "units set to 9. No enabled channel has a room type of pool DBL mapped: no channel is sent these nights.")
}

// newSellingUI is hotel H (10 rooms) with a fan-out, to read which channels
// sell a pool, that pushes to ota_push channels; its expedia has an
// endpoint (no worker runs: nothing is sent).
func newSellingUI(t *testing.T) *overdueUI {
	t.Helper()
	a := newOverdueUI(t, func(c *sync.Config) {
		c.Connectors = connectors.Registry{inventory.ChannelOTAPush: &testjson.Connector{}}
	})
	a.seedHotel("H", 10)
	endpoint := "https://ari.expedia.example/h"
	_, err := a.st.UpdateChannel(context.Background(), "H", "expedia", inventory.ChannelPatch{Endpoint: &endpoint}, inventory.System)
	require.NoError(t, err)
	return a
}

// gridEditFlash posts a grid edit of units and returns its flash.
func gridEditFlash(t *testing.T, a *overdueUI, pool string, from, to inventory.Date) string {
	t.Helper()
	grid := "/admin/p/H/grid"
	p := a.post(grid, grid+"/edit", url.Values{"pool": {pool}, "from": {from.String()}, "to": {to.String()}, "units": {"9"}})
	require.Equal(t, http.StatusSeeOther, p.Status, p.Body)
	flash := regexp.MustCompile(`<p class="flash" role="status">([^<]*)</p>`).FindStringSubmatch(a.get(p.Header.Get("Location")).Body)
	require.NotNil(t, flash)
	return html.UnescapeString(flash[1])
}

// A channel selling the pool that keyrack sends nothing (an OTA without an
// endpoint) is not counted among the channels being updated: the edit
// says it is not sent, and why. A calendar platform, which fetches the
// export, is updated.
func TestGridEditSaysWhichChannelsAreSentNothing(t *testing.T) {
	t.Parallel()
	a := newSellingUI(t)
	ctx := context.Background()
	a.login("anna")
	today := gridToday(t)
	none := ""
	_, err := a.st.UpdateChannel(ctx, "H", "expedia", inventory.ChannelPatch{Endpoint: &none}, inventory.System)
	require.NoError(t, err)
	msg := gridEditFlash(t, a, "DBL", today.AddDays(5), today.AddDays(6))
	require.NotContains(t, msg, "being updated")
	require.Contains(t, msg, "units set to 9. No channel is sent these nights (expedia: the channel has no endpoint).")
	grid := a.get("/admin/p/H/grid").Body
	require.Regexp(t, `<strong>expedia</strong>\s*<span class="muted">— the channel has no endpoint</span>`, grid, "the grid's channels say why one is sent nothing, once")
	cell := a.get(fmt.Sprintf("/admin/p/H/grid/cell?pool=DBL&night=%s", today.AddDays(5))).Body
	require.Contains(t, cell, `<span class="hint">the channel has no endpoint</span>`)
	require.NotContains(t, grid+cell, "not pushed to:")

	_, err = a.st.CreateChannel(ctx, "H", inventory.Channel{Code: "airbnb", Kind: inventory.ChannelICal, Enabled: true}, inventory.System)
	require.NoError(t, err)
	require.NoError(t, a.st.SetMapping(ctx, "H", "airbnb", inventory.Mapping{ChannelRoom: "DBL", RoomType: "DBL-STD"}, inventory.System))
	msg = gridEditFlash(t, a, "DBL", today.AddDays(5), today.AddDays(6))
	require.Contains(t, msg, "units set to 9. The channels are being updated. Not sent to expedia: the channel has no endpoint.")
}

package web_test

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/keyrack/keyrack/inventory"
	"github.com/stretchr/testify/require"
)

var (
	incidentRow = regexp.MustCompile(`<tr id="incident-(\d+)">`)
	nextLink    = regexp.MustCompile(`<a href="([^"]+)" rel="next">`)
)

// A hotel with more parked bookings than a page holds: the alerts page
// shows the newest of them, says how many there are in all and links to
// the rest, page by page, each once; an older overbooking stays on the
// first page; resolving one from a later page comes back to that page.
func TestTheAlertsPageIsPagedKindByKind(t *testing.T) {
	t.Parallel()
	e := newUI(t)
	e.seedHotel("P", 1)
	overbook(t, e.st, "P") // the oldest alert
	ctx := context.Background()
	const parked = 120
	for i := range parked {
		a := inventory.MustDate("2027-11-01").AddDays(i % 30)
		out, err := e.st.ApplyRevision(ctx, inventory.Revision{Property: "P", Channel: "expedia", ExternalID: fmt.Sprintf("U-%03d", i), Kind: inventory.New,
			Stays: []inventory.RoomStay{{ChannelRoom: "PENTHOUSE", Arrival: a, Departure: a.AddDays(1), Rooms: 1}}})
		require.NoError(t, err)
		require.True(t, out.Parked)
	}
	e.login("anna")

	p := e.get("/admin/p/P/alerts")
	require.Equal(t, http.StatusOK, p.Status)
	require.Contains(t, p.Body, fmt.Sprintf("<h1>Alerts (%d)</h1>", parked+1), "the count is of every alert")
	require.Contains(t, p.Body, fmt.Sprintf(`Bookings for unmapped rooms <span class="count">(%d)</span>`, parked))
	require.Contains(t, p.Body, "Overbooked nights", "an older overbooking is not pushed off the page")
	require.Len(t, incidentRow.FindAllString(p.Body, -1), 50+1, "a page of parked bookings and the overbooking")
	require.Contains(t, p.Body, "U-119</a>", "the newest first")
	require.NotContains(t, p.Body, "U-069</a>")
	require.Contains(t, p.Body, fmt.Sprintf("The newest 50 of %d are shown", parked))

	// Page by page, every parked booking once.
	seen := map[string]int{}
	next := nextLink.FindStringSubmatch(p.Body)
	require.NotNil(t, next)
	require.Equal(t, "/admin/p/P/alerts?kind=unmapped_booking&amp;page=2", next[1])
	p = e.get("/admin/p/P/alerts?kind=unmapped_booking")
	for pg := 1; ; pg++ {
		require.Equal(t, http.StatusOK, p.Status)
		require.NotContains(t, p.Body, "Overbooked nights", "the kind alone")
		require.Contains(t, p.Body, fmt.Sprintf(`<span class="count">(%d)</span>`, parked))
		for _, m := range regexp.MustCompile(`>(U-\d{3})</a>`).FindAllStringSubmatch(p.Body, -1) {
			seen[m[1]]++
		}
		next = nextLink.FindStringSubmatch(p.Body)
		if next == nil {
			require.Equal(t, 3, pg)
			require.Contains(t, p.Body, fmt.Sprintf("101–%d of %d, newest first", parked, parked))
			require.Contains(t, p.Body, `rel="prev"`)
			break
		}
		p = e.get(html.UnescapeString(next[1]))
	}
	require.Len(t, seen, parked)
	for id, n := range seen {
		require.Equal(t, 1, n, id)
	}

	// Resolving an alert of page 2 comes back to page 2.
	p2 := e.get("/admin/p/P/alerts?kind=unmapped_booking&page=2")
	m := resolveAction.FindStringSubmatch(p2.Body)
	require.NotNil(t, m)
	require.Contains(t, p2.Body, `<input type="hidden" name="kind" value="unmapped_booking"><input type="hidden" name="page" value="2">`)
	r := e.post("/admin/p/P/alerts?kind=unmapped_booking&page=2", m[1], url.Values{"kind": {"unmapped_booking"}, "page": {"2"}})
	require.Equal(t, http.StatusSeeOther, r.Status, r.Body)
	require.True(t, strings.HasPrefix(r.Header.Get("Location"), "/admin/p/P/alerts?kind=unmapped_booking&page=2&flash="), r.Header.Get("Location"))
	require.Contains(t, e.get(r.Header.Get("Location")).Body, fmt.Sprintf(`<span class="count">(%d)</span>`, parked-1))

	// A page past the last says so; a kind that does not exist is not found.
	p = e.get("/admin/p/P/alerts?kind=unmapped_booking&page=9")
	require.Equal(t, http.StatusOK, p.Status)
	require.Contains(t, p.Body, "this page is past the last one")
	require.Equal(t, http.StatusNotFound, e.get("/admin/p/P/alerts?kind=nope").Status)
	require.Equal(t, http.StatusNotFound, e.get("/admin/p/P/alerts?kind=overbooking&page=x").Status)
}

package web_test

import (
	"context"
	"fmt"
	"html"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/keyrack/keyrack/inventory"
	"github.com/keyrack/keyrack/inventory/inventorytest"
	"github.com/keyrack/keyrack/sync"
	"github.com/keyrack/keyrack/web"
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

// newCountedUI is newUI on a store whose SQL statements are counted.
func newCountedUI(t *testing.T) (*uiEnv, *statements) {
	t.Helper()
	count := &statements{}
	st, sec := tracedStore(t, count)
	ts := newTestServer(t, web.New(web.Config{Store: st, Secrets: sec, Logger: slog.New(slog.DiscardHandler)}))
	return &uiEnv{t: t, st: st, ts: ts, client: newBrowserClient(t)}, count
}

// tracedStore is a migrated store of the test's own whose statements go
// through tracer, with the UI tests' secret and admin anna.
func tracedStore(t *testing.T, tracer pgx.QueryTracer) (*inventory.Store, *inventory.Secrets) {
	t.Helper()
	cfg := inventorytest.Schema(t)
	cfg.MaxConns = 32
	cfg.ConnConfig.Tracer = tracer
	ctx := context.Background()
	st, err := inventory.OpenConfig(ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(st.Close)
	st.SetLogger(slog.New(slog.DiscardHandler))
	require.NoError(t, st.Migrate(ctx))
	sec, err := inventory.NewSecrets("test secret of keyrack's UI tests")
	require.NoError(t, err)
	_, err = st.CreateStaffUser(ctx, "anna", inventory.RoleAdmin, uiPassword, inventory.System)
	require.NoError(t, err)
	return st, sec
}

// counted fetches a page and says how many statements it took.
func counted(e *uiEnv, count *statements, path string) (page, int64) {
	e.t.Helper()
	before := count.n.Load()
	p := e.get(path)
	require.Equal(e.t, http.StatusOK, p.Status, "%s: %.500s", path, p.Body)
	return p, count.n.Load() - before
}

// The channels list reads the export calendars of every iCal channel in
// one query, however many iCal channels there are, and says the same of
// each: none live, live but never fetched, fetched.
func TestTheChannelsPageReadsExportCalendarsOnce(t *testing.T) {
	t.Parallel()
	e, count := newCountedUI(t)
	e.seedHotel("P", 2)
	ctx := context.Background()
	newICal := func(code string) {
		_, err := e.st.CreateChannel(ctx, "P", inventory.Channel{Code: code, Kind: inventory.ChannelICal, Enabled: true}, inventory.System)
		require.NoError(t, err)
	}
	newICal("airbnb")
	e.login("anna")
	_, one := counted(e, count, "/admin/p/P/channels")

	newICal("vrbo") // a live calendar, never fetched
	_, _, err := e.st.CreateExportToken(ctx, "P", "vrbo", "DBL-STD", inventory.System)
	require.NoError(t, err)
	newICal("booking") // a revoked calendar only
	tok, _, err := e.st.CreateExportToken(ctx, "P", "booking", "DBL-STD", inventory.System)
	require.NoError(t, err)
	_, err = e.st.RevokeExportToken(ctx, "P", "booking", tok.ID, inventory.System)
	require.NoError(t, err)
	newICal("google") // two live calendars, one fetched
	_, _, err = e.st.CreateExportToken(ctx, "P", "google", "DBL-STD", inventory.System)
	require.NoError(t, err)
	_, secret, err := e.st.CreateExportToken(ctx, "P", "google", "DBL-STD", inventory.System)
	require.NoError(t, err)
	_, err = e.st.LookupExportToken(ctx, secret)
	require.NoError(t, err)
	for i := range 4 {
		newICal(fmt.Sprintf("cal%d", i))
		_, _, err := e.st.CreateExportToken(ctx, "P", fmt.Sprintf("cal%d", i), "DBL-STD", inventory.System)
		require.NoError(t, err)
	}
	p, many := counted(e, count, "/admin/p/P/channels")
	t.Logf("channels page: %d statements with 1 iCal channel, %d with 8", one, many)
	require.Equal(t, one, many, "no query per iCal channel")

	require.Contains(t, rowOf(t, p.Body, "airbnb"), "no export calendar")
	require.Contains(t, rowOf(t, p.Body, "booking"), "no export calendar")
	require.Contains(t, rowOf(t, p.Body, "vrbo"), "not fetched yet")
	require.Contains(t, rowOf(t, p.Body, "cal3"), "not fetched yet")
	require.Contains(t, rowOf(t, p.Body, "google"), "last fetched")
}

// A PMS that has been sent more reservation revisions than its page lists
// is told so: the page says these are the latest, and where the others
// are; one sent fewer says it lists every one.
func TestAPMSPageSaysItListsOnlyTheLatestReservationsSent(t *testing.T) {
	t.Parallel()
	e := newChannelsUI(t)
	e.seedHotel("P", 100)
	ctx := context.Background()
	e.runWorker()
	e.login("anna")
	book := func(from, to int) {
		for i := from; i < to; i++ {
			a := inventory.MustDate("2031-03-01").AddDays(i)
			_, err := e.st.ApplyRevision(ctx, inventory.Revision{Property: "P", Channel: "expedia", ExternalID: fmt.Sprintf("EXP-%03d", i), Kind: inventory.New,
				Stays: []inventory.RoomStay{{ChannelRoom: "DBL", Arrival: a, Departure: a.AddDays(1)}}})
			require.NoError(t, err)
		}
	}
	sentCount := func() int {
		return strings.Count(section(t, e.get("/admin/p/P/channels/pms").Body, "sent-title"), "<tr>") - 1 // the head's row
	}

	book(0, 3)
	eventuallyUI(t, "3 revisions on the feed", func() bool { return sentCount() == 3 })
	sent := section(t, e.get("/admin/p/P/channels/pms").Body, "sent-title")
	require.Contains(t, sent, "Every revision put on its feed")
	require.NotContains(t, sent, "The latest")

	book(3, sync.RecentFeed+5)
	eventuallyUI(t, "the revisions on the feed", func() bool {
		st := statusOfChannel(t, e.fan, "pms")
		return st.FeedUnacked == sync.RecentFeed+5
	})
	sent = section(t, e.get("/admin/p/P/channels/pms").Body, "sent-title")
	require.Equal(t, sync.RecentFeed, strings.Count(sent, "<tr>")-1)
	require.Contains(t, sent, fmt.Sprintf("The latest %d revisions put on its feed, newest first: older ones are not listed here.", sync.RecentFeed))
	require.Contains(t, sent, `href="/admin/p/P/bookings"`)
	require.NotContains(t, sent, "Every revision")
}

package web_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	gosync "sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/keyrack/keyrack/connectors/ical"
	"github.com/keyrack/keyrack/inventory"
	"github.com/keyrack/keyrack/web"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// statements counts the SQL statements a store runs (queries and the
// statements of batches), to find pages that ask once per row.
type statements struct{ n atomic.Int64 }

func (s *statements) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	s.n.Add(1)
	return ctx
}
func (s *statements) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}
func (s *statements) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	return ctx
}
func (s *statements) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) { s.n.Add(1) }
func (s *statements) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData)     {}

// bigHotel is a property "BIG" larger than the demo: 150 pools with a room
// type each, 40 channels (30 OTA, 8 iCal, 2 PMS), 1,000 mappings on "ota0",
// and 5,000 reservations spread over the next 90 nights, of which the
// first `parked` are for a room "ota1" has not mapped.
type bigHotel struct {
	*uiEnv
	count *statements
}

const (
	bigPools    = 150
	bigBookings = 5000
	bigParked   = 200
)

var bigFrom = inventory.MustDate("2027-01-01")

func newBigHotel(t *testing.T) *bigHotel {
	t.Helper()
	count := &statements{}
	ctx := context.Background()
	st, sec := tracedStore(t, count)
	ts := newTestServer(t, web.New(web.Config{Store: st, Secrets: sec, Logger: slog.New(slog.DiscardHandler)}))
	e := &uiEnv{t: t, st: st, ts: ts, client: newBrowserClient(t)}

	const p = "BIG"
	_, err := st.CreateProperty(ctx, inventory.Property{Code: p, Name: "Grand Hotel", TimeZone: "Europe/Lisbon", Currency: "EUR"}, inventory.System)
	require.NoError(t, err)
	for i := range bigPools {
		_, err := st.CreatePool(ctx, p, inventory.Pool{Code: fmt.Sprintf("POOL%03d", i), Units: 40}, inventory.System)
		require.NoError(t, err)
		_, err = st.CreateRoomType(ctx, p, inventory.RoomType{Code: fmt.Sprintf("RT%03d", i), Pool: fmt.Sprintf("POOL%03d", i)}, inventory.System)
		require.NoError(t, err)
	}
	for i := range 40 {
		ch := inventory.Channel{Code: fmt.Sprintf("ota%d", i), Kind: inventory.ChannelOTAPush, Enabled: true}
		switch {
		case i >= 38:
			ch = inventory.Channel{Code: fmt.Sprintf("pms%d", i), Kind: inventory.ChannelPMS, Enabled: true}
		case i >= 30:
			ch = inventory.Channel{Code: fmt.Sprintf("ical%d", i), Kind: inventory.ChannelICal, Enabled: true}
		}
		_, err := st.CreateChannel(ctx, p, ch, inventory.System)
		require.NoError(t, err)
		if ch.Kind == inventory.ChannelICal {
			_, _, err := st.CreateExportToken(ctx, p, ch.Code, "RT000", inventory.System)
			require.NoError(t, err)
		}
	}
	for i := range 1000 {
		m := inventory.Mapping{ChannelRoom: fmt.Sprintf("ROOM%03d", i%bigPools), ChannelRate: fmt.Sprintf("RATE%d", i/bigPools), RoomType: fmt.Sprintf("RT%03d", i%bigPools)}
		require.NoError(t, st.SetMapping(ctx, p, "ota0", m, inventory.System))
	}
	// 5,000 bookings of two nights, from channels ota1..ota29, pool by pool.
	sem := make(chan struct{}, 16)
	var wg gosync.WaitGroup
	var failed atomic.Value
	for i := range bigBookings {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			a := bigFrom.AddDays((i / bigPools) % 88)
			st := inventory.RoomStay{RoomType: fmt.Sprintf("RT%03d", i%bigPools), Arrival: a, Departure: a.AddDays(2), Rooms: 1}
			if i < bigParked {
				st = inventory.RoomStay{ChannelRoom: "NOT-MAPPED", Arrival: a, Departure: a.AddDays(2), Rooms: 1}
			}
			rev := inventory.Revision{Property: p, Channel: fmt.Sprintf("ota%d", 1+i%29), ExternalID: fmt.Sprintf("B%05d", i), Kind: inventory.New,
				Stays: []inventory.RoomStay{st}, Guest: inventory.Guest{Name: fmt.Sprintf("Guest %05d", i)}}
			if _, err := e.st.ApplyRevision(ctx, rev); err != nil {
				failed.Store(err)
			}
		})
	}
	wg.Wait()
	if err, _ := failed.Load().(error); err != nil {
		t.Fatal(err)
	}
	e.login("anna")
	return &bigHotel{uiEnv: e, count: count}
}

// get fetches a page and says how many statements it took.
func (h *bigHotel) getCounted(path string) (page, int64) {
	h.t.Helper()
	before := h.count.n.Load()
	p := h.get(path)
	require.Equal(h.t, http.StatusOK, p.Status, "%s: %.500s", path, p.Body)
	return p, h.count.n.Load() - before
}

var bookingLink = regexp.MustCompile(`<th scope="row"><a href="/admin/p/BIG/bookings/\d+">(B\d+)</a></th>`)

// A hotel far larger than the demo: the staff pages list everything staff
// must see (nothing silently cut), and none asks the database once per
// row it shows.
func TestALargeHotelsPagesShowEverythingWithoutAQueryPerRow(t *testing.T) {
	h := newBigHotel(t)

	// Bookings: every one of the 5,000 is reachable, page by page.
	seen := map[string]bool{}
	var maxStatements int64
	for pg := 1; ; pg++ {
		p, n := h.getCounted("/admin/p/BIG/bookings?page=" + fmt.Sprint(pg))
		maxStatements = max(maxStatements, n)
		ms := bookingLink.FindAllStringSubmatch(p.Body, -1)
		for _, m := range ms {
			seen[m[1]] = true
		}
		if !strings.Contains(p.Body, `rel="next"`) {
			break
		}
		require.Less(t, pg, 200, "paging never ends")
	}
	require.Len(t, seen, bigBookings, "every booking is on some page")
	t.Logf("bookings page: at most %d statements", maxStatements)
	require.Less(t, maxStatements, int64(20), "a page of 50 bookings")

	// The grid, 90 nights: every pool, every night.
	grid, n := h.getCounted("/admin/p/BIG/grid?from=" + bigFrom.String() + "&days=90")
	t.Logf("grid 90 nights: %d statements, %d bytes", n, len(grid.Body))
	for i := range bigPools {
		require.Contains(t, grid.Body, fmt.Sprintf("POOL%03d", i))
	}
	require.Less(t, n, int64(20), "the grid")

	// The channels list: 40 rows.
	chans, n := h.getCounted("/admin/p/BIG/channels")
	t.Logf("channels page: %d statements, %d bytes", n, len(chans.Body))
	for i := range 40 {
		require.Regexp(t, fmt.Sprintf(`>(ota|ical|pms)%d<`, i), chans.Body)
	}
	channelsStatements := n

	// A channel with 1,000 mappings lists them all.
	ch, n := h.getCounted("/admin/p/BIG/channels/ota0")
	t.Logf("channel page with 1,000 mappings: %d statements, %d bytes", n, len(ch.Body))
	require.Equal(t, 2000, strings.Count(ch.Body, `name="rate" value="RATE`), "every mapping is listed, with its change and delete forms")
	// The 150 room types to choose from are listed once for all the rows
	// (and once in the form that adds a mapping), not once in every row.
	require.Equal(t, 2, strings.Count(ch.Body, `<option value="RT000"`), "the room types are listed once")
	require.Contains(t, ch.Body, `<input id="m0-rt" name="room_type" list="room-types" value="RT000" required`, "each row's room type is chosen from them")
	require.Less(t, len(ch.Body), 2<<20, "the page of 1,000 mappings")

	// The alerts: every parked booking, page by page, without a query per alert.
	alerts, n := h.getCounted("/admin/p/BIG/alerts")
	t.Logf("alerts page with %d parked bookings: %d statements, %d bytes", bigParked, n, len(alerts.Body))
	require.Contains(t, alerts.Body, fmt.Sprintf(`<span class="count">(%d)</span>`, bigParked))
	require.Less(t, n, int64(20), "the alerts page asks once per alert")
	parked := map[string]bool{}
	for pg := 1; ; pg++ {
		alerts, n := h.getCounted("/admin/p/BIG/alerts?kind=unmapped_booking&page=" + fmt.Sprint(pg))
		require.Less(t, n, int64(20), "the alerts page asks once per alert")
		for _, m := range regexp.MustCompile(`>(B\d{5})</a>`).FindAllStringSubmatch(alerts.Body, -1) {
			parked[m[1]] = true
		}
		if !strings.Contains(alerts.Body, `rel="next"`) {
			break
		}
		require.Less(t, pg, 20, "paging never ends")
	}
	require.Len(t, parked, bigParked, "every parked booking is on some page of the alerts")
	require.Less(t, channelsStatements, int64(20), "the channels page asks once per iCal channel")
	_ = url.Values{}
}

// The export calendar of a room type booked 1,000 times over the channel's
// whole horizon is a valid calendar with exactly the nights that are full.
func TestTheExportOfARoomTypeWithAThousandBookingsIsWhole(t *testing.T) {
	t.Parallel()
	e := newAPI(t)
	e.hotel("P", 1)
	ctx := context.Background()
	_, err := e.st.CreateChannel(ctx, "P", inventory.Channel{Code: "airbnb", Kind: inventory.ChannelICal, Enabled: true, HorizonDays: inventory.MaxRangeNights}, inventory.System)
	require.NoError(t, err)
	_, token, err := e.st.CreateExportToken(ctx, "P", "airbnb", "DBL-STD", inventory.System)
	require.NoError(t, err)
	loc, _ := time.LoadLocation("Europe/Lisbon")
	today := inventory.LocalDate(time.Now(), loc)
	var booked []inventory.Date
	sem := make(chan struct{}, 16)
	var wg gosync.WaitGroup
	for i := 0; len(booked) < 1000; i++ {
		if i%11 == 10 {
			continue // a free night after every ten
		}
		n := today.AddDays(1 + i)
		booked = append(booked, n)
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			_, err := e.st.ApplyRevision(ctx, inventory.Revision{Property: "P", Channel: "expedia", ExternalID: "E" + n.String(), Kind: inventory.New,
				Stays: []inventory.RoomStay{{RoomType: "DBL-STD", Arrival: n, Departure: n.AddDays(1)}}, Guest: inventory.Guest{Name: "Ελένη Σταύρου"}})
			assert.NoError(t, err)
		})
	}
	wg.Wait()
	resp, body := get(t, e.ts, "/ical/"+token+".ics")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	for _, l := range strings.Split(strings.TrimSuffix(string(body), "\r\n"), "\r\n") {
		require.LessOrEqual(t, len(l), 75, l)
	}
	// The nights beyond the horizon are blocked too, as one event from the
	// horizon on, left out of the nights compared.
	horizon := today.AddDays(inventory.MaxRangeNights)
	require.Contains(t, string(body), "UID:p-dbl-std-beyond-horizon@keyrack\r\nDTSTAMP:")
	require.Contains(t, string(body), "DTSTART;VALUE=DATE:"+strings.ReplaceAll(horizon.String(), "-", ""))
	feed, err := ical.Parse(body, ical.ParseOptions{Location: loc, From: today, To: horizon.AddDays(-1)})
	require.NoError(t, err)
	for _, w := range feed.Warnings {
		require.Contains(t, w, "beyond-horizon", "only the event beyond the import window is warned of")
	}
	var got []inventory.Date
	for _, ev := range feed.Events {
		for n := ev.Arrival; n.Before(ev.Departure); n = n.AddDays(1) {
			got = append(got, n)
		}
	}
	slices.SortFunc(got, func(a, b inventory.Date) int { return a.Sub(b) })
	require.Equal(t, booked, got)
	t.Logf("%d events, %d bytes", len(feed.Events), len(body))
}

package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/keyrack/keyrack/inventory"
	"github.com/keyrack/keyrack/sync"
	"github.com/keyrack/keyrack/sync/synctest"
	"github.com/keyrack/keyrack/web"
	"github.com/stretchr/testify/require"
)

// A hotel two years on: the tables that keep its history (reservations and
// their revisions, the audit log, the PMS feed, incidents) hold far more
// rows than any page shows. A staff page must read about what it shows,
// not the history: these tests look at the plan of every statement a page
// runs and count the rows it reads from each table.

// recorder keeps the statements a store's pool runs while it is on.
type recorder struct {
	mu    gosync.Mutex
	on    bool
	stmts []recordedStatement
}

type recordedStatement struct {
	sql  string
	args []any
}

func (r *recorder) add(sql string, args []any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.on {
		r.stmts = append(r.stmts, recordedStatement{sql, args})
	}
}

func (r *recorder) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	r.add(d.SQL, d.Args)
	return ctx
}
func (r *recorder) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}
func (r *recorder) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	return ctx
}
func (r *recorder) TraceBatchQuery(_ context.Context, _ *pgx.Conn, d pgx.TraceBatchQueryData) {
	r.add(d.SQL, d.Args)
}
func (r *recorder) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}

// historyHotel is property "P" with a long history, served with a fan-out.
type historyHotel struct {
	*uiEnv
	rec *recorder
	// target is a booking of the hotel's first day, with a modification
	// and an overbooking incident; the history came after it.
	target int64
}

// historyBookings is how many bookings the history adds, from its 29 OTAs
// (two revisions each, each sent to the PMS; one in four not acknowledged
// in time).
const historyBookings = 10000

func newHistoryHotel(t *testing.T) *historyHotel {
	t.Helper()
	rec := &recorder{}
	ctx := context.Background()
	st, sec := tracedStore(t, rec)
	redisURL := synctest.RedisURL(t)
	q := openQueue(t, redisURL)
	f, err := sync.New(sync.Config{DB: st.DB(), Queue: q, QueuePrefix: synctest.QueuePrefix(t, redisURL), Secrets: sec, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	ts := newTestServer(t, web.New(web.Config{Store: st, Queue: q, Fanout: f, Secrets: sec, Logger: slog.New(slog.DiscardHandler)}))
	h := &historyHotel{uiEnv: &uiEnv{t: t, st: st, ts: ts, client: newBrowserClient(t)}, rec: rec}

	_, err = st.CreateProperty(ctx, inventory.Property{Code: "P", Name: "Grand Hotel", TimeZone: "Europe/Lisbon", Currency: "EUR"}, inventory.System)
	require.NoError(t, err)
	_, err = st.CreatePool(ctx, "P", inventory.Pool{Code: "DBL", Units: 1}, inventory.System)
	require.NoError(t, err)
	_, err = st.CreateRoomType(ctx, "P", inventory.RoomType{Code: "DBL-STD", Pool: "DBL"}, inventory.System)
	require.NoError(t, err)
	for _, ch := range []inventory.Channel{
		{Code: "expedia", Kind: inventory.ChannelOTAPush, Enabled: true},
		{Code: "booking", Kind: inventory.ChannelOTAPush, Enabled: true},
		{Code: "pms", Kind: inventory.ChannelPMS, Enabled: true, Endpoint: "https://pms.example/keyrack"},
	} {
		_, err := st.CreateChannel(ctx, "P", ch, inventory.System)
		require.NoError(t, err)
	}
	for i := range 27 { // a large hotel's ~30 channels
		_, err := st.CreateChannel(ctx, "P", inventory.Channel{Code: fmt.Sprintf("ota%d", i), Kind: inventory.ChannelOTAPush, Enabled: true}, inventory.System)
		require.NoError(t, err)
	}
	// The first day: two bookings of the last room, the second one over
	// the limit (an OTA's booking is taken all the same), then changed.
	night := inventory.MustDate("2025-03-01")
	book := func(channel, id string, kind inventory.RevisionKind, nights int) inventory.Outcome {
		o, err := st.ApplyRevision(ctx, inventory.Revision{Property: "P", Channel: channel, ExternalID: id, Kind: kind,
			Stays: []inventory.RoomStay{{RoomType: "DBL-STD", Arrival: night, Departure: night.AddDays(nights), Rooms: 1}},
			Guest: inventory.Guest{Name: "Ana Silva"}, Raw: []byte("<OTA_HotelResNotifRQ/>")})
		require.NoError(t, err)
		return o
	}
	book("booking", "BK-1", inventory.New, 2)
	o := book("expedia", "EXP-1", inventory.New, 2)
	require.NotEmpty(t, o.Overbooked)
	book("expedia", "EXP-1", inventory.Modify, 3)
	r, err := st.Reservation(ctx, "P", "expedia", "EXP-1")
	require.NoError(t, err)
	h.target = r.ID

	// Two years of bookings after it, written straight into the tables as
	// keyrack would have: like the target, each with its revisions, their
	// audit entries and their entries on the PMS's feed.
	_, err = st.DB().Exec(ctx, `
		WITH t AS (SELECT * FROM reservations WHERE property_id = (SELECT id FROM properties WHERE code = 'P') AND id = $1),
		otas AS (SELECT array_agg(id ORDER BY id) AS ids FROM channels WHERE property_id = (SELECT property_id FROM t) AND kind = 'ota_push')
		INSERT INTO reservations (property_id, channel_id, external_id, status, arrival, departure, stays, guest, total, currency, revisions, created_at, updated_at)
		SELECT t.property_id, otas.ids[1 + g % cardinality(otas.ids)], 'H' || g, CASE WHEN g % 5 = 0 THEN 'cancelled' ELSE 'confirmed' END,
			t.arrival + g / 20, t.departure + g / 20, t.stays, t.guest, t.total, t.currency, t.revisions,
			now() - (($2 - g) * interval '1 hour'), now() - (($2 - g) * interval '1 hour')
		FROM t, otas, generate_series(1, $2) AS g`, h.target, historyBookings)
	require.NoError(t, err)
	for _, sql := range []string{
		`INSERT INTO reservation_revisions (property_id, reservation_id, seq, kind, content_hash, revision, raw, content_type, actor, outcome, received_at)
		SELECT r.property_id, r.id, v.seq, v.kind, v.content_hash, v.revision, v.raw, v.content_type, v.actor, v.outcome, r.created_at
		FROM reservations r JOIN reservation_revisions v ON v.property_id = r.property_id AND v.reservation_id = $1
		WHERE r.external_id LIKE 'H%' ORDER BY r.id, v.seq`,
		`INSERT INTO audit_log (property_id, at, actor, origin, action, subject, details)
		SELECT r.property_id, r.created_at, 'channel:expedia', 'expedia', 'reservation.' || v.kind, 'reservation ' || r.id, '{"status": "confirmed"}'
		FROM reservations r JOIN reservation_revisions v ON v.property_id = r.property_id AND v.reservation_id = r.id
		WHERE r.external_id LIKE 'H%' ORDER BY r.id, v.seq`,
		`INSERT INTO feed_entries (property_id, channel_id, reservation_id, revision_seq, webhook, created_at, delivered_at, acked_at, attempts)
		SELECT v.property_id, c.id, v.reservation_id, v.seq, true, v.received_at, v.received_at, v.received_at + interval '1 minute', 1
		FROM reservation_revisions v JOIN reservations r ON r.property_id = v.property_id AND r.id = v.reservation_id
		JOIN channels c ON c.property_id = v.property_id AND c.code = 'pms'
		WHERE r.external_id LIKE 'H%' ORDER BY v.received_at, v.reservation_id, v.seq`,
		`INSERT INTO incidents (property_id, kind, reservation_id, feed_entry_id, message, opened_at, updated_at, resolved_at, resolved_by)
		SELECT property_id, 'unacked_revision', reservation_id, id, 'pms has not acknowledged a revision', created_at, created_at,
			created_at + interval '1 minute', 'system'
		FROM feed_entries WHERE id % 4 = 0 ORDER BY id`,
		// The hotel is one of a group of 50, each with its channels.
		`INSERT INTO properties (code, name, time_zone, currency)
		SELECT 'G' || g, 'Group hotel ' || g, 'Europe/Lisbon', 'EUR' FROM generate_series(1, 49) AS g`,
		`INSERT INTO channels (property_id, code, name, kind)
		SELECT p.id, 'ota' || g, 'OTA ' || g, 'ota_push' FROM properties p, generate_series(1, 30) AS g WHERE p.code LIKE 'G%'`,
		`INSERT INTO reservations (property_id, channel_id, external_id, status, arrival, departure, stays, guest, revisions)
		SELECT c.property_id, c.id, 'G' || g, 'confirmed', t.arrival, t.departure, t.stays, t.guest, 1
		FROM channels c JOIN properties p ON p.id = c.property_id AND p.code LIKE 'G%',
			(SELECT * FROM reservations WHERE id = $1) AS t, generate_series(1, 40) AS g`,
		`ANALYZE`,
	} {
		_, err := st.DB().Exec(ctx, sql, pgxArgs(sql, h.target)...)
		require.NoError(t, err, sql)
	}
	h.login("anna")
	return h
}

// pgxArgs gives sql the target booking when it asks for it.
func pgxArgs(sql string, target int64) []any {
	if strings.Contains(sql, "$1") {
		return []any{target}
	}
	return nil
}

// reads fetches a page and returns it with the rows its statements read
// from each table: summed over the statements, each counted by its plan
// as PostgreSQL would run it with the arguments the page gave — custom —
// and as a prepared statement may come to run it — generic —, whichever
// reads more. Only statements that read (SELECT, WITH) are looked at.
func (h *historyHotel) reads(path string) (page, map[string]int64) {
	h.t.Helper()
	var p page
	read := h.readsOf(func() { p = h.get(path) })
	require.Equal(h.t, http.StatusOK, p.Status, "%s: %.500s", path, p.Body)
	return p, read
}

// readsOf is reads of the statements run by do.
func (h *historyHotel) readsOf(do func()) map[string]int64 {
	h.t.Helper()
	h.rec.mu.Lock()
	h.rec.on, h.rec.stmts = true, nil
	h.rec.mu.Unlock()
	do()
	h.rec.mu.Lock()
	h.rec.on = false
	stmts := h.rec.stmts
	h.rec.mu.Unlock()

	total := map[string]int64{}
	for _, s := range stmts {
		head := strings.ToUpper(strings.TrimSpace(s.sql))
		if !strings.HasPrefix(head, "SELECT") && !strings.HasPrefix(head, "WITH") {
			continue
		}
		most := map[string]int64{}
		for _, mode := range []string{"auto", "force_generic_plan"} {
			for table, n := range h.explain(s, mode) {
				most[table] = max(most[table], n)
			}
		}
		for table, n := range most {
			total[table] += n
		}
	}
	return total
}

// explain runs a statement under EXPLAIN ANALYZE, in a transaction rolled
// back, and returns the rows each table's scans read.
func (h *historyHotel) explain(s recordedStatement, planCacheMode string) map[string]int64 {
	h.t.Helper()
	ctx := context.Background()
	tx, err := h.st.DB().Begin(ctx)
	require.NoError(h.t, err)
	defer func() { _ = tx.Rollback(ctx) }()
	_, err = tx.Exec(ctx, "SELECT set_config('plan_cache_mode', $1, true)", planCacheMode)
	require.NoError(h.t, err)
	var out []struct{ Plan planNode }
	var js []byte
	require.NoError(h.t, tx.QueryRow(ctx, "EXPLAIN (ANALYZE, FORMAT JSON) "+s.sql, s.args...).Scan(&js), s.sql)
	require.NoError(h.t, json.Unmarshal(js, &out))
	read := map[string]int64{}
	var walk func(n planNode)
	walk = func(n planNode) {
		if n.Relation != "" {
			read[n.Relation] += int64((n.Rows + n.RemovedByFilter + n.RemovedByRecheck) * n.Loops)
		}
		for _, c := range n.Plans {
			walk(c)
		}
	}
	for _, o := range out {
		walk(o.Plan)
	}
	return read
}

// planNode is a node of EXPLAIN's JSON plan, what the count needs of it.
type planNode struct {
	Relation         string     `json:"Relation Name"`
	Rows             float64    `json:"Actual Rows"`
	Loops            float64    `json:"Actual Loops"`
	RemovedByFilter  float64    `json:"Rows Removed by Filter"`
	RemovedByRecheck float64    `json:"Rows Removed by Index Recheck"`
	Plans            []planNode `json:"Plans"`
}

// historyLimit is the most rows a page may read from a table of the
// history to show a page of it: well under the history's size.
const historyLimit = 1000

// A booking's page, years on, reads its own audit entries and incidents:
// it read the property's whole audit log (every entry since the booking,
// looking for its subject) and every incident the property ever had.
func TestABookingsPageReadsItsOwnHistoryNotTheHotels(t *testing.T) {
	t.Parallel()
	h := newHistoryHotel(t)
	p, read := h.reads(fmt.Sprintf("/admin/p/P/bookings/%d", h.target))
	t.Logf("booking page: rows read %v", read)
	// What it shows: the overbooking it caused, and its two revisions'
	// audit entries.
	require.Contains(t, p.Body, "Pool DBL is overbooked on 2025-03-01")
	require.Contains(t, p.Body, `<th scope="row">New booking</th>`)
	require.Contains(t, p.Body, `<th scope="row">Changed</th>`)
	for _, table := range []string{"audit_log", "incidents", "feed_entries", "reservation_revisions", "reservations"} {
		require.Less(t, read[table], int64(historyLimit), "rows of %s the booking's page reads", table)
	}
}

// The bookings list, years on, reads the page it shows: it read every
// booking of the property, to sort them by their last change, on each
// view and each search typed (htmx), to show the latest 50.
func TestTheBookingsListReadsThePageItShows(t *testing.T) {
	t.Parallel()
	h := newHistoryHotel(t)
	for _, path := range []string{"/admin/p/P/bookings", "/admin/p/P/bookings?page=2", "/admin/p/P/bookings?status=cancelled", "/admin/p/P/bookings?channel=expedia&status=confirmed"} {
		p, read := h.reads(path)
		t.Logf("%s: rows read %v", path, read)
		require.Equal(t, 50, strings.Count(p.Body, `<th scope="row"><a href="/admin/p/P/bookings/`), "%s: a page of 50", path)
		require.Contains(t, p.Body, `rel="next"`, path)
		require.Less(t, read["reservations"], int64(historyLimit), "%s: rows of reservations the list reads", path)
	}
	// The newest change first, as before.
	p := h.get("/admin/p/P/bookings")
	require.Contains(t, p.Body, fmt.Sprintf(`>H%d</a>`, historyBookings))
}

// The channels page, years on, reads the latest of each PMS's feed to say
// when a webhook last reached it, and a PMS's page its latest entries: for
// a PMS that has few entries (a second PMS that reads the feed, added
// lately) they read the property's whole feed, the other PMS's entries
// too, newest first, looking for its own.
func TestTheChannelsPageReadsEachPMSsLatestEntriesOnly(t *testing.T) {
	t.Parallel()
	h := newHistoryHotel(t)
	ctx := context.Background()
	_, err := h.st.CreateChannel(ctx, "P", inventory.Channel{Code: "housekeeping", Kind: inventory.ChannelPMS, Enabled: true}, inventory.System)
	require.NoError(t, err)
	// Added lately: a few revisions on its feed, read there.
	_, err = h.st.DB().Exec(ctx, `
		INSERT INTO feed_entries (property_id, channel_id, reservation_id, revision_seq, webhook, created_at, acked_at)
		SELECT e.property_id, c.id, e.reservation_id, e.revision_seq, false, e.created_at, e.acked_at
		FROM feed_entries e JOIN channels c ON c.property_id = e.property_id AND c.code = 'housekeeping'
		ORDER BY e.id DESC LIMIT 10`)
	require.NoError(t, err)
	_, err = h.st.DB().Exec(ctx, `ANALYZE channels, feed_entries`)
	require.NoError(t, err)
	for _, path := range []string{"/admin/p/P/channels", "/admin/p/P/channels/housekeeping"} {
		p, read := h.reads(path)
		t.Logf("%s: rows read %v", path, read)
		require.Contains(t, p.Body, "housekeeping", path)
		require.Less(t, read["feed_entries"], int64(historyLimit), "%s: rows of feed_entries the page reads", path)
	}
}

// The inventory grid, years on, reads the acknowledgements and nights of
// the month it shows: it read every acknowledgement the property's
// channels ever made — each channel, each pool, each night it was sent, a
// year ahead and every night since the hotel opened — to show 30 nights,
// on each view, the history growing by a channel-pool a day.
func TestTheGridReadsTheNightsItShowsNotTheHotelsHistory(t *testing.T) {
	t.Parallel()
	h := newHistoryHotel(t)
	ctx := context.Background()
	// What the fan-out would have left: every channel's acknowledgement of
	// every night from two years ago to a year ahead, and a row for each
	// of the pool's nights (each was sold).
	_, err := h.st.DB().Exec(ctx, `
		WITH p AS (SELECT id FROM properties WHERE code = 'P'), nights AS (
			SELECT d::date AS night FROM generate_series(current_date - 730, current_date + 365, interval '1 day') AS d
		), acks AS (
			INSERT INTO sync_acks (property_id, channel_id, pool_id, night, available, version)
			SELECT c.property_id, c.id, pl.id, n.night, 0, 1
			FROM p JOIN channels c ON c.property_id = p.id AND c.kind = 'ota_push' JOIN pools pl ON pl.property_id = p.id, nights n
		)
		INSERT INTO nights (property_id, pool_id, night, units, overbooking_factor, sold)
		SELECT pl.property_id, pl.id, n.night, pl.units, pl.overbooking_factor, 1
		FROM p JOIN pools pl ON pl.property_id = p.id, nights n
		ON CONFLICT DO NOTHING`)
	require.NoError(t, err)
	_, err = h.st.DB().Exec(ctx, `ANALYZE sync_acks, nights`)
	require.NoError(t, err)
	lastYear := time.Now().AddDate(-1, 0, 0).Format(time.DateOnly)
	for _, path := range []string{"/admin/p/P/grid", "/admin/p/P/grid?from=" + lastYear + "&days=30"} {
		p, read := h.reads(path)
		t.Logf("%s: rows read %v", path, read)
		require.Contains(t, p.Body, "DBL", path)
		for _, table := range []string{"sync_acks", "nights"} {
			require.Less(t, read[table], int64(historyLimit), "%s: rows of %s the grid reads", path, table)
		}
	}
	// The API's inventory likewise (GET …/inventory: the channels' last
	// acknowledgements).
	var id int64
	require.NoError(t, h.st.DB().QueryRow(ctx, `SELECT id FROM properties WHERE code = 'P'`).Scan(&id))
	today := inventory.MustDate(time.Now().Format(time.DateOnly))
	var acks []sync.Ack
	read := h.readsOf(func() {
		acks, err = sync.LastAcks(ctx, h.st.DB(), id, today, today.AddDays(30))
		require.NoError(t, err)
	})
	t.Logf("last acknowledgements: rows read %v", read)
	require.Len(t, acks, 29*30)
	require.Less(t, read["sync_acks"], int64(historyLimit), "rows of sync_acks the API's inventory reads")
}

// A calendar platform's fetch of the iCal export, years on, reads the
// nights it serves and the channel's bookings that hold them: it read every
// night of every hotel in the database (a pool's nights stay once passed)
// and every booking the channel ever made, at each fetch of each room
// type's calendar, every hour or so per platform.
func TestTheICalExportReadsTheNightsItServesNotTheHotelsHistory(t *testing.T) {
	t.Parallel()
	h := newHistoryHotel(t)
	ctx := context.Background()
	_, err := h.st.CreateChannel(ctx, "P", inventory.Channel{Code: "airbnb", Kind: inventory.ChannelICal, Enabled: true}, inventory.System)
	require.NoError(t, err)
	_, token, err := h.st.CreateExportToken(ctx, "P", "airbnb", "DBL-STD", inventory.System)
	require.NoError(t, err)
	// A third of the history older than a year booked on the platform
	// (the export reads a year back: a stay can be that long), and a row
	// for each night of the group's pools from two years ago (each sold).
	_, err = h.st.DB().Exec(ctx, `
		UPDATE reservations r SET channel_id = c.id FROM channels c
		WHERE c.property_id = r.property_id AND c.code = 'airbnb' AND r.external_id LIKE 'H%' AND r.id % 3 = 0
			AND r.departure < current_date - 400`)
	require.NoError(t, err)
	_, err = h.st.DB().Exec(ctx, `
		INSERT INTO pools (property_id, code, name, units) SELECT id, 'DBL', 'Double', 10 FROM properties WHERE code LIKE 'G%'`)
	require.NoError(t, err)
	_, err = h.st.DB().Exec(ctx, `
		INSERT INTO nights (property_id, pool_id, night, units, overbooking_factor, sold)
		SELECT pl.property_id, pl.id, d::date, pl.units, pl.overbooking_factor, 1
		FROM pools pl, generate_series(current_date - 730, current_date + 30, interval '1 day') AS d
		ON CONFLICT DO NOTHING`)
	require.NoError(t, err)
	_, err = h.st.DB().Exec(ctx, `ANALYZE reservations, pools, nights`)
	require.NoError(t, err)
	p, read := h.reads("/ical/" + token + ".ics")
	t.Logf("iCal export: rows read %v", read)
	require.Contains(t, p.Body, "BEGIN:VCALENDAR")
	for _, table := range []string{"reservations", "nights"} {
		require.Less(t, read[table], int64(historyLimit), "rows of %s the export reads", table)
	}
}

package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/keyrack/keyrack/inventory"
	"github.com/keyrack/keyrack/sync"
	"github.com/keyrack/keyrack/sync/synctest"
	"github.com/keyrack/keyrack/web"
	"github.com/stretchr/testify/require"
)

// The authentication and authorization matrix: every route the server
// registers has a class saying who may call it, and is called without
// credentials, with another property's, with revoked or disabled ones and
// (staff forms) without a valid CSRF token — each must be refused and change
// nothing —, then with the right ones, which must get through (so that the
// refusals are not the matrix's own mistakes). A route added without a class
// here fails the test, naming it.
//
// Staff users of one property (migration 030) are tried too: an admin of
// BRAVO's gets 404 from every ALFA page and form, and 403 from the queues
// (every property's work); a viewer's change is refused with 403.

// authClass says who may call a route.
type authClass int

const (
	// classPublic: anyone (home, health, readiness, the OpenAPI document,
	// the admin's assets and login page).
	classPublic authClass = iota + 1
	// classPublicForm: anyone, with the page's CSRF token (log in, log out).
	classPublicForm
	// classAPIKey: any live API key; it sees only its own property's.
	classAPIKey
	// classAPIAll: a live API key for all properties.
	classAPIAll
	// classAPIFeed: a live key; the property is its own, or ?property= for a
	// key for all properties.
	classAPIFeed
	// classAPIProperty: a live key for all properties or for the property
	// in the path.
	classAPIProperty
	// classStaffPage: a staff login.
	classStaffPage
	// classStaffForm: a staff login with the admin role, and the CSRF token.
	classStaffForm
	// classQueues: asynqmon; a staff login, and for unsafe methods the admin
	// role and a request from keyrack's own origin.
	classQueues
	// classOTA: the channel's inbound credentials.
	classOTA
	// classICal: a live export token, the only credential.
	classICal
	// classOwnForm: a staff login of any role and the CSRF token: the
	// user's own account (their password), nothing of a property's.
	classOwnForm
)

func (c authClass) String() string {
	return [...]string{"", "public", "public form", "API key", "API key for all properties", "API key (feed)",
		"property-scoped API key", "staff page", "staff form", "queues", "OTA channel", "iCal token", "own account form"}[c]
}

// authzCase is one route of the matrix.
type authzCase struct {
	class authClass
	// path is ALFA's, with ALFA's ids: with the right credentials the
	// request succeeds.
	path string
	// body: JSON for the API, url.Values for staff forms, []byte for OTA.
	body any
	// ok: send it with the right credentials at the end and require success.
	ok bool
	// bPath, when set, is the path BRAVO's key tries ALFA's ids through:
	// its own property in the path, ALFA's ids after it.
	bPath string
	// bStatus is what BRAVO's key gets on path (403 when 0); bLacks is what
	// the answer must not hold when it is a 200 (an ALFA code).
	bStatus int
	bLacks  string
}

// authzWorld is the server of the matrix: properties ALFA and BRAVO, set up
// alike, with everything a route of ALFA's needs.
type authzWorld struct {
	t   *testing.T
	e   *apiEnv
	srv *web.Server

	keyA, keyB, keyRevoked string
	victim                 string // prefix of a key of ALFA's that ALFA's key revokes
	feedEntry              int64  // ALFA's PMS feed entry
	incidents              []int64
	icalFeed               int64
	tokens                 map[string]int64 // ALFA's export tokens by use
	livePath, livePathB    string           // live calendars of ALFA and BRAVO
	deadPaths              []string         // ALFA's revoked and rotated-away calendars
	bookingID              int64            // ALFA's EXP-ALFA, keyrack's id
	otaBookingID           int64            // ALFA's OTA-ALFA (booking, confirmed), keyrack's id

	anon, admin, viewer, disabled *uiEnv
	bravo                         *uiEnv // an admin of BRAVO only
	tokAnon, tokAdmin, tokViewer  string // CSRF tokens of each browser
	tokDisabled, tokBravo         string
}

const (
	propA = "ALFA"
	propB = "BRAVO"
)

// newAuthzWorld serves the API, the OTA and iCal endpoints and the admin
// with a fan-out and a queue (asynqmon is mounted only with one), as
// withFanout does, keeping the server for its routes.
func newAuthzWorld(t *testing.T) *authzWorld {
	e := newAPI(t)
	redisURL := synctest.RedisURL(t)
	q := openQueue(t, redisURL)
	sec, err := inventory.NewSecrets("test secret of keyrack's API tests")
	require.NoError(t, err)
	f, err := sync.New(sync.Config{DB: e.st.DB(), Queue: q, QueuePrefix: synctest.QueuePrefix(t, redisURL), Secrets: sec,
		Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	srv := web.New(web.Config{Store: e.st, Queue: q, Fanout: f, Secrets: sec, Logger: slog.New(slog.DiscardHandler)})
	e.ts = newTestServer(t, srv)
	e.router = openAPIRouter(t, e.ts.URL)
	w := &authzWorld{t: t, e: e, srv: srv, tokens: map[string]int64{}}
	ctx := context.Background()

	for _, p := range []string{propA, propB} {
		base := "/api/v1/properties/" + p
		e.hotel(p, 5)
		// The same channel account name at both, each with its own secret
		// and hotel code; the first secret is rotated away.
		e.otaChannel(p, "booking", "ota_push", "H-"+p, "bk-user", "old-secret-"+p, nil)
		e.must(http.StatusNoContent, "PUT", base+"/channels/booking/credentials",
			map[string]any{"inbound_username": "bk-user", "inbound_secret": "secret-" + p})
		r := e.otaPost("booking", "bk-user", "secret-"+p, resNotif("Commit", "OTA-"+p, "H-"+p, "2027-06-01", "2027-06-03"))
		require.True(t, otaRS(t, r).Success, "%s", r.Body)
		// Two bookings of a room the channel has not mapped: two open incidents.
		for _, id := range []string{"U1-" + p, "U2-" + p} {
			msg := bytes.Replace(resNotif("Commit", id, "H-"+p, "2027-06-01", "2027-06-02"), []byte(`RoomTypeCode="DBL"`), []byte(`RoomTypeCode="SUITE"`), 1)
			require.Equal(t, http.StatusOK, e.otaPost("booking", "bk-user", "secret-"+p, msg).Status)
		}
		b := booking("EXP-"+p, "2027-06-10", "2027-06-12", 1)
		b["channel"] = "expedia"
		e.must(http.StatusCreated, "POST", base+"/reservations", b)
		live := e.icalChannel(p, "airbnb")
		if p == propB {
			w.livePathB = live
			continue
		}
		w.livePath = live
		// Inbound credentials on channels that do not push OTA XML: a PMS,
		// and an OTA keyrack polls.
		e.must(http.StatusNoContent, "PUT", base+"/channels/pms/credentials",
			map[string]any{"inbound_username": "pms-user", "inbound_secret": "pms-secret"})
		e.must(http.StatusCreated, "POST", base+"/channels", map[string]any{"code": "bdcpull", "kind": "ota_pull", "hotel_code": "H-" + p,
			"credentials": map[string]any{"inbound_username": "pull-user", "inbound_secret": "pull-secret"}})
		e.must(http.StatusOK, "PUT", base+"/channels/airbnb/ical-feeds",
			map[string]any{"room_type": "DBL-STD", "url": "https://calendar.example.com/alfa.ics"})
	}
	w.keyA, w.keyB = e.propertyKey(propA), e.propertyKey(propB)
	w.keyRevoked = e.propertyKey(propA)
	e.must(http.StatusOK, "DELETE", "/api/v1/api-keys/"+w.keyRevoked[:11], nil)
	w.victim = e.propertyKey(propA)[:11]

	// ALFA's export tokens: one per route that rotates or revokes one, one
	// revoked and one rotated away.
	tokens := "/api/v1/properties/" + propA + "/channels/airbnb/export-tokens"
	for _, use := range []string{"api rotate", "api revoke", "ui rotate", "ui revoke", "revoked", "rotated"} {
		tok := e.must(http.StatusCreated, "POST", tokens, map[string]any{"room_type": "DBL-STD"}).JSON(t)
		w.tokens[use] = int64(tok["id"].(float64))
		switch use {
		case "revoked":
			e.must(http.StatusOK, "DELETE", tokens+"/"+jsonNumber(w.tokens[use]), nil)
			w.deadPaths = append(w.deadPaths, tok["path"].(string))
		case "rotated":
			e.must(http.StatusCreated, "POST", tokens+"/"+jsonNumber(w.tokens[use])+"/rotate", nil)
			w.deadPaths = append(w.deadPaths, tok["path"].(string))
		}
	}
	feeds := e.must(http.StatusOK, "GET", "/api/v1/properties/"+propA+"/channels/airbnb/ical-feeds", nil).List(t)
	require.Len(t, feeds, 1)
	w.icalFeed = int64(feeds[0]["id"].(float64))
	for _, i := range e.must(http.StatusOK, "GET", "/api/v1/properties/"+propA+"/incidents", nil).List(t) {
		n, err := strconv.ParseInt(i["id"].(string), 10, 64)
		require.NoError(t, err)
		w.incidents = append(w.incidents, n)
	}
	require.Len(t, w.incidents, 2, "the unmapped bookings' incidents")
	res, err := e.st.Reservation(ctx, propA, "expedia", "EXP-"+propA)
	require.NoError(t, err)
	w.bookingID = res.ID
	res, err = e.st.Reservation(ctx, propA, "booking", "OTA-"+propA)
	require.NoError(t, err)
	w.otaBookingID = res.ID
	// The expedia booking on the PMS's feed, as the relay would put it there
	// (no worker runs: nothing may change under the matrix's feet).
	require.NoError(t, e.st.DB().QueryRow(ctx, `INSERT INTO feed_entries (property_id, channel_id, reservation_id, revision_seq, webhook)
		SELECT r.property_id, c.id, r.id, 1, false FROM reservations r
		JOIN properties p ON p.id = r.property_id JOIN channels c ON c.property_id = p.id AND c.code = 'pms'
		WHERE p.code = $1 AND r.external_id = $2 RETURNING id`, propA, "EXP-"+propA).Scan(&w.feedEntry))

	// Staff: an admin, a viewer, and an admin disabled while logged in —
	// by SQL, keeping the session that DisableStaffUser (keyrack user
	// disable) would also delete: staff_users.disabled_at alone is what the
	// store's login and session checks honour.
	for name, role := range map[string]string{"anna": inventory.RoleAdmin, "victor": inventory.RoleViewer, "dora": inventory.RoleAdmin,
		"ed": inventory.RoleViewer} { // ed: whom the users page's forms reset and disable
		_, err := e.st.CreateStaffUser(ctx, name, role, uiPassword, inventory.System)
		require.NoError(t, err)
	}
	browser := func() *uiEnv { return &uiEnv{t: t, st: e.st, ts: e.ts, client: newBrowserClient(t)} }
	_, err = e.st.CreatePropertyStaffUser(ctx, "bruno", inventory.RoleAdmin, propB, uiPassword, inventory.System)
	require.NoError(t, err)
	w.anon, w.admin, w.viewer, w.disabled, w.bravo = browser(), browser(), browser(), browser(), browser()
	w.bravo.login("bruno")
	w.admin.login("anna")
	w.viewer.login("victor")
	w.disabled.login("dora")
	_, err = e.st.DB().Exec(ctx, `UPDATE staff_users SET disabled_at = now() WHERE name = 'dora'`)
	require.NoError(t, err)
	w.tokAnon, w.tokAdmin = w.anon.token("/admin/login"), w.admin.token("/admin/login")
	w.tokViewer, w.tokDisabled = w.viewer.token("/admin/login"), w.disabled.token("/admin/login")
	w.tokBravo = w.bravo.token("/admin/login")
	return w
}

// authzCases are the classified routes, keyed "METHOD pattern" as gin lists
// them ("ANY" for a route registered for every method), in the order their
// right-credential requests are sent at the end.
func (w *authzWorld) authzCases() []struct {
	key string
	c   authzCase
} {
	api := "/api/v1/properties/" + propA
	bAPI := "/api/v1/properties/" + propB
	ui := "/admin/p/" + propA
	id := func(n int64) string { return strconv.FormatInt(n, 10) }
	form := func(kv ...string) url.Values {
		v := url.Values{}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v
	}
	tok := func(use string) string { return id(w.tokens[use]) }
	type kc = struct {
		key string
		c   authzCase
	}
	return []kc{
		{"GET /", authzCase{class: classPublic, path: "/", ok: true}},
		{"GET /healthz", authzCase{class: classPublic, path: "/healthz", ok: true}},
		{"GET /readyz", authzCase{class: classPublic, path: "/readyz", ok: true}},
		{"GET /api/v1/openapi.json", authzCase{class: classPublic, path: "/api/v1/openapi.json", ok: true}},
		{"GET /admin/assets/*file", authzCase{class: classPublic, path: "/admin/assets/htmx-2.0.11.min.js", ok: true}},
		{"GET /admin/login", authzCase{class: classPublic, path: "/admin/login", ok: true}},
		{"GET /metrics", authzCase{class: classAPIAll, path: "/metrics", ok: true}},

		{"GET /api/v1/properties", authzCase{class: classAPIKey, path: "/api/v1/properties", ok: true, bStatus: 200, bLacks: propA}},
		{"GET /api/v1/api-keys", authzCase{class: classAPIKey, path: "/api/v1/api-keys", ok: true, bStatus: 200, bLacks: propA}},
		{"POST /api/v1/api-keys", authzCase{class: classAPIKey, path: "/api/v1/api-keys", body: map[string]any{"name": "another", "property": propA}, ok: true}},
		{"DELETE /api/v1/api-keys/:key", authzCase{class: classAPIKey, path: "/api/v1/api-keys/" + w.victim, ok: true, bStatus: 404}},
		{"POST /api/v1/properties", authzCase{class: classAPIAll, path: "/api/v1/properties",
			body: map[string]any{"code": "CHARLIE", "name": "Hotel CHARLIE", "time_zone": "Europe/Lisbon", "currency": "EUR"}, ok: true}},

		{"GET /api/v1/revisions/feed", authzCase{class: classAPIFeed, path: "/api/v1/revisions/feed?property=" + propA, ok: true}},
		{"POST /api/v1/revisions/:id/ack", authzCase{class: classAPIFeed, path: "/api/v1/revisions/" + id(w.feedEntry) + "/ack?property=" + propA, ok: true,
			bPath: "/api/v1/revisions/" + id(w.feedEntry) + "/ack"}},

		{"GET /api/v1/properties/:property", authzCase{class: classAPIProperty, path: api, ok: true}},
		{"GET /api/v1/properties/:property/pools", authzCase{class: classAPIProperty, path: api + "/pools", ok: true}},
		{"POST /api/v1/properties/:property/pools", authzCase{class: classAPIProperty, path: api + "/pools",
			body: map[string]any{"code": "SGL", "name": "Singles", "units": 2}, ok: true}},
		{"PATCH /api/v1/properties/:property", authzCase{class: classAPIProperty, path: api, body: map[string]any{"night_sold_until": "00:00"}, ok: true}},
		{"PATCH /api/v1/properties/:property/pools/:pool", authzCase{class: classAPIProperty, path: api + "/pools/DBL", body: map[string]any{"name": "Doubles"}, ok: true}},
		{"PUT /api/v1/properties/:property/pools/:pool/nights", authzCase{class: classAPIProperty, path: api + "/pools/DBL/nights?from=2027-07-01&to=2027-07-03",
			body: map[string]any{"closed": true}, ok: true}},
		{"GET /api/v1/properties/:property/room-types", authzCase{class: classAPIProperty, path: api + "/room-types", ok: true}},
		{"POST /api/v1/properties/:property/room-types", authzCase{class: classAPIProperty, path: api + "/room-types",
			body: map[string]any{"code": "DBL-SEA", "pool": "DBL"}, ok: true}},
		{"GET /api/v1/properties/:property/rate-plans", authzCase{class: classAPIProperty, path: api + "/rate-plans", ok: true}},
		{"POST /api/v1/properties/:property/rate-plans", authzCase{class: classAPIProperty, path: api + "/rate-plans",
			body: map[string]any{"code": "NRF", "room_type": "DBL-STD"}, ok: true}},
		{"GET /api/v1/properties/:property/channels", authzCase{class: classAPIProperty, path: api + "/channels", ok: true}},
		{"POST /api/v1/properties/:property/channels", authzCase{class: classAPIProperty, path: api + "/channels",
			body: map[string]any{"code": "vrbo", "kind": "ical"}, ok: true}},
		{"GET /api/v1/properties/:property/channels/:channel", authzCase{class: classAPIProperty, path: api + "/channels/expedia", ok: true}},
		{"PATCH /api/v1/properties/:property/channels/:channel", authzCase{class: classAPIProperty, path: api + "/channels/expedia",
			body: map[string]any{"name": "Expedia"}, ok: true}},
		{"PUT /api/v1/properties/:property/channels/:channel/credentials", authzCase{class: classAPIProperty, path: api + "/channels/expedia/credentials",
			body: map[string]any{"inbound_username": "exp-user", "inbound_secret": "exp-secret"}, ok: true}},
		{"GET /api/v1/properties/:property/channels/:channel/mappings", authzCase{class: classAPIProperty, path: api + "/channels/expedia/mappings", ok: true}},
		{"PUT /api/v1/properties/:property/channels/:channel/mappings", authzCase{class: classAPIProperty, path: api + "/channels/expedia/mappings",
			body: map[string]any{"channel_room": "DBL2", "room_type": "DBL-STD"}, ok: true}},
		{"DELETE /api/v1/properties/:property/channels/:channel/mappings", authzCase{class: classAPIProperty,
			path: api + "/channels/expedia/mappings?channel_room=DBL&channel_rate=", ok: true}},
		{"GET /api/v1/properties/:property/channels/:channel/messages", authzCase{class: classAPIProperty, path: api + "/channels/booking/messages", ok: true}},
		{"GET /api/v1/properties/:property/channels/:channel/ical-feeds", authzCase{class: classAPIProperty, path: api + "/channels/airbnb/ical-feeds", ok: true}},
		{"POST /api/v1/properties/:property/channels/:channel/ical-feeds/:id/sync", authzCase{class: classAPIProperty,
			path: api + "/channels/airbnb/ical-feeds/" + id(w.icalFeed) + "/sync", ok: true, bPath: bAPI + "/channels/airbnb/ical-feeds/" + id(w.icalFeed) + "/sync"}},
		{"DELETE /api/v1/properties/:property/channels/:channel/ical-feeds/:id", authzCase{class: classAPIProperty,
			path: api + "/channels/airbnb/ical-feeds/" + id(w.icalFeed), ok: true, bPath: bAPI + "/channels/airbnb/ical-feeds/" + id(w.icalFeed)}},
		{"PUT /api/v1/properties/:property/channels/:channel/ical-feeds", authzCase{class: classAPIProperty, path: api + "/channels/airbnb/ical-feeds",
			body: map[string]any{"room_type": "DBL-STD", "url": "https://calendar.example.com/alfa-2.ics"}, ok: true}},
		{"GET /api/v1/properties/:property/channels/:channel/export-tokens", authzCase{class: classAPIProperty, path: api + "/channels/airbnb/export-tokens", ok: true}},
		{"POST /api/v1/properties/:property/channels/:channel/export-tokens", authzCase{class: classAPIProperty, path: api + "/channels/airbnb/export-tokens",
			body: map[string]any{"room_type": "DBL-STD"}, ok: true}},
		{"DELETE /api/v1/properties/:property/channels/:channel/export-tokens/:id", authzCase{class: classAPIProperty,
			path: api + "/channels/airbnb/export-tokens/" + tok("api revoke"), ok: true, bPath: bAPI + "/channels/airbnb/export-tokens/" + tok("api revoke")}},
		{"POST /api/v1/properties/:property/channels/:channel/export-tokens/:id/rotate", authzCase{class: classAPIProperty,
			path: api + "/channels/airbnb/export-tokens/" + tok("api rotate") + "/rotate", ok: true,
			bPath: bAPI + "/channels/airbnb/export-tokens/" + tok("api rotate") + "/rotate"}},
		{"GET /api/v1/properties/:property/availability", authzCase{class: classAPIProperty, path: api + "/availability?from=2027-06-01&to=2027-06-05", ok: true}},
		{"POST /api/v1/properties/:property/reservations", authzCase{class: classAPIProperty, path: api + "/reservations",
			body: booking("NEW-1", "2027-08-01", "2027-08-03", 1), ok: true}},
		{"GET /api/v1/properties/:property/reservations/:channel/:id", authzCase{class: classAPIProperty, path: api + "/reservations/expedia/EXP-" + propA, ok: true,
			bPath: bAPI + "/reservations/expedia/EXP-" + propA}},
		{"PUT /api/v1/properties/:property/reservations/:channel/:id", authzCase{class: classAPIProperty, path: api + "/reservations/expedia/EXP-" + propA,
			body: modified(booking("EXP-"+propA, "2027-06-10", "2027-06-13", 1)), ok: true, bPath: bAPI + "/reservations/expedia/EXP-" + propA}},
		{"POST /api/v1/properties/:property/reservations/:channel/:id/cancel", authzCase{class: classAPIProperty,
			path: api + "/reservations/expedia/EXP-" + propA + "/cancel", ok: true, bPath: bAPI + "/reservations/expedia/EXP-" + propA + "/cancel"}},
		// After the cancellation above: a cancelled booking's guest can be erased.
		{"POST /api/v1/properties/:property/reservations/:channel/:id/erase-guest-data", authzCase{class: classAPIProperty,
			path: api + "/reservations/expedia/EXP-" + propA + "/erase-guest-data", ok: true, bPath: bAPI + "/reservations/expedia/EXP-" + propA + "/erase-guest-data"}},
		{"GET /api/v1/properties/:property/incidents", authzCase{class: classAPIProperty, path: api + "/incidents", ok: true}},
		{"POST /api/v1/properties/:property/incidents/:id/resolve", authzCase{class: classAPIProperty, path: api + "/incidents/" + id(w.incidents[0]) + "/resolve",
			ok: true, bPath: bAPI + "/incidents/" + id(w.incidents[0]) + "/resolve"}},

		{"POST /ota/:channel", authzCase{class: classOTA, path: "/ota/booking", body: resNotif("Commit", "OTA-NEW", "H-"+propA, "2027-09-01", "2027-09-03"), ok: true}},
		{"GET /ical/:file", authzCase{class: classICal, path: w.livePath, ok: true}},
		{"HEAD /ical/:file", authzCase{class: classICal, path: w.livePath, ok: true}},

		{"GET /admin", authzCase{class: classStaffPage, path: "/admin", ok: true}},
		{"GET /admin/", authzCase{class: classStaffPage, path: "/admin/", ok: true}},
		{"GET /admin/p/:property", authzCase{class: classStaffPage, path: ui, ok: true}},
		{"GET /admin/p/:property/grid", authzCase{class: classStaffPage, path: ui + "/grid", ok: true}},
		{"GET /admin/p/:property/grid/cell", authzCase{class: classStaffPage, path: ui + "/grid/cell?pool=DBL&night=2027-06-01", ok: true}},
		{"GET /admin/p/:property/bookings", authzCase{class: classStaffPage, path: ui + "/bookings", ok: true}},
		{"GET /admin/p/:property/bookings/:id", authzCase{class: classStaffPage, path: ui + "/bookings/" + id(w.bookingID), ok: true}},
		{"GET /admin/p/:property/bookings/new", authzCase{class: classStaffPage, path: ui + "/bookings/new", ok: true}},
		{"GET /admin/p/:property/bookings/:id/change", authzCase{class: classStaffPage, path: ui + "/bookings/" + id(w.otaBookingID) + "/change", ok: true}},
		{"GET /admin/p/:property/channels", authzCase{class: classStaffPage, path: ui + "/channels", ok: true}},
		{"GET /admin/p/:property/channels/:channel", authzCase{class: classStaffPage, path: ui + "/channels/airbnb", ok: true}},
		{"GET /admin/p/:property/alerts", authzCase{class: classStaffPage, path: ui + "/alerts", ok: true}},
		{"GET /admin/p/:property/settings", authzCase{class: classStaffPage, path: ui + "/settings", ok: true}},
		{"GET /admin/queues", authzCase{class: classStaffPage, path: "/admin/queues", ok: true}},
		{"GET /admin/users", authzCase{class: classStaffPage, path: "/admin/users", ok: true}},
		{"GET /admin/account", authzCase{class: classStaffPage, path: "/admin/account", ok: true}},
		// anna's password, changed to itself (the login case logs in with it).
		{"POST /admin/account/password", authzCase{class: classOwnForm, path: "/admin/account/password",
			body: form("current", uiPassword, "password", uiPassword, "confirm", uiPassword), ok: true}},
		// BRAVO's admin cannot reset ed (every property's): 409.
		{"POST /admin/users", authzCase{class: classStaffForm, path: "/admin/users",
			body: form("name", "ed", "role", "viewer", "password", "ed's new password"), ok: true}},
		{"POST /admin/users/:name/disable", authzCase{class: classStaffForm, path: "/admin/users/ed/disable", ok: true}},
		{"ANY /admin/queues/*path", authzCase{class: classQueues, path: "/admin/queues/api/queues", ok: true}},

		// Erased through the API above already: answered as such.
		{"POST /admin/p/:property/bookings/:id/erase-guest-data", authzCase{class: classStaffForm, path: ui + "/bookings/" + id(w.bookingID) + "/erase-guest-data",
			body: form("confirm", "yes"), ok: true}},
		{"POST /admin/p/:property/settings", authzCase{class: classStaffForm, path: ui + "/settings",
			body: form("name", "Hotel renamed", "night_sold_until", "00:00"), ok: true}},
		{"POST /admin/p/:property/bookings/new", authzCase{class: classStaffForm, path: ui + "/bookings/new",
			body: form("channel", "expedia", "id", "AUTHZ-1", "room_type", "DBL-STD", "arrival", "2027-07-20", "departure", "2027-07-21", "rooms", "1"), ok: true}},
		{"POST /admin/p/:property/bookings/:id/change", authzCase{class: classStaffForm, path: ui + "/bookings/" + id(w.otaBookingID) + "/change",
			body: form("room_type", "DBL-STD", "arrival", "2027-06-01", "departure", "2027-06-04", "rooms", "1"), ok: true}},
		// The booking is erased, so cancelled or past: answered that it holds no rooms.
		{"POST /admin/p/:property/bookings/:id/cancel", authzCase{class: classStaffForm, path: ui + "/bookings/" + id(w.bookingID) + "/cancel",
			body: form("confirm", "yes"), ok: true}},
		{"POST /admin/p/:property/grid/edit", authzCase{class: classStaffForm, path: ui + "/grid/edit",
			body: form("pool", "DBL", "from", "2027-07-10", "to", "2027-07-11", "status", "close"), ok: true}},
		{"POST /admin/p/:property/alerts/incidents/:id/resolve", authzCase{class: classStaffForm, path: ui + "/alerts/incidents/" + id(w.incidents[1]) + "/resolve", ok: true}},
		// The other alert actions need incidents of their kinds (a stale feed,
		// a failed webhook) or a dead letter: refused alike, not run.
		{"POST /admin/p/:property/alerts/incidents/:id/sync", authzCase{class: classStaffForm, path: ui + "/alerts/incidents/" + id(w.incidents[1]) + "/sync"}},
		{"POST /admin/p/:property/alerts/incidents/:id/retry", authzCase{class: classStaffForm, path: ui + "/alerts/incidents/" + id(w.incidents[1]) + "/retry"}},
		{"POST /admin/p/:property/alerts/dead-letters/retry", authzCase{class: classStaffForm, path: ui + "/alerts/dead-letters/retry", body: form("queue", "x", "task", "y")}},
		{"POST /admin/p/:property/channels/:channel/dead-letters/retry", authzCase{class: classStaffForm, path: ui + "/channels/expedia/dead-letters/retry",
			body: form("queue", "x", "task", "y")}},
		{"POST /admin/p/:property/channels/:channel/settings", authzCase{class: classStaffForm, path: ui + "/channels/expedia/settings",
			body: form("hotel_code", "EXP-NEW"), ok: true}},
		{"POST /admin/p/:property/channels/:channel/mappings", authzCase{class: classStaffForm, path: ui + "/channels/expedia/mappings",
			body: form("room", "DBL3", "room_type", "DBL-STD"), ok: true}},
		{"POST /admin/p/:property/channels/:channel/mappings/delete", authzCase{class: classStaffForm, path: ui + "/channels/booking/mappings/delete",
			body: form("room", "DBL", "confirm", "yes"), ok: true}},
		{"POST /admin/p/:property/channels/:channel/credentials/inbound", authzCase{class: classStaffForm, path: ui + "/channels/expedia/credentials/inbound",
			body: form("username", "exp-user-2"), ok: true}},
		{"POST /admin/p/:property/channels/:channel/credentials/outbound", authzCase{class: classStaffForm, path: ui + "/channels/expedia/credentials/outbound",
			body: form("username", "us", "secret", "out-secret"), ok: true}},
		{"POST /admin/p/:property/channels/:channel/feeds/:id/sync", authzCase{class: classStaffForm, path: ui + "/channels/airbnb/feeds/" + id(w.icalFeed) + "/sync"}},
		{"POST /admin/p/:property/channels/:channel/feeds", authzCase{class: classStaffForm, path: ui + "/channels/airbnb/feeds",
			body: form("room_type", "DBL-STD", "url", "https://calendar.example.com/alfa-3.ics"), ok: true}},
		{"POST /admin/p/:property/channels/:channel/export-tokens", authzCase{class: classStaffForm, path: ui + "/channels/airbnb/export-tokens",
			body: form("room_type", "DBL-STD"), ok: true}},
		{"POST /admin/p/:property/channels/:channel/export-tokens/:id/rotate", authzCase{class: classStaffForm,
			path: ui + "/channels/airbnb/export-tokens/" + tok("ui rotate") + "/rotate", ok: true}},
		{"POST /admin/p/:property/channels/:channel/export-tokens/:id/revoke", authzCase{class: classStaffForm,
			path: ui + "/channels/airbnb/export-tokens/" + tok("ui revoke") + "/revoke", ok: true}},
		// No connector pushes in this server: a resync is refused as a 400, not run.
		{"POST /admin/p/:property/channels/:channel/resync", authzCase{class: classStaffForm, path: ui + "/channels/expedia/resync"}},
		{"POST /admin/p/:property/channels/:channel/enabled", authzCase{class: classStaffForm, path: ui + "/channels/expedia/enabled",
			body: form("enabled", "false"), ok: true}},

		{"POST /admin/login", authzCase{class: classPublicForm, path: "/admin/login",
			body: form("username", "anna", "password", uiPassword, "next", "/admin/"), ok: true}},
		{"POST /admin/logout", authzCase{class: classPublicForm, path: "/admin/logout", ok: true}},
	}
}

// TestEveryRouteIsAuthenticatedAndAuthorized is the matrix.
func TestEveryRouteIsAuthenticatedAndAuthorized(t *testing.T) {
	t.Parallel()
	w := newAuthzWorld(t)
	cases := w.authzCases()
	byKey := map[string]authzCase{}
	for _, kc := range cases {
		require.NotContains(t, byKey, kc.key, "listed twice")
		byKey[kc.key] = kc.c
	}

	// Every route has a class, and every class listed is a route.
	type route struct{ method, path string }
	var routes []route
	seen := map[string]bool{}
	for _, r := range w.srv.Routes() {
		key := r.Method + " " + r.Path
		if _, ok := byKey[key]; !ok {
			key = "ANY " + r.Path
		}
		if _, ok := byKey[key]; !ok {
			t.Errorf("route %s %s has no class in the authorization matrix (authzCases): say who may call it", r.Method, r.Path)
			continue
		}
		seen[key] = true
		routes = append(routes, route{r.Method, r.Path})
	}
	for key := range byKey {
		if !seen[key] {
			t.Errorf("the matrix lists %s, which the server does not register", key)
		}
	}
	if t.Failed() {
		return
	}

	before := w.fingerprint()
	for _, r := range routes {
		key := r.method + " " + r.path
		c, ok := byKey[key]
		if !ok {
			c = byKey["ANY "+r.path]
		}
		t.Run(key, func(t *testing.T) { w.refusals(t, r.method, c) })
	}
	after := w.fingerprint()
	for table, sum := range before {
		require.Equal(t, sum, after[table], "table %s changed under requests that were all to be refused", table)
	}

	// With the right credentials, each request gets through: the refusals
	// above were the routes' own, not a wrong path or body of the matrix's.
	for _, kc := range cases {
		if !kc.c.ok {
			continue
		}
		methods := []string{strings.Fields(kc.key)[0]}
		if methods[0] == "ANY" {
			methods = []string{"GET"}
		}
		for _, m := range methods {
			w.succeeds(t, kc.key, m, kc.c)
		}
	}
	require.NotEqual(t, before, w.fingerprint(), "the right credentials changed things: the fingerprint sees changes")
}

// refusals sends the route's request with every wrong credential its class has.
func (w *authzWorld) refusals(t *testing.T, method string, c authzCase) {
	switch c.class {
	case classPublic:
		// Nothing to refuse; the right-credential pass checks it answers.
	case classPublicForm:
		for _, b := range []*uiEnv{w.anon, w.admin} {
			p := w.uiSend(b, method, c.path, c.body, "", true)
			require.Equal(t, http.StatusForbidden, p.Status, "without a CSRF token: %s", p.Body)
			p = w.uiSend(b, method, c.path, c.body, "forged", true)
			require.Equal(t, http.StatusForbidden, p.Status, "with a forged CSRF token: %s", p.Body)
		}
	case classAPIKey, classAPIAll, classAPIFeed, classAPIProperty:
		w.apiRefusals(t, method, c)
	case classStaffPage:
		w.staffPageRefusals(t, method, c.path)
	case classStaffForm:
		w.staffFormRefusals(t, method, c.path, c.body, true)
	case classOwnForm:
		for _, b := range []*uiEnv{w.anon, w.admin} {
			p := w.uiSend(b, method, c.path, c.body, "", true)
			require.Equal(t, http.StatusForbidden, p.Status, "without a CSRF token: %s", p.Body)
		}
		requireToLogin(t, w.uiSend(w.anon, method, c.path, c.body, w.tokAnon, true), "no login")
		requireToLogin(t, w.uiSend(w.disabled, method, c.path, c.body, w.tokDisabled, true), "a disabled user")
	case classQueues:
		if safeHTTPMethod(method) {
			w.staffPageRefusals(t, method, c.path)
			return
		}
		// An action of asynqmon's: its API takes the same origin instead of
		// the CSRF token (ui_queues.go).
		// (Resuming a queue that is not paused, of a name no one uses: were it
		// let through, it would change nothing in the shared Redis either.)
		action := "/admin/queues/api/queues/keyrack-authz-matrix:resume"
		w.staffFormRefusals(t, method, action, nil, false)
		for _, origin := range []string{"", "http://evil.example"} {
			p := w.uiSendOrigin(w.admin, method, action, nil, w.tokAdmin, origin)
			require.Equal(t, http.StatusForbidden, p.Status, "an admin's %s from origin %q: %s", method, origin, p.Body)
		}
		// Elsewhere under /admin/queues the CSRF token stands (TRACE, which
		// gorilla/csrf takes for safe, is no route: 405, adminMethods).
		p := w.uiSend(w.admin, method, "/admin/queues/", nil, "", true)
		require.Equal(t, http.StatusForbidden, p.Status, "an admin's %s without a CSRF token: %s", method, p.Body)
	case classOTA:
		w.otaRefusals(t, c)
	case classICal:
		w.icalRefusals(t, method)
	default:
		t.Fatalf("class %v has no refusals", c.class)
	}
}

func safeHTTPMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

func (w *authzWorld) apiRefusals(t *testing.T, method string, c authzCase) {
	for _, cred := range []struct{ what, header string }{
		{"no credentials", ""},
		{"a revoked key", "Bearer " + w.keyRevoked},
		{"a key that is no key", "Bearer kr_00000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"},
		{"ALFA's key as Basic", "Basic " + w.keyA},
	} {
		r := w.apiSend(method, c.path, cred.header, c.body)
		requireProblem(t, r, http.StatusUnauthorized, cred.what)
	}
	if c.class == classAPIAll {
		r := w.apiSend(method, c.path, "Bearer "+w.keyA, c.body)
		requireProblem(t, r, http.StatusForbidden, "a key for one property")
	}
	want := orDefault(c.bStatus, http.StatusForbidden)
	r := w.apiSend(method, c.path, "Bearer "+w.keyB, c.body)
	if want == http.StatusOK {
		require.Equal(t, want, r.Status, "BRAVO's key: %s", r.Body)
		require.NotContains(t, string(r.Body), c.bLacks, "BRAVO's key sees ALFA's")
	} else {
		requireProblem(t, r, want, "BRAVO's key")
	}
	if c.bPath != "" {
		r := w.apiSend(method, c.bPath, "Bearer "+w.keyB, bravoBody(c.body))
		requireProblem(t, r, http.StatusNotFound, "BRAVO's key on ALFA's ids through its own property")
	}
}

// modified is a booking as PUT takes it: the path names the reservation.
func modified(b map[string]any) map[string]any {
	delete(b, "id")
	return b
}

// bravoBody is a request body with ALFA's codes made BRAVO's.
func bravoBody(body any) any {
	if m, ok := body.(map[string]any); ok {
		b, _ := json.Marshal(m)
		var out map[string]any
		_ = json.Unmarshal(bytes.ReplaceAll(b, []byte(propA), []byte(propB)), &out)
		return out
	}
	return body
}

func orDefault(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

func requireProblem(t *testing.T, r response, status int, what string) {
	t.Helper()
	require.Equal(t, status, r.Status, "%s: %s", what, r.Body)
	require.Equal(t, "application/problem+json", r.Header.Get("Content-Type"), what)
}

// staffPageRefusals: without a login, with a session that is no session and
// as a disabled user, a page sends the browser to the login page (htmx
// gets a 401 naming it).
func (w *authzWorld) staffPageRefusals(t *testing.T, method, path string) {
	for _, b := range []struct {
		what string
		ui   *uiEnv
	}{{"no login", w.anon}, {"a disabled user", w.disabled}} {
		p := w.uiSend(b.ui, method, path, nil, "", true)
		requireToLogin(t, p, b.what)
		p = w.uiSend(b.ui, method, path, nil, "", true, "HX-Request", "true")
		require.Equal(t, http.StatusUnauthorized, p.Status, "%s, htmx: %s", b.what, p.Body)
		require.True(t, strings.HasPrefix(p.Header.Get("HX-Redirect"), "/admin/login"), b.what)
	}
	p := w.uiSend(w.anon, method, path, nil, "", true, "Cookie", "keyrack_session=not-a-session")
	requireToLogin(t, p, "a session that is no session")
	w.otherPropertysStaff(t, method, path, nil, "")
}

// otherPropertysStaff: an admin of BRAVO only finds no ALFA, and is refused
// the queues; the home pages are theirs too.
func (w *authzWorld) otherPropertysStaff(t *testing.T, method, path string, body any, token string) {
	p := w.uiSend(w.bravo, method, path, body, token, true)
	switch {
	case strings.HasPrefix(path, "/admin/p/"):
		require.Equal(t, http.StatusNotFound, p.Status, "BRAVO's admin: %s", p.Body)
	case strings.HasPrefix(path, "/admin/queues/"): // (/admin/queues only redirects there)
		require.Equal(t, http.StatusForbidden, p.Status, "BRAVO's admin: %s", p.Body)
	case path == "/admin/users" && method == http.MethodGet: // BRAVO's users: none of ALFA's or every property's
		require.Equal(t, http.StatusOK, p.Status, "BRAVO's admin: %s", p.Body)
		require.NotContains(t, p.Body, ">anna<", "BRAVO's admin sees every property's admin")
	case strings.HasPrefix(path, "/admin/users"): // every property's ed is out of reach
		require.GreaterOrEqual(t, p.Status, 400, "BRAVO's admin: %s", p.Body)
	}
	require.NotContains(t, p.Body, "EXP-"+propA, "BRAVO's admin sees ALFA's booking")
	// ALFA's ids through BRAVO's own pages: none is BRAVO's.
	if strings.HasPrefix(path, "/admin/p/"+propA+"/") && pathID.MatchString(path) {
		own := strings.Replace(path, "/admin/p/"+propA+"/", "/admin/p/"+propB+"/", 1)
		p := w.uiSend(w.bravo, method, own, body, token, true)
		require.Equal(t, http.StatusNotFound, p.Status, "BRAVO's admin with ALFA's id through BRAVO's page: %s", p.Body)
	}
}

// pathID finds a numeric id in a path.
var pathID = regexp.MustCompile(`/[0-9]+(/|$)`)

func requireToLogin(t *testing.T, p page, what string) {
	t.Helper()
	require.Equal(t, http.StatusSeeOther, p.Status, "%s: %s", what, p.Body)
	require.True(t, strings.HasPrefix(p.Header.Get("Location"), "/admin/login"), "%s: to %s", what, p.Header.Get("Location"))
}

// staffFormRefusals: a change needs the CSRF token (checkCSRF), a login, and
// the admin role.
func (w *authzWorld) staffFormRefusals(t *testing.T, method, path string, body any, checkCSRF bool) {
	if checkCSRF {
		for _, b := range []*uiEnv{w.anon, w.admin} {
			p := w.uiSend(b, method, path, body, "", true)
			require.Equal(t, http.StatusForbidden, p.Status, "without a CSRF token: %s", p.Body)
			p = w.uiSend(b, method, path, body, "forged", true)
			require.Equal(t, http.StatusForbidden, p.Status, "with a forged CSRF token: %s", p.Body)
		}
	}
	// With a valid token: no login, a disabled user.
	requireToLogin(t, w.uiSend(w.anon, method, path, body, w.tokAnon, true), "no login")
	requireToLogin(t, w.uiSend(w.disabled, method, path, body, w.tokDisabled, true), "a disabled user")
	p := w.uiSend(w.viewer, method, path, body, w.tokViewer, true)
	require.Equal(t, http.StatusForbidden, p.Status, "a viewer: %s", p.Body)
	w.otherPropertysStaff(t, method, path, body, w.tokBravo)
}

func (w *authzWorld) otaRefusals(t *testing.T, c authzCase) {
	msg := c.body.([]byte)
	for _, cred := range []struct{ what, channel, user, secret string }{
		{"no credentials", "booking", "", ""},
		{"a wrong secret", "booking", "bk-user", "guess"},
		{"the secret rotated away", "booking", "bk-user", "old-secret-" + propA},
		{"a user name the channel does not have", "booking", "nobody", "secret-" + propA},
		// Only OTA push and GDS channels push: a PMS's or a polled OTA's
		// inbound credentials, right as they are, are no way in.
		{"a PMS channel", "pms", "pms-user", "pms-secret"},
		{"a pull-mode channel", "bdcpull", "pull-user", "pull-secret"},
	} {
		r := w.e.otaPost(cred.channel, cred.user, cred.secret, msg)
		require.Equal(t, http.StatusUnauthorized, r.Status, "%s: %s", cred.what, r.Body)
		require.False(t, otaRS(t, r).Success, cred.what)
	}
	// BRAVO's account of the same channel, for ALFA's hotel: authenticated
	// as BRAVO's, and ALFA's hotel is not one it serves.
	r := w.e.otaPost("booking", "bk-user", "secret-"+propB, msg)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	rs := otaRS(t, r)
	require.False(t, rs.Success, "BRAVO's account booked for ALFA's hotel: %s", r.Body)
	require.NotEmpty(t, rs.Errors)
}

func (w *authzWorld) icalRefusals(t *testing.T, method string) {
	token := strings.TrimSuffix(strings.TrimPrefix(w.livePath, "/ical/"), ".ics")
	for _, path := range append([]string{"/ical/not-a-token.ics", "/ical/.ics", "/ical/" + token, "/ical/" + strings.ToUpper(token) + ".ics"}, w.deadPaths...) {
		r := w.e.send(mustRequest(t, method, w.e.ts.URL+path, nil))
		require.Equal(t, http.StatusNotFound, r.Status, "%s: %s", path, r.Body)
	}
	// BRAVO's token is BRAVO's calendar, whatever else the path says.
	r := w.e.send(mustRequest(t, method, w.e.ts.URL+w.livePathB, nil))
	require.Equal(t, http.StatusOK, r.Status)
	if method == http.MethodGet {
		require.Contains(t, string(r.Body), propB)
		require.NotContains(t, string(r.Body), propA)
	}
}

// succeeds sends the route's request with the right credentials.
func (w *authzWorld) succeeds(t *testing.T, key, method string, c authzCase) {
	t.Helper()
	switch c.class {
	case classPublic:
		r := w.e.send(mustRequest(t, method, w.e.ts.URL+c.path, nil))
		require.Equal(t, http.StatusOK, r.Status, "%s: %s", key, r.Body)
	case classAPIAll:
		r := w.apiSend(method, c.path, "Bearer "+w.e.admin, c.body)
		require.True(t, r.Status >= 200 && r.Status < 300, "%s: %d %s", key, r.Status, r.Body)
	case classAPIKey, classAPIFeed, classAPIProperty:
		r := w.apiSend(method, c.path, "Bearer "+w.keyA, c.body)
		require.True(t, r.Status >= 200 && r.Status < 300, "%s with ALFA's key: %d %s", key, r.Status, r.Body)
	case classOTA:
		r := w.e.otaPost("booking", "bk-user", "secret-"+propA, c.body.([]byte))
		require.Equal(t, http.StatusOK, r.Status, "%s: %s", key, r.Body)
		require.True(t, otaRS(t, r).Success, "%s: %s", key, r.Body)
	case classICal:
		r := w.e.send(mustRequest(t, method, w.e.ts.URL+c.path, nil))
		require.Equal(t, http.StatusOK, r.Status, "%s: %s", key, r.Body)
		if method == http.MethodGet {
			require.Contains(t, string(r.Body), propA)
		}
	case classStaffPage, classQueues, classStaffForm, classPublicForm, classOwnForm:
		b, token := w.admin, w.tokAdmin
		if key == "POST /admin/login" {
			b, token = w.anon, w.tokAnon
		}
		p := w.uiSend(b, method, c.path, c.body, token, true)
		require.True(t, p.Status >= 200 && p.Status < 400, "%s: %d %s", key, p.Status, p.Body)
		if key != "POST /admin/logout" {
			require.False(t, strings.HasPrefix(p.Header.Get("Location"), "/admin/login"), "%s: sent to log in", key)
		}
	default:
		t.Fatalf("%s: class %v has no right credentials", key, c.class)
	}
}

func mustRequest(t *testing.T, method, u string, body io.Reader) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, u, body)
	require.NoError(t, err)
	return req
}

// apiSend sends an API request with the Authorization header given ("" for
// none), without the OpenAPI check (refusals are what is tested here).
func (w *authzWorld) apiSend(method, path, auth string, body any) response {
	var rd io.Reader
	if body != nil {
		j, err := json.Marshal(body)
		require.NoError(w.t, err)
		rd = bytes.NewReader(j)
	}
	req := mustRequest(w.t, method, w.e.ts.URL+path, rd)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return w.e.send(req)
}

// uiSend sends an admin request from browser b: a form body (url.Values),
// the CSRF token in X-CSRF-Token when given, and this site's Origin and
// Referer when sameSite; extra holds header pairs.
func (w *authzWorld) uiSend(b *uiEnv, method, path string, body any, token string, sameSite bool, extra ...string) page {
	origin := ""
	if sameSite {
		origin = w.e.ts.URL
	}
	return w.uiSendOrigin(b, method, path, body, token, origin, extra...)
}

func (w *authzWorld) uiSendOrigin(b *uiEnv, method, path string, body any, token, origin string, extra ...string) page {
	var rd io.Reader
	form, _ := body.(url.Values)
	if !safeHTTPMethod(method) {
		rd = strings.NewReader(form.Encode())
	}
	req := mustRequest(w.t, method, w.e.ts.URL+path, rd)
	if rd != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if token != "" {
		req.Header.Set("X-CSRF-Token", token)
	}
	if origin != "" {
		req.Header.Set("Origin", origin)
		req.Header.Set("Referer", origin+"/admin/")
	}
	for i := 0; i+1 < len(extra); i += 2 {
		req.Header.Set(extra[i], extra[i+1])
	}
	return b.do(req)
}

// authzTables are the tables a refused request must leave as they were,
// with the columns that reading legitimately touches left out (a key's or
// a calendar token's last use, the calendar last served, a session's
// renewal).
var authzTables = map[string][]string{
	"properties": {}, "pools": {}, "nights": {}, "room_types": {}, "rate_plans": {}, "channels": {}, "mappings": {},
	"reservations": {}, "reservation_revisions": {}, "audit_log": {}, "outbox": {}, "incidents": {},
	"sync_channels": {}, "sync_dirty": {}, "sync_acks": {}, "sync_closures": {}, "delivery_log": {},
	"api_keys": {"last_used_at"}, "idempotency_keys": {}, "ical_feeds": {}, "ical_events": {},
	"ical_export_tokens": {"last_used_at", "served_etag", "served_changed_at"}, "feed_entries": {},
	"staff_users": {}, "staff_sessions": {"last_seen_at", "expires_at"},
}

// fingerprint is each table's row count and a digest of its rows.
func (w *authzWorld) fingerprint() map[string]string {
	out := map[string]string{}
	for _, table := range slices.Sorted(maps.Keys(authzTables)) {
		var n int
		var sum string
		require.NoError(w.t, w.e.st.DB().QueryRow(context.Background(), fmt.Sprintf(`SELECT count(*), md5(coalesce(string_agg(j::text, E'\n' ORDER BY j::text), ''))
			FROM (SELECT to_jsonb(x) - $1::text[] AS j FROM %s x) s`, table), authzTables[table]).Scan(&n, &sum))
		out[table] = fmt.Sprintf("%d rows, %s", n, sum)
	}
	return out
}

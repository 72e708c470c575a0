package web_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/keyrack/keyrack/inventory"
	"github.com/stretchr/testify/require"
)

func TestAPIConfiguresAWholePropertyFromScratch(t *testing.T) {
	t.Parallel()
	e := newAPI(t)
	ctx := context.Background()
	base := "/api/v1/properties/MIRA"
	e.must(http.StatusCreated, "POST", "/api/v1/properties", map[string]any{"code": "MIRA", "name": "Hotel Miradouro", "time_zone": "Europe/Lisbon", "currency": "EUR"})
	pool := e.must(http.StatusCreated, "POST", base+"/pools", map[string]any{"code": "DBL", "name": "Double rooms", "units": 12, "overbooking_factor": "1.10"}).JSON(t)
	require.Equal(t, "1.10", pool["overbooking_factor"])
	e.must(http.StatusCreated, "POST", base+"/room-types", map[string]any{"code": "DBL-SEA", "name": "Double, sea view", "pool": "DBL"})
	e.must(http.StatusCreated, "POST", base+"/rate-plans", map[string]any{"code": "BAR", "name": "Best available", "room_type": "DBL-SEA"})
	ch := e.must(http.StatusCreated, "POST", base+"/channels", map[string]any{
		"code": "expedia", "name": "Expedia", "kind": "ota_push", "hotel_code": "EXP-1", "endpoint": "https://example.test/ota",
		"rate_limit": 60, "enabled": true,
		"credentials": map[string]any{"inbound_username": "exp-in", "inbound_secret": "in-s3cret", "outbound_username": "exp-out", "outbound_secret": "out-s3cret"},
	})
	e.must(http.StatusCreated, "POST", base+"/channels", map[string]any{"code": "pms", "kind": "pms"})
	e.must(http.StatusOK, "PUT", base+"/channels/expedia/mappings", map[string]any{"channel_room": "SEA", "channel_rate": "RACK", "room_type": "DBL-SEA", "rate_plan": "BAR"})

	// Secrets go in and never come out.
	for _, r := range []response{ch, e.must(http.StatusOK, "GET", base+"/channels", nil), e.must(http.StatusOK, "GET", base+"/channels/expedia", nil)} {
		require.NotContains(t, string(r.Body), "s3cret")
	}
	sec, _ := inventory.NewSecrets("test secret of keyrack's API tests")
	ok, err := e.st.CheckChannelSecret(ctx, sec, "MIRA", "expedia", "exp-in", "in-s3cret")
	require.NoError(t, err)
	require.True(t, ok)
	_, out, err := e.st.OutboundCredentials(ctx, sec, "MIRA", "expedia")
	require.NoError(t, err)
	require.Equal(t, "out-s3cret", out)
	e.must(http.StatusNoContent, "PUT", base+"/channels/expedia/credentials", map[string]any{"inbound_secret": "new-s3cret"})
	ok, _ = e.st.CheckChannelSecret(ctx, sec, "MIRA", "expedia", "exp-in", "new-s3cret")
	require.True(t, ok)

	chs := e.must(http.StatusOK, "GET", base+"/channels", nil).List(t)
	require.Len(t, chs, 2)
	require.Equal(t, map[string]any{"code": "expedia", "name": "Expedia", "kind": "ota_push", "enabled": true, "hotel_code": "EXP-1",
		"endpoint": "https://example.test/ota", "rate_limit": float64(60), "horizon_days": float64(365), "pull_interval_s": float64(60)}, chs[0])
	require.Equal(t, []map[string]any{{"channel_room": "SEA", "channel_rate": "RACK", "room_type": "DBL-SEA", "rate_plan": "BAR"}},
		e.must(http.StatusOK, "GET", base+"/channels/expedia/mappings", nil).List(t))
	require.Equal(t, []map[string]any{{"code": "DBL-SEA", "name": "Double, sea view", "pool": "DBL"}}, e.must(http.StatusOK, "GET", base+"/room-types", nil).List(t))
	require.Equal(t, []map[string]any{{"code": "BAR", "name": "Best available", "room_type": "DBL-SEA"}}, e.must(http.StatusOK, "GET", base+"/rate-plans", nil).List(t))
	require.Equal(t, []map[string]any{{"code": "DBL", "name": "Double rooms", "units": float64(12), "overbooking_factor": "1.10"}}, e.must(http.StatusOK, "GET", base+"/pools", nil).List(t))

	// A booking from the OTA channel in its own codes lands in the pool.
	_, err = e.st.ApplyRevision(ctx, inventory.Revision{Property: "MIRA", Channel: "expedia", ExternalID: "E-1", Kind: inventory.New,
		Stays: []inventory.RoomStay{{RoomType: "DBL-SEA", ChannelRoom: "SEA", Arrival: inventory.MustDate("2027-02-01"), Departure: inventory.MustDate("2027-02-02"), Rooms: 2}}})
	require.NoError(t, err)
	// And one from the PMS through the API.
	e.must(http.StatusCreated, "POST", base+"/reservations", map[string]any{"id": "PMS-77",
		"stays": []any{map[string]any{"room_type": "DBL-SEA", "arrival": "2027-02-01", "departure": "2027-02-02"}}})
	a := e.must(http.StatusOK, "GET", base+"/availability?from=2027-02-01&to=2027-02-02", nil).JSON(t)
	n := a["pools"].([]any)[0].(map[string]any)["nights"].([]any)[0].(map[string]any)
	require.Equal(t, float64(13), n["limit"])
	require.Equal(t, float64(3), n["sold"])
	require.Equal(t, float64(10), n["available"])
}

func TestAvailabilityShowsWhatEachChannelLastAcknowledged(t *testing.T) {
	t.Parallel()
	e := newAPI(t)
	e.hotel("P", 4)
	ctx := context.Background()
	_, err := e.st.DB().Exec(ctx, `INSERT INTO sync_acks (property_id, channel_id, pool_id, night, available, version, acked_at)
		SELECT p.id, c.id, pl.id, '2027-04-02', 3, 1, '2027-03-30T10:00:00Z' FROM properties p
		JOIN channels c ON c.property_id = p.id AND c.code = 'expedia' JOIN pools pl ON pl.property_id = p.id WHERE p.code = 'P'`)
	require.NoError(t, err)
	a := e.must(http.StatusOK, "GET", "/api/v1/properties/P/availability?from=2027-04-01&to=2027-04-03", nil).JSON(t)
	require.Equal(t, "2027-04-01", a["from"])
	nights := a["pools"].([]any)[0].(map[string]any)["nights"].([]any)
	require.Len(t, nights, 2)
	require.Equal(t, []any{}, nights[0].(map[string]any)["channels"])
	require.Equal(t, []any{map[string]any{"channel": "expedia", "available": float64(3), "acked_at": "2027-03-30T10:00:00Z"}},
		nights[1].(map[string]any)["channels"])
	require.Equal(t, map[string]any{"night": "2027-04-02", "units": float64(4), "overbooking_factor": "1.00", "limit": float64(4),
		"sold": float64(0), "closed": false, "available": float64(4), "channels": nights[1].(map[string]any)["channels"]}, nights[1])
}

func TestNightRangeEditsSetUnitsFactorAndStopSell(t *testing.T) {
	t.Parallel()
	e := newAPI(t)
	e.hotel("P", 10)
	path := "/api/v1/properties/P/pools/DBL/nights?from=2027-09-01&to=2027-09-03"
	r := e.must(http.StatusOK, "PUT", path, map[string]any{"units": 8, "overbooking_factor": "1.25"}).JSON(t)
	nights := r["nights"].([]any)
	require.Len(t, nights, 2)
	require.Equal(t, float64(10), nights[0].(map[string]any)["limit"])
	e.must(http.StatusOK, "PUT", path, map[string]any{"closed": true})
	a := e.must(http.StatusOK, "GET", "/api/v1/properties/P/availability?from=2027-09-01&to=2027-09-04", nil).JSON(t)
	ns := a["pools"].([]any)[0].(map[string]any)["nights"].([]any)
	require.Equal(t, float64(0), ns[0].(map[string]any)["available"])
	require.Equal(t, true, ns[1].(map[string]any)["closed"])
	require.Equal(t, float64(10), ns[2].(map[string]any)["available"], "the night after the range is untouched")
	problemOf(t, e.do("PUT", path, e.admin, map[string]any{}), http.StatusBadRequest)
	p := problemOf(t, e.do("PUT", path, e.admin, map[string]any{"overbooking_factor": 1.5}), http.StatusBadRequest)
	require.Equal(t, "overbooking_factor", p["errors"].([]any)[0].(map[string]any)["field"])
	problemOf(t, e.do("PUT", strings.Replace(path, "DBL", "NOPE", 1), e.admin, map[string]any{"units": 1}), http.StatusNotFound)
}

func TestNightRangeEditOfSomeDaysOfTheWeek(t *testing.T) {
	t.Parallel()
	e := newAPI(t)
	e.hotel("P", 10)
	// Wednesday 1 to Wednesday 15 September 2027 (exclusive): Fridays 3 and 10, Saturdays 4 and 11.
	r := e.must(http.StatusOK, "PUT", "/api/v1/properties/P/pools/DBL/nights?from=2027-09-01&to=2027-09-15&days=fri,Sat", map[string]any{"closed": true}).JSON(t)
	var closed []string
	for _, n := range r["nights"].([]any) {
		if n := n.(map[string]any); n["closed"] == true {
			closed = append(closed, n["night"].(string))
		}
	}
	require.Equal(t, []string{"2027-09-03", "2027-09-04", "2027-09-10", "2027-09-11"}, closed, "the answer lists every night of the range, and only the Fridays and Saturdays are closed")
	for _, bad := range []string{"from=2027-09-01&to=2027-09-15&days=weekend", "from=2027-09-01&to=2027-09-04&days=sun"} {
		path := "/api/v1/properties/P/pools/DBL/nights?" + bad
		p := problemOf(t, e.do("PUT", path, e.admin, map[string]any{"closed": true}), http.StatusBadRequest)
		require.Equal(t, "days", p["errors"].([]any)[0].(map[string]any)["field"], bad)
	}
}

func TestIncidentsAreListedAndResolved(t *testing.T) {
	t.Parallel()
	e := newAPI(t)
	e.hotel("P", 1)
	ctx := context.Background()
	for _, id := range []string{"E-1", "E-2"} {
		_, err := e.st.ApplyRevision(ctx, inventory.Revision{Property: "P", Channel: "expedia", ExternalID: id, Kind: inventory.New,
			Stays: []inventory.RoomStay{{RoomType: "DBL-STD", Arrival: inventory.MustDate("2027-10-01"), Departure: inventory.MustDate("2027-10-02")}}})
		require.NoError(t, err)
	}
	_, err := e.st.ApplyRevision(ctx, inventory.Revision{Property: "P", Channel: "expedia", ExternalID: "E-3", Kind: inventory.New,
		Stays: []inventory.RoomStay{{ChannelRoom: "PENTHOUSE", Arrival: inventory.MustDate("2027-10-01"), Departure: inventory.MustDate("2027-10-02")}}})
	require.NoError(t, err)

	list := e.must(http.StatusOK, "GET", "/api/v1/properties/P/incidents", nil).List(t)
	require.Len(t, list, 2)
	kinds := map[string]string{}
	for _, i := range list {
		kinds[i["kind"].(string)] = i["id"].(string)
	}
	require.Contains(t, kinds, "overbooking")
	require.Contains(t, kinds, "unmapped_booking")

	e.must(http.StatusNoContent, "POST", "/api/v1/properties/P/incidents/"+kinds["overbooking"]+"/resolve", nil)
	problemOf(t, e.do("POST", "/api/v1/properties/P/incidents/"+kinds["overbooking"]+"/resolve", e.admin, nil), http.StatusNotFound)
	open := e.must(http.StatusOK, "GET", "/api/v1/properties/P/incidents", nil).List(t)
	require.Len(t, open, 1)
	all := e.must(http.StatusOK, "GET", "/api/v1/properties/P/incidents?status=all", nil).List(t)
	require.Len(t, all, 2)
	for _, i := range all {
		if i["kind"] == "overbooking" {
			require.Equal(t, "api:admin", i["resolved_by"])
		}
	}
}

func TestPoolsAndChannelsChangeAndMappingsGo(t *testing.T) {
	t.Parallel()
	e := newAPI(t)
	e.hotel("P", 4)
	base := "/api/v1/properties/P"
	e.must(http.StatusOK, "PUT", base+"/pools/DBL/nights?from=2027-11-01&to=2027-11-02", map[string]any{"units": 2})
	p := e.must(http.StatusOK, "PATCH", base+"/pools/DBL", map[string]any{"units": 6, "overbooking_factor": "1.50"}).JSON(t)
	require.Equal(t, map[string]any{"code": "DBL", "name": "Double rooms", "units": float64(6), "overbooking_factor": "1.50"}, p)
	ns := e.must(http.StatusOK, "GET", base+"/availability?from=2027-11-01&to=2027-11-03", nil).JSON(t)["pools"].([]any)[0].(map[string]any)["nights"].([]any)
	require.Equal(t, float64(2), ns[0].(map[string]any)["units"], "an edited night keeps its units")
	require.Equal(t, float64(9), ns[1].(map[string]any)["limit"], "untouched nights take the new defaults")
	var pending int
	require.NoError(t, e.st.DB().QueryRow(context.Background(), `SELECT count(*) FROM outbox WHERE topic = 'availability' AND bulk AND done_at IS NULL`).Scan(&pending))
	require.GreaterOrEqual(t, pending, 2, "the fan-out hears of the change")
	problemOf(t, e.do("PATCH", base+"/pools/NOPE", e.admin, map[string]any{"units": 1}), http.StatusNotFound)

	ch := e.must(http.StatusOK, "PATCH", base+"/channels/expedia", map[string]any{"enabled": false, "rate_limit": 30, "endpoint": "https://x.test"}).JSON(t)
	require.Equal(t, false, ch["enabled"])
	require.Equal(t, float64(30), ch["rate_limit"])
	require.Equal(t, "ota_push", ch["kind"])
	p2 := problemOf(t, e.do("PATCH", base+"/channels/expedia", e.admin, map[string]any{"kind": "pms"}), http.StatusBadRequest)
	require.Equal(t, "kind", p2["errors"].([]any)[0].(map[string]any)["field"])

	e.must(http.StatusNoContent, "DELETE", base+"/channels/expedia/mappings?channel_room=DBL", nil)
	require.Empty(t, e.must(http.StatusOK, "GET", base+"/channels/expedia/mappings", nil).List(t))
	problemOf(t, e.do("DELETE", base+"/channels/expedia/mappings?channel_room=DBL", e.admin, nil), http.StatusNotFound)
}

// A mapping stored through the API gives the channel's bookings parked for
// its code their rooms before it answers; the answer is the mapping, as
// before.
func TestAMappingThroughTheAPIGivesParkedBookingsTheirRooms(t *testing.T) {
	t.Parallel()
	e := newAPI(t)
	e.hotel("P", 4)
	ctx := context.Background()
	out, err := e.st.ApplyRevision(ctx, inventory.Revision{Property: "P", Channel: "expedia", ExternalID: "EXP-9", Kind: inventory.New,
		Mode: inventory.MustAccept, Stays: []inventory.RoomStay{{ChannelRoom: "SEA", ChannelRate: "RACK",
			Arrival: inventory.MustDate("2031-03-01"), Departure: inventory.MustDate("2031-03-03"), Rooms: 2}}})
	require.NoError(t, err)
	require.True(t, out.Parked)
	base := "/api/v1/properties/P"

	body := e.must(http.StatusOK, "PUT", base+"/channels/expedia/mappings", map[string]any{"channel_room": "SEA", "room_type": "DBL-STD"}).JSON(t)
	require.Equal(t, map[string]any{"channel_room": "SEA", "room_type": "DBL-STD"}, body)

	res := e.must(http.StatusOK, "GET", base+"/reservations/expedia/EXP-9", nil).JSON(t)
	require.Equal(t, false, res["parked"])
	require.Equal(t, "DBL-STD", res["stays"].([]any)[0].(map[string]any)["room_type"])
	ns := e.must(http.StatusOK, "GET", base+"/availability?from=2031-03-01&to=2031-03-03", nil).JSON(t)["pools"].([]any)[0].(map[string]any)["nights"].([]any)
	for _, n := range ns {
		require.Equal(t, float64(2), n.(map[string]any)["sold"])
	}
	require.Empty(t, e.must(http.StatusOK, "GET", base+"/incidents", nil).List(t))
}

// Input PostgreSQL cannot hold — a rate limit beyond any channel's, a NUL
// character in a code, id or name — and an endpoint keyrack cannot deliver
// to are answered 400 naming the field, and change nothing.
func TestInputTheStoreCannotHoldIsRefusedNamingTheField(t *testing.T) {
	t.Parallel()
	e := newAPI(t)
	e.hotel("P", 3)
	p := "/api/v1/properties/P"
	e.router = nil // these requests are invalid on purpose
	for _, c := range []struct {
		name, method, path string
		body               any
		field              string
	}{
		{"rate_limit too big", "POST", p + "/channels", map[string]any{"code": "c3", "kind": "ota_push", "rate_limit": 1 << 40}, "rate_limit"},
		{"rate_limit too big in a change", "PATCH", p + "/channels/expedia", map[string]any{"rate_limit": 1 << 40}, "rate_limit"},
		{"endpoint not a URL", "POST", p + "/channels", map[string]any{"code": "c3", "kind": "ota_push", "endpoint": "not a url"}, "endpoint"},
		{"endpoint javascript:", "PATCH", p + "/channels/expedia", map[string]any{"endpoint": "javascript:alert(1)"}, "endpoint"},
		{"endpoint without host", "PATCH", p + "/channels/expedia", map[string]any{"endpoint": "https:///ota"}, "endpoint"},
		{"NUL in channel_room", "PUT", p + "/channels/expedia/mappings", map[string]any{"channel_room": "a\x00b", "room_type": "DBL-STD"}, "channel_room"},
		{"NUL in reservation id", "POST", p + "/reservations", map[string]any{"id": "R\x00", "channel": "pms",
			"stays": []any{map[string]any{"room_type": "DBL-STD", "arrival": "2027-05-01", "departure": "2027-05-02"}}}, "id"},
		{"NUL in a stay", "POST", p + "/reservations", map[string]any{"id": "R-1", "channel": "pms",
			"stays": []any{map[string]any{"room_type": "DBL\x00", "arrival": "2027-05-01", "departure": "2027-05-02"}}}, "stays[0].room_type"},
		{"NUL in pool name", "POST", p + "/pools", map[string]any{"code": "Z", "name": "a\x00", "units": 3}, "name"},
		{"NUL in API key name", "POST", "/api/v1/api-keys", map[string]any{"name": "a\x00"}, "name"},
	} {
		pr := problemOf(t, e.do(c.method, c.path, e.admin, c.body), http.StatusBadRequest)
		require.Equal(t, c.field, pr["errors"].([]any)[0].(map[string]any)["field"], c.name)
	}
	ch := e.must(http.StatusOK, "GET", p+"/channels/expedia", nil).JSON(t)
	require.NotContains(t, ch, "endpoint", "nothing changed")
	require.Equal(t, float64(0), ch["rate_limit"])
	problemOf(t, e.do("GET", p+"/channels/c3", e.admin, nil), http.StatusNotFound)
	require.Len(t, e.must(http.StatusOK, "GET", p+"/pools", nil).List(t), 1)
	e.must(http.StatusOK, "PATCH", p+"/channels/expedia", map[string]any{"endpoint": "http://channel.example:8080/ari", "rate_limit": 1_000_000})
}

// A code an OTA XML channel's messages cannot carry (a room code past
// OpenTravel's 16 characters, a hotel code past its 16, spaces around a
// code) is answered 400 saying why, and nothing is stored.
func TestAPIRefusesChannelCodesOpenTravelCannotCarry(t *testing.T) {
	t.Parallel()
	e := newAPI(t)
	e.hotel("P", 3)
	p := "/api/v1/properties/P"
	e.router = nil // these requests are invalid on purpose
	for _, c := range []struct {
		method, path string
		body         any
		says         string
	}{
		{"PUT", p + "/channels/expedia/mappings", map[string]any{"channel_room": "DOUBLE-SEA-VIEW-1", "room_type": "DBL-STD"}, "OpenTravel allows at most 16"},
		{"PUT", p + "/channels/expedia/mappings", map[string]any{"channel_room": "SEA ", "room_type": "DBL-STD"}, "spaces"},
		{"PATCH", p + "/channels/expedia", map[string]any{"hotel_code": "12345678901234567"}, "OpenTravel allows at most 16"},
		{"POST", p + "/channels", map[string]any{"code": "c3", "kind": "gds", "hotel_code": "12345678901234567"}, "OpenTravel allows at most 16"},
	} {
		pr := problemOf(t, e.do(c.method, c.path, e.admin, c.body), http.StatusBadRequest)
		require.Contains(t, pr["detail"], c.says, "%s %s", c.method, c.path)
	}
	require.Len(t, e.must(http.StatusOK, "GET", p+"/channels/expedia/mappings", nil).List(t), 1, "the hotel's DBL only")
	problemOf(t, e.do("GET", p+"/channels/c3", e.admin, nil), http.StatusNotFound)
	require.NotContains(t, e.must(http.StatusOK, "GET", p+"/channels/expedia", nil).JSON(t), "hotel_code")
}

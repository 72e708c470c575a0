package web_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/keyrack/keyrack/inventory"
	"github.com/stretchr/testify/require"
)

func TestICalFeedsAreSealedAndExportTokensShownOnceAndRevocable(t *testing.T) {
	t.Parallel()
	e := newAPI(t)
	e.hotel("P", 2)
	ctx := context.Background()
	base := "/api/v1/properties/P/channels/airbnb"
	e.must(http.StatusCreated, "POST", "/api/v1/properties/P/channels", map[string]any{"code": "airbnb", "kind": "ical"})

	feedURL := "https://www.airbnb.test/calendar/ical/123.ics?s=t0psecret"
	f := e.must(http.StatusOK, "PUT", base+"/ical-feeds", map[string]any{"room_type": "DBL-STD", "url": feedURL})
	require.NotContains(t, string(f.Body), "t0psecret")
	feeds := e.must(http.StatusOK, "GET", base+"/ical-feeds", nil)
	require.NotContains(t, string(feeds.Body), "t0psecret")
	list := feeds.List(t)
	require.Len(t, list, 1)
	require.Equal(t, "www.airbnb.test", list[0]["host"])
	sec, _ := inventory.NewSecrets("test secret of keyrack's API tests")
	got, err := e.st.ICalFeedURL(ctx, sec, "P", int64(list[0]["id"].(float64)))
	require.NoError(t, err)
	require.Equal(t, feedURL, got)
	var n int
	require.NoError(t, e.st.DB().QueryRow(ctx, `SELECT count(*) FROM ical_feeds WHERE position('t0psecret' in encode(url_sealed, 'escape')) > 0`).Scan(&n))
	require.Zero(t, n)

	p := problemOf(t, e.do("PUT", base+"/ical-feeds", e.admin, map[string]any{"room_type": "DBL-STD", "url": "ftp://x"}), http.StatusBadRequest)
	require.Equal(t, "url", p["errors"].([]any)[0].(map[string]any)["field"])
	p = problemOf(t, e.do("PUT", base+"/ical-feeds", e.admin, map[string]any{"room_type": "NOPE", "url": feedURL}), http.StatusBadRequest)
	require.Equal(t, "room_type", p["errors"].([]any)[0].(map[string]any)["field"])
	problemOf(t, e.do("PUT", "/api/v1/properties/P/channels/expedia/ical-feeds", e.admin, map[string]any{"room_type": "DBL-STD", "url": feedURL}), http.StatusBadRequest)

	tok := e.must(http.StatusCreated, "POST", base+"/export-tokens", map[string]any{"room_type": "DBL-STD"}).JSON(t)
	token := tok["token"].(string)
	require.Equal(t, "/ical/"+token+".ics", tok["path"])
	target, err := e.st.LookupExportToken(ctx, token)
	require.NoError(t, err)
	require.Equal(t, inventory.ExportTokenTarget{Property: "P", Channel: "airbnb", RoomType: "DBL-STD"}, target)
	tokens := e.must(http.StatusOK, "GET", base+"/export-tokens", nil)
	require.NotContains(t, string(tokens.Body), token)
	id := tokens.List(t)[0]["id"].(float64)
	revoked := e.must(http.StatusOK, "DELETE", base+"/export-tokens/"+itoa(id), nil).JSON(t)
	require.NotEmpty(t, revoked["revoked_at"])
	_, err = e.st.LookupExportToken(ctx, token)
	require.Equal(t, inventory.ENOTFOUND, inventory.ErrorCode(err))

	e.must(http.StatusNoContent, "DELETE", base+"/ical-feeds/"+itoa(list[0]["id"].(float64)), nil)
	require.Empty(t, e.must(http.StatusOK, "GET", base+"/ical-feeds", nil).List(t))
}

func itoa(f float64) string { return jsonNumber(int64(f)) }

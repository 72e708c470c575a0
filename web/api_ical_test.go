package web_test

import (
	"context"
	"log/slog"
	"net/http"
	"testing"

	"github.com/keyrack/keyrack/inventory"
	"github.com/keyrack/keyrack/web"
	"github.com/stretchr/testify/require"
)

// icalAPI is the API with hotel P and its iCal channel airbnb, whose path
// it returns.
func icalAPI(t *testing.T) (*apiEnv, string) {
	e := newAPI(t)
	e.hotel("P", 2)
	e.must(http.StatusCreated, "POST", "/api/v1/properties/P/channels", map[string]any{"code": "airbnb", "kind": "ical"})
	return e, "/api/v1/properties/P/channels/airbnb"
}

// An export URL is shown once and kept only as a hash; an Idempotency-Key
// keeps the answer that showed it sealed, so that the database does not
// hold the live URL for a day, and the replay still shows it. Without
// KEYRACK_SECRET the answer is not kept: the replay says so (409) and makes
// no second calendar.
func TestAnExportURLKeptForAnIdempotencyKeyIsSealed(t *testing.T) {
	t.Parallel()
	e, base := icalAPI(t)
	ctx := context.Background()
	kept := func(token string) (plain, sealed int) {
		t.Helper()
		require.NoError(t, e.st.DB().QueryRow(ctx, `SELECT count(*) FILTER (WHERE position($1::bytea in response) > 0), count(*) FILTER (WHERE sealed)
			FROM idempotency_keys`, []byte(token)).Scan(&plain, &sealed))
		return plain, sealed
	}

	body := map[string]any{"room_type": "DBL-STD"}
	first := e.must(http.StatusCreated, "POST", base+"/export-tokens", body, "Idempotency-Key", "tok-1")
	token := first.JSON(t)["token"].(string)
	again := e.must(http.StatusCreated, "POST", base+"/export-tokens", body, "Idempotency-Key", "tok-1")
	require.Equal(t, "true", again.Header.Get("Idempotent-Replayed"))
	require.Equal(t, string(first.Body), string(again.Body), "the replay shows the same URL")
	plain, sealed := kept(token)
	require.Zero(t, plain, "the URL is not readable in the database")
	require.Equal(t, 1, sealed)

	id := itoa(first.JSON(t)["id"].(float64))
	rotated := e.must(http.StatusCreated, "POST", base+"/export-tokens/"+id+"/rotate", nil, "Idempotency-Key", "rot-1")
	require.Equal(t, string(rotated.Body), string(e.must(http.StatusCreated, "POST", base+"/export-tokens/"+id+"/rotate", nil, "Idempotency-Key", "rot-1").Body))
	plain, sealed = kept(rotated.JSON(t)["token"].(string))
	require.Zero(t, plain)
	require.Equal(t, 2, sealed)
	require.Len(t, e.must(http.StatusOK, "GET", base+"/export-tokens", nil).List(t), 2, "one calendar made, then rotated once")

	// A server without KEYRACK_SECRET, on the same database.
	without := *e
	without.ts = newTestServer(t, web.New(web.Config{Store: e.st, Logger: slog.New(slog.DiscardHandler)}))
	without.router = openAPIRouter(t, without.ts.URL)
	e = &without
	// An answer another server kept sealed cannot be opened here.
	p := problemOf(t, e.do("POST", base+"/export-tokens", e.admin, body, "Idempotency-Key", "tok-1"), http.StatusConflict)
	require.Contains(t, p["detail"], "showed a secret once")
	first = e.must(http.StatusCreated, "POST", base+"/export-tokens", body, "Idempotency-Key", "tok-2")
	plain, _ = kept(first.JSON(t)["token"].(string))
	require.Zero(t, plain)
	p = problemOf(t, e.do("POST", base+"/export-tokens", e.admin, body, "Idempotency-Key", "tok-2"), http.StatusConflict)
	require.Contains(t, p["detail"], "showed a secret once")
	require.Len(t, e.must(http.StatusOK, "GET", base+"/export-tokens", nil).List(t), 3, "the replay made no second calendar")
}

func TestICalFeedsAreSealedAndExportTokensShownOnceAndRevocable(t *testing.T) {
	t.Parallel()
	e, base := icalAPI(t)
	ctx := context.Background()

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
	require.Equal(t, []string{"P", "airbnb", "DBL-STD"}, []string{target.Property, target.Channel, target.RoomType})
	require.Equal(t, 365, target.Horizon)
	require.Equal(t, "Europe/Lisbon", target.Location.String())
	require.Equal(t, http.StatusOK, e.get("/ical/"+token+".ics").Status)

	// Rotating gives a new token for the same calendar; the old one stops at once.
	rotated := e.must(http.StatusCreated, "POST", base+"/export-tokens/"+itoa(tok["id"].(float64))+"/rotate", nil).JSON(t)
	require.NotEqual(t, token, rotated["token"])
	require.Equal(t, "DBL-STD", rotated["room_type"])
	require.Equal(t, http.StatusNotFound, e.get("/ical/"+token+".ics").Status)
	require.Equal(t, http.StatusOK, e.get(rotated["path"].(string)).Status)
	problemOf(t, e.do("POST", base+"/export-tokens/"+itoa(tok["id"].(float64))+"/rotate", e.admin, nil), http.StatusNotFound)
	token = rotated["token"].(string)
	tokens := e.must(http.StatusOK, "GET", base+"/export-tokens", nil)
	require.NotContains(t, string(tokens.Body), token)
	require.Len(t, tokens.List(t), 2, "the rotated token stays listed, revoked")
	id := rotated["id"].(float64)
	revoked := e.must(http.StatusOK, "DELETE", base+"/export-tokens/"+itoa(id), nil).JSON(t)
	require.NotEmpty(t, revoked["revoked_at"])
	_, err = e.st.LookupExportToken(ctx, token)
	require.Equal(t, inventory.ENOTFOUND, inventory.ErrorCode(err))

	require.Equal(t, http.StatusNotFound, e.get("/ical/"+token+".ics").Status, "a revoked token opens nothing")

	// Sync now makes the feed due at once.
	feedID := itoa(list[0]["id"].(float64))
	_, err = e.st.DB().Exec(ctx, `UPDATE ical_feeds SET next_fetch_at = now() + interval '1 hour'`)
	require.NoError(t, err)
	e.must(http.StatusAccepted, "POST", base+"/ical-feeds/"+feedID+"/sync", nil)
	var due bool
	require.NoError(t, e.st.DB().QueryRow(ctx, `SELECT next_fetch_at <= now() FROM ical_feeds`).Scan(&due))
	require.True(t, due)
	problemOf(t, e.do("POST", base+"/ical-feeds/999999/sync", e.admin, nil), http.StatusNotFound)
	problemOf(t, e.do("PUT", base+"/ical-feeds", e.admin, map[string]any{"room_type": "DBL-STD", "url": feedURL, "poll_interval_s": 5}), http.StatusBadRequest)
	f = e.must(http.StatusOK, "PUT", base+"/ical-feeds", map[string]any{"room_type": "DBL-STD", "url": feedURL, "poll_interval_s": 600})
	require.Equal(t, float64(600), f.JSON(t)["poll_interval_s"])

	e.must(http.StatusNoContent, "DELETE", base+"/ical-feeds/"+feedID, nil)
	require.Empty(t, e.must(http.StatusOK, "GET", base+"/ical-feeds", nil).List(t))
}

func itoa(f float64) string { return jsonNumber(int64(f)) }

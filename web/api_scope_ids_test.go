package web_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/keyrack/keyrack/inventory"
	"github.com/stretchr/testify/require"
)

// TestAPropertyKeyCannotReachAnotherPropertysRecordsByID: ids are global
// sequences, so a key of P naming an id of Q under its own property path
// must get a 404 and leave Q's record as it was.
func TestAPropertyKeyCannotReachAnotherPropertysRecordsByID(t *testing.T) {
	t.Parallel()
	e := newAPI(t)
	ctx := context.Background()
	for _, p := range []string{"P", "Q"} {
		e.hotel(p, 2)
		e.must(http.StatusCreated, "POST", "/api/v1/properties/"+p+"/channels", map[string]any{"code": "airbnb", "kind": "ical"})
	}
	keyP := e.propertyKey("P")

	// Q's iCal feed.
	e.must(http.StatusOK, "PUT", "/api/v1/properties/Q/channels/airbnb/ical-feeds", map[string]any{"room_type": "DBL-STD", "url": "https://www.airbnb.test/q.ics"})
	feeds := e.must(http.StatusOK, "GET", "/api/v1/properties/Q/channels/airbnb/ical-feeds", nil).List(t)
	require.Len(t, feeds, 1)
	feedID := itoa(feeds[0]["id"].(float64))
	problemOf(t, e.do("DELETE", "/api/v1/properties/P/channels/airbnb/ical-feeds/"+feedID, keyP, nil), http.StatusNotFound)
	require.Len(t, e.must(http.StatusOK, "GET", "/api/v1/properties/Q/channels/airbnb/ical-feeds", nil).List(t), 1, "Q's feed is still there")

	// Q's export token.
	tok := e.must(http.StatusCreated, "POST", "/api/v1/properties/Q/channels/airbnb/export-tokens", map[string]any{"room_type": "DBL-STD"}).JSON(t)
	problemOf(t, e.do("DELETE", "/api/v1/properties/P/channels/airbnb/export-tokens/"+itoa(tok["id"].(float64)), keyP, nil), http.StatusNotFound)
	_, err := e.st.LookupExportToken(ctx, tok["token"].(string))
	require.NoError(t, err, "Q's calendar still answers")

	// Q's incident (a booking for a room the channel does not map).
	_, err = e.st.ApplyRevision(ctx, inventory.Revision{Property: "Q", Channel: "expedia", ExternalID: "E-9", Kind: inventory.New,
		Stays: []inventory.RoomStay{{ChannelRoom: "NOPE", Arrival: inventory.MustDate("2027-12-01"), Departure: inventory.MustDate("2027-12-02")}}})
	require.NoError(t, err)
	incidents := e.must(http.StatusOK, "GET", "/api/v1/properties/Q/incidents", nil).List(t)
	require.Len(t, incidents, 1)
	incID := incidents[0]["id"].(string)
	problemOf(t, e.do("POST", "/api/v1/properties/P/incidents/"+incID+"/resolve", keyP, nil), http.StatusNotFound)
	require.Len(t, e.must(http.StatusOK, "GET", "/api/v1/properties/Q/incidents", nil).List(t), 1, "Q's incident is still open")
}

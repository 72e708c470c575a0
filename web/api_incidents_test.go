package web_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/keyrack/keyrack/inventory"
	"github.com/stretchr/testify/require"
)

func TestFailedDeliveriesAreListedAsIncidentsAndRetriedOnResolve(t *testing.T) {
	t.Parallel()
	e := newAPI(t)
	e.hotel("P", 2)
	f, redisURL, prefix := e.withFanout()

	// A delivery to expedia that ran out of retries, as asynq keeps it.
	archiveDelivery(t, e.st, redisURL, prefix+"critical", "P", "expedia")

	_, err := e.st.ApplyRevision(context.Background(), inventory.Revision{Property: "P", Channel: "expedia", ExternalID: "E-9", Kind: inventory.New,
		Stays: []inventory.RoomStay{{ChannelRoom: "NOPE", Arrival: inventory.MustDate("2027-12-01"), Departure: inventory.MustDate("2027-12-02")}}})
	require.NoError(t, err)

	list := e.must(http.StatusOK, "GET", "/api/v1/properties/P/incidents", nil).List(t)
	require.Len(t, list, 2)
	var failed map[string]any
	for _, i := range list {
		if i["kind"] == "failed_delivery" {
			failed = i
		}
	}
	require.NotNil(t, failed, "%v", list)
	require.Equal(t, "expedia", failed["details"].(map[string]any)["channel"])

	// Another property's key sees none of it.
	e.hotel("Q", 1)
	require.Len(t, e.do("GET", "/api/v1/properties/Q/incidents", e.propertyKey("Q"), nil).List(t), 0)

	problemOf(t, e.do("POST", "/api/v1/properties/Q/incidents/"+failed["id"].(string)+"/resolve", e.admin, nil), http.StatusNotFound)
	e.must(http.StatusNoContent, "POST", "/api/v1/properties/P/incidents/"+failed["id"].(string)+"/resolve", nil)
	archived, err := f.Archived(context.Background())
	require.NoError(t, err)
	require.Empty(t, archived, "resolving runs the delivery again")
}

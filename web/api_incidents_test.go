package web_test

import (
	"cmp"
	"context"
	"net/http"
	"regexp"
	"slices"
	"strconv"
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

// A hotel's incidents are listed a page at a time: ?status=all gave every
// incident the property ever had in one answer.
func TestIncidentsArePagedNewestFirst(t *testing.T) {
	t.Parallel()
	e := newAPI(t)
	e.hotel("P", 2)
	_, redisURL, prefix := e.withFanout()
	archiveDelivery(t, e.st, redisURL, prefix+"critical", "P", "expedia")
	// 250 incidents, every fifth resolved.
	_, err := e.st.DB().Exec(context.Background(), `INSERT INTO incidents (property_id, kind, message, resolved_at)
		SELECT p.id, 'unmapped_booking', 'parked booking '||n, CASE WHEN n % 5 = 0 THEN now() END
		FROM properties p, generate_series(1, 250) n WHERE p.code = 'P'`)
	require.NoError(t, err)

	// Reads every page from path on, following Link rel="next".
	pages := func(path string) (pages [][]map[string]any) {
		for path != "" {
			r := e.must(http.StatusOK, "GET", path, nil)
			pages = append(pages, r.List(t))
			path = ""
			if l := r.Header.Get("Link"); l != "" {
				m := regexp.MustCompile(`^<(/api/v1/[^>]+)>; rel="next"$`).FindStringSubmatch(l)
				require.NotNil(t, m, "Link: %s", l)
				path = m[1]
			}
			require.Less(t, len(pages), 10, "the pages do not end")
		}
		return pages
	}
	var delivery string
	ids := func(pages [][]map[string]any) (ids []int64) {
		for i, page := range pages {
			for _, inc := range page {
				if inc["kind"] == "failed_delivery" {
					require.Zero(t, i, "a failed delivery is listed on the first page only")
					delivery = inc["id"].(string)
					continue
				}
				id, err := strconv.ParseInt(inc["id"].(string), 10, 64)
				require.NoError(t, err)
				ids = append(ids, id)
			}
		}
		return ids
	}

	open := pages("/api/v1/properties/P/incidents")
	require.Len(t, open, 2)
	require.Len(t, open[0], 100+1, "100 incidents by default, then the failed delivery")
	openIDs := ids(open)
	require.Len(t, openIDs, 200)
	require.NotEmpty(t, delivery)
	require.True(t, slices.IsSortedFunc(openIDs, func(a, b int64) int { return cmp.Compare(b, a) }), "newest first, no repeats")

	all := pages("/api/v1/properties/P/incidents?status=all&limit=60")
	require.Len(t, all, 5)
	allIDs := ids(all)
	require.Len(t, allIDs, 250)
	require.Equal(t, len(allIDs), len(slices.Compact(slices.Clone(allIDs))))
	require.Len(t, pages("/api/v1/properties/P/incidents?status=all&limit=1000"), 1)

	for _, q := range []string{"limit=0", "limit=1001", "limit=x", "before=0", "before=x"} {
		problemOf(t, e.do("GET", "/api/v1/properties/P/incidents?"+q, e.admin, nil), http.StatusBadRequest)
	}
}

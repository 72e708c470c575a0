package sync_test

import (
	"context"
	"strings"
	"testing"

	"github.com/keyrack/keyrack/inventory/inventorytest"
	"github.com/keyrack/keyrack/sync"
	"github.com/stretchr/testify/require"
)

// The relay's mark of the nights a row's origin changed itself runs with a
// generic plan, made on each connection with the statistics of the moment
// — a new installation's first minutes: tables small and never analyzed.
// One such plan joined every acknowledgement of the property to every row
// id by property alone, then read the outbox for each pair: a relay of
// 1,000 rows ran for 75 s holding its dirty marks, and every delivery of
// the property waited (BenchmarkSyncLag: one run in five stalled, found
// with auto_explain). The rows are now read by their key first, on their
// own, whatever the planner guesses: the generic plan's CTE reading them
// touches the outbox and not the acknowledgements, with tables as small
// as they were then and as large as they grew.
func TestTheRelayReadsItsRowsByKeyBeforeTheAcknowledgements(t *testing.T) {
	t.Parallel()
	h := newHotel(t, hotelOptions{units: []int{100, 100, 100, 100}, noWorker: true})
	ctx := context.Background()
	db := h.st.DB()
	conn, err := db.Acquire(ctx)
	require.NoError(t, err)
	defer conn.Release()
	_, err = conn.Exec(ctx, `SET plan_cache_mode = force_generic_plan`)
	require.NoError(t, err)
	_, err = conn.Exec(ctx, `PREPARE own (bigint[], bigint[]) AS `+sync.RelayOwnSQL)
	require.NoError(t, err)
	check := func(when string) {
		t.Helper()
		p := inventorytest.Explain(t, conn, `EXPLAIN EXECUTE own ('{1}', '{1}')`)
		before, cte, ok := strings.Cut(p, "CTE c\n")
		require.True(t, ok, "%s: the rows are read in a CTE of their own:\n%s", when, p)
		_ = before
		// The CTE's subtree: its lines, indented deeper than its heading.
		var sub []string
		for _, l := range strings.Split(cte, "\n") {
			if strings.HasPrefix(strings.TrimLeft(l, " "), "CTE ") || !strings.HasPrefix(l, "   ") {
				break
			}
			sub = append(sub, l)
		}
		body := strings.Join(sub, "\n")
		require.Contains(t, body, "on outbox c", "%s:\n%s", when, p)
		require.NotContains(t, body, "sync_acks", "%s: no acknowledgement is read before the rows:\n%s", when, p)
	}
	check("empty tables")
	_, err = db.Exec(ctx, `INSERT INTO sync_acks (property_id, channel_id, pool_id, night, available, version)
		SELECT c.property_id, c.id, p.id, current_date + g, 100, 1 FROM channels c, pools p, generate_series(0, 365) g`)
	require.NoError(t, err)
	_, err = db.Exec(ctx, `INSERT INTO outbox (property_id, topic, pool_id, from_night, to_night, origin_channel_id)
		SELECT c.property_id, 'availability', p.id, current_date + 1, current_date + 2, c.id
		FROM channels c, pools p, generate_series(1, 250) g`)
	require.NoError(t, err)
	check("grown tables, the plan made when they were empty")
	_, err = db.Exec(ctx, `ANALYZE outbox; ANALYZE sync_acks`)
	require.NoError(t, err)
	check("analyzed")
}

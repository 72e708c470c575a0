package inventory_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/keyrack/keyrack/inventory"
	"github.com/stretchr/testify/require"
)

// churnOutbox writes n relayed outbox rows of the hotel's property on conn
// (and deletes them when remove is set), and waits until PostgreSQL's
// statistics count the changes.
func churnOutbox(t *testing.T, db *pgxpool.Pool, conn *pgxpool.Conn, n int, remove bool) {
	t.Helper()
	ctx := context.Background()
	var before int64
	require.NoError(t, db.QueryRow(ctx, `SELECT n_mod_since_analyze FROM pg_stat_user_tables
		WHERE schemaname = current_schema() AND relname = 'outbox'`).Scan(&before))
	_, err := conn.Exec(ctx, `INSERT INTO outbox (property_id, topic, reservation_id, revision_seq, done_at)
		SELECT (SELECT min(id) FROM properties), 'reservation', g, 1, now() FROM generate_series(1, $1::int) AS g`, n)
	require.NoError(t, err)
	want := before + int64(n)
	if remove {
		_, err = conn.Exec(ctx, `DELETE FROM outbox WHERE topic = 'reservation'`)
		require.NoError(t, err)
		want += int64(n)
	}
	waitCounted(t, db, conn, "outbox", want)
}

// waitCounted waits until PostgreSQL's statistics count at least want
// changes to table since its last analysis, conn's included.
func waitCounted(t *testing.T, db *pgxpool.Pool, conn *pgxpool.Conn, table string, want int64) {
	t.Helper()
	ctx := context.Background()
	// A backend reports its counts when it goes idle, at most once a second
	// unless told otherwise.
	_, err := conn.Exec(ctx, `SELECT pg_stat_force_next_flush()`)
	require.NoError(t, err)
	deadline := time.Now().Add(10 * time.Second)
	for {
		var got int64
		require.NoError(t, db.QueryRow(ctx, `SELECT n_mod_since_analyze FROM pg_stat_user_tables
			WHERE schemaname = current_schema() AND relname = $1`, table).Scan(&got))
		if got >= want {
			return
		}
		require.True(t, time.Now().Before(deadline), "the statistics never counted %s's changes: %d of %d", table, got, want)
		time.Sleep(50 * time.Millisecond)
	}
}

func maintained(did []inventory.Maintained, table string) *inventory.Maintained {
	for i := range did {
		if did[i].Table == table {
			return &did[i]
		}
	}
	return nil
}

// A generic plan made while a table was small stays until something
// invalidates it: without autovacuum, a prepared claim of the reservation
// feed kept reading every row of a grown outbox. MaintainTables's ANALYZE
// makes it plan again, with the table as it is.
func TestMaintainTablesReplansWhatATinyTablesStatisticsPlanned(t *testing.T) {
	h := newHotel(t, "UTC", []int{5}, 1, 1)
	ctx := context.Background()
	db := h.st.DB()
	conn, err := db.Acquire(ctx)
	require.NoError(t, err)
	defer conn.Release()
	_, err = conn.Exec(ctx, `ALTER TABLE outbox SET (autovacuum_enabled = false)`)
	require.NoError(t, err)
	_, err = conn.Exec(ctx, `ANALYZE outbox`)
	require.NoError(t, err)
	_, err = conn.Exec(ctx, `SET plan_cache_mode = force_generic_plan`)
	require.NoError(t, err)
	_, err = conn.Exec(ctx, `PREPARE claim (bigint) AS SELECT id FROM outbox
		WHERE property_id = $1 AND done_at IS NULL AND topic = 'reservation' ORDER BY id LIMIT 10`)
	require.NoError(t, err)
	plan := func() string {
		rows, err := conn.Query(ctx, `EXPLAIN EXECUTE claim (1)`)
		require.NoError(t, err)
		var lines []string
		for rows.Next() {
			var l string
			require.NoError(t, rows.Scan(&l))
			lines = append(lines, l)
		}
		require.NoError(t, rows.Err())
		return strings.Join(lines, "\n")
	}
	require.Contains(t, plan(), "Seq Scan on outbox", "the premise: an empty table's generic plan reads it whole")

	churnOutbox(t, db, conn, 20000, false)
	require.Contains(t, plan(), "Seq Scan on outbox", "nothing replans it: the plan reads 20,000 relayed rows")

	did, err := inventory.MaintainTables(ctx, db, true)
	require.NoError(t, err)
	m := maintained(did, "outbox")
	require.NotNil(t, m, "outbox changed 20,000 rows since its analysis: %+v", did)
	require.True(t, m.Analyzed)
	p := plan()
	require.NotContains(t, p, "Seq Scan on outbox")
	require.Contains(t, p, "outbox_reservation_pending", "the pending rows' index")
}

// MaintainTables vacuums a table with dead rows past autovacuum's threshold,
// analyzes one with changes past its analyze threshold, leaves the tables
// that did not change, and does not analyze a table twice for the same
// changes; with the server's autovacuum on it leaves every table to
// autovacuum. (Whether a vacuum can remove the dead rows depends on the
// oldest snapshot in the whole server — other tests' — so the test looks at
// what was run, not at the dead rows left.)
func TestMaintainTablesDoesWhatAutovacuumWouldWithItsThresholds(t *testing.T) {
	h := newHotel(t, "UTC", []int{5}, 1, 1)
	ctx := context.Background()
	db := h.st.DB()
	// Where the server runs autovacuum, it must not take these first.
	for _, table := range []string{"outbox", "audit_log"} {
		_, err := db.Exec(ctx, `ALTER TABLE `+table+` SET (autovacuum_enabled = false)`)
		require.NoError(t, err)
	}
	_, err := inventory.MaintainTables(ctx, db, true) // the migrations' and the hotel's rows
	require.NoError(t, err)
	counts := func(table string) (vacuums, analyzes int64) {
		require.NoError(t, db.QueryRow(ctx, `SELECT vacuum_count, analyze_count FROM pg_stat_user_tables
			WHERE schemaname = current_schema() AND relname = $1`, table).Scan(&vacuums, &analyzes))
		return vacuums, analyzes
	}
	outboxVacuums, _ := counts("outbox")
	_, auditAnalyzes := counts("audit_log")

	conn, err := db.Acquire(ctx)
	require.NoError(t, err)
	defer conn.Release()
	churnOutbox(t, db, conn, 500, true) // 500 dead rows
	_, err = conn.Exec(ctx, `INSERT INTO audit_log (property_id, actor, action, subject)
		SELECT (SELECT min(id) FROM properties), 'system', 'test', 'row ' || g FROM generate_series(1, 500) AS g`)
	require.NoError(t, err)
	waitCounted(t, db, conn, "audit_log", 500)

	did, err := inventory.MaintainTables(ctx, db, true)
	require.NoError(t, err)
	for _, m := range did {
		if m.Table != "outbox" && m.Table != "audit_log" {
			// Only dead rows an earlier vacuum could not remove yet bring
			// back a table that did not change.
			require.True(t, m.Vacuumed, "only the outbox and the audit log changed: %+v", did)
		}
	}
	m := maintained(did, "outbox")
	require.NotNil(t, m)
	require.True(t, m.Vacuumed && m.Analyzed, "dead rows: VACUUM (ANALYZE)")
	m = maintained(did, "audit_log")
	require.NotNil(t, m)
	require.True(t, m.Analyzed && !m.Vacuumed, "new rows, none dead: ANALYZE")
	v, _ := counts("outbox")
	require.Equal(t, outboxVacuums+1, v)
	_, a := counts("audit_log")
	require.Equal(t, auditAnalyzes+1, a)

	did, err = inventory.MaintainTables(ctx, db, true)
	require.NoError(t, err)
	require.Nil(t, maintained(did, "audit_log"), "analyzed for these changes already")

	// It paced itself as autovacuum does on a connection of the pool, and
	// gave it back with the server's settings.
	for _, c := range db.AcquireAllIdle(ctx) {
		var changed bool
		require.NoError(t, c.QueryRow(ctx, `SELECT bool_or(setting IS DISTINCT FROM reset_val) FROM pg_settings
			WHERE name IN ('vacuum_cost_delay', 'vacuum_cost_limit')`).Scan(&changed))
		c.Release()
		require.False(t, changed)
	}

	// Left to the server's autovacuum when it runs.
	var autovacuum bool
	require.NoError(t, db.QueryRow(ctx, `SELECT current_setting('autovacuum')::bool`).Scan(&autovacuum))
	churnOutbox(t, db, conn, 500, true)
	did, err = inventory.MaintainTables(ctx, db, false)
	require.NoError(t, err)
	if autovacuum {
		require.Empty(t, did)
	} else {
		require.NotNil(t, maintained(did, "outbox"))
	}
}

package inventory_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strings"
	gosync "sync"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/keyrack/keyrack/inventory"
	"github.com/keyrack/keyrack/inventory/inventorytest"
	"github.com/stretchr/testify/require"
)

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
	ctx := context.Background()
	// Other tests' catalog changes would make the session drop its plans
	// before the maintenance runs: any CREATE or DROP SCHEMA in the same
	// database does (the test runs in a database of its own for that), and
	// so does a burst of DDL anywhere that overflows PostgreSQL's
	// invalidation queue (rare; the set-up is then tried again).
	var db *pgxpool.Pool
	var plan func() string
	for attempt := 1; ; attempt++ {
		var stale bool
		db, plan, stale = stalePlan(t)
		if stale {
			break
		}
		require.Less(t, attempt, 3, "nothing replans it: the plan reads 20,000 relayed rows")
		t.Logf("attempt %d: the plan was made again before the maintenance (an invalidation reset?); once more", attempt)
	}

	did, err := inventory.MaintainTables(ctx, db, true)
	require.NoError(t, err)
	m := maintained(did, "outbox")
	require.NotNil(t, m, "outbox changed 20,000 rows since its analysis: %+v", did)
	require.True(t, m.Analyzed)
	p := plan()
	require.NotContains(t, p, "Seq Scan on outbox")
	require.Contains(t, p, "outbox_reservation_pending", "the pending rows' index")
}

// stalePlan prepares, on a connection of a fresh schema's pool, a claim of
// the outbox with its generic plan made while the outbox is empty, writes
// 20,000 relayed rows, and reports whether the plan still reads the table
// whole. plan explains the prepared claim on that connection.
func stalePlan(t *testing.T) (db *pgxpool.Pool, plan func() string, stale bool) {
	h := newHotelIn(t, inventorytest.Open(t, inventorytest.Database(t)), "H1", "UTC", []int{5}, 1, 1)
	ctx := context.Background()
	db = h.st.DB()
	conn, err := db.Acquire(ctx)
	require.NoError(t, err)
	t.Cleanup(conn.Release)
	_, err = conn.Exec(ctx, `ALTER TABLE outbox SET (autovacuum_enabled = false)`)
	require.NoError(t, err)
	_, err = conn.Exec(ctx, `ANALYZE outbox`)
	require.NoError(t, err)
	_, err = conn.Exec(ctx, `SET plan_cache_mode = force_generic_plan`)
	require.NoError(t, err)
	_, err = conn.Exec(ctx, `PREPARE claim (bigint) AS SELECT id FROM outbox
		WHERE property_id = $1 AND done_at IS NULL AND topic = 'reservation' ORDER BY id LIMIT 10`)
	require.NoError(t, err)
	plan = func() string { return inventorytest.Explain(t, conn, `EXPLAIN EXECUTE claim (1)`) }
	require.Contains(t, plan(), "Seq Scan on outbox", "the premise: an empty table's generic plan reads it whole")

	inventorytest.ChurnOutbox(t, db, conn, 20000, false)
	return db, plan, strings.Contains(plan(), "Seq Scan on outbox")
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
	inventorytest.ChurnOutbox(t, db, conn, 500, true) // 500 dead rows
	_, err = conn.Exec(ctx, `INSERT INTO audit_log (property_id, actor, action, subject)
		SELECT (SELECT min(id) FROM properties), 'system', 'test', 'row ' || g FROM generate_series(1, 500) AS g`)
	require.NoError(t, err)
	inventorytest.WaitCounted(t, db, conn, "audit_log", 500)

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
	inventorytest.ChurnOutbox(t, db, conn, 500, true)
	did, err = inventory.MaintainTables(ctx, db, false)
	require.NoError(t, err)
	if autovacuum {
		require.Empty(t, did)
	} else {
		require.NotNil(t, maintained(did, "outbox"))
	}
}

// A database user that owns neither a table nor the database may not
// vacuum or analyze it: PostgreSQL would skip it with a warning in its log
// at every round. MaintainTables leaves such a table alone and says so.
func TestMaintainTablesLeavesTablesItsUserMayNotMaintain(t *testing.T) {
	h := newHotel(t, "UTC", []int{5}, 1, 1)
	ctx := context.Background()
	db := h.st.DB()
	var b [6]byte
	_, _ = rand.Read(b[:])
	role, password := "keyrack_test_"+hex.EncodeToString(b[:]), hex.EncodeToString(b[:])
	var schema string
	require.NoError(t, db.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema))
	_, err := db.Exec(ctx, `CREATE ROLE `+role+` LOGIN PASSWORD '`+password+`'`)
	require.NoError(t, err)
	t.Cleanup(func() {
		for _, q := range []string{`DROP OWNED BY ` + role, `DROP ROLE ` + role} {
			if _, err := db.Exec(context.Background(), q); err != nil {
				t.Logf("%s: %v", q, err)
			}
		}
	})
	_, err = db.Exec(ctx, `GRANT USAGE ON SCHEMA `+schema+` TO `+role)
	require.NoError(t, err)

	cfg := db.Config().Copy()
	cfg.ConnConfig.User, cfg.ConnConfig.Password = role, password
	var notices []string
	var mu gosync.Mutex
	cfg.ConnConfig.OnNotice = func(_ *pgconn.PgConn, n *pgconn.Notice) {
		mu.Lock()
		defer mu.Unlock()
		notices = append(notices, n.Severity+": "+n.Message)
	}
	other, err := pgxpool.NewWithConfig(ctx, cfg)
	require.NoError(t, err)
	defer other.Close()

	conn, err := db.Acquire(ctx)
	require.NoError(t, err)
	defer conn.Release()
	inventorytest.ChurnOutbox(t, db, conn, 500, true) // 500 dead rows
	did, err := inventory.MaintainTables(ctx, other, true)
	require.NoError(t, err)
	m := maintained(did, "outbox")
	require.NotNil(t, m, "the outbox needs a vacuum: %+v", did)
	require.True(t, m.NotOwner && !m.Vacuumed && !m.Analyzed, "%+v", *m)
	mu.Lock()
	require.Empty(t, notices)
	mu.Unlock()

	// Its owner does it.
	did, err = inventory.MaintainTables(ctx, db, true)
	require.NoError(t, err)
	m = maintained(did, "outbox")
	require.NotNil(t, m)
	require.True(t, m.Vacuumed && !m.NotOwner, "%+v", *m)
}

// ANALYZE reads and sorts a sample of every column it keeps statistics of;
// the payload columns (raw messages, parsed revisions, guests, replies) are
// most of that work and no query filters or joins on them, so their
// statistics are not kept (migration 013). The columns queries do filter on
// keep theirs.
func TestAnalyzeKeepsNoStatisticsOfPayloadColumns(t *testing.T) {
	t.Parallel()
	h := newHotel(t, "UTC", []int{5}, 1, 1)
	ctx := context.Background()
	rev := h.booking("C0", "A", inventory.New, "R0", "2026-12-01", 2, 1, inventory.MustAccept)
	rev.Raw, rev.ContentType = []byte(`<OTA_HotelResNotifRQ/>`), "application/xml"
	_, err := h.st.ApplyRevision(ctx, rev)
	require.NoError(t, err)
	_, err = h.st.RecordInbound(ctx, inventory.InboundMessage{Property: h.code, Channel: "C0", Direction: "push",
		Outcome: "ok", Raw: "<OTA_HotelResNotifRQ/>", Reply: "<OTA_HotelResNotifRS/>", Detail: "ok"})
	require.NoError(t, err)
	_, err = h.st.RecordInbound(ctx, inventory.InboundMessage{Channel: "C0", Direction: "push", Remote: "192.0.2.1",
		Outcome: "unauthenticated", HTTPStatus: 401, Raw: "<OTA_HotelResNotifRQ/>", Reply: "<OTA_HotelResNotifRS/>", Detail: "who?"})
	require.NoError(t, err)
	db := h.st.DB()
	payload := map[string][]string{
		"reservations":          {"stays", "guest", "held"},
		"reservation_revisions": {"content_hash", "revision", "raw", "outcome"},
		"audit_log":             {"details"},
		"inbound_messages":      {"raw", "reply", "detail"},
		"inbound_unattributed":  {"raw", "reply", "detail"},
	}
	kept := map[string][]string{
		"reservations":          {"status", "arrival", "departure", "external_id"},
		"reservation_revisions": {"reservation_id", "seq"},
		"audit_log":             {"subject"},
		"inbound_messages":      {"channel_code"},
		"inbound_unattributed":  {"channel_code"},
	}
	for table := range payload {
		_, err := db.Exec(ctx, `ANALYZE `+table)
		require.NoError(t, err)
		var cols []string
		rows, _ := db.Query(ctx, `SELECT attname::text FROM pg_stats WHERE schemaname = current_schema() AND tablename = $1`, table)
		for rows.Next() {
			var c string
			require.NoError(t, rows.Scan(&c))
			cols = append(cols, c)
		}
		require.NoError(t, rows.Err())
		for _, c := range payload[table] {
			require.NotContains(t, cols, c, "%s.%s: no statistics", table, c)
		}
		for _, c := range kept[table] {
			require.Contains(t, cols, c, "%s.%s: statistics kept", table, c)
		}
	}
}

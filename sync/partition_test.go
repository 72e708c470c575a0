package sync_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"
)

// growingTables are the tables that grow with traffic (README "Room to
// grow"): each must be able to be split by property.
var growingTables = []string{
	"nights", "reservations", "reservation_revisions", "audit_log", "outbox", "incidents",
	"inbound_messages", "idempotency_keys", "feed_entries", "ical_events",
	"sync_channels", "sync_dirty", "sync_acks", "sync_closures", "delivery_log",
}

// partitionByProperty turns each of the tables into one hash-partitioned
// by property_id over four partitions — the way PostgreSQL's declarative
// partitioning (or Citus, by the same key) would distribute keyrack's data —,
// keeping every index, constraint and foreign key. PostgreSQL refuses it for
// a table whose primary key or unique constraints leave the property out.
func partitionByProperty(tb testing.TB, db *pgxpool.Pool, tables []string) {
	tb.Helper()
	ctx := context.Background()
	tx, err := db.Begin(ctx)
	require.NoError(tb, err)
	defer tx.Rollback(ctx)
	type fk struct{ table, name, def string }
	rows, _ := tx.Query(ctx, `SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint
		WHERE contype = 'f' AND connamespace = current_schema()::regnamespace ORDER BY conrelid::regclass::text, conname`)
	fks, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (fk, error) {
		var f fk
		return f, r.Scan(&f.table, &f.name, &f.def)
	})
	require.NoError(tb, err)
	for _, f := range fks {
		_, err := tx.Exec(ctx, fmt.Sprintf("ALTER TABLE %s DROP CONSTRAINT %s", f.table, f.name))
		require.NoError(tb, err)
	}
	for _, t := range tables {
		for _, stmt := range []string{
			fmt.Sprintf("ALTER TABLE %[1]s RENAME TO %[1]s_whole", t),
			fmt.Sprintf("CREATE TABLE %[1]s (LIKE %[1]s_whole INCLUDING ALL) PARTITION BY HASH (property_id)", t),
			fmt.Sprintf("CREATE TABLE %[1]s_0 PARTITION OF %[1]s FOR VALUES WITH (MODULUS 4, REMAINDER 0)", t),
			fmt.Sprintf("CREATE TABLE %[1]s_1 PARTITION OF %[1]s FOR VALUES WITH (MODULUS 4, REMAINDER 1)", t),
			fmt.Sprintf("CREATE TABLE %[1]s_2 PARTITION OF %[1]s FOR VALUES WITH (MODULUS 4, REMAINDER 2)", t),
			fmt.Sprintf("CREATE TABLE %[1]s_3 PARTITION OF %[1]s FOR VALUES WITH (MODULUS 4, REMAINDER 3)", t),
		} {
			_, err := tx.Exec(ctx, stmt)
			require.NoError(tb, err, "%s: %s", t, stmt)
		}
		var rows int
		require.NoError(tb, tx.QueryRow(ctx, "SELECT count(*) FROM "+t+"_whole").Scan(&rows))
		require.Zero(tb, rows, "%s is empty on a new schema", t)
		_, err := tx.Exec(ctx, "DROP TABLE "+t+"_whole")
		require.NoError(tb, err)
	}
	for _, f := range fks {
		_, err := tx.Exec(ctx, fmt.Sprintf("ALTER TABLE %s ADD CONSTRAINT %s %s", f.table, f.name, f.def))
		require.NoError(tb, err, "%s: %s", f.table, f.def)
	}
	var partitioned int
	require.NoError(tb, tx.QueryRow(ctx, `SELECT count(*) FROM pg_partitioned_table pt JOIN pg_class c ON c.oid = pt.partrelid
		WHERE c.relnamespace = current_schema()::regnamespace`).Scan(&partitioned))
	require.Equal(tb, len(tables), partitioned)
	require.NoError(tb, tx.Commit(ctx))
}

// README "Room to grow" and PRODUCT.md: every table that grows with
// traffic carries the property's key in its primary key and indexes, so
// the schema can be distributed by property without a redesign. Proven by
// doing it: the growing tables partitioned by property, keyrack books,
// cancels, relays and delivers on them, and every channel converges.
func TestKeyrackRunsOnItsTablesPartitionedByProperty(t *testing.T) {
	t.Parallel()
	h := newHotel(t, hotelOptions{units: []int{5, 5}, schema: func(tb testing.TB, db *pgxpool.Pool) {
		partitionByProperty(tb, db, growingTables)
	}}).primed()
	for i := range 12 {
		h.book(h.channels[i%len(h.channels)], fmt.Sprintf("part-%d", i), i%2, h.today.AddDays(1+i%4), 2, 1)
	}
	h.waitConverged()
}

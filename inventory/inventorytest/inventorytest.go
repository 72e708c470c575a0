// Package inventorytest gives tests a real, freshly migrated PostgreSQL
// schema of their own.
//
// The database comes from TEST_DATABASE_URL, else DATABASE_URL (`make test`
// sets it, starting a throwaway server when none is reachable). Without one
// the test fails when CI is set and is skipped otherwise.
package inventorytest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/keyrack/keyrack/inventory"
)

// DatabaseURL is the server tests use, or "" when none is configured.
func DatabaseURL() string {
	if u := os.Getenv("TEST_DATABASE_URL"); u != "" {
		return u
	}
	return os.Getenv("DATABASE_URL")
}

// RequireDatabase returns the database URL, failing the test in CI and
// skipping it elsewhere when there is none.
func RequireDatabase(tb testing.TB) string {
	tb.Helper()
	u := DatabaseURL()
	if u == "" {
		if os.Getenv("CI") != "" {
			tb.Fatal("this test needs PostgreSQL: set TEST_DATABASE_URL or DATABASE_URL (make test does)")
		}
		tb.Skip("no PostgreSQL: set TEST_DATABASE_URL or DATABASE_URL, or run make test")
	}
	return u
}

// Schema creates an empty schema of its own for tb, dropped when tb ends, and
// returns a pool configuration whose connections use only that schema.
func Schema(tb testing.TB) *pgxpool.Config {
	tb.Helper()
	cfg, schema := create(tb, "SCHEMA", "CASCADE")
	cfg.ConnConfig.RuntimeParams["search_path"] = schema
	return cfg
}

// Database creates an empty database of its own for tb, dropped when tb
// ends, and returns a pool configuration for it. Schema is the usual and
// cheaper isolation; a database of its own is for a test that must not see
// other tests' catalog changes: every CREATE or DROP SCHEMA in a database
// makes each of its sessions drop its cached plans.
func Database(tb testing.TB) *pgxpool.Config {
	tb.Helper()
	cfg, name := create(tb, "DATABASE", "WITH (FORCE)")
	cfg.ConnConfig.Database = name
	return cfg
}

// create makes a new object of the kind (SCHEMA, DATABASE) with a random
// name, dropped with the drop option when tb ends, and returns the test
// server's pool configuration and the name.
func create(tb testing.TB, kind, drop string) (*pgxpool.Config, string) {
	tb.Helper()
	url := RequireDatabase(tb)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		tb.Fatalf("connect to PostgreSQL at %s: %v", redact(url), err)
	}
	defer conn.Close(ctx)
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "t_" + hex.EncodeToString(b[:])
	if _, err := conn.Exec(ctx, "CREATE "+kind+" "+name); err != nil {
		tb.Fatalf("create %s: %v", strings.ToLower(kind), err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, url)
		if err != nil {
			tb.Logf("drop %s %s: %v", strings.ToLower(kind), name, err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP "+kind+" "+name+" "+drop); err != nil {
			tb.Logf("drop %s %s: %v", strings.ToLower(kind), name, err)
		}
	})
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		tb.Fatalf("database url: %v", err)
	}
	return cfg, name
}

// New returns a Store on a fresh, migrated schema of its own, closed when tb ends.
func New(tb testing.TB) *inventory.Store {
	tb.Helper()
	return Open(tb, Schema(tb))
}

// Open returns a Store on cfg's database, migrated, closed when tb ends.
func Open(tb testing.TB, cfg *pgxpool.Config) *inventory.Store {
	tb.Helper()
	cfg.MaxConns = 32
	ctx := context.Background()
	st, err := inventory.OpenConfig(ctx, cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(st.Close)
	st.SetLogger(slog.New(slog.DiscardHandler))
	if err := st.Migrate(ctx); err != nil {
		tb.Fatal(err)
	}
	return st
}

func redact(url string) string {
	if cfg, err := pgx.ParseConfig(url); err == nil {
		return cfg.Host
	}
	return "(unparsable url)"
}

// ChurnOutbox writes n relayed outbox rows of the schema's first property on
// conn, deletes them again when remove is set (n dead rows), and waits until
// PostgreSQL's statistics count the changes.
func ChurnOutbox(tb testing.TB, db *pgxpool.Pool, conn *pgxpool.Conn, n int, remove bool) {
	tb.Helper()
	ctx := context.Background()
	var before int64
	if err := db.QueryRow(ctx, `SELECT n_mod_since_analyze FROM pg_stat_user_tables
		WHERE schemaname = current_schema() AND relname = 'outbox'`).Scan(&before); err != nil {
		tb.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `INSERT INTO outbox (property_id, topic, reservation_id, revision_seq, done_at)
		SELECT (SELECT min(id) FROM properties), 'reservation', g, 1, now() FROM generate_series(1, $1::int) AS g`, n); err != nil {
		tb.Fatal(err)
	}
	want := before + int64(n)
	if remove {
		if _, err := conn.Exec(ctx, `DELETE FROM outbox WHERE topic = 'reservation'`); err != nil {
			tb.Fatal(err)
		}
		want += int64(n)
	}
	WaitCounted(tb, db, conn, "outbox", want)
}

// WaitCounted waits until PostgreSQL's statistics count at least want
// changes to table since its last analysis, conn's included.
func WaitCounted(tb testing.TB, db *pgxpool.Pool, conn *pgxpool.Conn, table string, want int64) {
	tb.Helper()
	ctx := context.Background()
	// A backend reports its counts when it goes idle, at most once a second
	// unless told otherwise.
	if _, err := conn.Exec(ctx, `SELECT pg_stat_force_next_flush()`); err != nil {
		tb.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		var got int64
		if err := db.QueryRow(ctx, `SELECT n_mod_since_analyze FROM pg_stat_user_tables
			WHERE schemaname = current_schema() AND relname = $1`, table).Scan(&got); err != nil {
			tb.Fatal(err)
		}
		if got >= want {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("the statistics never counted %s's changes: %d of %d", table, got, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// GuestTraces counts the rows, in every table of the schema, in which text
// (a guest's name, email or phone) still stands (GuestTraceRows says which).
func GuestTraces(tb testing.TB, db *pgxpool.Pool, text string) int {
	tb.Helper()
	return len(GuestTraceRows(tb, db, text))
}

// GuestTraceRows is every row, of every table of the schema, in which text
// stands, as "table: row as JSON": a row's columns as JSON, and its byte
// columns (a kept API answer) as text too.
func GuestTraceRows(tb testing.TB, db *pgxpool.Pool, text string) []string {
	tb.Helper()
	ctx := context.Background()
	// One query per table: the row as JSON, and its byte columns as text.
	rows, err := db.Query(ctx, `SELECT format('SELECT %L || '': '' || to_jsonb(x)::text FROM %I x WHERE to_jsonb(x)::text%s LIKE $1',
			c.table_name, c.table_name,
			coalesce(' || ' || string_agg(format('coalesce(encode(x.%I, ''escape''), '''')', c.column_name), ' || ')
				FILTER (WHERE c.data_type = 'bytea'), ''))
		FROM information_schema.columns c JOIN information_schema.tables t USING (table_schema, table_name)
		WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE'
		GROUP BY c.table_name ORDER BY c.table_name`)
	if err != nil {
		tb.Fatalf("list the schema's tables: %v", err)
	}
	selects, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		tb.Fatalf("list the schema's tables: %v", err)
	}
	var out []string
	for _, q := range selects {
		found, err := db.Query(ctx, q, "%"+text+"%")
		if err != nil {
			tb.Fatalf("search for the guest's traces: %v", err)
		}
		got, err := pgx.CollectRows(found, pgx.RowTo[string])
		if err != nil {
			tb.Fatalf("search for the guest's traces: %v", err)
		}
		out = append(out, got...)
	}
	return out
}

// ZoneWhereItIs is a time zone (a whole-hour Etc/GMT zone) whose clock
// reads hour o'clock (0–23) now, give or take the minutes past the UTC
// hour: for tests of what a property does at a given time of its night,
// run against PostgreSQL's clock (now()), which a test cannot set.
func ZoneWhereItIs(hour int) string {
	offset := ((hour-time.Now().UTC().Hour())%24 + 24) % 24 // UTC+offset
	if offset > 14 {
		offset -= 24 // the zones run from UTC-12 to UTC+14
	}
	switch {
	case offset == 0:
		return "Etc/GMT"
	case offset > 0:
		return fmt.Sprintf("Etc/GMT-%d", offset) // POSIX signs: Etc/GMT-2 is UTC+2
	default:
		return fmt.Sprintf("Etc/GMT+%d", -offset)
	}
}

// Explain returns the plan PostgreSQL prints for an EXPLAIN statement run
// on conn (where a prepared statement lives), one line per row.
func Explain(tb testing.TB, conn *pgxpool.Conn, explain string) string {
	tb.Helper()
	rows, err := conn.Query(context.Background(), explain)
	if err != nil {
		tb.Fatal(err)
	}
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		tb.Fatal(err)
	}
	return strings.Join(lines, "\n")
}

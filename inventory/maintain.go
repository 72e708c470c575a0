package inventory

import (
	"context"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Table maintenance for a server that runs without autovacuum.
//
// keyrack's queue tables (outbox, sync_dirty, sync_channels, sync_acks,
// feed_entries, delivery_log) change all the time while their live size
// stays small, and reservations, revisions and nights only grow. PostgreSQL
// keeps their statistics and reclaims their dead rows with autovacuum. A
// server run with autovacuum off never does: the statistics stay those of
// the last ANALYZE — for a new installation, empty tables —, and a prepared
// statement's generic plan, made while a table was tiny, scans it
// sequentially for as long as the connection lives (measured: the
// reservation feed's claim read every outbox row on every relay cycle, the
// reservation's foreign-key check every reservation). ANALYZE replaces the
// statistics and makes every session plan such statements afresh.
//
// MaintainTables does for the tables of the current schema what autovacuum
// would, with the server's own thresholds and pace: ANALYZE a table once
// autovacuum_analyze_threshold + autovacuum_analyze_scale_factor × its rows
// have changed since the last analysis, VACUUM (ANALYZE) it once as many dead
// rows as the vacuum threshold and scale factor allow have piled up. With
// autovacuum on it does nothing unless always is set (tests). The scheduler
// calls it every MaintainInterval (sync). Tables that keyrack's database
// user may not maintain are reported (NotOwner) and left alone.
func MaintainTables(ctx context.Context, db *pgxpool.Pool, always bool) ([]Maintained, error) {
	conn, err := db.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Release()
	var on bool
	var delay, limit string
	if err := conn.QueryRow(ctx, `SELECT current_setting('autovacuum')::bool,
		CASE current_setting('autovacuum_vacuum_cost_delay') WHEN '-1' THEN current_setting('vacuum_cost_delay')
			ELSE current_setting('autovacuum_vacuum_cost_delay') END,
		CASE current_setting('autovacuum_vacuum_cost_limit') WHEN '-1' THEN current_setting('vacuum_cost_limit')
			ELSE current_setting('autovacuum_vacuum_cost_limit') END`).Scan(&on, &delay, &limit); err != nil {
		return nil, fmt.Errorf("table maintenance: %w", err)
	}
	if on && !always {
		return nil, nil
	}
	rows, _ := conn.Query(ctx, `
		SELECT schemaname, relname, needs_vacuum AND may, (needs_analyze OR needs_vacuum) AND may, NOT may FROM (
			SELECT s.schemaname, s.relname,
				-- Who may: the table's owner, the database's, a superuser;
				-- PostgreSQL skips the others' VACUUM and ANALYZE with a
				-- warning in its log.
				pg_has_role(c.relowner, 'USAGE')
					OR pg_has_role((SELECT datdba FROM pg_database WHERE datname = current_database()), 'USAGE') AS may,
				s.n_dead_tup > current_setting('autovacuum_vacuum_threshold')::float8
					+ current_setting('autovacuum_vacuum_scale_factor')::float8 * greatest(c.reltuples, 0) AS needs_vacuum,
				s.n_mod_since_analyze > current_setting('autovacuum_analyze_threshold')::float8
					+ current_setting('autovacuum_analyze_scale_factor')::float8 * greatest(c.reltuples, 0) AS needs_analyze
			FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
			WHERE s.schemaname = current_schema()
		) AS t
		WHERE needs_vacuum OR needs_analyze
		ORDER BY relname`)
	todo, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Maintained, error) {
		var m Maintained
		err := r.Scan(&m.schema, &m.Table, &m.Vacuumed, &m.Analyzed, &m.NotOwner)
		return m, err
	})
	if err != nil || !slices.ContainsFunc(todo, func(m Maintained) bool { return !m.NotOwner }) {
		return todo, err // nothing it may do
	}
	// Paced as autovacuum paces itself, so that it takes no more from
	// bookings than autovacuum would. The connection goes back to the pool
	// with the server's settings, or not at all.
	if _, err := conn.Exec(ctx, `SELECT set_config('vacuum_cost_delay', $1, false), set_config('vacuum_cost_limit', $2, false)`,
		delay, limit); err != nil {
		return nil, fmt.Errorf("table maintenance: %w", err)
	}
	defer func() {
		ctx := context.WithoutCancel(ctx)
		_, err := conn.Exec(ctx, `RESET vacuum_cost_delay`)
		if err == nil {
			_, err = conn.Exec(ctx, `RESET vacuum_cost_limit`)
		}
		if err != nil {
			_ = conn.Conn().Close(ctx)
		}
	}()
	for i, m := range todo {
		table := pgx.Identifier{m.schema, m.Table}.Sanitize()
		switch {
		case m.NotOwner:
			continue
		case m.Vacuumed:
			// VACUUM cannot run in a transaction block: a statement on its
			// own is an implicit transaction, in which it may.
			_, err = conn.Exec(ctx, `VACUUM (ANALYZE) `+table)
		default:
			_, err = conn.Exec(ctx, `ANALYZE `+table)
		}
		if err != nil {
			return todo[:i], fmt.Errorf("table maintenance of %s: %w", m.Table, err)
		}
	}
	return todo, nil
}

// Maintained is what MaintainTables did to one table.
type Maintained struct {
	Table              string
	Vacuumed, Analyzed bool
	// NotOwner says the table needed work that keyrack's database user may
	// not do: it owns neither the table nor the database. Nothing was done.
	NotOwner bool
	schema   string
}

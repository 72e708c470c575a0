package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/keyrack/keyrack/inventory"
)

// connectTimeout bounds the first contact with PostgreSQL.
const connectTimeout = 10 * time.Second

// openStore connects to the configured PostgreSQL and checks that it
// answers, so a missing or wrong URL or a stopped server is reported at once,
// not at the first request.
func openStore(ctx context.Context, cfg Config) (*inventory.Store, error) {
	return openStoreNamed(ctx, cfg, "")
}

// openStoreNamed is openStore with the sessions named name in PostgreSQL
// ("" for the default, keyrack).
func openStoreNamed(ctx context.Context, cfg Config, name string) (*inventory.Store, error) {
	if err := requireDatabaseURL(cfg); err != nil {
		return nil, err
	}
	st, err := inventory.OpenNamed(ctx, cfg.DatabaseURL, name)
	if err != nil {
		return nil, err
	}
	pingCtx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	if err := st.Ping(pingCtx); err != nil {
		st.Close()
		return nil, fmt.Errorf("PostgreSQL does not answer (check DATABASE_URL): %w", err)
	}
	return st, nil
}

// errNotMigrated says how to create the schema.
var errNotMigrated = errors.New("the database has no keyrack schema yet: run `keyrack migrate` first (or `keyrack serve -migrate`)")

// openMigratedStore is openStore for the commands that need keyrack's
// schema as it is (requireSchema); the store is closed again if not.
func openMigratedStore(ctx context.Context, cfg Config) (*inventory.Store, error) {
	st, err := openStore(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if _, err := requireSchema(ctx, st); err != nil {
		st.Close()
		return nil, err
	}
	return st, nil
}

// requireSchema fails with errNotMigrated when the migrations have not run.
func requireSchema(ctx context.Context, st *inventory.Store) (int32, error) {
	v, err := st.SchemaVersion(ctx)
	var pg *pgconn.PgError
	if errors.As(err, &pg) && pg.Code == "42P01" { // undefined_table
		return 0, errNotMigrated
	}
	if err != nil {
		return 0, fmt.Errorf("read the schema version: %w", err)
	}
	if v == 0 {
		return 0, errNotMigrated
	}
	latest := inventory.LatestSchemaVersion()
	if v < latest {
		return 0, fmt.Errorf("the database schema is at version %d and this keyrack needs %d: run `keyrack migrate` first (or `keyrack serve -migrate`)", v, latest)
	}
	if v > latest {
		// Its writes would lack what the newer migrations added (a staff
		// edit's nights.units_set, a channel's enabled_at).
		return 0, fmt.Errorf("the database schema is at version %d, newer than this keyrack's %d: run the keyrack that migrated it, or a newer one", v, latest)
	}
	return v, nil
}

package inventory

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/tern/v2/migrate"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Store is the inventory on PostgreSQL. Its methods are the Go API the
// connectors, the fan-out and the web layer call; each change is one
// transaction.
type Store struct {
	db       *pgxpool.Pool
	log      *slog.Logger
	groups   *batcher
	onCommit func([]Revision, time.Time)
	// notify* run the notifications of committed outbox rows (notify.go).
	notifyOnce, stopOnce              sync.Once
	notifySig, notifyStop, notifyDone chan struct{}
	// runningCheck is HoldRunning's interval (tests shorten it).
	runningCheck time.Duration
}

// DefaultMaxConns is the size of the connection pool Open makes unless the
// URL sets pool_max_conns. pgxpool's own default (the number of CPUs, at
// least 4) has web requests queue for a connection under load: an OTA
// booking holds one for three statements.
const DefaultMaxConns = 24

// Open connects to the database at url (a PostgreSQL URL or DSN).
func Open(ctx context.Context, url string) (*Store, error) {
	return OpenNamed(ctx, url, "")
}

// OpenNamed is Open with the sessions named name in pg_stat_activity (and
// in what keyrack says of a session holding a lock) unless url names them:
// which process of several holds what ("keyrack serve worker pid 4242").
// "" keeps ConnDefaults' name.
func OpenNamed(ctx context.Context, url, name string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("database url: %w", err)
	}
	if !strings.Contains(url, "pool_max_conns") {
		cfg.MaxConns = DefaultMaxConns
	}
	if name != "" && !hasParam(cfg.ConnConfig.RuntimeParams, "application_name") {
		cfg.ConnConfig.RuntimeParams["application_name"] = name
	}
	return OpenConfig(ctx, cfg)
}

// hasParam says whether params set the server setting name (whose names are
// case-insensitive).
func hasParam(params map[string]string, name string) bool {
	for p := range params {
		if strings.EqualFold(p, name) {
			return true
		}
	}
	return false
}

// OpenConfig connects with a prepared pool configuration. Its connections
// run, unless the configuration says otherwise:
//   - with jit off: keyrack's statements are short, and a plan the planner
//     overestimates (it cannot count the nights a range holds) otherwise
//     pays for JIT compilation, hundreds of milliseconds, on every
//     execution;
//   - with TCP keepalives the server sends after 10 s of silence, every 5 s,
//     3 unanswered ending the session (ConnKeepalives): the server's
//     defaults (2 hours, then 9 probes 75 s apart) kept the session of a
//     keyrack whose host died or was cut off for over two hours — and with
//     it the advisory locks it held (a delivery's lock on its channel, the
//     scheduler's lead), so that channel got no update and no other
//     scheduler took over in that time. (A process killed on a live host
//     is no matter: its kernel closes the connection.) The fan-out's pool
//     is a copy of the store's and runs with the same.
func OpenConfig(ctx context.Context, cfg *pgxpool.Config) (*Store, error) {
	for name, value := range ConnDefaults {
		// TimeZone in DATABASE_URL is the timezone default here.
		if !hasParam(cfg.ConnConfig.RuntimeParams, name) {
			cfg.ConnConfig.RuntimeParams[name] = value
		}
	}
	db, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	return &Store{db: db, log: slog.Default(), groups: newBatcher()}, nil
}

// ConnDefaults are the server settings keyrack's connections run with
// unless DATABASE_URL gives them (see OpenConfig).
var ConnDefaults = map[string]string{
	// Names keyrack's sessions in pg_stat_activity (and in what keyrack
	// says of a session holding a lock).
	"application_name": "keyrack",
	"jit":              "off",
	// Nights are dates and never go through a session's zone; UTC keeps
	// any timestamp arithmetic the same whatever zone the server was set
	// up in (initdb writes the machine's).
	"timezone":                "UTC",
	"tcp_keepalives_idle":     "10",
	"tcp_keepalives_interval": "5",
	"tcp_keepalives_count":    "3",
}

// SetLogger replaces the logger (slog.Default by default).
func (s *Store) SetLogger(l *slog.Logger) { s.log = l }

// Close releases the connections.
func (s *Store) Close() {
	s.stopNotify()
	s.db.Close()
}

// DB is the connection pool, for packages that keep their own tables in the
// same database (the fan-out's delivery state).
func (s *Store) DB() *pgxpool.Pool { return s.db }

// Ping checks that PostgreSQL answers.
func (s *Store) Ping(ctx context.Context) error { return s.db.Ping(ctx) }

// Migrate brings the schema up to the newest embedded migration.
func (s *Store) Migrate(ctx context.Context) error {
	conn, err := s.db.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer conn.Release()
	m, err := migrate.NewMigrator(ctx, conn.Conn(), "keyrack_schema_version")
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return err
	}
	if err := m.LoadMigrations(sub); err != nil {
		return fmt.Errorf("migrate: load: %w", err)
	}
	m.OnStart = func(seq int32, name, direction, _ string) {
		s.log.Info("migrating", "step", seq, "name", name, "direction", direction)
	}
	if err := m.Migrate(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// LatestSchemaVersion is the number of the newest embedded migration.
func LatestSchemaVersion() int32 {
	sub, _ := fs.Sub(migrationFiles, "migrations")
	names, _ := migrate.FindMigrations(sub)
	return int32(len(names))
}

// SchemaVersion is the number of the last migration applied.
func (s *Store) SchemaVersion(ctx context.Context) (int32, error) {
	var v int32
	err := s.db.QueryRow(ctx, `SELECT version FROM keyrack_schema_version`).Scan(&v)
	return v, err
}

// dbtx is a connection or a transaction.
type dbtx interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// pipelinedTx runs fn on one connection for a transaction whose BEGIN fn
// sends with its first batch and whose COMMIT it sends with its last, saving
// two round trips on the hot path. A transaction fn leaves open (it found
// nothing to do, or failed) is rolled back.
func (s *Store) pipelinedTx(ctx context.Context, fn func(c dbtx) error) error {
	conn, err := s.db.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	err = fn(conn)
	if conn.Conn().PgConn().TxStatus() != 'I' {
		if _, rbErr := conn.Exec(ctx, "rollback"); rbErr != nil {
			// The pool discards a connection left in a transaction.
			s.log.Warn("rollback failed", "err", rbErr)
		}
	}
	return err
}

// inTx runs fn in one transaction and commits it; any error rolls it back.
func (s *Store) inTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, s.db, fn)
}

// inOutboxTx is inTx for a change that may write outbox rows: once it has
// committed, the relays are told (committed).
func (s *Store) inOutboxTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	err := s.inTx(ctx, fn)
	if err == nil {
		s.committed()
	}
	return err
}

// InPropertyZone runs fn in a transaction whose session time zone is the
// property's, so that what it writes with to_char(t, 'YYYY-MM-DD HH24:MI
// TZ') — the moments in incidents' messages — reads as the property's pages
// write them: in its zone, with its abbreviation (JST, +14).
func InPropertyZone(ctx context.Context, db *pgxpool.Pool, property int64, fn func(tx pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT set_config('TimeZone', time_zone, true) FROM properties WHERE id = $1`, property); err != nil {
			return err
		}
		return fn(tx)
	})
}

// ExecInPropertyZones runs sql with (after, property) in each property's
// zone (InPropertyZone), one transaction each, until one fails: the
// incidents the periodic checks raise, whose messages say since when in
// the hotel's time.
func ExecInPropertyZones(ctx context.Context, db *pgxpool.Pool, properties []int64, sql string, after time.Duration) error {
	for _, p := range properties {
		if err := InPropertyZone(ctx, db, p, func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, sql, after, p)
			return err
		}); err != nil {
			return err
		}
	}
	return nil
}

// isUniqueViolation reports a unique_violation from PostgreSQL.
func isUniqueViolation(err error) bool {
	var pg *pgconn.PgError
	return errors.As(err, &pg) && pg.Code == "23505"
}

// isCheckViolation reports a check_violation from PostgreSQL.
func isCheckViolation(err error) bool {
	var pg *pgconn.PgError
	return errors.As(err, &pg) && pg.Code == "23514"
}

// QueueGenericPlan queues sql in b to run with PostgreSQL's generic plan of
// the prepared statement rather than one planned for its arguments. A
// statement over arrays (unnest($2::text[])) costs its generic plan at a
// hundred rows per array against one or two in the custom plans, so
// PostgreSQL keeps planning it afresh on every execution — for the
// statements this is for, planning took longer than running (0.28 against
// 0.19 ms for a booking group's first statement), and the generic plan ran
// as fast. Measure before using it elsewhere: for others the generic plan is
// several times slower.
//
// It works in an explicit transaction and in a batch's implicit one: the
// setting is the transaction's (set_config's is_local), and RESET gives
// the statements after sql the connection's default again. (SET LOCAL does
// the same, but outside BEGIN … COMMIT PostgreSQL logs a warning for each —
// two lines in the server's log per delivery.)
func QueueGenericPlan(b *pgx.Batch, sql string, args ...any) *pgx.QueuedQuery {
	b.Queue("SELECT set_config('plan_cache_mode', 'force_generic_plan', true)")
	q := b.Queue(sql, args...)
	b.Queue("RESET plan_cache_mode")
	return q
}

package main

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keyrack/keyrack/connectors"
	"github.com/keyrack/keyrack/connectors/testjson"
	"github.com/keyrack/keyrack/inventory"
	"github.com/keyrack/keyrack/inventory/inventorytest"
	"github.com/keyrack/keyrack/sync"
	"github.com/keyrack/keyrack/sync/synctest"
	"github.com/stretchr/testify/require"
)

// keyrack's database restored from a backup — here dumped with pg_dump
// while keyrack ran on it, then dropped and restored from the dump after
// keyrack had gone on — is refused by keyrack, however often it is started,
// until `keyrack restored` has readied it: run on it as it was, keyrack
// said nothing, so the bookings lost with it went unnoticed by staff and
// ids were issued again. A new database with the same Redis is not taken
// for a restored one.
func TestKeyrackDoesNotRunOnARestoredDatabaseUntilRestoredIsRun(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url, st, _ := migratedHotel(t)
	redisURL := synctest.RedisURL(t)
	prefix := synctest.QueuePrefix(t, redisURL)
	run := func(st *inventory.Store) (func(), error) { return runKeyrack(t, st, redisURL, prefix) }
	night := inventory.Today(time.UTC).AddDays(10)

	stop, err := run(st)
	require.NoError(t, err)
	bookOnA(t, st, "A-1", night)
	schema := dumpSchema(t, url)
	stop()

	stop, err = run(st) // keyrack goes on after the backup
	require.NoError(t, err)
	bookOnA(t, st, "A-2", night) // lost with the database
	stop()
	st.Close()

	restoreSchema(t, schema)
	restoredStore, err := inventory.Open(ctx, url)
	require.NoError(t, err)
	t.Cleanup(restoredStore.Close)
	var lost int
	require.NoError(t, restoredStore.DB().QueryRow(ctx, `SELECT count(*) FROM reservations WHERE external_id = 'A-2'`).Scan(&lost))
	require.Zero(t, lost, "the premise: the restored database lacks what came after the backup")
	for range 3 {
		_, err = run(restoredStore)
		var behind sync.DatabaseBehindError
		require.True(t, errors.As(err, &behind), "started on the restored database: %v", err)
		require.Contains(t, err.Error(), "keyrack restored")
	}

	env := map[string]string{"DATABASE_URL": url, "REDIS_URL": redisURL, "KEYRACK_QUEUE_PREFIX": prefix}
	code, _, stderr := keyrack(t, env, "restored")
	require.Equal(t, 0, code, stderr)
	stop, err = run(restoredStore)
	require.NoError(t, err, "readied by keyrack restored")
	stop()
	stop, err = run(restoredStore)
	require.NoError(t, err, "and started again")
	stop()

	// A database made afresh is a new installation, whatever Redis holds.
	stop, err = run(inventorytest.New(t))
	require.NoError(t, err)
	stop()
}

// A database that goes back beneath a running keyrack (restored, or a
// replica promoted, while keyrack's processes ran) stops them: each checks
// every ProgressInterval.
func TestKeyrackStopsWhenItsDatabaseGoesBackBeneathIt(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := inventorytest.New(t)
	m := newTestMain(t)
	m.Store = st
	m.Config.ResyncAt = "off"
	m.Sync.ProgressInterval = 50 * time.Millisecond
	running, cancel := context.WithCancel(ctx)
	defer cancel()
	done := start(t, running, m)
	var progress int64
	require.Eventually(t, func() bool {
		require.NoError(t, st.DB().QueryRow(ctx, `SELECT progress FROM installation`).Scan(&progress))
		return progress >= 3
	}, 30*time.Second, 10*time.Millisecond, "the count moves on while keyrack runs")
	select {
	case err := <-done:
		t.Fatalf("Run returned while its database was as it was: %v", err)
	default:
	}
	_, err := st.DB().Exec(ctx, `UPDATE installation SET progress = 1`)
	require.NoError(t, err)
	err = wait(t, done)
	var behind sync.DatabaseBehindError
	require.True(t, errors.As(err, &behind), "Run returned %v", err)
}

// runKeyrack runs keyrack, every role, on st with the Redis and queue prefix
// given, the test JSON connector for OTA push channels and no nightly
// resync: it returns what stops it once it has started, or Run's error if
// it did not start.
func runKeyrack(t *testing.T, st *inventory.Store, redisURL, prefix string) (stop func(), err error) {
	t.Helper()
	m := newTestMain(t)
	m.Store = st
	m.Config.RedisURL, m.Config.QueuePrefix, m.Config.ResyncAt = redisURL, prefix, "off"
	m.Connectors = connectors.Registry{inventory.ChannelOTAPush: &testjson.Connector{}}
	running, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(running) }()
	select {
	case <-m.Started():
	case err := <-done:
		cancel()
		require.NoError(t, m.Close())
		return nil, err
	case <-time.After(30 * time.Second):
		t.Fatal("Run neither started nor failed")
	}
	return func() { cancel(); require.NoError(t, wait(t, done)); require.NoError(t, m.Close()) }, nil
}

// dumpSchema backs the schema of the test database URL url up with
// pg_dump, and returns the dump with the schema's base URL.
func dumpSchema(t *testing.T, url string) (dump [2]string) {
	t.Helper()
	base := inventorytest.RequireDatabase(t)
	_, schema, ok := strings.Cut(url, "search_path=")
	require.True(t, ok, url)
	file := filepath.Join(t.TempDir(), "backup.sql")
	out, err := exec.Command("pg_dump", "--no-owner", "-n", schema, "-f", file, "-d", base).CombinedOutput()
	require.NoError(t, err, "pg_dump (PostgreSQL's client programs): %s", out)
	return [2]string{base, file}
}

// restoreSchema drops the dumped schema and restores it from its dump.
func restoreSchema(t *testing.T, dump [2]string) {
	t.Helper()
	b, err := os.ReadFile(dump[1])
	require.NoError(t, err)
	_, after, ok := strings.Cut(string(b), "CREATE SCHEMA ")
	require.True(t, ok, "the dump creates its schema")
	schema, _, _ := strings.Cut(after, ";")
	out, err := exec.Command("psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", dump[0],
		"-c", "DROP SCHEMA "+schema+" CASCADE", "-f", dump[1]).CombinedOutput()
	require.NoError(t, err, "psql: %s", out)
}

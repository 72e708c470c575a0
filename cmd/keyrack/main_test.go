package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/keyrack/keyrack/inventory"
	"github.com/keyrack/keyrack/inventory/inventorytest"
	"github.com/keyrack/keyrack/sync/synctest"
	"github.com/stretchr/testify/require"
)

// start runs m in the background until the test cancels ctx; it returns once
// m listens, and a channel that gets Run's result.
func start(t *testing.T, ctx context.Context, m *Main) <-chan error {
	t.Helper()
	if m.Logger == nil {
		m.Logger = slog.New(slog.DiscardHandler)
	}
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	t.Cleanup(func() { _ = m.Close() })
	select {
	case <-m.Listening():
	case err := <-done:
		t.Fatalf("Run returned before listening: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not start listening")
	}
	return done
}

// wait returns Run's result once it has stopped.
func wait(t *testing.T, done <-chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return after its context was cancelled")
		return nil
	}
}

func get(t *testing.T, url string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var v map[string]any
	require.NoError(t, json.Unmarshal(body, &v), "body: %s", body)
	return resp.StatusCode, v
}

// newTestMain is a Main listening on a free port, using the test Redis
// with queues of the test's own.
func newTestMain(t *testing.T) *Main {
	t.Helper()
	m := NewMain()
	// Not slog's default: a parallel test's command line may have made it
	// write to that test's output.
	m.Logger = slog.New(slog.DiscardHandler)
	m.Config.Addr = "127.0.0.1:0"
	m.Config.RedisURL = synctest.RedisURL(t)
	m.Config.QueuePrefix = synctest.QueuePrefix(t, m.Config.RedisURL)
	return m
}

func TestServeAnswersUntilCancelledThenStopsGracefully(t *testing.T) {
	t.Parallel()
	var stdout bytes.Buffer
	m := newTestMain(t)
	m.Store = inventorytest.New(t)
	m.Stdout = &stdout
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := start(t, ctx, m)

	url := "http://" + m.Addr().String()
	require.Equal(t, "keyrack is serving on "+url+"/\n", stdout.String())
	status, body := get(t, url+"/healthz")
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, "ok", body["status"])
	status, _ = get(t, url+"/readyz")
	require.Equal(t, http.StatusOK, status)

	cancel()
	require.NoError(t, wait(t, done), "a graceful shutdown is not an error")
	require.NoError(t, m.Close())
	_, err := http.Get(url + "/healthz")
	require.Error(t, err, "the server still answers after shutting down")
}

func TestServeKeepsTakingRequestsWhileRedisIsDown(t *testing.T) {
	t.Parallel()
	m := NewMain()
	// Not slog's default: a parallel test's command line may have made it
	// write to that test's output.
	m.Logger = slog.New(slog.DiscardHandler)
	m.Config.Addr = "127.0.0.1:0"
	m.Config.RedisURL = "redis://127.0.0.1:1/0"
	m.Store = inventorytest.New(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := start(t, ctx, m)

	url := "http://" + m.Addr().String()
	status, _ := get(t, url+"/healthz")
	require.Equal(t, http.StatusOK, status)
	status, body := get(t, url+"/readyz")
	require.Equal(t, http.StatusOK, status, "a readiness probe must keep a keyrack that takes bookings in service")
	require.Equal(t, "degraded", body["status"])
	require.Equal(t, []any{"redis"}, body["failed"])

	cancel()
	require.NoError(t, wait(t, done))
}

// unmigrated is a store on an empty schema of its own.
func unmigrated(t *testing.T) *inventory.Store {
	t.Helper()
	st, err := inventory.OpenConfig(context.Background(), inventorytest.Schema(t))
	require.NoError(t, err)
	t.Cleanup(st.Close)
	return st
}

func TestServeRefusesADatabaseThatIsNotMigrated(t *testing.T) {
	t.Parallel()
	m := NewMain()
	// Not slog's default: a parallel test's command line may have made it
	// write to that test's output.
	m.Logger = slog.New(slog.DiscardHandler)
	m.Config.Addr = "127.0.0.1:0"
	m.Store = unmigrated(t)
	m.Logger = slog.New(slog.DiscardHandler)
	err := m.Run(context.Background())
	require.ErrorContains(t, err, "keyrack migrate")
	require.Nil(t, m.Addr(), "it must refuse before listening")
}

func TestServeMigratesWhenAsked(t *testing.T) {
	t.Parallel()
	m := newTestMain(t)
	m.Store = unmigrated(t)
	m.Migrate = true
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := start(t, ctx, m)

	v, err := m.Store.SchemaVersion(ctx)
	require.NoError(t, err)
	require.Positive(t, v)
	cancel()
	require.NoError(t, wait(t, done))
}

func TestServeSaysSoWhenItsPortIsTaken(t *testing.T) {
	t.Parallel()
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer taken.Close()

	m := newTestMain(t)
	m.Config.Addr = taken.Addr().String()
	m.Store = inventorytest.New(t)
	m.Logger = slog.New(slog.DiscardHandler)
	t.Cleanup(func() { _ = m.Close() })
	err = m.Run(context.Background())
	require.ErrorContains(t, err, "listen on "+taken.Addr().String())
	require.ErrorContains(t, err, "address already in use")
}

func TestServeWithoutDatabaseURLSaysWhatToSet(t *testing.T) {
	t.Parallel()
	m := NewMain()
	m.Logger = slog.New(slog.DiscardHandler)
	err := m.Run(context.Background())
	require.ErrorContains(t, err, "DATABASE_URL is not set")
}

func TestServerURLShowsWildcardAddressesAsLocalhost(t *testing.T) {
	t.Parallel()
	for addr, want := range map[string]string{
		"127.0.0.1:8080": "http://127.0.0.1:8080/",
		"0.0.0.0:8080":   "http://localhost:8080/",
		"[::]:8080":      "http://localhost:8080/",
		"[::1]:8080":     "http://[::1]:8080/",
	} {
		tcp, err := net.ResolveTCPAddr("tcp", addr)
		require.NoError(t, err)
		require.Equal(t, want, serverURL(tcp), addr)
	}
	require.True(t, strings.HasPrefix(serverURL(&net.TCPAddr{IP: net.IPv4(10, 0, 0, 1), Port: 1}), "http://10.0.0.1:1/"))
}

// A keyrack older than its database's schema (a rollback, or a process the
// rolling upgrade has not reached) would write rows without what the newer
// migrations added — a staff range edit without nights.units_set, which the
// next change of the pool then overwrites — so it refuses to start, as it
// refuses a schema older than its own (keyrack migrate refuses too).
func TestServeRefusesASchemaNewerThanItsOwn(t *testing.T) {
	t.Parallel()
	m := newTestMain(t)
	m.Store = inventorytest.New(t)
	_, err := m.Store.DB().Exec(context.Background(), `UPDATE keyrack_schema_version SET version = $1`, inventory.LatestSchemaVersion()+1)
	require.NoError(t, err)
	t.Cleanup(func() { _ = m.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second) // a keyrack that serves stops then
	defer cancel()
	err = m.Run(ctx)
	require.ErrorContains(t, err, "schema")
	require.Nil(t, m.Addr(), "it must refuse before listening")
}

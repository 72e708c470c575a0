package web_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/keyrack/keyrack/inventory"
	"github.com/keyrack/keyrack/inventory/inventorytest"
	"github.com/keyrack/keyrack/sync/synctest"
	"github.com/stretchr/testify/require"
)

func TestReadyzIsReadyWhenPostgresAndRedisAnswer(t *testing.T) {
	t.Parallel()
	ts := upServer(t)
	status, body, raw := getJSON(t, ts, "/readyz")
	require.Equal(t, http.StatusOK, status, raw)
	require.Equal(t, "ok", body["status"])
	require.Equal(t, map[string]any{
		"postgres": map[string]any{"status": "ok"},
		"redis":    map[string]any{"status": "ok"},
	}, body["checks"])
	require.NotContains(t, body, "failed")
}

// While Redis is down keyrack still takes bookings (their fan-out waits in
// the outbox), so a readiness probe must keep it in service: it answers 200,
// "degraded", naming Redis.
func TestReadyzStaysReadyButNamesRedisWhenItDoesNotAnswer(t *testing.T) {
	t.Parallel()
	ts := serve(t, inventorytest.New(t), openQueue(t, "redis://:s3cret@127.0.0.1:1/0"))
	status, body, raw := getJSON(t, ts, "/readyz")
	require.Equal(t, http.StatusOK, status, raw)
	require.Equal(t, "degraded", body["status"])
	require.Equal(t, []any{"redis"}, body["failed"])
	checks := body["checks"].(map[string]any)
	require.Equal(t, map[string]any{"status": "ok"}, checks["postgres"])
	require.Equal(t, map[string]any{"status": "down", "error": "connection refused"}, checks["redis"])
	require.NotContains(t, raw, "s3cret")
	require.NotContains(t, raw, "127.0.0.1")
}

func TestReadyzNamesPostgresWhenItDoesNotAnswer(t *testing.T) {
	t.Parallel()
	// Opening does not dial, so a store on a closed port opens and then fails its ping.
	st, err := inventory.Open(context.Background(), "postgres://keyrack:s3cret@127.0.0.1:1/keyrack?connect_timeout=1")
	require.NoError(t, err)
	t.Cleanup(st.Close)
	ts := serve(t, st, openQueue(t, synctest.RedisURL(t)))
	status, body, raw := getJSON(t, ts, "/readyz")
	require.Equal(t, http.StatusServiceUnavailable, status, raw)
	require.Equal(t, "unavailable", body["status"])
	require.Equal(t, []any{"postgres"}, body["failed"])
	checks := body["checks"].(map[string]any)
	require.Equal(t, "down", checks["postgres"].(map[string]any)["status"])
	require.Equal(t, map[string]any{"status": "ok"}, checks["redis"])
	require.NotContains(t, raw, "s3cret")
	require.NotContains(t, raw, "keyrack:")
	require.NotContains(t, raw, "127.0.0.1")
}

func TestReadyzNamesBothWhenNeitherAnswers(t *testing.T) {
	t.Parallel()
	st, err := inventory.Open(context.Background(), "postgres://keyrack@127.0.0.1:1/keyrack?connect_timeout=1")
	require.NoError(t, err)
	t.Cleanup(st.Close)
	ts := serve(t, st, openQueue(t, "redis://127.0.0.1:1/0"))
	status, body, raw := getJSON(t, ts, "/readyz")
	require.Equal(t, http.StatusServiceUnavailable, status, raw)
	require.Equal(t, []any{"postgres", "redis"}, body["failed"])
}

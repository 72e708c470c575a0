package web_test

import (
	"net/http"
	"testing"

	"github.com/keyrack/keyrack/inventory/inventorytest"
	"github.com/stretchr/testify/require"
)

func TestHealthzAnswersWhileTheProcessLives(t *testing.T) {
	t.Parallel()
	ts := upServer(t)
	status, body, _ := getJSON(t, ts, "/healthz")
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, "ok", body["status"])
}

func TestHealthzAnswersEvenWhenRedisIsDown(t *testing.T) {
	t.Parallel()
	// The process is alive; restarting it would not bring Redis back.
	ts := serve(t, inventorytest.New(t), openQueue(t, "redis://127.0.0.1:1/0"))
	status, _, _ := getJSON(t, ts, "/healthz")
	require.Equal(t, http.StatusOK, status)
}

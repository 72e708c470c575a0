package web_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestHomePageSaysKeyrackIsRunning(t *testing.T) {
	t.Parallel()
	ts := upServer(t)
	resp, body := get(t, ts, "/")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "text/html; charset=utf-8", resp.Header.Get("Content-Type"))
	require.Contains(t, string(body), "keyrack is running")
	require.Contains(t, string(body), `href="/healthz"`)
	require.Contains(t, string(body), `href="/readyz"`)
}

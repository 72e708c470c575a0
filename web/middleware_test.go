package web

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/require"
)

// logBuffer is a logger whose output the test reads.
func logBuffer() (*slog.Logger, *bytes.Buffer) {
	var buf bytes.Buffer
	return slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})), &buf
}

func TestAPanicBecomesAJSON500WithoutItsStack(t *testing.T) {
	t.Parallel()
	log, logs := logBuffer()
	s := New(Config{Logger: log})
	s.engine.GET("/boom/:id", func(*gin.Context) { panic("database password is hunter2") })

	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/boom/7", nil))

	require.Equal(t, http.StatusInternalServerError, rec.Code)
	require.Contains(t, rec.Header().Get("Content-Type"), "application/json")
	require.JSONEq(t, `{"error":"internal error"}`, rec.Body.String())
	// The people running keyrack get the details; the caller does not.
	require.Contains(t, logs.String(), "hunter2")
	require.Contains(t, logs.String(), "goroutine")
	require.Contains(t, logs.String(), "route=/boom/:id")
	require.Contains(t, logs.String(), "status=500")
}

// Under /api/ every error is problem details (README), a panic too.
func TestAPanicInTheAPIIsAProblemDocument(t *testing.T) {
	t.Parallel()
	log, logs := logBuffer()
	s := New(Config{Logger: log})
	s.engine.GET("/api/v1/boom", func(*gin.Context) { panic("database password is hunter2") })

	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/v1/boom", nil))
	require.Equal(t, http.StatusInternalServerError, rec.Code)
	require.Equal(t, problemContentType, rec.Header().Get("Content-Type"))
	require.JSONEq(t, `{"type":"urn:keyrack:problem:internal","title":"Internal error","status":500,
		"detail":"keyrack failed on this request; it is logged, and the request can be sent again"}`, rec.Body.String())
	require.NotContains(t, rec.Body.String(), "hunter2")
	require.Contains(t, logs.String(), "hunter2")
}

func TestRequestsAreLoggedByRouteNotByPath(t *testing.T) {
	t.Parallel()
	log, logs := logBuffer()
	s := New(Config{Logger: log})
	s.engine.GET("/probe/:token", func(c *gin.Context) { c.String(http.StatusOK, "BEGIN:VCALENDAR") })

	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/probe/feed-secret-token", nil))
	require.Equal(t, http.StatusOK, rec.Code)

	rec = httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/nowhere/other-secret", nil))
	require.Equal(t, http.StatusNotFound, rec.Code)

	require.Contains(t, logs.String(), "route=/probe/:token")
	require.Contains(t, logs.String(), "route=unmatched")
	require.NotContains(t, logs.String(), "secret")
}

func TestForwardedForIsNotTrustedByDefault(t *testing.T) {
	t.Parallel()
	s := New(Config{Logger: slog.New(slog.DiscardHandler)})
	var client string
	s.engine.GET("/whoami", func(c *gin.Context) { client = c.ClientIP() })

	req := httptest.NewRequest(http.MethodGet, "/whoami", nil)
	req.RemoteAddr = "198.51.100.7:40000"
	req.Header.Set("X-Forwarded-For", "203.0.113.9")
	s.Handler().ServeHTTP(httptest.NewRecorder(), req)
	require.Equal(t, "198.51.100.7", client)
}

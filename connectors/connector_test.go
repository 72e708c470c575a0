package connectors_test

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/keyrack/keyrack/connectors"
	"github.com/stretchr/testify/require"
)

func TestParseRetryAfterReadsSecondsAndDates(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	for v, want := range map[string]time.Duration{
		"":                              0,
		"7":                             7 * time.Second,
		" 120 ":                         2 * time.Minute,
		"-3":                            0,
		"soon":                          0,
		"Sun, 22 Nov 2026 12:00:30 GMT": 30 * time.Second,
		"Sun, 22 Nov 2026 11:59:00 GMT": 0, // in the past
	} {
		require.Equal(t, want, connectors.ParseRetryAfter(v, now), "%q", v)
	}
}

func TestHTTPErrorClassifiesTheChannelsAnswer(t *testing.T) {
	t.Parallel()
	now := time.Now()
	resp := func(code int, retryAfter string) *http.Response {
		r := &http.Response{StatusCode: code, Status: http.StatusText(code), Header: http.Header{}}
		if retryAfter != "" {
			r.Header.Set("Retry-After", retryAfter)
		}
		return r
	}
	require.NoError(t, connectors.HTTPError(resp(200, ""), "", now))
	require.NoError(t, connectors.HTTPError(resp(204, ""), "", now))

	err := connectors.HTTPError(resp(429, "5"), "slow down", now)
	require.Equal(t, connectors.KindRateLimited, connectors.KindOf(err))
	require.Equal(t, 5*time.Second, connectors.RetryAfterOf(err))
	require.Contains(t, err.Error(), "HTTP 429")
	require.Contains(t, err.Error(), "slow down")

	require.Equal(t, connectors.KindRateLimited, connectors.KindOf(connectors.HTTPError(resp(503, "10"), "", now)))
	for _, code := range []int{500, 502, 503, 504, 408} {
		require.Equal(t, connectors.KindRetryable, connectors.KindOf(connectors.HTTPError(resp(code, ""), "", now)), code)
	}
	for _, code := range []int{400, 401, 403, 404, 422} {
		require.Equal(t, connectors.KindPermanent, connectors.KindOf(connectors.HTTPError(resp(code, ""), "", now)), code)
	}
}

func TestErrorKindsSurviveWrapping(t *testing.T) {
	t.Parallel()
	base := errors.New("boom")
	err := connectors.Permanent(base)
	require.ErrorIs(t, err, base)
	require.Equal(t, connectors.KindPermanent, connectors.KindOf(errors.Join(errors.New("context"), err)))
	require.Equal(t, connectors.KindRetryable, connectors.KindOf(base), "an unknown error may pass")
}

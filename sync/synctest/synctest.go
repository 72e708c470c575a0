// Package synctest gives tests the real Redis that the fan-out runs on.
//
// The server comes from TEST_REDIS_URL, else REDIS_URL (`make test` sets
// it, starting a throwaway server when none is reachable). Without one the
// test fails when CI is set and is skipped otherwise.
package synctest

import (
	"os"
	"testing"
)

// RedisURL returns the Redis URL tests use, failing the test in CI and
// skipping it elsewhere when there is none.
func RedisURL(tb testing.TB) string {
	tb.Helper()
	if u := os.Getenv("TEST_REDIS_URL"); u != "" {
		return u
	}
	if u := os.Getenv("REDIS_URL"); u != "" {
		return u
	}
	if os.Getenv("CI") != "" {
		tb.Fatal("this test needs Redis: set TEST_REDIS_URL or REDIS_URL (make test does)")
	}
	tb.Skip("no Redis: set TEST_REDIS_URL or REDIS_URL, or run make test")
	return ""
}

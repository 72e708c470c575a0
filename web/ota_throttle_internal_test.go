package web

import (
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The failure counts are bounded: past otaFailureKeys keys a new one is not
// counted, until expired ones make room.
func TestOTAFailureCountsAreBounded(t *testing.T) {
	var f otaFailures
	now := time.Date(2027, 1, 10, 12, 0, 0, 0, time.UTC)
	secret := func(i int) [8]byte { return [8]byte{byte(i), byte(i >> 8)} }
	for i := range otaFailureKeys {
		f.fail("k"+strconv.Itoa(i), secret(0), now)
	}
	for i := range otaFailureLimit {
		f.fail("new", secret(i), now)
	}
	require.Zero(t, f.wait("new", now), "not counted while the table is full")
	require.Len(t, f.seen, otaFailureKeys)

	later := now.Add(otaFailureWindow)
	for i := range otaFailureLimit {
		f.fail("new", secret(i), later)
	}
	require.Equal(t, otaFailureWindow, f.wait("new", later), "counted once the old ones expired")
	require.Len(t, f.seen, 1)
}

// The same wrong secret again and again (an OTA retrying with a secret
// configured wrong) counts once; distinct ones (a guesser) each.
func TestOTAFailuresCountDistinctSecrets(t *testing.T) {
	var f otaFailures
	now := time.Date(2027, 1, 10, 12, 0, 0, 0, time.UTC)
	for range 3 * otaFailureLimit {
		f.fail("k", [8]byte{1}, now)
		now = now.Add(time.Second)
	}
	require.Zero(t, f.wait("k", now))
	require.Len(t, f.seen["k"], 1)
	for i := range otaFailureLimit - 1 {
		f.fail("k", [8]byte{2, byte(i)}, now)
	}
	require.Equal(t, otaFailureWindow-time.Second, f.wait("k", now),
		"the 20th distinct secret; refused until the first (its latest try) is 15 minutes old")
}

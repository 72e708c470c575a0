package web

import (
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// guess is a wrong secret sent from client for channel "expedia" as user:
// whether it was checked (true) or refused unchecked.
func guess(f *otaFailures, client, user, secret string, now time.Time) bool {
	wait, _ := f.reserve(client, otaAttempts("expedia", presented{"basic": {user: user, secret: secret}}), now)
	return wait == 0
}

// The failure counts are bounded, and a full table still counts: the
// count that failed least recently makes room for a new one, so a guesser
// who had many addresses fill the table is limited like any other.
func TestOTAFailureCountsAreBoundedAndAFullTableStillCounts(t *testing.T) {
	var f otaFailures
	now := time.Date(2027, 1, 10, 12, 0, 0, 0, time.UTC)
	for i := range otaFailureKeys {
		require.True(t, guess(&f, "2001:db8::"+strconv.Itoa(i/50), "junk"+strconv.Itoa(i), "x", now))
	}
	require.Equal(t, otaFailureKeys, f.order.Len())
	checked := 0
	for i := range 3 * otaFailureLimit {
		if guess(&f, "203.0.113.9", "expedia", "guess "+strconv.Itoa(i), now) {
			checked++
		}
	}
	require.Equal(t, otaFailureLimit, checked, "wrong secrets checked with the table full")
	require.Equal(t, otaFailureKeys, f.order.Len())

	later := now.Add(otaFailureWindow)
	require.True(t, guess(&f, "203.0.113.9", "expedia", "at last", later), "refused until the oldest is 15 minutes old")
	require.Equal(t, 1, f.order.Len(), "the expired counts are forgotten")
}

// One client address cannot fill the table with throwaway user names, nor
// guess freely once it failed with many: past otaClientNames user names
// in the window it is refused whatever the name; other addresses are not.
func TestAnAddressFailingWithManyUserNamesIsRefusedWhateverTheName(t *testing.T) {
	var f otaFailures
	now := time.Date(2027, 1, 10, 12, 0, 0, 0, time.UTC)
	const guesser = "203.0.113.9"
	for i := range otaFailureKeys {
		guess(&f, guesser, "junk"+strconv.Itoa(i), "x", now)
	}
	require.LessOrEqual(t, f.order.Len(), otaClientNames, "counts held for one address")
	guesses := 0
	for i := range 10 * otaFailureLimit {
		if guess(&f, guesser, "expedia", "guess "+strconv.Itoa(i), now) {
			guesses++
		}
	}
	require.LessOrEqual(t, guesses, otaFailureLimit, "wrong secrets checked for the real user name after the junk")
	wait, byClient := f.reserve(guesser, nil, now.Add(time.Minute))
	require.Equal(t, otaFailureWindow-time.Minute, wait)
	require.True(t, byClient)
	require.True(t, guess(&f, "198.51.100.1", "expedia", "y", now), "another address")
}

// The same wrong secret again and again (an OTA retrying with a secret
// configured wrong) counts once; distinct ones (a guesser) each; a right
// one, uncounted, leaves the wrong ones counted.
func TestOTAFailuresCountDistinctSecrets(t *testing.T) {
	var f otaFailures
	now := time.Date(2027, 1, 10, 12, 0, 0, 0, time.UTC)
	for range 3 * otaFailureLimit {
		require.True(t, guess(&f, "c", "k", "configured wrong", now))
		now = now.Add(time.Second)
	}
	right := otaAttempts("expedia", presented{"basic": {user: "k", secret: "right"}})
	wait, _ := f.reserve("c", right, now)
	require.Zero(t, wait)
	f.release("c", right)
	for i := range otaFailureLimit - 1 {
		require.True(t, guess(&f, "c", "k", "guess "+strconv.Itoa(i), now))
	}
	wait, byClient := f.reserve("c", right, now)
	require.Equal(t, otaFailureWindow-time.Second, wait,
		"the 20th distinct secret; refused until the first (its latest try) is 15 minutes old")
	require.False(t, byClient)
}

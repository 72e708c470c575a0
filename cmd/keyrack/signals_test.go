package main

import (
	"context"
	"os"
	gosync "sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The first signal starts the graceful shutdown; the same request delivered
// twice (`timeout -s INT` signals keyrack and its process group) does not
// cut it short, a second Ctrl-C a moment later does.
func TestASignalDeliveredTwiceIsOneRequestToStop(t *testing.T) {
	t.Parallel()
	sigs := make(chan os.Signal)
	var mu gosync.Mutex
	clock := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	asked := 0 // how often the loop read the clock: once per signal it handles
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); asked++; return clock }
	advance := func(d time.Duration) { mu.Lock(); defer mu.Unlock(); clock = clock.Add(d) }
	// handled waits until the loop has read the clock for n signals: a send
	// returns once the loop has taken the signal, before it has judged it,
	// and the clock must not move in between.
	handled := func(n int) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
			mu.Lock()
			done := asked >= n
			mu.Unlock()
			if done {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("the signal loop handled %d signals of %d", asked, n)
			}
		}
	}
	send := func(sig os.Signal) {
		t.Helper()
		select {
		case sigs <- sig:
		case <-time.After(10 * time.Second):
			t.Fatalf("the signal loop no longer takes signals (%v)", sig)
		}
	}
	urgent := make(chan os.Signal, 1)
	ctx, stop := shutdownContext(context.Background(), sigs, now, func(sig os.Signal) { urgent <- sig })
	defer stop()

	require.NoError(t, ctx.Err())
	send(syscall.SIGINT)
	<-ctx.Done()
	advance(time.Millisecond)
	send(syscall.SIGINT) // taken once the first one is handled: the loop is ready again
	send(syscall.SIGINT)
	handled(3)
	select {
	case sig := <-urgent:
		t.Fatalf("a signal delivered twice ended the process at once (%v)", sig)
	default:
	}

	advance(sameSignalWithin)
	send(syscall.SIGTERM)
	select {
	case sig := <-urgent:
		require.Equal(t, syscall.SIGTERM, sig)
	case <-time.After(10 * time.Second):
		t.Fatal("a second signal a moment later did not end the process")
	}
}

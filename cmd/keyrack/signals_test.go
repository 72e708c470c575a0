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
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	advance := func(d time.Duration) { mu.Lock(); defer mu.Unlock(); clock = clock.Add(d) }
	urgent := make(chan os.Signal, 1)
	ctx, stop := shutdownContext(context.Background(), sigs, now, func(sig os.Signal) { urgent <- sig })
	defer stop()

	require.NoError(t, ctx.Err())
	sigs <- syscall.SIGINT
	<-ctx.Done()
	advance(time.Millisecond)
	sigs <- syscall.SIGINT // taken once the first one is handled: the loop is ready again
	sigs <- syscall.SIGINT
	select {
	case sig := <-urgent:
		t.Fatalf("a signal delivered twice ended the process at once (%v)", sig)
	default:
	}

	advance(sameSignalWithin)
	sigs <- syscall.SIGTERM
	select {
	case sig := <-urgent:
		require.Equal(t, syscall.SIGTERM, sig)
	case <-time.After(10 * time.Second):
		t.Fatal("a second signal a moment later did not end the process")
	}
}

package sync

import (
	"context"
	"net"
	"os"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

// A worker with one delivery worker per class (KEYRACK_SYNC_CONCURRENCY=1,
// or below 8, where bulk work gets one) still pushes: half of one worker is
// one push to a host, never none — with none, no channel would ever be sent
// anything.
func TestTheHostGateLetsASingleWorkerPush(t *testing.T) {
	g := newHostGate(1, 1)
	for _, class := range []string{classCritical, classBulk} {
		leave, _, _, ok := g.enter(class, "a.example:443")
		require.True(t, ok, class)
		_, _, _, ok = g.enter(class, "a.example:443")
		require.False(t, ok, "%s: one at a time", class)
		leave(answered)
	}
	require.Empty(t, g.inFlight)
}

// A host that refuses the connection, or whose name does not resolve,
// answered at once: it is not a host that hangs, and its channels keep
// their share of the workers.
func TestAPushRefusedAtOnceIsNoTimeout(t *testing.T) {
	ctx := context.Background()
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: &os.SyscallError{Syscall: "connect", Err: syscall.ECONNREFUSED}}
	require.False(t, refused.Timeout())
	require.Equal(t, answered, howEnded(ctx, refused))
	require.Equal(t, answered, howEnded(ctx, &net.DNSError{Err: "no such host", Name: "supply.example", IsNotFound: true}))
	require.Equal(t, noAnswer, howEnded(ctx, &net.DNSError{Err: "i/o timeout", Name: "supply.example", IsTimeout: true}))
}

package main

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keyrack/keyrack/sync/synctest"
	"github.com/stretchr/testify/require"
)

// restarting stands in front of keyrack and, while down, answers every
// request 503, as keyrack's API does while PostgreSQL restarts.
type restarting struct {
	next    http.Handler
	down    atomic.Bool
	refused atomic.Int64
}

func (r *restarting) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if r.down.Load() {
		r.refused.Add(1)
		http.Error(w, "the database system is starting up", http.StatusServiceUnavailable)
		return
	}
	r.next.ServeHTTP(w, req)
}

// A fault drill's Ctrl-C can land while keyrack or its database restarts:
// the final check waits, as -check-timeout promises, and judges once
// keyrack answers again.
func TestSimCheckWaitsForAKeyrackThatIsRestarting(t *testing.T) {
	t.Parallel()
	env := demoEnv(t)
	env["KEYRACK_ICAL_ALLOW_PRIVATE"] = "1" // the simulated calendar's feeds are on loopback
	env["KEYRACK_PULL_ALLOW_PRIVATE"] = "1" // and the simulated pull-mode OTA's queues
	code, _, stderr := keyrack(t, env, "seed", "demo")
	require.Equal(t, 0, code, stderr)
	serveCtx, stopServing := context.WithCancel(context.Background())
	defer stopServing()
	served, base, _, serveErr := runDemo(t, serveCtx, env, "serve")
	u, err := url.Parse(base)
	require.NoError(t, err)
	front := &restarting{next: httputil.NewSingleHostReverseProxy(u)}
	ts := httptest.NewServer(front)
	defer ts.Close()

	simCtx, stopSim := context.WithCancel(context.Background())
	defer stopSim()
	stdout, errOut := &synctest.LockedBuffer{}, &synctest.LockedBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- run(simCtx, []string{"sim", "-keyrack", ts.URL, "-rate", "0", "-every", "100ms", "-check-timeout", "2m"},
			func(k string) string { return env[k] }, stdout, errOut)
	}()
	require.Eventually(t, func() bool { return strings.Contains(stdout.String(), "Ctrl-C stops") }, 60*time.Second, 20*time.Millisecond,
		"stdout %q, stderr %q, keyrack's stderr %q", stdout, errOut, serveErr)

	front.down.Store(true)
	stopSim()
	gaveUp := -1
	require.Eventually(t, func() bool {
		select {
		case gaveUp = <-done:
			return true
		default:
			return front.refused.Load() >= 3
		}
	}, 60*time.Second, 20*time.Millisecond, "the check asked keyrack while it was down")
	require.Equal(t, -1, gaveUp, "the check gave up while keyrack was down: stdout %q, stderr %q", stdout, errOut)
	front.down.Store(false)
	require.Equal(t, 0, exitStatus(t, done), "stdout %q, stderr %q", stdout, errOut)
	require.Contains(t, stdout.String(), "keyrack sim: every simulated channel believes the pool")
	require.Contains(t, stdout.String(), "keyrack sim: keyrack holds every booking it took as its channel sent it")

	stopServing()
	require.Equal(t, 0, exitStatus(t, served))
}

// keyrack sim -serve on a port in use says how to choose another, and
// that is an environment variable: the command has no -addr.
func TestSimServeOnAPortInUseNamesKEYRACK_ADDR(t *testing.T) {
	t.Parallel()
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer taken.Close()
	env := demoEnv(t)
	env["KEYRACK_ADDR"] = taken.Addr().String()
	code, _, stderr := keyrack(t, env, "sim", "-serve")
	require.Equal(t, 1, code, stderr)
	require.Contains(t, stderr, "listen on "+taken.Addr().String()+" (set KEYRACK_ADDR)")
	require.NotContains(t, stderr, "-addr")
}

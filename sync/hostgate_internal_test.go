package sync

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestEndpointHostNamesTheServer(t *testing.T) {
	for in, want := range map[string]string{
		"https://Supply.Example.com/hotels/ari": "supply.example.com:443",
		"https://supply.example.com:443/other":  "supply.example.com:443",
		"http://127.0.0.1:8080/a":               "127.0.0.1:8080",
		"http://[::1]/a":                        "[::1]:80",
		"https://supply.example.com:8443/":      "supply.example.com:8443",
	} {
		require.Equal(t, want, endpointHost(in), in)
	}
}

func TestTheHostGateLimitsEachHostAndClassAndSuspectsAHostThatTimedOut(t *testing.T) {
	g := newHostGate(4, 2) // 2 critical and 1 bulk push per host
	a, b := "a.example:443", "b.example:443"
	take := func(class, host string) func(pushEnd) {
		t.Helper()
		leave, _, _, ok := g.enter(class, host)
		require.True(t, ok, "%s %s", class, host)
		return leave
	}
	l1, l2 := take(classCritical, a), take(classCritical, a)
	_, wait, suspect, ok := g.enter(classCritical, a)
	require.False(t, ok, "a third critical push to a")
	require.Equal(t, hostBusyDelay, wait)
	require.False(t, suspect)
	lb := take(classCritical, b) // another host is not held back
	lbulk := take(classBulk, a)  // nor bulk work, which has workers of its own
	_, _, _, ok = g.enter(classBulk, a)
	require.False(t, ok, "a second bulk push to a")

	l1(noAnswer)
	_, wait, suspect, ok = g.enter(classCritical, a)
	require.False(t, ok, "a timed out: one push at a time, and one is in flight")
	require.True(t, suspect)
	require.Equal(t, hostSuspectDelay, wait)
	l2(notPushed) // given back unused: says nothing of the host
	l3 := take(classCritical, a)
	_, _, suspect, ok = g.enter(classCritical, a)
	require.False(t, ok, "still suspect after a slot given back unused")
	require.True(t, suspect)
	l3(answered)
	l4, l5 := take(classCritical, a), take(classCritical, a)
	for _, l := range []func(pushEnd){l4, l5, lb, lbulk} {
		l(answered)
	}
	require.Empty(t, g.inFlight, "every slot given back")
}

func TestAPushEndsInNoAnswerOnlyWhenItRanOutOfTime(t *testing.T) {
	ctx := context.Background()
	stopped, stop := context.WithCancel(ctx)
	stop()
	require.Equal(t, answered, howEnded(ctx, nil))
	require.Equal(t, answered, howEnded(ctx, errors.New("503 Service Unavailable")))
	require.Equal(t, noAnswer, howEnded(ctx, fmt.Errorf("Post: %w", context.DeadlineExceeded)))
	require.Equal(t, noAnswer, howEnded(ctx, timeoutError{}))
	require.Equal(t, notPushed, howEnded(stopped, context.Canceled), "the worker stopping is not the host's doing")
}

type timeoutError struct{}

func (timeoutError) Error() string   { return "i/o timeout" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }

package main

import (
	"context"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/keyrack/keyrack/sync/synctest"
	"github.com/stretchr/testify/require"
)

// demoEnv is the environment of a live demo on a migrated schema and
// queues of the test's own, listening on a free port.
func demoEnv(t *testing.T) map[string]string {
	t.Helper()
	env := map[string]string{"DATABASE_URL": schemaURL(t), "REDIS_URL": synctest.RedisURL(t), "KEYRACK_ADDR": "127.0.0.1:0",
		"KEYRACK_SECRET": "the secret of the demo's tests", "KEYRACK_LOG_LEVEL": "error"}
	env["KEYRACK_QUEUE_PREFIX"] = synctest.QueuePrefix(t, env["REDIS_URL"])
	code, _, stderr := keyrack(t, env, "migrate")
	require.Equal(t, 0, code, stderr)
	return env
}

// runDemo starts the command line in the background until ctx ends; the
// channel gets its exit status. It returns once keyrack says where it
// serves, with that URL.
func runDemo(t *testing.T, ctx context.Context, env map[string]string, args ...string) (<-chan int, string, *synctest.LockedBuffer, *synctest.LockedBuffer) {
	t.Helper()
	stdout, stderr := &synctest.LockedBuffer{}, &synctest.LockedBuffer{}
	done := make(chan int, 1)
	go func() { done <- run(ctx, args, func(k string) string { return env[k] }, stdout, stderr) }()
	serving := regexp.MustCompile(`keyrack is serving on (http://\S+)/`)
	var url string
	require.Eventually(t, func() bool {
		m := serving.FindStringSubmatch(stdout.String())
		if m != nil {
			url = m[1]
		}
		return m != nil
	}, 30*time.Second, 20*time.Millisecond, "stdout %q, stderr %q", stdout, stderr)
	return done, url, stdout, stderr
}

func exitStatus(t *testing.T, done <-chan int) int {
	t.Helper()
	select {
	case code := <-done:
		return code
	case <-time.After(3 * time.Minute):
		t.Fatal("the command did not stop")
		return 0
	}
}

// `keyrack sim -serve` is the live demo in one process: keyrack serves the
// demo hotel, the simulated channels book into it and take its updates,
// and a signal stops the bookings, waits for every channel to believe the
// pool, then stops keyrack.
func TestSimServeRunsTheLiveDemoUntilASignal(t *testing.T) {
	t.Parallel()
	env := demoEnv(t)
	code, _, stderr := keyrack(t, env, "seed", "demo")
	require.Equal(t, 0, code, stderr)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// The channels fail a tenth of keyrack's requests and throttle it to 4
	// a second each: keyrack's retries and its pauses for Retry-After.
	done, url, stdout, errOut := runDemo(t, ctx, env, "sim", "-serve", "-rate", "5", "-fail-share", "0.1", "-limit", "4", "-per", "1s",
		"-every", "200ms", "-check-timeout", "2m")

	// Until bookings went through and keyrack met the limit: how soon it
	// sends more than 4 a second to one channel depends on the machine's pace.
	accepted := regexp.MustCompile(`bookings sent \d+, accepted (\d+).* (\d+) throttled`)
	require.Eventually(t, func() bool {
		ms := accepted.FindAllStringSubmatch(stdout.String(), -1)
		if len(ms) == 0 {
			return false
		}
		n, _ := strconv.Atoi(ms[len(ms)-1][1])
		throttled, _ := strconv.Atoi(ms[len(ms)-1][2])
		return n >= 10 && throttled > 0
	}, 60*time.Second, 50*time.Millisecond, "stdout %q, stderr %q", stdout, errOut)
	res, err := http.Get(url + "/readyz")
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)

	cancel()
	require.Equal(t, 0, exitStatus(t, done), "stdout %q, stderr %q", stdout, errOut)
	require.Contains(t, stdout.String(), "keyrack sim: every simulated channel believes the pool")
	require.Contains(t, stdout.String(), "each serves keyrack 4 requests per 1s (429 beyond)")
	// (How many failed depends on how many got through: a handful.)
	throttled := regexp.MustCompile(`(\d+) throttled`).FindAllStringSubmatch(stdout.String(), -1)
	require.NotEmpty(t, throttled)
	require.NotEqual(t, "0", throttled[len(throttled)-1][1], "keyrack was throttled: %s", stdout)
	_, err = http.Get(url + "/healthz")
	require.Error(t, err, "keyrack stopped with the simulation")
}

// A simulation that cannot run (here: no demo hotel) is reported, and
// keyrack goes on serving until the signal; the exit status is then 1.
func TestSimServeKeepsServingWhenTheSimulationFails(t *testing.T) {
	t.Parallel()
	env := demoEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done, url, stdout, stderr := runDemo(t, ctx, env, "sim", "-serve")
	require.Eventually(t, func() bool { return strings.Contains(stderr.String(), "the simulation failed") }, 30*time.Second, 20*time.Millisecond,
		"stdout %q, stderr %q", stdout, stderr)
	require.Contains(t, stderr.String(), "DEMO")
	res, err := http.Get(url + "/healthz")
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)

	cancel()
	require.Equal(t, 1, exitStatus(t, done))
	_, err = http.Get(url + "/healthz")
	require.Error(t, err)
}

func TestSimServeMistakesAreUsageErrors(t *testing.T) {
	t.Parallel()
	env := map[string]string{"DATABASE_URL": "postgres://unused", "KEYRACK_SECRET": "the secret of the demo's tests"}
	code, _, stderr := keyrack(t, env, "sim", "-serve", "-keyrack", "http://127.0.0.1:1")
	require.Equal(t, 2, code)
	require.Contains(t, stderr, "-keyrack")
	delete(env, "KEYRACK_SECRET")
	code, _, stderr = keyrack(t, env, "sim", "-serve")
	require.Equal(t, 2, code)
	require.Contains(t, stderr, "KEYRACK_SECRET")
	code, _, stderr = keyrack(t, env, "sim", "-check-timeout", "-1s")
	require.Equal(t, 2, code)
	require.Contains(t, stderr, "-check-timeout")
	code, _, stderr = keyrack(t, env, "sim", "-limit", "-1")
	require.Equal(t, 2, code)
	require.Contains(t, stderr, "-limit")
	code, _, stderr = keyrack(t, env, "sim", "-limit", "5", "-per", "0s")
	require.Equal(t, 2, code)
	require.Contains(t, stderr, "-per")
}

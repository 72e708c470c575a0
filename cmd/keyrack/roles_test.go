package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/keyrack/keyrack/connectors"
	"github.com/keyrack/keyrack/connectors/testjson"
	"github.com/keyrack/keyrack/fixtures/testchannel"
	"github.com/keyrack/keyrack/inventory"
	"github.com/keyrack/keyrack/inventory/inventorytest"
	"github.com/stretchr/testify/require"
)

func TestServeRolesMustBeKnown(t *testing.T) {
	t.Parallel()
	code, _, stderr := keyrack(t, nil, "serve", "-roles", "web,cook")
	require.Equal(t, 2, code)
	require.Contains(t, stderr, `-roles (KEYRACK_ROLES): unknown role "cook"`)
	code, _, stderr = keyrack(t, map[string]string{"KEYRACK_ROLES": " , "}, "serve")
	require.Equal(t, 2, code)
	require.Contains(t, stderr, "KEYRACK_ROLES): no role to run")
	roles, err := parseRoles("worker, web,worker")
	require.NoError(t, err)
	require.Equal(t, []string{"worker", "web"}, roles)
}

// channelHotel is a property with one pool of 10 sold on two channels:
// A, and B which is a test channel keyrack pushes to.
func channelHotel(t *testing.T, st *inventory.Store) *testchannel.Channel {
	t.Helper()
	ctx := context.Background()
	tc := testchannel.New()
	t.Cleanup(tc.Close)
	_, err := st.CreateProperty(ctx, inventory.Property{Code: "H", Name: "Hotel", TimeZone: "Europe/Lisbon", Currency: "EUR"}, inventory.System)
	require.NoError(t, err)
	_, err = st.CreatePool(ctx, "H", inventory.Pool{Code: "P", Units: 10}, inventory.System)
	require.NoError(t, err)
	_, err = st.CreateRoomType(ctx, "H", inventory.RoomType{Code: "R", Pool: "P"}, inventory.System)
	require.NoError(t, err)
	for code, endpoint := range map[string]string{"A": "", "B": tc.URL()} {
		_, err = st.CreateChannel(ctx, "H", inventory.Channel{Code: code, Kind: inventory.ChannelOTAPush, Enabled: true, Endpoint: endpoint}, inventory.System)
		require.NoError(t, err)
		require.NoError(t, st.SetMapping(ctx, "H", code, inventory.Mapping{ChannelRoom: code + "-R", RoomType: "R"}, inventory.System))
	}
	return tc
}

func bookOnA(t *testing.T, st *inventory.Store, id string, night inventory.Date) {
	t.Helper()
	_, err := st.ApplyRevision(context.Background(), inventory.Revision{Property: "H", Channel: "A", ExternalID: id,
		Kind: inventory.New, Stays: []inventory.RoomStay{{RoomType: "R", Arrival: night, Departure: night.AddDays(1), Rooms: 2}}})
	require.NoError(t, err)
}

func pendingAvailability(t *testing.T, st *inventory.Store) int {
	t.Helper()
	var n int
	require.NoError(t, st.DB().QueryRow(context.Background(),
		`SELECT count(*) FROM outbox WHERE topic = 'availability' AND done_at IS NULL`).Scan(&n))
	return n
}

// runMain runs m until the test ends.
func runMain(t *testing.T, m *Main) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, wait(t, done))
		require.NoError(t, m.Close())
	})
	select {
	case <-m.Started():
	case err := <-done:
		t.Fatalf("Run returned before starting: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not start")
	}
}

func TestAWorkerProcessDeliversWhatAWebProcessRecorded(t *testing.T) {
	t.Parallel()
	st := inventorytest.New(t)
	tc := channelHotel(t, st)
	night := inventory.Today(time.UTC).AddDays(3)

	webOnly := newTestMain(t)
	webOnly.Store = st
	webOnly.Config.Roles = "web"
	runMain(t, webOnly)
	require.NotNil(t, webOnly.Addr())
	require.NotNil(t, webOnly.Fanout(), "a web process reads the PMS feed from the fan-out; it runs none of its work")
	bookOnA(t, st, "A-1", night)
	time.Sleep(300 * time.Millisecond)
	require.Equal(t, 1, pendingAvailability(t, st), "no worker: the change waits in the outbox")
	require.Zero(t, tc.Stats().Requests)

	var stdout bytes.Buffer
	worker := newTestMain(t)
	worker.Config.QueuePrefix = webOnly.Config.QueuePrefix
	worker.Store = st
	worker.Config.Roles = "worker"
	worker.Stdout = &stdout
	worker.Connectors = connectors.Registry{inventory.ChannelOTAPush: &testjson.Connector{}}
	runMain(t, worker)
	require.Equal(t, "keyrack is running: worker\n", stdout.String())
	require.Nil(t, worker.Addr(), "a worker process does not listen")
	require.Eventually(t, func() bool {
		v, ok := tc.Value("B-R", night)
		return ok && v == 8
	}, 60*time.Second, 20*time.Millisecond)
	require.Zero(t, pendingAvailability(t, st))
}

func TestServeRunsEveryRoleByDefault(t *testing.T) {
	t.Parallel()
	st := inventorytest.New(t)
	tc := channelHotel(t, st)
	m := newTestMain(t)
	m.Store = st
	m.Connectors = connectors.Registry{inventory.ChannelOTAPush: &testjson.Connector{}}
	runMain(t, m)
	require.NotNil(t, m.Addr())
	require.Eventually(t, m.Fanout().IsLeader, 60*time.Second, 20*time.Millisecond, "the only scheduler leads")

	night := inventory.Today(time.UTC).AddDays(5)
	bookOnA(t, st, "A-2", night)
	require.Eventually(t, func() bool {
		v, ok := tc.Value("B-R", night)
		return ok && v == 8
	}, 60*time.Second, 20*time.Millisecond)
	status, err := m.Fanout().Status(context.Background(), "H")
	require.NoError(t, err)
	require.Len(t, status, 2)
}

// A worker or scheduler process started with a Redis that does not answer
// (a wrong REDIS_URL in its unit file) said "serving anyway … (see
// /readyz)": it serves nothing, has no /readyz, and the web process's
// /readyz checks its own connection, which answers. Its log now says what
// it does without Redis, and that no /readyz of another process shows it.
func TestAProcessWithoutTheWebRoleSaysWhatItDoesWithoutRedis(t *testing.T) {
	t.Parallel()
	st := inventorytest.New(t)
	for _, roles := range []string{"worker", "scheduler", "web,worker"} {
		var logged bytes.Buffer
		m := NewMain()
		m.Logger = slog.New(slog.NewTextHandler(&logged, &slog.HandlerOptions{Level: slog.LevelWarn}))
		m.Config.Addr = "127.0.0.1:0"
		m.Config.RedisURL = "redis://127.0.0.1:1/0"
		m.Config.Roles = roles
		m.Store = st
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- m.Run(ctx) }()
		select {
		case <-m.Started():
		case err := <-done:
			t.Fatalf("%s: Run returned before starting: %v", roles, err)
		case <-time.After(30 * time.Second):
			t.Fatalf("%s: Run did not start", roles)
		}
		cancel()
		require.NoError(t, wait(t, done))
		require.NoError(t, m.Close())
		first, _, _ := strings.Cut(logged.String(), "\n")
		require.Contains(t, first, "Redis does not answer", roles)
		if roles == "web,worker" {
			require.Contains(t, first, "serving anyway, channels are updated once it is back (see /readyz)")
			continue
		}
		require.NotContains(t, first, "serving", roles)
		require.NotContains(t, first, "see /readyz", roles)
		require.Contains(t, first, "running anyway", roles)
		require.Contains(t, first, "check this process's REDIS_URL: the web process's /readyz checks its own connection", roles)
	}
}

// A serve process names its PostgreSQL sessions by its roles and process
// id: with several processes on one host, the session a channel's status
// names as holding its lock tells which one to look at. A name given in
// DATABASE_URL stands.
func TestServeNamesItsSessionsByRolesAndProcess(t *testing.T) {
	t.Parallel()
	url, st, _ := migratedHotel(t)
	sessions := func(name string) int {
		var n int
		require.NoError(t, st.DB().QueryRow(context.Background(),
			`SELECT count(*) FROM pg_stat_activity WHERE application_name = $1`, name).Scan(&n))
		return n
	}
	m := newTestMain(t)
	m.Config.DatabaseURL = url
	m.Config.Roles = "worker,scheduler"
	runMain(t, m)
	name := fmt.Sprintf("keyrack serve worker,scheduler pid %d", os.Getpid())
	require.Equal(t, name, sessionName([]string{"worker", "scheduler"}))
	require.Eventually(t, func() bool { return sessions(name) > 0 }, 30*time.Second, 20*time.Millisecond, "the scheduler's lead and the workers' sessions")

	named := newTestMain(t)
	named.Config.DatabaseURL = url + "&application_name=front-desk-keyrack"
	if !strings.Contains(url, "://") {
		named.Config.DatabaseURL = url + " application_name=front-desk-keyrack" // key=value form
	}
	named.Config.Roles = "web"
	named.Config.QueuePrefix = m.Config.QueuePrefix
	runMain(t, named)
	_, err := named.Store.DB().Exec(context.Background(), `SELECT 1`)
	require.NoError(t, err)
	require.Positive(t, sessions("front-desk-keyrack"))
}

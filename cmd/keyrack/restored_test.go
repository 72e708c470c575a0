package main

import (
	"context"
	"testing"
	"time"

	"github.com/keyrack/keyrack/connectors"
	"github.com/keyrack/keyrack/connectors/testjson"
	"github.com/keyrack/keyrack/inventory"
	"github.com/keyrack/keyrack/sync/synctest"
	"github.com/stretchr/testify/require"
)

// keyrack's database restored from a backup goes back to what channels
// were told then, and to the ids it had issued then — while the channels
// kept what keyrack told them since, and the PMS the feed ids and
// reservation ids it was sent. `keyrack restored`, run once before keyrack
// starts on the restored database, moves every id past those and resyncs
// every channel; it is refused while a keyrack process runs.
func TestRestoredMovesIdsPastTheBackupAndResyncsEveryChannel(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := schemaURL(t)
	code, _, stderr := keyrack(t, nil, "migrate", "-database-url", url)
	require.Equal(t, 0, code, stderr)
	st, err := inventory.Open(ctx, url)
	require.NoError(t, err)
	t.Cleanup(st.Close)
	tc := channelHotel(t, st)
	night := inventory.Today(time.UTC).AddDays(10)
	bookOnA(t, st, "A-1", night)
	var backupID int64
	require.NoError(t, st.DB().QueryRow(ctx, `SELECT max(id) FROM reservations`).Scan(&backupID))

	redisURL := synctest.RedisURL(t)
	prefix := synctest.QueuePrefix(t, redisURL)
	start := func() (stop func()) {
		m := newTestMain(t)
		m.Store = st
		m.Config.RedisURL, m.Config.QueuePrefix, m.Config.ResyncAt = redisURL, prefix, "off"
		m.Connectors = connectors.Registry{inventory.ChannelOTAPush: &testjson.Connector{}}
		running, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- m.Run(running) }()
		<-m.Started()
		return func() { cancel(); require.NoError(t, wait(t, done)); require.NoError(t, m.Close()) }
	}
	stop := start()
	require.Eventually(t, func() bool { v, ok := tc.Value("B-R", night); return ok && v == 8 }, 60*time.Second, 20*time.Millisecond)

	env := map[string]string{"DATABASE_URL": url, "REDIS_URL": redisURL, "KEYRACK_QUEUE_PREFIX": prefix}
	code, _, stderr = keyrack(t, env, "restored")
	require.Equal(t, 1, code, "restored beside a running keyrack")
	require.Contains(t, stderr, "keyrack processes are running")
	stop()

	// After the backup keyrack told channel B of 4 more rooms sold; the
	// booking is lost with the database, and B still holds 4.
	tc.Sell("B-R", night, night.AddDays(1), 4)
	v, _ := tc.Value("B-R", night)
	require.Equal(t, 4, v)

	code, stdout, stderr := keyrack(t, env, "restored")
	require.Equal(t, 0, code, stderr)
	require.Contains(t, stdout, "every channel of 1 property is resynced")
	stop = start()
	defer stop()
	require.Eventually(t, func() bool { v, ok := tc.Value("B-R", night); return ok && v == 8 }, 60*time.Second, 20*time.Millisecond,
		"channel B is sent what the restored pool holds")

	// New ids are not those issued after the backup, which channels and the PMS may hold.
	bookOnA(t, st, "A-2", night)
	var id int64
	require.NoError(t, st.DB().QueryRow(ctx, `SELECT id FROM reservations WHERE external_id = 'A-2'`).Scan(&id))
	require.Greater(t, id, backupID+1_000_000)
}

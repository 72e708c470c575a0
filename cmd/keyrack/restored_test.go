package main

import (
	"context"
	"testing"
	"time"

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
	url, st, tc := migratedHotel(t)
	night := inventory.Today(time.UTC).AddDays(10)
	bookOnA(t, st, "A-1", night)
	var backupID int64
	require.NoError(t, st.DB().QueryRow(ctx, `SELECT max(id) FROM reservations`).Scan(&backupID))

	redisURL := synctest.RedisURL(t)
	prefix := synctest.QueuePrefix(t, redisURL)
	start := func() (stop func()) {
		stop, err := runKeyrack(t, st, redisURL, prefix)
		require.NoError(t, err)
		return stop
	}
	stop := start()
	require.Eventually(t, func() bool { v, ok := tc.Value("B-R", night); return ok && v == 8 }, 60*time.Second, 20*time.Millisecond)

	env := map[string]string{"DATABASE_URL": url, "REDIS_URL": redisURL, "KEYRACK_QUEUE_PREFIX": prefix}
	code, _, stderr := keyrack(t, env, "restored")
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

// The bookings the channels sent after the backup are not in the restored
// database, and keyrack cannot find them: `keyrack restored` raises an
// alert on every property saying from when bookings may be missing — the
// newest thing the database had recorded for that property (its newest
// audit entry, or inbound message if later) — and when the restore was
// readied. Run again, it updates the open alert, keeping its moment.
func TestRestoredRaisesAnAlertOnEveryPropertyOfTheBookingsThatMayBeMissing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url, st, _ := migratedHotel(t) // H, in Lisbon
	bookOnA(t, st, "A-1", inventory.Today(time.UTC).AddDays(10))
	_, err := st.CreateProperty(ctx, inventory.Property{Code: "K", Name: "Ryokan", TimeZone: "Asia/Tokyo", Currency: "JPY"}, inventory.System)
	require.NoError(t, err)
	_, err = st.RecordInbound(ctx, inventory.InboundMessage{Property: "H", Channel: "A", Direction: "push", Outcome: "ok", Raw: "<sent again/>"})
	require.NoError(t, err)
	// What the backup held: H's last audit entry (the booking) at 10:15,
	// then a message of channel A that changed nothing at 10:20; K's last
	// audit entry the night before.
	for _, q := range []string{
		`UPDATE audit_log a SET at = CASE WHEN a.id = (SELECT max(id) FROM audit_log WHERE property_id = a.property_id)
			THEN '2026-03-01 10:15:00+00'::timestamptz ELSE '2026-03-01 09:00:00+00' END
			FROM properties p WHERE p.id = a.property_id AND p.code = 'H'`,
		`UPDATE inbound_messages SET received_at = '2026-03-01 10:20:00.5+00'`,
		`UPDATE audit_log a SET at = '2026-02-28 23:59:59+00' FROM properties p WHERE p.id = a.property_id AND p.code = 'K'`,
	} {
		_, err := st.DB().Exec(ctx, q)
		require.NoError(t, err)
	}
	hSince := time.Date(2026, 3, 1, 10, 20, 0, 500_000_000, time.UTC)
	kSince := time.Date(2026, 2, 28, 23, 59, 59, 0, time.UTC)

	redisURL := synctest.RedisURL(t)
	env := map[string]string{"DATABASE_URL": url, "REDIS_URL": redisURL, "KEYRACK_QUEUE_PREFIX": synctest.QueuePrefix(t, redisURL)}
	// open is a property's open database_restored incidents.
	open := func(property string) []inventory.Incident {
		t.Helper()
		incs, err := st.Incidents(ctx, property, true)
		require.NoError(t, err)
		var out []inventory.Incident
		for _, i := range incs {
			if i.Kind == "database_restored" {
				out = append(out, i)
			}
		}
		return out
	}
	detailTime := func(i inventory.Incident, key string) time.Time {
		t.Helper()
		s, _ := i.Details[key].(string)
		at, err := time.Parse(time.RFC3339Nano, s)
		require.NoError(t, err, "details %s: %v", key, i.Details)
		return at
	}

	before := time.Now()
	code, stdout, stderr := keyrack(t, env, "restored")
	require.Equal(t, 0, code, stderr)
	after := time.Now()
	require.Contains(t, stdout, "H: bookings made since 2026-03-01 10:20:00 WET may be missing")
	require.Contains(t, stdout, "K: bookings made since 2026-03-01 08:59:59 JST may be missing")
	for property, since := range map[string]time.Time{"H": hSince, "K": kSince} {
		incs := open(property)
		require.Len(t, incs, 1, property)
		require.True(t, since.Equal(detailTime(incs[0], "missing_since")), "%s: %v", property, incs[0].Details)
		restoredAt := detailTime(incs[0], "restored_at")
		require.WithinRange(t, restoredAt, before.Add(-time.Second), after.Add(time.Second), property)
	}
	h := open("H")[0]
	require.Contains(t, h.Message, "keyrack's database was restored from a backup")
	require.Contains(t, h.Message, "since 2026-03-01 10:20 WET")
	require.Contains(t, h.Message, "Check each channel's extranet and the PMS")
	require.Contains(t, open("K")[0].Message, "since 2026-03-01 08:59 JST")

	// Run again — after a booking recorded since: the open alert is
	// updated, not doubled, and keeps its moment.
	bookOnA(t, st, "A-2", inventory.Today(time.UTC).AddDays(11))
	code, _, stderr = keyrack(t, env, "restored")
	require.Equal(t, 0, code, stderr)
	incs := open("H")
	require.Len(t, incs, 1)
	require.Equal(t, h.ID, incs[0].ID)
	require.True(t, hSince.Equal(detailTime(incs[0], "missing_since")), "%v", incs[0].Details)
	require.True(t, detailTime(incs[0], "restored_at").After(detailTime(h, "restored_at")))
	require.True(t, incs[0].UpdatedAt.After(h.UpdatedAt))
	require.Len(t, open("K"), 1)

	// Once staff resolved it, a later run opens a new one, from what the
	// database holds then.
	require.NoError(t, st.ResolveIncident(ctx, "H", h.ID, inventory.System))
	code, _, stderr = keyrack(t, env, "restored")
	require.Equal(t, 0, code, stderr)
	incs = open("H")
	require.Len(t, incs, 1)
	require.NotEqual(t, h.ID, incs[0].ID)
	require.True(t, detailTime(incs[0], "missing_since").After(hSince))
}

package inventory_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/jackc/tern/v2/migrate"
	"github.com/keyrack/keyrack/inventory"
	"github.com/stretchr/testify/require"
)

// migrateTo moves st's schema to version v with the migrations on disk (up
// or down), as an older or newer keyrack would have left it.
func migrateTo(t *testing.T, st *inventory.Store, v int32) {
	t.Helper()
	ctx := context.Background()
	conn, err := st.DB().Acquire(ctx)
	require.NoError(t, err)
	defer conn.Release()
	m, err := migrate.NewMigrator(ctx, conn.Conn(), "keyrack_schema_version")
	require.NoError(t, err)
	require.NoError(t, m.LoadMigrations(os.DirFS("migrations")))
	require.NoError(t, m.MigrateTo(ctx, v))
}

// A database kept by a keyrack from before migration 019: a night booked
// when the pool had 10 rooms kept 10 when the pool was cut to 6 (what
// keyrack did then). Upgrading, and cutting the pool again, must give that
// night the pool's 6 — staff never gave it units of its own (the audit log
// says which nights they did: the one they set to 9 keeps 9).
func TestAPoolCutBeforeTheUpgradeReachesItsBookedNights(t *testing.T) {
	t.Parallel()
	h := newHotel(t, "Europe/Lisbon", []int{10}, inventory.FactorOne, 1)
	ctx := context.Background()
	day := inventory.Today(time.UTC).AddDays(10)
	_, err := h.st.ApplyRevision(ctx, h.booking("C0", "B1", inventory.New, "R0", day.String(), 1, 3, inventory.MayReject))
	require.NoError(t, err)
	nine := 9
	require.NoError(t, h.st.EditNights(ctx, inventory.NightRange{Property: h.code, Pool: "P0", From: day.AddDays(1), To: day.AddDays(2)},
		inventory.NightEdit{Units: &nine}, inventory.Staff("anna")))

	// The keyrack of schema 18 cuts the pool: only the pool's row changes.
	migrateTo(t, h.st, 18)
	_, err = h.st.DB().Exec(ctx, `UPDATE pools SET units = 6 WHERE code = 'P0'`)
	require.NoError(t, err)
	require.NoError(t, h.st.Migrate(ctx))

	// Staff see 10 rooms on the booked night and cut the pool to 6 again.
	six := 6
	_, err = h.st.UpdatePool(ctx, h.code, "P0", inventory.PoolPatch{Units: &six}, inventory.Staff("anna"))
	require.NoError(t, err)
	n := h.nights(t, day.String(), 2)["P0"]
	require.Equal(t, 9, n[day.AddDays(1)].Units, "the night staff gave 9 rooms keeps them")
	require.Equal(t, 6, n[day].Units, "the booked night takes the pool's 6 rooms")
	require.Equal(t, 3, n[day].Available, "6 rooms, 3 sold")
}

// Migration 032 keys inbound_messages by property: the messages an older
// keyrack kept under no property (unauthenticated senders) move to
// inbound_unattributed, still bounded and purged, the property's stay
// listed; and back on a rollback.
func TestInboundMessagesOfNoPropertyMoveApartOnTheUpgrade(t *testing.T) {
	t.Parallel()
	h := newHotel(t, "Europe/Lisbon", []int{10}, inventory.FactorOne, 1)
	ctx := context.Background()
	migrateTo(t, h.st, 31)
	_, err := h.st.DB().Exec(ctx, `INSERT INTO inbound_messages (property_id, channel_code, direction, outcome, raw)
		VALUES ((SELECT id FROM properties WHERE code = $1), 'C0', 'push', 'ok', 'theirs'),
			(NULL, 'C0', 'push', 'unauthenticated', 'nobody''s')`, h.code)
	require.NoError(t, err)
	count := func(table string) (n int) {
		require.NoError(t, h.st.DB().QueryRow(ctx, `SELECT count(*) FROM `+table).Scan(&n))
		return n
	}

	require.NoError(t, h.st.Migrate(ctx))
	ms, err := h.st.InboundMessages(ctx, h.code, "", 10)
	require.NoError(t, err)
	require.Len(t, ms, 1)
	require.Equal(t, "theirs", ms[0].Raw)
	var raw, outcome string
	require.NoError(t, h.st.DB().QueryRow(ctx, `SELECT raw, outcome FROM inbound_unattributed`).Scan(&raw, &outcome))
	require.Equal(t, []string{"nobody's", "unauthenticated"}, []string{raw, outcome})
	var pk string
	require.NoError(t, h.st.DB().QueryRow(ctx, `SELECT pg_get_constraintdef(oid) FROM pg_constraint
		WHERE conname = 'inbound_messages_pkey' AND connamespace = current_schema()::regnamespace`).Scan(&pk))
	require.Equal(t, "PRIMARY KEY (property_id, id)", pk)

	migrateTo(t, h.st, 31)
	require.Equal(t, 2, count("inbound_messages"))
	var null int
	require.NoError(t, h.st.DB().QueryRow(ctx, `SELECT count(*) FROM inbound_messages WHERE property_id IS NULL AND raw = 'nobody''s'`).Scan(&null))
	require.Equal(t, 1, null)
}

// Migration 035 adds the pull_refused incident kind, one open per channel
// and always naming its channel; rolled back, its incidents go (a keyrack
// of schema 34 knows no such kind) and the upgrade applies again.
func TestPullRefusedIncidentsComeWithTheUpgradeAndGoOnARollback(t *testing.T) {
	t.Parallel()
	h := newHotel(t, "Europe/Lisbon", []int{10}, inventory.FactorOne, 1)
	ctx := context.Background()
	raise := func() error {
		_, err := h.st.DB().Exec(ctx, `INSERT INTO incidents (property_id, kind, channel_id, message)
			SELECT property_id, 'pull_refused', id, 'refused' FROM channels WHERE code = 'C0'`)
		return err
	}
	require.NoError(t, raise())
	require.Error(t, raise(), "one open per channel")
	_, err := h.st.DB().Exec(ctx, `INSERT INTO incidents (property_id, kind, message)
		SELECT id, 'pull_refused', 'no channel' FROM properties WHERE code = $1`, h.code)
	require.Error(t, err, "it names its channel")
	kindGoesOnARollback(t, h.st, "pull_refused", 34, raise)
}

// kindGoesOnARollback checks an incident kind raise makes, one open: rolled
// back to schema before, which knows no such kind, its incidents go; the
// upgrade applies again and raise works again.
func kindGoesOnARollback(t *testing.T, st *inventory.Store, kind string, before int32, raise func() error) {
	t.Helper()
	ctx := context.Background()
	counts, err := st.OpenIncidentCounts(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, counts[kind])

	migrateTo(t, st, before)
	require.Error(t, raise(), "schema %d knows no %s", before, kind)
	var n int
	require.NoError(t, st.DB().QueryRow(ctx, `SELECT count(*) FROM incidents WHERE kind = $1`, kind).Scan(&n))
	require.Zero(t, n)
	require.NoError(t, st.Migrate(ctx))
	require.NoError(t, raise())
}

// Migration 036 adds the database_restored incident kind, one open per
// property; rolled back, its incidents go (a keyrack of schema 35 knows no
// such kind) and the upgrade applies again.
func TestDatabaseRestoredIncidentsComeWithTheUpgradeAndGoOnARollback(t *testing.T) {
	t.Parallel()
	h := newHotel(t, "Europe/Lisbon", []int{10}, inventory.FactorOne, 1)
	ctx := context.Background()
	raise := func() error {
		_, err := h.st.DB().Exec(ctx, `INSERT INTO incidents (property_id, kind, message)
			SELECT id, 'database_restored', 'restored' FROM properties WHERE code = $1`, h.code)
		return err
	}
	require.NoError(t, raise())
	require.Error(t, raise(), "one open per property")
	kindGoesOnARollback(t, h.st, "database_restored", 35, raise)
}

// The account page's failed passwords are counted apart from 039 on; a
// rollback forgets them (schema 38 would count them as failed logins) and
// keeps the login form's.
func TestAccountPageFailuresGoOnARollback(t *testing.T) {
	t.Parallel()
	h := newHotel(t, "Europe/Lisbon", []int{1}, inventory.FactorOne, 1)
	ctx := context.Background()
	_, err := h.st.CreateStaffUser(ctx, "rita", inventory.RoleAdmin, "rita's long password", inventory.System)
	require.NoError(t, err)
	_, _, err = h.st.StaffLoginFrom(ctx, "rita", "a guess", "198.51.100.1")
	require.ErrorIs(t, err, inventory.ErrBadLogin)
	_, _, err = h.st.StaffPasswordCheckFrom(ctx, "rita", "another guess", "198.51.100.2")
	require.ErrorIs(t, err, inventory.ErrBadLogin)

	migrateTo(t, h.st, 38)
	var remotes []string
	rows, err := h.st.DB().Query(ctx, `SELECT remote FROM staff_login_failures`)
	require.NoError(t, err)
	for rows.Next() {
		var r string
		require.NoError(t, rows.Scan(&r))
		remotes = append(remotes, r)
	}
	require.NoError(t, rows.Err())
	require.Equal(t, []string{"198.51.100.1"}, remotes)
	migrateTo(t, h.st, 39)
	_, _, err = h.st.StaffPasswordCheckFrom(ctx, "rita", "rita's long password", "198.51.100.2")
	require.NoError(t, err)
}

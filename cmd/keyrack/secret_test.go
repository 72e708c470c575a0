package main

import (
	"bytes"
	"context"
	"log/slog"
	"testing"

	"github.com/keyrack/keyrack/fixtures/testchannel"
	"github.com/keyrack/keyrack/inventory"
	"github.com/keyrack/keyrack/inventory/inventorytest"
	"github.com/stretchr/testify/require"
)

// sealedWith gives channel B of channelHotel outbound credentials sealed
// with secret.
func sealedWith(t *testing.T, st *inventory.Store, channel, secret string) {
	t.Helper()
	sec, err := inventory.NewSecrets(secret)
	require.NoError(t, err)
	require.NoError(t, st.SetChannelCredentials(context.Background(), sec, "H", channel,
		inventory.Credentials{OutboundUser: "keyrack", OutboundSecret: "the channel's password"}, inventory.System))
}

// A process started with another KEYRACK_SECRET than the one the channels'
// credentials were sealed with (a typo in one unit file, a changed secret)
// served: its first delivery to each such channel was refused as permanent
// and the channel dead-lettered, and restarting with the right secret left
// the dead letters (and their "does not open" errors) until staff retried
// each one. It must refuse to start instead, saying which variable is wrong.
func TestServeRefusesASecretThatDoesNotOpenTheSealedCredentials(t *testing.T) {
	t.Parallel()
	st := inventorytest.New(t)
	channelHotel(t, st)
	sealedWith(t, st, "B", "the secret the credentials were sealed with")

	for _, secret := range []string{"the secret the credentials were sealed with!", ""} {
		m := newTestMain(t)
		m.Store = st
		m.Config.Secret = secret
		ctx, cancel := context.WithCancel(context.Background())
		go func() { <-m.Started(); cancel() }() // on a keyrack that serves anyway
		err := m.Run(ctx)
		cancel()
		require.ErrorContains(t, err, "KEYRACK_SECRET", "secret %q", secret)
		require.Nil(t, m.Addr(), "it must refuse before listening")
		require.NoError(t, m.Close())
	}

	m := newTestMain(t)
	m.Store = st
	m.Config.Secret = "the secret the credentials were sealed with"
	runMain(t, m)
	require.NotNil(t, m.Addr())
}

// Two processes that once ran with different secrets leave credentials
// sealed with each: one that opens some of them starts, and its log names
// the channels it cannot serve.
func TestServeNamesTheChannelsItsSecretDoesNotOpen(t *testing.T) {
	t.Parallel()
	st := inventorytest.New(t)
	channelHotel(t, st)
	sealedWith(t, st, "A", "the secret of the web process")
	sealedWith(t, st, "B", "the secret of the worker process")

	var log bytes.Buffer
	m := newTestMain(t)
	m.Store = st
	m.Logger = slog.New(slog.NewTextHandler(&log, nil))
	m.Config.Secret = "the secret of the web process"
	runMain(t, m)
	require.Contains(t, log.String(), "KEYRACK_SECRET does not open")
	require.Contains(t, log.String(), "H/B")
	require.NotContains(t, log.String(), "H/A")
}

const oldSecret, newSecret = "the secret that leaked, sixteen+", "the secret that replaces it, 16+"

// migratedHotel is channelHotel in a database of its own, migrated by the
// command line, which reaches it at url.
func migratedHotel(t *testing.T) (string, *inventory.Store, *testchannel.Channel) {
	t.Helper()
	url := schemaURL(t)
	code, _, stderr := keyrack(t, nil, "migrate", "-database-url", url)
	require.Equal(t, 0, code, stderr)
	st, err := inventory.Open(context.Background(), url)
	require.NoError(t, err)
	t.Cleanup(st.Close)
	return url, st, channelHotel(t, st)
}

// serve refuses a secret that does not open the stored credentials, so a
// deployment whose secret leaked moves to a new one with keyrack secret
// rotate: what is sealed is sealed again with the new secret, and the
// inbound secrets (HMACs under the old one) are cleared and named, to be set
// again. A mistyped old secret changes nothing.
func TestSecretRotateMovesTheStoredCredentialsToTheNewSecret(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url, st, _ := migratedHotel(t)
	old, err := inventory.NewSecrets(oldSecret)
	require.NoError(t, err)
	require.NoError(t, st.SetChannelCredentials(ctx, old, "H", "B", inventory.Credentials{
		InboundUser: "b-user", InboundSecret: "b's secret to us", OutboundUser: "keyrack", OutboundSecret: "the channel's password"}, inventory.System))
	_, err = st.CreateChannel(ctx, "H", inventory.Channel{Code: "I", Kind: inventory.ChannelICal, Enabled: true}, inventory.System)
	require.NoError(t, err)
	_, err = st.SetICalFeed(ctx, old, "H", "I", "R", "https://calendar.example/export.ics?token=platform-token", 900, inventory.System)
	require.NoError(t, err)

	code, _, stderr := keyrack(t, map[string]string{"DATABASE_URL": url, "KEYRACK_SECRET": oldSecret + "x", "KEYRACK_NEW_SECRET": newSecret},
		"secret", "rotate")
	require.Equal(t, 1, code)
	require.Contains(t, stderr, "KEYRACK_SECRET does not open")
	_, err = st.CheckSecret(ctx, old)
	require.NoError(t, err, "a refused rotation changed something")

	code, stdout, stderr := keyrack(t, map[string]string{"DATABASE_URL": url, "KEYRACK_SECRET": oldSecret, "KEYRACK_NEW_SECRET": newSecret},
		"secret", "rotate")
	require.Equal(t, 0, code, stderr)
	require.Contains(t, stdout, "2 sealed values moved", "the outbound secret and the iCal feed URL")
	require.Contains(t, stdout, "inbound secrets cleared")
	require.Contains(t, stdout, "H/B")

	_, err = st.CheckSecret(ctx, old)
	require.ErrorContains(t, err, "KEYRACK_SECRET does not open", "serve would still start with the old secret")
	sec, err := inventory.NewSecrets(newSecret)
	require.NoError(t, err)
	_, err = st.CheckSecret(ctx, sec)
	require.NoError(t, err)
	user, secret, err := st.OutboundCredentials(ctx, sec, "H", "B")
	require.NoError(t, err)
	require.Equal(t, "keyrack", user)
	require.Equal(t, "the channel's password", secret)
	ok, err := st.CheckChannelSecret(ctx, sec, "H", "B", "b-user", "b's secret to us")
	require.NoError(t, err)
	require.False(t, ok, "an inbound secret cannot be moved: it must be set again")
}

// A rotation beside a running keyrack left that process with the old
// secret in memory: it could not open the credentials sealed again with the
// new one (every delivery to those channels failed, dead-lettered) and
// sealed with the old one what staff entered afterwards. The README said to
// stop every process first; nothing checked it. secret rotate is refused
// while one runs, naming its session, and changes nothing; a process does
// not start while a rotation runs.
func TestSecretRotateIsRefusedWhileAKeyrackProcessRuns(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url, st, _ := migratedHotel(t)
	sealedWith(t, st, "B", oldSecret)
	old, err := inventory.NewSecrets(oldSecret)
	require.NoError(t, err)
	env := map[string]string{"DATABASE_URL": url, "KEYRACK_SECRET": oldSecret, "KEYRACK_NEW_SECRET": newSecret}

	m := newTestMain(t)
	m.Store = st
	m.Config.Secret = oldSecret
	m.Config.Roles = roleWorker // any role marks the process
	running, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- m.Run(running) }()
	<-m.Started()

	code, _, stderr := keyrack(t, env, "secret", "rotate")
	require.Equal(t, 1, code, "a rotation beside a running keyrack")
	require.Contains(t, stderr, "keyrack processes are running")
	require.Contains(t, stderr, "keyrack, from", "the session is named")
	_, err = st.CheckSecret(ctx, old)
	require.NoError(t, err, "a refused rotation changed something")

	stop()
	require.NoError(t, wait(t, done))
	code, stdout, stderr := keyrack(t, env, "secret", "rotate")
	require.Equal(t, 0, code, stderr)
	require.Contains(t, stdout, "1 sealed values moved")

	// And a process does not start while a rotation holds the database.
	release, err := st.LockOutProcesses(ctx)
	require.NoError(t, err)
	defer release()
	m2 := newTestMain(t)
	m2.Store = st
	m2.Config.Secret = newSecret
	err = m2.Run(ctx)
	require.ErrorIs(t, err, inventory.ErrRotating)
	require.NoError(t, m2.Close())
}

// `keyrack help secret` prints "keyrack secret rotate [flags]", as the
// other commands take their flags after the subcommand (apikey create
// --name, seed demo -database-url): secret refused every flag given there —
// "secret needs the subcommand rotate", exit 2 — so the rotation could not
// be run with -database-url, nor its help shown with rotate -h.
func TestSecretRotateTakesItsFlagsAfterTheSubcommand(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url, st, _ := migratedHotel(t)
	sealedWith(t, st, "B", oldSecret)

	code, stdout, stderr := keyrack(t, nil, "secret", "rotate", "-h")
	require.Equal(t, 0, code, stderr)
	require.Empty(t, stdout)
	require.Contains(t, stderr, "Usage: keyrack secret rotate")

	env := map[string]string{"KEYRACK_SECRET": oldSecret, "KEYRACK_NEW_SECRET": newSecret}
	code, stdout, stderr = keyrack(t, env, "secret", "rotate", "-database-url", url)
	require.Equal(t, 0, code, stderr)
	require.Contains(t, stdout, "1 sealed values moved")
	sec, err := inventory.NewSecrets(newSecret)
	require.NoError(t, err)
	_, err = st.CheckSecret(ctx, sec)
	require.NoError(t, err, "the credentials were not moved to the new secret")

	code, _, stderr = keyrack(t, env, "secret", "rotate", "now", "-database-url", url)
	require.Equal(t, 2, code)
	require.Contains(t, stderr, "rotate takes no arguments")
}

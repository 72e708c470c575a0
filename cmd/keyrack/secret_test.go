package main

import (
	"bytes"
	"context"
	"log/slog"
	"testing"

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

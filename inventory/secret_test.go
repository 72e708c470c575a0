package inventory_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/keyrack/keyrack/inventory"
	"github.com/stretchr/testify/require"
)

func TestChannelCredentialsAreNeverStoredInClear(t *testing.T) {
	t.Parallel()
	h := newHotel(t, "Europe/Lisbon", []int{1}, inventory.FactorOne, 1)
	ctx := context.Background()
	sec, err := inventory.NewSecrets("a deployment secret of some length")
	require.NoError(t, err)
	_, err = inventory.NewSecrets("short")
	require.Error(t, err)

	require.NoError(t, h.st.SetChannelCredentials(ctx, sec, h.code, "C0", inventory.Credentials{
		InboundUser: "expedia", InboundSecret: "in-s3cret-value", OutboundUser: "keyrack", OutboundSecret: "out-s3cret-value",
	}, inventory.Staff("anna")))

	var inHash, outSealed []byte
	require.NoError(t, h.st.DB().QueryRow(ctx, `SELECT inbound_secret_hash, outbound_secret_sealed FROM channels WHERE code = 'C0'`).Scan(&inHash, &outSealed))
	require.False(t, bytes.Contains(inHash, []byte("in-s3cret-value")))
	require.False(t, bytes.Contains(outSealed, []byte("out-s3cret-value")))
	var audit string
	require.NoError(t, h.st.DB().QueryRow(ctx, `SELECT string_agg(details::text, ' ') FROM audit_log`).Scan(&audit))
	require.NotContains(t, audit, "s3cret")

	ok, err := h.st.CheckChannelSecret(ctx, sec, h.code, "C0", "expedia", "in-s3cret-value")
	require.NoError(t, err)
	require.True(t, ok)
	for _, bad := range [][2]string{{"expedia", "wrong"}, {"other", "in-s3cret-value"}, {"", ""}} {
		ok, err := h.st.CheckChannelSecret(ctx, sec, h.code, "C0", bad[0], bad[1])
		require.NoError(t, err)
		require.False(t, ok, "%q", bad)
	}

	user, secret, err := h.st.OutboundCredentials(ctx, sec, h.code, "C0")
	require.NoError(t, err)
	require.Equal(t, "keyrack", user)
	require.Equal(t, "out-s3cret-value", secret)

	// Another deployment secret opens nothing.
	other, err := inventory.NewSecrets("another deployment secret entirely")
	require.NoError(t, err)
	_, _, err = h.st.OutboundCredentials(ctx, other, h.code, "C0")
	require.Error(t, err)
	ok, err = h.st.CheckChannelSecret(ctx, other, h.code, "C0", "expedia", "in-s3cret-value")
	require.NoError(t, err)
	require.False(t, ok)
}

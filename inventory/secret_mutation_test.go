package inventory_test

import (
	"context"
	"testing"
	"time"

	"github.com/keyrack/keyrack/inventory"
	"github.com/stretchr/testify/require"
)

// During a replaced outbound secret's grace, staff change something else of
// the channel's credentials (its inbound secret, its outbound user): the
// replaced secret still signs until its grace ends, and its grace is not
// begun again. Taking the current secret for the replaced one would stop
// the old secret at once, and every webhook to a PMS not yet switched would
// be refused 401.
func TestOtherCredentialsChangedDuringAGraceKeepTheReplacedSecret(t *testing.T) {
	t.Parallel()
	h := newHotel(t, "Europe/Lisbon", []int{1}, inventory.FactorOne, 1)
	ctx := context.Background()
	sec, err := inventory.NewSecrets("a deployment secret of some length")
	require.NoError(t, err)
	set := func(c inventory.Credentials) {
		t.Helper()
		require.NoError(t, h.st.SetChannelCredentials(ctx, sec, h.code, "C0", c, inventory.Staff("anna")))
	}
	// prev is the replaced secret, opened, and the end of its grace.
	prev := func() (string, *time.Time) {
		t.Helper()
		var sealed []byte
		var until *time.Time
		require.NoError(t, h.st.DB().QueryRow(ctx, `SELECT outbound_secret_prev_sealed, outbound_secret_prev_until
			FROM channels WHERE code = 'C0'`).Scan(&sealed, &until))
		if sealed == nil {
			return "", until
		}
		s, err := sec.Open(sealed)
		require.NoError(t, err)
		return s, until
	}

	set(inventory.Credentials{OutboundUser: "keyrack", OutboundSecret: "the-old-secret"})
	set(inventory.Credentials{InboundUser: "acct", InboundSecret: "in-one"})
	old, until := prev()
	require.Empty(t, old, "no secret was replaced: nothing has a grace")
	require.Nil(t, until)

	set(inventory.Credentials{OutboundSecret: "the-new-secret"})
	old, graceEnds := prev()
	require.Equal(t, "the-old-secret", old)
	require.NotNil(t, graceEnds)

	set(inventory.Credentials{InboundSecret: "in-two"})
	set(inventory.Credentials{OutboundUser: "keyrack-2"})
	old, until = prev()
	require.Equal(t, "the-old-secret", old, "the replaced secret still signs")
	require.NotNil(t, until)
	require.True(t, until.Equal(*graceEnds), "its grace is not begun again: %s, was %s", until, graceEnds)
	_, current, err := h.st.OutboundCredentials(ctx, sec, h.code, "C0")
	require.NoError(t, err)
	require.Equal(t, "the-new-secret", current)

	// The new secret set again (a retried PUT) replaces nothing: the old
	// one keeps signing to the end of its grace.
	set(inventory.Credentials{OutboundSecret: "the-new-secret"})
	old, until = prev()
	require.Equal(t, "the-old-secret", old, "a secret set again is not its own replaced secret")
	require.True(t, until.Equal(*graceEnds))
	var changed bool
	require.NoError(t, h.st.DB().QueryRow(ctx, `SELECT (details->>'outbound_secret_changed')::bool FROM audit_log
		WHERE action = 'channel.credentials' ORDER BY id DESC LIMIT 1`).Scan(&changed))
	require.False(t, changed, "the audit does not say the secret changed")
}

package sync_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	gosync "sync"
	"testing"

	"github.com/keyrack/keyrack/connectors/pms"
	"github.com/keyrack/keyrack/inventory"
	"github.com/stretchr/testify/require"
)

// signedRequest is a webhook as a PMS receives it: its signature header and body.
type signedRequest struct {
	header string
	body   []byte
}

// Staff give a PMS channel a new outbound secret; the PMS switches to it
// some time later. Until the grace ends, webhooks carry a signature with
// the new secret and one with the secret it replaced, so a PMS still on
// the old one takes them; after it, only the new one signs.
func TestAReplacedWebhookSecretStillSignsUntilThePMSHasSwitched(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var mu gosync.Mutex
	var got []signedRequest
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, signedRequest{r.Header.Get(pms.SignatureHeader), body})
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	received := func() []signedRequest {
		mu.Lock()
		defer mu.Unlock()
		return append([]signedRequest(nil), got...)
	}
	h := newHotel(t, hotelOptions{channels: []string{"A"}})
	h.addPMS("pms", srv.URL)
	const newSecret = "the-new-webhook-secret"
	require.NoError(t, h.st.SetChannelCredentials(ctx, h.secrets, h.code, "pms", inventory.Credentials{OutboundSecret: newSecret}, inventory.System))

	h.book("A", "grace-1", 0, h.today.AddDays(2), 1, 1)
	eventually(t, convergeTimeout, "the first webhook", func() bool { return len(received()) == 1 })
	w := received()[0]
	require.NoError(t, pms.Verify(pmsSecret, w.header, w.body, 0), "a PMS still on the replaced secret takes it")
	require.NoError(t, pms.Verify(newSecret, w.header, w.body, 0), "a PMS on the new secret takes it")

	// The grace is over.
	_, err := h.st.DB().Exec(ctx, `UPDATE channels SET outbound_secret_prev_until = now() - interval '1 second'
		WHERE property_id = $1 AND id = $2`, h.id, h.chanIDs["pms"])
	require.NoError(t, err)
	h.book("A", "grace-2", 0, h.today.AddDays(3), 1, 1)
	eventually(t, convergeTimeout, "the second webhook", func() bool { return len(received()) == 2 })
	w = received()[1]
	require.NoError(t, pms.Verify(newSecret, w.header, w.body, 0))
	require.ErrorIs(t, pms.Verify(pmsSecret, w.header, w.body, 0), pms.ErrBadSignature, "the replaced secret no longer signs")

	// Clearing the secret clears the replaced one too; a first secret set
	// afterwards replaces nothing.
	require.NoError(t, h.st.SetChannelCredentials(ctx, h.secrets, h.code, "pms", inventory.Credentials{ClearOutbound: true}, inventory.System))
	require.NoError(t, h.st.SetChannelCredentials(ctx, h.secrets, h.code, "pms", inventory.Credentials{OutboundSecret: "third"}, inventory.System))
	var prev []byte
	require.NoError(t, h.st.DB().QueryRow(ctx, `SELECT outbound_secret_prev_sealed FROM channels WHERE property_id = $1 AND id = $2`,
		h.id, h.chanIDs["pms"]).Scan(&prev))
	require.Nil(t, prev)
}

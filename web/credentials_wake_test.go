package web_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/keyrack/keyrack/inventory"
	"github.com/stretchr/testify/require"
)

// A channel dead-lettered because it refused keyrack's credentials is
// delivered to as soon as staff save the right ones: saving them woke
// nothing, and the channel stayed dead-lettered — its availability stale at
// the OTA — until its next change or a retry by hand, while the page said
// "the next delivery uses them".
func TestCorrectedCredentialsRetryTheDeadLetteredChannel(t *testing.T) {
	t.Parallel()
	e, _ := newPushHotel(t)
	oc := e.pushChannel("P", "B", map[string]any{"horizon_days": 30,
		"credentials": map[string]any{"outbound_username": "keyrack-b", "outbound_secret": "mistyped"}})
	archived := func() bool {
		var a bool
		err := e.st.DB().QueryRow(context.Background(), `SELECT s.archived FROM sync_channels s
			JOIN channels c ON c.property_id = s.property_id AND c.id = s.channel_id WHERE c.code = 'B'`).Scan(&a)
		return err == nil && a
	}
	require.Eventually(t, archived, deliveryWait, 50*time.Millisecond, "refused credentials dead-letter the channel")

	e.must(http.StatusNoContent, "PUT", "/api/v1/properties/P/channels/B/credentials", map[string]any{"outbound_secret": "out-b"})
	night := inventory.Today(time.UTC).AddDays(20)
	require.NoError(t, oc.WaitFor("DBL", night, 3, deliveryWait), "delivered with the corrected credentials")
	require.Eventually(t, func() bool { return !archived() }, deliveryWait, 50*time.Millisecond)
}

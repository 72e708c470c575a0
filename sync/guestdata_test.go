package sync_test

import (
	"context"
	"testing"

	"github.com/keyrack/keyrack/inventory"
	"github.com/keyrack/keyrack/inventory/inventorytest"
	"github.com/stretchr/testify/require"
)

// A pull-mode channel serving again a booking whose guest's data was
// erased has it acknowledged as before, and keyrack keeps neither the
// guest's data nor the message it fetched.
func TestAnErasedBookingServedAgainByAPulledChannelIsNotKept(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := newPullHotel(t)
	res := h.booking("BDC-GONE", h.today.AddDays(-5), 2, 1)
	h.oc.AddPending(res)
	eventually(t, convergeTimeout, "the first ack", func() bool { return h.oc.AckCount("BDC-GONE") == 1 })
	// The poll keeps the message it fetched once it has acknowledged it.
	eventually(t, convergeTimeout, "the first message recorded", func() bool {
		msgs, err := h.st.InboundMessages(ctx, h.code, "BDC", 10)
		require.NoError(t, err)
		return len(msgs) == 1
	})
	r, err := h.st.Reservation(ctx, h.code, "BDC", "BDC-GONE")
	require.NoError(t, err)
	_, err = h.st.EraseGuestData(ctx, h.code, r.ID, inventory.Staff("anna"))
	require.NoError(t, err)
	traces := func() int { return inventorytest.GuestTraces(t, h.st.DB(), "Lovelace") }
	require.Zero(t, traces())

	h.oc.AddPending(res)
	h.pollNow()
	eventually(t, convergeTimeout, "the second ack", func() bool { return h.oc.AckCount("BDC-GONE") == 2 })
	require.Equal(t, 1, h.revisions("BDC-GONE"))
	eventually(t, convergeTimeout, "the message recorded", func() bool {
		msgs, err := h.st.InboundMessages(ctx, h.code, "BDC", 10)
		require.NoError(t, err)
		for _, m := range msgs {
			if m.Raw == inventory.ErasedMessageNote && m.Records == 1 {
				return true
			}
		}
		return false
	})
	require.Zero(t, traces())
}

package sync_test

import (
	"testing"
	"time"

	"github.com/keyrack/keyrack/inventory"
	"github.com/stretchr/testify/require"
)

// Booking.com serves new bookings on one queue (OTA_HotelResNotif) and
// modifications and cancellations on another (OTA_HotelResModifyNotif).
// With the second queue set as the channel's pull_modify_url, each poll
// fetches both: a stay moved on the channel frees its old nights and holds
// its new ones, a cancelled one frees its room — each acknowledged on the
// modification queue with the RS it takes, and no longer served.
func TestAModificationAndACancellationOnTheModificationQueueChangeTheBooking(t *testing.T) {
	t.Parallel()
	h := startPullHotel(t, pullOptions{modifyQueue: true})
	first, moved := h.today.AddDays(2), h.today.AddDays(6)
	made := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	modifyAcks := func(id string) int {
		n := 0
		for _, a := range h.oc.Acks() {
			for _, x := range a.IDs {
				if a.Modify && !a.Dropped && x.Value == id {
					n++
					break
				}
			}
		}
		return n
	}

	h.oc.AddPending(h.booking("BDC-20", first, 2, 1))
	eventually(t, convergeTimeout, "the booking acknowledged", func() bool { return h.oc.AckCount("BDC-20") == 1 })
	require.Equal(t, 9, h.available(first))
	require.Equal(t, 9, h.available(first.AddDays(1)))

	mod := h.booking("BDC-20", moved, 2, 1)
	mod.Kind, mod.LastModified = inventory.Modify, made.Add(time.Hour)
	h.oc.AddPending(mod)
	eventually(t, convergeTimeout, "the modification acknowledged on its queue", func() bool { return modifyAcks("BDC-20") == 1 })
	require.Empty(t, h.oc.Pending(), "nothing served again")
	require.Equal(t, 10, h.available(first), "the old nights are free")
	require.Equal(t, 10, h.available(first.AddDays(1)))
	require.Equal(t, 9, h.available(moved), "the new nights are held")
	require.Equal(t, 9, h.available(moved.AddDays(1)))

	cancel := h.booking("BDC-20", moved, 2, 1)
	cancel.Kind, cancel.LastModified = inventory.Cancel, made.Add(2*time.Hour)
	h.oc.AddPending(cancel)
	eventually(t, convergeTimeout, "the cancellation acknowledged on its queue", func() bool { return modifyAcks("BDC-20") == 2 })
	require.Empty(t, h.oc.Pending())
	require.Equal(t, 10, h.available(moved), "the cancelled room is free")
	require.Equal(t, 10, h.available(moved.AddDays(1)))
	require.Zero(t, h.oc.Stats().WrongAcks, "every acknowledgement was the RS its queue takes")
	require.Nil(t, h.pullState().Error)
}

package sync_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/keyrack/keyrack/inventory"
	"github.com/stretchr/testify/require"
)

// refusedIncident is the channel's open pull_refused incident (nil when
// none is open).
func (h *pullHotel) refusedIncident() *inventory.Incident {
	h.t.Helper()
	incs, err := h.st.Incidents(context.Background(), h.code, true)
	require.NoError(h.t, err)
	var found *inventory.Incident
	for _, inc := range incs {
		if inc.Kind == "pull_refused" {
			require.Nil(h.t, found, "one open pull_refused incident per channel: %+v", incs)
			found = &inc
		}
	}
	return found
}

// A pulled reservation keyrack refuses (here a hotel code the channel's
// account does not serve) is not acknowledged, so the OTA serves it again
// at every poll — but the guest's booking is confirmed there and not in
// keyrack's pool: the other channels go on selling its room. That is an
// alert for staff, naming the record and why; a later poll still refusing
// it updates the alert (one open per channel), and the poll that takes it —
// once staff correct the channel's hotel code — resolves it.
func TestAPulledBookingKeyrackRefusesIsAnIncidentUntilItIsTaken(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := newPullHotel(t)
	// Polled hourly once its first poll is done: only the polls the test
	// asks for (and the one the correction asks for) run.
	eventually(t, convergeTimeout, "the first poll recorded", func() bool { return h.pullState().OKAt != nil })
	_, err := h.st.UpdateChannel(ctx, h.code, "BDC", inventory.ChannelPatch{PullInterval: new(3600)}, inventory.System)
	require.NoError(t, err)
	night := h.today.AddDays(5)
	good := h.booking("BDC-40", night, 1, 1)
	other := h.booking("BDC-41", night, 1, 1)
	other.HotelCode = "HOTEL-BDC-2"
	h.oc.AddPending(good)
	h.oc.AddPending(other)
	h.pollNow()

	eventually(t, convergeTimeout, "the good one acknowledged", func() bool { return h.oc.AckCount("BDC-40") == 1 })
	eventually(t, convergeTimeout, "the refusal raised", func() bool { return h.refusedIncident() != nil })
	require.Equal(t, []string{"BDC-41"}, pendingIDs(h.oc), "the refused one is not acknowledged")
	require.Equal(t, 9, h.available(night), "the good one is booked, the refused one is not")
	inc := h.refusedIncident()
	require.Contains(t, inc.Message, "BDC-41")
	require.Contains(t, inc.Message, `"HOTEL-BDC-2"`, "why: the hotel code it names")
	require.NotContains(t, inc.Message, "BDC-40", "the booking taken is not named")
	require.Contains(t, inc.Message, "confirmed at BDC, not in keyrack: the other channels still sell these rooms")
	require.Contains(t, inc.Message, "serves them again at each poll")
	require.Contains(t, inc.Message, "hotel code")
	require.Equal(t, "BDC", inc.Details["channel"])
	require.EqualValues(t, 1, inc.Details["refused"])
	require.EqualValues(t, 2, inc.Details["served"])
	recs, ok := inc.Details["records"].([]any)
	require.True(t, ok, "%+v", inc.Details)
	require.Len(t, recs, 1)
	require.Equal(t, "BDC-41", recs[0].(map[string]any)["id"])
	require.Contains(t, recs[0].(map[string]any)["reason"], "HOTEL-BDC-2")
	counts, err := h.st.OpenIncidentCounts(ctx)
	require.NoError(t, err)
	require.Positive(t, counts["pull_refused"], "/metrics counts it")

	// Served again and refused again: the same incident, updated.
	first := *inc
	h.pollNow()
	eventually(t, convergeTimeout, "the incident updated by the next poll", func() bool {
		inc := h.refusedIncident()
		return inc != nil && inc.UpdatedAt.After(first.UpdatedAt)
	})
	inc = h.refusedIncident()
	require.Equal(t, first.ID, inc.ID, "still the one incident")
	require.Equal(t, 1, h.openIncidents("pull_refused"))
	require.EqualValues(t, 1, inc.Details["served"], "this poll served the refused one only")
	require.Equal(t, 1, h.oc.AckCount("BDC-40"), "the acknowledged one is not served again")

	// Staff correct the channel's hotel code: the poll it asks for takes
	// the booking and resolves the incident.
	_, err = h.st.UpdateChannel(ctx, h.code, "BDC", inventory.ChannelPatch{HotelCode: new("HOTEL-BDC-2")}, inventory.System)
	require.NoError(t, err)
	eventually(t, convergeTimeout, "the corrected one acknowledged", func() bool { return h.oc.AckCount("BDC-41") == 1 })
	eventually(t, convergeTimeout, "the incident resolved", func() bool { return h.refusedIncident() == nil })
	require.Equal(t, 8, h.available(night))
	var by string
	require.NoError(t, h.st.DB().QueryRow(ctx, `SELECT resolved_by FROM incidents WHERE property_id = $1 AND id = $2`,
		h.id, first.ID).Scan(&by))
	require.Equal(t, "system:pull", by)
}

// A channel no longer polled (disabled, or its pull URL cleared) has no
// poll to resolve its refused records' incident: the scheduler's check
// resolves it, as it does the channel's stale_pull one.
func TestARefusedPullIncidentEndsWhenTheChannelIsNoLongerPolled(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := newPullHotel(t)
	r := h.booking("BDC-42", h.today.AddDays(2), 1, 1)
	r.HotelCode = "HOTEL-ELSEWHERE"
	h.oc.AddPending(r)
	eventually(t, convergeTimeout, "the refusal raised", func() bool { return h.refusedIncident() != nil })
	require.NoError(t, h.fan.RunDue(ctx))
	require.NotNil(t, h.refusedIncident(), "the scheduler's check leaves a polled channel's incident alone")

	_, err := h.st.UpdateChannel(ctx, h.code, "BDC", inventory.ChannelPatch{Enabled: new(false)}, inventory.System)
	require.NoError(t, err)
	require.NoError(t, h.fan.RunDue(ctx))
	require.Nil(t, h.refusedIncident(), "disabled: resolved")
}

// A message of many refused records names the first few in the channel's
// poll error, which is written at every poll: it held every one of them,
// hundreds for an OTA serving a month of another hotel's bookings.
func TestAPollErrorNamesTheFirstRefusedRecordsOnly(t *testing.T) {
	t.Parallel()
	h := newPullHotel(t)
	night := h.today.AddDays(5)
	for i := range 12 {
		r := h.booking(fmt.Sprintf("BDC-%d", 50+i), night, 1, 1)
		r.HotelCode = "HOTEL-BDC-2"
		h.oc.AddPending(r)
	}
	h.pollNow()
	eventually(t, convergeTimeout, "the poll error", func() bool {
		s := h.pullState()
		return s.Error != nil && strings.Contains(*s.Error, "12 of 12 reservations not applied")
	})
	msg := *h.pullState().Error
	require.Contains(t, msg, "BDC-50")
	require.Contains(t, msg, "BDC-59")
	require.NotContains(t, msg, "BDC-60")
	require.Contains(t, msg, "and 2 more")
}

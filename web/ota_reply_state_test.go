package web_test

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// A booking whose cancellation arrived first stays cancelled, and its reply
// says so: the reservation is listed Cancelled, with a warning, never
// Reserved (Committed) while keyrack holds no room for it.
func TestABookingArrivingAfterItsCancellationIsAnsweredCancelled(t *testing.T) {
	t.Parallel()
	e := newAPI(t)
	e.hotel("P", 3)
	e.otaChannel("P", "bdc", "ota_push", "HTL-P", "u", "s", nil)
	r := e.otaPost("bdc", "u", "s", resNotifMade("Cancel", "BDC-9", "HTL-P", "2027-03-01", "2027-03-03", "2027-01-10T12:00:00+01:00"))
	require.True(t, otaRS(t, r).Success, "%s", r.Body)

	r = e.otaPost("bdc", "u", "s", resNotifMade("Commit", "BDC-9", "HTL-P", "2027-03-01", "2027-03-03", "2027-01-10T10:00:00+01:00"))
	require.True(t, otaRS(t, r).Success, "%s", r.Body)
	require.Equal(t, 0, e.sold("P", "2027-03-01"), "no room is held")
	require.Contains(t, string(r.Body), `ResStatus="Cancelled"`)
	require.NotContains(t, string(r.Body), `"Reserved"`)
	require.NotContains(t, string(r.Body), `"Committed"`)
	require.Contains(t, string(r.Body), "stays cancelled")
}

// A modification delivered after a cancellation made later than it (by
// their timestamps) changes nothing, and is answered Cancelled with a
// warning rather than Modified/Reserved.
func TestAModificationOlderThanTheCancellationIsAnsweredCancelled(t *testing.T) {
	t.Parallel()
	e := newAPI(t)
	e.hotel("P", 3)
	e.otaChannel("P", "bdc", "ota_push", "HTL-P", "u", "s", nil)
	for _, m := range [][]byte{
		resNotifMade("Commit", "BDC-6", "HTL-P", "2027-03-01", "2027-03-03", "2027-01-10T10:00:00+01:00"),
		resNotifMade("Cancel", "BDC-6", "HTL-P", "2027-03-01", "2027-03-03", "2027-01-10T12:00:00+01:00"),
	} {
		require.True(t, otaRS(t, e.otaPost("bdc", "u", "s", m)).Success)
	}
	r := e.otaPost("bdc", "u", "s", resNotifMade("Modify", "BDC-6", "HTL-P", "2027-03-05", "2027-03-07", "2027-01-10T11:00:00+01:00"))
	require.True(t, otaRS(t, r).Success, "%s", r.Body)
	require.Equal(t, 0, e.sold("P", "2027-03-05"), "the modification is superseded")
	require.Equal(t, 0, e.sold("P", "2027-03-01"))
	require.Contains(t, string(r.Body), `ResStatus="Cancelled"`)
	require.NotContains(t, string(r.Body), `"Reserved"`)
	require.Contains(t, string(r.Body), "stays cancelled")
}

package web_test

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"
)

// Most OTAs date a booking by its CreateDateTime; an OTA_CancelRQ carries no
// date. Weekendesk's booking so dated, then its cancellation: the channel is
// answered that it is cancelled, and so it is — the night is free again.
func TestAnOTACancellationFollowsTheDatedBookingItCancels(t *testing.T) {
	t.Parallel()
	e := newAPI(t)
	e.hotel("P", 3)
	e.weekendesk("P")
	sample := func(name string) []byte { return otaSample(t, name) }
	book := bytes.Replace(sample("weekendesk_OTA_HotelResRQ_booking-notification.xml"),
		[]byte("<HotelReservation>"), []byte(`<HotelReservation CreateDateTime="2017-09-26T17:29:03+02:00">`), 1)
	require.NotEqual(t, sample("weekendesk_OTA_HotelResRQ_booking-notification.xml"), book, "the booking is dated")
	r := e.otaPost("weekendesk", "", "", book)
	require.True(t, otaRS(t, r).Success, "%s", r.Body)
	require.Equal(t, 1, e.sold("P", "2017-10-31"))

	r = e.otaPost("weekendesk", "", "", sample("weekendesk_OTA_CancelRQ.xml"))
	require.True(t, otaRS(t, r).Success, "%s", r.Body)
	require.Contains(t, string(r.Body), `Status="Cancelled"`)
	require.Equal(t, 0, e.sold("P", "2017-10-31"), "the room is free again")
}

// A cancellation that arrives after a modification made later than it (by
// their timestamps) is taken and superseded: the reservation stays
// confirmed, and the answer says so rather than only "Cancelled".
func TestALateCancellationSupersededByALaterModificationSaysSo(t *testing.T) {
	t.Parallel()
	e := newAPI(t)
	e.hotel("P", 3)
	e.otaChannel("P", "bdc", "ota_push", "HTL-P", "u", "s", nil)
	for _, m := range [][]byte{
		resNotifMade("Commit", "BDC-5", "HTL-P", "2027-03-01", "2027-03-03", "2027-01-10T10:00:00+01:00"),
		resNotifMade("Modify", "BDC-5", "HTL-P", "2027-03-05", "2027-03-07", "2027-01-10T12:00:00+01:00"),
	} {
		require.True(t, otaRS(t, e.otaPost("bdc", "u", "s", m)).Success)
	}
	r := e.otaPost("bdc", "u", "s", resNotifMade("Cancel", "BDC-5", "HTL-P", "2027-03-01", "2027-03-03", "2027-01-10T11:00:00+01:00"))
	rs := otaRS(t, r)
	require.True(t, rs.Success, "%s", r.Body)
	require.Contains(t, string(r.Body), "stays confirmed")
	require.Equal(t, 1, e.sold("P", "2027-03-05"), "the modification holds its stay")
}

// A cancellation quote (CancelType Initiate) for a reservation keyrack does
// not know is an error naming it, not "Pending" as if it had been found.
func TestACancellationQuoteForAnUnknownReservationIsAnError(t *testing.T) {
	t.Parallel()
	e := newAPI(t)
	e.hotel("P", 3)
	e.otaChannel("P", "bdc", "ota_push", "HTL-P", "u", "s", nil)
	r := e.otaPost("bdc", "u", "s", otaSample(t, "opentravel_OTA_CancelRQ_hotel.xml"))
	rs := otaRS(t, r)
	require.False(t, rs.Success, "%s", r.Body)
	require.Contains(t, string(r.Body), "not known to keyrack")
	require.Contains(t, string(r.Body), `Code="245"`)
}

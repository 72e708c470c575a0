package web_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/keyrack/keyrack/inventory"
	"github.com/stretchr/testify/require"
)

// A booking the channel has confirmed is recorded whatever its total looks
// like: OpenTravel amounts are xs:decimal, and channels write them with
// four decimals ("116.0000") or in a currency of three (a Kuwaiti dinar's
// fils, "116.125" KWD). keyrack keeps totals to the cent, and answered both
// with an OTA Error ("total … is not a decimal amount"), NotProcessed: the
// guest's booking stayed confirmed at the channel and missing here, its
// room still on sale everywhere else. Now a total with zeros past the cent
// is kept to the cent, and one that cannot be kept exactly is left out —
// the booking is recorded, and its message keeps the amount.
func TestABookingIsRecordedWhateverTheDecimalsOfItsTotal(t *testing.T) {
	t.Parallel()
	e := newAPI(t)
	e.hotel("P", 3)
	e.weekendesk("P")
	sample := otaSample(t, "weekendesk_OTA_HotelResRQ_booking-notification.xml")
	for _, c := range []struct{ id, amount, currency, total string }{
		{"W-4DP", "116.0000", "EUR", "116.00"},
		{"W-KWD", "116.125", "KWD", ""},
	} {
		msg := bytes.ReplaceAll(sample, []byte(`AmountAfterTax="116.00"`), []byte(`AmountAfterTax="`+c.amount+`"`))
		msg = bytes.ReplaceAll(msg, []byte(`CurrencyCode="EUR"`), []byte(`CurrencyCode="`+c.currency+`"`))
		msg = bytes.Replace(msg, []byte(`ResID_Value="12345678"`), []byte(`ResID_Value="`+c.id+`"`), 1)
		r := e.otaPost("weekendesk", "", "", msg)
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		require.True(t, otaRS(t, r).Success, "%s: %s", c.id, r.Body)
		res, err := e.st.Reservation(context.Background(), "P", "weekendesk", c.id)
		require.NoError(t, err)
		require.Equal(t, c.total, res.Total, c.id)
		require.Equal(t, c.currency, res.Currency, "%s: the currency is kept, the amount or not", c.id)
	}
	require.Equal(t, 2, e.sold("P", "2017-10-31"), "both hold their room")
}

// The booking's page does not call such a total "not given": the channel
// gave one, in the currency shown, which keyrack did not keep.
func TestABookingWhoseTotalWasNotKeptSaysWhereItIs(t *testing.T) {
	t.Parallel()
	e := newUI(t)
	e.seedHotel("P", 2)
	out, err := e.st.ApplyRevision(context.Background(), inventory.Revision{Property: "P", Channel: "expedia", ExternalID: "KWD-1", Kind: inventory.New,
		Mode: inventory.MustAccept, Currency: "KWD", Stays: []inventory.RoomStay{{ChannelRoom: "DBL", Arrival: inventory.MustDate("2031-03-01"),
			Departure: inventory.MustDate("2031-03-02"), Rooms: 1}}})
	require.NoError(t, err)
	e.login("anna")
	page := e.get(fmt.Sprintf("/admin/p/P/bookings/%d", out.ReservationID)).Body
	require.NotContains(t, page, "not given")
	require.Contains(t, page, "in KWD: the amount is in the channel's message")
}

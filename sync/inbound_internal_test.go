package sync

import (
	"testing"
	"time"

	"github.com/keyrack/keyrack/connectors/otaxml"
	"github.com/stretchr/testify/require"
)

// since dates a pushed booking from its arrival, or from when the
// reservation says (with its zone) it was made or changed, if earlier.
func TestSinceDatesAPushedBookingFromItsStampWhenEarlier(t *testing.T) {
	t.Parallel()
	record := func(attrs string) otaxml.Reservation {
		m, err := otaxml.Parse([]byte(`<OTA_HotelResNotifRQ xmlns="http://www.opentravel.org/OTA/2003/05" ResStatus="Commit"><HotelReservations>
			<HotelReservation ResStatus="Reserved" ` + attrs + `><UniqueID Type="14" ID="R1"/><RoomStays><RoomStay>
				<RoomTypes><RoomType RoomTypeCode="DBL"/></RoomTypes><TimeSpan Start="2027-01-10" End="2027-01-11"/>
				<BasicPropertyInfo HotelCode="H"/></RoomStay></RoomStays></HotelReservation></HotelReservations></OTA_HotelResNotifRQ>`))
		require.NoError(t, err)
		return m.Reservations[0]
	}
	received := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	pushed := OTAChannel{ReceivedAt: received}
	for _, c := range []struct {
		attrs string
		want  time.Time
	}{
		{`CreateDateTime="2026-11-30T12:55:00+01:00"`, received.Add(-5 * time.Minute)},                                       // sent again late
		{`CreateDateTime="2026-11-30T13:00:02+01:00"`, received},                                                             // the channel's clock runs ahead
		{`CreateDateTime="2026-11-30T11:55:00"`, received},                                                                   // no zone: not trusted
		{`LastModifyDateTime="2026-11-30T11:59:30Z" CreateDateTime="2026-11-01T09:00:00Z"`, received.Add(-30 * time.Second)}, // the change, not the booking
		{``, received},
	} {
		require.Equal(t, c.want, pushed.since(record(c.attrs)).UTC(), c.attrs)
	}
	// Arrival unknown: the stamp, or zero (ApplyRevision then takes its own time).
	require.Equal(t, received.Add(-5*time.Minute), OTAChannel{}.since(record(`CreateDateTime="2026-11-30T11:55:00Z"`)).UTC())
	require.True(t, OTAChannel{}.since(record(``)).IsZero())
}

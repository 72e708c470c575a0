package web_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

// idsNotif is an OTA_HotelResNotifRQ of one room of DBL whose reservation
// is named by the channel's HotelReservationID (ResID_Type 13), with the
// extra ids (UniqueIDs) the record carries.
func idsNotif(status, hrStatus, resID, extra string) []byte {
	return fmt.Appendf(nil, `<?xml version="1.0" encoding="UTF-8"?>
<OTA_HotelResNotifRQ xmlns="http://www.opentravel.org/OTA/2003/05" Version="1.0" EchoToken="e-%[1]s" ResStatus="%[1]s">
  <HotelReservations>
    <HotelReservation ResStatus="%[2]s">%[4]s
      <RoomStays>
        <RoomStay>
          <RoomTypes><RoomType RoomTypeCode="DBL" NumberOfUnits="1"/></RoomTypes>
          <RatePlans><RatePlan RatePlanCode="BAR"/></RatePlans>
          <TimeSpan Start="2027-05-01" End="2027-05-03"/>
          <BasicPropertyInfo HotelCode="HTL-P"/>
        </RoomStay>
      </RoomStays>
      <ResGlobalInfo>
        <HotelReservationIDs>
          <HotelReservationID ResID_Type="13" ResID_Value="%[3]s" ResID_Source="OTA"/>
        </HotelReservationIDs>
      </ResGlobalInfo>
    </HotelReservation>
  </HotelReservations>
</OTA_HotelResNotifRQ>`, status, hrStatus, resID, extra)
}

// A cancellation that carries, beside the reservation's id, the
// cancellation number the channel gave it (UniqueID Type 15, "Cancellation"
// in OpenTravel's UIT list) cancels that reservation: the cancellation
// number is not the reservation's id.
func TestACancellationNumberIsNotTakenForTheReservationsID(t *testing.T) {
	t.Parallel()
	e := newAPI(t)
	e.hotel("P", 3)
	e.otaChannel("P", "bdc", "ota_push", "HTL-P", "u", "s", nil)
	r := e.otaPost("bdc", "u", "s", idsNotif("Commit", "Reserved", "OTA-77", ""))
	require.True(t, otaRS(t, r).Success, "%s", r.Body)
	require.Equal(t, 1, e.sold("P", "2027-05-01"))

	r = e.otaPost("bdc", "u", "s", idsNotif("Cancel", "Cancelled", "OTA-77", `
      <UniqueID Type="15" ID="CXL-5501"/>`))
	require.True(t, otaRS(t, r).Success, "%s", r.Body)
	require.Contains(t, string(r.Body), `ResStatus="Cancelled"`)
	require.Equal(t, 0, e.sold("P", "2027-05-01"), "the room is free again")
	res := e.must(200, "GET", "/api/v1/properties/P/reservations/bdc/OTA-77", nil).JSON(t)
	require.Equal(t, "cancelled", res["status"])
	e.must(404, "GET", "/api/v1/properties/P/reservations/bdc/CXL-5501", nil)
}

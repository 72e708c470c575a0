package web_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// roomsNotif is an OTA_HotelResNotifRQ of reservation id with one RoomStay
// per room of DBL, each given as its extra RoomStay attributes (a per-room
// status, an IndexNumber) and its dates.
func roomsNotif(status, hrStatus, id, modified string, rooms ...[3]string) []byte {
	var stays strings.Builder
	for _, r := range rooms {
		fmt.Fprintf(&stays, `
        <RoomStay %s>
          <RoomTypes><RoomType RoomTypeCode="DBL" NumberOfUnits="1"/></RoomTypes>
          <RatePlans><RatePlan RatePlanCode="BAR"/></RatePlans>
          <GuestCounts><GuestCount AgeQualifyingCode="10" Count="2"/></GuestCounts>
          <TimeSpan Start="%s" End="%s"/>
          <BasicPropertyInfo HotelCode="HTL-P"/>
        </RoomStay>`, r[0], r[1], r[2])
	}
	return fmt.Appendf(nil, `<?xml version="1.0" encoding="UTF-8"?>
<OTA_HotelResNotifRQ xmlns="http://www.opentravel.org/OTA/2003/05" Version="1.0" EchoToken="e-%[2]s-%[4]s" ResStatus="%[1]s">
  <HotelReservations>
    <HotelReservation ResStatus="%[3]s" CreateDateTime="2027-01-10T09:00:00+01:00" LastModifyDateTime="%[4]s">
      <UniqueID Type="14" ID="%[2]s"/>
      <RoomStays>%[5]s
      </RoomStays>
    </HotelReservation>
  </HotelReservations>
</OTA_HotelResNotifRQ>`, status, id, hrStatus, modified, stays.String())
}

// One room of a two-room booking cancelled by a modification that still
// lists it, marked cancelled (OpenTravel's RoomStay@RoomStayStatus; other
// senders write RoomStatus or ResStatus on the RoomStay): the cancelled
// room is released, the other kept; the reservation stays confirmed with
// one room.
func TestARoomCancelledInsideAModificationIsReleased(t *testing.T) {
	t.Parallel()
	e := newAPI(t)
	e.hotel("P", 5)
	e.otaChannel("P", "bdc", "ota_push", "HTL-P", "u", "s", nil)
	for i, attr := range []string{"RoomStayStatus", "RoomStatus", "ResStatus"} {
		id := fmt.Sprintf("BDC-R%d", i)
		night := fmt.Sprintf("2027-03-%02d", 1+3*i)
		dep := fmt.Sprintf("2027-03-%02d", 3+3*i)
		r := e.otaPost("bdc", "u", "s", roomsNotif("Commit", "Reserved", id, "2027-01-10T09:00:00+01:00",
			[3]string{`IndexNumber="1"`, night, dep}, [3]string{`IndexNumber="2"`, night, dep}))
		require.True(t, otaRS(t, r).Success, "%s", r.Body)
		require.Equal(t, 2, e.sold("P", night))

		r = e.otaPost("bdc", "u", "s", roomsNotif("Modify", "Modify", id, "2027-01-11T09:00:00+01:00",
			[3]string{`IndexNumber="1"`, night, dep}, [3]string{`IndexNumber="2" ` + attr + `="Cancelled"`, night, dep}))
		require.True(t, otaRS(t, r).Success, "%s", r.Body)
		require.Equal(t, 1, e.sold("P", night), "%s: the cancelled room is free again", attr)
		res := e.must(200, "GET", "/api/v1/properties/P/reservations/bdc/"+id, nil).JSON(t)
		require.Equal(t, "confirmed", res["status"], attr)
		require.Len(t, res["stays"], 1, attr)
	}
}

// A modification whose every room is marked cancelled cancels the
// reservation, rather than holding the rooms it cancels.
func TestAModificationCancellingEveryRoomCancelsTheReservation(t *testing.T) {
	t.Parallel()
	e := newAPI(t)
	e.hotel("P", 5)
	e.otaChannel("P", "bdc", "ota_push", "HTL-P", "u", "s", nil)
	r := e.otaPost("bdc", "u", "s", roomsNotif("Commit", "Reserved", "BDC-A", "2027-01-10T09:00:00+01:00",
		[3]string{``, "2027-04-01", "2027-04-03"}, [3]string{``, "2027-04-01", "2027-04-03"}))
	require.True(t, otaRS(t, r).Success, "%s", r.Body)
	require.Equal(t, 2, e.sold("P", "2027-04-01"))

	r = e.otaPost("bdc", "u", "s", roomsNotif("Modify", "Modify", "BDC-A", "2027-01-11T09:00:00+01:00",
		[3]string{`RoomStayStatus="Cancelled"`, "2027-04-01", "2027-04-03"}, [3]string{`RoomStayStatus="Cancelled"`, "2027-04-01", "2027-04-03"}))
	require.True(t, otaRS(t, r).Success, "%s", r.Body)
	require.Contains(t, string(r.Body), `ResStatus="Cancelled"`)
	require.Equal(t, 0, e.sold("P", "2027-04-01"), "no room is held")
	res := e.must(200, "GET", "/api/v1/properties/P/reservations/bdc/BDC-A", nil).JSON(t)
	require.Equal(t, "cancelled", res["status"])
}

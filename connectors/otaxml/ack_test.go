package otaxml

import (
	"strings"
	"testing"
)

// A channel's queue takes the acknowledgement that answers what it served:
// a fetched OTA_HotelResModifyNotifRQ (Booking.com's modification and
// cancellation queue) is acknowledged with an OTA_HotelResModifyNotifRS
// listing the committed records as HotelResModifies, valid against the
// 2015B schema; a fetched OTA_HotelResNotifRQ with an OTA_HotelResNotifRS.
// A record that was not applied is left out, so the channel serves it again.
func TestAFetchedModificationIsAcknowledgedWithAValidModifyNotifRS(t *testing.T) {
	mod := parsed(t, "opentravel_OTA_HotelResModifyNotifRQ_modify.xml")
	res := parsed(t, "opentravel_OTA_HotelResNotifRQ_new.xml")
	failed := Result{Record: Reservation{Record: 2, ID: "NOT-APPLIED"}, Err: Errorf(TypeBizRule, CodeInvalidDate, "bad")}
	cases := []struct {
		name, rq, schema string
		results          []Result
		want, not        []string
	}{
		{"modification", mod.Name, "OTA_HotelResModifyNotifRS",
			[]Result{{Record: mod.Reservations[0], OurID: "KR-7", Status: "Modified"}, failed},
			[]string{"<OTA_HotelResModifyNotifRS", "<Success/>", "<HotelResModifies><HotelResModify>", `ResID_Value="KR-7"`},
			[]string{"NOT-APPLIED", "HotelReservations"}},
		{"nothing committed", mod.Name, "OTA_HotelResModifyNotifRS", nil,
			[]string{"<OTA_HotelResModifyNotifRS", "<Success/>"}, []string{"HotelResModifies"}},
		{"new booking", res.Name, "OTA_HotelResNotifRS",
			[]Result{{Record: res.Reservations[0], OurID: "KR-8", Status: "Committed"}},
			[]string{"<OTA_HotelResNotifRS", "<HotelReservations><HotelReservation>", `ResID_Value="KR-8"`}, []string{"HotelResModify"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			doc := EncodeAck(Out{HotelCode: "H1", EchoToken: "e-1", TimeStamp: now}, c.rq, c.results)
			s := string(doc)
			for _, w := range c.want {
				if !strings.Contains(s, w) {
					t.Errorf("want %s in\n%s", w, s)
				}
			}
			for _, w := range c.not {
				if strings.Contains(s, w) {
					t.Errorf("%s in\n%s", w, s)
				}
			}
			validate(t, c.schema, doc)
		})
	}
}

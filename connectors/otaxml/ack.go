package otaxml

// EncodeAck is the acknowledgement keyrack sends a pull-mode channel for the
// reservations it committed from a fetched message named rq: the RS that
// answers that RQ, with Success and one record per committed reservation
// naming the channel's id and ours. A channel checks that the answer is the
// one its queue expects, and serves again what was acknowledged with
// another: Booking.com's modification queue (OTA_HotelResModifyNotif)
// takes an OTA_HotelResModifyNotifRS listing HotelResModifies, its new
// bookings' queue (and any other message) an OTA_HotelResNotifRS
// (EncodeResNotifRS).
func EncodeAck(o Out, rq string, results []Result) []byte {
	if rq != "OTA_HotelResModifyNotifRQ" {
		return EncodeResNotifRS(o, results)
	}
	const name = "OTA_HotelResModifyNotifRS"
	rs := otaRoot(name, "1.0", o.EchoToken, o.TimeStamp)
	rs.CreateElement("Success")
	done := 0
	for _, r := range results {
		if r.Err == nil {
			done++
		}
	}
	if done > 0 {
		l := rs.CreateElement("HotelResModifies")
		for _, r := range results {
			if r.Err == nil {
				writeReservation(l, "HotelResModify", r)
			}
		}
	}
	return outWrapping(o, name).document(rs)
}

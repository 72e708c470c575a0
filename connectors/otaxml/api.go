package otaxml

// This file holds the types of the package's surface; the functions live
// in xmlutil.go (ReadBody), parse.go (Parse), encode.go and response.go.

import (
	"time"
)

// Result is what became of one reservation record.
type Result struct {
	Record Reservation
	// OurID is keyrack's id of the reservation, returned as
	// HotelReservationID ResID_Type="14".
	OurID string
	// Status is the ResResponseType (Committed, Modified, Cancelled,
	// Pending): empty when Err is set.
	Status   string
	Warnings []Error
	Err      *Error // the record was not applied
	// GuestErased: keyrack erased the guest data of the reservation, and
	// keeps none of it — the message naming it is not kept either.
	GuestErased bool
}

// Out is how keyrack addresses a message it sends to a channel.
type Out struct {
	Envelope  Envelope
	HotelCode string
	EchoToken string
	TimeStamp time.Time
	// Username and Password go into wsse:Security for SOAP envelopes (raw
	// messages authenticate with HTTP Basic, set by the caller).
	Username string
	Password string
	// MessageID and To are the WS-Addressing headers of SOAP 1.2.
	MessageID string
	To        string
}

// Response is a channel's RS.
type Response struct {
	Name      string
	Success   bool
	Warnings  []Error
	Errors    []Error
	EchoToken string
	RelatesTo string
	// IDs lists the reservation ids the RS names (HotelReservationIDs and
	// UniqueIDs), e.g. the ones a pull-mode ack confirms.
	IDs []ResID
}

// ResNotif is a reservation to encode as a channel would send it: the test
// channels and the simulator push and serve these.
type ResNotif struct {
	Reservation Reservation
}

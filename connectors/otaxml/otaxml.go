// Package otaxml speaks OpenTravel (OTA) XML, the protocol of OTAs and of
// GDS/CRS links (HTNG): it reads what partners send (raw XML, SOAP 1.1 with
// WS-Security, SOAP 1.2 with WS-Addressing; the OTA element found by local
// name, with or without namespace), answers with the matching RS, encodes
// the availability keyrack pushes (OTA_HotelAvailNotifRQ,
// OTA_HotelInvCountNotifRQ) and reads the channel's answers. It holds no
// business rules: mapping codes, applying bookings and deciding what to send
// belong to the inventory and the fan-out.
//
// Inbound parsing is lenient (real partners drift from the schema) and
// hardened: any DOCTYPE is refused, ISO-8859-1 bodies are read, dates and
// times are read in every layout seen in real traffic. What keyrack sends
// validates against the OpenTravel 2015B schemas.
package otaxml

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/keyrack/keyrack/inventory"
)

// NS is the OpenTravel namespace, the same in every release since 2003B.
const NS = "http://www.opentravel.org/OTA/2003/05"

// Envelope is how an OTA message travels.
type Envelope int

// Envelopes.
const (
	Raw    Envelope = iota // the OTA element is the document
	SOAP11                 // SOAP 1.1 (SiteMinder, Expedia), WS-Security UsernameToken
	SOAP12                 // SOAP 1.2 + WS-Addressing (HTNG: SynXis, TravelClick)
)

// ParseEnvelope reads a channel's envelope setting: "raw", "soap11",
// "soap12" ("" is Raw).
func ParseEnvelope(s string) (Envelope, error) {
	switch s {
	case "", "raw":
		return Raw, nil
	case "soap11":
		return SOAP11, nil
	case "soap12":
		return SOAP12, nil
	}
	return Raw, fmt.Errorf("envelope %q: want raw, soap11 or soap12", s)
}

func (e Envelope) String() string {
	switch e {
	case SOAP11:
		return "soap11"
	case SOAP12:
		return "soap12"
	}
	return "raw"
}

// ContentType is the media type of a message in this envelope.
func (e Envelope) ContentType() string {
	if e == SOAP12 {
		return "application/soap+xml; charset=utf-8"
	}
	return "text/xml; charset=utf-8"
}

// Header is what every message carries besides its payload.
type Header struct {
	Name     string // local name of the OTA element, e.g. "OTA_HotelResNotifRQ"
	Envelope Envelope

	// OTA_PayloadStdAttributes.
	Version               string
	EchoToken             string
	TimeStamp             time.Time // zero when absent or unreadable
	Target                string
	PrimaryLangID         string
	TransactionIdentifier string
	CorrelationID         string

	// Credentials found in the message: the SOAP header's
	// wsse:Security/UsernameToken, else Expedia's
	// Interface/PayloadInfo/CommDescriptor/Authentication (nil when neither),
	// and POS/Source/RequestorID.
	UsernameToken *UsernameToken
	Requestor     RequestorID

	// WS-Addressing (SOAP 1.2 / HTNG): the request's MessageID is the reply's
	// RelatesTo.
	MessageID string
	Action    string
	ReplyTo   string
	To        string
	// HTNGCorrelationID is the HTNG async header htnga:CorrelationID.
	HTNGCorrelationID string
}

// IsTest reports whether the message says it is for a test system
// (Target="Test"; OpenTravel's other value is Production).
func (h *Header) IsTest() bool {
	return strings.EqualFold(strings.TrimSpace(h.Target), "Test")
}

// TestRefused is the error a message for a test system (Header.IsTest) is
// refused with: keyrack serves live inventory only.
func TestRefused() *Error {
	return Errorf(TypeBizRule, CodeUnableToProcess,
		`Target="Test": keyrack takes no test messages on a live channel; nothing was booked, changed or cancelled`)
}

// UsernameToken is a WS-Security UsernameToken with a clear-text password.
type UsernameToken struct {
	Username string
	Password string
	// Digest says the Password is a PasswordDigest (a hash of a nonce, a
	// time and the password), which keyrack cannot check: it keeps only an
	// HMAC of the channel's secret.
	Digest bool
}

// RequestorID is POS/Source/RequestorID: the sender's id and, for partners
// that authenticate this way (Weekendesk), its MessagePassword.
type RequestorID struct {
	ID              string
	Type            string
	MessagePassword string
}

// Message is one parsed OTA request.
type Message struct {
	Header
	// Reservations of OTA_HotelResNotifRQ, OTA_HotelResModifyNotifRQ,
	// OTA_HotelResRQ and OTA_CancelRQ (one per cancelled reservation), in
	// message order.
	Reservations []Reservation
	// HotelCode is the message-level hotel code of an ARI message.
	HotelCode string
	// ARI messages, for the test channels and the simulator that receive what
	// keyrack pushes, and for golden tests of partners' samples.
	Avail  []AvailStatus // OTA_HotelAvailNotifRQ
	Counts []InvCount    // OTA_HotelInvCountNotifRQ
	Rates  []RateAmount  // OTA_HotelRateAmountNotifRQ
}

// IsReservation reports whether the message carries reservations.
func (m *Message) IsReservation() bool {
	switch m.Name {
	case "OTA_HotelResNotifRQ", "OTA_HotelResModifyNotifRQ", "OTA_HotelResRQ", "OTA_CancelRQ":
		return true
	}
	return false
}

// Reservation is one reservation record of a message.
type Reservation struct {
	// Record is the record's 1-based position in the message (RecordID in
	// per-record warnings).
	Record int
	// Kind is what the record does, read from the root and the
	// HotelReservation status together (Commit/Book/Reserved → new,
	// Modify/ResModify → modify, Cancel/Cancelled/OTA_CancelRQ → cancel).
	Kind       inventory.RevisionKind
	RootStatus string // the root's ResStatus/CancelType as sent
	Status     string // HotelReservation@ResStatus as sent
	HotelCode  string // BasicPropertyInfo@HotelCode (or the message's)
	// ID is the channel's reservation id: UniqueID (Type 14, else the first)
	// or else a HotelReservationID.
	ID           string
	IDs          []ResID // every id the record carries
	Created      time.Time
	LastModified time.Time
	changedAt    time.Time // see ChangedAt
	Stays        []Stay
	Guest        inventory.Guest
	Total        string // decimal, as sent ("280.00")
	Currency     string
	// AnswerOnly is set for a record that asks keyrack to change nothing:
	// the status it is answered with instead. OTA_CancelRQ CancelType
	// Initiate (or Quote) asks what cancelling would cost, before a Commit
	// that cancels: Pending; CancelType Ignore drops such a request: Ignored.
	// A reservation message's ResStatus Initiate is the first step of a
	// two-phase booking, which only its Commit confirms: Pending; its
	// ResStatus Ignore discards that: Ignored.
	AnswerOnly string `json:",omitempty"`
	// Action is, for an AnswerOnly record, the attribute and value that
	// asked for it: "CancelType Initiate", "ResStatus Ignore".
	Action string `json:",omitempty"`
	// Problem is why the record cannot be applied (no id, departure not
	// after arrival, a stay over MaxStayNights, a date that does not
	// parse…); nil when it can.
	Problem *Error
}

// ChangedAt is when the channel says it made the record's change:
// LastModifyDateTime, else CreateDateTime — zero when it sent neither, or
// when the one it sent has no time zone: read as UTC, a channel's local
// time could be hours off either way.
func (r Reservation) ChangedAt() time.Time { return r.changedAt }

// MaxStayNights is the longest stay a record may ask for.
const MaxStayNights = 366

// ResID is one of a record's ids (UniqueID or HotelReservationID).
type ResID struct {
	Type   string // UIT/ResID_Type code, e.g. "14"
	Value  string
	Source string
}

// Stay is one booked room (or NumberOfUnits identical ones) in the channel's codes.
type Stay struct {
	RoomType  string // the channel's room code
	RatePlan  string // the channel's rate code
	HotelCode string
	Arrival   inventory.Date
	Departure inventory.Date // exclusive: the check-out day
	Units     int            // ≥ 1
	Adults    int
	Children  int
}

// Revision is the record as a revision of channel's reservation in property,
// in the channel's codes (RoomStay.ChannelRoom/ChannelRate): mapping them to
// room types is the caller's. SentAt is the record's LastModified (else
// Created), never the message TimeStamp, so that a retransmission is the
// same revision.
func (r Reservation) Revision(property, channel string) inventory.Revision {
	rev := inventory.Revision{
		Property:   property,
		Channel:    channel,
		ExternalID: r.ID,
		Kind:       r.Kind,
		Guest:      r.Guest,
		Total:      r.Total,
		Currency:   r.Currency,
		Mode:       inventory.MustAccept,
	}
	switch {
	case !r.LastModified.IsZero():
		rev.SentAt = r.LastModified
	case !r.Created.IsZero():
		rev.SentAt = r.Created
	}
	for _, s := range r.Stays {
		rev.Stays = append(rev.Stays, inventory.RoomStay{
			ChannelRoom: s.RoomType, ChannelRate: s.RatePlan,
			Arrival: s.Arrival, Departure: s.Departure, Rooms: s.Units,
			Adults: s.Adults, Children: s.Children,
		})
	}
	return rev
}

// AvailStatus is one AvailStatusMessage of an OTA_HotelAvailNotifRQ.
type AvailStatus struct {
	Room     string         // StatusApplicationControl@InvTypeCode (or @InvCode)
	RatePlan string         // @RatePlanCode
	Start    inventory.Date // inclusive
	End      inventory.Date // inclusive
	// BookingLimit is nil when the message sets none.
	BookingLimit     *int
	BookingLimitType string // SetLimit, AdjustLimit, RemoveLimit
	// Restrictions in message order: Status Open/Close/…, Restriction
	// Master (""), Arrival, Departure….
	Restrictions  []Restriction
	LengthsOfStay []LengthOfStay
}

// Restriction is a RestrictionStatus.
type Restriction struct {
	Status      string
	Restriction string
}

// LengthOfStay is a LengthOfStay rule (MinLOS, SetMaxLOS, FullPatternLOS…).
type LengthOfStay struct {
	Type    string // MinMaxMessageType
	Time    int
	Unit    string // TimeUnit
	Pattern string // LOS_Pattern@FullPatternLOS
}

// InvCount is one Inventory of an OTA_HotelInvCountNotifRQ.
type InvCount struct {
	Room      string
	RatePlan  string
	Start     inventory.Date // inclusive
	End       inventory.Date // inclusive
	Count     int
	CountType string
	Action    string // ActionType
}

// RateAmount is one rate of an OTA_HotelRateAmountNotifRQ.
type RateAmount struct {
	Room     string
	RatePlan string
	Start    inventory.Date
	End      inventory.Date
	Currency string
	// Amounts per number of guests, as sent.
	Amounts []GuestAmount
}

// GuestAmount is a BaseByGuestAmt.
type GuestAmount struct {
	Guests         int
	AmountAfterTax string
	AmountBefore   string
	DecimalPlaces  string
}

// Error is an OpenTravel Error or Warning: Type from the EWT code list
// (required), Code from the ERR list (0 when none), the text for people.
type Error struct {
	Type     int
	Code     int
	Msg      string
	RecordID string // the record it is about, in per-record results
	Status   string // NotProcessed, Incomplete, Complete, Unknown

	cause error // what errors.Is sees, e.g. ErrTooLarge
}

// ErrTooLarge is what an Error about a body over the size cap unwraps to.
var ErrTooLarge = errors.New("body too large")

// Unwrap gives the cause the error was built with, if any.
func (e *Error) Unwrap() error { return e.cause }

func (e *Error) Error() string {
	if e.Code != 0 {
		return fmt.Sprintf("OTA error type %d code %d: %s", e.Type, e.Code, e.Msg)
	}
	return fmt.Sprintf("OTA error type %d: %s", e.Type, e.Msg)
}

// Errorf builds an Error.
func Errorf(typ, code int, format string, args ...any) *Error {
	return &Error{Type: typ, Code: code, Msg: fmt.Sprintf(format, args...)}
}

// EWT (error/warning type) codes.
const (
	TypeUnknown          = 1
	TypeNoImplementation = 2
	TypeBizRule          = 3
	TypeAuthentication   = 4
	TypeAuthorization    = 6
	TypeProtocol         = 7
	TypeRequiredMissing  = 10
	TypeAdvisory         = 11
	TypeProcessing       = 12
	TypeApplication      = 13
)

// ERR codes.
const (
	CodeInvalidDate = 15
	// CodeInvalidConfirmation: invalid confirmation or cancellation number.
	CodeInvalidConfirmation = 245
	CodeInvalidRateCode     = 249
	CodeRequiredMissing     = 321
	CodeInvalidHotel        = 392
	CodeInvalidRoomType     = 402
	CodeSystemError         = 448
	CodeUnableToProcess     = 450
	CodeAuthorization       = 497
	CodeRoomRateNotFound    = 783
)

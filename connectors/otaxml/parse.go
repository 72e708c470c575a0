package otaxml

import (
	"math/big"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/beevik/etree"
	"github.com/keyrack/keyrack/inventory"
)

// Parse reads one OTA message: raw, SOAP 1.1 or SOAP 1.2, the OTA element
// found by local name with the OTA namespace or none; UTF-8, ISO-8859-1 or
// windows-1252.
// A message it cannot read (not XML, a DOCTYPE, no OTA element, a message
// type keyrack does not take, a missing required part) gives an *Error, and
// the Message holds as much of the header as was read, so the reply can
// still echo the EchoToken in the right envelope. Problems of one
// reservation record are that record's Problem, not an error. No error
// text quotes a card number in clear (maskErrors): they are stored with the
// message and shown to staff.
func Parse(body []byte) (*Message, error) {
	m, perr := parse(body)
	for i := range m.Reservations {
		maskError(m.Reservations[i].Problem)
	}
	if perr != nil {
		maskError(perr)
		return m, perr
	}
	return m, nil
}

// maskError masks card data in what e says: an error may quote a value of
// the message (a NumberOfUnits, a date, an unreadable token), and a sender
// can put a card number in any of them.
func maskError(e *Error) {
	if e != nil {
		e.Msg = inventory.MaskCardString(e.Msg)
	}
}

func parse(body []byte) (*Message, *Error) {
	m := &Message{}
	root, perr := readTree(body)
	if perr != nil {
		return m, perr
	}
	ota, perr := unwrap(root, &m.Header)
	if perr != nil {
		return m, perr
	}
	readHeader(ota, &m.Header)
	switch m.Name {
	case "OTA_HotelResNotifRQ", "OTA_HotelResRQ":
		for _, hr := range children(child(ota, "HotelReservations"), "HotelReservation") {
			m.addRecord(ota, hr, attr(ota, "ResStatus"), "")
		}
	case "OTA_HotelResModifyNotifRQ":
		for _, hr := range children(child(ota, "HotelResModifies"), "HotelResModify") {
			m.addRecord(ota, hr, attr(ota, "ResStatus"), inventory.Modify)
		}
	case "OTA_CancelRQ":
		m.addCancel(ota)
	case "OTA_HotelAvailNotifRQ":
		m.readAvail(ota)
	case "OTA_HotelInvCountNotifRQ":
		m.readInvCounts(ota)
	case "OTA_HotelRateAmountNotifRQ":
		m.readRates(ota)
	default:
		return m, Errorf(TypeNoImplementation, 0, "message %s is not supported by keyrack", m.Name)
	}
	// A reservation message with no HotelReservations is not an error: it
	// is what a pull-mode channel (Booking.com) serves when nothing is
	// pending.
	return m, nil
}

// unwrap finds the OTA element: the root, or the first element of a SOAP
// Body, whose header it reads into h.
func unwrap(root *etree.Element, h *Header) (*etree.Element, *Error) {
	if root.Tag == "Envelope" {
		switch root.NamespaceURI() {
		case nsSOAP11:
			h.Envelope = SOAP11
		case nsSOAP12:
			h.Envelope = SOAP12
		default:
			return nil, Errorf(TypeProtocol, 0, "Envelope in namespace %q: want SOAP 1.1 (%s) or SOAP 1.2 (%s)", root.NamespaceURI(), nsSOAP11, nsSOAP12)
		}
		readSOAPHeader(child(root, "Header"), h)
		b := child(root, "Body")
		if b == nil {
			return nil, Errorf(TypeProtocol, 0, "SOAP envelope has no Body")
		}
		els := b.ChildElements()
		if len(els) == 0 {
			return nil, Errorf(TypeProtocol, 0, "SOAP Body is empty: expected an OTA message")
		}
		root = els[0]
	}
	if !strings.HasPrefix(root.Tag, "OTA_") || !isOTA(root) {
		return nil, Errorf(TypeProtocol, 0, "no OTA message: found <%s> in namespace %q, want an OTA_* element in %s or no namespace", shown(root.Tag, 60), shown(root.NamespaceURI(), 80), NS)
	}
	h.Name = root.Tag
	return root, nil
}

func readSOAPHeader(hd *etree.Element, h *Header) {
	if hd == nil {
		return
	}
	if sec := child(hd, "Security"); sec != nil {
		tok := child(sec, "UsernameToken")
		if tok == nil {
			tok = child(sec, "UsertextToken") // misspelled in real partner docs
		}
		if tok != nil {
			pw := child(tok, "Password")
			h.UsernameToken = &UsernameToken{Username: text(child(tok, "Username")), Password: text(pw),
				Digest: strings.HasSuffix(attr(pw, "Type"), "#PasswordDigest")}
		}
	}
	// Expedia's Booking Notification carries its credentials in its own
	// header, Interface/PayloadInfo/CommDescriptor/Authentication
	// @Username @Password: they are the message's UsernameToken.
	if a := path(hd, "Interface", "PayloadInfo", "CommDescriptor", "Authentication"); a != nil && h.UsernameToken == nil {
		h.UsernameToken = &UsernameToken{Username: attr(a, "Username"), Password: attr(a, "Password")}
	}
	h.MessageID = text(child(hd, "MessageID"))
	h.Action = text(child(hd, "Action"))
	h.To = text(child(hd, "To"))
	h.ReplyTo = text(path(hd, "ReplyTo", "Address"))
	h.HTNGCorrelationID = text(child(hd, "CorrelationID"))
}

func readHeader(ota *etree.Element, h *Header) {
	h.Version = attr(ota, "Version")
	h.EchoToken = attr(ota, "EchoToken")
	h.TimeStamp, _ = parseTime(attr(ota, "TimeStamp"))
	h.Target = attr(ota, "Target")
	h.PrimaryLangID = attr(ota, "PrimaryLangID")
	h.TransactionIdentifier = attr(ota, "TransactionIdentifier")
	h.CorrelationID = attr(ota, "CorrelationID")
	if r := path(ota, "POS", "Source", "RequestorID"); r != nil {
		h.Requestor = RequestorID{ID: attr(r, "ID"), Type: attr(r, "Type"), MessagePassword: attr(r, "MessagePassword")}
	}
}

// kindOf reads the root and HotelReservation statuses together: a cancel
// on either side wins, then a modify on either side (Modify + Reserved is a
// modify); otherwise the transaction actions that create a booking and the
// PMS status Reserved mean new, and no status at all means new.
func kindOf(root, hr string) (inventory.RevisionKind, bool) {
	r, s := strings.ToLower(root), strings.ToLower(hr)
	isCancel := func(v string) bool { return v == "cancel" || v == "cancelled" || v == "canceled" }
	isModify := func(v string) bool { return v == "modify" || v == "modified" }
	isNew := func(v string) bool {
		switch v {
		case "", "commit", "book", "reserved", "initiate", "committed", "confirmed":
			return true
		}
		return false
	}
	switch {
	case isCancel(r) || isCancel(s):
		return inventory.Cancel, true
	case isModify(r) || isModify(s):
		return inventory.Modify, true
	case isNew(r) && isNew(s):
		return inventory.New, true
	}
	return "", false
}

// addRecord reads one HotelReservation (or HotelResModify). base is the
// kind the message type implies (modify for ResModify), "" to read it from
// the statuses.
func (m *Message) addRecord(ota, hr *etree.Element, rootStatus string, base inventory.RevisionKind) {
	r := Reservation{Record: len(m.Reservations) + 1, RootStatus: rootStatus, Status: attr(hr, "ResStatus")}
	// The transaction action is the root's ResStatus, else the
	// HotelReservation's (batches). Initiate is the first step of
	// OpenTravel's two-phase booking (a Commit confirms it, an Ignore
	// discards it): it and Ignore ask keyrack to book nothing, and the
	// record's kind is read from the other status.
	rootKind, hrKind := rootStatus, r.Status
	action := &rootKind
	if rootKind == "" {
		action = &hrKind
	}
	switch strings.ToLower(*action) {
	case "initiate":
		r.AnswerOnly, r.Action = "Pending", "ResStatus "+*action
	case "ignore":
		r.AnswerOnly, r.Action = "Ignored", "ResStatus "+*action
	}
	if r.AnswerOnly != "" {
		*action = ""
	}
	kind, ok := kindOf(rootKind, hrKind)
	switch {
	case !ok:
		r.Problem = Errorf(TypeNoImplementation, 0, "ResStatus %q with HotelReservation ResStatus %q: keyrack takes new (Commit/Book/Reserved), Modify and Cancel records, and Initiate and Ignore (which book nothing)", shown(rootStatus, 40), shown(r.Status, 40))
	case base == inventory.Modify && kind != inventory.Cancel:
		kind = inventory.Modify
	}
	r.Kind = kind
	idErr := m.readIDs(&r, hr)
	if r.AnswerOnly == "" || r.Kind == inventory.Cancel {
		// A booking asked for with Initiate or Ignore is answered without
		// being looked up: it needs no id (a cancellation's quote does).
		r.problem(idErr)
	}
	r.problem(readStamp(attr(hr, "CreateDateTime"), "CreateDateTime", &r.Created))
	r.problem(readStamp(attr(hr, "LastModifyDateTime"), "LastModifyDateTime", &r.LastModified))
	stamp, at := attr(hr, "LastModifyDateTime"), r.LastModified
	if stamp == "" {
		stamp, at = attr(hr, "CreateDateTime"), r.Created
	}
	if hasZone(stamp) {
		r.changedAt = at
	}
	global := child(hr, "ResGlobalInfo")
	roomStays := children(child(hr, "RoomStays"), "RoomStay")
	for i, rs := range roomStays {
		if roomCancelled(rs) {
			// A room cancelled inside a modification that still lists
			// it (per-room cancellation): it no longer takes a room.
			continue
		}
		st, err := readStay(rs, global, i+1)
		r.problem(err)
		if err == nil {
			if r.HotelCode == "" {
				r.HotelCode = st.HotelCode
			}
			// One reservation books one hotel (one property's
			// transaction): a room at another would be booked here.
			if st.HotelCode != "" && st.HotelCode != r.HotelCode {
				r.problem(Errorf(TypeBizRule, CodeInvalidHotel, "RoomStay %d is at hotel %q, the reservation at %q: send one reservation per hotel",
					i+1, shown(st.HotelCode, 40), shown(r.HotelCode, 40)))
			}
			r.Stays = append(r.Stays, st)
		}
	}
	if r.HotelCode == "" {
		// The whole reservation's hotel: HotelReservation/BasicPropertyInfo,
		// or ResGlobalInfo's (where the 2015B schema puts it, and
		// keyrack's own replies).
		r.HotelCode = first(attr(child(hr, "BasicPropertyInfo"), "HotelCode"), attr(child(global, "BasicPropertyInfo"), "HotelCode"))
	}
	// Some senders count guests only as ResGuests (OpenTravel's
	// ResNotifRQ2): with one room they are that room's guests.
	if len(r.Stays) == 1 && r.Stays[0].Adults+r.Stays[0].Children == 0 {
		for _, g := range children(child(hr, "ResGuests"), "ResGuest") {
			switch attr(g, "AgeQualifyingCode") {
			case "", "10":
				r.Stays[0].Adults++
			case "8", "7":
				r.Stays[0].Children++
			}
		}
	}
	if len(roomStays) > 0 && !slices.ContainsFunc(roomStays, func(rs *etree.Element) bool { return !roomCancelled(rs) }) &&
		r.Problem == nil && r.AnswerOnly == "" {
		// Every room is cancelled: so is the reservation.
		r.Kind = inventory.Cancel
	}
	if r.Kind != inventory.Cancel && r.AnswerOnly == "" && len(r.Stays) == 0 {
		r.problem(Errorf(TypeRequiredMissing, CodeRequiredMissing, "reservation %q has no RoomStay with room, dates and units", r.ID))
	}
	r.Guest = readGuest(hr)
	r.Total, r.Currency = readTotal(hr)
	m.Reservations = append(m.Reservations, r)
}

// roomCancelled reports whether a RoomStay says that its room is
// cancelled: OpenTravel's RoomStayStatus (a HotelResStatusType), or the
// RoomStatus or ResStatus some senders put on the RoomStay instead.
func roomCancelled(rs *etree.Element) bool {
	for _, a := range []string{"RoomStayStatus", "RoomStatus", "ResStatus"} {
		switch strings.ToLower(strings.TrimSpace(attr(rs, a))) {
		case "cancel", "cancelled", "canceled":
			return true
		}
	}
	return false
}

func (r *Reservation) problem(e *Error) {
	if e != nil && r.Problem == nil {
		e.RecordID = strconv.Itoa(r.Record)
		e.Status = "NotProcessed"
		r.Problem = e
	}
}

// readStamp reads an optional record timestamp.
func readStamp(s, what string, into *time.Time) *Error {
	if s == "" {
		return nil
	}
	t, err := parseTime(s)
	if err != nil {
		return Errorf(TypeBizRule, CodeInvalidDate, "%s: %v", what, err)
	}
	*into = t
	return nil
}

// readIDs collects the record's UniqueIDs and HotelReservationIDs and picks
// the channel's reservation id: UniqueID Type 14, else the first UniqueID
// that is not Type 15; else the first HotelReservationID that is not Type
// 14, else the Type 14 one; else a UniqueID Type 15. Type 15 is a
// cancellation number (OpenTravel's UIT list): a cancellation carries it
// beside the id of the reservation it cancels, and taken for that id it
// cancelled a reservation keyrack never saw. In HotelReservationIDs, Type 14 is the hotel's (or channel
// manager's) confirmation in real traffic — Marriott in the OpenTravel
// modify sample, "ChannelManager" at Weekendesk — while the channel names
// its own id with its own type (13 Internet broker, 5 Weekendesk).
func (m *Message) readIDs(r *Reservation, e *etree.Element) *Error {
	var uid, uid14, uid15 string
	for _, u := range children(e, "UniqueID") {
		id := ResID{Type: attr(u, "Type"), Value: attr(u, "ID"), Source: attr(u, "ID_Context")}
		if id.Value == "" {
			continue
		}
		r.IDs = append(r.IDs, id)
		if id.Type == "15" {
			if uid15 == "" {
				uid15 = id.Value
			}
			continue
		}
		if uid == "" {
			uid = id.Value
		}
		if uid14 == "" && id.Type == "14" {
			uid14 = id.Value
		}
	}
	var hid, hid14 string
	ids := child(e, "HotelReservationIDs")
	if ids == nil {
		ids = path(e, "ResGlobalInfo", "HotelReservationIDs")
	}
	for _, h := range children(ids, "HotelReservationID") {
		id := ResID{Type: attr(h, "ResID_Type"), Value: attr(h, "ResID_Value"), Source: attr(h, "ResID_Source")}
		if id.Value == "" {
			continue
		}
		r.IDs = append(r.IDs, id)
		if id.Type == "14" {
			if hid14 == "" {
				hid14 = id.Value
			}
		} else if hid == "" {
			hid = id.Value
		}
	}
	for _, v := range []string{uid14, uid, hid, hid14, uid15} {
		if v != "" {
			r.ID = v
			return nil
		}
	}
	return Errorf(TypeRequiredMissing, CodeRequiredMissing, "record %d has no reservation id: send UniqueID (Type 14) or ResGlobalInfo/HotelReservationIDs/HotelReservationID", r.Record)
}

// addCancel reads an OTA_CancelRQ: one cancel record for the reservation
// its UniqueIDs (1..5, all naming the same booking) or HotelReservationIDs
// identify. CancelType (kept as RootStatus) says whether to cancel: Commit,
// Cancel (or none, which the schema does not allow but senders omit) do;
// Initiate (or Quote) asks for the terms of a cancellation and Ignore drops
// such a request — both change nothing (AnswerOnly); other actions (Book,
// Modify…) are not a cancellation and are refused.
func (m *Message) addCancel(ota *etree.Element) {
	r := Reservation{Record: 1, Kind: inventory.Cancel, RootStatus: attr(ota, "CancelType")}
	switch strings.ToLower(r.RootStatus) {
	case "", "commit", "cancel", "commitoverrideedits":
	case "initiate", "quote":
		r.AnswerOnly = "Pending"
	case "ignore":
		r.AnswerOnly = "Ignored"
	default:
		r.problem(Errorf(TypeNoImplementation, 0,
			"CancelType %q: keyrack takes Commit or Cancel (cancel the reservation), Initiate (a request for the terms, which cancels nothing) and Ignore", shown(r.RootStatus, 40)))
	}
	if r.AnswerOnly != "" {
		r.Action = "CancelType " + r.RootStatus
	}
	r.problem(m.readIDs(&r, ota))
	// The schema has no place for the hotel in an OTA_CancelRQ; Weekendesk
	// names it in the RequestorID (HotelID), which tells an account's
	// properties apart when the reservation is not known yet.
	r.HotelCode = attr(path(ota, "POS", "Source", "RequestorID"), "HotelID")
	if v := path(ota, "Verification", "PersonName"); v != nil {
		r.Guest.Name = personName(v)
	}
	r.Guest.Email = text(path(ota, "Verification", "Email"))
	m.Reservations = append(m.Reservations, r)
}

func readStay(rs, global *etree.Element, n int) (Stay, *Error) {
	rt := path(rs, "RoomTypes", "RoomType")
	rp := path(rs, "RatePlans", "RatePlan")
	rr := path(rs, "RoomRates", "RoomRate")
	st := Stay{
		RoomType:  first(attr(rt, "RoomTypeCode"), attr(rr, "RoomTypeCode")),
		RatePlan:  first(attr(rp, "RatePlanCode"), attr(rr, "RatePlanCode")),
		HotelCode: attr(child(rs, "BasicPropertyInfo"), "HotelCode"),
		Units:     1,
	}
	if u := first(attr(rr, "NumberOfUnits"), attr(rt, "NumberOfUnits")); u != "" {
		v, err := strconv.Atoi(u)
		if err != nil || v < 1 || v > 1000 {
			return st, Errorf(TypeBizRule, 0, "RoomStay %d: NumberOfUnits %q must be a whole number from 1 to 1000", n, u)
		}
		st.Units = v
	}
	for _, gc := range children(child(rs, "GuestCounts"), "GuestCount") {
		c, err := strconv.Atoi(attr(gc, "Count"))
		if err != nil || c < 0 || c > 10000 {
			return st, Errorf(TypeBizRule, 0, "RoomStay %d: GuestCount Count %q is not a number of guests", n, attr(gc, "Count"))
		}
		switch attr(gc, "AgeQualifyingCode") {
		case "", "10":
			st.Adults += c
		case "8", "7":
			st.Children += c
		}
	}
	// Dates: the RoomStay's TimeSpan, else the reservation's, else the
	// span of the room's rates (see rateSpan).
	start, end, dur := "", "", ""
	for _, ts := range []*etree.Element{child(rs, "TimeSpan"), child(global, "TimeSpan")} {
		if ts != nil && attr(ts, "Start") != "" {
			start, end, dur = attr(ts, "Start"), attr(ts, "End"), attr(ts, "Duration")
			break
		}
	}
	if start == "" {
		return rateSpan(rs, st, n)
	}
	var err error
	if st.Arrival, err = parseDate(start); err != nil {
		return st, Errorf(TypeBizRule, CodeInvalidDate, "RoomStay %d: arrival: %v", n, err)
	}
	switch {
	case end != "":
		if st.Departure, err = parseDate(end); err != nil {
			return st, Errorf(TypeBizRule, CodeInvalidDate, "RoomStay %d: departure: %v", n, err)
		}
	case dur != "":
		d, ok := durationDays(dur)
		if !ok {
			return st, Errorf(TypeBizRule, CodeInvalidDate, "RoomStay %d: TimeSpan Duration %q: want PnD", n, dur)
		}
		st.Departure = st.Arrival.AddDays(d)
	default:
		return st, Errorf(TypeRequiredMissing, CodeRequiredMissing, "RoomStay %d has no departure: send TimeSpan End", n)
	}
	return checkSpan(st, n)
}

// rateSpan dates a RoomStay without a TimeSpan by its rates: from the
// earliest EffectiveDate to the latest end of every Rate of every RoomRate
// (a stay priced at two rate plans comes as two RoomRates, and rates need
// not be listed in order). A rate's ExpireDate is read as the day after
// its last night, as the senders of per-night rates write it
// (EffectiveDate 3rd, ExpireDate 4th for the night of the 3rd) — unless
// the rate says ExpireDateExclusiveInd="false": then, as OpenTravel
// defines it, the ExpireDate is its last night.
func rateSpan(rs *etree.Element, st Stay, n int) (Stay, *Error) {
	var starts, ends int
	for _, rr := range children(child(rs, "RoomRates"), "RoomRate") {
		for _, rate := range children(child(rr, "Rates"), "Rate") {
			if v := attr(rate, "EffectiveDate"); v != "" {
				d, err := parseDate(v)
				if err != nil {
					return st, Errorf(TypeBizRule, CodeInvalidDate, "RoomStay %d: arrival: %v", n, err)
				}
				if starts++; starts == 1 || d.Before(st.Arrival) {
					st.Arrival = d
				}
			}
			if v := attr(rate, "ExpireDate"); v != "" {
				d, err := parseDate(v)
				if err != nil {
					return st, Errorf(TypeBizRule, CodeInvalidDate, "RoomStay %d: departure: %v", n, err)
				}
				if isFalse(attr(rate, "ExpireDateExclusiveInd")) {
					d = d.AddDays(1)
				}
				if ends++; ends == 1 || d.After(st.Departure) {
					st.Departure = d
				}
			}
		}
	}
	if starts == 0 {
		return st, Errorf(TypeRequiredMissing, CodeRequiredMissing, "RoomStay %d has no dates: send TimeSpan Start and End", n)
	}
	if ends == 0 {
		return st, Errorf(TypeRequiredMissing, CodeRequiredMissing, "RoomStay %d has no departure: send TimeSpan End", n)
	}
	return checkSpan(st, n)
}

// checkSpan refuses a stay that departs before it arrives or lasts longer
// than MaxStayNights.
func checkSpan(st Stay, n int) (Stay, *Error) {
	if !st.Departure.After(st.Arrival) {
		return st, Errorf(TypeBizRule, CodeInvalidDate, "RoomStay %d: departure %s is not after arrival %s", n, st.Departure, st.Arrival)
	}
	if nights := st.Departure.Sub(st.Arrival); nights > MaxStayNights {
		return st, Errorf(TypeBizRule, CodeInvalidDate, "RoomStay %d: %d nights from %s is longer than %d", n, nights, st.Arrival, MaxStayNights)
	}
	return st, nil
}

// readGuest takes the primary (else first) ResGuest's customer, else the
// ResGlobalInfo profile.
func readGuest(hr *etree.Element) inventory.Guest {
	var cust *etree.Element
	guests := children(child(hr, "ResGuests"), "ResGuest")
	for _, g := range guests {
		if attr(g, "PrimaryIndicator") == "true" || attr(g, "PrimaryIndicator") == "1" {
			cust = path(g, "Profiles", "ProfileInfo", "Profile", "Customer")
			break
		}
	}
	if cust == nil && len(guests) > 0 {
		cust = path(guests[0], "Profiles", "ProfileInfo", "Profile", "Customer")
	}
	if cust == nil {
		cust = path(hr, "ResGlobalInfo", "Profiles", "ProfileInfo", "Profile", "Customer")
	}
	if cust == nil {
		return inventory.Guest{}
	}
	return inventory.Guest{
		Name:  personName(child(cust, "PersonName")),
		Email: text(child(cust, "Email")),
		Phone: attr(child(cust, "Telephone"), "PhoneNumber"),
	}
}

func personName(p *etree.Element) string {
	var parts []string
	for _, g := range children(p, "GivenName") {
		parts = append(parts, text(g))
	}
	parts = append(parts, text(child(p, "Surname")))
	return strings.Join(strings.Fields(strings.Join(parts, " ")), " ")
}

// readTotal is ResGlobalInfo/Total, else the sum of the RoomStays' Totals
// when every RoomStay has one, all in one currency (a multi-room booking
// priced per room): AmountAfterTax, else AmountBeforeTax. A sum has as many
// decimals as the most precise of its parts; no total is read when a part
// is missing, not a decimal or in another currency. The total is as keyrack
// keeps it (keptTotal): an amount it cannot keep is left out, its currency
// kept, rather than the booking refused.
func readTotal(hr *etree.Element) (amount, currency string) {
	amount, currency = sentTotal(hr)
	return keptTotal(amount), currency
}

// keptTotal is an amount as keyrack keeps a booking's total — to the cent,
// at most 12 digits before the point (inventory's check) —, or "" when it
// cannot be kept exactly. OpenTravel amounts are xs:decimal, written with
// any number of decimals ("116.0000") and in currencies of three (116.125
// Kuwaiti dinars): a total is the channel's word on the price, kept in the
// booking's raw message, and no reason to refuse a booking the channel has
// confirmed to its guest.
func keptTotal(a string) string {
	if a == "" || !decimalRE.MatchString(a) {
		return ""
	}
	v, ok := new(big.Rat).SetString(a)
	if !ok {
		return ""
	}
	cents := new(big.Rat).Mul(v, big.NewRat(100, 1))
	if !cents.IsInt() || new(big.Int).Abs(cents.Num()).Cmp(maxCents) >= 0 {
		return ""
	}
	if strings.IndexByte(a, '.') < 0 {
		return v.FloatString(0)
	}
	return v.FloatString(2)
}

// maxCents bounds a kept total: 12 digits before the point.
var maxCents = new(big.Int).Exp(big.NewInt(10), big.NewInt(14), nil)

// sentTotal is the booking's total as the channel wrote it (readTotal).
func sentTotal(hr *etree.Element) (amount, currency string) {
	if t := path(hr, "ResGlobalInfo", "Total"); t != nil {
		return first(attr(t, "AmountAfterTax"), attr(t, "AmountBeforeTax")), attr(t, "CurrencyCode")
	}
	// A cancelled room (roomCancelled) is not part of the booking's price.
	stays := slices.DeleteFunc(children(child(hr, "RoomStays"), "RoomStay"), roomCancelled)
	if len(stays) == 1 {
		if t := child(stays[0], "Total"); t != nil {
			return first(attr(t, "AmountAfterTax"), attr(t, "AmountBeforeTax")), attr(t, "CurrencyCode")
		}
		return "", ""
	}
	if len(stays) == 0 {
		return "", ""
	}
	sum, places := new(big.Rat), 0
	for i, rs := range stays {
		t := child(rs, "Total")
		if t == nil {
			return "", ""
		}
		a, c := first(attr(t, "AmountAfterTax"), attr(t, "AmountBeforeTax")), attr(t, "CurrencyCode")
		if i > 0 && c != currency || !decimalRE.MatchString(a) {
			return "", ""
		}
		v, ok := new(big.Rat).SetString(a)
		if !ok {
			return "", ""
		}
		if dot := strings.IndexByte(a, '.'); dot >= 0 {
			places = max(places, len(a)-dot-1)
		}
		sum.Add(sum, v)
		currency = c
	}
	return sum.FloatString(places), currency
}

// shown is a value v as an error text quotes it: card data masked, then
// cut to n bytes (masking first, so that a cut cannot leave part of a card
// number that masking no longer recognises).
func shown(v string, n int) string {
	return clip(inventory.MaskCardString(v), n)
}

func first(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

// isFalse reads an xs:boolean that says false ("false" or "0").
func isFalse(v string) bool {
	v = strings.TrimSpace(v)
	return v == "false" || v == "0"
}
